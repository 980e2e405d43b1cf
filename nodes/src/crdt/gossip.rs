//! How replicas gossip: every interval each replica picks `fanout` peers at random among its
//! neighbours in the topology, and with probability `merge_probability` starts an exchange
//! with each (push-pull: it sends its state or delta interval, the peer merges and answers
//! with its own).

use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::ReplicaId;
use super::replica::ConfigError;

/// Most neighbours a replica may draw in a random-k topology.
pub const MAX_K: u32 = 64;
/// Most replicas a run with tombstone garbage collection may have: each replica keeps every
/// other's version vector.
pub const MAX_GC_REPLICAS: u32 = 256;
/// Most deltas a replica may buffer per its delta buffer.
pub const MAX_DELTA_BUFFER: usize = 1 << 20;

/// What an exchange carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The whole state, every time.
    #[default]
    State,
    /// Delta intervals: what the peer has not acknowledged (full state when unknown).
    Delta,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "state" => Ok(Mode::State),
            "delta" => Ok(Mode::Delta),
            _ => Err(format!("unknown gossip mode '{s}' (state, delta)")),
        }
    }
}

/// Who may talk to whom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Everyone with everyone.
    #[default]
    Full,
    /// Each replica with the one before and the one after it.
    Ring,
    /// Each replica draws `k` others at random; links go both ways, so a replica has `k` or more
    /// neighbours (a few more on average).
    RandomK(u32),
}

impl std::str::FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Topology::Full),
            "ring" => Ok(Topology::Ring),
            _ => match s.strip_prefix("random-").and_then(|k| k.parse().ok()) {
                Some(k) => Ok(Topology::RandomK(k)),
                None => Err(format!("unknown topology '{s}' (full, ring, random-K with K a number, e.g. random-3)")),
            },
        }
    }
}

/// Gossip settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GossipConfig {
    /// Time between a replica's gossip rounds.
    #[serde(with = "faultline::time::serde_duration")]
    pub interval: Duration,
    /// Peers per round.
    pub fanout: u32,
    /// Probability that an exchange with a chosen peer happens.
    pub merge_probability: f64,
    /// State or delta.
    pub mode: Mode,
    /// Neighbourhoods.
    pub topology: Topology,
    /// Deltas a replica keeps for peers that have not acknowledged them (delta mode); older
    /// ones are dropped and such a peer gets the full state.
    pub delta_buffer: usize,
    /// OR-Set tombstone garbage collection: every message carries the sender's version vector
    /// of adds seen; a replica that holds every replica's forgets, once per round, the
    /// tombstones under their pointwise minimum (the safety condition of
    /// [`OrSet`](super::OrSet)). Needs the full topology, and at most [`MAX_GC_REPLICAS`].
    #[serde(default)]
    pub gc: bool,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            interval: Duration::from_millis(100),
            fanout: 1,
            merge_probability: 1.0,
            mode: Mode::State,
            topology: Topology::Full,
            delta_buffer: 64,
            gc: false,
        }
    }
}

impl GossipConfig {
    /// Checks every field.
    pub fn validate(&self, replicas: u32) -> Result<(), ConfigError> {
        if self.interval < Duration::from_micros(1) || self.interval > Duration::from_secs(86_400) {
            return Err(ConfigError::new("gossip.interval", "1us..=1d", faultline::format_duration(self.interval)));
        }
        if self.fanout == 0 || self.fanout > replicas.saturating_sub(1).max(1) {
            return Err(ConfigError::new(
                "gossip.fanout",
                format!("1..={} (replicas - 1)", replicas.saturating_sub(1).max(1)),
                self.fanout,
            ));
        }
        if !(0.0..=1.0).contains(&self.merge_probability) {
            return Err(ConfigError::new("gossip.merge_probability", "a probability in 0..=1", self.merge_probability));
        }
        if let Topology::RandomK(k) = self.topology
            && (k == 0 || k > MAX_K || k >= replicas.max(2))
        {
            return Err(ConfigError::new(
                "gossip.topology",
                format!("random-K with K in 1..={} (and below the replica count)", MAX_K),
                format!("random-{k}"),
            ));
        }
        if self.gc && (self.topology != Topology::Full || replicas > MAX_GC_REPLICAS) {
            return Err(ConfigError::new(
                "gossip.gc",
                format!("used with topology full and at most {MAX_GC_REPLICAS} replicas"),
                format!("{:?} with {replicas} replicas", self.topology),
            ));
        }
        if !(1..=MAX_DELTA_BUFFER).contains(&self.delta_buffer) {
            return Err(ConfigError::new("gossip.delta_buffer", format!("1..={MAX_DELTA_BUFFER}"), self.delta_buffer));
        }
        Ok(())
    }
}

