//! The CRDT study's headline results, each from whole runs of replica actors gossiping over the
//! emulated network: every type converges (faster when exchanges are more likely); a partition
//! splits the replicas while every operation still succeeds, and the heal joins them; the
//! OR-Set's add-wins and surviving removes against a naive set; LWW's lost updates, with and
//! without clock skew; delta gossip against state gossip; OR-Set tombstone collection; the
//! shopping cart; determinism; input errors. The `scale_*` benchmarks are ignored: run them in
//! release with `--ignored --nocapture` and read the figures.

use std::collections::BTreeSet;
use std::time::Duration;

use faultline::{Command, LinkConfig, NodeId, Sim, SimTime};
use faultline_nodes::crdt::analysis::{self, Observations};
use faultline_nodes::crdt::{
    Crdt, CrdtKind, GCounter, GossipConfig, LwwMap, MaxCounter, Mode, Msg, NaiveSet, Observer, Op, OpsConfig, OrSet,
    PnCounter, ReplicaConfig, Replicated, ScheduledOp, Topology, install,
};

fn secs(s: f64) -> SimTime {
    SimTime::ZERO + Duration::from_secs_f64(s)
}

fn gossip(p: f64) -> GossipConfig {
    GossipConfig { interval: Duration::from_millis(200), merge_probability: p, ..GossipConfig::default() }
}

fn stream(count: u64, rate: f64) -> OpsConfig {
    OpsConfig { count, rate, elements: 8, ..OpsConfig::default() }
}

fn build<T: Replicated>(
    kind: CrdtKind,
    replicas: u32,
    gossip: &GossipConfig,
    ops: &OpsConfig,
    seed: u64,
) -> (Sim<Msg<T>>, Observer<T>) {
    let builder = Sim::<Msg<T>>::builder(seed).default_link(LinkConfig::constant(Duration::from_millis(10)));
    let cluster = ReplicaConfig { replicas, window: Duration::from_secs(1) };
    let (builder, observer) = install::<T>(builder, &cluster, gossip, ops, kind, seed).unwrap();
    (builder.build().unwrap(), observer)
}

fn run<T: Replicated>(
    kind: CrdtKind,
    replicas: u32,
    gossip: &GossipConfig,
    ops: &OpsConfig,
    seed: u64,
    until: f64,
) -> Observations<T> {
    let (mut sim, observer) = build::<T>(kind, replicas, gossip, ops, seed);
    sim.run_until(secs(until));
    observer.observations()
}

fn script(ops: &[(f64, u32, Op)]) -> OpsConfig {
    let script = ops.iter().map(|&(at, replica, op)| ScheduledOp { at: Duration::from_secs_f64(at), replica, op });
    OpsConfig { script: script.collect(), ..OpsConfig::default() }
}

/// Convergence time summed over three seeds, checking that each run converged to the oracle.
fn convergence<T: Replicated>(kind: CrdtKind, p: f64, check: impl Fn(&Observations<T>)) -> Duration {
    (1..=3)
        .map(|seed| {
            let obs = run::<T>(kind, 8, &gossip(p), &stream(200, 50.0), seed, 120.0);
            assert!(obs.converged(), "{kind:?} p={p} seed {seed}: replicas still differ after 120 s");
            check(&obs);
            obs.convergence_time().unwrap()
        })
        .sum()
}

fn converges_faster_with_more_merges<T: Replicated>(kind: CrdtKind, check: impl Fn(&Observations<T>)) {
    let fast = convergence::<T>(kind, 0.8, &check);
    let slow = convergence::<T>(kind, 0.1, &check);
    println!("{kind:?}: convergence over 3 seeds, p=0.8 {fast:?}, p=0.1 {slow:?}");
    assert!(fast < slow, "{kind:?}: p=0.8 took {fast:?}, p=0.1 took {slow:?}");
}

