//! Node lifecycle and the control channel: crash, restart, pause, clock faults, bad commands,
//! and commands from another thread during a live run.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::{Command, Context, ControlError, FnNode, LinkPatch, NodeId, NodeStatus, Sim, SimTime};

fn at(ms: u64) -> SimTime {
    SimTime::ZERO + Duration::from_millis(ms)
}

type Log = Rc<RefCell<Vec<String>>>;

/// "sender" sends 0, 1, 2, ... to "worker" every 100 ms. "worker" counts boots durably and
/// messages in memory, and spawns a sub-task that logs after 3 s.
fn crash_scenario(log: &Log) -> Sim<u64> {
    let wlog = log.clone();
    Sim::<u64>::builder(9)
        .node("sender", || {
            FnNode(|ctx: Context<u64>| async move {
                let worker = ctx.node_id("worker").unwrap();
                for i in 0.. {
                    ctx.send(worker, &i);
                    ctx.sleep(Duration::from_millis(100)).await;
                }
            })
        })
        .node("worker", move || {
            let log = wlog.clone();
            FnNode(move |ctx: Context<u64>| {
                let log = log.clone();
                async move {
                    let boots: u64 = ctx.durable().get("boots").unwrap().unwrap_or(0) + 1;
                    ctx.durable().put("boots", &boots);
                    let (sub, sublog) = (ctx.clone(), log.clone());
                    ctx.spawn(async move {
                        sub.sleep(Duration::from_secs(3)).await;
                        sublog.borrow_mut().push(format!("subtask of boot {boots} at {}", sub.now()));
                    });
                    let mut seen = 0;
                    loop {
                        let m = ctx.recv().await;
                        seen += 1;
                        log.borrow_mut().push(format!("boot {boots} got {} (seen {seen})", m.msg));
                    }
                }
            })
        })
        .build()
        .unwrap()
}

#[test]
fn crash_kills_sub_tasks_and_inbox_and_restart_keeps_only_durable_state() {
    let log: Log = Rc::default();
    let mut sim = crash_scenario(&log);
    let worker = sim.node_id("worker").unwrap();
    // Paused from 0.5 s, messages pile up in the inbox; the crash at 1 s loses them.
    sim.schedule(at(450), Command::Pause(worker)).unwrap();
    sim.schedule(at(1000), Command::Crash(worker)).unwrap();
    sim.schedule(at(2000), Command::Restart(worker)).unwrap();
    sim.run_until(at(1500));
    let report = sim.report();
    assert_eq!(report.nodes[1].status, NodeStatus::Crashed);
    assert_eq!(report.nodes[1].undeliverable, 5, "1.1 s .. 1.5 s: messages to a dead node are dropped");
    sim.run_until(at(5500));
    let log = log.borrow();
    let got: Vec<&String> = log.iter().filter(|l| l.contains(" got ")).collect();
    // Boot 1 saw 0..=4 (0 ms .. 400 ms); 5..=9 waited in the paused inbox and died with it.
    assert_eq!(got[4], "boot 1 got 4 (seen 5)");
    // Boot 2 starts at 2 s with nothing of boot 1 but the durable boot count: `seen` restarts.
    assert_eq!(got[5], "boot 2 got 20 (seen 1)");
    assert!(!log.iter().any(|l| l.contains("got 5 ")), "{log:?}");
    // The first sub-task (due at 3 s) died with the crash; the second fired at 2 s + 3 s.
    let subs: Vec<&String> = log.iter().filter(|l| l.starts_with("subtask")).collect();
    assert_eq!(subs, vec!["subtask of boot 2 at 5.000000000s"]);
    let report = sim.report();
    assert_eq!(report.nodes[1].incarnation, 1);
    assert_eq!(report.control.total_applied(), 3);
}

#[test]
fn a_paused_node_keeps_its_messages_until_resume() {
    let log: Log = Rc::default();
    let mut sim = crash_scenario(&log);
    let worker = sim.node_id("worker").unwrap();
    sim.schedule(at(150), Command::Pause(worker)).unwrap();
    sim.schedule(at(650), Command::Resume(worker)).unwrap();
    sim.run_until(at(700));
    let log = log.borrow();
    // 0 and 1 before the pause; 2..=6 all handled at the resume instant, in order.
    let got: Vec<&String> = log.iter().filter(|l| l.contains(" got ")).collect();
    assert_eq!(got.len(), 7);
    assert_eq!(got[6], "boot 1 got 6 (seen 7)");
}

#[test]
fn skew_and_drift_move_only_that_nodes_clock() {
    let readings: Rc<RefCell<Vec<(String, SimTime, SimTime)>>> = Rc::default();
    let mut b = Sim::<()>::builder(1);
    for name in ["a", "b"] {
        let readings = readings.clone();
        b = b.node(name, move || {
            let readings = readings.clone();
            FnNode(move |ctx: Context<()>| {
                let readings = readings.clone();
                async move {
                    for _ in 0..4 {
                        ctx.sleep(Duration::from_secs(1)).await;
                        readings.borrow_mut().push((ctx.name().to_string(), ctx.now(), ctx.local_time()));
                    }
                }
            })
        });
    }
    let mut sim = b.build().unwrap();
    let a = sim.node_id("a").unwrap();
    sim.schedule(at(1500), Command::Skew { node: a, nanos: 250_000_000 }).unwrap();
    sim.schedule(at(2000), Command::Drift { node: a, ppm: 2000.0 }).unwrap();
    sim.run();
    let local =
        |name: &str| -> Vec<SimTime> { readings.borrow().iter().filter(|r| r.0 == name).map(|r| r.2).collect() };
    assert_eq!(local("b"), vec![at(1000), at(2000), at(3000), at(4000)]);
    // +250 ms from 1.5 s; from 2 s, 2 ms fast per second.
    assert_eq!(local("a"), vec![at(1000), at(2250), at(3252), at(4254)]);
}

