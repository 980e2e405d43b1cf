//! The csi study swept: one row per run with the oracle's headline numbers, and whether any
//! record went wrong. The grid, the table, the means over seeds and the phase diagram are the
//! shared sweep's ([`crate::sweep`]).

use serde::{Deserialize, Serialize};

use super::run::Summary;
use crate::study::run::{Measure, RunId, SweepRow, Verdict};

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
    /// The row of the finished run `id` (a sweep runs one scenario).
    pub fn new(id: RunId, s: &Summary) -> Row {
        let runs = s.runs();
        let r = runs.first();
        Row {
            id,
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
    const MEASURES: &'static [Measure] = &[
        Measure { name: "failure_ratio", header: "failed", label: "records wrong (share)", ratio: true },
        Measure { name: "loud_failures", header: "loud", label: "loud failures (records)", ratio: false },
        Measure { name: "silent_corruptions", header: "silent", label: "silent corruptions (records)", ratio: false },
        Measure { name: "duplicates", header: "dupes", label: "duplicate side effects", ratio: false },
        Measure { name: "out_of_order", header: "reordered", label: "out-of-order applies", ratio: false },
        Measure { name: "p_catch", header: "p(catch)", label: "write-read catch probability", ratio: true },
    ];
    const VERDICT: Option<Verdict> =
        Some(Verdict { header: "all right", yes: "gets every record right", no: "gets records wrong" });

    fn id(&self) -> &RunId {
        &self.id
    }

    fn measures(&self) -> Vec<Option<f64>> {
        let deployed = |x: f64| self.deployed.then_some(x);
        vec![
            deployed(self.failure_ratio),
            deployed(self.loud_failures as f64),
            deployed(self.silent_corruptions as f64),
            deployed(self.duplicates as f64),
            deployed(self.out_of_order as f64),
            self.p_catch,
        ]
    }

    /// A pair a check refused never ran: it has no verdict.
    fn verdict(&self) -> Option<bool> {
        self.deployed.then_some(self.loud_failures + self.silent_corruptions + self.duplicates + self.out_of_order == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::run::Setting;
    use crate::sweep::cells::Shown;
    use crate::sweep::report;

    fn row(value: &str, index: usize, ratio: f64) -> Row {
        Row {
            id: RunId {
                swept: vec![Setting { key: "non-ascii-share".into(), value: value.into() }],
                seed: index as u64,
                index,
                of: 3,
            },
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
        let rows = vec![row("0.4", 2, 0.4), row("0.1", 0, 0.1), row("0.1", 1, 0.12), row("0", 3, 0.0)];
        let shown = Shown::choose::<Row>(Some("failure-ratio")).unwrap();
        let json = report::json(&rows, shown).unwrap();
        let values = json["values"].as_array().unwrap();
        assert_eq!(values.iter().map(|v| v["at"][0].as_str().unwrap()).collect::<Vec<_>>(), ["0.1", "0.4", "0"]);
        assert!((values[0]["failure_ratio"].as_f64().unwrap() - 0.11).abs() < 1e-12, "{json}");
        assert_eq!((&values[2]["verdict"]["yes"], &values[2]["verdict"]["no"]), (&1.into(), &0.into()));
        assert_eq!((&values[0]["verdict"]["yes"], &values[0]["verdict"]["no"]), (&0.into(), &2.into()));
    }
}
