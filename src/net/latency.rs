//! Latency distributions of a link: what one hop costs, sampled per message.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::{Deserialize, Serialize};

use crate::seed::SimRng;
use crate::time::{format_duration, parse_duration, serde_duration};

/// How long one hop takes. Every variant is sampled in nanoseconds, so a 200 µs link costs
/// exactly 200 µs of virtual time.
///
/// Text form (used by fault scripts, config files and traces):
/// `constant(1ms)`, `uniform(1ms, 10ms)`, `normal(5ms, 1ms)`, `lognormal(5ms, 2ms)`,
/// `exponential(2ms)`; `normal`, `lognormal` and `exponential` take an optional floor as a last
/// argument, e.g. `lognormal(5ms, 2ms, 1ms)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Latency {
    /// Always the same.
    Constant {
        /// The delay.
        #[serde(with = "serde_duration")]
        value: Duration,
    },
    /// Uniform between `min` and `max`, both included.
    Uniform {
        /// Shortest delay.
        #[serde(with = "serde_duration")]
        min: Duration,
        /// Longest delay.
        #[serde(with = "serde_duration")]
        max: Duration,
    },
    /// Normal, cut off below at `floor` (a sample can never be negative).
    Normal {
        /// Mean.
        #[serde(with = "serde_duration")]
        mean: Duration,
        /// Standard deviation.
        #[serde(with = "serde_duration")]
        stddev: Duration,
        /// No sample is shorter.
        #[serde(with = "serde_duration", default)]
        floor: Duration,
    },
    /// `floor` plus a log-normal variable with the given mean and standard deviation: the long
    /// right tail of real networks.
    LogNormal {
        /// Mean of the part above the floor.
        #[serde(with = "serde_duration")]
        mean: Duration,
        /// Standard deviation of the part above the floor.
        #[serde(with = "serde_duration")]
        stddev: Duration,
        /// Fixed minimum added to every sample (propagation delay).
        #[serde(with = "serde_duration", default)]
        floor: Duration,
    },
    /// `floor` plus an exponential variable with the given mean.
    Exponential {
        /// Mean of the part above the floor.
        #[serde(with = "serde_duration")]
        mean: Duration,
        /// Fixed minimum added to every sample.
        #[serde(with = "serde_duration", default)]
        floor: Duration,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { value: Duration::from_millis(1) }
    }
}

