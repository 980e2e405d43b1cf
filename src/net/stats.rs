//! Traffic counters per directed link, as the network saw them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// The counters every message touches, kept apart so that a link costs 32 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) delivered: u64,
    pub(crate) bytes_delivered: u64,
}

impl Traffic {
    pub(crate) fn add_to(&self, s: &mut LinkStats) {
        s.sent += self.sent;
        s.bytes_sent += self.bytes_sent;
        s.delivered += self.delivered;
        s.bytes_delivered += self.bytes_delivered;
    }
}

impl LinkStats {
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

/// The network's counters: per directed link, in a stable order, and in total.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetStats {
    /// Counters per `(from, to)` link that carried at least one message.
    pub links: BTreeMap<(NodeId, NodeId), LinkStats>,
    /// Messages held by partitions right now.
    pub held_now: u64,
}

impl NetStats {
    /// The sum over every link.
    pub fn total(&self) -> LinkStats {
        let mut t = LinkStats::default();
        for s in self.links.values() {
            t.add(s);
        }
        t
    }

    /// The counters of one link (zero when it carried nothing).
    pub fn link(&self, from: NodeId, to: NodeId) -> LinkStats {
        self.links.get(&(from, to)).copied().unwrap_or_default()
    }
}
