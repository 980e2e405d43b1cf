//! The simulation: a builder that takes a seed, a network and nodes, and a runner that drives
//! them on one current-thread tokio runtime started paused.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::task::LocalSet;
use tracing::Dispatch;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

use crate::context::Context;
use crate::control::{Command, ControlError, ControlHandle, ControlStats};
use crate::id::NodeId;
use crate::kernel::{Drive, Kernel, NodeStatus, RunOutcome, Starter};
use crate::limits::{LimitHit, LimitKind, Limits};
use crate::metrics::{self, METRIC_TARGET, MetricsReport, Recorder, SimSubscriber, Store};
use crate::net::{LinkConfig, NetStats, Network, SimNetwork};
use crate::node::{Message, Node};
use crate::seed::derive_rng;
use crate::time::SimTime;
use crate::trace::{TraceError, TraceLayer, TraceOutput, Traces};

type Factory<M> = Rc<dyn Fn() -> Box<dyn Node<M>>>;

/// Builds a [`Sim`]: the master seed, the network, the nodes, traces and metrics.
pub struct SimBuilder<M: Message> {
    seed: u64,
    default_link: LinkConfig,
    links: Vec<(String, String, LinkConfig)>,
    network: Option<Box<dyn Network>>,
    nodes: Vec<(String, Factory<M>)>,
    traces: Vec<TraceOutput>,
    window: Duration,
    realtime: Option<f64>,
    limits: Limits,
    per_node: BTreeSet<String>,
    link_traffic: bool,
}

/// A simulation that cannot be built as configured.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two nodes share a name.
    #[error("two nodes are named '{0}': node names must be unique")]
    DuplicateNode(String),
    /// A link names a node that was not added.
    #[error("link {from} -> {to} names an unknown node '{unknown}'")]
    UnknownLinkNode {
        /// Sender side.
        from: String,
        /// Receiver side.
        to: String,
        /// The name not found.
        unknown: String,
    },
    /// A link's settings are out of range.
    #[error("link {what}: {source}")]
    Link {
        /// Which link.
        what: String,
        /// What is wrong.
        source: ControlError,
    },
    /// Link settings were given with a network of the caller's own, which would ignore them.
    #[error(
        "link settings (default_link, link, link_traffic) apply to the simulated network, not to one given with .network(...)"
    )]
    LinksWithCustomNetwork,
    /// The metrics window is zero.
    #[error("the metrics window must be longer than zero")]
    Window,
    /// The real-time factor is not a positive number.
    #[error("the real-time factor must be a positive number, got {0}")]
    Realtime(f64),
    /// A trace output cannot be set up.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// More nodes than [`Limits::max_nodes`].
    #[error("{0}")]
    Limit(LimitHit),
    /// The runtime could not start.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
}

impl<M: Message> SimBuilder<M> {
    /// A simulation seeded by `seed`, with 1 ms links and 1 s metric windows.
    pub fn new(seed: u64) -> Self {
        SimBuilder {
            seed,
            default_link: LinkConfig::default(),
            links: Vec::new(),
            network: None,
            nodes: Vec::new(),
            traces: Vec::new(),
            window: Duration::from_secs(1),
            realtime: None,
            limits: Limits::default(),
            per_node: BTreeSet::new(),
            link_traffic: false,
        }
    }

    /// How every link behaves unless configured on its own.
    pub fn default_link(mut self, link: LinkConfig) -> Self {
        self.default_link = link;
        self
    }

    /// How the link `from -> to` behaves (node names).
    pub fn link(mut self, from: &str, to: &str, link: LinkConfig) -> Self {
        self.links.push((from.to_string(), to.to_string(), link));
        self
    }

    /// Replaces the simulated network with your own (then `default_link` and `link` are refused:
    /// your network decides latencies).
    pub fn network(mut self, network: impl Network + 'static) -> Self {
        self.network = Some(Box::new(network));
        self
    }

    /// Adds a node called `name`, built (and rebuilt after a crash) by `factory`. Ids follow the
    /// order nodes are added.
    pub fn node<N: Node<M>>(mut self, name: &str, factory: impl Fn() -> N + 'static) -> Self {
        self.nodes.push((name.to_string(), Rc::new(move || Box::new(factory()) as Box<dyn Node<M>>)));
        self
    }

    /// Writes a trace.
    pub fn trace(mut self, output: TraceOutput) -> Self {
        self.traces.push(output);
        self
    }

    /// Width of the metrics time-series windows.
    pub fn metrics_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Keeps a series per node for `metric` (a label), besides the one over every node. Other
    /// metrics pool every node's samples, so their memory does not grow with nodes.
    pub fn per_node(mut self, metric: &str) -> Self {
        self.per_node.insert(metric.to_string());
        self
    }

    /// Counts the simulated network's traffic per directed link however many nodes there are.
    /// By default, networks of more than 256 nodes count it per node: see [`NetStats`].
    pub fn link_traffic(mut self) -> Self {
        self.link_traffic = true;
        self
    }

    /// Paces virtual time to wall time times `factor` (a live run a person can watch and steer).
    pub fn realtime(mut self, factor: f64) -> Self {
        self.realtime = Some(factor);
        self
    }

