//! The grow-only counter: one entry per replica, each replica increments only its own, and a
//! merge takes the maximum of each entry. Its state grows with the number of replicas that ever
//! incremented: at 10,000 replicas a full state is up to 10,000 entries, and a cluster holds
//! replicas x entries of them.
//!
//! Entries are kept sparse (a sorted list) while few, and move to a dense array indexed by
//! replica id once they fill at least a quarter of the ids below them: a delta of one entry
//! stays small, and a large state merges an entry with an index instead of a tree search.
//! Either way the state encodes as the same sorted map, and equality compares entries.
//!
//! A dense slot is 32 bits: a count is the number of increments a replica made, which stays far
//! below 2^32 in any run, and halving the slot halves the memory of a large cluster (10,000
//! replicas of 10,000 slots each: 400 MB instead of 800 MB). A count that does not fit marks its
//! slot [`BIG`] and lives in a short side list.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Crdt, Op, ReplicaId, Replicated, mix};

/// Entries below this count stay sparse.
const DENSE_MIN: usize = 16;
/// A dense slot holding this refers to the side list of counts that do not fit 32 bits.
const BIG: u32 = u32::MAX;

/// A G-Counter. Its digest is kept incrementally (a sum of per-entry hashes), so that a
/// replica learns its digest in O(1) after each change.
#[derive(Clone, Debug, Default)]
pub struct GCounter {
    /// Entries of ids below `dense.len()` (0: none). Never longer than 4 x `len`, nor than
    /// the highest id seen plus one.
    dense: Vec<u32>,
    /// Counts of dense ids whose slot holds [`BIG`], sorted by id.
    big: Vec<(ReplicaId, u64)>,
    /// Entries of ids at or above `dense.len()`, sorted by id, none zero.
    sparse: Vec<(ReplicaId, u64)>,
    /// Non-zero entries.
    len: usize,
    digest: u64,
}

fn entry_hash(id: ReplicaId, count: u64) -> u64 {
    mix(mix(u64::from(id)) ^ count)
}

impl PartialEq for GCounter {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.digest == other.digest && self.entries().eq(other.entries())
    }
}

impl Eq for GCounter {}

impl GCounter {
    /// An empty counter (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to replica `me`'s entry; returns the delta (that entry alone).
    pub fn increment(&mut self, me: ReplicaId, n: u64) -> GCounter {
        let new = self.get(me).saturating_add(n);
        self.raise(me, new);
        let mut delta = GCounter::new();
        delta.raise(me, new);
        delta
    }

    /// Replica `id`'s entry.
    pub fn get(&self, id: ReplicaId) -> u64 {
        match self.dense.get(id as usize) {
            Some(&c) => self.slot(id as usize, c),
            None => self.sparse.binary_search_by_key(&id, |e| e.0).map_or(0, |k| self.sparse[k].1),
        }
    }

