//! netbench: how fast the core moves messages. N nodes keep M messages in flight; every
//! delivery makes its receiver send one new message to a uniformly random node over a link of
//! uniform 1-10 ms latency. Every message takes the full path: bincode, network fault checks,
//! per-link counters, the event queue, the receiver's inbox and task.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use faultline::{Command, Context, FnNode, Latency, LinkConfig, Sim};
use faultline_scenarios::rss;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Measure simulated deliveries per wall second.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    nodes: u32,
    /// Messages kept in flight.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    in_flight: u64,
    /// Deliveries to simulate.
    #[arg(long, default_value_t = 5_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    deliveries: u64,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Deserialize)]
struct Hop {
    id: u64,
    hops: u32,
}

#[derive(Serialize)]
struct Results {
    nodes: u32,
    in_flight: u64,
    deliveries: u64,
    wall_s: f64,
    deliveries_per_s: f64,
    virtual_s: f64,
    speedup: f64,
    instants: u64,
    events: u64,
    bytes_delivered: u64,
    peak_rss_bytes: Option<u64>,
    /// The event queue's own bytes (heap, slab, message buffers) per message in flight at the end.
    queue_bytes_per_in_flight: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let delivered = Rc::new(Cell::new(0u64));
    let (nodes, in_flight, target) = (args.nodes as u64, args.in_flight, args.deliveries);
    let mut builder = Sim::<Hop>::builder(args.seed).default_link(LinkConfig::with_latency(Latency::Uniform {
        min: Duration::from_millis(1),
        max: Duration::from_millis(10),
    }));
    for i in 0..nodes {
        let delivered = delivered.clone();
        builder = builder.node(&format!("n{i}"), move || {
            let delivered = delivered.clone();
            FnNode(move |ctx: Context<Hop>| {
                let delivered = delivered.clone();
                async move {
                    let count = ctx.node_count();
                    // Node i starts the messages i, i + N, i + 2N, ... below M.
                    for id in (i..in_flight).step_by(count) {
                        let to = ctx.rng().random_range(0..count);
                        ctx.send(faultline::NodeId::from_index(to), &Hop { id, hops: 0 });
                    }
                    loop {
                        let hop = ctx.recv().await.msg;
                        let n = delivered.get() + 1;
                        delivered.set(n);
                        if n == target {
                            let _ = ctx.control().submit(Command::Stop);
                        }
                        let to = ctx.rng().random_range(0..count);
                        ctx.send(faultline::NodeId::from_index(to), &Hop { id: hop.id, hops: hop.hops + 1 });
                    }
                }
            })
        });
    }
    let mut sim = builder.build()?;
    let start = Instant::now();
    sim.run();
    let wall_s = start.elapsed().as_secs_f64();
    // Read before the report, which builds a map of every link that carried traffic.
    let peak = rss::peak_rss_bytes();
    let report = sim.report();
    let virtual_s = report.end.as_secs_f64();
    let results = Results {
        nodes: args.nodes,
        in_flight,
        deliveries: delivered.get(),
        wall_s,
        deliveries_per_s: delivered.get() as f64 / wall_s,
        virtual_s,
        speedup: virtual_s / wall_s,
        instants: report.engine.instants,
        events: report.engine.events,
        bytes_delivered: report.net.total().bytes_delivered,
        peak_rss_bytes: peak,
        queue_bytes_per_in_flight: report.engine.queue_bytes as f64 / report.engine.pending.max(1) as f64,
    };
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        println!(
            "{} deliveries in {:.3} s wall: {:.2} M deliveries/s; {:.1} s virtual ({:.0}x wall); peak RSS {} MiB; {:.0} queue bytes per message in flight",
            results.deliveries,
            wall_s,
            results.deliveries_per_s / 1e6,
            virtual_s,
            results.speedup,
            peak.map_or("?".into(), |p| (p / (1 << 20)).to_string()),
            results.queue_bytes_per_in_flight,
        );
    }
    Ok(())
}
