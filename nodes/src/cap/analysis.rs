//! What a run's observations mean: latency and outcomes per operation type, availability
//! overall, per phase and per side of a partition, stale reads judged against the truth,
//! t-visibility, convergence after a heal, acknowledged writes lost, and the PACELC cell.
//! Pure functions of the observations: no actor reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline::{NodeId, SimTime};
use serde::{Deserialize, Serialize};

use super::Key;
use super::config::ClusterConfig;
use super::observer::{Observations, OpKind, OpRecord, Outcome, StoreRecord};
use super::ring::Ring;
use super::version::{Value, Version, Versioned, holds};

/// Count, outcomes and latency of one operation type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    /// Operations that ended (pending ones at the end of the run are left out).
    pub count: u64,
    /// Succeeded.
    pub ok: u64,
    /// Unavailable or timed out.
    pub failed: u64,
    /// Median latency of successful operations, in ms.
    pub p50_ms: Option<f64>,
    /// 90th percentile, in ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile, in ms.
    pub p99_ms: Option<f64>,
    /// Mean, in ms.
    pub mean_ms: Option<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (0..=1) of sorted values, by nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(ms(sorted[rank - 1]))
}

/// Stats of the operations of type `kind`.
pub fn op_stats(obs: &Observations, kind: OpKind) -> OpStats {
    let ended: Vec<&OpRecord> = obs.ops.iter().filter(|o| o.kind == kind && o.outcome != Outcome::Pending).collect();
    let mut lat: Vec<Duration> =
        ended.iter().filter(|o| o.outcome == Outcome::Ok).filter_map(|o| o.latency()).collect();
    lat.sort_unstable();
    let ok = lat.len() as u64;
    let mean = (!lat.is_empty()).then(|| ms(lat.iter().sum::<Duration>()) / lat.len() as f64);
    OpStats {
        count: ended.len() as u64,
        ok,
        failed: ended.len() as u64 - ok,
        p50_ms: quantile(&lat, 0.5),
        p90_ms: quantile(&lat, 0.9),
        p99_ms: quantile(&lat, 0.99),
        mean_ms: mean,
    }
}

/// Succeeded over attempted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Operations that ended.
    pub attempted: u64,
    /// Of which succeeded.
    pub ok: u64,
    /// `ok / attempted`; `None` when nothing was attempted.
    pub ratio: Option<f64>,
}

/// Availability of the operations `keep` selects (pending ones left out).
pub fn availability(obs: &Observations, keep: impl Fn(&OpRecord) -> bool) -> Availability {
    let (mut attempted, mut ok) = (0, 0);
    for o in obs.ops.iter().filter(|o| o.outcome != Outcome::Pending && keep(o)) {
        attempted += 1;
        ok += u64::from(o.outcome == Outcome::Ok);
    }
    Availability { attempted, ok, ratio: (attempted > 0).then(|| ok as f64 / attempted as f64) }
}

/// A span of virtual time, such as a partition, `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start.
    pub from: SimTime,
    /// End.
    pub to: SimTime,
}

/// Availability before, during and after a span (by the operation's invoke time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Invoked before the span.
    pub before: Availability,
    /// Invoked during it.
    pub during: Availability,
    /// Invoked after it.
    pub after: Availability,
}

/// Availability per phase around `span`.
pub fn phases(obs: &Observations, span: Span) -> Phases {
    Phases {
        before: availability(obs, |o| o.invoke < span.from),
        during: availability(obs, |o| o.invoke >= span.from && o.invoke < span.to),
        after: availability(obs, |o| o.invoke >= span.to),
    }
}

/// Availability during `span` of the clients on each side: `sides[i]` lists the nodes of side
/// i (a client not on any listed side is left out).
pub fn by_side(obs: &Observations, span: Span, sides: &[Vec<NodeId>]) -> Vec<Availability> {
    sides
        .iter()
        .map(|side| availability(obs, |o| side.contains(&o.node) && o.invoke >= span.from && o.invoke < span.to))
        .collect()
}

