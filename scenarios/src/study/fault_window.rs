//! When faults were in force, as a study's summary reports it (`fault_windows`) and its charts
//! shade it: one type for every study, so the JSON reads the same in each.

use faultline::SimTime;
use faultline_faults::{Timeline, fault_spans};
use serde::Serialize;

use crate::report::panels::Band;

/// A span of virtual time during which faults (a partition flag, a script, the nemesis or live
/// commands) were in force.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultWindow {
    /// What (`partition`, `partition + crash`).
    pub kind: String,
    /// Start (s).
    pub from_s: f64,
    /// End (s); equal to the start for an instant (a clock step).
    pub to_s: f64,
}

impl FaultWindow {
    /// `kind` from `from` to `to`.
    pub fn new(kind: String, from: SimTime, to: SimTime) -> Self {
        FaultWindow { kind, from_s: from.as_secs_f64(), to_s: to.as_secs_f64() }
    }

    /// Every span of `timeline`'s commands with some fault active, up to `end`.
    pub fn of_timeline(timeline: &Timeline, end: SimTime) -> Vec<FaultWindow> {
        fault_spans(&timeline.commands, end).into_iter().map(|s| FaultWindow::new(s.label(), s.from, s.to)).collect()
    }

    /// The shaded band of a chart.
    pub fn band(&self) -> Band {
        Band { from: self.from_s, to: self.to_s, label: self.kind.clone() }
    }
}
