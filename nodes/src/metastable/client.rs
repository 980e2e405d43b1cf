//! The client: open-loop Poisson arrivals; each request has a timeout and a few retries, paced
//! by a backoff and optionally limited by a retry budget and a circuit breaker.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::async_trait;
use faultline::{Context, Node, NodeId, SimTime};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::backoff::Backoff;
use super::breaker::{Breaker, BreakerConfig};
use super::budget::{BudgetConfig, RetryBudget};
use super::load::Load;
use super::{Msg, Outcome, metric};

/// How clients behave; the load is shared evenly among them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Offered load of all clients together.
    pub load: Load,
    /// Fraction of the load this client offers.
    pub share: f64,
    /// No new requests from this time on.
    #[serde(with = "faultline::time::serde_duration")]
    pub stop: Duration,
    /// Give up on an attempt after this long.
    #[serde(with = "faultline::time::serde_duration")]
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before each retry.
    pub backoff: Backoff,
    /// Backoff base.
    #[serde(with = "faultline::time::serde_duration")]
    pub backoff_base: Duration,
    /// Longest backoff.
    #[serde(with = "faultline::time::serde_duration")]
    pub backoff_cap: Duration,
    /// Retry budget.
    pub budget: Option<BudgetConfig>,
    /// Circuit breaker.
    pub breaker: Option<BreakerConfig>,
    /// Propagate each attempt's deadline to the server.
    pub send_deadline: bool,
}

/// The attempts awaiting a reply, by request id and attempt (looked up, never iterated, so the
/// hash order cannot reach the output).
type Waiters = Rc<RefCell<FxHashMap<(u64, u32), oneshot::Sender<Outcome>>>>;

/// What one client shares among its request tasks.
struct Shared {
    ctx: Context<Msg>,
    config: ClientConfig,
    server: NodeId,
    waiters: Waiters,
    budget: Option<RefCell<RetryBudget>>,
    breaker: Option<RefCell<Breaker>>,
}

/// The client actor.
pub struct Client {
    config: ClientConfig,
}

impl Client {
    /// A client with this configuration.
    pub fn new(config: ClientConfig) -> Self {
        Client { config }
    }
}

impl Shared {
    fn breaker_allows(&self, now: SimTime) -> bool {
        self.breaker.as_ref().is_none_or(|b| b.borrow_mut().allow(now))
    }

    fn breaker_record(&self, ok: bool) {
        if let Some(b) = &self.breaker {
            let mut b = b.borrow_mut();
            let now = self.ctx.now();
            let before = b.state(now);
            b.record(now, ok);
            let after = b.state(now);
            if std::mem::discriminant(&before) != std::mem::discriminant(&after) {
                tracing::info!(from = ?before, to = ?after, "breaker");
            }
        }
    }

    /// One request, from its first attempt to success or giving up.
    async fn request(self: Rc<Self>, id: u64) {
        let ctx = &self.ctx;
        // Created, never entered (it lives across awaits): from creation to close it is the
        // request's slice in a Chrome trace.
        let _span = tracing::info_span!("request", id);
        let created = ctx.now();
        metric::OFFERED.add(1);
        let mut wait = Duration::ZERO;
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                if self.budget.as_ref().is_some_and(|b| !b.borrow_mut().try_spend()) {
                    metric::BUDGET_EXHAUSTED.add(1);
                    tracing::debug!(id, attempt, "no retry: budget exhausted");
                    break;
                }
                let c = &self.config;
                wait = c.backoff.delay(attempt, c.backoff_base, c.backoff_cap, wait, &mut ctx.rng());
                if !wait.is_zero() {
                    ctx.sleep(wait).await;
                }
            }
            if !self.breaker_allows(ctx.now()) {
                metric::BREAKER_OPEN.add(1);
                metric::SHED.add(1);
                tracing::debug!(id, attempt, "failed fast: breaker open");
                break;
            }
            metric::ATTEMPTS.add(1);
            if attempt > 0 {
                metric::RETRIES.add(1);
            }
            let (tx, rx) = oneshot::channel();
            self.waiters.borrow_mut().insert((id, attempt), tx);
            let deadline = self.config.send_deadline.then(|| ctx.now() + self.config.timeout);
            ctx.send(self.server, &Msg::Request { id, attempt, deadline });
            match ctx.timeout(self.config.timeout, rx).await {
                Ok(Ok(Outcome::Ok)) => {
                    metric::GOODPUT.add(1);
                    metric::LATENCY.record(ctx.now() - created);
                    if let Some(b) = &self.budget {
                        b.borrow_mut().deposit();
                    }
                    self.breaker_record(true);
                    return;
                }
                Ok(Ok(Outcome::Rejected) | Err(_)) => {
                    metric::SHED.add(1);
                    self.breaker_record(false);
                }
                Err(_elapsed) => {
                    self.waiters.borrow_mut().remove(&(id, attempt));
                    metric::TIMEOUTS.add(1);
                    tracing::debug!(id, attempt, "timed out");
                    self.breaker_record(false);
                }
            }
        }
        metric::FAILED.add(1);
    }
}

#[async_trait(?Send)]
impl Node<Msg> for Client {
    async fn run(&mut self, ctx: Context<Msg>) {
        let Some(server) = ctx.node_id("server") else { return };
        let shared = Rc::new(Shared {
            ctx: ctx.clone(),
            config: self.config.clone(),
            server,
            waiters: Rc::default(),
            budget: self.config.budget.map(|b| RefCell::new(RetryBudget::new(b))),
            breaker: self.config.breaker.map(|b| RefCell::new(Breaker::new(b))),
        });
        let generator = shared.clone();
        ctx.spawn(async move {
            let ctx = &generator.ctx;
            let stop = SimTime::ZERO + generator.config.stop;
            let mut id = 0;
            loop {
                let next = generator.config.load.next_arrival(ctx.now(), generator.config.share, stop, &mut ctx.rng());
                match next {
                    Some(t) => ctx.sleep_until(t).await,
                    None => return,
                }
                id += 1;
                ctx.spawn(generator.clone().request(id));
            }
        });
        loop {
            let envelope = ctx.recv().await;
            let Msg::Reply { id, attempt, outcome } = envelope.msg else { continue };
            let waiter = shared.waiters.borrow_mut().remove(&(id, attempt));
            match waiter {
                Some(tx) => {
                    let _ = tx.send(outcome);
                }
                // The attempt already timed out: the server worked for nobody.
                None => {
                    metric::LATE.add(1);
                    if outcome == Outcome::Ok {
                        metric::WASTED.add(1);
                    }
                }
            }
        }
    }
}
