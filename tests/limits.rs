//! Resource limits: a run that passes one stops with `RunOutcome::Limit` instead of growing.

use std::time::Duration;

use faultline::{Context, FnNode, LimitHit, LimitKind, Limits, RunOutcome, Sim, SimTime};

/// A sender that floods a one-hour link: every message stays in flight.
fn flood(limits: Limits) -> (RunOutcome, u64) {
    let mut sim = Sim::<u32>::builder(1)
        .default_link(faultline::LinkConfig::constant(Duration::from_secs(3600)))
        .limits(limits)
        .node("a", || {
            FnNode(|ctx: Context<u32>| async move {
                let b = ctx.node_id("b").unwrap();
                loop {
                    for i in 0..100 {
                        ctx.send(b, &i);
                    }
                    ctx.sleep(Duration::from_millis(1)).await;
                }
            })
        })
        .node("b", || {
            FnNode(|ctx: Context<u32>| async move {
                std::future::pending::<()>().await;
                drop(ctx)
            })
        })
        .build()
        .unwrap();
    let outcome = sim.run_until(SimTime::ZERO + Duration::from_secs(10));
    (outcome, sim.report().engine.pending)
}

#[test]
fn events_in_flight_stop_the_run_at_the_limit() {
    let (outcome, pending) = flood(Limits { max_in_flight: 5_000, ..Limits::default() });
    assert_eq!(outcome, RunOutcome::Limit(LimitHit { kind: LimitKind::InFlight, limit: 5_000 }));
    assert!((5_000..5_100).contains(&pending), "stopped near the limit, not after: {pending}");
}

#[test]
fn the_default_limits_leave_a_normal_run_alone() {
    let (outcome, pending) = flood(Limits::default());
    assert_eq!(outcome, RunOutcome::Deadline);
    assert_eq!(pending, 10_001 * 100 + 1, "100 messages at every ms from 0 to 10 s inclusive, and the sender's timer");
}

#[test]
fn too_many_nodes_is_a_build_error_naming_the_limit() {
    let mut b = Sim::<u32>::builder(1).limits(Limits { max_nodes: 3, ..Limits::default() });
    for i in 0..4 {
        b = b.node(&format!("n{i}"), || FnNode(|_ctx: Context<u32>| async {}));
    }
    let err = b.build().err().expect("four nodes over a limit of three");
    assert_eq!(err.to_string(), "nodes reached the limit of 3 (max_nodes)");
}

/// A link delay beyond any run, sent through a node's own control handle (no script parser in
/// between), was applied and made delivery times wrap; the kernel refuses it as it applies.
#[test]
fn a_link_delay_beyond_any_run_is_refused_from_any_path() {
    use faultline::{Command, Latency, LinkPatch};
    let mut sim = Sim::<u32>::builder(1)
        .node("a", || {
            FnNode(|ctx: Context<u32>| async move {
                let patch =
                    LinkPatch { latency: Some(Latency::Constant { value: Duration::MAX }), ..LinkPatch::default() };
                ctx.control().submit(Command::set_link(None, None, patch)).unwrap();
                ctx.sleep(Duration::from_millis(1)).await;
                let b = ctx.node_id("b").unwrap();
                ctx.send(b, &7);
            })
        })
        .node("b", || {
            FnNode(|ctx: Context<u32>| async move {
                let m = ctx.recv().await;
                faultline::metrics::count("got", u64::from(m.msg));
            })
        })
        .build()
        .unwrap();
    sim.run_until(SimTime::ZERO + Duration::from_secs(1));
    let report = sim.finish().unwrap();
    assert_eq!(report.control.rejected.values().sum::<u64>(), 1, "the command was refused");
    assert_eq!(report.metrics.metric("got").map(|m| m.total()), Some(7), "the default 1 ms link still delivers");
}
