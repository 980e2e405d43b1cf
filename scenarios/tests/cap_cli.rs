//! The `cap` binary as a user runs it: one JSON object with the keys issue 9 lists, stdout
//! identical for one seed, exit code 2 and a message naming the flag for each impossible
//! setting, every preset running and showing what its comment claims, `--history` read back by
//! `cap check`, `--out`, sweeps that merge, and `cap check` on the Porcupine corpus when present.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod cli;

use cli::{all_refused, json, presets, same_seed_same_bytes, stderr, sweep_whole_and_merged, temp};

fn cap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cap")).args(args).output().expect("the binary runs")
}

#[test]
fn json_is_one_object_with_the_keys_the_issue_lists() {
    let v = json(&cap(&["--duration", "6s", "--partition", "--check", "--t-visibility", "0ms,5ms", "--json"]));
    for key in [
        "params",
        "read",
        "write",
        "availability",
        "stale_reads",
        "stale_ratio",
        "t_visibility",
        "lost_writes",
        "convergence_s",
        "linearizable",
        "pacelc",
        "windows",
    ] {
        assert!(v.get(key).is_some(), "no key {key} in {v}");
    }
    for op in ["read", "write"] {
        for key in ["count", "ok", "failed", "p50_ms", "p90_ms", "p99_ms", "mean_ms"] {
            assert!(v[op].get(key).is_some(), "no {op}.{key}");
        }
        assert!(v[op]["ok"].as_u64().unwrap() > 100, "{}", v[op]);
    }
    let a = &v["availability"];
    assert!(a["overall"]["ratio"].as_f64().unwrap() < 1.0, "the minority side failed: {a}");
    for phase in ["before", "during", "after"] {
        assert!(a["by_phase"][phase]["ratio"].is_number(), "{a}");
    }
    // Strong quorums: the majority side carries on, the minority side (r2, c2) cannot.
    assert_eq!(a["by_side"]["majority"]["ratio"], 1.0, "{a}");
    assert_eq!(a["by_side"]["minority"]["ratio"], 0.0, "{a}");
    assert!(v["pacelc"]["statement"].as_str().unwrap().starts_with("PC/EC"), "{}", v["pacelc"]);
    assert_eq!(v["t_visibility"].as_array().unwrap().len(), 2);
    assert!(v["linearizable"].is_boolean(), "checked: {}", v["linearizable"]);
    assert_eq!(v["windows"].as_array().unwrap().len(), 6);
    assert_eq!(v["params"]["partition"], "middle");
    // Not checked: null.
    let v = json(&cap(&["--duration", "2s", "--json"]));
    assert!(v["linearizable"].is_null());
}

#[test]
fn stdout_is_identical_for_one_seed_and_differs_for_another() {
    let args = ["--duration", "5s", "--consistency", "eventual", "--partition", "--net-latency", "uniform(1ms, 9ms)"];
    same_seed_same_bytes(cap, &args);
}

#[test]
fn impossible_settings_exit_2_with_a_message_that_names_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--r", "4"], "--r 4 is more than the replication factor N = 3"),
        (&["--w", "3", "--replication", "2"], "--w 3 is more than the replication factor N = 2"),
        (&["--nodes", "0"], "--nodes: out of range: '0'"),
        (&["--replication", "5"], "--replication 5 is more than --nodes 3"),
        (&["--partition", "25s:10s"], "it would heal at 35s, after the run's --duration 30s"),
        (&["--partition", "5s:5s:r7"], "there is no replica r7"),
        (&["--nodes", "2", "--partition"], "needs replicas on both sides"),
        (&["--partition", "10s"], "--partition '10s': not 2 or 3 fields"),
        (&["--rate", "5", "--think", "1ms"], "--rate and --think: give one"),
        (&["--sloppy"], "--sloppy needs replicas outside a key's home set"),
        (&["--net-latency", "fast"], "--net-latency"),
        (&["--consistency", "sequential"], "--consistency: unknown value 'sequential'"),
        (&["--write-ratio", "2"], "--write-ratio: out of range: '2'"),
        (&["--t-visibility", "1ms,soon"], "--t-visibility: 'soon'"),
        (&["--key-dist", "zipf:-1"], "--key-dist 'zipf:-1'"),
        (&["--client-timeout", "500ms"], "--client-timeout 500ms is shorter than --timeout 1s"),
        (&["--clients", "5", "--max-nodes", "6"], "make 8 nodes, more than --max-nodes 6"),
        (&["--sweep", "partition=middle"], "--sweep: no sweepable parameter 'partition'"),
        (&["--sweep", "seed=1,2", "--history", "h.jsonl"], "--history would be ignored with --sweep"),
        (&["--sweep", "r=1,4"], "--sweep r=4: --r 4 is more than the replication factor N = 3"),
        (&["--regions", "2"], "--regions 2 needs --region-latency"),
        (&["--region-latency", "50ms"], "--region-latency needs --regions 2 or more"),
        (&["--regions", "4", "--region-latency", "50ms"], "--regions 4: allowed: 1 to --nodes (3)"),
        (&["--regions", "0"], "--regions: out of range: '0'"),
        (&["--regions", "-2"], "--regions: out of range: '-2'"),
        (&["--regions", "3", "--region-latency", "1ms;2ms"], "2 latencies for 3 regions"),
        (&["--regions", "3", "--region-latency", "x"], "--region-latency: invalid latency 'x'"),
        (&["--regions", "3", "--region-latency", ""], "--region-latency"),
        (&["--nodes", "300", "--clients", "10", "--regions", "2", "--region-latency", "9ms"], "at most 65536"),
    ];
    all_refused(cap, cases);
}

