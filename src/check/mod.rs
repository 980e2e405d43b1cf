//! A linearizability checker: is there an order of a history's operations that a correct
//! sequential object could have produced, and that respects real time?
//!
//! Each operation runs from its call (the invoke event) to its return (the ok or fail event).
//! A history is linearizable when every operation can be given one instant inside its window,
//! its *linearization point*, such that applying the operations one at a time in the order of
//! those points, from the model's initial state, gives every result that was observed:
//!
//! ```text
//! time ------------------------------------------------------------->
//! p0   [----- write(1) -----]
//! p1            [---- read -> 1 ----]
//! p2                                   [-- read -> 0 --]
//!                   x          x                x
//!              write(1)    read -> 1        read -> 0 ?
//! ```
//!
//! `read -> 1` forces `write(1)` to take effect before p1 returns, and p2's read starts after
//! that, so it cannot return 0: no choice of points works, and the history is not
//! linearizable. Had p2's read started before p0's write returned, it could have been placed
//! before the write, and the history would be linearizable.
//!
//! An `info` operation (a timeout: the client does not know what happened) has no return: it
//! may take effect at any time after its call, or never, and any result is accepted. A
//! process's operation still running at the end of the history is treated the same way. A
//! `fail` operation certainly did not take effect and is left out, except a compare-and-set
//! that ran and returned false, which must be placed where the compare fails.
//!
//! The search is Wing and Gong's, with Lowe's memoisation, as in Porcupine: the calls and
//! returns form a list in time order; the search linearizes an operation whose call comes
//! before every pending return, backtracks when it meets the return of one it could not place,
//! and remembers every (set of linearized operations, state) pair it reached so as never to
//! explore one twice. The history is first split into independent parts, one per key
//! (P-compositionality), and each part is checked alone; the whole is linearizable exactly
//! when every part is. A check has a budget (wall-clock time and/or steps); when it runs out
//! the verdict is [`Verdict::Unknown`], never a hang. A non-linearizable history comes with an
//! [`Explanation`]: a few of its operations that cannot be ordered, whatever the others did.
//!
//! ```
//! use faultline::check::{CasRegister, Checker, Event, EventKind, Function, History, Value, Verdict};
//!
//! let mut h = History::new();
//! for e in [
//!     Event::new(0, EventKind::Invoke, Function::Write, 1),
//!     Event::new(1, EventKind::Invoke, Function::Read, Value::Nil),
//!     Event::new(0, EventKind::Ok, Function::Write, 1),
//!     Event::new(1, EventKind::Ok, Function::Read, 1),
//!     Event::new(2, EventKind::Invoke, Function::Read, Value::Nil),
//!     Event::new(2, EventKind::Ok, Function::Read, Value::Nil), // the register's initial value
//! ] {
//!     h.record(e).unwrap();
//! }
//! let verdict = Checker::new().check(&CasRegister::default(), &h).unwrap();
//! let Verdict::NotLinearizable(why) = verdict else { panic!("{verdict}") };
//! assert_eq!(why.ops.len(), 2); // p0's write(1) returned before p2's read of nil began
//! println!("{why}");
//! ```

mod explain;
pub mod format;
mod history;
mod model;
mod search;

use std::fmt;
use std::time::Duration;

pub use explain::{Explained, Explanation};
pub use history::{Clock, Event, EventKind, Function, History, HistoryError, Operation, Status, Value};
pub use model::{
    CasRegister, KeyValue, KvInput, KvOutput, Model, ModelError, ModelKind, Prepared, Register, RegisterInput,
    RegisterOutput, describe_operation, partition_by_key,
};

use search::{Budget, Item, Outcome, search};

/// How long a check (or the search for its explanation) may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time.
    pub timeout: Option<Duration>,
    /// Search steps (one step tries one entry), for a bound that does not depend on the machine.
    pub max_steps: Option<u64>,
}

impl Limits {
    /// No limit at all.
    pub const UNBOUNDED: Limits = Limits { timeout: None, max_steps: None };

    /// At most `timeout` of wall-clock time.
    pub fn time(timeout: Duration) -> Limits {
        Limits { timeout: Some(timeout), max_steps: None }
    }

    /// At most `steps` search steps.
    pub fn steps(steps: u64) -> Limits {
        Limits { timeout: None, max_steps: Some(steps) }
    }
}

/// Ten seconds.
impl Default for Limits {
    fn default() -> Limits {
        Limits::time(Duration::from_secs(10))
    }
}

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations respects real time and the model.
    Linearizable,
    /// None does; here is why.
    NotLinearizable(Explanation),
    /// The budget ran out before the search could tell.
    Unknown,
}

