//! Runs one cap study: builds the replicas and clients from `nodes::cap`, schedules the
//! partition, the clock skew and the fault script, runs until the load has ended and the last
//! operation has had its time, and judges what the observer recorded: latency, availability by
//! phase and side, stale reads, t-visibility, lost writes, convergence, PACELC, and (when
//! asked) linearizability.

use std::time::{Duration, Instant};

use faultline::check::{Checker, ModelKind, Verdict};
use faultline::{Command, NodeId, SimTime};
use faultline_faults::Resolver;
use faultline_nodes::cap::analysis::{self, Availability, OpStats, Pacelc, Span, Visibility};
use faultline_nodes::cap::observer::Observations;
use faultline_nodes::cap::{Msg, Observer, OpKind, Outcome, check_history, history, install, to_json_lines};
use serde::Serialize;

use super::params::Params;
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::study::drive::{Driven, Driver};
use crate::study::fault_window::FaultWindow;
use crate::study::{RunLimits, Speed};

/// N, R and W of the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quorums {
    /// Replicas per key.
    pub n: usize,
    /// Read quorum.
    pub r: usize,
    /// Write quorum.
    pub w: usize,
}

/// Availability overall, per phase of the partition and per side of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AvailabilityReport {
    /// Every operation.
    pub overall: Availability,
    /// Before, during and after the partition (absent without one).
    pub by_phase: Option<analysis::Phases>,
    /// During the partition, the majority side's clients and the minority side's.
    pub by_side: Option<Sides>,
}

/// The two sides of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sides {
    /// The side with the most replicas.
    pub majority: Availability,
    /// The cut-off side.
    pub minority: Availability,
}

/// What the linearizability check said.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// `linearizable`, `not-linearizable` or `unknown`.
    pub verdict: String,
    /// Operations checked.
    pub operations: usize,
    /// The smallest set of operations that cannot be ordered, in words.
    pub explanation: Option<String>,
}

/// One window of the run, by the operations' invoke times.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    /// Start of the window (s).
    pub t_s: f64,
    /// Reads that ended.
    pub reads: u64,
    /// Writes that ended.
    pub writes: u64,
    /// Of which succeeded.
    pub ok: u64,
    /// Of which failed (unavailable, timed out).
    pub failed: u64,
    /// Median latency of the successful ones (ms).
    pub p50_ms: Option<f64>,
    /// Median latency of the successful reads (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_p50_ms: Option<f64>,
    /// 99th percentile latency of the successful reads (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_p99_ms: Option<f64>,
    /// Median latency of the successful writes (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_p50_ms: Option<f64>,
    /// 99th percentile latency of the successful writes (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_p99_ms: Option<f64>,
    /// With a partition, the operations of the majority side's clients: ended, and succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub majority: Option<SideCount>,
    /// With a partition, the operations of the minority side's clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minority: Option<SideCount>,
}

/// Operations of one side's clients in one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SideCount {
    /// Operations that ended.
    pub attempted: u64,
    /// Of which succeeded.
    pub ok: u64,
}

/// The study's result: the `--json` object and `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Every parameter.
    pub params: Params,
    /// One line that says what ran.
    pub describe: String,
    /// N, R, W.
    pub quorums: Quorums,
    /// Reads.
    pub read: OpStats,
    /// Writes.
    pub write: OpStats,
    /// Availability.
    pub availability: AvailabilityReport,
    /// Successful reads that returned a value older than the newest write acknowledged before
    /// they began.
    pub stale_reads: u64,
    /// `stale_reads` over successful reads of written keys.
    pub stale_ratio: Option<f64>,
    /// Per probe delay, the share of probe reads that saw the write or a newer one.
    pub t_visibility: Vec<Visibility>,
    /// Acknowledged writes the store lost.
    pub lost_writes: u64,
    /// Writes acknowledged.
    pub acknowledged_writes: u64,
    /// Seconds from the heal until every home replica held the newest versions (absent without
    /// a partition, or when it never happened).
    pub convergence_s: Option<f64>,
    /// The linearizability verdict: null when not checked or unknown.
    pub linearizable: Option<bool>,
    /// The check, when `--check` asked for it.
    pub check: Option<CheckReport>,
    /// The PACELC cell, with the measured numbers behind it.
    pub pacelc: Pacelc,
    /// The faults applied, as a script (from --faults, --nemesis and live commands).
    pub faults: Option<String>,
    /// When faults were in force: the partition, and the spans of the other faults.
    pub fault_windows: Vec<FaultWindow>,
    /// Why the run stopped before its end, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// The time series.
    pub windows: Vec<Window>,
    /// The history as JSON lines, when `--history` asked for it (written by the binary).
    #[serde(skip)]
    pub history: Option<String>,
    /// Wall-clock seconds the check took (on stderr only: it depends on the machine).
    #[serde(skip)]
    pub check_wall_s: Option<f64>,
}

