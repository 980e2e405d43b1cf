//! Sweeps: one run per (value, seed), in parallel on every core, optionally split into shards
//! (`--shard I/N`) whose JSON-lines outputs concatenate into the whole sweep, so that a batch
//! system (Slurm arrays, Kubernetes indexed jobs, GNU parallel) can spread it over machines.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// The jobs of a sweep: every value with `seeds` seeds from `first_seed`, this shard's only.
pub fn jobs(sweep: &Sweep, first_seed: u64, seeds: u64, shard: Option<Shard>) -> Vec<Job> {
    let all = sweep.values.iter().flat_map(|v| (0..seeds).map(move |k| (v.clone(), first_seed + k)));
    all.enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index))
        .map(|(index, (value, seed))| Job { index, value, seed })
        .collect()
}

/// Runs `f` for every job on every core; results come back in job order. Each run builds its
/// own simulation on its own thread.
pub fn run_all<T: Send>(jobs: &[Job], f: impl Fn(&Job) -> anyhow::Result<T> + Sync) -> anyhow::Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        mine.push(f(job).map(|r| (job.index, r)));
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
        let js = jobs(&sweep, 0, 2, None);
        let out = run_all(&js, |j| Ok(format!("{}@{}", j.value, j.seed))).unwrap();
        assert_eq!(out[0], "1@0");
        assert_eq!(out[9], "5@1");
        assert!(run_all(&js, |j| if j.index == 3 { anyhow::bail!("boom") } else { Ok(()) }).is_err());
    }
}
