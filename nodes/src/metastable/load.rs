//! Offered load over time: constant, a spike, or a ramp up and down; arrivals are a Poisson
//! process with that rate.

use std::time::Duration;

use faultline::{SimRng, SimTime};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Requests per second offered over time, by all clients together.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "lowercase")]
pub enum Load {
    /// `rps` all the time.
    Constant {
        /// Rate.
        rps: f64,
    },
    /// `base`, except `rps` during `[start, start + duration)`.
    Spike {
        /// Rate outside the spike.
        base: f64,
        /// Rate during the spike.
        rps: f64,
        /// When the spike starts.
        start: Duration,
        /// How long it lasts.
        duration: Duration,
    },
    /// `base`, rising linearly to `peak` over the first half of `[start, start + duration)` and
    /// falling back over the second half.
    Ramp {
        /// Rate outside the ramp.
        base: f64,
        /// Rate at the top.
        peak: f64,
        /// When the ramp starts.
        start: Duration,
        /// How long it lasts.
        duration: Duration,
    },
}

impl Load {
    /// The rate at instant `t`.
    pub fn rate(&self, t: SimTime) -> f64 {
        let t = t.since_start();
        match *self {
            Load::Constant { rps } => rps,
            Load::Spike { base, rps, start, duration } => {
                if t >= start && t < start + duration {
                    rps
                } else {
                    base
                }
            }
            Load::Ramp { base, peak, start, duration } => {
                if t < start || t >= start + duration {
                    return base;
                }
                let x = (t - start).as_secs_f64() / duration.as_secs_f64();
                base + (peak - base) * (1.0 - (2.0 * x - 1.0).abs())
            }
        }
    }

    /// The highest rate it ever reaches.
    pub fn max_rate(&self) -> f64 {
        match *self {
            Load::Constant { rps } => rps,
            Load::Spike { base, rps, .. } => base.max(rps),
            Load::Ramp { base, peak, .. } => base.max(peak),
        }
    }

    /// The trigger window, if the pattern has one.
    pub fn trigger(&self) -> Option<(Duration, Duration)> {
        match *self {
            Load::Constant { .. } => None,
            Load::Spike { start, duration, .. } | Load::Ramp { start, duration, .. } => Some((start, start + duration)),
        }
    }

    /// The next arrival after `now` for a share `share` of the load (by thinning: candidates at
    /// the highest rate, each kept with probability rate(t) / highest rate, which gives an exact
    /// Poisson process of the varying rate). `None` when there is none before `until`: the
    /// rate is zero throughout, every candidate up to `until` was thinned away, or the next gap
    /// is longer than any duration (a rate such as 1e-20/s).
    ///
    /// The loop always ends: every candidate moves `t` forward or, when the gap rounds to zero
    /// nanoseconds, is accepted (its rate is then the highest), and `until` bounds the rest.
    pub fn next_arrival(&self, now: SimTime, share: f64, until: SimTime, rng: &mut SimRng) -> Option<SimTime> {
        let max = self.max_rate() * share;
        if !(max > 0.0 && max.is_finite()) {
            return None;
        }
        let mut t = now;
        loop {
            let gap = -(1.0 - rng.random::<f64>()).ln() / max;
            // Bug pinned by `a_tiny_rate_has_no_arrival`: `from_secs_f64` panicked on 1e20 s.
            t += Duration::try_from_secs_f64(gap).ok()?;
            // Bug pinned by `no_load_before_the_stop_time_ends_the_arrivals`: with the spike's
            // rate zero, thinning rejected every candidate and never looked at the stop time.
            if t >= until {
                return None;
            }
            if rng.random::<f64>() * max <= self.rate(t) * share {
                return Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_follow_the_rate() {
        let load =
            Load::Spike { base: 100.0, rps: 400.0, start: Duration::from_secs(10), duration: Duration::from_secs(10) };
        let mut rng = faultline::derive_rng(1, "load", 0);
        let mut t = SimTime::ZERO;
        let (mut before, mut during) = (0, 0);
        while let Some(next) = load.next_arrival(t, 0.5, SimTime::MAX, &mut rng) {
            t = next;
            let s = t.as_secs_f64();
            if s >= 20.0 {
                break;
            }
            if s < 10.0 { before += 1 } else { during += 1 }
        }
        // Poisson(500) and Poisson(2000): sd 22 and 45.
        assert!((before as f64 - 500.0).abs() < 5.0 * 22.4, "{before}");
        assert!((during as f64 - 2000.0).abs() < 5.0 * 44.7, "{during}");
    }

    #[test]
    fn a_ramp_rises_and_falls() {
        let load =
            Load::Ramp { base: 10.0, peak: 110.0, start: Duration::from_secs(0), duration: Duration::from_secs(10) };
        let at = |s: f64| load.rate(SimTime::ZERO + Duration::from_secs_f64(s));
        assert_eq!(at(0.0), 10.0);
        assert_eq!(at(5.0), 110.0);
        assert!((at(7.5) - 60.0).abs() < 1e-9);
        assert_eq!(at(10.0), 10.0);
    }

    #[test]
    fn a_tiny_rate_has_no_arrival() {
        // Issue 8: `--load constant --base-rps 1e-20` panicked converting 1e20 s to a Duration.
        let load = Load::Constant { rps: 1e-20 };
        let mut rng = faultline::derive_rng(1, "load", 0);
        assert_eq!(load.next_arrival(SimTime::ZERO, 0.1, SimTime::MAX, &mut rng), None);
    }

    #[test]
    fn no_load_before_the_stop_time_ends_the_arrivals() {
        // Issue 8: `--base-rps 0` with a spike after the stop time (and `--load ramp
        // --base-rps 0`) hung: every candidate was thinned away, forever.
        let load =
            Load::Spike { base: 0.0, rps: 400.0, start: Duration::from_secs(100), duration: Duration::from_secs(10) };
        let mut rng = faultline::derive_rng(1, "load", 0);
        let until = SimTime::ZERO + Duration::from_secs(50);
        assert_eq!(load.next_arrival(SimTime::ZERO, 0.1, until, &mut rng), None);
        let zero = Load::Spike { base: 0.0, rps: 0.0, start: Duration::ZERO, duration: Duration::from_secs(1) };
        assert_eq!(zero.next_arrival(SimTime::ZERO, 1.0, SimTime::MAX, &mut rng), None);
    }
}
