//! The crdt study swept: one row per (value, seed) with the headline numbers, and per value
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
    /// Whether every replica's state was equal at the end.
    pub converged: bool,
    /// From the last operation to convergence (s).
    pub convergence_s: Option<f64>,
    /// Gossip messages.
    pub messages: u64,
    /// Gossip bytes.
    pub bytes: u64,
    /// Largest state (bytes).
    pub state_bytes_max: usize,
    /// The type's own anomalies: add-wins outcomes, lost updates, counter errors.
    pub anomalies: u64,
}

impl Row {
    /// The row of one finished run.
    pub fn new(key: &str, job: &Job, seed: u64, of: u64, s: &Summary) -> Row {
        let a = &s.anomalies;
        let own = [a.counter_errors, a.orset_add_wins, a.orset_lost_adds, a.lww_lost_updates];
        Row {
            id: RunId::new(key, job, seed, of),
            converged: s.converged,
            convergence_s: s.convergence_s,
            messages: s.messages,
            bytes: s.bytes,
            state_bytes_max: s.state_bytes.max,
            anomalies: own.iter().flatten().sum(),
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
    /// Runs that converged.
    pub converged: usize,
    /// Mean convergence time of those that converged (s).
    pub convergence_s: Option<f64>,
    /// Mean messages.
    pub messages: Option<f64>,
    /// Mean bytes.
    pub bytes: Option<f64>,
    /// Mean largest state (bytes).
    pub state_bytes_max: Option<f64>,
    /// Mean anomalies.
    pub anomalies: Option<f64>,
}

/// Rows grouped by value, in sweep order.
pub fn aggregate(rows: &[Row]) -> Vec<ValueSummary> {
    let f = |x: u64| Some(x as f64);
    by_value(rows)
        .into_iter()
        .map(|(value, mine)| ValueSummary {
            runs: mine.len(),
            converged: mine.iter().filter(|r| r.converged).count(),
            convergence_s: mean(mine.iter().map(|r| r.convergence_s)),
            messages: mean(mine.iter().map(|r| f(r.messages))),
            bytes: mean(mine.iter().map(|r| f(r.bytes))),
            state_bytes_max: mean(mine.iter().map(|r| f(r.state_bytes_max as u64))),
            anomalies: mean(mine.iter().map(|r| f(r.anomalies))),
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
    let mut out = format!("crdt sweep of {key}: {what}\n\n");
    let w = values.iter().map(|v| v.value.len()).chain([key.len(), 8]).max().unwrap_or(8);
    let _ = writeln!(
        out,
        "{key:>w$} {:>5} {:>10} {:>14} {:>10} {:>12} {:>11} {:>10}",
        "runs", "converged", "convergence s", "messages", "bytes", "max state B", "anomalies"
    );
    let num = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    for v in &values {
        let _ = writeln!(
            out,
            "{:>w$} {:>5} {:>10} {:>14} {:>10} {:>12} {:>11} {:>10}",
            v.value,
            v.runs,
            format!("{}/{}", v.converged, v.runs),
            num(v.convergence_s, 3),
            num(v.messages, 0),
            num(v.bytes, 0),
            num(v.state_bytes_max, 0),
            num(v.anomalies, 1)
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, index: usize, converged: bool, s: Option<f64>) -> Row {
        Row {
            id: RunId { key: "merge-probability".into(), value: value.into(), seed: index as u64, index, of: 4 },
            converged,
            convergence_s: s,
            messages: 10,
            bytes: 100,
            state_bytes_max: 50,
            anomalies: index as u64,
        }
    }

    #[test]
    fn values_average_their_seeds_in_sweep_order() {
        let rows = vec![
            row("0.1", 2, false, None),
            row("0.8", 0, true, Some(1.0)),
            row("0.8", 1, true, Some(2.0)),
            row("0.1", 3, true, Some(9.0)),
        ];
        let values = aggregate(&rows);
        assert_eq!(values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["0.8", "0.1"]);
        assert_eq!((values[0].converged, values[0].convergence_s, values[0].anomalies), (2, Some(1.5), Some(0.5)));
        assert_eq!((values[1].converged, values[1].convergence_s), (1, Some(9.0)));
        let table = report("merge-probability", "x", &rows, false).unwrap();
        assert!(table.contains("0.1     2        1/2          9.000"), "{table}");
    }
}
