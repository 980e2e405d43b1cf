//! The replica: a versioned key-value store kept in the node's durable store (a crash and
//! restart keeps what was written, as a disk would), hints kept for other replicas under a
//! sloppy quorum and handed back, and a coordinator for the client next to it.

use std::rc::Rc;
use std::time::Duration;

use faultline::async_trait;
use faultline::{Context, Node, NodeId};

use super::client::KeySampler;
use super::config::{ClientConfig, ClusterConfig, ConfigError, CoordinatorMode};
use super::coordinator::Coordinator;
use super::observer::Observer;
use super::ring::Ring;
use super::version::{Versioned, merge, merge_all};
use super::{Key, Msg, metric};

/// What every actor of one run shares: the configuration, the ring, the observer.
pub struct Setup {
    /// The cluster.
    pub cluster: ClusterConfig,
    /// The clients.
    pub clients: ClientConfig,
    /// The ring of the cluster.
    pub ring: Ring,
    /// The notebook.
    pub observer: Observer,
    /// Draws keys.
    pub(crate) keys: KeySampler,
}

impl Setup {
    /// Checks both configs and builds what the actors of one run share.
    pub fn new(cluster: &ClusterConfig, clients: &ClientConfig, observer: &Observer) -> Result<Rc<Self>, ConfigError> {
        cluster.validate()?;
        clients.validate()?;
        Ok(Rc::new(Setup {
            cluster: cluster.clone(),
            clients: clients.clone(),
            ring: Ring::new(cluster.nodes, cluster.n()),
            observer: observer.clone(),
            keys: KeySampler::new(clients),
        }))
    }
}

/// Node name of replica `i`.
pub fn replica_name(i: usize) -> String {
    format!("r{i}")
}

/// Every replica's node id, by index; `None` if a replica is missing from the simulation.
pub(crate) fn replica_ids(ctx: &Context<Msg>, nodes: usize) -> Option<Vec<NodeId>> {
    (0..nodes).map(|i| ctx.node_id(&replica_name(i))).collect()
}

/// Hints a replica keeps for one key: (home replica, versions) pairs, sorted by home.
type Hints = Vec<(u32, Vec<Versioned>)>;

fn kv_key(key: Key) -> String {
    format!("kv/{key:010}")
}

fn hint_key(key: Key) -> String {
    format!("hint/{key:010}")
}

/// The store over the node's durable store.
struct Store {
    ctx: Context<Msg>,
    setup: Rc<Setup>,
    index: u32,
}

impl Store {
    fn held(&self, key: Key) -> Vec<Versioned> {
        self.read(&kv_key(key))
    }

    fn hints(&self, key: Key) -> Hints {
        self.read(&hint_key(key))
    }

    fn read<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> T {
        match self.ctx.durable().get(name) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                // Only this module writes these keys, with these types: a failure here is a bug.
                tracing::error!(error = %e, "unreadable durable value");
                T::default()
            }
        }
    }

    /// What a Get answers: the key's versions, merged with any hints held for it.
    fn answer(&self, key: Key) -> Vec<Versioned> {
        let held = self.held(key);
        let hints = self.hints(key);
        merge_all(std::iter::once(held.as_slice()).chain(hints.iter().map(|(_, v)| v.as_slice())))
    }

    fn put(&self, key: Key, values: &[Versioned]) {
        let mut held = self.held(key);
        let mut changed = false;
        for v in values {
            changed |= merge(&mut held, v);
        }
        if changed {
            self.ctx.durable().put(&kv_key(key), &held);
            self.setup.observer.stored(self.ctx.now(), self.index, key, &held, None);
        }
    }

    fn hint(&self, key: Key, home: u32, values: &[Versioned]) {
        let mut hints = self.hints(key);
        let pos = match hints.binary_search_by_key(&home, |(h, _)| *h) {
            Ok(p) => p,
            Err(p) => {
                hints.insert(p, (home, Vec::new()));
                p
            }
        };
        for v in values {
            merge(&mut hints[pos].1, v);
        }
        self.setup.observer.stored(self.ctx.now(), self.index, key, &hints[pos].1, Some(home));
        metric::HINTS_STORED.add(1);
        self.ctx.durable().put(&hint_key(key), &hints);
    }

    /// Every key with hints, in order.
    fn hinted_keys(&self) -> Vec<Key> {
        self.ctx.durable().keys().iter().filter_map(|k| k.strip_prefix("hint/")?.parse().ok()).collect()
    }

    /// Drops the hint for `home` if it still holds exactly `sent`.
    fn drop_hint(&self, key: Key, home: u32, sent: &[Versioned]) {
        let mut hints = self.hints(key);
        let before = hints.len();
        hints.retain(|(h, v)| !(*h == home && v == sent));
        if hints.len() < before {
            self.setup.observer.stored(self.ctx.now(), self.index, key, &[], Some(home));
        }
        if hints.is_empty() {
            self.ctx.durable().remove(&hint_key(key));
        } else {
            self.ctx.durable().put(&hint_key(key), &hints);
        }
    }
}