    /// Number of entries (replicas that incremented).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no replica has incremented.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries, by replica.
    pub fn entries(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        let dense =
            self.dense.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| (i as ReplicaId, self.slot(i, c)));
        dense.chain(self.sparse.iter().copied())
    }

    /// The count of dense id `i`, whose slot holds `c`.
    fn slot(&self, i: usize, c: u32) -> u64 {
        if c == BIG {
            self.big.binary_search_by_key(&(i as ReplicaId), |e| e.0).map_or(0, |k| self.big[k].1)
        } else {
            u64::from(c)
        }
    }

    /// Sets dense id `i` to `c`, in its slot or, if it does not fit, in the side list.
    fn set_slot(&mut self, i: usize, c: u64) {
        match u32::try_from(c) {
            Ok(small) if small < BIG => self.dense[i] = small,
            _ => {
                self.dense[i] = BIG;
                match self.big.binary_search_by_key(&(i as ReplicaId), |e| e.0) {
                    Ok(k) => self.big[k].1 = c,
                    Err(k) => self.big.insert(k, (i as ReplicaId, c)),
                }
            }
        }
    }

    /// Accounts for `id` going from `old` to `c` (`c > old`).
    fn account(&mut self, id: ReplicaId, old: u64, c: u64) {
        if old == 0 {
            self.len += 1;
        } else {
            self.digest = self.digest.wrapping_sub(entry_hash(id, old));
        }
        self.digest = self.digest.wrapping_add(entry_hash(id, c));
    }

    /// Raises `id`'s entry to `c` if it is lower; returns whether it was.
    fn raise(&mut self, id: ReplicaId, c: u64) -> bool {
        let i = id as usize;
        if i >= self.dense.len() && self.len + 1 >= DENSE_MIN && i < 4 * (self.len + 1) {
            self.grow(i + 1);
        }
        let old = if let Some(&slot) = self.dense.get(i) {
            let old = self.slot(i, slot);
            if c <= old {
                return false;
            }
            self.set_slot(i, c);
            old
        } else {
            match self.sparse.binary_search_by_key(&id, |e| e.0) {
                Ok(k) => {
                    let old = self.sparse[k].1;
                    if c <= old {
                        return false;
                    }
                    self.sparse[k].1 = c;
                    old
                }
                Err(_) if c == 0 => return false,
                Err(k) => {
                    self.sparse.insert(k, (id, c));
                    0
                }
            }
        };
        self.account(id, old, c);
        true
    }

    /// Makes ids below `n` dense.
    fn grow(&mut self, n: usize) {
        let k = self.sparse.partition_point(|e| (e.0 as usize) < n);
        // Only up to the highest id: zeroed slots beyond it would cost resident memory (at
        // 10,000 replicas, doubling to 16,384 slots cost 0.6 GB); unused capacity does not.
        self.dense.resize(n, 0);
        let moved: Vec<(ReplicaId, u64)> = self.sparse.drain(..k).collect();
        for (id, c) in moved {
            self.set_slot(id as usize, c);
        }
    }

    /// Joins `other` in; pushes onto `new` (in id order) each entry that rose.
    fn join_from(&mut self, other: &GCounter, mut new: Option<&mut Vec<(ReplicaId, u64)>>) -> bool {
        let mut changed = false;
        let mut tail = Vec::new();
        for (id, c) in other.entries() {
            let i = id as usize;
            match self.dense.get(i).map(|&slot| self.slot(i, slot)) {
                Some(old) if c > old => {
                    self.set_slot(i, c);
                    self.account(id, old, c);
                    changed = true;
                    if let Some(n) = new.as_deref_mut() {
                        n.push((id, c));
                    }
                }
                Some(_) => {}
                None => tail.push((id, c)),
            }
        }
        if tail.len() <= 8 {
            for (id, c) in tail {
                if self.raise(id, c) {
                    changed = true;
                    if let Some(n) = new.as_deref_mut() {
                        n.push((id, c));
                    }
                }
            }
            return changed;
        }
        // Many entries beyond the dense part: one pass over both sorted lists.
        let mine = std::mem::take(&mut self.sparse);
        let mut out = Vec::with_capacity(mine.len() + tail.len());
        let (mut i, mut j) = (0, 0);
        while i < mine.len() || j < tail.len() {
            let take_mine = j == tail.len() || (i < mine.len() && mine[i].0 < tail[j].0);
            if take_mine {
                out.push(mine[i]);
                i += 1;
                continue;
            }
            let (id, c) = tail[j];
            j += 1;
            let old = if i < mine.len() && mine[i].0 == id {
                i += 1;
                mine[i - 1].1
            } else {
                0
            };
            if c > old {
                out.push((id, c));
                self.account(id, old, c);
                changed = true;
                if let Some(n) = new.as_deref_mut() {
                    n.push((id, c));
                }
            } else {
                out.push((id, old));
            }
        }
        if out.capacity() > out.len() + out.len() / 4 {
            out.shrink_to_fit();
        }
        self.sparse = out;
        self.densify();
        changed
    }

    /// Moves sparse entries to the dense part while they fill a quarter of the ids below them.
    fn densify(&mut self) {
        let Some(&(max, _)) = self.sparse.last() else { return };
        let n = (4 * self.len).min(max as usize + 1);
        if self.len >= DENSE_MIN && n > self.dense.len() {
            self.grow(n);
        }
    }

    /// A counter of entries sorted by id.
    fn from_sorted(entries: Vec<(ReplicaId, u64)>) -> Self {
        let mut g = GCounter { sparse: entries, ..GCounter::default() };
        g.len = g.sparse.len();
        g.digest = g.sparse.iter().fold(0u64, |d, &(id, c)| d.wrapping_add(entry_hash(id, c)));
        g.densify();
        g
    }
}

