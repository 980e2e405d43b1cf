//! The default network: per-link latency, jitter, loss and duplication, and partitions that drop
//! or hold messages.

use rustc_hash::FxHashMap;

use super::cut::{Cuts, Verdict};
use super::link::{LinkConfig, LinkModel};
use super::stats::{self, LinkStats, NetStats};
use super::table::TrafficTable;
use super::{NetFault, Network, Packet, Wire};
use crate::control::ControlError;
use crate::id::NodeId;
use crate::seed::SimRng;
use crate::time::SimTime;
use crate::trace::{self, DropReason};

/// The simulated network every run uses unless a test injects its own.
///
/// Messages in flight live in the core's event queue, keyed by delivery time and a sequence
/// number; this type decides each message's fate when it is sent and again when it arrives
/// (a partition formed while it was in flight stops it).
pub struct SimNetwork {
    default: LinkConfig,
    default_model: LinkModel,
    links: FxHashMap<(NodeId, NodeId), (LinkConfig, LinkModel)>,
    cuts: Cuts,
    rng: SimRng,
    /// Messages and bytes per link (or per node, see [`TrafficTable`]), touched once by every
    /// message, when it is sent: its deliveries are counted when they are scheduled, taken back
    /// if a cut stops them in flight, and, for those still queued, in `stats_in_flight`.
    traffic: TrafficTable,
    /// Count traffic per link however many nodes there are.
    link_traffic: bool,
    /// Losses, copies and cuts per link, touched only when a fault acts.
    faults: FxHashMap<(NodeId, NodeId), LinkStats>,
    nodes: usize,
}

impl SimNetwork {
    /// A network whose every link behaves as `default`. Checks the configuration.
    pub fn new(default: LinkConfig, rng: SimRng) -> Result<Self, ControlError> {
        let default_model = default.compile()?;
        Ok(SimNetwork {
            default,
            default_model,
            links: FxHashMap::default(),
            cuts: Cuts::default(),
            rng,
            traffic: TrafficTable::default(),
            link_traffic: false,
            faults: FxHashMap::default(),
            nodes: 0,
        })
    }

    /// Gives the link `from -> to` its own configuration.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) -> Result<(), ControlError> {
        let model = config.compile()?;
        self.links.insert((from, to), (config, model));
        Ok(())
    }

    /// Counts traffic per directed link however many nodes there are. Without it, networks of
    /// more than 256 nodes count per node: a link's counters at that size cost a cache miss on
    /// every send, and at 10,000 nodes tens of bytes for each of millions of links.
    pub fn link_traffic(&mut self) {
        self.link_traffic = true;
    }

    fn config(&self, from: NodeId, to: NodeId) -> &LinkConfig {
        self.links.get(&(from, to)).map_or(&self.default, |(c, _)| c)
    }

    /// The fault counters of a link.
    fn counters(&mut self, from: NodeId, to: NodeId) -> &mut LinkStats {
        self.faults.entry((from, to)).or_default()
    }

    /// Lets `packet` through the partitions in force, or hands it to the one that drops or holds
    /// it (and counts that).
    fn pass(&mut self, packet: Packet) -> Option<Packet> {
        if self.cuts.is_empty() {
            return Some(packet);
        }
        let (from, to) = (packet.from, packet.to);
        match self.cuts.verdict(from, to) {
            Verdict::Pass => Some(packet),
            Verdict::Drop => {
                self.counters(from, to).cut += 1;
                trace::dropped(DropReason::Partition, from, to, packet.bytes.len());
                None
            }
            Verdict::Hold(i) => {
                self.counters(from, to).held += 1;
                self.cuts.hold(i, packet);
                None
            }
        }
    }

    /// Schedules the delivery of a message that no partition stops: lost, once, or twice.
    /// Returns how many deliveries it scheduled, for the caller to count.
    fn transmit(&mut self, now: SimTime, packet: Packet, wire: &mut Wire<'_>) -> u64 {
        let (from, to) = (packet.from, packet.to);
        let model = if self.links.is_empty() {
            &self.default_model
        } else {
            self.links.get(&(from, to)).map_or(&self.default_model, |(_, m)| m)
        };
        let rng = &mut self.rng;
        if model.loses(rng) {
            self.faults.entry((from, to)).or_default().lost += 1;
            trace::dropped(DropReason::Loss, from, to, packet.bytes.len());
            return 0;
        }
        let copy_delay = model.duplicates(rng).then(|| model.delay(rng));
        let delay = model.delay(rng);
        if let Some(copy_delay) = copy_delay {
            self.faults.entry((from, to)).or_default().duplicated += 1;
            wire.deliver(arrival(now, copy_delay), packet.clone());
        }
        wire.deliver(arrival(now, delay), packet);
        1 + u64::from(copy_delay.is_some())
    }

    /// Transmits a message released by a healed cut (unless another cut stops it), and counts
    /// its deliveries.
    fn release(&mut self, now: SimTime, packet: Packet, wire: &mut Wire<'_>) {
        let (from, to, len) = (packet.from, packet.to, packet.bytes.len() as u64);
        if let Some(packet) = self.pass(packet) {
            let copies = self.transmit(now, packet, wire);
            self.traffic.deliver(from, to, len, copies);
        }
    }

    fn resolve(&self, end: Option<NodeId>) -> Vec<NodeId> {
        match end {
            Some(n) => vec![n],
            None => (0..self.nodes).map(NodeId::from_index).collect(),
        }
    }
}

