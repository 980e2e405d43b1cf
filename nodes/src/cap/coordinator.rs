//! The coordinator: sends a request to all N home replicas of a key in parallel and answers
//! when R (reads) or W (writes) have replied, or gives up at its timeout. Its latency is the
//! R-th or W-th reply, so it follows the network. It also carries the mechanisms: read repair,
//! the read phase of logical versions and version vectors, sloppy quorum, and the background
//! replication of eventual consistency. A replica hosts one (for its nearby client), and so
//! does a client that fans out itself.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use faultline::{Context, NodeId, SimTime};
use tokio::sync::mpsc;

use super::config::{Consistency, ReadRepair, Versions};
use super::replica::Setup;
use super::version::{Version, Versioned, holds_all, merge_all};
use super::{Key, Msg, Op, OpResult, metric};

type Replies = mpsc::UnboundedReceiver<(NodeId, Msg)>;

/// Requests waiting for replies, by request id.
type Pending = Rc<RefCell<BTreeMap<u64, mpsc::UnboundedSender<(NodeId, Msg)>>>>;

/// Who answered a round, and what.
struct Round {
    req: u64,
    rx: Replies,
    /// (replica index, reply), the first reply of each replica, in arrival order.
    replies: Vec<(u32, Msg)>,
    /// Home replicas (by index) that answered, directly or through a fallback's hint.
    home_done: BTreeSet<u32>,
}

/// A coordinator, owned by one node.
pub struct Coordinator {
    ctx: Context<Msg>,
    setup: Rc<Setup>,
    replicas: Vec<NodeId>,
    pending: Pending,
    next: Cell<u64>,
}

impl Coordinator {
    /// A coordinator acting through `ctx`; `replicas[i]` is replica i's node.
    pub(crate) fn new(ctx: Context<Msg>, setup: Rc<Setup>, replicas: Vec<NodeId>) -> Self {
        // Request ids carry the incarnation, so that replies to a crashed incarnation's
        // requests never match a new one's.
        let first = u64::from(ctx.incarnation()) << 40;
        Coordinator { ctx, setup, replicas, pending: Rc::default(), next: Cell::new(first + 1) }
    }

    /// Hands a replica's reply to the request waiting for it (dropped if none still waits).
    pub fn deliver(&self, from: NodeId, msg: Msg) {
        let req = match &msg {
            Msg::Got { req, .. } | Msg::PutAck { req } => *req,
            _ => return,
        };
        if let Some(tx) = self.pending.borrow().get(&req) {
            let _ = tx.send((from, msg));
        }
    }

    fn open(&self) -> (u64, Replies) {
        let req = self.next.get();
        self.next.set(req + 1);
        let (tx, rx) = mpsc::unbounded_channel();
        self.pending.borrow_mut().insert(req, tx);
        (req, rx)
    }

    fn close(&self, req: u64) {
        self.pending.borrow_mut().remove(&req);
    }

    fn index_of(&self, node: NodeId) -> Option<u32> {
        self.replicas.iter().position(|&n| n == node).map(|i| i as u32)
    }

