//! The replica actor: it owns one CRDT state, applies the operations its clients ask for at
//! their scheduled times, gossips with its neighbours every interval, and merges what it
//! receives. Every merge is a message that crossed the emulated network.
//!
//! Replica states live in cells the [`Observer`] shares, so the code that built the run can
//! read them; a crashed replica restarts with the state it had (as if each update were
//! written durably) but with an empty delta buffer, and skips the operations scheduled while
//! it was down (they were never acknowledged).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use faultline::{Context, Envelope, Node, NodeId, SimBuilder, SimTime, async_trait};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::delta::{DeltaBuffer, Payload};
use super::gossip::{GossipConfig, Mode, Neighbours};
use super::observer::{Observer, OpRecord};
use super::ops::{OpsConfig, PlannedOp};
use super::{Crdt, ReplicaId, Replicated, metric};

/// Most replicas in one run.
pub const MAX_REPLICAS: u32 = 100_000;

/// A configuration value out of range: which field, what is allowed, what was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be {allowed}, got {got}")]
pub struct ConfigError {
    /// The field, as `section.name`.
    pub field: &'static str,
    /// What it may be.
    pub allowed: String,
    /// What it was.
    pub got: String,
}

impl ConfigError {
    /// An error for `field`.
    pub fn new(field: &'static str, allowed: impl Into<String>, got: impl fmt::Display) -> Self {
        ConfigError { field, allowed: allowed.into(), got: got.to_string() }
    }
}

/// The CRDT types a run can replicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrdtKind {
    /// [`GCounter`](super::GCounter).
    GCounter,
    /// [`PnCounter`](super::PnCounter).
    PnCounter,
    /// [`OrSet`](super::OrSet).
    OrSet,
    /// [`LwwMap`](super::LwwMap).
    LwwMap,
    /// [`NaiveSet`](super::NaiveSet).
    NaiveSet,
    /// [`MaxCounter`](super::MaxCounter).
    MaxCounter,
}

impl CrdtKind {
    /// Every kind, in order.
    pub const ALL: [CrdtKind; 6] = [
        CrdtKind::GCounter,
        CrdtKind::PnCounter,
        CrdtKind::OrSet,
        CrdtKind::LwwMap,
        CrdtKind::NaiveSet,
        CrdtKind::MaxCounter,
    ];

    /// The kebab-case name (`g-counter`...).
    pub fn name(self) -> &'static str {
        match self {
            CrdtKind::GCounter => "g-counter",
            CrdtKind::PnCounter => "pn-counter",
            CrdtKind::OrSet => "or-set",
            CrdtKind::LwwMap => "lww-map",
            CrdtKind::NaiveSet => "naive-set",
            CrdtKind::MaxCounter => "max-counter",
        }
    }
}

impl std::str::FromStr for CrdtKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CrdtKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = CrdtKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown CRDT type '{s}' ({})", names.join(", "))
        })
    }
}

/// The cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaConfig {
    /// How many replicas.
    pub replicas: u32,
    /// The observation window: distinct states and state sizes are sampled at each end.
    #[serde(with = "faultline::time::serde_duration")]
    pub window: Duration,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig { replicas: 3, window: Duration::from_secs(1) }
    }
}

impl ReplicaConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_REPLICAS).contains(&self.replicas) {
            return Err(ConfigError::new("replicas", format!("1..={MAX_REPLICAS}"), self.replicas));
        }
        if self.window < Duration::from_millis(1) || self.window > Duration::from_secs(86_400) {
            return Err(ConfigError::new("window", "1ms..=1d", faultline::format_duration(self.window)));
        }
        Ok(())
    }

    /// The node name of replica `i`.
    pub fn node_name(i: ReplicaId) -> String {
        format!("replica-{i}")
    }
}

