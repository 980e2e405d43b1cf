//! The crdt study's parameters: one plain data type with the defaults written out, its table
//! (flags, TOML keys, ranges, sweepable names), and the checks between parameters, which turn
//! them into the `nodes::crdt` configurations.

use std::path::PathBuf;
use std::time::Duration;

use faultline::time::{format_duration, serde_duration, serde_option_duration};
use faultline::{Latency, SimTime};
use faultline_nodes::crdt::gossip::{MAX_DELTA_BUFFER, MAX_GC_REPLICAS, MAX_K};
use faultline_nodes::crdt::ops::{MAX_ELEMENTS, MAX_OPS, MAX_RATE};
use faultline_nodes::crdt::replica::MAX_REPLICAS;
use faultline_nodes::crdt::{CrdtKind, GossipConfig, Mode, Op, OpsConfig, ReplicaConfig, ScheduledOp, Topology};
use serde::{Deserialize, Serialize};

use crate::cli::InputError;
use crate::study::config::read_limited;
use crate::study::param::{FAULTS, HOUR, MS, NEMESIS, PROBABILITY, dur, int, word};
use crate::study::{Kind, Param, RunLimits};

/// Every parameter of a run. The defaults: an OR-Set on 8 replicas, each with 3 or more
/// neighbours drawn at random, each gossiping its whole state every 200 ms to one of them with
/// probability 0.8, 10 ms one way; 200 operations at 50/s over 16 elements (30% removes); 30 s.
///
/// Why random-3 and not full by default: delta gossip sends a peer what it has not
/// acknowledged, which needs peers that meet again. With 10,000 replicas that each pick any
/// other at random, a replica almost never meets the same peer twice, every exchange carries
/// the whole state, and delta mode is state mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Master seed.
    pub seed: u64,
    /// The replicated type.
    #[serde(rename = "type")]
    pub kind: CrdtKind,
    /// Replicas.
    pub replicas: u32,
    /// Operations, at random replicas.
    pub ops: u64,
    /// No operation after this (virtual time since the start).
    #[serde(with = "serde_option_duration")]
    pub ops_until: Option<Duration>,
    /// Operations per second, all replicas together (Poisson arrivals).
    pub op_rate: f64,
    /// Elements (sets) or keys (maps) the operations draw from.
    pub elements: u32,
    /// Share of removes (sets) or decrements (PN-Counter).
    pub remove_ratio: f64,
    /// Probability that a chosen exchange happens.
    pub merge_probability: f64,
    /// Time between a replica's gossip rounds.
    #[serde(with = "serde_duration")]
    pub gossip_interval: Duration,
    /// Peers per round.
    pub fanout: u32,
    /// `full`, `ring` or `random-K`.
    pub topology: String,
    /// One-way delay between replicas: a duration or a distribution.
    pub net_delay: String,
    /// `state` or `delta`.
    pub mode: Mode,
    /// Delta mode: deltas a replica keeps for peers that have not acknowledged them.
    pub delta_buffer: usize,
    /// OR-Set tombstone garbage collection.
    pub gc: bool,
    /// Replica 0's clock runs this far ahead.
    #[serde(with = "serde_option_duration")]
    pub clock_skew: Option<Duration>,
    /// Cut the replicas into two halves for the middle third of the operations.
    pub partition: bool,
    /// Length of the run (virtual time); gossip goes on after the last operation until then.
    #[serde(with = "serde_duration")]
    pub duration: Duration,
    /// Width of the observation windows.
    #[serde(with = "serde_duration")]
    pub window: Duration,
    /// Also run the naive counterpart on the same operations: `auto`, `on` or `off`.
    pub baseline: String,
    /// Operations from a file instead of the random stream.
    pub script: Option<PathBuf>,
    /// Fault script.
    pub faults: Option<PathBuf>,
    /// Nemesis spec.
    pub nemesis: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            seed: 1,
            kind: CrdtKind::OrSet,
            replicas: 8,
            ops: 200,
            ops_until: None,
            op_rate: 50.0,
            elements: 16,
            remove_ratio: 0.3,
            merge_probability: 0.8,
            gossip_interval: Duration::from_millis(200),
            fanout: 1,
            topology: "random-3".into(),
            net_delay: "10ms".into(),
            mode: Mode::State,
            delta_buffer: 64,
            gc: false,
            clock_skew: None,
            partition: false,
            duration: Duration::from_secs(30),
            window: Duration::from_secs(1),
            baseline: "auto".into(),
            script: None,
            faults: None,
            nemesis: None,
        }
    }
}

