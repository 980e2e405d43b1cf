//! The cap study's headline results, each a whole run on the emulated network, deterministic
//! by seed: what quorums cost in latency (PACELC's E), what a partition does to each side
//! (CAP), stale reads judged against the truth, convergence after a heal, writes that LWW under
//! clock skew loses, and the stale reads a sloppy quorum leaves after the heal.

use std::time::Duration;

use faultline::check::{Checker, Explained, Explanation, ModelKind, Verdict, format};
use faultline::{Command, Latency, Sim, SimTime};
use faultline_nodes::cap::analysis::{self, Span};
use faultline_nodes::cap::observer::Observations;
use faultline_nodes::cap::{
    ClientConfig, Cluster, ClusterConfig, Consistency, CoordinatorMode, Event, EventType, Load, Msg, Observer, OpKind,
    Outcome, PartitionConfig, ReadRepair, Regions, Sloppy, Versions, check_history, history, install, to_json_lines,
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

/// The checker's verdict on the run's history, each key a register. The budget is generous
/// for a debug build; a test that needs a definite answer asserts it is not `Unknown`.
fn verdict(obs: &Observations) -> Verdict {
    let history = check_history(obs).expect("the observer's operations form a history");
    let started = std::time::Instant::now();
    let verdict = Checker::new().timeout(Duration::from_secs(60)).check_as(ModelKind::Register, &history);
    println!(
        "checked {} operations in {:?}: {}",
        history.len(),
        started.elapsed(),
        verdict.as_ref().map_or("error", Verdict::name)
    );
    verdict.expect("reads and writes are register operations")
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

#[test]
fn across_regions_a_quorum_costs_the_round_trip_to_the_nearest_region_that_completes_it() {
    // Five replicas in three regions (r0, r3 | r1, r4 | r2), 1 ms within a region, 40, 85 and
    // 120 ms one way between regions 0-1, 0-2 and 1-2. A majority is three copies.
    let cluster = ClusterConfig {
        nodes: 5,
        net_latency: constant(ms(1)),
        regions: Some(Regions { count: 3, latency: vec![constant(ms(40)), constant(ms(85)), constant(ms(120))] }),
        ..ClusterConfig::default()
    };
    let clients = ClientConfig { clients: 5, stop: Duration::from_secs(10), ..ClientConfig::default() };
    let (obs, _) = run(1, &cluster, &clients, |_, _| {});
    let p50 = |client: u32| {
        let mut lat: Vec<Duration> = obs
            .ops
            .iter()
            .filter(|o| o.client == client && o.kind == OpKind::Write && o.outcome == Outcome::Ok)
            .filter_map(|o| o.latency())
            .collect();
        assert!(lat.len() > 10, "client {client}: {} writes", lat.len());
        lat.sort_unstable();
        lat[lat.len() / 2]
    };
    // Regions 0 and 1 hold two copies each: the third is one 40 ms round trip away.
    // 0.5 ms to the replica, 40 + 1 + 40 ms for the remote copy, 0.5 ms back.
    for client in [0, 1, 3, 4] {
        assert_eq!(p50(client), ms(82), "client {client}");
    }
    // Region 2 holds one copy: it needs two from region 0, 85 ms away.
    assert_eq!(p50(2), ms(172));
}

/// 30 s of three closed-loop clients on three replicas; the minority (r2 and c2) is cut off
/// from 10 s to 20 s.
fn partitioned(seed: u64, cluster: &ClusterConfig) -> (Observations, Cluster, Span, Vec<Vec<faultline::NodeId>>) {
    let clients = ClientConfig { stop: Duration::from_secs(30), ..ClientConfig::default() };
    let partition = PartitionConfig::middle_third(cluster.nodes, clients.stop);
    let mut cut = None;
    let (obs, layout) = run(seed, cluster, &clients, |sim, layout| {
        cut = Some(layout.schedule_partition(sim, &partition, clients.stop).expect("a valid partition"));
    });
    let (span, sides) = cut.unwrap();
    assert_eq!((span.from, span.to), (at(Duration::from_secs(10)), at(Duration::from_secs(20))));
    (obs, layout, span, sides)
}

#[test]
fn under_partition_strong_fails_on_the_minority_side_and_carries_on_on_the_majority_side() {
    let (obs, layout, span, sides) = partitioned(3, &ClusterConfig::default());
    let by_side = analysis::by_side(&obs, span, &sides);
    let (major, minor) = (by_side[0].ratio.unwrap(), by_side[1].ratio.unwrap());
    println!("strong: by side {by_side:?}; phases {:?}", analysis::phases(&obs, span));
    assert!(major > 0.99, "majority side during the partition: {:?}", by_side[0]);
    assert_eq!(minor, 0.0, "minority side during the partition: {:?}", by_side[1]);
    let phases = analysis::phases(&obs, span);
    assert_eq!(phases.before.ratio, Some(1.0));
    assert!(phases.after.ratio.unwrap() > 0.99, "{phases:?}");
    // A majority quorum is never stale, judged against the acknowledged writes.
    assert_eq!(analysis::stale_reads(&obs, |_| true).stale, 0);
    let cell = analysis::pacelc(&ClusterConfig::default(), &obs, Some(by_side[1]));
    assert!(cell.statement.starts_with("PC/EC: minority side unavailable"), "{}", cell.statement);
    // Every key is written again after the heal, through all three replicas.
    assert!(analysis::convergence(&obs, &layout.ring, span.to).is_some());
    assert_eq!(analysis::lost_writes(&obs, &layout.ring).lost, 0);
}

#[test]
fn under_partition_eventual_stays_available_serves_stale_reads_and_converges_after_the_heal() {
    let eventual = ClusterConfig { consistency: Consistency::Eventual, ..ClusterConfig::default() };
    let (obs, layout, span, sides) = partitioned(3, &eventual);
    let by_side = analysis::by_side(&obs, span, &sides);
    assert_eq!(by_side[0].ratio, Some(1.0));
    assert_eq!(by_side[1].ratio, Some(1.0), "the minority side answers from its own replica");
    let during = analysis::stale_reads(&obs, |o| o.invoke >= span.from && o.invoke < span.to);
    println!("eventual: by side {by_side:?}; stale during {during:?}");
    assert!(during.stale > 50, "stale reads during the partition: {during:?}");
    let before = analysis::stale_reads(&obs, |o| o.invoke < span.from);
    assert!(before.ratio.unwrap() < during.ratio.unwrap(), "{before:?} vs {during:?}");
    let cell = analysis::pacelc(&eventual, &obs, Some(by_side[1]));
    assert!(cell.statement.starts_with("PA/EL"), "{}", cell.statement);
    // The background replication resends what the cut dropped: within a resend period or two.
    let converged = analysis::convergence(&obs, &layout.ring, span.to).expect("replicas converge after the heal");
    assert!(converged <= eventual.background_every * 2, "{converged:?}");
    // The checker, knowing nothing of the partition, finds that no order explains the reads.
    let why = verdict(&obs);
    println!("{why}");
    let why = why.explanation().unwrap_or_else(|| panic!("eventual under partition: {}", why.name()));
    let during = |call: u64| call >= span.from.as_nanos() && call < span.to.as_nanos();
    assert!(why.ops.iter().any(|o| during(o.call)), "the reads that cannot be ordered ran during the cut: {why}");
}

#[test]
fn lww_under_clock_skew_loses_acknowledged_writes_and_counts_them() {
    let clients = ClientConfig { stop: Duration::from_secs(20), ..ClientConfig::default() };
    let cluster = ClusterConfig::default();
    let (obs, layout) = run(5, &cluster, &clients, |_, _| {});
    let honest = analysis::lost_writes(&obs, &layout.ring);
    assert!(honest.acknowledged > 1000);
    assert_eq!(honest.lost, 0, "{honest:?}");
    // r1 and r2 run 2 s ahead: what r0 coordinates is stamped 2 s in their past, so it loses
    // to any write they coordinated in the last 2 s, although it came later and was
    // acknowledged.
    let (obs, layout) = run(5, &cluster, &clients, |sim, layout| {
        for r in [1, 2] {
            let node = layout.replica(sim, r).unwrap();
            sim.schedule(SimTime::ZERO, Command::Skew { node, nanos: 2_000_000_000 }).unwrap();
        }
    });
    let skewed = analysis::lost_writes(&obs, &layout.ring);
    println!("lww: lost {} of {} acknowledged writes under a 2 s skew", skewed.lost, skewed.acknowledged);
    assert!(skewed.lost > 100, "{skewed:?}");
    // The loss shows as stale reads too: a later read returns the older value.
    assert!(analysis::stale_reads(&obs, |_| true).stale > 100);
    // Logical versions do not read a clock: the same skew loses nothing.
    let logical = ClusterConfig { versions: Versions::Logical, ..cluster };
    let (obs, layout) = run(5, &logical, &clients, |sim, layout| {
        for r in [1, 2] {
            let node = layout.replica(sim, r).unwrap();
            sim.schedule(SimTime::ZERO, Command::Skew { node, nanos: 2_000_000_000 }).unwrap();
        }
    });
    assert_eq!(analysis::lost_writes(&obs, &layout.ring).lost, 0);
}

/// Five replicas, each key on three, R = W = 2; r3 and r4 with their clients are cut off from
/// 10 s to 20 s; stale reads in the 3 s after the heal, and lost writes.
fn stale_after_heal(sloppy: Option<Sloppy>, stop: Duration) -> (analysis::Staleness, analysis::LostWrites) {
    let cluster = ClusterConfig { nodes: 5, replication: Some(3), sloppy, ..ClusterConfig::default() };
    // Many keys, so that a key the minority side wrote during the partition is seldom written
    // again soon after the heal: its newest acknowledged value is the minority's.
    let clients = ClientConfig { clients: 10, keys: 1000, stop, ..ClientConfig::default() };
    let heal = at(Duration::from_secs(20));
    let (obs, layout) = run(11, &cluster, &clients, |sim, layout| {
        let minority = layout.side(sim, &[3, 4]);
        sim.schedule(at(Duration::from_secs(10)), Command::partition(vec![minority])).unwrap();
        sim.schedule(heal, Command::heal()).unwrap();
    });
    let after = analysis::stale_reads(&obs, |o| o.invoke >= heal && o.invoke < heal + Duration::from_secs(3));
    (after, analysis::lost_writes(&obs, &layout.ring))
}

#[test]
fn a_sloppy_quorum_leaves_stale_reads_after_the_heal_that_a_strict_quorum_does_not() {
    let (strict, strict_lost) = stale_after_heal(None, Duration::from_secs(23));
    assert!(strict.reads > 200, "{strict:?}");
    assert_eq!(strict.stale, 0, "{strict:?}");
    assert_eq!(strict_lost.lost, 0);
    let handoff = Sloppy { fallback_after: ms(20), handoff_every: Some(Duration::from_secs(1)) };
    let (sloppy, sloppy_lost) = stale_after_heal(Some(handoff), Duration::from_secs(23));
    println!("after the heal: strict {strict:?}\nsloppy {sloppy:?}");
    assert!(sloppy.stale > 10, "{sloppy:?}");
    assert_eq!(sloppy_lost.lost, 0, "the hints were handed back: {sloppy_lost:?}");
    // Without handoff, the writes the minority side's fallbacks took never reach their home:
    // those no later write replaced are gone. Clients stop 0.5 s after the heal, so few are.
    let stop = Duration::from_millis(20_500);
    let (_, handed) = stale_after_heal(Some(handoff), stop);
    let (_, kept) = stale_after_heal(Some(Sloppy { handoff_every: None, ..handoff }), stop);
    println!("sloppy, clients stop 0.5 s after the heal: with handoff {handed:?}\nwithout {kept:?}");
    assert_eq!(handed.lost, 0, "{handed:?}");
    assert!(kept.lost > 10, "{kept:?}");
    assert_eq!(kept.discarded, 0, "not discarded: kept as hints, never handed back");
}

#[test]
fn the_same_seed_gives_the_same_history_byte_for_byte_and_another_seed_another() {
    let cluster = ClusterConfig {
        consistency: Consistency::Eventual,
        net_latency: Latency::LogNormal { mean: ms(5), stddev: ms(3), floor: ms(1) },
        ..ClusterConfig::default()
    };
    let clients =
        ClientConfig { load: Load::Open { rate: 50.0 }, t_visibility: vec![ms(0), ms(5)], ..ClientConfig::default() };
    let lines = |seed| {
        let (obs, _) = run(seed, &cluster, &clients, |sim, layout| {
            let minority = layout.side(sim, &layout.minority());
            sim.schedule(at(Duration::from_secs(3)), Command::partition(vec![minority])).unwrap();
            sim.schedule(at(Duration::from_secs(6)), Command::heal()).unwrap();
        });
        (to_json_lines(&history(&obs)), serde_json::to_string(&obs).unwrap())
    };
    let (a, b) = (lines(21), lines(21));
    assert!(a.0.lines().count() > 1000);
    assert_eq!(a, b);
    assert_ne!(a.0, lines(22).0);
}

#[test]
fn impossible_settings_are_refused_with_the_field_and_the_range() {
    let observer = Observer::default();
    let install_err = |cluster: ClusterConfig, clients: ClientConfig| {
        install(Sim::builder(1), &cluster, &clients, &observer).err().expect("refused").to_string()
    };
    let ok = ClientConfig::default();
    let r_above_n = ClusterConfig { consistency: Consistency::Custom { r: 4, w: 2 }, ..ClusterConfig::default() };
    assert_eq!(install_err(r_above_n, ok.clone()), "r = 4: 1 to the replication factor N (3)");
    let no_nodes = ClusterConfig { nodes: 0, ..ClusterConfig::default() };
    assert_eq!(install_err(no_nodes, ok.clone()), "nodes = 0: 1 to 1024 replicas");
    let n_above_nodes = ClusterConfig { replication: Some(5), ..ClusterConfig::default() };
    assert_eq!(install_err(n_above_nodes, ok.clone()), "replication = 5: 1 to nodes (3)");
    let no_keys = ClientConfig { keys: 0, ..ok.clone() };
    assert_eq!(install_err(ClusterConfig::default(), no_keys), "keys = 0: 1 to 1000000");
    let bad_latency =
        ClusterConfig { net_latency: Latency::Uniform { min: ms(5), max: ms(1) }, ..ClusterConfig::default() };
    assert!(install_err(bad_latency, ok).starts_with("net_latency: "));
}

/// Checks the shape of a JSON-lines history: every line an event with the fields a checker
/// reads, each completion after an invoke of the same process and operation, and no process
/// with two operations open at once (a process whose operation ended `info` never runs
/// another).
fn check_history_shape(lines: &str) -> usize {
    let mut open: std::collections::BTreeMap<u64, (String, u64)> = std::collections::BTreeMap::new();
    let mut finished_info = std::collections::BTreeSet::new();
    let mut events = 0;
    for line in lines.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        let process = e["process"].as_u64().expect("process");
        let f = e["f"].as_str().expect("f").to_string();
        assert!(f == "read" || f == "write", "{line}");
        assert!(e["key"].is_u64() && e["time"].is_u64(), "{line}");
        match e["type"].as_str().expect("type") {
            "invoke" => {
                assert!(!finished_info.contains(&process), "process {process} reused after info: {line}");
                let prev = open.insert(process, (f, e["key"].as_u64().unwrap()));
                assert!(prev.is_none(), "process {process} has two operations open: {line}");
            }
            kind @ ("ok" | "fail" | "info") => {
                let (of, key) = open.remove(&process).expect("a completion follows an invoke");
                assert_eq!((of.as_str(), key), (f.as_str(), e["key"].as_u64().unwrap()), "{line}");
                if kind == "info" {
                    finished_info.insert(process);
                }
            }
            other => panic!("type {other}: {line}"),
        }
        events += 1;
    }
    events
}

#[test]
fn abd_strong_quorums_with_sync_read_repair_and_logical_versions_are_linearizable() {
    // The checker judges each history, crash and partition included (writes left `info` by
    // the cut may take effect or not); the truth agrees (no read misses an acknowledged
    // write, none is lost), and the history has the shape a checker expects.
    let abd = ClusterConfig {
        read_repair: ReadRepair::Sync,
        versions: Versions::Logical,
        net_latency: Latency::LogNormal { mean: ms(5), stddev: ms(4), floor: ms(1) },
        ..ClusterConfig::default()
    };
    let clients = ClientConfig { keys: 5, stop: Duration::from_secs(12), ..ClientConfig::default() };
    for seed in 1..=4 {
        let (obs, layout) = run(seed, &abd, &clients, |sim, layout| {
            let r1 = layout.replica(sim, 1).unwrap();
            sim.schedule(at(Duration::from_secs(2)), Command::Crash(r1)).unwrap();
            sim.schedule(at(Duration::from_secs(4)), Command::Restart(r1)).unwrap();
            let minority = layout.side(sim, &layout.minority());
            sim.schedule(at(Duration::from_secs(6)), Command::partition(vec![minority])).unwrap();
            sim.schedule(at(Duration::from_secs(9)), Command::heal()).unwrap();
        });
        let stale = analysis::stale_reads(&obs, |_| true);
        assert!(stale.reads > 300, "seed {seed}: {stale:?}");
        assert_eq!(stale.stale, 0, "seed {seed}: {stale:?}");
        assert_eq!(analysis::lost_writes(&obs, &layout.ring).lost, 0, "seed {seed}");
        let lines = to_json_lines(&history(&obs));
        assert!(check_history_shape(&lines) > 1000);
        assert!(lines.contains(r#""type":"info""#), "seed {seed}: the partition leaves indeterminate writes");
        assert_eq!(verdict(&obs), Verdict::Linearizable, "seed {seed}");
    }
}

/// The history as the study writes it (JSON lines), read back by the checker's own parser.
fn read_back(obs: &Observations) -> faultline::check::History {
    let lines = to_json_lines(&history(obs));
    format::parse(&lines, None).unwrap_or_else(|e| panic!("the cap history reads back: {e}"))
}

#[test]
fn the_json_lines_history_reads_back_through_the_checker_format_with_the_same_verdict() {
    // 6 s of three clients on five keys, r2 and c2 cut off from 2 s to 4 s: weak answers from
    // one replica on each side, ABD waits for majorities.
    let clients = ClientConfig { keys: 5, stop: Duration::from_secs(6), ..ClientConfig::default() };
    let cut = |sim: &Sim<Msg>, layout: &Cluster| {
        let minority = layout.side(sim, &layout.minority());
        sim.schedule(at(Duration::from_secs(2)), Command::partition(vec![minority])).unwrap();
        sim.schedule(at(Duration::from_secs(4)), Command::heal()).unwrap();
    };
    let weak = ClusterConfig { consistency: Consistency::Weak, ..ClusterConfig::default() };
    let abd = ClusterConfig { read_repair: ReadRepair::Sync, versions: Versions::Logical, ..ClusterConfig::default() };
    let mut names = Vec::new();
    for cluster in [weak, abd] {
        let (obs, _) = run(13, &cluster, &clients, cut);
        let direct = check_history(&obs).unwrap();
        let parsed = read_back(&obs);
        let ops = |h: &faultline::check::History| {
            let mut ops = h.operations().to_vec();
            ops.sort_by_key(|o| (o.call, o.process));
            ops
        };
        assert!(direct.len() > 500, "{}", direct.len());
        assert_eq!(ops(&parsed), ops(&direct), "the same operations, whichever way they came");
        let checker = Checker::new().timeout(Duration::from_secs(60));
        let from_file = checker.check_as(ModelKind::Register, &parsed).unwrap();
        let from_run = verdict(&obs);
        assert_eq!(from_file.name(), from_run.name());
        let reads = |v: &Verdict| {
            v.explanation().map(|e| e.ops.iter().map(|o| (o.process, o.what.clone(), o.call)).collect::<Vec<_>>())
        };
        assert_eq!(reads(&from_file), reads(&from_run), "{from_file}");
        names.push(from_run.name());
    }
    // Weak under a partition: the minority side's writes and reads cannot be ordered with the
    // majority's. ABD over the same cut: linearizable.
    assert_eq!(names, ["not-linearizable", "linearizable"]);
}

#[test]
fn t_visibility_follows_the_quorums_and_the_network() {
    // The client coordinates and has no replica nearby: every copy crosses the WAN, whose
    // delays are exponential, so which replica answers first is the network's draw (the WARS
    // model of Bailis et al.).
    let wars = |consistency| ClusterConfig {
        consistency,
        coordinator: CoordinatorMode::Client,
        net_latency: Latency::Exponential { mean: ms(10), floor: ms(1) },
        client_latency: Latency::Exponential { mean: ms(10), floor: ms(1) },
        ..ClusterConfig::default()
    };
    let clients = ClientConfig {
        write_ratio: 0.3,
        keys: 1000,
        t_visibility: vec![ms(0), ms(10), ms(50), ms(200)],
        ..ClientConfig::default()
    };
    let (obs, _) = run(9, &wars(Consistency::Weak), &clients, |_, _| {});
    let weak = analysis::t_visibility(&obs);
    println!("weak: {weak:?}");
    let shares: Vec<f64> = weak.iter().map(|v| v.share.unwrap()).collect();
    assert!(weak.iter().all(|v| v.probes > 200), "{weak:?}");
    assert!(shares[0] < 0.9, "right after the ack a one-replica read often misses: {shares:?}");
    assert!(shares.windows(2).all(|w| w[0] <= w[1]), "visibility grows with t: {shares:?}");
    assert_eq!(shares[3], 1.0, "200 ms later every copy has landed: {shares:?}");
    let (obs, _) = run(9, &wars(Consistency::Strong), &clients, |_, _| {});
    let strong = analysis::t_visibility(&obs);
    assert!(strong.iter().all(|v| v.share == Some(1.0)), "R + W > N: {strong:?}");
}

#[test]
fn version_vectors_keep_the_concurrent_writes_of_both_sides_as_siblings_and_lww_keeps_one() {
    let vv = ClusterConfig { consistency: Consistency::Eventual, versions: Versions::Vv, ..ClusterConfig::default() };
    let (obs, layout, span, _) = partitioned(4, &vv);
    let siblings = |obs: &Observations| obs.ops.iter().filter(|o| o.read.len() > 1).count();
    let after_heal = obs.ops.iter().filter(|o| o.read.len() > 1 && o.invoke >= span.to).count();
    println!("vv: {} reads returned siblings, {after_heal} after the heal", siblings(&obs));
    assert!(after_heal > 10, "the two sides' writes meet after the heal");
    assert_eq!(analysis::lost_writes(&obs, &layout.ring).lost, 0);
    assert!(analysis::convergence(&obs, &layout.ring, span.to).is_some());
    let lww = ClusterConfig { versions: Versions::Lww, ..vv };
    let (obs, _, _, _) = partitioned(4, &lww);
    assert_eq!(siblings(&obs), 0, "last writer wins: one value per key, the other side's is dropped");
}

#[test]
fn read_repair_brings_a_replica_that_missed_writes_up_to_date_without_new_writes() {
    // Few writes over many keys: after the heal, most keys r2 missed are not written again
    // for a long time, so only reads can repair them.
    let clients =
        ClientConfig { write_ratio: 0.05, keys: 200, stop: Duration::from_secs(30), ..ClientConfig::default() };
    let converge = |read_repair| {
        let cluster = ClusterConfig { read_repair, ..ClusterConfig::default() };
        let heal = at(Duration::from_secs(20));
        let (obs, layout) = run(8, &cluster, &clients, |sim, layout| {
            let minority = layout.side(sim, &layout.minority());
            sim.schedule(at(Duration::from_secs(10)), Command::partition(vec![minority])).unwrap();
            sim.schedule(heal, Command::heal()).unwrap();
        });
        analysis::convergence(&obs, &layout.ring, heal)
    };
    let (none, repair, sync) = (converge(ReadRepair::None), converge(ReadRepair::Async), converge(ReadRepair::Sync));
    println!("converged after the heal: none {none:?}, async {repair:?}, sync {sync:?}");
    let repair = repair.expect("async read repair converges");
    assert!(none.is_none_or(|n| n > repair * 2), "{none:?} vs {repair:?}");
    assert!(sync.is_some());
}

/// Three replicas, nine clients on five keys, a heavy-tailed network (a copy sometimes takes
/// ten times the mean), and r2 with its clients cut off from 10 s to 20 s. A write on its way
/// can be on one replica only while a read gathers its quorum there, and a read after it
/// gathers its quorum elsewhere.
fn inversions_after_a_partition(cluster: &ClusterConfig) -> (analysis::Inversions, Observations) {
    let clients = ClientConfig {
        clients: 9,
        keys: 5,
        load: Load::Open { rate: 100.0 },
        write_ratio: 0.1,
        stop: Duration::from_secs(30),
        ..ClientConfig::default()
    };
    let span = Span { from: at(Duration::from_secs(10)), to: at(Duration::from_secs(20)) };
    let net_latency = Latency::LogNormal { mean: ms(5), stddev: ms(20), floor: ms(1) };
    let cluster = ClusterConfig { net_latency, ..cluster.clone() };
    let (obs, _) = run(6, &cluster, &clients, |sim, layout| {
        let minority = layout.side(sim, &layout.minority());
        sim.schedule(span.from, Command::partition(vec![minority])).unwrap();
        sim.schedule(span.to, Command::heal()).unwrap();
    });
    (analysis::inversions(&obs), obs)
}

#[test]
fn quorums_without_sync_read_repair_let_a_later_read_return_an_older_value_and_abd_does_not() {
    let (plain, obs) = inversions_after_a_partition(&ClusterConfig::default());
    println!("strong, no read repair: {} new-old inversions", plain.count);
    assert!(plain.count > 0, "{plain:?}");
    // The checker knows nothing of versions or replicas, and finds the same anomaly: no order
    // of the operations on the key explains the reads, and its smallest reason is two reads,
    // the second begun after the first ended and returning an older value than the first, one
    // of the inversions the truth found.
    let why = verdict(&obs);
    println!("{why}");
    let why = why.explanation().expect("the checker finds the inversion");
    assert!(why.minimal, "{why}");
    let [r1, r2] = why.ops.as_slice() else { panic!("two reads: {why}") };
    let span = |op: &Explained| (op.process, op.call, op.end.expect("a read that returned"));
    let w = plain.examples.iter().find(|w| (w.first, w.second) == (span(r1), span(r2)));
    let w = w.unwrap_or_else(|| panic!("{why} is none of the inversions found: {plain:?}"));
    assert_eq!(why.key, Some(faultline::check::Value::Int(w.key.into())));
    assert_eq!(r1.what, format!("read -> {}", w.newer));
    assert_eq!(r2.what, format!("read -> {}", w.returned.map_or("nil".to_string(), |v| v.to_string())));
    // Pin the witness as a history of its own: the write the first read saw, the write the
    // second returned, and the two reads, in time order.
    let events = history(&obs);
    let of = |value: u64| events.iter().filter(move |e| e.f == "write" && e.value == value).cloned();
    let read = |(process, invoke, _): (u64, u64, u64)| {
        let start = events.iter().position(|e| e.process == process && e.time == invoke && e.kind == EventType::Invoke);
        let start = start.expect("the read's invoke");
        let end = events[start..].iter().find(|e| e.process == process && e.kind != EventType::Invoke).unwrap();
        [events[start].clone(), end.clone()]
    };
    let mut witness: Vec<Event> =
        of(w.newer).chain(w.returned.into_iter().flat_map(of)).chain(read(w.first)).chain(read(w.second)).collect();
    witness.sort_by_key(|e| (e.time, e.kind != EventType::Invoke));
    let lines = to_json_lines(&witness);
    println!("{lines}");
    let [r1_ok, r2_invoke] = [read(w.first)[1].clone(), read(w.second)[0].clone()];
    let newer_ok = witness.iter().find(|e| e.value == w.newer && e.f == "write" && e.kind != EventType::Invoke);
    assert!(newer_ok.is_none_or(|e| e.time > r1_ok.time), "the first read caught the write on its way");
    assert_eq!(r1_ok.value, serde_json::Value::from(w.newer));
    assert!(r1_ok.time < r2_invoke.time, "the second read began after the first ended");
    // Alone, those four operations are not linearizable either, for the same two reads.
    let pinned = format::parse(&lines, None).expect("the witness reads back");
    assert_eq!(pinned.len(), 3 + usize::from(w.returned.is_some()), "{lines}");
    let alone = Checker::new().check_as(ModelKind::Register, &pinned).unwrap();
    let alone = alone.explanation().unwrap_or_else(|| panic!("the witness alone: {}", alone.name()));
    let reads = |e: &Explanation| e.ops.iter().map(|o| (o.process, o.what.clone(), o.call, o.end)).collect::<Vec<_>>();
    assert_eq!(reads(alone), reads(why), "{alone}");
    // The cure: write back to a quorum before answering (ABD, with logical versions).
    let abd = ClusterConfig { read_repair: ReadRepair::Sync, versions: Versions::Logical, ..ClusterConfig::default() };
    let (cured, _) = inversions_after_a_partition(&abd);
    assert_eq!(cured.count, 0, "{cured:?}");
    // Sync read repair alone (LWW) already cures this inversion.
    let sync = ClusterConfig { read_repair: ReadRepair::Sync, ..ClusterConfig::default() };
    assert_eq!(inversions_after_a_partition(&sync).0.count, 0);
}

#[test]
fn a_replica_keeps_what_it_stored_across_a_crash_and_restart() {
    // Every replica crashes at 5 s and restarts at 6 s: what they acknowledged before is still
    // there after (a read returning nothing, or an older value, would count as stale).
    let clients = ClientConfig { keys: 200, stop: Duration::from_secs(10), ..ClientConfig::default() };
    let (obs, layout) = run(12, &ClusterConfig::default(), &clients, |sim, layout| {
        for r in 0..3 {
            let node = layout.replica(sim, r).unwrap();
            sim.schedule(at(Duration::from_secs(5)), Command::Crash(node)).unwrap();
            sim.schedule(at(Duration::from_secs(6)), Command::Restart(node)).unwrap();
        }
    });
    let down = analysis::availability(&obs, |o| o.invoke >= at(ms(5_000)) && o.invoke < at(ms(5_900)));
    assert_eq!(down.ok, 0, "nothing answers while every replica is down: {down:?}");
    let after = |o: &faultline_nodes::cap::OpRecord| o.invoke >= at(Duration::from_secs(6));
    let stale = analysis::stale_reads(&obs, after);
    assert!(stale.reads > 100, "{stale:?}");
    assert_eq!(stale.stale, 0, "{stale:?}");
    let remembered = obs.ops.iter().filter(|o| after(o) && !o.read.is_empty()).count();
    assert!(remembered > 100, "reads after the restart return values written before the crash");
    assert_eq!(analysis::lost_writes(&obs, &layout.ring).lost, 0);
}
