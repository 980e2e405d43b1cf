//! What goes wrong without the CRDT design, kept to be measured against the real types.
//!
//! - [`NaiveSet`]: add and remove on a plain set, merged by union. Union is a fine join, but a
//!   remove moves the state *down* the lattice, so the next merge with any replica that still
//!   holds the element undoes it.
//! - [`MaxCounter`]: one number, incremented in place, merged by maximum. Max is a fine join
//!   and increments move up, so replicas converge, but to the wrong number: two concurrent
//!   increments of 1 from 5 both give 6, and the merge keeps 6.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Crdt, Op, ReplicaId, Replicated};

/// A set merged by union, whose remove does not survive merges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaiveSet {
    items: BTreeSet<u32>,
}

impl NaiveSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `e` is in the set.
    pub fn contains(&self, e: u32) -> bool {
        self.items.contains(&e)
    }
}

impl Crdt for NaiveSet {
    type Value = BTreeSet<u32>;

    fn merge(&mut self, other: &Self) -> bool {
        let before = self.items.len();
        self.items.extend(other.items.iter().copied());
        self.items.len() != before
    }

    fn value(&self) -> BTreeSet<u32> {
        self.items.clone()
    }
}

impl Replicated for NaiveSet {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Add(_) | Op::Remove(_))
    }

    /// A remove has no delta that a union could carry: its delta is empty, which is the flaw.
    fn apply(&mut self, _me: ReplicaId, op: &Op, _local_nanos: u64) -> Self {
        let mut delta = NaiveSet::new();
        match *op {
            Op::Add(e) => {
                self.items.insert(e);
                delta.items.insert(e);
            }
            Op::Remove(e) => {
                self.items.remove(&e);
            }
            _ => {}
        }
        delta
    }
}

/// A single counter merged by maximum, which loses concurrent increments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxCounter {
    value: u64,
}

impl MaxCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Crdt for MaxCounter {
    type Value = u64;

    fn merge(&mut self, other: &Self) -> bool {
        let changed = other.value > self.value;
        self.value = self.value.max(other.value);
        changed
    }

    fn value(&self) -> u64 {
        self.value
    }
}

impl Replicated for MaxCounter {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Increment(_))
    }

    fn apply(&mut self, _me: ReplicaId, op: &Op, _local_nanos: u64) -> Self {
        if let Op::Increment(n) = *op {
            self.value = self.value.saturating_add(n);
        }
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crdt::laws;

    #[test]
    fn a_merge_undoes_a_naive_remove() {
        let (mut a, mut b) = (NaiveSet::new(), NaiveSet::new());
        a.apply(0, &Op::Add(1), 0);
        b.merge(&a);
        b.apply(1, &Op::Remove(1), 0);
        assert!(!b.contains(1));
        b.merge(&a);
        assert!(b.contains(1), "union brings the removed element back");
    }

    #[test]
    fn max_loses_concurrent_increments() {
        let (mut a, mut b) = (MaxCounter::new(), MaxCounter::new());
        a.apply(0, &Op::Increment(1), 0);
        b.apply(1, &Op::Increment(1), 0);
        a.merge(&b);
        assert_eq!(a.value(), 1, "two increments, one counted");
    }

    fn set_op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..4, 0u32..4, any::<bool>()).prop_map(|(r, e, add)| (r, if add { Op::Add(e) } else { Op::Remove(e) }))
    }

    proptest! {
        /// Union is a join: merges commute, associate and are idempotent; adds are fine.
        #[test]
        fn naive_set_adds_obey_the_laws(ops in prop::collection::vec((0u32..4, 0u32..4), 0..40), seed: u64) {
            let ops: Vec<_> = ops.into_iter().map(|(r, e)| (r, Op::Add(e))).collect();
            laws::check_all::<NaiveSet>(&ops, seed)?;
        }

        /// With removes, the laws break: some history makes a remove non-inflationary. This
        /// property holds exactly when the ops contain a remove of a present element.
        #[test]
        fn naive_set_removes_are_not_inflationary(ops in prop::collection::vec(set_op(), 0..40)) {
            let mut s = NaiveSet::new();
            let mut broke = false;
            let mut shrank = false;
            for (r, op) in &ops {
                let before = s.clone();
                s.apply(*r, op, 0);
                shrank |= matches!(op, Op::Remove(e) if before.contains(*e));
                broke |= !before.leq(&s);
            }
            prop_assert_eq!(broke, shrank);
        }

        #[test]
        fn max_counter_obeys_the_laws(ops in prop::collection::vec((0u32..4, 1u64..5), 0..40), seed: u64) {
            let ops: Vec<_> = ops.into_iter().map(|(r, n)| (r, Op::Increment(n))).collect();
            laws::check_all::<MaxCounter>(&ops, seed)?;
        }
    }
}
