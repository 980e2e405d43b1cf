//! The cap study's headline results, each a whole run on the emulated network, deterministic
//! by seed: what quorums cost in latency (PACELC's E), what a partition does to each side
//! (CAP), stale reads judged against the truth, convergence after a heal, writes that LWW under
//! clock skew loses, and the stale reads a sloppy quorum leaves after the heal.

use std::time::Duration;

use faultline::{Command, Latency, Sim, SimTime};
use faultline_nodes::cap::analysis::{self, Span};
use faultline_nodes::cap::observer::Observations;
use faultline_nodes::cap::{
    ClientConfig, Cluster, ClusterConfig, Consistency, CoordinatorMode, Load, Msg, Observer, OpKind, ReadRepair,
    Sloppy, Versions, history, install, to_json_lines,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(d: Duration) -> SimTime {
    SimTime::ZERO + d
}

fn constant(d: Duration) -> Latency {
    Latency::Constant { value: d }
}

/// Runs the cluster until the clients stopped and every operation ended; `faults` schedules
/// commands on the built simulation.
fn run(
    seed: u64,
    cluster: &ClusterConfig,
    clients: &ClientConfig,
    faults: impl FnOnce(&Sim<Msg>, &Cluster),
) -> (Observations, Cluster) {
    let observer = Observer::default();
    let (builder, layout) = install(Sim::builder(seed), cluster, clients, &observer).expect("valid configs");
    let mut sim = builder.build().expect("a simulation");
    faults(&sim, &layout);
    sim.run_until(at(clients.stop + clients.timeout * 2 + cluster.background_every));
    let report = sim.report();
    assert!(report.panics.is_empty(), "{:?}", report.panics);
    (observer.observations(), layout)
}

fn write_p50(cluster: &ClusterConfig, clients: &ClientConfig) -> f64 {
    let (obs, _) = run(1, cluster, clients, |_, _| {});
    let w = analysis::op_stats(&obs, OpKind::Write);
    assert_eq!(w.failed, 0);
    assert!(w.ok > 20, "{w:?}");
    w.p50_ms.unwrap()
}

#[test]
fn quorum_latency_is_one_round_trip_and_follows_the_network() {
    let clients = ClientConfig { stop: Duration::from_secs(5), ..ClientConfig::default() };
    let strong = |net| ClusterConfig { net_latency: constant(net), ..ClusterConfig::default() };
    // Client to its replica (0.5 ms), the replica's own copy (1 ms processing) and one remote
    // copy (5 ms there, 1 ms processing, 5 ms back), then 0.5 ms back to the client.
    assert_eq!(write_p50(&strong(ms(5)), &clients), 12.0);
    assert_eq!(write_p50(&strong(ms(100)), &clients), 202.0);
    // R = W = N waits for the slowest copy; with equal links that is one round trip as well,
    // not N x processing: the copies go out in parallel.
    let all = ClusterConfig { consistency: Consistency::Linearizable, nodes: 5, ..strong(ms(5)) };
    assert_eq!(write_p50(&all, &clients), 12.0);
    // Weak with a co-located coordinator: the local copy answers, the WAN does not matter.
    for net in [ms(5), ms(100)] {
        let weak = ClusterConfig { consistency: Consistency::Weak, ..strong(net) };
        assert_eq!(write_p50(&weak, &clients), 2.0, "weak at {net:?}");
    }
    // The client as coordinator pays the WAN to every replica but its own.
    let client = ClusterConfig { coordinator: CoordinatorMode::Client, ..strong(ms(100)) };
    assert!(write_p50(&client, &clients) > 100.0);
}
