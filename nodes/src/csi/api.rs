//! API (upstream/downstream): upstream sends operations on an entity (create, then updates)
//! one after the other and assumes they are handled synchronously, in order. Downstream hands
//! them to a pool of workers; with more than one worker a later operation can finish first: an
//! update before its create fails (loud), an older update applied after a newer one leaves the
//! entity with a stale value (silent, a lost update). One worker, or routing each entity to one
//! worker, restores the order.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use faultline::{Context, Node, SimBuilder, SimTime, async_trait};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::flow::names;
use super::observer::counter;
use super::{ConfigError, Observer, Processing, Raw, Surface, check_records, metric};

/// The api scenario's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Entities upstream creates.
    pub entities: u64,
    /// Updates upstream sends per entity after its create.
    pub updates: u32,
    /// Gap between two operations upstream sends.
    #[serde(with = "faultline::time::serde_duration")]
    pub spacing: Duration,
    /// Downstream's workers.
    pub workers: u32,
    /// Downstream routes all operations on one entity to one worker.
    pub per_entity_ordering: bool,
    /// Downstream's processing time per operation.
    pub processing: Processing,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            entities: 500,
            updates: 3,
            spacing: Duration::from_millis(1),
            workers: 4,
            per_entity_ordering: false,
            processing: Processing::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(20) },
        }
    }
}

/// Most workers downstream may have.
pub const MAX_WORKERS: u32 = 1024;

impl ApiConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("api.entities", self.entities)?;
        if self.updates > 1000 {
            return Err(ConfigError::new("api.updates", format!("must be at most 1000, got {}", self.updates)));
        }
        check_records("api.operations", self.entities.saturating_mul(u64::from(self.updates) + 1))?;
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(ConfigError::new(
                "api.workers",
                format!("must be between 1 and {MAX_WORKERS}, got {}", self.workers),
            ));
        }
        if self.spacing > Duration::from_secs(3600) {
            return Err(ConfigError::new("api.spacing", "must be at most 1h"));
        }
        self.processing.validate("api.processing")
    }

    /// Adds `upstream` and `downstream` to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        self.validate()?;
        let cfg = Rc::new(self.clone());
        let (c, o) = (cfg.clone(), observer.clone());
        let b = builder.node(names::UPSTREAM, move || Sender { cfg: c.clone(), observer: o.clone() });
        let (c, o) = (cfg, observer.clone());
        Ok(b.node(names::DOWNSTREAM, move || Pool { cfg: c.clone(), observer: o.clone() }))
    }
}

/// One operation on the wire (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Operation id.
    pub op: u64,
    /// The entity.
    pub entity: u64,
    /// Version this operation sets: 0 for the create, then 1, 2...
    pub seq: u32,
}

fn version(seq: Option<u32>) -> String {
    seq.map_or("none".to_string(), |s| format!("v{s}"))
}

/// What upstream means by an operation: it applies on top of the one before.
pub fn meant(op: &Op) -> String {
    format!("entity {}: {} -> v{}", op.entity, version(op.seq.checked_sub(1)), op.seq)
}

/// Upstream: sends each entity's create and updates in order, `spacing` apart.
pub struct Sender {
    cfg: Rc<ApiConfig>,
    observer: Observer,
}

#[async_trait(?Send)]
impl Node<Raw> for Sender {
    async fn run(&mut self, ctx: Context<Raw>) {
        let Some(to) = ctx.node_id(names::DOWNSTREAM) else { return };
        let mut id = 0;
        for entity in 0..self.cfg.entities {
            for seq in 0..=self.cfg.updates {
                let op = Op { op: id, entity, seq };
                id += 1;
                let Ok(bytes) = serde_json::to_vec(&op) else { return };
                self.observer.sent(op.op, ctx.now(), meant(&op), &bytes);
                metric::RECORDS.add(1);
                ctx.send_raw(to, bytes);
                ctx.sleep(self.cfg.spacing).await;
            }
        }
    }
}

struct Queue {
    ops: RefCell<VecDeque<Op>>,
    ready: Notify,
}

