//! The kernel: owns virtual time, the event queue, the nodes and the network, and advances the
//! clock when every task is waiting.
//!
//! Time moves in one place only, [`Kernel::on_idle`]. It runs when the last runnable task goes
//! back to waiting (see [`task`]): it applies commands that arrived, then jumps the clock to the
//! next event and fires every event due at that instant, in the order they were scheduled.
//! Nothing else reads or sets the clock, so a run is a pure function of its seed and inputs.

mod node;
mod pace;
mod queue;
mod task;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll, Waker};

pub use node::NodeStatus;
pub(crate) use node::{NodeCell, NodeSlot};
pub(crate) use pace::Pace;
pub(crate) use queue::{Event, EventQueue, TimerRef};
use task::{Owner, Tracked};

use crate::control::{Command, ControlError, ControlHandle, ControlStats, Request, Status};
use crate::id::NodeId;
use crate::limits::{LimitHit, LimitKind, Limits};
use crate::net::{NetStats, Network, Packet, Payload, Wire};
use crate::time::SimTime;
use crate::trace::{self, DropReason};

/// Trace target of applied and refused commands.
pub const CONTROL_TARGET: &str = "faultline::control";

/// What the kernel shares with wakers and tracing layers, which may live on other threads:
/// the clock, the node being polled, and the count of runnable tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    now: AtomicU64,
    current: AtomicU32,
    runnable: AtomicUsize,
    /// A limit that a layer (metrics) reached; the kernel stops the run at its next step.
    limit: OnceLock<LimitHit>,
}

const NO_NODE: u32 = u32::MAX;

impl Shared {
    fn new() -> Self {
        Shared {
            now: AtomicU64::new(0),
            current: AtomicU32::new(NO_NODE),
            runnable: AtomicUsize::new(0),
            limit: OnceLock::new(),
        }
    }

    /// The virtual time now.
    pub(crate) fn now(&self) -> SimTime {
        SimTime::from_nanos(self.now.load(Ordering::Relaxed))
    }

    fn set_now(&self, t: SimTime) {
        self.now.store(t.as_nanos(), Ordering::Relaxed);
    }

    /// The node whose task is being polled, if any.
    pub(crate) fn current(&self) -> Option<NodeId> {
        match self.current.load(Ordering::Relaxed) {
            NO_NODE => None,
            n => Some(NodeId(n)),
        }
    }

    fn set_current(&self, node: Option<NodeId>) {
        self.current.store(node.map_or(NO_NODE, |n| n.0), Ordering::Relaxed);
    }

    fn runnable(&self) -> usize {
        self.runnable.load(Ordering::Acquire)
    }

    fn runnable_add(&self) {
        self.runnable.fetch_add(1, Ordering::AcqRel);
    }

    /// Records that a limit was reached (the first one counts); the run stops at its next step.
    pub(crate) fn reach(&self, hit: LimitHit) {
        let _ = self.limit.set(hit);
    }

    /// Decrements; returns how many remain.
    fn runnable_sub(&self) -> usize {
        self.runnable.fetch_sub(1, Ordering::AcqRel) - 1
    }
}

/// Why a call to run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// The virtual deadline was reached.
    Deadline,
    /// Nothing was left to happen: every task waits and no event is scheduled.
    Quiescent,
    /// A `stop` command ended the run.
    Stopped,
    /// A node's code panicked: the node was marked crashed and the run stopped at that instant
    /// (the report's `panics` says who and why).
    Panicked,
    /// A resource limit was reached: the run stopped at that instant.
    Limit(LimitHit),
}

/// Starts (or restarts) a node: builds it from its factory and spawns its `run`.
pub(crate) type Starter = Rc<dyn Fn(&Rc<Kernel>, NodeId)>;

/// The mutable state of a simulation. Only the sim's thread touches it.
pub(crate) struct State {
    pub(crate) queue: EventQueue,
    pub(crate) network: Box<dyn Network>,
    pub(crate) nodes: Vec<NodeSlot>,
    control_rx: mpsc::Receiver<Request>,
    control_pending: Arc<AtomicUsize>,
    /// A command from outside that arrived in the middle of an instant, for after it.
    deferred: Option<Request>,
    pub(crate) control_stats: ControlStats,
    pub(crate) names: Arc<[String]>,
    deadline: SimTime,
    outcome: Option<RunOutcome>,
    pace: Option<Pace>,
    pace_wait: bool,
    msg_seq: u64,
    /// Messages addressed to no node.
    pub(crate) misaddressed: u64,
    /// Panics of node code: the node and the message.
    pub(crate) panics: Vec<(NodeId, String)>,
    /// Instants the clock stopped at, and events fired.
    pub(crate) instants: u64,
    pub(crate) events: u64,
    limits: Limits,
}

