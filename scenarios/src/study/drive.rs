//! One run of a study, the part every study does the same way: the builder with the run's
//! limits, pacing and traces; the fault plan installed; live control started (every command it
//! applies recorded with its virtual instant, so that the plan a run returns holds the live
//! session too and its script replays it); signals watched; the run to its end; late and
//! refused faults reported; and why it stopped early, if it did.

use std::path::Path;
use std::time::Instant;

use faultline::{Message, Report, RunOutcome, Sim, SimBuilder, SimTime, TraceFormat, TraceOutput, TraceSink};
use faultline_faults::{Recording, RefusalLog, Resolver};

use super::{RunLimits, interrupt};
use crate::cli::{FaultArgs, FaultPlan, TraceArgs, check_realtime, start_live};

pub mod observer;

/// How one run is set up: its seed, live control and pacing, limits, and where refused
/// scripted commands are logged.
pub struct Driver<'a> {
    seed: u64,
    live: &'a FaultArgs,
    limits: &'a RunLimits,
    refusals: RefusalLog,
}

/// What a run came to.
pub struct Driven {
    /// What the sim recorded.
    pub report: Report,
    /// Why the run stopped.
    pub outcome: RunOutcome,
    /// The faults that ran: the script's and the nemesis's, then the live commands as entries
    /// at the instants they applied (in `plan.script`, and their commands in `plan.timeline`).
    pub plan: FaultPlan,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
    /// Why the run stopped before its end (a limit or a signal), for the report.
    pub incomplete: Option<String>,
}

impl<'a> Driver<'a> {
    /// Checks the live flags; nothing runs yet.
    pub fn new(seed: u64, live: &'a FaultArgs, limits: &'a RunLimits) -> anyhow::Result<Self> {
        check_realtime(live.realtime)?;
        Ok(Driver { seed, live, limits, refusals: RefusalLog::new() })
    }

    /// A builder with the run's seed, limits and pacing, the trace files `traces` asks for, and,
    /// in a live run, every command printed on stderr with its virtual time as it applies.
    pub fn builder<M: Message>(&self, traces: &TraceArgs) -> SimBuilder<M> {
        let mut builder = Sim::<M>::builder(self.seed).limits(self.limits.core()).trace(self.refusals.output());
        if let Some(x) = self.live.realtime {
            builder = builder.realtime(x);
        }
        if self.live.control.is_some() || self.live.realtime.is_some() {
            let out = TraceOutput::new(TraceFormat::Text, TraceSink::Stderr).filtered("faultline::control=info,warn");
            builder = builder.trace(out);
        }
        for output in traces.outputs() {
            builder = builder.trace(output);
        }
        builder
    }

    /// Runs `sim` until `end` with the faults of `script` and `nemesis` (node names resolved by
    /// `resolver`), live control, and SIGINT/SIGTERM stopping it at the current instant.
    pub fn run<M: Message>(
        &self,
        mut sim: Sim<M>,
        resolver: Resolver,
        script: Option<&Path>,
        nemesis: Option<&str>,
        end: SimTime,
    ) -> anyhow::Result<Driven> {
        let plan = FaultPlan::prepare_limited(script, nemesis, &resolver, self.seed, end, self.limits)?;
        // Documented choice: entries after the end are warnings, since the rest of the script runs.
        for late in &plan.timeline.after_end {
            eprintln!("warning: {late}");
        }
        plan.install(&sim)?;
        let control = self.live.control.as_ref();
        let recording = Recording::new(plan.script.entries.len());
        let live =
            start_live(control, sim.control(), resolver, self.seed, self.limits.max_control_line, recording.clone())?;
        if control.is_some() && self.live.realtime.is_none() {
            eprintln!("warning: --control without --realtime: the run goes at full speed and may end before you type");
        }

        let watch = interrupt::Watch::start(sim.control(), live.as_ref().map(|l| l.shutdown_handle()));
        let wall = Instant::now();
        let outcome = observer::run(&mut sim, end);
        drop(watch);
        let wall_s = wall.elapsed().as_secs_f64();
        let names = sim.names().to_vec();
        let report = sim.finish()?;
        // The sim is gone: every command sent to it has its answer, and live control acts on
        // nothing more. What the session applied is recorded once its replies are in.
        drop(live);
        recording.settle(std::time::Duration::from_secs(2));
        let mut plan = plan;
        plan.script.entries.extend(recording.entries());
        plan.timeline.commands.extend(recording.timed());
        plan.timeline.commands.sort_by_key(|t| t.at);
        // Documented choice: a refused scripted command is a warning (the run went on without it).
        for refused in plan.timeline.refused(&names, &self.refusals.refusals()) {
            eprintln!("warning: {refused}");
        }
        if outcome == RunOutcome::Panicked {
            let (node, message) = &report.panics[0];
            anyhow::bail!("node {node} panicked at {}: {message} (a bug in the study; please report it)", report.end);
        }
        let horizon = end.as_secs_f64();
        let incomplete = match outcome {
            RunOutcome::Limit(hit) => Some(format!(
                "stopped at {} of {horizon}s: {hit}; raise it with --{}",
                report.end,
                hit.kind.field().replace('_', "-")
            )),
            RunOutcome::Stopped if let Some(signal) = interrupt::received() => {
                Some(format!("interrupted by {} at {} of {horizon}s", interrupt::name(signal), report.end))
            }
            _ => None,
        };
        Ok(Driven { report, outcome, plan, wall_s, incomplete })
    }
}
