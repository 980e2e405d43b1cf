//! Types (SystemA/SystemB): upstream keeps amounts as `f64` and sums an invoice's lines in
//! floating point; downstream reads the JSON number as an exact decimal (rust_decimal) into a
//! `DECIMAL(p, 2)` column. Where the binary sum lands just below the exact one, a truncating
//! column loses a cent, silently; the oracle compares with the exact sum upstream meant, and
//! the drift of totals over the run is summed.

use std::time::Duration;

use faultline::{SimBuilder, SimRng};
use rand::RngExt;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::flow::{DataFlow, Fail};
use super::{ConfigError, Observer, Raw, check_records};

/// How downstream's column brings a value to its scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Drop the extra digits (toward zero).
    #[default]
    Truncate,
    /// Round half away from zero.
    HalfUp,
    /// Round half to even (banker's).
    HalfEven,
}

/// The types scenario's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TypesConfig {
    /// Invoices upstream writes.
    pub records: u64,
    /// Mean gap between invoices.
    #[serde(with = "faultline::time::serde_duration")]
    pub spacing: Duration,
    /// Most lines an invoice has (at least 1).
    pub max_lines: u32,
    /// Downstream's column scale (digits after the point).
    pub scale: u32,
    /// Downstream's column rounding.
    pub rounding: Rounding,
}

impl Default for TypesConfig {
    fn default() -> Self {
        TypesConfig {
            records: 10_000,
            spacing: Duration::from_millis(10),
            max_lines: 8,
            scale: 2,
            rounding: Rounding::Truncate,
        }
    }
}

impl TypesConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("types.records", self.records)?;
        if !(1..=1000).contains(&self.max_lines) {
            return Err(ConfigError::new(
                "types.max_lines",
                format!("must be between 1 and 1000, got {}", self.max_lines),
            ));
        }
        if !(2..=8).contains(&self.scale) {
            return Err(ConfigError::new("types.scale", format!("must be between 2 and 8, got {}", self.scale)));
        }
        Ok(())
    }

    /// Adds the pipeline's nodes to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        Ok(super::flow::install(builder, self.flow()?, observer))
    }

    /// The pipeline, once the configuration is valid.
    pub fn flow(&self) -> Result<TypesFlow, ConfigError> {
        self.validate()?;
        Ok(TypesFlow { config: self.clone() })
    }
}

/// An invoice as upstream holds it: its lines as entered (in cents, exact) and the total it
/// computed in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoice {
    /// Invoice number.
    pub invoice: u64,
    /// Line amounts in cents, as entered.
    pub lines_cents: Vec<i64>,
    /// Upstream's total: the lines as `f64` amounts, summed in `f64`.
    pub total: f64,
}

/// The wire form upstream writes (JSON).
#[derive(Serialize, Deserialize)]
struct Wire {
    invoice: u64,
    total: f64,
}

/// The wire form downstream writes and reads: the amount kept as its JSON text.
#[derive(Serialize, Deserialize)]
struct WireExact<'a> {
    invoice: u64,
    #[serde(borrow)]
    total: &'a RawValue,
}

/// An invoice as downstream stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Invoice number.
    pub invoice: u64,
    /// The total, at the column's scale.
    pub total: Decimal,
}

/// The types pipeline: no connector.
#[derive(Clone, Debug)]
pub struct TypesFlow {
    config: TypesConfig,
}

impl TypesFlow {
    /// The exact total upstream meant, in cents.
    pub fn meant_cents(v: &Invoice) -> i64 {
        v.lines_cents.iter().sum()
    }

    fn column(&self, d: Decimal) -> Decimal {
        let strategy = match self.config.rounding {
            Rounding::Truncate => RoundingStrategy::ToZero,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        d.round_dp_with_strategy(self.config.scale, strategy)
    }
}

/// A decimal as text at two places, for comparing meanings.
fn money(d: Decimal) -> String {
    format!("{:.2}", d.normalize())
}

impl DataFlow for TypesFlow {
    type Up = Invoice;
    type Down = Row;