#[test]
fn every_type_converges_faster_with_merge_probability_08_than_01() {
    converges_faster_with_more_merges::<GCounter>(CrdtKind::GCounter, |o| {
        assert_eq!(i128::from(o.states[0].value()), analysis::expected_count(&o.ops));
    });
    converges_faster_with_more_merges::<PnCounter>(CrdtKind::PnCounter, |o| {
        assert_eq!(o.values()[0], analysis::expected_count(&o.ops));
    });
    converges_faster_with_more_merges::<OrSet<u32>>(CrdtKind::OrSet, |o| {
        let errors = analysis::set_errors(&analysis::expected_set(&o.ops), &o.values()[0]);
        assert!(errors.lost_after_add.is_empty(), "an OR-Set never loses the last add: {errors:?}");
    });
    converges_faster_with_more_merges::<LwwMap<u32, u64>>(CrdtKind::LwwMap, |o| {
        // No skew: every replica's clock is the virtual clock, so no write loses to an earlier one.
        let a = analysis::lww_anomalies(&o.ops, &o.values()[0]);
        assert_eq!(a.lost_to_skew, 0, "{a:?}");
    });
}

#[test]
fn a_partition_splits_the_replicas_while_every_operation_succeeds_and_the_heal_joins_them() {
    let ops = stream(400, 50.0); // about 8 s of operations
    let (mut sim, observer) = build::<PnCounter>(CrdtKind::PnCounter, 6, &gossip(1.0), &ops, 3);
    let id = |i| sim.node_id(&ReplicaConfig::node_name(i)).unwrap();
    let (left, right): (Vec<NodeId>, Vec<NodeId>) = ((0..3).map(id).collect(), (3..6).map(id).collect());
    let planned = ops.schedule(CrdtKind::PnCounter, 6, 3);
    sim.schedule(secs(2.0), Command::partition(vec![left, right])).unwrap();
    sim.schedule(secs(6.0), Command::heal()).unwrap();

    sim.run_until(secs(5.9));
    let acknowledged = observer.ops().len();
    let due = planned.iter().filter(|p| p.at <= secs(5.9)).count();
    assert_eq!(acknowledged, due, "every operation is accepted during the partition");
    let obs = observer.observations();
    let join = |states: &[PnCounter]| {
        let mut j = PnCounter::new();
        states.iter().for_each(|s| {
            j.merge(s);
        });
        j
    };
    let (l, r) = (join(&obs.states[..3]), join(&obs.states[3..]));
    assert!(!l.leq(&r) && !r.leq(&l), "each side holds operations the other has not seen");
    let mut all = l.clone();
    all.merge(&r);
    assert_eq!(all.value(), analysis::expected_count(&obs.ops), "between them, the sides hold every operation");
    let divided: Vec<usize> = obs.windows.iter().map(|w| w.distinct_states).collect();
    assert!(divided[3..5].iter().all(|&d| d >= 2), "distinct states per window: {divided:?}");

    sim.run_until(secs(30.0));
    let obs = observer.observations();
    assert_eq!(obs.ops.len(), planned.len(), "every operation acknowledged");
    assert!(obs.converged(), "the heal joins them");
    assert_eq!(obs.values()[0], analysis::expected_count(&obs.ops));
    assert!(obs.converged_at().unwrap() > secs(6.0));
}

/// A adds 1 and 2; everyone learns them. Then A adds 1 again while B, a millisecond later and
/// before any message could tell it, removes 1; B also removes 2, which nobody adds again.
fn add_remove_script() -> OpsConfig {
    script(&[
        (0.1, 0, Op::Add(1)),
        (0.1, 0, Op::Add(2)),
        (5.0, 0, Op::Add(1)),
        (5.001, 1, Op::Remove(1)),
        (5.001, 1, Op::Remove(2)),
    ])
}

