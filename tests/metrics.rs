//! Metrics as a study reads them: exact counts, sums and extremes; quantiles within the
//! window layout's stated error; gauges summed over nodes; per-node series only where a
//! study labels a metric, and none for a node that recorded nothing.

use std::time::Duration;

use faultline::metrics::{Counter, DurationHistogram, Gauge, Histogram, MAX_RELATIVE_ERROR};
use faultline::{Context, FnNode, LimitHit, LimitKind, Limits, MetricKind, RunOutcome, Sim, SimTime};

static REQUESTS: Counter = Counter::new("requests");
static RTT: DurationHistogram = DurationHistogram::new("rtt");
static SIZE: Histogram = Histogram::new("size");
static IN_FLIGHT: Gauge = Gauge::new("in_flight");

/// Three senders; sender k records, every 10 ms for 2 s: one request, an rtt of
/// (k + 1) × (i mod 100 + 1) ms, a size of i, and an in-flight level of k + i mod 3.
/// "idle" records nothing.
fn run(builder: faultline::SimBuilder<u8>) -> faultline::Report {
    let mut b = builder.metrics_window(Duration::from_millis(500));
    for k in 0..3u64 {
        b = b.node(&format!("s{k}"), move || {
            FnNode(move |ctx: Context<u8>| async move {
                for i in 0..200u64 {
                    REQUESTS.add(1);
                    RTT.record(Duration::from_millis((k + 1) * (i % 100 + 1)));
                    SIZE.record(i);
                    IN_FLIGHT.set((k + i % 3) as i64);
                    ctx.sleep(Duration::from_millis(10)).await;
                }
            })
        });
    }
    b = b.node("idle", || FnNode(|ctx: Context<u8>| async move { ctx.sleep(Duration::from_secs(1)).await }));
    let mut sim = b.build().unwrap();
    sim.run_until(SimTime::ZERO + Duration::from_secs(3));
    sim.finish().unwrap()
}

#[test]
fn counts_sums_and_extremes_are_exact() {
    let report = run(Sim::builder(1));
    let m = &report.metrics;
    assert_eq!(m.metric("requests").unwrap().total(), 600);
    assert_eq!(m.metric("requests").unwrap().kind(), MetricKind::Counter);
    let size = m.metric("size").unwrap();
    assert_eq!(size.total(), 3 * (0..200).sum::<i128>());
    let rtt = m.metric("rtt").unwrap().stats();
    assert_eq!(rtt.count, 600);
    assert_eq!((rtt.min, rtt.max), (1_000_000, 300_000_000));
    let exact_mean = (1..=3).map(|k| 2 * k * (1..=100).sum::<u64>()).sum::<u64>() as f64 * 1e6 / 600.0;
    assert!((rtt.mean - exact_mean).abs() / exact_mean < 1e-3, "{} vs {exact_mean}", rtt.mean);
    // Windows: 500 ms wide, 50 samples of each sender in each of the 4 windows.
    let windows = m.metric("requests").unwrap().windows();
    assert_eq!(windows.iter().map(|w| w.sum).collect::<Vec<_>>(), vec![150.0; 4]);
    assert_eq!(windows[3].start_s, 1.5);
    let sizes = m.metric("size").unwrap().windows();
    assert_eq!(sizes[1].sum, 3.0 * (50..100).sum::<u64>() as f64);
    assert_eq!((sizes[1].min, sizes[1].max), (50, 99));
}

#[test]
fn window_quantiles_are_within_the_stated_error() {
    let report = run(Sim::builder(1));
    let rtt = report.metrics.metric("rtt").unwrap();
    // Every sample, sorted: the exact quantile by the same rank rule as the layout's.
    let mut all: Vec<u64> =
        (1..=3u64).flat_map(|k| (0..200u64).map(move |i| (k * (i % 100 + 1)) * 1_000_000)).collect();
    all.sort_unstable();
    let exact = |q: f64| all[((q * all.len() as f64).ceil() as usize).max(1) - 1] as f64;
    let s = rtt.stats_in(0..4);
    assert_eq!(s.count, 600);
    for (q, got) in [(0.5, s.p50), (0.9, s.p90), (0.99, s.p99)] {
        let err = (got as f64 - exact(q)).abs() / exact(q);
        assert!(err <= MAX_RELATIVE_ERROR, "p{q}: {got} vs {} ({err:.3})", exact(q));
    }
    // The run histogram keeps three significant figures.
    let run = rtt.stats();
    assert!((run.p99 as f64 - exact(0.99)).abs() / exact(0.99) < 1e-3);
    for w in rtt.windows() {
        assert!(w.p50.is_some() && w.p99.is_some(), "histogram windows have quantiles");
    }
    assert!(report.metrics.metric("requests").unwrap().windows()[0].p50.is_none(), "counters do not");
}

#[test]
fn gauges_merge_as_the_sum_of_each_nodes_last_level() {
    let report = run(Sim::builder(1));
    let g = report.metrics.metric("in_flight").unwrap();
    // Last levels: s0 = 0 + 199 % 3 = 1, s1 = 2, s2 = 3.
    assert_eq!(g.total(), 6);
    assert_eq!(g.windows().last().unwrap().last, 6);
}

