//! Watching a run from the thread that drives it, for `faultline serve`: an [`Observer`] set on
//! this thread is called every `every` of virtual time with what the run has recorded so far,
//! and may stop the run (its page went away). Without one, a run goes to its end in one step.
//! Stepping does not change a run: the sim's clock stops at the same events either way.

use std::cell::RefCell;
use std::time::Duration;

use faultline::{Message, Report, RunOutcome, Sim, SimTime};

/// A look at a run: the virtual time now, and a way to copy its report so far; `false` stops it.
pub type See = Box<dyn FnMut(SimTime, &dyn Fn() -> Report) -> bool>;

/// What a run on this thread reports to as it goes.
pub struct Observer {
    /// Virtual time between two calls (at least 1 ms).
    pub every: Duration,
    /// Called at the start and after each step with the virtual time now and a way to copy the
    /// run's report so far (a copy costs the metrics' size: call it only when needed); returning
    /// `false` stops the run there.
    pub see: See,
}

thread_local! {
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

/// Runs `f` (which runs a study) with `observer` watching every run it drives on this thread.
pub fn observed<R>(observer: Observer, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            OBSERVER.with(|o| o.borrow_mut().take());
        }
    }
    OBSERVER.with(|o| *o.borrow_mut() = Some(observer));
    let _reset = Reset;
    f()
}

/// Runs `sim` to `end`: in one step, or in the observer's steps when one is set. A run the
/// observer stops ends as [`RunOutcome::Stopped`].
pub(crate) fn run<M: Message>(sim: &mut Sim<M>, end: SimTime) -> RunOutcome {
    let Some(mut observer) = OBSERVER.with(|o| o.borrow_mut().take()) else { return sim.run_until(end) };
    let every = observer.every.max(Duration::from_millis(1));
    let mut outcome = RunOutcome::Stopped;
    if (observer.see)(sim.now(), &|| sim.report()) {
        loop {
            let next = (sim.now() + every).min(end);
            outcome = sim.run_until(next);
            if outcome != RunOutcome::Deadline || next >= end {
                break;
            }
            if !(observer.see)(sim.now(), &|| sim.report()) {
                outcome = RunOutcome::Stopped;
                break;
            }
        }
    }
    // The last look, at the end, then the observer is put back for the next run of `f`.
    (observer.see)(sim.now(), &|| sim.report());
    OBSERVER.with(|o| *o.borrow_mut() = Some(observer));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FaultArgs, TraceArgs};
    use crate::metastable::{Params, run};

    fn params() -> Params {
        Params { duration: Duration::from_secs(60), spike_start: Duration::from_secs(20), ..Params::default() }
    }

    #[test]
    fn a_run_in_steps_is_the_same_run() {
        let (whole, _) = run(&params(), &FaultArgs::default(), &TraceArgs::default()).unwrap();
        let looks = std::rc::Rc::new(std::cell::Cell::new(0));
        let counted = looks.clone();
        let see: See = Box::new(move |_, _| {
            counted.set(counted.get() + 1);
            true
        });
        let (stepped, _) = observed(Observer { every: Duration::from_millis(700), see }, || {
            run(&params(), &FaultArgs::default(), &TraceArgs::default())
        })
        .unwrap();
        assert!(looks.get() >= 60_000 / 700, "it ran in steps: {} looks", looks.get());
        assert_eq!(serde_json::to_string(&whole).unwrap(), serde_json::to_string(&stepped).unwrap());
    }

    #[test]
    fn an_observer_that_says_no_stops_the_run_there() {
        let seen = std::rc::Rc::new(std::cell::Cell::new(SimTime::ZERO));
        let last = seen.clone();
        let see: See = Box::new(move |now, report| {
            last.set(now);
            report().end < SimTime::ZERO + Duration::from_secs(10)
        });
        let (s, _) = observed(Observer { every: Duration::from_secs(1), see }, || {
            run(&params(), &FaultArgs::default(), &TraceArgs::default())
        })
        .unwrap();
        assert_eq!(s.windows.len(), 10, "stopped after 10 s of 60");
        assert_eq!(seen.get(), SimTime::ZERO + Duration::from_secs(10));
    }
}