impl Serialize for GCounter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len))?;
        for (id, c) in self.entries() {
            map.serialize_entry(&id, &c)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for GCounter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = GCounter;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map from replica id to count")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<GCounter, A::Error> {
                // Our own encoding is sorted by id: build the counter in one pass, not entry by
                // entry (which grows the dense part a step at a time). Any other order is still
                // read, entry by entry.
                let mut entries: Vec<(ReplicaId, u64)> = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
                let mut sorted = true;
                while let Some((id, c)) = map.next_entry::<ReplicaId, u64>()? {
                    if c == 0 {
                        continue;
                    }
                    sorted &= entries.last().is_none_or(|&(last, _)| last < id);
                    entries.push((id, c));
                }
                if sorted {
                    return Ok(GCounter::from_sorted(entries));
                }
                let mut g = GCounter::new();
                for (id, c) in entries {
                    g.raise(id, c);
                }
                Ok(g)
            }
        }
        d.deserialize_map(Entries)
    }
}

impl Crdt for GCounter {
    type Value = u64;

    fn merge(&mut self, other: &Self) -> bool {
        if self.is_empty() {
            let changed = !other.is_empty();
            self.clone_from(other);
            return changed;
        }
        self.join_from(other, None)
    }

    fn merge_new(&mut self, other: &Self) -> Option<Self> {
        let mut new = Vec::new();
        self.join_from(other, Some(&mut new));
        (!new.is_empty()).then(|| GCounter::from_sorted(new))
    }

    fn value(&self) -> u64 {
        self.entries().fold(0u64, |a, (_, c)| a.saturating_add(c))
    }

    fn digest(&self) -> u64 {
        self.digest
    }

    fn leq(&self, other: &Self) -> bool {
        self.entries().all(|(id, c)| c <= other.get(id))
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

    #[test]
    fn a_map_out_of_order_or_with_repeats_decodes_to_the_same_counter() {
        // Encoded by hand as a map of (id, count) in another order, with a repeat and a zero.
        let pairs: Vec<(ReplicaId, u64)> = vec![(7, 2), (3, 1), (7, 5), (9, 0), (1, 4)];
        let map: std::collections::BTreeMap<ReplicaId, u64> = [(1, 4), (3, 1), (7, 5)].into();
        let bytes = faultline::wire::encode(&SerdePairs(pairs));
        let g: GCounter = faultline::wire::decode(&bytes).unwrap();
        let want: GCounter = faultline::wire::decode(&faultline::wire::encode(&map)).unwrap();
        assert_eq!(g, want);
        assert_eq!(g.value(), 10);
    }

    /// Pairs serialized as a map in the given order.
    struct SerdePairs(Vec<(ReplicaId, u64)>);

    impl Serialize for SerdePairs {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }

    #[test]
    fn counts_beyond_32_bits_survive_dense_slots() {
        let big = u64::from(u32::MAX) + 7;
        let mut a = GCounter::new();
        for id in 0..40 {
            a.increment(id, 1);
        }
        assert!(!a.dense.is_empty());
        a.increment(5, big);
        a.increment(6, u64::from(u32::MAX) - 1);
        assert_eq!(a.get(5), big + 1);
        assert_eq!(a.get(6), u64::from(u32::MAX));
        assert_eq!(a.value(), 38 + big + 1 + u64::from(u32::MAX));
        let mut b = GCounter::new();
        b.increment(5, big + 10);
        assert!(a.merge(&b));
        assert_eq!(a.get(5), big + 10);
        let back: GCounter = faultline::wire::decode(&faultline::wire::encode(&a)).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.digest(), a.digest());
        // Sparse counts that move into the dense part keep their size.
        let mut c = GCounter::new();
        c.increment(30, big);
        for id in 0..30 {
            c.increment(id, 1);
        }
        c.increment(31, 1);
        assert_eq!(c.get(30), big);
        assert!(!c.dense.is_empty() && c.dense.len() > 30, "id 30 moved into the dense part");
    }

