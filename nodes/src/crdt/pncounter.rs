//! The positive-negative counter: two G-Counters, one for increments and one for decrements;
//! its value is their difference.

use serde::{Deserialize, Serialize};

use super::{Crdt, GCounter, Op, ReplicaId, Replicated, mix};

/// A PN-Counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounter {
    p: GCounter,
    n: GCounter,
}

impl PnCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` at replica `me`; returns the delta.
    pub fn increment(&mut self, me: ReplicaId, by: u64) -> PnCounter {
        PnCounter { p: self.p.increment(me, by), n: GCounter::new() }
    }

    /// Subtracts `by` at replica `me`; returns the delta.
    pub fn decrement(&mut self, me: ReplicaId, by: u64) -> PnCounter {
        PnCounter { p: GCounter::new(), n: self.n.increment(me, by) }
    }

    /// Entries of both halves together.
    pub fn len(&self) -> usize {
        self.p.len() + self.n.len()
    }

    /// Whether nothing was ever counted.
    pub fn is_empty(&self) -> bool {
        self.p.is_empty() && self.n.is_empty()
    }
}

impl Crdt for PnCounter {
    type Value = i128;

    fn merge(&mut self, other: &Self) -> bool {
        let p = self.p.merge(&other.p);
        let n = self.n.merge(&other.n);
        p || n
    }

    fn merge_new(&mut self, other: &Self) -> Option<Self> {
        let p = self.p.merge_new(&other.p);
        let n = self.n.merge_new(&other.n);
        (p.is_some() || n.is_some()).then(|| PnCounter { p: p.unwrap_or_default(), n: n.unwrap_or_default() })
    }

    fn value(&self) -> i128 {
        i128::from(self.p.value()) - i128::from(self.n.value())
    }

    fn digest(&self) -> u64 {
        self.p.digest() ^ mix(self.n.digest())
    }

    fn leq(&self, other: &Self) -> bool {
        self.p.leq(&other.p) && self.n.leq(&other.n)
    }
}

impl Replicated for PnCounter {
    fn accepts(op: &Op) -> bool {
        matches!(op, Op::Increment(_) | Op::Decrement(_))
    }

    fn apply(&mut self, me: ReplicaId, op: &Op, _local_nanos: u64) -> Self {
        match *op {
            Op::Increment(by) => self.increment(me, by),
            Op::Decrement(by) => self.decrement(me, by),
            _ => PnCounter::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crdt::laws;

    #[test]
    fn goes_down_as_well_as_up() {
        let (mut a, mut b) = (PnCounter::new(), PnCounter::new());
        a.increment(0, 5);
        b.decrement(1, 7);
        a.merge(&b);
        assert_eq!(a.value(), -2);
    }

    fn op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..4, 1u64..5, any::<bool>())
            .prop_map(|(r, n, up)| (r, if up { Op::Increment(n) } else { Op::Decrement(n) }))
    }

    proptest! {
        #[test]
        fn laws(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            laws::check_all::<PnCounter>(&ops, seed)?;
        }
    }
}
