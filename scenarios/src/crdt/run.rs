//! Runs one crdt study: builds the replicas from `nodes::crdt` on the emulated network,
//! schedules the partition, the clock skew and the fault script, gossips until `--duration`,
//! and judges what the observer recorded: whether and when every replica's state became
//! equal, the values against the oracle of a single copy, the anomalies each type shows, the
//! state sizes and the traffic. The naive counterpart (a naive set for an OR-Set, a max
//! counter for a G-Counter) runs on the same operations and gossip when asked.

use std::collections::BTreeMap;

use faultline::{Command, LinkConfig, NodeId, SimTime};
use faultline_faults::Resolver;
use faultline_nodes::crdt::analysis::Observations;
use faultline_nodes::crdt::{
    Crdt, CrdtKind, GCounter, LwwMap, MaxCounter, Msg, NaiveSet, OrSet, PnCounter, ReplicaConfig, Replicated, Topology,
    install,
};
use serde::Serialize;
use serde_json::Value;

use super::judge::{Anomalies, Judged};
use super::params::{Params, Plan};
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::study::drive::{Driven, Driver};
use crate::study::fault_window::FaultWindow;
use crate::study::{RunLimits, Speed};

/// Most replicas whose values `values` lists one by one; above, it summarizes them.
pub const LISTED_VALUES: usize = 16;
/// Most distinct values a summary of values lists.
pub const COMMON_VALUES: usize = 3;

/// The replicas' visible values: listed up to [`LISTED_VALUES`] replicas, and summarized.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Values {
    /// Replicas.
    pub replicas: usize,
    /// Distinct visible values among them.
    pub distinct: usize,
    /// Each replica's value, by index (absent above [`LISTED_VALUES`] replicas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_replica: Option<Vec<Value>>,
    /// The most common values (up to [`COMMON_VALUES`]), with how many replicas hold each.
    pub most_common: Vec<Held>,
}

/// One value and how many replicas hold it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Held {
    /// The value.
    pub value: Value,
    /// Replicas holding it.
    pub replicas: usize,
}

/// State sizes in bytes (the bincode encoding gossip sends), tombstones included.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StateBytes {
    /// Largest state seen (sampled per window, and at the end).
    pub max: usize,
    /// Largest state at the end.
    #[serde(rename = "final")]
    pub at_end: usize,
}

/// Operations planned and acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OpsReport {
    /// Scheduled within the run.
    pub planned: usize,
    /// Applied and acknowledged by a replica (one that was down skips its own).
    pub acknowledged: usize,
    /// Of which during the partition.
    pub during_partition: usize,
}

/// A span of virtual time, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Span {
    /// Start.
    pub from_s: f64,
    /// End.
    pub to_s: f64,
}

/// The naive counterpart, run on the same operations and gossip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    /// `naive-set` or `max-counter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether its replicas converged.
    pub converged: bool,
    /// The value its replicas hold together (the join of their states).
    pub value: Value,
    /// Elements or increments it got wrong against the oracle.
    pub errors: u64,
}

/// One observation window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    /// Start of the window (s).
    pub t_s: f64,
    /// Distinct replica states at its end.
    pub distinct_states: usize,
    /// Largest sampled state at its end (bytes).
    pub state_bytes_max: usize,
    /// Operations acknowledged in it.
    pub ops: u64,
    /// Gossip messages sent in it.
    pub messages: u64,
    /// Gossip bytes sent in it.
    pub bytes: u64,
}