#[test]
fn or_set_concurrent_add_and_remove_end_in_add_and_observed_removes_survive() {
    let ops = add_remove_script();
    let or = run::<OrSet<u32>>(CrdtKind::OrSet, 3, &gossip(1.0), &ops, 1, 20.0);
    assert!(or.converged());
    let value = &or.values()[0];
    assert_eq!(*value, BTreeSet::from([1]), "the concurrent add wins; the observed remove of 2 survives merges");
    let expected = analysis::expected_set(&or.ops);
    assert_eq!(expected, BTreeSet::new(), "in real time, both removes came last");
    let errors = analysis::set_errors(&expected, value);
    assert_eq!(errors.kept_after_remove, BTreeSet::from([1]), "one add-wins outcome");
    assert!(or.states[0].tombstones() >= 2, "removed tags are kept as tombstones");

    // The naive set on the same operations and the same gossip: the removes are undone.
    let naive = run::<NaiveSet>(CrdtKind::NaiveSet, 3, &gossip(1.0), &ops, 1, 20.0);
    assert!(naive.converged());
    assert_eq!(naive.values()[0], BTreeSet::from([1, 2]), "the removed 2 came back");
    let errors = analysis::set_errors(&analysis::expected_set(&naive.ops), &naive.values()[0]);
    assert!(errors.kept_after_remove.contains(&2), "{errors:?}");
}

#[test]
fn the_max_counter_converges_to_the_wrong_number() {
    let ops = stream(300, 50.0);
    let g = run::<GCounter>(CrdtKind::GCounter, 5, &gossip(1.0), &ops, 9, 30.0);
    let m = run::<MaxCounter>(CrdtKind::MaxCounter, 5, &gossip(1.0), &ops, 9, 30.0);
    assert!(g.converged() && m.converged());
    let expected = analysis::expected_count(&g.ops);
    assert_eq!(expected, 300);
    assert_eq!(analysis::expected_count(&m.ops), 300, "the same operations");
    assert_eq!(i128::from(g.states[0].value()), expected);
    let got = i128::from(m.states[0].value());
    assert!(got < expected / 2, "concurrent increments swallowed: {got} of {expected}");
}

/// Two concurrent writes of key 1 (A then B half a millisecond later), and a write of key 2
/// by C at 8 s, after A's write of it at 5 s. With `skew`, C's clock runs 5 s behind.
fn lww_run(skew: bool) -> (Observations<LwwMap<u32, u64>>, analysis::LwwAnomalies) {
    let ops = script(&[
        (5.0, 0, Op::Put { key: 1, value: 0 }),
        (5.0005, 1, Op::Put { key: 1, value: 0 }),
        (5.0, 0, Op::Put { key: 2, value: 0 }),
        (8.0, 2, Op::Put { key: 2, value: 0 }),
    ]);
    let (mut sim, observer) = build::<LwwMap<u32, u64>>(CrdtKind::LwwMap, 3, &gossip(1.0), &ops, 4);
    if skew {
        let c = sim.node_id(&ReplicaConfig::node_name(2)).unwrap();
        sim.schedule(secs(1.0), Command::Skew { node: c, nanos: -5_000_000_000 }).unwrap();
    }
    sim.run_until(secs(20.0));
    let obs = observer.observations();
    assert!(obs.converged());
    let a = analysis::lww_anomalies(&obs.ops, &obs.values()[0]);
    (obs, a)
}

#[test]
fn lww_concurrent_writes_lose_updates_and_skew_lets_an_earlier_write_win() {
    let (obs, a) = lww_run(false);
    assert_eq!(a.writes, 4);
    assert_eq!(a.lost, 1, "one of the two concurrent writes of key 1 is gone: {a:?}");
    assert_eq!(a.lost_to_skew, 0);
    assert_eq!(obs.values()[0].get(&2), Some(&3), "C's later write of key 2 wins");

    let (obs, a) = lww_run(true);
    assert_eq!(obs.values()[0].get(&2), Some(&2), "A's earlier write wins over C's behind clock");
    assert_eq!(a.lost, 2, "{a:?}");
    assert_eq!(a.lost_to_skew, 1, "{a:?}");
    assert_eq!(a.wrong_keys, 1, "key 2 ends with a value the last write did not give it");
}

