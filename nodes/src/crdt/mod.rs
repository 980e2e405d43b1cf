//! The CRDT study: conflict-free replicated data types, usable as a plain library, and the
//! replica actors that gossip them over faultline's emulated network.
//!
//! The types (one module each) are state-based: a state is a value of a join-semilattice,
//! [`Crdt::merge`] is its join, and every update moves a state up. Each update is written as a
//! *delta mutator* (after Almeida, Shoker and Baquero, "Delta state replicated data types",
//! 2018): it returns the smallest state that, merged anywhere, carries the update. A delta is a
//! state of the same type, so merging deltas and merging full states are the same operation;
//! [`delta::DeltaBuffer`] keeps the per-peer bookkeeping of delta-interval anti-entropy.
//!
//! - [`GCounter`], [`PnCounter`]: counters with one entry per replica.
//! - [`OrSet`]: observed-remove set with unique tags and tombstones, and optional tombstone
//!   garbage collection under a stated safety condition.
//! - [`LwwMap`]: last-writer-wins map on the writer's own (skewable) clock.
//! - [`NaiveSet`], [`MaxCounter`]: what goes wrong without the CRDT design (a remove that a
//!   merge undoes; concurrent increments that a max swallows).
//!
//! The actors ([`replica`], [`gossip`], [`ops`]) and what a run leaves for analysis
//! ([`observer`], [`analysis`]) build on the [`Crdt`] and [`Replicated`] traits only.

pub mod analysis;
pub mod delta;
pub mod gcounter;
pub mod gossip;
pub mod lwwmap;
pub mod naive;
pub mod observer;
pub mod ops;
pub mod orset;
pub mod pncounter;
pub mod replica;

#[cfg(test)]
mod laws;

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use delta::{DeltaBuffer, Payload};
pub use gcounter::GCounter;
pub use gossip::{GossipConfig, Mode, Topology};
pub use lwwmap::{LwwMap, Stamp};
pub use naive::{MaxCounter, NaiveSet};
pub use observer::{Observer, OpRecord, WindowSample};
pub use ops::{Op, OpsConfig, ScheduledOp};
pub use orset::{OrSet, Tag};
pub use pncounter::PnCounter;
pub use replica::{ConfigError, CrdtKind, Msg, Replica, ReplicaConfig, RunPlan, install};

/// A replica's identity inside a CRDT: a small integer (the replica's index in its cluster).
pub type ReplicaId = u32;

/// A state-based CRDT: a join-semilattice whose join is [`merge`](Crdt::merge).
///
/// Equality (`PartialEq`) is equality of the internal state, not of the visible value: two
/// replicas have converged when their states are equal.
pub trait Crdt: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned + 'static {
    /// What a reader sees.
    type Value: Clone + Debug + PartialEq;

    /// Joins `other` into `self` (the least upper bound). Returns whether `self` changed.
    /// Must be commutative, associative and idempotent.
    fn merge(&mut self, other: &Self) -> bool;

    /// The visible value.
    fn value(&self) -> Self::Value;

    /// Joins `other` into `self` and returns the part of `other` that was new here (a state
    /// whose merge into the old `self` gives the new `self`), or `None` if nothing changed.
    /// Delta gossip buffers this part rather than all it received, so that it does not forward
    /// what it already had. The default returns all of `other`; a type may return less.
    fn merge_new(&mut self, other: &Self) -> Option<Self> {
        self.merge(other).then(|| other.clone())
    }

    /// The state's size on the wire: its bincode encoding, as gossip sends it.
    fn size_bytes(&self) -> usize {
        faultline::wire::encode(self).len()
    }

    /// A 64-bit digest of the internal state: equal states have equal digests, and unequal
    /// states differ but for hash collisions. The default hashes the encoding (which is
    /// canonical: every type keeps its entries sorted); types that replicas update at high rate
    /// keep it incrementally.
    fn digest(&self) -> u64 {
        fnv(&faultline::wire::encode(self))
    }

    /// Whether `self` is below or equal to `other` in the lattice (`self ⊔ other == other`).
    fn leq(&self, other: &Self) -> bool {
        let mut joined = other.clone();
        !joined.merge(self)
    }
}

/// A CRDT that the replica actors can update with the study's [`Op`]s.
pub trait Replicated: Crdt {
    /// Whether this type accepts `op` (an OR-Set takes no increment).
    fn accepts(op: &Op) -> bool;

    /// Applies `op` at replica `me`, whose own clock reads `local_nanos`, and returns the delta:
    /// the part of the new state that carries the update (merging it into any replica that has
    /// seen the same past has the same effect as the update). Ops of other types are ignored
    /// and return an empty delta.
    fn apply(&mut self, me: ReplicaId, op: &Op, local_nanos: u64) -> Self;

    /// What `op` overwrote here, for types where that is defined: for a map, the id of the
    /// write the key held ([`Op::Put`] values are op ids). Called before [`apply`](Self::apply).
    fn overwrites(&self, _op: &Op) -> Option<u64> {
        None
    }

    /// For types that keep tombstones: the version vector of the adds this state has seen
    /// (see [`OrSet::clock`]). `None` for types with nothing to collect.
    fn seen(&self) -> Option<BTreeMap<ReplicaId, u64>> {
        None
    }

    /// Forgets the tombstones `stable` covers (see [`OrSet::collect_garbage`] for when that is
    /// safe); returns how many.
    fn collect_garbage(&mut self, _stable: &BTreeMap<ReplicaId, u64>) -> usize {
        0
    }
}

/// FNV-1a, then SplitMix64 finalization: a stable (platform- and run-independent) hash.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// SplitMix64's finalizer: spreads the bits of `z`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Metric names the study records (from the `crdt-monitor` node, once per window). Every
/// metric goes through these constants.
pub mod metric {
    use faultline::metrics::{Counter, Gauge};

    /// Operations applied at replicas (counter).
    pub static OPS: Counter = Counter::new("crdt_ops");
    /// Gossip messages sent (counter).
    pub static MESSAGES: Counter = Counter::new("crdt_messages");
    /// Gossip bytes sent (counter).
    pub static BYTES: Counter = Counter::new("crdt_bytes");
    /// Merges that changed the receiver's state (counter).
    pub static MERGES: Counter = Counter::new("crdt_merges");
    /// Gossip messages that carried a full state (counter).
    pub static FULL_STATES: Counter = Counter::new("crdt_full_states");
    /// Distinct replica states at the end of a window (gauge).
    pub static DISTINCT_STATES: Gauge = Gauge::new("crdt_distinct_states");
    /// Tombstones forgotten by garbage collection (counter).
    pub static COLLECTED: Counter = Counter::new("crdt_collected");
    /// Largest sampled replica state in bytes at the end of a window (gauge).
    pub static STATE_BYTES_MAX: Gauge = Gauge::new("crdt_state_bytes_max");
}
