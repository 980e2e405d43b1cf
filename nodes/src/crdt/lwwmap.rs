//! The last-writer-wins map: each key holds the write with the highest [`Stamp`]: the
//! writer's own local clock (which skew moves), then the writer's replica id to break ties,
//! then the writer's own write counter. Concurrent writes to one key lose all but one, and a
//! writer whose clock is behind loses to writes that happened before it in real time.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Crdt, Op, ReplicaId, Replicated};

/// When and by whom a write was made; the highest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The writer's local clock, in nanoseconds.
    pub time: u64,
    /// The writer.
    pub replica: ReplicaId,
    /// The writer's write counter: orders two writes of one replica at the same clock reading.
    pub seq: u64,
}

/// What LWW-Map keys and values must be.
pub trait Datum: Ord + Clone + Debug + Serialize + DeserializeOwned + 'static {}
impl<T: Ord + Clone + Debug + Serialize + DeserializeOwned + 'static> Datum for T {}

/// An LWW-Map from `K` to `V`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "K: Datum, V: Datum")]
pub struct LwwMap<K: Datum, V: Datum> {
    entries: BTreeMap<K, (Stamp, V)>,
    /// Writes made here so far, per writer (so that a replica's stamps are unique).
    writes: BTreeMap<ReplicaId, u64>,
}

impl<K: Datum, V: Datum> Default for LwwMap<K, V> {
    fn default() -> Self {
        LwwMap { entries: BTreeMap::new(), writes: BTreeMap::new() }
    }
}

impl<K: Datum, V: Datum> LwwMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `key = value` at replica `me` whose clock reads `local_nanos`; returns the delta.
    /// The write is accepted even when an entry with a higher stamp is already here: it is
    /// then lost at once, as in any LWW store.
    pub fn put(&mut self, me: ReplicaId, key: K, value: V, local_nanos: u64) -> Self {
        let seq = self.writes.get(&me).copied().unwrap_or(0) + 1;
        self.writes.insert(me, seq);
        let stamp = Stamp { time: local_nanos, replica: me, seq };
        let mut delta = LwwMap::new();
        delta.writes.insert(me, seq);
        delta.entries.insert(key.clone(), (stamp, value.clone()));
        self.merge(&delta);
        delta
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// The stamp of `key`'s winning write.
    pub fn stamp(&self, key: &K) -> Option<Stamp> {
        self.entries.get(key).map(|(s, _)| *s)
    }
}

impl<K: Datum, V: Datum> Crdt for LwwMap<K, V> {
    type Value = BTreeMap<K, V>;

    fn merge(&mut self, other: &Self) -> bool {
        let mut changed = false;
        for (k, (stamp, v)) in &other.entries {
            match self.entries.get_mut(k) {
                Some((s, _)) if *s >= *stamp => {}
                Some(slot) => {
                    *slot = (*stamp, v.clone());
                    changed = true;
                }
                None => {
                    self.entries.insert(k.clone(), (*stamp, v.clone()));
                    changed = true;
                }
            }
        }
        for (&r, &n) in &other.writes {
            let e = self.writes.entry(r).or_insert(0);
            if n > *e {
                *e = n;
                changed = true;
            }
        }
        changed
    }

    fn value(&self) -> BTreeMap<K, V> {
        self.entries.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect()
    }
}

impl Replicated for LwwMap<u32, u64> {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Put { .. })
    }

    fn apply(&mut self, me: ReplicaId, op: &Op, local_nanos: u64) -> Self {
        match *op {
            Op::Put { key, value } => self.put(me, key, value, local_nanos),
            _ => LwwMap::new(),
        }
    }

    fn overwrites(&self, op: &Op) -> Option<u64> {
        match op {
            Op::Put { key, .. } => self.get(key).copied(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crdt::laws;

    #[test]
    fn concurrent_writes_keep_one() {
        let (mut a, mut b) = (LwwMap::new(), LwwMap::new());
        a.put(0, 7u32, 1, 100);
        b.put(1, 7u32, 2, 100); // same clock reading: the higher replica id wins
        a.merge(&b);
        b.merge(&a);
        assert_eq!(a.get(&7u32), Some(&2));
        assert_eq!(a, b);
    }

    #[test]
    fn a_clock_behind_loses_a_later_write() {
        let (mut a, mut b) = (LwwMap::new(), LwwMap::new());
        a.put(0, 7u32, 1, 1_000); // first in real time, clock ahead
        b.merge(&a);
        b.put(1, 7u32, 2, 500); // later in real time, clock behind: lost on the spot
        assert_eq!(b.get(&7u32), Some(&1));
    }

    fn op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..4, 0u32..3, 0u64..1000).prop_map(|(r, key, value)| (r, Op::Put { key, value }))
    }

    proptest! {
        #[test]
        fn laws(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            laws::check_all::<LwwMap<u32, u64>>(&ops, seed)?;
        }
    }
}
