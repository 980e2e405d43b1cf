//! The studies the server shows, each behind the same few functions made from its [`Study`]
//! implementation: parse a command line, run, sweep. Adding a study to the server is one line
//! in [`studies`].

use faultline::metrics::Counter;
use serde_json::Value;

use crate::cap::Cap;
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::crdt::Crdt;
use crate::csi::Csi;
use crate::metastable::params::Metastable;
use crate::study::run::{self, SweepReport};
use crate::study::{Common, Param, Refusal, RunLimits, Study};

/// Every study the server shows, in the order of the home page, with the metrics its live
/// chart draws first.
pub fn studies() -> Vec<Entry> {
    use faultline_nodes::{cap::metric as c, crdt::metric as d, csi::metric as x, metastable::metric as m};
    vec![
        Entry::of::<Metastable>().live(&[&m::OFFERED, &m::GOODPUT, &m::RETRIES, &m::TIMEOUTS, &m::LATE]),
        Entry::of::<Cap>().live(&[&c::OPS, &c::OK, &c::UNAVAILABLE, &c::TIMEOUTS]),
        Entry::of::<Crdt>().live(&[&d::OPS, &d::MESSAGES, &d::MERGES, &d::FULL_STATES]),
        Entry::of::<Csi>().live(&[&x::RECORDS, &x::STORED, &x::LOUD, &x::TIMEOUTS]),
    ]
}

/// A command line that parsed: the shared flags, and the study's parameters as JSON (the
/// fields of its parameter type).
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The shared flags (only `--config`, `--sweep` and `--seeds` come from the server).
    pub common: Common,
    /// The parameters, checked.
    pub params: Value,
}

/// What one run gave, ready to show and to download.
#[derive(Debug)]
pub struct Outcome {
    /// `summary.json`, as `--out` writes it.
    pub summary_json: String,
    /// The summary as JSON, to read fields from (`verdict`).
    pub summary: Value,
    /// The readable report, as the command line prints it.
    pub text: String,
    /// The files `--out` writes besides `summary.json`, by name.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Why the run stopped before its end, if it did.
    pub incomplete: Option<String>,
}

impl Outcome {
    /// The verdict line, if the study has one.
    pub fn verdict(&self) -> Option<&str> {
        self.summary.get("verdict").and_then(Value::as_str)
    }

    /// The file `name` (`summary.json` or one of [`Outcome::files`]).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        if name == "summary.json" {
            return Some(self.summary_json.as_bytes());
        }
        self.files.iter().find(|(n, _)| *n == name).map(|(_, f)| f.as_slice())
    }
}

/// A sweep's progress: called with runs done and runs in all; returning `false` stops it.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64) -> bool + Send);

/// One study behind plain functions, so that the server holds studies of different types in
/// one list.
#[derive(Clone)]
pub struct Entry {
    /// The binary's name, and the page's path.
    pub name: &'static str,
    /// The question it answers.
    pub about: &'static str,
    /// Its parameters.
    pub table: &'static [Param],
    /// Its default parameters, as JSON.
    pub defaults: Value,
    /// Parses a command line (program name first) as the binary does.
    pub parse: fn(&[String]) -> Result<Parsed, Refusal>,
    /// Runs once with these parameters, live control and pacing, within the limits.
    pub run: fn(&Parsed, &FaultArgs, &RunLimits) -> anyhow::Result<Outcome>,
    /// Runs the command line's `--sweep` (in parallel) and returns its report.
    pub sweep: fn(&Parsed, &RunLimits, Progress<'_>) -> anyhow::Result<SweepReport>,
    /// The counters a live chart draws first (by name); the busiest others fill up the rest.
    pub live_metrics: Vec<&'static str>,
}

impl Entry {
    /// The entry of study `S`.
    pub fn of<S: Study>() -> Entry {
        Entry {
            name: S::NAME,
            about: S::ABOUT,
            table: S::table(),
            defaults: serde_json::to_value(S::Params::default()).unwrap_or(Value::Null),
            parse: parse::<S>,
            run: run::<S>,
            sweep: sweep::<S>,
            live_metrics: Vec::new(),
        }
    }

    /// The same entry, whose live chart draws these counters first.
    pub fn live(mut self, counters: &[&'static Counter]) -> Entry {
        self.live_metrics = counters.iter().map(|c| c.name()).collect();
        self
    }

    /// The parameter called `name` (flag spelling).
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.table.iter().find(|p| p.name == name)
    }
}

fn parse<S: Study>(args: &[String]) -> Result<Parsed, Refusal> {
    let (common, params) = S::parse_args(args.iter().cloned())?;
    let params = serde_json::to_value(&params).map_err(|e| InputError(e.to_string()))?;
    Ok(Parsed { common, params })
}

fn params<S: Study>(parsed: &Parsed) -> Result<S::Params, InputError> {
    serde_json::from_value(parsed.params.clone()).map_err(|e| InputError(format!("parameters: {e}")))
}

fn run<S: Study>(parsed: &Parsed, live: &FaultArgs, limits: &RunLimits) -> anyhow::Result<Outcome> {
    let p = params::<S>(parsed)?;
    let (summary, _speed) = S::run(&p, live, &TraceArgs::default(), limits)?;
    let mut summary_json = serde_json::to_string_pretty(&summary)?;
    summary_json.push('\n');
    Ok(Outcome {
        summary: serde_json::to_value(&summary)?,
        summary_json,
        text: S::text(&summary),
        files: S::files(&summary),
        incomplete: S::incomplete(&summary).map(str::to_string),
    })
}

fn sweep<S: Study>(parsed: &Parsed, limits: &RunLimits, progress: Progress<'_>) -> anyhow::Result<SweepReport> {
    let p = params::<S>(parsed)?;
    let mut c = parsed.common.clone();
    c.limits = *limits;
    let Some(grid) = c.sweep.clone() else {
        return Err(InputError("--sweep: give a parameter and its values".into()).into());
    };
    let progress = std::sync::Mutex::new(progress);
    let tick = |done: u64, of: u64| (progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner))(done, of);
    let rows = run::sweep_rows::<S>(&c, &p, &grid, &tick)?;
    run::sweep_report::<S>(c.measure.as_deref(), &S::describe(&p), &rows)
}
