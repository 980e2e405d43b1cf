//! The cap study's parameters: one plain data type with the defaults written out, its table
//! (flags, TOML keys, ranges, sweepable names), and the checks between parameters, which turn
//! them into the `nodes::cap` configurations.

use std::path::PathBuf;
use std::time::Duration;

use faultline::Latency;
use faultline::time::{format_duration, serde_duration};
use faultline_nodes::cap::config::{MAX_CLIENTS, MAX_KEYS, MAX_NODES, MAX_PROBES};
use faultline_nodes::cap::{
    ClientConfig, ClusterConfig, Consistency, CoordinatorMode, KeyDist, Load, PartitionConfig, ReadRepair, Regions,
    Sloppy, Versions,
};
use serde::{Deserialize, Serialize};

use crate::cli::InputError;
use crate::study::param::{FAULTS, HOUR, MAX_VALUE_BYTES, MS, NEMESIS, PROBABILITY, ZERO, dur, int, word};
use crate::study::{Kind, Param, RunLimits};

/// Every parameter of a run. The defaults are the nodes' defaults: three replicas holding
/// every key, strong quorums (R = W = 2), 5 ms between replicas, 0.5 ms from a client to its
/// replica, 1 ms processing; three closed-loop clients, half writes, 20 keys; 30 s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Master seed.
    pub seed: u64,
    /// Replicas.
    pub nodes: usize,
    /// Replicas per key (N); absent: every replica.
    pub replication: Option<usize>,
    /// Consistency level.
    pub consistency: Consistency,
    /// Read quorum overriding the level's.
    pub r: Option<usize>,
    /// Write quorum overriding the level's.
    pub w: Option<usize>,
    /// Who coordinates an operation.
    pub coordinator: CoordinatorMode,
    /// One-way latency between replicas: a duration or a distribution.
    pub net_latency: String,
    /// One-way latency between a client and its replica.
    pub client_latency: String,
    /// Regions the replicas are spread over (replica i in region i mod regions).
    pub regions: usize,
    /// One-way latency between regions: one for every pair, or one per pair, `;`-separated.
    pub region_latency: Option<String>,
    /// Processing time per request on a replica.
    #[serde(with = "serde_duration")]
    pub base_latency: Duration,
    /// A coordinator gives up after this long.
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// A client gives up after this long (the operation is then indeterminate).
    #[serde(with = "serde_duration")]
    pub client_timeout: Duration,
    /// Share of writes.
    pub write_ratio: f64,
    /// Clients.
    pub clients: usize,
    /// Keys.
    pub keys: u32,
    /// Key popularity: `uniform`, `zipf` or `zipf:S`.
    pub key_dist: String,
    /// Open loop: operations per second per client.
    pub rate: Option<f64>,
    /// Closed loop: pause between operations (10 ms when neither this nor `rate` is given).
    #[serde(with = "faultline::time::serde_option_duration")]
    pub think: Option<Duration>,
    /// Length of the load.
    #[serde(with = "serde_duration")]
    pub duration: Duration,
    /// A partition: `middle` or `AT:FOR[:REPLICAS]`.
    pub partition: Option<String>,
    /// Read repair.
    pub read_repair: ReadRepair,
    /// Versions.
    pub versions: Versions,
    /// Every replica but r0 runs this far ahead.
    #[serde(with = "faultline::time::serde_option_duration")]
    pub clock_skew: Option<Duration>,
    /// Sloppy quorum with hinted handoff.
    pub sloppy: bool,
    /// Sloppy quorum: how long to wait for home replicas before asking fallbacks.
    #[serde(with = "serde_duration")]
    pub fallback_after: Duration,
    /// Sloppy quorum: how often hints are handed back; absent: never.
    #[serde(with = "faultline::time::serde_option_duration")]
    pub handoff_every: Option<Duration>,
    /// t-visibility probe delays, comma-separated.
    pub t_visibility: Option<String>,
    /// Check the run's history for linearizability.
    pub check: bool,
    /// Budget of that check.
    #[serde(with = "serde_duration")]
    pub check_timeout: Duration,
    /// Write the history as JSON lines to this file.
    pub history: Option<PathBuf>,
    /// Width of the time-series windows.
    #[serde(with = "serde_duration")]
    pub window: Duration,
    /// Fault script.
    pub faults: Option<PathBuf>,
    /// Nemesis spec.
    pub nemesis: Option<String>,
    /// Most records (operations, probes, store changes) the observer keeps.
    pub max_records: usize,
}

