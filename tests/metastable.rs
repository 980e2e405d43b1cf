//! The metastable study's headline results, each from the mechanism and deterministic by seed:
//! a spike that retries keep alive, the defences that end it (and the one that does not), and
//! Bronson et al.'s held outage.

use std::path::PathBuf;

use faultline_nodes::metastable::{Backoff, DeadlinePolicy};
use faultline_scenarios::cli::{FaultArgs, TraceArgs};
use faultline_scenarios::metastable::{LoadKind, Params, Summary, run};

fn spike() -> Params {
    Params::default()
}

fn study(p: &Params) -> Summary {
    run(p, &FaultArgs::default(), &TraceArgs::default()).unwrap().0
}

fn after(s: &Summary) -> &faultline_scenarios::metastable::analysis::Phase {
    s.phases.after.as_ref().expect("a spike has an after phase")
}

#[test]
fn a_spike_with_three_immediate_retries_leaves_the_system_down() {
    let s = study(&spike());
    assert!(after(&s).goodput_ratio < 0.3, "{}", s.verdict);
    assert_eq!(s.recovered, Some(false));
    assert!(s.verdict.starts_with("metastable:"), "{}", s.verdict);
    // The mechanism: the server is busy, but with attempts nobody waits for any more.
    assert!(after(&s).late_rps > 0.9 * s.capacity_rps.unwrap(), "{} late/s", after(&s).late_rps);
    assert!(after(&s).retry_amplification > 3.5);
}

#[test]
fn without_retries_the_same_spike_recovers() {
    let s = study(&Params { max_retries: 0, ..spike() });
    assert_eq!(s.recovered, Some(true), "{}", s.verdict);
    assert!(after(&s).goodput_ratio > 0.95);
}

#[test]
fn dropping_unfinishable_requests_recovers_and_dropping_only_expired_ones_does_not() {
    let s = study(&Params { deadline: DeadlinePolicy::Unfinishable, ..spike() });
    assert_eq!(s.recovered, Some(true), "{}", s.verdict);
    // With `expired` alone the server still starts requests whose deadline is a few ms away;
    // at full concurrency they take ~200 ms, so they finish late and the storm goes on.
    let s = study(&Params { deadline: DeadlinePolicy::Expired, ..spike() });
    assert_eq!(s.recovered, Some(false), "{}", s.verdict);
    assert!(after(&s).late_rps > 100.0, "served late: {} /s", after(&s).late_rps);
}

#[test]
fn a_retry_budget_recovers() {
    let s = study(&Params { retry_budget: Some(0.1), ..spike() });
    assert_eq!(s.recovered, Some(true), "{}", s.verdict);
}

#[test]
fn backoff_alone_spreads_the_retries_but_does_not_remove_them() {
    for backoff in [Backoff::Exponential, Backoff::FullJitter, Backoff::Decorrelated] {
        let s = study(&Params { backoff, ..spike() });
        // Every request still makes four attempts: 4 x 100 rps stays above ~250 rps of capacity.
        assert_eq!(s.recovered, Some(false), "{backoff}: {}", s.verdict);
        assert!(after(&s).retry_amplification > 3.5, "{backoff}");
    }
}

#[test]
fn a_breaker_shedding_a_queue_limit_and_lifo_each_recover() {
    let cases = [
        Params { breaker: true, ..spike() },
        Params { shed_above: Some(50), ..spike() },
        Params { queue_limit: Some(100), ..spike() },
        Params { lifo_above: Some(50), ..spike() },
    ];
    for p in cases {
        let s = study(&p);
        assert_eq!(s.recovered, Some(true), "{}: {}", p.describe(), s.verdict);
        // Each request ends once: in time or failed (a few are in flight at the end).
        let t = &s.totals.counts;
        let ended = t.goodput + s.totals.failed;
        assert!(ended <= t.offered && ended + 100 > t.offered, "{}: {t:?}", p.describe());
        // Without a breaker (whose fast failures send no attempt), each attempt ends once at
        // most: in time, timed out or shed. The server's own count once doubled the shed ones.
        if !p.breaker {
            assert!(t.goodput + t.timeouts + t.shed <= t.attempts, "{}: {t:?}", p.describe());
            assert!(t.goodput + t.timeouts + t.shed + 100 > t.attempts, "{}: {t:?}", p.describe());
        }
    }
    let shed = study(&Params { shed_above: Some(50), ..spike() });
    assert!(shed.totals.counts.shed > 1000, "the server shed, and clients heard of it");
}