/// The longest run: one day of virtual time.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Most state entries a run's replicas may hold together: replicas times the entries of a
/// state, which is at most one per operation (for a counter, one per replica that increments).
/// The states are most of a run's memory (a 32-bit G-Counter slot costs about 13 bytes with its
/// deltas: 10,000 replicas of 10,000 entries peaked at 1.3 GB); this keeps a run within tens of
/// gigabytes, and says so before it starts rather than running out of memory.
pub const MAX_STATE_ENTRIES: u64 = 2_000_000_000;
/// The baseline runs by itself (`--baseline auto`) up to this many replicas.
pub const AUTO_BASELINE_REPLICAS: u32 = 1000;

/// Every parameter of the study, declared once. The defaults are [`Params::default`].
pub const TABLE: &[Param] = &[
    Param::new("seed", int(0, u64::MAX), "Master seed."),
    Param::new(
        "type",
        Kind::Choice(&["g-counter", "pn-counter", "or-set", "lww-map"]),
        "The replicated type: grow-only counter, increment/decrement counter, observed-remove set, last-writer-wins map.",
    ),
    Param::new("replicas", int(2, MAX_REPLICAS as u64), "Replicas, each an actor with its own state."),
    Param::new(
        "ops",
        int(1, MAX_OPS),
        "Operations, each at a random replica (fewer if --ops-until or --duration cuts them).",
    ),
    Param::new(
        "ops-until",
        dur(Duration::ZERO, MAX_DURATION),
        "No operation after this (virtual time); off: until --ops are done.",
    )
    .optional(),
    Param::new(
        "op-rate",
        Kind::Float { min: 0.0, min_excluded: true, max: MAX_RATE },
        "Operations per second, all replicas together (Poisson arrivals).",
    ),
    Param::new("elements", int(1, MAX_ELEMENTS as u64), "Elements (sets) or keys (maps) the operations draw from."),
    Param::new("remove-ratio", PROBABILITY, "Share of removes (sets) or decrements (PN-Counter)."),
    Param::new(
        "merge-probability",
        PROBABILITY,
        "Probability that an exchange with a chosen peer happens (the reference's parameter); 0: never.",
    ),
    Param::new("gossip-interval", dur(MS, HOUR), "Time between a replica's gossip rounds."),
    Param::new("fanout", int(1, MAX_REPLICAS as u64), "Peers a replica gossips with per round (below --replicas)."),
    Param::new(
        "topology",
        Kind::Text(40),
        "Who may gossip with whom: full (anyone), ring (the two next replicas), random-K (K or more neighbours drawn at random; all others when K >= replicas - 1).",
    ),
    Param::new(
        "net-delay",
        Kind::Text(200),
        "One-way delay between replicas: 10ms, or uniform(1ms, 9ms), normal(M, SD), lognormal(M, SD), exponential(M).",
    ),
    Param::new(
        "mode",
        Kind::Choice(&["state", "delta"]),
        "What an exchange carries: the whole state, or delta intervals.",
    ),
    Param::new(
        "delta-buffer",
        int(1, MAX_DELTA_BUFFER as u64),
        "Delta mode: deltas kept for peers that have not acknowledged them; a peer further behind gets the whole state.",
    ),
    Param::new(
        "gc",
        Kind::Bool,
        "OR-Set tombstone garbage collection (forgets tombstones every replica has seen; full topology only).",
    ),
    Param::new(
        "clock-skew",
        dur(Duration::ZERO, HOUR),
        "Replica 0's clock runs this far ahead of the others (what LWW trusts).",
    )
    .optional(),
    Param::new(
        "partition",
        Kind::Bool,
        "Cut the replicas into two halves for the middle third of the operations (both sides keep accepting them).",
    )
    .fixed(),
    Param::new(
        "duration",
        dur(MS, MAX_DURATION),
        "Length of the run (virtual time); gossip goes on after the last operation.",
    ),
    Param::new("window", dur(MS, MAX_DURATION), "Width of the observation windows (distinct states, state size)."),
    Param::new(
        "baseline",
        Kind::Choice(&["auto", "on", "off"]),
        "Also run the naive counterpart (naive set for or-set, max counter for g-counter) on the same operations; auto: up to 1000 replicas.",
    ),
    Param::new(
        "script",
        Kind::Path,
        "Operations from a file instead of the random stream: one per line, 'AT REPLICA OP [ARG]', e.g. '5s 1 remove 3' (ops: incr N, decr N, add E, remove E, put K).",
    )
    .optional()
    .fixed(),
    FAULTS,
    NEMESIS,
];

