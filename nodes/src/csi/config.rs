//! Config (ServiceA/ServiceB): upstream calls downstream with its own timeout and retries
//! (30 s, 3); downstream's processing time follows its own distribution, and it expects callers
//! to wait 60 s with 5 retries. A request whose processing outlives the caller's timeout fails
//! at upstream, loudly; its retry runs the side effect again, so each retry of work that
//! already happened is a duplicate, unless downstream honours idempotency keys.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use faultline::{Context, Node, SimBuilder, async_trait};
use serde::{Deserialize, Serialize};

use super::flow::{exponential, names};
use super::observer::counter;
use super::{ConfigError, Observer, Processing, Raw, Surface, check_records, metric};

/// The config scenario's configuration: both services' settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigScenario {
    /// Requests upstream makes, one after the other (it is a synchronous client).
    pub requests: u64,
    /// Mean pause between two requests.
    #[serde(with = "faultline::time::serde_duration")]
    pub think: Duration,
    /// Upstream's timeout per attempt.
    #[serde(with = "faultline::time::serde_duration")]
    pub timeout: Duration,
    /// Upstream's retries after the first attempt.
    pub retries: u32,
    /// Downstream's processing time.
    pub processing: Processing,
    /// The timeout downstream's operators expect callers to use.
    #[serde(with = "faultline::time::serde_duration")]
    pub expected_timeout: Duration,
    /// The retries downstream's operators expect.
    pub expected_retries: u32,
    /// Upstream sends an idempotency key and downstream applies each key once.
    pub idempotency_keys: bool,
}

impl Default for ConfigScenario {
    fn default() -> Self {
        ConfigScenario {
            requests: 2_000,
            think: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            retries: 3,
            processing: Processing::LogNormal { median: Duration::from_secs(25), sigma: 0.5 },
            expected_timeout: Duration::from_secs(60),
            expected_retries: 5,
            idempotency_keys: false,
        }
    }
}

/// Most retries a configuration may ask for.
pub const MAX_RETRIES: u32 = 100;

impl ConfigScenario {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("config.requests", self.requests)?;
        let hour = Duration::from_secs(3600);
        if self.timeout.is_zero() || self.timeout > hour {
            return Err(ConfigError::new("config.timeout", "must be in (0, 1h]"));
        }
        if self.expected_timeout.is_zero() || self.expected_timeout > hour {
            return Err(ConfigError::new("config.expected_timeout", "must be in (0, 1h]"));
        }
        if self.think > hour {
            return Err(ConfigError::new("config.think", "must be at most 1h"));
        }
        if self.retries > MAX_RETRIES || self.expected_retries > MAX_RETRIES {
            return Err(ConfigError::new("config.retries", format!("retries must be at most {MAX_RETRIES}")));
        }
        self.processing.validate("config.processing")
    }

    /// The probability that one attempt times out: that processing outlives the timeout less the
    /// network's round trip `rtt`.
    pub fn timeout_probability(&self, rtt: Duration) -> f64 {
        self.processing.exceeds(self.timeout.saturating_sub(rtt))
    }

    /// The keys upstream sets, with their values.
    pub fn upstream_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![("timeout", format!("{:?}", self.timeout)), ("retries", self.retries.to_string())];
        if self.idempotency_keys {
            keys.push(("idempotency_key", "per request".into()));
        }
        keys
    }

    /// The keys downstream knows, with the values it expects.
    pub fn downstream_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys =
            vec![("timeout", format!("{:?}", self.expected_timeout)), ("retries", self.expected_retries.to_string())];
        if self.idempotency_keys {
            keys.push(("idempotency_key", "per request".into()));
        }
        keys
    }

    /// Adds `upstream` and `downstream` to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        self.validate()?;
        let cfg = Rc::new(self.clone());
        let (c, o) = (cfg.clone(), observer.clone());
        let b = builder.node(names::UPSTREAM, move || Caller { cfg: c.clone(), observer: o.clone() });
        let (c, o) = (cfg, observer.clone());
        Ok(b.node(names::DOWNSTREAM, move || Service { cfg: c.clone(), observer: o.clone() }))
    }
}

/// A request on the wire (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Request id.
    pub op: u64,
    /// Attempt number, 0 first.
    pub attempt: u32,
    /// Set when upstream sends idempotency keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A reply on the wire (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Request id.
    pub op: u64,
    /// Attempt it answers.
    pub attempt: u32,
}

/// What upstream means by every request, and downstream's record of each application.
pub const APPLIED_ONCE: &str = "side effect applied";

/// The synchronous caller (upstream).
pub struct Caller {
    cfg: Rc<ConfigScenario>,
    observer: Observer,
}

