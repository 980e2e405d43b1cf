//! Sweeps: one run per point of a grid of parameter values (`--sweep` repeated) and seed, in
//! parallel on every core, optionally split into shards (`--shard I/N`) whose JSON-lines outputs
//! concatenate into the whole sweep, so that a batch system (Slurm arrays, Kubernetes indexed
//! jobs, GNU parallel) can spread it over machines. The rows of a sweep become cells
//! ([`cells`]), a table and a JSON object ([`report`]), and an SVG phase diagram ([`diagram`]).

pub mod cells;
pub mod diagram;
pub mod report;
pub mod row;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The values of one parameter: `NAME=FROM:TO:STEP` (numbers) or `NAME=A,B,C` (any values).
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The parameter, as its flag is spelled (`spike-rps`).
    pub key: String,
    /// The values, as written.
    pub values: Vec<String>,
}

impl FromStr for Sweep {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("--sweep takes NAME=FROM:TO:STEP or NAME=A,B,C, got '{s}'");
        let (key, spec) = s.split_once('=').ok_or_else(usage)?;
        let values: Vec<String> = if let [from, to, step] = spec.split(':').collect::<Vec<_>>()[..] {
            let num = |x: &str| x.trim().parse::<f64>().map_err(|_| usage());
            let (from, to, step) = (num(from)?, num(to)?, num(step)?);
            if step <= 0.0 || to < from || (to - from) / step > 10_000.0 {
                return Err(format!("--sweep {key}: need FROM <= TO and 0 < STEP, with at most 10000 steps"));
            }
            let n = ((to - from) / step + 1e-9).floor() as usize;
            (0..=n).map(|i| format!("{}", from + step * i as f64)).collect()
        } else {
            spec.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
        };
        if values.is_empty() {
            return Err(usage());
        }
        Ok(Sweep { key: key.trim().to_string(), values })
    }
}

/// One part of a sweep split for a batch system: jobs whose index is `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard takes I/N with 0 <= I < N (e.g. 0/4), got '{s}'");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The most parameters one sweep may vary at once.
pub const MAX_AXES: usize = 4;

/// Every `--sweep` of a command line: the grid of their values, the first one varying slowest.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// One axis per `--sweep`, in command-line order.
    pub axes: Vec<Sweep>,
}

impl Grid {
    /// The grid of `axes`, or an error when a parameter is swept twice, there are more than
    /// [`MAX_AXES`], or there is none.
    pub fn new(axes: Vec<Sweep>) -> Result<Grid, String> {
        if axes.is_empty() {
            return Err("--sweep: give at least one NAME=VALUES".into());
        }
        if axes.len() > MAX_AXES {
            return Err(format!(
                "--sweep given {} times: at most {MAX_AXES} parameters can be swept at once",
                axes.len()
            ));
        }
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(format!(
                    "--sweep {}: swept twice (give each parameter one --sweep, with all its values)",
                    a.key
                ));
            }
        }
        Ok(Grid { axes })
    }

    /// The swept parameters, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.key.as_str()).collect()
    }

    /// Points of the grid (each run with every seed), or `None` past `u64::MAX`.
    pub fn points(&self) -> Option<u64> {
        self.axes.iter().try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64))
    }

    /// The values of point `k` (0 <= k < points), one per axis: the last axis varies fastest.
    pub fn point(&self, mut k: u64) -> Vec<String> {
        let mut values = vec![String::new(); self.axes.len()];
        for (slot, axis) in values.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len() as u64;
            *slot = axis.values[(k % n) as usize].clone();
            k /= n;
        }
        values
    }

    /// `3 x 4 values` or `3 values`: the size of the grid, for messages.
    fn shape(&self) -> String {
        let n: Vec<String> = self.axes.iter().map(|a| a.values.len().to_string()).collect();
        format!("{} values", n.join(" x "))
    }
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Position in the whole sweep (grid point-major, then seed).
    pub index: usize,
    /// The value of each swept parameter, in the grid's order.
    pub values: Vec<String>,
    /// The seed.
    pub seed: u64,
}

/// The jobs of a sweep (every point of the grid with `seeds` seeds from `first_seed`, this
/// shard's only), computed one at a time from their position: `--seeds 1000000000` allocates
/// nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Jobs {
    grid: Grid,
    first_seed: u64,
    seeds: u64,
    shard: Option<Shard>,
    total: u64,
}

