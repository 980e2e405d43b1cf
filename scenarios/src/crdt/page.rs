//! What the crdt study's report page draws and tabulates: divergence, state size, operations
//! and gossip on one time axis (the partition and any scripted fault shaded, the last operation
//! and the convergence instant marked), and the tables of the value against the oracle, the
//! anomalies, and the traffic.

use faultline_nodes::crdt::Mode;

use super::run::{Summary, Window};
use super::{bytes, short};
use crate::report::panels::{self, Band, Panel, Panels, Scale, Series};
use crate::report::{Figure, Table};
use crate::study::fault_window::FaultWindow;
use crate::study::param::word;

/// The verdict at the top of the page: converged or not, and whether the value is the oracle's.
pub fn verdict(s: &Summary) -> String {
    let agree = if s.value == s.expected { "equals the oracle" } else { "differs from the oracle" };
    let own = own_anomalies(s);
    let anomalies = if own.is_empty() { String::new() } else { format!(" ({})", own.join(", ")) };
    match (s.converged, s.convergence_s) {
        (true, Some(c)) => format!(
            "{}: every replica's state equal {c:.3} s after the last of {} operations; the value {agree}{anomalies}.",
            s.params.kind.name(),
            s.ops.acknowledged
        ),
        (true, None) => format!("{}: every replica's state equal; the value {agree}{anomalies}.", s.params.kind.name()),
        (false, _) => format!(
            "{}: not converged by the end of the run ({} distinct visible values among {} replicas); together they hold a value that {agree}{anomalies}.",
            s.params.kind.name(),
            s.values.distinct,
            s.values.replicas
        ),
    }
}

/// The type's own anomalies that are not zero, as `name n`.
fn own_anomalies(s: &Summary) -> Vec<String> {
    let a = &s.anomalies;
    [
        ("counter errors", a.counter_errors),
        ("add-wins outcomes", a.orset_add_wins),
        ("lost adds", a.orset_lost_adds),
        ("lost updates", a.lww_lost_updates),
        ("of them by clock skew", a.lww_skew_wins),
    ]
    .into_iter()
    .filter_map(|(name, n)| n.filter(|n| *n > 0).map(|n| format!("{n} {name}")))
    .collect()
}

/// The shaded spans: the partition of `--partition`, the scripted or nemesis faults, and the
/// instants of the last operation and of convergence (drawn as lines).
fn bands(s: &Summary) -> Vec<Band> {
    let mut out: Vec<Band> =
        s.partition.iter().map(|p| Band { from: p.from_s, to: p.to_s, label: "partition".into() }).collect();
    out.extend(s.fault_windows.iter().map(FaultWindow::band));
    if let Some(last) = s.last_op_s {
        out.push(Band { from: last, to: last, label: "last operation".into() });
    }
    if let Some(at) = s.converged_at_s {
        out.push(Band { from: at, to: at, label: "converged".into() });
    }
    out.sort_by(|a, b| a.from.total_cmp(&b.from));
    out
}

