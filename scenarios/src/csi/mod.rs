//! The csi study: two systems that each pass their own tests fail once connected (schema,
//! encoding, compression config, timeouts, API semantics, numeric types), and which check
//! before go-live catches it. Its parameters, the run, what it prints and writes, its sweeps,
//! and the "what you are seeing" text and experiments for the report page.

pub mod page;
pub mod params;
pub mod run;
pub mod sweep;

use std::fmt::Write as _;

use faultline_nodes::csi::{Plane, Scenario};
pub use params::Params;
pub use run::{ScenarioSummary, Summary, run};

use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::{Figure, Table, csv};
use crate::study::param::word;
use crate::study::run::RunId;
use crate::study::{Param, RunLimits, Speed, Study};
use params::{Which, name};

/// `n` with thousands separators: 10,000.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn plane(p: Plane) -> String {
    word(&p)
}

/// The self-tests and the connection in one line: "upstream alone: pass (...). downstream
/// alone: pass (...). upstream -> downstream: 312 of 10,000 records wrong, 0 errors."
pub fn lesson(r: &ScenarioSummary) -> String {
    let side = |t: &faultline_nodes::csi::SelfTest| {
        let verdict = if t.pass() { "pass" } else { "FAIL" };
        let mut s =
            format!("{} alone: {verdict} ({} of {} round trips)", t.system, thousands(t.passed), thousands(t.samples));
        if let Some(e) = &t.first_failure {
            let _ = write!(s, ", first failure: {e}");
        }
        s
    };
    let mut s = format!("{}. {}. ", side(&r.self_tests.upstream), side(&r.self_tests.downstream));
    if r.deployed {
        let _ = write!(
            s,
            "upstream -> downstream: {} of {} records wrong, {} errors.",
            thousands(r.loud_failures + r.silent_corruptions),
            thousands(r.records),
            thousands(r.loud_failures)
        );
        if r.duplicates > 0 {
            s.pop();
            let _ = write!(s, ", and {} duplicate side effects.", thousands(r.duplicates));
        }
    } else {
        let by: Vec<&str> = r.prevention.iter().filter(|p| p.caught).map(|p| p.check.as_str()).collect();
        let _ = write!(s, "upstream -> downstream: not connected, the deploy was refused by {}.", by.join(", "));
    }
    s
}

/// The readable report of one scenario.
pub fn scenario_text(r: &ScenarioSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "csi {} ({} plane): {}\n", name(r.scenario), plane(r.plane), r.describe);
    let _ = writeln!(out, "{}", lesson(r));
    if r.deployed {
        let _ = writeln!(
            out,
            "{} loud ({}), {} silent ({}); {} duplicate side effects",
            thousands(r.loud_failures),
            pct(r.loud_failures as f64 / r.records.max(1) as f64),
            thousands(r.silent_corruptions),
            pct(r.silent_corruptions as f64 / r.records.max(1) as f64),
            thousands(r.duplicates)
        );
        let s = &r.surfaced_at;
        let _ = writeln!(
            out,
            "surfaced at: upstream {}, connector {}, downstream {}",
            thousands(s.upstream),
            thousands(s.connector),
            thousands(s.downstream)
        );
        if !r.counters.is_empty() {
            let c: Vec<String> =
                r.counters.iter().map(|(k, v)| format!("{} {}", k.replace('_', " "), thousands(*v))).collect();
            let _ = writeln!(out, "counted: {}", c.join(", "));
        }
    }
    for k in &r.ignored_keys {
        let _ = writeln!(
            out,
            "the connector ignored the producer's {k} without a word (the key is not in its config schema)"
        );
    }
    if let Some(o) = &r.odds {
        let measured = o.measured_attempt_timeouts.map_or(String::new(), |m| format!("; measured {}", pct(m)));
        let _ = writeln!(
            out,
            "an attempt times out with probability {} (processing outlives the timeout, from the distribution){measured}; a request fails when every attempt does: {}{}",
            pct(o.attempt_timeout_probability),
            pct(o.request_failure_probability),
            if r.deployed { format!(", measured {}", pct(r.failure_ratio)) } else { String::new() }
        );
    }
    if let Some(d) = r.drift_cents {
        let _ = writeln!(out, "drift of totals: {d} cents over {} invoices", thousands(r.records));
    }
    if !r.prevention.is_empty() {
        out.push_str("prevention:\n");
        for p in &r.prevention {
            let _ = writeln!(out, "  {} ({}): {}: {}", p.check, p.when, p.verdict, p.why);
            if let Some(w) = &p.write_read {
                let basis = match w.trials {
                    Some(t) => format!("{} samples of {} run through the actors", thousands(t), thousands(w.sample)),
                    None => format!(
                        "{} of {} records fail across, so 1 - (1 - {:.4})^{}",
                        pct(w.failing_share),
                        thousands(w.population),
                        w.failing_share,
                        w.sample
                    ),
                };
                let _ = writeln!(
                    out,
                    "    P(a sample of {} catches it) = {:.3} ({basis}); this run's sample {}",
                    thousands(w.sample),
                    w.p_catch,
                    if w.caught { "caught it" } else { "did not" }
                );
            }
        }
    }
    if !r.deployed {
        out.push_str("no record crossed; leave out --prevent to see what the check prevented\n");
    }
    if !r.examples.is_empty() {
        out.push_str("\nfailure kinds, one example record each:\n");
        for e in &r.examples {
            let _ = writeln!(out, "{} (record {}):", e.kind, e.record);
            let _ = writeln!(out, "  sent:  {}", e.sent);
            let _ = writeln!(out, "  bytes: {}", e.bytes_hex);
            let _ = writeln!(out, "  read:  {}", e.read);
        }
    }
    if let Some(why) = &r.incomplete {
        let _ = writeln!(out, "incomplete: {why}");
    }
    out
}