impl Verdict {
    /// `Some(true)`, `Some(false)`, or `None` for [`Verdict::Unknown`].
    pub fn linearizable(&self) -> Option<bool> {
        match self {
            Verdict::Linearizable => Some(true),
            Verdict::NotLinearizable(_) => Some(false),
            Verdict::Unknown => None,
        }
    }

    /// `linearizable`, `not-linearizable` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable(_) => "not-linearizable",
            Verdict::Unknown => "unknown",
        }
    }

    /// The explanation of a non-linearizable history.
    pub fn explanation(&self) -> Option<&Explanation> {
        match self {
            Verdict::NotLinearizable(e) => Some(e),
            _ => None,
        }
    }
}

/// `linearizable`, the explanation, or `unknown: ...`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => f.write_str("linearizable"),
            Verdict::NotLinearizable(why) => fmt::Display::fmt(why, f),
            Verdict::Unknown => f.write_str("unknown: the check ran out of its budget before it could tell"),
        }
    }
}

/// Checks histories against a model, within limits.
#[derive(Clone, Debug)]
pub struct Checker {
    limits: Limits,
    explain: Option<Limits>,
}

/// 10 s to check, and 10 s more to minimise an explanation.
impl Default for Checker {
    fn default() -> Checker {
        Checker { limits: Limits::default(), explain: Some(Limits::default()) }
    }
}

impl Checker {
    /// The default checker.
    pub fn new() -> Checker {
        Checker::default()
    }

    /// The limits of the check itself.
    pub fn limits(mut self, limits: Limits) -> Checker {
        self.limits = limits;
        self
    }

    /// At most `timeout` to check, and as much again to minimise an explanation.
    pub fn timeout(mut self, timeout: Duration) -> Checker {
        self.limits.timeout = Some(timeout);
        if let Some(explain) = &mut self.explain {
            explain.timeout = Some(timeout);
        }
        self
    }

    /// The limits of the search for a minimal explanation (once the verdict is known); when they
    /// run out, the explanation is kept as far as it got.
    pub fn explain_limits(mut self, limits: Limits) -> Checker {
        self.explain = Some(limits);
        self
    }

    /// No minimisation: a non-linearizable verdict lists every operation of the failing part.
    pub fn without_minimising(mut self) -> Checker {
        self.explain = None;
        self
    }

    /// Checks `history` against `model`. Fails only when the model cannot read an operation
    /// (a function it does not have, an argument of the wrong shape).
    pub fn check<M: Model>(&self, model: &M, history: &History) -> Result<Verdict, ModelError> {
        let ops = history.operations();
        let prepared = ops.iter().map(|op| model.prepare(op)).collect::<Result<Vec<_>, _>>()?;
        let mut parts = model.partition(ops);
        // Small parts first: a violation in one of them is found before a large one eats the budget.
        parts.sort_by_key(Vec::len);
        let mut budget = Budget::new(&self.limits);
        for part in &parts {
            let members: Vec<usize> = part.iter().copied().filter(|&i| prepared[i].is_some()).collect();
            let items: Vec<Item<'_, M>> = members
                .iter()
                .map(|&i| {
                    let (input, output) = prepared[i].as_ref().expect("filtered");
                    Item { input, output, call: ops[i].call, ret: ops[i].returned(), optional: false, tie: i }
                })
                .collect();
            match search(model, &items, &mut budget) {
                Outcome::Linearizable => {}
                Outcome::OutOfBudget => return Ok(Verdict::Unknown),
                Outcome::NotLinearizable { deepest, stuck } => {
                    let why = explain::explain(
                        model,
                        ops,
                        history.clock(),
                        part.len(),
                        &members,
                        &prepared,
                        (deepest, stuck),
                        self.explain.as_ref(),
                    );
                    return Ok(Verdict::NotLinearizable(why));
                }
            }
        }
        Ok(Verdict::Linearizable)
    }

    /// Checks `history` against one of the built-in models.
    pub fn check_as(&self, model: ModelKind, history: &History) -> Result<Verdict, ModelError> {
        match model {
            ModelKind::Register => self.check(&Register::default(), history),
            ModelKind::CasRegister => self.check(&CasRegister::default(), history),
            ModelKind::KeyValue => self.check(&KeyValue, history),
        }
    }
}

/// Checks `history` against `model` with the default [`Checker`].
pub fn check<M: Model>(model: &M, history: &History) -> Result<Verdict, ModelError> {
    Checker::new().check(model, history)
}

#[cfg(test)]
mod tests;