    /// The run's resource limits (see [`Limits`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Checks everything and builds the simulation. Nothing runs until [`Sim::run_until`].
    pub fn build(self) -> Result<Sim<M>, BuildError> {
        let mut seen = BTreeSet::new();
        for (name, _) in &self.nodes {
            if !seen.insert(name.as_str()) {
                return Err(BuildError::DuplicateNode(name.clone()));
            }
        }
        if self.window.is_zero() {
            return Err(BuildError::Window);
        }
        if self.nodes.len() as u64 > self.limits.max_nodes {
            return Err(BuildError::Limit(LimitHit { kind: LimitKind::Nodes, limit: self.limits.max_nodes }));
        }
        if let Some(f) = self.realtime
            && !(f.is_finite() && f > 0.0)
        {
            return Err(BuildError::Realtime(f));
        }
        let names: Arc<[String]> = self.nodes.iter().map(|(n, _)| n.clone()).collect();
        let find = |name: &str| names.iter().position(|n| n == name).map(NodeId::from_index);
        let mut network: Box<dyn Network> = match self.network {
            Some(_) if !self.links.is_empty() || self.default_link != LinkConfig::default() || self.link_traffic => {
                return Err(BuildError::LinksWithCustomNetwork);
            }
            Some(n) => n,
            None => {
                let mut net = SimNetwork::new(self.default_link, derive_rng(self.seed, "network", 0))
                    .map_err(|source| BuildError::Link { what: "default".into(), source })?;
                if self.link_traffic {
                    net.link_traffic();
                }
                for (from, to, link) in self.links {
                    let (Some(f), Some(t)) = (find(&from), find(&to)) else {
                        let unknown = if find(&from).is_none() { from.clone() } else { to.clone() };
                        return Err(BuildError::UnknownLinkNode { from, to, unknown });
                    };
                    net.set_link(f, t, link)
                        .map_err(|source| BuildError::Link { what: format!("{from} -> {to}"), source })?;
                }
                Box::new(net)
            }
        };
        network.attach(names.len());

        let factories: Vec<Factory<M>> = self.nodes.into_iter().map(|(_, f)| f).collect();
        let starter: Starter = Rc::new(move |kernel: &Rc<Kernel>, id: NodeId| {
            let mut node = factories[id.index()]();
            let ctx = Context::<M>::new(kernel.clone(), id);
            let incarnation = ctx.incarnation();
            let k = kernel.clone();
            kernel.spawn(
                id,
                Box::pin(async move {
                    node.run(ctx).await;
                    k.node_returned(id, incarnation);
                }),
            );
        });
        let kernel = Kernel::new(self.seed, names.clone(), network, starter, self.realtime, self.limits);
        let control = kernel.control.clone();

        let window_ns = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        let store = Rc::new(RefCell::new(Store::new(window_ns, self.limits.max_windows, self.per_node)));
        let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
        let mut writers = Vec::new();
        for output in &self.traces {
            let directives = output.directives();
            let filter = EnvFilter::builder()
                .parse(&directives)
                .map_err(|e| TraceError::Filter { directives: directives.clone(), reason: e.to_string() })?;
            let writer = TraceLayer::open(output, kernel.shared.clone(), names.clone())?;
            writers.push(writer.clone());
            layers.push(Box::new(writer.with_filter(filter)));
        }
        let writers_take_metrics = self.traces.iter().any(|o| o.may_take(METRIC_TARGET, &tracing::Level::TRACE));
        let recorder = Recorder::new(kernel.shared.clone());
        let dispatch =
            Dispatch::new(SimSubscriber::new(recorder, Registry::default().with(layers), writers_take_metrics));

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(BuildError::Runtime)?;
        Ok(Sim {
            runtime,
            local: LocalSet::new(),
            kernel,
            control,
            dispatch,
            store,
            writers,
            started: false,
            _msg: PhantomData,
        })
    }
}

/// A built simulation. Run it in steps (`run_until`, `run_for`) or to the end (`run`), send it
/// commands, and read its report.
///
/// A `Sim` lives on the thread that built it; build one per thread to run several at once.
pub struct Sim<M: Message> {
    runtime: Runtime,
    local: LocalSet,
    kernel: Rc<Kernel>,
    control: ControlHandle,
    dispatch: Dispatch,
    store: Rc<RefCell<Store>>,
    writers: Vec<TraceLayer>,
    started: bool,
    _msg: PhantomData<fn(M) -> M>,
}

/// Everything a run recorded.
#[derive(Clone, Debug)]
pub struct Report {
    /// Virtual time at the end.
    pub end: SimTime,
    /// Histograms and time series.
    pub metrics: MetricsReport,
    /// Traffic per link (or per node, in networks of more than 256 nodes).
    pub net: NetStats,
    /// Commands applied and refused.
    pub control: ControlStats,
    /// Each node's state.
    pub nodes: Vec<NodeReport>,
    /// Panics of node code, as (node name, message), in the order they happened.
    pub panics: Vec<(String, String)>,
    /// How much work the core did.
    pub engine: EngineStats,
}

