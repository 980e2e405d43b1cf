//! The cap study swept: one row per run with the headline numbers and, when the history was
//! checked, the linearizability verdict. The grid, the table, the means over seeds and the
//! phase diagram are the shared sweep's ([`crate::sweep`]).

use serde::{Deserialize, Serialize};

use super::run::Summary;
use crate::study::run::{Measure, RunId, SweepRow, Verdict};

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
    /// The row of the finished run `id`.
    pub fn new(id: RunId, s: &Summary) -> Row {
        Row {
            id,
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
    const MEASURES: &'static [Measure] = &[
        Measure { name: "read_p50_ms", header: "read p50", label: "median read latency (ms)", ratio: false },
        Measure { name: "write_p50_ms", header: "write p50", label: "median write latency (ms)", ratio: false },
        Measure { name: "availability", header: "avail.", label: "availability (share of operations)", ratio: true },
        Measure {
            name: "minority_availability",
            header: "minority",
            label: "minority-side availability in the partition",
            ratio: true,
        },
        Measure { name: "stale_ratio", header: "stale", label: "stale reads (share of reads)", ratio: true },
        Measure { name: "lost_writes", header: "lost", label: "acknowledged writes lost", ratio: false },
    ];
    const VERDICT: Option<Verdict> =
        Some(Verdict { header: "linearizable", yes: "is linearizable", no: "is not linearizable" });

    fn id(&self) -> &RunId {
        &self.id
    }

    fn measures(&self) -> Vec<Option<f64>> {
        vec![
            self.read_p50_ms,
            self.write_p50_ms,
            self.availability,
            self.minority_availability,
            self.stale_ratio,
            Some(self.lost_writes as f64),
        ]
    }

    fn verdict(&self) -> Option<bool> {
        self.linearizable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::run::Setting;
    use crate::sweep::cells::Shown;
    use crate::sweep::report;

    fn row(value: &str, index: usize, p50: f64, linearizable: Option<bool>) -> Row {
        Row {
            id: RunId {
                swept: vec![Setting { key: "consistency".into(), value: value.into() }],
                seed: index as u64,
                index,
                of: 4,
            },
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
        let shown = Shown::choose::<Row>(Some("write-p50-ms")).unwrap();
        let json = report::json(&rows, shown).unwrap();
        let values = json["values"].as_array().unwrap();
        assert_eq!(values.iter().map(|v| v["at"][0].as_str().unwrap()).collect::<Vec<_>>(), ["strong", "linearizable"]);
        assert_eq!(
            (&values[0]["runs"], &values[0]["write_p50_ms"], &values[0]["lost_writes"]),
            (&2.into(), &12.0.into(), &1.0.into())
        );
        assert_eq!(values[0]["spread"]["write_p50_ms"]["max"], 14.0);
        assert_eq!((&values[0]["verdict"]["yes"], &values[0]["verdict"]["no"]), (&1.into(), &1.into()));
        let table = report::text("cap", "x", &rows, shown);
        assert!(table.contains("strong     2          1/2       12        12   100.0%"), "{table}");
        assert!(table.contains("10.00..14.00"), "the spread of the measure shown: {table}");
        assert!(table.lines().all(|l| l.len() < 120), "{table}");
    }
}
