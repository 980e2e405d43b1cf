//! A link's behaviour: latency, jitter, loss and duplication, as configured and as compiled for
//! the hot path.

use std::fmt;
use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::latency::{Latency, Sampler};
use crate::control::ControlError;
use crate::seed::SimRng;
use crate::time::{format_duration, serde_duration};

/// How one directed link (or every link, as the default) treats messages. Plain data: it can
/// be written in a config file and is checked once, when the simulation is built or the
/// command arrives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Time one hop takes.
    pub latency: Latency,
    /// Extra delay drawn uniformly from `0..=jitter` per message; it reorders messages whose
    /// send times are closer than the jitter.
    #[serde(with = "serde_duration")]
    pub jitter: Duration,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (each copy with its own delay).
    pub duplicate: f64,
}

impl Default for LinkConfig {
    /// A 1 ms link that neither loses nor duplicates.
    fn default() -> Self {
        LinkConfig { latency: Latency::default(), jitter: Duration::ZERO, loss: 0.0, duplicate: 0.0 }
    }
}

impl LinkConfig {
    /// A link with a constant latency and nothing else.
    pub fn constant(latency: Duration) -> Self {
        LinkConfig { latency: Latency::Constant { value: latency }, ..LinkConfig::default() }
    }

    /// A link with the given latency distribution and nothing else.
    pub fn with_latency(latency: Latency) -> Self {
        LinkConfig { latency, ..LinkConfig::default() }
    }

    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), ControlError> {
        self.compile().map(|_| ())
    }

    pub(crate) fn compile(&self) -> Result<LinkModel, ControlError> {
        check_probability("loss", self.loss)?;
        check_probability("duplicate", self.duplicate)?;
        let sampler = self.latency.sampler().map_err(|e| ControlError::Invalid(e.to_string()))?;
        Ok(LinkModel {
            sampler,
            jitter: u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX),
            loss: self.loss,
            duplicate: self.duplicate,
        })
    }
}

impl fmt::Display for LinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "latency {}", self.latency)?;
        if !self.jitter.is_zero() {
            write!(f, " jitter {}", format_duration(self.jitter))?;
        }
        write!(f, " loss {} duplicate {}", self.loss, self.duplicate)
    }
}

pub(crate) fn check_probability(what: &'static str, value: f64) -> Result<(), ControlError> {
    if (0.0..=1.0).contains(&value) { Ok(()) } else { Err(ControlError::Probability { what, value }) }
}

/// A change to some fields of a link, as a fault command carries it; fields left `None` keep
/// their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkPatch {
    /// New latency distribution.
    pub latency: Option<Latency>,
    /// New jitter.
    #[serde(with = "crate::time::serde_option_duration")]
    pub jitter: Option<Duration>,
    /// New loss probability.
    pub loss: Option<f64>,
    /// New duplication probability.
    pub duplicate: Option<f64>,
}

impl LinkPatch {
    /// `base` with this patch applied.
    pub fn apply_to(&self, base: &LinkConfig) -> LinkConfig {
        LinkConfig {
            latency: self.latency.clone().unwrap_or_else(|| base.latency.clone()),
            jitter: self.jitter.unwrap_or(base.jitter),
            loss: self.loss.unwrap_or(base.loss),
            duplicate: self.duplicate.unwrap_or(base.duplicate),
        }
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == LinkPatch::default()
    }
}

impl fmt::Display for LinkPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(l) = &self.latency {
            parts.push(format!("latency {l}"));
        }
        if let Some(j) = self.jitter {
            parts.push(format!("jitter {}", format_duration(j)));
        }
        if let Some(p) = self.loss {
            parts.push(format!("loss {p}"));
        }
        if let Some(p) = self.duplicate {
            parts.push(format!("duplicate {p}"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// A link compiled for the hot path: the sampler is ready and probabilities are checked.
#[derive(Clone, Debug)]
pub(crate) struct LinkModel {
    sampler: Sampler,
    jitter: u64,
    loss: f64,
    duplicate: f64,
}

impl LinkModel {
    /// True when this message is lost.
    #[inline]
    pub(crate) fn loses(&self, rng: &mut SimRng) -> bool {
        self.loss > 0.0 && rng.random_bool(self.loss)
    }

    /// True when this message is delivered twice.
    #[inline]
    pub(crate) fn duplicates(&self, rng: &mut SimRng) -> bool {
        self.duplicate > 0.0 && rng.random_bool(self.duplicate)
    }

    /// One hop's delay in nanoseconds, jitter included.
    #[inline]
    pub(crate) fn delay(&self, rng: &mut SimRng) -> u64 {
        let base = self.sampler.sample(rng);
        if self.jitter == 0 { base } else { base.saturating_add(rng.random_range(0..=self.jitter)) }
    }
}