/// When a message sent at `now` with `delay` nanoseconds of latency arrives. A delay past the
/// end of representable time saturates at [`SimTime::MAX`], beyond every deadline: the message
/// is simply never delivered, and the clock never wraps to an earlier instant.
#[inline]
fn arrival(now: SimTime, delay: u64) -> SimTime {
    SimTime::from_nanos(now.as_nanos().saturating_add(delay))
}

impl Network for SimNetwork {
    fn attach(&mut self, nodes: usize) {
        self.nodes = nodes;
        self.traffic = TrafficTable::new(nodes, self.link_traffic);
    }

    fn send(&mut self, now: SimTime, packet: Packet, wire: &mut Wire<'_>) {
        let (from, to, len) = (packet.from, packet.to, packet.bytes.len() as u64);
        let copies = match self.pass(packet) {
            Some(packet) => self.transmit(now, packet, wire),
            None => 0,
        };
        self.traffic.send(from, to, len, copies);
    }

    fn arrive(&mut self, _now: SimTime, packet: Packet) -> Option<Packet> {
        if self.cuts.is_empty() {
            // Counted as delivered when it was scheduled.
            return Some(packet);
        }
        // A partition formed while the message was in flight stops it too: take back the
        // delivery counted when it was scheduled.
        let (from, to, len) = (packet.from, packet.to, packet.bytes.len());
        let packet = self.pass(packet);
        if packet.is_none() {
            self.traffic.take_back(from, to, len);
        }
        packet
    }

