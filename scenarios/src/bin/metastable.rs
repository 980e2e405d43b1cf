//! metastable: when do retry storms keep a system down after the trigger is gone, and which
//! defence brings it back? Flags override `--config FILE.toml`, which overrides the defaults.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use faultline_nodes::metastable::{Backoff, DeadlinePolicy};
use faultline_scenarios::cli::{FaultArgs, InputError, Sweep, TraceArgs, duration_arg, read_config, set_field};
use faultline_scenarios::metastable::{self, LoadKind, Params, Summary};
use faultline_scenarios::report::OutDir;

/// Retry storms that outlive their trigger, and the defences that end them.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Durations take units: 500ms, 3s, 2m. Presets: scenarios/presets/metastable/*.toml"
)]
struct Args {
    /// TOML file of parameters (same names in snake_case); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Master seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Load shape.
    #[arg(long, value_enum)]
    load: Option<LoadKind>,
    /// Requests/s outside the spike.
    #[arg(long, allow_negative_numbers = true)]
    base_rps: Option<f64>,
    /// Requests/s during the spike (the peak, for a ramp).
    #[arg(long, allow_negative_numbers = true)]
    spike_rps: Option<f64>,
    /// When the spike starts.
    #[arg(long, value_parser = duration_arg)]
    spike_start: Option<Duration>,
    /// How long the spike lasts.
    #[arg(long, value_parser = duration_arg)]
    spike_duration: Option<Duration>,
    /// Length of the run (virtual time).
    #[arg(long, value_parser = duration_arg)]
    duration: Option<Duration>,
    /// Client nodes sharing the load.
    #[arg(long)]
    clients: Option<usize>,
    /// Requests the server serves at once.
    #[arg(long)]
    capacity: Option<usize>,
    /// Service time with nothing else in service.
    #[arg(long, value_parser = duration_arg)]
    base_latency: Option<Duration>,
    /// Extra service time per request in service.
    #[arg(long, value_parser = duration_arg)]
    concurrency_slope: Option<Duration>,
    /// Client timeout per attempt.
    #[arg(long, value_parser = duration_arg)]
    timeout: Option<Duration>,
    /// Retries after the first attempt.
    #[arg(long)]
    max_retries: Option<u32>,
    /// none, exponential, full-jitter or decorrelated.
    #[arg(long)]
    backoff: Option<Backoff>,
    /// Backoff base.
    #[arg(long, value_parser = duration_arg)]
    backoff_base: Option<Duration>,
    /// Longest backoff.
    #[arg(long, value_parser = duration_arg)]
    backoff_cap: Option<Duration>,
    /// Retry budget: tokens each success deposits (a retry costs one).
    #[arg(long, value_name = "RATIO", allow_negative_numbers = true)]
    retry_budget: Option<f64>,
    /// Most tokens a client's retry budget holds.
    #[arg(long, allow_negative_numbers = true)]
    retry_budget_max: Option<f64>,
    /// Circuit breaker on the clients.
    #[arg(long)]
    breaker: bool,
    /// Outcomes the breaker judges by.
    #[arg(long)]
    breaker_window: Option<usize>,
    /// Failure fraction that opens the breaker.
    #[arg(long, allow_negative_numbers = true)]
    breaker_failure_ratio: Option<f64>,
    /// How long the breaker stays open.
    #[arg(long, value_parser = duration_arg)]
    breaker_cooldown: Option<Duration>,
    /// Successful probes that close the breaker.
    #[arg(long)]
    breaker_probes: Option<u32>,
    /// Reject new requests when this many wait.
    #[arg(long)]
    queue_limit: Option<usize>,
    /// Shed the oldest queued requests above this queue length.
    #[arg(long)]
    shed_above: Option<usize>,
    /// off, expired or unfinishable: drop queued requests past (or unable to meet) their deadline.
    #[arg(long)]
    deadline: Option<DeadlinePolicy>,
    /// Serve newest first above this queue length.
    #[arg(long)]
    lifo_above: Option<usize>,
    /// One-way latency between clients and server.
    #[arg(long, value_parser = duration_arg)]
    link_latency: Option<Duration>,
    /// Width of the time-series windows.
    #[arg(long, value_parser = duration_arg)]
    window: Option<Duration>,
    /// Time after the trigger before the "after" phase starts.
    #[arg(long, value_parser = duration_arg)]
    settle: Option<Duration>,
    #[command(flatten)]
    faults: FaultArgs,
    #[command(flatten)]
    traces: TraceArgs,
    /// Print one JSON object on stdout and nothing else.
    #[arg(long)]
    json: bool,
    /// Write summary.json, windows.csv and chart.svg into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run once per value and find the tipping point: NAME=FROM:TO:STEP or NAME=A,B,C
    /// (e.g. spike-rps=250:450:25, concurrency-slope=1ms,2ms,3ms).
    #[arg(long, value_name = "SPEC")]
    sweep: Option<Sweep>,
}

