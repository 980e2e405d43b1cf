//! The metastable study swept: one row per run with whether it recovered and how the system
//! did after the trigger. The grid, the table, the tipping points and the phase diagram are the
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
    /// The row of the finished run `id`.
    pub fn new(id: RunId, s: &Summary) -> Row {
        let after = s.phases.after.as_ref();
        Row {
            id,
            recovered: s.recovered,
            recovery_s: s.recovery_s,
            after_goodput_ratio: after.map(|a| a.goodput_ratio),
            after_attempts: after.map(|a| a.retry_amplification),
        }
    }
}

impl SweepRow for Row {
    const MEASURES: &'static [Measure] = &[
        Measure {
            name: "after_goodput_ratio",
            header: "after good%",
            label: "goodput after the trigger (share of requests)",
            ratio: true,
        },
        Measure {
            name: "after_attempts",
            header: "after att.x",
            label: "attempts per request after the trigger",
            ratio: false,
        },
        Measure { name: "recovery_s", header: "recovery s", label: "time to recover (s)", ratio: false },
    ];
    const VERDICT: Option<Verdict> = Some(Verdict { header: "recovered", yes: "recovers", no: "stays down" });

    fn id(&self) -> &RunId {
        &self.id
    }

    fn measures(&self) -> Vec<Option<f64>> {
        vec![self.after_goodput_ratio, self.after_attempts, self.recovery_s]
    }

    fn verdict(&self) -> Option<bool> {
        self.recovered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::run::Setting;
    use crate::sweep::cells::Shown;
    use crate::sweep::report;

    fn row(value: &str, seed: u64, index: usize, recovered: bool) -> Row {
        Row {
            id: RunId { swept: vec![Setting { key: "spike-rps".into(), value: value.into() }], seed, index, of: 6 },
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
        let shown = Shown::choose::<Row>(None).unwrap();
        let table = report::text("metastable", "x", &rows, shown);
        assert!(table.contains("between spike-rps=275 (recovers) and spike-rps=300 (stays down)"), "{table}");
        assert!(table.contains("  275     3       2/3       66.7%"), "{table}");
        let json = report::json(&rows, shown).unwrap();
        assert_eq!(json["values"][1]["verdict"]["outcome"], "mixed");
        assert_eq!(json["tipping_points"][0]["to"][0], "300");
    }
}
