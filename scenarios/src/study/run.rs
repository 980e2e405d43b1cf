//! The binary of any study, behind [`Study`]: parse the command line, then one run (with
//! interrupts, `--json` or text, `--out DIR` written whole, the speed line on stderr), a sweep
//! over a grid of values × seeds (this shard of it, if asked), or the merge of shards' rows; and the
//! exit codes every study shares (0 done, 1 the run failed, 2 bad input, 3 a limit stopped the
//! run, 130/143 interrupted). A study's `main` is `study::run::main::<MyStudy>()`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::config::read_limited;
use super::output::print;
use super::{Common, EXIT_LIMIT, Refusal, Study, interrupt};
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::OutDir;
use crate::sweep::cells::Shown;
use crate::sweep::{self, Grid, Jobs, diagram};

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

pub use crate::sweep::row::{Measure, RunId, Setting, SweepRow, Verdict, mean};

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
            .and_then(|rows| report_sweep::<S>(&common, "merged from shards", &rows))
    } else if let Some(grid) = &common.sweep {
        run_sweep::<S>(&common, &params, grid)
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

/// Runs the sweep (this shard of it, if asked), in parallel on all cores, with a progress bar
/// on stderr when it is a terminal.
fn run_sweep<S: Study>(c: &Common, p: &S::Params, grid: &Grid) -> Result<ExitCode> {
    let bar = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let rows = sweep_rows::<S>(c, p, grid, &|done, total| {
        let mut bar = bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        bar.get_or_insert_with(|| progress(total)).set_position(done);
        true
    });
    if let Some(bar) = bar.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        bar.finish_and_clear();
    }
    let rows = rows?;
    if c.shard.is_some() {
        let mut text = String::new();
        for row in &rows {
            text.push_str(&serde_json::to_string(row)?);
            text.push('\n');
        }
        print(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    report_sweep::<S>(c, &S::describe(p), &rows)
}

/// Every run of the sweep `grid` (this shard of it, if `c` asks), in job order, run in
/// parallel on all cores. Every value is checked before anything runs. `tick(done, total)` is
/// called before the first run and after each; when it returns false, no further run starts
/// and the sweep ends with an error.
pub fn sweep_rows<S: Study>(
    c: &Common,
    p: &S::Params,
    grid: &Grid,
    tick: &(dyn Fn(u64, u64) -> bool + Sync),
) -> Result<Vec<S::Row>> {
    Shown::choose::<S::Row>(c.measure.as_deref()).map_err(InputError)?;
    let jobs = Jobs::new(grid, S::seed(p), c.seeds, c.shard, c.limits.max_sweep_jobs).map_err(InputError)?;
    let params_of = |values: &[String], seed: u64| -> Result<S::Params, InputError> {
        let mut params = p.clone();
        for (axis, value) in grid.axes.iter().zip(values) {
            params = S::set(&params, &axis.key, value, &c.limits)?;
        }
        Ok(if grid.axes.iter().all(|a| a.key != "seed") { S::with_seed(&params, seed) } else { params })
    };
    // Every value is checked before anything runs (each alone, then each point of small grids:
    // a relation between two swept parameters is checked when its run starts).
    for (i, axis) in grid.axes.iter().enumerate() {
        for value in &axis.values {
            let mut values = grid.point(0);
            values[i] = value.clone();
            params_of(&values, S::seed(p))?;
        }
    }
    let finished = std::sync::atomic::AtomicU64::new(0);
    let stopped = std::sync::atomic::AtomicBool::new(!tick(0, jobs.len()));
    sweep::run_all(
        &jobs,
        |job| {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                anyhow::bail!("the sweep was stopped");
            }
            let params = params_of(&job.values, job.seed)?;
            let (summary, _) = S::run(&params, &FaultArgs::default(), &TraceArgs::default(), &c.limits)?;
            let seed = S::seed(&params);
            let id = RunId::new(grid, job, seed, jobs.total());
            if let Some(why) = S::incomplete(&summary) {
                let at: Vec<String> = id.swept.iter().map(|s| format!("--sweep {}={}", s.key, s.value)).collect();
                return Err(Incomplete(format!("{} (seed {seed}): {why}", at.join(" "))).into());
            }
            Ok(S::row(id, &summary))
        },
        || {
            let done = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if !tick(done, jobs.len()) {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
    )
}

/// A progress bar of `len` runs on stderr when stderr is a terminal; hidden otherwise, so that
/// logs and pipes stay quiet.
fn progress(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} ({eta} left)") {
        bar.set_style(style);
    }
    bar
}

/// What a whole sweep shows: the table, the same as one JSON object, and the diagram (one or
/// two swept parameters).
pub struct SweepReport {
    /// The table, as the terminal shows it.
    pub text: String,
    /// The same as one JSON object.
    pub json: serde_json::Value,
    /// The phase diagram or the spread line, as SVG.
    pub svg: Option<String>,
}

/// The report of the sweep whose runs are `rows`, showing `--measure` (or the verdict).
pub fn sweep_report<S: Study>(measure: Option<&str>, what: &str, rows: &[S::Row]) -> Result<SweepReport> {
    let mut shown = Shown::choose::<S::Row>(measure).map_err(InputError)?;
    // A verdict no run reached (cap without a linearizability check) would paint every point
    // grey: without --measure, show the first measure then.
    if measure.is_none() && matches!(shown, Shown::Verdict(_)) && rows.iter().all(|r| r.verdict().is_none()) {
        shown = Shown::choose::<S::Row>(S::Row::MEASURES.first().map(|m| m.name)).map_err(InputError)?;
    }
    Ok(SweepReport {
        text: crate::sweep::report::text(S::NAME, what, rows, shown),
        json: crate::sweep::report::json(rows, shown)?,
        svg: diagram::render(S::NAME, what, rows, shown),
    })
}

/// The whole sweep: the table (or with `--json` one JSON object) on stdout, and with `--out DIR`
/// `sweep.json` and the diagram `sweep.svg` (one or two swept parameters).
fn report_sweep<S: Study>(c: &Common, what: &str, rows: &[S::Row]) -> Result<ExitCode> {
    let report = sweep_report::<S>(c.measure.as_deref(), what, rows)?;
    if c.json {
        print(&format!("{}\n", report.json))?;
    } else {
        print(&report.text)?;
    }
    if let Some(dir) = &c.out {
        let out = OutDir::create(dir)?;
        let mut written = vec![out.json("sweep.json", &report.json)?];
        match &report.svg {
            Some(svg) => written.push(out.write("sweep.svg", svg.as_bytes())?),
            None => {
                note("no sweep.svg: the diagram is drawn for one or two swept parameters (sweep.json has every point)")
            }
        }
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        note(&format!("wrote {}", names.join(", ")));
    }
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
    if let Some(other) = rows.iter().find(|r| r.id().keys() != first.id().keys() || r.of() != first.of()) {
        return Err(InputError(format!(
            "--merge: rows of two sweeps ({} of {} runs and {} of {} runs) cannot merge",
            first.id().keys().join(" x "),
            first.of(),
            other.id().keys().join(" x "),
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

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        #[serde(flatten)]
        id: RunId,
    }

    impl SweepRow for R {
        const MEASURES: &'static [Measure] = &[];
        fn id(&self) -> &RunId {
            &self.id
        }
        fn measures(&self) -> Vec<Option<f64>> {
            Vec::new()
        }
    }

    #[test]
    fn merged_rows_must_be_one_whole_sweep_each_run_once() {
        let dir = std::env::temp_dir().join(format!("faultline-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, rows: &[(&str, usize, u64)]| {
            let text: String = rows
                .iter()
                .map(|(k, i, of)| {
                    format!(
                        "{{\"swept\":[{{\"key\":\"{k}\",\"value\":\"v\"}}],\"seed\":1,\"index\":{i},\"of\":{of}}}\n"
                    )
                })
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
