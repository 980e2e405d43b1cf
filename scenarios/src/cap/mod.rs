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
use crate::report::panels::{self, Panel, Panels, Scale, Series};
use crate::report::{Figure, Table, csv};
use crate::study::fault_window::FaultWindow;
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
    let header = [
        "t_s",
        "reads",
        "writes",
        "ok",
        "failed",
        "p50_ms",
        "read_p50_ms",
        "read_p99_ms",
        "write_p50_ms",
        "write_p99_ms",
        "majority_ok",
        "majority_ops",
        "minority_ok",
        "minority_ops",
    ];
    let side = |c: Option<run::SideCount>| match c {
        Some(c) => [c.ok.to_string(), c.attempted.to_string()],
        None => [String::new(), String::new()],
    };
    let rows = s.windows.iter().map(|w| {
        let mut row = vec![
            w.t_s.to_string(),
            w.reads.to_string(),
            w.writes.to_string(),
            w.ok.to_string(),
            w.failed.to_string(),
            csv::cell(w.p50_ms),
            csv::cell(w.read_p50_ms),
            csv::cell(w.read_p99_ms),
            csv::cell(w.write_p50_ms),
            csv::cell(w.write_p99_ms),
        ];
        row.extend(side(w.majority));
        row.extend(side(w.minority));
        row
    });
    csv::render(&header, rows)
}

/// `chart.svg`: latency by operation (log scale), availability by side of the partition, and
/// operations per second, on one time axis with the partition and other faults shaded.
pub fn chart(s: &Summary) -> Panels {
    let width = s.params.window.as_secs_f64();
    let end = s.params.duration.as_secs_f64();
    let x = |i: usize| panels::centre(i, width, end);
    let series = |label: &str, color, f: &dyn Fn(&run::Window) -> Option<f64>| {
        Series::data(label, color, s.windows.iter().enumerate().map(|(i, w)| (x(i), f(w))).collect())
    };
    let share =
        |c: Option<run::SideCount>| c.filter(|c| c.attempted > 0).map(|c| c.ok as f64 / c.attempted as f64 * 100.0);
    let availability = if s.availability.by_side.is_some() {
        vec![
            series("majority side", "#2ca02c", &|w| share(w.majority)),
            series("minority side", "#d62728", &|w| share(w.minority)),
        ]
    } else {
        let all = |w: &run::Window| share(Some(run::SideCount { attempted: w.ok + w.failed, ok: w.ok }));
        vec![series("all clients", "#2ca02c", &all)]
    };
    let secs = |i: usize| ((i as f64 + 1.0) * width).min(end) - i as f64 * width;
    let rate = |label: &str, color, f: fn(&run::Window) -> u64| {
        Series::data(
            label,
            color,
            s.windows.iter().enumerate().map(|(i, w)| (x(i), (secs(i) > 0.0).then(|| f(w) as f64 / secs(i)))).collect(),
        )
    };
    let q = &s.quorums;
    Panels {
        title: format!("cap: {}", s.describe.split(';').next().unwrap_or(&s.describe)).replace("  ", " ")
            + &format!(" (R+W {} N)", if q.r + q.w > q.n { ">" } else { "<=" }),
        x_label: "virtual time (s), by when each operation began; points at window centres".into(),
        x_end: end,
        bands: s.fault_windows.iter().map(FaultWindow::band).collect(),
        partial: panels::partial(s.windows.len(), width, end),
        panels: vec![
            Panel::new(
                "latency of successful operations (ms)",
                Scale::Log,
                vec![
                    series("read p50", "#1f77b4", &|w| w.read_p50_ms),
                    series("read p99", "#0b3d6b", &|w| w.read_p99_ms),
                    series("write p50", "#ff7f0e", &|w| w.write_p50_ms),
                    series("write p99", "#a34a00", &|w| w.write_p99_ms),
                ],
            ),
            Panel {
                y_max: Some(100.0),
                ..Panel::new("availability: operations that succeeded (%)", Scale::Linear, availability)
            },
            Panel::new(
                "operations per second",
                Scale::Linear,
                vec![rate("succeeded", "#2ca02c", |w| w.ok), rate("failed", "#d62728", |w| w.failed)],
            ),
        ],
    }
}