#[test]
fn lww_skew_losses_appear_in_a_random_stream_only_with_skew() {
    let ops = OpsConfig { count: 400, rate: 40.0, elements: 4, ..OpsConfig::default() };
    let counted = |skew: bool| {
        let (mut sim, observer) = build::<LwwMap<u32, u64>>(CrdtKind::LwwMap, 5, &gossip(0.5), &ops, 6);
        if skew {
            let n = sim.node_id(&ReplicaConfig::node_name(0)).unwrap();
            sim.schedule(secs(0.0), Command::Skew { node: n, nanos: 2_000_000_000 }).unwrap();
        }
        sim.run_until(secs(40.0));
        let obs = observer.observations();
        assert!(obs.converged());
        analysis::lww_anomalies(&obs.ops, &obs.values()[0])
    };
    let (plain, skewed) = (counted(false), counted(true));
    assert!(plain.lost > 0, "concurrent writes lose updates without any skew: {plain:?}");
    assert_eq!(plain.lost_to_skew, 0);
    assert!(skewed.lost_to_skew > 0, "a clock 2 s ahead beats later writes: {skewed:?}");
    assert!(skewed.lost > plain.lost, "{skewed:?} vs {plain:?}");
}

fn state_vs_delta<T: Replicated>(kind: CrdtKind, topology: Topology) {
    let ops = stream(500, 50.0);
    let mut g = GossipConfig { topology, ..gossip(1.0) };
    let state = run::<T>(kind, 20, &g, &ops, 11, 60.0);
    g.mode = Mode::Delta;
    let delta = run::<T>(kind, 20, &g, &ops, 11, 60.0);
    assert!(state.converged() && delta.converged(), "{kind:?}");
    assert_eq!(state.states[0], delta.states[0], "{kind:?}: same operations, same final state");
    println!(
        "{kind:?} {topology:?}: state {} messages {} bytes, converged after {:?}; delta {} messages {} bytes, converged after {:?}",
        state.messages,
        state.bytes,
        state.convergence_time().unwrap(),
        delta.messages,
        delta.bytes,
        delta.convergence_time().unwrap()
    );
    assert!(
        delta.bytes * 2 < state.bytes,
        "{kind:?} {topology:?}: delta {} bytes, state {} bytes",
        delta.bytes,
        state.bytes
    );
}

#[test]
fn delta_mode_sends_fewer_bytes_and_converges_to_the_same_state() {
    state_vs_delta::<GCounter>(CrdtKind::GCounter, Topology::RandomK(3));
    state_vs_delta::<PnCounter>(CrdtKind::PnCounter, Topology::Ring);
    state_vs_delta::<OrSet<u32>>(CrdtKind::OrSet, Topology::Full);
}

/// The shopping cart of the article: the cart holds milk (1) and eggs (2). Two clients
/// remove milk at the same moment at two replicas, and the first of them puts it back a
/// moment later; the second client also removes the eggs.
fn cart() -> OpsConfig {
    script(&[
        (0.1, 0, Op::Add(1)),
        (0.1, 0, Op::Add(2)),
        (5.0, 1, Op::Remove(1)),
        (5.0, 2, Op::Remove(1)),
        (5.0, 2, Op::Remove(2)),
        (5.002, 1, Op::Add(1)),
    ])
}

#[test]
fn shopping_cart_for_each_set_type() {
    let or = run::<OrSet<u32>>(CrdtKind::OrSet, 3, &gossip(1.0), &cart(), 2, 20.0);
    let naive = run::<NaiveSet>(CrdtKind::NaiveSet, 3, &gossip(1.0), &cart(), 2, 20.0);
    let expected = analysis::expected_set(&or.ops);
    assert_eq!(expected, BTreeSet::from([1]), "the user wants milk, not eggs");
    assert!(or.converged() && naive.converged());
    assert_eq!(or.values()[0], expected, "OR-Set: the re-add survives both removes, the eggs stay out");
    assert_eq!(naive.values()[0], BTreeSet::from([1, 2]), "naive set: the eggs come back");
}

