//! The Porcupine corpus: 109 public histories (Jepsen's etcd logs and key-value logs) with the
//! verdicts Porcupine's own tests assert. Every verdict must match.
//!
//! The corpus is not part of the project: the test reads `../shared/testdata/porcupine`, or the
//! directory in `FAULTLINE_PORCUPINE_DIR`, and says that it skipped when neither is there.
//! Run it with `cargo test --release --test porcupine -- --nocapture` to see the times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faultline::check::format::{self, ReadLimits};
use faultline::check::{Checker, History, Limits, ModelKind, Verdict};

fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("FAULTLINE_PORCUPINE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/porcupine"),
    };
    dir.join("expected.tsv").is_file().then_some(dir)
}

struct Case {
    file: String,
    model: ModelKind,
    expected: Option<bool>,
}

fn cases(dir: &std::path::Path) -> Vec<Case> {
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    tsv.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "expected.tsv: {l:?}");
            let expected = match cols[2] {
                "linearizable" => Some(true),
                "not-linearizable" => Some(false),
                "unknown" => None,
                other => panic!("expected.tsv: unknown verdict {other:?}"),
            };
            Case { file: cols[0].to_string(), model: cols[1].parse().expect("model"), expected }
        })
        .collect()
}

#[test]
fn every_verdict_matches_porcupine() {
    let Some(dir) = corpus() else {
        println!("skipped: no Porcupine corpus at ../shared/testdata/porcupine (set FAULTLINE_PORCUPINE_DIR)");
        return;
    };
    let cases = cases(&dir);
    assert!(cases.len() >= 100, "only {} cases in expected.tsv", cases.len());

    // The verdict alone, as Porcupine's tests time it; then explanations, within a step budget
    // so that they are the same on every machine and do not slow a debug build down much.
    let verdict_only = Checker::new().timeout(Duration::from_secs(60)).without_minimising();
    let explaining = Checker::new().timeout(Duration::from_secs(60)).explain_limits(Limits::steps(1_500_000));
    let (mut parse_time, mut check_time, mut explain_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut checked, mut skipped, mut largest_core, mut minimal, mut failing) = (0, 0, 0, 0, 0);
    let mut slowest = (Duration::ZERO, String::new());
    let mut mismatches = Vec::new();
    for case in &cases {
        let Some(expected) = case.expected else {
            skipped += 1;
            continue;
        };
        let start = Instant::now();
        let history = format::read_file(&dir.join(&case.file), None, &ReadLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.file));
        parse_time += start.elapsed();

        let start = Instant::now();
        let verdict = verdict_only.check_as(case.model, &history).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let took = start.elapsed();
        check_time += took;
        if took > slowest.0 {
            slowest = (took, case.file.clone());
        }
        checked += 1;
        if verdict.linearizable() != Some(expected) {
            mismatches.push(format!(
                "{}: expected {}, got {}",
                case.file,
                if expected { "linearizable" } else { "not-linearizable" },
                verdict.name()
            ));
            continue;
        }
        if !expected {
            failing += 1;
            let start = Instant::now();
            let verdict = explaining.check_as(case.model, &history).unwrap();
            explain_time += start.elapsed();
            let Verdict::NotLinearizable(why) = verdict else { panic!("{}: {}", case.file, verdict.name()) };
            assert!(!why.ops.is_empty(), "{}: empty explanation", case.file);
            largest_core = largest_core.max(why.ops.len());
            minimal += usize::from(why.minimal);
            // Whatever the other operations did, these cannot be ordered: so not on their own either.
            let mut core = History::new();
            for op in &why.ops {
                core.push(history.operations()[op.index].clone()).unwrap();
            }
            let alone = verdict_only.check_as(case.model, &core).unwrap();
            assert_eq!(
                alone.linearizable(),
                Some(false),
                "{}: the explanation alone can be ordered:\n{why}",
                case.file
            );
            if case.file.ends_with("etcd_000.log") || case.file.ends_with("c01-bad.txt") {
                println!("{}:\n{why}\n", case.file);
            }
        }
    }
    println!(
        "porcupine corpus: {checked} files checked, {skipped} without a verdict skipped; parse {:.1} ms, check {:.1} ms \
         (slowest {} in {:.1} ms); explanations of the {failing} non-linearizable ones {:.1} ms ({minimal} minimal, the largest {largest_core} \
         operations)",
        parse_time.as_secs_f64() * 1e3,
        check_time.as_secs_f64() * 1e3,
        slowest.1,
        slowest.0.as_secs_f64() * 1e3,
        explain_time.as_secs_f64() * 1e3,
    );
    assert!(mismatches.is_empty(), "{} verdicts differ from Porcupine's:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// The one file without a verdict (an etcd run that never started) is empty, hence trivially
/// linearizable.
#[test]
fn the_empty_etcd_log_is_linearizable() {
    let Some(dir) = corpus() else {
        println!("skipped: no Porcupine corpus");
        return;
    };
    let history = format::read_file(&dir.join("jepsen/etcd_095.log"), None, &ReadLimits::default()).unwrap();
    assert!(history.is_empty());
    assert_eq!(Checker::new().check_as(ModelKind::CasRegister, &history).unwrap(), Verdict::Linearizable);
}