impl Default for Params {
    fn default() -> Self {
        let ms = Duration::from_millis;
        Params {
            seed: 1,
            nodes: 3,
            replication: None,
            consistency: Consistency::Strong,
            r: None,
            w: None,
            coordinator: CoordinatorMode::Replica,
            net_latency: "5ms".into(),
            client_latency: "500us".into(),
            regions: 1,
            region_latency: None,
            base_latency: ms(1),
            timeout: Duration::from_secs(1),
            client_timeout: Duration::from_secs(2),
            write_ratio: 0.5,
            clients: 3,
            keys: 20,
            key_dist: "uniform".into(),
            rate: None,
            think: None,
            duration: Duration::from_secs(30),
            partition: None,
            read_repair: ReadRepair::None,
            versions: Versions::Lww,
            clock_skew: None,
            sloppy: false,
            fallback_after: ms(20),
            handoff_every: Some(Duration::from_secs(1)),
            t_visibility: None,
            check: false,
            check_timeout: Duration::from_secs(10),
            history: None,
            window: Duration::from_secs(1),
            faults: None,
            nemesis: None,
            max_records: DEFAULT_MAX_RECORDS,
        }
    }
}

/// The longest run: one day of virtual time (every operation is kept for the analysis).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The default of `--max-records`: about a gigabyte of records at most.
pub const DEFAULT_MAX_RECORDS: usize = 5_000_000;

/// The default think time of a closed-loop client.
pub const DEFAULT_THINK: Duration = Duration::from_millis(10);

