//! What the csi study's report page draws and tabulates: per scenario, loud and silent failures
//! over time by where they surfaced, records (and duplicate side effects) per window, on one
//! time axis with any fault shaded and a partial last window marked; the six-scenario table of
//! `--scenario all`; self-tests, failure kinds with their example record, and what each
//! prevention check found (with the write-read test's odds of catching the problem).

use super::params::name;
use super::run::{ScenarioSummary, Summary, Window};
use super::{pct, plane, thousands};
use crate::report::panels::{self, Panel, Panels, Scale, Series};
use crate::report::{Figure, Table};
use crate::study::fault_window::FaultWindow;

type Pick = fn(&Window) -> u64;

/// The verdict at the top of the page.
pub fn verdict(s: &Summary) -> String {
    match s {
        Summary::One(o) => super::lesson(&o.run),
        Summary::All(a) => {
            let live: Vec<&ScenarioSummary> = a.runs.iter().filter(|r| r.deployed).collect();
            let wrong: Vec<String> = live
                .iter()
                .filter(|r| r.loud_failures + r.silent_corruptions + r.duplicates > 0)
                .map(|r| name(r.scenario))
                .collect();
            let refused = a.runs.len() - live.len();
            let passing = a.runs.iter().filter(|r| r.self_tests.pass()).count();
            let mut v = format!(
                "Every side passed its own tests in {passing} of {} scenarios; connected, {} of the {} that went live went wrong ({}).",
                a.runs.len(),
                wrong.len(),
                live.len(),
                wrong.join(", ")
            );
            if refused > 0 {
                v.push_str(&format!(" {refused} never went live: a check refused the deploy."));
            }
            v
        }
    }
}

/// A line of `f` per window, at window centres; `None` for the empty ones when `skip_zero`.
fn line(r: &ScenarioSummary, end: f64, label: &str, color: &'static str, f: Pick) -> Series {
    Series::data(
        label,
        color,
        r.windows.iter().enumerate().map(|(i, w)| (panels::centre(i, r.window_s, end), Some(f(w) as f64))).collect(),
    )
}

/// The end of a scenario's run on its time axis: the last instant a record was sent or failed.
fn end_of(r: &ScenarioSummary) -> f64 {
    if r.end_s > 0.0 { r.end_s } else { r.windows.len() as f64 * r.window_s }
}

