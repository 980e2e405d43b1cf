//! Runs the README's Reports commands as written (the study binaries of this build in place of
//! `cargo run --release --bin NAME --`, and a temporary folder in place of `out/` and `/tmp`),
//! and checks what the README says of them: the files `--out` writes, and that the live session
//! replays from its `faults.txt`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod readme;

use readme::{bin, words};

/// The first `sh` block of the README's Reports section.
fn commands() -> Vec<String> {
    readme::first_block("Reports")
}

#[test]
fn the_readme_reports_commands_run_and_do_what_it_says() {
    let dir = std::env::temp_dir().join(format!("faultline-report-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let local = |w: &str| -> String {
        let w = w.replace("/tmp/", &format!("{}/", dir.display()));
        match w.strip_prefix("out/") {
            Some(rest) => dir.join("out").join(rest).display().to_string(),
            None => w,
        }
    };
    let lines = commands();
    assert!(lines.len() >= 5, "{lines:?}");
    let mut background: Vec<Child> = Vec::new();
    let finish = |background: &mut Vec<Child>| {
        for child in background.drain(..) {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    };
    for line in &lines {
        let w = words(line);
        match w.first().map(String::as_str) {
            Some("cargo") => {
                assert_eq!(&w[1..4], ["run", "--release", "--bin"], "{line}");
                assert_eq!(w[5], "--", "{line}");
                let in_background = w.last().is_some_and(|l| l == "&");
                let args: Vec<String> = w[6..w.len() - usize::from(in_background)].iter().map(|a| local(a)).collect();
                let mut cmd = Command::new(bin(&w[4]));
                // From the repository's root, as the README's commands are.
                cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
                cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::piped());
                if in_background {
                    background.push(cmd.spawn().unwrap());
                } else {
                    finish(&mut background);
                    let out = cmd.output().unwrap();
                    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
            Some("echo") => {
                // echo "LINE" | nc -N -U SOCKET: one line on the control socket, its reply read.
                assert_eq!(&w[2..5], ["|", "nc", "-N"], "{line}");
                let sock = PathBuf::from(local(&w[6]));
                let started = Instant::now();
                while !sock.exists() {
                    assert!(started.elapsed() < Duration::from_secs(20), "{line}: no socket");
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(Duration::from_millis(800));
                let mut stream = UnixStream::connect(&sock).unwrap();
                writeln!(stream, "{}", w[1]).unwrap();
                let mut reply = String::new();
                BufReader::new(&stream).read_line(&mut reply).unwrap();
                assert!(reply.contains(" applied: "), "{line}: {reply}");
            }
            _ => panic!("a README command this test does not know how to run: {line}"),
        }
    }
    finish(&mut background);
    let out = dir.join("out");
    for study in ["metastable", "cap", "crdt", "csi", "live", "replay"] {
        for file in ["report.html", "summary.json", "windows.csv", "chart.svg", "faults.txt"] {
            assert!(out.join(study).join(file).is_file(), "{study}/{file}");
        }
    }
    let summary = |d: &Path| {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
        v["params"].as_object_mut().unwrap().remove("faults");
        v
    };
    assert_eq!(summary(&out.join("live")), summary(&out.join("replay")), "the live session replays");
    let faults = std::fs::read_to_string(out.join("live/faults.txt")).unwrap();
    assert!(faults.contains(" partition client-0,") && faults.contains(" heal fault1.0"), "{faults}");
    std::fs::remove_dir_all(&dir).unwrap();
}
