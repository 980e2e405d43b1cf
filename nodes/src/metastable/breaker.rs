//! A circuit breaker: closed while most calls succeed, open (failing fast) for a cool-down when
//! too many of the recent ones failed, then half-open to let probes test the water.

use std::collections::VecDeque;
use std::time::Duration;

use faultline::SimTime;
use serde::{Deserialize, Serialize};

/// How a breaker is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// How many recent outcomes it judges by.
    pub window: usize,
    /// Open when at least this fraction of them failed.
    pub failure_ratio: f64,
    /// How long it stays open before probing.
    #[serde(with = "faultline::time::serde_duration")]
    pub cooldown: Duration,
    /// Successful probes that close it again.
    pub probes: u32,
}

/// Where the breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls fail fast until the instant given.
    Open(SimTime),
    /// Calls pass, one at a time, as probes.
    HalfOpen,
}

/// The breaker.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    recent: VecDeque<bool>,
    probe_in_flight: bool,
    probe_successes: u32,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: BreakerState::Closed,
            recent: VecDeque::new(),
            probe_in_flight: false,
            probe_successes: 0,
        }
    }

    /// Where it stands at `now` (an open breaker whose cool-down is over is half-open).
    pub fn state(&mut self, now: SimTime) -> BreakerState {
        if let BreakerState::Open(until) = self.state
            && now >= until
        {
            self.state = BreakerState::HalfOpen;
            self.probe_in_flight = false;
            self.probe_successes = 0;
        }
        self.state
    }

    /// May a call go out now? In half-open, one probe at a time.
    pub fn allow(&mut self, now: SimTime) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open(_) => false,
            BreakerState::HalfOpen if self.probe_in_flight => false,
            BreakerState::HalfOpen => {
                self.probe_in_flight = true;
                true
            }
        }
    }

    /// Records a call's outcome.
    pub fn record(&mut self, now: SimTime, ok: bool) {
        match self.state(now) {
            BreakerState::HalfOpen => {
                self.probe_in_flight = false;
                if !ok {
                    self.trip(now);
                } else {
                    self.probe_successes += 1;
                    if self.probe_successes >= self.config.probes {
                        self.state = BreakerState::Closed;
                        self.recent.clear();
                    }
                }
            }
            BreakerState::Open(_) => {}
            BreakerState::Closed => {
                self.recent.push_back(ok);
                if self.recent.len() > self.config.window {
                    self.recent.pop_front();
                }
                let failures = self.recent.iter().filter(|ok| !**ok).count();
                if self.recent.len() == self.config.window
                    && failures as f64 >= self.config.failure_ratio * self.config.window as f64
                {
                    self.trip(now);
                }
            }
        }
    }

    fn trip(&mut self, now: SimTime) {
        self.state = BreakerState::Open(now + self.config.cooldown);
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_on_failures_probes_after_cooldown_and_closes_on_success() {
        let cfg = BreakerConfig { window: 4, failure_ratio: 0.5, cooldown: Duration::from_secs(5), probes: 2 };
        let mut b = Breaker::new(cfg);
        let t = |s: u64| SimTime::ZERO + Duration::from_secs(s);
        for ok in [true, false, true] {
            b.record(t(0), ok);
        }
        assert_eq!(b.state(t(0)), BreakerState::Closed, "three outcomes: the window is not full");
        b.record(t(1), false);
        assert_eq!(b.state(t(1)), BreakerState::Open(t(6)), "two failures of four");
        assert!(!b.allow(t(3)));
        assert!(b.allow(t(6)), "half-open: a probe");
        assert!(!b.allow(t(6)), "one probe at a time");
        b.record(t(6), false);
        assert_eq!(b.state(t(6)), BreakerState::Open(t(11)), "a failed probe opens it again");
        assert!(b.allow(t(11)));
        b.record(t(11), true);
        assert!(b.allow(t(11)));
        b.record(t(11), true);
        assert_eq!(b.state(t(11)), BreakerState::Closed);
    }
}