impl Jobs {
    /// The jobs, or an error when the seeds would wrap past `u64::MAX` or the sweep has more
    /// than `max_jobs` runs.
    pub fn new(grid: &Grid, first_seed: u64, seeds: u64, shard: Option<Shard>, max_jobs: u64) -> Result<Jobs, String> {
        if first_seed.checked_add(seeds.saturating_sub(1)).is_none() {
            return Err(format!(
                "--seed {first_seed} --seeds {seeds}: the seeds would pass {} (allowed: --seed + --seeds - 1 <= {})",
                u64::MAX,
                u64::MAX
            ));
        }
        let total = grid.points().and_then(|p| p.checked_mul(seeds)).filter(|t| *t <= max_jobs).ok_or_else(|| {
            format!(
                "--sweep with --seeds {seeds}: {} x {seeds} seeds is more than --max-sweep-jobs {max_jobs}",
                grid.shape()
            )
        })?;
        Ok(Jobs { grid: grid.clone(), first_seed, seeds, shard, total })
    }

    /// Runs in the whole sweep (every shard).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Runs in this shard.
    pub fn len(&self) -> u64 {
        match self.shard {
            Some(s) => (self.total + (s.count as u64 - 1 - s.index as u64)) / s.count as u64,
            None => self.total,
        }
    }

    /// No run in this shard.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k`-th job of this shard.
    pub fn get(&self, k: u64) -> Option<Job> {
        let index = match self.shard {
            Some(s) => k.checked_mul(s.count as u64)?.checked_add(s.index as u64)?,
            None => k,
        };
        if index >= self.total {
            return None;
        }
        let values = self.grid.point(index / self.seeds);
        Some(Job { index: index as usize, values, seed: self.first_seed + index % self.seeds })
    }

    /// Every job of this shard, in order.
    pub fn iter(&self) -> impl Iterator<Item = Job> + '_ {
        (0..self.len()).map_while(|k| self.get(k))
    }
}

/// The jobs of a sweep, listed (for tests and small sweeps).
pub fn jobs(grid: &Grid, first_seed: u64, seeds: u64, shard: Option<Shard>) -> Vec<Job> {
    Jobs::new(grid, first_seed, seeds, shard, u64::MAX).map(|j| j.iter().collect()).unwrap_or_default()
}

/// Runs `f` for every job on every core and calls `done` after each; results come back in job
/// order. Each run builds its own simulation on its own thread; the first error stops the
/// workers from taking new jobs.
pub fn run_all<T: Send>(
    jobs: &Jobs,
    f: impl Fn(&Job) -> anyhow::Result<T> + Sync,
    done: impl Fn() + Sync,
) -> anyhow::Result<Vec<T>> {
    run_each(jobs.len(), |k| f(&jobs.get(k).expect("a job below the count")), done)
}