/// One gossip message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Crdt")]
pub struct Msg<T> {
    /// The sender's delta sequence when it sent this: acknowledging it acknowledges the payload.
    pub seq: u64,
    /// The sender's state or delta interval (none when the receiver has it all).
    pub payload: Option<Payload<T>>,
    /// Delta mode: the receiver's sequence the sender has merged up to.
    pub ack: Option<u64>,
    /// Whether the sender wants the receiver's state or interval back.
    pub reply: bool,
    /// With garbage collection: the sender's version vector of adds seen.
    pub seen: Option<BTreeMap<ReplicaId, u64>>,
}

/// Everything the replicas of one run share: settings, neighbourhoods, operations.
pub struct RunPlan {
    /// Cluster settings.
    pub replica: ReplicaConfig,
    /// Gossip settings.
    pub gossip: GossipConfig,
    /// Who talks to whom.
    pub neighbours: Neighbours,
    /// Operations per replica, in time order.
    pub ops: Vec<Vec<PlannedOp>>,
}

impl RunPlan {
    /// Validates the three configurations and draws topology and operations from `seed`.
    pub fn new<T: Replicated>(
        replica: &ReplicaConfig,
        gossip: &GossipConfig,
        ops: &OpsConfig,
        kind: CrdtKind,
        seed: u64,
    ) -> Result<RunPlan, ConfigError> {
        replica.validate()?;
        gossip.validate(replica.replicas)?;
        ops.validate(replica.replicas)?;
        if gossip.gc && T::default().seen().is_none() {
            return Err(ConfigError::new("gossip.gc", "used with an or-set", kind.name()));
        }
        if let Some((i, s)) = ops.script.iter().enumerate().find(|(_, s)| !T::accepts(&s.op)) {
            return Err(ConfigError::new(
                "ops.script",
                format!("operations of a {}", kind.name()),
                format!("{:?} at line {}", s.op, i + 1),
            ));
        }
        let mut per_replica = vec![Vec::new(); replica.replicas as usize];
        for p in ops.schedule(kind, replica.replicas, seed) {
            per_replica[p.replica as usize].push(p);
        }
        Ok(RunPlan {
            replica: replica.clone(),
            gossip: gossip.clone(),
            neighbours: Neighbours::build(gossip.topology, replica.replicas, seed),
            ops: per_replica,
        })
    }
}

/// Adds the replicas (`replica-0`...) and a monitor node (`crdt-monitor`, which samples each
/// window) to `builder`, and returns it with the run's observer. `seed` must be the builder's
/// seed: it draws the operations and the topology.
pub fn install<T: Replicated>(
    mut builder: SimBuilder<Msg<T>>,
    replica: &ReplicaConfig,
    gossip: &GossipConfig,
    ops: &OpsConfig,
    kind: CrdtKind,
    seed: u64,
) -> Result<(SimBuilder<Msg<T>>, Observer<T>), ConfigError> {
    let plan = Rc::new(RunPlan::new::<T>(replica, gossip, ops, kind, seed)?);
    let observer = Observer::<T>::new(replica.replicas as usize);
    for i in 0..replica.replicas {
        let (plan, observer) = (plan.clone(), observer.clone());
        builder = builder.node(&ReplicaConfig::node_name(i), move || Replica {
            index: i,
            plan: plan.clone(),
            observer: observer.clone(),
        });
    }
    let (window, obs) = (replica.window, observer.clone());
    builder = builder.node("crdt-monitor", move || Monitor { window, observer: obs.clone() });
    Ok((builder, observer))
}

/// A replica actor.
pub struct Replica<T: Replicated> {
    index: ReplicaId,
    plan: Rc<RunPlan>,
    observer: Observer<T>,
}

/// What a replica's tasks share.
struct Local<T: Replicated> {
    ctx: Context<Msg<T>>,
    index: ReplicaId,
    /// Node id of replica 0: replicas are added in order.
    base: usize,
    plan: Rc<RunPlan>,
    observer: Observer<T>,
    state: Rc<RefCell<T>>,
    buffer: RefCell<DeltaBuffer<T>>,
    /// With garbage collection: each replica's version vector, as last heard.
    seen: RefCell<Vec<Option<BTreeMap<ReplicaId, u64>>>>,
}