/// Tombstone garbage collection on a churning cart: the same operations and gossip with and
/// without it end in the same set (nothing resurrected, nothing lost), with the tombstones gone.
fn gc_run(mode: Mode) {
    let ops = OpsConfig { count: 600, rate: 60.0, elements: 4, remove_ratio: 0.5, ..OpsConfig::default() };
    let kept = run::<OrSet<u32>>(CrdtKind::OrSet, 5, &GossipConfig { mode, ..gossip(0.7) }, &ops, 8, 40.0);
    let g = GossipConfig { mode, gc: true, ..gossip(0.7) };
    let collected = run::<OrSet<u32>>(CrdtKind::OrSet, 5, &g, &ops, 8, 40.0);
    assert!(kept.converged() && collected.converged(), "{mode:?}");
    assert_eq!(kept.values()[0], collected.values()[0], "{mode:?}: collection changed the set");
    assert!(kept.states[0].tombstones() > 100, "{mode:?}: {} tombstones", kept.states[0].tombstones());
    assert_eq!(collected.states[0].tombstones(), 0, "{mode:?}: every tombstone is stable by the end");
    assert!(collected.collected > 100, "{mode:?}: {} collected", collected.collected);
    assert!(collected.state_bytes_final * 2 < kept.state_bytes_final, "{mode:?}");
    // And during the run, each replica's value never differed from its twin's at the same instant.
    let (mut a, oa) = build::<OrSet<u32>>(CrdtKind::OrSet, 5, &GossipConfig { mode, ..gossip(0.7) }, &ops, 8);
    let (mut b, ob) = build::<OrSet<u32>>(CrdtKind::OrSet, 5, &g, &ops, 8);
    for step in 1..=100 {
        a.run_until(secs(0.1 * f64::from(step)));
        b.run_until(secs(0.1 * f64::from(step)));
        for i in 0..5 {
            assert_eq!(oa.state(i).value(), ob.state(i).value(), "{mode:?}: replica {i} at step {step}");
        }
    }
}

#[test]
fn or_set_garbage_collection_never_resurrects_and_drops_the_tombstones() {
    gc_run(Mode::State);
    gc_run(Mode::Delta);
}

#[test]
fn garbage_collection_needs_an_or_set_on_a_full_topology() {
    let cluster = ReplicaConfig { replicas: 4, window: Duration::from_secs(1) };
    let g = GossipConfig { gc: true, ..GossipConfig::default() };
    let err =
        install::<GCounter>(Sim::builder(1), &cluster, &g, &OpsConfig::default(), CrdtKind::GCounter, 1).err().unwrap();
    assert_eq!(err.to_string(), "gossip.gc must be used with an or-set, got g-counter");
    let g = GossipConfig { gc: true, topology: Topology::Ring, ..GossipConfig::default() };
    let err =
        install::<OrSet<u32>>(Sim::builder(1), &cluster, &g, &OpsConfig::default(), CrdtKind::OrSet, 1).err().unwrap();
    assert!(err.to_string().starts_with("gossip.gc must be used with topology full"), "{err}");
}

/// The monitor restarted after a crash once sampled every window since the start again at its
/// restart instant (its first window end was 0 + window): windows came doubled and out of order.
#[test]
fn a_crashed_monitor_resumes_at_the_next_window_without_doubling_any() {
    let (mut sim, observer) = build::<GCounter>(CrdtKind::GCounter, 4, &gossip(1.0), &stream(100, 20.0), 2);
    let monitor = sim.node_id("crdt-monitor").unwrap();
    sim.schedule(secs(3.5), Command::Crash(monitor)).unwrap();
    sim.schedule(secs(6.2), Command::Restart(monitor)).unwrap();
    sim.run_until(secs(10.0));
    let obs = observer.observations();
    let ends: Vec<f64> = obs.windows.iter().map(|w| w.end.as_secs_f64()).collect();
    assert_eq!(ends, [1.0, 2.0, 3.0, 7.0, 8.0, 9.0, 10.0], "the windows it was down for are missing, none doubled");
    let report = sim.report();
    let messages = report.metrics.metric("crdt_messages").unwrap().total();
    assert_eq!(messages, i128::from(obs.windows.last().unwrap().messages), "every message counted once in the metrics");
}

