//! netbench: how fast the core moves messages. Two workloads, the same report:
//!
//! - steady (default): N nodes keep M messages in flight; every delivery makes its receiver
//!   send one new message to a uniformly random node, until D deliveries;
//! - periodic (`--every T --duration V`): every node sends a small message to a random peer
//!   every T of virtual time, for V of virtual time (the shape of the crdt study's gossip).
//!
//! Links have a uniform 1-10 ms latency. Every message takes the full path: bincode, network
//! fault checks, traffic counters (per link up to 256 nodes, per node beyond unless
//! `--link-traffic`), the event queue, the receiver's inbox and task; with `--metrics`, every
//! delivery also records one histogram sample and one counter.

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use faultline::metrics::{Counter, DurationHistogram};
use faultline::{Command, Context, FnNode, Latency, Limits, LinkConfig, NodeId, Sim, SimTime};
use faultline_scenarios::rss;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Most deliveries a steady run may ask for (about an hour of wall time at 3 M/s).
const MAX_DELIVERIES: u64 = 10_000_000_000;
/// Shortest period between two sends of one node.
const MIN_EVERY: Duration = Duration::from_micros(1);
/// Longest virtual duration of a periodic run.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most sends a periodic run may schedule in all (nodes × duration / every).
const MAX_SENDS: u128 = 10_000_000_000;
/// Most links a `--link-traffic` run may count (the fewer of nodes² and the messages sent):
/// 32 bytes each in the hash map, about 4 GB.
const MAX_LINKS: u128 = 100_000_000;

/// Measure simulated deliveries per wall second.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=Limits::MAX_NODES))]
    nodes: u64,
    /// Messages kept in flight (steady workload).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=Limits::MAX_IN_FLIGHT))]
    in_flight: Option<u64>,
    /// Deliveries to simulate (steady workload).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_DELIVERIES))]
    deliveries: Option<u64>,
    /// Periodic workload: each node sends to a random peer this often (virtual time, e.g. 100ms).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, requires = "duration",
          conflicts_with_all = ["in_flight", "deliveries"])]
    every: Option<Duration>,
    /// Periodic workload: virtual time to simulate (e.g. 60s).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, requires = "every")]
    duration: Option<Duration>,
    /// Also record one histogram sample (the message's latency) and one counter per delivery.
    #[arg(long)]
    metrics: bool,
    /// Count traffic per link however many nodes there are (by default per node above 256).
    #[arg(long)]
    link_traffic: bool,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads a duration flag written with a unit (`500ms`, `3s`, `2m`).
fn duration_arg(s: &str) -> Result<Duration, String> {
    faultline::parse_duration(s).map_err(|e| e.to_string())
}

/// What to run, checked.
#[derive(Debug, Clone, Copy)]
enum Workload {
    Steady { in_flight: u64, deliveries: u64 },
    Periodic { every: Duration, duration: Duration },
}

impl Args {
    /// Checks what clap cannot: the periodic flags against each other and their product, and
    /// how many links `--link-traffic` could count.
    fn workload(&self) -> Result<Workload, String> {
        let (workload, sends) = self.sends()?;
        let links = (u128::from(self.nodes) * u128::from(self.nodes)).min(sends);
        if self.link_traffic && links > MAX_LINKS {
            return Err(format!(
                "--link-traffic would count up to {links} links (the fewer of --nodes squared and the {sends} \
                 messages sent), more than the limit of {MAX_LINKS}: fewer nodes or a shorter run"
            ));
        }
        Ok(workload)
    }