/// `chart.svg`: distinct states, state size, operations, gossip messages and bytes, on one time
/// axis.
pub fn chart(s: &Summary) -> Panels {
    let width = s.params.window.as_secs_f64();
    let end = s.params.duration.as_secs_f64();
    // Samples (distinct states, state size) are taken at a window's end; counts cover the
    // window and sit at its centre.
    let at_end = |f: fn(&Window) -> f64| s.windows.iter().map(|w| (w.t_s + width, Some(f(w)))).collect::<Vec<_>>();
    let at_centre =
        |f: fn(&Window) -> f64| s.windows.iter().map(|w| (w.t_s + width / 2.0, Some(f(w)))).collect::<Vec<_>>();
    let per = if width == 1.0 { "per second".to_string() } else { format!("per {} s window", panels::tick(width)) };
    Panels {
        title: format!(
            "crdt: {} on {} replicas, {} gossip",
            s.params.kind.name(),
            s.params.replicas,
            word(&s.params.mode)
        ),
        x_label: "virtual time (s); samples at each window's end, counts at its centre".into(),
        x_end: end,
        bands: bands(s),
        partial: None,
        panels: vec![
            Panel::new(
                "divergence: distinct replica states (1 = converged)",
                Scale::Linear,
                vec![
                    Series::level("one state", "#999999", 1.0, 0.0, end),
                    Series::data("distinct states", "#d62728", at_end(|w| w.distinct_states as f64)),
                ],
            ),
            Panel::new(
                "largest replica state (bytes, tombstones included)",
                Scale::Linear,
                vec![Series::data("state bytes", "#1f77b4", at_end(|w| w.state_bytes_max as f64))],
            ),
            Panel::new(
                &format!("operations acknowledged {per}"),
                Scale::Linear,
                vec![Series::data("operations", "#222222", at_centre(|w| w.ops as f64))],
            ),
            Panel::new(
                &format!("gossip messages {per}"),
                Scale::Linear,
                vec![Series::data("messages", "#9467bd", at_centre(|w| w.messages as f64))],
            ),
            Panel::new(
                &format!("gossip bytes {per}"),
                Scale::Linear,
                vec![Series::data("bytes sent", "#ff7f0e", at_centre(|w| w.bytes as f64))],
            ),
        ],
    }
}

/// The charts of the report page.
pub fn charts(s: &Summary) -> Vec<Figure> {
    vec![Figure {
        name: "chart".into(),
        title: "Divergence, state and gossip over time.".into(),
        caption: "Top to bottom on one time axis: how many distinct states the replicas held at each window's end (1: all equal), the largest replica state in bytes (tombstones included), operations acknowledged, and gossip messages and bytes sent. Shaded: the partition and any other fault; vertical lines: the last operation and the instant every replica's state became equal.".into(),
        svg: chart(s).render(),
    }]
}