/// Reads an operations script (`--script`): one operation per line, `AT REPLICA OP [ARG]`,
/// `#` comments and blank lines skipped, each operation one the type `kind` takes, each
/// replica below `replicas`. Errors name the file and line.
pub fn parse_script(text: &str, file: &str, kind: CrdtKind, replicas: u32) -> Result<Vec<ScheduledOp>, InputError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |why: String| InputError(format!("--script {file}:{}: {why}", i + 1));
        if out.len() as u64 >= MAX_OPS {
            return Err(at(format!("more than {MAX_OPS} operations")));
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let usage = "(allowed: 'AT REPLICA OP [ARG]', e.g. '5s 1 remove 3'; OP one of incr, decr, add, remove, put)";
        if !(3..=4).contains(&fields.len()) {
            return Err(at(format!("'{line}' is not 'AT REPLICA OP [ARG]' {usage}")));
        }
        let time =
            faultline::parse_duration(fields[0]).map_err(|e| at(format!("time '{}': {}", fields[0], e.reason)))?;
        if time > MAX_DURATION {
            return Err(at(format!("time '{}' is past a day", fields[0])));
        }
        let replica: u32 = fields[1]
            .trim_start_matches('r')
            .parse()
            .ok()
            .filter(|r| *r < replicas)
            .ok_or_else(|| at(format!("replica '{}' (allowed: 0 to {})", fields[1], replicas - 1)))?;
        let arg = |default: Option<u64>| -> Result<u64, InputError> {
            match fields.get(3) {
                Some(a) => a.parse().map_err(|_| at(format!("argument '{a}' is not a whole number"))),
                None => default.ok_or_else(|| at(format!("'{}' needs an argument {usage}", fields[2]))),
            }
        };
        let element = |n: u64| u32::try_from(n).map_err(|_| at(format!("element {n} is above {}", u32::MAX)));
        let op = match fields[2] {
            "incr" => Op::Increment(arg(Some(1))?),
            "decr" => Op::Decrement(arg(Some(1))?),
            "add" => Op::Add(element(arg(None)?)?),
            "remove" => Op::Remove(element(arg(None)?)?),
            "put" => Op::Put { key: element(arg(None)?)?, value: 0 },
            other => return Err(at(format!("unknown operation '{other}' {usage}"))),
        };
        let fits = match kind {
            CrdtKind::GCounter | CrdtKind::MaxCounter => matches!(op, Op::Increment(_)),
            CrdtKind::PnCounter => matches!(op, Op::Increment(_) | Op::Decrement(_)),
            CrdtKind::OrSet | CrdtKind::NaiveSet => matches!(op, Op::Add(_) | Op::Remove(_)),
            CrdtKind::LwwMap => matches!(op, Op::Put { .. }),
        };
        if !fits {
            return Err(at(format!("'{}' is not an operation of a {}", fields[2], kind.name())));
        }
        out.push(ScheduledOp { at: time, replica, op });
    }
    if out.is_empty() {
        return Err(InputError(format!("--script {file}: no operation in it")));
    }
    Ok(out)
}