/// Every parameter of the study, declared once. The defaults are [`Params::default`].
pub const TABLE: &[Param] = &[
    Param::new("seed", int(0, u64::MAX), "Master seed."),
    Param::new("nodes", int(1, MAX_NODES as u64), "Replicas."),
    Param::new("replication", int(1, MAX_NODES as u64), "Replicas per key (N), placed by a hash ring; off: every replica.")
        .optional(),
    Param::new(
        "consistency",
        Kind::Choice(&["strong", "linearizable", "weak", "eventual"]),
        "R and W: strong = majority of N, linearizable = N, weak = 1, eventual = 1 with background replication.",
    ),
    Param::new("r", int(1, MAX_NODES as u64), "Read quorum, overriding the level's (at most N).").optional(),
    Param::new("w", int(1, MAX_NODES as u64), "Write quorum, overriding the level's (at most N).").optional(),
    Param::new(
        "coordinator",
        Kind::Choice(&["replica", "client"]),
        "Who fans out: the client's own replica (Cassandra) or the client itself (Dynamo's client-side routing).",
    ),
    Param::new(
        "net-latency",
        Kind::Text(200),
        "One-way latency between replicas: 5ms, or uniform(1ms, 9ms), normal(M, SD), lognormal(M, SD), exponential(M).",
    ),
    Param::new("client-latency", Kind::Text(200), "One-way latency between a client and its own replica (LAN)."),
    Param::new(
        "regions",
        int(1, MAX_NODES as u64),
        "Regions the replicas are spread over (replica i in region i mod regions, a client in its replica's); \
         --net-latency is then the latency within a region.",
    ),
    Param::new(
        "region-latency",
        Kind::Text(2000),
        "One-way latency between regions: one for every pair, or one per pair separated by ';' in the order \
         (0,1);(0,2);..;(1,2);.. (needs --regions 2 or more).",
    )
    .optional(),
    Param::new("base-latency", dur(ZERO, HOUR), "Processing time per request on a replica."),
    Param::new("timeout", dur(Duration::from_micros(1), HOUR), "A coordinator gives up on an operation after this long."),
    Param::new(
        "client-timeout",
        dur(Duration::from_micros(1), HOUR),
        "A client gives up after this long; the operation is then indeterminate.",
    ),
    Param::new("write-ratio", PROBABILITY, "Share of writes."),
    Param::new("clients", int(1, MAX_CLIENTS as u64), "Clients; client i sits next to replica i mod nodes."),
    Param::new("keys", int(1, MAX_KEYS as u64), "Size of the key space."),
    Param::new("key-dist", Kind::Text(40), "Key popularity: uniform, zipf (exponent 1) or zipf:S."),
    Param::new(
        "rate",
        Kind::Float { min: 0.0, min_excluded: true, max: 1e6 },
        "Open loop: operations per second per client (Poisson).",
    )
    .optional(),
    Param::new("think", dur(ZERO, HOUR), "Closed loop: pause between operations (10ms when --rate is off too).")
        .optional(),
    Param::new("duration", dur(MS, MAX_DURATION), "Length of the load (virtual time); the run drains after it."),
    Param::new(
        "partition",
        Kind::Text(200),
        "A partition: alone (or 'middle'), the upper minority of replicas and their clients are cut off for the middle third; AT:FOR[:R+R..] cuts those replicas at AT for FOR.",
    )
    .optional()
    .fixed()
    .bare("middle"),
    Param::new("read-repair", Kind::Choice(&["none", "async", "sync"]), "What a read does with older replies."),
    Param::new(
        "versions",
        Kind::Choice(&["lww", "logical", "vv"]),
        "Version order: last-writer-wins on the coordinator's clock, logical (read then write the next), version vectors.",
    ),
    Param::new("clock-skew", dur(ZERO, HOUR), "Every replica but r0 runs this far ahead (what LWW trusts).").optional(),
    Param::new("sloppy", Kind::Bool, "Sloppy quorum: fallback replicas outside the key's home set, hints handed back."),
    Param::new("fallback-after", dur(Duration::from_micros(1), HOUR), "Sloppy quorum: wait for home replicas this long."),
    Param::new("handoff-every", dur(MS, HOUR), "Sloppy quorum: hand hints back this often; off: never.").optional(),
    Param::new(
        "t-visibility",
        Kind::Text(MAX_VALUE_BYTES),
        "Probe reads this long after each acknowledged write, e.g. 0ms,1ms,5ms,20ms (PBS t-visibility).",
    )
    .optional()
    .fixed(),
    Param::new("check", Kind::Bool, "Check the run's history for linearizability (each key a register)."),
    Param::new("check-timeout", dur(MS, HOUR), "Budget of the linearizability check; past it the verdict is unknown."),
    Param::new("history", Kind::Path, "Write the run's history as JSON lines to this file.").optional().fixed(),
    Param::new("window", dur(MS, MAX_DURATION), "Width of the time-series windows."),
    FAULTS,
    NEMESIS,
    Param::new(
        "max-records",
        int(1, faultline_nodes::cap::observer::DEFAULT_MAX_RECORDS as u64),
        "Most records (operations, probes, store changes) the run keeps; past it the run is incomplete, exit code 3.",
    )
    .fixed(),
];

fn bad<T>(msg: String) -> Result<T, InputError> {
    Err(InputError(msg))
}

/// A partition as given: when, for how long, and which replicas are cut off (none: the
/// default minority).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionSpec {
    /// When it starts; `None`: a third into the run, for a third of it.
    pub at_for: Option<(Duration, Duration)>,
    /// The cut-off replicas; `None`: the upper minority.
    pub replicas: Option<Vec<usize>>,
}

