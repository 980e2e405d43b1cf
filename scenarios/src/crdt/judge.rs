//! What each type contributes to the judgement of a run: its values as JSON, the oracle of a
//! single copy applying the operations in real-time order, and the named anomaly counts of its
//! converged value against that oracle (naive types included, for the baseline).

use std::collections::{BTreeMap, BTreeSet};

use faultline_nodes::crdt::analysis;
use faultline_nodes::crdt::{GCounter, LwwMap, MaxCounter, NaiveSet, OpRecord, OrSet, PnCounter, Replicated};
use serde::Serialize;
use serde_json::Value;

/// The named anomaly counts: each is present for the types it concerns and null otherwise.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Anomalies {
    /// Counters: how far the converged value is from the sum of the operations (0 for a CRDT).
    pub counter_errors: Option<u64>,
    /// OR-Set: elements present though their last operation in real time was a remove (an add
    /// concurrent with the remove won).
    pub orset_add_wins: Option<u64>,
    /// OR-Set: elements absent though their last operation in real time was an add (0).
    pub orset_lost_adds: Option<u64>,
    /// LWW-Map: acknowledged writes that no replica holds and that no later write overwrote
    /// knowingly: beaten in a merge by a concurrent write.
    pub lww_lost_updates: Option<u64>,
    /// LWW-Map: lost writes beaten by a write that happened earlier in real time (a clock ahead).
    pub lww_skew_wins: Option<u64>,
    /// LWW-Map: keys whose final value is not the last write in real time.
    pub lww_wrong_keys: Option<u64>,
    /// Naive set on the same operations: elements that differ from the oracle.
    pub naive_set_errors: Option<u64>,
    /// Naive set: elements present though removed last (a merge brought them back).
    pub naive_set_resurrected: Option<u64>,
    /// Max counter on the same operations: increments its converged value misses.
    pub max_counter_errors: Option<u64>,
}

/// What a type contributes to the judgement: its values as JSON, its oracle, its anomalies.
pub trait Judged: Replicated<Value: Serialize> {
    /// A visible value as JSON.
    fn json(value: &Self::Value) -> Value {
        to_json(value)
    }
    /// The oracle of `ops` as JSON.
    fn expected(ops: &[OpRecord]) -> Value;
    /// Counts what `value` (the join of the replicas) gets wrong, into `anomalies`; returns
    /// the number of errors.
    fn judge(ops: &[OpRecord], value: &Self::Value, anomalies: &mut Anomalies) -> u64;
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn count_error(ops: &[OpRecord], value: i128) -> u64 {
    u64::try_from((analysis::expected_count(ops) - value).unsigned_abs()).unwrap_or(u64::MAX)
}

impl Judged for GCounter {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_count(ops))
    }
    fn judge(ops: &[OpRecord], v: &u64, a: &mut Anomalies) -> u64 {
        let e = count_error(ops, i128::from(*v));
        a.counter_errors = Some(e);
        e
    }
}

impl Judged for PnCounter {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_count(ops))
    }
    fn judge(ops: &[OpRecord], v: &i128, a: &mut Anomalies) -> u64 {
        let e = count_error(ops, *v);
        a.counter_errors = Some(e);
        e
    }
}

impl Judged for MaxCounter {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_count(ops))
    }
    fn judge(ops: &[OpRecord], v: &u64, a: &mut Anomalies) -> u64 {
        let e = count_error(ops, i128::from(*v));
        a.max_counter_errors = Some(e);
        e
    }
}

impl Judged for OrSet<u32> {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_set(ops))
    }
    fn judge(ops: &[OpRecord], v: &BTreeSet<u32>, a: &mut Anomalies) -> u64 {
        let e = analysis::set_errors(&analysis::expected_set(ops), v);
        a.orset_add_wins = Some(e.kept_after_remove.len() as u64);
        a.orset_lost_adds = Some(e.lost_after_add.len() as u64);
        e.total() as u64
    }
}

impl Judged for NaiveSet {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_set(ops))
    }
    fn judge(ops: &[OpRecord], v: &BTreeSet<u32>, a: &mut Anomalies) -> u64 {
        let e = analysis::set_errors(&analysis::expected_set(ops), v);
        a.naive_set_errors = Some(e.total() as u64);
        a.naive_set_resurrected = Some(e.kept_after_remove.len() as u64);
        e.total() as u64
    }
}

impl Judged for LwwMap<u32, u64> {
    fn expected(ops: &[OpRecord]) -> Value {
        to_json(&analysis::expected_map(ops))
    }
    fn judge(ops: &[OpRecord], v: &BTreeMap<u32, u64>, a: &mut Anomalies) -> u64 {
        let l = analysis::lww_anomalies(ops, v);
        a.lww_lost_updates = Some(l.lost as u64);
        a.lww_skew_wins = Some(l.lost_to_skew as u64);
        a.lww_wrong_keys = Some(l.wrong_keys as u64);
        l.wrong_keys as u64
    }
}
