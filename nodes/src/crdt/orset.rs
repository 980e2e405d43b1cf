//! The observed-remove set (OR-Set, add-wins): every add creates a unique tag (replica,
//! counter); a remove deletes only the tags its replica has observed for that element, and
//! keeps them as tombstones so that no later merge brings them back. An add concurrent with a
//! remove carries a tag the remove did not see, so the add wins.
//!
//! # Tombstone garbage collection
//!
//! Tombstones grow with every remove. [`OrSet::collect_garbage`] forgets them below a *floor*:
//! a per-replica counter under which a tag absent from the live set counts as removed. The floor
//! travels in the state (merged by maximum), so a tag under it that arrives live from a stale
//! message is dropped, and a remove that was forgotten as a tombstone still wins.
//!
//! **Safety condition.** A floor of `c` for replica `r` may be set at a replica only when the
//! floor is known to cover only adds that have been seen: every add of `r` up to counter `c`.
//! The replica actors use the classic, conservative form: the pointwise minimum of the
//! [`OrSet::clock`]s acknowledged by *every* replica, so a tombstone is forgotten only once
//! every replica is known to have seen its add (and, through the floor, learns the remove).
//! A clock is a contiguous prefix (it covers every tag up to its value) when states travel
//! whole (full-state gossip) or deltas arrive in causal order (delta intervals); it is not one
//! when raw deltas may skip. A floor above an add some replica holds live but the collecting
//! replica never saw deletes that add everywhere the floor spreads: the unit test
//! `garbage_collection_never_resurrects` and the whole-run test in `tests/crdt.rs` check that
//! collection with a safe floor changes no replica's value at any instant, and the latter
//! fails when the floor is raised one add too far.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Crdt, Op, ReplicaId, Replicated};

/// A unique add: the replica that added and its add counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// Who added.
    pub replica: ReplicaId,
    /// That replica's add counter (from 1).
    pub counter: u64,
}

/// What an OR-Set element must be.
pub trait Element: Ord + Clone + Debug + Serialize + DeserializeOwned + 'static {}
impl<T: Ord + Clone + Debug + Serialize + DeserializeOwned + 'static> Element for T {}

/// An OR-Set of `E`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "E: Element")]
pub struct OrSet<E: Element> {
    /// Live tags per element (no element has an empty set).
    live: BTreeMap<E, BTreeSet<Tag>>,
    /// Removed tags above the floor.
    tombstones: BTreeSet<Tag>,
    /// Highest add counter seen per replica.
    clock: BTreeMap<ReplicaId, u64>,
    /// Garbage-collection floor per replica (see the module doc).
    floor: BTreeMap<ReplicaId, u64>,
}

impl<E: Element> Default for OrSet<E> {
    fn default() -> Self {
        OrSet { live: BTreeMap::new(), tombstones: BTreeSet::new(), clock: BTreeMap::new(), floor: BTreeMap::new() }
    }
}

fn get(map: &BTreeMap<ReplicaId, u64>, r: ReplicaId) -> u64 {
    map.get(&r).copied().unwrap_or(0)
}

fn join_max(into: &mut BTreeMap<ReplicaId, u64>, from: &BTreeMap<ReplicaId, u64>) -> bool {
    let mut changed = false;
    for (&r, &c) in from {
        let e = into.entry(r).or_insert(0);
        if c > *e {
            *e = c;
            changed = true;
        }
    }
    changed
}

