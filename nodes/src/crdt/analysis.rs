//! Plain functions over what a run observed: convergence and when, the oracle of the intended
//! result (what a single sequential copy in real-time order would hold), and the anomalies each
//! type shows against it. Scenarios print these; nothing here knows about reports.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline::SimTime;

use super::observer::{OpRecord, WindowSample};
use super::{Crdt, Op};

/// What one run observed (see [`Observer::observations`](super::Observer::observations)).
#[derive(Clone, Debug)]
pub struct Observations<T> {
    /// Every replica's state at the end, by replica index.
    pub states: Vec<T>,
    /// Every acknowledged operation, in the order applied.
    pub ops: Vec<OpRecord>,
    /// One sample per window.
    pub windows: Vec<WindowSample>,
    /// Since when all states are equal (by digest), if they are at the end.
    pub equal_since: Option<SimTime>,
    /// When the last operation was applied.
    pub last_op_at: Option<SimTime>,
    /// Gossip messages sent.
    pub messages: u64,
    /// Gossip bytes sent.
    pub bytes: u64,
    /// Messages that carried a full state.
    pub full_states: u64,
    /// Merges that changed a replica's state.
    pub merges: u64,
    /// Tombstones forgotten by garbage collection.
    pub collected: u64,
    /// Largest state seen, in bytes (window samples and the end).
    pub state_bytes_max: usize,
    /// Largest state at the end, in bytes.
    pub state_bytes_final: usize,
}

impl<T: Crdt> Observations<T> {
    /// Whether every replica's internal state is equal (compared exactly, not by digest).
    pub fn converged(&self) -> bool {
        converged(&self.states)
    }

    /// When the replicas became equal for good, if they are equal at the end.
    pub fn converged_at(&self) -> Option<SimTime> {
        if self.converged() { self.equal_since } else { None }
    }

    /// From the last operation to convergence (zero if they were equal already).
    pub fn convergence_time(&self) -> Option<Duration> {
        let at = self.converged_at()?;
        Some(at.saturating_since(self.last_op_at.unwrap_or(SimTime::ZERO)))
    }

    /// Every replica's visible value.
    pub fn values(&self) -> Vec<T::Value> {
        self.states.iter().map(Crdt::value).collect()
    }
}

/// Whether all `states` are equal.
pub fn converged<T: PartialEq>(states: &[T]) -> bool {
    states.windows(2).all(|w| w[0] == w[1])
}

/// The counter a single copy would hold: increments minus decrements.
pub fn expected_count(ops: &[OpRecord]) -> i128 {
    ops.iter()
        .map(|o| match o.op {
            Op::Increment(n) => i128::from(n),
            Op::Decrement(n) => -i128::from(n),
            _ => 0,
        })
        .sum()
}

fn real_time_order(ops: &[OpRecord]) -> Vec<&OpRecord> {
    let mut v: Vec<&OpRecord> = ops.iter().collect();
    v.sort_by_key(|o| (o.at, o.id));
    v
}

/// The set a single copy would hold: elements whose last operation in real time was an add.
pub fn expected_set(ops: &[OpRecord]) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    for o in real_time_order(ops) {
        match o.op {
            Op::Add(e) => {
                set.insert(e);
            }
            Op::Remove(e) => {
                set.remove(&e);
            }
            _ => {}
        }
    }
    set
}

/// The map a single copy would hold: the last write in real time per key (values are op ids).
pub fn expected_map(ops: &[OpRecord]) -> BTreeMap<u32, u64> {
    let mut map = BTreeMap::new();
    for o in real_time_order(ops) {
        if let Op::Put { key, value } = o.op {
            map.insert(key, value);
        }
    }
    map
}

/// How a set differs from the oracle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetErrors {
    /// Present though the last operation in real time removed them. For an OR-Set these are
    /// add-wins outcomes (an add concurrent with the remove survived it); for a naive set, also
    /// removes that a merge undid.
    pub kept_after_remove: BTreeSet<u32>,
    /// Absent though the last operation in real time added them.
    pub lost_after_add: BTreeSet<u32>,
}

impl SetErrors {
    /// Elements that differ.
    pub fn total(&self) -> usize {
        self.kept_after_remove.len() + self.lost_after_add.len()
    }
}

/// Compares a set with the oracle.
pub fn set_errors(expected: &BTreeSet<u32>, actual: &BTreeSet<u32>) -> SetErrors {
    SetErrors {
        kept_after_remove: actual.difference(expected).copied().collect(),
        lost_after_add: expected.difference(actual).copied().collect(),
    }
}