/// A node at the end of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Name.
    pub name: String,
    /// State.
    pub status: NodeStatus,
    /// Restarts so far.
    pub incarnation: u32,
    /// Messages that reached it while it was crashed or finished.
    pub undeliverable: u64,
    /// Messages it could not decode.
    pub undecodable: u64,
    /// Bytes in its durable store.
    pub durable_bytes: usize,
}

/// Work done by the core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Distinct instants the clock stopped at.
    pub instants: u64,
    /// Events fired (deliveries, timers, scheduled commands).
    pub events: u64,
    /// Events still queued.
    pub pending: u64,
    /// Bytes the event queue holds now: heap, slab and in-flight message buffers.
    pub queue_bytes: u64,
    /// Messages sent to an id that is no node.
    pub misaddressed: u64,
}

impl<M: Message> Sim<M> {
    /// Starts building a simulation seeded by `seed`.
    pub fn builder(seed: u64) -> SimBuilder<M> {
        SimBuilder::new(seed)
    }

    /// A handle to send commands, from this thread or another. Its commands apply between
    /// instants (after everything due at the current one, before anything due later), so that a
    /// live session recorded with the instants replays exactly as a script.
    pub fn control(&self) -> ControlHandle {
        self.control.outside()
    }

    /// The id of the node called `name`.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.control.node(name)
    }

    /// Node names, by id.
    pub fn names(&self) -> &[String] {
        self.control.names()
    }

    /// The virtual time now.
    pub fn now(&self) -> SimTime {
        self.kernel.now()
    }

    /// Schedules `command` for virtual instant `at` (now, if `at` is past). Node ids and
    /// [`Command::validate`] are checked here; other errors are answered when it applies
    /// (traced and counted).
    pub fn schedule(&self, at: SimTime, command: Command) -> Result<(), ControlError> {
        command.validate()?;
        let count = self.names().len();
        if let Some(&node) = command.nodes().iter().find(|n| n.index() >= count) {
            return Err(ControlError::UnknownNode { node, count });
        }
        self.kernel.schedule(at, command);
        Ok(())
    }

    /// Runs until virtual instant `deadline`, until nothing is left to happen, or until a `stop`
    /// command. The first call starts every node.
    pub fn run_until(&mut self, deadline: SimTime) -> RunOutcome {
        self.kernel.begin(deadline);
        let kernel = self.kernel.clone();
        let start = !std::mem::replace(&mut self.started, true);
        let (runtime, local) = (&self.runtime, &self.local);
        metrics::recording(&self.store, || {
            tracing::dispatcher::with_default(&self.dispatch, || {
                runtime.block_on(local.run_until(async move {
                    if start {
                        kernel.start_all();
                    }
                    Drive { kernel }.await
                }))
            })
        })
    }

    /// Runs for `d` of virtual time from now.
    pub fn run_for(&mut self, d: Duration) -> RunOutcome {
        let deadline = self.now() + d;
        self.run_until(deadline)
    }

    /// Runs until nothing is left to happen or a `stop` command.
    pub fn run(&mut self) -> RunOutcome {
        self.run_until(SimTime::MAX)
    }

    /// What the run has recorded so far. The metrics are copied (the run may go on); at the
    /// end, [`Sim::finish`] hands them over without a copy.
    pub fn report(&self) -> Report {
        let store = self.store.borrow().clone();
        let net = self.kernel.st.borrow().net_stats();
        self.report_with(store, net)
    }

    fn report_with(&self, store: Store, net: NetStats) -> Report {
        let st = self.kernel.st.borrow();
        Report {
            end: self.now(),
            metrics: MetricsReport::from_store(store, st.names.clone()),
            net,
            control: st.control_stats.clone(),
            nodes: st
                .nodes
                .iter()
                .map(|s| NodeReport {
                    name: s.name.to_string(),
                    status: s.status,
                    incarnation: s.incarnation,
                    undeliverable: s.undeliverable,
                    undecodable: s.undecodable,
                    durable_bytes: s.durable.size(),
                })
                .collect(),
            panics: st.panics.iter().map(|(n, m)| (st.names[n.index()].clone(), m.clone())).collect(),
            engine: EngineStats {
                instants: st.instants,
                events: st.events,
                pending: st.queue.len() as u64,
                queue_bytes: st.queue.memory() as u64,
                misaddressed: st.misaddressed,
            },
        }
    }

    /// A handle on this run's traces: to write phases and the verdict into them, and to finish
    /// them from an interrupt path (see [`Traces`]).
    pub fn traces(&self) -> Traces {
        Traces::new(self.writers.clone(), self.dispatch.clone())
    }

    /// Ends the traces (closing open Chrome slices and the object, flushing and renaming files)
    /// and returns the report.
    pub fn finish(self) -> Result<Report, TraceError> {
        let store = {
            let mut store = self.store.borrow_mut();
            let empty = Store::new(store.window_ns, 0, Default::default());
            std::mem::replace(&mut *store, empty)
        };
        let net = self.kernel.st.borrow_mut().take_net_stats();
        let report = self.report_with(store, net);
        self.traces().finish()?;
        Ok(report)
    }
}
