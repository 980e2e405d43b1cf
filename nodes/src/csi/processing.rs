//! A processing-time distribution with its own arithmetic: sampled by a node (from its seeded
//! RNG), and asked for the probability of exceeding a timeout and for its quantiles, so that a
//! measured failure ratio can be set against what the configuration implies.

use std::time::Duration;

use faultline::SimRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// How long downstream takes to process one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Processing {
    /// Always the same.
    Constant {
        /// The time.
        #[serde(with = "faultline::time::serde_duration")]
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest.
        #[serde(with = "faultline::time::serde_duration")]
        min: Duration,
        /// Longest.
        #[serde(with = "faultline::time::serde_duration")]
        max: Duration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean.
        #[serde(with = "faultline::time::serde_duration")]
        mean: Duration,
    },
    /// Log-normal: `median * exp(sigma * Z)`, Z standard normal. The long right tail of real
    /// service times.
    LogNormal {
        /// Median.
        #[serde(with = "faultline::time::serde_duration")]
        median: Duration,
        /// Standard deviation of the logarithm (0.01 to 5).
        sigma: f64,
    },
}

/// Longest processing time a configuration may ask for.
pub const MAX_PROCESSING: Duration = Duration::from_secs(24 * 3600);

/// Error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

impl Processing {
    /// Checks the parameters; `field` names the setting in the message.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let long = |d: Duration| d > MAX_PROCESSING;
        let bad = match *self {
            Processing::Constant { value } => long(value).then(|| "value above 24h".to_string()),
            Processing::Uniform { min, max } => (min > max || long(max)).then(|| "need min <= max <= 24h".to_string()),
            Processing::Exponential { mean } => {
                (mean.is_zero() || long(mean)).then(|| "mean must be in (0, 24h]".to_string())
            }
            Processing::LogNormal { median, sigma } => {
                (median.is_zero() || long(median) || !(0.01..=5.0).contains(&sigma))
                    .then(|| format!("median must be in (0, 24h] and sigma in [0.01, 5], got sigma {sigma}"))
            }
        };
        match bad {
            Some(reason) => Err(ConfigError::new(field, reason)),
            None => Ok(()),
        }
    }

    /// One processing time.
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        match *self {
            Processing::Constant { value } => value,
            Processing::Uniform { min, max } => {
                let (lo, hi) = (min.as_nanos() as u64, max.as_nanos() as u64);
                Duration::from_nanos(rng.random_range(lo..=hi))
            }
            Processing::Exponential { mean } => {
                let u: f64 = rng.random();
                mean.mul_f64(-(1.0 - u).ln())
            }
            Processing::LogNormal { median, sigma } => {
                // Box-Muller.
                let (u1, u2): (f64, f64) = (rng.random(), rng.random());
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                median.mul_f64((sigma * z).exp().min(MAX_PROCESSING.as_secs_f64() / median.as_secs_f64().max(1e-9)))
            }
        }
    }

    /// P(processing time <= t).
    pub fn cdf(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        match *self {
            Processing::Constant { value } => f64::from(u8::from(value.as_secs_f64() <= t)),
            Processing::Uniform { min, max } => {
                let (a, b) = (min.as_secs_f64(), max.as_secs_f64());
                if t < a {
                    0.0
                } else if t >= b {
                    1.0
                } else {
                    (t - a) / (b - a)
                }
            }
            Processing::Exponential { mean } => {
                if t <= 0.0 {
                    0.0
                } else {
                    1.0 - (-t / mean.as_secs_f64()).exp()
                }
            }
            Processing::LogNormal { median, sigma } => {
                if t <= 0.0 {
                    0.0
                } else {
                    0.5 * (1.0 + erf((t / median.as_secs_f64()).ln() / (sigma * std::f64::consts::SQRT_2)))
                }
            }
        }
    }

    /// P(processing time > t): the share of requests a timeout of `t` cuts off.
    pub fn exceeds(&self, t: Duration) -> f64 {
        1.0 - self.cdf(t)
    }

    /// The `q` quantile (bisection on the CDF, to the microsecond).
    pub fn quantile(&self, q: f64) -> Duration {
        let (mut lo, mut hi) = (0.0f64, MAX_PROCESSING.as_secs_f64());
        while hi - lo > 1e-6 {
            let mid = (lo + hi) / 2.0;
            if self.cdf(Duration::from_secs_f64(mid)) >= q {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Duration::from_secs_f64(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline::derive_rng;

    #[test]
    fn sampled_share_above_a_timeout_matches_the_cdf() {
        let d = Processing::LogNormal { median: Duration::from_secs(25), sigma: 0.5 };
        let p = d.exceeds(Duration::from_secs(30));
        assert!((p - 0.3575).abs() < 0.001, "{p}");
        let mut rng = derive_rng(9, "t", 0);
        let n = 100_000;
        let over = (0..n).filter(|_| d.sample(&mut rng) > Duration::from_secs(30)).count();
        assert!((over as f64 / n as f64 - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt());
        assert!((d.quantile(0.5).as_secs_f64() - 25.0).abs() < 0.01);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = Processing::LogNormal { median: Duration::from_secs(1), sigma: 9.0 }
            .validate("config.processing")
            .unwrap_err();
        assert_eq!(e.field, "config.processing");
    }
}