/// The study's result: the `--json` object and `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Every parameter.
    pub params: Params,
    /// One line that says what ran.
    pub describe: String,
    /// The topology the replicas gossiped on (`random-K` with K reaching every other replica is
    /// `full`).
    pub topology: String,
    /// Whether every replica's internal state is equal at the end (the state, not only the
    /// visible value).
    pub converged: bool,
    /// When they became equal for good (s).
    pub converged_at_s: Option<f64>,
    /// From the last operation to convergence (s).
    pub convergence_s: Option<f64>,
    /// When the last operation was applied (s).
    pub last_op_s: Option<f64>,
    /// Operations.
    pub ops: OpsReport,
    /// The replicas' visible values.
    pub values: Values,
    /// The value of the join of every replica's state: what they hold together, and converge to.
    pub value: Value,
    /// The oracle: what one copy applying the operations in real-time order would hold.
    pub expected: Value,
    /// Named anomaly counts, judged on `value` against `expected`.
    pub anomalies: Anomalies,
    /// State sizes.
    pub state_bytes: StateBytes,
    /// Gossip messages sent.
    pub messages: u64,
    /// Of which carried a full state.
    pub full_states: u64,
    /// Gossip bytes sent.
    pub bytes: u64,
    /// Merges that changed a replica.
    pub merges: u64,
    /// Tombstones forgotten by garbage collection.
    pub collected: u64,
    /// The partition (`--partition`), when there was one.
    pub partition: Option<Span>,
    /// The fewest distinct states at the end of a window inside the partition.
    pub min_distinct_in_partition: Option<usize>,
    /// The naive counterpart on the same operations.
    pub baseline: Option<Baseline>,
    /// The faults applied, as a script (from --faults, --nemesis and live commands).
    pub faults: Option<String>,
    /// When the faults of `faults` were in force.
    pub fault_windows: Vec<FaultWindow>,
    /// Why the run stopped before its end, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// The time series.
    pub windows: Vec<Window>,
}

/// One simulation's outcome, before judgement.
struct Simulated<T> {
    obs: Observations<T>,
    driven: Driven,
}

/// The partition of `--partition`: from the operation a third of the way through the schedule
/// to the one two thirds through.
fn partition_span(params: &Params, plan: &Plan) -> Result<Option<(SimTime, SimTime)>, InputError> {
    if !params.partition {
        return Ok(None);
    }
    let schedule = plan.ops.schedule(params.kind, params.replicas, params.seed);
    let n = schedule.len();
    let (from, to) = match (schedule.get(n / 3), schedule.get(2 * n / 3)) {
        (Some(a), Some(b)) if n >= 3 && b.at > a.at => (a.at, b.at),
        _ => {
            return Err(InputError(format!(
                "--partition: the run schedules {n} operations, too few to cut for the middle third of them (allowed: at least 3 operations at distinct times: raise --ops or --ops-until)"
            )));
        }
    };
    Ok(Some((from, to)))
}

fn simulate<T: Replicated>(
    params: &Params,
    plan: &Plan,
    kind: CrdtKind,
    driver: &Driver,
    traces: &TraceArgs,
    cut: Option<(SimTime, SimTime)>,
) -> anyhow::Result<Simulated<T>> {
    let builder = driver.builder::<Msg<T>>(traces).default_link(LinkConfig::with_latency(plan.latency.clone()));
    let (builder, observer) = install::<T>(builder, &plan.replica, &plan.gossip, &plan.ops, kind, params.seed)
        .map_err(|e| InputError(format!("the replicas: {e}")))?;
    let sim = builder.build().map_err(|e| InputError(e.to_string()))?;
    let replica = |i: u32| -> Result<NodeId, InputError> {
        sim.node_id(&ReplicaConfig::node_name(i)).ok_or_else(|| InputError(format!("no replica {i}")))
    };
    if let Some((from, to)) = cut {
        let half = params.replicas / 2;
        let left = (0..half).map(replica).collect::<Result<Vec<_>, _>>()?;
        let right = (half..params.replicas).map(replica).collect::<Result<Vec<_>, _>>()?;
        sim.schedule(from, Command::partition(vec![left, right]))
            .map_err(|e| InputError(format!("--partition: {e}")))?;
        sim.schedule(to, Command::heal()).map_err(|e| InputError(format!("--partition: {e}")))?;
    }
    if let Some(skew) = params.clock_skew.filter(|s| !s.is_zero()) {
        let nanos = i64::try_from(skew.as_nanos()).unwrap_or(i64::MAX);
        sim.schedule(SimTime::ZERO, Command::Skew { node: replica(0)?, nanos })
            .map_err(|e| InputError(format!("--clock-skew: {e}")))?;
    }
    let resolver = Resolver::new(sim.names()).alias("replicas", "replica-*");
    let end = SimTime::ZERO + params.duration;
    let driven = driver.run(sim, resolver, params.faults.as_deref(), params.nemesis.as_deref(), end)?;
    // The sim is gone: move the states out rather than copy them (at 10,000 replicas a copy
    // of every state would double the memory).
    Ok(Simulated { obs: observer.take_observations(), driven })
}

