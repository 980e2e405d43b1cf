//! The cap study's actors: replicas holding a versioned key-value store on the emulated
//! network, coordinators that wait for R or W of a key's N home replicas, clients that record
//! every operation, and the observer and analysis that judge what the run did against the
//! truth (latency, availability, stale reads, visibility, convergence, lost writes, PACELC).
//!
//! Every anomaly comes from the mechanism: a stale read is a replica that really missed a write
//! (it was cut off, or the write had not reached it yet), a lost write is a timestamp a skewed
//! clock really put behind an older one, an unavailable operation is a coordinator that really
//! heard from fewer than R or W replicas before its timeout.
//!
//! To run one: make an [`Observer`], [`install`] the cluster into a `Sim::builder(seed)` (it
//! adds replicas `r0..` and clients `c0..`, checks both configs and returns the [`Cluster`]
//! layout), schedule faults on the built sim (`Cluster::side` names the nodes of a partition
//! side), run it, and hand `Observer::observations()` to the functions of [`analysis`] and to
//! [`history()`] (JSON lines for a linearizability checker), or to [`check_history`] to judge
//! the run with `faultline::check` directly.

pub mod analysis;
pub mod client;
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod history;
pub mod observer;
pub mod replica;
pub mod ring;
pub mod version;

use serde::{Deserialize, Serialize};

pub use client::Client;
pub use cluster::{Cluster, install};
pub use config::{
    ClientConfig, ClusterConfig, ConfigError, Consistency, CoordinatorMode, KeyDist, Load, PartitionConfig, ReadRepair,
    Regions, Sloppy, Versions,
};
pub use history::{Event, EventType, check_history, history, to_json_lines};
pub use observer::{Observer, OpKind, OpRecord, Outcome, ProbeRecord, StoreRecord};
pub use replica::{Replica, Setup};
pub use ring::Ring;
pub use version::{Value, Version, Versioned};

/// A key: an index into the key space `0..keys`.
pub type Key = u32;

/// What clients, coordinators and replicas say to each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// Client to its coordinating replica: do `op` (request `id`, unique per client).
    Request {
        /// Request id.
        id: u64,
        /// The operation.
        op: Op,
    },
    /// Coordinating replica to client: the outcome of request `id`.
    Response {
        /// Request id.
        id: u64,
        /// What happened.
        result: OpResult,
    },
    /// Coordinator to replica: what do you hold for `key`?
    Get {
        /// The coordinator's request id.
        req: u64,
        /// The key.
        key: Key,
    },
    /// Replica to coordinator: what it holds (siblings with version vectors; empty if nothing).
    Got {
        /// The coordinator's request id.
        req: u64,
        /// The versions held.
        values: Vec<Versioned>,
    },
    /// Coordinator to replica: store these versions of `key` (kept only if not older than what
    /// is held). `hint_for` names the home replica a fallback keeps them for (sloppy quorum).
    Put {
        /// The coordinator's request id.
        req: u64,
        /// The key.
        key: Key,
        /// The versions to merge.
        values: Vec<Versioned>,
        /// Kept as a hint for this home replica (its node index), to hand back later.
        hint_for: Option<u32>,
    },
    /// Replica to coordinator: the put is stored (or was older than what is held, which a
    /// last-writer-wins store also acknowledges).
    PutAck {
        /// The coordinator's request id.
        req: u64,
    },
}

/// A client operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Read a key.
    Read {
        /// The key.
        key: Key,
    },
    /// Write a unique value to a key.
    Write {
        /// The key.
        key: Key,
        /// The value (unique per write: client and sequence number).
        value: Value,
    },
}

/// How a coordinated operation ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OpResult {
    /// A read answered by R replicas: the newest versions among their replies.
    Read(Vec<Versioned>),
    /// A write acknowledged by W replicas, with the version it was given.
    Written(Version),
    /// Fewer than R or W replicas answered before the coordinator's timeout.
    Unavailable,
}

/// Metric names the study records (all counters unless noted).
pub mod metric {
    use faultline::metrics::{Counter, DurationHistogram};

    /// Operations a client started.
    pub static OPS: Counter = Counter::new("cap_ops");
    /// Operations that succeeded.
    pub static OK: Counter = Counter::new("cap_ok");
    /// Operations the coordinator declared unavailable.
    pub static UNAVAILABLE: Counter = Counter::new("cap_unavailable");
    /// Operations the client gave up on (no answer in time).
    pub static TIMEOUTS: Counter = Counter::new("cap_timeouts");
    /// Open-loop arrivals not started because too many operations were in flight.
    pub static SHED: Counter = Counter::new("cap_shed");
    /// Latency of successful reads (duration).
    pub static READ_LATENCY: DurationHistogram = DurationHistogram::new("cap_read_latency");
    /// Latency of successful writes (duration).
    pub static WRITE_LATENCY: DurationHistogram = DurationHistogram::new("cap_write_latency");
    /// Read-repair puts sent.
    pub static READ_REPAIRS: Counter = Counter::new("cap_read_repairs");
    /// Puts a replica stored as hints for another replica.
    pub static HINTS_STORED: Counter = Counter::new("cap_hints_stored");
    /// Hints handed back to their home replica.
    pub static HINTS_HANDED: Counter = Counter::new("cap_hints_handed");
    /// Background replication puts sent after the write was acknowledged (eventual).
    pub static BACKGROUND_PUTS: Counter = Counter::new("cap_background_puts");
    /// Requests sent to fallback replicas outside the home set (sloppy quorum).
    pub static FALLBACKS: Counter = Counter::new("cap_fallbacks");
}
