//! Multi-parameter sweeps from the command line: `--sweep` repeated makes a grid whose rows
//! carry every swept value, shards of a grid merge into the unsharded report (also through
//! the scripts in `deploy/` that the Slurm and Kubernetes files call), `--out DIR` writes
//! `sweep.json` and the phase diagram, and bad grids are refused with the flag named.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod cli;

use cli::{json, stderr, temp};

const SHORT: [&str; 4] = ["--duration", "60s", "--spike-start", "20s"];
/// A 2 x 2 grid with 2 seeds: 8 runs, on both sides of the tipping point.
const GRID: [&str; 6] = ["--sweep", "spike-rps=250,325", "--sweep", "max-retries=0,2", "--seeds", "2"];

fn metastable(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metastable")).args(args).output().expect("the binary runs")
}

fn grid(extra: &[&str]) -> Output {
    metastable(&[&SHORT[..], &GRID[..], extra].concat())
}

fn refused(args: &[&str], message: &str) {
    let out = metastable(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "no output on error");
    assert!(stderr(&out).contains(message), "{args:?}: expected '{message}' in\n{}", stderr(&out));
}

#[test]
fn a_repeated_sweep_runs_every_combination_and_each_row_carries_every_value() {
    let v = json(&grid(&["--json"]));
    assert_eq!(v["sweep"], serde_json::json!(["spike-rps", "max-retries"]));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 8);
    let points: Vec<String> = runs
        .iter()
        .map(|r| {
            let swept = r["swept"].as_array().unwrap();
            assert_eq!(swept[0]["key"], "spike-rps");
            assert_eq!(swept[1]["key"], "max-retries");
            format!("{}/{}@{}", swept[0]["value"].as_str().unwrap(), swept[1]["value"].as_str().unwrap(), r["seed"])
        })
        .collect();
    assert_eq!(points, ["250/0@1", "250/0@2", "250/2@1", "250/2@2", "325/0@1", "325/0@2", "325/2@1", "325/2@2"]);
    // One cell per point; the mechanism decides: without retries a spike past capacity ends
    // with the spike, with retries it keeps the server down.
    let cells = v["values"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    let outcome = |i: usize| cells[i]["verdict"]["outcome"].as_str().unwrap().to_string();
    assert_eq!(cells[3]["at"], serde_json::json!(["325", "2"]));
    assert_eq!(
        (outcome(0), outcome(1), outcome(2), outcome(3)),
        ("yes".into(), "yes".into(), "yes".into(), "no".into())
    );
    assert_eq!(v["tipping_points"][0]["from"], serde_json::json!(["250", "2"]));
    // The table says the same, with a map of the two parameters.
    let out = grid(&[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("metastable sweep of spike-rps x max-retries:"), "{table}");
    assert!(table.contains("  0 |..|\n  2 |.#|"), "{table}");
    assert!(
        table.contains(
            "tipping point at max-retries=2: between spike-rps=250 (recovers) and spike-rps=325 (stays down)"
        )
    );
    // Progress goes to a terminal only: piped, stderr stays empty.
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn shards_of_a_grid_merge_into_the_unsharded_sweep() {
    let whole = grid(&["--json"]);
    let dir = temp("shards");
    let mut files = Vec::new();
    for i in 0..3 {
        let out = grid(&["--shard", &format!("{i}/3")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let f = dir.join(format!("{i}.jsonl"));
        std::fs::write(&f, &out.stdout).unwrap();
        files.push(f.to_str().unwrap().to_string());
    }
    let merge: Vec<&str> = ["--json", "--merge"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let merged = metastable(&merge);
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout), "byte for byte");
    refused(&["--merge", &files[0], &files[1]], "of the sweep's 8 runs are missing");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs a script of `deploy/` with the metastable binary.
fn script(name: &str, args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new("sh")
        .arg(root.join("deploy").join(name))
        .args(args)
        .env("FAULTLINE_BIN", env!("CARGO_BIN_EXE_metastable"))
        .output()
        .expect("sh runs")
}

#[test]
fn the_batch_scripts_shard_and_merge_to_the_unsharded_sweep() {
    // The sequence the Slurm array and the Kubernetes indexed Job run, one index at a time,
    // here on one machine and on a small grid.
    let dir = temp("deploy");
    let out_dir = dir.join("shards");
    let out = out_dir.to_str().unwrap();
    let study: Vec<&str> = SHORT.iter().chain(&GRID).copied().collect();
    let merged = script("sweep-merge.sh", &["4", out, "--", "--json"]);
    assert_eq!(merged.status.code(), Some(1));
    assert!(stderr(&merged).contains("shard-0.jsonl is missing: shard 0 of 4 has not finished"), "{}", stderr(&merged));
    for i in 0..4 {
        let index = i.to_string();
        let o = script("sweep-shard.sh", &[&[index.as_str(), "4", out, "--"][..], &study].concat());
        assert!(o.status.success(), "shard {i}: {}", stderr(&o));
    }
    let names: Vec<String> = {
        let mut n: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names, ["shard-0.jsonl", "shard-1.jsonl", "shard-2.jsonl", "shard-3.jsonl"], "no temporary file left");
    let report = dir.join("report");
    let merged = script("sweep-merge.sh", &["4", out, "--", "--json", "--out", report.to_str().unwrap()]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let whole = grid(&["--json"]);
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout));
    assert!(report.join("sweep.svg").exists() && report.join("sweep.json").exists());
    let bad = script("sweep-shard.sh", &["0", "4", out, "--sweep", "spike-rps=300"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("usage:"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_writes_the_sweep_and_its_phase_diagram_the_same_every_time() {
    let dir = temp("out");
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        let o = grid(&["--out", d.to_str().unwrap(), "--measure", "after-attempts"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("sweep.svg"), "{}", stderr(&o));
    }
    let svg = std::fs::read_to_string(a.join("sweep.svg")).unwrap();
    assert_eq!(svg, std::fs::read_to_string(b.join("sweep.svg")).unwrap(), "deterministic");
    assert!(svg.contains("metastable: attempts per request after the trigger by spike-rps and max-retries"), "{svg}");
    assert_eq!(svg.matches("stroke=\"white\"").count(), 4, "one cell per point");
    assert!(svg.contains("linearGradient") && svg.contains("mean over seeds"), "a legend for the colour scale");
    let sweep: Value = serde_json::from_str(&std::fs::read_to_string(a.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(sweep["measure"], "after_attempts");
    // The stayed-down point retries: its mean attempts are past 1 and the scale's top.
    let top = sweep["values"][3]["after_attempts"].as_f64().unwrap();
    assert!(top > 2.0, "{top}");
    assert!(svg.contains(&format!(">{top:.2}</text>")), "the cell writes its mean");
    // One parameter: a line with the spread over seeds.
    let one = dir.join("one");
    let o = metastable(
        &[&SHORT[..], &["--sweep", "spike-rps=250,325", "--seeds", "2", "--out", one.to_str().unwrap()]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let line = std::fs::read_to_string(one.join("sweep.svg")).unwrap();
    assert!(line.contains("<polyline") && line.contains("share of seeds that recovers"), "{line}");
    // Three parameters: no diagram, and it says so.
    let three = dir.join("three");
    let o = metastable(
        &[
            &SHORT[..],
            &[
                "--sweep",
                "spike-rps=250",
                "--sweep",
                "max-retries=0",
                "--sweep",
                "timeout=1s",
                "--out",
                three.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no sweep.svg: the diagram is drawn for one or two swept parameters"),
        "{}",
        stderr(&o)
    );
    assert!(three.join("sweep.json").exists() && !three.join("sweep.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_grids_and_measures_are_refused_with_the_flag_named() {
    refused(&["--sweep", "spike-rps=250", "--sweep", "spike-rps=300"], "--sweep spike-rps: swept twice");
    refused(&["--sweep", "spike-rps=250", "--sweep", "colour=1"], "--sweep: no sweepable parameter 'colour'");
    refused(
        &["--sweep", "spike-rps=1:100:1", "--sweep", "max-retries=0:9:1", "--seeds", "3", "--max-sweep-jobs", "2000"],
        "--sweep with --seeds 3: 100 x 10 values x 3 seeds is more than --max-sweep-jobs 2000",
    );
    refused(
        &["--sweep", "spike-rps=250", "--measure", "speed"],
        "--measure: no measure 'speed' in this study's sweep rows (allowed: verdict, after_goodput_ratio",
    );
    refused(&["--measure", "verdict"], "--measure would be ignored without --sweep");
    refused(&["--sweep", "spike-rps=250", "--shard", "0/2", "--out", "x"], "--out would be ignored with --shard");
    refused(&["--sweep", "spike-rps=250", "--sweep", "max-retries=1001"], "--sweep max-retries=1001");
}

#[test]
fn progress_shows_on_a_terminal_and_is_cleared() {
    // `script` (util-linux, in every Debian) gives the sweep a pseudo-terminal for stderr; the
    // same sweep piped writes nothing there (checked above).
    let bin = env!("CARGO_BIN_EXE_metastable");
    let cmd = format!("{bin} --duration 60s --spike-start 20s --sweep spike-rps=250,325 --seeds 2 --json >/dev/null");
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().expect("script(1) runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("4/4 runs"), "the bar counts the runs: {tty:?}");
    assert!(tty.ends_with("\r\u{1b}[2K"), "and is cleared at the end: {tty:?}");
}