/// The three surfaces of one kind of failure (loud or silent), each a line where it has data,
/// or a zero line that says there was none.
fn surfaces(r: &ScenarioSummary, end: f64, loud: bool) -> Vec<Series> {
    let word = if loud { "loud" } else { "silent" };
    let picks: [(&str, &'static str, Pick); 3] = if loud {
        [
            ("upstream", "#d62728", |w| w.loud.upstream),
            ("connector", "#ff7f0e", |w| w.loud.connector),
            ("downstream", "#9467bd", |w| w.loud.downstream),
        ]
    } else {
        [
            ("upstream", "#8c564b", |w| w.silent.upstream),
            ("connector", "#1f77b4", |w| w.silent.connector),
            ("downstream", "#17becf", |w| w.silent.downstream),
        ]
    };
    let lines: Vec<Series> = picks
        .iter()
        .filter(|(_, _, f)| r.windows.iter().any(|w| f(w) > 0))
        .map(|(at, color, f)| line(r, end, &format!("{word} at {at}"), color, *f))
        .collect();
    if lines.is_empty() { vec![line(r, end, &format!("no {word} failure"), "#999999", |_| 0)] } else { lines }
}

/// One scenario's panels: loud failures, silent failures, records (and duplicates where there
/// were some), on the scenario's own time axis.
pub fn scenario_chart(r: &ScenarioSummary) -> Panels {
    let end = end_of(r);
    let per = format!("per {} s window", panels::tick(r.window_s));
    let mut panels = vec![
        Panel::new(
            &format!("loud failures {per}: an error somebody saw, by where"),
            Scale::Linear,
            surfaces(r, end, true),
        ),
        Panel::new(
            &format!("silent failures {per}: a wrong value only the oracle saw, by where"),
            Scale::Linear,
            surfaces(r, end, false),
        ),
        Panel::new(
            &format!("records {per} (by when upstream sent them)"),
            Scale::Linear,
            vec![line(r, end, "records", "#222222", |w| w.records)],
        ),
    ];
    if r.duplicates > 0 {
        panels.push(Panel::new(
            &format!("duplicate side effects {per} (by when the request was sent)"),
            Scale::Linear,
            vec![line(r, end, "duplicates", "#e377c2", |w| w.duplicates)],
        ));
    }
    Panels {
        title: format!("csi {} ({} plane): failures over time", name(r.scenario), plane(r.plane)),
        x_label: "virtual time (s); points at window centres".into(),
        x_end: end,
        bands: r.fault_windows.iter().map(FaultWindow::band).collect(),
        partial: panels::partial(r.windows.len(), r.window_s, end),
        panels,
    }
}

const COLORS: [&str; 6] = ["#d62728", "#ff7f0e", "#9467bd", "#1f77b4", "#2ca02c", "#8c564b"];

/// `--scenario all`'s overview: each scenario's failure ratio over its run, on a common axis of
/// the share of each run's time (the runs last from milliseconds to hours).
pub fn overview(s: &Summary) -> Panels {
    // `Some(loud)`: the share of a window's records that failed loudly (or silently); `None`:
    // the share of the run's records sent in the window.
    let ratio = |loud: Option<bool>| -> Vec<Series> {
        s.runs()
            .into_iter()
            .filter(|r| r.deployed)
            .zip(COLORS)
            .map(|(r, color)| {
                let end = end_of(r);
                let points = r
                    .windows
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let x = 100.0 * panels::centre(i, r.window_s, end) / end.max(1e-9);
                        let Some(loud) = loud else {
                            return (x, Some(100.0 * w.records as f64 / r.records.max(1) as f64));
                        };
                        let p = if loud { &w.loud } else { &w.silent };
                        let wrong = p.upstream + p.connector + p.downstream;
                        (x, (w.records > 0).then(|| 100.0 * wrong as f64 / w.records as f64))
                    })
                    .collect();
                Series::data(&name(r.scenario), color, points)
            })
            .collect()
    };
    // No fixed top: a scenario at 100% stays visible under the frame.
    Panels {
        title: "csi: each scenario's failures over its run".into(),
        x_label: "share of each run's time (%); points at window centres".into(),
        x_end: 100.0,
        bands: Vec::new(),
        partial: None,
        panels: vec![
            Panel::new("loud failures among the records sent in each window (%)", Scale::Linear, ratio(Some(true))),
            Panel::new("silent failures among the records sent in each window (%)", Scale::Linear, ratio(Some(false))),
            Panel::new("records sent in each window (% of the run's records)", Scale::Linear, ratio(None)),
        ],
    }
}

/// The charts of the page: one scenario's panels; or under `all` the overview, then each
/// scenario that went live.
pub fn charts(s: &Summary) -> Vec<Figure> {
    let caption = "Top to bottom on one time axis: loud failures (errors somebody saw) and silent ones (wrong values only the end-to-end oracle saw), each by the system where it surfaced, at the instant it surfaced; then the records upstream sent, and duplicate side effects where the scenario has them. Shaded: any fault; grey: a last window shorter than the others.";
    match s {
        Summary::One(o) if o.run.deployed && !o.run.windows.is_empty() => vec![Figure {
            name: "chart".into(),
            title: format!("Where and when {} failed.", name(o.run.scenario)),
            caption: caption.into(),
            svg: scenario_chart(&o.run).render(),
        }],
        Summary::One(_) => Vec::new(),
        Summary::All(a) => {
            let mut figures = vec![Figure {
                name: "chart".into(),
                title: "Six interactions side by side.".into(),
                caption: "Each scenario's share of records that failed loudly (top) and silently (bottom) per window, and when its records were sent, over its own run scaled to 0-100% (a config run lasts hours of virtual time, an encoding run seconds). Scenarios a check refused at deploy have no line; lines with the same values are drawn over one another (the legend lists them all).".into(),
                svg: overview(s).render(),
            }];
            // Numbered in report order, so that the files sort as the page shows them.
            for (i, r) in a.runs.iter().enumerate().filter(|(_, r)| r.deployed && !r.windows.is_empty()) {
                figures.push(Figure {
                    name: format!("chart-{}-{}", i + 1, name(r.scenario)),
                    title: format!("{} ({} plane).", name(r.scenario), plane(r.plane)),
                    caption: caption.into(),
                    svg: scenario_chart(r).render(),
                });
            }
            figures
        }
    }
}