    fn records(&self) -> u64 {
        self.config.records
    }
    fn spacing(&self) -> Duration {
        self.config.spacing
    }
    fn generate(&self, rng: &mut SimRng) -> Invoice {
        let n = rng.random_range(1..=self.config.max_lines);
        let lines_cents: Vec<i64> = (0..n).map(|_| rng.random_range(1..100_000)).collect();
        // Upstream parses each entered amount into an f64 and adds them up.
        let total =
            lines_cents.iter().map(|c| format!("{}.{:02}", c / 100, c % 100).parse::<f64>().unwrap_or(f64::NAN)).sum();
        Invoice { invoice: rng.random_range(0..1_000_000), lines_cents, total }
    }
    fn meant(&self, v: &Invoice) -> String {
        format!("invoice {} total {}", v.invoice, money(Decimal::new(Self::meant_cents(v), 2)))
    }
    fn write(&self, v: &Invoice) -> Result<Vec<u8>, Fail> {
        serde_json::to_vec(&Wire { invoice: v.invoice, total: v.total }).map_err(|e| Fail::new("json write", e))
    }
    fn read_own(&self, bytes: &[u8]) -> Result<Invoice, Fail> {
        let w: Wire = serde_json::from_slice(bytes).map_err(|e| Fail::new("json", e))?;
        // Upstream's own view of an invoice read back: its total, to the cent, as it shows it.
        let cents = (w.total * 100.0).round() as i64;
        Ok(Invoice { invoice: w.invoice, lines_cents: vec![cents], total: w.total })
    }
    fn read(&self, bytes: &[u8]) -> Result<Row, Fail> {
        let w: WireExact = serde_json::from_slice(bytes).map_err(|e| Fail::new("json", e))?;
        let exact = Decimal::from_str_exact(w.total.get())
            .or_else(|_| Decimal::from_scientific(w.total.get()))
            .map_err(|e| Fail::new("decimal", format!("{}: {e}", w.total.get())))?;
        Ok(Row { invoice: w.invoice, total: self.column(exact) })
    }
    fn write_own(&self, v: &Row) -> Result<Vec<u8>, Fail> {
        let raw = RawValue::from_string(v.total.to_string()).map_err(|e| Fail::new("json write", e))?;
        serde_json::to_vec(&WireExact { invoice: v.invoice, total: &raw }).map_err(|e| Fail::new("json write", e))
    }
    fn stored(&self, v: &Row) -> String {
        format!("invoice {} total {}", v.invoice, money(v.total))
    }
    fn meant_amount(&self, v: &Invoice) -> Option<i128> {
        Some(i128::from(Self::meant_cents(v)))
    }
    fn stored_amount(&self, v: &Row) -> Option<i128> {
        (v.total * Decimal::ONE_HUNDRED).trunc().to_i128()
    }
    fn own_sample(&self, rng: &mut SimRng) -> Row {
        Row { invoice: rng.random_range(0..1_000_000), total: Decimal::new(rng.random_range(1..10_000_000), 2) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::flow::{cross, self_tests};
    use faultline::derive_rng;

    #[test]
    fn sides_pass_alone_and_a_binary_sum_loses_a_cent_across() {
        let flow = TypesConfig::default().flow().unwrap();
        assert!(self_tests(&flow, 200, &mut derive_rng(4, "t", 0)).pass());
        // 0.1 + 0.7 = 0.7999999999999999 in f64; a truncating DECIMAL(p,2) stores 0.79.
        let v = Invoice { invoice: 1, lines_cents: vec![10, 70], total: 0.1 + 0.7 };
        assert_eq!(cross(&flow, &v).unwrap_err(), "meant invoice 1 total 0.80, stored invoice 1 total 0.79");
        let half_up = TypesConfig { rounding: Rounding::HalfUp, ..Default::default() }.flow().unwrap();
        assert!(cross(&half_up, &v).is_ok());
    }
}
