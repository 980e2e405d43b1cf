//! Resource limits of one run. A run that passes one stops at that instant with
//! [`RunOutcome::Limit`](crate::RunOutcome::Limit), and its report says which limit and what
//! was measured until then, instead of exhausting memory. The defaults are far above what any
//! sensible run needs; a study exposes each as a flag.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The limits of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events queued at once: messages in flight, armed timers and scheduled commands.
    pub max_in_flight: u64,
    /// Nodes in the simulation.
    pub max_nodes: u64,
    /// Time-series windows per metric (the run's length divided by the window width).
    pub max_windows: u64,
}

impl Limits {
    /// Default for [`Limits::max_in_flight`]: about 1 GiB of queued events.
    pub const MAX_IN_FLIGHT: u64 = 10_000_000;
    /// Default for [`Limits::max_nodes`].
    pub const MAX_NODES: u64 = 200_000;
    /// Default for [`Limits::max_windows`]: a day of 100 ms windows.
    pub const MAX_WINDOWS: u64 = 1_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_in_flight: Self::MAX_IN_FLIGHT, max_nodes: Self::MAX_NODES, max_windows: Self::MAX_WINDOWS }
    }
}

/// Which limit a run reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// [`Limits::max_in_flight`].
    InFlight,
    /// [`Limits::max_nodes`].
    Nodes,
    /// [`Limits::max_windows`].
    Windows,
}

impl LimitKind {
    /// The field of [`Limits`] (and, kebab-cased, the flag a study gives it).
    pub fn field(self) -> &'static str {
        match self {
            LimitKind::InFlight => "max_in_flight",
            LimitKind::Nodes => "max_nodes",
            LimitKind::Windows => "max_windows",
        }
    }

    fn what(self) -> &'static str {
        match self {
            LimitKind::InFlight => "events in flight",
            LimitKind::Nodes => "nodes",
            LimitKind::Windows => "metric windows",
        }
    }
}

/// A limit that was reached, and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitHit {
    /// Which limit.
    pub kind: LimitKind,
    /// Its value.
    pub limit: u64,
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} reached the limit of {} ({})", self.kind.what(), self.limit, self.kind.field())
    }
}
