//! Every command the README gives runs as written: each `cargo run --release --bin NAME -- ARGS`
//! line outside the Reports section runs here (this build's binary for NAME, from a scratch
//! folder that sees the repository's `scenarios/`, in README order so that a file one command
//! writes is there for the next) and must exit 0 with something on stdout. The lines that
//! cannot run alone (a server, a live session, a cluster job, the test command itself) are named
//! below with the test that runs them, and a line that is neither run nor named fails the test.

use std::path::Path;
use std::process::Command;

mod readme;

use readme::{Line, bin, cargo_run, words};

/// Lines run by another test or by CI, by a piece of their text, with where.
const ELSEWHERE: &[(&str, &str)] = &[
    ("cargo test --workspace", ".ci/run"),
    ("--bin faultline -- serve", "scenarios/tests/serve.rs starts the server on an ephemeral port"),
    ("--control unix:", "report_readme.rs (the Reports section) and report_live.rs run live sessions"),
    ("| nc -N -U", "report_readme.rs sends these lines over the socket"),
    ("cargo build --release", "every test builds the binaries"),
    ("mkdir -p sweep-out", "sweep_grid.rs runs the scripts the Slurm array calls"),
    ("deploy/", "sweep_grid.rs runs deploy/sweep-shard.sh and sweep-merge.sh as the batch jobs do"),
    ("sbatch", "sweep_grid.rs runs the scripts the Slurm array calls"),
    ("kubectl", "sweep_grid.rs runs the scripts the Kubernetes Job calls"),
    ("jobid=", "sweep_grid.rs runs the scripts the Slurm array calls"),
    ("--bin netbench -- --nodes 10000", "a benchmark (minutes in a debug build): netbench.rs runs the mode small"),
    ("--deliveries 5000000", "a benchmark: netbench.rs runs the workload small"),
    ("--deliveries 4000000", "a benchmark: netbench.rs runs the workload small"),
];

fn elsewhere(line: &Line) -> Option<&'static str> {
    if line.section == "Reports" {
        return Some("report_readme.rs runs the Reports section");
    }
    ELSEWHERE.iter().find(|(text, _)| line.text.contains(text)).map(|(_, why)| *why)
}

#[test]
fn every_readme_command_runs_as_written() {
    let dir = std::env::temp_dir().join(format!("faultline-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::os::unix::fs::symlink(root.join("scenarios"), dir.join("scenarios")).unwrap();
    let (mut ran, mut skipped) = (0, 0);
    for line in readme::lines() {
        if let Some(why) = elsewhere(&line) {
            println!("elsewhere: {} ({why})", line.text);
            skipped += 1;
            continue;
        }
        let w = words(&line.text);
        let Some((name, args)) = cargo_run(&w) else {
            panic!("a README command this test cannot run and no other test is named for: {}", line.text);
        };
        let out = Command::new(bin(name)).args(args).current_dir(&dir).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{} ({}): {stderr}", line.text, line.section);
        assert!(!out.stdout.is_empty(), "{}: nothing on stdout", line.text);
        ran += 1;
    }
    println!("{ran} commands ran, {skipped} are run elsewhere");
    assert!(ran >= 25, "{ran} commands ran");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The output the README shows for its first command (`cargo run --release --bin metastable`,
/// under "The first command simulates") is what the study prints, byte for byte: the text had
/// drifted once ("answered" where the verdict says "served") with no test to notice.
#[test]
fn the_first_command_prints_what_the_readme_shows() {
    let readme = include_str!("../../README.md");
    let after = &readme[readme.find("The first command simulates").expect("the first command's output")..];
    let block = &after[after.find("```\n").expect("its block") + 4..];
    let shown = &block[..block.find("```").expect("the block's end")];
    let out = Command::new(bin("metastable")).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown);
}
