//! The traffic counters every message touches: per directed link up to a few hundred nodes (or
//! when a run asks), per node beyond.

use rustc_hash::FxHashMap;

use super::stats::Traffic;
use crate::id::NodeId;

/// Up to this many nodes, traffic is counted per link whether a run asks or not: a dense table of
/// n² links is then at most 2 MiB, and stays in cache.
pub(crate) const LINKS_MAX: usize = 256;

/// Up to this many nodes, links (when counted) are dense rows, without hashing; beyond, a hash map.
const DENSE_MAX: usize = 2048;

/// A link's counters in the hash map: message counts in 32 bits, so that an entry with its key
/// is 32 bytes, not 40 (10,000 nodes gossiping to random peers touch millions of links). A link
/// whose count would pass `u32::MAX` moves to the wide map.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Narrow {
    sent: u32,
    delivered: u32,
    bytes_sent: u64,
    bytes_delivered: u64,
}

impl Narrow {
    fn widen(self) -> Traffic {
        Traffic {
            sent: u64::from(self.sent),
            bytes_sent: self.bytes_sent,
            delivered: u64::from(self.delivered),
            bytes_delivered: self.bytes_delivered,
        }
    }

    fn try_from_wide(t: &Traffic) -> Option<Narrow> {
        Some(Narrow {
            sent: u32::try_from(t.sent).ok()?,
            delivered: u32::try_from(t.delivered).ok()?,
            bytes_sent: t.bytes_sent,
            bytes_delivered: t.bytes_delivered,
        })
    }
}

/// A link's key in the hash maps: `from << 32 | to`.
fn key(from: NodeId, to: NodeId) -> u64 {
    (u64::from(from.0) << 32) | u64::from(to.0)
}

/// The link a hash-map key stands for.
fn link(key: u64) -> (NodeId, NodeId) {
    (NodeId((key >> 32) as u32), NodeId(key as u32))
}

/// The traffic counters of a network.
///
/// Per link, a message to a random peer among 1,000 nodes touches one of a million links (32 MB
/// of counters) and misses the cache: that halved the core's deliveries per second. 10,000 nodes
/// gossiping for a minute touch 5.8 million links in a hash map (395 MiB, a quarter of the run's
/// time). Nothing in a report of that size reads one link, so beyond [`LINKS_MAX`] nodes a run
/// counts per node unless it asks for links.
#[derive(Clone, Debug)]
pub(crate) enum TrafficTable {
    /// One row per sender, allocated on its first message.
    Dense(Vec<Vec<Traffic>>),
    /// Links by `from << 32 | to`: most in `narrow`, the few with more than `u32::MAX`
    /// messages in `wide`.
    Sparse { narrow: FxHashMap<u64, Narrow>, wide: FxHashMap<u64, Traffic> },
    /// Per node: what it sent (`sent`, `bytes_sent`) and what was delivered to it
    /// (`delivered`, `bytes_delivered`).
    Nodes(Vec<Traffic>),
}

impl Default for TrafficTable {
    /// A table of no links.
    fn default() -> Self {
        TrafficTable::Dense(Vec::new())
    }
}

impl TrafficTable {
    /// A table for `nodes` nodes: per link up to [`LINKS_MAX`] nodes or when `links` asks for
    /// them, per node otherwise.
    pub(crate) fn new(nodes: usize, links: bool) -> Self {
        if !links && nodes > LINKS_MAX {
            TrafficTable::Nodes(vec![Traffic::default(); nodes])
        } else if nodes <= DENSE_MAX {
            TrafficTable::Dense(vec![Vec::new(); nodes])
        } else {
            TrafficTable::Sparse { narrow: FxHashMap::default(), wide: FxHashMap::default() }
        }
    }

    /// True when the table counts per link.
    pub(crate) fn per_link(&self) -> bool {
        !matches!(self, TrafficTable::Nodes(_))
    }

