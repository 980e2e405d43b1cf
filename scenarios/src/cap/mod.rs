//! The cap study: what consistency costs in latency (PACELC) and in availability during a
//! partition (CAP), stale reads judged against the truth, and whether the history is
//! linearizable. Its parameters, the run, what it prints, its sweeps, and `cap check FILE`.

pub mod check;
pub mod params;
pub mod run;
pub mod sweep;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use params::Params;
pub use run::{Summary, run};

use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::csv;
use crate::study::output::write_atomic;
use crate::study::run::note;
use crate::study::{Param, RunId, RunLimits, Speed, Study};

fn pct(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.1}"))
}

/// The readable report: what ran, and in a few lines what happened, with the numbers.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cap: {}\n", s.describe);
    for (name, o) in [("reads", &s.read), ("writes", &s.write)] {
        let _ = writeln!(
            out,
            "{name:<7} {:>7} ok of {:>7} ({} failed); latency ms p50 {}, p90 {}, p99 {}, mean {}",
            o.ok,
            o.count,
            o.failed,
            ms(o.p50_ms),
            ms(o.p90_ms),
            ms(o.p99_ms),
            ms(o.mean_ms)
        );
    }
    let a = &s.availability;
    let _ = write!(out, "\navailability {} of {} operations", pct(a.overall.ratio), a.overall.attempted);
    if let Some(p) = &a.by_phase {
        let _ = write!(
            out,
            "; before the partition {}, during {}, after {}",
            pct(p.before.ratio),
            pct(p.during.ratio),
            pct(p.after.ratio)
        );
    }
    out.push('\n');
    if let Some(side) = &a.by_side {
        let _ = writeln!(
            out,
            "during the partition: majority side {} ({} of {}), minority side {} ({} of {})",
            pct(side.majority.ratio),
            side.majority.ok,
            side.majority.attempted,
            pct(side.minority.ratio),
            side.minority.ok,
            side.minority.attempted
        );
    }
    let _ = writeln!(
        out,
        "stale reads  {} ({} of successful reads of written keys; stale = older than a write acknowledged before the read began)",
        s.stale_reads,
        pct(s.stale_ratio)
    );
    if !s.t_visibility.is_empty() {
        let cells: Vec<String> =
            s.t_visibility.iter().map(|v| format!("{}ms {} (n={})", v.t_ms, pct(v.share), v.probes)).collect();
        let _ = writeln!(out, "t-visibility {}", cells.join(", "));
    }
    let _ = write!(out, "lost writes  {} of {} acknowledged", s.lost_writes, s.acknowledged_writes);
    if a.by_phase.is_some() {
        match s.convergence_s {
            Some(c) => {
                let _ = write!(out, "; replicas converged {c:.3} s after the heal");
            }
            None => out.push_str("; replicas had not converged by the end of the run"),
        }
    }
    out.push('\n');
    match &s.check {
        None => out.push_str("linearizable: not checked (add --check)\n"),
        Some(c) => match (&c.explanation, c.verdict.as_str()) {
            (Some(why), _) => {
                let _ = writeln!(out, "linearizable: no ({} operations checked); {why}", c.operations);
            }
            (None, "linearizable") => {
                let _ = writeln!(out, "linearizable: yes ({} operations, each key a register)", c.operations);
            }
            _ => {
                let _ = writeln!(
                    out,
                    "linearizable: unknown (the check of {} operations ran out of --check-timeout)",
                    c.operations
                );
            }
        },
    }
    let _ = writeln!(out, "PACELC: {}", s.pacelc.statement);
    if let Some(why) = &s.incomplete {
        let _ = writeln!(out, "incomplete: {why}");
    }
    out
}

/// `windows.csv`.
pub fn windows_csv(s: &Summary) -> String {
    let header = ["t_s", "reads", "writes", "ok", "failed", "p50_ms"];
    let rows = s.windows.iter().map(|w| {
        vec![
            w.t_s.to_string(),
            w.reads.to_string(),
            w.writes.to_string(),
            w.ok.to_string(),
            w.failed.to_string(),
            csv::cell(w.p50_ms),
        ]
    });
    csv::render(&header, rows)
}

/// The cap study, for the shared study binary.
pub struct Cap;

impl Study for Cap {
    type Params = Params;
    type Summary = Summary;
    type Row = sweep::Row;
    const NAME: &'static str = "cap";
    const ABOUT: &'static str = "What consistency costs in latency and availability, measured on replicas of an emulated network, and whether the history is linearizable. `cap check FILE` checks an external history.";

    fn table() -> &'static [Param] {
        params::TABLE
    }

    fn check(p: &Params, limits: &RunLimits) -> Result<(), InputError> {
        p.plan()?;
        p.check_limits(limits)
    }

    fn check_sweep(p: &Params) -> Result<(), InputError> {
        match p.history {
            Some(_) => Err(InputError(
                "--history would be ignored with --sweep (only a single run writes its history): leave it out".into(),
            )),
            None => Ok(()),
        }
    }

    fn seed(p: &Params) -> u64 {
        p.seed
    }

    fn with_seed(p: &Params, seed: u64) -> Params {
        Params { seed, ..p.clone() }
    }

    fn describe(p: &Params) -> String {
        p.plan().map(|plan| p.describe(&plan)).unwrap_or_default()
    }

    fn run(p: &Params, live: &FaultArgs, traces: &TraceArgs, limits: &RunLimits) -> anyhow::Result<(Summary, Speed)> {
        run::run(p, live, traces, limits)
    }

    fn incomplete(s: &Summary) -> Option<&str> {
        s.incomplete.as_deref()
    }

    fn text(s: &Summary) -> String {
        text(s)
    }

    fn files(s: &Summary) -> Vec<(&'static str, Vec<u8>)> {
        let mut files = vec![("windows.csv", windows_csv(s).into_bytes())];
        if let Some(f) = &s.faults {
            files.push(("faults.txt", f.clone().into_bytes()));
        }
        files
    }

    fn generated_faults<'a>(p: &Params, s: &'a Summary) -> Option<&'a str> {
        s.faults.as_deref().filter(|_| p.nemesis.is_some())
    }

    fn after_run(p: &Params, s: &Summary) -> anyhow::Result<()> {
        if let (Some(c), Some(took)) = (&s.check, s.check_wall_s) {
            note(&format!("checked {} operations in {took:.3} s: {}", c.operations, c.verdict));
        }
        if let (Some(path), Some(h)) = (&p.history, &s.history) {
            write_atomic(path, h.as_bytes())?;
            note(&format!("wrote {}", PathBuf::from(path).display()));
        }
        Ok(())
    }

    fn row(id: RunId, s: &Summary) -> sweep::Row {
        sweep::Row::new(id, s)
    }

    fn subcommand(args: &[std::ffi::OsString]) -> Option<std::process::ExitCode> {
        (args.get(1).and_then(|a| a.to_str()) == Some("check")).then(|| check::main(&args[2..]))
    }
}