fn bad<T>(msg: String) -> Result<T, InputError> {
    Err(InputError(msg))
}

/// A run ready to build: the nodes' configurations.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The cluster.
    pub replica: ReplicaConfig,
    /// Gossip.
    pub gossip: GossipConfig,
    /// The operations.
    pub ops: OpsConfig,
    /// Latency between replicas.
    pub latency: Latency,
    /// The naive counterpart run on the same operations, if any.
    pub baseline: Option<CrdtKind>,
}

fn latency(text: &str, flag: &str) -> Result<Latency, InputError> {
    let l: Latency = text.parse().map_err(|e| InputError(format!("{flag}: {e}")))?;
    faultline::LinkConfig::with_latency(l.clone())
        .validate()
        .map_err(|e| InputError(format!("{flag} '{text}': {e}")))?;
    Ok(l)
}

/// Reads `--topology`: `full`, `ring` or `random-K`. A `random-K` whose K reaches every other
/// replica (K >= replicas - 1) is the full topology: each replica has all the others as
/// neighbours.
pub fn topology(text: &str, replicas: u32) -> Result<Topology, InputError> {
    let t = text.trim();
    let allowed = format!("full, ring, or random-K with K from 1 to {MAX_K}, e.g. random-3");
    let topology: Topology =
        t.parse().map_err(|_| InputError(format!("--topology '{t}': unknown (allowed: {allowed})")))?;
    match topology {
        Topology::RandomK(k) if k == 0 || k > MAX_K => bad(format!("--topology '{t}': K = {k} (allowed: {allowed})")),
        Topology::RandomK(k) if k >= replicas - 1 => Ok(Topology::Full),
        other => Ok(other),
    }
}

