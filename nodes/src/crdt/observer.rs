//! What a run leaves for analysis: every acknowledged operation with its virtual time, each
//! replica's state (live, and at the end), when the states last became all equal, traffic, and
//! per-window samples. The simulation runs on one thread, so the [`Observer`] is an
//! `Rc<RefCell<..>>` shared by the replicas and the code that built the run.

use std::cell::{Ref, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use faultline::SimTime;

use super::analysis::Observations;
use super::{Crdt, Op, ReplicaId};

/// Most replicas whose state size is sampled per window (evenly spaced over the cluster).
pub const SIZE_SAMPLES: usize = 64;
/// Most windows an observer keeps; the monitor stops sampling after that many.
pub const MAX_WINDOWS: usize = 1_000_000;

/// An operation a replica acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// The op's id (its position in the schedule).
    pub id: u64,
    /// Virtual (real) time when the replica applied it.
    pub at: SimTime,
    /// The replica's own clock then, in nanoseconds.
    pub local_nanos: u64,
    /// Where.
    pub replica: ReplicaId,
    /// What.
    pub op: Op,
    /// For a map write: the id of the write it overwrote at that replica.
    pub overwrote: Option<u64>,
}

/// The cluster at the end of one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowSample {
    /// The window's end.
    pub end: SimTime,
    /// Distinct replica states (by digest).
    pub distinct_states: usize,
    /// Largest state, in bytes, among the sampled replicas (all of them up to
    /// [`SIZE_SAMPLES`] replicas).
    pub state_bytes_max: usize,
    /// Gossip messages sent so far.
    pub messages: u64,
    /// Gossip bytes sent so far.
    pub bytes: u64,
    /// Gossip messages that carried a full state, so far.
    pub full_states: u64,
    /// Operations acknowledged so far.
    pub ops: u64,
    /// Merges that changed a replica, so far.
    pub merges: u64,
    /// Tombstones forgotten by garbage collection, so far.
    pub collected: u64,
}

struct Inner<T> {
    states: Vec<Rc<RefCell<T>>>,
    digests: Vec<u64>,
    distinct: BTreeMap<u64, u32>,
    equal_since: Option<SimTime>,
    ops: Vec<OpRecord>,
    windows: Vec<WindowSample>,
    messages: u64,
    bytes: u64,
    full_states: u64,
    merges: u64,
    collected: u64,
    state_bytes_max: usize,
}

/// A handle on what the replicas of one run report. Cheap to clone.
pub struct Observer<T>(Rc<RefCell<Inner<T>>>);

impl<T> Clone for Observer<T> {
    fn clone(&self) -> Self {
        Observer(self.0.clone())
    }
}

impl<T: Crdt> Observer<T> {
    /// An observer of `n` replicas, all in the initial state.
    pub fn new(n: usize) -> Self {
        let d = T::default().digest();
        Observer(Rc::new(RefCell::new(Inner {
            states: (0..n).map(|_| Rc::new(RefCell::new(T::default()))).collect(),
            digests: vec![d; n],
            distinct: BTreeMap::from([(d, n as u32)]),
            equal_since: Some(SimTime::ZERO),
            ops: Vec::new(),
            windows: Vec::new(),
            messages: 0,
            bytes: 0,
            full_states: 0,
            merges: 0,
            collected: 0,
            state_bytes_max: 0,
        })))
    }

    /// The cell holding replica `i`'s state (the replica's own, shared for observation).
    pub(crate) fn cell(&self, i: ReplicaId) -> Rc<RefCell<T>> {
        self.0.borrow().states[i as usize].clone()
    }

    /// Replica `i`'s state changed at `now`.
    pub(crate) fn changed(&self, i: ReplicaId, now: SimTime) {
        let mut inner = self.0.borrow_mut();
        let digest = inner.states[i as usize].borrow().digest();
        let old = std::mem::replace(&mut inner.digests[i as usize], digest);
        if old == digest {
            return;
        }
        if let Some(c) = inner.distinct.get_mut(&old) {
            *c -= 1;
            if *c == 0 {
                inner.distinct.remove(&old);
            }
        }
        *inner.distinct.entry(digest).or_insert(0) += 1;
        if inner.distinct.len() > 1 {
            inner.equal_since = None;
        } else if inner.equal_since.is_none() {
            inner.equal_since = Some(now);
        }
    }

