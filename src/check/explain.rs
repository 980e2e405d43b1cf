//! Why a history is not linearizable: a small set of its operations that cannot be ordered.
//!
//! The set is found by relaxing the failing part of the history and keeping every relaxation
//! under which it still fails. A relaxation only adds ways to order the operations, so what
//! is left failing proves that the history fails too:
//! - operations invoked after the first point where the history already fails are left out
//!   (a binary search over return times), and those running across that point become open;
//! - then operations are *freed*: a read-only one is left out, any other may take effect at
//!   any moment between its call and its return, or not at all. They are freed in chunks,
//!   earliest first, halving the chunks down to single operations (as delta debugging does),
//!   so that long runs of operations that do not matter go in one search each.
//!
//! Leaving a write out instead of freeing it would not be sound: a read of the value it wrote
//! would then look impossible on its own, and "explain" a failure it has no part in.
//!
//! The operations still bound are the explanation: whatever the others did, these cannot be
//! ordered, and none of them can be freed without the rest becoming orderable. A search that
//! would take far longer than checking the failing prefix did is cut short, and the operation
//! it was about stays bound (the explanation then says it may not be the smallest).

use std::fmt;

use serde::Serialize;

use super::Limits;
use super::history::{Clock, Operation, Status, Value};
use super::model::{Model, Prepared};
use super::search::{Budget, Item, Outcome, search};

/// One operation of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// Its index in [`History::operations`](super::History::operations).
    pub index: usize,
    /// Its process.
    pub process: u64,
    /// What it did, as the model describes it: `read -> 3`, `cas(1 2) -> fail`.
    pub what: String,
    /// How it ended.
    pub status: Status,
    /// When it was invoked.
    pub call: u64,
    /// When it ended (ok, fail or info), if it did.
    pub end: Option<u64>,
}

impl Explained {
    fn new<M: Model>(model: &M, ops: &[Operation], index: usize) -> Explained {
        let op = &ops[index];
        Explained {
            index,
            process: op.process,
            what: model.describe(op),
            status: op.status,
            call: op.call,
            end: op.end,
        }
    }

    /// When it ran, in the history's clock: `lines 12-15`, `t 1200..3400`, `from line 12 (no reply)`.
    pub fn span(&self, clock: Clock) -> String {
        let (one, many, sep) = match clock {
            Clock::Lines => ("line", "lines", "-"),
            Clock::Order => ("event", "events", "-"),
            Clock::Given => ("t", "t", ".."),
        };
        match (self.status, self.end) {
            (Status::Ok | Status::Fail, Some(end)) => format!("{many} {}{sep}{end}", self.call),
            (Status::Info, Some(end)) => format!("from {one} {} (info at {end})", self.call),
            _ => format!("from {one} {} (no reply)", self.call),
        }
    }
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The model checked.
    pub model: &'static str,
    /// The key of the part of the history that fails, when the part is one key.
    pub key: Option<Value>,
    /// Operations that cannot be ordered, whatever the other operations on the key did: each
    /// of those may have taken effect at any moment between its call and its return (any
    /// moment after its call for an open one), or not at all. In call order.
    pub ops: Vec<Explained>,
    /// The other operations of that part of the history.
    pub others: usize,
    /// The longest linearizable prefix the search found, in operations...
    pub linearized: usize,
    /// ... of this many operations the search had to order in that part.
    pub total: usize,
    /// The operation whose return the search could not pass at that depth.
    pub stuck: Explained,
    /// False when the budget ran out before the set was minimised (it still cannot be ordered,
    /// but some of its operations might be freed too).
    pub minimal: bool,
    /// What the times count.
    pub clock: Clock,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = self.key.as_ref().filter(|k| !k.is_nil()).map(|k| format!(" on key {k}")).unwrap_or_default();
        let n = self.ops.len();
        let these = if n == 1 { "this operation" } else { "these operations" };
        writeln!(f, "not linearizable ({} model): {these}{on} cannot be ordered", self.model)?;
        let width = self.ops.iter().map(|o| o.what.len()).max().unwrap_or(0);
        for op in &self.ops {
            writeln!(f, "  p{:<4} {:<width$}  {}", op.process, op.what, op.span(self.clock))?;
        }
        if self.others > 0 {
            let s = if self.others == 1 { "" } else { "s" };
            writeln!(
                f,
                "  whatever the {} other operation{s}{on} did (each may have taken effect at any moment of its window, or not at all)",
                self.others
            )?;
        }
        if !self.minimal {
            writeln!(f, "  (perhaps not the smallest such set: the search for one ran out of budget)")?;
        }
        write!(
            f,
            "  the search linearized at most {} of {} operations{on}, and could not place p{} {} ({})",
            self.linearized,
            self.total,
            self.stuck.process,
            self.stuck.what,
            self.stuck.span(self.clock)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// As recorded.
    Strict,
    /// Anywhere in its window, or not at all.
    Optional,
    /// Any time after its call, result unknown (as `info`).
    Open,
    /// Left out.
    Gone,
}

enum Trial {
    Fails,
    Orderable,
    TooLong,
}

struct Minimiser<'a, M: Model> {
    model: &'a M,
    ops: &'a [Operation],
    /// History indices of the operations the search orders.
    members: &'a [usize],
    /// Each member as recorded.
    recorded: Vec<&'a Prepared<M>>,
    /// Each member as if it had ended with `info` (`None` when that constrains nothing).
    opened: Vec<Option<Prepared<M>>>,
}

