//! The grow-only counter: one entry per replica, each replica increments only its own, and a
//! merge takes the maximum of each entry. Its state grows with the number of replicas that ever
//! incremented: at 10,000 replicas a full state is 10,000 entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Crdt, Op, ReplicaId, Replicated, mix};

/// A G-Counter. Its digest is kept incrementally (a sum of per-entry hashes), so that a
/// replica learns its digest in O(1) after each change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GCounter {
    counts: BTreeMap<ReplicaId, u64>,
    digest: u64,
}

fn entry_hash(id: ReplicaId, count: u64) -> u64 {
    mix(mix(u64::from(id)) ^ count)
}

impl GCounter {
    /// An empty counter (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to replica `me`'s entry; returns the delta (that entry alone).
    pub fn increment(&mut self, me: ReplicaId, n: u64) -> GCounter {
        let old = self.counts.get(&me).copied().unwrap_or(0);
        let new = old.saturating_add(n);
        self.set(me, old, new);
        let mut delta = GCounter::new();
        delta.set(me, 0, new);
        delta
    }

    /// Replica `id`'s entry.
    pub fn get(&self, id: ReplicaId) -> u64 {
        self.counts.get(&id).copied().unwrap_or(0)
    }

    /// Number of entries (replicas that incremented).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no replica has incremented.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The entries, by replica.
    pub fn entries(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.counts.iter().map(|(&k, &v)| (k, v))
    }

    fn set(&mut self, id: ReplicaId, old: u64, new: u64) {
        if old == new {
            return;
        }
        if old > 0 {
            self.digest = self.digest.wrapping_sub(entry_hash(id, old));
        }
        self.digest = self.digest.wrapping_add(entry_hash(id, new));
        self.counts.insert(id, new);
    }

    fn from_counts(counts: BTreeMap<ReplicaId, u64>) -> Self {
        let counts: BTreeMap<_, _> = counts.into_iter().filter(|&(_, c)| c > 0).collect();
        let digest = counts.iter().fold(0u64, |d, (&id, &c)| d.wrapping_add(entry_hash(id, c)));
        GCounter { counts, digest }
    }
}

impl Serialize for GCounter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.counts.serialize(s)
    }
}

impl<'de> Deserialize<'de> for GCounter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(GCounter::from_counts(BTreeMap::deserialize(d)?))
    }
}

impl Crdt for GCounter {
    type Value = u64;

    fn merge(&mut self, other: &Self) -> bool {
        if self.counts.is_empty() {
            let changed = !other.counts.is_empty();
            self.clone_from(other);
            return changed;
        }
        let mut changed = false;
        for (&id, &c) in &other.counts {
            let slot = self.counts.entry(id).or_insert(0);
            if c > *slot {
                if *slot > 0 {
                    self.digest = self.digest.wrapping_sub(entry_hash(id, *slot));
                }
                self.digest = self.digest.wrapping_add(entry_hash(id, c));
                *slot = c;
                changed = true;
            }
        }
        changed
    }

    fn merge_new(&mut self, other: &Self) -> Option<Self> {
        let mut new = GCounter::new();
        for (&id, &c) in &other.counts {
            let slot = self.counts.entry(id).or_insert(0);
            if c > *slot {
                if *slot > 0 {
                    self.digest = self.digest.wrapping_sub(entry_hash(id, *slot));
                }
                self.digest = self.digest.wrapping_add(entry_hash(id, c));
                *slot = c;
                new.set(id, 0, c);
            }
        }
        (!new.is_empty()).then_some(new)
    }

    fn value(&self) -> u64 {
        self.counts.values().fold(0u64, |a, &c| a.saturating_add(c))
    }

    fn digest(&self) -> u64 {
        self.digest
    }

    fn leq(&self, other: &Self) -> bool {
        self.counts.iter().all(|(&id, &c)| c <= other.get(id))
    }
}

impl Replicated for GCounter {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Increment(_))
    }

    fn apply(&mut self, me: ReplicaId, op: &Op, _local_nanos: u64) -> Self {
        match *op {
            Op::Increment(n) => self.increment(me, n),
            _ => GCounter::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crdt::laws;

    #[test]
    fn counts_every_replica_once() {
        let (mut a, mut b) = (GCounter::new(), GCounter::new());
        a.increment(0, 2);
        b.increment(1, 3);
        a.merge(&b);
        a.merge(&b);
        assert_eq!(a.value(), 5);
        b.increment(1, 1);
        a.merge(&b);
        assert_eq!(a.value(), 6);
    }

    #[test]
    fn digest_follows_the_state_and_survives_the_wire() {
        let mut a = GCounter::new();
        a.increment(3, 4);
        a.increment(1, 1);
        let mut c = GCounter::new();
        c.increment(3, 1);
        let new = c.merge_new(&a).unwrap();
        assert_eq!(new.entries().collect::<Vec<_>>(), vec![(1, 1), (3, 4)]);
        assert_eq!(c, a);
        assert_eq!(c.merge_new(&a), None);
        let back: GCounter = faultline::wire::decode(&faultline::wire::encode(&a)).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.digest(), a.digest());
        let mut b = GCounter::new();
        b.increment(1, 1);
        assert_ne!(b.digest(), a.digest());
        b.increment(3, 4);
        assert_eq!(b.digest(), a.digest());
    }

    fn op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..4, 1u64..5).prop_map(|(r, n)| (r, Op::Increment(n)))
    }

    proptest! {
        #[test]
        fn laws(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            laws::check_all::<GCounter>(&ops, seed)?;
        }
    }
}