#[test]
fn per_node_series_exist_only_where_labelled_and_only_for_nodes_that_recorded() {
    let plain = run(Sim::builder(1));
    assert!(plain.metrics.node_metric("rtt", "s1").is_none(), "not labelled: one merged series");
    assert_eq!(plain.metrics.summaries().len(), 4, "one line per metric");

    let labelled = run(Sim::builder(1).per_node("rtt"));
    let s1 = labelled.metrics.node_metric("rtt", "s1").unwrap().stats();
    assert_eq!((s1.count, s1.min, s1.max), (200, 2_000_000, 200_000_000));
    assert!(labelled.metrics.node_metric("rtt", "idle").is_none(), "idle recorded nothing");
    assert!(labelled.metrics.node_metric("requests", "s1").is_none(), "requests is not labelled");
    let rtt_lines: Vec<_> = labelled.metrics.summaries().into_iter().filter(|s| s.metric == "rtt").collect();
    let nodes: Vec<_> = rtt_lines.iter().map(|s| s.node.as_deref()).collect();
    assert_eq!(nodes, vec![None, Some("s0"), Some("s1"), Some("s2")]);
    // Labelling changes nothing in the merged series.
    assert_eq!(labelled.metrics.metric("rtt").unwrap().stats(), plain.metrics.metric("rtt").unwrap().stats());
}

#[test]
fn string_names_and_handles_share_one_series() {
    let mut sim = Sim::<u8>::builder(1)
        .node("n", || {
            FnNode(|ctx: Context<u8>| async move {
                REQUESTS.add(2);
                ctx.count("requests", 3);
                faultline::metrics::count("requests", 5);
            })
        })
        .build()
        .unwrap();
    sim.run();
    assert_eq!(sim.finish().unwrap().metrics.metric("requests").unwrap().total(), 10);
}

#[test]
fn a_sample_outside_a_run_is_recorded_nowhere() {
    REQUESTS.add(100); // no sim is running on this thread: nothing takes the sample
    let mut sim = Sim::<u8>::builder(1)
        .node("n", || FnNode(|_ctx: Context<u8>| async move { faultline::metrics::count("requests", 5) }))
        .build()
        .unwrap();
    REQUESTS.add(100); // built, not running
    sim.run();
    assert_eq!(sim.finish().unwrap().metrics.metric("requests").unwrap().total(), 5, "the sample by name, alone");
}

#[test]
fn windows_past_the_limit_stop_the_run() {
    let mut sim = Sim::<u8>::builder(1)
        .metrics_window(Duration::from_millis(1))
        .limits(Limits { max_windows: 1000, ..Limits::default() })
        .node("n", || {
            FnNode(|ctx: Context<u8>| async move {
                loop {
                    REQUESTS.add(1);
                    ctx.sleep(Duration::from_micros(300)).await;
                }
            })
        })
        .build()
        .unwrap();
    let outcome = sim.run_until(SimTime::ZERO + Duration::from_secs(10));
    assert_eq!(outcome, RunOutcome::Limit(LimitHit { kind: LimitKind::Windows, limit: 1000 }));
    let report = sim.finish().unwrap();
    assert_eq!(report.end, SimTime::ZERO + Duration::from_micros(300 * 3334), "the first sample past 1 s");
    assert_eq!(report.metrics.metric("requests").unwrap().windows().len(), 1000);
}

#[test]
fn trace_outputs_change_nothing_recorded_and_one_that_asks_sees_every_sample() {
    use faultline::{TraceBuffer, TraceFormat, TraceOutput, TraceSink};
    let alone = run(Sim::builder(1));
    let (wants, ignores) = (TraceBuffer::default(), TraceBuffer::default());
    let beside = run(Sim::builder(1)
        .trace(
            TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(wants.clone()))
                .filtered("faultline::metric=trace"),
        )
        .trace(TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(ignores.clone())).filtered("info")));
    let rtt_windows = |r: &faultline::Report| format!("{:?}", r.metrics.metric("rtt").unwrap().windows());
    for name in ["requests", "rtt", "size", "in_flight"] {
        let (a, b) = (alone.metrics.metric(name).unwrap(), beside.metrics.metric(name).unwrap());
        assert_eq!((a.total(), a.stats().count), (b.total(), b.stats().count), "{name}");
    }
    assert_eq!(rtt_windows(&alone), rtt_windows(&beside));
    let lines = String::from_utf8(wants.contents()).unwrap();
    let samples = lines.lines().filter(|l| l.contains("\"target\":\"faultline::metric\"")).count();
    assert_eq!(samples, 3 * 200 * 4, "four samples per sender per step");
    assert!(lines.contains("\"metric\":\"rtt\""), "a sample names its metric");
    let others = String::from_utf8(ignores.contents()).unwrap();
    assert!(!others.contains("faultline::metric"), "an output that did not ask sees no samples");
}
