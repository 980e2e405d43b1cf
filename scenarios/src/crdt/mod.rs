//! The crdt study: how fast replicas of a G-Counter, PN-Counter, OR-Set or LWW-Map converge by
//! gossip over the emulated network, what they lose against a single copy, and how big their
//! state and traffic grow. Its parameters, the run, what it prints and draws, its sweeps, and
//! the words and experiments of its report page.

pub mod explain;
pub mod judge;
pub mod page;
pub mod params;
pub mod run;
pub mod sweep;

use std::fmt::Write as _;

pub use explain::{experiments, explain};
use faultline::time::format_duration;
pub use params::Params;
pub use run::{Summary, run};

use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::{Figure, Table, csv};
use crate::study::run::RunId;
use crate::study::{Param, RunLimits, Speed, Study};

/// Text of a JSON value, cut to `max` characters.
fn short(v: &serde_json::Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max { s } else { format!("{}...", s.chars().take(max).collect::<String>()) }
}

fn secs(v: f64) -> String {
    format!("{v:.3} s")
}

/// Bytes, in B, KB, MB or GB (decimal).
pub(crate) fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// The anomaly counts present, as `name n` pairs.
fn anomaly_list(s: &Summary) -> Vec<String> {
    let serde_json::Value::Object(a) = serde_json::to_value(&s.anomalies).unwrap_or_default() else {
        return Vec::new();
    };
    a.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k} {v}")).collect()
}

/// The readable report: what ran, and in a few lines what happened, with the numbers.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "crdt: {}\n", s.describe);
    match (s.converged, s.converged_at_s, s.convergence_s, s.last_op_s) {
        (true, Some(at), Some(c), Some(last)) => {
            let _ = writeln!(
                out,
                "converged    yes: every replica's state equal from {}, {} after the last operation (at {})",
                secs(at),
                secs(c),
                secs(last)
            );
        }
        (true, _, _, _) => out.push_str("converged    yes: every replica's state is equal\n"),
        (false, _, _, _) => {
            let _ = writeln!(
                out,
                "converged    no: {} distinct visible values among {} replicas at the end ({}); the states still differ",
                s.values.distinct,
                s.values.replicas,
                format_duration(s.params.duration)
            );
        }
    }
    let _ = writeln!(out, "value        {} (what the replicas hold together)", short(&s.value, 100));
    let agree = if s.value == s.expected { "the same" } else { "different" };
    let _ =
        writeln!(out, "oracle       {} (one copy, operations in real-time order): {agree}", short(&s.expected, 100));
    let _ = writeln!(out, "anomalies    {}", anomaly_list(s).join(", "));
    if let Some(b) = &s.baseline {
        let _ = writeln!(
            out,
            "baseline     {} on the same operations and gossip: {} {}, {} error{} against the oracle",
            b.kind,
            if b.converged { "converged to" } else { "did not converge; together" },
            short(&b.value, 60),
            b.errors,
            if b.errors == 1 { "" } else { "s" }
        );
    }
    let _ = write!(out, "operations   {} of {} acknowledged", s.ops.acknowledged, s.ops.planned);
    if let Some(p) = &s.partition {
        let _ = write!(
            out,
            "; {} of them during the partition ({}-{}), with at least {} distinct states in every window of it",
            s.ops.during_partition,
            secs(p.from_s),
            secs(p.to_s),
            s.min_distinct_in_partition.map_or("-".to_string(), |d| d.to_string())
        );
    }
    out.push('\n');
    let per = s.bytes.checked_div(s.messages).unwrap_or(0);
    let _ = writeln!(
        out,
        "traffic      {} messages ({} full states), {}, {} per message; state size max {}, final {}",
        s.messages,
        s.full_states,
        bytes(s.bytes),
        bytes(per),
        bytes(s.state_bytes.max as u64),
        bytes(s.state_bytes.at_end as u64)
    );
    if s.collected > 0 {
        let _ = writeln!(out, "gc           {} tombstones forgotten", s.collected);
    }
    if let Some(why) = &s.incomplete {
        let _ = writeln!(out, "incomplete: {why}");
    }
    out
}

/// `windows.csv`.
pub fn windows_csv(s: &Summary) -> String {
    let header = ["t_s", "distinct_states", "state_bytes_max", "ops", "messages", "bytes"];
    let rows = s.windows.iter().map(|w| {
        vec![
            w.t_s.to_string(),
            w.distinct_states.to_string(),
            w.state_bytes_max.to_string(),
            w.ops.to_string(),
            w.messages.to_string(),
            w.bytes.to_string(),
        ]
    });
    csv::render(&header, rows)
}

/// The crdt study, for the shared study binary.
pub struct Crdt;

impl Study for Crdt {
    type Params = Params;
    type Summary = Summary;
    type Row = sweep::Row;
    const NAME: &'static str = "crdt";
    const ABOUT: &'static str = "How fast G-Counter, PN-Counter, OR-Set and LWW-Map replicas converge by gossip over an emulated network, what they lose against a single copy, and how big their state and traffic grow.";

    fn table() -> &'static [Param] {
        params::TABLE
    }

    fn check(p: &Params, limits: &RunLimits) -> Result<(), InputError> {
        p.plan(limits)?;
        p.check_limits(limits)
    }

    fn seed(p: &Params) -> u64 {
        p.seed
    }

    fn with_seed(p: &Params, seed: u64) -> Params {
        Params { seed, ..p.clone() }
    }

    fn describe(p: &Params) -> String {
        p.describe()
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
        page::verdict(s)
    }

    fn explain(s: &Summary) -> String {
        explain(s)
    }

    fn experiments() -> Vec<(&'static str, String)> {
        experiments()
    }

    fn charts(s: &Summary) -> Vec<Figure> {
        page::charts(s)
    }

    fn tables(s: &Summary) -> Vec<Table> {
        page::tables(s)
    }

    fn generated_faults<'a>(p: &Params, s: &'a Summary) -> Option<&'a str> {
        s.faults.as_deref().filter(|_| p.nemesis.is_some())
    }

    fn row(id: RunId, s: &Summary) -> sweep::Row {
        sweep::Row::new(id, s)
    }
}

#[cfg(test)]
mod report_tests {
    use std::path::Path;

    use crate::study::page::check_experiments;

    #[test]
    fn every_experiment_is_a_command_that_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        check_experiments::<super::Crdt>(root).unwrap();
    }
}