#[test]
fn same_seed_same_observations() {
    let ops = stream(300, 60.0);
    let g = GossipConfig { mode: Mode::Delta, topology: Topology::RandomK(2), ..gossip(0.7) };
    let key = |seed| {
        let (mut sim, observer) = build::<OrSet<u32>>(CrdtKind::OrSet, 10, &g, &ops, seed);
        sim.run_until(secs(30.0));
        let o = observer.observations();
        let report = sim.report();
        let taken = observer.take_observations();
        assert!(taken.states == o.states, "taking the states moves the same states");
        assert_eq!(observer.state(0), OrSet::new(), "and leaves the initial state behind");
        (
            format!("{:?}", o.ops),
            format!("{:?}", o.states),
            format!("{:?}", o.windows),
            (o.messages, o.bytes, o.equal_since),
            format!("{}", report.metrics),
        )
    };
    let a = key(5);
    assert!(a == key(5), "same seed, different run");
    assert!(a != key(6), "another seed gives another run");
}

#[test]
fn bad_settings_are_refused_with_the_field_named() {
    let builder = Sim::<Msg<GCounter>>::builder(1);
    let cluster = ReplicaConfig { replicas: 4, window: Duration::from_secs(1) };
    let bad = GossipConfig { fanout: 4, ..GossipConfig::default() };
    let err = install::<GCounter>(builder, &cluster, &bad, &OpsConfig::default(), CrdtKind::GCounter, 1).err().unwrap();
    assert_eq!(err.to_string(), "gossip.fanout must be 1..=3 (replicas - 1), got 4");
    let builder = Sim::<Msg<GCounter>>::builder(1);
    let err =
        install::<GCounter>(builder, &cluster, &GossipConfig::default(), &cart(), CrdtKind::GCounter, 1).err().unwrap();
    assert!(err.to_string().starts_with("ops.script must be operations of a g-counter, got Add(1) at line 1"), "{err}");
}

/// The scale benchmark of issue 10 (not a timed test: run it in release and read the figures).
/// A G-Counter over `replicas` replicas, each gossiping every second to one neighbour, 10,000
/// operations at 400/s, for 60 virtual seconds.
fn scale(replicas: u32, mode: Mode, topology: Topology) {
    let ops = OpsConfig { count: 10_000, rate: 400.0, ..OpsConfig::default() };
    let g = GossipConfig { interval: Duration::from_secs(1), fanout: 1, mode, topology, ..GossipConfig::default() };
    let started = std::time::Instant::now();
    let (mut sim, observer) = build::<GCounter>(CrdtKind::GCounter, replicas, &g, &ops, 1);
    sim.run_until(secs(60.0));
    drop(sim);
    let o = observer.take_observations();
    println!(
        "{replicas} replicas {mode:?} {topology:?}: wall {:.1} s, {} messages ({} full states), {} bytes, \
         state bytes max {} final {}, converged {} at {:?} ({:?} after the last op at {:?}), value {} of {}",
        started.elapsed().as_secs_f64(),
        o.messages,
        o.full_states,
        o.bytes,
        o.state_bytes_max,
        o.state_bytes_final,
        o.converged(),
        o.converged_at(),
        o.convergence_time(),
        o.last_op_at,
        o.states[0].value(),
        analysis::expected_count(&o.ops),
    );
    let d: Vec<usize> = o.windows.iter().map(|w| w.distinct_states).collect();
    println!("distinct states per second: {d:?}");
}

#[test]
#[ignore = "benchmark: cargo test --release --test crdt scale -- --ignored --nocapture"]
fn scale_10000_replicas_delta_random_3() {
    scale(10_000, Mode::Delta, Topology::RandomK(3));
}

#[test]
#[ignore = "benchmark: cargo test --release --test crdt scale -- --ignored --nocapture"]
fn scale_1000_replicas_state_full() {
    scale(1_000, Mode::State, Topology::Full);
}

#[test]
#[ignore = "benchmark: cargo test --release --test crdt scale -- --ignored --nocapture"]
fn scale_1000_replicas_delta_random_3() {
    scale(1_000, Mode::Delta, Topology::RandomK(3));
}

#[test]
#[ignore = "benchmark: cargo test --release --test crdt scale -- --ignored --nocapture"]
fn scale_1000_replicas_state_random_3() {
    scale(1_000, Mode::State, Topology::RandomK(3));
}

#[test]
#[ignore = "benchmark: cargo test --release --test crdt scale -- --ignored --nocapture"]
fn scale_1000_replicas_delta_full() {
    scale(1_000, Mode::Delta, Topology::Full);
}
