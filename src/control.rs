//! The control channel: fault commands, the handle that sends them (from a node, from the code
//! driving the sim, or from another thread), and what the sim answers.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::id::NodeId;
use crate::kernel::NodeStatus;
use crate::net::{Latency, LinkPatch, NetFault};
use crate::time::{SimTime, format_duration};

/// What a partition does to the messages it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CutMode {
    /// Messages are lost, as behind a firewall that drops packets.
    #[default]
    Drop,
    /// Messages wait and leave when the partition heals, as TCP buffers keep them.
    Hold,
}

/// A command for the running simulation. Each applies at the virtual instant it arrives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// A network fault: partition, one-way cut, heal, link settings.
    Net(NetFault),
    /// Kill the node: its tasks and sub-tasks are cancelled, its inbox is lost, and messages to
    /// it are dropped until it restarts.
    Crash(NodeId),
    /// Build a crashed node again from its factory. It keeps only its durable store.
    Restart(NodeId),
    /// Freeze the node (as SIGSTOP): its tasks stop running; messages wait in its inbox.
    Pause(NodeId),
    /// Let a paused node run again.
    Resume(NodeId),
    /// Move the node's local clock by `nanos` (negative: backwards).
    Skew {
        /// Whose clock.
        node: NodeId,
        /// The step, in nanoseconds.
        nanos: i64,
    },
    /// Make the node's local clock run fast (positive) or slow (negative) by `ppm` parts per
    /// million from now on.
    Drift {
        /// Whose clock.
        node: NodeId,
        /// Rate error in parts per million.
        ppm: f64,
    },
    /// End the run now.
    Stop,
}

impl Command {
    /// Partition the nodes into `groups` (unnamed nodes form one more group), dropping messages.
    pub fn partition(groups: Vec<Vec<NodeId>>) -> Self {
        Command::Net(NetFault::Partition { groups, mode: CutMode::Drop, label: None })
    }

    /// Cut one node off from every other, dropping messages.
    pub fn isolate(node: NodeId) -> Self {
        Command::partition(vec![vec![node]])
    }

    /// Stop messages from `from` to `to` only.
    pub fn one_way(from: Vec<NodeId>, to: Vec<NodeId>) -> Self {
        Command::Net(NetFault::OneWay { from, to, mode: CutMode::Drop, label: None })
    }

    /// Heal every partition.
    pub fn heal() -> Self {
        Command::Net(NetFault::Heal { label: None })
    }

    /// Change the link `from -> to` (`None`: every node on that side).
    pub fn set_link(from: Option<NodeId>, to: Option<NodeId>, patch: LinkPatch) -> Self {
        Command::Net(NetFault::SetLink { from, to, patch })
    }

