//! A node's view of the world: its identity, the network, the virtual clock, its own RNG and
//! clock, its sub-tasks, its durable store and its metrics.

use std::cell::{RefCell, RefMut};
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use crate::control::ControlHandle;
use crate::durable::Durable;
use crate::id::NodeId;
use crate::kernel::{Kernel, TimerRef};
use crate::metrics;
use crate::net::Packet;
use crate::node::Message;
use crate::seed::SimRng;
use crate::time::SimTime;

/// A received message, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<M> {
    /// Sender.
    pub from: NodeId,
    /// When the sender sent it.
    pub sent_at: SimTime,
    /// The message.
    pub msg: M,
}

/// The handle a node acts through. Cheap to clone: sub-tasks take their own copy.
///
/// Use only this handle's time API (`now`, `sleep`, `timeout`): the core owns the clock, and a
/// tokio timer would not see virtual time.
pub struct Context<M> {
    kernel: Rc<Kernel>,
    id: NodeId,
    name: Rc<str>,
    incarnation: u32,
    names: Arc<[String]>,
    rng: Rc<RefCell<SimRng>>,
    durable: Durable,
    control: ControlHandle,
    _msg: PhantomData<fn(M) -> M>,
}

impl<M> Clone for Context<M> {
    fn clone(&self) -> Self {
        Context {
            kernel: self.kernel.clone(),
            id: self.id,
            name: self.name.clone(),
            incarnation: self.incarnation,
            names: self.names.clone(),
            rng: self.rng.clone(),
            durable: self.durable.clone(),
            control: self.control.clone(),
            _msg: PhantomData,
        }
    }
}

impl<M: Message> Context<M> {
    pub(crate) fn new(kernel: Rc<Kernel>, id: NodeId) -> Self {
        let control = kernel.control.clone();
        let (name, incarnation, names, durable) = {
            let st = kernel.st.borrow();
            let slot = &st.nodes[id.index()];
            (slot.name.clone(), slot.incarnation, st.names.clone(), slot.durable.clone())
        };
        let stream = (u64::from(id.0) << 32) | u64::from(incarnation);
        let rng = Rc::new(RefCell::new(crate::seed::derive_rng(kernel.seed, "node", stream)));
        Context { kernel, id, name, incarnation, names, rng, durable, control, _msg: PhantomData }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many times this node has been restarted.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// Every node's id, in order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + use<M> {
        (0..self.names.len()).map(NodeId::from_index)
    }