/// Hex in groups of eight digits, so that a long run of bytes wraps in a table cell; what
/// follows the hex (`... (312 bytes)`) is kept as it is.
fn grouped(hex: &str) -> String {
    let digits = hex.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(hex.len());
    let (head, tail) = hex.split_at(digits);
    let groups: Vec<&str> = head.as_bytes().chunks(8).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    groups.join(" ") + tail
}

fn strings<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.map(String::from).to_vec()
}

/// The tables of the page.
pub fn tables(s: &Summary) -> Vec<Table> {
    let runs = s.runs();
    let all = runs.len() > 1;
    // Under `all`, every row starts with its scenario.
    let lead = |r: &ScenarioSummary, mut row: Vec<String>| {
        if all {
            row.insert(0, name(r.scenario));
        }
        row
    };
    let head = |cells: Vec<String>| {
        let mut h = cells;
        if all {
            h.insert(0, "scenario".into());
        }
        h
    };
    let mut tables = Vec::new();
    if all {
        tables.push(Table {
            title: "Six interactions, each side passing its own tests alone".into(),
            header: strings([
                "scenario",
                "plane",
                "self-tests",
                "records",
                "loud",
                "silent",
                "ratio",
                "duplicates",
                "up / connector / down",
                "prevention",
            ]),
            rows: runs
                .iter()
                .map(|r| {
                    let p: Vec<String> = r
                        .prevention
                        .iter()
                        .filter(|p| p.verdict != "not applicable")
                        .map(|p| format!("{} {}", p.check, p.verdict))
                        .collect();
                    let sa = &r.surfaced_at;
                    vec![
                        name(r.scenario),
                        plane(r.plane),
                        if r.self_tests.pass() { "both pass" } else { "FAIL" }.into(),
                        thousands(r.records),
                        thousands(r.loud_failures),
                        thousands(r.silent_corruptions),
                        if r.deployed { pct(r.failure_ratio) } else { "refused".into() },
                        thousands(r.duplicates),
                        format!(
                            "{} / {} / {}",
                            thousands(sa.upstream),
                            thousands(sa.connector),
                            thousands(sa.downstream)
                        ),
                        if p.is_empty() { "-".into() } else { p.join(", ") },
                    ]
                })
                .collect(),
        });
    } else if let Some(r) = runs.first().filter(|r| r.deployed) {
        let sa = &r.surfaced_at;
        let mut rows = vec![
            strings(["records", &thousands(r.records), ""]),
            strings([
                "loud failures",
                &thousands(r.loud_failures),
                &pct(r.loud_failures as f64 / r.records.max(1) as f64),
            ]),
            strings([
                "silent corruptions",
                &thousands(r.silent_corruptions),
                &pct(r.silent_corruptions as f64 / r.records.max(1) as f64),
            ]),
            strings(["surfaced at upstream", &thousands(sa.upstream), ""]),
            strings(["surfaced at the connector", &thousands(sa.connector), ""]),
            strings(["surfaced at downstream", &thousands(sa.downstream), ""]),
            strings(["duplicate side effects", &thousands(r.duplicates), ""]),
        ];
        for (k, v) in &r.counters {
            rows.push(vec![k.replace('_', " "), thousands(*v), String::new()]);
        }
        if let Some(d) = r.drift_cents {
            rows.push(strings(["drift of totals (cents)", &d.to_string(), ""]));
        }
        for k in &r.ignored_keys {
            rows.push(strings(["config key the connector ignored", k, "not in its config schema"]));
        }
        tables.push(Table { title: "What crossed".into(), header: strings(["measure", "count", "share"]), rows });
    }
    tables.push(Table {
        title: "Each side alone: its own self-test".into(),
        header: head(strings(["side", "system", "round trips passed", "verdict", "first failure"])),
        rows: runs
            .iter()
            .flat_map(|r| {
                [("upstream", &r.self_tests.upstream), ("downstream", &r.self_tests.downstream)].map(|(side, t)| {
                    lead(
                        r,
                        vec![
                            side.into(),
                            t.system.clone(),
                            format!("{} of {}", thousands(t.passed), thousands(t.samples)),
                            if t.pass() { "pass" } else { "FAIL" }.into(),
                            t.first_failure.clone().unwrap_or_else(|| "-".into()),
                        ],
                    )
                })
            })
            .collect(),
    });
    let examples: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|r| {
            r.examples.iter().map(|e| {
                lead(
                    r,
                    vec![e.kind.clone(), e.record.to_string(), e.sent.clone(), grouped(&e.bytes_hex), e.read.clone()],
                )
            })
        })
        .collect();
    if !examples.is_empty() {
        tables.push(Table {
            title: "Failure kinds, one example record each".into(),
            header: head(strings(["kind", "record", "sent", "bytes on the wire (hex)", "read"])),
            rows: examples,
        });
    }
    let checks: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|r| {
            r.prevention.iter().map(|p| {
                let odds = p.write_read.as_ref().map_or("-".to_string(), |w| {
                    format!(
                        "P(a sample of {} catches it) = {:.3}; this run's sample {}",
                        thousands(w.sample),
                        w.p_catch,
                        if w.caught { "caught it" } else { "did not" }
                    )
                });
                lead(r, vec![p.check.clone(), p.verdict.clone(), p.when.clone(), p.why.clone(), odds])
            })
        })
        .collect();
    if !checks.is_empty() {
        tables.push(Table {
            title: "Prevention: what each check found before go-live".into(),
            header: head(strings(["check", "verdict", "when", "why", "write-read odds"])),
            rows: checks,
        });
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FaultArgs, TraceArgs};
    use crate::csi::Csi;
    use crate::study::Study;

    fn run(args: &[&str]) -> Summary {
        let (common, params) = Csi::parse_args(args.iter().copied()).unwrap();
        super::super::run(&params, &FaultArgs::default(), &TraceArgs::default(), &common.limits).unwrap().0
    }

    #[test]
    fn hex_wraps_in_groups_and_keeps_its_length_note() {
        assert_eq!(grouped("0123456789abcdef01"), "01234567 89abcdef 01");
        assert_eq!(grouped("00ff... (300 bytes)"), "00ff... (300 bytes)");
    }

    #[test]
    fn one_scenario_draws_where_its_failures_surfaced_and_its_duplicates() {
        let s = run(&["csi", "--scenario", "config", "--records", "300"]);
        let r = s.runs()[0];
        assert!(r.duplicates > 0 && r.loud_failures > 0, "{r:?}");
        let per_window: u64 = r.windows.iter().map(|w| w.duplicates).sum();
        assert_eq!(per_window, r.duplicates, "every duplicate is in a window");
        let svg = scenario_chart(r).render();
        assert!(svg.contains(">loud at upstream</text>") && svg.contains(">no silent failure</text>"), "{svg}");
        assert!(svg.contains(">duplicates</text>"));
        let figures = charts(&s);
        assert_eq!(figures.len(), 1);
        let titles: Vec<String> = tables(&s).into_iter().map(|t| t.title).collect();
        assert_eq!(titles[0], "What crossed");
        assert!(titles.iter().any(|t| t.starts_with("Failure kinds")), "{titles:?}");
    }

    #[test]
    fn all_has_the_six_scenario_table_and_a_chart_per_scenario_that_went_live() {
        let s = run(&["csi", "--records", "200", "--prevent", "registry"]);
        let names: Vec<String> = charts(&s).into_iter().map(|f| f.name).collect();
        let live: Vec<String> = (s.runs().iter().enumerate())
            .filter(|(_, r)| r.deployed)
            .map(|(i, r)| format!("chart-{}-{}", i + 1, name(r.scenario)))
            .collect();
        assert!(live.len() < 6, "the registry refused some pairs");
        assert_eq!(names[0], "chart");
        assert_eq!(names[1..], live[..]);
        let t = tables(&s);
        assert_eq!(t[0].rows.len(), 6);
        assert_eq!(t[0].rows[0][..2], ["metadata", "data"]);
        assert!(t[0].rows.iter().any(|r| r[6] == "refused"), "{:?}", t[0].rows);
        let prevention = t.iter().find(|t| t.title.starts_with("Prevention")).unwrap();
        assert_eq!(prevention.rows.len(), 6, "one registry row per scenario");
        assert!(verdict(&s).contains("never went live"), "{}", verdict(&s));
    }
}
