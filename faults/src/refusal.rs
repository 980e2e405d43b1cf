//! Which scheduled fault commands the running simulation refused (`restart server` while the
//! server runs, `heal nosuchlabel`), matched back to the script lines they came from.
//!
//! The core traces every refusal (target [`faultline::CONTROL_TARGET`], level `warn`, with the
//! command in words and the reason). A [`RefusalLog`] is a trace output that keeps only those
//! events, in memory; after the run, [`Timeline::refused`] pairs them with the timeline.

use std::fmt;

use faultline::{CONTROL_TARGET, SimTime, TraceBuffer, TraceFormat, TraceOutput, TraceSink};
use serde_json::Value;

use crate::schedule::{Timeline, origin};

/// Records the control channel's refusals during a run: pass [`RefusalLog::output`] to the
/// simulation builder's `trace`, run, then read [`RefusalLog::refusals`].
#[derive(Clone, Debug, Default)]
pub struct RefusalLog {
    buffer: TraceBuffer,
}

/// One command the simulation refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The virtual instant it arrived.
    pub at: SimTime,
    /// The command, in words (as [`faultline::Command::describe`] writes it).
    pub command: String,
    /// Why it was refused.
    pub error: String,
}

/// A refusal of a command that came from a script line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedEntry {
    /// The script line (0 for entries without one, such as the nemesis's).
    pub line: usize,
    /// What was refused, when and why.
    pub refusal: Refusal,
}

impl fmt::Display for RefusedEntry {
    /// `fault script line 4: refused at 12.3 s: restart server: cannot restart server: it is
    /// running` (`nemesis: ...` for a generated entry).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.refusal;
        write!(f, "{}: refused at {} s: {}: {}", origin(self.line), r.at.as_secs_f64(), r.command, r.error)
    }
}

impl RefusalLog {
    /// An empty log.
    pub fn new() -> Self {
        RefusalLog::default()
    }

    /// The trace output that fills this log: JSON lines in memory, refusals only.
    pub fn output(&self) -> TraceOutput {
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(self.buffer.clone()))
            .filtered(&format!("{CONTROL_TARGET}=warn"))
    }

    /// Every refusal so far, in the order they happened.
    pub fn refusals(&self) -> Vec<Refusal> {
        let bytes = self.buffer.contents();
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|v| v["target"] == CONTROL_TARGET && v["message"] == "refused")
            .filter_map(|v| {
                Some(Refusal {
                    at: SimTime::from_nanos(v["ns"].as_u64()?),
                    command: v["fields"]["command"].as_str()?.to_string(),
                    error: v["fields"]["error"].as_str()?.to_string(),
                })
            })
            .collect()
    }
}

impl Timeline {
    /// The refusals that were commands of this timeline, with their script lines: each refusal
    /// is paired with the first not yet paired command of the same instant and the same words
    /// (`names` are the simulation's node names). Refusals of other commands (live ones) are
    /// left out.
    pub fn refused(&self, names: &[String], refusals: &[Refusal]) -> Vec<RefusedEntry> {
        let mut used = vec![false; self.commands.len()];
        let mut out = Vec::new();
        for r in refusals {
            let start = self.commands.partition_point(|t| t.at < r.at);
            let hit = self.commands[start..]
                .iter()
                .enumerate()
                .take_while(|(_, t)| t.at == r.at)
                .find(|(k, t)| !used[start + k] && t.command.describe(names) == r.command)
                .map(|(k, _)| start + k);
            if let Some(i) = hit {
                used[i] = true;
                out.push(RefusedEntry { line: self.commands[i].line, refusal: r.clone() });
            }
        }
        out
    }
}