/// The simulation's engine. Shared (`Rc`) by the driver, every task and every context.
pub(crate) struct Kernel {
    pub(crate) shared: Arc<Shared>,
    pub(crate) st: RefCell<State>,
    driver: RefCell<Option<Waker>>,
    starter: Starter,
    pub(crate) control: ControlHandle,
    pub(crate) seed: u64,
    pub(crate) realtime: Option<f64>,
}

impl Kernel {
    pub(crate) fn new(
        seed: u64,
        names: Arc<[String]>,
        network: Box<dyn Network>,
        starter: Starter,
        realtime: Option<f64>,
        limits: Limits,
    ) -> Rc<Self> {
        let nodes = names.iter().map(|n| NodeSlot::new(n)).collect();
        let (tx, control_rx) = mpsc::channel();
        let control_pending = Arc::new(AtomicUsize::new(0));
        let control = ControlHandle::new(tx, control_pending.clone(), names.clone());
        Rc::new(Kernel {
            shared: Arc::new(Shared::new()),
            st: RefCell::new(State {
                queue: EventQueue::default(),
                network,
                nodes,
                control_rx,
                control_pending,
                deferred: None,
                control_stats: ControlStats::default(),
                names,
                deadline: SimTime::ZERO,
                outcome: None,
                pace: None,
                pace_wait: false,
                msg_seq: 0,
                misaddressed: 0,
                panics: Vec::new(),
                instants: 0,
                events: 0,
                limits,
            }),
            driver: RefCell::new(None),
            starter,
            control,
            seed,
            realtime,
        })
    }

    pub(crate) fn now(&self) -> SimTime {
        self.shared.now()
    }

    /// Spawns a task of `node`, tracked for idleness and cancelled with the node.
    pub(crate) fn spawn(self: &Rc<Self>, node: NodeId, fut: Pin<Box<dyn Future<Output = ()>>>) {
        let cell = self.st.borrow().nodes[node.index()].cell.clone();
        tokio::task::spawn_local(Tracked::new(self.clone(), Owner { node, cell }, fut));
    }

    /// Starts every node; called once, inside the runtime, before the first instant.
    pub(crate) fn start_all(self: &Rc<Self>) {
        let count = self.st.borrow().nodes.len();
        self.start((0..count).map(NodeId::from_index).collect());
    }

    /// The node's `run` returned: it is finished, and its sub-tasks end with it.
    pub(crate) fn node_returned(&self, node: NodeId, incarnation: u32) {
        let mut st = self.st.borrow_mut();
        let slot = &mut st.nodes[node.index()];
        if slot.incarnation == incarnation && slot.status.is_alive() {
            slot.cancel(NodeStatus::Finished);
        }
    }

    /// A task of `node` panicked: the node is crashed, and the run stops now.
    pub(crate) fn node_panicked(&self, node: NodeId, message: String) {
        let mut st = self.st.borrow_mut();
        let slot = &mut st.nodes[node.index()];
        if slot.status.is_alive() {
            slot.cancel(NodeStatus::Crashed);
        }
        tracing::error!(node = %slot.name, message = %message, "node panicked");
        st.panics.push((node, message));
        st.outcome = Some(RunOutcome::Panicked);
        drop(st);
        self.wake_driver();
    }

    /// Hands a serialized message to the network.
    pub(crate) fn send(&self, from: NodeId, to: NodeId, bytes: Payload) {
        let now = self.now();
        let mut st = self.st.borrow_mut();
        if to.index() >= st.nodes.len() {
            st.misaddressed += 1;
            trace::dropped(DropReason::Misaddressed, from, to, bytes.len());
            return;
        }
        if st.queue.len() as u64 >= st.limits.max_in_flight {
            let hit = LimitHit { kind: LimitKind::InFlight, limit: st.limits.max_in_flight };
            self.shared.reach(hit);
            trace::dropped(DropReason::InFlightLimit, from, to, bytes.len());
            return;
        }
        st.msg_seq += 1;
        let packet = Packet { from, to, sent_at: now, seq: st.msg_seq, bytes };
        let State { network, queue, .. } = &mut *st;
        network.send(now, packet, &mut Wire::new(queue, now));
    }

