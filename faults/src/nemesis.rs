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
                        let weight: u32 = weight.parse().ok().filter(|w| *w > 0).ok_or_else(|| {
                            NemesisError(format!("kind weight must be a positive whole number, found '{weight}'"))
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
        if n.every.is_zero() || n.lasting.is_zero() {
            return Err(NemesisError("every and for must be longer than zero".into()));
        }
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

fn set(names: &[&String]) -> NodeSet {
    NodeSet(names.iter().map(|n| Selector { pattern: n.to_string(), random: false, pos: Pos::default() }).collect())
}

fn all() -> NodeSet {
    NodeSet(vec![Selector { pattern: "*".into(), random: false, pos: Pos::default() }])
}

impl Nemesis {
    /// The faults this nemesis makes before `horizon` against `resolver`'s nodes, drawn from a
    /// generator seeded by `seed`: a concrete script, one entry per fault (a ring is one
    /// one-way cut per node).
    pub fn generate(&self, resolver: &Resolver, seed: u64, horizon: SimTime) -> Result<Script, NemesisError> {
        let targets: Vec<&String> = resolver.names().iter().filter(|n| glob(&self.nodes, n)).collect();
        if targets.is_empty() {
            return Err(NemesisError(format!("nodes={} matches no node", self.nodes)));
        }
        let mut rng = derive_rng(seed, "nemesis", 0);
        let total: u32 = self.kinds.iter().map(|(_, w)| w).sum();
        let mut entries = Vec::new();
        let mut t = SimTime::ZERO + self.from;
        loop {
            // Exponential gap with the configured mean: fault arrivals are a Poisson process.
            let gap = -(1.0 - rng.random::<f64>()).ln() * self.every.as_secs_f64();
            t += Duration::from_secs_f64(gap);
            if t + self.lasting > horizon {
                break;
            }
            let kind = self.pick(rng.random_range(0..total));
            for action in self.actions(kind, &targets, &mut rng) {
                entries.push(Entry {
                    timing: Timing::At(t.since_start()),
                    lasting: Some(self.lasting),
                    action,
                    pos: Pos::default(),
                });
            }
            t += self.lasting;
        }
        Ok(Script { entries })
    }

    /// The kind whose share of the total weight contains `x`.
    fn pick(&self, mut x: u32) -> Kind {
        for &(kind, weight) in &self.kinds {
            if x < weight {
                return kind;
            }
            x -= weight;
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
                let max = u64::try_from(self.skew.as_nanos()).unwrap_or(u64::MAX).max(1);
                let step = rng.random_range(1..=max) as i64;
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
        assert_eq!(e("kinds=crash*0"), "--nemesis: kind weight must be a positive whole number, found '0'");
        let n: Nemesis = "every=5s".parse().unwrap();
        assert_eq!(n.to_string().parse::<Nemesis>().unwrap(), n);
    }
}