    #[test]
    fn dense_and_sparse_states_are_equal_and_encode_alike() {
        let mut dense = GCounter::new();
        for id in 0..100 {
            dense.increment(id, 1);
        }
        assert!(!dense.dense.is_empty(), "100 entries over 100 ids are dense");
        let mut sparse = GCounter::new();
        for id in (0..100).rev() {
            sparse.merge(&GCounter::from_entry(id, 1));
        }
        let mut one = GCounter::new();
        one.increment(5_000_000, 1);
        assert!(one.dense.is_empty(), "a lone high id stays sparse");
        assert_eq!(dense, sparse);
        assert_eq!(faultline::wire::encode(&dense), faultline::wire::encode(&sparse));
        let back: GCounter = faultline::wire::decode(&faultline::wire::encode(&dense)).unwrap();
        assert_eq!(back, dense);
        assert_eq!(back.value(), 100);
    }

    impl GCounter {
        fn from_entry(id: ReplicaId, c: u64) -> Self {
            let mut g = GCounter::new();
            g.raise(id, c);
            g
        }
    }

    fn counter(entries: &[(ReplicaId, u64)]) -> GCounter {
        let mut g = GCounter::new();
        for &(id, c) in entries {
            g.raise(id, c);
        }
        g
    }

    proptest! {
        /// Merging agrees with an entry-wise maximum over a plain map, whatever the mix of
        /// dense and sparse entries on each side, and `merge_new` returns exactly what rose.
        #[test]
        fn merge_is_the_entrywise_maximum(
            a in prop::collection::vec((0u32..3000, 1u64..4), 0..200),
            b in prop::collection::vec((0u32..3000, 1u64..4), 0..200),
            dense_ids in 0u32..200,
        ) {
            let b: Vec<_> = b.into_iter().chain((0..dense_ids).map(|i| (i, 1))).collect();
            let (ga, gb) = (counter(&a), counter(&b));
            let mut model = std::collections::BTreeMap::new();
            for &(id, c) in a.iter().chain(&b) {
                let e = model.entry(id).or_insert(0);
                *e = (*e).max(c);
            }
            let mut merged = ga.clone();
            let new = merged.merge_new(&gb);
            prop_assert_eq!(merged.entries().collect::<Vec<_>>(), model.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>());
            prop_assert_eq!(&merged, &counter(&model.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>()));
            let rose: Vec<_> = gb.entries().filter(|&(id, c)| c > ga.get(id)).collect();
            prop_assert_eq!(new.map(|n| n.entries().collect::<Vec<_>>()).unwrap_or_default(), rose);
        }

        /// Many replicas, so that states cross from sparse to dense.
        #[test]
        fn laws_across_the_dense_threshold(ops in prop::collection::vec((0u32..120, 1u64..3).prop_map(|(r, n)| (r, Op::Increment(n))), 0..300), seed: u64) {
            laws::check_all::<GCounter>(&ops, seed)?;
        }

        #[test]
        fn laws(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            laws::check_all::<GCounter>(&ops, seed)?;
        }
    }
}
