//! The observer: the study's notebook, outside the system (no actor reads it). Clients write
//! every operation (invoke and completion, with virtual times), probe reads, and replicas
//! write every change of what they hold; the caller reads it after the run. The simulation is
//! one thread, so the notebook is an `Rc<RefCell<…>>` shared by the actors and the caller.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::{NodeId, SimTime};
use serde::{Deserialize, Serialize};

use super::Key;
use super::version::{Value, Version, Versioned};

/// Records the observer keeps by default (operations, probes and store changes together);
/// past it, it stops recording and says so.
pub const DEFAULT_MAX_RECORDS: usize = 20_000_000;

/// A read or a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// How an operation ended, in Jepsen's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not finished when the run ended.
    Pending,
    /// Succeeded.
    Ok,
    /// Failed with no effect (a read that got no quorum).
    Fail,
    /// Indeterminate: a write that got no quorum in time may still have reached replicas.
    Info,
}

/// One client operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    /// The process (a client's sequential thread of operations).
    pub process: u64,
    /// The client's index.
    pub client: u32,
    /// The client's node.
    pub node: NodeId,
    /// Read or write.
    pub kind: OpKind,
    /// The key.
    pub key: Key,
    /// The value written (writes).
    pub written: Option<Value>,
    /// When the client started it.
    pub invoke: SimTime,
    /// When it ended.
    pub complete: Option<SimTime>,
    /// How it ended.
    pub outcome: Outcome,
    /// What a successful read returned (several siblings with version vectors).
    pub read: Vec<Versioned>,
    /// The version a successful write was given.
    pub version: Option<Version>,
}

impl OpRecord {
    /// Time from invoke to completion, if it completed.
    pub fn latency(&self) -> Option<Duration> {
        self.complete.map(|c| c - self.invoke)
    }
}

/// A t-visibility probe: a read started `delay` after a write was acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// The key.
    pub key: Key,
    /// The write probed for.
    pub write: Value,
    /// Its version.
    pub version: Version,
    /// The delay after the write's acknowledgement.
    pub delay: Duration,
    /// When the probe started.
    pub invoke: SimTime,
    /// What it returned, if it succeeded.
    pub returned: Option<Vec<Versioned>>,
}

/// A change of what a replica holds for a key: in its own store, or as a hint for another
/// replica (sloppy quorum).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreRecord {
    /// When.
    pub time: SimTime,
    /// Which replica (index).
    pub replica: u32,
    /// The key.
    pub key: Key,
    /// What it holds now.
    pub held: Vec<Versioned>,
    /// `Some(home)`: held as a hint for replica `home`, not as its own copy.
    pub hint_for: Option<u32>,
}

/// Everything observed in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// Client operations, in invoke order.
    pub ops: Vec<OpRecord>,
    /// t-visibility probes, in start order.
    pub probes: Vec<ProbeRecord>,
    /// Store changes, in time order.
    pub stores: Vec<StoreRecord>,
    /// Records not kept because the limit was reached.
    pub dropped: u64,
}

struct Notebook {
    obs: Observations,
    limit: usize,
}

impl Notebook {
    fn room(&mut self) -> bool {
        let used = self.obs.ops.len() + self.obs.probes.len() + self.obs.stores.len();
        if used >= self.limit {
            self.obs.dropped += 1;
            return false;
        }
        true
    }
}

/// The shared notebook. Cloning shares it.
#[derive(Clone)]
pub struct Observer(Rc<RefCell<Notebook>>);

impl Default for Observer {
    fn default() -> Self {
        Observer::with_limit(DEFAULT_MAX_RECORDS)
    }
}

impl Observer {
    /// A notebook that keeps at most `limit` records.
    pub fn with_limit(limit: usize) -> Self {
        Observer(Rc::new(RefCell::new(Notebook { obs: Observations::default(), limit })))
    }

    /// Records the start of an operation; returns its handle, or `None` past the limit.
    pub fn invoke(&self, record: OpRecord) -> Option<usize> {
        let mut nb = self.0.borrow_mut();
        if !nb.room() {
            return None;
        }
        nb.obs.ops.push(record);
        Some(nb.obs.ops.len() - 1)
    }

    /// Records how operation `op` ended.
    pub fn complete(&self, op: usize, at: SimTime, outcome: Outcome, read: Vec<Versioned>, version: Option<Version>) {
        let mut nb = self.0.borrow_mut();
        if let Some(r) = nb.obs.ops.get_mut(op) {
            r.complete = Some(at);
            r.outcome = outcome;
            r.read = read;
            r.version = version;
        }
    }

    /// Records the start of a probe; returns its handle.
    pub fn probe(&self, record: ProbeRecord) -> Option<usize> {
        let mut nb = self.0.borrow_mut();
        if !nb.room() {
            return None;
        }
        nb.obs.probes.push(record);
        Some(nb.obs.probes.len() - 1)
    }

    /// Records what probe `probe` returned.
    pub fn probe_returned(&self, probe: usize, returned: Vec<Versioned>) {
        if let Some(p) = self.0.borrow_mut().obs.probes.get_mut(probe) {
            p.returned = Some(returned);
        }
    }

    /// Records that `replica` now holds `held` for `key` (as a hint for `hint_for`, if set).
    pub fn stored(&self, time: SimTime, replica: u32, key: Key, held: &[Versioned], hint_for: Option<u32>) {
        let mut nb = self.0.borrow_mut();
        if nb.room() {
            nb.obs.stores.push(StoreRecord { time, replica, key, held: held.to_vec(), hint_for });
        }
    }

    /// A copy of everything observed so far.
    pub fn observations(&self) -> Observations {
        self.0.borrow().obs.clone()
    }
}
