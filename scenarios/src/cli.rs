//! What every scenario binary shares on its command line: fault and trace flags, input errors
//! (exit code 2), config files, and setting a parameter by name (for sweeps).

use std::path::{Path, PathBuf};

use clap::Args;
use faultline::{ControlHandle, Message, Sim, SimTime, TraceFormat, TraceOutput, TraceSink};
use faultline_faults::{
    ControlSource, LiveControl, LiveLimits, Nemesis, Recording, Resolver, Script, Timeline, compile_limited,
    parse_script,
};

use crate::study::RunLimits;
use crate::study::config::read_limited;

/// Bad input: a flag, a config line, a fault script. Printed as `error: ...`, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Faults for any scenario: a script, a nemesis, live control, real-time pacing.
#[derive(Args, Debug, Clone, Default)]
pub struct FaultArgs {
    /// Fault script to apply (see README: "Fault scripts").
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// Random faults, e.g. "every=20s,for=5s,kinds=partition+crash"; the faults it makes are
    /// printed as a script (to stderr, or into --out).
    #[arg(long, value_name = "SPEC")]
    pub nemesis: Option<String>,
    /// Read live fault commands from stdin or a unix socket (unix:PATH).
    #[arg(long, value_name = "stdin|unix:PATH", value_parser = |s: &str| s.parse::<ControlSource>())]
    pub control: Option<ControlSource>,
    /// Pace virtual time at this many times wall time (for live runs).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub realtime: Option<f64>,
}

/// Traces of a run, for tracing tools; `RUST_LOG` selects what goes in (default `info`).
#[derive(Args, Debug, Clone, Default)]
pub struct TraceArgs {
    /// Write a JSON-lines trace (virtual time and node on every line).
    #[arg(long, value_name = "FILE")]
    pub trace_json: Option<PathBuf>,
    /// Write a Chrome trace-event file: open it in Perfetto (ui.perfetto.dev) or chrome://tracing.
    #[arg(long, value_name = "FILE")]
    pub trace_chrome: Option<PathBuf>,
}

impl TraceArgs {
    /// The trace outputs asked for.
    pub fn outputs(&self) -> Vec<TraceOutput> {
        let file = |format, path: &PathBuf| TraceOutput::new(format, TraceSink::File(path.clone()));
        let json = self.trace_json.iter().map(|p| file(TraceFormat::JsonLines, p));
        json.chain(self.trace_chrome.iter().map(|p| file(TraceFormat::Chrome, p))).collect()
    }
}

/// The faults of one run, ready to install.
pub struct FaultPlan {
    /// Script from --faults and the script the nemesis generated, in that order.
    pub script: Script,
    /// What the nemesis generated (printed so that the run can be replayed).
    pub nemesis_script: Option<Script>,
    /// The compiled commands.
    pub timeline: Timeline,
}

impl FaultPlan {
    /// The faults that ran, as a replayable script (a summary's `faults`); `None` when none did.
    pub fn script_text(&self) -> Option<String> {
        (!self.script.entries.is_empty()).then(|| self.script.to_string())
    }

    /// Reads `--faults` (relative paths against `base`), generates the nemesis, and compiles
    /// both against the scenario's nodes. Unknown nodes and bad lines are errors here, before
    /// the run.
    pub fn prepare(
        script_file: Option<&Path>,
        nemesis: Option<&str>,
        resolver: &Resolver,
        seed: u64,
        horizon: SimTime,
    ) -> Result<FaultPlan, InputError> {
        Self::prepare_limited(script_file, nemesis, resolver, seed, horizon, &RunLimits::default())
    }

    /// [`FaultPlan::prepare`] within `limits` (`--max-input-bytes` for the script file,
    /// `--max-fault-commands` for what the script and the nemesis compile to).
    pub fn prepare_limited(
        script_file: Option<&Path>,
        nemesis: Option<&str>,
        resolver: &Resolver,
        seed: u64,
        horizon: SimTime,
        limits: &RunLimits,
    ) -> Result<FaultPlan, InputError> {
        let max_commands = usize::try_from(limits.max_fault_commands).unwrap_or(usize::MAX);
        let mut script = Script::default();
        if let Some(path) = script_file {
            let text = read_limited(path, "--faults", limits.max_input_bytes)?;
            script = parse_script(&text).map_err(|e| InputError(format!("{}: {e}", path.display())))?;
        }
        let nemesis_script = match nemesis {
            Some(spec) => {
                let n: Nemesis = spec.parse().map_err(|e: faultline_faults::NemesisError| InputError(e.to_string()))?;
                let generated =
                    n.generate_limited(resolver, seed, horizon, max_commands).map_err(|e| InputError(e.to_string()))?;
                script.entries.extend(generated.entries.iter().cloned());
                Some(generated)
            }
            None => None,
        };
        let what = script_file.map_or_else(|| "--nemesis".to_string(), |p| p.display().to_string());
        let timeline = compile_limited(&script, resolver, seed, horizon, max_commands)
            .map_err(|e| InputError(format!("{what}: {e}")))?;
        Ok(FaultPlan { script, nemesis_script, timeline })
    }

    /// Schedules the faults in `sim`.
    pub fn install<M: Message>(&self, sim: &Sim<M>) -> Result<(), InputError> {
        self.timeline.install(sim).map_err(|e| InputError(format!("fault schedule: {e}")))
    }
}

/// Starts live control, if asked for, with lines of at most `max_line` bytes
/// (`--max-control-line`), every applied command written into `recording`.
pub fn start_live(
    source: Option<&ControlSource>,
    control: ControlHandle,
    resolver: Resolver,
    seed: u64,
    max_line: u64,
    recording: Recording,
) -> Result<Option<LiveControl>, InputError> {
    let limits = LiveLimits { max_line: usize::try_from(max_line).unwrap_or(usize::MAX), ..LiveLimits::default() };
    source
        .map(|s| LiveControl::start_recorded(s.clone(), control, resolver, seed, limits, recording))
        .transpose()
        .map_err(|e| InputError(format!("--control: {e}")))
}

/// Checks a real-time factor.
pub fn check_realtime(x: Option<f64>) -> Result<(), InputError> {
    match x {
        Some(f) if !(f.is_finite() && f > 0.0) => {
            Err(InputError(format!("--realtime must be a positive number, got {f}")))
        }
        _ => Ok(()),
    }
}