    /// Number of nodes in the simulation.
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// The id of the node called `name`.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.names.iter().position(|n| n == name).map(NodeId::from_index)
    }

    /// The name of node `id`.
    pub fn node_name(&self, id: NodeId) -> Option<&str> {
        self.names.get(id.index()).map(String::as_str)
    }

    /// Sends `msg` to `to` through the network (serialized; it may be delayed, lost, duplicated
    /// or cut). A message to an id that is no node vanishes, and is counted.
    pub fn send(&self, to: NodeId, msg: &M) {
        self.kernel.send(self.id, to, crate::net::Payload::encode(msg));
    }

    /// Sends bytes as they are: for studies where sender and receiver disagree on the format.
    pub fn send_raw(&self, to: NodeId, bytes: Vec<u8>) {
        self.kernel.send(self.id, to, bytes.into());
    }

    /// Waits for the next message. A message that does not decode as `M` is dropped, traced
    /// and counted, as a real server drops a malformed packet. One task of a node receives at
    /// a time (the inbox wakes the last task that waited); give sub-tasks their messages
    /// through the node's own channels.
    pub async fn recv(&self) -> Envelope<M> {
        loop {
            let packet = self.recv_raw().await;
            if let Some(envelope) = self.decode(packet) {
                return envelope;
            }
        }
    }

    /// Waits for the next message as bytes.
    pub async fn recv_raw(&self) -> Packet {
        poll_fn(|cx| self.kernel.poll_recv(self.id, cx)).await
    }

    /// Waits for the next message at most `d`.
    pub async fn recv_timeout(&self, d: Duration) -> Option<Envelope<M>> {
        self.timeout(d, self.recv()).await.ok()
    }

    /// The next message if one is waiting.
    pub fn try_recv(&self) -> Option<Envelope<M>> {
        loop {
            let packet = self.kernel.st.borrow_mut().nodes[self.id.index()].inbox.pop_front()?;
            if let Some(envelope) = self.decode(packet) {
                return Some(envelope);
            }
        }
    }

    fn decode(&self, packet: Packet) -> Option<Envelope<M>> {
        match crate::wire::decode(&packet.bytes) {
            Ok(msg) => Some(Envelope { from: packet.from, sent_at: packet.sent_at, msg }),
            Err(e) => {
                self.kernel.st.borrow_mut().nodes[self.id.index()].undecodable += 1;
                crate::trace::dropped(crate::trace::DropReason::Undecodable, packet.from, self.id, packet.bytes.len());
                tracing::warn!(from = %packet.from, bytes = packet.bytes.len(), error = %e, "dropped a message that does not decode");
                None
            }
        }
    }

    /// The virtual time now.
    pub fn now(&self) -> SimTime {
        self.kernel.now()
    }

    /// This node's own clock: virtual time moved by skew and drift faults. Use it where a real
    /// node would read its wall clock (timestamps, leases, last-writer-wins).
    pub fn local_time(&self) -> SimTime {
        self.kernel.st.borrow().nodes[self.id.index()].clock.read(self.now())
    }

    /// Waits `d` of virtual time.
    pub fn sleep(&self, d: Duration) -> Sleep {
        self.sleep_until(self.now() + d)
    }

    /// Waits until virtual instant `t`.
    pub fn sleep_until(&self, t: SimTime) -> Sleep {
        Sleep { kernel: self.kernel.clone(), deadline: t, timer: None }
    }

    /// Runs `fut` for at most `d` of virtual time.
    pub fn timeout<F: Future>(&self, d: Duration, fut: F) -> Timeout<F> {
        Timeout { fut, sleep: self.sleep(d) }
    }

    /// This node's random generator, seeded from the master seed, the node id and its
    /// incarnation. Do not hold the guard across an `.await`.
    pub fn rng(&self) -> RefMut<'_, SimRng> {
        self.rng.borrow_mut()
    }

    /// Spawns a sub-task that dies with this node (crash, or `run` returning).
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        self.kernel.spawn(self.id, Box::pin(fut));
    }

    /// The store that survives a crash.
    pub fn durable(&self) -> &Durable {
        &self.durable
    }

    /// A handle to send fault commands, applied at the current instant.
    pub fn control(&self) -> ControlHandle {
        self.control.clone()
    }

    /// Records a sample into the histogram `metric` (labelled with this node).
    pub fn record(&self, metric: &str, value: u64) {
        metrics::record(metric, value);
    }

    /// Records a duration (in nanoseconds) into the histogram `metric`.
    pub fn record_duration(&self, metric: &str, d: Duration) {
        metrics::record_duration(metric, d);
    }

    /// Adds `n` to the counter `metric`.
    pub fn count(&self, metric: &str, n: u64) {
        metrics::count(metric, n);
    }

    /// Sets the gauge `metric` to `value`.
    pub fn gauge(&self, metric: &str, value: i64) {
        metrics::gauge(metric, value);
    }
}

/// A wait on the virtual clock; see [`Context::sleep`].
pub struct Sleep {
    kernel: Rc<Kernel>,
    deadline: SimTime,
    timer: Option<TimerRef>,
}

impl Sleep {
    /// When it ends.
    pub fn deadline(&self) -> SimTime {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.kernel.now() >= self.deadline {
            // Woken by its timer, or polled at its instant for another reason (the timer, if
            // still queued, must not wake it again).
            if let Some(t) = self.timer.take() {
                self.kernel.cancel_timer(t);
            }
            return Poll::Ready(());
        }
        match self.timer {
            Some(t) => self.kernel.set_timer_waker(t, cx.waker()),
            None => self.timer = Some(self.kernel.add_timer(self.deadline, cx.waker())),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            self.kernel.cancel_timer(t);
        }
    }
}

/// The deadline of a [`Context::timeout`] passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out")]
pub struct Elapsed;

pin_project_lite::pin_project! {
    /// A future with a virtual deadline; see [`Context::timeout`]. It holds the future in
    /// place (a timeout per request allocates nothing).
    pub struct Timeout<F> {
        #[pin]
        fut: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}
