//! Sweeps: one run per (value, seed), in parallel on every core, optionally split into shards
//! (`--shard I/N`) whose JSON-lines outputs concatenate into the whole sweep, so that a batch
//! system (Slurm arrays, Kubernetes indexed jobs, GNU parallel) can spread it over machines.

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

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Position in the whole sweep (value-major, then seed).
    pub index: usize,
    /// The parameter value.
    pub value: String,
    /// The seed.
    pub seed: u64,
}

/// The jobs of a sweep (every value with `seeds` seeds from `first_seed`, this shard's only),
/// computed one at a time from their position: `--seeds 1000000000` allocates nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Jobs {
    values: Vec<String>,
    first_seed: u64,
    seeds: u64,
    shard: Option<Shard>,
    total: u64,
}

impl Jobs {
    /// The jobs, or an error when the seeds would wrap past `u64::MAX` or the sweep has more
    /// than `max_jobs` runs.
    pub fn new(
        sweep: &Sweep,
        first_seed: u64,
        seeds: u64,
        shard: Option<Shard>,
        max_jobs: u64,
    ) -> Result<Jobs, String> {
        if first_seed.checked_add(seeds.saturating_sub(1)).is_none() {
            return Err(format!(
                "--seed {first_seed} --seeds {seeds}: the seeds would pass {} (allowed: --seed + --seeds - 1 <= {})",
                u64::MAX,
                u64::MAX
            ));
        }
        let total = (sweep.values.len() as u64).checked_mul(seeds).filter(|t| *t <= max_jobs).ok_or_else(|| {
            format!(
                "--sweep with --seeds {seeds}: {} values x {seeds} seeds is more than --max-sweep-jobs {max_jobs}",
                sweep.values.len()
            )
        })?;
        Ok(Jobs { values: sweep.values.clone(), first_seed, seeds, shard, total })
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
        let value = self.values[(index / self.seeds) as usize].clone();
        Some(Job { index: index as usize, value, seed: self.first_seed + index % self.seeds })
    }

    /// Every job of this shard, in order.
    pub fn iter(&self) -> impl Iterator<Item = Job> + '_ {
        (0..self.len()).map_while(|k| self.get(k))
    }
}

/// The jobs of a sweep, listed (for tests and small sweeps).
pub fn jobs(sweep: &Sweep, first_seed: u64, seeds: u64, shard: Option<Shard>) -> Vec<Job> {
    Jobs::new(sweep, first_seed, seeds, shard, u64::MAX).map(|j| j.iter().collect()).unwrap_or_default()
}

/// Runs `f` for every job on every core; results come back in job order. Each run builds its
/// own simulation on its own thread; the first error stops the workers from taking new jobs.
pub fn run_all<T: Send>(jobs: &Jobs, f: impl Fn(&Job) -> anyhow::Result<T> + Sync) -> anyhow::Result<Vec<T>> {
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len() as usize).max(1);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::Relaxed)
                        && let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        let r = f(&job).map(|r| (job.index, r));
                        failed.fetch_or(r.is_err(), Ordering::Relaxed);
                        mine.push(r);
                    }
                    mine
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().flat_map(|h| h.join().expect("a sweep worker panicked")).collect();
        results.into_iter().collect::<anyhow::Result<Vec<_>>>()
    })?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let sweep: Sweep = "x=1,2,3".parse().unwrap();
        let all = jobs(&sweep, 10, 3, None);
        assert_eq!(all.len(), 9);
        assert_eq!(all[4], Job { index: 4, value: "2".into(), seed: 11 });
        let mut merged: Vec<Job> =
            (0..4).flat_map(|i| jobs(&sweep, 10, 3, Some(Shard { index: i, count: 4 }))).collect();
        merged.sort_by_key(|j| j.index);
        assert_eq!(merged, all);
        assert!("4/4".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err() && "a/2".parse::<Shard>().is_err());
    }

    #[test]
    fn runs_come_back_in_order() {
        let sweep: Sweep = "x=1,2,3,4,5".parse().unwrap();
        let js = Jobs::new(&sweep, 0, 2, None, 100).unwrap();
        let out = run_all(&js, |j| Ok(format!("{}@{}", j.value, j.seed))).unwrap();
        assert_eq!(out[0], "1@0");
        assert_eq!(out[9], "5@1");
        assert!(run_all(&js, |j| if j.index == 3 { anyhow::bail!("boom") } else { Ok(()) }).is_err());
    }

    #[test]
    fn jobs_are_lazy_capped_and_never_wrap() {
        // Issue 8: `--seeds 1000000000 --sweep spike-rps=300` listed every job up front.
        let sweep: Sweep = "spike-rps=300".parse().unwrap();
        let big = Jobs::new(&sweep, 1, 1_000_000_000, None, u64::MAX).unwrap();
        assert_eq!(big.len(), 1_000_000_000);
        assert_eq!(big.get(999_999_999).unwrap().seed, 1_000_000_000);
        let e = Jobs::new(&sweep, 1, 1_000_000_000, None, 1_000_000).unwrap_err();
        assert!(e.contains("more than --max-sweep-jobs 1000000"), "{e}");
        // Issue 8: `--seed 18446744073709551615 --seeds 3` wrapped to seeds 0 and 1.
        let e = Jobs::new(&sweep, u64::MAX, 3, None, 100).unwrap_err();
        assert!(e.contains("the seeds would pass"), "{e}");
        assert_eq!(Jobs::new(&sweep, u64::MAX, 1, None, 100).unwrap().get(0).unwrap().seed, u64::MAX);
        let shard = Jobs::new(&"x=1,2,3".parse().unwrap(), 0, 1, Some(Shard { index: 2, count: 4 }), 100).unwrap();
        assert_eq!(shard.len(), 1);
        assert_eq!(shard.get(0).unwrap().index, 2);
        assert!(shard.get(1).is_none());
    }
}