    /// The next message in `node`'s inbox, or registers the waker.
    pub(crate) fn poll_recv(&self, node: NodeId, cx: &mut TaskContext<'_>) -> Poll<Packet> {
        let mut st = self.st.borrow_mut();
        let slot = &mut st.nodes[node.index()];
        match slot.inbox.pop_front() {
            Some(p) => {
                slot.recv_waiting = false;
                Poll::Ready(p)
            }
            None => {
                if !slot.recv_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.recv_waker = Some(cx.waker().clone());
                }
                slot.recv_waiting = true;
                Poll::Pending
            }
        }
    }

    /// Arms a timer for `at` that wakes `waker`.
    pub(crate) fn add_timer(&self, at: SimTime, waker: &Waker) -> TimerRef {
        self.st.borrow_mut().queue.add_timer(at, waker)
    }

    /// The sleeper of `timer` now waits with `waker`.
    pub(crate) fn set_timer_waker(&self, timer: TimerRef, waker: &Waker) {
        self.st.borrow_mut().queue.set_timer_waker(timer, waker);
    }

    /// The sleeper of `timer` went away, or woke. Dropped while the kernel's state is borrowed
    /// (a node's future torn down inside the kernel), it leaves the timer armed: its wake then
    /// finds a task that is gone, which is harmless.
    pub(crate) fn cancel_timer(&self, timer: TimerRef) {
        if let Ok(mut st) = self.st.try_borrow_mut() {
            st.queue.cancel_timer(timer);
        }
    }

    /// Schedules a command for virtual instant `at`.
    pub(crate) fn schedule(&self, at: SimTime, command: Command) {
        self.st.borrow_mut().queue.push(at.max(self.now()), Event::Control(Box::new(command)));
    }

    /// A task went back to waiting; when it was the last runnable one, time may move.
    fn release(self: &Rc<Self>) {
        if self.shared.runnable_sub() == 0 {
            self.on_idle();
        }
    }

    fn wake_driver(&self) {
        if let Some(w) = self.driver.borrow().as_ref() {
            w.wake_by_ref();
        }
    }

    /// Every task waits: apply what arrived on the control channel, then move the clock to the
    /// next event and fire everything due then. Returns once a task can run, or the run is over
    /// (the driver is woken), or pacing must wait for the wall clock (the driver is woken).
    pub(crate) fn on_idle(self: &Rc<Self>) {
        while self.shared.runnable() == 0 {
            let mut restart = Vec::new();
            {
                let mut st = self.st.borrow_mut();
                if let Some(&hit) = self.shared.limit.get()
                    && st.outcome.is_none()
                {
                    st.outcome = Some(RunOutcome::Limit(hit));
                    drop(st);
                    self.wake_driver();
                    return;
                }
                if st.outcome.is_some() || st.pace_wait {
                    return;
                }
                match st.take_request_between_instants(self.now()) {
                    Some(req) => {
                        let now = self.now();
                        let at = if matches!(req, Request::External(..)) {
                            live_instant(now, now, st.queue.next_time().map_or(st.deadline, |t| t.min(st.deadline)))
                        } else {
                            now
                        };
                        self.shared.set_now(at);
                        restart.extend(st.answer(req, at));
                    }
                    None => {
                        let next = st.queue.next_time();
                        let due = next.filter(|&t| t <= st.deadline);
                        // A live run waits for the wall clock (and for input) before moving on.
                        let wall = due.unwrap_or(st.deadline);
                        if st.pace.as_ref().is_some_and(|p| !p.reached(wall)) {
                            st.pace_wait = true;
                            drop(st);
                            self.wake_driver();
                            return;
                        }
                        match due {
                            Some(t) => {
                                self.shared.set_now(t);
                                st.instants += 1;
                                // A stop ends the instant too: what was due after it stays
                                // undone, as when a live stop applies before the instant's
                                // events (so that a recorded live session replays exactly).
                                while st.outcome.is_none()
                                    && let Some(event) = st.queue.pop_due(t)
                                {
                                    st.events += 1;
                                    restart.extend(st.dispatch(event, t));
                                }
                            }
                            None if next.is_some() || st.pace.is_some() => {
                                self.shared.set_now(st.deadline);
                                st.outcome = Some(RunOutcome::Deadline);
                            }
                            None => st.outcome = Some(RunOutcome::Quiescent),
                        }
                    }
                }
            }
            self.start(restart);
            if self.st.borrow().outcome.is_some() {
                self.wake_driver();
                return;
            }
        }
    }

    /// In a live run, blocks the thread (every task is idle) until the next event is due on
    /// the wall clock or a command arrives, whichever is first.
    fn pace_wait(self: &Rc<Self>) {
        let mut restart = Vec::new();
        {
            let mut st = self.st.borrow_mut();
            st.pace_wait = false;
            let target = st.queue.next_time().map_or(st.deadline, |t| t.min(st.deadline));
            let Some(pace) = st.pace.clone() else { return };
            let timeout = pace.wall_at(target).saturating_duration_since(std::time::Instant::now());
            match st.control_rx.recv_timeout(timeout) {
                Ok(req) => {
                    st.control_pending.fetch_sub(1, Ordering::AcqRel);
                    let at = if matches!(req, Request::External(..)) {
                        live_instant(self.now(), pace.virtual_now(), target)
                    } else {
                        pace.virtual_now().clamp(self.now(), target)
                    };
                    self.shared.set_now(at);
                    restart.extend(st.answer(req, at));
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
        self.start(restart);
    }

    /// Starts nodes that commands restarted (outside any borrow of the state: the factory and
    /// the spawn are user code and kernel calls).
    fn start(self: &Rc<Self>, nodes: Vec<NodeId>) {
        for node in nodes {
            (self.starter)(self, node);
        }
    }

    /// Prepares a call to run until `deadline`.
    pub(crate) fn begin(&self, deadline: SimTime) {
        let mut st = self.st.borrow_mut();
        st.deadline = deadline;
        st.outcome = None;
        st.pace = self.realtime.map(|f| Pace::start(f, self.now()));
    }
}

impl State {
    /// [`State::take_request`], except that what is due at `now` runs before a command from
    /// outside the run, which applies between instants, never in the middle of one (see
    /// `live_instant`): while events are still due, such a command waits at the head of the
    /// line. A node's own commands apply at once.
    fn take_request_between_instants(&mut self, now: SimTime) -> Option<Request> {
        let req = match self.deferred.take() {
            Some(req) => req,
            None => self.take_request()?,
        };
        if matches!(req, Request::External(..)) && self.queue.next_time() == Some(now) {
            self.deferred = Some(req);
            return None;
        }
        Some(req)
    }

    /// The next command sent on the control channel, if any (without touching the channel when
    /// nothing was sent).
    fn take_request(&mut self) -> Option<Request> {
        if self.control_pending.load(Ordering::Acquire) == 0 {
            return None;
        }
        match self.control_rx.try_recv() {
            Ok(req) => {
                self.control_pending.fetch_sub(1, Ordering::AcqRel);
                Some(req)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// Fires one event due now; returns a node to start when the event restarts one.
    fn dispatch(&mut self, event: Event, now: SimTime) -> Option<NodeId> {
        match event {
            Event::Deliver(packet) => {
                let State { network, nodes, .. } = self;
                let packet = network.arrive(now, packet)?;
                let slot = &mut nodes[packet.to.index()];
                if slot.status.is_alive() {
                    slot.inbox.push_back(packet);
                    if slot.recv_waiting
                        && let Some(w) = &slot.recv_waker
                    {
                        slot.recv_waiting = false;
                        w.wake_by_ref();
                    }
                } else {
                    slot.undeliverable += 1;
                    trace::dropped(DropReason::Undeliverable, packet.from, packet.to, packet.bytes.len());
                }
                None
            }
            Event::Control(command) => self.answer(Request::Command(*command, None), now),
            Event::Timer(timer) => {
                timer.fire();
                None
            }
        }
    }

    /// Applies one command (tracing and counting the outcome) or answers a question, and
    /// replies to the sender.
    fn answer(&mut self, req: Request, now: SimTime) -> Option<NodeId> {
        let (command, reply) = match req {
            Request::Command(command, reply) | Request::External(command, reply) => (command, reply),
            Request::Status(reply) => {
                let _ = reply.send(Ok(self.status(now)));
                return None;
            }
        };
        let kind = command.kind();
        let words = command.describe(&self.names);
        let result = self.apply(&command, now);
        self.control_stats.count(kind, result.is_ok());
        match &result {
            Ok(_) => tracing::info!(target: CONTROL_TARGET, command = %words, "applied"),
            Err(e) => tracing::warn!(target: CONTROL_TARGET, command = %words, error = %e, "refused"),
        }
        let start = result.as_ref().ok().copied().flatten();
        if let Some(reply) = reply {
            let _ = reply.send(result.map(|_| now));
        }
        start
    }

    fn status(&self, now: SimTime) -> Status {
        let (total, held) = self.network.total_in_flight(&mut self.queue.in_flight());
        Status {
            now,
            nodes: self.nodes.iter().map(|s| (s.name.to_string(), s.status)).collect(),
            held,
            delivered: total.delivered,
            control: self.control_stats.clone(),
        }
    }

    /// The network's counters, told which deliveries are still queued.
    pub(crate) fn net_stats(&self) -> NetStats {
        self.network.stats_in_flight(&mut self.queue.in_flight())
    }

    /// The same at the end of a run: the network hands its counters over.
    pub(crate) fn take_net_stats(&mut self) -> NetStats {
        self.network.take_stats_in_flight(&mut self.queue.in_flight())
    }

    fn apply(&mut self, command: &Command, now: SimTime) -> Result<Option<NodeId>, ControlError> {
        // Every path in checks here too (a node's own control handle included): a link delay
        // beyond any run is refused, never wrapped.
        command.validate()?;
        let count = self.nodes.len();
        if let Some(&node) = command.nodes().iter().find(|n| n.index() >= count) {
            return Err(ControlError::UnknownNode { node, count });
        }
        let wrong = |command: &'static str, slot: &NodeSlot| ControlError::WrongState {
            command,
            node: slot.name.to_string(),
            state: slot.status.name(),
        };
        match command {
            Command::Net(fault) => {
                let State { network, queue, .. } = self;
                network.apply(now, fault, &mut Wire::new(queue, now))?;
            }
            Command::Crash(n) => {
                let slot = &mut self.nodes[n.index()];
                if !slot.status.is_alive() {
                    return Err(wrong("crash", slot));
                }
                slot.cancel(NodeStatus::Crashed);
            }
            Command::Restart(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.status.is_alive() {
                    return Err(wrong("restart", slot));
                }
                slot.reincarnate();
                return Ok(Some(*n));
            }
            Command::Pause(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.status != NodeStatus::Running {
                    return Err(wrong("pause", slot));
                }
                slot.status = NodeStatus::Paused;
                slot.cell.paused.set(true);
            }
            Command::Resume(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.status != NodeStatus::Paused {
                    return Err(wrong("resume", slot));
                }
                slot.resume();
            }
            Command::Skew { node, nanos } => self.nodes[node.index()].clock.skew(*nanos),
            Command::Drift { node, ppm } => {
                if !ppm.is_finite() || ppm.abs() >= 1e6 {
                    return Err(ControlError::Invalid(format!(
                        "drift must be a finite rate between -1000000 and 1000000 ppm, got {ppm}"
                    )));
                }
                self.nodes[node.index()].clock.drift(now, *ppm);
            }
            Command::Stop => self.outcome = Some(RunOutcome::Stopped),
        }
        Ok(None)
    }
}

/// The instant a command from outside the run (live control) applies, wished for at `wish`,
/// when the sim is idle at `now` (whose events have all run) and the next event is at `next`:
/// after `now` and at most `next`. A scheduled command at that instant applies at the same
/// point (before the instant's events), so a recorded live session replays exactly.
fn live_instant(now: SimTime, wish: SimTime, next: SimTime) -> SimTime {
    let after = SimTime::from_nanos(now.as_nanos().saturating_add(1));
    wish.max(after).min(next).max(now)
}

/// The future the runtime blocks on: waits for the run's outcome, and in live runs does the
/// blocking waits for the wall clock.
pub(crate) struct Drive {
    pub(crate) kernel: Rc<Kernel>,
}

impl Future for Drive {
    type Output = RunOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<RunOutcome> {
        let k = &self.kernel;
        *k.driver.borrow_mut() = Some(cx.waker().clone());
        loop {
            if let Some(outcome) = k.st.borrow_mut().outcome.take() {
                return Poll::Ready(outcome);
            }
            if k.shared.runnable() > 0 {
                return Poll::Pending;
            }
            if k.st.borrow().pace_wait {
                k.pace_wait();
            }
            k.on_idle();
            if k.shared.runnable() > 0 && k.st.borrow().outcome.is_none() {
                return Poll::Pending;
            }
        }
    }
}