    /// Sends `make(req, hint)` to `targets` and waits until `need` replicas answered or
    /// `deadline`. With a sloppy quorum and `sloppy` set, home replicas that have not answered
    /// after the fallback delay are stood in for by the next replicas on the ring, each
    /// keeping a hint for the one it stands in for.
    async fn round(
        &self,
        key: Key,
        targets: &[u32],
        sloppy: bool,
        need: usize,
        deadline: SimTime,
        make: impl Fn(u64, Option<u32>) -> Msg,
    ) -> Round {
        let (req, rx) = self.open();
        for &r in targets {
            self.ctx.send(self.replicas[r as usize], &make(req, None));
        }
        let mut round = Round { req, rx, replies: Vec::new(), home_done: BTreeSet::new() };
        let preference = self.setup.ring.preference(key);
        let mut fallbacks = preference.iter().copied().filter(|r| !targets.contains(r));
        let mut stand_ins: BTreeMap<u32, u32> = BTreeMap::new();
        let mut fallback_at = match (&self.setup.cluster.sloppy, sloppy) {
            (Some(s), true) => Some(self.ctx.now() + s.fallback_after),
            _ => None,
        };
        while round.replies.len() < need {
            let now = self.ctx.now();
            let wake = fallback_at.map_or(deadline, |f| f.min(deadline));
            if now >= deadline {
                break;
            }
            match self.ctx.timeout(wake - now, round.rx.recv()).await {
                Ok(Some((from, msg))) => {
                    let Some(r) = self.index_of(from) else { continue };
                    if round.replies.iter().any(|(x, _)| *x == r) {
                        continue; // a duplicated message
                    }
                    if targets.contains(&r) {
                        round.home_done.insert(r);
                    } else if let Some(&home) = stand_ins.get(&r) {
                        round.home_done.insert(home);
                    }
                    round.replies.push((r, msg));
                }
                Ok(None) => break,
                Err(_) if self.ctx.now() >= deadline => break,
                Err(_) => {
                    fallback_at = None;
                    let missing: Vec<u32> = targets.iter().copied().filter(|r| !round.home_done.contains(r)).collect();
                    for home in missing {
                        let Some(stand_in) = fallbacks.next() else { break };
                        stand_ins.insert(stand_in, home);
                        metric::FALLBACKS.add(1);
                        self.ctx.send(self.replicas[stand_in as usize], &make(req, Some(home)));
                    }
                }
            }
        }
        round
    }

    /// Runs one client operation to its end. `writer` is the client's id (tie breaker of
    /// logical versions, entry of version vectors).
    pub async fn execute(&self, op: Op, writer: u32) -> OpResult {
        let deadline = self.ctx.now() + self.setup.cluster.timeout;
        match op {
            Op::Read { key } => match self.read(key, deadline).await {
                Some(values) => OpResult::Read(values),
                None => OpResult::Unavailable,
            },
            Op::Write { key, value } => match self.write(key, value, writer, deadline).await {
                Some(version) => OpResult::Written(version),
                None => OpResult::Unavailable,
            },
        }
    }

    /// Reads R replies; returns the newest versions among them after read repair, or `None`.
    async fn read(&self, key: Key, deadline: SimTime) -> Option<Vec<Versioned>> {
        let (r, w) = self.setup.cluster.quorums();
        let home = self.setup.ring.home(key);
        let round = self.round(key, &home, true, r, deadline, |req, _| Msg::Get { req, key }).await;
        self.close(round.req);
        if round.replies.len() < r {
            return None;
        }
        let sets: Vec<(u32, Vec<Versioned>)> = round
            .replies
            .into_iter()
            .filter_map(|(r, m)| match m {
                Msg::Got { values, .. } => Some((r, values)),
                _ => None,
            })
            .collect();
        let newest = merge_all(sets.iter().map(|(_, v)| v.as_slice()));
        if newest.is_empty() {
            return Some(newest);
        }
        // Only home replicas are repaired: a fallback that answered holds hints, not the key.
        let holders: BTreeSet<u32> =
            sets.iter().filter(|(r, v)| home.contains(r) && holds_all(v, &newest)).map(|(r, _)| *r).collect();
        let behind: Vec<u32> = home.iter().copied().filter(|r| !holders.contains(r)).collect();
        let put = |req, _| Msg::Put { req, key, values: newest.clone(), hint_for: None };
        match self.setup.cluster.read_repair {
            ReadRepair::None => {}
            ReadRepair::Async => {
                let answered_behind: Vec<u32> = sets.iter().map(|(r, _)| *r).filter(|r| behind.contains(r)).collect();
                for r in answered_behind {
                    metric::READ_REPAIRS.add(1);
                    // Request id 0 waits for nothing: the acknowledgement is dropped.
                    self.ctx.send(self.replicas[r as usize], &put(0, None));
                }
            }
            ReadRepair::Sync if holders.len() < w => {
                metric::READ_REPAIRS.add(behind.len() as u64);
                let need = w - holders.len();
                let round = self.round(key, &behind, false, need, deadline, put).await;
                self.close(round.req);
                if round.replies.len() < need {
                    return None;
                }
            }
            ReadRepair::Sync => {}
        }
        Some(newest)
    }

