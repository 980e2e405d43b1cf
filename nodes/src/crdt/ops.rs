//! The operations clients apply, and when and where: a Poisson stream at random replicas, or a
//! script. The schedule is drawn up front from the run's seed, so the same seed gives the same
//! operations to every CRDT type compared on it.

use std::time::Duration;

use faultline::SimTime;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::ReplicaId;
use super::replica::{ConfigError, CrdtKind};

/// Most operations one run may schedule.
pub const MAX_OPS: u64 = 5_000_000;
/// Largest element (or key) universe.
pub const MAX_ELEMENTS: u32 = 1_000_000;
/// Highest operation rate, per second.
pub const MAX_RATE: f64 = 10_000_000.0;

/// One update, as a client asks a replica for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Add to a counter.
    Increment(u64),
    /// Subtract from a PN-Counter.
    Decrement(u64),
    /// Add an element to a set.
    Add(u32),
    /// Remove an element from a set (as the replica sees it).
    Remove(u32),
    /// Write a key of a map. In a run, `value` is the op's id, so the end state tells which
    /// write won.
    Put {
        /// The key.
        key: u32,
        /// The value.
        value: u64,
    },
}

/// One operation of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledOp {
    /// When (virtual time since the start).
    #[serde(with = "faultline::time::serde_duration")]
    pub at: Duration,
    /// At which replica (index from 0).
    pub replica: ReplicaId,
    /// What.
    pub op: Op,
}

/// Where operations come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// How many operations (random stream).
    pub count: u64,
    /// Operations per second, all replicas together (Poisson arrivals).
    pub rate: f64,
    /// No operation before this.
    #[serde(with = "faultline::time::serde_duration")]
    pub start: Duration,
    /// No operation after this, even if `count` is not reached.
    pub until: Option<SimTime>,
    /// Elements (sets) or keys (maps) are drawn from `0..elements`.
    pub elements: u32,
    /// Fraction of removes (sets) or decrements (PN-Counter).
    pub remove_ratio: f64,
    /// When not empty, exactly these operations instead of the random stream.
    pub script: Vec<ScheduledOp>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            count: 100,
            rate: 10.0,
            start: Duration::ZERO,
            until: None,
            elements: 16,
            remove_ratio: 0.3,
            script: Vec::new(),
        }
    }
}

/// An operation of a run, with its id (its position in the schedule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedOp {
    /// Position in the schedule; a map write's value.
    pub id: u64,
    /// When.
    pub at: SimTime,
    /// Where.
    pub replica: ReplicaId,
    /// What.
    pub op: Op,
}

