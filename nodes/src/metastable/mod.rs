//! The metastable-failure study: a server that keeps working for clients who gave up, and
//! clients whose retries turn a short overload into a lasting one.
//!
//! The sustaining effect is a mechanism, not a dice roll: after a trigger (a load spike, a
//! network outage) the server's queue is long, so requests wait past their clients' timeouts;
//! the clients retry, adding load; the server still serves the abandoned attempts, so its
//! goodput stays near zero while it runs at full capacity. Whether the system comes back
//! depends on whether the retried load fits in the server's capacity, which is what each
//! defence changes.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod client;
pub mod load;
pub mod server;

use faultline::SimTime;
use serde::{Deserialize, Serialize};

pub use backoff::Backoff;
pub use breaker::BreakerConfig;
pub use budget::BudgetConfig;
pub use client::{Client, ClientConfig};
pub use load::Load;
pub use server::{DeadlinePolicy, Server, ServerConfig};

/// What clients and the server say to each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// Attempt `attempt` of request `id`, with the client's deadline if propagated.
    Request {
        /// Request id, unique per client.
        id: u64,
        /// 0 for the first attempt.
        attempt: u32,
        /// When the client gives up on this attempt.
        deadline: Option<SimTime>,
    },
    /// The server's answer to one attempt.
    Reply {
        /// Request id.
        id: u64,
        /// Attempt.
        attempt: u32,
        /// Served or refused.
        outcome: Outcome,
    },
}

/// How the server answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Served.
    Ok,
    /// Refused: the queue was full or the request was shed.
    Rejected,
}

/// The metrics the study records (all counters unless noted).
pub mod metric {
    use faultline::metrics::{Counter, DurationHistogram, Gauge};

    /// New requests.
    pub static OFFERED: Counter = Counter::new("offered");
    /// Attempts sent, retries included.
    pub static ATTEMPTS: Counter = Counter::new("attempts");
    /// Retries sent.
    pub static RETRIES: Counter = Counter::new("retries");
    /// Successes that reached their client within its timeout.
    pub static GOODPUT: Counter = Counter::new("goodput");
    /// Attempts the client gave up on.
    pub static TIMEOUTS: Counter = Counter::new("timeouts");
    /// Attempts refused by the server or failed fast by the breaker (client side).
    pub static SHED: Counter = Counter::new("shed");
    /// Retries not sent because the retry budget was empty.
    pub static BUDGET_EXHAUSTED: Counter = Counter::new("budget_exhausted");
    /// Attempts failed fast by an open breaker.
    pub static BREAKER_OPEN: Counter = Counter::new("breaker_open");
    /// Server refusals because the queue was full.
    pub static REJECTED: Counter = Counter::new("rejected");
    /// Server refusals of the oldest queued request when the queue was too long.
    pub static SHED_OLDEST: Counter = Counter::new("shed_oldest");
    /// Replies that came after their attempt timed out: work done for nobody.
    pub static LATE: Counter = Counter::new("late");
    /// Of the late replies, those the server served (not refusals): service time the server
    /// spent on attempts whose clients had already given up.
    pub static WASTED: Counter = Counter::new("wasted");
    /// Requests that gave up.
    pub static FAILED: Counter = Counter::new("failed");
    /// Server drops of expired requests.
    pub static EXPIRED: Counter = Counter::new("expired");
    /// Server drops of requests that could not finish in time.
    pub static UNFINISHABLE: Counter = Counter::new("unfinishable");
    /// Attempts served (useful or not).
    pub static SERVED: Counter = Counter::new("served");
    /// Queue length (gauge).
    pub static QUEUE: Gauge = Gauge::new("queue");
    /// Requests in service (gauge).
    pub static CONCURRENCY: Gauge = Gauge::new("concurrency");
    /// End-to-end latency of successful requests, retries included (duration).
    pub static LATENCY: DurationHistogram = DurationHistogram::new("latency");
}
