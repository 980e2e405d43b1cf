//! What the study binaries' command-line tests share: a binary's output read as a user reads
//! it (stderr as text, stdout that must be one JSON object), scratch folders, and the presets.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

/// Standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output of a run that must have succeeded.
pub fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(o));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard output of a `--json` run: one line, one object, nothing else.
pub fn json(o: &Output) -> Value {
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one line of JSON and nothing else: {text}");
    serde_json::from_str(&text).unwrap()
}

/// An empty scratch folder of this test process, named for the test.
pub fn temp(name: &str) -> PathBuf {
    let test = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    let dir =
        std::env::temp_dir().join(format!("faultline-{}-{}-{name}", test.unwrap_or_default(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits (20 s at most) for a live run's control socket to appear at `path`.
pub fn wait_for_socket(path: &std::path::Path) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the control socket never appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The folder of a study's presets.
pub fn presets(study: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets").join(study)
}

/// Runs the sweep `args` whole (`--json`), then in `shards` shards whose JSON lines `--merge`
/// puts back together, checks that both give the same object, and returns it.
pub fn sweep_whole_and_merged(run: impl Fn(&[&str]) -> Output, args: &[&str], shards: u32) -> Value {
    let whole = json(&run(&[args, &["--json"]].concat()));
    let dir = temp("shards");
    let mut files = Vec::new();
    for i in 0..shards {
        let o = run(&[args, &["--shard", &format!("{i}/{shards}")]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        let f = dir.join(format!("{i}.jsonl"));
        std::fs::write(&f, &o.stdout).unwrap();
        files.push(f.to_str().unwrap().to_string());
    }
    let mut merge = vec!["--json", "--merge"];
    merge.extend(files.iter().map(String::as_str));
    assert_eq!(json(&run(&merge)), whole, "the merged shards give the whole sweep");
    std::fs::remove_dir_all(&dir).unwrap();
    whole
}

/// Runs `args` with `--seed 4` twice and with `--seed 5`, as text and as `--json`: the same
/// seed prints the same bytes, another seed other bytes. Every run must succeed.
pub fn same_seed_same_bytes(run: impl Fn(&[&str]) -> Output, args: &[&str]) {
    let with = |extra: &[&str]| {
        let o = run(&[args, extra].concat());
        assert!(o.status.success(), "{args:?} {extra:?}: {}", stderr(&o));
        o.stdout
    };
    let (a, b) = (with(&["--seed", "4"]), with(&["--seed", "4"]));
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, with(&["--seed", "5"]));
    assert_eq!(with(&["--seed", "4", "--json"]), with(&["--seed", "4", "--json"]));
}

/// Runs each of `cases` (arguments, a piece of the message) and checks it was refused as bad
/// input: exit code 2, one `error: ` naming what is wrong on stderr, nothing on stdout.
pub fn all_refused(run: impl Fn(&[&str]) -> Output, cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        let o = run(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains(message), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
