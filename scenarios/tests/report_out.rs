//! What `--out DIR` writes for each study: the page and the files beside it, the same bytes for
//! the same seed, each file whole (no temporary file left behind), and a page that says this
//! run's numbers.

use std::path::Path;
use std::process::Command;

mod cli;

use cli::temp;

fn out(bin: &str, args: &[&str], dir: &Path) {
    let o = Command::new(bin).args(args).arg("--out").arg(dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn each_study_writes_the_same_page_and_files_for_the_same_seed() {
    let root = temp("same");
    let short = ["--duration", "40s", "--spike-start", "10s", "--spike-duration", "5s"];
    let usual = ["chart.svg", "faults.txt", "report.html", "summary.json", "windows.csv"];
    let mut all = vec!["chart-1-metadata.svg", "chart-2-encoding.svg", "chart-3-compression.svg"];
    all.extend(["chart-4-config.svg", "chart-5-api.svg", "chart-6-types.svg"]);
    all.extend(usual);
    let crdt = ["--type", "pn-counter", "--partition", "--duration", "20s"];
    for (name, bin, args, expected) in [
        ("metastable", env!("CARGO_BIN_EXE_metastable"), &short[..], &usual[..]),
        ("cap", env!("CARGO_BIN_EXE_cap"), &["--duration", "6s", "--partition"][..], &usual[..]),
        ("crdt", env!("CARGO_BIN_EXE_crdt"), &crdt[..], &usual[..]),
        ("csi", env!("CARGO_BIN_EXE_csi"), &["--scenario", "config", "--records", "300"][..], &usual[..]),
        ("csi-all", env!("CARGO_BIN_EXE_csi"), &["--records", "300"][..], &all[..]),
    ] {
        let (a, b) = (root.join(format!("{name}-a")), root.join(format!("{name}-b")));
        out(bin, args, &a);
        out(bin, args, &b);
        assert_eq!(files(&a), expected, "{name}: no temporary file left");
        for f in files(&a) {
            assert_eq!(std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap(), "{name}: {f}");
        }
        let html = std::fs::read_to_string(a.join("report.html")).unwrap();
        let svg = std::fs::read_to_string(a.join("chart.svg")).unwrap();
        assert!(html.contains(svg.trim()), "{name}: the chart is inline in the page");
        for section in ["Verdict.", "What you are seeing", "Experiments to try", "<details class=\"experiment\">"] {
            assert!(html.contains(section), "{name}: {section}");
        }
    }
    // The page says this run's numbers: the capacity it derives and the queue it measured.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("metastable-a/summary.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(root.join("metastable-a/report.html")).unwrap();
    let capacity = s["capacity_rps"].as_f64().unwrap();
    assert!(html.contains(&format!("about {capacity:.0} requests per second")), "capacity {capacity}");
    let queue = s["phases"]["during"]["max_queue"].as_i64().unwrap();
    assert!(queue > 0 && html.contains(&format!("the queue reached {queue} requests")), "queue {queue}");
    // crdt: when it converged, the partition, and the value against the oracle.
    let s = summary(&root.join("crdt-a"));
    let html = std::fs::read_to_string(root.join("crdt-a/report.html")).unwrap();
    let c = s["convergence_s"].as_f64().unwrap();
    assert!(html.contains(&format!("{c:.3} s after the last of {} operations", s["ops"]["acknowledged"])), "{c}");
    let from = s["partition"]["from_s"].as_f64().unwrap();
    assert!(html.contains(&format!("From {from:.3} s to ")), "partition from {from}");
    assert!(html.contains(">last operation</text>") && html.contains(">converged</text>"));
    // csi: the measured failure ratio and duplicates, and the odds from the distribution.
    let s = summary(&root.join("csi-a"));
    let html = std::fs::read_to_string(root.join("csi-a/report.html")).unwrap();
    let dup = s["duplicates"].as_u64().unwrap();
    assert!(dup > 0 && html.contains(&format!("{dup} duplicate side effects")), "duplicates {dup}");
    let p = s["odds"]["attempt_timeout_probability"].as_f64().unwrap();
    assert!(html.contains(&format!("with probability {:.2}%", 100.0 * p)), "odds {p}");
    let html = std::fs::read_to_string(root.join("csi-all-a/report.html")).unwrap();
    for plane in ["<td>management</td>", "<td>control</td>", "<td>data</td>"] {
        assert!(html.contains(plane), "the six-scenario table names the planes: {plane}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}