impl<E: Element> OrSet<E> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `e` at replica `me` with a fresh tag; returns the delta.
    pub fn add(&mut self, me: ReplicaId, e: E) -> Self {
        let counter = get(&self.clock, me) + 1;
        let tag = Tag { replica: me, counter };
        self.clock.insert(me, counter);
        self.live.entry(e.clone()).or_default().insert(tag);
        let mut delta = OrSet::new();
        delta.clock.insert(me, counter);
        delta.live.entry(e).or_default().insert(tag);
        delta
    }

    /// Removes `e` as this replica sees it: its observed tags become tombstones. Returns the
    /// delta (those tombstones); removing an absent element changes nothing.
    pub fn remove(&mut self, e: &E) -> Self {
        let mut delta = OrSet::new();
        if let Some(tags) = self.live.remove(e) {
            self.tombstones.extend(tags.iter().copied());
            delta.tombstones = tags;
        }
        delta
    }

    /// Whether `e` is in the set.
    pub fn contains(&self, e: &E) -> bool {
        self.live.contains_key(e)
    }

    /// Number of tombstones held.
    pub fn tombstones(&self) -> usize {
        self.tombstones.len()
    }

    /// Number of live tags.
    pub fn live_tags(&self) -> usize {
        self.live.values().map(BTreeSet::len).sum()
    }

    /// Highest add counter seen per replica (see the module doc for when it is a prefix).
    pub fn clock(&self) -> &BTreeMap<ReplicaId, u64> {
        &self.clock
    }

    /// Forgets tombstones under `stable`, which must satisfy the safety condition of the module
    /// doc. Returns how many were forgotten.
    pub fn collect_garbage(&mut self, stable: &BTreeMap<ReplicaId, u64>) -> usize {
        join_max(&mut self.floor, stable);
        let before = self.tombstones.len();
        let floor = &self.floor;
        self.tombstones.retain(|t| t.counter > get(floor, t.replica));
        before - self.tombstones.len()
    }

    /// Whether this state knows `tag` of `e` to be removed.
    fn removed(&self, e: &E, tag: &Tag) -> bool {
        self.tombstones.contains(tag)
            || (tag.counter <= get(&self.floor, tag.replica) && !self.live.get(e).is_some_and(|t| t.contains(tag)))
    }
}

impl<E: Element> Crdt for OrSet<E> {
    type Value = BTreeSet<E>;

    fn merge(&mut self, other: &Self) -> bool {
        let mut changed = false;
        // Tags of ours that the other knows removed.
        let mut dead = Vec::new();
        for (e, tags) in &self.live {
            for t in tags {
                if other.removed(e, t) {
                    dead.push((e.clone(), *t));
                }
            }
        }
        // Tags of the other's that we neither hold nor know removed.
        let mut born = Vec::new();
        for (e, tags) in &other.live {
            let mine = self.live.get(e);
            for t in tags {
                if !mine.is_some_and(|m| m.contains(t)) && !self.removed(e, t) {
                    born.push((e.clone(), *t));
                }
            }
        }
        for (e, t) in dead {
            if let Some(tags) = self.live.get_mut(&e) {
                tags.remove(&t);
                if tags.is_empty() {
                    self.live.remove(&e);
                }
            }
            changed = true;
        }
        for (e, t) in born {
            self.live.entry(e).or_default().insert(t);
            changed = true;
        }
        changed |= join_max(&mut self.clock, &other.clock);
        changed |= join_max(&mut self.floor, &other.floor);
        for t in &other.tombstones {
            if t.counter > get(&self.floor, t.replica) && self.tombstones.insert(*t) {
                changed = true;
            }
        }
        let floor = &self.floor;
        let before = self.tombstones.len();
        self.tombstones.retain(|t| t.counter > get(floor, t.replica));
        changed |= self.tombstones.len() != before;
        changed
    }

    fn value(&self) -> BTreeSet<E> {
        self.live.keys().cloned().collect()
    }
}

