//! The binary of any study, behind [`Study`]: parse the command line, then one run (with
//! interrupts, `--json` or text, `--out DIR` written whole, the speed line on stderr), a sweep
//! over values × seeds (this shard of it, if asked), or the merge of shards' rows; and the
//! exit codes every study shares (0 done, 1 the run failed, 2 bad input, 3 a limit stopped the
//! run, 130/143 interrupted). A study's `main` is `study::run::main::<MyStudy>()`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::config::read_limited;
use super::output::print;
use super::{Common, EXIT_LIMIT, Refusal, Study, interrupt};
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::OutDir;
use crate::sweep::{self, Jobs, Sweep};

/// How hard the simulator worked in one run (kept out of the summary, which must not depend on
/// the machine): the speed line on stderr.
#[derive(Clone, Copy, Debug)]
pub struct Speed {
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
    /// Virtual seconds simulated.
    pub virtual_s: f64,
    /// Units of work simulated (attempts, operations).
    pub work: u64,
    /// What a unit of work is called, plural (`attempts`).
    pub unit: &'static str,
    /// Events the core fired.
    pub events: u64,
}

impl Speed {
    /// The line on stderr after a run.
    pub fn line(&self) -> String {
        format!(
            "simulated {} {} over {:.0} s of virtual time in {:.3} s wall: {:.0} {}/s, {:.0}x real time, {} events",
            self.work,
            self.unit,
            self.virtual_s,
            self.wall_s,
            self.work as f64 / self.wall_s,
            self.unit,
            self.virtual_s / self.wall_s,
            self.events
        )
    }
}

/// One run of a sweep, as a shard prints it (one JSON line): enough for a merge to tell which
/// sweep it belongs to and whether a run is missing or doubled.
pub trait SweepRow: Serialize + DeserializeOwned + Clone + Send {
    /// Which run of which sweep this row is.
    fn id(&self) -> &RunId;

    /// The swept parameter.
    fn key(&self) -> &str {
        &self.id().key
    }
    /// Position in the whole sweep.
    fn index(&self) -> usize {
        self.id().index
    }
    /// Runs in the whole sweep.
    fn of(&self) -> u64 {
        self.id().of
    }
}

/// What identifies one run in a sweep's rows, the same in every study: a study's row holds it
/// (flattened, so a row's JSON starts with these fields) and adds its own measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunId {
    /// The swept parameter.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The seed.
    pub seed: u64,
    /// Position in the whole sweep.
    pub index: usize,
    /// Runs in the whole sweep (so that a merge knows when a shard is missing).
    pub of: u64,
}

impl RunId {
    /// The id of `job` in a sweep of `of` runs over `key`, run with `seed`.
    pub fn new(key: &str, job: &crate::sweep::Job, seed: u64, of: u64) -> RunId {
        RunId { key: key.to_string(), value: job.value.clone(), seed, index: job.index, of }
    }
}

/// The mean of the values present, if any.
pub fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = xs.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A sweep's rows grouped by the value they ran with, values in sweep order.
pub fn by_value<R: SweepRow>(rows: &[R]) -> Vec<(String, Vec<&R>)> {
    let mut sorted: Vec<&R> = rows.iter().collect();
    sorted.sort_by_key(|r| r.index());
    let mut groups: Vec<(String, Vec<&R>)> = Vec::new();
    for r in sorted {
        let value = &r.id().value;
        match groups.iter_mut().find(|(v, _)| v == value) {
            Some((_, members)) => members.push(r),
            None => groups.push((value.clone(), vec![r])),
        }
    }
    groups
}

/// A sweep's run stopped by a limit: the sweep cannot judge that value (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Incomplete(pub String);

/// Writes one line to stderr; a closed stderr is ignored (there is nowhere left to say it).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The whole binary of study `S`: parses `std::env::args_os()` and runs what it asks.
pub fn main<S: Study>() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = S::subcommand(&args) {
        return code;
    }
    let (common, params) = match S::parse_args(args) {
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
        read_rows::<S::Row>(&common.merge, common.limits.max_input_bytes)
            .map_err(anyhow::Error::from)
            .and_then(|rows| report_sweep::<S>(&common, rows[0].key(), "merged from shards", &rows))
    } else if let Some(spec) = &common.sweep {
        run_sweep::<S>(&common, &params, spec)
    } else {
        single::<S>(&common, &params)
    };
    exit(result)
}

