//! A seeded random fault generator, after Jepsen's nemesis. It writes a concrete script (no
//! random picks left), so a run's faults can be printed, read, and replayed as a script.
//!
//! Spec: comma-separated `key=value`, for example
//! `every=20s,for=5s,kinds=partition+crash*2+skew+flaky,nodes=replica-*`.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `every` | mean time between faults (exponential gaps after each fault ends) | `30s` |
//! | `for` | how long each fault lasts | `5s` |
//! | `from` | no fault before this time | `0s` |
//! | `kinds` | `+`-separated kinds, each with an optional `*weight`: `halves`, `majority`, `ring`, `bridge` (partition shapes), `partition` (all four), `crash`, `skew`, `flaky` | `partition+crash+skew+flaky` |
//! | `nodes` | glob of the nodes faults act on | `*` |
//! | `skew` | largest clock step | `500ms` |
//! | `loss` | loss probability of a flaky node's links | `0.3` |
//!
//! Weights are whole numbers from 1 to [`MAX_WEIGHT`]; the skew step is at most [`MAX_SKEW`].
//! A spec that would make more faults than the caller's limit before the end of the run is
//! refused before anything is generated ([`Nemesis::generate_limited`]).

use std::fmt;
use std::time::Duration;

use faultline::{CutMode, LinkPatch, SimRng, SimTime, derive_rng, format_duration, parse_duration};
use rand::RngExt;
use rand::seq::SliceRandom;

use crate::script::{Action, Entry, NodeSet, Pos, Script, Selector, Timing};
use crate::select::{Resolver, glob};

/// A nemesis spec that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--nemesis: {0}")]
pub struct NemesisError(pub String);

/// What the nemesis does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Two random halves.
    Halves,
    /// A random minority against the majority.
    Majority,
    /// Each node sees only its two neighbours on a random ring.
    Ring,
    /// Two halves joined only through one bridge node.
    Bridge,
    /// Crash a random node, restart it at the end.
    Crash,
    /// Step a random node's clock, step it back at the end.
    Skew,
    /// Make a random node's links lossy.
    Flaky,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Halves => "halves",
            Kind::Majority => "majority",
            Kind::Ring => "ring",
            Kind::Bridge => "bridge",
            Kind::Crash => "crash",
            Kind::Skew => "skew",
            Kind::Flaky => "flaky",
        }
    }
}

/// A nemesis: what kinds of fault, how often, for how long, on which nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct Nemesis {
    /// Mean time between faults.
    pub every: Duration,
    /// Length of each fault.
    pub lasting: Duration,
    /// No fault before this.
    pub from: Duration,
    /// Kinds with weights.
    pub kinds: Vec<(Kind, u32)>,
    /// Glob of the target nodes.
    pub nodes: String,
    /// Largest clock step.
    pub skew: Duration,
    /// Loss probability of flaky links.
    pub loss: f64,
}

impl Default for Nemesis {
    fn default() -> Self {
        Nemesis {
            every: Duration::from_secs(30),
            lasting: Duration::from_secs(5),
            from: Duration::ZERO,
            kinds: vec![
                (Kind::Halves, 1),
                (Kind::Majority, 1),
                (Kind::Ring, 1),
                (Kind::Bridge, 1),
                (Kind::Crash, 4),
                (Kind::Skew, 4),
                (Kind::Flaky, 4),
            ],
            nodes: "*".into(),
            skew: Duration::from_millis(500),
            loss: 0.3,
        }
    }
}

/// The largest weight of one kind: weights are shares, and a million shares is finer than any
/// study needs, while their sum stays far from any overflow.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// The largest clock step (a day): the step is drawn in signed nanoseconds.
pub const MAX_SKEW: Duration = Duration::from_secs(86_400);

/// How many faults [`Nemesis::generate`] makes at most; [`Nemesis::generate_limited`] takes
/// another limit (scenarios set it from `--max-fault-commands`).
pub const DEFAULT_MAX_FAULTS: usize = crate::schedule::DEFAULT_MAX_COMMANDS;

const KEYS: &str = "every, for, from, kinds, nodes, skew, loss";
const KINDS: &str = "halves, majority, ring, bridge, partition, crash, skew, flaky";