impl<T: Replicated> Local<T> {
    fn node(&self, replica: ReplicaId) -> NodeId {
        NodeId::from_index(self.base + replica as usize)
    }

    fn delta_mode(&self) -> bool {
        self.plan.gossip.mode == Mode::Delta
    }

    fn send(&self, to: NodeId, msg: &mut Msg<T>) {
        if self.plan.gossip.gc {
            msg.seen = self.state.borrow().seen();
        }
        let bytes = faultline::wire::encode(msg);
        let full = msg.payload.as_ref().is_some_and(Payload::is_full);
        self.observer.sent(bytes.len(), full);
        self.ctx.send_raw(to, bytes);
    }

    /// What this replica sends `peer`: its state, or its interval for the peer.
    fn payload_for(&self, peer: NodeId) -> Option<Payload<T>> {
        let state = self.state.borrow();
        match self.plan.gossip.mode {
            Mode::State => Some(Payload::Full(state.clone())),
            Mode::Delta => self.buffer.borrow().payload_for(peer, &state),
        }
    }

    /// Starts an exchange with `peer`.
    fn push(&self, peer: NodeId) {
        let seq = self.buffer.borrow().next_seq();
        let mut msg = Msg { seq, payload: self.payload_for(peer), ack: None, reply: true, seen: None };
        self.send(peer, &mut msg);
    }

    fn receive(&self, env: Envelope<Msg<T>>) {
        let Envelope { from, msg, .. } = env;
        let delta = self.delta_mode();
        if let Some(seen) = msg.seen {
            let sender = from.index() - self.base;
            self.seen.borrow_mut()[sender] = Some(seen);
        }
        if let Some(ack) = msg.ack {
            let mut buf = self.buffer.borrow_mut();
            buf.ack(from, ack);
            let degree = self.plan.neighbours.degree(self.index);
            buf.collect(degree);
        }
        if let Some(p) = &msg.payload {
            let new = self.state.borrow_mut().merge_new(p.state());
            if let Some(new) = new {
                self.observer.merged();
                self.observer.changed(self.index, self.ctx.now());
                if delta {
                    self.buffer.borrow_mut().push_from(Some(from), new);
                }
            }
        }
        let ack = delta.then_some(msg.seq);
        if msg.reply {
            let seq = self.buffer.borrow().next_seq();
            let mut reply = Msg { seq, payload: self.payload_for(from), ack, reply: false, seen: None };
            self.send(from, &mut reply);
        } else if delta && msg.payload.is_some() {
            self.send(from, &mut Msg { seq: 0, payload: None, ack, reply: false, seen: None });
        }
    }

    async fn apply_ops(self: Rc<Self>) {
        for p in &self.plan.ops[self.index as usize] {
            if p.at < self.ctx.now() {
                continue; // scheduled while this replica was down: never acknowledged
            }
            self.ctx.sleep_until(p.at).await;
            let local_nanos = self.ctx.local_time().as_nanos();
            let (overwrote, delta) = {
                let mut state = self.state.borrow_mut();
                let overwrote = state.overwrites(&p.op);
                (overwrote, state.apply(self.index, &p.op, local_nanos))
            };
            self.observer.op(OpRecord {
                id: p.id,
                at: self.ctx.now(),
                local_nanos,
                replica: self.index,
                op: p.op,
                overwrote,
            });
            self.observer.changed(self.index, self.ctx.now());
            if self.delta_mode() {
                self.buffer.borrow_mut().push(delta);
            }
        }
    }

    /// Forgets the tombstones under the pointwise minimum of every replica's version vector,
    /// once this replica has heard one from each. A vector a replica sent is a prefix of what
    /// it has seen (states travel whole, or as causal delta intervals), and it only grows, so
    /// an old one is merely conservative.
    fn collect_garbage(&self) {
        let own = self.state.borrow().seen();
        let mut seen = self.seen.borrow_mut();
        seen[self.index as usize] = own;
        let Some(Some(first)) = seen.first() else { return };
        let mut stable = first.clone();
        for s in seen.iter() {
            let Some(s) = s else { return };
            for (r, c) in stable.iter_mut() {
                *c = (*c).min(s.get(r).copied().unwrap_or(0));
            }
        }
        drop(seen);
        let n = self.state.borrow_mut().collect_garbage(&stable);
        if n > 0 {
            self.observer.collected(n as u64);
            self.observer.changed(self.index, self.ctx.now());
        }
    }

