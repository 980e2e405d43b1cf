//! A sweep's rows gathered into cells, one per point of the grid (every seed of it): the axes
//! with their values in sweep order, and per cell how its seeds ended and the spread of each
//! measure. The table, `sweep.json` and the diagram all read these.

use super::row::{Measure, SweepRow, Verdict};

/// One swept parameter and its values, in sweep order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The parameter, as its flag is spelled.
    pub key: String,
    /// Its values, in sweep order.
    pub values: Vec<String>,
}

/// The spread of one measure over a cell's seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `xs`, if there is any value.
    pub fn of(xs: &[f64]) -> Option<Spread> {
        if xs.is_empty() {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Spread { mean, min, max })
    }
}

/// How a cell's seeds ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every seed ended well.
    Yes,
    /// Every seed ended badly.
    No,
    /// The seeds disagree.
    Mixed,
    /// No seed has a verdict (the study has none, or the run could not judge).
    Unknown,
}

/// One point of the grid, every seed of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Its position on each axis.
    pub at: Vec<usize>,
    /// Its value on each axis.
    pub values: Vec<String>,
    /// Runs (seeds).
    pub runs: usize,
    /// Runs whose verdict is yes.
    pub yes: usize,
    /// Runs whose verdict is no.
    pub no: usize,
    /// Each measure's values over the seeds that have one, in run order.
    pub samples: Vec<Vec<f64>>,
}

impl Cell {
    /// How the seeds ended.
    pub fn outcome(&self) -> Outcome {
        match (self.yes, self.no) {
            (0, 0) => Outcome::Unknown,
            (_, 0) => Outcome::Yes,
            (0, _) => Outcome::No,
            _ => Outcome::Mixed,
        }
    }

    /// Most seeds ended well (`None` without verdicts).
    pub fn mostly_yes(&self) -> Option<bool> {
        (self.yes + self.no > 0).then_some(self.yes > self.no)
    }

    /// The spread of measure `i`.
    pub fn spread(&self, i: usize) -> Option<Spread> {
        Spread::of(&self.samples[i])
    }
}

/// What the report and diagram show of each cell: the verdict or one measure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shown {
    /// The verdict: the share of seeds that ended well.
    Verdict(Verdict),
    /// Measure `index` of the study's measures.
    Measure(usize, Measure),
}

impl Shown {
    /// What `--measure NAME` asks of rows of type `R` (`None`: the verdict if the study has
    /// one, else its first measure), or an error listing what is allowed.
    pub fn choose<R: SweepRow>(name: Option<&str>) -> Result<Shown, String> {
        let verdict = R::VERDICT.map(Shown::Verdict);
        let Some(name) = name else {
            return verdict
                .or_else(|| R::MEASURES.first().map(|m| Shown::Measure(0, *m)))
                .ok_or_else(|| "this study's sweeps have no measure to show".into());
        };
        let wanted = name.trim().replace('-', "_");
        if wanted == "verdict"
            && let Some(v) = verdict
        {
            return Ok(v);
        }
        if let Some(i) = R::MEASURES.iter().position(|m| m.name == wanted) {
            return Ok(Shown::Measure(i, R::MEASURES[i]));
        }
        let mut allowed: Vec<&str> = R::VERDICT.map(|_| "verdict").into_iter().collect();
        allowed.extend(R::MEASURES.iter().map(|m| m.name));
        Err(format!("--measure: no measure '{name}' in this study's sweep rows (allowed: {})", allowed.join(", ")))
    }

    /// Its name (`verdict` or the measure's).
    pub fn name(&self) -> &'static str {
        match self {
            Shown::Verdict(_) => "verdict",
            Shown::Measure(_, m) => m.name,
        }
    }

    /// The values of a cell's seeds (the verdict as 1 for yes, 0 for no).
    pub fn samples(&self, cell: &Cell) -> Vec<f64> {
        match self {
            Shown::Verdict(_) => {
                let mut v = vec![1.0; cell.yes];
                v.extend(std::iter::repeat_n(0.0, cell.no));
                v
            }
            Shown::Measure(i, _) => cell.samples[*i].clone(),
        }
    }

    /// A value as the table writes it.
    pub fn format(&self, x: f64) -> String {
        match self {
            Shown::Verdict(_) => format!("{:.0}%", x * 100.0),
            Shown::Measure(_, m) => format_measure(m, x),
        }
    }
}

