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
    /// The summary as JSON, to read fields from.
    pub summary: Value,
    /// What happened, in one line: the report page's verdict.
    pub verdict: String,
    /// The report page's body (`study::page::body`): verdict, explanation, charts, tables,
    /// experiments, as `report.html` shows them.
    pub body: String,
    /// Every file `--out` writes, by name, in its order (`study::run::out_files`): the same
    /// bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// Why the run stopped before its end, if it did.
    pub incomplete: Option<String>,
}

impl Outcome {
    /// The verdict line.
    pub fn verdict(&self) -> Option<&str> {
        Some(self.verdict.as_str()).filter(|v| !v.is_empty())
    }

    /// The file `name`, one of [`Outcome::files`].
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, f)| f.as_slice())
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
    /// Experiments to try (`Study::experiments`): a title, then the command.
    pub experiments: Vec<(&'static str, String)>,
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
            experiments: S::experiments(),
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
    Ok(Outcome {
        summary: serde_json::to_value(&summary)?,
        verdict: S::verdict(&summary),
        body: crate::study::page::body::<S>(&p, &summary),
        files: run::out_files::<S>(&p, &summary)?,
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
