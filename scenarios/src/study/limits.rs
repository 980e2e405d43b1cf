//! The limits of a run, as flags: the core's [`Limits`] plus what only a study has (sweep jobs,
//! input file sizes, fault commands). Declared as parameters like any other, so they get ranges,
//! help and messages the same way.

use std::time::Duration;

use faultline::Limits;
use serde::{Deserialize, Serialize};

use super::param::{Kind, Param};
use crate::cli::InputError;

/// Exit code of a run stopped by a limit: what it measured is reported, marked incomplete.
pub const EXIT_LIMIT: u8 = 3;

/// Every limit a study run has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunLimits {
    /// Events queued at once in the core.
    pub max_in_flight: u64,
    /// Nodes in the simulation.
    pub max_nodes: u64,
    /// Time-series windows (the run's length over the window width).
    pub max_windows: u64,
    /// Runs in one sweep.
    pub max_sweep_jobs: u64,
    /// Bytes of an input file (`--config`, `--merge`, `--faults`).
    pub max_input_bytes: u64,
    /// Commands a fault script or nemesis may compile to.
    pub max_fault_commands: u64,
    /// Requests (operations) a run may offer: its rates times its duration. It bounds the work
    /// and what an overloaded server queues, before the run starts.
    pub max_requests: u64,
    /// Bytes of one live control line (`--control`); a longer one is answered with an error.
    pub max_control_line: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        let core = Limits::default();
        RunLimits {
            max_in_flight: core.max_in_flight,
            max_nodes: core.max_nodes,
            max_windows: core.max_windows,
            max_sweep_jobs: 1_000_000,
            max_input_bytes: 16 << 20,
            max_fault_commands: faultline_faults::DEFAULT_MAX_COMMANDS as u64,
            max_requests: 2_000_000,
            max_control_line: faultline_faults::DEFAULT_MAX_LINE as u64,
        }
    }
}

const fn limit(name: &'static str, max: u64, help: &'static str) -> Param {
    Param::new(name, Kind::Int { min: 1, max }, help).fixed()
}

/// The limit flags.
pub const LIMIT_PARAMS: [Param; 8] = [
    limit(
        "max-in-flight",
        1 << 40,
        "Most events queued at once (messages in flight, timers); a run that passes it stops, exit code 3.",
    ),
    limit("max-nodes", 1 << 32, "Most nodes in the simulation."),
    limit("max-windows", 1 << 32, "Most time-series windows (--duration / --window)."),
    limit("max-sweep-jobs", 1 << 40, "Most runs in one sweep (values x seeds)."),
    limit("max-input-bytes", 1 << 40, "Largest input file (--config, --merge, --faults), in bytes."),
    limit("max-fault-commands", 1 << 40, "Most commands a fault script or --nemesis may compile to."),
    limit("max-requests", 1 << 40, "Most requests a run may offer (its rates times its duration)."),
    limit("max-control-line", 1 << 20, "Longest live control line (--control), in bytes."),
];

impl RunLimits {
    /// The core's part.
    pub fn core(&self) -> Limits {
        Limits { max_in_flight: self.max_in_flight, max_nodes: self.max_nodes, max_windows: self.max_windows }
    }

    /// Checks, before the run, that `duration` cut into windows of `window` stays within
    /// `--max-windows`; the message names both flags.
    pub fn check_windows(&self, duration: Duration, window: Duration) -> Result<(), InputError> {
        let windows = duration.as_nanos().div_ceil(window.as_nanos().max(1));
        if windows > u128::from(self.max_windows) {
            return Err(InputError(format!(
                "--duration / --window makes {windows} windows, more than --max-windows {} (allowed: a wider --window, a shorter --duration, or a higher --max-windows)",
                self.max_windows
            )));
        }
        Ok(())
    }

    /// Checks, before the run, that the requests its load offers (`offered`, from the rates
    /// named by `flags`) stay within `--max-requests`.
    pub fn check_requests(&self, offered: f64, flags: &str) -> Result<(), InputError> {
        if offered > self.max_requests as f64 {
            return Err(InputError(format!(
                "{flags} offer about {offered:.3e} requests over --duration, more than --max-requests {} (allowed: lower rates, a shorter --duration, or a higher --max-requests)",
                self.max_requests
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_beyond_the_limit_name_both_flags() {
        let l = RunLimits::default();
        assert!(l.check_windows(Duration::from_secs(120), Duration::from_secs(1)).is_ok());
        let e = l.check_windows(Duration::from_secs(120), Duration::from_nanos(1)).unwrap_err().0;
        assert!(e.starts_with("--duration / --window makes 120000000000 windows, more than --max-windows 1000000"));
    }
}