/// What a last-writer-wins map lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LwwAnomalies {
    /// Acknowledged writes.
    pub writes: usize,
    /// Writes that no replica holds at the end and that no later write overwrote knowingly
    /// (at a replica that held them): they vanished in a merge, beaten by a concurrent write.
    pub lost: usize,
    /// Lost writes beaten by a write that happened *earlier* in real time but carried a higher
    /// stamp: the writer's clock was behind (skew).
    pub lost_to_skew: usize,
    /// Keys whose final value is not the last write in real time.
    pub wrong_keys: usize,
}

/// Counts what an LWW map lost, given its final contents (values are op ids).
pub fn lww_anomalies(ops: &[OpRecord], final_map: &BTreeMap<u32, u64>) -> LwwAnomalies {
    let overwritten: BTreeSet<u64> = ops.iter().filter_map(|o| o.overwrote).collect();
    let held: BTreeSet<u64> = final_map.values().copied().collect();
    let mut by_key: BTreeMap<u32, Vec<&OpRecord>> = BTreeMap::new();
    for o in real_time_order(ops) {
        if let Op::Put { key, .. } = o.op {
            by_key.entry(key).or_default().push(o);
        }
    }
    let stamp = |o: &OpRecord| (o.local_nanos, o.replica, o.at, o.id);
    let mut out = LwwAnomalies::default();
    for writes in by_key.values() {
        out.writes += writes.len();
        // The highest stamp among writes strictly earlier in real time.
        let mut best_before: Option<(u64, u32, SimTime, u64)> = None;
        let mut i = 0;
        while i < writes.len() {
            let at = writes[i].at;
            let mut j = i;
            while j < writes.len() && writes[j].at == at {
                let w = writes[j];
                if !held.contains(&w.id) && !overwritten.contains(&w.id) {
                    out.lost += 1;
                    if best_before.is_some_and(|b| b > stamp(w)) {
                        out.lost_to_skew += 1;
                    }
                }
                j += 1;
            }
            for w in &writes[i..j] {
                best_before = best_before.max(Some(stamp(w)));
            }
            i = j;
        }
    }
    let expected = expected_map(ops);
    out.wrong_keys = expected.iter().filter(|(k, v)| final_map.get(k) != Some(v)).count();
    out
}

/// Distinct states per window, as (window end in seconds, count): how divergence evolves.
pub fn divergence(windows: &[WindowSample]) -> Vec<(f64, usize)> {
    windows.iter().map(|w| (w.end.as_secs_f64(), w.distinct_states)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::ReplicaId;

    fn put(id: u64, at_ms: u64, local_ms: u64, replica: ReplicaId, key: u32, overwrote: Option<u64>) -> OpRecord {
        OpRecord {
            id,
            at: SimTime::from_nanos(at_ms * 1_000_000),
            local_nanos: local_ms * 1_000_000,
            replica,
            op: Op::Put { key, value: id },
            overwrote,
        }
    }

    #[test]
    fn oracles_follow_real_time() {
        let rec =
            |id, at, op| OpRecord { id, at: SimTime::from_nanos(at), local_nanos: 0, replica: 0, op, overwrote: None };
        let ops = [rec(0, 5, Op::Add(1)), rec(1, 1, Op::Add(2)), rec(2, 3, Op::Remove(1)), rec(3, 2, Op::Remove(2))];
        assert_eq!(expected_set(&ops), BTreeSet::from([1]));
        let ops = [rec(0, 1, Op::Increment(3)), rec(1, 2, Op::Decrement(1))];
        assert_eq!(expected_count(&ops), 2);
    }

    #[test]
    fn lww_counts_concurrent_and_skewed_losses() {
        // 0 and 1 write k concurrently; 1 wins on stamp. 2 overwrites 1 knowingly.
        // 3 writes later in real time with a clock behind, and loses to 2.
        let ops = [
            put(0, 10, 10, 0, 7, None),
            put(1, 10, 11, 1, 7, None),
            put(2, 20, 20, 1, 7, Some(1)),
            put(3, 30, 5, 2, 7, None),
        ];
        let final_map = BTreeMap::from([(7, 2)]);
        let a = lww_anomalies(&ops, &final_map);
        assert_eq!(a, LwwAnomalies { writes: 4, lost: 2, lost_to_skew: 1, wrong_keys: 1 });
    }
}
