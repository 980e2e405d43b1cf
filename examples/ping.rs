//! The README's library example as a complete program: a client pings a server every 100 ms
//! over 200 µs links; a partition cuts them from 2 s to 3 s; the run ends at 5 s and prints the
//! metrics. It checks its own numbers, so that CI (`cargo run --example ping`) fails if the
//! core stops doing what the README says.
//!
//! Run it with `cargo run --example ping`. A crate of your own needs `faultline` and `serde`
//! (with the `derive` feature) as dependencies.

use std::error::Error;
use std::time::Duration;

use faultline::metrics::{Counter, DurationHistogram};
use faultline::{Command, Context, FnNode, LinkConfig, Sim, SimTime};

/// Metrics are declared once; a sample is then an index, not a name lookup.
static RTT: DurationHistogram = DurationHistogram::new("rtt");
static LOST: Counter = Counter::new("lost");

/// What the two nodes say to each other.
#[derive(serde::Serialize, serde::Deserialize)]
enum Msg {
    Ping,
    Pong,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = Sim::<Msg>::builder(42)
        .default_link(LinkConfig::constant(Duration::from_micros(200)))
        .node("client", || {
            FnNode(|ctx: Context<Msg>| async move {
                let server = ctx.node_id("server").expect("a node called server");
                loop {
                    let sent = ctx.now();
                    ctx.send(server, &Msg::Ping);
                    if ctx.recv_timeout(Duration::from_millis(10)).await.is_some() {
                        RTT.record(ctx.now() - sent);
                    } else {
                        LOST.add(1);
                    }
                    ctx.sleep(Duration::from_millis(100)).await;
                }
            })
        })
        .node("server", || {
            FnNode(|ctx: Context<Msg>| async move {
                loop {
                    let m = ctx.recv().await;
                    if let Msg::Ping = m.msg {
                        ctx.send(m.from, &Msg::Pong);
                    }
                }
            })
        })
        .build()?;

    let (c, s) = (sim.node_id("client").ok_or("no client")?, sim.node_id("server").ok_or("no server")?);
    let at = |secs| SimTime::ZERO + Duration::from_secs(secs);
    sim.schedule(at(2), Command::partition(vec![vec![c], vec![s]]))?;
    sim.schedule(at(3), Command::heal())?;
    sim.run_until(at(5));

    let report = sim.finish()?;
    println!("{}", report.metrics);

    // Two 200 µs hops, to the nanosecond; one ping every 100 ms lost for the second of the cut.
    let rtt = report.metrics.metric("rtt").ok_or("no rtt metric")?.stats();
    let lost = report.metrics.metric("lost").ok_or("no lost metric")?.total();
    if rtt.min != 400_000 || rtt.max != 400_000 || lost != 10 {
        return Err(format!("expected every rtt 400 µs and 10 lost, got {rtt:?} and {lost} lost").into());
    }
    println!("rtt exactly 0.400 ms ({} answered), {lost} pings lost to the partition", rtt.count);
    Ok(())
}