/// The table of `--scenario all`.
pub fn table(runs: &[&ScenarioSummary]) -> String {
    let mut out = String::from("csi: six interactions, each side passing its own tests alone\n\n");
    let _ = writeln!(
        out,
        "{:<12} {:<10} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>18}  prevention",
        "scenario", "plane", "self-test", "records", "loud", "silent", "ratio", "duplicates", "up/conn/down",
    );
    for r in runs {
        let tests = if r.self_tests.pass() { "pass" } else { "FAIL" };
        let s = &r.surfaced_at;
        let prevention: Vec<String> = r
            .prevention
            .iter()
            .filter(|p| p.verdict != "not applicable")
            .map(|p| format!("{} {}", p.check, p.verdict))
            .collect();
        let _ = writeln!(
            out,
            "{:<12} {:<10} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>18}  {}",
            name(r.scenario),
            plane(r.plane),
            format!("{tests}/{tests}").replace("pass/pass", "both pass"),
            thousands(r.records),
            thousands(r.loud_failures),
            thousands(r.silent_corruptions),
            if r.deployed { pct(r.failure_ratio) } else { "refused".into() },
            thousands(r.duplicates),
            format!("{}/{}/{}", s.upstream, s.connector, s.downstream),
            if prevention.is_empty() { "-".to_string() } else { prevention.join(", ") }
        );
    }
    out.push_str("\n(loud: an error somebody saw; silent: a wrong value only the end-to-end oracle saw; run one --scenario for examples)\n");
    if let Some(why) = runs.iter().find_map(|r| r.incomplete.as_deref()) {
        let _ = writeln!(out, "incomplete: {why}");
    }
    out
}

/// The readable report.
pub fn text(s: &Summary) -> String {
    match s {
        Summary::One(o) => scenario_text(&o.run),
        Summary::All(_) => table(&s.runs()),
    }
}