impl std::str::FromStr for Nemesis {
    type Err = NemesisError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut n = Nemesis::default();
        let dur = |key: &str, v: &str| parse_duration(v).map_err(|e| NemesisError(format!("{key}: {e}")));
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| NemesisError(format!("expected key=value, found '{part}' (keys: {KEYS})")))?;
            match key.trim() {
                "every" => n.every = dur("every", value)?,
                "for" => n.lasting = dur("for", value)?,
                "from" => n.from = dur("from", value)?,
                "skew" => n.skew = dur("skew", value)?,
                "nodes" => n.nodes = value.trim().to_string(),
                "loss" => {
                    n.loss = value.parse().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(|| {
                        NemesisError(format!("loss must be a probability between 0 and 1, found '{value}'"))
                    })?
                }
                "kinds" => {
                    n.kinds.clear();
                    for item in value.split('+') {
                        let (name, weight) = item.split_once('*').unwrap_or((item, "1"));
                        let weight: u32 =
                            weight.trim().parse().ok().filter(|w| (1..=MAX_WEIGHT).contains(w)).ok_or_else(|| {
                                NemesisError(format!(
                                    "kinds: weight in '{}' must be a whole number from 1 to {MAX_WEIGHT}, found '{weight}'",
                                    item.trim()
                                ))
                            })?;
                        let kinds: &[Kind] = match name.trim() {
                            "halves" => &[Kind::Halves],
                            "majority" => &[Kind::Majority],
                            "ring" => &[Kind::Ring],
                            "bridge" => &[Kind::Bridge],
                            "partition" => &[Kind::Halves, Kind::Majority, Kind::Ring, Kind::Bridge],
                            "crash" => &[Kind::Crash],
                            "skew" => &[Kind::Skew],
                            "flaky" => &[Kind::Flaky],
                            other => return Err(NemesisError(format!("unknown kind '{other}' (kinds: {KINDS})"))),
                        };
                        n.kinds.extend(kinds.iter().map(|&k| (k, weight)));
                    }
                }
                other => return Err(NemesisError(format!("unknown key '{other}' (keys: {KEYS})"))),
            }
        }
        n.validate()?;
        Ok(n)
    }
}

impl fmt::Display for Nemesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self.kinds.iter().map(|(k, w)| format!("{}*{w}", k.name())).collect();
        write!(
            f,
            "every={},for={},from={},kinds={},nodes={},skew={},loss={}",
            format_duration(self.every),
            format_duration(self.lasting),
            format_duration(self.from),
            kinds.join("+"),
            self.nodes,
            format_duration(self.skew),
            self.loss
        )
    }
}

/// `t + d`, or `None` past the last representable instant.
fn checked_add(t: SimTime, d: Duration) -> Option<SimTime> {
    u64::try_from(d.as_nanos()).ok().and_then(|d| t.as_nanos().checked_add(d)).map(SimTime::from_nanos)
}

/// A count for a message: exact below a million, `1.2e11` above.
pub(crate) fn count_words(n: f64) -> String {
    if n < 1e6 { format!("{}", n.round() as u64) } else { format!("{n:.1e}") }
}

fn set(names: &[&String]) -> NodeSet {
    NodeSet(names.iter().map(|n| Selector { pattern: n.to_string(), random: false, pos: Pos::default() }).collect())
}

fn all() -> NodeSet {
    NodeSet(vec![Selector { pattern: "*".into(), random: false, pos: Pos::default() }])
}