/// The charts of the report page.
pub fn charts(s: &Summary) -> Vec<Figure> {
    vec![Figure {
        name: "chart".into(),
        title: "What consistency costs, over time.".into(),
        caption: "Top to bottom on one time axis: the latency of reads and writes that succeeded (log scale), the share of operations that succeeded on each side of the partition, and operations per second. Shaded: the partition and any other fault. Lines with the same values are drawn over one another (the legend lists them all).".into(),
        svg: chart(s).render(),
    }]
}

/// "What you are seeing": the quorums, the latency they cost, and availability during the
/// partition, with this run's numbers.
pub fn explain(s: &Summary) -> String {
    let q = &s.quorums;
    let overlap = q.r + q.w > q.n;
    let mut out = format!(
        "Each key lives on N={} replicas. A read waits for R={} of them and a write for W={}; {}",
        q.n,
        q.r,
        q.w,
        if overlap {
            "R + W > N, so every read quorum meets every write quorum: a read sees the latest acknowledged write, at the price of waiting for more replicas."
        } else {
            "R + W <= N, so a read quorum can miss the latest write: replies come faster, and reads can be stale."
        }
    );
    let _ = write!(
        out,
        " Here reads took {} ms at the median and {} ms at p99; writes {} ms and {} ms (the top panel).",
        ms(s.read.p50_ms),
        ms(s.read.p99_ms),
        ms(s.write.p50_ms),
        ms(s.write.p99_ms)
    );
    out.push_str("\n\n");
    match (&s.availability.by_side, s.fault_windows.iter().find(|f| f.kind == "partition")) {
        (Some(side), Some(p)) => {
            let _ = write!(
                out,
                "From {} s to {} s the network was partitioned (shaded). The majority side kept {} of its operations ({} of {}); the minority side {} ({} of {}): {}",
                p.from_s,
                p.to_s,
                pct(side.majority.ratio),
                side.majority.ok,
                side.majority.attempted,
                pct(side.minority.ratio),
                side.minority.ok,
                side.minority.attempted,
                if side.minority.ratio.unwrap_or(0.0) >= 0.9 {
                    "the cut-off replicas went on answering on their own (availability over consistency)."
                } else {
                    "the cut-off replicas could not gather a quorum, so they refused or timed out (consistency over availability)."
                }
            );
            match s.convergence_s {
                Some(c) => {
                    let _ = write!(out, " After the heal the replicas converged in {c:.3} s.");
                }
                None => out.push_str(" The replicas had not converged by the end of the run."),
            }
        }
        _ => {
            let _ = write!(
                out,
                "No partition in this run (add --partition to cut a minority off): {} of {} operations succeeded.",
                pct(s.availability.overall.ratio),
                s.availability.overall.attempted
            );
        }
    }
    let _ = write!(
        out,
        "\n\nStale reads: {} ({} of successful reads of written keys). Lost writes: {} of {} acknowledged. {}",
        s.stale_reads,
        pct(s.stale_ratio),
        s.lost_writes,
        s.acknowledged_writes,
        match s.linearizable {
            Some(true) => "The history checked linearizable.".to_string(),
            Some(false) =>
                "The history is not linearizable (see the terminal report for the operations that cannot be ordered)."
                    .to_string(),
            None if s.check.is_some() => "The linearizability check ran out of time.".to_string(),
            None => "Linearizability was not checked (add --check).".to_string(),
        }
    );
    let _ = write!(out, "\n\nPACELC: {}", s.pacelc.statement);
    out
}

