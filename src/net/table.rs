//! The traffic counters of every directed link: dense rows (no hashing, one cache line away) up
//! to a few thousand nodes, a hash map beyond, where n² rows would not fit in memory.

use rustc_hash::FxHashMap;

use super::stats::Traffic;
use crate::id::NodeId;

/// Above this many nodes, links are kept in a hash map.
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

#[derive(Clone, Debug)]
pub(crate) enum LinkTable {
    /// One row per sender, allocated on its first message.
    Dense(Vec<Vec<Traffic>>),
    /// Links by `from << 32 | to`: most in `narrow`, the few with more than `u32::MAX`
    /// messages in `wide`.
    Sparse { narrow: FxHashMap<u64, Narrow>, wide: FxHashMap<u64, Traffic> },
}

impl Default for LinkTable {
    /// A table of no links.
    fn default() -> Self {
        LinkTable::Dense(Vec::new())
    }
}

impl LinkTable {
    pub(crate) fn new(nodes: usize) -> Self {
        if nodes <= DENSE_MAX {
            LinkTable::Dense(vec![Vec::new(); nodes])
        } else {
            LinkTable::Sparse { narrow: FxHashMap::default(), wide: FxHashMap::default() }
        }
    }

    /// The counters of the link `from -> to`.
    pub(crate) fn get(&self, from: NodeId, to: NodeId) -> Traffic {
        match self {
            LinkTable::Dense(rows) => {
                rows.get(from.index()).and_then(|r| r.get(to.index())).copied().unwrap_or_default()
            }
            LinkTable::Sparse { narrow, wide } => {
                let key = (u64::from(from.0) << 32) | u64::from(to.0);
                wide.get(&key).copied().or_else(|| narrow.get(&key).map(|n| n.widen())).unwrap_or_default()
            }
        }
    }

    /// Changes the counters of the link `from -> to` with `f`.
    #[inline]
    pub(crate) fn update(&mut self, from: NodeId, to: NodeId, f: impl FnOnce(&mut Traffic)) {
        match self {
            LinkTable::Dense(rows) => {
                let n = rows.len();
                let row = &mut rows[from.index()];
                if row.is_empty() {
                    row.resize(n, Traffic::default());
                }
                f(&mut row[to.index()]);
            }
            LinkTable::Sparse { narrow, wide } => {
                let key = (u64::from(from.0) << 32) | u64::from(to.0);
                if !wide.is_empty()
                    && let Some(t) = wide.get_mut(&key)
                {
                    return f(t);
                }
                let slot = narrow.entry(key).or_default();
                let mut t = slot.widen();
                f(&mut t);
                match Narrow::try_from_wide(&t) {
                    Some(n) => *slot = n,
                    None => {
                        narrow.remove(&key);
                        wide.insert(key, t);
                    }
                }
            }
        }
    }

    /// The sum over every link.
    pub(crate) fn total(&self) -> Traffic {
        let mut total = Traffic::default();
        for (_, t) in self.entries() {
            total.add(&t);
        }
        total
    }

    /// Every link whose counters are not all zero, in no particular order.
    pub(crate) fn entries(&self) -> Box<dyn Iterator<Item = ((NodeId, NodeId), Traffic)> + '_> {
        let zero = Traffic::default();
        let link = |k: u64| (NodeId((k >> 32) as u32), NodeId(k as u32));
        match self {
            LinkTable::Dense(rows) => Box::new(
                rows.iter()
                    .enumerate()
                    .flat_map(|(f, row)| {
                        row.iter().enumerate().map(move |(t, v)| ((NodeId::from_index(f), NodeId::from_index(t)), *v))
                    })
                    .filter(move |(_, v)| *v != zero),
            ),
            LinkTable::Sparse { narrow, wide } => Box::new(
                narrow
                    .iter()
                    .map(move |(&k, v)| (link(k), v.widen()))
                    .chain(wide.iter().map(move |(&k, v)| (link(k), *v)))
                    .filter(move |(_, v)| *v != zero),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(t: &mut LinkTable, from: u32, to: u32, sent: u64) {
        t.update(NodeId(from), NodeId(to), |c| {
            c.sent += sent;
            c.bytes_sent += 10 * sent;
        });
    }

    #[test]
    fn dense_and_sparse_agree() {
        for nodes in [3, DENSE_MAX + 1] {
            let mut t = LinkTable::new(nodes);
            add(&mut t, 0, 2, 5);
            add(&mut t, 2, 0, 1);
            add(&mut t, 0, 2, 1);
            let mut e: Vec<_> = t.entries().map(|(k, v)| (k, v.sent, v.bytes_sent)).collect();
            e.sort();
            assert_eq!(e, vec![((NodeId(0), NodeId(2)), 6, 60), ((NodeId(2), NodeId(0)), 1, 10)]);
        }
    }

    #[test]
    fn a_sparse_link_past_u32_counts_moves_to_the_wide_map_and_keeps_counting() {
        let mut t = LinkTable::new(DENSE_MAX + 1);
        add(&mut t, 1, 2, u64::from(u32::MAX));
        add(&mut t, 1, 2, 2);
        add(&mut t, 1, 2, 3);
        add(&mut t, 2, 1, 1);
        let LinkTable::Sparse { narrow, wide } = &t else { panic!("sparse") };
        assert_eq!((narrow.len(), wide.len()), (1, 1));
        let mut e: Vec<_> = t.entries().map(|(k, v)| (k, v.sent)).collect();
        e.sort();
        assert_eq!(e, vec![((NodeId(1), NodeId(2)), u64::from(u32::MAX) + 5), ((NodeId(2), NodeId(1)), 1)]);
    }

    #[test]
    fn a_sparse_entry_with_its_key_is_32_bytes() {
        assert_eq!(std::mem::size_of::<(u64, Narrow)>(), 32);
    }
}