    /// A short name for counting: `partition`, `crash`, `set-link`...
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Net(NetFault::Partition { .. }) => "partition",
            Command::Net(NetFault::OneWay { .. }) => "one-way",
            Command::Net(NetFault::Heal { .. }) => "heal",
            Command::Net(NetFault::SetLink { .. }) => "set-link",
            Command::Net(NetFault::ResetLink { .. }) => "reset-link",
            Command::Crash(_) => "crash",
            Command::Restart(_) => "restart",
            Command::Pause(_) => "pause",
            Command::Resume(_) => "resume",
            Command::Skew { .. } => "skew",
            Command::Drift { .. } => "drift",
            Command::Stop => "stop",
        }
    }

    /// Every node the command names.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Command::Net(NetFault::Partition { groups, .. }) => groups.iter().flatten().copied().collect(),
            Command::Net(NetFault::OneWay { from, to, .. }) => from.iter().chain(to).copied().collect(),
            Command::Net(NetFault::SetLink { from, to, .. } | NetFault::ResetLink { from, to }) => {
                from.iter().chain(to.iter()).copied().collect()
            }
            Command::Net(NetFault::Heal { .. }) | Command::Stop => Vec::new(),
            Command::Crash(n) | Command::Restart(n) | Command::Pause(n) | Command::Resume(n) => vec![*n],
            Command::Skew { node, .. } | Command::Drift { node, .. } => vec![*node],
        }
    }

    /// The command in words, with node names, as traces and replies print it.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |n: &NodeId| names.get(n.index()).cloned().unwrap_or_else(|| n.to_string());
        let list = |v: &[NodeId]| v.iter().map(name).collect::<Vec<_>>().join(",");
        let end = |e: &Option<NodeId>| e.as_ref().map_or_else(|| "*".to_string(), name);
        let tail = |mode: &CutMode, label: &Option<String>| {
            let mut t = String::new();
            if *mode == CutMode::Hold {
                t.push_str(" hold");
            }
            if let Some(l) = label {
                t.push_str(&format!(" as {l}"));
            }
            t
        };
        match self {
            Command::Net(NetFault::Partition { groups, mode, label }) => {
                let groups: Vec<String> = groups.iter().map(|g| list(g)).collect();
                format!("partition {}{}", groups.join(" | "), tail(mode, label))
            }
            Command::Net(NetFault::OneWay { from, to, mode, label }) => {
                format!("cut {} -> {}{}", list(from), list(to), tail(mode, label))
            }
            Command::Net(NetFault::Heal { label: None }) => "heal".to_string(),
            Command::Net(NetFault::Heal { label: Some(l) }) => format!("heal {l}"),
            Command::Net(NetFault::SetLink { from, to, patch }) => format!("link {} -> {} {patch}", end(from), end(to)),
            Command::Net(NetFault::ResetLink { from, to }) => format!("link {} -> {} reset", end(from), end(to)),
            Command::Crash(n) => format!("crash {}", name(n)),
            Command::Restart(n) => format!("restart {}", name(n)),
            Command::Pause(n) => format!("pause {}", name(n)),
            Command::Resume(n) => format!("resume {}", name(n)),
            Command::Skew { node, nanos } => {
                let sign = if *nanos < 0 { '-' } else { '+' };
                let step = format_duration(std::time::Duration::from_nanos(nanos.unsigned_abs()));
                format!("skew {} {sign}{step}", name(node))
            }
            Command::Drift { node, ppm } => format!("drift {} {ppm}ppm", name(node)),
            Command::Stop => "stop".to_string(),
        }
    }
}

/// The longest delay a link change may give one message: a day. Virtual time counts
/// nanoseconds in a `u64` (about 584 years), so a larger delay would either wrap or describe a
/// link that never delivers within any run; a link that should not deliver is a partition.
pub const MAX_LINK_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Checks the delays a link change configures: the latency distribution's parameters and the
/// jitter, added up, must stay within [`MAX_LINK_DELAY`]. The error names the setting and the
/// allowed range; a delay is refused here, where it is configured, never wrapped later.
pub fn check_link_delay(latency: Option<&Latency>, jitter: Option<Duration>) -> Result<(), ControlError> {
    let max = format_duration(MAX_LINK_DELAY);
    if let Some(l) = latency {
        let parts: &[Duration] = match l {
            Latency::Constant { value } => &[*value],
            Latency::Uniform { min, max } => &[*min, *max],
            Latency::Normal { mean, stddev, floor } | Latency::LogNormal { mean, stddev, floor } => {
                &[*mean, *stddev, *floor]
            }
            Latency::Exponential { mean, floor } => &[*mean, *floor],
        };
        if parts.iter().any(|d| *d > MAX_LINK_DELAY) {
            return Err(ControlError::Invalid(format!(
                "link latency {l} is longer than any run: each of its durations must be at most {max}"
            )));
        }
    }
    if let Some(j) = jitter
        && j > MAX_LINK_DELAY
    {
        return Err(ControlError::Invalid(format!(
            "link jitter {} is longer than any run: allowed 0s to {max}",
            format_duration(j)
        )));
    }
    Ok(())
}

