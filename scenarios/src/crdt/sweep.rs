//! The crdt study swept: one row per run with the headline numbers and whether every replica
//! converged. The grid, the table, the means over seeds and the phase diagram are the shared
//! sweep's ([`crate::sweep`]).

use serde::{Deserialize, Serialize};

use super::run::Summary;
use crate::study::run::{Measure, RunId, SweepRow, Verdict};

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
    /// The row of the finished run `id`.
    pub fn new(id: RunId, s: &Summary) -> Row {
        let a = &s.anomalies;
        let own = [a.counter_errors, a.orset_add_wins, a.orset_lost_adds, a.lww_lost_updates];
        Row {
            id,
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
    const MEASURES: &'static [Measure] = &[
        Measure {
            name: "convergence_s",
            header: "converge s",
            label: "last operation to convergence (s)",
            ratio: false,
        },
        Measure { name: "messages", header: "messages", label: "gossip messages", ratio: false },
        Measure { name: "bytes", header: "bytes", label: "gossip bytes", ratio: false },
        Measure { name: "state_bytes_max", header: "max state B", label: "largest state (bytes)", ratio: false },
        Measure { name: "anomalies", header: "anomalies", label: "the type's anomalies (count)", ratio: false },
    ];
    const VERDICT: Option<Verdict> = Some(Verdict { header: "converged", yes: "converges", no: "does not converge" });

    fn id(&self) -> &RunId {
        &self.id
    }

    fn measures(&self) -> Vec<Option<f64>> {
        vec![
            self.convergence_s,
            Some(self.messages as f64),
            Some(self.bytes as f64),
            Some(self.state_bytes_max as f64),
            Some(self.anomalies as f64),
        ]
    }

    fn verdict(&self) -> Option<bool> {
        Some(self.converged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::run::Setting;
    use crate::sweep::cells::Shown;
    use crate::sweep::report;

    fn row(value: &str, index: usize, converged: bool, s: Option<f64>) -> Row {
        Row {
            id: RunId {
                swept: vec![Setting { key: "merge-probability".into(), value: value.into() }],
                seed: index as u64,
                index,
                of: 4,
            },
            converged,
            convergence_s: s,
            messages: 10,
            bytes: 100,
            state_bytes_max: 50,
            anomalies: index as u64,
        }
    }

    #[test]
    fn values_average_their_seeds_in_sweep_order_and_count_convergence() {
        let rows = vec![
            row("0.1", 2, false, None),
            row("0.8", 0, true, Some(1.0)),
            row("0.8", 1, true, Some(2.0)),
            row("0.1", 3, true, Some(9.0)),
        ];
        let shown = Shown::choose::<Row>(Some("convergence-s")).unwrap();
        let json = report::json(&rows, shown).unwrap();
        let values = json["values"].as_array().unwrap();
        assert_eq!(values.iter().map(|v| v["at"][0].as_str().unwrap()).collect::<Vec<_>>(), ["0.8", "0.1"]);
        assert_eq!((&values[0]["runs"], &values[0]["convergence_s"]), (&2.into(), &1.5.into()));
        assert_eq!(values[1]["convergence_s"], 9.0, "the mean of the seeds that converged: {json}");
        assert_eq!((&values[1]["verdict"]["yes"], &values[1]["verdict"]["no"]), (&1.into(), &1.into()));
        let table = report::text("crdt", "x", &rows, shown);
        assert!(table.contains("1.00..2.00"), "the spread of the measure shown: {table}");
    }
}
