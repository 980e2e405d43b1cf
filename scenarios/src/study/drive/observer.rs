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