/// Background replication resends after the load (the nodes' default), for the drain.
const DRAIN_EXTRA: Duration = Duration::from_millis(500);

/// The `q` quantile of sorted latencies, by nearest rank, in ms.
fn quantile_ms(sorted: &[Duration], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((last as f64) * q).round() as usize].as_secs_f64() * 1e3)
}

/// The run's windows (by the operations' invoke times); `sides` are the partition's majority
/// and minority nodes, when there is one.
fn windows(obs: &Observations, width: Duration, end: Duration, sides: Option<&[Vec<NodeId>]>) -> Vec<Window> {
    let n = end.as_nanos().div_ceil(width.as_nanos().max(1)) as usize;
    let mut lat: Vec<[Vec<Duration>; 3]> = vec![Default::default(); n];
    let side_count = sides.map(|_| SideCount::default());
    let mut out: Vec<Window> = (0..n)
        .map(|i| Window {
            t_s: (width * i as u32).as_secs_f64(),
            reads: 0,
            writes: 0,
            ok: 0,
            failed: 0,
            p50_ms: None,
            read_p50_ms: None,
            read_p99_ms: None,
            write_p50_ms: None,
            write_p99_ms: None,
            majority: side_count,
            minority: side_count,
        })
        .collect();
    for op in obs.ops.iter().filter(|o| o.outcome != Outcome::Pending) {
        let i = (u128::from(op.invoke.as_nanos()) / width.as_nanos().max(1)) as usize;
        let Some(w) = out.get_mut(i) else { continue };
        match op.kind {
            OpKind::Read => w.reads += 1,
            OpKind::Write => w.writes += 1,
        }
        let ok = op.outcome == Outcome::Ok;
        if ok {
            w.ok += 1;
            lat[i][0].extend(op.latency());
            lat[i][if op.kind == OpKind::Read { 1 } else { 2 }].extend(op.latency());
        } else {
            w.failed += 1;
        }
        if let Some(sides) = sides {
            for (count, side) in [&mut w.majority, &mut w.minority].into_iter().zip(sides) {
                if let Some(c) = count.as_mut().filter(|_| side.contains(&op.node)) {
                    c.attempted += 1;
                    c.ok += u64::from(ok);
                }
            }
        }
    }
    for (w, l) in out.iter_mut().zip(&mut lat) {
        for l in l.iter_mut() {
            l.sort_unstable();
        }
        // The lower median, as before.
        w.p50_ms = l[0].get(l[0].len().saturating_sub(1) / 2).map(|d| d.as_secs_f64() * 1e3);
        (w.read_p50_ms, w.read_p99_ms) = (quantile_ms(&l[1], 0.5), quantile_ms(&l[1], 0.99));
        (w.write_p50_ms, w.write_p99_ms) = (quantile_ms(&l[2], 0.5), quantile_ms(&l[2], 0.99));
    }
    out
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
    let plan = params.plan()?;
    params.check_limits(limits)?;
    let driver = Driver::new(params.seed, live, limits)?;
    let builder = driver.builder::<Msg>(traces);
    let observer = Observer::with_limit(params.max_records);
    let (builder, layout) = install(builder, &plan.cluster, &plan.clients, &observer)
        .map_err(|e| InputError(format!("the cluster: {e}")))?;
    let sim = builder.build().map_err(|e| InputError(e.to_string()))?;
    // The load ends at --duration; every operation has its client timeout twice over to end,
    // and background replication one more period.
    let horizon = params.duration + params.client_timeout * 2 + DRAIN_EXTRA;
    let end = SimTime::ZERO + horizon;

    let cut = match &plan.partition {
        Some(p) => Some(
            layout.schedule_partition(&sim, p, params.duration).map_err(|e| InputError(format!("--partition: {e}")))?,
        ),
        None => None,
    };
    if let Some(skew) = params.clock_skew.filter(|s| !s.is_zero()) {
        let nanos = i64::try_from(skew.as_nanos()).unwrap_or(i64::MAX);
        for r in 1..params.nodes {
            let node = layout.replica(&sim, r).ok_or_else(|| InputError(format!("no replica r{r}")))?;
            sim.schedule(SimTime::ZERO, Command::Skew { node, nanos })
                .map_err(|e| InputError(format!("--clock-skew: {e}")))?;
        }
    }
    // Traces: the partition's phases at their instants, and the verdict after the check,
    // before the files finish.
    let marks = sim.traces();
    let hold = marks.hold();
    if let Some((span, _)) = &cut {
        marks.phase_at(span.from, "during", "partition");
        marks.phase_at(span.to, "after", "partition");
    }
    let resolver = Resolver::new(sim.names()).alias("replicas", "r*").alias("clients", "c*");
    let Driven { report, plan: faults, wall_s, incomplete, .. } =
        driver.run(sim, resolver, params.faults.as_deref(), params.nemesis.as_deref(), end)?;
    let obs = observer.observations();
    let mut incomplete = incomplete;
    if incomplete.is_none() && obs.dropped > 0 {
        incomplete = Some(format!(
            "the run kept --max-records {} records and dropped {} more: what it reports covers only part of the run (raise --max-records, or a shorter --duration or fewer --clients)",
            params.max_records, obs.dropped
        ));
    }

    let span: Option<Span> = cut.as_ref().map(|(s, _)| *s);
    let by_side = cut.as_ref().map(|(span, sides)| {
        let a = analysis::by_side(&obs, *span, sides);
        Sides { majority: a[0], minority: a[1] }
    });
    let staleness = analysis::stale_reads(&obs, |_| true);
    let lost = analysis::lost_writes(&obs, &layout.ring);
    let (r, w) = plan.cluster.quorums();
    let (check, check_wall_s) = if params.check {
        let h = check_history(&obs).map_err(|e| anyhow::anyhow!("the run's history: {e}"))?;
        let started = Instant::now();
        let verdict = Checker::new().timeout(params.check_timeout).check_as(ModelKind::Register, &h)?;
        let took = started.elapsed().as_secs_f64();
        let explanation = match &verdict {
            Verdict::NotLinearizable(why) => Some(why.to_string()),
            _ => None,
        };
        (Some(CheckReport { verdict: verdict.name().to_string(), operations: h.len(), explanation }), Some(took))
    } else {
        (None, None)
    };
    let (word, detail) = match &check {
        Some(c) => (c.verdict.clone(), format!("{} operations checked: {}", c.operations, c.verdict)),
        None => ("unchecked".to_string(), "the history was not checked (--check)".to_string()),
    };
    marks.verdict(&word, &format!("{detail}; {} acknowledged writes lost", lost.lost));
    hold.release()?;
    let summary = Summary {
        params: params.clone(),
        describe: params.describe(&plan),
        quorums: Quorums { n: plan.cluster.n(), r, w },
        read: analysis::op_stats(&obs, OpKind::Read),
        write: analysis::op_stats(&obs, OpKind::Write),
        availability: AvailabilityReport {
            overall: analysis::availability(&obs, |_| true),
            by_phase: span.map(|s| analysis::phases(&obs, s)),
            by_side,
        },
        stale_reads: staleness.stale,
        stale_ratio: staleness.ratio,
        t_visibility: analysis::t_visibility(&obs),
        lost_writes: lost.lost,
        acknowledged_writes: lost.acknowledged,
        convergence_s: span.and_then(|s| analysis::convergence(&obs, &layout.ring, s.to)).map(|d| d.as_secs_f64()),
        linearizable: check.as_ref().and_then(|c| match c.verdict.as_str() {
            "linearizable" => Some(true),
            "not-linearizable" => Some(false),
            _ => None,
        }),
        check,
        pacelc: analysis::pacelc(&plan.cluster, &obs, by_side.map(|s| s.minority)),
        faults: faults.script_text(),
        fault_windows: span
            .map(|s| FaultWindow::new("partition".into(), s.from, s.to))
            .into_iter()
            .chain(FaultWindow::of_timeline(&faults.timeline, report.end))
            .collect(),
        incomplete,
        windows: windows(&obs, params.window, params.duration, cut.as_ref().map(|(_, sides)| &sides[..])),
        history: params.history.as_ref().map(|_| to_json_lines(&history(&obs))),
        check_wall_s,
    };
    let speed = Speed {
        wall_s,
        virtual_s: report.end.as_secs_f64(),
        work: obs.ops.len() as u64,
        unit: "operations",
        events: report.engine.events,
    };
    Ok((summary, speed))
}
