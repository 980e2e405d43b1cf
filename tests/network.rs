//! The network layer as nodes see it: loss and duplication rates, latency distributions,
//! exact microsecond hops, partitions (symmetric, one-way, dropping and holding) and an
//! injected network of a test's own.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::{
    Command, Context, ControlError, CutMode, FnNode, Latency, LinkConfig, NetFault, NetStats, Network, NodeId, Packet,
    Sim, SimBuilder, SimTime, Wire,
};

type Log = Rc<RefCell<Vec<(NodeId, NodeId, u64, SimTime, SimTime)>>>;

/// `senders` each send `per_sender` numbered messages, one every `gap`, round-robin to every
/// other node; every node logs (from, to, number, sent_at, received_at).
fn chatter(seed: u64, link: LinkConfig, nodes: usize, per_sender: u64, gap: Duration) -> (Sim<u64>, Log) {
    chatter_on(Sim::<u64>::builder(seed).default_link(link), nodes, per_sender, gap)
}

/// [`chatter`] on a builder of the caller's.
fn chatter_on(mut b: SimBuilder<u64>, nodes: usize, per_sender: u64, gap: Duration) -> (Sim<u64>, Log) {
    let log: Log = Rc::default();
    for i in 0..nodes {
        let log = log.clone();
        b = b.node(&format!("n{i}"), move || {
            let log = log.clone();
            FnNode(move |ctx: Context<u64>| {
                let log = log.clone();
                async move {
                    let sender = ctx.clone();
                    ctx.spawn(async move {
                        let others: Vec<NodeId> = sender.nodes().filter(|&n| n != sender.id()).collect();
                        for k in 0..per_sender {
                            sender.send(others[k as usize % others.len()], &k);
                            sender.sleep(gap).await;
                        }
                    });
                    loop {
                        let m = ctx.recv().await;
                        log.borrow_mut().push((m.from, ctx.id(), m.msg, m.sent_at, ctx.now()));
                    }
                }
            })
        });
    }
    (b.build().unwrap(), log)
}

#[test]
fn a_200us_link_costs_exactly_200us() {
    let (mut sim, log) =
        chatter(1, LinkConfig::constant(Duration::from_micros(200)), 2, 1000, Duration::from_micros(37));
    sim.run();
    let log = log.borrow();
    assert_eq!(log.len(), 2000);
    for &(_, _, _, sent, received) in log.iter() {
        assert_eq!(received - sent, Duration::from_micros(200));
    }
    // Sends 37 µs apart stay 37 µs apart: nothing is rounded to a coarser tick.
    let first: Vec<SimTime> = log.iter().filter(|e| e.0 == NodeId::from_index(0)).map(|e| e.4).take(2).collect();
    assert_eq!(first[1] - first[0], Duration::from_micros(37));
}

#[test]
fn loss_over_100k_messages_matches_the_configured_rate() {
    let link = LinkConfig { loss: 0.1, ..LinkConfig::constant(Duration::from_millis(1)) };
    let (mut sim, log) = chatter(7, link, 2, 50_000, Duration::from_micros(100));
    sim.run();
    let received = log.borrow().len() as f64;
    let sent = 100_000.0;
    let lost = sent - received;
    // Binomial(100k, 0.1): sd = sqrt(n p (1-p)) = 94.9; five sd either side.
    assert!((lost - 10_000.0).abs() < 5.0 * 94.9, "lost {lost} of {sent}");
    let total = sim.report().net.total();
    assert_eq!(total.sent, 100_000);
    assert_eq!(total.lost as f64, lost);
    assert_eq!(total.delivered as f64, received);
}

#[test]
fn duplication_matches_the_configured_rate_and_copies_arrive() {
    let link = LinkConfig { duplicate: 0.2, ..LinkConfig::with_latency("uniform(1ms, 3ms)".parse().unwrap()) };
    let (mut sim, log) = chatter(3, link, 2, 10_000, Duration::from_micros(500));
    sim.run();
    let extra = log.borrow().len() as f64 - 20_000.0;
    // Binomial(20k, 0.2): sd = 56.6.
    assert!((extra - 4000.0).abs() < 5.0 * 56.6, "{extra} copies");
    assert_eq!(sim.report().net.total().duplicated as f64, extra);
}

