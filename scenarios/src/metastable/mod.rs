//! The metastable-failure study: parameters, the run, the analysis, and what it prints.

pub mod analysis;
pub mod params;
pub mod run;
pub mod sweep;

use std::fmt::Write as _;

pub use params::{LoadKind, Params};
pub use run::{Speed, Summary, run, run_limited};

use crate::report::panels::{self, Band, Panel, Panels, Scale, Series};
use crate::report::{Figure, Table, csv};

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
        "wasted",
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
            w.counts.wasted.to_string(),
        ]
    });
    csv::render(&header, rows)
}

/// `chart.svg`: the mechanism in five panels on one time axis: the load against the server's
/// capacity, goodput, the queue, the work wasted on clients that had given up, and latency (log
/// scale). Each cause of the trigger is shaded and labelled; a partial last window is greyed.
pub fn chart(s: &Summary) -> Panels {
    let width = s.params.window.as_secs_f64();
    let end = if s.end_s > 0.0 { s.end_s } else { s.windows.len() as f64 * width };
    let x = |i: usize| panels::centre(i, width, end);
    // A partial last window's rates are over the part the run covered.
    let secs = |i: usize| ((i as f64 + 1.0) * width).min(end) - i as f64 * width;
    let per_s = |f: fn(&analysis::Counts) -> u64| -> Vec<(f64, Option<f64>)> {
        s.windows
            .iter()
            .enumerate()
            .map(|(i, w)| (x(i), (secs(i) > 0.0).then(|| f(&w.counts) as f64 / secs(i))))
            .collect()
    };
    let capacity = |label: &str| s.capacity_rps.map(|c| Series::level(label, "#c0392b", c, 0.0, end));
    // Attempts first, so that new requests stay visible on top where there are no retries.
    let mut load = vec![
        Series::data("attempts (with retries)", "#ff7f0e", per_s(|c| c.attempts)),
        Series::data("offered", "#222222", per_s(|c| c.offered)),
    ];
    load.extend(capacity("capacity"));
    let mut wasted = vec![Series::data("wasted", "#8c564b", per_s(|c| c.wasted))];
    wasted.extend(capacity("capacity"));
    let ms = |f: fn(&analysis::Window) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        s.windows.iter().enumerate().map(|(i, w)| (x(i), f(w))).collect()
    };
    let state = s.verdict.split(':').next().unwrap_or("");
    Panels {
        title: format!("{} ({state})", s.params.headline()),
        x_label: "virtual time (s); points at window centres".into(),
        x_end: end,
        bands: s
            .trigger
            .iter()
            .flat_map(|t| &t.causes)
            .map(|c| Band { from: c.start_s, to: c.end_s, label: c.kind.clone() })
            .collect(),
        partial: panels::partial(s.windows.len(), width, end),
        panels: vec![
            Panel::new("load against capacity (requests/s)", Scale::Linear, load),
            Panel::new(
                "goodput: successes in time (per s)",
                Scale::Linear,
                vec![
                    Series::data("goodput", "#2ca02c", per_s(|c| c.goodput)),
                    Series::data("timeouts", "#d62728", per_s(|c| c.timeouts)),
                ],
            ),
            Panel::new(
                "server queue (most requests waiting in the window)",
                Scale::Linear,
                vec![Series::data("queue", "#9467bd", ms(|w| Some(w.queue as f64)))],
            ),
            Panel::new("wasted work: attempts served for clients that had given up (per s)", Scale::Linear, wasted),
            Panel::new(
                "latency of successful requests, retries included (ms)",
                Scale::Log,
                vec![
                    Series::data("p50", "#1f77b4", ms(|w| w.p50_ms)),
                    Series::data("p99", "#0b3d6b", ms(|w| w.p99_ms)),
                ],
            ),
        ],
    }
}

/// The charts of the report page.
pub fn charts(s: &Summary) -> Vec<Figure> {
    vec![Figure {
        name: "chart".into(),
        title: "The mechanism, panel by panel.".into(),
        caption: "Top to bottom on one time axis: the load (new requests, and attempts with retries) against the server's capacity; goodput; the server's queue; the work it wasted on clients that had already given up; and latency on a log scale (it stops where no request succeeds any more). Shaded: what triggered the overload.".into(),
        svg: chart(s).render(),
    }]
}

