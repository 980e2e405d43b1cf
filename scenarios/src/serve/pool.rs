//! Where runs happen: on blocking threads, never on the server's async threads, at most
//! `permits` at once (a request waits for a slot up to `wait`, then gets 503). A run whose
//! request went away is stopped at its next step; recent outcomes are kept by command line, so
//! that a download after a page view does not run again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::registry::{Entry, Outcome, Parsed};
use crate::cli::{FaultArgs, InputError};
use crate::study::RunLimits;
use crate::study::drive::observer::{Observer, observed};

/// Outcomes kept for downloads.
const CACHED: usize = 16;

/// Why a run gave no outcome.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The parameters were refused by the study (the command line's message).
    #[error("{0}")]
    Input(String),
    /// Every slot stayed busy.
    #[error("the server is busy: {0} runs are going; try again")]
    Busy(usize),
    /// The run failed.
    #[error("the run failed: {0}")]
    Failed(String),
}

/// The runs of the server.
pub struct Pool {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    cache: Mutex<VecDeque<(Vec<String>, Arc<Outcome>)>>,
}

impl Pool {
    /// A pool of `size` slots (at least one); a request waits `wait` for one.
    pub fn new(size: usize, wait: Duration) -> Pool {
        let size = size.max(1);
        Pool { permits: Arc::new(Semaphore::new(size)), size, wait, cache: Mutex::new(VecDeque::new()) }
    }

    /// Slots.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a slot.
    pub async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, RunError> {
        tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| RunError::Busy(self.size))?
            .map_err(|_| RunError::Busy(self.size))
    }

    /// The outcome of `argv` (already parsed into `parsed`), from the cache or run now.
    pub async fn run(
        &self,
        entry: &Entry,
        argv: &[String],
        parsed: Parsed,
        limits: RunLimits,
    ) -> Result<Arc<Outcome>, RunError> {
        if let Some(hit) = self.cached(argv) {
            return Ok(hit);
        }
        let permit = self.slot().await?;
        // A request's future is dropped when its client goes away: that cancels the run.
        let cancelled = CancellationToken::new();
        let _guard = cancelled.clone().drop_guard();
        let run = entry.run;
        let every = steps(&parsed);
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let flag = cancelled.clone();
            let see = Box::new(move |_, _: &dyn Fn() -> faultline::Report| !flag.is_cancelled());
            let result = observed(Observer { every, see }, || run(&parsed, &FaultArgs::default(), &limits));
            (result, cancelled.is_cancelled())
        })
        .await
        .map_err(|e| RunError::Failed(format!("the run's thread ended: {e}")))?;
        let outcome = match outcome {
            (_, true) => return Err(RunError::Failed("cancelled: the page went away".into())),
            (Ok(o), false) => Arc::new(o),
            (Err(e), false) if e.is::<InputError>() => return Err(RunError::Input(e.to_string())),
            (Err(e), false) => return Err(RunError::Failed(format!("{e:#}"))),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED {
            cache.pop_front();
        }
        cache.push_back((argv.to_vec(), outcome.clone()));
        Ok(outcome)
    }

    fn cached(&self, argv: &[String]) -> Option<Arc<Outcome>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.iter().find(|(a, _)| a == argv).map(|(_, o)| o.clone())
    }
}

/// Steps of a run between two looks at its cancel flag: a sixteenth of its duration (the flag
/// costs nothing to read; the steps do not change the run).
fn steps(parsed: &Parsed) -> Duration {
    parsed
        .params
        .get("duration")
        .and_then(|d| d.as_str())
        .and_then(|d| faultline::time::parse_duration(d).ok())
        .map_or(Duration::from_secs(10), |d| (d / 16).max(Duration::from_millis(1)))
}
