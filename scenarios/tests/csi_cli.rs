//! The `csi` binary as a user runs it: one JSON object with the keys issue 11 lists, stdout
//! identical for one seed, `--scenario all` as one table (and one JSON entry per scenario), the
//! readable report with its self-tests first and one example per failure kind, `--out`, exit
//! code 2 with a message naming the flag for bad input, every preset running and showing what
//! its comment claims, and a sweep whose failure ratio tracks the share of non-ASCII names.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

mod cli;

use cli::{all_refused, json, presets, same_seed_same_bytes, stderr, stdout, temp};

fn csi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_csi")).args(args).output().expect("the binary runs")
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} is not a count in {v}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// Four standard errors of a binomial share `p` over `n` trials.
fn tolerance(p: f64, n: u64) -> f64 {
    4.0 * (p * (1.0 - p) / n as f64).sqrt()
}

#[test]
fn json_is_one_object_with_the_keys_the_issue_lists() {
    let v = json(&csi(&["--scenario", "encoding", "--records", "2000", "--prevent", "write-read:10", "--json"]));
    for key in [
        "scenario",
        "self_tests",
        "records",
        "loud_failures",
        "silent_corruptions",
        "failure_ratio",
        "surfaced_at",
        "duplicates",
        "prevention",
        "windows",
    ] {
        assert!(v.get(key).is_some(), "no key {key} in {v}");
    }
    assert_eq!(v["scenario"], "encoding");
    for side in ["upstream", "downstream"] {
        let t = &v["self_tests"][side];
        assert_eq!((u(t, "passed"), u(t, "samples")), (1000, 1000), "{t}");
    }
    for system in ["upstream", "connector", "downstream"] {
        assert!(v["surfaced_at"][system].is_u64(), "{}", v["surfaced_at"]);
    }
    // The check ran, said when and why, and gave its odds from the data next to its sample.
    let p = &v["prevention"][0];
    assert_eq!(p["check"], "write-read:10");
    assert!(p["when"].as_str().unwrap().contains("before go-live"), "{p}");
    let w = &p["write_read"];
    let share = f(w, "failing_share");
    assert!((share - 0.2).abs() < tolerance(0.2, 10_000), "{w}");
    assert!((f(w, "p_catch") - (1.0 - (1.0 - share).powi(10))).abs() < 1e-9, "{w}");
    assert_eq!(p["caught"], w["caught"]);
}

#[test]
fn windows_add_up_to_the_totals() {
    let v = json(&csi(&["--scenario", "metadata", "--records", "3000", "--json"]));
    let windows = v["windows"].as_array().unwrap();
    assert!((30..=50).contains(&windows.len()), "about forty windows: {}", windows.len());
    let sum = |pick: &dyn Fn(&Value) -> u64| windows.iter().map(pick).sum::<u64>();
    assert_eq!(sum(&|w| u(w, "records")), u(&v, "records"));
    assert_eq!(sum(&|w| u(&w["loud"], "downstream")), u(&v, "loud_failures"));
    assert_eq!(sum(&|w| u(&w["silent"], "downstream")), u(&v, "silent_corruptions"));
    assert!(u(&v, "loud_failures") > 0 && u(&v, "silent_corruptions") > 0, "{v}");
}

#[test]
fn stdout_is_identical_for_one_seed_and_differs_for_another() {
    same_seed_same_bytes(csi, &["--scenario", "api", "--records", "200", "--prevent", "write-read:8"]);
    let all = |seed: &str| stdout(&csi(&["--records", "300", "--seed", seed, "--json"]));
    assert_eq!(all("7"), all("7"));
}

