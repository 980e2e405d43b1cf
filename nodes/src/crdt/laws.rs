//! The semilattice laws every type must obey, checked on histories that proptest generates:
//! merge is commutative, associative and idempotent; every update is inflationary and equals
//! merging its delta; any delivery order of the same deltas or states, with duplicates, ends in
//! the same state as merging the full states.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::RngExt;
use rand::seq::SliceRandom;

use super::{Op, ReplicaId, Replicated};

/// Runs `ops` on replicas (each op at its replica, which merges another replica's state now
/// and then, as `seed` decides), then checks every law on what that produced.
pub fn check_all<T: Replicated>(ops: &[(ReplicaId, Op)], seed: u64) -> Result<(), TestCaseError> {
    let mut rng = faultline::derive_rng(seed, "laws", 0);
    let n = ops.iter().map(|(r, _)| *r as usize + 1).max().unwrap_or(1);
    let mut replicas = vec![T::default(); n];
    let mut deltas = Vec::new();
    let mut snapshots = vec![T::default()];
    for (step, (r, op)) in ops.iter().enumerate() {
        let r = *r as usize;
        if rng.random_range(0..3) == 0 {
            let from = rng.random_range(0..n);
            let other = replicas[from].clone();
            replicas[r].merge(&other);
        }
        let before = replicas[r].clone();
        // Several replicas read the same local time: ties must be broken, not lost.
        let delta = replicas[r].apply(r as ReplicaId, op, step as u64 / 3);
        let after = replicas[r].clone();
        prop_assert!(before.leq(&after), "update {op:?} is not inflationary");
        prop_assert!(delta.leq(&after), "the delta of {op:?} is not part of the new state");
        let mut joined = before.clone();
        joined.merge(&delta);
        prop_assert_eq!(&joined, &after, "state after {:?} differs from state merged with its delta", op);
        deltas.push(delta);
        snapshots.push(after);
    }
    for _ in 0..8 {
        // merge_new: the new part, merged into the old state, gives the new state.
        let x = &snapshots[rng.random_range(0..snapshots.len())];
        let y = &snapshots[rng.random_range(0..snapshots.len())];
        let mut joined = x.clone();
        match joined.merge_new(y) {
            Some(new) => {
                prop_assert!(new.leq(y), "the new part is not part of what was merged");
                let mut again = x.clone();
                again.merge(&new);
                prop_assert_eq!(&again, &joined, "the new part does not carry the change");
            }
            None => prop_assert!(y.leq(x), "merge_new saw no change where there was one"),
        }
    }
    for s in &snapshots {
        let mut twice = s.clone();
        prop_assert!(!twice.merge(s), "merging a state into itself reported a change");
        prop_assert_eq!(&twice, s, "merge is not idempotent");
    }
    for _ in 0..8 {
        let x = &snapshots[rng.random_range(0..snapshots.len())];
        let y = &snapshots[rng.random_range(0..snapshots.len())];
        let z = &snapshots[rng.random_range(0..snapshots.len())];
        let (mut xy, mut yx) = (x.clone(), y.clone());
        xy.merge(y);
        yx.merge(x);
        prop_assert_eq!(&xy, &yx, "merge is not commutative");
        prop_assert_eq!(xy.digest(), yx.digest(), "equal states with different digests");
        let mut left = xy.clone();
        left.merge(z);
        let mut yz = y.clone();
        yz.merge(z);
        let mut right = x.clone();
        right.merge(&yz);
        prop_assert_eq!(&left, &right, "merge is not associative");
        prop_assert!(x.leq(&xy) && y.leq(&xy), "a merge is not an upper bound");
    }
    let mut full = T::default();
    for s in &replicas {
        full.merge(s);
    }
    for round in 0..4 {
        // Deltas in any order, some twice.
        let mut order: Vec<&T> = deltas.iter().collect();
        let dups = rng.random_range(0..=deltas.len());
        for _ in 0..dups {
            order.push(&deltas[rng.random_range(0..deltas.len())]);
        }
        order.shuffle(&mut rng);
        let mut from_deltas = T::default();
        for d in order {
            from_deltas.merge(d);
        }
        prop_assert_eq!(&from_deltas, &full, "deltas in order {} converge elsewhere than full states", round);
        // Full states in any order, some twice.
        let mut order: Vec<&T> = replicas.iter().chain(replicas.iter().take(round)).collect();
        order.shuffle(&mut rng);
        let mut from_states = T::default();
        for s in order {
            from_states.merge(s);
        }
        prop_assert_eq!(&from_states, &full, "full states in another order converge elsewhere");
        prop_assert_eq!(from_states.value(), full.value());
    }
    Ok(())
}