/// Reads judged against the truth.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Staleness {
    /// Successful reads judged.
    pub reads: u64,
    /// Reads that returned a value older than the newest write acknowledged before they began.
    pub stale: u64,
    /// `stale / reads`.
    pub ratio: Option<f64>,
    /// A few stale reads: (key, read invoke ns, value returned or none, value it should at
    /// least have seen).
    pub examples: Vec<(Key, u64, Option<u64>, u64)>,
}

/// Examples a [`Staleness`] keeps.
pub const EXAMPLES: usize = 5;

struct WriteTimes {
    invoke: SimTime,
    ok: Option<SimTime>,
}

fn write_times(obs: &Observations) -> BTreeMap<Value, WriteTimes> {
    obs.ops
        .iter()
        .filter_map(|o| {
            let v = o.written?;
            let ok = (o.outcome == Outcome::Ok).then_some(o.complete).flatten();
            Some((v, WriteTimes { invoke: o.invoke, ok }))
        })
        .collect()
}

/// Acknowledged writes per key, as (ok time, invoke time, value), by ok time.
fn acked_by_key(obs: &Observations) -> BTreeMap<Key, Vec<(SimTime, SimTime, Value)>> {
    let mut by_key: BTreeMap<Key, Vec<(SimTime, SimTime, Value)>> = BTreeMap::new();
    for o in &obs.ops {
        if let (Some(v), Outcome::Ok, Some(done)) = (o.written, o.outcome, o.complete) {
            by_key.entry(o.key).or_default().push((done, o.invoke, v));
        }
    }
    for w in by_key.values_mut() {
        w.sort();
    }
    by_key
}

/// Whether write `v` finished before write `w` began: then `v` is strictly older than `w`.
fn precedes(writes: &BTreeMap<Value, WriteTimes>, v: Value, w: Value) -> bool {
    match (writes.get(&v).and_then(|t| t.ok), writes.get(&w)) {
        (Some(v_ok), Some(w)) => v_ok < w.invoke,
        _ => false,
    }
}

/// The acknowledged write before `at` that began last: any read starting at `at` must return it
/// or something not older. `None` if no write of the key was acknowledged before `at`.
fn newest_acked_before(acked: &[(SimTime, SimTime, Value)], at: SimTime) -> Option<Value> {
    let n = acked.partition_point(|(ok, _, _)| *ok < at);
    acked[..n].iter().max_by_key(|(_, invoke, v)| (*invoke, *v)).map(|(_, _, v)| *v)
}

/// Whether a read of `returned`, started at `at`, is stale: some write acknowledged before
/// `at` is newer than everything it returned. Reads of keys with no acknowledged write before
/// they began are never stale.
fn is_stale(
    writes: &BTreeMap<Value, WriteTimes>,
    acked: &[(SimTime, SimTime, Value)],
    at: SimTime,
    returned: &[Versioned],
) -> Option<Value> {
    let must = newest_acked_before(acked, at)?;
    let fresh = returned.iter().any(|r| r.value == must || !precedes(writes, r.value, must));
    (!fresh).then_some(must)
}

/// Stale reads among the successful reads `keep` selects.
pub fn stale_reads(obs: &Observations, keep: impl Fn(&OpRecord) -> bool) -> Staleness {
    let writes = write_times(obs);
    let acked = acked_by_key(obs);
    let mut s = Staleness::default();
    for o in obs.ops.iter().filter(|o| o.kind == OpKind::Read && o.outcome == Outcome::Ok && keep(o)) {
        s.reads += 1;
        let empty = Vec::new();
        let key_acked = acked.get(&o.key).unwrap_or(&empty);
        if let Some(must) = is_stale(&writes, key_acked, o.invoke, &o.read) {
            s.stale += 1;
            if s.examples.len() < EXAMPLES {
                s.examples.push((o.key, o.invoke.as_nanos(), o.read.first().map(|v| v.value.0), must.0));
            }
        }
    }
    s.ratio = (s.reads > 0).then(|| s.stale as f64 / s.reads as f64);
    s
}