impl<'a, M: Model> Minimiser<'a, M> {
    fn items(&self, modes: &[Mode]) -> Vec<Item<'_, M>> {
        let mut items = Vec::with_capacity(modes.len());
        for (k, &mode) in modes.iter().enumerate() {
            let tie = self.members[k];
            let op = &self.ops[tie];
            let (pair, ret) = match mode {
                Mode::Gone => continue,
                Mode::Strict | Mode::Optional => (Some(self.recorded[k]), op.returned()),
                Mode::Open if op.status.is_open() => (Some(self.recorded[k]), None),
                Mode::Open => (self.opened[k].as_ref(), None),
            };
            if let Some((input, output)) = pair {
                items.push(Item { input, output, call: op.call, ret, optional: mode == Mode::Optional, tie });
            }
        }
        items
    }

    /// Runs one search within at most `cap` steps of `budget`.
    fn trial(&self, modes: &[Mode], budget: &mut Budget, cap: u64) -> Trial {
        let mut part = budget.part(cap);
        let outcome = search(self.model, &self.items(modes), &mut part);
        budget.spend(&part);
        match outcome {
            Outcome::NotLinearizable { .. } => Trial::Fails,
            Outcome::Linearizable => Trial::Orderable,
            Outcome::OutOfBudget => Trial::TooLong,
        }
    }

    /// `modes` with the operations `ks` freed: left out if read-only, optional otherwise.
    fn freed(&self, modes: &[Mode], ks: &[usize]) -> Vec<Mode> {
        let mut modes = modes.to_vec();
        for &k in ks {
            let (input, output) = self.recorded[k];
            modes[k] = if self.model.read_only(input, output) { Mode::Gone } else { Mode::Optional };
        }
        modes
    }

    /// Everything up to the return of member `c`: later calls left out, operations running
    /// across it open.
    fn cut(&self, modes: &[Mode], c: usize) -> Vec<Mode> {
        let at = (self.ops[self.members[c]].returned().unwrap_or(u64::MAX), 1u8, self.members[c]);
        modes
            .iter()
            .enumerate()
            .map(|(k, &mode)| {
                let op = &self.ops[self.members[k]];
                if (op.call, 0u8, self.members[k]) > at {
                    Mode::Gone
                } else if mode == Mode::Strict && (op.returned().unwrap_or(u64::MAX), 1u8, self.members[k]) > at {
                    Mode::Open
                } else {
                    mode
                }
            })
            .collect()
    }

    /// The bound operations left, and whether they are minimal.
    fn minimise(&self, limits: Option<&Limits>) -> (Vec<Mode>, bool) {
        let mut modes: Vec<Mode> = self
            .members
            .iter()
            .map(|&i| if self.ops[i].status.is_open() { Mode::Open } else { Mode::Strict })
            .collect();
        let Some(limits) = limits else { return (modes, false) };
        let mut budget = Budget::new(limits);
        let all = u64::MAX;

        // The earliest return at which the history already fails (failing is monotone in it).
        let mut ends: Vec<usize> = (0..modes.len()).filter(|&k| modes[k] == Mode::Strict).collect();
        ends.sort_by_key(|&k| (self.ops[self.members[k]].returned(), self.members[k]));
        let Some(&last) = ends.last() else { return (modes, false) };
        let before = budget.steps();
        match self.trial(&self.cut(&modes, last), &mut budget, all) {
            Trial::Fails => {
                let (mut lo, mut hi) = (0, ends.len() - 1);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match self.trial(&self.cut(&modes, ends[mid]), &mut budget, all) {
                        Trial::Fails => hi = mid,
                        Trial::Orderable => lo = mid + 1,
                        Trial::TooLong => return (self.cut(&modes, ends[hi]), false),
                    }
                }
                modes = self.cut(&modes, ends[hi]);
            }
            Trial::Orderable => {}
            Trial::TooLong => return (modes, false),
        }
        // A relaxation that would take far longer to refute than the whole failing prefix took
        // to check is left alone, so that one hard case does not eat the budget of the others.
        let cap = (budget.steps() - before).saturating_mul(4).max(20_000);

        // Free the operations, first in large chunks, then in halves of those, down to one at a
        // time (as delta debugging does): where most operations do not matter, whole runs of
        // them are freed in one search. Earliest first: the violation is at the end.
        let mut bound: Vec<usize> = (0..modes.len()).filter(|&k| modes[k] == Mode::Strict).collect();
        bound.sort_by_key(|&k| (self.ops[self.members[k]].call, self.members[k]));
        let mut minimal = true;
        let mut size = bound.len().div_ceil(2).max(1);
        loop {
            let mut kept = Vec::with_capacity(bound.len());
            for chunk in bound.chunks(size) {
                match self.trial(&self.freed(&modes, chunk), &mut budget, cap) {
                    Trial::Fails => modes = self.freed(&modes, chunk),
                    Trial::Orderable => kept.extend_from_slice(chunk),
                    Trial::TooLong if budget.spent() => return (modes, false),
                    Trial::TooLong => {
                        minimal &= size > 1;
                        kept.extend_from_slice(chunk);
                    }
                }
            }
            bound = kept;
            if size == 1 || bound.is_empty() {
                break;
            }
            size = size.div_ceil(2);
        }
        (modes, minimal)
    }
}

