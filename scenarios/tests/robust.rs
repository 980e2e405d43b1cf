//! The metastable command line under adversarial input (issue 8). Property tests drive the
//! study's parameter table in-process with arbitrary flag values and config text: every input
//! is accepted or refused with a message, never a panic. Then the binary itself, for each panic,
//! hang and wrong answer the issue lists: each test names the bug it pins.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use faultline_scenarios::metastable::params::{Metastable, TABLE};
use faultline_scenarios::study::limits::LIMIT_PARAMS;
use faultline_scenarios::study::{Refusal, Study};
use proptest::prelude::*;
use serde_json::Value;

mod cli;

use cli::{stderr, temp, wait_for_socket};

fn metastable(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metastable")).args(args).output().expect("the binary runs")
}

/// Exit code 2, nothing on stdout, and `message` in the one error line.
fn refused(args: &[&str], message: &str) {
    let out = metastable(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "{args:?}: no output on error");
    let err = stderr(&out);
    assert!(err.starts_with("error: ") && err.lines().count() == 1, "{args:?}: one error line, got\n{err}");
    assert!(err.contains(message), "{args:?}: expected '{message}' in\n{err}");
}

const SHORT: [&str; 4] = ["--duration", "20s", "--spike-start", "5s"];

fn short(extra: &[&str]) -> Vec<&'static str> {
    SHORT.iter().copied().chain(extra.iter().map(|s| &*s.to_string().leak())).collect()
}