    /// The version a new write gets, after a read phase for logical versions and vectors.
    async fn next_version(&self, key: Key, writer: u32, deadline: SimTime) -> Option<Version> {
        let cluster = &self.setup.cluster;
        if cluster.versions == Versions::Lww {
            let time = self.ctx.local_time().as_nanos();
            return Some(Version::Stamp { time, writer: self.ctx.id().index() as u32 });
        }
        let (r, _) = cluster.quorums();
        let home = self.setup.ring.home(key);
        let round = self.round(key, &home, true, r, deadline, |req, _| Msg::Get { req, key }).await;
        self.close(round.req);
        if round.replies.len() < r {
            return None;
        }
        let mut top = 0;
        let mut vector = BTreeMap::new();
        for (_, m) in &round.replies {
            let Msg::Got { values, .. } = m else { continue };
            for v in values {
                match &v.version {
                    Version::Stamp { time, .. } => top = top.max(*time),
                    Version::Vector(vv) => {
                        for (&k, &n) in vv {
                            let e = vector.entry(k).or_insert(0);
                            *e = n.max(*e);
                        }
                    }
                }
            }
        }
        Some(match cluster.versions {
            Versions::Vv => {
                *vector.entry(writer).or_insert(0) += 1;
                Version::Vector(vector)
            }
            _ => Version::Stamp { time: top + 1, writer },
        })
    }

    /// Writes to W replicas; returns the version given, or `None`.
    async fn write(&self, key: Key, value: super::Value, writer: u32, deadline: SimTime) -> Option<Version> {
        let version = self.next_version(key, writer, deadline).await?;
        let (_, w) = self.setup.cluster.quorums();
        let home = self.setup.ring.home(key);
        let values = vec![Versioned { version: version.clone(), value }];
        let put = |req, hint_for| Msg::Put { req, key, values: values.clone(), hint_for };
        let round = self.round(key, &home, true, w, deadline, put).await;
        if round.replies.len() < w {
            self.close(round.req);
            return None;
        }
        if self.setup.cluster.consistency == Consistency::Eventual {
            self.replicate_in_background(key, home, values, round);
        } else {
            self.close(round.req);
        }
        Some(version)
    }

    /// Eventual consistency: resends an acknowledged write to the home replicas that have not
    /// acknowledged it, every `background_every`, for at most `background_for`.
    fn replicate_in_background(&self, key: Key, home: Vec<u32>, values: Vec<Versioned>, mut round: Round) {
        let ctx = self.ctx.clone();
        let replicas = self.replicas.clone();
        let pending = self.pending.clone();
        let cluster = &self.setup.cluster;
        let (every, until) = (cluster.background_every, ctx.now() + cluster.background_for);
        let req = round.req;
        let mut done = round.home_done.clone();
        ctx.clone().spawn(async move {
            loop {
                let next = (ctx.now() + every).min(until);
                while ctx.now() < next {
                    match ctx.timeout(next - ctx.now(), round.rx.recv()).await {
                        Ok(Some((from, _))) => {
                            if let Some(i) = replicas.iter().position(|&n| n == from) {
                                done.insert(i as u32);
                            }
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
                let behind: Vec<u32> = home.iter().copied().filter(|r| !done.contains(r)).collect();
                if behind.is_empty() || ctx.now() >= until {
                    break;
                }
                for r in behind {
                    metric::BACKGROUND_PUTS.add(1);
                    ctx.send(replicas[r as usize], &Msg::Put { req, key, values: values.clone(), hint_for: None });
                }
            }
            pending.borrow_mut().remove(&req);
        });
    }

    /// Puts `values` to replica `to` alone (hinted handoff); true once it acknowledged.
    pub(crate) async fn put_to(&self, to: u32, key: Key, values: Vec<Versioned>, deadline: SimTime) -> bool {
        let put = |req, _| Msg::Put { req, key, values: values.clone(), hint_for: None };
        let round = self.round(key, &[to], false, 1, deadline, put).await;
        self.close(round.req);
        !round.replies.is_empty()
    }
}