/// A new-old inversion: a read saw write `newer`, and a read that began after it ended returned
/// only values written before `newer` began. No order of the operations satisfies a register
/// then (the first read puts `newer` before its end; the second must then see it or a later
/// write), so one such pair proves the history is not linearizable. It is what R + W > N
/// without synchronous read repair allows: a read that catches a write on its way, before a
/// quorum has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inversion {
    /// The key.
    pub key: Key,
    /// The write the first read saw.
    pub newer: u64,
    /// The first read, as (process, invoke ns, complete ns).
    pub first: (u64, u64, u64),
    /// The second read, as (process, invoke ns, complete ns).
    pub second: (u64, u64, u64),
    /// What the second read returned (none: nothing).
    pub returned: Option<u64>,
}

/// Inversions: their count and a few witnesses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inversions {
    /// Reads that returned something older than what an earlier read had returned.
    pub count: u64,
    /// A few witnesses.
    pub examples: Vec<Inversion>,
}

/// Finds new-old inversions between successful reads of the same key (see [`Inversion`]).
pub fn inversions(obs: &Observations) -> Inversions {
    let writes = write_times(obs);
    let mut reads: BTreeMap<Key, Vec<&OpRecord>> = BTreeMap::new();
    for o in obs.ops.iter().filter(|o| o.kind == OpKind::Read && o.outcome == Outcome::Ok && o.complete.is_some()) {
        reads.entry(o.key).or_default().push(o);
    }
    let span = |o: &OpRecord| (o.process, o.invoke.as_nanos(), o.complete.map_or(0, SimTime::as_nanos));
    let mut out = Inversions::default();
    for (key, key_reads) in reads {
        let mut by_end = key_reads.clone();
        by_end.sort_by_key(|o| o.complete);
        let mut by_start = key_reads;
        by_start.sort_by_key(|o| o.invoke);
        // The strongest witness so far: the value seen by an ended read whose write began last.
        let mut seen: Option<(SimTime, Value, &OpRecord)> = None;
        let mut next = 0;
        for r2 in by_start {
            while next < by_end.len() && by_end[next].complete < Some(r2.invoke) {
                let r1 = by_end[next];
                for v in &r1.read {
                    if let Some(t) = writes.get(&v.value)
                        && seen.is_none_or(|(best, _, _)| t.invoke > best)
                    {
                        seen = Some((t.invoke, v.value, r1));
                    }
                }
                next += 1;
            }
            let Some((_, newer, r1)) = seen else { continue };
            let older = r2.read.iter().all(|v| v.value != newer && precedes(&writes, v.value, newer));
            if older {
                out.count += 1;
                if out.examples.len() < EXAMPLES {
                    out.examples.push(Inversion {
                        key,
                        newer: newer.0,
                        first: span(r1),
                        second: span(r2),
                        returned: r2.read.first().map(|v| v.value.0),
                    });
                }
            }
        }
    }
    out
}

/// The share of probe reads started t after a write's acknowledgement that saw it (or newer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visibility {
    /// t, in ms.
    pub t_ms: f64,
    /// Probes that returned.
    pub probes: u64,
    /// Of which saw the write or a newer one.
    pub fresh: u64,
    /// `fresh / probes`.
    pub share: Option<f64>,
}

/// t-visibility per probe delay, in increasing t.
pub fn t_visibility(obs: &Observations) -> Vec<Visibility> {
    let mut by_t: BTreeMap<Duration, (u64, u64)> = BTreeMap::new();
    for p in &obs.probes {
        let Some(returned) = &p.returned else { continue };
        let e = by_t.entry(p.delay).or_default();
        e.0 += 1;
        e.1 += u64::from(holds(returned, &p.version));
    }
    by_t.into_iter()
        .map(|(t, (probes, fresh))| Visibility {
            t_ms: ms(t),
            probes,
            fresh,
            share: (probes > 0).then(|| fresh as f64 / probes as f64),
        })
        .collect()
}