impl OpsConfig {
    /// Checks every field; `replicas` is the cluster size the script must fit.
    pub fn validate(&self, replicas: u32) -> Result<(), ConfigError> {
        if self.script.is_empty() {
            if self.count > MAX_OPS {
                return Err(ConfigError::new("ops.count", format!("0..={MAX_OPS}"), self.count));
            }
            if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= MAX_RATE) {
                return Err(ConfigError::new(
                    "ops.rate",
                    format!("a number of ops per second in (0, {MAX_RATE}]"),
                    self.rate,
                ));
            }
        } else if self.script.len() as u64 > MAX_OPS {
            return Err(ConfigError::new("ops.script", format!("at most {MAX_OPS} operations"), self.script.len()));
        }
        if !(1..=MAX_ELEMENTS).contains(&self.elements) {
            return Err(ConfigError::new("ops.elements", format!("1..={MAX_ELEMENTS}"), self.elements));
        }
        if !(0.0..=1.0).contains(&self.remove_ratio) {
            return Err(ConfigError::new("ops.remove_ratio", "a fraction in 0..=1", self.remove_ratio));
        }
        for (i, s) in self.script.iter().enumerate() {
            if s.replica >= replicas {
                return Err(ConfigError::new(
                    "ops.script",
                    format!("replica indices 0..{replicas}"),
                    format!("replica {} at line {}", s.replica, i + 1),
                ));
            }
        }
        Ok(())
    }

    /// The operations of a run of `kind` on `replicas` replicas, sorted by time (ties keep
    /// script order). Random streams are drawn from `seed`.
    pub fn schedule(&self, kind: CrdtKind, replicas: u32, seed: u64) -> Vec<PlannedOp> {
        let mut planned: Vec<PlannedOp> = if self.script.is_empty() {
            let mut rng = faultline::derive_rng(seed, "crdt-ops", 0);
            let mut t = self.start.as_secs_f64();
            let mut out = Vec::with_capacity(self.count as usize);
            for id in 0..self.count {
                let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                t += -u.ln() / self.rate;
                let at = SimTime::ZERO + Duration::from_secs_f64(t);
                if self.until.is_some_and(|end| at > end) {
                    break;
                }
                let replica = rng.random_range(0..replicas);
                let remove = rng.random_range(0.0..1.0) < self.remove_ratio;
                let x = rng.random_range(0..self.elements);
                let op = match kind {
                    CrdtKind::GCounter | CrdtKind::MaxCounter => Op::Increment(1),
                    CrdtKind::PnCounter if remove => Op::Decrement(1),
                    CrdtKind::PnCounter => Op::Increment(1),
                    CrdtKind::OrSet | CrdtKind::NaiveSet if remove => Op::Remove(x),
                    CrdtKind::OrSet | CrdtKind::NaiveSet => Op::Add(x),
                    CrdtKind::LwwMap => Op::Put { key: x, value: id },
                };
                out.push(PlannedOp { id, at, replica, op });
            }
            out
        } else {
            self.script
                .iter()
                .enumerate()
                .filter(|(_, s)| self.until.is_none_or(|end| SimTime::ZERO + s.at <= end))
                .map(|(i, s)| PlannedOp { id: i as u64, at: SimTime::ZERO + s.at, replica: s.replica, op: s.op })
                .collect()
        };
        planned.sort_by_key(|p| (p.at, p.id));
        for p in &mut planned {
            if let Op::Put { value, .. } = &mut p.op {
                *value = p.id;
            }
        }
        planned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_deterministic_and_fits_its_bounds() {
        let cfg = OpsConfig { count: 500, rate: 100.0, ..OpsConfig::default() };
        let a = cfg.schedule(CrdtKind::OrSet, 5, 1);
        assert_eq!(a, cfg.schedule(CrdtKind::OrSet, 5, 1));
        assert_ne!(a, cfg.schedule(CrdtKind::OrSet, 5, 2));
        assert_eq!(a.len(), 500);
        assert!(a.iter().all(|p| p.replica < 5));
        let last = a.last().unwrap().at.as_secs_f64();
        assert!((3.0..7.0).contains(&last), "500 ops at 100/s end near 5 s, not {last}");
        let removes = a.iter().filter(|p| matches!(p.op, Op::Remove(_))).count();
        assert!((100..200).contains(&removes), "30% removes, got {removes}");
    }

    #[test]
    fn until_cuts_the_stream() {
        let cfg = OpsConfig {
            count: 1000,
            rate: 100.0,
            until: Some(SimTime::ZERO + Duration::from_secs(2)),
            ..OpsConfig::default()
        };
        let a = cfg.schedule(CrdtKind::GCounter, 3, 1);
        assert!(a.len() < 300 && a.iter().all(|p| p.at.as_secs_f64() <= 2.0));
    }

    #[test]
    fn bad_fields_are_named() {
        let e = OpsConfig { rate: 0.0, ..OpsConfig::default() }.validate(3).unwrap_err();
        assert!(e.to_string().contains("ops.rate"), "{e}");
        let script = vec![ScheduledOp { at: Duration::ZERO, replica: 3, op: Op::Add(1) }];
        let e = OpsConfig { script, ..OpsConfig::default() }.validate(3).unwrap_err();
        assert!(e.to_string().contains("replica 3"), "{e}");
    }
}
