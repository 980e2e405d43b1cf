//! The server: a concurrency capacity, a queue, and service time that grows with concurrency.
//! By default it serves every request it has taken, even one whose client gave up long ago:
//! that wasted work is what keeps a retry storm going.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use faultline::async_trait;
use faultline::metrics::Counter;
use faultline::trace::{self, DropReason};
use faultline::{Context, Node, NodeId, SimTime};
use serde::{Deserialize, Serialize};

use super::{Msg, Outcome, metric};

/// What the server does with a queued request whose client's deadline it knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadlinePolicy {
    /// Serve everything.
    #[default]
    Off,
    /// Drop requests whose deadline has passed.
    Expired,
    /// Also drop requests that can no longer finish before their deadline, given the service
    /// time they would get now.
    Unfinishable,
}

impl std::str::FromStr for DeadlinePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(DeadlinePolicy::Off),
            "expired" => Ok(DeadlinePolicy::Expired),
            "unfinishable" => Ok(DeadlinePolicy::Unfinishable),
            _ => Err(format!("unknown deadline policy '{s}' (off, expired, unfinishable)")),
        }
    }
}

/// How the server is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Requests served at once; the rest wait in the queue.
    pub capacity: usize,
    /// Service time with nothing else in service.
    #[serde(with = "faultline::time::serde_duration")]
    pub base_latency: Duration,
    /// Extra service time per request in service (coordination cost).
    #[serde(with = "faultline::time::serde_duration")]
    pub concurrency_slope: Duration,
    /// Reject new requests when this many wait.
    pub queue_limit: Option<usize>,
    /// When more than this many wait, shed the oldest (most likely already abandoned).
    pub shed_above: Option<usize>,
    /// Deadline propagation.
    pub deadline: DeadlinePolicy,
    /// When more than this many wait, serve the newest first.
    pub lifo_above: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    id: u64,
    attempt: u32,
    deadline: Option<SimTime>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    active: usize,
}

/// The server actor.
pub struct Server {
    config: Rc<ServerConfig>,
}

impl Server {
    /// A server with this configuration.
    pub fn new(config: ServerConfig) -> Self {
        Server { config: Rc::new(config) }
    }
}

impl ServerConfig {
    /// Service time with `active` requests in service (this one included), saturating at
    /// [`Duration::MAX`] rather than overflowing.
    pub fn service_time(&self, active: usize) -> Duration {
        // Bug pinned by `service_time_saturates`: `--capacity 4000000000 --concurrency-slope
        // 5000000000s` overflowed here, and a count above u32::MAX was truncated.
        let active = u32::try_from(active).unwrap_or(u32::MAX);
        self.base_latency.saturating_add(self.concurrency_slope.saturating_mul(active))
    }

    /// Why `job` should not be served at `now`, if it should not.
    fn refuse(&self, job: &Job, now: SimTime, active: usize) -> Option<&'static Counter> {
        let deadline = job.deadline?;
        match self.deadline {
            DeadlinePolicy::Off => None,
            _ if now > deadline => Some(&metric::EXPIRED),
            DeadlinePolicy::Unfinishable if now + self.service_time(active + 1) > deadline => {
                Some(&metric::UNFINISHABLE)
            }
            _ => None,
        }
    }
}

fn gauges(st: &State) {
    metric::QUEUE.set(st.queue.len() as i64);
    metric::CONCURRENCY.set(st.active as i64);
}

/// Takes the next queued job worth serving, dropping those the deadline policy refuses.
fn next_job(ctx: &Context<Msg>, config: &ServerConfig, st: &mut State) -> Option<Job> {
    loop {
        let lifo = config.lifo_above.is_some_and(|n| st.queue.len() > n);
        let job = if lifo { st.queue.pop_back()? } else { st.queue.pop_front()? };
        match config.refuse(&job, ctx.now(), st.active) {
            Some(reason) => {
                reason.add(1);
                tracing::debug!(id = job.id, attempt = job.attempt, reason = reason.name(), "dropped");
                trace::dropped(DropReason::Deadline, job.from, ctx.id(), 0);
            }
            None => return Some(job),
        }
    }
}

/// One service slot: serves `job`, then whatever the queue offers, until it is empty.
async fn serve(ctx: Context<Msg>, config: Rc<ServerConfig>, state: Rc<RefCell<State>>, mut job: Job) {
    loop {
        // The server's work on its own track: one slice per request served, from the start of
        // its service to the reply (the span is held, not entered, across the sleep).
        let span = tracing::info_span!("serve", id = job.id, attempt = job.attempt);
        let active = state.borrow().active;
        ctx.sleep(config.service_time(active)).await;
        ctx.send(job.from, &Msg::Reply { id: job.id, attempt: job.attempt, outcome: Outcome::Ok });
        drop(span);
        metric::SERVED.add(1);
        let mut st = state.borrow_mut();
        match next_job(&ctx, &config, &mut st) {
            Some(next) => job = next,
            None => {
                st.active -= 1;
                gauges(&st);
                return;
            }
        }
        gauges(&st);
    }
}

#[async_trait(?Send)]
impl Node<Msg> for Server {
    async fn run(&mut self, ctx: Context<Msg>) {
        let state = Rc::new(RefCell::new(State::default()));
        let config = self.config.clone();
        loop {
            let envelope = ctx.recv().await;
            let Msg::Request { id, attempt, deadline } = envelope.msg else { continue };
            let job = Job { from: envelope.from, id, attempt, deadline };
            let mut st = state.borrow_mut();
            let reject = |ctx: &Context<Msg>, job: &Job, why: &Counter| {
                why.add(1);
                trace::dropped(DropReason::Shed, job.from, ctx.id(), 0);
                ctx.send(job.from, &Msg::Reply { id: job.id, attempt: job.attempt, outcome: Outcome::Rejected });
            };
            if st.active < config.capacity {
                if let Some(reason) = config.refuse(&job, ctx.now(), st.active) {
                    reason.add(1);
                    trace::dropped(DropReason::Deadline, job.from, ctx.id(), 0);
                    continue;
                }
                st.active += 1;
                ctx.spawn(serve(ctx.clone(), config.clone(), state.clone(), job));
            } else if config.queue_limit.is_some_and(|limit| st.queue.len() >= limit) {
                reject(&ctx, &job, &metric::REJECTED);
            } else {
                st.queue.push_back(job);
                if config.shed_above.is_some_and(|n| st.queue.len() > n)
                    && let Some(oldest) = st.queue.pop_front()
                {
                    reject(&ctx, &oldest, &metric::SHED_OLDEST);
                }
            }
            gauges(&st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_time_saturates() {
        // Issue 8: `--capacity 4000000000 --concurrency-slope 5000000000s` panicked with
        // "overflow when multiplying duration by scalar", and 4294967296 wrapped to 0.
        let config = ServerConfig {
            capacity: 1,
            base_latency: Duration::from_millis(100),
            concurrency_slope: Duration::from_secs(5_000_000_000),
            queue_limit: None,
            shed_above: None,
            deadline: DeadlinePolicy::Off,
            lifo_above: None,
        };
        assert_eq!(config.service_time(4_000_000_000), Duration::MAX);
        let small = ServerConfig { concurrency_slope: Duration::from_nanos(1), ..config };
        assert_eq!(small.service_time(1 << 32), Duration::from_millis(100) + Duration::from_nanos(u32::MAX.into()));
    }
}