impl Params {
    /// Checks every value against its range in [`TABLE`] (a config file or a sweep may have
    /// set it), then the rules between them, and builds the run's configurations. Errors name
    /// the flags and what is allowed.
    pub fn plan(&self, limits: &RunLimits) -> Result<Plan, InputError> {
        crate::study::param::check_ranges(TABLE, self)?;
        let topology = topology(&self.topology, self.replicas)?;
        let most = self.replicas - 1;
        if self.fanout > most {
            return bad(format!(
                "--fanout {} with --replicas {} (allowed: 1 to {most}: a replica gossips with others, not itself)",
                self.fanout, self.replicas
            ));
        }
        match topology {
            Topology::Ring if self.fanout > 2.min(most) => {
                return bad(format!(
                    "--fanout {} with --topology ring (allowed: 1 to {}: a replica of a ring has {} neighbours)",
                    self.fanout,
                    2.min(most),
                    2.min(most)
                ));
            }
            Topology::RandomK(k) if self.fanout > k => {
                return bad(format!(
                    "--fanout {} with --topology random-{k} (allowed: 1 to {k}: a replica is sure of only {k} neighbours)",
                    self.fanout
                ));
            }
            _ => {}
        }
        if let Some(until) = self.ops_until.filter(|u| *u > self.duration) {
            return bad(format!(
                "--ops-until {} is after --duration {} (allowed: at most --duration: operations happen within the run)",
                format_duration(until),
                format_duration(self.duration)
            ));
        }
        if self.window > self.duration {
            return bad(format!(
                "--window {} is longer than --duration {} (allowed: at most --duration)",
                format_duration(self.window),
                format_duration(self.duration)
            ));
        }
        if self.gc {
            if self.kind != CrdtKind::OrSet {
                return bad(format!(
                    "--gc with --type {} (allowed: only with --type or-set: only its tombstones are collected)",
                    self.kind.name()
                ));
            }
            if topology != Topology::Full {
                return bad(format!(
                    "--gc with --topology {} (allowed: only with --topology full: a replica must hear from every other to know what all have seen)",
                    self.topology.trim()
                ));
            }
            if self.replicas > MAX_GC_REPLICAS {
                return bad(format!(
                    "--gc with --replicas {} (allowed: up to {MAX_GC_REPLICAS} replicas: each keeps every other's version vector)",
                    self.replicas
                ));
            }
        }
        if self.clock_skew.is_some_and(|s| !s.is_zero()) && self.kind != CrdtKind::LwwMap {
            return bad(format!(
                "--clock-skew with --type {} (allowed: only with --type lww-map, the one type that reads clocks; or off)",
                self.kind.name()
            ));
        }
        let baseline = match (self.baseline.as_str(), self.kind) {
            ("off", _) => None,
            ("on" | "auto", CrdtKind::OrSet) => Some(CrdtKind::NaiveSet),
            ("on" | "auto", CrdtKind::GCounter) => Some(CrdtKind::MaxCounter),
            ("on", kind) => {
                return bad(format!(
                    "--baseline on with --type {} (allowed: on only for or-set (naive set) and g-counter (max counter); auto or off)",
                    kind.name()
                ));
            }
            _ => None,
        };
        let baseline = baseline.filter(|_| self.baseline == "on" || self.replicas <= AUTO_BASELINE_REPLICAS);
        let replica = ReplicaConfig { replicas: self.replicas, window: self.window };
        let gossip = GossipConfig {
            interval: self.gossip_interval,
            fanout: self.fanout,
            merge_probability: self.merge_probability,
            mode: self.mode,
            topology,
            delta_buffer: self.delta_buffer,
            gc: self.gc,
        };
        let until = self.ops_until.unwrap_or(self.duration);
        let ops = OpsConfig {
            count: self.ops,
            rate: self.op_rate,
            start: Duration::ZERO,
            until: Some(SimTime::ZERO + until),
            elements: self.elements,
            remove_ratio: self.remove_ratio,
            script: match &self.script {
                Some(path) => {
                    let text = read_limited(path, "--script", limits.max_input_bytes)?;
                    parse_script(&text, &path.display().to_string(), self.kind, self.replicas)?
                }
                None => Vec::new(),
            },
        };
        replica.validate().map_err(|e| InputError(format!("the cluster: {e}")))?;
        gossip.validate(self.replicas).map_err(|e| InputError(format!("the gossip: {e}")))?;
        ops.validate(self.replicas).map_err(|e| InputError(format!("the operations: {e}")))?;
        Ok(Plan { replica, gossip, ops, latency: latency(&self.net_delay, "--net-delay")?, baseline })
    }

    /// Checks the limits a run of these parameters would meet.
    pub fn check_limits(&self, limits: &RunLimits) -> Result<(), InputError> {
        limits.check_windows(self.duration, self.window)?;
        let nodes = u64::from(self.replicas) + 1;
        if nodes > limits.max_nodes {
            return bad(format!(
                "--replicas {} makes {nodes} nodes (with the monitor), more than --max-nodes {} (allowed: fewer, or a higher --max-nodes)",
                self.replicas, limits.max_nodes
            ));
        }
        let per_state = match self.kind {
            CrdtKind::GCounter | CrdtKind::PnCounter | CrdtKind::MaxCounter => self.ops.min(u64::from(self.replicas)),
            _ => self.ops,
        };
        let entries = u64::from(self.replicas).saturating_mul(per_state);
        if self.script.is_none() && entries > MAX_STATE_ENTRIES {
            return bad(format!(
                "--replicas {} and --ops {} may make {entries} state entries across the replicas, more than {MAX_STATE_ENTRIES} (allowed: fewer replicas or operations; each replica may come to hold an entry per operation)",
                self.replicas, self.ops
            ));
        }
        let window = self.ops_until.unwrap_or(self.duration).as_secs_f64();
        if self.script.is_some() {
            return Ok(());
        }
        limits.check_requests((self.ops as f64).min(self.op_rate * window), "--ops and --op-rate")?;
        Ok(())
    }