#[async_trait(?Send)]
impl Node<Raw> for Caller {
    async fn run(&mut self, ctx: Context<Raw>) {
        let Some(to) = ctx.node_id(names::DOWNSTREAM) else { return };
        for op in 0..self.cfg.requests {
            let gap = exponential(&mut ctx.rng(), self.cfg.think);
            ctx.sleep(gap).await;
            metric::RECORDS.add(1);
            let mut done = false;
            for attempt in 0..=self.cfg.retries {
                let key = self.cfg.idempotency_keys.then(|| format!("op-{op}"));
                let req = Request { op, attempt, idempotency_key: key };
                let Ok(bytes) = serde_json::to_vec(&req) else { return };
                if attempt == 0 {
                    self.observer.sent(op, ctx.now(), APPLIED_ONCE.into(), &bytes);
                }
                self.observer.count(counter::ATTEMPTS, 1);
                metric::ATTEMPTS.add(1);
                ctx.send_raw(to, bytes);
                let deadline = ctx.now() + self.cfg.timeout;
                while ctx.now() < deadline {
                    let Ok(packet) = ctx.timeout(deadline - ctx.now(), ctx.recv_raw()).await else { break };
                    match serde_json::from_slice::<Reply>(&packet.bytes) {
                        Ok(r) if r.op == op && r.attempt == attempt => {
                            done = true;
                            break;
                        }
                        _ => self.observer.count(counter::LATE_REPLIES, 1),
                    }
                }
                if done {
                    break;
                }
                tracing::debug!(op, attempt, "timed out");
                self.observer.count(counter::TIMEOUTS, 1);
                metric::TIMEOUTS.add(1);
            }
            if !done {
                let n = self.cfg.retries + 1;
                self.observer.loud(
                    op,
                    ctx.now(),
                    Surface::Upstream,
                    "timeout",
                    format!("no reply within {:?} in {n} attempts", self.cfg.timeout),
                );
                metric::LOUD.add(1);
            }
        }
    }
}

/// The service (downstream): processes each request in its own task, applies its side effect,
/// and replies.
pub struct Service {
    cfg: Rc<ConfigScenario>,
    observer: Observer,
}

#[async_trait(?Send)]
impl Node<Raw> for Service {
    async fn run(&mut self, ctx: Context<Raw>) {
        let applied: Rc<RefCell<BTreeSet<String>>> = Rc::default();
        loop {
            let packet = ctx.recv_raw().await;
            let Ok(req) = serde_json::from_slice::<Request>(&packet.bytes) else { continue };
            let took = self.cfg.processing.sample(&mut ctx.rng());
            let (ctx2, cfg, observer, applied) =
                (ctx.clone(), self.cfg.clone(), self.observer.clone(), applied.clone());
            ctx.spawn(async move {
                ctx2.sleep(took).await;
                let key = req.idempotency_key.as_ref().filter(|_| cfg.idempotency_keys);
                let fresh = key.is_none_or(|k| applied.borrow_mut().insert(k.clone()));
                tracing::debug!(op = req.op, attempt = req.attempt, fresh, "processed");
                if fresh {
                    observer.stored(req.op, ctx2.now(), Surface::Downstream, APPLIED_ONCE.into());
                    metric::APPLIED.add(1);
                } else {
                    observer.count(counter::DEDUPLICATED, 1);
                    metric::DEDUPLICATED.add(1);
                }
                if let Ok(bytes) = serde_json::to_vec(&Reply { op: req.op, attempt: req.attempt }) {
                    ctx2.send_raw(packet.from, bytes);
                }
            });
        }
    }
}

/// Each side's self-test: a round trip of its requests and replies through its own writer and
/// reader.
pub fn self_tests(cfg: &ConfigScenario) -> super::SelfTests {
    let mut up = super::SelfTest::new(names::UPSTREAM);
    let mut down = super::SelfTest::new(names::DOWNSTREAM);
    for op in 0..100 {
        let req =
            Request { op, attempt: op as u32 % 4, idempotency_key: cfg.idempotency_keys.then(|| format!("op-{op}")) };
        let rep = Reply { op, attempt: op as u32 % 4 };
        let rt = |ok: bool| if ok { Ok(()) } else { Err(format!("request {op} changed in a round trip")) };
        up.check(rt(
            serde_json::to_vec(&req).ok().and_then(|b| serde_json::from_slice::<Request>(&b).ok()) == Some(req.clone())
        ));
        down.check(rt(
            serde_json::to_vec(&rep).ok().and_then(|b| serde_json::from_slice::<Reply>(&b).ok()) == Some(rep)
        ));
    }
    super::SelfTests { upstream: up, downstream: down }
}
