//! One run of a sweep as a row: which run it is ([`RunId`]), and what a study must provide for
//! the shared sweep report, merge and phase diagram ([`SweepRow`]): its measures, and its
//! verdict if it has one.
//!
//! A study gets grids, shards, merges, the table, `sweep.json` and the phase diagram by giving
//! its row type:
//! - a [`RunId`] field, flattened (`#[serde(flatten)] id: RunId`), returned by [`SweepRow::id`];
//! - [`SweepRow::MEASURES`], the numbers every row has (their names are the row's JSON fields
//!   and what `--measure NAME` accepts), and [`SweepRow::measures`], this row's values in that
//!   order (`None` where the run had none);
//! - if a run ends with a yes/no verdict (recovered, linearizable, converged),
//!   [`SweepRow::VERDICT`] with the words for each outcome, and [`SweepRow::verdict`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Grid, Job};

/// A number every row of a study has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measure {
    /// Its name: the row's JSON field, and what `--measure` takes.
    pub name: &'static str,
    /// The table's column header (short).
    pub header: &'static str,
    /// What it is, with its unit (the diagram's axis or legend).
    pub label: &'static str,
    /// A ratio from 0 to 1, shown as a percentage.
    pub ratio: bool,
}

/// What a study's yes/no verdict on a run says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// The verdict's column header (`recovered`).
    pub header: &'static str,
    /// A run that ends well (`recovers`).
    pub yes: &'static str,
    /// A run that ends badly (`stays down`).
    pub no: &'static str,
}

/// One run of a sweep, as a shard prints it (one JSON line): enough for a merge to tell which
/// sweep it belongs to and whether a run is missing or doubled, and for the report to place it.
pub trait SweepRow: Serialize + DeserializeOwned + Clone + Send {
    /// The numbers of every row, in table order.
    const MEASURES: &'static [Measure];
    /// The words of the study's verdict, if runs end with one.
    const VERDICT: Option<Verdict> = None;

    /// Which run of which sweep this row is.
    fn id(&self) -> &RunId;
    /// This run's value of each of [`SweepRow::MEASURES`], in that order.
    fn measures(&self) -> Vec<Option<f64>>;
    /// This run's verdict: `Some(true)` for [`Verdict::yes`], `None` when it has none.
    fn verdict(&self) -> Option<bool> {
        None
    }

    /// Position in the whole sweep.
    fn index(&self) -> usize {
        self.id().index
    }
    /// Runs in the whole sweep.
    fn of(&self) -> u64 {
        self.id().of
    }
}

/// One swept parameter's value in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// The parameter, as its flag is spelled.
    pub key: String,
    /// Its value, as written on the command line.
    pub value: String,
}

/// What identifies one run in a sweep's rows, the same in every study: a study's row holds it
/// (flattened, so a row's JSON starts with these fields) and adds its own measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunId {
    /// Every swept parameter's value in this run, in the grid's order.
    pub swept: Vec<Setting>,
    /// The seed.
    pub seed: u64,
    /// Position in the whole sweep.
    pub index: usize,
    /// Runs in the whole sweep (so that a merge knows when a shard is missing).
    pub of: u64,
}

impl RunId {
    /// The id of `job` of `grid`, a sweep of `of` runs, run with `seed`.
    pub fn new(grid: &Grid, job: &Job, seed: u64, of: u64) -> RunId {
        let swept = grid
            .axes
            .iter()
            .zip(&job.values)
            .map(|(axis, value)| Setting { key: axis.key.clone(), value: value.clone() })
            .collect();
        RunId { swept, seed, index: job.index, of }
    }

    /// The swept parameters, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.swept.iter().map(|s| s.key.as_str()).collect()
    }

    /// Their values in this run, in order.
    pub fn values(&self) -> Vec<&str> {
        self.swept.iter().map(|s| s.value.as_str()).collect()
    }
}

/// The mean of the values present, if any.
pub fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = xs.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A row for the sweep's own tests: one measure `x_ms` and a verdict ("held").
#[cfg(test)]
pub(crate) mod test_row {
    use serde::{Deserialize, Serialize};

    use super::{Measure, RunId, SweepRow, Verdict};

    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub(crate) struct R {
        #[serde(flatten)]
        pub(crate) id: RunId,
        pub(crate) ok: Option<bool>,
        pub(crate) x: Option<f64>,
    }

    impl SweepRow for R {
        const MEASURES: &'static [Measure] =
            &[Measure { name: "x_ms", header: "x", label: "x latency (ms)", ratio: false }];
        const VERDICT: Option<Verdict> = Some(Verdict { header: "held", yes: "holds", no: "breaks" });
        fn id(&self) -> &RunId {
            &self.id
        }
        fn measures(&self) -> Vec<Option<f64>> {
            vec![self.x]
        }
        fn verdict(&self) -> Option<bool> {
            self.ok
        }
    }
}
