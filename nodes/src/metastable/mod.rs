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

/// Metric names the study records (all counters unless noted).
pub mod metric {
    /// New requests.
    pub const OFFERED: &str = "offered";
    /// Attempts sent, retries included.
    pub const ATTEMPTS: &str = "attempts";
    /// Retries sent.
    pub const RETRIES: &str = "retries";
    /// Successes that reached their client within its timeout.
    pub const GOODPUT: &str = "goodput";
    /// Attempts the client gave up on.
    pub const TIMEOUTS: &str = "timeouts";
    /// Attempts refused by the server or failed fast by the breaker (client side).
    pub const SHED: &str = "shed";
    /// Retries not sent because the retry budget was empty.
    pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";
    /// Attempts failed fast by an open breaker.
    pub const BREAKER_OPEN: &str = "breaker_open";
    /// Server refusals because the queue was full.
    pub const REJECTED: &str = "rejected";
    /// Server refusals of the oldest queued request when the queue was too long.
    pub const SHED_OLDEST: &str = "shed_oldest";
    /// Replies that came after their attempt timed out: work done for nobody.
    pub const LATE: &str = "late";
    /// Requests that gave up.
    pub const FAILED: &str = "failed";
    /// Server drops of expired requests.
    pub const EXPIRED: &str = "expired";
    /// Server drops of requests that could not finish in time.
    pub const UNFINISHABLE: &str = "unfinishable";
    /// Attempts served (useful or not).
    pub const SERVED: &str = "served";
    /// Queue length (gauge).
    pub const QUEUE: &str = "queue";
    /// Requests in service (gauge).
    pub const CONCURRENCY: &str = "concurrency";
    /// End-to-end latency of successful requests, retries included (duration).
    pub const LATENCY: &str = "latency";
}
