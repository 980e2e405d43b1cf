//! Task tracking: every node task and sub-task runs inside [`Tracked`], whose waker tells the
//! kernel how many tasks can still run at the current instant. When the last one waits, the
//! kernel moves virtual time to the next event itself: no tokio timer, no rounding to 1 ms,
//! and no runtime wake-up per deadline.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use super::{Kernel, Shared};
use crate::id::NodeId;

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const RUNNING_WOKEN: u8 = 3;
const DONE: u8 = 4;

/// The waker the tracked future sees. Waking it counts the task as runnable (once) and passes
/// the wake on to tokio.
///
/// The fields a wake reads come first, next to the reference counts: at 10k nodes nearly every
/// wake misses the cache, and with the compiler's field order it missed twice, on two lines.
/// (Aligning it to a cache line saved more misses, but an aligned allocation per spawned task
/// cost the metastable study 3% more instructions.)
#[repr(C)]
pub(crate) struct TaskWaker {
    state: AtomicU8,
    has_moved: AtomicBool,
    /// tokio's waker for this task. A tokio task's waker does not change between polls, so it
    /// is stored once and read without a lock; should it ever change, `moved` takes over.
    inner: OnceLock<Waker>,
    shared: Arc<Shared>,
    moved: Mutex<Option<Waker>>,
}

impl TaskWaker {
    fn wake_inner(&self) {
        if self.has_moved.load(Ordering::Acquire) {
            if let Some(w) = self.moved.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                w.wake_by_ref();
            }
        } else if let Some(w) = self.inner.get() {
            w.wake_by_ref();
        }
    }

    fn register(&self, waker: &Waker) {
        match self.inner.get() {
            None => {
                let _ = self.inner.set(waker.clone());
            }
            Some(w) if w.will_wake(waker) && !self.has_moved.load(Ordering::Acquire) => {}
            Some(_) => {
                *self.moved.lock().unwrap_or_else(|e| e.into_inner()) = Some(waker.clone());
                self.has_moved.store(true, Ordering::Release);
            }
        }
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => RUNNING_WOKEN,
                _ => return, // already counted and queued, or finished
            };
            match self.state.compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state == IDLE {
            self.shared.runnable_add();
        }
        self.wake_inner();
    }
}

/// Which node a task belongs to, and the cell of the node's incarnation: whether it is
/// cancelled (crashed or finished) or paused.
pub(crate) struct Owner {
    pub(crate) node: NodeId,
    pub(crate) cell: Rc<super::NodeCell>,
}

/// A task of one node, tracked for idleness, stopped while the node is paused and cancelled
/// with it.
pub(crate) struct Tracked {
    fut: Option<Pin<Box<dyn Future<Output = ()>>>>,
    waker: Arc<TaskWaker>,
    own: Waker,
    kernel: Rc<Kernel>,
    owner: Owner,
}

impl Tracked {
    /// Wraps `fut`; the task counts as runnable from now until its first poll.
    pub(crate) fn new(kernel: Rc<Kernel>, owner: Owner, fut: Pin<Box<dyn Future<Output = ()>>>) -> Self {
        let shared = kernel.shared.clone();
        shared.runnable_add();
        let waker = Arc::new(TaskWaker {
            shared,
            state: AtomicU8::new(SCHEDULED),
            inner: OnceLock::new(),
            moved: Mutex::new(None),
            has_moved: AtomicBool::new(false),
        });
        let own = Waker::from(waker.clone());
        Tracked { fut: Some(fut), waker, own, kernel, owner }
    }

    /// Polls the node's future unless the node is cancelled or paused; true when it is done.
    fn step(&mut self) -> bool {
        let mut cx = Context::from_waker(&self.own);
        if self.owner.cell.cancelled.get() {
            return true;
        }
        if self.owner.cell.paused.get() {
            self.owner.cell.paused_wakers.borrow_mut().push(self.own.clone());
            return false;
        }
        let Some(fut) = self.fut.as_mut() else { return true };
        self.kernel.shared.set_current(Some(self.owner.node));
        // A panic in node code is a bug in the study: it ends the run, loudly, instead of
        // leaving a node that looks alive and does nothing.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        self.kernel.shared.set_current(None);
        match polled {
            Ok(poll) => poll.is_ready(),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_string());
                self.kernel.node_panicked(self.owner.node, message);
                true
            }
        }
    }
}

impl Future for Tracked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.waker.state.swap(RUNNING, Ordering::AcqRel) == IDLE {
            // Polled without a wake of ours (tokio may do that): count it while it runs.
            this.kernel.shared.runnable_add();
        }
        this.waker.register(cx.waker());
        if this.step() {
            this.waker.state.store(DONE, Ordering::Release);
            this.fut = None; // drop the node's future (and its timers) before the kernel looks
            this.kernel.release();
            return Poll::Ready(());
        }
        match this.waker.state.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => this.kernel.release(),
            Err(_) => this.waker.state.store(SCHEDULED, Ordering::Release), // woken while running
        }
        Poll::Pending
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // Dropped by tokio without finishing (the sim is being torn down): stop counting it.
        if matches!(self.waker.state.swap(DONE, Ordering::AcqRel), SCHEDULED | RUNNING | RUNNING_WOKEN) {
            self.kernel.shared.runnable_sub();
        }
    }
}