/// Reads `--partition`: `middle`, or `AT:FOR` or `AT:FOR:R+R` (replica indices, `r` optional).
pub fn parse_partition(text: &str) -> Result<PartitionSpec, InputError> {
    let t = text.trim();
    if t == "middle" || t.is_empty() {
        return Ok(PartitionSpec { at_for: None, replicas: None });
    }
    let usage = |why: String| {
        InputError(format!(
            "--partition '{t}': {why} (allowed: middle, AT:FOR or AT:FOR:REPLICAS, e.g. 10s:5s or 10s:5s:r3+r4)"
        ))
    };
    let parts: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(usage("not 2 or 3 fields".into()));
    }
    let d =
        |s: &str, what: &str| faultline::parse_duration(s.trim()).map_err(|e| usage(format!("{what}: {}", e.reason)));
    let (at, len) = (d(parts[0], "AT")?, d(parts[1], "FOR")?);
    let replicas = match parts.get(2) {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for r in list.split('+') {
                let r = r.trim();
                let n: usize = r
                    .strip_prefix('r')
                    .unwrap_or(r)
                    .parse()
                    .map_err(|_| usage(format!("'{r}' is not a replica (r0, r1, ... or 0, 1, ...)")))?;
                if out.contains(&n) {
                    return Err(usage(format!("replica {n} is named twice")));
                }
                if out.len() >= MAX_NODES {
                    return Err(usage(format!("more than {MAX_NODES} replicas")));
                }
                out.push(n);
            }
            Some(out)
        }
    };
    Ok(PartitionSpec { at_for: Some((at, len)), replicas })
}

/// Reads `--t-visibility`: comma-separated durations, in increasing order, at most
/// [`MAX_PROBES`].
pub fn parse_probes(text: &str) -> Result<Vec<Duration>, InputError> {
    let mut out: Vec<Duration> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if out.len() >= MAX_PROBES {
            return bad(format!("--t-visibility: more than {MAX_PROBES} delays (allowed: at most {MAX_PROBES})"));
        }
        let d = faultline::parse_duration(item).map_err(|e| {
            InputError(format!("--t-visibility: '{item}': {} (allowed: durations such as 0ms,1ms,5ms)", e.reason))
        })?;
        if d > HOUR {
            return bad(format!("--t-visibility: '{item}' is longer than 1h"));
        }
        if out.contains(&d) {
            return bad(format!("--t-visibility: '{item}' is given twice"));
        }
        out.push(d);
    }
    if out.is_empty() {
        return bad("--t-visibility: no delay (allowed: durations such as 0ms,1ms,5ms, or off)".into());
    }
    out.sort();
    Ok(out)
}

fn latency(text: &str, flag: &str) -> Result<Latency, InputError> {
    let l: Latency = text.parse().map_err(|e| InputError(format!("{flag}: {e}")))?;
    faultline::LinkConfig::with_latency(l.clone())
        .validate()
        .map_err(|e| InputError(format!("{flag} '{text}': {e}")))?;
    Ok(l)
}

fn key_dist(text: &str) -> Result<KeyDist, InputError> {
    let t = text.trim();
    let fail = || InputError(format!("--key-dist '{t}': allowed: uniform, zipf, or zipf:S with 0 < S <= 10"));
    match t {
        "uniform" => Ok(KeyDist::Uniform),
        "zipf" => Ok(KeyDist::Zipf { s: 1.0 }),
        _ => {
            let s: f64 = t.strip_prefix("zipf:").ok_or_else(fail)?.trim().parse().map_err(|_| fail())?;
            if s.is_finite() && s > 0.0 && s <= 10.0 { Ok(KeyDist::Zipf { s }) } else { Err(fail()) }
        }
    }
}

/// A run ready to build: the nodes' configurations and the faults the parameters ask for.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The replicas.
    pub cluster: ClusterConfig,
    /// The clients.
    pub clients: ClientConfig,
    /// The partition, checked against the cluster and the run.
    pub partition: Option<PartitionConfig>,
}