/// The exit code of a result: errors are printed as `error: ...` with code 2 (bad input), 3 (a
/// sweep's run stopped by a limit) or 1 (anything else).
pub fn exit(result: Result<ExitCode>) -> ExitCode {
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

/// One run: interrupts watched, the report on stdout, `--out` files, the speed line.
fn single<S: Study>(c: &Common, p: &S::Params) -> Result<ExitCode> {
    let live = FaultArgs { faults: None, nemesis: None, control: c.control.clone(), realtime: c.realtime };
    let traces = TraceArgs { trace_json: c.trace_json.clone(), trace_chrome: c.trace_chrome.clone() };
    interrupt::install();
    let (summary, speed) = S::run(p, &live, &traces, &c.limits)?;
    if c.json {
        print(&format!("{}\n", serde_json::to_string(&summary)?))?;
    } else {
        print(&S::text(&summary))?;
    }
    if let Some(dir) = &c.out {
        // Everything is made before the first file is written: a failure leaves no mix of
        // this run's files and an older run's.
        let files = out_files::<S>(p, &summary)?;
        let out = OutDir::create(dir)?;
        let mut written = Vec::new();
        for (name, contents) in &files {
            written.push(out.write(name, contents)?);
        }
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        note(&format!("wrote {}", names.join(", ")));
    } else if let Some(f) = S::generated_faults(p, &summary).or(c.control.as_ref().and(S::faults(&summary))) {
        // A nemesis's faults, or a live session's: without --out, stderr is where they are kept.
        note(&format!("# faults of this run (replay with --faults FILE):\n{f}"));
    }
    S::after_run(p, &summary)?;
    note(&speed.line());
    if let Some(why) = S::incomplete(&summary) {
        note(&format!("error: the run is incomplete: {why}"));
        return Ok(ExitCode::from(interrupt::received().map_or(EXIT_LIMIT, interrupt::exit_code)));
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of `faults.txt`.
pub const FAULTS_HEADER: &str = "# The faults of this run (script entries, then the nemesis's, then live commands at the\n# virtual instant each applied). Replay the run with --faults faults.txt.\n";

/// `faults.txt`: the faults that ran as a script that `--faults` reads back.
pub fn faults_file(script: Option<&str>) -> Vec<u8> {
    let mut text = FAULTS_HEADER.to_string();
    match script.filter(|s| !s.trim().is_empty()) {
        Some(s) => text.push_str(s),
        None => text.push_str("# No fault ran in this run.\n"),
    }
    text.into_bytes()
}

/// Everything `--out DIR` writes for one run, by name, in order: `summary.json`, the study's
/// files (`windows.csv`), each chart as `NAME.svg`, `faults.txt`, and `report.html` last.
pub fn out_files<S: Study>(p: &S::Params, summary: &S::Summary) -> Result<Vec<(String, Vec<u8>)>> {
    let mut json = serde_json::to_string_pretty(summary)?;
    json.push('\n');
    let mut files = vec![("summary.json".to_string(), json.into_bytes())];
    files.extend(S::files(summary).into_iter().map(|(n, c)| (n.to_string(), c)));
    for f in S::charts(summary) {
        files.push((format!("{}.svg", f.name), f.svg.into_bytes()));
    }
    files.push(("faults.txt".to_string(), faults_file(S::faults(summary))));
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let page = super::page::page::<S>(p, summary, &names);
    files.push(("report.html".to_string(), crate::report::html::page(&page).into_bytes()));
    Ok(files)
}

/// Runs the sweep (this shard of it, if asked), in parallel on all cores.
fn run_sweep<S: Study>(c: &Common, p: &S::Params, spec: &Sweep) -> Result<ExitCode> {
    let jobs = Jobs::new(spec, S::seed(p), c.seeds, c.shard, c.limits.max_sweep_jobs).map_err(InputError)?;
    let params_of = |value: &str, seed: u64| -> Result<S::Params, InputError> {
        let params = S::set(p, &spec.key, value, &c.limits)?;
        Ok(if spec.key != "seed" { S::with_seed(&params, seed) } else { params })
    };
    // Every value is checked before anything runs.
    for value in &spec.values {
        params_of(value, S::seed(p))?;
    }
    let rows = sweep::run_all(&jobs, |job| {
        let params = params_of(&job.value, job.seed)?;
        let (summary, _) = S::run(&params, &FaultArgs::default(), &TraceArgs::default(), &c.limits)?;
        let seed = S::seed(&params);
        if let Some(why) = S::incomplete(&summary) {
            return Err(Incomplete(format!("--sweep {}={} (seed {seed}): {why}", spec.key, job.value)).into());
        }
        Ok(S::row(&spec.key, job, seed, jobs.total(), &summary))
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
    report_sweep::<S>(c, &spec.key, &S::describe(p), &rows)
}

/// The whole sweep: the study's table, or its one JSON object.
fn report_sweep<S: Study>(c: &Common, key: &str, what: &str, rows: &[S::Row]) -> Result<ExitCode> {
    print(&S::sweep_report(key, what, rows, c.json)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the rows that shards printed (JSON lines), each file within `max_bytes`; errors name
/// the file and line. The rows must be the whole sweep, each run once: a missing shard is named.
pub fn read_rows<R: SweepRow>(paths: &[impl AsRef<Path>], max_bytes: u64) -> Result<Vec<R>, InputError> {
    let mut rows: Vec<R> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = read_limited(path, "--merge", max_bytes)?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let row: R = serde_json::from_str(line)
                .map_err(|e| InputError(format!("--merge {}: line {}: not a sweep row: {e}", path.display(), i + 1)))?;
            rows.push(row);
        }
    }
    let Some(first) = rows.first().cloned() else {
        return Err(InputError("--merge: the files hold no sweep rows (give every shard's output)".into()));
    };
    if let Some(other) = rows.iter().find(|r| r.key() != first.key() || r.of() != first.of()) {
        return Err(InputError(format!(
            "--merge: rows of two sweeps ({} of {} runs and {} of {} runs) cannot merge",
            first.key(),
            first.of(),
            other.key(),
            other.of()
        )));
    }
    rows.sort_by_key(|r| r.index());
    if let Some(w) = rows.windows(2).find(|w| w[0].index() == w[1].index()) {
        return Err(InputError(format!("--merge: run {} appears twice (was a shard given twice?)", w[0].index())));
    }
    let of = first.of();
    if let Some(r) = rows.iter().find(|r| r.index() as u64 >= of) {
        return Err(InputError(format!("--merge: run {} is beyond the sweep's {of} runs", r.index())));
    }
    if (rows.len() as u64) < of {
        let have: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.index()).collect();
        let missing: Vec<String> =
            (0..of as usize).filter(|i| !have.contains(i)).take(10).map(|i| i.to_string()).collect();
        return Err(InputError(format!(
            "--merge: {} of the sweep's {of} runs are missing (runs {}{}): give every shard's output",
            of - rows.len() as u64,
            missing.join(", "),
            if of - rows.len() as u64 > 10 { ", ..." } else { "" }
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        #[serde(flatten)]
        id: RunId,
    }

    impl SweepRow for R {
        fn id(&self) -> &RunId {
            &self.id
        }
    }

    #[test]
    fn merged_rows_must_be_one_whole_sweep_each_run_once() {
        let dir = std::env::temp_dir().join(format!("faultline-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, rows: &[(&str, usize, u64)]| {
            let text: String = rows
                .iter()
                .map(|(k, i, of)| format!("{{\"key\":\"{k}\",\"value\":\"v\",\"seed\":1,\"index\":{i},\"of\":{of}}}\n"))
                .collect();
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let a = file("a", &[("x", 2, 3), ("x", 0, 3)]);
        let b = file("b", &[("x", 1, 3)]);
        let rows: Vec<R> = read_rows(&[&a, &b], 1000).unwrap();
        assert_eq!(rows.iter().map(|r| r.index()).collect::<Vec<_>>(), [0, 1, 2], "in sweep order");
        let e = |paths: &[&PathBuf]| read_rows::<R>(paths, 1000).unwrap_err().0;
        assert!(e(&[&a]).contains("1 of the sweep's 3 runs are missing (runs 1)"), "{}", e(&[&a]));
        assert!(e(&[&a, &b, &b]).contains("run 1 appears twice"));
        let other = file("c", &[("y", 1, 3)]);
        assert!(e(&[&a, &other]).contains("rows of two sweeps"));
        let beyond = file("d", &[("x", 1, 3), ("x", 3, 3)]);
        assert!(e(&[&a, &beyond]).contains("run 3 is beyond"));
        let bad = file("e", &[]);
        std::fs::write(&bad, "{}\n").unwrap();
        assert!(e(&[&bad]).contains("line 1: not a sweep row"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_speed_line_names_the_unit_of_work() {
        let s = Speed { wall_s: 0.5, virtual_s: 30.0, work: 1000, unit: "operations", events: 7 };
        assert_eq!(
            s.line(),
            "simulated 1000 operations over 30 s of virtual time in 0.500 s wall: 2000 operations/s, 60x real time, 7 events"
        );
    }
}