#[test]
fn latencies_follow_the_configured_distribution_and_jitter_reorders() {
    let latency: Latency = "lognormal(5ms, 2ms, 1ms)".parse().unwrap();
    let link = LinkConfig { jitter: Duration::from_millis(2), ..LinkConfig::with_latency(latency) };
    let (mut sim, log) = chatter(11, link, 2, 20_000, Duration::from_micros(250));
    sim.run();
    let log = log.borrow();
    let delays: Vec<f64> = log.iter().map(|e| (e.4 - e.3).as_secs_f64() * 1e3).collect();
    let n = delays.len() as f64;
    let mean = delays.iter().sum::<f64>() / n;
    let sd = (delays.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    // floor 1 ms + lognormal mean 5 ms + jitter U(0, 2 ms) mean 1 ms = 7 ms;
    // variance 2² + 2²/12 = 4.33 ms², sd 2.08 ms.
    assert!((mean - 7.0).abs() < 0.05, "mean {mean}");
    assert!((sd - 2.08).abs() < 0.08, "sd {sd}");
    assert!(delays.iter().all(|&d| d >= 1.0));
    // Messages sent 250 µs apart with ±ms of spread arrive out of order.
    let from0: Vec<u64> = log.iter().filter(|e| e.0 == NodeId::from_index(0)).map(|e| e.2).collect();
    let inversions = from0.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(inversions > 1000, "{inversions} reorderings");
}

#[test]
fn a_partition_drops_every_cross_group_message_and_none_within() {
    let (mut sim, log) = chatter(5, LinkConfig::constant(Duration::from_millis(1)), 4, 400, Duration::from_millis(5));
    let id = |i| NodeId::from_index(i);
    sim.schedule(SimTime::ZERO, Command::partition(vec![vec![id(0), id(1)], vec![id(2), id(3)]])).unwrap();
    sim.run();
    let log = log.borrow();
    let group = |n: NodeId| n.index() / 2;
    assert!(log.iter().all(|e| group(e.0) == group(e.1)), "a message crossed the partition");
    // Each node sends round-robin to the other three; its group mate is first in that list for
    // n0 and n1 (messages k = 0, 3, ..., 399: 134 of 400) and last for n2 and n3 (k = 2, 5, ...,
    // 398: 133).
    assert_eq!(log.len(), 134 + 134 + 133 + 133);
    let total = sim.report().net.total();
    assert_eq!(total.delivered as usize, log.len());
    assert_eq!(total.cut, 1600 - 534);
}

#[test]
fn a_one_way_cut_stops_one_direction_and_heal_restores_it() {
    let (mut sim, log) = chatter(5, LinkConfig::constant(Duration::from_millis(1)), 2, 200, Duration::from_millis(10));
    let (a, b) = (NodeId::from_index(0), NodeId::from_index(1));
    let at = |ms| SimTime::ZERO + Duration::from_millis(ms);
    sim.schedule(at(500), Command::one_way(vec![a], vec![b])).unwrap();
    sim.schedule(at(1500), Command::heal()).unwrap();
    sim.run();
    let log = log.borrow();
    let a_to_b = |lo: u64, hi: u64| log.iter().filter(|e| e.0 == a && e.3 >= at(lo) && e.3 < at(hi)).count();
    let b_to_a = |lo: u64, hi: u64| log.iter().filter(|e| e.0 == b && e.3 >= at(lo) && e.3 < at(hi)).count();
    assert_eq!(a_to_b(0, 499), 50);
    assert_eq!(a_to_b(500, 1500), 0, "a -> b is cut");
    assert_eq!(b_to_a(500, 1500), 100, "b -> a still flows");
    assert_eq!(a_to_b(1500, 2000), 50, "healed");
    assert_eq!(sim.report().net.link(a, b).unwrap().cut, 100);
}

#[test]
fn a_holding_partition_keeps_messages_and_releases_them_at_heal() {
    let (mut sim, log) = chatter(5, LinkConfig::constant(Duration::from_millis(1)), 2, 100, Duration::from_millis(10));
    let a = NodeId::from_index(0);
    let at = |ms| SimTime::ZERO + Duration::from_millis(ms);
    let hold = |label: &str| {
        Command::Net(NetFault::Partition { groups: vec![vec![a]], mode: CutMode::Hold, label: Some(label.into()) })
    };
    sim.schedule(at(200), hold("outage")).unwrap();
    sim.schedule(at(700), Command::Net(NetFault::Heal { label: Some("outage".into()) })).unwrap();
    sim.run_until(at(645));
    // Sends at 200, 210, ..., 640 ms: 45 each way.
    assert_eq!(sim.report().net.held_now, 90);
    sim.run();
    let log = log.borrow();
    assert_eq!(log.len(), 200, "nothing is lost");
    let released: Vec<_> = log.iter().filter(|e| e.3 >= at(200) && e.3 < at(700)).collect();
    assert_eq!(released.len(), 100);
    assert!(released.iter().all(|e| e.4 == at(701)), "all leave at heal, one hop later");
}

/// Beyond 256 nodes traffic is counted per node unless the run asks for links (in dense rows up
/// to 2048 nodes, in a hash map beyond); either way each node's figures and the total are the
/// same, with losses, copies, a holding partition released by a heal and a dropping one.
#[test]
fn a_large_network_counts_traffic_per_node_unless_asked_for_links() {
    for nodes in [300, 2100] {
        large_network_counts(nodes);
    }
}

fn large_network_counts(nodes: usize) {
    let at = |ms| SimTime::ZERO + Duration::from_millis(ms);
    let run = |links: bool| {
        let link = LinkConfig { loss: 0.1, duplicate: 0.1, ..LinkConfig::constant(Duration::from_millis(1)) };
        let b = Sim::<u64>::builder(3).default_link(link);
        let (mut sim, _) = chatter_on(if links { b.link_traffic() } else { b }, nodes, 3, Duration::from_millis(10));
        let alone = || vec![vec![NodeId::from_index(0)]];
        let hold = NetFault::Partition { groups: alone(), mode: CutMode::Hold, label: None };
        sim.schedule(at(5), Command::Net(hold)).unwrap();
        sim.schedule(at(15), Command::heal()).unwrap();
        sim.schedule(at(18), Command::partition(alone())).unwrap();
        sim.run();
        sim.finish().unwrap().net
    };
    let (per_node, per_link) = (run(false), run(true));
    assert!(!per_node.per_link() && per_link.per_link());
    assert!(per_node.link(NodeId::from_index(0), NodeId::from_index(1)).is_none() && per_node.links().is_none());
    // A node's figures are its links' sums.
    let mut sums = vec![(0, 0); nodes];
    for ((from, to), s) in per_link.links().unwrap() {
        sums[from.index()].0 += s.sent;
        sums[to.index()].1 += s.delivered;
    }
    for (i, &(sent, delivered)) in sums.iter().enumerate() {
        let n = NodeId::from_index(i);
        assert_eq!(per_node.node(n), per_link.node(n), "node {i}");
        assert_eq!((per_node.node(n).sent, per_node.node(n).delivered), (sent, delivered), "node {i}");
    }
    let total = per_node.total();
    assert_eq!(total, per_link.total());
    assert_eq!(total.sent, 3 * nodes as u64);
    assert!(total.lost > 0 && total.duplicated > 0 && total.cut > 0 && total.held > 0, "{total:?}");
    assert_eq!(total.delivered, total.sent - total.lost - total.cut + total.duplicated);
}

#[test]
fn bad_link_settings_are_refused_at_build() {
    let bad = LinkConfig { loss: 1.5, ..LinkConfig::default() };
    let err = Sim::<u64>::builder(1).default_link(bad).build().err().unwrap();
    assert_eq!(err.to_string(), "link default: loss must be a probability between 0 and 1, got 1.5");
    let err = Sim::<u64>::builder(1)
        .node("a", || FnNode(|_ctx: Context<u64>| async {}))
        .link("a", "ghost", LinkConfig::default())
        .build()
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "link a -> ghost names an unknown node 'ghost'");
    let seen = Rc::new(RefCell::new(0));
    let custom = || Sim::<u64>::builder(1).network(Slow { seen: seen.clone() });
    for b in [custom().default_link(LinkConfig::constant(Duration::from_millis(5))), custom().link_traffic()] {
        let err = b.build().err().unwrap();
        let want = "link settings (default_link, link, link_traffic) apply to the simulated network";
        assert!(err.to_string().starts_with(want), "{err}");
    }
}