/// The operations and availability tables of the report page.
pub fn tables(s: &Summary) -> Vec<Table> {
    let ops = |name: &str, o: &faultline_nodes::cap::analysis::OpStats| {
        vec![
            name.to_string(),
            o.count.to_string(),
            o.ok.to_string(),
            o.failed.to_string(),
            ms(o.p50_ms),
            ms(o.p90_ms),
            ms(o.p99_ms),
        ]
    };
    let mut tables = vec![Table {
        title: "Operations".into(),
        header: ["operation", "ended", "ok", "failed", "p50 ms", "p90 ms", "p99 ms"].map(String::from).to_vec(),
        rows: vec![ops("reads", &s.read), ops("writes", &s.write)],
    }];
    let a = &s.availability;
    let row = |name: &str, x: &faultline_nodes::cap::analysis::Availability| {
        vec![name.to_string(), x.attempted.to_string(), x.ok.to_string(), pct(x.ratio)]
    };
    let mut rows = vec![row("whole run", &a.overall)];
    if let Some(p) = &a.by_phase {
        rows.extend([row("before the partition", &p.before), row("during", &p.during), row("after", &p.after)]);
    }
    if let Some(side) = &a.by_side {
        rows.extend([row("during: majority side", &side.majority), row("during: minority side", &side.minority)]);
    }
    tables.push(Table {
        title: "Availability".into(),
        header: ["operations", "ended", "ok", "share"].map(String::from).to_vec(),
        rows,
    });
    tables
}

/// Experiments to try, each with its exact command (from the repository's root).
pub fn experiments() -> Vec<(&'static str, String)> {
    let run = "cargo run --release --bin cap --";
    vec![
        (
            "CAP: strong quorums through a partition",
            format!(
                "{run} --config scenarios/presets/cap/partition-strong.toml --out out/cap-strong\n\nThe minority side fails during the partition; the majority side carries on; the history checks linearizable."
            ),
        ),
        (
            "The same partition with eventual consistency",
            format!(
                "{run} --config scenarios/presets/cap/partition-eventual.toml --out out/cap-eventual\n\nBoth sides stay available, and reads go stale."
            ),
        ),
        (
            "PACELC: what strong consistency costs across a WAN",
            format!("{run} --config scenarios/presets/cap/latency-strong-wan.toml --out out/cap-wan-strong"),
        ),
        (
            "The same WAN with weak quorums",
            format!("{run} --config scenarios/presets/cap/latency-weak-wan.toml --out out/cap-wan-weak"),
        ),
        (
            "Last-writer-wins with a skewed clock loses writes",
            format!("{run} --config scenarios/presets/cap/anomaly-lww-skew.toml --out out/cap-lww-skew"),
        ),
        (
            "Sweep the consistency level",
            format!("{run} --sweep consistency=strong,linearizable,weak,eventual --seeds 3"),
        ),
    ]
}

/// The cap study, for the shared study binary.
pub struct Cap;

impl Study for Cap {
    type Params = Params;
    type Summary = Summary;
    type Row = sweep::Row;
    const NAME: &'static str = "cap";
    const ABOUT: &'static str = "What consistency costs in latency and availability, measured on replicas of an emulated network, and whether the history is linearizable. (cap check FILE checks an external history.)";

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
        vec![("windows.csv", windows_csv(s).into_bytes())]
    }

    fn faults(s: &Summary) -> Option<&str> {
        s.faults.as_deref()
    }

    fn verdict(s: &Summary) -> String {
        s.pacelc.statement.clone()
    }

    fn explain(s: &Summary) -> String {
        explain(s)
    }

    fn experiments() -> Vec<(&'static str, String)> {
        experiments()
    }

    fn charts(s: &Summary) -> Vec<Figure> {
        charts(s)
    }

    fn tables(s: &Summary) -> Vec<Table> {
        tables(s)
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

#[cfg(test)]
mod report_tests {
    use std::path::Path;

    use crate::study::page::check_experiments;

    #[test]
    fn every_experiment_is_a_command_that_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        check_experiments::<super::Cap>(root).unwrap();
    }
}