/// Runs to the end with exit code 0 within `secs` seconds; returns the `--json` object.
fn runs_ok(args: &[&str], secs: u64) -> Value {
    let start = Instant::now();
    let mut all = short(args);
    all.push("--json");
    let out = metastable(&all);
    assert!(out.status.success(), "{all:?}: {}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(secs), "{all:?} took {:?}", start.elapsed());
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Some text for a flag's value: near misses of every kind, and anything.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("off".to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("18446744073709551616".to_string()),
        Just("18446744073709551615ns".to_string()),
        (any::<f64>()).prop_map(|f| f.to_string()),
        (any::<u64>(), prop::sample::select(vec!["ns", "us", "ms", "s", "m", "h", "", "x"]))
            .prop_map(|(n, u)| format!("{n}{u}")),
        "[-0-9a-z.:=,_ ]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any value of any flag is accepted (and then passes every check) or refused with an error
    /// that names the flag; parsing never panics and takes no time.
    #[test]
    fn any_flag_value_is_read_or_refused_by_name(index in 0..TABLE.len() + LIMIT_PARAMS.len(), v in value()) {
        let p = TABLE.iter().chain(&LIMIT_PARAMS).nth(index).unwrap();
        let flag = p.flag();
        let start = Instant::now();
        let args: Vec<String> = if p.kind == faultline_scenarios::study::Kind::Bool {
            vec!["metastable".into(), flag.clone()]
        } else {
            vec!["metastable".into(), flag.clone(), v.clone()]
        };
        match Metastable::parse_args(&args) {
            Ok((_, params)) => prop_assert!(params.validate().is_ok()),
            Err(Refusal::Input(e)) => prop_assert!(e.0.contains(&flag), "{args:?}: {}", e.0),
            Err(Refusal::Info(_)) => prop_assert!(false, "help for {args:?}"),
        }
        prop_assert!(start.elapsed() < Duration::from_secs(1));
    }

    /// Any config text is read or refused with `file:line:column` (or the file's name).
    #[test]
    fn any_config_text_is_read_or_refused_with_its_place(
        key in prop::sample::select(TABLE.iter().map(|p| p.key()).collect::<Vec<_>>()),
        v in prop_oneof![value().prop_map(|v| format!("{v:?}")), "[-0-9.e_x]{1,12}", Just("[1, 2]".to_string())],
        junk in "[ -~\n]{0,40}",
    ) {
        let dir = std::env::temp_dir().join(format!("faultline-robust-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        for text in [format!("{key} = {v}\n"), junk.clone()] {
            std::fs::write(&path, &text).unwrap();
            let args = ["metastable", "--config", path.to_str().unwrap()];
            if let Err(Refusal::Input(e)) = Metastable::parse_args(args) {
                prop_assert!(e.0.contains("c.toml"), "{text:?}: {}", e.0);
            }
        }
    }
}

#[test]
fn every_flag_has_help_with_its_default_and_range() {
    let Err(Refusal::Info(help)) = Metastable::parse_args(["metastable", "--help"]) else { panic!("help") };
    for p in TABLE {
        assert!(help.contains(&p.flag()), "{}", p.name);
    }
    assert!(help.contains("[default: 100.0] [allowed: a number >= 0 and <= 100000]"), "{help}");
    assert!(help.contains("--max-windows"));
}

#[test]
fn flags_override_the_config_which_overrides_the_defaults() {
    let dir = temp("precedence");
    let config = dir.join("c.toml");
    std::fs::write(&config, "base_rps = 50.0\nclients = 4\n").unwrap();
    let (_, p) =
        Metastable::parse_args(["metastable", "--config", config.to_str().unwrap(), "--clients", "7"]).unwrap();
    assert_eq!((p.base_rps, p.clients, p.capacity), (50.0, 7, 50));
}

#[test]
fn panics_in_the_issue_are_errors_or_answers() {
    // load.rs:95 "cannot convert float seconds to Duration" for a rate of 1e-20.
    let v = runs_ok(&["--load", "constant", "--base-rps", "1e-20"], 20);
    assert_eq!(v["totals"]["offered"], 0);
    // It was then judged "healthy: goodput 100% of offered load": a verdict about no request.
    assert_eq!(v["verdict"], "nothing to judge: no request was offered in the run (--base-rps too low?)");
    runs_ok(&["--base-rps", "0", "--spike-rps", "1e-25"], 20);
    // server.rs:93 "overflow when multiplying duration by scalar".
    refused(&["--capacity", "4000000000", "--concurrency-slope", "5000000000s"], "--capacity: out of range");
    refused(&["--concurrency-slope", "5000000000s"], "--concurrency-slope: out of range");
    // src/net/sim.rs:106 overflow (and a silent 584-year link reported as healthy).
    refused(&["--link-latency", "18446744073709551615ns"], "--link-latency: out of range");
    // sweep.rs:79 overflow; in release builds the seeds wrapped to 0 and 1.
    refused(&["--seed", "18446744073709551615", "--seeds", "2", "--sweep", "spike-rps=300"], "the seeds would pass");
}

#[test]
fn hangs_in_the_issue_end_within_seconds() {
    // The arrival loop never checked the stop time.
    let v = runs_ok(&["--base-rps", "0", "--settle", "0s"], 20);
    // With nothing offered after the spike, "recovered" would be a claim about nothing.
    assert_eq!(v["verdict"], "nothing to judge: no request was offered after the spike (--base-rps is 0?)");
    assert_eq!(v["recovered"], Value::Null);
    let v = runs_ok(&["--load", "ramp", "--base-rps", "0"], 20);
    assert_eq!(v["windows"].as_array().unwrap().len(), 20, "a quiescent run still covers --duration");
    refused(&["--spike-rps", "1e30"], "--spike-rps: out of range: '1e30' (allowed: a number >= 0 and <= 100000)");
    // `--window 100us` hung in a quadratic analysis over 1.2 million windows.
    refused(&["--window", "100us"], "more than --max-windows 1000000");
    refused(&["--window", "1ns"], "--window: out of range");
}

#[test]
fn unbounded_inputs_are_refused_with_the_limit() {
    refused(&["--base-rps", "1e9"], "--base-rps: out of range: '1e9' (allowed: a number >= 0 and <= 100000)");
    refused(&["--clients", "1000000"], "--clients: out of range");
    // Within the rate range, an overload can still offer more work than a run should take: 1e5/s
    // for 120 s ran 168 s and took 1.9 GB, a 60 s spike of 1e5/s 106 s and 1.3 GB (what the
    // server queues grows with the overload). The total a run offers is bounded before it runs.
    refused(&["--base-rps", "1e5"], "offer about 1.200e7 requests over --duration, more than --max-requests 2000000");
    refused(&["--spike-rps", "1e5", "--spike-duration", "60s", "--spike-start", "30s"], "more than --max-requests");
    refused(&["--base-rps", "1000", "--duration", "720h", "--window", "10s"], "more than --max-requests");
    refused(&["--seeds", "1000000000", "--sweep", "spike-rps=300"], "more than --max-sweep-jobs 1000000");
    refused(&["--config", "/dev/zero"], "--config /dev/zero: larger than the limit of 16777216 bytes");
    refused(&["--merge", "/dev/zero"], "--merge /dev/zero: larger than the limit");
    refused(&["--clients", "10", "--max-nodes", "5"], "more than --max-nodes 5");
    // A run that reaches a limit reports what it measured, marked incomplete, exit code 3.
    let out = metastable(&short(&["--max-in-flight", "50"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verdict: ") && text.contains("incomplete: stopped at "), "{text}");
    assert!(stderr(&out).contains("raise it with --max-in-flight"));
    let out = metastable(&short(&["--max-in-flight", "50", "--sweep", "spike-rps=300"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: --sweep spike-rps=300 (seed 1): stopped at "), "{}", stderr(&out));
}

#[test]
fn negative_numbers_reach_the_validator() {
    for flag in ["--base-rps", "--clients", "--max-retries", "--retry-budget", "--breaker-window"] {
        refused(&[flag, "-1"], &format!("{flag}: out of range: '-1'"));
    }
    refused(&["--timeout", "-1s"], "--timeout: missing number: '-1s'");
}

#[test]
fn wrong_answers_in_the_issue_are_now_right_or_refused() {
    // `--capacity 4294967296` was truncated to u32.
    refused(&["--capacity", "4294967296"], "--capacity: out of range");
    // Zero latencies printed `inf`, written as `null`.
    let v = runs_ok(&["--base-latency", "0s", "--concurrency-slope", "0s", "--link-latency", "0s"], 20);
    assert!(v.get("capacity_rps").is_none(), "no capacity_rps rather than null: {}", v["capacity_rps"]);
    // `--window 10m`, `--settle 1000s`, no load: contradictory verdicts.
    refused(&["--window", "10m"], "--window 10m is more than half of --duration 2m");
    let v = runs_ok(&["--settle", "1000s"], 20);
    assert_eq!(
        v["verdict"],
        "not enough time after the trigger to judge (0 s; need 5 s): lengthen --duration, or shorten --settle or the spike"
    );
    assert_eq!(v["recovered"], Value::Null);
    // A spike ending within --settle of the end printed `after 120-120s ... 100.0%` and
    // "metastable: goodput stayed at 100%".
    let v = runs_ok(&["--spike-start", "2s", "--settle", "5s"], 20);
    assert!(v["verdict"].as_str().unwrap().starts_with("not enough time after the trigger to judge (3 s; need 5 s)"));
    refused(&["--base-rps", "0", "--spike-rps", "0"], "no load: --base-rps and --spike-rps are 0");
    // The same path for two traces made a file that was not JSON.
    refused(
        &["--trace-json", "/tmp/x", "--trace-chrome", "/tmp/x"],
        "--trace-json and --trace-chrome both write /tmp/x",
    );
}

#[test]
fn flags_a_mode_ignores_are_refused() {
    refused(&["--sweep", "spike-rps=300", "--shard", "0/2", "--out", "/tmp/o"], "--out would be ignored with --shard");
    refused(&["--sweep", "spike-rps=300", "--realtime", "10"], "--realtime would be ignored with --sweep");
    refused(&["--sweep", "spike-rps=300", "--control", "stdin"], "--control would be ignored with --sweep");
    refused(&["--seeds", "3"], "--seeds would be ignored without --sweep");
    refused(&["--merge", "/dev/null", "--faults", "x"], "--faults would be ignored with --merge");
    refused(&["--merge", "/dev/null", "--shard", "0/2"], "--shard would be ignored with --merge");
    refused(&["--sweep", "nemesis=x"], "--sweep: no sweepable parameter 'nemesis'");
}

#[test]
fn seeds_sweep_and_shards_merge_byte_for_byte() {
    // `--sweep seed=1,2,3` used seed 1 for every run.
    let out = metastable(&short(&["--sweep", "seed=1,2,3", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let seeds: Vec<u64> = v["runs"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [1, 2, 3]);

    // Merged shards printed floats 1 ULP off; one shard of three was accepted.
    let dir = temp("shards");
    let sweep = short(&["--sweep", "spike-rps=250,300,350", "--seeds", "2", "--json"]);
    let whole = metastable(&sweep);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut args = sweep.clone();
        args.extend(["--shard", &*shard.leak()]);
        let out = metastable(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let file = dir.join(format!("{i}.jsonl"));
        std::fs::write(&file, &out.stdout).unwrap();
        files.push(file.to_str().unwrap().to_string());
    }
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let merged = metastable(&[&["--json", "--merge"][..], &files].concat());
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout));
    refused(&["--merge", files[0]], "4 of the sweep's 6 runs are missing (runs 1, 2, 4, 5)");
    refused(&["--merge", files[0], files[1], files[1]], "appears twice");
    refused(&["--merge", "/dev/null"], "the files hold no sweep rows");
}

#[test]
fn a_full_disk_is_one_error_line_not_a_panic() {
    let full = std::fs::File::create("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_metastable")).args(short(&[])).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: cannot write to stdout: No space left on device"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn sigint_stops_the_run_and_loses_nothing() {
    let dir = temp("sigint");
    let (json, chrome, socket) = (dir.join("t.jsonl"), dir.join("t.json"), dir.join("c.sock"));
    let control = format!("unix:{}", socket.display());
    let child = Command::new(env!("CARGO_BIN_EXE_metastable"))
        .args(["--duration", "100000s", "--spike-start", "10s", "--window", "10s", "--realtime", "1000"])
        .args(["--base-rps", "10"]) // within --max-requests over 100000 s
        .args(["--trace-json", json.to_str().unwrap(), "--trace-chrome", chrome.to_str().unwrap()])
        .args(["--control", &control])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_socket(&socket);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verdict: ") && text.contains("incomplete: interrupted by SIGINT at "), "{text}");
    let events: Value = serde_json::from_slice(&std::fs::read(&chrome).unwrap()).expect("a valid Chrome trace");
    let list = events.get("traceEvents").unwrap_or(&events);
    assert!(list.as_array().is_some_and(|a| !a.is_empty()), "trace events in {}", chrome.display());
    for line in std::fs::read_to_string(&json).unwrap().lines() {
        serde_json::from_str::<Value>(line).expect("every JSON-lines line is JSON");
    }
    assert!(!socket.exists(), "the control socket is removed");
}

#[test]
fn scripted_faults_that_never_apply_or_are_refused_are_reported() {
    // Issue 8: fault entries after the end of the run, and refused commands in a script
    // (`restart server` on a running node, `heal nosuchlabel`), were ignored without a word;
    // faults after the end gave "goodput stayed at 100% ... for -18446744054 s".
    let dir = temp("refused");
    let script = dir.join("f.faults");
    std::fs::write(&script, "at 5s restart server\nat 6s heal nosuchlabel\nat 500s for 10s crash server\n").unwrap();
    let out = metastable(&["--duration", "20s", "--load", "constant", "--faults", script.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: fault script line 1: refused at 5 s: restart server: cannot restart server: it is running"
        ),
        "{err}"
    );
    assert!(err.contains("warning: fault script line 2: refused at 6 s: heal nosuchlabel"), "{err}");
    assert!(err.contains("warning: fault script line 3: 'at 500s for 10s crash server' first applies at 500"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("-1844"), "{text}");
}

#[test]
fn a_closed_stdout_is_one_error_line_not_a_panic() {
    // Issue 8: `metastable --json | head -c 100` panicked with "failed printing to stdout".
    let mut child = Command::new(env!("CARGO_BIN_EXE_metastable"))
        .args(short(&["--json"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the report is written
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error: cannot write to stdout: Broken pipe"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A control line past `--max-control-line` gets one short error and is discarded; the session
/// goes on (a line with no newline used to be buffered without limit, and a 10 MB bad line
/// got a 10 MB reply).
#[test]
fn a_control_line_past_its_limit_is_refused_and_the_session_goes_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_metastable"))
        .args(["--control", "stdin", "--realtime", "100", "--duration", "3s", "--spike-start", "1s"])
        .args(["--spike-duration", "1s", "--max-control-line", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"partition clients | server hold and a long tail of words\nstatus\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: line longer than 20 bytes; discarded up to its newline"), "{err}");
    assert!(err.contains("status: server=running"), "the next line is still read: {err}");
    assert!(err.contains("applied=0"), "the long line was not applied: {err}");
}