impl Params {
    /// Checks every value against its range in [`TABLE`] (a config file or a sweep may have
    /// set it), then the rules between them, and builds the run's configurations. Errors name
    /// the flags and what is allowed.
    pub fn plan(&self) -> Result<Plan, InputError> {
        crate::study::param::check_ranges(TABLE, self)?;
        let n = self.replication.unwrap_or(self.nodes);
        if n > self.nodes {
            return bad(format!(
                "--replication {n} is more than --nodes {} (allowed: 1 to --nodes: a key lives on N of the replicas)",
                self.nodes
            ));
        }
        let consistency = match (self.r, self.w) {
            (None, None) => self.consistency,
            (r, w) => {
                let (lr, lw) = ClusterConfig {
                    nodes: self.nodes,
                    replication: Some(n),
                    consistency: self.consistency,
                    ..ClusterConfig::default()
                }
                .quorums();
                Consistency::Custom { r: r.unwrap_or(lr), w: w.unwrap_or(lw) }
            }
        };
        for (flag, q) in [("--r", self.r), ("--w", self.w)] {
            if let Some(q) = q.filter(|q| *q > n) {
                return bad(format!(
                    "{flag} {q} is more than the replication factor N = {n} (allowed: 1 to N; a quorum counts among a key's N replicas)"
                ));
            }
        }
        if self.rate.is_some() && self.think.is_some() {
            return bad("--rate and --think: give one (--rate for an open loop, --think for a closed loop)".into());
        }
        if self.client_timeout < self.timeout {
            return bad(format!(
                "--client-timeout {} is shorter than --timeout {} (allowed: at least --timeout, so that a client hears the coordinator give up)",
                format_duration(self.client_timeout),
                format_duration(self.timeout)
            ));
        }
        if self.window > self.duration {
            return bad(format!(
                "--window {} is longer than --duration {} (allowed: at most --duration)",
                format_duration(self.window),
                format_duration(self.duration)
            ));
        }
        if self.sloppy && n == self.nodes {
            return bad(format!(
                "--sloppy needs replicas outside a key's home set: --replication ({n}) must be below --nodes ({})",
                self.nodes
            ));
        }
        if self.sloppy && self.fallback_after >= self.timeout {
            return bad(format!(
                "--fallback-after {} must be shorter than --timeout {} (the coordinator asks fallbacks before it gives up)",
                format_duration(self.fallback_after),
                format_duration(self.timeout)
            ));
        }
        let cluster = ClusterConfig {
            nodes: self.nodes,
            replication: self.replication,
            consistency,
            coordinator: self.coordinator,
            read_repair: self.read_repair,
            versions: self.versions,
            sloppy: self
                .sloppy
                .then_some(Sloppy { fallback_after: self.fallback_after, handoff_every: self.handoff_every }),
            net_latency: latency(&self.net_latency, "--net-latency")?,
            client_latency: latency(&self.client_latency, "--client-latency")?,
            regions: self.region_layout()?,
            base_latency: self.base_latency,
            timeout: self.timeout,
            ..ClusterConfig::default()
        };
        let load = match self.rate {
            Some(rate) => Load::Open { rate },
            None => Load::Closed { think: self.think.unwrap_or(DEFAULT_THINK) },
        };
        let clients = ClientConfig {
            clients: self.clients,
            load,
            write_ratio: self.write_ratio,
            keys: self.keys,
            key_dist: key_dist(&self.key_dist)?,
            timeout: self.client_timeout,
            stop: self.duration,
            t_visibility: self.t_visibility.as_deref().map(parse_probes).transpose()?.unwrap_or_default(),
            ..ClientConfig::default()
        };
        cluster.validate().map_err(|e| InputError(format!("the cluster: {e}")))?;
        clients.validate().map_err(|e| InputError(format!("the clients: {e}")))?;
        let partition = match self.partition.as_deref().map(parse_partition).transpose()? {
            None => None,
            Some(spec) => Some(self.partition_config(&spec)?),
        };
        Ok(Plan { cluster, clients, partition })
    }

