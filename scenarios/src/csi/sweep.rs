//! The csi study swept: one row per (value, seed) with the oracle's headline numbers, and per
//! value their means over seeds, as a table or one JSON object.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::run::Summary;
use crate::study::SweepRow;
use crate::study::run::{RunId, by_value, mean};
use crate::sweep::Job;

/// One run of a sweep: what a shard prints, one JSON line each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Which run this is.
    #[serde(flatten)]
    pub id: RunId,
    /// Whether the pair went live (a check may refuse it).
    pub deployed: bool,
    /// Records produced.
    pub records: u64,
    /// Records with an error somebody saw.
    pub loud_failures: u64,
    /// Records wrong without anybody knowing.
    pub silent_corruptions: u64,
    /// (loud + silent) / records.
    pub failure_ratio: f64,
    /// Side effects applied more than once.
    pub duplicates: u64,
    /// Operations applied after a newer one on the same entity (api).
    pub out_of_order: u64,
    /// The write-read check's catch probability, when it ran.
    pub p_catch: Option<f64>,
}

impl Row {
    /// The row of one finished run (a sweep runs one scenario).
    pub fn new(key: &str, job: &Job, seed: u64, of: u64, s: &Summary) -> Row {
        let runs = s.runs();
        let r = runs.first();
        Row {
            id: RunId::new(key, job, seed, of),
            deployed: r.is_some_and(|r| r.deployed),
            records: r.map_or(0, |r| r.records),
            loud_failures: r.map_or(0, |r| r.loud_failures),
            silent_corruptions: r.map_or(0, |r| r.silent_corruptions),
            failure_ratio: r.map_or(0.0, |r| r.failure_ratio),
            duplicates: r.map_or(0, |r| r.duplicates),
            out_of_order: r.and_then(|r| r.counters.get("out_of_order").copied()).unwrap_or(0),
            p_catch: r.and_then(|r| r.prevention.iter().find_map(|p| p.write_read.as_ref().map(|w| w.p_catch))),
        }
    }
}

impl SweepRow for Row {
    fn id(&self) -> &RunId {
        &self.id
    }
}

/// Every run of one value, averaged over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValueSummary {
    /// The value.
    pub value: String,
    /// Runs (seeds).
    pub runs: usize,
    /// Runs that went live.
    pub deployed: usize,
    /// Mean failure ratio.
    pub failure_ratio: Option<f64>,
    /// Mean loud failures.
    pub loud_failures: Option<f64>,
    /// Mean silent corruptions.
    pub silent_corruptions: Option<f64>,
    /// Mean duplicates.
    pub duplicates: Option<f64>,
    /// Mean out-of-order applies.
    pub out_of_order: Option<f64>,
    /// Mean write-read catch probability.
    pub p_catch: Option<f64>,
}

/// Rows grouped by value, in sweep order.
pub fn aggregate(rows: &[Row]) -> Vec<ValueSummary> {
    let m = |xs: &[&Row], f: fn(&Row) -> f64| mean(xs.iter().map(|r| Some(f(r))));
    by_value(rows)
        .into_iter()
        .map(|(value, mine)| ValueSummary {
            runs: mine.len(),
            deployed: mine.iter().filter(|r| r.deployed).count(),
            failure_ratio: m(&mine, |r| r.failure_ratio),
            loud_failures: m(&mine, |r| r.loud_failures as f64),
            silent_corruptions: m(&mine, |r| r.silent_corruptions as f64),
            duplicates: m(&mine, |r| r.duplicates as f64),
            out_of_order: m(&mine, |r| r.out_of_order as f64),
            p_catch: mean(mine.iter().map(|r| r.p_catch)),
            value,
        })
        .collect()
}

/// The whole sweep: a table of the means per value, or one JSON object (`json`).
pub fn report(key: &str, what: &str, rows: &[Row], json: bool) -> anyhow::Result<String> {
    let values = aggregate(rows);
    if json {
        let all = serde_json::json!({"sweep": key, "values": values, "runs": rows});
        return Ok(format!("{all}\n"));
    }
    let mut out = format!("csi sweep of {key}: {what}\n\n");
    let w = values.iter().map(|v| v.value.len()).chain([key.len(), 8]).max().unwrap_or(8);
    let _ = writeln!(
        out,
        "{key:>w$} {:>5} {:>8} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}",
        "runs", "deployed", "failures", "loud", "silent", "duplicates", "out of order", "P(catch)"
    );
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    let n = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let p = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for v in &values {
        let _ = writeln!(
            out,
            "{:>w$} {:>5} {:>8} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}",
            v.value,
            v.runs,
            v.deployed,
            pct(v.failure_ratio),
            n(v.loud_failures),
            n(v.silent_corruptions),
            n(v.duplicates),
            n(v.out_of_order),
            p(v.p_catch)
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, index: usize, ratio: f64) -> Row {
        Row {
            id: RunId { key: "non-ascii-share".into(), value: value.into(), seed: index as u64, index, of: 3 },
            deployed: true,
            records: 100,
            loud_failures: (ratio * 100.0) as u64,
            silent_corruptions: 0,
            failure_ratio: ratio,
            duplicates: 0,
            out_of_order: 0,
            p_catch: None,
        }
    }

    #[test]
    fn values_average_their_seeds_in_sweep_order() {
        let rows = vec![row("0.4", 2, 0.4), row("0.1", 0, 0.1), row("0.1", 1, 0.12)];
        let values = aggregate(&rows);
        assert_eq!(values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["0.1", "0.4"]);
        assert!((values[0].failure_ratio.unwrap() - 0.11).abs() < 1e-12);
        let table = report("non-ascii-share", "x", &rows, false).unwrap();
        assert!(table.contains("            0.1     2        2     11.0%"), "{table}");
    }
}
