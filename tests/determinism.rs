//! Determinism: one seed, one trace, byte for byte, even with random latency, loss,
//! duplication, partitions and crashes, and with another simulation running on another thread.

use std::time::Duration;

use faultline::{
    Command, Context, FnNode, LinkConfig, NodeId, Sim, SimTime, TraceBuffer, TraceFormat, TraceOutput, TraceSink,
};
use rand::RngExt;

/// Six nodes gossip to random peers over lossy, jittery links, with a partition and a crash.
/// Returns the JSON-lines trace (metrics included) and the Chrome trace.
fn run(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let (lines, chrome) = (TraceBuffer::default(), TraceBuffer::default());
    let link = LinkConfig {
        jitter: Duration::from_millis(3),
        loss: 0.05,
        duplicate: 0.02,
        ..LinkConfig::with_latency("lognormal(4ms, 3ms, 500us)".parse().unwrap())
    };
    let mut b = Sim::<(u32, u64)>::builder(seed)
        .default_link(link)
        .trace(TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(lines.clone())).filtered("trace"))
        .trace(TraceOutput::new(TraceFormat::Chrome, TraceSink::Memory(chrome.clone())).filtered("info"));
    for i in 0..6 {
        b = b.node(&format!("peer-{i}"), || {
            FnNode(|ctx: Context<(u32, u64)>| async move {
                let me = ctx.id().index() as u32;
                let worker = ctx.clone();
                ctx.spawn(async move {
                    for k in 0.. {
                        let to = NodeId::from_index(worker.rng().random_range(0..worker.node_count()));
                        worker.send(to, &(me, k));
                        let pause = worker.rng().random_range(1_000..20_000);
                        worker.sleep(Duration::from_micros(pause)).await;
                    }
                });
                loop {
                    let m = ctx.recv().await;
                    ctx.record_duration("delay", ctx.now() - m.sent_at);
                    tracing::debug!(from = m.msg.0, k = m.msg.1, "got");
                }
            })
        });
    }
    let mut sim = b.build().unwrap();
    let id = |i| NodeId::from_index(i);
    let at = |ms| SimTime::ZERO + Duration::from_millis(ms);
    sim.schedule(at(300), Command::partition(vec![vec![id(0), id(1), id(2)]])).unwrap();
    sim.schedule(at(600), Command::heal()).unwrap();
    sim.schedule(at(400), Command::Crash(id(4))).unwrap();
    sim.schedule(at(700), Command::Restart(id(4))).unwrap();
    sim.run_until(at(1000));
    sim.finish().unwrap();
    (lines.contents(), chrome.contents())
}

#[test]
fn same_seed_same_trace_byte_for_byte() {
    let (a, ca) = run(42);
    let (b, cb) = run(42);
    assert!(a.len() > 100_000, "the trace holds the whole run ({} bytes)", a.len());
    assert!(a == b, "JSON-lines traces differ");
    assert!(ca == cb, "Chrome traces differ");
}

#[test]
fn another_seed_gives_another_run() {
    let (a, _) = run(42);
    let (b, _) = run(43);
    assert_ne!(a, b);
}

#[test]
fn simulations_on_two_threads_do_not_disturb_each_other() {
    let alone = run(7);
    let threads: Vec<_> = (0..2).map(|_| std::thread::spawn(|| run(7))).collect();
    for t in threads {
        assert!(t.join().unwrap() == alone, "a run beside another differs from a run alone");
    }
}