/// The join of every state: what the replicas hold together.
fn join<T: Crdt>(states: &[T]) -> T {
    let mut joined = T::default();
    for s in states {
        joined.merge(s);
    }
    joined
}

fn values<T: Judged>(states: &[T]) -> Values {
    let mut by_text: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut listed = Vec::new();
    for (i, s) in states.iter().enumerate() {
        let v = T::json(&s.value());
        let e = by_text.entry(v.to_string()).or_insert((0, i));
        e.0 += 1;
        if states.len() <= LISTED_VALUES {
            listed.push(v);
        }
    }
    let mut common: Vec<(usize, usize)> = by_text.values().copied().collect();
    // Most held first; ties by the first replica holding it.
    common.sort_by_key(|&(count, first)| (std::cmp::Reverse(count), first));
    Values {
        replicas: states.len(),
        distinct: by_text.len(),
        per_replica: (states.len() <= LISTED_VALUES).then_some(listed),
        most_common: common
            .into_iter()
            .take(COMMON_VALUES)
            .map(|(replicas, first)| Held { value: T::json(&states[first].value()), replicas })
            .collect(),
    }
}

fn windows<T>(obs: &Observations<T>, width: std::time::Duration) -> Vec<Window> {
    let mut last = faultline_nodes::crdt::WindowSample::default();
    obs.windows
        .iter()
        .map(|w| {
            let out = Window {
                t_s: w.end.as_secs_f64() - width.as_secs_f64(),
                distinct_states: w.distinct_states,
                state_bytes_max: w.state_bytes_max,
                ops: w.ops - last.ops,
                messages: w.messages - last.messages,
                bytes: w.bytes - last.bytes,
            };
            last = *w;
            out
        })
        .collect()
}

fn judged<T: Judged>(
    params: &Params,
    sim: Simulated<T>,
    cut: Option<(SimTime, SimTime)>,
    anomalies: &mut Anomalies,
) -> Summary {
    let Simulated { obs, driven } = sim;
    let joined = join(&obs.states).value();
    T::judge(&obs.ops, &joined, anomalies);
    let partition = cut.map(|(a, b)| Span { from_s: a.as_secs_f64(), to_s: b.as_secs_f64() });
    let during = cut.map_or(0, |(a, b)| obs.ops.iter().filter(|o| o.at >= a && o.at < b).count());
    let min_distinct_in_partition =
        cut.and_then(|(a, b)| obs.windows.iter().filter(|w| w.end > a && w.end <= b).map(|w| w.distinct_states).min());
    Summary {
        params: params.clone(),
        describe: params.describe(),
        topology: String::new(),
        converged: obs.converged(),
        converged_at_s: obs.converged_at().map(SimTime::as_secs_f64),
        convergence_s: obs.convergence_time().map(|d| d.as_secs_f64()),
        last_op_s: obs.last_op_at.map(SimTime::as_secs_f64),
        ops: OpsReport { planned: 0, acknowledged: obs.ops.len(), during_partition: during },
        values: values(&obs.states),
        value: T::json(&joined),
        expected: T::expected(&obs.ops),
        anomalies: Anomalies::default(),
        state_bytes: StateBytes { max: obs.state_bytes_max, at_end: obs.state_bytes_final },
        messages: obs.messages,
        full_states: obs.full_states,
        bytes: obs.bytes,
        merges: obs.merges,
        collected: obs.collected,
        partition,
        min_distinct_in_partition,
        baseline: None,
        faults: driven.plan.script_text(),
        fault_windows: FaultWindow::of_timeline(&driven.plan.timeline, driven.report.end),
        incomplete: driven.incomplete,
        windows: windows(&obs, params.window),
    }
}