/// Defaults, then the config file, then the flags.
fn params(args: &Args) -> Result<Params, InputError> {
    let mut p = match &args.config {
        Some(path) => {
            let mut p: Params = read_config(path)?;
            // A fault script named in a config file is found next to it.
            if let (Some(f), Some(dir)) = (&p.faults, path.parent()) {
                p.faults = Some(dir.join(f));
            }
            p
        }
        None => Params::default(),
    };
    macro_rules! overlay {
        ($($field:ident),*; $($optional:ident),*) => {
            $(if let Some(v) = args.$field.clone() { p.$field = v; })*
            $(if let Some(v) = args.$optional { p.$optional = Some(v); })*
        };
    }
    overlay!(seed, load, base_rps, spike_rps, spike_start, spike_duration, duration, clients, capacity,
        base_latency, concurrency_slope, timeout, max_retries, backoff, backoff_base, backoff_cap,
        retry_budget_max, breaker_window, breaker_failure_ratio, breaker_cooldown, breaker_probes, deadline,
        link_latency, window, settle; retry_budget, queue_limit, shed_above, lifo_above);
    p.breaker |= args.breaker;
    if let Some(f) = &args.faults.faults {
        p.faults = Some(f.clone());
    }
    if let Some(n) = &args.faults.nemesis {
        p.nemesis = Some(n.clone());
    }
    p.validate()?;
    Ok(p)
}

fn single(args: &Args, p: &Params) -> Result<()> {
    let (summary, speed) = metastable::run(p, &args.faults, &args.traces)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", metastable::text(&summary));
    }
    if let Some(dir) = &args.out {
        let out = OutDir::create(dir)?;
        let mut written = vec![
            out.json("summary.json", &summary)?,
            out.write("windows.csv", metastable::windows_csv(&summary).as_bytes())?,
            out.write("chart.svg", metastable::chart(&summary).render().as_bytes())?,
        ];
        if let Some(f) = &summary.faults {
            written.push(out.write("faults.txt", f.as_bytes())?);
        }
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("wrote {}", names.join(", "));
    } else if p.nemesis.is_some()
        && let Some(f) = &summary.faults
    {
        eprintln!("# faults of this run (replay with --faults FILE):\n{f}");
    }
    eprintln!(
        "simulated {} attempts over {:.0} s of virtual time in {:.3} s wall: {:.0} attempts/s, {:.0}x real time, {} events",
        speed.attempts,
        speed.virtual_s,
        speed.wall_s,
        speed.attempts as f64 / speed.wall_s,
        speed.virtual_s / speed.wall_s,
        speed.events
    );
    Ok(())
}

/// Runs every value of the sweep, in parallel on all cores, and reports them in order.
fn sweep(args: &Args, p: &Params, sweep: &Sweep) -> Result<()> {
    let runs: Vec<Params> = sweep.values.iter().map(|v| set_field(p, &sweep.key, v)).collect::<Result<_, _>>()?;
    for r in &runs {
        r.validate()?;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(runs.len());
    let results: Vec<(usize, Summary)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(params) = runs.get(i) else { break };
                        mine.push(
                            metastable::run(params, &FaultArgs::default(), &TraceArgs::default()).map(|(s, _)| (i, s)),
                        );
                    }
                    mine
                })
            })
            .map(|h| h.join().expect("a sweep worker panicked"))
            .collect::<Vec<_>>();
        handles.into_iter().flatten().collect::<Result<Vec<_>, _>>()
    })?;
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let rows: Vec<(&String, &Summary)> = results.iter().map(|(i, s)| (&sweep.values[*i], s)).collect();
    let tipping = rows.windows(2).find(|w| w[0].1.recovered != w[1].1.recovered);
    if args.json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(v, s)| serde_json::json!({"value": v, "recovered": s.recovered, "recovery_s": s.recovery_s, "phases": s.phases, "verdict": s.verdict}))
            .collect();
        let tip = tipping.map(|w| serde_json::json!({"from": w[0].0, "to": w[1].0}));
        println!("{}", serde_json::json!({"sweep": sweep.key, "runs": items, "tipping_point": tip}));
        return Ok(());
    }
    println!("metastable sweep of {}: {}", sweep.key, p.describe());
    println!(
        "\n{:>14} {:>11} {:>13} {:>12} {:>12}",
        sweep.key, "recovered", "recovery s", "after good%", "after att.x"
    );
    for (v, s) in &rows {
        let after = s.phases.after.as_ref();
        println!(
            "{:>14} {:>11} {:>13} {:>11.1}% {:>11.2}x",
            v,
            s.recovered.map_or("-".to_string(), |r| r.to_string()),
            s.recovery_s.map_or("-".to_string(), |r| format!("{r:.0}")),
            after.map_or(f64::NAN, |a| a.goodput_ratio * 100.0),
            after.map_or(f64::NAN, |a| a.retry_amplification)
        );
    }
    match tipping {
        Some(w) => println!(
            "\ntipping point: between {key}={} ({}) and {key}={} ({})",
            w[0].0,
            if w[0].1.recovered == Some(true) { "recovers" } else { "stays down" },
            w[1].0,
            if w[1].1.recovered == Some(true) { "recovers" } else { "stays down" },
            key = sweep.key
        ),
        None => println!("\ntipping point: not within these values (every run ended the same way)"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = params(&args).map_err(anyhow::Error::from).and_then(|p| match &args.sweep {
        Some(s) => sweep(&args, &p, s),
        None => single(&args, &p),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<InputError>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