#[test]
fn every_preset_runs_and_shows_what_its_comment_claims() {
    let mut seen = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(presets("cap")).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let v = json(&cap(&["--config", path.to_str().unwrap(), "--json"]));
        seen += 1;
        let minority = &v["availability"]["by_side"]["minority"]["ratio"];
        let write_p50 = v["write"]["p50_ms"].as_f64().unwrap();
        match name.as_str() {
            "latency-strong-lan" => assert_eq!(write_p50, 12.0, "one round trip plus processing"),
            "latency-strong-wan" => assert_eq!(write_p50, 202.0),
            "latency-weak-wan" => assert_eq!(write_p50, 2.0, "the local replica answers"),
            "geo-three-regions" => {
                assert_eq!(write_p50, 82.0, "one round trip to the nearest region");
                assert_eq!(v["write"]["p99_ms"], 172.0, "the lone region's client pays two of its own");
            }
            "partition-strong" | "anomaly-abd-linearizable" => assert_eq!(minority, 0.0, "{name}"),
            "partition-eventual" | "anomaly-weak-partition" => {
                assert_eq!(minority, 1.0, "{name}");
                assert!(v["stale_reads"].as_u64().unwrap() > 0, "{name}");
                assert_eq!(v["linearizable"], false, "{name}");
            }
            "anomaly-strong-no-repair" => assert_eq!(v["linearizable"], false, "{name}"),
            "anomaly-lww-skew" => assert!(v["lost_writes"].as_u64().unwrap() > 100, "{name}: {}", v["lost_writes"]),
            "anomaly-sloppy-after-heal" => assert!(v["stale_reads"].as_u64().unwrap() > 0, "{name}"),
            "pbs-t-visibility" => {
                let shares: Vec<f64> =
                    v["t_visibility"].as_array().unwrap().iter().map(|t| t["share"].as_f64().unwrap()).collect();
                assert!(shares[0] < 0.9 && shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
            }
            "quorum-linearizable-crash" => {
                let during: Vec<&Value> = v["windows"].as_array().unwrap()[10..20].iter().collect();
                assert!(during.iter().all(|w| w["ok"] == 0 && w["failed"].as_u64().unwrap() > 0), "{during:?}");
            }
            "quorum-strong-two-down" => {
                let w = &v["windows"].as_array().unwrap()[15];
                assert!(w["ok"].as_u64().unwrap() > 100, "a majority remains: {w}");
            }
            _ => {}
        }
        if name == "anomaly-abd-linearizable" || name == "partition-strong" {
            assert_eq!(v["linearizable"], true, "{name}");
        }
    }
    assert!(seen >= 16, "{seen} presets");
}

