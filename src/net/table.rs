//! A table of per-link values: dense rows (no hashing, one cache line away) up to a few
//! thousand nodes, a hash map beyond, where n² rows would not fit in memory.

use rustc_hash::FxHashMap;

use crate::id::NodeId;

/// Above this many nodes, links are kept in a hash map.
const DENSE_MAX: usize = 2048;

#[derive(Debug)]
pub(crate) enum LinkTable<T> {
    /// One row per sender, allocated on its first message.
    Dense(Vec<Vec<T>>),
    Sparse(FxHashMap<u64, T>),
}

impl<T: Default + Clone + PartialEq> LinkTable<T> {
    pub(crate) fn new(nodes: usize) -> Self {
        if nodes <= DENSE_MAX {
            LinkTable::Dense(vec![Vec::new(); nodes])
        } else {
            LinkTable::Sparse(FxHashMap::default())
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, from: NodeId, to: NodeId) -> &mut T {
        match self {
            LinkTable::Dense(rows) => {
                let n = rows.len();
                let row = &mut rows[from.index()];
                if row.is_empty() {
                    row.resize(n, T::default());
                }
                &mut row[to.index()]
            }
            LinkTable::Sparse(map) => map.entry((u64::from(from.0) << 32) | u64::from(to.0)).or_default(),
        }
    }

    /// Every link whose value is not the default, in no particular order.
    pub(crate) fn entries(&self) -> Box<dyn Iterator<Item = ((NodeId, NodeId), &T)> + '_> {
        let zero = T::default();
        match self {
            LinkTable::Dense(rows) => Box::new(
                rows.iter()
                    .enumerate()
                    .flat_map(|(f, row)| {
                        row.iter().enumerate().map(move |(t, v)| ((NodeId::from_index(f), NodeId::from_index(t)), v))
                    })
                    .filter(move |(_, v)| **v != zero),
            ),
            LinkTable::Sparse(map) => Box::new(
                map.iter()
                    .map(|(&k, v)| ((NodeId((k >> 32) as u32), NodeId(k as u32)), v))
                    .filter(move |(_, v)| **v != zero),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_agree() {
        for nodes in [3, DENSE_MAX + 1] {
            let mut t: LinkTable<u64> = LinkTable::new(nodes);
            *t.get_mut(NodeId(0), NodeId(2)) += 5;
            *t.get_mut(NodeId(2), NodeId(0)) += 1;
            *t.get_mut(NodeId(0), NodeId(2)) += 1;
            let mut e: Vec<_> = t.entries().map(|(k, v)| (k, *v)).collect();
            e.sort();
            assert_eq!(e, vec![((NodeId(0), NodeId(2)), 6), ((NodeId(2), NodeId(0)), 1)]);
        }
    }
}
