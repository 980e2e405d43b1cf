//! The metastable study swept: one row per (value, seed), aggregated per value, and the tipping
//! point where most runs stop recovering.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::run::Summary;
use crate::cli::InputError;
use crate::study::SweepRow;
use crate::study::run::{RunId, by_value, mean};
use crate::sweep::Job;

/// One run of a sweep: what a shard prints, one JSON line each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Which run this is.
    #[serde(flatten)]
    pub id: RunId,
    /// Recovered (absent without a trigger).
    pub recovered: Option<bool>,
    /// Seconds to recover.
    pub recovery_s: Option<f64>,
    /// Goodput ratio after the trigger.
    pub after_goodput_ratio: Option<f64>,
    /// Attempts per request after the trigger.
    pub after_attempts: Option<f64>,
}

impl Row {
    /// The row of one finished run.
    pub fn new(key: &str, job: &Job, seed: u64, of: u64, s: &Summary) -> Row {
        let after = s.phases.after.as_ref();
        Row {
            id: RunId::new(key, job, seed, of),
            recovered: s.recovered,
            recovery_s: s.recovery_s,
            after_goodput_ratio: after.map(|a| a.goodput_ratio),
            after_attempts: after.map(|a| a.retry_amplification),
        }
    }
}

impl SweepRow for Row {
    fn id(&self) -> &RunId {
        &self.id
    }
}

/// Every run of one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueSummary {
    /// The value.
    pub value: String,
    /// Runs (seeds).
    pub runs: usize,
    /// Runs that recovered.
    pub recovered: usize,
    /// Mean goodput ratio after the trigger.
    pub after_goodput_ratio: Option<f64>,
    /// Mean attempts per request after the trigger.
    pub after_attempts: Option<f64>,
}

impl ValueSummary {
    /// Most runs of this value recovered.
    pub fn mostly_recovers(&self) -> bool {
        2 * self.recovered > self.runs
    }
}

/// Rows grouped by value, in sweep order.
pub fn aggregate(rows: &[Row]) -> Vec<ValueSummary> {
    by_value(rows)
        .into_iter()
        .map(|(value, mine)| ValueSummary {
            runs: mine.len(),
            recovered: mine.iter().filter(|r| r.recovered == Some(true)).count(),
            after_goodput_ratio: mean(mine.iter().map(|r| r.after_goodput_ratio)),
            after_attempts: mean(mine.iter().map(|r| r.after_attempts)),
            value,
        })
        .collect()
}

/// The first two neighbouring values on either side of which the majority outcome differs.
pub fn tipping(values: &[ValueSummary]) -> Option<(&ValueSummary, &ValueSummary)> {
    values.windows(2).find(|w| w[0].mostly_recovers() != w[1].mostly_recovers()).map(|w| (&w[0], &w[1]))
}

/// The readable table and the tipping point.
pub fn table(key: &str, what: &str, values: &[ValueSummary]) -> String {
    let mut out = format!("metastable sweep of {key}: {what}\n\n");
    let w = key.len().max(8);
    let _ = writeln!(out, "{key:>w$} {:>6} {:>11} {:>12} {:>12}", "runs", "recovered", "after good%", "after att.x");
    let num = |v: Option<f64>, scale: f64| v.map_or("-".to_string(), |v| format!("{:.2}", v * scale));
    for v in values {
        let _ = writeln!(
            out,
            "{:>w$} {:>6} {:>11} {:>12} {:>12}",
            v.value,
            v.runs,
            format!("{}/{}", v.recovered, v.runs),
            num(v.after_goodput_ratio, 100.0),
            num(v.after_attempts, 1.0)
        );
    }
    let word = |v: &ValueSummary| if v.mostly_recovers() { "recovers" } else { "stays down" };
    match tipping(values) {
        Some((a, b)) => {
            let _ = writeln!(
                out,
                "\ntipping point: between {key}={} ({}) and {key}={} ({})",
                a.value,
                word(a),
                b.value,
                word(b)
            );
        }
        None => out.push_str("\ntipping point: not within these values (every value ended the same way)\n"),
    }
    out
}

/// The whole sweep: the table and its tipping point, or one JSON object (`json`).
pub fn report(key: &str, what: &str, rows: &[Row], json: bool) -> anyhow::Result<String> {
    let values = aggregate(rows);
    if json {
        let tip = tipping(&values).map(|(a, b)| serde_json::json!({"from": a.value, "to": b.value}));
        let all = serde_json::json!({"sweep": key, "values": values, "runs": rows, "tipping_point": tip});
        Ok(format!("{all}\n"))
    } else {
        Ok(table(key, what, &values))
    }
}

/// Reads the rows that shards printed (JSON lines), each file within `max_bytes`; errors name
/// the file and line. The rows must be the whole sweep, each run once: a missing shard is named.
pub fn read_rows(paths: &[impl AsRef<Path>], max_bytes: u64) -> Result<Vec<Row>, InputError> {
    crate::study::run::read_rows(paths, max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, seed: u64, index: usize, recovered: bool) -> Row {
        Row {
            id: RunId { key: "spike-rps".into(), value: value.into(), seed, index, of: 6 },
            recovered: Some(recovered),
            recovery_s: None,
            after_goodput_ratio: Some(if recovered { 1.0 } else { 0.0 }),
            after_attempts: Some(1.0),
        }
    }

    #[test]
    fn the_majority_of_seeds_decides_each_value() {
        let rows = vec![
            row("250", 1, 0, true),
            row("250", 2, 1, true),
            row("275", 1, 2, true),
            row("275", 2, 3, false),
            row("275", 3, 4, true),
            row("300", 1, 5, false),
        ];
        let values = aggregate(&rows);
        assert_eq!(values[1].recovered, 2);
        assert_eq!(values[1].runs, 3);
        let (a, b) = tipping(&values).unwrap();
        assert_eq!((a.value.as_str(), b.value.as_str()), ("275", "300"));
        assert!(
            table("spike-rps", "x", &values)
                .contains("between spike-rps=275 (recovers) and spike-rps=300 (stays down)")
        );
    }
}