    /// A replica acknowledged an operation.
    pub(crate) fn op(&self, record: OpRecord) {
        self.0.borrow_mut().ops.push(record);
    }

    /// A gossip message of `bytes` left a replica.
    pub(crate) fn sent(&self, bytes: usize, full: bool) {
        let mut inner = self.0.borrow_mut();
        inner.messages += 1;
        inner.bytes += bytes as u64;
        inner.full_states += u64::from(full);
    }

    /// A merge changed a replica's state.
    pub(crate) fn merged(&self) {
        self.0.borrow_mut().merges += 1;
    }

    /// A replica forgot `n` tombstones.
    pub(crate) fn collected(&self, n: u64) {
        self.0.borrow_mut().collected += n;
    }

    /// Closes a window at `end`: samples distinct states and state sizes. `None` once
    /// [`MAX_WINDOWS`] are kept.
    pub(crate) fn sample(&self, end: SimTime) -> Option<WindowSample> {
        let mut inner = self.0.borrow_mut();
        if inner.windows.len() >= MAX_WINDOWS {
            return None;
        }
        let n = inner.states.len();
        let step = n.div_ceil(SIZE_SAMPLES).max(1);
        let size = (0..n).step_by(step).map(|i| inner.states[i].borrow().size_bytes()).max().unwrap_or(0);
        inner.state_bytes_max = inner.state_bytes_max.max(size);
        let s = WindowSample {
            end,
            distinct_states: inner.distinct.len(),
            state_bytes_max: size,
            messages: inner.messages,
            bytes: inner.bytes,
            full_states: inner.full_states,
            ops: inner.ops.len() as u64,
            merges: inner.merges,
            collected: inner.collected,
        };
        inner.windows.push(s);
        Some(s)
    }

    /// The last window sampled, if any.
    pub(crate) fn last_sample(&self) -> Option<WindowSample> {
        self.0.borrow().windows.last().copied()
    }

    /// Distinct replica states now (by digest).
    pub fn distinct_states(&self) -> usize {
        self.0.borrow().distinct.len()
    }

    /// Since when every replica holds the same state, if they do now.
    pub fn equal_since(&self) -> Option<SimTime> {
        self.0.borrow().equal_since
    }

    /// Replica `i`'s state now.
    pub fn state(&self, i: ReplicaId) -> T {
        self.0.borrow().states[i as usize].borrow().clone()
    }

    /// The operations acknowledged so far, in the order they were applied.
    pub fn ops(&self) -> Ref<'_, [OpRecord]> {
        Ref::map(self.0.borrow(), |i| i.ops.as_slice())
    }

    /// Everything observed so far, with a copy of every replica's state now and exact sizes.
    pub fn observations(&self) -> Observations<T> {
        let states = self.0.borrow().states.iter().map(|s| s.borrow().clone()).collect();
        self.observations_with(states)
    }

    /// Like [`observations`](Self::observations), but moves every state out of its replica,
    /// leaving the initial state behind: for the end of a run, where a copy of every state
    /// would double the memory (10,000 G-Counters of 10,000 entries are most of a gigabyte).
    /// The run must not go on afterwards.
    pub fn take_observations(&self) -> Observations<T> {
        let states = self.0.borrow().states.iter().map(|s| std::mem::take(&mut *s.borrow_mut())).collect();
        self.observations_with(states)
    }

    fn observations_with(&self, states: Vec<T>) -> Observations<T> {
        let inner = self.0.borrow();
        let state_bytes_final = states.iter().map(Crdt::size_bytes).max().unwrap_or(0);
        Observations {
            last_op_at: inner.ops.iter().map(|o| o.at).max(),
            states,
            ops: inner.ops.clone(),
            windows: inner.windows.clone(),
            equal_since: inner.equal_since,
            messages: inner.messages,
            bytes: inner.bytes,
            full_states: inner.full_states,
            merges: inner.merges,
            collected: inner.collected,
            state_bytes_max: inner.state_bytes_max.max(state_bytes_final),
            state_bytes_final,
        }
    }
}