#[test]
fn the_history_file_is_read_back_by_cap_check_with_the_same_verdict() {
    let dir = temp("history");
    let file = dir.join("h.jsonl");
    // Think time 0: a client starts its next operation the nanosecond its last one ended. The
    // history once put every invoke before every completion at one instant, and `cap check`
    // refused it ("process 0 invokes write while its write invoked at 0 has not completed").
    for (consistency, linearizable) in [("strong", true), ("weak", false)] {
        let args = [
            "--duration",
            "10s",
            "--consistency",
            consistency,
            "--partition",
            "--think",
            "0s",
            "--check",
            "--history",
            file.to_str().unwrap(),
            "--json",
        ];
        let run = json(&cap(&args));
        assert_eq!(run["linearizable"], linearizable, "{consistency}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().count() > 1000);
        let checked = json(&cap(&["check", "--json", file.to_str().unwrap()]));
        assert_eq!(checked["linearizable"], linearizable, "{consistency}: {checked}");
        assert_eq!(checked["operations"], run["check"]["operations"]);
        assert_eq!(checked["model"], "register");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_writes_the_summary_and_the_windows() {
    let dir = temp("out");
    let o = cap(&["--duration", "4s", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["params"]["duration"], "4s");
    let csv = std::fs::read_to_string(dir.join("windows.csv")).unwrap();
    assert!(
        csv.starts_with("t_s,reads,writes,ok,failed,p50_ms,read_p50_ms,read_p99_ms,write_p50_ms,write_p99_ms,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_reports_each_value_and_its_shards_merge_into_the_same_report() {
    let args = ["--duration", "3s", "--sweep", "consistency=strong,weak", "--seeds", "2"];
    let whole = sweep_whole_and_merged(cap, &args, 3);
    let values = whole["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["write_p50_ms"], 12.0);
    assert_eq!(values[1]["write_p50_ms"], 2.0);
    let table = cap(&args);
    assert!(String::from_utf8_lossy(&table.stdout).starts_with("cap sweep of consistency:"));
}

#[test]
fn cap_check_refuses_bad_input_with_exit_2() {
    let dir = temp("check-bad");
    let missing = dir.join("none.jsonl");
    let o = cap(&["check", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("none.jsonl"), "{}", stderr(&o));
    let garbage = dir.join("g.txt");
    std::fs::write(&garbage, "{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\"}\nnot a line\n").unwrap();
    let o = cap(&["check", garbage.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    for (flag, value) in [("--format", "xml"), ("--model", "queue"), ("--check-timeout", "forever")] {
        let o = cap(&["check", flag, value, garbage.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains(flag), "{flag}: {}", stderr(&o));
    }
    assert_eq!(cap(&["check"]).status.code(), Some(2), "no file");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("FAULTLINE_PORCUPINE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/porcupine"),
    };
    dir.join("expected.tsv").exists().then_some(dir)
}

#[test]
fn cap_check_agrees_with_porcupine_on_corpus_files() {
    let Some(dir) = corpus() else {
        println!("skipped: no Porcupine corpus at ../shared/testdata/porcupine (set FAULTLINE_PORCUPINE_DIR)");
        return;
    };
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let wanted = ["jepsen/etcd_000.log", "jepsen/etcd_002.log", "kv/c01-bad.txt", "kv/c01-ok.txt"];
    let mut checked = 0;
    for line in expected.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, model, verdict] = cols[..] else { continue };
        if !wanted.contains(&file) {
            continue;
        }
        let path: &Path = &dir.join(file);
        let v = json(&cap(&["check", "--json", "--model", model, path.to_str().unwrap()]));
        let want = match verdict {
            "linearizable" => Value::Bool(true),
            "not-linearizable" => Value::Bool(false),
            _ => continue,
        };
        assert_eq!(v["linearizable"], want, "{file}: {v}");
        if want == false {
            assert!(v["explanation"]["ops"].as_array().is_some_and(|o| !o.is_empty()), "{file}: {v}");
        }
        checked += 1;
        // Text mode says the same.
        let text = cap(&["check", path.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&text.stdout);
        assert!(out.contains(if want == true { "\nlinearizable" } else { "not linearizable" }), "{file}: {out}");
    }
    assert_eq!(checked, wanted.len(), "every chosen file has a verdict in expected.tsv");
}

#[test]
fn a_run_past_its_record_limit_still_reports_and_exits_3() {
    let o = cap(&["--duration", "2s", "--max-records", "100", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("kept --max-records 100 records"), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["incomplete"].as_str().unwrap().contains("--max-records"));
}
