//! metastable: when do retry storms keep a system down after the trigger is gone, and which
//! defence brings it back? Its parameters come from the study's table (flags over
//! `--config FILE.toml` over the defaults); everything else is the shared study command line.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use faultline_scenarios::cli::{FaultArgs, InputError, TraceArgs};
use faultline_scenarios::metastable::params::Metastable;
use faultline_scenarios::metastable::sweep::{Row, aggregate, read_rows, table, tipping};
use faultline_scenarios::metastable::{self, Params};
use faultline_scenarios::report::OutDir;
use faultline_scenarios::study::output::print;
use faultline_scenarios::study::{Common, EXIT_LIMIT, Refusal, Study, interrupt};
use faultline_scenarios::sweep::{self, Jobs, Sweep};

/// A sweep's run stopped by a limit: the sweep cannot judge that value (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Incomplete(String);

/// Writes one line to stderr; a closed stderr is ignored (there is nowhere left to say it).
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn single(c: &Common, p: &Params) -> Result<ExitCode> {
    let live = FaultArgs { faults: None, nemesis: None, control: c.control.clone(), realtime: c.realtime };
    let traces = TraceArgs { trace_json: c.trace_json.clone(), trace_chrome: c.trace_chrome.clone() };
    interrupt::install();
    let (summary, speed) = metastable::run_limited(p, &live, &traces, &c.limits)?;
    if c.json {
        print(&format!("{}\n", serde_json::to_string(&summary)?))?;
    } else {
        print(&metastable::text(&summary))?;
    }
    if let Some(dir) = &c.out {
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
        note(&format!("wrote {}", names.join(", ")));
    } else if p.nemesis.is_some()
        && let Some(f) = &summary.faults
    {
        note(&format!("# faults of this run (replay with --faults FILE):\n{f}"));
    }
    note(&format!(
        "simulated {} attempts over {:.0} s of virtual time in {:.3} s wall: {:.0} attempts/s, {:.0}x real time, {} events",
        speed.attempts,
        speed.virtual_s,
        speed.wall_s,
        speed.attempts as f64 / speed.wall_s,
        speed.virtual_s / speed.wall_s,
        speed.events
    ));
    if let Some(why) = &summary.incomplete {
        note(&format!("error: the run is incomplete: {why}"));
        return Ok(ExitCode::from(interrupt::received().map_or(EXIT_LIMIT, interrupt::exit_code)));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the sweep (this shard of it, if asked), in parallel on all cores.
fn run_sweep(c: &Common, p: &Params, spec: &Sweep) -> Result<ExitCode> {
    let jobs = Jobs::new(spec, p.seed, c.seeds, c.shard, c.limits.max_sweep_jobs).map_err(InputError)?;
    let params_of = |value: &str, seed: u64| -> Result<Params, InputError> {
        let mut params = Metastable::set(p, &spec.key, value, &c.limits)?;
        if spec.key != "seed" {
            params.seed = seed;
        }
        Ok(params)
    };
    // Every value is checked before anything runs.
    for value in &spec.values {
        params_of(value, p.seed)?;
    }
    let rows = sweep::run_all(&jobs, |job| {
        let params = params_of(&job.value, job.seed)?;
        let (summary, _) = metastable::run_limited(&params, &FaultArgs::default(), &TraceArgs::default(), &c.limits)?;
        if let Some(why) = &summary.incomplete {
            return Err(Incomplete(format!("--sweep {}={} (seed {}): {why}", spec.key, job.value, params.seed)).into());
        }
        Ok(Row::new(&spec.key, job, params.seed, jobs.total(), &summary))
    })?;
    if c.shard.is_some() {
        let mut text = String::new();
        for row in &rows {
            text.push_str(&serde_json::to_string(row)?);
            text.push('\n');
        }
        print(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    report_sweep(c, &spec.key, &p.describe(), &rows)
}

/// The whole sweep: a table and its tipping point, or one JSON object.
fn report_sweep(c: &Common, key: &str, what: &str, rows: &[Row]) -> Result<ExitCode> {
    let values = aggregate(rows);
    if c.json {
        let tip = tipping(&values).map(|(a, b)| serde_json::json!({"from": a.value, "to": b.value}));
        let all = serde_json::json!({"sweep": key, "values": values, "runs": rows, "tipping_point": tip});
        print(&format!("{all}\n"))?;
    } else {
        print(&table(key, what, &values))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let (common, params) = match Metastable::parse_args(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(Refusal::Info(text)) => {
            return if print(&text).is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
        Err(Refusal::Input(e)) => {
            note(&format!("error: {e}"));
            return ExitCode::from(2);
        }
    };
    let result = if !common.merge.is_empty() {
        read_rows(&common.merge, common.limits.max_input_bytes)
            .map_err(anyhow::Error::from)
            .and_then(|rows| report_sweep(&common, &rows[0].key.clone(), "merged from shards", &rows))
    } else if let Some(spec) = &common.sweep {
        run_sweep(&common, &params, spec)
    } else {
        single(&common, &params)
    };
    match result {
        Ok(code) => code,
        Err(e) if e.is::<InputError>() => {
            note(&format!("error: {e}"));
            ExitCode::from(2)
        }
        Err(e) if e.is::<Incomplete>() => {
            note(&format!("error: {e}"));
            ExitCode::from(EXIT_LIMIT)
        }
        Err(e) => {
            note(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
