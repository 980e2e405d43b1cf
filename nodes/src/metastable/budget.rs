//! A retry budget: a token bucket that successes fill and retries drain, so retries stay a
//! fraction of successful traffic however bad things get.

use serde::{Deserialize, Serialize};

/// How a retry budget is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Tokens each success deposits (0.1: at most one retry per ten successes, in the long run).
    pub ratio: f64,
    /// Most tokens the bucket holds (and holds at the start).
    pub max: f64,
}

/// The bucket itself, counted in thousandths of a token so that ten deposits of 0.1 make
/// exactly one token.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    deposit: u64,
    max: u64,
    tokens: u64,
}

const ONE: u64 = 1000;

impl RetryBudget {
    /// A full bucket.
    pub fn new(config: BudgetConfig) -> Self {
        let milli = |x: f64| (x * ONE as f64).round().max(0.0) as u64;
        RetryBudget { deposit: milli(config.ratio), max: milli(config.max), tokens: milli(config.max) }
    }

    /// A success deposits `ratio`.
    pub fn deposit(&mut self) {
        self.tokens = (self.tokens + self.deposit).min(self.max);
    }

    /// A retry spends one token, if there is one.
    pub fn try_spend(&mut self) -> bool {
        let ok = self.tokens >= ONE;
        if ok {
            self.tokens -= ONE;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_paid_for_by_successes() {
        let mut b = RetryBudget::new(BudgetConfig { ratio: 0.1, max: 2.0 });
        assert!(b.try_spend() && b.try_spend());
        assert!(!b.try_spend(), "empty");
        for _ in 0..9 {
            b.deposit();
        }
        assert!(!b.try_spend(), "0.9 tokens");
        b.deposit();
        assert!(b.try_spend(), "ten successes buy one retry");
        for _ in 0..1000 {
            b.deposit();
        }
        assert!(b.try_spend() && b.try_spend() && !b.try_spend(), "capped at max");
    }
}