    fn partition_config(&self, spec: &PartitionSpec) -> Result<PartitionConfig, InputError> {
        let mut p = PartitionConfig::middle_third(self.nodes, self.duration);
        if let Some((at, len)) = spec.at_for {
            (p.at, p.duration) = (at, len);
        }
        if let Some(r) = &spec.replicas {
            p.minority = r.clone();
        }
        let shown = self.partition.as_deref().unwrap_or("middle");
        if p.duration.is_zero() {
            return bad(format!("--partition '{shown}': it lasts 0s (allowed: longer than zero)"));
        }
        let end = p.at.saturating_add(p.duration);
        if end > self.duration {
            return bad(format!(
                "--partition '{shown}': it would heal at {}, after the run's --duration {} (allowed: a partition that heals within the run)",
                format_duration(end),
                format_duration(self.duration)
            ));
        }
        if let Some(r) = p.minority.iter().find(|r| **r >= self.nodes) {
            return bad(format!(
                "--partition '{shown}': there is no replica r{r} (allowed: r0 to r{})",
                self.nodes - 1
            ));
        }
        if p.minority.is_empty() || p.minority.len() >= self.nodes {
            return bad(format!(
                "--partition '{shown}': it needs replicas on both sides, and --nodes {} leaves {} on the cut-off side (allowed: 1 to {} of them; with fewer than 3 nodes name them, e.g. 10s:5s:r1)",
                self.nodes,
                p.minority.len(),
                self.nodes.saturating_sub(1)
            ));
        }
        Ok(p)
    }

    /// Checks the limits a run of these parameters would meet.
    pub fn check_limits(&self, limits: &RunLimits) -> Result<(), InputError> {
        limits.check_windows(self.duration, self.window)?;
        let nodes = (self.nodes + self.clients) as u64;
        if nodes > limits.max_nodes {
            return bad(format!(
                "--nodes {} and --clients {} make {nodes} nodes, more than --max-nodes {} (allowed: fewer, or a higher --max-nodes)",
                self.nodes, self.clients, limits.max_nodes
            ));
        }
        Ok(())
    }

    /// The region layout of `--regions` and `--region-latency`, checked against each other
    /// and against `--nodes`.
    fn region_layout(&self) -> Result<Option<Regions>, InputError> {
        let count = self.regions;
        let Some(text) = self.region_latency.as_deref() else {
            if count > 1 {
                return bad(format!("--regions {count} needs --region-latency (the latency between regions)"));
            }
            return Ok(None);
        };
        if count < 2 {
            return bad("--region-latency needs --regions 2 or more".into());
        }
        if count > self.nodes {
            return bad(format!("--regions {count}: allowed: 1 to --nodes ({})", self.nodes));
        }
        let latency =
            text.split(';').map(|item| latency(item.trim(), "--region-latency")).collect::<Result<Vec<_>, _>>()?;
        let regions = Regions { count, latency };
        if regions.latency.len() != 1 && regions.latency.len() != regions.pairs() {
            return bad(format!(
                "--region-latency: {} latencies for {count} regions (allowed: one for every pair, or {} separated by ';')",
                regions.latency.len(),
                regions.pairs()
            ));
        }
        Ok(Some(regions))
    }