/// Downstream: a worker pool over one shared queue (or one queue per worker with per-entity
/// ordering).
pub struct Pool {
    cfg: Rc<ApiConfig>,
    observer: Observer,
}

#[async_trait(?Send)]
impl Node<Raw> for Pool {
    async fn run(&mut self, ctx: Context<Raw>) {
        let queues: Vec<Rc<Queue>> = (0..if self.cfg.per_entity_ordering { self.cfg.workers } else { 1 })
            .map(|_| Rc::new(Queue { ops: RefCell::default(), ready: Notify::new() }))
            .collect();
        let state: Rc<RefCell<Entities>> = Rc::default();
        for w in 0..self.cfg.workers as usize {
            let q = queues[w % queues.len()].clone();
            let (ctx2, cfg, observer, state) = (ctx.clone(), self.cfg.clone(), self.observer.clone(), state.clone());
            ctx.spawn(async move {
                loop {
                    let next = q.ops.borrow_mut().pop_front();
                    let Some(op) = next else {
                        q.ready.notified().await;
                        continue;
                    };
                    let took = cfg.processing.sample(&mut ctx2.rng());
                    ctx2.sleep(took).await;
                    apply(&observer, ctx2.now(), &mut state.borrow_mut(), &op);
                }
            });
        }
        loop {
            let packet = ctx.recv_raw().await;
            let Ok(op) = serde_json::from_slice::<Op>(&packet.bytes) else { continue };
            let q = &queues[(op.entity % queues.len() as u64) as usize];
            q.ops.borrow_mut().push_back(op);
            q.ready.notify_one();
        }
    }
}

/// Downstream's store, and the newest operation it has started applying per entity.
#[derive(Default)]
struct Entities {
    version: BTreeMap<u64, u32>,
    newest: BTreeMap<u64, u32>,
}

fn apply(observer: &Observer, at: SimTime, st: &mut Entities, op: &Op) {
    // Overtaken: a newer operation on this entity reached the apply step first.
    let newest = st.newest.entry(op.entity).or_insert(op.seq);
    if *newest > op.seq {
        tracing::debug!(op = op.op, entity = op.entity, seq = op.seq, newest = *newest, "applied out of order");
        observer.count(counter::OUT_OF_ORDER, 1);
        metric::OUT_OF_ORDER.add(1);
    } else {
        *newest = op.seq;
    }
    let prev = st.version.get(&op.entity).copied();
    if op.seq > 0 && prev.is_none() {
        tracing::info!(op = op.op, entity = op.entity, seq = op.seq, "update before its create");
        observer.loud(
            op.op,
            at,
            Surface::Downstream,
            "no such entity",
            format!("update of entity {} before it exists", op.entity),
        );
        metric::LOUD.add(1);
        return;
    }
    st.version.insert(op.entity, op.seq);
    observer.stored(op.op, at, Surface::Downstream, format!("entity {}: {} -> v{}", op.entity, version(prev), op.seq));
    metric::STORED.add(1);
}

/// Each side's self-test: a round trip of operations through its own writer and reader, and
/// (downstream) applying a create and an update one at a time.
pub fn self_tests() -> super::SelfTests {
    let mut up = super::SelfTest::new(names::UPSTREAM);
    let mut down = super::SelfTest::new(names::DOWNSTREAM);
    let mut state = BTreeMap::new();
    for i in 0..100u64 {
        let op = Op { op: i, entity: i / 2, seq: (i % 2) as u32 };
        let back = serde_json::to_vec(&op).ok().and_then(|b| serde_json::from_slice::<Op>(&b).ok());
        up.check(if back.as_ref() == Some(&op) { Ok(()) } else { Err(format!("{op:?} changed")) });
        // Downstream's own test sends one operation at a time and waits: always in order.
        let prev = state.insert(op.entity, op.seq);
        let got = format!("entity {}: {} -> v{}", op.entity, version(prev), op.seq);
        down.check(if got == meant(&op) { Ok(()) } else { Err(format!("{got} for {op:?}")) });
    }
    super::SelfTests { upstream: up, downstream: down }
}