fn bronson(rps: f64, faults: &str) -> Params {
    Params {
        load: LoadKind::Constant,
        base_rps: rps,
        duration: std::time::Duration::from_secs(300),
        capacity: 30,
        base_latency: std::time::Duration::from_millis(100),
        concurrency_slope: std::time::Duration::ZERO,
        max_retries: 1,
        faults: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/presets/metastable").join(faults)),
        ..Params::default()
    }
}

#[test]
fn bronsons_held_outage_at_280_rps_stays_down_and_at_140_rps_recovers() {
    let s = study(&bronson(280.0, "outage-held.faults"));
    let a = after(&s);
    let attempts_rps = a.offered_rps * a.retry_amplification;
    assert!((attempts_rps - 560.0).abs() < 25.0, "offered work stays near 560/s: {attempts_rps}");
    assert!(a.goodput_ratio < 0.02, "goodput near zero: {}", a.goodput_ratio);
    assert_eq!(s.recovered, Some(false));
    assert_eq!(s.trigger.as_ref().map(|t| (t.start_s, t.end_s)), Some((30.0, 40.0)));

    let s = study(&bronson(140.0, "outage-held.faults"));
    assert_eq!(s.recovered, Some(true), "{}", s.verdict);

    // Lost instead of held: no burst at the heal, no storm.
    let s = study(&bronson(280.0, "outage-lost.faults"));
    assert_eq!(s.recovered, Some(true), "{}", s.verdict);
    assert!(s.recovery_s.unwrap() < 5.0);
}

#[test]
fn constant_load_at_70_percent_is_healthy_under_every_setting() {
    let base = Params { load: LoadKind::Constant, base_rps: 175.0, ..Params::default() };
    assert!((base.base_rps / base.capacity_rps() - 0.7).abs() < 0.01);
    let settings = [
        base.clone(),
        Params { max_retries: 0, ..base.clone() },
        Params { backoff: Backoff::FullJitter, ..base.clone() },
        Params { backoff: Backoff::Decorrelated, ..base.clone() },
        Params { retry_budget: Some(0.1), ..base.clone() },
        Params { breaker: true, ..base.clone() },
        Params { shed_above: Some(50), ..base.clone() },
        Params { queue_limit: Some(100), ..base.clone() },
        Params { deadline: DeadlinePolicy::Unfinishable, ..base.clone() },
        Params { deadline: DeadlinePolicy::Expired, ..base.clone() },
        Params { lifo_above: Some(50), ..base.clone() },
    ];
    for p in settings {
        let s = study(&p);
        assert!(s.phases.before.goodput_ratio > 0.99, "{}: {}", p.describe(), s.verdict);
        assert!(s.verdict.starts_with("healthy"), "{}", s.verdict);
        assert_eq!(s.recovered, None, "no trigger, nothing to recover from");
    }
}

#[test]
fn a_sweep_of_the_spike_rate_finds_the_tipping_point() {
    let outcomes: Vec<(f64, bool)> = [225.0, 250.0, 275.0, 300.0, 325.0, 350.0]
        .into_iter()
        .map(|rps| (rps, study(&Params { spike_rps: rps, ..spike() }).recovered.unwrap()))
        .collect();
    let tip = outcomes.iter().position(|(_, recovered)| !recovered).expect("a spike rate that stays down");
    assert!(tip > 0, "the smallest spike recovers: {outcomes:?}");
    assert!(outcomes[tip..].iter().all(|(_, r)| !r), "past the tipping point every spike stays down: {outcomes:?}");
    println!("tipping point: between {} and {} requests/s", outcomes[tip - 1].0, outcomes[tip].0);
}

#[test]
fn the_same_seed_gives_identical_json_and_another_seed_another_run() {
    let json = |seed| serde_json::to_string(&study(&Params { seed, ..spike() })).unwrap();
    assert_eq!(json(7), json(7));
    assert_ne!(json(7), json(8));
}