    fn apply(&mut self, now: SimTime, fault: &NetFault, wire: &mut Wire<'_>) -> Result<(), ControlError> {
        match fault {
            NetFault::Partition { groups, mode, label } => {
                self.cuts.partition(self.nodes, groups, *mode, label.clone())
            }
            NetFault::OneWay { from, to, mode, label } => self.cuts.one_way(self.nodes, from, to, *mode, label.clone()),
            NetFault::Heal { label } => {
                for packet in self.cuts.heal(label.as_deref())? {
                    // A message released from one cut may still be stopped by another.
                    self.release(now, packet, wire);
                }
                Ok(())
            }
            NetFault::SetLink { from, to, patch } => {
                let pairs: Vec<(NodeId, NodeId)> = if from.is_none() && to.is_none() {
                    let config = patch.apply_to(&self.default);
                    self.default_model = config.compile()?;
                    self.default = config;
                    // Links with their own settings take the patch too.
                    self.links.keys().copied().collect()
                } else {
                    let (senders, receivers) = (self.resolve(*from), self.resolve(*to));
                    senders.iter().flat_map(|&f| receivers.iter().map(move |&t| (f, t))).collect()
                };
                let mut updated = Vec::with_capacity(pairs.len());
                for (f, t) in pairs {
                    let config = patch.apply_to(self.config(f, t));
                    updated.push((f, t, config.compile()?, config));
                }
                for (f, t, model, config) in updated {
                    self.links.insert((f, t), (config, model));
                }
                Ok(())
            }
            NetFault::ResetLink { from, to } => {
                if from.is_none() && to.is_none() {
                    self.links.clear();
                } else {
                    let (senders, receivers) = (self.resolve(*from), self.resolve(*to));
                    for f in &senders {
                        for t in &receivers {
                            self.links.remove(&(*f, *t));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Counts the deliveries still queued as delivered: the core calls `stats_in_flight`.
    fn stats(&self) -> NetStats {
        self.stats_in_flight(&mut std::iter::empty())
    }

    fn stats_in_flight(&self, in_flight: &mut dyn Iterator<Item = &Packet>) -> NetStats {
        self.stats_of(self.traffic.clone(), in_flight)
    }

    fn total_in_flight(&self, in_flight: &mut dyn Iterator<Item = &Packet>) -> (LinkStats, u64) {
        let mut traffic = self.traffic.total();
        for p in in_flight {
            traffic.take_back_delivery(p.bytes.len());
        }
        (stats::sum(traffic, self.faults.values()), self.cuts.held() as u64)
    }

    fn take_stats_in_flight(&mut self, in_flight: &mut dyn Iterator<Item = &Packet>) -> NetStats {
        let traffic = std::mem::take(&mut self.traffic);
        self.stats_of(traffic, in_flight)
    }
}

impl SimNetwork {
    /// The counters, from the traffic table `traffic` (this network's, copied or moved), with the
    /// deliveries still queued taken back: each was counted on its link when scheduled.
    fn stats_of(&self, mut traffic: TrafficTable, in_flight: &mut dyn Iterator<Item = &Packet>) -> NetStats {
        for p in in_flight {
            traffic.take_back(p.from, p.to, p.bytes.len());
        }
        NetStats::from_table(traffic, self.faults.clone(), self.cuts.held() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::kernel::{Event, EventQueue};

    fn packet() -> Packet {
        Packet { from: NodeId(0), to: NodeId(1), sent_at: SimTime::ZERO, seq: 1, bytes: vec![7; 3].into() }
    }

    /// The link row is touched once per message, at send; what `stats_in_flight` reports is
    /// still what arrived, as if counted at arrival.
    #[test]
    fn deliveries_counted_at_send_report_what_arrived() {
        let mut net = SimNetwork::new(LinkConfig::default(), crate::seed::derive_rng(1, "net", 0)).unwrap();
        net.attach(3);
        let mut queue = EventQueue::default();
        for seq in 1..=3 {
            let now = SimTime::from_nanos(seq);
            net.send(now, Packet { seq, ..packet() }, &mut Wire::new(&mut queue, now));
        }
        // One arrives; a partition formed in flight stops the second; the third is in flight.
        let t = queue.next_time().unwrap();
        let Some(Event::Deliver(p)) = queue.pop_due(t) else { panic!("a delivery") };
        assert!(net.arrive(t, p).is_some());
        let groups = vec![vec![NodeId(0)]];
        let cut = NetFault::Partition { groups, mode: crate::control::CutMode::Drop, label: None };
        net.apply(t, &cut, &mut Wire::new(&mut queue, t)).unwrap();
        let t = queue.next_time().unwrap();
        let Some(Event::Deliver(p)) = queue.pop_due(t) else { panic!("a delivery") };
        assert!(net.arrive(t, p).is_none());
        let link = net.stats_in_flight(&mut queue.in_flight()).link(NodeId(0), NodeId(1)).unwrap();
        let want =
            LinkStats { sent: 3, bytes_sent: 9, delivered: 1, bytes_delivered: 3, cut: 1, ..LinkStats::default() };
        assert_eq!(link, want);
        // The total a live `status` reads, summed without copying the links, is the same.
        assert_eq!(net.total_in_flight(&mut queue.in_flight()), (want, 0));
        // Without the queue, the message in flight counts as delivered.
        assert_eq!(net.stats().link(NodeId(0), NodeId(1)).unwrap().delivered, 2);
    }

    /// Regression: `--link-latency 18446744073709551615ns` made `now + delay` overflow, a panic
    /// in debug builds and, in release, a wrap to an instant before now (delivered at once).
    #[test]
    fn a_delay_beyond_the_horizon_saturates_instead_of_wrapping() {
        for (latency, jitter) in [(u64::MAX, 0), (u64::MAX - 1, u64::MAX)] {
            let config = LinkConfig {
                jitter: Duration::from_nanos(jitter),
                ..LinkConfig::constant(Duration::from_nanos(latency))
            };
            let mut net = SimNetwork::new(config, crate::seed::derive_rng(1, "net", 0)).unwrap();
            net.attach(2);
            let mut queue = EventQueue::default();
            let now = SimTime::from_nanos(5);
            net.send(now, packet(), &mut Wire::new(&mut queue, now));
            assert_eq!(queue.next_time(), Some(SimTime::MAX), "latency {latency} jitter {jitter}");
        }
    }
}