/// A network that delivers every message after exactly `hops` × 3 ms, and refuses faults.
struct Slow {
    seen: Rc<RefCell<u64>>,
}

impl Network for Slow {
    fn attach(&mut self, _nodes: usize) {}

    fn send(&mut self, now: SimTime, packet: Packet, wire: &mut Wire<'_>) {
        *self.seen.borrow_mut() += 1;
        wire.deliver(now + Duration::from_millis(3), packet);
    }

    fn arrive(&mut self, _now: SimTime, packet: Packet) -> Option<Packet> {
        Some(packet)
    }

    fn apply(&mut self, _now: SimTime, _fault: &NetFault, _wire: &mut Wire<'_>) -> Result<(), ControlError> {
        Err(ControlError::Invalid("this network takes no faults".into()))
    }

    fn stats(&self) -> NetStats {
        NetStats::default()
    }
}

#[test]
fn a_test_can_inject_its_own_network() {
    let seen = Rc::new(RefCell::new(0));
    let got = Rc::new(RefCell::new(Vec::new()));
    let got2 = got.clone();
    let mut sim = Sim::<u32>::builder(1)
        .network(Slow { seen: seen.clone() })
        .node("a", || {
            FnNode(|ctx: Context<u32>| async move {
                for i in 0..3 {
                    ctx.send(ctx.node_id("b").unwrap(), &i);
                }
            })
        })
        .node("b", move || {
            let got = got2.clone();
            FnNode(move |ctx: Context<u32>| {
                let got = got.clone();
                async move {
                    loop {
                        let m = ctx.recv().await;
                        got.borrow_mut().push((m.msg, ctx.now()));
                    }
                }
            })
        })
        .build()
        .unwrap();
    sim.schedule(SimTime::ZERO, Command::heal()).unwrap();
    sim.run();
    let at3 = SimTime::ZERO + Duration::from_millis(3);
    assert_eq!(*got.borrow(), vec![(0, at3), (1, at3), (2, at3)]);
    assert_eq!(*seen.borrow(), 3);
    assert_eq!(sim.report().control.total_rejected(), 1, "the injected network refused the heal");
}