    /// One line that says what was run.
    pub fn describe(&self, plan: &Plan) -> String {
        let (r, w) = plan.cluster.quorums();
        let level = match (self.r, self.w) {
            (None, None) => word(&self.consistency),
            _ => "custom".to_string(),
        };
        let load = match plan.clients.load {
            Load::Open { rate } => format!("open loop {rate}/s each"),
            Load::Closed { think } => format!("closed loop, think {}", format_duration(think)),
        };
        let mut words = vec![
            format!("{level} R={r} W={w} of N={} on {} replicas", plan.cluster.n(), self.nodes),
            format!("coordinator {}", if self.coordinator == CoordinatorMode::Client { "client" } else { "replica" }),
            format!(
                "net {}{}, client {}, processing {}",
                self.net_latency,
                match &self.region_latency {
                    Some(between) if self.regions > 1 => format!(" in {} regions, {between} between", self.regions),
                    _ => String::new(),
                },
                self.client_latency,
                format_duration(self.base_latency)
            ),
            format!(
                "{} clients ({load}), {:.0}% writes, {} keys {}",
                self.clients,
                self.write_ratio * 100.0,
                self.keys,
                self.key_dist
            ),
            format!("read repair {}, versions {}", word(&self.read_repair), word(&self.versions)),
        ];
        if self.sloppy {
            words.push(match self.handoff_every {
                Some(d) => format!("sloppy quorum, handoff every {}", format_duration(d)),
                None => "sloppy quorum, no handoff".to_string(),
            });
        }
        if let Some(s) = self.clock_skew {
            words.push(format!("clocks of r1.. {} ahead", format_duration(s)));
        }
        if let Some(p) = &plan.partition {
            let names: Vec<String> = p.minority.iter().map(|r| format!("r{r}")).collect();
            words.push(format!(
                "partition of {} from {} to {}",
                names.join("+"),
                format_duration(p.at),
                format_duration(p.at + p.duration)
            ));
        }
        words.push(format!("{} of load", format_duration(self.duration)));
        words.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_read_middle_and_at_for_replicas() {
        assert_eq!(parse_partition("middle").unwrap().at_for, None);
        let p = parse_partition("10s:5s:r3+4").unwrap();
        assert_eq!(p.at_for, Some((Duration::from_secs(10), Duration::from_secs(5))));
        assert_eq!(p.replicas, Some(vec![3, 4]));
        for bad in ["10s", "10s:x", "1s:2s:r1+r1", "1s:2s:q"] {
            assert!(parse_partition(bad).unwrap_err().0.starts_with("--partition"), "{bad}");
        }
    }

    #[test]
    fn impossible_settings_are_refused_with_the_flag_named() {
        let refused = |p: Params| p.plan().unwrap_err().0;
        assert!(
            refused(Params { r: Some(4), ..Params::default() })
                .starts_with("--r 4 is more than the replication factor N = 3")
        );
        assert!(
            refused(Params { replication: Some(5), ..Params::default() })
                .starts_with("--replication 5 is more than --nodes 3")
        );
        assert!(refused(Params { nodes: 0, ..Params::default() }).starts_with("--nodes: out of range: '0'"));
        let late = Params { partition: Some("25s:10s".into()), ..Params::default() };
        assert!(refused(late).contains("after the run's --duration 30s"));
        let two = Params { nodes: 2, partition: Some("middle".into()), ..Params::default() };
        assert!(refused(two).contains("needs replicas on both sides"));
        assert!(
            refused(Params { rate: Some(5.0), think: Some(MS), ..Params::default() }).starts_with("--rate and --think")
        );
        assert!(refused(Params { sloppy: true, ..Params::default() }).starts_with("--sloppy needs"));
        assert!(refused(Params { net_latency: "fast".into(), ..Params::default() }).starts_with("--net-latency"));
        assert!(refused(Params { key_dist: "zipf:0".into(), ..Params::default() }).starts_with("--key-dist"));
        assert!(
            refused(Params { t_visibility: Some("1ms,x".into()), ..Params::default() }).starts_with("--t-visibility")
        );
        let plan = Params::default().plan().unwrap();
        assert_eq!(plan.cluster.quorums(), (2, 2));
        let custom = Params { r: Some(1), ..Params::default() }.plan().unwrap();
        assert_eq!(custom.cluster.quorums(), (1, 2));
    }
}