/// A latency that cannot be sampled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid latency '{text}': {reason}")]
pub struct LatencyError {
    /// The latency as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

/// A latency checked and prepared for sampling.
#[derive(Clone, Debug)]
pub(crate) enum Sampler {
    Constant(u64),
    Uniform(u64, u64),
    Normal(Normal<f64>, u64),
    LogNormal(LogNormal<f64>, u64),
    Exponential(Exp<f64>, u64),
}

fn nanos(d: Duration) -> f64 {
    d.as_nanos() as f64
}

fn whole_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Latency {
    /// Checks the parameters and prepares the distribution.
    pub(crate) fn sampler(&self) -> Result<Sampler, LatencyError> {
        let fail = |reason: &str| LatencyError { text: self.to_string(), reason: reason.to_string() };
        Ok(match *self {
            Latency::Constant { value } => Sampler::Constant(whole_nanos(value)),
            Latency::Uniform { min, max } => {
                if min > max {
                    return Err(fail("min is greater than max"));
                }
                Sampler::Uniform(whole_nanos(min), whole_nanos(max))
            }
            Latency::Normal { mean, stddev, floor } => Sampler::Normal(
                Normal::new(nanos(mean), nanos(stddev)).map_err(|_| fail("bad standard deviation"))?,
                whole_nanos(floor),
            ),
            Latency::LogNormal { mean, stddev, floor } => {
                if mean.is_zero() {
                    return Err(fail("the mean must be positive"));
                }
                let ratio = nanos(stddev) / nanos(mean);
                let sigma2 = (1.0 + ratio * ratio).ln();
                let mu = nanos(mean).ln() - sigma2 / 2.0;
                Sampler::LogNormal(
                    LogNormal::new(mu, sigma2.sqrt()).map_err(|_| fail("bad standard deviation"))?,
                    whole_nanos(floor),
                )
            }
            Latency::Exponential { mean, floor } => {
                if mean.is_zero() {
                    return Err(fail("the mean must be positive"));
                }
                Sampler::Exponential(Exp::new(1.0 / nanos(mean)).map_err(|_| fail("bad mean"))?, whole_nanos(floor))
            }
        })
    }

    /// The mean delay, for reports.
    pub fn mean(&self) -> Duration {
        match *self {
            Latency::Constant { value } => value,
            Latency::Uniform { min, max } => (min + max) / 2,
            Latency::Normal { mean, floor, .. } => mean.max(floor),
            Latency::LogNormal { mean, floor, .. } | Latency::Exponential { mean, floor } => floor + mean,
        }
    }
}

impl Sampler {
    /// One delay, in nanoseconds.
    pub(crate) fn sample(&self, rng: &mut SimRng) -> u64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Uniform(lo, hi) => rng.random_range(*lo..=*hi),
            Sampler::Normal(d, floor) => (d.sample(rng).max(0.0) as u64).max(*floor),
            Sampler::LogNormal(d, floor) => floor.saturating_add(d.sample(rng) as u64),
            Sampler::Exponential(d, floor) => floor.saturating_add(d.sample(rng) as u64),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: Duration| format_duration(d);
        let floor = |fl: Duration| if fl.is_zero() { String::new() } else { format!(", {}", d(fl)) };
        match *self {
            Latency::Constant { value } => write!(f, "constant({})", d(value)),
            Latency::Uniform { min, max } => write!(f, "uniform({}, {})", d(min), d(max)),
            Latency::Normal { mean, stddev, floor: fl } => write!(f, "normal({}, {}{})", d(mean), d(stddev), floor(fl)),
            Latency::LogNormal { mean, stddev, floor: fl } => {
                write!(f, "lognormal({}, {}{})", d(mean), d(stddev), floor(fl))
            }
            Latency::Exponential { mean, floor: fl } => write!(f, "exponential({}{})", d(mean), floor(fl)),
        }
    }
}

impl FromStr for Latency {
    type Err = LatencyError;

