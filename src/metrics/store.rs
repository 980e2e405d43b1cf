//! Where metric samples go: one slot per metric, indexed by the metric's id, holding a series
//! over every node and, for metrics a study labels, one series per node that recorded.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use super::handle::name_of;
use super::report::MetricKind;
use super::series::Series;
use crate::limits::{LimitHit, LimitKind};

/// Everything recorded for one metric.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) name: &'static str,
    pub(crate) kind: MetricKind,
    /// Every node merged: samples and counters pooled; for gauges, the sum of each node's
    /// last level.
    pub(crate) all: Series,
    /// Per node slot (0: outside any node, `id + 1`: node `id`), when the metric is labelled.
    pub(crate) nodes: Option<Vec<Option<Box<Series>>>>,
    /// Gauges: each node slot's last level.
    levels: Vec<i64>,
}

impl Slot {
    fn new(name: &'static str, kind: MetricKind, per_node: bool) -> Self {
        Slot { name, kind, all: Series::new(kind.is_histogram()), nodes: per_node.then(Vec::new), levels: Vec::new() }
    }
}

thread_local! {
    /// The store of the sim running on this thread (a sim runs on the thread that built it).
    /// Samples go here without a lock: only this thread records into it.
    static ACTIVE: RefCell<Option<Rc<RefCell<Store>>>> = const { RefCell::new(None) };
}

/// Makes `store` the one samples on this thread go to while `f` runs (a sim's run), then
/// restores the previous one (a sim run inside another's node code).
pub(crate) fn recording<R>(store: &Rc<RefCell<Store>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<RefCell<Store>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| *a.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.borrow_mut().replace(store.clone())));
    f()
}

/// Records into the active store; nothing is recorded outside a run.
#[inline]
pub(crate) fn record_active(id: u32, node: Option<u32>, kind: MetricKind, v: i64, now_ns: u64) -> Result<(), LimitHit> {
    ACTIVE.with(|a| match &*a.borrow() {
        Some(store) => store.borrow_mut().record(id, node, kind, v, now_ns),
        None => Ok(()),
    })
}

/// All metrics of a run.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub(crate) window_ns: u64,
    max_windows: u64,
    per_node: BTreeSet<String>,
    pub(crate) slots: Vec<Option<Box<Slot>>>,
    /// Samples whose kind differed from the metric's first sample, and were not recorded.
    pub(crate) conflicts: u64,
}

impl Store {
    pub(crate) fn new(window_ns: u64, max_windows: u64, per_node: BTreeSet<String>) -> Self {
        Store { window_ns: window_ns.max(1), max_windows, per_node, slots: Vec::new(), conflicts: 0 }
    }

    /// Records one sample of metric `id`, emitted by `node` at `now_ns`. Fails when the
    /// sample's window is past the window limit (nothing is recorded then).
    #[inline]
    pub(crate) fn record(
        &mut self,
        id: u32,
        node: Option<u32>,
        kind: MetricKind,
        v: i64,
        now_ns: u64,
    ) -> Result<(), LimitHit> {
        let i = id as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        let per_node = &self.per_node;
        let slot = self.slots[i].get_or_insert_with(|| {
            let name = name_of(id);
            Box::new(Slot::new(name, kind, per_node.contains(name)))
        });
        if slot.kind != kind {
            self.conflicts += 1;
            return Ok(());
        }
        let (index, end_ns) = match slot.all.current_ends_after(now_ns) {
            Some(current) => current,
            None => {
                let index = now_ns / self.window_ns;
                if index >= self.max_windows {
                    return Err(LimitHit { kind: LimitKind::Windows, limit: self.max_windows });
                }
                (index, (index + 1).saturating_mul(self.window_ns))
            }
        };
        let n = node.map_or(0, |n| n as usize + 1);
        // What the totals grow by: a gauge's total is its level, so it grows by the change.
        let (level, add) = if kind == MetricKind::Gauge {
            if slot.levels.len() <= n {
                slot.levels.resize(n + 1, 0);
            }
            let change = v.saturating_sub(std::mem::replace(&mut slot.levels[n], v));
            (slot.all.last.saturating_add(change), change)
        } else {
            (v, v)
        };
        slot.all.record(level, add, index, end_ns);
        if let Some(nodes) = &mut slot.nodes {
            if nodes.len() <= n {
                nodes.resize_with(n + 1, || None);
            }
            let series = nodes[n].get_or_insert_with(|| Box::new(Series::new(kind.is_histogram())));
            series.record(v, add, index, end_ns);
        }
        Ok(())
    }
}
