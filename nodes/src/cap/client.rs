//! The client: closed loop (think time) or open loop (Poisson arrivals), a read/write mix over
//! a uniform or Zipf key space, unique written values, t-visibility probes, and every
//! operation written to the observer with its virtual times.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use faultline::async_trait;
use faultline::{Context, Node, NodeId, SimRng, SimTime};
use rand::RngExt;
use tokio::sync::oneshot;

use super::config::{ClientConfig, CoordinatorMode, KeyDist, Load};
use super::coordinator::Coordinator;
use super::observer::{OpKind, OpRecord, Outcome, ProbeRecord};
use super::replica::{Setup, replica_ids};
use super::version::Value;
use super::{Key, Msg, Op, OpResult, metric};

/// Draws keys from the configured popularity (the Zipf table is built once per run).
#[derive(Clone, Debug)]
pub(crate) enum KeySampler {
    Uniform(u32),
    /// Cumulative weights, one per key.
    Zipf(Vec<f64>),
}

impl KeySampler {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        match config.key_dist {
            KeyDist::Uniform => KeySampler::Uniform(config.keys),
            KeyDist::Zipf { s } => {
                let mut total = 0.0;
                let cdf = (0..config.keys)
                    .map(|k| {
                        total += 1.0 / f64::from(k + 1).powf(s);
                        total
                    })
                    .collect();
                KeySampler::Zipf(cdf)
            }
        }
    }

    fn draw(&self, rng: &mut SimRng) -> Key {
        match self {
            KeySampler::Uniform(n) => rng.random_range(0..*n),
            KeySampler::Zipf(cdf) => {
                let total = cdf.last().copied().unwrap_or(0.0);
                let x = rng.random::<f64>() * total;
                (cdf.partition_point(|&c| c <= x).min(cdf.len().saturating_sub(1))) as Key
            }
        }
    }
}

/// Node name of client `i`.
pub fn client_name(i: usize) -> String {
    format!("c{i}")
}

/// A client actor.
pub struct Client {
    index: u32,
    setup: Rc<Setup>,
}

impl Client {
    /// Client `index` of the run described by `setup`; it sits next to replica
    /// `index mod nodes`.
    pub fn new(index: u32, setup: Rc<Setup>) -> Self {
        Client { index, setup }
    }
}

struct Shared {
    ctx: Context<Msg>,
    setup: Rc<Setup>,
    index: u32,
    nearby: NodeId,
    coord: Coordinator,
    waiters: RefCell<BTreeMap<u64, oneshot::Sender<OpResult>>>,
    next_id: Cell<u64>,
    seq: Cell<u32>,
    /// Open loop: process slots in use.
    slots: RefCell<BTreeSet<u64>>,
    /// Per slot, how many of its operations ended indeterminate: as in Jepsen, a process
    /// whose operation is indeterminate never runs another, so the slot takes a new id.
    generations: RefCell<BTreeMap<u64, u64>>,
}

impl Shared {
    /// Runs `op` through the nearby replica or its own coordinator; `None` if no answer came
    /// within the client's timeout.
    async fn perform(&self, op: Op) -> Option<OpResult> {
        let timeout = self.setup.clients.timeout;
        let writer = self.ctx.id().index() as u32;
        match self.setup.cluster.coordinator {
            CoordinatorMode::Client => self.ctx.timeout(timeout, self.coord.execute(op, writer)).await.ok(),
            CoordinatorMode::Replica => {
                let id = self.next_id.get();
                self.next_id.set(id + 1);
                let (tx, rx) = oneshot::channel();
                self.waiters.borrow_mut().insert(id, tx);
                self.ctx.send(self.nearby, &Msg::Request { id, op });
                let result = self.ctx.timeout(timeout, rx).await;
                self.waiters.borrow_mut().remove(&id);
                result.ok().and_then(Result::ok)
            }
        }
    }

    /// The process id of slot `slot` now: client, slot and generation in one number.
    fn process(&self, slot: u64) -> u64 {
        let config = &self.setup.clients;
        let generation = self.generations.borrow().get(&slot).copied().unwrap_or(0);
        let slots = match config.load {
            Load::Closed { .. } => 1,
            Load::Open { .. } => config.max_in_flight as u64,
        };
        (generation * slots + slot) * config.clients as u64 + u64::from(self.index)
    }

