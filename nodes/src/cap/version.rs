//! Versions and values: last-writer-wins and logical stamps (a total order) and version
//! vectors (a partial order whose concurrent writes are kept as siblings), and the merge a
//! replica applies to every put.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A written value, unique per write: the client's index and its sequence number, so that a
/// history says exactly which write a read saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Value(pub u64);

impl Value {
    /// The `seq`-th write of client `client`.
    pub fn new(client: u32, seq: u32) -> Self {
        Value((u64::from(client) << 32) | u64::from(seq))
    }

    /// The client that wrote it.
    pub fn client(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Its sequence number within that client's writes.
    pub fn seq(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}#{}", self.client(), self.seq())
    }
}

/// A version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    /// Totally ordered by `(time, writer)`: a clock reading (LWW) or a counter (logical).
    Stamp {
        /// Nanoseconds of the coordinator's clock, or the logical counter.
        time: u64,
        /// The writer's id, breaking ties.
        writer: u32,
    },
    /// A version vector: writer id to the number of its writes seen.
    Vector(BTreeMap<u32, u64>),
}

impl Version {
    /// How `self` relates to `other`: `Some(Greater)` if it is newer, `None` if concurrent.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (Version::Stamp { time: a, writer: x }, Version::Stamp { time: b, writer: y }) => Some((a, x).cmp(&(b, y))),
            (Version::Vector(a), Version::Vector(b)) => {
                let (mut ge, mut le) = (true, true);
                for k in a.keys().chain(b.keys()) {
                    let (x, y) = (a.get(k).copied().unwrap_or(0), b.get(k).copied().unwrap_or(0));
                    ge &= x >= y;
                    le &= x <= y;
                }
                match (ge, le) {
                    (true, true) => Some(Ordering::Equal),
                    (true, false) => Some(Ordering::Greater),
                    (false, true) => Some(Ordering::Less),
                    (false, false) => None,
                }
            }
            // Kinds never mix within one run; a stamp and a vector are incomparable.
            _ => None,
        }
    }

    /// Whether `self` is `other` or newer.
    pub fn covers(&self, other: &Version) -> bool {
        matches!(self.compare(other), Some(Ordering::Greater | Ordering::Equal))
    }
}

/// A value with its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    /// The version.
    pub version: Version,
    /// The value.
    pub value: Value,
}

impl Versioned {
    /// Whether holding `self` makes `other` redundant: it is the same write, or a strictly
    /// newer one. Equal vectors with different values (two writes that saw the same history)
    /// are concurrent.
    pub fn supersedes_or_is(&self, other: &Versioned) -> bool {
        match self.version.compare(&other.version) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Equal) => self.value == other.value,
            _ => false,
        }
    }
}

/// Merges `incoming` into the siblings `held`: drops what it supersedes, and keeps it unless
/// something held supersedes it. Returns whether `held` changed. The result is sorted, so two
/// replicas that hold the same versions hold the same bytes.
pub fn merge(held: &mut Vec<Versioned>, incoming: &Versioned) -> bool {
    if held.iter().any(|h| h.supersedes_or_is(incoming)) {
        return false;
    }
    held.retain(|h| !incoming.supersedes_or_is(h));
    held.push(incoming.clone());
    held.sort_by(|a, b| (a.value, format!("{:?}", a.version)).cmp(&(b.value, format!("{:?}", b.version))));
    true
}

/// Merges every set in `sets` into one: the newest versions among them.
pub fn merge_all<'a>(sets: impl IntoIterator<Item = &'a [Versioned]>) -> Vec<Versioned> {
    let mut out = Vec::new();
    for set in sets {
        for v in set {
            merge(&mut out, v);
        }
    }
    out
}

/// Whether a replica holding `held` has seen `version` or something newer.
pub fn holds(held: &[Versioned], version: &Version) -> bool {
    held.iter().any(|h| h.version.covers(version))
}

/// Whether `held` already contains every version of `newest` (or newer ones).
pub fn holds_all(held: &[Versioned], newest: &[Versioned]) -> bool {
    newest.iter().all(|n| held.iter().any(|h| h.supersedes_or_is(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(time: u64, writer: u32, value: u64) -> Versioned {
        Versioned { version: Version::Stamp { time, writer }, value: Value(value) }
    }

    fn vv(entries: &[(u32, u64)], value: u64) -> Versioned {
        Versioned { version: Version::Vector(entries.iter().copied().collect()), value: Value(value) }
    }

    #[test]
    fn stamps_keep_the_newest_only() {
        let mut held = vec![];
        assert!(merge(&mut held, &stamp(5, 1, 10)));
        assert!(!merge(&mut held, &stamp(4, 9, 11)), "older is ignored");
        assert!(merge(&mut held, &stamp(5, 2, 12)), "the writer id breaks the tie");
        assert_eq!(held, vec![stamp(5, 2, 12)]);
    }

    #[test]
    fn concurrent_vectors_are_siblings_and_a_later_write_folds_them() {
        let mut held = vec![];
        merge(&mut held, &vv(&[(1, 1)], 10));
        assert!(merge(&mut held, &vv(&[(2, 1)], 20)));
        assert_eq!(held.len(), 2, "concurrent: both kept");
        assert!(merge(&mut held, &vv(&[(1, 1), (2, 1), (3, 1)], 30)));
        assert_eq!(held, vec![vv(&[(1, 1), (2, 1), (3, 1)], 30)]);
        assert!(!merge(&mut held, &vv(&[(2, 1)], 20)), "a dominated sibling does not come back");
        assert!(holds(&held, &Version::Vector([(2, 1)].into_iter().collect())));
        let equal_but_other = vv(&[(1, 1), (2, 1), (3, 1)], 31);
        assert!(merge(&mut held, &equal_but_other), "same vector, another value: concurrent");
        assert_eq!(held.len(), 2);
    }
}