fn secs(x: f64) -> String {
    format!("{}", (x * 1000.0).round() / 1000.0)
}

/// "What you are seeing": the mechanism with this run's numbers.
pub fn explain(s: &Summary) -> String {
    let p = &s.params;
    let mut out = String::new();
    let cap = s.capacity_rps.map_or("an unbounded number of".to_string(), |c| format!("about {c:.0}"));
    let _ = write!(
        out,
        "The server works on {} requests at once; each takes {} ms plus {} ms for every request in service, so with every slot busy it serves {cap} requests per second (the dashed line). Clients give up on an attempt after {} s and {} (backoff: {}).",
        p.capacity,
        p.base_latency.as_secs_f64() * 1e3,
        p.concurrency_slope.as_secs_f64() * 1e3,
        secs(p.timeout.as_secs_f64()),
        match p.max_retries {
            0 => "do not retry".to_string(),
            1 => "retry once".to_string(),
            n => format!("retry up to {n} times"),
        },
        p.backoff
    );
    let defences = p.defences();
    if !defences.is_empty() {
        let _ = write!(out, " Defences on: {}.", defences.join(", "));
    }
    out.push_str("\n\n");
    let b = &s.phases.before;
    let Some(t) = &s.trigger else {
        let share =
            s.capacity_rps.map_or(String::new(), |c| format!(" ({:.0}% of capacity)", b.offered_rps / c * 100.0));
        let _ = write!(
            out,
            "Nothing triggered an overload in this run: the load offered {:.1} requests/s{share}, goodput was {:.0}% of it, with {:.2} attempts per request and at most {} requests waiting. Add a spike (--load spike) or a fault (--faults FILE) to see whether the system comes back from one.",
            b.offered_rps,
            b.goodput_ratio * 100.0,
            b.retry_amplification,
            b.max_queue
        );
        return out;
    };
    let mut causes: Vec<String> = t
        .causes
        .iter()
        .take(5)
        .map(|c| format!("{} from {} s to {} s", c.kind, secs(c.start_s), secs(c.end_s)))
        .collect();
    if t.causes.len() > 5 {
        causes.push(format!("and {} more", t.causes.len() - 5));
    }
    let _ = write!(out, "The trigger (shaded): {}.", causes.join("; "));
    if let Some(d) = &s.phases.during {
        let _ = write!(
            out,
            " While it lasted, {:.1} requests/s were offered and the server received {:.2} attempts per request; the queue reached {} requests and goodput was {:.0}% of the load.",
            d.offered_rps,
            d.retry_amplification,
            d.max_queue,
            d.goodput_ratio * 100.0
        );
    }
    out.push_str("\n\n");
    let Some(a) = &s.phases.after else { return out };
    match s.recovered {
        Some(true) => {
            let _ = write!(
                out,
                "After the {} ended (judged from {} s, after --settle), the queue drained and goodput came back to within 5% of before {} s after the end: {:.0}% of the {:.1} requests/s offered, {:.2} attempts per request, at most {} waiting. The retries did not outgrow the capacity, so the overload ended with its cause.",
                t.kind,
                secs(a.start_s),
                s.recovery_s.map_or("-".into(), secs),
                a.goodput_ratio * 100.0,
                a.offered_rps,
                a.retry_amplification,
                a.max_queue
            );
        }
        Some(false) => {
            let share = s
                .capacity_rps
                .map_or(String::new(), |c| format!(" ({:.0}% of its capacity)", a.wasted_rps / c * 100.0));
            let _ = write!(
                out,
                "After the {} ended the load was back to {:.1} requests/s, yet goodput stayed at {:.0}%: this is a metastable failure. The queue still held up to {} requests, so a request waited longer than its client's timeout; the client gave up and retried ({:.2} attempts per request), and the server went on serving the abandoned attempts: {:.0} per second{share} went to clients that had already given up (the wasted-work panel). The trigger is gone; the retries keep the overload going.",
                t.kind,
                a.offered_rps,
                a.goodput_ratio * 100.0,
                a.max_queue,
                a.retry_amplification,
                a.wasted_rps
            );
        }
        None => {
            let _ = write!(out, "{}", s.verdict);
        }
    }
    out
}