/// A value of measure `m` for a table: a ratio as a percentage, one of 100 and more without
/// decimals, otherwise 2 decimals.
pub fn format_measure(m: &Measure, x: f64) -> String {
    if m.ratio {
        format!("{:.1}%", x * 100.0)
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// A sweep's rows as a grid of cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Cells {
    /// The swept parameters.
    pub axes: Vec<Axis>,
    /// The cells, in sweep order (the first axis slowest).
    pub cells: Vec<Cell>,
}

impl Cells {
    /// The cells of `rows` (one whole sweep, as [`crate::study::run::read_rows`] checks).
    pub fn new<R: SweepRow>(rows: &[R]) -> Cells {
        let mut sorted: Vec<&R> = rows.iter().collect();
        sorted.sort_by_key(|r| r.index());
        let keys: Vec<String> =
            sorted.first().map_or(Vec::new(), |r| r.id().keys().into_iter().map(String::from).collect());
        let mut axes: Vec<Axis> = keys.into_iter().map(|key| Axis { key, values: Vec::new() }).collect();
        let mut cells: Vec<Cell> = Vec::new();
        for r in sorted {
            let values: Vec<String> = r.id().values().into_iter().map(String::from).collect();
            let at: Vec<usize> = axes
                .iter_mut()
                .zip(&values)
                .map(|(axis, v)| match axis.values.iter().position(|x| x == v) {
                    Some(i) => i,
                    None => {
                        axis.values.push(v.clone());
                        axis.values.len() - 1
                    }
                })
                .collect();
            // Rows of one point are neighbours in sweep order (the seed varies fastest).
            if cells.last().is_none_or(|c| c.at != at) {
                cells.push(Cell { at, values, runs: 0, yes: 0, no: 0, samples: vec![Vec::new(); R::MEASURES.len()] });
            }
            let cell = cells.last_mut().expect("a cell was just pushed");
            cell.runs += 1;
            match r.verdict() {
                Some(true) => cell.yes += 1,
                Some(false) => cell.no += 1,
                None => {}
            }
            for (samples, x) in cell.samples.iter_mut().zip(r.measures()) {
                samples.extend(x.filter(|x| x.is_finite()));
            }
        }
        Cells { axes, cells }
    }

    /// The cell at these positions on the axes (cells in sweep order are sorted by position).
    pub fn at(&self, at: &[usize]) -> Option<&Cell> {
        self.cells.binary_search_by(|c| c.at.as_slice().cmp(at)).ok().map(|i| &self.cells[i])
    }

    /// Where the majority verdict changes between neighbours along the first axis, for each
    /// value of the other axes (`(cell before, cell after)` pairs), in sweep order.
    pub fn tipping_points(&self) -> Vec<(&Cell, &Cell)> {
        let mut out = Vec::new();
        for a in &self.cells {
            let mut next = a.at.clone();
            next[0] += 1;
            if let Some(b) = self.at(&next)
                && let (Some(x), Some(y)) = (a.mostly_yes(), b.mostly_yes())
                && x != y
            {
                out.push((a, b));
            }
        }
        // By the other axes' values first, so that each line of the grid reads left to right.
        out.sort_by(|(a, _), (b, _)| a.at[1..].cmp(&b.at[1..]).then(a.at[0].cmp(&b.at[0])));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::row::test_row::R;
    use crate::sweep::row::{RunId, Setting};

    fn row(index: usize, a: &str, b: &str, ok: Option<bool>, x: Option<f64>) -> R {
        let swept = vec![Setting { key: "a".into(), value: a.into() }, Setting { key: "b".into(), value: b.into() }];
        R { id: RunId { swept, seed: index as u64, index, of: 8 }, ok, x }
    }

    #[test]
    fn rows_become_cells_with_their_outcome_and_spread() {
        // a = 1, 2 (slowest), b = p, q, two seeds each, given out of order.
        let rows = vec![
            row(7, "2", "q", Some(false), Some(8.0)),
            row(0, "1", "p", Some(true), Some(1.0)),
            row(1, "1", "p", Some(true), Some(3.0)),
            row(2, "1", "q", Some(true), None),
            row(3, "1", "q", Some(false), Some(f64::NAN)),
            row(4, "2", "p", Some(false), Some(5.0)),
            row(5, "2", "p", Some(true), Some(6.0)),
            row(6, "2", "q", Some(false), Some(7.0)),
        ];
        let c = Cells::new(&rows);
        assert_eq!(c.axes[0], Axis { key: "a".into(), values: vec!["1".into(), "2".into()] });
        assert_eq!(c.axes[1].values, ["p", "q"]);
        assert_eq!(c.cells.len(), 4);
        let outcomes: Vec<Outcome> = c.cells.iter().map(Cell::outcome).collect();
        assert_eq!(outcomes, [Outcome::Yes, Outcome::Mixed, Outcome::Mixed, Outcome::No]);
        assert_eq!(c.cells[0].spread(0), Some(Spread { mean: 2.0, min: 1.0, max: 3.0 }));
        assert_eq!(c.cells[1].spread(0), None, "no value and NaN are not samples");
        // Along a, for b = p: 1 holds (2/2), 2 is a tie (not a majority either way: no);
        // for b = q: 1/2 is no majority, 2 breaks. The tie counts as "not mostly yes".
        let tips: Vec<(String, String)> =
            c.tipping_points().iter().map(|(a, b)| (a.values.join(","), b.values.join(","))).collect();
        assert_eq!(tips, [("1,p".to_string(), "2,p".to_string())]);
        assert_eq!(Shown::choose::<R>(None).unwrap().name(), "verdict");
        assert_eq!(Shown::choose::<R>(Some("x-ms")).unwrap().name(), "x_ms");
        let e = Shown::choose::<R>(Some("y")).unwrap_err();
        assert!(e.contains("--measure: no measure 'y'") && e.contains("(allowed: verdict, x_ms)"), "{e}");
        assert_eq!(Shown::choose::<R>(None).unwrap().samples(&c.cells[1]), [1.0, 0.0]);
    }
}