    /// The workload, and how many messages it sends in all.
    fn sends(&self) -> Result<(Workload, u128), String> {
        let (Some(every), Some(duration)) = (self.every, self.duration) else {
            let (in_flight, deliveries) = (self.in_flight.unwrap_or(1000), self.deliveries.unwrap_or(5_000_000));
            let sends = u128::from(in_flight) + u128::from(deliveries);
            return Ok((Workload::Steady { in_flight, deliveries }, sends));
        };
        if every < MIN_EVERY {
            return Err(format!("--every must be at least 1us, got {}", faultline::format_duration(every)));
        }
        if duration.is_zero() || duration > MAX_DURATION {
            let got = faultline::format_duration(duration);
            return Err(format!("--duration must be more than 0 and at most 7 days (168h), got {got}"));
        }
        if every > duration {
            return Err(format!(
                "--every ({}) must not be longer than --duration ({}): no node would send",
                faultline::format_duration(every),
                faultline::format_duration(duration)
            ));
        }
        let sends = u128::from(self.nodes) * (duration.as_nanos() / every.as_nanos());
        if sends > MAX_SENDS {
            return Err(format!(
                "--nodes × --duration / --every is {sends} sends, more than the limit of {MAX_SENDS}: \
                 fewer nodes, a shorter duration or a longer period"
            ));
        }
        Ok((Workload::Periodic { every, duration }, sends))
    }
}

#[derive(Serialize, Deserialize)]
struct Hop {
    id: u64,
    hops: u32,
}

#[derive(Serialize)]
struct Results {
    /// `steady` or `periodic`.
    workload: &'static str,
    nodes: u64,
    /// Messages kept in flight (steady), or in flight when the run ended (periodic).
    in_flight: u64,
    deliveries: u64,
    metrics: bool,
    /// `link` or `node`: how the network counted traffic.
    traffic: &'static str,
    wall_s: f64,
    deliveries_per_s: f64,
    virtual_s: f64,
    speedup: f64,
    instants: u64,
    events: u64,
    bytes_delivered: u64,
    /// Peak resident set of the whole process, read after everything else (the report too).
    peak_rss_bytes: Option<u64>,
    /// Peak resident set when the run ended, before the report (which maps every link).
    run_peak_rss_bytes: Option<u64>,
    /// The event queue's own bytes (keys, slab, message buffers) per event queued at the end.
    queue_bytes_per_in_flight: f64,
}

/// The latency of each delivery, with `--metrics`: a typed handle, as the studies record.
static LATENCY: DurationHistogram = DurationHistogram::new("netbench.latency");
/// The deliveries, with `--metrics`.
static DELIVERIES: Counter = Counter::new("netbench.deliveries");

/// Counts a delivery, and records its metrics when asked.
fn delivered(ctx: &Context<Hop>, count: &Cell<u64>, metrics: bool, sent_at: SimTime) -> u64 {
    let n = count.get() + 1;
    count.set(n);
    if metrics {
        LATENCY.record(ctx.now().saturating_since(sent_at));
        DELIVERIES.add(1);
    }
    n
}

/// The steady workload's nodes: each delivery sends one message on, until `target`.
fn steady(
    mut builder: faultline::SimBuilder<Hop>,
    args: &Args,
    count: &Rc<Cell<u64>>,
    in_flight: u64,
    target: u64,
) -> faultline::SimBuilder<Hop> {
    let metrics = args.metrics;
    for i in 0..args.nodes {
        let count = count.clone();
        builder = builder.node(&format!("n{i}"), move || {
            let count = count.clone();
            FnNode(move |ctx: Context<Hop>| {
                let count = count.clone();
                async move {
                    let nodes = ctx.node_count();
                    // Node i starts the messages i, i + N, i + 2N, ... below M.
                    for id in (i..in_flight).step_by(nodes) {
                        let to = ctx.rng().random_range(0..nodes);
                        ctx.send(NodeId::from_index(to), &Hop { id, hops: 0 });
                    }
                    loop {
                        let env = ctx.recv().await;
                        if delivered(&ctx, &count, metrics, env.sent_at) == target {
                            let _ = ctx.control().submit(Command::Stop);
                        }
                        let to = ctx.rng().random_range(0..nodes);
                        ctx.send(NodeId::from_index(to), &Hop { id: env.msg.id, hops: env.msg.hops + 1 });
                    }
                }
            })
        });
    }
    builder
}