/// The phase table and the causes of the trigger, for the report page.
pub fn tables(s: &Summary) -> Vec<Table> {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    let phases =
        [("before", Some(&s.phases.before)), ("during", s.phases.during.as_ref()), ("after", s.phases.after.as_ref())];
    let rows = phases
        .into_iter()
        .filter_map(|(name, p)| Some((name, p.filter(|p| p.end_s > p.start_s)?)))
        .map(|(name, p)| {
            vec![
                name.to_string(),
                format!("{}-{} s", secs(p.start_s), secs(p.end_s)),
                format!("{:.1}", p.offered_rps),
                format!("{:.1}", p.offered_rps * p.retry_amplification),
                format!("{:.1}", p.goodput_rps),
                format!("{:.1}%", p.goodput_ratio * 100.0),
                format!("{:.1}", p.wasted_rps),
                p.max_queue.to_string(),
                ms(p.p50_ms),
                ms(p.p99_ms),
            ]
        })
        .collect();
    let header = [
        "phase",
        "window",
        "offered/s",
        "attempts/s",
        "goodput/s",
        "goodput",
        "wasted/s",
        "max queue",
        "p50 ms",
        "p99 ms",
    ];
    let mut tables =
        vec![Table { title: "Phases".into(), header: header.iter().map(|h| h.to_string()).collect(), rows }];
    if let Some(t) = s.trigger.as_ref().filter(|t| !t.causes.is_empty()) {
        tables.push(Table {
            title: "What triggered it".into(),
            header: vec!["cause".into(), "from (s)".into(), "to (s)".into()],
            rows: limited(t.causes.iter().map(|c| vec![c.kind.clone(), secs(c.start_s), secs(c.end_s)]), 3),
        });
    }
    tables
}

/// The most rows a table of the page shows (a nemesis can make thousands of causes).
pub const MAX_TABLE_ROWS: usize = 50;

/// `rows` up to [`MAX_TABLE_ROWS`], then one row that says how many more (in `summary.json`).
fn limited(rows: impl Iterator<Item = Vec<String>>, columns: usize) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = rows.collect();
    if rows.len() > MAX_TABLE_ROWS {
        let more = rows.len() - MAX_TABLE_ROWS;
        rows.truncate(MAX_TABLE_ROWS);
        let mut last = vec![format!("... {more} more (in summary.json)")];
        last.resize(columns, String::new());
        rows.push(last);
    }
    rows
}

/// Experiments to try, each with its exact command (from the repository's root).
pub fn experiments() -> Vec<(&'static str, String)> {
    let run = "cargo run --release --bin metastable --";
    vec![
        (
            "The default storm: a 10 s spike that leaves the system down",
            format!(
                "{run} --out out/metastable\n\nThe spike ends at 40 s, the load falls back under capacity, and goodput stays near zero: the wasted-work panel sits at the capacity line."
            ),
        ),
        (
            "No retries: the storm has nothing to feed on",
            format!(
                "{run} --config scenarios/presets/metastable/spike-no-retries.toml --out out/no-retries\n\nThe queue drains once the spike ends; goodput comes back."
            ),
        ),
        (
            "Backoff with jitter spreads the retries out",
            format!("{run} --config scenarios/presets/metastable/spike-full-jitter.toml --out out/full-jitter"),
        ),
        (
            "A retry budget caps retries at a share of successes",
            format!("{run} --config scenarios/presets/metastable/spike-retry-budget.toml --out out/retry-budget"),
        ),
        (
            "A circuit breaker stops sending while most attempts fail",
            format!("{run} --config scenarios/presets/metastable/spike-circuit-breaker.toml --out out/breaker"),
        ),
        (
            "The server drops work whose deadline has passed",
            format!(
                "{run} --config scenarios/presets/metastable/spike-deadline-expired.toml --out out/deadline\n\nThe wasted-work panel falls to zero: the server stops serving clients that gave up."
            ),
        ),
        (
            "A held network outage instead of a spike",
            format!(
                "{run} --config scenarios/presets/metastable/outage-held.toml --out out/outage-held\n\nThe partition is shaded; messages held during it arrive at once at the heal."
            ),
        ),
        ("How big must the spike be? A sweep over its height", format!("{run} --sweep spike-rps=200:400:50 --seeds 3")),
    ]
}

#[cfg(test)]
mod report_tests {
    use std::path::Path;

    use crate::study::page::check_experiments;

    #[test]
    fn every_experiment_is_a_command_that_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        check_experiments::<super::params::Metastable>(root).unwrap();
    }
}
