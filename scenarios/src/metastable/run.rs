//! Runs one metastable study: builds the server and clients, installs faults, runs, and turns
//! the metrics into windows, phases and a verdict.

use faultline::metrics::{MetricView, WindowStats};
use faultline::{LinkConfig, MetricsReport, RunOutcome, Sim, SimBuilder, SimTime};
use faultline_faults::{Resolver, fault_spans};
use faultline_nodes::metastable::{Client, Msg, Server, metric};
use serde::{Deserialize, Serialize};

use super::analysis::{self, Counts, Phases, Window};
use super::params::{LoadKind, Metastable, Params};
use crate::cli::{FaultArgs, FaultPlan, InputError, TraceArgs};
use crate::study::drive::{Driven, Driver};
use crate::study::{RunLimits, Study};

/// What set the system off: from the first cause's start to the last one's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// `spike`, `ramp` or `fault`, or both (`spike and faults`).
    pub kind: String,
    /// Start (s).
    pub start_s: f64,
    /// End (s).
    pub end_s: f64,
    /// Each cause: the load's spike or ramp, and each span of time during which faults (from
    /// the script, the nemesis or live commands) were active.
    #[serde(default)]
    pub causes: Vec<Cause>,
}

/// One cause of the trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    /// `spike`, `ramp`, or the faults active (`partition + crash`).
    pub kind: String,
    /// Start (s).
    pub start_s: f64,
    /// End (s): when the spike ended or the last of the faults was undone (the end of the run
    /// for one never undone).
    pub end_s: f64,
}

/// Counts over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// The windows' counts, summed.
    #[serde(flatten)]
    pub counts: Counts,
    /// Requests that gave up.
    pub failed: u64,
    /// Attempts the server served.
    pub served: u64,
}

/// The study's result: the `--json` object and `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Every parameter.
    pub params: Params,
    /// Server throughput with every slot busy (requests/s); absent when the service time is
    /// zero (unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_rps: Option<f64>,
    /// The trigger, if any.
    pub trigger: Option<Trigger>,
    /// Before, during, after.
    pub phases: Phases,
    /// Goodput came back within 5% of before and stayed (absent without a trigger).
    pub recovered: Option<bool>,
    /// Seconds from the trigger's end to recovery.
    pub recovery_s: Option<f64>,
    /// What happened, in words.
    pub verdict: String,
    /// When the run's windows end (s): `--duration`, or earlier when the run was stopped.
    #[serde(default)]
    pub end_s: f64,
    /// Counts over the run.
    pub totals: Totals,
    /// The faults applied, as a script (from --faults and --nemesis).
    pub faults: Option<String>,
    /// Why the run stopped before its end, when it did (a limit): what it measured is still
    /// reported, but it is not the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// The time series.
    pub windows: Vec<Window>,
}

/// How hard the simulator worked (kept out of the summary, which must not depend on the
/// machine).
#[derive(Clone, Copy, Debug)]
pub struct Speed {
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
    /// Virtual seconds simulated.
    pub virtual_s: f64,
    /// Requests simulated (attempts).
    pub attempts: u64,
    /// Events the core fired.
    pub events: u64,
}

/// Builds the simulation on `builder` (the run's seed, limits, pacing and traces): the server
/// and the clients.
fn build(params: &Params, builder: SimBuilder<Msg>) -> Result<Sim<Msg>, InputError> {
    let mut builder = builder.default_link(LinkConfig::constant(params.link_latency)).metrics_window(params.window);
    let server = params.server();
    builder = builder.node("server", move || Server::new(server.clone()));
    for i in 0..params.clients {
        let client = params.client();
        builder = builder.node(&format!("client-{i}"), move || Client::new(client.clone()));
    }
    builder.build().map_err(|e| InputError(e.to_string()))
}