/// "What you are seeing": each scenario's mechanism with this run's numbers.
pub fn explain(summary: &Summary) -> String {
    let p = summary.params();
    let mut out = String::new();
    for r in summary.runs() {
        let n = thousands(r.records);
        let (loud, silent) = (thousands(r.loud_failures), thousands(r.silent_corruptions));
        let _ = write!(out, "{} ({} plane). ", name(r.scenario), plane(r.plane));
        let _ = write!(out, "Each side passes its own tests alone: {} ", lesson(r));
        let text = match r.scenario {
            _ if !r.deployed => "The pair never went live, so nothing was measured across it; run it again without --prevent to see what the check prevented.".to_string(),
            Scenario::Metadata if p.metadata == params::MetadataKind::Units => format!(
                "Both schemas declare a long, so Avro's schema resolution reads every value without an error; upstream means milliseconds and downstream microseconds, so every instant lands a thousand times closer to 1970: {silent} of {n} records silently wrong, which a schema registry cannot see (both declare long) and only the end-to-end oracle catches."
            ),
            Scenario::Metadata => format!(
                "Upstream writes event_time as an Avro long of milliseconds; downstream's schema declares int seconds, and Avro's resolution (apache-avro's, not ours) coerces a long to an int only when it fits 32 bits. A synced device's 2024 timestamp (about 1.7e12 ms) does not fit: {loud} records failed loudly at downstream. A device whose clock was never set counts from 1970 and fits, so it is read as seconds, a thousand times too far from the epoch: {silent} records stored wrong without an error. Which records fail, and how, depends on the values, not on a dice roll."
            ),
            Scenario::Encoding => format!(
                "Upstream encodes text as {} and downstream decodes it as {}: ASCII bytes are the same in both, but an accented letter or a euro sign is one byte in windows-1252 that is not valid UTF-8. {:.0}% of the names had one, and {} of the records failed ({} loud, {} silent): the ratio follows the share of non-ASCII names. Strict decoding makes each one an error somebody sees; lossy decoding stores U+FFFD instead, silently, and only the oracle notices.",
                p.upstream_charset,
                p.downstream_charset,
                100.0 * p.non_ascii_share,
                pct(r.failure_ratio),
                loud,
                silent
            ),
            Scenario::Compression => {
                let lz4 = p.compression == faultline_nodes::csi::compression::Compression::Lz4;
                let wrote = if lz4 { "LZ4 frames" } else { "plain JSON" };
                let outcome = if r.loud_failures + r.silent_corruptions == 0 {
                    format!("That happens to be what the producer wrote ({wrote}): none of {n} records failed.")
                } else {
                    format!(
                        "{loud} of {n} records failed loudly at the connector ({} surfaced there), and none reached downstream.",
                        thousands(r.surfaced_at.connector)
                    )
                };
                format!(
                    "The producer's properties say {}, so it writes {wrote}; the source connector is configured from the same properties, but its config schema has no compression key, so it drops it without a word and reads the bytes as {}. {outcome}",
                    if r.ignored_keys.is_empty() { "compression=none".to_string() } else { r.ignored_keys.join(", ") },
                    word(&p.connector_format),
                )
            }
            Scenario::Config => {
                let o = r.odds.as_ref();
                format!(
                    "Upstream waits {} per attempt and retries {} times; downstream's processing time follows {} and its operators expect {} with {} retries. An attempt times out when processing outlives the timeout, with probability {} from the distribution (measured: {}). The timed-out attempt is still processed, so its retry applies the side effect again: {} duplicate side effects{}. A request fails loudly only when all {} attempts time out: {} expected, {} measured ({loud} of {n}).",
                    faultline::time::format_duration(p.timeout),
                    p.retries,
                    p.processing,
                    faultline::time::format_duration(p.expected_timeout),
                    p.expected_retries,
                    o.map_or("-".into(), |o| pct(o.attempt_timeout_probability)),
                    o.and_then(|o| o.measured_attempt_timeouts).map_or("-".into(), pct),
                    thousands(r.duplicates),
                    if p.idempotency_keys { " (idempotency keys on: downstream applied each key once)" } else { "" },
                    p.retries + 1,
                    o.map_or("-".into(), |o| pct(o.request_failure_probability)),
                    pct(r.failure_ratio)
                )
            }
            Scenario::Api => format!(
                "Upstream sends each entity's create and updates in order and assumes they are applied in that order; downstream hands them to {}. {}: {} operations reached the apply step after a newer one on the same entity. An update before its create fails ({loud} loud); an older update applied after a newer one leaves a stale value ({silent} lost updates, silent). One worker, or routing each entity to one worker, keeps the order.",
                match (p.workers, p.per_entity_ordering) {
                    (1, _) => "one worker".to_string(),
                    (w, true) => format!("{w} workers that route each entity to one worker"),
                    (w, false) => format!("{w} workers over one shared queue"),
                },
                if p.workers == 1 || p.per_entity_ordering {
                    "Each entity's operations go through one worker, one at a time, so they apply in the order sent"
                } else {
                    "Processing times vary, so a later operation can finish first"
                },
                thousands(r.counters.get("out_of_order").copied().unwrap_or(0))
            ),
            Scenario::Types => format!(
                "Upstream adds invoice lines as f64, whose binary sums land just off the exact cents (0.1 + 0.7 = 0.7999999999999999); downstream reads the JSON number as an exact decimal into a DECIMAL column that {}s to {} places. {silent} of {n} invoices lost or gained a cent without an error, and the totals drifted by {} cents over the run.",
                match p.rounding {
                    faultline_nodes::csi::types::Rounding::Truncate => "truncate",
                    _ => "round",
                },
                p.scale,
                r.drift_cents.unwrap_or(0)
            ),
        };
        out.push_str(&text);
        for c in r.prevention.iter().filter(|c| c.verdict != "not applicable") {
            let _ = write!(out, " {} {}: {}.", c.check, c.verdict, c.why);
        }
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Experiments to try: a title and the exact command line.
pub fn experiments() -> Vec<(&'static str, String)> {
    [
        (
            "All six interactions in one table",
            "csi -- --scenario all --out out/csi",
            "Every side passes its own tests; connected, each pair goes wrong in its own way, loudly or silently, at upstream, the connector or downstream.",
        ),
        (
            "The failure ratio follows the share of accented names",
            "csi -- --scenario encoding --sweep non-ascii-share=0,0.1,0.2,0.4",
            "The failure ratio is the share of names with a non-ASCII letter, because those are exactly the records whose bytes differ between the two charsets.",
        ),
        (
            "Lossy decoding: the same records, now silent",
            "csi -- --scenario encoding --decode lossy",
            "The loud failures become silent ones: U+FFFD stored without an error, which only the oracle sees.",
        ),
        (
            "A unit mismatch a schema registry cannot see",
            "csi -- --scenario metadata --metadata units --prevent registry",
            "The registry passes the pair (both declare a long), and every record is still silently wrong.",
        ),
        (
            "The registry refuses the type mismatch before data flows",
            "csi -- --scenario metadata --prevent registry",
            "No record crosses: the prevention table says what Avro's schema resolution found.",
        ),
        (
            "The ignored compression key, caught by a config check",
            "csi -- --scenario compression --prevent config-check",
            "The check names the producer's key that the connector's config schema does not know.",
        ),
        (
            "A connector that reads frames: nothing fails",
            "csi -- --scenario compression --connector-format frame",
            "The key is still ignored, but the connector happens to read what the producer writes.",
        ),
        (
            "Retries duplicate side effects",
            "csi -- --scenario config --retries 3",
            "Each timed-out attempt was still processed, so its retry applies the side effect again: the duplicates panel.",
        ),
        (
            "Idempotency keys remove the duplicates",
            "csi -- --scenario config --idempotency-keys",
            "The same timeouts and retries, and no duplicate side effect.",
        ),
        (
            "A timeout above downstream's p99",
            "csi -- --scenario config --timeout 90s",
            "Attempts rarely time out: no request fails, and duplicate side effects drop from about a thousand to about ten.",
        ),
        (
            "Out-of-order applies grow with workers",
            "csi -- --scenario api --sweep workers=1,2,4,8",
            "None with one worker; more with every worker added.",
        ),
        (
            "Per-entity ordering restores the order",
            "csi -- --scenario api --workers 8 --per-entity-ordering",
            "Eight workers, each entity on one of them: no operation applies out of order.",
        ),
        (
            "A contract test catches the ordering assumption",
            "csi -- --scenario api --prevent contract",
            "The consumer's expectation (an update after its create applies) fails against the provider before go-live.",
        ),
        (
            "Rounding instead of truncating",
            "csi -- --scenario types --rounding half-even",
            "No invoice changes by a cent and the totals do not drift: the f64 sums land a hair off the exact cents, which rounding recovers and truncating does not.",
        ),
        (
            "How many write-read samples catch a rare problem",
            "csi -- --scenario encoding --non-ascii-share 0.01 --prevent write-read:50",
            "The prevention table gives the probability that 50 samples include a failing record, next to whether this run's sample did.",
        ),
    ]
    .into_iter()
    .map(|(t, c, look)| (t, format!("cargo run --release --bin {c}\n\n{look}")))
    .collect()
}

/// `windows.csv`: one row per window of each scenario.
pub fn windows_csv(s: &Summary) -> String {
    let header = [
        "scenario",
        "t_s",
        "records",
        "loud_upstream",
        "loud_connector",
        "loud_downstream",
        "silent_upstream",
        "silent_connector",
        "silent_downstream",
    ];
    let rows = s.runs().into_iter().flat_map(|r| {
        r.windows.iter().map(move |w| {
            vec![
                name(r.scenario),
                w.t_s.to_string(),
                w.records.to_string(),
                w.loud.upstream.to_string(),
                w.loud.connector.to_string(),
                w.loud.downstream.to_string(),
                w.silent.upstream.to_string(),
                w.silent.connector.to_string(),
                w.silent.downstream.to_string(),
            ]
        })
    });
    csv::render(&header, rows)
}

/// The csi study, for the shared study binary.
pub struct Csi;

impl Study for Csi {
    type Params = Params;
    type Summary = Summary;
    type Row = sweep::Row;
    const NAME: &'static str = "csi";
    const ABOUT: &'static str = "How two systems that each pass their own tests fail once connected (schema, encoding, compression config, timeouts, API semantics, numeric types), loudly or silently, and which check before go-live catches it.";

    fn table() -> &'static [Param] {
        params::TABLE
    }

    fn check(p: &Params, limits: &RunLimits) -> Result<(), InputError> {
        let plan = p.plan()?;
        p.check_limits(&plan, limits)
    }

    fn check_sweep(p: &Params) -> Result<(), InputError> {
        if p.scenario == Which::All {
            return Err(InputError(
                "--sweep runs one scenario: give --scenario metadata, encoding, compression, config, api or types"
                    .into(),
            ));
        }
        Ok(())
    }

    fn seed(p: &Params) -> u64 {
        p.seed
    }

    fn with_seed(p: &Params, seed: u64) -> Params {
        Params { seed, ..p.clone() }
    }

    fn describe(p: &Params) -> String {
        match p.plan() {
            Ok(plan) => p.scenario.scenarios().iter().map(|s| p.describe(&plan, *s)).collect::<Vec<_>>().join("; "),
            Err(_) => String::new(),
        }
    }

    fn run(p: &Params, live: &FaultArgs, traces: &TraceArgs, limits: &RunLimits) -> anyhow::Result<(Summary, Speed)> {
        run::run(p, live, traces, limits)
    }

    fn incomplete(s: &Summary) -> Option<&str> {
        s.incomplete()
    }

    fn text(s: &Summary) -> String {
        text(s)
    }

    fn files(s: &Summary) -> Vec<(&'static str, Vec<u8>)> {
        vec![("windows.csv", windows_csv(s).into_bytes())]
    }

    fn faults(s: &Summary) -> Option<&str> {
        s.faults()
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
        s.faults().filter(|_| p.nemesis.is_some())
    }

    fn row(id: RunId, s: &Summary) -> sweep::Row {
        sweep::Row::new(id, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    fn run_args(args: &[&str]) -> Summary {
        let (common, params) = Csi::parse_args(args.iter().copied()).unwrap();
        run::run(&params, &FaultArgs::default(), &TraceArgs::default(), &common.limits).unwrap().0
    }

    #[test]
    fn explain_tells_each_mechanism_with_this_runs_numbers() {
        let s = run_args(&["csi", "--scenario", "encoding", "--records", "500", "--non-ascii-share", "0.3"]);
        let r = s.runs()[0];
        assert!(r.loud_failures > 100, "{r:?}");
        let text = explain(&s);
        assert!(
            text.starts_with("encoding (data plane). Each side passes its own tests alone: upstream alone: pass"),
            "{text}"
        );
        let numbers =
            format!("{} of the records failed ({} loud, 0 silent)", pct(r.failure_ratio), thousands(r.loud_failures));
        assert!(text.contains(&numbers), "{text}");
        let all = explain(&run_args(&["csi", "--records", "200", "--prevent", "registry"]));
        let starts: Vec<&str> = all.split("\n\n").map(|p| p.split(' ').next().unwrap()).collect();
        assert_eq!(starts, ["metadata", "encoding", "compression", "config", "api", "types"], "{all}");
        assert!(all.contains("registry caught: Avro refuses the pair"), "{all}");
        assert!(all.contains("metadata (data plane). Each side passes its own tests alone: upstream alone: pass (1,000 of 1,000 round trips). downstream alone: pass (1,000 of 1,000 round trips). upstream -> downstream: not connected, the deploy was refused by registry. The pair never went live"), "{all}");
    }

    #[test]
    fn every_experiment_is_a_command_that_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        crate::study::page::check_experiments::<Csi>(root).unwrap();
    }
}