    /// One line that says what was run.
    pub fn describe(&self) -> String {
        let mut words = vec![
            format!("{} on {} replicas", self.kind.name(), self.replicas),
            format!(
                "{} gossip every {} to {} peer{} (p={}), topology {}, net {}",
                word(&self.mode),
                format_duration(self.gossip_interval),
                self.fanout,
                if self.fanout == 1 { "" } else { "s" },
                self.merge_probability,
                self.topology.trim(),
                self.net_delay
            ),
        ];
        let until = self.ops_until.map_or(String::new(), |u| format!(" until {}", format_duration(u)));
        let what = match self.kind {
            CrdtKind::GCounter => String::new(),
            CrdtKind::PnCounter => format!(", {:.0}% decrements", self.remove_ratio * 100.0),
            CrdtKind::LwwMap => format!(" over {} keys", self.elements),
            _ => format!(" over {} elements, {:.0}% removes", self.elements, self.remove_ratio * 100.0),
        };
        match &self.script {
            Some(path) => words.push(format!("operations of {}", path.display())),
            None => words.push(format!("{} ops at {}/s{until}{what}", self.ops, self.op_rate)),
        }
        if self.gc {
            words.push("tombstone gc".into());
        }
        if let Some(s) = self.clock_skew.filter(|s| !s.is_zero()) {
            words.push(format!("replica-0's clock {} ahead", format_duration(s)));
        }
        if self.partition {
            words.push("halves partitioned for the middle third of the operations".into());
        }
        words.push(format!("{} run", format_duration(self.duration)));
        words.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_settings_are_refused_with_the_flag_named() {
        let refused = |p: Params| p.plan(&RunLimits::default()).unwrap_err().0;
        assert!(refused(Params { replicas: 0, ..Params::default() }).starts_with("--replicas: out of range: '0'"));
        assert!(refused(Params { fanout: 8, ..Params::default() }).starts_with("--fanout 8 with --replicas 8"));
        assert!(
            refused(Params { topology: "ring".into(), fanout: 3, ..Params::default() })
                .starts_with("--fanout 3 with --topology ring")
        );
        assert!(
            refused(Params { topology: "random-0".into(), ..Params::default() }).starts_with("--topology 'random-0'")
        );
        let small = Params { replicas: 3, ..Params::default() };
        assert_eq!(small.plan(&RunLimits::default()).unwrap().gossip.topology, Topology::Full, "random-3 of 3 is full");
        assert!(refused(Params { gc: true, ..Params::default() }).starts_with("--gc with --topology random-3"));
        assert!(refused(Params { topology: "star".into(), ..Params::default() }).starts_with("--topology 'star'"));
        let late = Params { ops_until: Some(Duration::from_secs(40)), ..Params::default() };
        assert!(refused(late).starts_with("--ops-until 40s is after --duration 30s"));
        assert!(
            refused(Params { gc: true, kind: CrdtKind::GCounter, ..Params::default() }).starts_with("--gc with --type")
        );
        let ring = Params { gc: true, topology: "ring".into(), ..Params::default() };
        assert!(refused(ring).starts_with("--gc with --topology ring"));
        let skew = Params { clock_skew: Some(Duration::from_secs(1)), ..Params::default() };
        assert!(refused(skew).starts_with("--clock-skew with --type or-set"));
        assert!(refused(Params { net_delay: "soon".into(), ..Params::default() }).starts_with("--net-delay"));
        let lww = Params { kind: CrdtKind::LwwMap, baseline: "on".into(), ..Params::default() };
        assert!(refused(lww).starts_with("--baseline on with --type lww-map"));
        let plan = Params::default().plan(&RunLimits::default()).unwrap();
        assert_eq!(plan.baseline, Some(CrdtKind::NaiveSet));
        assert_eq!(plan.ops.until, Some(SimTime::ZERO + Duration::from_secs(30)));
        let big = Params { replicas: 2000, kind: CrdtKind::GCounter, ..Params::default() };
        assert_eq!(big.plan(&RunLimits::default()).unwrap().baseline, None, "auto stops at 1000 replicas");
    }
}