/// What each replica holds at the end, by (replica, key).
pub fn final_state(obs: &Observations) -> BTreeMap<(u32, Key), Vec<Versioned>> {
    let mut state = BTreeMap::new();
    for s in obs.stores.iter().filter(|s| s.hint_for.is_none()) {
        state.insert((s.replica, s.key), s.held.clone());
    }
    state
}

/// How long after `heal` every home replica of every key held a version at least as new as
/// the newest any replica held at the heal; `None` if that never happened before the end.
pub fn convergence(obs: &Observations, ring: &Ring, heal: SimTime) -> Option<Duration> {
    let mut state: BTreeMap<(u32, Key), Vec<Versioned>> = BTreeMap::new();
    let own: Vec<&StoreRecord> = obs.stores.iter().filter(|s| s.hint_for.is_none()).collect();
    let split = own.partition_point(|s| s.time <= heal);
    for s in &own[..split] {
        state.insert((s.replica, s.key), s.held.clone());
    }
    // The target per key: every version any replica held at the heal.
    let mut target: BTreeMap<Key, Vec<Version>> = BTreeMap::new();
    for ((_, key), held) in &state {
        let t = target.entry(*key).or_default();
        for v in held {
            if !t.iter().any(|x| x.covers(&v.version)) {
                t.retain(|x| !v.version.covers(x));
                t.push(v.version.clone());
            }
        }
    }
    let satisfied = |held: &[Versioned], t: &[Version]| t.iter().all(|v| holds(held, v));
    let empty = Vec::new();
    let mut missing: BTreeSet<(u32, Key)> = BTreeSet::new();
    for (key, t) in &target {
        for r in ring.home(*key) {
            if !satisfied(state.get(&(r, *key)).unwrap_or(&empty), t) {
                missing.insert((r, *key));
            }
        }
    }
    if missing.is_empty() {
        return Some(Duration::ZERO);
    }
    for s in &own[split..] {
        let Some(t) = target.get(&s.key) else { continue };
        if missing.contains(&(s.replica, s.key)) && satisfied(&s.held, t) {
            missing.remove(&(s.replica, s.key));
            if missing.is_empty() {
                return Some(s.time - heal);
            }
        }
    }
    None
}

/// Acknowledged writes the store lost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LostWrites {
    /// Writes acknowledged.
    pub acknowledged: u64,
    /// Of which lost: discarded on arrival (when acknowledged, no replica held them or
    /// anything not older, in its store or as a hint: each kept a write that finished before
    /// they began, as LWW does under skew), or gone at the end (every value the key's home
    /// replicas hold was written before they began, as when hints are never handed back).
    pub lost: u64,
    /// Of which discarded on arrival.
    pub discarded: u64,
    /// A few lost values, as (key, value).
    pub examples: Vec<(Key, u64)>,
}

/// Counts acknowledged writes that were lost.
pub fn lost_writes(obs: &Observations, ring: &Ring) -> LostWrites {
    let writes = write_times(obs);
    let end = final_state(obs);
    let mut acked: Vec<&OpRecord> =
        obs.ops.iter().filter(|o| o.kind == OpKind::Write && o.outcome == Outcome::Ok && o.written.is_some()).collect();
    acked.sort_by_key(|o| o.complete);
    // Replay the store log up to each acknowledgement: (replica, key, hint_for) -> held.
    let mut state: BTreeMap<(Key, u32, Option<u32>), Vec<Versioned>> = BTreeMap::new();
    let mut next = 0;
    let mut out = LostWrites::default();
    for o in acked {
        let (Some(w), Some(ok)) = (o.written, o.complete) else { continue };
        while next < obs.stores.len() && obs.stores[next].time <= ok {
            let s = &obs.stores[next];
            state.insert((s.key, s.replica, s.hint_for), s.held.clone());
            next += 1;
        }
        out.acknowledged += 1;
        let reflected = state
            .range((o.key, 0, None)..=(o.key, u32::MAX, Some(u32::MAX)))
            .flat_map(|(_, held)| held.iter())
            .any(|v| v.value == w || !precedes(&writes, v.value, w));
        let finals: Vec<Value> = ring
            .home(o.key)
            .into_iter()
            .filter_map(|r| end.get(&(r, o.key)))
            .flat_map(|held| held.iter().map(|v| v.value))
            .collect();
        let gone = !finals.is_empty() && finals.iter().all(|&f| f != w && precedes(&writes, f, w));
        out.discarded += u64::from(!reflected);
        if !reflected || gone {
            out.lost += 1;
            if out.examples.len() < EXAMPLES {
                out.examples.push((o.key, w.0));
            }
        }
    }
    out
}