fn run_as<T: Judged>(
    params: &Params,
    plan: &Plan,
    live: &FaultArgs,
    traces: &TraceArgs,
    limits: &RunLimits,
) -> anyhow::Result<(Summary, Speed)> {
    let cut = partition_span(params, plan)?;
    let planned = plan.ops.schedule(params.kind, params.replicas, params.seed).len();
    let mut anomalies = Anomalies::default();
    let driver = Driver::new(params.seed, live, limits)?;
    let sim = simulate::<T>(params, plan, params.kind, &driver, traces, cut)?;
    let (wall_s, virtual_s, events) =
        (sim.driven.wall_s, sim.driven.report.end.as_secs_f64(), sim.driven.report.engine.events);
    let mut summary = judged::<T>(params, sim, cut, &mut anomalies);
    summary.ops.planned = planned;
    summary.topology = match plan.gossip.topology {
        Topology::Full => "full".to_string(),
        Topology::Ring => "ring".to_string(),
        Topology::RandomK(k) => format!("random-{k}"),
    };
    let mut speed = Speed { wall_s, virtual_s, work: summary.ops.acknowledged as u64, unit: "operations", events };
    if let Some(kind) = plan.baseline.filter(|_| summary.incomplete.is_none()) {
        let quiet = FaultArgs::default();
        let driver = Driver::new(params.seed, &quiet, limits)?;
        // The same operations and gossip; a naive set has no tombstones to collect.
        let mut same = plan.clone();
        same.gossip.gc = false;
        let (base, errors) = match kind {
            CrdtKind::NaiveSet => baseline::<NaiveSet>(params, &same, kind, &driver, cut, &mut anomalies)?,
            _ => baseline::<MaxCounter>(params, &same, kind, &driver, cut, &mut anomalies)?,
        };
        speed.wall_s += base.0;
        speed.events += base.1;
        summary.baseline = Some(errors);
        if summary.incomplete.is_none() {
            summary.incomplete = base.2.map(|why| format!("the {} baseline: {why}", kind.name()));
        }
    }
    summary.anomalies = anomalies;
    Ok((summary, speed))
}

type BaselineRun = ((f64, u64, Option<String>), Baseline);

fn baseline<T: Judged>(
    params: &Params,
    plan: &Plan,
    kind: CrdtKind,
    driver: &Driver,
    cut: Option<(SimTime, SimTime)>,
    anomalies: &mut Anomalies,
) -> anyhow::Result<BaselineRun> {
    let sim = simulate::<T>(params, plan, kind, driver, &TraceArgs::default(), cut)?;
    let joined = join(&sim.obs.states).value();
    let errors = T::judge(&sim.obs.ops, &joined, anomalies);
    let d = &sim.driven;
    Ok((
        (d.wall_s, d.report.engine.events, d.incomplete.clone()),
        Baseline { kind: kind.name().to_string(), converged: sim.obs.converged(), value: T::json(&joined), errors },
    ))
}

/// Runs the study within `limits`: faults from `params`, live control and pacing from `live`,
/// traces as `traces` asks. A run stopped by a limit or a signal still returns its summary,
/// with [`Summary::incomplete`] saying why.
pub fn run(
    params: &Params,
    live: &FaultArgs,
    traces: &TraceArgs,
    limits: &RunLimits,
) -> anyhow::Result<(Summary, Speed)> {
    let plan = params.plan(limits)?;
    params.check_limits(limits)?;
    match params.kind {
        CrdtKind::GCounter => run_as::<GCounter>(params, &plan, live, traces, limits),
        CrdtKind::PnCounter => run_as::<PnCounter>(params, &plan, live, traces, limits),
        CrdtKind::OrSet => run_as::<OrSet<u32>>(params, &plan, live, traces, limits),
        CrdtKind::LwwMap => run_as::<LwwMap<u32, u64>>(params, &plan, live, traces, limits),
        other => Err(InputError(format!(
            "--type {} (allowed: g-counter, pn-counter, or-set, lww-map; the naive types run as --baseline)",
            other.name()
        ))
        .into()),
    }
}
