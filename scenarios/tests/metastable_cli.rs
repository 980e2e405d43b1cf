//! The `metastable` binary as a user runs it: JSON on stdout and nothing else, identical for one
//! seed, clear errors with exit code 2 for bad flags, config lines and fault scripts, and the
//! files of `--out`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod cli;

use cli::{stderr, temp};

fn metastable(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metastable")).args(args).output().expect("the binary runs")
}

const SHORT: [&str; 4] = ["--duration", "60s", "--spike-start", "20s"];

fn short(extra: &[&str]) -> Vec<String> {
    SHORT.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn run(args: &[String]) -> Output {
    metastable(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn json_is_one_object_with_params_phases_recovery_and_windows() {
    let out = run(&short(&["--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON and nothing else");
    let v: Value = serde_json::from_str(&text).unwrap();
    for key in ["params", "phases", "recovered", "recovery_s", "windows", "verdict"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for phase in ["before", "during", "after"] {
        let p = &v["phases"][phase];
        for key in ["offered_rps", "goodput_rps", "goodput_ratio", "retry_amplification", "p50_ms", "p99_ms"] {
            assert!(p.get(key).is_some(), "phases.{phase}.{key}");
        }
    }
    let w = &v["windows"][0];
    for key in [
        "t_s",
        "offered",
        "attempts",
        "retries",
        "goodput",
        "timeouts",
        "shed",
        "queue",
        "concurrency",
        "p50_ms",
        "p99_ms",
    ] {
        assert!(w.get(key).is_some(), "windows[0].{key}");
    }
    assert_eq!(v["windows"].as_array().unwrap().len(), 60);
    assert_eq!(v["params"]["timeout"], "1s", "durations keep their units");
    assert_eq!(v["recovered"], false);
}

#[test]
fn the_same_seed_prints_the_same_bytes() {
    let a = run(&short(&["--json", "--seed", "3"]));
    let b = run(&short(&["--json", "--seed", "3"]));
    assert_eq!(a.stdout, b.stdout);
    let text_a = run(&short(&["--seed", "3"]));
    let text_b = run(&short(&["--seed", "3"]));
    assert_eq!(text_a.stdout, text_b.stdout);
    assert!(String::from_utf8_lossy(&text_a.stdout).contains("\nverdict: metastable: "));

    let dir = temp("traces");
    let traces = |name: &str| {
        let (json, chrome) = (dir.join(format!("{name}.jsonl")), dir.join(format!("{name}.json")));
        let out = run(&short(&[
            "--seed",
            "3",
            "--breaker",
            "--trace-json",
            json.to_str().unwrap(),
            "--trace-chrome",
            chrome.to_str().unwrap(),
        ]));
        assert!(out.status.success(), "{}", stderr(&out));
        (std::fs::read(json).unwrap(), std::fs::read(chrome).unwrap())
    };
    let (json_a, chrome_a) = traces("a");
    let (json_b, chrome_b) = traces("b");
    assert!(!json_a.is_empty() && chrome_a.len() > 100_000, "the traces hold the run");
    assert!(json_a == json_b, "JSON-lines traces differ");
    assert!(chrome_a == chrome_b, "Chrome traces differ");
    let events: Value = serde_json::from_slice(&chrome_a).expect("a valid Chrome trace");
    assert!(events["traceEvents"].as_array().unwrap().iter().any(|e| e["name"] == "request" && e["ph"] == "b"));
}

fn fails_with(args: &[&str], message: &str) {
    let out = metastable(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "no output on error");
    assert!(stderr(&out).contains(message), "{args:?}: expected '{message}' in\n{}", stderr(&out));
}

#[test]
fn bad_flags_get_clear_errors_and_exit_code_2() {
    fails_with(
        &["--capacity", "0"],
        "error: --capacity: out of range: '0' (allowed: a whole number from 1 to 10000000)",
    );
    fails_with(&["--timeout", "5"], "missing unit");
    fails_with(
        &["--backoff", "sometimes"],
        "--backoff: unknown value 'sometimes' (allowed: one of none, exponential, full-jitter, decorrelated)",
    );
    fails_with(
        &["--deadline", "soon"],
        "--deadline: unknown value 'soon' (allowed: one of off, expired, unfinishable)",
    );
    fails_with(&["--load", "wave"], "--load: unknown value 'wave' (allowed: one of constant, spike, ramp)");
    fails_with(&["--spike-start", "2m"], "error: the spike (10s from 120s) must end within --duration (120s)");
    fails_with(&["--retry-budget", "3"], "--retry-budget: out of range: '3' (allowed: a number > 0 and <= 1, or off)");
    fails_with(&["--base-rps", "-5"], "--base-rps: out of range: '-5' (allowed: a number >= 0 and <= 100000)");
    fails_with(&["--sweep", "spike-rps"], "--sweep takes NAME=FROM:TO:STEP or NAME=A,B,C");
    fails_with(&["--sweep", "colour=1,2"], "--sweep: no sweepable parameter 'colour' (allowed: seed, load, base-rps");
    fails_with(&["--nemesis", "kinds=meteor"], "--nemesis: unknown kind 'meteor'");
    fails_with(&["--control", "tcp:9000"], "'tcp:9000' is not a control source: use stdin or unix:PATH");
    fails_with(&["--realtime", "-1"], "--realtime: out of range '-1' (allowed: a number > 0 and <= 1000000)");
    fails_with(&["--frobnicate"], "unexpected argument '--frobnicate'");
}

#[test]
fn bad_config_lines_and_fault_scripts_name_the_place() {
    let dir = temp("config");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "capacity = 50\nretries = 3\n").unwrap();
    fails_with(&["--config", config.to_str().unwrap()], "bad.toml:2:1: unknown key 'retries' (allowed: seed, load,");
    std::fs::write(&config, "timeout = \"fast\"\n").unwrap();
    fails_with(
        &["--config", config.to_str().unwrap()],
        "bad.toml:1:11: missing number: 'fast' (allowed: a duration with a unit from 1us to 1h)",
    );
    fails_with(&["--config", dir.join("missing.toml").to_str().unwrap()], "missing.toml");

    let script = dir.join("bad.faults");
    std::fs::write(&script, "at 10s for 5s partition clients | server\nat 20s crash databse\n").unwrap();
    fails_with(&["--faults", script.to_str().unwrap()], "bad.faults: line 2, column 14: 'databse' matches no node");
    std::fs::write(&script, "at 10s partition clients server\n").unwrap();
    fails_with(
        &["--faults", script.to_str().unwrap()],
        "line 1, column 26: expected '|' and a second group (to cut one group from all others, use isolate), found 'server'",
    );
}

#[test]
fn out_writes_summary_windows_and_chart_and_a_nemesis_run_replays_from_its_faults() {
    let dir = temp("out");
    let first = dir.join("first");
    let args = short(&["--json", "--nemesis", "every=10s,for=3s,kinds=crash+flaky", "--out", first.to_str().unwrap()]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in ["summary.json", "windows.csv", "chart.svg", "faults.txt"] {
        assert!(first.join(file).exists(), "{file}");
    }
    let csv = std::fs::read_to_string(first.join("windows.csv")).unwrap();
    assert!(csv.starts_with(
        "t_s,offered,attempts,retries,goodput,timeouts,shed,late,queue,concurrency,p50_ms,p99_ms,wasted\n"
    ));
    assert_eq!(csv.lines().count(), 61);
    let svg = std::fs::read_to_string(first.join("chart.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains(">spike</text>") && svg.contains(">goodput</text>"));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(first.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary, on_disk);

    let replay = run(&short(&["--json", "--faults", first.join("faults.txt").to_str().unwrap()]));
    assert!(replay.status.success(), "{}", stderr(&replay));
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(summary["windows"], replayed["windows"], "the printed faults replay the run");
    assert_eq!(summary["faults"], replayed["faults"]);
}

#[test]
fn every_preset_runs() {
    let presets = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/metastable");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&presets)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for preset in names {
        let out = metastable(&["--config", preset.to_str().unwrap(), "--duration", "60s"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", preset.display(), stderr(&out));
        assert!(text.contains("verdict: "), "{}", preset.display());
    }
}

#[test]
fn sweep_shards_merge_into_the_whole_sweep() {
    let dir = temp("shards");
    let base = ["--sweep", "spike-rps=250,300", "--seeds", "2"];
    let whole = run(&short(&[&base[..], &["--json"]].concat()));
    assert!(whole.status.success(), "{}", stderr(&whole));
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = run(&short(&[&base[..], &["--shard", &shard]].concat()));
        assert!(out.status.success(), "{}", stderr(&out));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let _: Value = serde_json::from_str(line).expect("each shard line is a JSON row");
        }
        let file = dir.join(format!("shard{i}.jsonl"));
        std::fs::write(&file, &out.stdout).unwrap();
        files.push(file.to_str().unwrap().to_string());
    }
    let mut merge = vec!["--json".to_string(), "--merge".to_string()];
    merge.extend(files);
    let merged = run(&merge);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let (w, m): (Value, Value) =
        (serde_json::from_slice(&whole.stdout).unwrap(), serde_json::from_slice(&merged.stdout).unwrap());
    assert_eq!(w["values"], m["values"]);
    assert_eq!(w["runs"], m["runs"]);
    assert_eq!(w["values"].as_array().unwrap().len(), 2);
    assert_eq!(w["values"][0]["runs"], 2);
    fails_with(&["--merge", dir.join("nothing.jsonl").to_str().unwrap()], "--merge");
    let shard0 = dir.join("shard0.jsonl");
    fails_with(&["--merge", shard0.to_str().unwrap(), shard0.to_str().unwrap()], "appears twice");
    std::fs::write(dir.join("bad.jsonl"), "{\"not\": \"a row\"}\n").unwrap();
    fails_with(&["--merge", dir.join("bad.jsonl").to_str().unwrap()], "line 1: not a sweep row");
    fails_with(&["--sweep", "spike-rps=1,2", "--shard", "3/3"], "--shard takes I/N with 0 <= I < N");
}