/// The neighbours of every replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Neighbours {
    /// Everyone: `0..n` but oneself.
    Full(u32),
    /// Explicit sorted lists.
    Lists(Vec<Vec<ReplicaId>>),
}

impl Neighbours {
    /// The neighbourhoods of `topology` over `n` replicas; random ones are drawn from `seed`.
    pub fn build(topology: Topology, n: u32, seed: u64) -> Self {
        match topology {
            Topology::Full => Neighbours::Full(n),
            Topology::Ring => Neighbours::Lists(
                (0..n)
                    .map(|i| {
                        let mut v = vec![(i + n - 1) % n, (i + 1) % n];
                        v.sort_unstable();
                        v.dedup();
                        v.retain(|&j| j != i);
                        v
                    })
                    .collect(),
            ),
            Topology::RandomK(k) => {
                let mut rng = faultline::derive_rng(seed, "crdt-topology", 0);
                let mut lists = vec![Vec::new(); n as usize];
                for i in 0..n {
                    // Until `i` has `k` neighbours (those that drew `i` count).
                    while lists[i as usize].len() < k.min(n - 1) as usize {
                        let j = rng.random_range(0..n);
                        if j == i || lists[i as usize].contains(&j) {
                            continue;
                        }
                        lists[i as usize].push(j);
                        lists[j as usize].push(i);
                    }
                }
                for l in &mut lists {
                    l.sort_unstable();
                    l.dedup();
                }
                Neighbours::Lists(lists)
            }
        }
    }

    /// How many neighbours replica `i` has.
    pub fn degree(&self, i: ReplicaId) -> usize {
        match self {
            Neighbours::Full(n) => n.saturating_sub(1) as usize,
            Neighbours::Lists(l) => l[i as usize].len(),
        }
    }

    /// Up to `fanout` distinct neighbours of `i`, at random.
    pub fn pick(&self, i: ReplicaId, fanout: u32, rng: &mut faultline::SimRng) -> Vec<ReplicaId> {
        let degree = self.degree(i);
        let want = (fanout as usize).min(degree);
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            let x = rng.random_range(0..degree);
            let peer = match self {
                Neighbours::Full(_) => x as u32 + u32::from(x as u32 >= i),
                Neighbours::Lists(l) => l[i as usize][x],
            };
            if !out.contains(&peer) {
                out.push(peer);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_k_is_symmetric_and_connected_enough() {
        let Neighbours::Lists(l) = Neighbours::build(Topology::RandomK(3), 200, 1) else { unreachable!() };
        for (i, ns) in l.iter().enumerate() {
            assert!(ns.len() >= 3 && !ns.contains(&(i as u32)));
            for &j in ns {
                assert!(l[j as usize].contains(&(i as u32)));
            }
        }
    }

    #[test]
    fn picks_are_distinct_neighbours() {
        let mut rng = faultline::derive_rng(1, "t", 0);
        let full = Neighbours::build(Topology::Full, 5, 1);
        for _ in 0..100 {
            let p = full.pick(2, 3, &mut rng);
            assert_eq!(p.len(), 3);
            assert!(p.iter().all(|&x| x < 5 && x != 2));
        }
        let ring = Neighbours::build(Topology::Ring, 5, 1);
        assert_eq!(ring.pick(0, 4, &mut rng).len(), 2);
    }

    #[test]
    fn bad_fields_are_named() {
        let e = GossipConfig { merge_probability: 1.5, ..GossipConfig::default() }.validate(3).unwrap_err();
        assert!(e.to_string().contains("gossip.merge_probability"), "{e}");
        let e = GossipConfig { fanout: 3, ..GossipConfig::default() }.validate(3).unwrap_err();
        assert!(e.to_string().contains("gossip.fanout"), "{e}");
        assert!("random-x".parse::<Topology>().is_err());
        assert_eq!("random-4".parse::<Topology>(), Ok(Topology::RandomK(4)));
    }
}