    /// Reads the text form; a bare duration (`5ms`) means `constant(5ms)`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| LatencyError { text: text.to_string(), reason };
        let text_trim = text.trim();
        let Some((name, rest)) = text_trim.split_once('(') else {
            let value = parse_duration(text_trim).map_err(|e| {
                fail(format!("{e}; or a distribution: constant, uniform, normal, lognormal, exponential"))
            })?;
            return Ok(Latency::Constant { value });
        };
        let args = rest.strip_suffix(')').ok_or_else(|| fail("missing closing ')'".to_string()))?;
        let args: Vec<Duration> = args
            .split(',')
            .map(|a| parse_duration(a.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let arity = |want: &[usize], usage: &str| {
            if want.contains(&args.len()) { Ok(()) } else { Err(fail(format!("expected {usage}"))) }
        };
        let floor = |i: usize| args.get(i).copied().unwrap_or_default();
        let latency = match name.trim() {
            "constant" => {
                arity(&[1], "constant(VALUE)")?;
                Latency::Constant { value: args[0] }
            }
            "uniform" => {
                arity(&[2], "uniform(MIN, MAX)")?;
                Latency::Uniform { min: args[0], max: args[1] }
            }
            "normal" => {
                arity(&[2, 3], "normal(MEAN, STDDEV[, FLOOR])")?;
                Latency::Normal { mean: args[0], stddev: args[1], floor: floor(2) }
            }
            "lognormal" => {
                arity(&[2, 3], "lognormal(MEAN, STDDEV[, FLOOR])")?;
                Latency::LogNormal { mean: args[0], stddev: args[1], floor: floor(2) }
            }
            "exponential" => {
                arity(&[1, 2], "exponential(MEAN[, FLOOR])")?;
                Latency::Exponential { mean: args[0], floor: floor(1) }
            }
            other => {
                return Err(fail(format!(
                    "unknown distribution '{other}' (known: constant, uniform, normal, lognormal, exponential)"
                )));
            }
        };
        latency.sampler().map_err(|e| fail(e.reason))?;
        Ok(latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::derive_rng;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn samples(l: &Latency, n: usize) -> Vec<f64> {
        let s = l.sampler().unwrap();
        let mut rng = derive_rng(7, "latency-test", 0);
        (0..n).map(|_| s.sample(&mut rng) as f64).collect()
    }

    fn mean_sd(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var.sqrt())
    }

    /// With 100k samples the standard error of the mean is sd/316: 1% bounds leave room for
    /// nothing but a wrong distribution.
    #[test]
    fn samples_match_their_distribution() {
        let n = 100_000;
        let (m, sd) = mean_sd(&samples(&Latency::Uniform { min: ms(1), max: ms(10) }, n));
        assert!((m - 5.5e6).abs() < 0.01 * 5.5e6, "uniform mean {m}");
        assert!((sd - 9e6 / 12f64.sqrt()).abs() < 0.02 * 2.6e6, "uniform sd {sd}");
        let xs = samples(&Latency::Uniform { min: ms(1), max: ms(10) }, n);
        assert!(xs.iter().all(|&x| (1e6..=1e7).contains(&x)));

        let (m, sd) = mean_sd(&samples(&Latency::Normal { mean: ms(50), stddev: ms(5), floor: ms(0) }, n));
        assert!((m - 50e6).abs() < 0.01 * 50e6, "normal mean {m}");
        assert!((sd - 5e6).abs() < 0.02 * 5e6, "normal sd {sd}");

        let ln = Latency::LogNormal { mean: ms(5), stddev: ms(2), floor: ms(1) };
        let xs = samples(&ln, n);
        let (m, sd) = mean_sd(&xs);
        assert!((m - 6e6).abs() < 0.01 * 6e6, "lognormal mean {m}");
        assert!((sd - 2e6).abs() < 0.03 * 2e6, "lognormal sd {sd}");
        assert!(xs.iter().all(|&x| x >= 1e6), "floor respected");

        let (m, sd) = mean_sd(&samples(&Latency::Exponential { mean: ms(2), floor: ms(0) }, n));
        assert!((m - 2e6).abs() < 0.015 * 2e6, "exponential mean {m}");
        assert!((sd - 2e6).abs() < 0.02 * 2e6, "exponential sd {sd}");

        let xs = samples(&Latency::Constant { value: Duration::from_micros(200) }, 10);
        assert!(xs.iter().all(|&x| x == 200_000.0));
    }

    #[test]
    fn normal_never_goes_below_its_floor() {
        let xs = samples(&Latency::Normal { mean: ms(1), stddev: ms(2), floor: Duration::from_micros(100) }, 10_000);
        assert!(xs.iter().all(|&x| x >= 100_000.0));
    }

    #[test]
    fn text_form_round_trips() {
        for text in
            ["constant(1ms)", "uniform(1ms, 10ms)", "normal(5ms, 1ms)", "lognormal(5ms, 2ms, 1ms)", "exponential(2ms)"]
        {
            let l: Latency = text.parse().unwrap();
            assert_eq!(l.to_string(), text);
        }
        assert_eq!("5ms".parse::<Latency>().unwrap(), Latency::Constant { value: ms(5) });
    }

    #[test]
    fn text_form_errors_say_what_is_expected() {
        let e = "uniform(10ms, 1ms)".parse::<Latency>().unwrap_err();
        assert!(e.reason.contains("min is greater than max"), "{e}");
        let e = "gamma(1ms)".parse::<Latency>().unwrap_err();
        assert!(e.reason.contains("unknown distribution 'gamma'"), "{e}");
        let e = "normal(1ms)".parse::<Latency>().unwrap_err();
        assert!(e.reason.contains("normal(MEAN, STDDEV[, FLOOR])"), "{e}");
        let e = "uniform(1ms, 2ms".parse::<Latency>().unwrap_err();
        assert!(e.reason.contains("closing"), "{e}");
        let e = "fast".parse::<Latency>().unwrap_err();
        assert!(e.reason.contains("constant, uniform"), "{e}");
    }
}