impl Replicated for OrSet<u32> {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Add(_) | Op::Remove(_))
    }

    fn apply(&mut self, me: ReplicaId, op: &Op, _local_nanos: u64) -> Self {
        match *op {
            Op::Add(e) => self.add(me, e),
            Op::Remove(e) => self.remove(&e),
            _ => OrSet::new(),
        }
    }

    fn seen(&self) -> Option<BTreeMap<ReplicaId, u64>> {
        Some(self.clock.clone())
    }

    fn collect_garbage(&mut self, stable: &BTreeMap<ReplicaId, u64>) -> usize {
        OrSet::collect_garbage(self, stable)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::RngExt;

    use super::*;
    use crate::crdt::laws;

    #[test]
    fn concurrent_add_and_remove_ends_in_add() {
        let (mut a, mut b) = (OrSet::new(), OrSet::new());
        a.add(0, "milk".to_string());
        b.merge(&a);
        b.remove(&"milk".to_string());
        a.add(0, "milk".to_string()); // concurrent with b's remove: b never saw this tag
        a.merge(&b);
        b.merge(&a);
        assert!(a.contains(&"milk".to_string()) && b.contains(&"milk".to_string()));
        assert_eq!(a, b);
    }

    #[test]
    fn an_observed_remove_survives_stale_merges() {
        let (mut a, mut b) = (OrSet::new(), OrSet::new());
        a.add(0, 7u32);
        let stale = a.clone();
        b.merge(&a);
        b.remove(&7);
        a.merge(&b);
        a.merge(&stale);
        b.merge(&stale);
        assert!(!a.contains(&7) && !b.contains(&7));
        assert_eq!(b.tombstones(), 1);
    }

    #[test]
    fn garbage_collection_forgets_tombstones_and_still_removes() {
        let (mut a, mut b) = (OrSet::new(), OrSet::new());
        a.add(0, 1u32);
        let stale = a.clone();
        b.merge(&a);
        b.remove(&1);
        // Both replicas have seen tag (0,1): the minimum of their clocks is stable.
        let stable = BTreeMap::from([(0, 1)]);
        assert_eq!(b.collect_garbage(&stable), 1);
        assert_eq!(b.tombstones(), 0);
        // a never saw the remove; the floor carries it.
        a.merge(&b);
        assert!(!a.contains(&1));
        b.merge(&stale);
        assert!(!b.contains(&1), "a stale add under the floor came back");
    }

    fn op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..4, 0u32..4, any::<bool>()).prop_map(|(r, e, add)| (r, if add { Op::Add(e) } else { Op::Remove(e) }))
    }

    proptest! {
        #[test]
        fn laws(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            laws::check_all::<OrSet<u32>>(&ops, seed)?;
        }

        /// GC with a floor that obeys the safety condition never changes what any replica
        /// sees, however stale the states merged afterwards: it resurrects nothing and loses
        /// nothing. Each replica has a twin that never collects; both get the same ops and
        /// merges (full states, so clocks are prefixes).
        #[test]
        fn garbage_collection_never_resurrects(ops in prop::collection::vec(op(), 1..60), seed: u64) {
            let mut rng = faultline::derive_rng(seed, "gc", 0);
            let n = 4;
            let mut gc = vec![OrSet::<u32>::new(); n];
            let mut twin = vec![OrSet::<u32>::new(); n];
            let mut history: Vec<(OrSet<u32>, OrSet<u32>)> = Vec::new();
            for (r, op) in &ops {
                let r = *r as usize;
                match rng.random_range(0..4) {
                    0 => {
                        let from = rng.random_range(0..n);
                        let (g, t) = (gc[from].clone(), twin[from].clone());
                        gc[r].merge(&g);
                        twin[r].merge(&t);
                    }
                    1 if !history.is_empty() => {
                        let (g, t) = history[rng.random_range(0..history.len())].clone();
                        gc[r].merge(&g);
                        twin[r].merge(&t);
                    }
                    2 => {
                        // The stable cut: what every replica has seen.
                        let mut stable = gc[0].clock().clone();
                        for s in &gc[1..] {
                            for (k, v) in stable.iter_mut() {
                                *v = (*v).min(s.clock().get(k).copied().unwrap_or(0));
                            }
                        }
                        let who = rng.random_range(0..n);
                        gc[who].collect_garbage(&stable);
                    }
                    _ => {}
                }
                gc[r].apply(r as ReplicaId, op, 0);
                twin[r].apply(r as ReplicaId, op, 0);
                history.push((gc[r].clone(), twin[r].clone()));
                for i in 0..n {
                    prop_assert_eq!(gc[i].value(), twin[i].value(), "replica {} after {:?}", i, op);
                }
            }
        }
    }
}
