//! The trace targets a run writes to on purpose: phase changes and verdicts (from a scenario),
//! and dropped messages (from the network layer), with the helpers that emit them.
//!
//! Every writer treats these like any other event; the Chrome writer shows phases and verdicts
//! as global instant events on the `sim` track. Fault commands have their own target,
//! [`CONTROL_TARGET`](crate::CONTROL_TARGET) (`applied` at info, `refused` at warn, field
//! `command`).

use crate::id::NodeId;

/// Target of phase changes, at info level. Field `phase`: the name of the phase that begins
/// (`before`, `during`, `after`, ...); field `trigger`: what started it (`spike`, `fault script`,
/// `live: partition ...`); message `phase`. Emit it with [`phase`], or with
/// [`Traces::phase`](super::Traces::phase) from outside the run.
pub const PHASE_TARGET: &str = "faultline::phase";

/// Target of a run's verdict, at info level. Field `verdict`: a short word (`recovered`,
/// `stays-down`, `linearizable`, ...); field `detail`: one sentence with the run's numbers;
/// message `verdict`. Emit it with [`verdict`], or with [`Traces::verdict`](super::Traces::verdict)
/// after the run.
pub const VERDICT_TARGET: &str = "faultline::verdict";

/// Target of dropped messages, at debug level. Field `reason` (one of [`DropReason`]'s words),
/// fields `from` and `to` (node indices, which the writers replace by node names; an index that
/// is no node, as for a misaddressed message, stays a number) and `bytes`; message `drop`. Emit
/// it with [`dropped`].
pub const DROP_TARGET: &str = "faultline::drop";

/// Begins phase `name`, started by `trigger`: one info event on [`PHASE_TARGET`] in the current
/// dispatcher (inside a run: the run's traces).
pub fn phase(name: &str, trigger: &str) {
    tracing::info!(target: PHASE_TARGET, phase = name, trigger, "phase");
}

/// Records the run's verdict: one info event on [`VERDICT_TARGET`] in the current dispatcher.
pub fn verdict(verdict: &str, detail: &str) {
    tracing::info!(target: VERDICT_TARGET, verdict, detail, "verdict");
}

/// Why a message never reached its receiver's code, or why its receiver threw it away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link's loss probability took it.
    Loss,
    /// A partition (cut) in drop mode stopped it, when sent or while in flight.
    Partition,
    /// It arrived while its receiver was crashed or finished.
    Undeliverable,
    /// It was waiting in its receiver's inbox when the receiver crashed.
    CrashedInbox,
    /// Its bytes do not decode as the receiver's message type.
    Undecodable,
    /// It was sent to an id that is no node.
    Misaddressed,
    /// It was sent when the run already held `max_in_flight` events (the run stops there).
    InFlightLimit,
    /// Its receiver dropped it because its deadline had passed or could no longer be met.
    Deadline,
    /// Its receiver shed it (a full queue, or load shedding).
    Shed,
}

impl DropReason {
    /// The word written in the `reason` field.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Undeliverable => "undeliverable",
            DropReason::CrashedInbox => "crashed-inbox",
            DropReason::Undecodable => "undecodable",
            DropReason::Misaddressed => "misaddressed",
            DropReason::InFlightLimit => "in-flight-limit",
            DropReason::Deadline => "deadline",
            DropReason::Shed => "shed",
        }
    }
}

/// Records one dropped message: a debug event on [`DROP_TARGET`]. The network layer calls it
/// for loss and partitions, the kernel for undeliverable, crashed-inbox, undecodable,
/// misaddressed and in-flight-limit drops, and a node for what it throws away itself (deadline,
/// shedding; `bytes` 0 when it no longer has them). When no trace takes debug events of this
/// target it costs a function call and a cached check.
pub fn dropped(reason: DropReason, from: NodeId, to: NodeId, bytes: usize) {
    tracing::debug!(
        target: DROP_TARGET,
        reason = reason.as_str(),
        from = from.index() as u64,
        to = to.index() as u64,
        bytes,
        "drop"
    );
}

/// Whether a trace takes drop events now: a caller that would walk a queue to report each of
/// its drops checks this first.
pub fn drops_traced() -> bool {
    tracing::enabled!(target: DROP_TARGET, tracing::Level::DEBUG)
}
