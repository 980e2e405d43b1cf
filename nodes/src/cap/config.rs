//! The study's plain configuration: the cluster (replicas, replication, quorums, mechanisms,
//! network) and the clients (load, mix, key space), each checked once by `validate`, whose
//! errors name the field and the allowed range.

use std::time::Duration;

use faultline::{Latency, LinkConfig};
use serde::{Deserialize, Serialize};

/// Most replicas a cluster may have.
pub const MAX_NODES: usize = 1024;
/// Most clients.
pub const MAX_CLIENTS: usize = 10_000;
/// Largest key space (the Zipf table holds one entry per key).
pub const MAX_KEYS: u32 = 1_000_000;
/// Most t-visibility probe delays.
pub const MAX_PROBES: usize = 64;
/// Most operations one open-loop client keeps in flight.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A field is out of its range.
    #[error("{field} = {value}: {allowed}")]
    Range {
        /// The field.
        field: &'static str,
        /// Its value, as written.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The simulation refused a scheduled fault.
    #[error("cannot schedule {what}: {reason}")]
    Schedule {
        /// The fault.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A link setting is invalid.
    #[error("{field}: {reason}")]
    Link {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn range(field: &'static str, value: impl ToString, allowed: impl ToString) -> ConfigError {
    ConfigError::Range { field, value: value.to_string(), allowed: allowed.to_string() }
}

/// The consistency level: how many of a key's N home replicas a read (R) and a write (W)
/// wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// R = W = majority of N.
    Strong,
    /// R = W = N (what the reference calls linearizable).
    Linearizable,
    /// R = W = 1.
    Weak,
    /// R = W = 1, and the coordinator keeps replicating an acknowledged write to the replicas
    /// that did not acknowledge it, in the background, until they do.
    Eventual,
    /// Any pair.
    Custom {
        /// Read quorum.
        r: usize,
        /// Write quorum.
        w: usize,
    },
}

impl std::str::FromStr for Consistency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strong" => Ok(Consistency::Strong),
            "linearizable" => Ok(Consistency::Linearizable),
            "weak" => Ok(Consistency::Weak),
            "eventual" => Ok(Consistency::Eventual),
            _ => Err(format!("unknown consistency '{s}' (strong, linearizable, weak, eventual)")),
        }
    }
}

/// Who coordinates a client's operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoordinatorMode {
    /// The replica next to the client (as in Cassandra).
    #[default]
    Replica,
    /// The client fans out itself (as in Dynamo's client-side routing).
    Client,
}

/// What a read does with replicas that answered with an older version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadRepair {
    /// Nothing.
    #[default]
    None,
    /// Sends them the newest version after answering.
    Async,
    /// Writes the newest version back until W replicas hold it, before answering.
    Sync,
}

/// How versions are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Versions {
    /// Last writer wins on the coordinator's own clock (which a skew fault moves).
    #[default]
    Lww,
    /// The writer reads the highest version from R replicas and writes the next; ties broken
    /// by the writer's id.
    Logical,
    /// Version vectors: concurrent writes are kept as siblings, and a read returns them all.
    Vv,
}

/// Sloppy quorum: when home replicas do not answer in time, the coordinator asks the next
/// replicas on the ring, which keep writes as hints for the home replica.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sloppy {
    /// How long the coordinator waits for home replicas before asking fallbacks.
    #[serde(with = "faultline::time::serde_duration")]
    pub fallback_after: Duration,
    /// How often a replica tries to hand its hints back; `None`: never (hints stay where
    /// they are, and the writes they hold never reach their home).
    #[serde(with = "faultline::time::serde_option_duration")]
    pub handoff_every: Option<Duration>,
}

/// The replicas, their quorums and mechanisms, and the network between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Number of replicas.
    pub nodes: usize,
    /// Replicas per key (N); `None`: every replica.
    pub replication: Option<usize>,
    /// R and W.
    pub consistency: Consistency,
    /// Who coordinates.
    pub coordinator: CoordinatorMode,
    /// Read repair.
    pub read_repair: ReadRepair,
    /// Versions.
    pub versions: Versions,
    /// Sloppy quorum with hinted handoff; `None`: strict quorum.
    pub sloppy: Option<Sloppy>,
    /// One-way latency between replicas (and from a client to a replica not its own).
    pub net_latency: Latency,
    /// One-way latency between a client and its own replica.
    pub client_latency: Latency,
    /// Replicas spread over regions, with their own latencies between regions; `None`: one
    /// region, where `net_latency` is every link's.
    #[serde(default)]
    pub regions: Option<Regions>,
    /// Processing time per request on a replica (requests are processed in parallel).
    #[serde(with = "faultline::time::serde_duration")]
    pub base_latency: Duration,
    /// A coordinator gives up on an operation after this long.
    #[serde(with = "faultline::time::serde_duration")]
    pub timeout: Duration,
    /// Eventual consistency: how often the coordinator resends an acknowledged write to the
    /// replicas that have not acknowledged it.
    #[serde(with = "faultline::time::serde_duration")]
    pub background_every: Duration,
    /// Eventual consistency: how long it keeps resending.
    #[serde(with = "faultline::time::serde_duration")]
    pub background_for: Duration,
}

