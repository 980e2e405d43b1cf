//! The network layer: what a message is on the wire, the `Network` trait a test can replace,
//! and the faults a network obeys.

mod cut;
mod latency;
mod link;
mod payload;
mod sim;
mod stats;
mod table;

use serde::{Deserialize, Serialize};

pub use latency::{Latency, LatencyError};
pub use link::{LinkConfig, LinkPatch};
pub use payload::Payload;
pub use sim::SimNetwork;
pub use stats::{LinkStats, NetStats, Traffic};

use crate::control::{ControlError, CutMode};
use crate::id::NodeId;
use crate::kernel::EventQueue;
use crate::time::SimTime;

/// A message on the wire: serialized bytes between two nodes. No node ever shares memory with
/// another; what crosses is exactly these bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// When the sender handed it to the network.
    pub sent_at: SimTime,
    /// Order among all messages of the run, unique per send (a duplicate keeps its original's).
    pub seq: u64,
    /// The serialized message (bincode), inline when small: it reads as a `&[u8]`, and
    /// `packet.bytes.into_vec()` gives a `Vec<u8>`.
    pub bytes: Payload,
}

/// Where a network puts the messages it lets through: the core's queue of timed events.
pub struct Wire<'a> {
    queue: &'a mut EventQueue,
    now: SimTime,
}

impl<'a> Wire<'a> {
    pub(crate) fn new(queue: &'a mut EventQueue, now: SimTime) -> Self {
        Wire { queue, now }
    }

    /// Hands `packet` to its receiver at virtual instant `at` (an instant in the past means now).
    pub fn deliver(&mut self, at: SimTime, packet: Packet) {
        self.queue.push_delivery(at.max(self.now), packet);
    }
}

/// A network: decides the fate of every message, and obeys network faults.
///
/// The core calls `send` when a node sends, `arrive` when a delivery falls due, and `apply` for
/// every network fault of the control channel. Implement it to inject a network of your own
/// into a test, with [`SimBuilder::network`](crate::SimBuilder::network).
pub trait Network {
    /// Called once, before the run, with the number of nodes.
    fn attach(&mut self, nodes: usize);

    /// A node sends `packet` at `now`: schedule zero (lost, cut), one or more deliveries on `wire`.
    fn send(&mut self, now: SimTime, packet: Packet, wire: &mut Wire<'_>);

    /// A delivery falls due at `now`: return the packet to hand it to its receiver, or `None`
    /// when a fault stops it in flight.
    fn arrive(&mut self, now: SimTime, packet: Packet) -> Option<Packet>;

    /// Applies a network fault; an error leaves the network unchanged.
    fn apply(&mut self, now: SimTime, fault: &NetFault, wire: &mut Wire<'_>) -> Result<(), ControlError>;

    /// The traffic counters so far.
    fn stats(&self) -> NetStats;

    /// The traffic counters so far, told which deliveries are still queued on the wire. The
    /// core calls this one. The default ignores `in_flight` and returns [`Network::stats`]; the
    /// simulated network counts a delivery when it schedules it (so that each message touches
    /// its link's counters once) and takes back here the ones still in flight.
    fn stats_in_flight(&self, in_flight: &mut dyn Iterator<Item = &Packet>) -> NetStats {
        let _ = in_flight;
        self.stats()
    }

    /// The same at the end of a run: the network may hand its counters over rather than copy
    /// them. The default copies.
    fn take_stats_in_flight(&mut self, in_flight: &mut dyn Iterator<Item = &Packet>) -> NetStats {
        self.stats_in_flight(in_flight)
    }

    /// The sum over every link, and the messages partitions hold now, told which deliveries
    /// are still queued (what a live `status` reports). The default builds the whole
    /// [`NetStats`]; a network with many links can sum without copying them.
    fn total_in_flight(&self, in_flight: &mut dyn Iterator<Item = &Packet>) -> (LinkStats, u64) {
        let stats = self.stats_in_flight(in_flight);
        (stats.total(), stats.held_now)
    }
}

/// A fault that the network itself carries out. Node ids are checked by the core before the
/// network sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NetFault {
    /// Split the nodes into `groups`; nodes named in no group form one more group. Messages
    /// between groups are dropped or held (`mode`).
    Partition {
        /// The groups.
        groups: Vec<Vec<NodeId>>,
        /// Drop messages, or hold them until heal.
        mode: CutMode,
        /// A name for a selective heal.
        label: Option<String>,
    },
    /// Stop messages from any node of `from` to any node of `to`, and only those.
    OneWay {
        /// Senders.
        from: Vec<NodeId>,
        /// Receivers.
        to: Vec<NodeId>,
        /// Drop messages, or hold them until heal.
        mode: CutMode,
        /// A name for a selective heal.
        label: Option<String>,
    },
    /// Remove the cuts with this label, or every cut; held messages leave now, each with its
    /// link's latency.
    Heal {
        /// Which cuts; `None` heals everything.
        label: Option<String>,
    },
    /// Change some settings of the links `from -> to` (`None` on a side means every node; both
    /// `None` changes the default and every configured link).
    SetLink {
        /// Senders, or all.
        from: Option<NodeId>,
        /// Receivers, or all.
        to: Option<NodeId>,
        /// The settings to change.
        patch: LinkPatch,
    },
    /// Return the links `from -> to` to the default settings.
    ResetLink {
        /// Senders, or all.
        from: Option<NodeId>,
        /// Receivers, or all.
        to: Option<NodeId>,
    },
}