/// Runs `f(0)` to `f(n - 1)` on every core and calls `done` after each; results come back in
/// order of `k`. The first error stops the workers from taking new work.
pub fn run_each<T: Send>(
    n: u64,
    f: impl Fn(u64) -> anyhow::Result<T> + Sync,
    done: impl Fn() + Sync,
) -> anyhow::Result<Vec<T>> {
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(1, |c| c.get()).min(n as usize).max(1);
    let mut done: Vec<(u64, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= n {
                            break;
                        }
                        let r = f(k).map(|r| (k, r));
                        done();
                        failed.fetch_or(r.is_err(), Ordering::Relaxed);
                        mine.push(r);
                    }
                    mine
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().flat_map(|h| h.join().expect("a worker panicked")).collect();
        results.into_iter().collect::<anyhow::Result<Vec<_>>>()
    })?;
    done.sort_by_key(|(k, _)| *k);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(specs: &[&str]) -> Grid {
        Grid::new(specs.iter().map(|s| s.parse().unwrap()).collect()).unwrap()
    }

    #[test]
    fn a_grid_is_every_combination_the_last_parameter_fastest_then_the_seeds() {
        let g = grid(&["a=1,2", "b=x,y,z"]);
        let all = jobs(&g, 7, 2, None);
        assert_eq!(all.len(), 12);
        let points: Vec<String> = all.iter().map(|j| format!("{}{}@{}", j.values[0], j.values[1], j.seed)).collect();
        assert_eq!(&points[..6], ["1x@7", "1x@8", "1y@7", "1y@8", "1z@7", "1z@8"]);
        assert_eq!(points[11], "2z@8");
        // Shards of a grid cover it once.
        let mut merged: Vec<Job> = (0..5).flat_map(|i| jobs(&g, 7, 2, Some(Shard { index: i, count: 5 }))).collect();
        merged.sort_by_key(|j| j.index);
        assert_eq!(merged, all);
        let e = Jobs::new(&g, 1, 5, None, 29).unwrap_err();
        assert!(e.contains("2 x 3 values x 5 seeds is more than --max-sweep-jobs 29"), "{e}");
        let twice = Grid::new(vec!["a=1".parse().unwrap(), "a=2".parse().unwrap()]).unwrap_err();
        assert!(twice.contains("--sweep a: swept twice"), "{twice}");
        let many: Vec<Sweep> = (0..5).map(|i| format!("p{i}=1").parse().unwrap()).collect();
        assert!(Grid::new(many).unwrap_err().contains("at most 4 parameters"));
        // A grid whose size passes u64 is refused, not wrapped.
        let huge: Vec<Sweep> = (0..4).map(|i| format!("p{i}=0:9999:1").parse().unwrap()).collect();
        let e = Jobs::new(&Grid::new(huge).unwrap(), 1, u64::MAX, None, u64::MAX).unwrap_err();
        assert!(e.contains("more than --max-sweep-jobs"), "{e}");
    }

    #[test]
    fn sweeps_read_ranges_and_lists() {
        let s: Sweep = "spike-rps=250:350:50".parse().unwrap();
        assert_eq!(s.values, vec!["250", "300", "350"]);
        let s: Sweep = "concurrency-slope=1ms,2ms".parse().unwrap();
        assert_eq!(s.values, vec!["1ms", "2ms"]);
        assert!("spike-rps=3:1:1".parse::<Sweep>().is_err());
        assert!("spike-rps".parse::<Sweep>().is_err());
    }

    #[test]
    fn shards_split_the_jobs_and_together_cover_them_once() {
        let sweep = grid(&["x=1,2,3"]);
        let all = jobs(&sweep, 10, 3, None);
        assert_eq!(all.len(), 9);
        assert_eq!(all[4], Job { index: 4, values: vec!["2".into()], seed: 11 });
        let mut merged: Vec<Job> =
            (0..4).flat_map(|i| jobs(&sweep, 10, 3, Some(Shard { index: i, count: 4 }))).collect();
        merged.sort_by_key(|j| j.index);
        assert_eq!(merged, all);
        assert!("4/4".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err() && "a/2".parse::<Shard>().is_err());
    }

    #[test]
    fn runs_come_back_in_order() {
        let js = Jobs::new(&grid(&["x=1,2,3,4,5"]), 0, 2, None, 100).unwrap();
        let count = AtomicU64::new(0);
        let tick = || {
            count.fetch_add(1, Ordering::Relaxed);
        };
        let out = run_all(&js, |j| Ok(format!("{}@{}", j.values[0], j.seed)), tick).unwrap();
        assert_eq!(out[0], "1@0");
        assert_eq!(out[9], "5@1");
        assert_eq!(count.load(Ordering::Relaxed), 10, "progress is told once per run");
        assert!(run_all(&js, |j| if j.index == 3 { anyhow::bail!("boom") } else { Ok(()) }, || ()).is_err());
    }

    #[test]
    fn jobs_are_lazy_capped_and_never_wrap() {
        // Issue 8: `--seeds 1000000000 --sweep spike-rps=300` listed every job up front.
        let sweep = grid(&["spike-rps=300"]);
        let big = Jobs::new(&sweep, 1, 1_000_000_000, None, u64::MAX).unwrap();
        assert_eq!(big.len(), 1_000_000_000);
        assert_eq!(big.get(999_999_999).unwrap().seed, 1_000_000_000);
        let e = Jobs::new(&sweep, 1, 1_000_000_000, None, 1_000_000).unwrap_err();
        assert!(e.contains("more than --max-sweep-jobs 1000000"), "{e}");
        // Issue 8: `--seed 18446744073709551615 --seeds 3` wrapped to seeds 0 and 1.
        let e = Jobs::new(&sweep, u64::MAX, 3, None, 100).unwrap_err();
        assert!(e.contains("the seeds would pass"), "{e}");
        assert_eq!(Jobs::new(&sweep, u64::MAX, 1, None, 100).unwrap().get(0).unwrap().seed, u64::MAX);
        let shard = Jobs::new(&grid(&["x=1,2,3"]), 0, 1, Some(Shard { index: 2, count: 4 }), 100).unwrap();
        assert_eq!(shard.len(), 1);
        assert_eq!(shard.get(0).unwrap().index, 2);
        assert!(shard.get(1).is_none());
    }
}
