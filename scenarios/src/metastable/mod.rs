//! The metastable-failure study: parameters, the run, the analysis, and what it prints.

pub mod analysis;
pub mod params;
pub mod run;
pub mod sweep;

use std::fmt::Write as _;

pub use params::{LoadKind, Params};
pub use run::{Speed, Summary, run, run_limited};

use crate::report::{Chart, Line, csv};

/// The readable report: what ran, a table per phase, and the verdict.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "metastable: {}", s.params.describe());
    let _ = writeln!(
        out,
        "\n{:<8} {:>13} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "phase", "window", "offered/s", "goodput/s", "goodput", "attempts", "p50 ms", "p99 ms"
    );
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    let phases =
        [("before", Some(&s.phases.before)), ("during", s.phases.during.as_ref()), ("after", s.phases.after.as_ref())];
    for (name, p) in phases {
        // An empty phase (no time after the trigger) has no row: its rates would mean nothing.
        let Some(p) = p.filter(|p| p.end_s > p.start_s) else { continue };
        let _ = writeln!(
            out,
            "{:<8} {:>13} {:>10.1} {:>10.1} {:>8.1}% {:>8.2}x {:>9} {:>9}",
            name,
            format!("{:.0}-{:.0}s", p.start_s, p.end_s),
            p.offered_rps,
            p.goodput_rps,
            p.goodput_ratio * 100.0,
            p.retry_amplification,
            ms(p.p50_ms),
            ms(p.p99_ms)
        );
    }
    let t = &s.totals.counts;
    let _ = writeln!(
        out,
        "\ntotals: {} requests, {} attempts ({} retries), {} in time, {} timeouts, {} shed, {} replies to clients that had given up",
        t.offered, t.attempts, t.retries, t.goodput, t.timeouts, t.shed, t.late
    );
    let _ = writeln!(out, "verdict: {}", s.verdict);
    if let Some(why) = &s.incomplete {
        let _ = writeln!(out, "incomplete: {why}");
    }
    out
}

/// `windows.csv`.
pub fn windows_csv(s: &Summary) -> String {
    let header = [
        "t_s",
        "offered",
        "attempts",
        "retries",
        "goodput",
        "timeouts",
        "shed",
        "late",
        "queue",
        "concurrency",
        "p50_ms",
        "p99_ms",
    ];
    let rows = s.windows.iter().map(|w| {
        vec![
            w.t_s.to_string(),
            w.counts.offered.to_string(),
            w.counts.attempts.to_string(),
            w.counts.retries.to_string(),
            w.counts.goodput.to_string(),
            w.counts.timeouts.to_string(),
            w.counts.shed.to_string(),
            w.counts.late.to_string(),
            w.queue.to_string(),
            w.concurrency.to_string(),
            csv::cell(w.p50_ms),
            csv::cell(w.p99_ms),
        ]
    });
    csv::render(&header, rows)
}

/// `chart.svg`: offered, goodput, retries, timeouts and p99 over time, the trigger shaded.
pub fn chart(s: &Summary) -> Chart {
    let width = s.params.window.as_secs_f64();
    let per_s = |f: fn(&analysis::Counts) -> u64| {
        s.windows.iter().map(|w| (w.t_s, Some(f(&w.counts) as f64 / width))).collect::<Vec<_>>()
    };
    let line = |label: &str, color, points, right| Line { label: label.to_string(), color, points, right };
    Chart {
        title: format!("{} ({})", s.params.headline(), s.verdict.split(':').next().unwrap_or("")),
        x_label: "virtual time (s)".into(),
        left_label: "per second".into(),
        right_label: "p99 latency (ms)".into(),
        lines: vec![
            line("offered", "#222222", per_s(|w| w.offered), false),
            line("goodput", "#2ca02c", per_s(|w| w.goodput), false),
            line("retries", "#ff7f0e", per_s(|w| w.retries), false),
            line("timeouts", "#d62728", per_s(|w| w.timeouts), false),
            line("p99 ms", "#1f77b4", s.windows.iter().map(|w| (w.t_s, w.p99_ms)).collect(), true),
        ],
        spans: s.trigger.iter().map(|t| (t.start_s, t.end_s, t.kind.clone())).collect(),
    }
}