/// The periodic workload's nodes: a sender every `every` (from a random phase), a receiver.
fn periodic(
    mut builder: faultline::SimBuilder<Hop>,
    args: &Args,
    count: &Rc<Cell<u64>>,
    every: Duration,
) -> faultline::SimBuilder<Hop> {
    let metrics = args.metrics;
    for i in 0..args.nodes {
        let count = count.clone();
        builder = builder.node(&format!("n{i}"), move || {
            let count = count.clone();
            FnNode(move |ctx: Context<Hop>| {
                let count = count.clone();
                async move {
                    let receiver = ctx.clone();
                    ctx.spawn(async move {
                        loop {
                            let env = receiver.recv().await;
                            delivered(&receiver, &count, metrics, env.sent_at);
                        }
                    });
                    let nodes = ctx.node_count();
                    let phase = ctx.rng().random_range(0..every.as_nanos() as u64);
                    let mut next = ctx.now() + Duration::from_nanos(phase);
                    for id in 0.. {
                        ctx.sleep_until(next).await;
                        // A random peer other than this node (itself when it is alone).
                        let mut to = ctx.rng().random_range(0..nodes.saturating_sub(1).max(1));
                        if nodes > 1 && to >= i as usize {
                            to += 1;
                        }
                        ctx.send(NodeId::from_index(to), &Hop { id, hops: 0 });
                        next += every;
                    }
                }
            })
        });
    }
    builder
}

fn main() -> ExitCode {
    let args = Args::parse();
    let workload = match args.workload() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args, workload) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, workload: Workload) -> Result<()> {
    let count = Rc::new(Cell::new(0u64));
    let builder = Sim::<Hop>::builder(args.seed).default_link(LinkConfig::with_latency(Latency::Uniform {
        min: Duration::from_millis(1),
        max: Duration::from_millis(10),
    }));
    let builder = if args.link_traffic { builder.link_traffic() } else { builder };
    let builder = match workload {
        Workload::Steady { in_flight, deliveries } => steady(builder, args, &count, in_flight, deliveries),
        Workload::Periodic { every, .. } => periodic(builder, args, &count, every),
    };
    let mut sim = builder.build()?;
    let start = Instant::now();
    match workload {
        Workload::Steady { .. } => sim.run(),
        Workload::Periodic { duration, .. } => sim.run_until(SimTime::ZERO + duration),
    };
    let wall_s = start.elapsed().as_secs_f64();
    let run_peak_rss_bytes = rss::peak_rss_bytes();
    let report = sim.finish()?;
    let virtual_s = report.end.as_secs_f64();
    let deliveries = count.get();
    let (name, in_flight) = match workload {
        Workload::Steady { in_flight, .. } => ("steady", in_flight),
        Workload::Periodic { .. } => {
            let t = report.net.total();
            ("periodic", t.sent.saturating_sub(t.delivered))
        }
    };
    let mut results = Results {
        workload: name,
        nodes: args.nodes,
        in_flight,
        deliveries,
        metrics: args.metrics,
        traffic: if report.net.per_link() { "link" } else { "node" },
        wall_s,
        deliveries_per_s: deliveries as f64 / wall_s,
        virtual_s,
        speedup: virtual_s / wall_s,
        instants: report.engine.instants,
        events: report.engine.events,
        bytes_delivered: report.net.total().bytes_delivered,
        peak_rss_bytes: None,
        run_peak_rss_bytes,
        queue_bytes_per_in_flight: report.engine.queue_bytes as f64 / report.engine.pending.max(1) as f64,
    };
    // After the run, the report and everything else this process built.
    drop(report);
    results.peak_rss_bytes = rss::peak_rss_bytes();
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        println!(
            "{} {} deliveries in {:.3} s wall: {:.2} M deliveries/s; {:.1} s virtual ({:.0}x wall); peak RSS {} MiB; {:.0} queue bytes per event queued; traffic counted per {}",
            results.deliveries,
            results.workload,
            wall_s,
            results.deliveries_per_s / 1e6,
            virtual_s,
            results.speedup,
            results.peak_rss_bytes.map_or("?".into(), |p| (p / (1 << 20)).to_string()),
            results.queue_bytes_per_in_flight,
            results.traffic,
        );
    }
    Ok(())
}
