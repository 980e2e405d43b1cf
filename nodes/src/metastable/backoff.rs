//! How long a client waits before a retry.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use faultline::SimRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// The wait before retry number `n` (1-based).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backoff {
    /// Retry at once.
    #[default]
    None,
    /// `min(cap, base * 2^(n-1))`.
    Exponential,
    /// Uniform in `0..=min(cap, base * 2^(n-1))` (AWS "full jitter").
    FullJitter,
    /// `min(cap, uniform(base, 3 * previous))` (AWS "decorrelated jitter").
    Decorrelated,
}

impl Backoff {
    /// The wait before retry `n`, given the previous wait.
    pub fn delay(self, n: u32, base: Duration, cap: Duration, previous: Duration, rng: &mut SimRng) -> Duration {
        let exp = base.saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX)).min(cap);
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match self {
            Backoff::None => Duration::ZERO,
            Backoff::Exponential => exp,
            Backoff::FullJitter => Duration::from_nanos(rng.random_range(0..=nanos(exp))),
            Backoff::Decorrelated => {
                let hi = nanos(previous.max(base)).saturating_mul(3).max(nanos(base));
                Duration::from_nanos(rng.random_range(nanos(base)..=hi)).min(cap)
            }
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backoff::None => "none",
            Backoff::Exponential => "exponential",
            Backoff::FullJitter => "full-jitter",
            Backoff::Decorrelated => "decorrelated",
        })
    }
}

impl FromStr for Backoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Backoff::None),
            "exponential" => Ok(Backoff::Exponential),
            "full-jitter" => Ok(Backoff::FullJitter),
            "decorrelated" => Ok(Backoff::Decorrelated),
            _ => Err(format!("unknown backoff '{s}' (none, exponential, full-jitter, decorrelated)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backoff_stays_in_its_range() {
        let mut rng = faultline::derive_rng(1, "backoff", 0);
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(Backoff::None.delay(3, base, cap, Duration::ZERO, &mut rng), Duration::ZERO);
        assert_eq!(Backoff::Exponential.delay(1, base, cap, Duration::ZERO, &mut rng), base);
        assert_eq!(Backoff::Exponential.delay(3, base, cap, Duration::ZERO, &mut rng), Duration::from_millis(400));
        assert_eq!(Backoff::Exponential.delay(30, base, cap, Duration::ZERO, &mut rng), cap);
        for n in 1..8 {
            let d = Backoff::FullJitter.delay(n, base, cap, Duration::ZERO, &mut rng);
            assert!(d <= (base * 2u32.pow(n - 1)).min(cap));
            let prev = Duration::from_millis(300);
            let d = Backoff::Decorrelated.delay(n, base, cap, prev, &mut rng);
            assert!(d >= base && d <= Duration::from_millis(900));
        }
    }
}