#[test]
fn the_readable_report_puts_the_self_tests_first_and_shows_an_example_per_kind() {
    let text = stdout(&csi(&["--scenario", "metadata", "--records", "2000"]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("csi metadata (data plane): "), "{text}");
    assert!(
        lines[2].starts_with("upstream alone: pass (1,000 of 1,000 round trips). downstream alone: pass (1,000 of 1,000 round trips). upstream -> downstream: 2,000 of 2,000 records wrong, "),
        "{text}"
    );
    for kind in ["loud at downstream: avro resolution (record ", "silent at downstream (record "] {
        let at = text.find(kind).unwrap_or_else(|| panic!("no {kind} in {text}"));
        let example: Vec<&str> = text[at..].lines().take(4).collect();
        assert!(example[1].starts_with("  sent:  sensor-"), "{example:?}");
        assert!(example[2].starts_with("  bytes: ") && example[2].len() > 20, "{example:?}");
        assert!(example[3].starts_with("  read:  "), "{example:?}");
    }
    // The silent example shows what downstream stored: a 1970 instant a thousand times off.
    assert!(text.contains("  read:  sensor-") && text.contains("@ 1970-01-"), "{text}");
}

#[test]
fn all_prints_one_table_over_the_six_scenarios_with_their_planes() {
    let text = stdout(&csi(&["--scenario", "all", "--records", "400"]));
    for (scenario, plane) in [
        ("metadata", "data"),
        ("encoding", "data"),
        ("compression", "data"),
        ("config", "management"),
        ("api", "control"),
        ("types", "data"),
    ] {
        let row = text.lines().find(|l| l.starts_with(scenario)).unwrap_or_else(|| panic!("no row {scenario}: {text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cells[1], cells[2], cells[3]), (plane, "both", "pass"), "{row}");
    }
    let v = json(&csi(&["--scenario", "all", "--records", "400", "--json"]));
    let names: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(v["config"]["plane"], "management");
    assert_eq!(v["api"]["plane"], "control");
    assert_eq!(u(&v["compression"], "loud_failures"), 400);
}

#[test]
fn out_writes_the_summary_the_windows_and_a_chart() {
    let dir = temp("out");
    let o = csi(&["--scenario", "encoding", "--records", "2000", "--decode", "lossy", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(dir.join("windows.csv")).unwrap();
    assert!(csv.starts_with("scenario,t_s,records,loud_upstream,"), "{csv}");
    let silent: u64 = csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(silent, u(&summary, "silent_corruptions"));
    let svg = std::fs::read_to_string(dir.join("chart.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("silent at downstream") && !svg.contains("loud at"), "{svg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_2_with_a_message_that_names_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--scenario", "network"], "--scenario: unknown value 'network'"),
        (&["--metadata", "seconds"], "--metadata: unknown value 'seconds'"),
        (&["--records", "0"], "--records: out of range: '0'"),
        (&["--records", "5", "--rate", "10", "--duration", "1s"], "--records and --rate: give one"),
        (&["--rate", "10"], "--rate needs --duration"),
        (&["--duration", "10s"], "--duration needs --rate"),
        (&["--rate", "10", "--duration", "1s", "--spacing", "1ms"], "--rate and --spacing: give one"),
        (&["--non-ascii-share", "1.5"], "--non-ascii-share: out of range: '1.5'"),
        (&["--decode", "maybe"], "--decode: unknown value 'maybe'"),
        (&["--upstream-charset", "klingon"], "--upstream-charset: unknown charset 'klingon'"),
        (&["--workers", "0"], "--workers: out of range: '0'"),
        (&["--retries", "1000"], "--retries: out of range: '1000'"),
        (&["--timeout", "0s"], "--timeout: out of range: '0s'"),
        (&["--processing", "gamma(2s)"], "--processing 'gamma(2s)': unknown distribution 'gamma'"),
        (&["--processing", "lognormal(25s, 9)"], "--processing 'lognormal(25s, 9)': median must be in"),
        (&["--op-processing", "uniform(5ms, 1ms)"], "--op-processing 'uniform(5ms, 1ms)': need min <= max"),
        (&["--updates", "1000", "--records", "5000"], "--records x (--updates + 1): must be between 1 and"),
        (&["--prevent", "lint"], "--prevent: unknown check 'lint'"),
        (&["--prevent", "registry,registry"], "--prevent: 'registry' is given twice"),
        (&["--prevent", "write-read:0"], "--prevent 'write-read:0': N must be"),
        (&["--prevent", "registry", "--prevent=registry"], "--prevent: 'registry' is given twice"),
        (&["--scale", "1"], "--scale: out of range: '1'"),
        (&["--sweep", "workers=1,2"], "--sweep runs one scenario: give --scenario"),
        (&["--scenario", "api", "--sweep", "scenario=api,types"], "--sweep: no sweepable parameter 'scenario'"),
        (
            &["--scenario", "api", "--sweep", "workers=1,0"],
            "--sweep workers=0: out of range: '0' (allowed: a whole number from 1 to 1024)",
        ),
        (&["--scenario", "all", "--trace-json", "t.jsonl"], "--trace-json follows one run"),
        (&["--scenario", "encoding", "--records", "100", "--max-requests", "50"], "more than --max-requests 50"),
        (&["--scenario", "encoding", "--window", "1ms", "--max-windows", "10"], "more than --max-windows 10"),
    ];
    all_refused(csi, cases);
}

/// The prevention of `v` named `check`.
fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["prevention"].as_array().unwrap().iter().find(|p| p["check"] == name).unwrap_or_else(|| panic!("no {name}: {v}"))
}

fn refused_by(v: &Value, name: &str) {
    assert_eq!(v["deployed"], false, "{v}");
    assert_eq!(u(v, "records"), 0, "no record crossed: {v}");
    assert_eq!(check(v, name)["verdict"], "caught", "{v}");
    assert!(!check(v, name)["why"].as_str().unwrap().is_empty());
}

#[test]
fn every_preset_runs_and_shows_what_its_comment_claims() {
    let mut seen = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(presets("csi")).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let v = json(&csi(&["--config", path.to_str().unwrap(), "--json"]));
        seen += 1;
        let (loud, silent, records) = (u(&v, "loud_failures"), u(&v, "silent_corruptions"), u(&v, "records"));
        let ratio = f(&v, "failure_ratio");
        let at = |s: &str| u(&v["surfaced_at"], s);
        let counter = |c: &str| v["counters"][c].as_u64().unwrap_or(0);
        // Each side passes its own tests alone, whatever happens across.
        for side in ["upstream", "downstream"] {
            let t = &v["self_tests"][side];
            assert!(u(t, "samples") > 0 && u(t, "passed") == u(t, "samples"), "{name}: {t}");
        }
        match name.as_str() {
            "metadata-types" => {
                assert!(loud > 0 && silent > 0 && loud + silent == records, "{name}: {v}");
                assert!((silent as f64 / records as f64 - 0.2).abs() < tolerance(0.2, records), "{name}: {silent}");
            }
            "metadata-units" => {
                assert_eq!(check(&v, "registry")["verdict"], "passed", "{name}");
                assert_eq!((loud, silent, at("downstream")), (0, records, records), "{name}");
            }
            "metadata-registry" | "encoding-registry" | "types-registry" => refused_by(&v, "registry"),
            "compression-config-check" => {
                refused_by(&v, "config-check");
                assert!(check(&v, "config-check")["why"].as_str().unwrap().contains("compression=lz4"), "{v}");
            }
            "config-check" => {
                refused_by(&v, "config-check");
                assert!(check(&v, "config-check")["why"].as_str().unwrap().contains("below downstream's p99"), "{v}");
            }
            "api-contract" => refused_by(&v, "contract"),
            "encoding-strict" | "encoding-lossy" => {
                assert!((ratio - 0.1).abs() < tolerance(0.1, records), "{name}: {ratio}");
                let (l, s) = if name == "encoding-strict" { (loud, silent) } else { (silent, loud) };
                assert_eq!((l, s, at("downstream")), (l, 0, l), "{name}: loud in one, silent in the other");
            }
            "encoding-ascii" | "compression-frame" | "api-one-worker" | "api-per-entity" | "types-half-even" => {
                assert_eq!((loud, silent, ratio), (0, 0, 0.0), "{name}: {v}");
                assert_eq!(counter("out_of_order"), 0, "{name}");
            }
            "encoding-write-read-rare" => {
                let w = &check(&v, "write-read:20")["write_read"];
                let expected = 1.0 - (1.0 - f(w, "failing_share")).powi(20);
                assert!((f(w, "p_catch") - expected).abs() < 1e-9 && (0.1..0.3).contains(&expected), "{w}");
                // This seed's sample missed it: the deploy went on and the accented names failed.
                assert_eq!((w["caught"].as_bool(), v["deployed"].as_bool()), (Some(false), Some(true)), "{v}");
                assert!(loud > 0, "{name}");
            }
            "compression-ignored-key" | "compression-block" => {
                assert_eq!((loud, at("connector"), at("downstream")), (records, records, 0), "{name}");
                assert_eq!(v["ignored_keys"][0], "compression=lz4", "{name}");
            }
            "config-timeout" => {
                let p = f(&v["odds"], "attempt_timeout_probability");
                assert!((ratio - p).abs() < tolerance(p, records), "{name}: measured {ratio}, expected {p}");
                assert_eq!((at("upstream"), v["duplicates"].as_u64()), (loud, Some(0)), "{name}");
            }
            "config-retries" => {
                assert!(u(&v, "duplicates") > 300, "{name}: {v}");
                let p = f(&v["odds"], "request_failure_probability");
                assert!((ratio - p).abs() < tolerance(p, records), "{name}: measured {ratio}, expected {p}");
            }
            "config-idempotency" => {
                assert_eq!(u(&v, "duplicates"), 0, "{name}");
                assert!(counter("deduplicated") > 300, "{name}: {v}");
            }
            "config-write-read" => {
                refused_by(&v, "write-read:5");
                let w = &check(&v, "write-read:5")["write_read"];
                let p = f(&v["odds"], "attempt_timeout_probability");
                let expected = 1.0 - (1.0 - p).powi(5);
                assert_eq!(w["trials"], 2000, "{w}");
                assert!((f(w, "p_catch") - expected).abs() < tolerance(expected, 2000), "{w}: {expected}");
            }
            "api-workers" => {
                assert!(loud > 0 && silent > 0 && counter("out_of_order") > 100, "{name}: {v}");
            }
            "types-truncate" => {
                assert!(silent > 100 && loud == 0, "{name}: {v}");
                assert_eq!(v["drift_cents"].as_i64(), Some(-(silent as i64)), "{name}: a cent down each");
            }
            other => panic!("preset {other} has no check here: add what it shows"),
        }
    }
    assert!(seen >= 20, "{seen} presets");
}

#[test]
fn a_sweep_of_the_non_ascii_share_shows_the_ratio_tracking_it() {
    let o = csi(&["--scenario", "encoding", "--records", "4000", "--sweep", "non-ascii-share=0,0.1,0.4", "--json"]);
    let v = json(&o);
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    for (value, share) in values.iter().zip([0.0, 0.1, 0.4]) {
        let ratio = f(value, "failure_ratio");
        assert!((ratio - share).abs() <= tolerance(share, 4000), "share {share}: ratio {ratio}");
    }
    let table = stdout(&csi(&["--scenario", "api", "--records", "200", "--sweep", "workers=1,8"]));
    assert!(table.starts_with("csi sweep of workers: "), "{table}");
    let row = |w: &str| table.lines().find(|l| l.split_whitespace().next() == Some(w)).unwrap().to_string();
    assert!(row("1").contains(" 0.0%"), "{table}");
    assert!(!row("8").contains(" 0.0%"), "{table}");
}

#[test]
fn a_trace_shows_each_loud_failure_where_and_when_it_surfaced() {
    let dir = temp("trace");
    let path = dir.join("t.jsonl");
    let o = csi(&["--scenario", "compression", "--records", "30", "--trace-json", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    let refusals: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["message"] == "the connector refuses the record")
        .collect();
    assert_eq!(refusals.len(), 30, "{text}");
    assert!(refusals.iter().all(|v| v["node"] == "connector" && v["ns"].as_u64().unwrap() > 0), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn any_flag_with_an_odd_value_runs_or_is_refused_by_name_never_a_panic() {
    use faultline_scenarios::csi::params::TABLE;
    use faultline_scenarios::study::Kind;
    let odd = ["", "-1", "0", "NaN", "1e30", "off", "abc", "99999999999999999999", "lognormal(1s, 0)"];
    for p in TABLE.iter().filter(|p| p.kind != Kind::Bool) {
        for value in odd {
            let flag = format!("--{}", p.name);
            // A small run, whatever the value: the flag comes last and overrides the base.
            let mut args = vec!["--scenario", "encoding", "--records", "50", "--write-read-population", "50"];
            if p.name == "records" || p.name == "rate" {
                args.truncate(2);
            }
            args.extend([flag.as_str(), value]);
            let started = std::time::Instant::now();
            let o = csi(&args);
            let err = stderr(&o);
            match o.status.code() {
                Some(0) => {}
                Some(2) => assert!(err.starts_with("error: ") && err.contains(&flag), "{args:?}: {err}"),
                other => panic!("{args:?}: exit {other:?}: {err}"),
            }
            assert!(started.elapsed().as_secs() < 60, "{args:?} took {:?}", started.elapsed());
        }
    }
}

#[test]
fn prevent_may_be_repeated_as_the_issue_writes_it_or_given_as_one_list() {
    let repeated =
        json(&csi(&["--scenario", "config", "--prevent", "config-check", "--prevent", "contract", "--json"]));
    let listed = json(&csi(&["--scenario", "config", "--prevent", "config-check,contract", "--json"]));
    assert_eq!(repeated, listed);
    let checks: Vec<&str> =
        repeated["prevention"].as_array().unwrap().iter().map(|p| p["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["config-check", "contract"], "{repeated}");
}