/// A replica actor.
pub struct Replica {
    index: u32,
    setup: Rc<Setup>,
}

impl Replica {
    /// Replica `index` of the run described by `setup`.
    pub fn new(index: u32, setup: Rc<Setup>) -> Self {
        Replica { index, setup }
    }
}

/// Hands hints back to their home replicas every `every`, one at a time, dropping each once
/// its home acknowledged it.
async fn hand_off(store: Rc<Store>, coord: Rc<Coordinator>, every: Duration) {
    loop {
        store.ctx.sleep(every).await;
        for key in store.hinted_keys() {
            for (home, values) in store.hints(key) {
                let deadline = store.ctx.now() + store.setup.cluster.timeout;
                if coord.put_to(home, key, values.clone(), deadline).await {
                    metric::HINTS_HANDED.add(1);
                    store.drop_hint(key, home, &values);
                }
            }
        }
    }
}

#[async_trait(?Send)]
impl Node<Msg> for Replica {
    async fn run(&mut self, ctx: Context<Msg>) {
        let Some(replicas) = replica_ids(&ctx, self.setup.cluster.nodes) else {
            tracing::error!("a replica of the cluster is missing from the simulation");
            return;
        };
        let store = Rc::new(Store { ctx: ctx.clone(), setup: self.setup.clone(), index: self.index });
        let coord = Rc::new(Coordinator::new(ctx.clone(), self.setup.clone(), replicas));
        if let Some(every) = self.setup.cluster.sloppy.and_then(|s| s.handoff_every) {
            ctx.spawn(hand_off(store.clone(), coord.clone(), every));
        }
        let processing = self.setup.cluster.base_latency;
        loop {
            let envelope = ctx.recv().await;
            let from = envelope.from;
            match envelope.msg {
                Msg::Request { id, op } if self.setup.cluster.coordinator == CoordinatorMode::Replica => {
                    let (ctx2, coord) = (ctx.clone(), coord.clone());
                    let writer = from.index() as u32;
                    ctx.spawn(async move {
                        let result = coord.execute(op, writer).await;
                        ctx2.send(from, &Msg::Response { id, result });
                    });
                }
                Msg::Get { req, key } => {
                    let (ctx2, store) = (ctx.clone(), store.clone());
                    ctx.spawn(async move {
                        ctx2.sleep(processing).await;
                        ctx2.send(from, &Msg::Got { req, values: store.answer(key) });
                    });
                }
                Msg::Put { req, key, values, hint_for } => {
                    let (ctx2, store) = (ctx.clone(), store.clone());
                    ctx.spawn(async move {
                        ctx2.sleep(processing).await;
                        match hint_for {
                            Some(home) if home != store.index => store.hint(key, home, &values),
                            _ => store.put(key, &values),
                        }
                        ctx2.send(from, &Msg::PutAck { req });
                    });
                }
                msg @ (Msg::Got { .. } | Msg::PutAck { .. }) => coord.deliver(from, msg),
                _ => {}
            }
        }
    }
}