/// The tables of the report page: the value against the oracle, the anomalies, the traffic.
pub fn tables(s: &Summary) -> Vec<Table> {
    let mut value = vec![
        vec!["the replicas together (join of every state)".into(), short(&s.value, 120)],
        vec!["the oracle (one copy, operations in real-time order)".into(), short(&s.expected, 120)],
        vec!["the same?".into(), if s.value == s.expected { "yes" } else { "no" }.into()],
        vec![
            "distinct visible values at the end".into(),
            format!("{} among {} replicas", s.values.distinct, s.values.replicas),
        ],
    ];
    for held in &s.values.most_common {
        value.push(vec![format!("held by {} replicas", held.replicas), short(&held.value, 120)]);
    }
    if let Some(b) = &s.baseline {
        value.push(vec![
            format!("{} on the same operations", b.kind),
            format!(
                "{} ({}converged, {} error{})",
                short(&b.value, 80),
                if b.converged { "" } else { "not " },
                b.errors,
                if b.errors == 1 { "" } else { "s" }
            ),
        ]);
    }
    let a = &s.anomalies;
    let anomalies: Vec<Vec<String>> = [
        ("counter_errors", a.counter_errors, "distance of the converged counter from the sum of the operations"),
        (
            "orset_add_wins",
            a.orset_add_wins,
            "elements present though removed last in real time (a concurrent add won)",
        ),
        ("orset_lost_adds", a.orset_lost_adds, "elements absent though added last in real time"),
        ("lww_lost_updates", a.lww_lost_updates, "acknowledged writes no replica holds, beaten by a concurrent write"),
        (
            "lww_skew_wins",
            a.lww_skew_wins,
            "of those, beaten by a write that happened earlier but carried a clock ahead",
        ),
        ("lww_wrong_keys", a.lww_wrong_keys, "keys whose final value is not the last write in real time"),
        ("naive_set_errors", a.naive_set_errors, "a naive set's elements that differ from the oracle"),
        ("naive_set_resurrected", a.naive_set_resurrected, "a naive set's removed elements brought back by a merge"),
        ("max_counter_errors", a.max_counter_errors, "increments a max-merged counter misses"),
    ]
    .into_iter()
    .filter_map(|(name, n, what)| n.map(|n| vec![name.to_string(), n.to_string(), what.to_string()]))
    .collect();
    let per = s.bytes.checked_div(s.messages).unwrap_or(0);
    let mut traffic = vec![
        vec!["mode".into(), word(&s.params.mode)],
        vec!["gossip messages".into(), s.messages.to_string()],
        vec!["of which full states".into(), s.full_states.to_string()],
        vec!["bytes sent".into(), bytes(s.bytes)],
        vec!["bytes per message".into(), bytes(per)],
        vec!["merges that changed a replica".into(), s.merges.to_string()],
        vec!["largest state".into(), bytes(s.state_bytes.max as u64)],
        vec!["largest state at the end".into(), bytes(s.state_bytes.at_end as u64)],
    ];
    if s.params.mode == Mode::Delta {
        traffic[2][0] = "of which full states (a peer never heard from, or too far behind)".into();
    }
    if s.collected > 0 || s.params.gc {
        traffic.push(vec!["tombstones forgotten (--gc)".into(), s.collected.to_string()]);
    }
    let header = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    vec![
        Table { title: "The value against the oracle".into(), header: header("what", "value"), rows: value },
        Table {
            title: "Anomalies".into(),
            header: ["anomaly", "count", "what it counts"].map(String::from).to_vec(),
            rows: anomalies,
        },
        Table { title: "Traffic and state".into(), header: header("measure", "value"), rows: traffic },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FaultArgs, TraceArgs};
    use crate::crdt::Crdt;
    use crate::study::Study;

    fn run(args: &[&str]) -> Summary {
        let (common, params) = Crdt::parse_args(args.iter().copied()).unwrap();
        super::super::run(&params, &FaultArgs::default(), &TraceArgs::default(), &common.limits).unwrap().0
    }

    #[test]
    fn the_chart_marks_the_partition_the_last_operation_and_convergence() {
        let s = run(&["crdt", "--type", "pn-counter", "--partition", "--duration", "20s"]);
        assert!(s.converged, "{s:?}");
        let b = bands(&s);
        let labels: Vec<&str> = b.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["partition", "last operation", "converged"]);
        assert_eq!(b[1].from, s.last_op_s.unwrap());
        assert!(b[2].from >= b[1].from, "convergence comes after the last operation");
        let svg = chart(&s).render();
        for label in [">partition</text>", ">last operation</text>", ">converged</text>", ">bytes sent</text>"] {
            assert!(svg.contains(label), "{label}");
        }
        assert_eq!(svg.matches("<path").count(), 6, "a line per series, and the reference line");
        let t = tables(&s);
        assert_eq!(t[0].rows[2], ["the same?", "yes"]);
        assert_eq!(
            t[1].rows,
            [["counter_errors", "0", "distance of the converged counter from the sum of the operations"]]
        );
        assert!(verdict(&s).starts_with("pn-counter: every replica's state equal "), "{}", verdict(&s));
    }

    #[test]
    fn a_scripted_fault_is_shaded_and_its_script_kept() {
        let dir = std::env::temp_dir().join(format!("faultline-crdt-page-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("faults.txt");
        std::fs::write(&file, "at 3s crash replica-1\nat 6s restart replica-1\n").unwrap();
        let s = run(&["crdt", "--duration", "12s", "--faults", file.to_str().unwrap()]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(s.fault_windows.len(), 1, "{:?}", s.fault_windows);
        assert_eq!((s.fault_windows[0].from_s, s.fault_windows[0].to_s), (3.0, 6.0));
        assert!(bands(&s).iter().any(|b| b.label == "crash" && b.from == 3.0 && b.to == 6.0));
        assert!(s.faults.as_deref().unwrap().contains("crash"), "{:?}", s.faults);
        let text = crate::crdt::explain(&s);
        assert!(text.contains("Faults ran (shaded; each is in faults.txt): crash from 3.000 s to 6.000 s."), "{text}");
        assert!(text.contains(&format!("{} of {} planned operations", s.ops.acknowledged, s.ops.planned)), "{text}");
    }
}