impl Nemesis {
    /// Checks what parsing checks, for a nemesis built field by field: positive `every` and
    /// `for`, weights from 1 to [`MAX_WEIGHT`], a skew of at most [`MAX_SKEW`], a loss
    /// probability.
    pub fn validate(&self) -> Result<(), NemesisError> {
        if self.every.is_zero() || self.lasting.is_zero() {
            return Err(NemesisError("every and for must be longer than zero".into()));
        }
        if self.kinds.is_empty() {
            return Err(NemesisError(format!("kinds: name at least one kind ({KINDS})")));
        }
        if let Some((kind, w)) = self.kinds.iter().find(|(_, w)| !(1..=MAX_WEIGHT).contains(w)) {
            return Err(NemesisError(format!(
                "kinds: weight of {} must be a whole number from 1 to {MAX_WEIGHT}, found {w}",
                kind.name()
            )));
        }
        if self.skew > MAX_SKEW {
            return Err(NemesisError(format!(
                "skew: at most {} allowed, found {}",
                format_duration(MAX_SKEW),
                format_duration(self.skew)
            )));
        }
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(NemesisError(format!("loss must be a probability between 0 and 1, found '{}'", self.loss)));
        }
        Ok(())
    }

    /// The faults this nemesis makes before `horizon` against `resolver`'s nodes, drawn from a
    /// generator seeded by `seed`: a concrete script, one entry per fault (a ring is one
    /// one-way cut per node). At most [`DEFAULT_MAX_FAULTS`] entries.
    pub fn generate(&self, resolver: &Resolver, seed: u64, horizon: SimTime) -> Result<Script, NemesisError> {
        self.generate_limited(resolver, seed, horizon, DEFAULT_MAX_FAULTS)
    }

    /// [`generate`](Self::generate) with at most `max_entries` script entries: a spec whose
    /// expected number of faults before `horizon` passes the limit is refused before anything
    /// is generated, and generation stops with the same error if the draws pass it.
    pub fn generate_limited(
        &self,
        resolver: &Resolver,
        seed: u64,
        horizon: SimTime,
        max_entries: usize,
    ) -> Result<Script, NemesisError> {
        self.validate()?;
        let targets: Vec<&String> = resolver.names().iter().filter(|n| glob(&self.nodes, n)).collect();
        if targets.is_empty() {
            return Err(NemesisError(format!("nodes={} matches no node", self.nodes)));
        }
        let start = SimTime::from_duration(self.from);
        if start >= horizon {
            return Err(NemesisError(format!(
                "from={} is not before the end of the run at {horizon}: the nemesis would make no fault",
                format_duration(self.from)
            )));
        }
        // One fault takes `every` on average to arrive and `for` to last.
        let cycle = self.every.saturating_add(self.lasting).as_secs_f64();
        let expected = (horizon - start).as_secs_f64() / cycle;
        let too_many = |what: &str, count: f64| {
            NemesisError(format!(
                "every={},for={} until {horizon} makes {what} {} faults; the limit is {max_entries} \
                 (--max-fault-commands)",
                format_duration(self.every),
                format_duration(self.lasting),
                count_words(count)
            ))
        };
        if expected > max_entries as f64 {
            return Err(too_many("about", expected));
        }
        let mut rng = derive_rng(seed, "nemesis", 0);
        let total: u64 = self.kinds.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut entries = Vec::new();
        let mut t = start;
        loop {
            // Exponential gap with the configured mean: fault arrivals are a Poisson process.
            let gap = -(1.0 - rng.random::<f64>()).ln() * self.every.as_secs_f64();
            // Checked: an instant past the last representable one is past the horizon too.
            let Some(begin) = Duration::try_from_secs_f64(gap).ok().and_then(|g| checked_add(t, g)) else { break };
            let Some(end) = checked_add(begin, self.lasting) else { break };
            if end > horizon {
                break;
            }
            // The same draw as before weights could pass u32, so old seeds replay the same faults.
            let x = match u32::try_from(total) {
                Ok(total) => u64::from(rng.random_range(0..total)),
                Err(_) => rng.random_range(0..total),
            };
            let kind = self.pick(x);
            for action in self.actions(kind, &targets, &mut rng) {
                if entries.len() >= max_entries {
                    return Err(too_many("more than", max_entries as f64));
                }
                entries.push(Entry {
                    timing: Timing::At(begin.since_start()),
                    lasting: Some(self.lasting),
                    action,
                    pos: Pos::default(),
                });
            }
            t = end;
        }
        Ok(Script { entries })
    }

    /// The kind whose share of the total weight contains `x`.
    fn pick(&self, mut x: u64) -> Kind {
        for &(kind, weight) in &self.kinds {
            if x < u64::from(weight) {
                return kind;
            }
            x -= u64::from(weight);
        }
        self.kinds[0].0
    }

    fn actions(&self, kind: Kind, targets: &[&String], rng: &mut SimRng) -> Vec<Action> {
        let mut nodes = targets.to_vec();
        nodes.shuffle(rng);
        let n = nodes.len();
        let one = || set(&nodes[..1]);
        let partition =
            |a: &[&String], b: &[&String]| Action::Partition { groups: vec![set(a), set(b)], mode: CutMode::Drop };
        match kind {
            Kind::Halves | Kind::Majority | Kind::Ring | Kind::Bridge if n < 2 => Vec::new(),
            Kind::Halves => vec![partition(&nodes[..n / 2], &nodes[n / 2..])],
            Kind::Majority => {
                let minority = rng.random_range(1..=(n - 1).div_ceil(2).max(1));
                vec![partition(&nodes[..minority], &nodes[minority..])]
            }
            Kind::Ring if n >= 4 => (0..n)
                .map(|i| {
                    let neighbours = [(i + 1) % n, (i + n - 1) % n];
                    let far: Vec<&String> =
                        (0..n).filter(|j| *j != i && !neighbours.contains(j)).map(|j| nodes[j]).collect();
                    Action::Cut { from: set(&nodes[i..=i]), to: set(&far), mode: CutMode::Drop }
                })
                .collect(),
            Kind::Ring | Kind::Bridge if n < 3 => vec![partition(&nodes[..n / 2], &nodes[n / 2..])],
            Kind::Ring => vec![partition(&nodes[..1], &nodes[1..])],
            Kind::Bridge => {
                // nodes[0] is the bridge; the others split in two halves that reach only it.
                let rest = &nodes[1..];
                let (a, b) = rest.split_at(rest.len() / 2);
                vec![
                    Action::Cut { from: set(a), to: set(b), mode: CutMode::Drop },
                    Action::Cut { from: set(b), to: set(a), mode: CutMode::Drop },
                ]
            }
            Kind::Crash => vec![Action::Crash(one())],
            Kind::Skew => {
                // validate() keeps the skew within MAX_SKEW, so the step fits in i64.
                let max = u64::try_from(self.skew.as_nanos()).unwrap_or(u64::MAX).max(1);
                let step = i64::try_from(rng.random_range(1..=max)).unwrap_or(i64::MAX);
                let sign = if rng.random_bool(0.5) { 1 } else { -1 };
                vec![Action::Skew { nodes: one(), nanos: sign * step }]
            }
            Kind::Flaky => {
                let patch = Some(LinkPatch { loss: Some(self.loss), ..LinkPatch::default() });
                vec![
                    Action::Link { from: one(), to: all(), patch: patch.clone() },
                    Action::Link { from: all(), to: one(), patch },
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_script;

    fn resolver(n: usize) -> Resolver {
        let names: Vec<String> = (0..n).map(|i| format!("replica-{i}")).collect();
        Resolver::new(&names)
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_the_script_replays() {
        let nemesis: Nemesis = "every=10s,for=3s,kinds=partition+crash*2+skew+flaky".parse().unwrap();
        let horizon = SimTime::ZERO + Duration::from_secs(600);
        let a = nemesis.generate(&resolver(5), 9, horizon).unwrap();
        assert_eq!(a, nemesis.generate(&resolver(5), 9, horizon).unwrap());
        assert_ne!(a, nemesis.generate(&resolver(5), 10, horizon).unwrap());
        assert!(a.entries.len() > 30, "{} faults in 600 s at one per ~13 s", a.entries.len());
        // Printed, it parses back to the same script: the run can be replayed from its output.
        assert_eq!(parse_script(&a.to_string()).unwrap(), a);
        let text = a.to_string();
        for verb in ["partition", "cut", "crash", "skew", "link"] {
            assert!(text.contains(verb), "no {verb} in\n{text}");
        }
    }

    #[test]
    fn a_ring_cuts_each_node_from_all_but_its_neighbours() {
        let nemesis: Nemesis = "kinds=ring,every=5s".parse().unwrap();
        let script = nemesis.generate(&resolver(5), 1, SimTime::ZERO + Duration::from_secs(12)).unwrap();
        let cuts: Vec<&Action> = script.entries.iter().map(|e| &e.action).collect();
        assert_eq!(cuts.len() % 5, 0);
        for c in cuts {
            let Action::Cut { to, .. } = c else { panic!("{c}") };
            assert_eq!(to.0.len(), 2, "5 nodes: each reaches 2 neighbours, not the other 2");
        }
    }

    #[test]
    fn bad_specs_say_what_is_allowed() {
        let e = |s: &str| s.parse::<Nemesis>().unwrap_err().to_string();
        assert_eq!(e("often=1s"), "--nemesis: unknown key 'often' (keys: every, for, from, kinds, nodes, skew, loss)");
        assert_eq!(
            e("kinds=meteor"),
            "--nemesis: unknown kind 'meteor' (kinds: halves, majority, ring, bridge, partition, crash, skew, flaky)"
        );
        assert!(e("every=5").contains("missing unit"));
        assert_eq!(e("loss=2"), "--nemesis: loss must be a probability between 0 and 1, found '2'");
        assert_eq!(
            e("crash"),
            "--nemesis: expected key=value, found 'crash' (keys: every, for, from, kinds, nodes, skew, loss)"
        );
        assert_eq!(
            e("kinds=crash*0"),
            "--nemesis: kinds: weight in 'crash*0' must be a whole number from 1 to 1000000, found '0'"
        );
        let n: Nemesis = "every=5s".parse().unwrap();
        assert_eq!(n.to_string().parse::<Nemesis>().unwrap(), n);
    }

    // Pins issue 8: `kinds=crash*4294967295+skew*1` wrapped the u32 weight sum to 0 and
    // panicked "cannot sample empty range". Each weight has a range; the sum is in u64.
    #[test]
    fn weights_have_a_range_and_their_sum_cannot_wrap() {
        let e = "every=20s,for=5s,kinds=crash*4294967295+skew*1".parse::<Nemesis>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--nemesis: kinds: weight in 'crash*4294967295' must be a whole number from 1 to 1000000, found '4294967295'"
        );
        // 5000 kinds at the largest weight add up past u32::MAX: still a fair draw.
        let spec = format!("every=10s,for=1s,kinds={}+skew", vec!["crash*1000000"; 5000].join("+"));
        let n: Nemesis = spec.parse().unwrap();
        let script = n.generate(&resolver(3), 1, SimTime::ZERO + Duration::from_secs(600)).unwrap();
        assert!(script.entries.iter().all(|e| matches!(e.action, Action::Crash(_))), "skew has 1 share in 5e9");
        let built = Nemesis { kinds: vec![(Kind::Crash, 0)], ..Nemesis::default() };
        assert!(built.generate(&resolver(3), 1, SimTime::MAX).unwrap_err().to_string().contains("from 1 to 1000000"));
        let e = "skew=300y".parse::<Nemesis>().unwrap_err().to_string();
        assert!(e.contains("unknown unit"), "{e}");
        let e = "skew=25h".parse::<Nemesis>().unwrap_err().to_string();
        assert_eq!(e, "--nemesis: skew: at most 24h allowed, found 25h");
    }

    // Pins issue 8: `--nemesis every=1ns,for=1ns` generated faults until memory ran out, and a
    // horizon at the last instant looped for ever (the saturating instant never passed it).
    #[test]
    fn too_many_faults_are_refused_before_they_are_made() {
        let n: Nemesis = "every=1ns,for=1ns".parse().unwrap();
        let e = n.generate(&resolver(3), 1, SimTime::ZERO + Duration::from_secs(120)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--nemesis: every=1ns,for=1ns until 120.000000000s makes about 6.0e10 faults; the limit is 1000000 (--max-fault-commands)"
        );
        let n: Nemesis = "every=1h,for=1h,from=18446744073709551614ns".parse().unwrap();
        assert_eq!(n.generate(&resolver(3), 1, SimTime::MAX).unwrap().entries.len(), 0);
        // Pins issue 8 (faults after the end of the run were ignored without a word).
        let late: Nemesis = "from=200s".parse().unwrap();
        assert_eq!(
            late.generate(&resolver(3), 1, SimTime::ZERO + Duration::from_secs(120)).unwrap_err().to_string(),
            "--nemesis: from=200s is not before the end of the run at 120.000000000s: the nemesis would make no fault"
        );
        let n: Nemesis = "every=1s,for=1s,kinds=ring".parse().unwrap();
        let e = n.generate_limited(&resolver(5), 1, SimTime::ZERO + Duration::from_secs(60), 20).unwrap_err();
        assert!(e.to_string().contains("makes about 30 faults; the limit is 20"), "{e}");
        let e = n.generate_limited(&resolver(5), 1, SimTime::ZERO + Duration::from_secs(60), 40).unwrap_err();
        assert!(e.to_string().contains("makes more than 40 faults"), "a ring is 5 entries per fault: {e}");
    }
}