impl Command {
    /// Checks what can be checked without the running simulation: link delays within
    /// [`MAX_LINK_DELAY`], probabilities within `0..=1`, a finite drift. The sim checks the
    /// rest (node states, labels) when the command applies.
    pub fn validate(&self) -> Result<(), ControlError> {
        match self {
            Command::Net(NetFault::SetLink { patch, .. }) => {
                check_link_delay(patch.latency.as_ref(), patch.jitter)?;
                for (what, value) in [("loss", patch.loss), ("duplicate", patch.duplicate)] {
                    if let Some(value) = value
                        && !(0.0..=1.0).contains(&value)
                    {
                        return Err(ControlError::Probability { what, value });
                    }
                }
                Ok(())
            }
            Command::Drift { ppm, .. } if !ppm.is_finite() || ppm.abs() >= 1e6 => Err(ControlError::Invalid(format!(
                "drift must be a finite rate between -1000000 and 1000000 ppm, got {ppm}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Why a command was refused. The run goes on; the refusal is traced and counted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// The command names a node the simulation does not have.
    #[error("unknown node {node}: the simulation has {count} nodes")]
    UnknownNode {
        /// The id given.
        node: NodeId,
        /// How many nodes there are.
        count: usize,
    },
    /// A probability outside `0..=1`.
    #[error("{what} must be a probability between 0 and 1, got {value}")]
    Probability {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// The node is not in a state the command applies to.
    #[error("cannot {command} {node}: it is {state}")]
    WrongState {
        /// The command.
        command: &'static str,
        /// The node's name.
        node: String,
        /// Its state.
        state: &'static str,
    },
    /// `heal LABEL` with no partition of that label.
    #[error("no partition labelled '{0}' is in force")]
    UnknownCut(String),
    /// Any other malformed command.
    #[error("{0}")]
    Invalid(String),
    /// The simulation is gone.
    #[error("the simulation has ended")]
    Closed,
}

/// What the sim answers to one command: the virtual instant it was applied, or why not.
pub type Answer = Result<SimTime, ControlError>;

/// What goes down the control channel.
pub(crate) enum Request {
    /// A command, and where to answer (if anyone waits).
    Command(Command, Option<oneshot::Sender<Answer>>),
    /// A command from outside the run (another thread: live control): it applies between
    /// instants, never in the middle of one, so that a recorded session replays exactly.
    External(Command, Option<oneshot::Sender<Answer>>),
    /// A question about the state of the run.
    Status(oneshot::Sender<Result<Status, ControlError>>),
}

/// The state of a running simulation, as `status` reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Virtual time now.
    pub now: SimTime,
    /// Every node's name and state.
    pub nodes: Vec<(String, NodeStatus)>,
    /// Messages held by partitions.
    pub held: u64,
    /// Messages delivered so far.
    pub delivered: u64,
    /// Commands applied and refused so far.
    pub control: ControlStats,
}

/// A cloneable, thread-safe sender of commands to one running simulation.
///
/// Get it from [`Sim::control`](crate::Sim::control) or
/// [`Context::control`](crate::Context::control). Commands are applied at the virtual instant
/// the sim receives them: at once when sent from a node, at the next idle instant when sent from
/// another thread.
#[derive(Clone, Debug)]
pub struct ControlHandle {
    tx: mpsc::Sender<Request>,
    /// Commands sent and not yet taken by the sim: lets the sim skip the channel when it is empty.
    pending: Arc<AtomicUsize>,
    names: Arc<[String]>,
    /// Held outside the run (by [`crate::Sim::control`]) rather than by a node.
    external: bool,
}

impl ControlHandle {
    pub(crate) fn new(tx: mpsc::Sender<Request>, pending: Arc<AtomicUsize>, names: Arc<[String]>) -> Self {
        ControlHandle { tx, pending, names, external: false }
    }

    /// The same channel, for use outside the run.
    pub(crate) fn outside(&self) -> Self {
        ControlHandle { external: true, ..self.clone() }
    }

    fn command(&self, command: Command, reply: Option<oneshot::Sender<Answer>>) -> Request {
        if self.external { Request::External(command, reply) } else { Request::Command(command, reply) }
    }

    fn send(&self, req: Request) -> Result<(), ControlError> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.tx.send(req).map_err(|_| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            ControlError::Closed
        })
    }

    /// Sends a command without waiting; its outcome is traced and counted.
    pub fn submit(&self, command: Command) -> Result<(), ControlError> {
        self.send(self.command(command, None))
    }

    /// Sends a command; the returned [`Reply`] resolves when the sim has applied or refused it.
    pub fn request(&self, command: Command) -> Reply<SimTime> {
        let (tx, rx) = oneshot::channel();
        let sent = self.send(self.command(command, Some(tx))).is_ok();
        Reply { rx: sent.then_some(rx) }
    }

    /// Asks for the state of the run; answered at the next instant the sim is idle.
    pub fn status(&self) -> Reply<Status> {
        let (tx, rx) = oneshot::channel();
        let sent = self.send(Request::Status(tx)).is_ok();
        Reply { rx: sent.then_some(rx) }
    }

    /// The id of the node called `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.names.iter().position(|n| n == name).map(NodeId::from_index)
    }

    /// Every node's name, by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The sim's answer to a command or question. Await it inside the sim, or call
/// [`Reply::wait`] from another thread.
#[derive(Debug)]
pub struct Reply<T> {
    rx: Option<oneshot::Receiver<Result<T, ControlError>>>,
}

impl<T> Reply<T> {
    /// Blocks this thread until the sim answers; `Err(Closed)` when the sim is gone first.
    /// Call it from a thread other than the sim's.
    pub fn wait(self) -> Result<T, ControlError> {
        self.rx.and_then(|rx| rx.blocking_recv().ok()).unwrap_or(Err(ControlError::Closed))
    }
}

impl<T> Future for Reply<T> {
    type Output = Result<T, ControlError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.rx.as_mut() {
            Some(rx) => Pin::new(rx).poll(cx).map(|r| r.unwrap_or(Err(ControlError::Closed))),
            None => Poll::Ready(Err(ControlError::Closed)),
        }
    }
}

/// How many commands were applied and refused, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlStats {
    /// Commands applied, by kind.
    pub applied: BTreeMap<String, u64>,
    /// Commands refused, by kind.
    pub rejected: BTreeMap<String, u64>,
}

impl ControlStats {
    pub(crate) fn count(&mut self, kind: &str, ok: bool) {
        let map = if ok { &mut self.applied } else { &mut self.rejected };
        *map.entry(kind.to_string()).or_default() += 1;
    }

