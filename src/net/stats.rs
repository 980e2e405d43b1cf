//! Traffic counters per directed link (or per node, in large networks), as the network saw them.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::table::TrafficTable;
use crate::id::NodeId;

/// What happened to the messages of one directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    /// Messages handed to the network by the sender.
    pub sent: u64,
    /// Bytes handed to the network by the sender.
    pub bytes_sent: u64,
    /// Messages that reached the receiver's host (duplicates included).
    pub delivered: u64,
    /// Bytes that reached the receiver's host.
    pub bytes_delivered: u64,
    /// Messages lost to the link's loss probability.
    pub lost: u64,
    /// Extra copies made by the link's duplication probability.
    pub duplicated: u64,
    /// Messages dropped by a partition.
    pub cut: u64,
    /// Times a holding partition took a message (at send, in flight, or passed on by a healed
    /// partition to another that still holds).
    pub held: u64,
}

/// The counters every message touches, kept apart from the fault counters so that a link costs
/// 32 bytes. Of a link, or of a node: what it sent, and what was delivered to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// Messages handed to the network (by the link's or the node's sender).
    pub sent: u64,
    /// Bytes handed to the network.
    pub bytes_sent: u64,
    /// Messages that reached the receiver's host (duplicates included).
    pub delivered: u64,
    /// Bytes that reached the receiver's host.
    pub bytes_delivered: u64,
}

impl Traffic {
    pub(crate) fn add(&mut self, o: &Traffic) {
        self.sent += o.sent;
        self.bytes_sent += o.bytes_sent;
        self.delivered += o.delivered;
        self.bytes_delivered += o.bytes_delivered;
    }

    /// Adds to `node`'s figures what the link `from -> to` carried: its sends when the node is
    /// the sender, its deliveries when it is the receiver.
    pub(crate) fn add_link(&mut self, node: NodeId, (from, to): (NodeId, NodeId), link: &Traffic) {
        if from == node {
            self.sent += link.sent;
            self.bytes_sent += link.bytes_sent;
        }
        if to == node {
            self.delivered += link.delivered;
            self.bytes_delivered += link.bytes_delivered;
        }
    }

    /// Counts `copies` deliveries of a message of `bytes` bytes, when they are scheduled.
    pub(crate) fn add_deliveries(&mut self, copies: u64, bytes: u64) {
        self.delivered += copies;
        self.bytes_delivered += copies * bytes;
    }

    /// Takes back a delivery of `bytes` counted when it was scheduled and still queued.
    pub(crate) fn take_back_delivery(&mut self, bytes: usize) {
        self.delivered = self.delivered.saturating_sub(1);
        self.bytes_delivered = self.bytes_delivered.saturating_sub(bytes as u64);
    }
}

impl From<Traffic> for LinkStats {
    fn from(t: Traffic) -> Self {
        let Traffic { sent, bytes_sent, delivered, bytes_delivered } = t;
        LinkStats { sent, bytes_sent, delivered, bytes_delivered, ..LinkStats::default() }
    }
}

/// The sum of `traffic` (every link's, summed) and of `other` counters.
pub(crate) fn sum<'a>(traffic: Traffic, other: impl IntoIterator<Item = &'a LinkStats>) -> LinkStats {
    let mut t = LinkStats::from(traffic);
    for s in other {
        t.add(s);
    }
    t
}

impl LinkStats {
    /// The counters every message touches.
    fn traffic(&self) -> Traffic {
        let LinkStats { sent, bytes_sent, delivered, bytes_delivered, .. } = *self;
        Traffic { sent, bytes_sent, delivered, bytes_delivered }
    }

    fn add(&mut self, o: &LinkStats) {
        self.sent += o.sent;
        self.bytes_sent += o.bytes_sent;
        self.delivered += o.delivered;
        self.bytes_delivered += o.bytes_delivered;
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.cut += o.cut;
        self.held += o.held;
    }
}

/// The network's counters: per directed link (or per node), and in total.
///
/// The simulated network hands over its own table of traffic counters (moved at the end of a
/// run, copied before), so that a report does not build a second map of every link;
/// [`NetStats::links`] builds one when asked.
///
/// Above 256 nodes the simulated network counts traffic per node unless the run asked for
/// links ([`crate::SimBuilder::link_traffic`]): then [`NetStats::link`] and [`NetStats::links`]
/// say `None`, and [`NetStats::node`] and [`NetStats::total`] are exact either way.
#[derive(Clone, Debug, Default)]
pub struct NetStats {
    /// The counters every message touches, per link or per node.
    traffic: TrafficTable,
    /// Everything else: the fault counters, and links a custom network reports.
    other: FxHashMap<(NodeId, NodeId), LinkStats>,
    /// Messages held by partitions right now.
    pub held_now: u64,
}

impl NetStats {
    /// Counters with the traffic table of the simulated network.
    pub(crate) fn from_table(
        traffic: TrafficTable,
        other: FxHashMap<(NodeId, NodeId), LinkStats>,
        held_now: u64,
    ) -> Self {
        NetStats { traffic, other, held_now }
    }

    /// Adds `stats` to the link `from -> to` (for a network of one's own).
    pub fn add(&mut self, from: NodeId, to: NodeId, stats: LinkStats) {
        self.other.entry((from, to)).or_default().add(&stats);
    }

    /// The sum over every link.
    pub fn total(&self) -> LinkStats {
        sum(self.traffic.total(), self.other.values())
    }

    /// True when traffic was counted per link (always up to 256 nodes).
    pub fn per_link(&self) -> bool {
        self.traffic.per_link()
    }

    /// The counters of one link (zero when it carried nothing); `None` when traffic was counted
    /// per node.
    pub fn link(&self, from: NodeId, to: NodeId) -> Option<LinkStats> {
        let mut s = self.other.get(&(from, to)).copied().unwrap_or_default();
        s.add(&self.traffic.get(from, to)?.into());
        Some(s)
    }

    /// What `node` sent (`sent`, `bytes_sent`) and what was delivered to it (`delivered`,
    /// `bytes_delivered`), whether traffic was counted per link or per node.
    pub fn node(&self, node: NodeId) -> Traffic {
        let mut t = self.traffic.node(node);
        for (&link, s) in &self.other {
            t.add_link(node, link, &s.traffic());
        }
        t
    }

    /// Every link that carried at least one message, in `(from, to)` order; `None` when traffic
    /// was counted per node. Builds the map: at scale, prefer [`NetStats::link`] and
    /// [`NetStats::total`].
    pub fn links(&self) -> Option<BTreeMap<(NodeId, NodeId), LinkStats>> {
        let mut links: BTreeMap<_, LinkStats> = self.other.iter().map(|(&k, s)| (k, *s)).collect();
        for (k, t) in self.traffic.links()? {
            links.entry(k).or_default().add(&t.into());
        }
        Some(links)
    }
}
