//! `cap check FILE`: checks an external history for linearizability with `faultline::check`.
//! The format (JSON lines, Jepsen's etcd log, EDN key-value lines) is detected from the content
//! or given with `--format`; the model is inferred from the functions or given with `--model`;
//! the check is bounded by `--check-timeout`, after which the verdict is unknown.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, Command};
use faultline::check::format::{self, Format, ReadLimits};
use faultline::check::{Checker, ModelKind, Verdict};
use faultline::time::parse_duration;

use crate::cli::InputError;
use crate::study::output::print;
use crate::study::run::{exit, note};

/// The longest `--check-timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

fn command() -> Command {
    Command::new("cap check")
        .about("Check a history for linearizability: JSON lines, Jepsen's etcd log, or EDN key-value lines.")
        .after_help("Exit codes: 0 checked (whatever the verdict), 2 bad input or an unreadable history.")
        .arg(Arg::new("file").value_name("FILE").required(true).help("The history."))
        .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print one JSON object."))
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("json|jepsen|edn")
                .help("The history's format [default: detected from its first event line]."),
        )
        .arg(
            Arg::new("model")
                .long("model")
                .value_name("register|cas-register|kv")
                .help("The sequential model [default: kv with get/put/append, cas-register with cas, else register]."),
        )
        .arg(
            Arg::new("check-timeout")
                .long("check-timeout")
                .value_name("DURATION")
                .help("Budget of the check; past it the verdict is unknown [default: 10s] [allowed: 1ms to 24h]."),
        )
        .arg(
            Arg::new("max-input-bytes")
                .long("max-input-bytes")
                .value_name("N")
                .help("Largest history file, in bytes [default: 67108864]."),
        )
}

/// Runs `cap check` with `args` (what follows `check`); the exit code.
pub fn main(args: &[std::ffi::OsString]) -> ExitCode {
    let argv = std::iter::once(std::ffi::OsString::from("cap check")).chain(args.iter().cloned());
    let m = match command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                return if print(&e.render().to_string()).is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
            }
            let message = e.render().to_string();
            note(&format!("error: {}", message.trim().trim_start_matches("error: ").lines().next().unwrap_or("")));
            return ExitCode::from(2);
        }
    };
    exit(check(&m))
}

fn check(m: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let text = |id: &str| m.get_one::<String>(id).map(String::as_str);
    let path = PathBuf::from(text("file").unwrap_or_default());
    let format =
        text("format").map(|f| f.parse::<Format>().map_err(|e| InputError(format!("--format: {e}")))).transpose()?;
    let model =
        text("model").map(|f| f.parse::<ModelKind>().map_err(|e| InputError(format!("--model: {e}")))).transpose()?;
    let timeout = match text("check-timeout") {
        None => Duration::from_secs(10),
        Some(t) => {
            parse_duration(t.trim()).ok().filter(|d| *d >= Duration::from_millis(1) && *d <= MAX_TIMEOUT).ok_or_else(
                || InputError(format!("--check-timeout: '{t}' (allowed: a duration with a unit from 1ms to 24h)")),
            )?
        }
    };
    let mut limits = ReadLimits::default();
    if let Some(t) = text("max-input-bytes") {
        limits.max_bytes =
            t.trim().parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                InputError(format!("--max-input-bytes: '{t}' (allowed: a whole number of bytes from 1)"))
            })?;
    }
    let history =
        format::read_file(&path, format, &limits).map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    let model = model.unwrap_or_else(|| ModelKind::infer(&history));
    let started = Instant::now();
    let verdict = Checker::new()
        .timeout(timeout)
        .check_as(model, &history)
        .map_err(|e| InputError(format!("{}: {e} (try another --model)", path.display())))?;
    let seconds = started.elapsed().as_secs_f64();
    if m.get_flag("json") {
        let all = serde_json::json!({
            "file": path.display().to_string(),
            "model": model.name(),
            "operations": history.len(),
            "linearizable": verdict.linearizable(),
            "verdict": verdict.name(),
            "seconds": seconds,
            "explanation": verdict.explanation(),
            "explanation_text": verdict.explanation().map(|e| e.to_string()),
        });
        print(&format!("{all}\n"))?;
    } else {
        let what =
            format!("{}: {} operations, {} model, checked in {seconds:.3} s", path.display(), history.len(), model);
        let out = match &verdict {
            Verdict::Linearizable => format!("{what}\nlinearizable\n"),
            Verdict::NotLinearizable(why) => format!("{what}\n{why}\n"),
            Verdict::Unknown => {
                format!("{what}\nunknown: the check ran out of --check-timeout ({timeout:?}) before it could tell\n")
            }
        };
        print(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