    /// One operation, recorded from invoke to completion.
    async fn operate(self: Rc<Self>, process: u64) -> Outcome {
        let ctx = &self.ctx;
        let (key, write) = {
            let mut rng = ctx.rng();
            let key = self.setup.keys.draw(&mut rng);
            (key, rng.random::<f64>() < self.setup.clients.write_ratio)
        };
        let value = write.then(|| {
            let seq = self.seq.get();
            self.seq.set(seq.wrapping_add(1));
            Value::new(self.index, seq)
        });
        let op = match value {
            Some(value) => Op::Write { key, value },
            None => Op::Read { key },
        };
        let kind = if write { OpKind::Write } else { OpKind::Read };
        let record = OpRecord {
            process,
            client: self.index,
            node: ctx.id(),
            kind,
            key,
            written: value,
            invoke: ctx.now(),
            complete: None,
            outcome: Outcome::Pending,
            read: Vec::new(),
            version: None,
        };
        let started = ctx.now();
        let handle = self.setup.observer.invoke(record);
        metric::OPS.add(1);
        let result = self.perform(op).await;
        let (outcome, read, version) = match result {
            Some(OpResult::Read(values)) => (Outcome::Ok, values, None),
            Some(OpResult::Written(version)) => (Outcome::Ok, Vec::new(), Some(version)),
            Some(OpResult::Unavailable) => {
                metric::UNAVAILABLE.add(1);
                (if write { Outcome::Info } else { Outcome::Fail }, Vec::new(), None)
            }
            None => {
                metric::TIMEOUTS.add(1);
                (if write { Outcome::Info } else { Outcome::Fail }, Vec::new(), None)
            }
        };
        if outcome == Outcome::Ok {
            metric::OK.add(1);
            let latency = if write { &metric::WRITE_LATENCY } else { &metric::READ_LATENCY };
            latency.record(ctx.now() - started);
        }
        if let (Some(value), Some(version)) = (value, &version) {
            let acked = ctx.now();
            for &delay in &self.setup.clients.t_visibility {
                ctx.spawn(self.clone().probe(key, value, version.clone(), acked, delay));
            }
        }
        if let Some(h) = handle {
            self.setup.observer.complete(h, ctx.now(), outcome, read, version);
        }
        if outcome == Outcome::Info {
            let slots = match self.setup.clients.load {
                Load::Closed { .. } => 1,
                Load::Open { .. } => self.setup.clients.max_in_flight as u64,
            };
            let clients = self.setup.clients.clients as u64;
            let slot = (process / clients) % slots;
            *self.generations.borrow_mut().entry(slot).or_insert(0) += 1;
        }
        outcome
    }

    /// A t-visibility probe: a read started `delay` after the write was acknowledged.
    async fn probe(self: Rc<Self>, key: Key, write: Value, version: super::Version, acked: SimTime, delay: Duration) {
        self.ctx.sleep_until(acked + delay).await;
        let record = ProbeRecord { key, write, version, delay, invoke: self.ctx.now(), returned: None };
        let handle = self.setup.observer.probe(record);
        if let (Some(OpResult::Read(values)), Some(h)) = (self.perform(Op::Read { key }).await, handle) {
            self.setup.observer.probe_returned(h, values);
        }
    }
}

async fn generate(shared: Rc<Shared>) {
    let ctx = shared.ctx.clone();
    let config = &shared.setup.clients;
    let stop = SimTime::ZERO + config.stop;
    match config.load {
        Load::Closed { think } => {
            while ctx.now() < stop {
                shared.clone().operate(shared.process(0)).await;
                ctx.sleep(think).await;
            }
        }
        Load::Open { rate } => loop {
            let gap = -(1.0 - ctx.rng().random::<f64>()).ln() / rate;
            let next = ctx.now() + Duration::from_secs_f64(gap);
            if next >= stop {
                return;
            }
            ctx.sleep_until(next).await;
            // A process is one sequential thread of operations: each op in flight takes the
            // lowest free slot, and its process id names client and slot.
            let slot = {
                let slots = shared.slots.borrow();
                (0..config.max_in_flight as u64).find(|s| !slots.contains(s))
            };
            let Some(slot) = slot else {
                metric::SHED.add(1);
                continue;
            };
            shared.slots.borrow_mut().insert(slot);
            let s = shared.clone();
            ctx.spawn(async move {
                s.clone().operate(s.process(slot)).await;
                s.slots.borrow_mut().remove(&slot);
            });
        },
    }
}

#[async_trait(?Send)]
impl Node<Msg> for Client {
    async fn run(&mut self, ctx: Context<Msg>) {
        let nodes = self.setup.cluster.nodes;
        let Some(replicas) = replica_ids(&ctx, nodes) else {
            tracing::error!("a replica of the cluster is missing from the simulation");
            return;
        };
        let nearby = replicas[self.index as usize % nodes];
        let shared = Rc::new(Shared {
            ctx: ctx.clone(),
            setup: self.setup.clone(),
            index: self.index,
            nearby,
            coord: Coordinator::new(ctx.clone(), self.setup.clone(), replicas),
            waiters: RefCell::default(),
            next_id: Cell::new(0),
            seq: Cell::new(0),
            slots: RefCell::default(),
            generations: RefCell::default(),
        });
        ctx.spawn(generate(shared.clone()));
        loop {
            let envelope = ctx.recv().await;
            match envelope.msg {
                Msg::Response { id, result } => {
                    if let Some(tx) = shared.waiters.borrow_mut().remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                msg @ (Msg::Got { .. } | Msg::PutAck { .. }) => shared.coord.deliver(envelope.from, msg),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_keys_favour_the_first_and_uniform_keys_cover_the_space() {
        let mut rng = faultline::derive_rng(1, "test", 0);
        let zipf =
            KeySampler::new(&ClientConfig { keys: 100, key_dist: KeyDist::Zipf { s: 1.0 }, ..ClientConfig::default() });
        let mut counts = [0u32; 100];
        for _ in 0..10_000 {
            counts[zipf.draw(&mut rng) as usize] += 1;
        }
        // Weight 1/(k+1) over H(100) ≈ 5.19: key 0 about 19%, key 99 about 0.2%.
        assert!((1700..2200).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[0] > 5 * counts[9] / 2 && counts[99] < 60, "{counts:?}");
        let uniform = KeySampler::new(&ClientConfig { keys: 3, ..ClientConfig::default() });
        let mut seen = [false; 3];
        for _ in 0..100 {
            seen[uniform.draw(&mut rng) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
    }
}