    async fn gossip(self: Rc<Self>) {
        let interval = self.plan.gossip.interval;
        // A random phase, so that replicas do not all gossip at the same instant.
        let phase = self.ctx.rng().random_range(0..interval.as_nanos() as u64);
        self.ctx.sleep(Duration::from_nanos(phase)).await;
        loop {
            let peers = {
                let mut rng = self.ctx.rng();
                let picked = self.plan.neighbours.pick(self.index, self.plan.gossip.fanout, &mut rng);
                let p = self.plan.gossip.merge_probability;
                picked.into_iter().filter(|_| rng.random_range(0.0..1.0) < p).collect::<Vec<_>>()
            };
            for peer in peers {
                self.push(self.node(peer));
            }
            if self.plan.gossip.gc {
                self.collect_garbage();
            }
            self.ctx.sleep(interval).await;
        }
    }
}

#[async_trait(?Send)]
impl<T: Replicated> Node<Msg<T>> for Replica<T> {
    async fn run(&mut self, ctx: Context<Msg<T>>) {
        let local = Rc::new(Local {
            base: ctx.id().index() - self.index as usize,
            index: self.index,
            plan: self.plan.clone(),
            state: self.observer.cell(self.index),
            observer: self.observer.clone(),
            buffer: RefCell::new(DeltaBuffer::starting_at(
                u64::from(ctx.incarnation()) << 40,
                self.plan.gossip.delta_buffer,
            )),
            seen: RefCell::new(if self.plan.gossip.gc {
                vec![None; self.plan.replica.replicas as usize]
            } else {
                Vec::new()
            }),
            ctx: ctx.clone(),
        });
        ctx.spawn(local.clone().apply_ops());
        ctx.spawn(local.clone().gossip());
        loop {
            let env = ctx.recv().await;
            local.receive(env);
        }
    }
}

/// Samples the cluster at the end of every window into the observer and the metrics. The
/// replicas count into the observer, and this node alone turns the counts into metrics, once
/// per window: the metrics store keeps a series per node and metric, which at 10,000 replicas
/// would cost more than the replicas.
struct Monitor<T: Crdt> {
    window: Duration,
    observer: Observer<T>,
}

#[async_trait(?Send)]
impl<T: Replicated> Node<Msg<T>> for Monitor<T> {
    async fn run(&mut self, ctx: Context<Msg<T>>) {
        // After a crash and restart, go on from the next window's end, and count metrics from
        // the last sample taken: the windows the monitor was down for are missing, not doubled.
        let width = self.window.as_nanos().max(1);
        let done = u128::from(ctx.now().as_nanos()) / width;
        let mut end = SimTime::from_nanos(u64::try_from(done * width).unwrap_or(u64::MAX));
        let mut last = self.observer.last_sample().unwrap_or_default();
        loop {
            end += self.window;
            ctx.sleep_until(end).await;
            let Some(s) = self.observer.sample(end) else {
                tracing::warn!(limit = super::observer::MAX_WINDOWS, "the CRDT monitor keeps no more windows");
                return;
            };
            metric::OPS.add(s.ops - last.ops);
            metric::MERGES.add(s.merges - last.merges);
            metric::MESSAGES.add(s.messages - last.messages);
            metric::BYTES.add(s.bytes - last.bytes);
            metric::FULL_STATES.add(s.full_states - last.full_states);
            metric::COLLECTED.add(s.collected - last.collected);
            metric::DISTINCT_STATES.set(s.distinct_states as i64);
            metric::STATE_BYTES_MAX.set(s.state_bytes_max as i64);
            last = s;
        }
    }
}