/// The run's `n` windows, from its metrics.
fn windows(metrics: &MetricsReport, n: usize, width: f64) -> Vec<Window> {
    let series = |name: &str, pick: fn(&WindowStats) -> i64| -> Vec<u64> {
        let mut v: Vec<u64> = metrics
            .metric(name)
            .map(|m| m.windows().iter().map(|w| pick(w).max(0) as u64).collect())
            .unwrap_or_default();
        v.resize(n, 0);
        v
    };
    let count = |name: &str| series(name, |w| w.sum as i64);
    let (offered, attempts, retries, goodput) = (
        count(metric::OFFERED.name()),
        count(metric::ATTEMPTS.name()),
        count(metric::RETRIES.name()),
        count(metric::GOODPUT.name()),
    );
    let (timeouts, late, shed) =
        (count(metric::TIMEOUTS.name()), count(metric::LATE.name()), count(metric::SHED.name()));
    let wasted = count(metric::WASTED.name());
    let (expired, unfinishable) = (count(metric::EXPIRED.name()), count(metric::UNFINISHABLE.name()));
    let (queue, concurrency) = (series(metric::QUEUE.name(), |w| w.max), series(metric::CONCURRENCY.name(), |w| w.max));
    let latency = metrics.metric(metric::LATENCY.name()).map(|m| m.windows()).unwrap_or_default();
    let ms = |ns: Option<u64>| ns.map(|v| v as f64 / 1e6);
    (0..n)
        .map(|i| Window {
            t_s: i as f64 * width,
            counts: Counts {
                offered: offered[i],
                attempts: attempts[i],
                retries: retries[i],
                goodput: goodput[i],
                timeouts: timeouts[i],
                shed: shed[i] + expired[i] + unfinishable[i],
                late: late[i],
                wasted: wasted[i],
            },
            queue: queue[i] as i64,
            concurrency: concurrency[i] as i64,
            p50_ms: latency.get(i).and_then(|w| ms(w.p50)),
            p99_ms: latency.get(i).and_then(|w| ms(w.p99)),
        })
        .collect()
}

/// Every cause, the spike or ramp of the load and each span of active faults (script, nemesis
/// and live commands alike), and the trigger they make together: from the first start to the
/// last end. Bug pinned by `a_partition_after_the_spike_extends_the_trigger`: with a spike and a
/// partition at 60 s the analysis followed only the spike, and called the partition's outage a
/// slow recovery from the spike.
fn trigger(params: &Params, plan: &FaultPlan, end: SimTime) -> Option<Trigger> {
    let mut causes = Vec::new();
    if matches!(params.load, LoadKind::Spike | LoadKind::Ramp) {
        causes.push(Cause {
            kind: format!("{:?}", params.load).to_lowercase(),
            start_s: params.spike_start.as_secs_f64(),
            end_s: (params.spike_start + params.spike_duration).as_secs_f64(),
        });
    }
    let faults: Vec<Cause> = fault_spans(&plan.timeline.commands, end)
        .into_iter()
        .map(|s| Cause { kind: s.label(), start_s: s.from.as_secs_f64(), end_s: s.to.as_secs_f64() })
        .collect();
    let kind = match (causes.first(), faults.is_empty()) {
        (Some(load), true) => load.kind.clone(),
        (Some(load), false) => format!("{} and the faults", load.kind),
        (None, false) => "fault".to_string(),
        (None, true) => return None,
    };
    causes.extend(faults);
    let start_s = causes.iter().map(|c| c.start_s).fold(f64::INFINITY, f64::min);
    let end_s = causes.iter().map(|c| c.end_s).fold(0.0, f64::max);
    Some(Trigger { kind, start_s, end_s, causes })
}

/// Seconds for a message: whole when whole, else as few decimals as needed.
fn fmt_s(s: f64) -> String {
    format!("{}", (s * 1e6).round() / 1e6)
}

/// Phases, recovery (`None` without a trigger) and the verdict.
fn analyze(
    windows: &[Window],
    width: f64,
    end_s: f64,
    trigger: Option<&Trigger>,
    settle: f64,
    latency: Option<&MetricView>,
) -> (Phases, Option<Option<f64>>, String) {
    let n = windows.len();
    let percentiles = |r: std::ops::Range<usize>| match latency {
        Some(m) if !r.is_empty() => {
            let s = m.stats_in(r);
            if s.count == 0 { (None, None) } else { (Some(s.p50 as f64 / 1e6), Some(s.p99 as f64 / 1e6)) }
        }
        _ => (None, None),
    };
    let Some(t) = trigger else {
        let phases =
            Phases { before: analysis::phase(windows, 0..n, width, end_s, &percentiles), during: None, after: None };
        let verdict = analysis::verdict(&phases, None, "trigger", 0.0);
        return (phases, None, verdict);
    };
    let idx = |s: f64| ((s / width).ceil() as usize).min(n);
    let (start, stop, settled) = (((t.start_s / width).floor() as usize).min(n), idx(t.end_s), idx(t.end_s + settle));
    let before = analysis::phase(windows, 0..start, width, end_s, &percentiles);
    let during = analysis::phase(windows, start..stop.max(start), width, end_s, &percentiles);
    let after = analysis::phase(windows, settled..n.max(settled), width, end_s, &percentiles);
    let k = ((5.0 / width).ceil() as usize).max(1);
    let phases = Phases { before, during: Some(during), after: Some(after) };
    let after_windows = n.saturating_sub(settled);
    if after_windows < k {
        // Bug pinned by `too_little_time_after_the_trigger_gives_no_verdict` (tests/metastable.rs):
        // a spike ending within --settle of the end was judged on an empty "after" phase.
        let verdict = format!(
            "not enough time after the trigger to judge ({} s; need {} s): lengthen --duration, or shorten --settle or the {}",
            fmt_s(after_windows as f64 * width),
            fmt_s(k as f64 * width),
            t.kind
        );
        // No judgement either way: `recovered` stays absent, as without a trigger.
        return (phases, None, verdict);
    }
    if phases.after.as_ref().is_some_and(|a| a.offered_rps == 0.0) {
        // With no request after the trigger (`--base-rps 0`), "recovered" would be a claim
        // about nothing.
        let verdict = format!("nothing to judge: no request was offered after the {} (--base-rps is 0?)", t.kind);
        return (phases, None, verdict);
    }
    let base = if start > 0 { phases.before.goodput_ratio } else { 1.0 };
    let recovery = analysis::recovery(windows, stop, k, base).map(|i| (i as f64 * width - t.end_s).max(0.0));
    let verdict = analysis::verdict(&phases, recovery, &t.kind, end_s - t.end_s);
    (phases, Some(recovery), verdict)
}