    /// Counts a message of `len` bytes sent on `from -> to`, and the `copies` deliveries
    /// scheduled for it.
    #[inline]
    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, len: u64, copies: u64) {
        self.count(
            from,
            to,
            |t| {
                t.sent += 1;
                t.bytes_sent += len;
            },
            |t| t.add_deliveries(copies, len),
        );
    }

    /// Counts `copies` deliveries of a message of `len` bytes, scheduled after it was sent
    /// (released by a healed partition).
    pub(crate) fn deliver(&mut self, from: NodeId, to: NodeId, len: u64, copies: u64) {
        self.count(from, to, |_| {}, |t| t.add_deliveries(copies, len));
    }

    /// Takes back a delivery of `len` bytes counted when it was scheduled (stopped in flight,
    /// or still queued).
    pub(crate) fn take_back(&mut self, from: NodeId, to: NodeId, len: usize) {
        self.count(from, to, |_| {}, |t| t.take_back_delivery(len));
    }

    /// Applies `sender` (the sending side's counters) and `receiver` (the delivering side's) to
    /// the link's counters, or to the sender's and the receiver's in a table per node.
    #[inline]
    fn count(
        &mut self,
        from: NodeId,
        to: NodeId,
        sender: impl FnOnce(&mut Traffic),
        receiver: impl FnOnce(&mut Traffic),
    ) {
        match self {
            TrafficTable::Nodes(nodes) => {
                sender(&mut nodes[from.index()]);
                receiver(&mut nodes[to.index()]);
            }
            TrafficTable::Dense(rows) => {
                let n = rows.len();
                let row = &mut rows[from.index()];
                if row.is_empty() {
                    row.resize(n, Traffic::default());
                }
                let link = &mut row[to.index()];
                sender(link);
                receiver(link);
            }
            TrafficTable::Sparse { narrow, wide } => {
                let key = key(from, to);
                if !wide.is_empty()
                    && let Some(link) = wide.get_mut(&key)
                {
                    sender(link);
                    return receiver(link);
                }
                let slot = narrow.entry(key).or_default();
                let mut link = slot.widen();
                sender(&mut link);
                receiver(&mut link);
                match Narrow::try_from_wide(&link) {
                    Some(n) => *slot = n,
                    None => {
                        narrow.remove(&key);
                        wide.insert(key, link);
                    }
                }
            }
        }
    }

    /// The counters of the link `from -> to`; `None` in a table per node.
    pub(crate) fn get(&self, from: NodeId, to: NodeId) -> Option<Traffic> {
        match self {
            TrafficTable::Dense(rows) => {
                Some(rows.get(from.index()).and_then(|r| r.get(to.index())).copied().unwrap_or_default())
            }
            TrafficTable::Sparse { narrow, wide } => {
                let key = key(from, to);
                Some(wide.get(&key).copied().or_else(|| narrow.get(&key).map(|n| n.widen())).unwrap_or_default())
            }
            TrafficTable::Nodes(_) => None,
        }
    }

    /// What `node` sent (`sent`, `bytes_sent`) and what was delivered to it (`delivered`,
    /// `bytes_delivered`).
    pub(crate) fn node(&self, node: NodeId) -> Traffic {
        if let TrafficTable::Nodes(nodes) = self {
            return nodes.get(node.index()).copied().unwrap_or_default();
        }
        let mut t = Traffic::default();
        for (link, traffic) in self.links().into_iter().flatten() {
            t.add_link(node, link, &traffic);
        }
        t
    }

    /// The sum over every link (or node).
    pub(crate) fn total(&self) -> Traffic {
        let mut total = Traffic::default();
        match self {
            TrafficTable::Nodes(nodes) => nodes.iter().for_each(|t| total.add(t)),
            _ => self.links().into_iter().flatten().for_each(|(_, t)| total.add(&t)),
        }
        total
    }

    /// Every link whose counters are not all zero, in no particular order; `None` in a table
    /// per node.
    #[allow(clippy::type_complexity)]
    pub(crate) fn links(&self) -> Option<Box<dyn Iterator<Item = ((NodeId, NodeId), Traffic)> + '_>> {
        let zero = Traffic::default();
        match self {
            TrafficTable::Dense(rows) => Some(Box::new(
                rows.iter()
                    .enumerate()
                    .flat_map(|(f, row)| {
                        row.iter().enumerate().map(move |(t, v)| ((NodeId::from_index(f), NodeId::from_index(t)), *v))
                    })
                    .filter(move |(_, v)| *v != zero),
            )),
            TrafficTable::Sparse { narrow, wide } => Some(Box::new(
                narrow
                    .iter()
                    .map(move |(&k, v)| (link(k), v.widen()))
                    .chain(wide.iter().map(move |(&k, v)| (link(k), *v)))
                    .filter(move |(_, v)| *v != zero),
            )),
            TrafficTable::Nodes(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(t: &mut TrafficTable, from: u32, to: u32, sent: u64) {
        let sender = |c: &mut Traffic| {
            c.sent += sent;
            c.bytes_sent += 10 * sent;
        };
        t.count(NodeId(from), NodeId(to), sender, |_| {});
    }

    #[test]
    fn dense_and_sparse_agree() {
        for nodes in [3, DENSE_MAX + 1] {
            let mut t = TrafficTable::new(nodes, true);
            add(&mut t, 0, 2, 5);
            add(&mut t, 2, 0, 1);
            add(&mut t, 0, 2, 1);
            let mut e: Vec<_> = t.links().unwrap().map(|(k, v)| (k, v.sent, v.bytes_sent)).collect();
            e.sort();
            assert_eq!(e, vec![((NodeId(0), NodeId(2)), 6, 60), ((NodeId(2), NodeId(0)), 1, 10)]);
        }
    }

    /// The same messages counted per link and per node: every node's figures and the total agree.
    #[test]
    fn a_table_per_node_sums_what_the_links_count() {
        let nodes = DENSE_MAX + 1;
        let (mut links, mut per_node) = (TrafficTable::new(nodes, true), TrafficTable::new(nodes, false));
        assert!(links.per_link() && !per_node.per_link());
        for t in [&mut links, &mut per_node] {
            t.send(NodeId(0), NodeId(2), 7, 1);
            t.send(NodeId(2), NodeId(0), 3, 2); // duplicated
            t.send(NodeId(1), NodeId(2), 5, 0); // lost
            t.deliver(NodeId(1), NodeId(2), 5, 1); // released by a heal
            t.take_back(NodeId(0), NodeId(2), 7); // still in flight
        }
        for n in 0..3 {
            assert_eq!(links.node(NodeId(n)), per_node.node(NodeId(n)), "node {n}");
        }
        let t = |sent, bytes_sent, delivered, bytes_delivered| Traffic { sent, bytes_sent, delivered, bytes_delivered };
        assert_eq!(per_node.node(NodeId(2)), t(1, 3, 1, 5));
        assert_eq!(per_node.node(NodeId(0)), t(1, 7, 2, 6));
        assert_eq!(links.total(), per_node.total());
        assert_eq!(per_node.total(), t(3, 15, 3, 11));
        assert!(per_node.get(NodeId(0), NodeId(2)).is_none() && per_node.links().is_none());
        assert_eq!(links.get(NodeId(2), NodeId(0)), Some(t(1, 3, 2, 6)));
    }

    #[test]
    fn small_networks_count_links_whether_asked_or_not() {
        assert!(TrafficTable::new(LINKS_MAX, false).per_link());
        assert!(!TrafficTable::new(LINKS_MAX + 1, false).per_link());
        assert!(matches!(TrafficTable::new(LINKS_MAX + 1, true), TrafficTable::Dense(_)));
    }

    #[test]
    fn a_sparse_link_past_u32_counts_moves_to_the_wide_map_and_keeps_counting() {
        let mut t = TrafficTable::new(DENSE_MAX + 1, true);
        add(&mut t, 1, 2, u64::from(u32::MAX));
        add(&mut t, 1, 2, 2);
        add(&mut t, 1, 2, 3);
        add(&mut t, 2, 1, 1);
        let TrafficTable::Sparse { narrow, wide } = &t else { panic!("sparse") };
        assert_eq!((narrow.len(), wide.len()), (1, 1));
        let mut e: Vec<_> = t.links().unwrap().map(|(k, v)| (k, v.sent)).collect();
        e.sort();
        assert_eq!(e, vec![((NodeId(1), NodeId(2)), u64::from(u32::MAX) + 5), ((NodeId(2), NodeId(1)), 1)]);
    }

    #[test]
    fn a_sparse_entry_with_its_key_is_32_bytes() {
        assert_eq!(std::mem::size_of::<(u64, Narrow)>(), 32);
    }
}