/// Where a configuration lands in PACELC, with the measurements behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pacelc {
    /// `PA` or `PC`: during the partition, did the minority side stay available?
    pub partition: Option<String>,
    /// `EL` or `EC`: in normal operation, does every read quorum meet every write quorum?
    pub normal: String,
    /// The cell in words, with the numbers.
    pub statement: String,
}

/// Minority-side availability during a partition at or above which a system counts as PA.
pub const PA_THRESHOLD: f64 = 0.9;

/// The PACELC cell of `cluster`, from the write p50 outside any partition and, if there was
/// one, the availability of the minority side during it.
pub fn pacelc(cluster: &ClusterConfig, obs: &Observations, minority_during: Option<Availability>) -> Pacelc {
    let write = op_stats(obs, OpKind::Write);
    let (r, w) = cluster.quorums();
    let normal = if cluster.overlapping() { "EC" } else { "EL" }.to_string();
    let p50 = write.p50_ms.map_or("no write succeeded".into(), |p| format!("write p50 {p:.1} ms"));
    let else_part = format!("R={r} W={w} of N={}: {p50}", cluster.n());
    let (partition, p_part) = match minority_during.and_then(|a| a.ratio) {
        Some(ratio) => {
            let pa = ratio >= PA_THRESHOLD;
            let word = if pa { "stayed available" } else { "unavailable" };
            (
                Some(if pa { "PA" } else { "PC" }.to_string()),
                format!("minority side {word} during the partition ({:.0}% ok)", ratio * 100.0),
            )
        }
        None => (None, "no partition measured".to_string()),
    };
    let cell = format!("{}/{normal}", partition.as_deref().unwrap_or("P?"));
    Pacelc { partition, normal, statement: format!("{cell}: {p_part}; {else_part}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::history::{history, to_json_lines};

    fn t(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    fn op(process: u64, kind: OpKind, key: Key, written: Option<u64>, span: (u64, u64), read: &[u64]) -> OpRecord {
        let stamp = |v: u64| Versioned { version: Version::Stamp { time: v, writer: 0 }, value: Value(v) };
        OpRecord {
            process,
            client: process as u32,
            node: NodeId::from_index(process as usize),
            kind,
            key,
            written: written.map(Value),
            invoke: t(span.0),
            complete: Some(t(span.1)),
            outcome: Outcome::Ok,
            read: read.iter().map(|&v| stamp(v)).collect(),
            version: written.map(|v| stamp(v).version),
        }
    }

    /// Write 1 acknowledged at 10 ms, write 2 from 20 to 30 ms; reads judged against them.
    fn obs(reads: Vec<OpRecord>) -> Observations {
        let mut ops =
            vec![op(0, OpKind::Write, 7, Some(1), (0, 10), &[]), op(0, OpKind::Write, 7, Some(2), (20, 30), &[])];
        ops.extend(reads);
        Observations { ops, ..Observations::default() }
    }

    #[test]
    fn a_read_is_stale_only_if_it_misses_a_write_acknowledged_before_it_began() {
        let stale = |read: OpRecord| stale_reads(&obs(vec![read]), |_| true).stale;
        assert_eq!(stale(op(1, OpKind::Read, 7, None, (31, 32), &[1])), 1, "write 2 was acknowledged at 30 ms");
        assert_eq!(stale(op(1, OpKind::Read, 7, None, (31, 32), &[2])), 0);
        assert_eq!(stale(op(1, OpKind::Read, 7, None, (25, 32), &[1])), 0, "write 2 still in flight: 1 is fine");
        assert_eq!(stale(op(1, OpKind::Read, 7, None, (31, 32), &[])), 1, "nothing, after two acknowledged writes");
        assert_eq!(stale(op(1, OpKind::Read, 8, None, (31, 32), &[])), 0, "a key never written");
        assert_eq!(stale(op(1, OpKind::Read, 7, None, (31, 32), &[1, 2])), 0, "siblings include the newest");
    }

    #[test]
    fn a_read_that_returns_older_than_an_ended_read_saw_is_an_inversion() {
        // Write 2 is in flight (20..30 ms); a read sees it at 22..24 ms, a read at 25..26 ms
        // returns write 1, which ended before write 2 began.
        let o = obs(vec![op(1, OpKind::Read, 7, None, (22, 24), &[2]), op(2, OpKind::Read, 7, None, (25, 26), &[1])]);
        let inv = inversions(&o);
        assert_eq!(inv.count, 1);
        assert_eq!(inv.examples[0].first, (1, 22_000_000, 24_000_000));
        assert_eq!(inv.examples[0].returned, Some(1));
        assert_eq!(stale_reads(&o, |_| true).stale, 0, "no write was acknowledged yet: not stale");
        // Overlapping reads may see the two writes in either order.
        let o = obs(vec![op(1, OpKind::Read, 7, None, (22, 25), &[2]), op(2, OpKind::Read, 7, None, (24, 26), &[1])]);
        assert_eq!(inversions(&o).count, 0);
    }

    #[test]
    fn stats_use_nearest_rank_percentiles_of_successful_operations() {
        let mut o = obs(vec![]);
        let mut failed = op(3, OpKind::Write, 1, Some(9), (0, 1000), &[]);
        failed.outcome = Outcome::Info;
        o.ops.push(failed);
        let s = op_stats(&o, OpKind::Write);
        assert_eq!((s.count, s.ok, s.failed), (3, 2, 1));
        assert_eq!((s.p50_ms, s.p99_ms, s.mean_ms), (Some(10.0), Some(10.0), Some(10.0)));
        let a = availability(&o, |_| true);
        assert_eq!((a.attempted, a.ok), (3, 2));
    }

    #[test]
    fn lost_writes_and_convergence_follow_the_store_log() {
        let ring = Ring::new(1, 1);
        let mut o = obs(vec![]);
        let stamp = |v: u64| Versioned { version: Version::Stamp { time: v, writer: 0 }, value: Value(v) };
        let store = |ms, v| StoreRecord { time: t(ms), replica: 0, key: 7, held: vec![stamp(v)], hint_for: None };
        // The replica took write 1 but discarded write 2 (as LWW does when 2's stamp is behind).
        o.stores = vec![store(5, 1)];
        let lost = lost_writes(&o, &ring);
        assert_eq!((lost.acknowledged, lost.lost, lost.discarded), (2, 1, 1));
        assert_eq!(lost.examples, vec![(7, 2)]);
        assert_eq!(convergence(&o, &ring, t(10)), Some(Duration::ZERO), "one replica agrees with itself");
        o.stores.push(store(25, 2));
        assert_eq!(lost_writes(&o, &ring).lost, 0);
    }

    #[test]
    fn the_history_has_an_invoke_and_a_completion_per_operation_in_time_order() {
        let o = obs(vec![op(1, OpKind::Read, 7, None, (31, 32), &[2])]);
        let lines = to_json_lines(&history(&o));
        let first = lines.lines().next().unwrap();
        assert_eq!(first, r#"{"process":0,"type":"invoke","f":"write","key":7,"value":1,"time":0}"#);
        let last = lines.lines().last().unwrap();
        assert_eq!(last, r#"{"process":1,"type":"ok","f":"read","key":7,"value":2,"time":32000000}"#);
        assert_eq!(lines.lines().count(), 6);
    }
}