impl Default for ClusterConfig {
    /// Three replicas, each key on all three, strong, coordinated by the client's replica,
    /// LWW without read repair, 5 ms between replicas, 0.5 ms to clients, 1 ms processing,
    /// 1 s timeout.
    fn default() -> Self {
        ClusterConfig {
            nodes: 3,
            replication: None,
            consistency: Consistency::Strong,
            coordinator: CoordinatorMode::Replica,
            read_repair: ReadRepair::None,
            versions: Versions::Lww,
            sloppy: None,
            net_latency: Latency::Constant { value: Duration::from_millis(5) },
            client_latency: Latency::Constant { value: Duration::from_micros(500) },
            regions: None,
            base_latency: Duration::from_millis(1),
            timeout: Duration::from_secs(1),
            background_every: Duration::from_millis(500),
            background_for: Duration::from_secs(60),
        }
    }
}

impl ClusterConfig {
    /// N: replicas per key.
    pub fn n(&self) -> usize {
        self.replication.unwrap_or(self.nodes)
    }

    /// R and W of the consistency level.
    pub fn quorums(&self) -> (usize, usize) {
        let n = self.n();
        let majority = n / 2 + 1;
        match self.consistency {
            Consistency::Strong => (majority, majority),
            Consistency::Linearizable => (n, n),
            Consistency::Weak | Consistency::Eventual => (1, 1),
            Consistency::Custom { r, w } => (r, w),
        }
    }

    /// Whether R + W > N: every read quorum meets every write quorum.
    pub fn overlapping(&self) -> bool {
        let (r, w) = self.quorums();
        r + w > self.n()
    }

    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(range("nodes", self.nodes, format!("1 to {MAX_NODES} replicas")));
        }
        let n = self.n();
        if n == 0 || n > self.nodes {
            return Err(range("replication", n, format!("1 to nodes ({})", self.nodes)));
        }
        let (r, w) = self.quorums();
        if r == 0 || r > n {
            return Err(range("r", r, format!("1 to the replication factor N ({n})")));
        }
        if w == 0 || w > n {
            return Err(range("w", w, format!("1 to the replication factor N ({n})")));
        }
        for (field, latency) in [("net_latency", &self.net_latency), ("client_latency", &self.client_latency)] {
            LinkConfig::with_latency(latency.clone())
                .validate()
                .map_err(|e| ConfigError::Link { field, reason: e.to_string() })?;
        }
        if let Some(regions) = &self.regions {
            regions.validate(self.nodes)?;
        }
        if self.timeout.is_zero() {
            return Err(range("timeout", "0", "longer than zero"));
        }
        if self.background_every.is_zero() {
            return Err(range("background_every", "0", "longer than zero"));
        }
        if let Some(s) = &self.sloppy {
            if s.fallback_after.is_zero() || s.fallback_after >= self.timeout {
                return Err(range(
                    "sloppy.fallback_after",
                    faultline::format_duration(s.fallback_after),
                    format!(
                        "longer than zero and shorter than the timeout ({})",
                        faultline::format_duration(self.timeout)
                    ),
                ));
            }
            if s.handoff_every.is_some_and(|d| d.is_zero()) {
                return Err(range("sloppy.handoff_every", "0", "longer than zero, or none"));
            }
            if n == self.nodes {
                return Err(range(
                    "sloppy",
                    "on",
                    format!("needs replicas outside a key's home set: replication ({n}) below nodes ({})", self.nodes),
                ));
            }
        }
        Ok(())
    }
}

/// The most links a region layout may set: one per (replica or client, replica) pair in
/// different regions.
pub const MAX_REGION_LINKS: usize = 1 << 16;

/// Replicas spread over regions: replica `i` is in region `i % count`, and a client is in its
/// own replica's region. Within a region, links take the cluster's `net_latency`; between two
/// regions, the latency of that pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// Number of regions, 2 or more.
    pub count: usize,
    /// One-way latency between regions: one for every pair, or one per pair in the order
    /// (0,1), (0,2), …, (0,count-1), (1,2), …
    pub latency: Vec<Latency>,
}

impl Regions {
    /// The region of replica `i`.
    pub fn of(&self, replica: usize) -> usize {
        replica % self.count
    }

