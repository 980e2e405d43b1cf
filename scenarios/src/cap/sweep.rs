//! The cap study swept: one row per (value, seed) with the headline numbers, and per value
//! their means over seeds, as a table or one JSON object.

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
    /// Median read latency (ms).
    pub read_p50_ms: Option<f64>,
    /// Median write latency (ms).
    pub write_p50_ms: Option<f64>,
    /// Availability over every operation.
    pub availability: Option<f64>,
    /// Availability of the minority side during the partition.
    pub minority_availability: Option<f64>,
    /// Stale reads over successful reads.
    pub stale_ratio: Option<f64>,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// The linearizability verdict, when checked.
    pub linearizable: Option<bool>,
}

impl Row {
    /// The row of one finished run.
    pub fn new(key: &str, job: &Job, seed: u64, of: u64, s: &Summary) -> Row {
        Row {
            id: RunId::new(key, job, seed, of),
            read_p50_ms: s.read.p50_ms,
            write_p50_ms: s.write.p50_ms,
            availability: s.availability.overall.ratio,
            minority_availability: s.availability.by_side.and_then(|side| side.minority.ratio),
            stale_ratio: s.stale_ratio,
            lost_writes: s.lost_writes,
            linearizable: s.linearizable,
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
    /// Mean median read latency (ms).
    pub read_p50_ms: Option<f64>,
    /// Mean median write latency (ms).
    pub write_p50_ms: Option<f64>,
    /// Mean availability.
    pub availability: Option<f64>,
    /// Mean minority-side availability during the partition.
    pub minority_availability: Option<f64>,
    /// Mean stale ratio.
    pub stale_ratio: Option<f64>,
    /// Lost writes, summed.
    pub lost_writes: u64,
    /// Runs found linearizable.
    pub linearizable: usize,
    /// Runs found not linearizable.
    pub not_linearizable: usize,
}

/// Rows grouped by value, in sweep order.
pub fn aggregate(rows: &[Row]) -> Vec<ValueSummary> {
    by_value(rows)
        .into_iter()
        .map(|(value, mine)| ValueSummary {
            runs: mine.len(),
            read_p50_ms: mean(mine.iter().map(|r| r.read_p50_ms)),
            write_p50_ms: mean(mine.iter().map(|r| r.write_p50_ms)),
            availability: mean(mine.iter().map(|r| r.availability)),
            minority_availability: mean(mine.iter().map(|r| r.minority_availability)),
            stale_ratio: mean(mine.iter().map(|r| r.stale_ratio)),
            lost_writes: mine.iter().map(|r| r.lost_writes).sum(),
            linearizable: mine.iter().filter(|r| r.linearizable == Some(true)).count(),
            not_linearizable: mine.iter().filter(|r| r.linearizable == Some(false)).count(),
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
    let mut out = format!("cap sweep of {key}: {what}\n\n");
    let w = values.iter().map(|v| v.value.len()).chain([key.len(), 8]).max().unwrap_or(8);
    let _ = writeln!(
        out,
        "{key:>w$} {:>5} {:>10} {:>10} {:>8} {:>9} {:>7} {:>6} {:>12}",
        "runs", "read p50", "write p50", "avail.", "minority", "stale", "lost", "linearizable"
    );
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    for v in &values {
        let lin = if v.linearizable + v.not_linearizable == 0 {
            "-".to_string()
        } else {
            format!("{}/{}", v.linearizable, v.runs)
        };
        let _ = writeln!(
            out,
            "{:>w$} {:>5} {:>10} {:>10} {:>8} {:>9} {:>7} {:>6} {:>12}",
            v.value,
            v.runs,
            ms(v.read_p50_ms),
            ms(v.write_p50_ms),
            pct(v.availability),
            pct(v.minority_availability),
            pct(v.stale_ratio),
            v.lost_writes,
            lin
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, index: usize, p50: f64, linearizable: Option<bool>) -> Row {
        Row {
            id: RunId { key: "consistency".into(), value: value.into(), seed: index as u64, index, of: 4 },
            read_p50_ms: Some(p50),
            write_p50_ms: Some(p50),
            availability: Some(1.0),
            minority_availability: None,
            stale_ratio: Some(0.0),
            lost_writes: 1,
            linearizable,
        }
    }

    #[test]
    fn values_average_their_seeds_in_sweep_order_and_count_verdicts() {
        let rows = vec![
            row("linearizable", 2, 12.0, Some(true)),
            row("strong", 0, 10.0, Some(true)),
            row("strong", 1, 14.0, Some(false)),
            row("linearizable", 3, 12.0, None),
        ];
        let values = aggregate(&rows);
        assert_eq!(values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["strong", "linearizable"]);
        assert_eq!((values[0].runs, values[0].write_p50_ms, values[0].lost_writes), (2, Some(12.0), 2));
        assert_eq!((values[0].linearizable, values[0].not_linearizable), (1, 1));
        let table = report("consistency", "x", &rows, false).unwrap();
        assert!(table.contains("linearizable     2       12.0"), "{table}");
        assert!(table.lines().all(|l| l.len() < 120), "{table}");
    }
}