/// Explains why the part of `ops` made of `members` (history indices, each with its prepared
/// form in `prepared`) is not linearizable. `deepest` and `stuck` come from the search that
/// found it. With no limits, the explanation is every operation of the part, not minimised.
#[allow(clippy::too_many_arguments)]
pub(crate) fn explain<M: Model>(
    model: &M,
    ops: &[Operation],
    clock: Clock,
    part_len: usize,
    members: &[usize],
    prepared: &[Option<Prepared<M>>],
    (deepest, stuck): (usize, usize),
    limits: Option<&Limits>,
) -> Explanation {
    let recorded: Vec<&Prepared<M>> =
        members.iter().map(|&i| prepared[i].as_ref().expect("members are prepared")).collect();
    let opened = members
        .iter()
        .map(|&i| {
            let op = &ops[i];
            if op.status.is_open() {
                return None;
            }
            let open = Operation { status: Status::Info, output: Value::Nil, ..op.clone() };
            model.prepare(&open).ok().flatten()
        })
        .collect();
    let minimiser = Minimiser { model, ops, members, recorded, opened };
    let (modes, minimal) = minimiser.minimise(limits);

    let mut core: Vec<usize> =
        members.iter().zip(&modes).filter(|(_, m)| **m == Mode::Strict).map(|(&i, _)| i).collect();
    core.sort_by_key(|&i| (ops[i].call, i));
    let first_key = &ops[members.first().copied().unwrap_or(0)].key;
    let key = members.iter().all(|&i| ops[i].key == *first_key).then(|| first_key.clone());
    Explanation {
        model: model.name(),
        key,
        others: part_len - core.len(),
        ops: core.iter().map(|&i| Explained::new(model, ops, i)).collect(),
        linearized: deepest,
        total: members.len(),
        stuck: Explained::new(model, ops, members[stuck]),
        minimal,
        clock,
    }
}