    /// The number of region pairs.
    pub fn pairs(&self) -> usize {
        self.count * (self.count - 1) / 2
    }

    /// The one-way latency between regions `a` and `b` (different).
    pub fn between(&self, a: usize, b: usize) -> &Latency {
        if self.latency.len() == 1 {
            return &self.latency[0];
        }
        let (lo, hi) = (a.min(b), a.max(b));
        // Pairs before row `lo`: (count-1) + (count-2) + … over `lo` rows.
        let row = lo * (2 * self.count - lo - 1) / 2;
        &self.latency[row + hi - lo - 1]
    }

    /// Checks the layout against `nodes` replicas.
    pub fn validate(&self, nodes: usize) -> Result<(), ConfigError> {
        if self.count < 2 || self.count > nodes {
            return Err(range("regions.count", self.count, format!("2 to nodes ({nodes})")));
        }
        if self.latency.len() != 1 && self.latency.len() != self.pairs() {
            return Err(range(
                "regions.latency",
                format!("{} latencies", self.latency.len()),
                format!("one for every pair, or one per pair of regions ({})", self.pairs()),
            ));
        }
        for latency in &self.latency {
            LinkConfig::with_latency(latency.clone())
                .validate()
                .map_err(|e| ConfigError::Link { field: "regions.latency", reason: e.to_string() })?;
        }
        Ok(())
    }
}

/// How a client paces its operations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "loop", rename_all = "lowercase", deny_unknown_fields)]
pub enum Load {
    /// One operation at a time, with a pause between the end of one and the start of the next.
    Closed {
        /// The pause.
        #[serde(with = "faultline::time::serde_duration")]
        think: Duration,
    },
    /// Poisson arrivals at `rate` operations per second, whatever the answers.
    Open {
        /// Operations per second per client.
        rate: f64,
    },
}

/// How keys are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeyDist {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Key k (from 0) has weight 1 / (k + 1)^s.
    Zipf {
        /// The exponent.
        s: f64,
    },
}

/// The clients: how many, and what each does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Number of clients; client i sits next to replica i mod nodes.
    pub clients: usize,
    /// Pacing.
    pub load: Load,
    /// Share of writes, 0 to 1.
    pub write_ratio: f64,
    /// Size of the key space.
    pub keys: u32,
    /// Key popularity.
    pub key_dist: KeyDist,
    /// A client gives up on an operation after this long (it is then indeterminate).
    #[serde(with = "faultline::time::serde_duration")]
    pub timeout: Duration,
    /// No new operation from this time on.
    #[serde(with = "faultline::time::serde_duration")]
    pub stop: Duration,
    /// t-visibility: after each acknowledged write, a probe read is started at each of these
    /// delays after the acknowledgement.
    pub t_visibility: Vec<Duration>,
    /// Open loop: most operations in flight at once; arrivals beyond are shed and counted.
    pub max_in_flight: usize,
}

impl Default for ClientConfig {
    /// Three closed-loop clients with 10 ms think time, half writes, 20 uniform keys, a 2 s
    /// timeout, 10 s of load, no probes.
    fn default() -> Self {
        ClientConfig {
            clients: 3,
            load: Load::Closed { think: Duration::from_millis(10) },
            write_ratio: 0.5,
            keys: 20,
            key_dist: KeyDist::Uniform,
            timeout: Duration::from_secs(2),
            stop: Duration::from_secs(10),
            t_visibility: Vec::new(),
            max_in_flight: 100,
        }
    }
}

impl ClientConfig {
    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            return Err(range("clients", self.clients, format!("1 to {MAX_CLIENTS}")));
        }
        match self.load {
            Load::Open { rate } if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) => {
                return Err(range("rate", rate, "a number of operations per second above 0, at most 1000000"));
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.write_ratio) {
            return Err(range("write_ratio", self.write_ratio, "0 to 1"));
        }
        if self.keys == 0 || self.keys > MAX_KEYS {
            return Err(range("keys", self.keys, format!("1 to {MAX_KEYS}")));
        }
        if let KeyDist::Zipf { s } = self.key_dist
            && !(s.is_finite() && s > 0.0 && s <= 10.0)
        {
            return Err(range("key_dist.s", s, "above 0, at most 10"));
        }
        if self.timeout.is_zero() {
            return Err(range("timeout", "0", "longer than zero"));
        }
        if self.stop.is_zero() {
            return Err(range("stop", "0", "longer than zero"));
        }
        if self.t_visibility.len() > MAX_PROBES {
            return Err(range("t_visibility", self.t_visibility.len(), format!("at most {MAX_PROBES} delays")));
        }
        if self.max_in_flight == 0 || self.max_in_flight > MAX_IN_FLIGHT {
            return Err(range("max_in_flight", self.max_in_flight, format!("1 to {MAX_IN_FLIGHT}")));
        }
        Ok(())
    }
}

