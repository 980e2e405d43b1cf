//! Real-time pacing: in a live run, virtual time follows wall time times a factor, so a person
//! can watch and type faults. The only place the wall clock is read.

use std::time::{Duration, Instant};

use crate::time::SimTime;

/// Maps virtual instants to wall instants for one run.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    factor: f64,
    wall0: Instant,
    virt0: SimTime,
}

impl Pace {
    /// Virtual time runs `factor` times as fast as wall time from `virt0` on.
    pub(crate) fn start(factor: f64, virt0: SimTime) -> Self {
        Pace { factor, wall0: Instant::now(), virt0 }
    }

    /// The wall instant at which virtual instant `t` is due.
    pub(crate) fn wall_at(&self, t: SimTime) -> Instant {
        let ahead = t.saturating_since(self.virt0).as_secs_f64() / self.factor;
        self.wall0 + Duration::from_secs_f64(ahead.min(1e9))
    }

    /// The virtual instant that corresponds to now on the wall clock.
    pub(crate) fn virtual_now(&self) -> SimTime {
        self.virt0 + Duration::from_secs_f64(self.wall0.elapsed().as_secs_f64() * self.factor)
    }

    /// True once the wall clock has reached virtual instant `t`.
    pub(crate) fn reached(&self, t: SimTime) -> bool {
        Instant::now() >= self.wall_at(t)
    }
}
