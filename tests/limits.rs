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