    /// All commands applied.
    pub fn total_applied(&self) -> u64 {
        self.applied.values().sum()
    }

    /// All commands refused.
    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl fmt::Display for CutMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CutMode::Drop => "drop",
            CutMode::Hold => "hold",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(latency: Option<Latency>, jitter: Option<Duration>) -> Command {
        Command::set_link(None, None, LinkPatch { latency, jitter, ..LinkPatch::default() })
    }

    // Pins issue 8: `link ... latency 18446744073709551615ns` wrapped the delivery time and the
    // run reported 99.6% goodput for a 584-year link. The delay is refused where it is set.
    #[test]
    fn link_delays_beyond_any_run_are_refused_not_wrapped() {
        let huge = Duration::from_nanos(u64::MAX);
        let e = link(Some(Latency::Constant { value: huge }), None).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "link latency constant(18446744073709551615ns) is longer than any run: each of its durations must be at most 24h"
        );
        let e = link(None, Some(huge)).validate().unwrap_err();
        assert_eq!(e.to_string(), "link jitter 18446744073709551615ns is longer than any run: allowed 0s to 24h");
        let floor =
            Latency::Exponential { mean: Duration::from_millis(1), floor: MAX_LINK_DELAY + Duration::from_nanos(1) };
        assert!(link(Some(floor), None).validate().is_err());
        assert_eq!(link(Some(Latency::Constant { value: MAX_LINK_DELAY }), Some(MAX_LINK_DELAY)).validate(), Ok(()));
        assert!(Command::Drift { node: NodeId::from_index(0), ppm: f64::NAN }.validate().is_err());
    }
}
