//! faultline: emulate networked nodes on a paused virtual clock, to study how distributed
//! systems fail.
//!
//! Every node is its own tokio task with its own inbox. Nodes talk only through serialized
//! messages that cross an injectable network layer (latency, jitter, loss, duplication,
//! partitions). Time is virtual: the core moves the clock to the next event as soon as every
//! task waits, so an hour of traffic takes seconds and one seed replays one run exactly.
//! Faults arrive on a control channel; metrics and traces go through `tracing`.
//!
//! Two nodes exchange pings; a partition cuts them, a heal joins them again, and the round-trip
//! histogram is printed:
//!
//! ```
//! use std::time::Duration;
//! use faultline::{Command, Context, FnNode, LinkConfig, Sim, SimTime};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! enum Msg { Ping, Pong }
//!
//! let mut sim = Sim::<Msg>::builder(42)
//!     .default_link(LinkConfig::constant(Duration::from_micros(200)))
//!     .node("client", || FnNode(|ctx: Context<Msg>| async move {
//!         let server = ctx.node_id("server").unwrap();
//!         loop {
//!             let sent = ctx.now();
//!             ctx.send(server, &Msg::Ping);
//!             if ctx.recv_timeout(Duration::from_millis(10)).await.is_some() {
//!                 ctx.record_duration("rtt", ctx.now() - sent);
//!             } else {
//!                 ctx.count("lost", 1);
//!             }
//!             ctx.sleep(Duration::from_millis(100)).await;
//!         }
//!     }))
//!     .node("server", || FnNode(|ctx: Context<Msg>| async move {
//!         loop {
//!             let m = ctx.recv().await;
//!             ctx.send(m.from, &Msg::Pong);
//!         }
//!     }))
//!     .build()
//!     .unwrap();
//!
//! let (client, server) = (sim.node_id("client").unwrap(), sim.node_id("server").unwrap());
//! let at = |s| SimTime::ZERO + Duration::from_secs(s);
//! sim.schedule(at(2), Command::partition(vec![vec![client], vec![server]])).unwrap();
//! sim.schedule(at(3), Command::heal()).unwrap();
//! sim.run_until(at(5));
//!
//! let report = sim.report();
//! let rtt = report.metrics.metric("rtt").unwrap().stats();
//! assert_eq!(rtt.min, 400_000); // two 200 µs hops, to the nanosecond
//! assert_eq!(report.metrics.metric("lost").unwrap().total(), 10); // the second the cut lasted
//! println!("{}", report.metrics);
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod context;
pub mod control;
pub mod durable;
pub mod id;
mod kernel;
pub mod limits;
pub mod metrics;
pub mod net;
pub mod node;
pub mod seed;
pub mod sim;
pub mod time;
pub mod trace;
pub mod wire;

pub use context::{Context, Elapsed, Envelope, Sleep, Timeout};
pub use control::{Answer, Command, ControlError, ControlHandle, ControlStats, CutMode, Reply, Status};
pub use durable::{Durable, DurableError};
pub use id::NodeId;
pub use kernel::{CONTROL_TARGET, NodeStatus, RunOutcome};
pub use limits::{LimitHit, LimitKind, Limits};
pub use metrics::{METRIC_TARGET, MetricKind, MetricsReport, Stats};
pub use net::{
    Latency, LatencyError, LinkConfig, LinkPatch, LinkStats, NetFault, NetStats, Network, Packet, Payload, SimNetwork,
    Traffic, Wire,
};
pub use node::{FnNode, Message, Node};
pub use seed::{SimRng, derive_rng};
pub use sim::{BuildError, EngineStats, NodeReport, Report, Sim, SimBuilder};
pub use time::{DurationError, SimTime, format_duration, parse_duration};
pub use trace::{TraceBuffer, TraceError, TraceFormat, TraceOutput, TraceSink, Traces};

/// Re-exported so that node code can implement [`Node`] without naming the crate.
pub use async_trait::async_trait;
