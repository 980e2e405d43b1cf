//! A node's slot in the kernel: its status, inbox, local clock, durable store and the cell that
//! stops its tasks.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;

use serde::{Deserialize, Serialize};

use crate::durable::Durable;
use crate::net::Packet;
use crate::time::SimTime;
use crate::trace::{self, DropReason};

/// Where a node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Running normally.
    Running,
    /// Frozen by a pause command; messages wait in its inbox.
    Paused,
    /// Killed by a crash command; messages to it are dropped.
    Crashed,
    /// Its `run` returned; messages to it are dropped.
    Finished,
}

impl NodeStatus {
    /// The state in one lowercase word: `running`, `paused`, `crashed`, `finished`.
    pub fn name(self) -> &'static str {
        match self {
            NodeStatus::Running => "running",
            NodeStatus::Paused => "paused",
            NodeStatus::Crashed => "crashed",
            NodeStatus::Finished => "finished",
        }
    }

    /// True while the node's tasks exist (running or paused).
    pub fn is_alive(self) -> bool {
        matches!(self, NodeStatus::Running | NodeStatus::Paused)
    }
}

/// What one incarnation's tasks share with the node's slot: whether it is cancelled (crashed or
/// finished) or paused, and who waits for resume. A restart makes a new cell.
#[derive(Default)]
pub(crate) struct NodeCell {
    pub(crate) cancelled: Cell<bool>,
    pub(crate) paused: Cell<bool>,
    pub(crate) paused_wakers: RefCell<Vec<Waker>>,
}

/// A node's own clock: true virtual time, stepped by skew and bent by drift.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LocalClock {
    /// Offset accumulated so far, in nanoseconds (skew steps and past drift).
    offset: i64,
    /// Current drift in parts per million, and since when.
    ppm: f64,
    since: SimTime,
}

impl LocalClock {
    pub(crate) fn read(&self, now: SimTime) -> SimTime {
        let drift = (now.saturating_since(self.since).as_nanos() as f64 * self.ppm / 1e6) as i64;
        let local = now.as_nanos() as i128 + i128::from(self.offset) + i128::from(drift);
        SimTime::from_nanos(local.clamp(0, i128::from(u64::MAX)) as u64)
    }

    pub(crate) fn skew(&mut self, nanos: i64) {
        self.offset = self.offset.saturating_add(nanos);
    }

    pub(crate) fn drift(&mut self, now: SimTime, ppm: f64) {
        let past = (now.saturating_since(self.since).as_nanos() as f64 * self.ppm / 1e6) as i64;
        self.offset = self.offset.saturating_add(past);
        self.ppm = ppm;
        self.since = now;
    }
}

/// Everything the kernel keeps about one node.
pub(crate) struct NodeSlot {
    pub(crate) name: Rc<str>,
    pub(crate) status: NodeStatus,
    pub(crate) incarnation: u32,
    pub(crate) inbox: VecDeque<Packet>,
    /// The task waiting in `recv`; kept between receives (so it is not cloned each time), woken
    /// only while `recv_waiting`.
    pub(crate) recv_waker: Option<Waker>,
    pub(crate) recv_waiting: bool,
    pub(crate) cell: Rc<NodeCell>,
    pub(crate) durable: Durable,
    pub(crate) clock: LocalClock,
    /// Messages that arrived while the node was crashed or finished.
    pub(crate) undeliverable: u64,
    /// Messages that arrived but could not be decoded.
    pub(crate) undecodable: u64,
}

impl NodeSlot {
    pub(crate) fn new(name: &str) -> Self {
        NodeSlot {
            name: Rc::from(name),
            status: NodeStatus::Running,
            incarnation: 0,
            inbox: VecDeque::new(),
            recv_waker: None,
            recv_waiting: false,
            cell: Rc::default(),
            durable: Durable::default(),
            clock: LocalClock::default(),
            undeliverable: 0,
            undecodable: 0,
        }
    }

    /// Cancels the current incarnation's tasks and drops its inbox.
    pub(crate) fn cancel(&mut self, status: NodeStatus) {
        self.status = status;
        self.cell.cancelled.set(true);
        self.cell.paused.set(false);
        self.cell.paused_wakers.borrow_mut().clear();
        if !self.inbox.is_empty() && trace::drops_traced() {
            let reason =
                if status == NodeStatus::Crashed { DropReason::CrashedInbox } else { DropReason::Undeliverable };
            for p in &self.inbox {
                trace::dropped(reason, p.from, p.to, p.bytes.len());
            }
        }
        self.inbox.clear();
        self.recv_waker = None;
        self.recv_waiting = false;
    }

    /// Starts a new incarnation: fresh tasks, fresh cancellation, the same durable store.
    pub(crate) fn reincarnate(&mut self) {
        self.incarnation += 1;
        self.status = NodeStatus::Running;
        self.cell = Rc::default();
    }

    pub(crate) fn resume(&mut self) {
        self.status = NodeStatus::Running;
        self.cell.paused.set(false);
        for w in self.cell.paused_wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_steps_and_drift_bends() {
        let mut c = LocalClock::default();
        let t = |s: u64| SimTime::ZERO + Duration::from_secs(s);
        c.skew(250_000_000);
        assert_eq!(c.read(t(1)), t(1) + Duration::from_millis(250));
        c.drift(t(10), 1000.0); // 1000 ppm: 1 ms fast per second
        assert_eq!(c.read(t(20)), t(20) + Duration::from_millis(260));
        c.drift(t(20), 0.0);
        assert_eq!(c.read(t(30)), t(30) + Duration::from_millis(260));
        c.skew(-40_000_000_000);
        assert_eq!(c.read(t(30)), SimTime::ZERO, "a clock set before the start reads zero");
    }
}
