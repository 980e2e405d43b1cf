//! metastable: when do retry storms keep a system down after the trigger is gone, and which
//! defence brings it back? Flags override `--config FILE.toml`, which overrides the defaults.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use faultline_nodes::metastable::{Backoff, DeadlinePolicy};
use faultline_scenarios::cli::{FaultArgs, InputError, TraceArgs, duration_arg, read_config, set_field};
use faultline_scenarios::metastable::sweep::{Row, aggregate, read_rows, table, tipping};
use faultline_scenarios::metastable::{self, LoadKind, Params};
use faultline_scenarios::report::OutDir;
use faultline_scenarios::sweep::{self, Shard, Sweep};

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
    /// Runs per sweep value, with seeds --seed, --seed + 1, ...; a value recovers when most do.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Run only shard I of N of the sweep and print its rows as JSON lines (merge the shards'
    /// outputs with --merge).
    #[arg(long, value_name = "I/N", requires = "sweep")]
    shard: Option<Shard>,
    /// Merge the JSON-lines outputs of sweep shards and report the whole sweep.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "sweep")]
    merge: Vec<PathBuf>,
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

/// Runs the sweep (this shard of it, if asked), in parallel on all cores.
fn run_sweep(args: &Args, p: &Params, spec: &Sweep) -> Result<()> {
    let jobs = sweep::jobs(spec, p.seed, args.seeds, args.shard);
    let params_of = |job: &sweep::Job| -> Result<Params, InputError> {
        let params = Params { seed: job.seed, ..set_field(p, &spec.key, &job.value)? };
        params.validate()?;
        Ok(params)
    };
    // Every value is checked before anything runs.
    for job in &jobs {
        params_of(job)?;
    }
    let rows = sweep::run_all(&jobs, |job| {
        let (summary, _) = metastable::run(&params_of(job)?, &FaultArgs::default(), &TraceArgs::default())?;
        Ok(Row::new(&spec.key, job, &summary))
    })?;
    if args.shard.is_some() {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(());
    }
    report_sweep(args, &spec.key, &p.describe(), &rows)
}

/// The whole sweep: a table and its tipping point, or one JSON object.
fn report_sweep(args: &Args, key: &str, what: &str, rows: &[Row]) -> Result<()> {
    let values = aggregate(rows);
    if args.json {
        let tip = tipping(&values).map(|(a, b)| serde_json::json!({"from": a.value, "to": b.value}));
        println!("{}", serde_json::json!({"sweep": key, "values": values, "runs": rows, "tipping_point": tip}));
    } else {
        print!("{}", table(key, what, &values));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = params(&args).map_err(anyhow::Error::from).and_then(|p| match &args.sweep {
        _ if !args.merge.is_empty() => {
            let rows = read_rows(&args.merge)?;
            let key = rows.first().map_or("(nothing)".to_string(), |r| r.key.clone());
            report_sweep(&args, &key, "merged from shards", &rows)
        }
        Some(s) => run_sweep(&args, &p, s),
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