/// Runs the study: faults from `params`, live control and pacing from `live`, traces as
/// `traces` asks.
/// Errors are an [`InputError`] for bad parameters or faults (exit code 2), or a failure of the
/// run itself (a node panicked, a trace could not be written).
pub fn run(params: &Params, live: &FaultArgs, traces: &TraceArgs) -> anyhow::Result<(Summary, Speed)> {
    run_limited(params, live, traces, &RunLimits::default())
}

/// [`run`] within `limits`. A run that reaches one stops there and still returns its summary,
/// with [`Summary::incomplete`] saying which limit (and its flag) stopped it.
pub fn run_limited(
    params: &Params,
    live: &FaultArgs,
    traces: &TraceArgs,
    limits: &RunLimits,
) -> anyhow::Result<(Summary, Speed)> {
    Metastable::check(params, limits)?;
    let driver = Driver::new(params.seed, live, limits)?;
    let sim = build(params, driver.builder(traces))?;
    // Traces: the spike's phases at their instants, and the verdict after the analysis, before
    // the files finish.
    let marks = sim.traces();
    let hold = marks.hold();
    // (A fault script's trigger is its commands, which the core traces itself.)
    if matches!(params.load, LoadKind::Spike | LoadKind::Ramp) {
        let kind = format!("{:?}", params.load).to_lowercase();
        marks.phase_at(SimTime::ZERO + params.spike_start, "during", &kind);
        marks.phase_at(SimTime::ZERO + params.spike_start + params.spike_duration, "after", &kind);
    }
    let resolver = Resolver::new(sim.names()).alias("clients", "client-*");
    let end = SimTime::ZERO + params.duration;
    let Driven { report, outcome, plan, wall_s, incomplete } =
        driver.run(sim, resolver, params.faults.as_deref(), params.nemesis.as_deref(), end)?;

    let width = params.window.as_secs_f64();
    // The run may end before --duration (a `stop` command): the windows end with it.
    // A quiescent run (no load left, nothing scheduled) had nothing more to happen: its windows
    // still cover --duration, as zeros, rather than ending with the last event.
    let end_s = if outcome == RunOutcome::Quiescent { params.duration.as_secs_f64() } else { report.end.as_secs_f64() };
    let windows = windows(&report.metrics, (end_s / width).ceil() as usize, width);
    let trigger = trigger(params, &plan, if outcome == RunOutcome::Quiescent { end } else { report.end });
    let latency = report.metrics.metric(metric::LATENCY.name());
    let (phases, recovery, verdict) =
        analyze(&windows, width, end_s, trigger.as_ref(), params.settle.as_secs_f64(), latency.as_ref());
    let word = match recovery {
        Some(Some(_)) => "recovered",
        Some(None) => "stays-down",
        None => "no-verdict",
    };
    marks.verdict(word, &verdict);
    hold.release()?;
    let count = |name: &str| report.metrics.metric(name).map_or(0, |m| m.total() as u64);
    let totals = Totals {
        counts: windows.iter().map(|w| w.counts).sum(),
        failed: count(metric::FAILED.name()),
        served: count(metric::SERVED.name()),
    };
    let speed = Speed {
        wall_s,
        virtual_s: report.end.as_secs_f64(),
        attempts: totals.counts.attempts,
        events: report.engine.events,
    };
    let summary = Summary {
        params: params.clone(),
        capacity_rps: params.capacity_rps_finite(),
        trigger,
        phases,
        recovered: recovery.map(|r| r.is_some()),
        recovery_s: recovery.flatten(),
        verdict,
        end_s,
        totals,
        faults: plan.script_text(),
        incomplete,
        windows,
    };
    Ok((summary, speed))
}
