//! The cross-system-interaction (CSI) study: two systems that each pass their own tests, and
//! fail once connected.
//!
//! Every failure here comes from the interaction itself: bytes written with one schema,
//! encoding or format and read with another ([`metadata`], [`encoding`], [`compression`],
//! [`types`]), a timeout shorter than the other side's processing ([`config`]), a worker pool
//! that reorders what its caller sent in order ([`api`]). Upstream, connector and downstream are
//! separate actors exchanging raw bytes over the emulated network (`send_raw`/`recv_raw`).
//! Randomness is the environment's only: which names have accents, which devices have no clock,
//! processing and arrival times, all drawn from the node's seeded RNG.
//!
//! An [`Observer`] is the end-to-end oracle: it keeps what upstream meant and what downstream
//! stored, and classifies each failure as loud (somebody saw an error) or silent (a wrong value
//! only the oracle sees), with where it surfaced. [`prevent`] holds the checks that would have
//! caught each scenario before go-live.

pub mod api;
pub mod compression;
pub mod config;
pub mod encoding;
pub mod flow;
pub mod metadata;
pub mod observer;
pub mod prevent;
pub mod processing;
pub mod types;

use serde::{Deserialize, Serialize};

pub use flow::{DataFlow, SelfTest, SelfTests};
pub use observer::{CsiResult, Example, Observer, PerSurface};
pub use prevent::Verdict;
pub use processing::Processing;

/// The message type of a CSI simulation: every node sends and receives raw bytes, so the sides
/// can disagree on the format. Build the simulation as `Sim::<Raw>`.
pub type Raw = Vec<u8>;

/// Where a failure surfaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// The system that produced the data or sent the request.
    Upstream,
    /// The glue between them (a source connector).
    Connector,
    /// The system that consumed the data or served the request.
    Downstream,
}

impl std::fmt::Display for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Surface::Upstream => "upstream",
            Surface::Connector => "connector",
            Surface::Downstream => "downstream",
        })
    }
}

/// The six scenarios, each after a real incident class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Hive/Spark: a long read as a timestamp.
    Metadata,
    /// Producer/consumer: windows-1252 read as UTF-8.
    Encoding,
    /// Kafka/Flink: LZ4 frames read by a connector that ignores the compression key.
    Compression,
    /// ServiceA/ServiceB: a timeout shorter than the other side's processing.
    Config,
    /// Upstream/downstream: in-order assumptions against a worker pool.
    Api,
    /// SystemA/SystemB: f64 amounts read as exact decimals.
    Types,
}

/// The plane of the EuroSys 2023 taxonomy a scenario belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// Data exchanged between the systems (schemas, encodings, formats).
    Data,
    /// Configuration of the systems.
    Management,
    /// Calls between the systems (API semantics).
    Control,
}

impl Scenario {
    /// All six, in report order.
    pub const ALL: [Scenario; 6] = [
        Scenario::Metadata,
        Scenario::Encoding,
        Scenario::Compression,
        Scenario::Config,
        Scenario::Api,
        Scenario::Types,
    ];

    /// The plane it belongs to.
    pub fn plane(self) -> Plane {
        match self {
            Scenario::Metadata | Scenario::Encoding | Scenario::Compression | Scenario::Types => Plane::Data,
            Scenario::Config => Plane::Management,
            Scenario::Api => Plane::Control,
        }
    }
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "metadata" => Scenario::Metadata,
            "encoding" => Scenario::Encoding,
            "compression" => Scenario::Compression,
            "config" => Scenario::Config,
            "api" => Scenario::Api,
            "types" => Scenario::Types,
            _ => return Err(format!("unknown scenario '{s}' (metadata, encoding, compression, config, api, types)")),
        })
    }
}

/// A configuration value out of its allowed range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The field, as `scenario.side.name`.
    pub field: String,
    /// What is allowed.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &str, reason: impl Into<String>) -> Self {
        ConfigError { field: field.to_string(), reason: reason.into() }
    }
}

/// Most records a run may carry: the oracle keeps one entry (about 100 bytes) per record.
pub const MAX_RECORDS: u64 = 1_000_000;

pub(crate) fn check_records(field: &str, n: u64) -> Result<(), ConfigError> {
    if n == 0 || n > MAX_RECORDS {
        return Err(ConfigError::new(field, format!("must be between 1 and {MAX_RECORDS}, got {n}")));
    }
    Ok(())
}

pub(crate) fn check_share(field: &str, x: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&x) {
        return Err(ConfigError::new(field, format!("must be a share between 0 and 1, got {x}")));
    }
    Ok(())
}

/// Metric names the study records (all counters).
pub mod metric {
    use faultline::metrics::Counter;

    /// Records or requests upstream produced.
    pub static RECORDS: Counter = Counter::new("csi_records");
    /// Messages sent over the network by any CSI node.
    pub static MESSAGES: Counter = Counter::new("csi_messages");
    /// Errors somebody saw (any side).
    pub static LOUD: Counter = Counter::new("csi_loud");
    /// Values downstream stored.
    pub static STORED: Counter = Counter::new("csi_stored");
    /// Request attempts sent (config scenario).
    pub static ATTEMPTS: Counter = Counter::new("csi_attempts");
    /// Attempts upstream gave up on (config scenario).
    pub static TIMEOUTS: Counter = Counter::new("csi_timeouts");
    /// Side effects applied (config scenario).
    pub static APPLIED: Counter = Counter::new("csi_applied");
    /// Retries that downstream recognised by their idempotency key and did not apply again.
    pub static DEDUPLICATED: Counter = Counter::new("csi_deduplicated");
    /// Operations that reached the apply step after a newer one on the same entity (api
    /// scenario).
    pub static OUT_OF_ORDER: Counter = Counter::new("csi_out_of_order");
}