#[test]
fn bad_commands_are_answered_with_errors_and_the_run_goes_on() {
    let answers: Rc<RefCell<Vec<Result<SimTime, ControlError>>>> = Rc::default();
    let a2 = answers.clone();
    let mut sim = Sim::<u8>::builder(1)
        .node("operator", move || {
            let answers = a2.clone();
            FnNode(move |ctx: Context<u8>| {
                let answers = answers.clone();
                async move {
                    let control = ctx.control();
                    let me = ctx.id();
                    let ghost = NodeId::from_index(7);
                    let cmds = vec![
                        Command::Crash(ghost),
                        Command::set_link(None, None, LinkPatch { loss: Some(1.5), ..LinkPatch::default() }),
                        Command::set_link(None, None, LinkPatch { duplicate: Some(-0.1), ..LinkPatch::default() }),
                        Command::Restart(me),
                        Command::Resume(me),
                        Command::Drift { node: me, ppm: f64::NAN },
                        Command::Net(faultline::NetFault::Heal { label: Some("nope".into()) }),
                        Command::partition(vec![vec![me, me]]),
                        Command::set_link(None, None, LinkPatch { loss: Some(0.0), ..LinkPatch::default() }),
                    ];
                    for c in cmds {
                        let answer = control.request(c).await;
                        answers.borrow_mut().push(answer);
                    }
                    // Still running: time moves and the node can still act.
                    ctx.sleep(Duration::from_secs(1)).await;
                    ctx.count("alive", 1);
                }
            })
        })
        .build()
        .unwrap();
    sim.run();
    let text: Vec<String> = answers
        .borrow()
        .iter()
        .map(|a| match a {
            Ok(t) => format!("ok at {t}"),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        text,
        vec![
            "unknown node n7: the simulation has 1 nodes",
            "loss must be a probability between 0 and 1, got 1.5",
            "duplicate must be a probability between 0 and 1, got -0.1",
            "cannot restart operator: it is running",
            "cannot resume operator: it is running",
            "drift must be a finite rate between -1000000 and 1000000 ppm, got NaN",
            "no partition labelled 'nope' is in force",
            "node n0 is in two groups of one partition",
            "ok at 0.000000000s",
        ]
    );
    let report = sim.report();
    assert_eq!(report.control.total_rejected(), 8);
    assert_eq!(report.control.total_applied(), 1);
    assert_eq!(report.metrics.metric("alive").unwrap().total(), 1);
    assert_eq!(report.end, at(1000));
}

#[test]
fn commands_from_another_thread_reach_a_live_run() {
    let mut sim = Sim::<u8>::builder(1)
        .realtime(20.0)
        .node("a", || {
            FnNode(|ctx: Context<u8>| async move {
                loop {
                    ctx.sleep(Duration::from_millis(100)).await;
                    ctx.count("ticks", 1);
                }
            })
        })
        .build()
        .unwrap();
    let control = sim.control();
    let control_after = sim.control();
    let operator = std::thread::spawn(move || {
        let a = control.node("a").unwrap();
        let bad = control.request(Command::Resume(a)).wait();
        let good = control.request(Command::Crash(a)).wait();
        (bad, good)
    });
    // 20 s of virtual time take about a second of wall time: long enough for the thread.
    sim.run_until(at(20_000));
    let (bad, good) = operator.join().unwrap();
    assert_eq!(bad.unwrap_err().to_string(), "cannot resume a: it is running");
    assert!(good.is_ok());
    let report = sim.report();
    assert_eq!(report.nodes[0].status, NodeStatus::Crashed);
    assert!(report.metrics.metric("ticks").map_or(0, |m| m.total()) < 199, "the crash stopped the ticks");
    assert_eq!(report.end, at(20_000));
    drop(sim);
    assert_eq!(control_after.status().wait(), Err(ControlError::Closed), "no answer once the sim is gone");
}

#[test]
fn a_panicking_node_ends_the_run_loudly_and_the_rest_is_reported() {
    let mut sim = Sim::<u8>::builder(1)
        .node("buggy", || {
            FnNode(|ctx: Context<u8>| async move {
                ctx.sleep(Duration::from_secs(1)).await;
                let v: Vec<u8> = Vec::new();
                let _ = v[3]; // a bug in the study's code
            })
        })
        .node("fine", || {
            FnNode(|ctx: Context<u8>| async move {
                loop {
                    ctx.sleep(Duration::from_millis(300)).await;
                    ctx.count("ticks", 1);
                }
            })
        })
        .build()
        .unwrap();
    assert_eq!(sim.run_until(at(10_000)), faultline::RunOutcome::Panicked);
    let report = sim.report();
    assert_eq!(report.end, at(1000), "the run stopped at the instant of the panic");
    assert_eq!(report.panics.len(), 1);
    assert_eq!(report.panics[0].0, "buggy");
    assert!(report.panics[0].1.contains("index out of bounds"), "{}", report.panics[0].1);
    assert_eq!(report.nodes[0].status, NodeStatus::Crashed);
    assert_eq!(report.nodes[1].status, NodeStatus::Running);
    // The run can go on without the crashed node.
    assert_eq!(sim.run_until(at(2000)), faultline::RunOutcome::Deadline);
    assert_eq!(sim.report().metrics.metric("ticks").unwrap().total(), 6);
}