/// A partition of the cluster: from `at`, for `duration`, the replicas `minority` (and the
/// clients next to them) are cut off from the rest; then it heals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// When it starts.
    #[serde(with = "faultline::time::serde_duration")]
    pub at: Duration,
    /// How long it lasts.
    #[serde(with = "faultline::time::serde_duration")]
    pub duration: Duration,
    /// Replica indices on the cut-off side.
    pub minority: Vec<usize>,
}

impl PartitionConfig {
    /// The default partition of a run of length `run`: the upper ⌊(nodes − 1) / 2⌋ replicas
    /// cut off for the middle third.
    pub fn middle_third(nodes: usize, run: Duration) -> Self {
        let minority = (nodes - (nodes.saturating_sub(1)) / 2..nodes).collect();
        PartitionConfig { at: run / 3, duration: run / 3, minority }
    }

    /// Checks it against the cluster and the run's length.
    pub fn validate(&self, nodes: usize, run: Duration) -> Result<(), ConfigError> {
        if self.duration.is_zero() {
            return Err(range("partition.duration", "0", "longer than zero"));
        }
        let end = self.at + self.duration;
        if end > run {
            return Err(range(
                "partition",
                format!("{} for {}", faultline::format_duration(self.at), faultline::format_duration(self.duration)),
                format!(
                    "must heal within the run ({}); it would end at {}",
                    faultline::format_duration(run),
                    faultline::format_duration(end)
                ),
            ));
        }
        if self.minority.is_empty() || self.minority.len() >= nodes {
            return Err(range(
                "partition.minority",
                format!("{:?}", self.minority),
                format!("1 to {} replicas, leaving at least one on the other side", nodes.saturating_sub(1)),
            ));
        }
        if let Some(r) = self.minority.iter().find(|&&r| r >= nodes) {
            return Err(range("partition.minority", r, format!("replica indices 0 to {}", nodes - 1)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_follow_the_level() {
        let c = |consistency| ClusterConfig { nodes: 5, consistency, ..ClusterConfig::default() }.quorums();
        assert_eq!(c(Consistency::Strong), (3, 3));
        assert_eq!(c(Consistency::Linearizable), (5, 5));
        assert_eq!(c(Consistency::Weak), (1, 1));
        assert_eq!(c(Consistency::Custom { r: 1, w: 5 }), (1, 5));
    }

    #[test]
    fn impossible_settings_name_their_field() {
        let e = ClusterConfig { nodes: 0, ..ClusterConfig::default() }.validate().unwrap_err();
        assert!(e.to_string().starts_with("nodes = 0"), "{e}");
        let e = ClusterConfig { consistency: Consistency::Custom { r: 4, w: 1 }, ..ClusterConfig::default() }
            .validate()
            .unwrap_err();
        assert_eq!(e.to_string(), "r = 4: 1 to the replication factor N (3)");
        let e = ClusterConfig { replication: Some(4), ..ClusterConfig::default() }.validate().unwrap_err();
        assert!(e.to_string().starts_with("replication = 4"), "{e}");
        let sloppy = Some(Sloppy { fallback_after: Duration::from_millis(50), handoff_every: None });
        let e = ClusterConfig { sloppy, ..ClusterConfig::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("outside a key's home set"), "{e}");
        let e = ClientConfig { write_ratio: 1.5, ..ClientConfig::default() }.validate().unwrap_err();
        assert_eq!(e.to_string(), "write_ratio = 1.5: 0 to 1");
        let e = ClientConfig { load: Load::Open { rate: f64::NAN }, ..ClientConfig::default() }.validate().unwrap_err();
        assert!(e.to_string().starts_with("rate = NaN"), "{e}");
        let run = Duration::from_secs(30);
        let third = PartitionConfig::middle_third(3, run);
        assert_eq!((third.at, third.duration, third.minority.clone()), (run / 3, run / 3, vec![2]));
        assert!(third.validate(3, run).is_ok());
        let late = PartitionConfig { at: Duration::from_secs(25), ..third.clone() };
        let e = late.validate(3, run).unwrap_err();
        assert_eq!(e.to_string(), "partition = 25s for 10s: must heal within the run (30s); it would end at 35s");
        let everyone = PartitionConfig { minority: vec![0, 1, 2], ..third };
        assert!(everyone.validate(3, run).unwrap_err().to_string().starts_with("partition.minority"));
        assert!(ClusterConfig::default().validate().is_ok());
        assert!(ClientConfig::default().validate().is_ok());
    }
}
