//! Live runs: a study run paced to the wall clock, its windows sent to the page as server-sent
//! events, and fault commands from the page applied to it through the study's own live control
//! (a unix socket in the server's private folder, the same as `--control unix:PATH`, so a
//! command is read and checked as typed input is). The commands that applied are kept with
//! their virtual times as a fault script that replays the session. A session ends when its run
//! ends or its page goes away (the event stream closes).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use faultline::Report;
use faultline::metrics::MetricKind;

use crate::report::{Chart, Line};

/// Sessions kept after their run ended (for their script), at most.
const KEPT: usize = 32;
/// How long a command waits for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// One live session.
#[derive(Debug)]
pub struct Session {
    /// Its number.
    pub id: u64,
    /// The study.
    pub study: &'static str,
    /// The command line it runs, as shown.
    pub shown: String,
    /// Virtual seconds per wall second.
    pub speed: f64,
    /// The live-control socket of its run.
    pub socket: PathBuf,
    /// Its run is going.
    pub running: AtomicBool,
    /// The commands that applied: virtual time (ns) and the line as typed.
    commands: Mutex<Vec<(u64, String)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    /// The commands that applied, in order: virtual time in seconds and the line.
    pub fn commands(&self) -> Vec<(f64, String)> {
        lock(&self.commands).iter().map(|(t, l)| (*t as f64 / 1e9, l.clone())).collect()
    }

    /// The session's faults as a script: `at TIME COMMAND`, one per command that applied.
    pub fn script(&self) -> String {
        let mut text = format!(
            "# faults of live session {} ({}, at {}x real time)\n# replay: {} --faults faults.txt\n",
            self.id, self.shown, self.speed, self.shown
        );
        for (t, line) in lock(&self.commands).iter() {
            text.push_str(&format!("at {} {line}\n", faultline::time::format_duration(Duration::from_nanos(*t))));
        }
        text
    }

    /// Sends `line` to the run and returns its reply; a command that applied joins the script.
    /// Blocks (up to a few seconds): call it off the async threads.
    pub fn command(&self, line: &str, max_line: usize) -> Result<String, String> {
        if line.contains(['\n', '\r']) {
            return Err("one command per line".into());
        }
        if line.len() > max_line {
            return Err(format!("line longer than {max_line} bytes (--max-control-line)"));
        }
        if !self.running.load(Ordering::Acquire) {
            return Err("the run has ended".into());
        }
        let gone = |e: std::io::Error| format!("the run does not answer ({e}); has it ended?");
        let stream = UnixStream::connect(&self.socket).map_err(|e| match e.kind() {
            // The socket goes with the run's live control, just before the run is marked ended.
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => "the run has ended".to_string(),
            _ => gone(e),
        })?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(gone)?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(gone)?;
        // `status` after the line marks the end of its reply, however many lines that is (a
        // `status` line itself is answered first, with one line of its own).
        (&stream).write_all(format!("{line}\nstatus\n").as_bytes()).map_err(gone)?;
        let mut statuses = if line.trim() == "status" { 2 } else { 1 };
        let mut reply = Vec::new();
        let start = Instant::now();
        for next in BufReader::new(&stream).lines() {
            let next = next.map_err(gone)?;
            if next.contains(" status: ") && next.starts_with("t=") {
                statuses -= 1;
                if statuses == 0 {
                    break;
                }
            }
            reply.push(next);
            if start.elapsed() > REPLY_TIMEOUT {
                break;
            }
        }
        if let Some(t) = reply.iter().find_map(|r| r.strip_prefix("t=").and_then(|r| r.split_once(" applied: ")))
            && let Some(ns) = parse_sim_time(t.0)
        {
            lock(&self.commands).push((ns, line.trim().to_string()));
        }
        Ok(reply.join("\n"))
    }
}

/// `12.500000000s` (how the core prints a virtual instant) in nanoseconds.
fn parse_sim_time(t: &str) -> Option<u64> {
    let (s, frac) = t.strip_suffix('s')?.split_once('.')?;
    let s: u64 = s.parse().ok()?;
    let frac: u64 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    s.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// Every live session of the server.
#[derive(Debug)]
pub struct Sessions {
    dir: PathBuf,
    next: AtomicU64,
    max_running: usize,
    map: Mutex<BTreeMap<u64, Arc<Session>>>,
}

impl Sessions {
    /// Sessions whose sockets go in a fresh folder under `parent` that only this user can
    /// enter; at most `max_running` run at once.
    pub fn new(parent: &Path, max_running: usize) -> std::io::Result<Sessions> {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = fresh_folder(parent, &format!("faultline-serve-{}", std::process::id()), &N)?;
        Ok(Sessions { dir, next: AtomicU64::new(1), max_running: max_running.max(1), map: Mutex::new(BTreeMap::new()) })
    }

    /// A new session, or why not (too many running).
    pub fn open(&self, study: &'static str, shown: String, speed: f64) -> Result<Arc<Session>, String> {
        let mut map = lock(&self.map);
        let running = map.values().filter(|s| s.running.load(Ordering::Acquire)).count();
        if running >= self.max_running {
            return Err(format!("{running} live runs are going (the limit); end one first"));
        }
        while map.len() >= KEPT {
            let Some(old) = map.iter().find(|(_, s)| !s.running.load(Ordering::Acquire)).map(|(id, _)| *id) else {
                break;
            };
            map.remove(&old);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let session = Arc::new(Session {
            id,
            study,
            shown,
            speed,
            socket: self.dir.join(format!("live-{id}.sock")),
            running: AtomicBool::new(true),
            commands: Mutex::new(Vec::new()),
        });
        map.insert(id, session.clone());
        Ok(session)
    }

    /// Session `id`.
    pub fn get(&self, id: u64) -> Option<Arc<Session>> {
        lock(&self.map).get(&id).cloned()
    }
}

/// Names tried before giving up on a folder of one's own.
const FOLDER_TRIES: u64 = 1000;

/// Creates the first folder `PREFIX-N` under `parent` (N from `counter`) that does not exist
/// yet, that only this user can enter. A server killed before it could remove its folder leaves
/// it behind, and a later process may be given the same pid: its name is then skipped.
fn fresh_folder(parent: &Path, prefix: &str, counter: &AtomicU64) -> std::io::Result<PathBuf> {
    for _ in 0..FOLDER_TRIES {
        let dir = parent.join(format!("{prefix}-{}", counter.fetch_add(1, Ordering::Relaxed)));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "{FOLDER_TRIES} folders {prefix}-N for live sessions already exist in {}: remove them",
            parent.display()
        ),
    ))
}

impl Drop for Sessions {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One colour per counter line, seven at most (with the latency line, the legend fits).
const COLORS: [&str; 7] = ["#222222", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#17becf"];

/// The live chart: the run's busiest counters (up to seven) per second and its first latency's p99, over
/// the windows finished by `now_s`, the commands marked.
/// `preferred` counters come first.
pub fn chart(study: &str, preferred: &[&str], report: &Report, now_s: f64, commands: &[(f64, String)]) -> Chart {
    let m = &report.metrics;
    let width = m.window().as_secs_f64().max(1e-9);
    let done = (now_s / width + 1e-9).floor() as usize;
    let mut counters: Vec<(f64, &str)> = m
        .names()
        .filter_map(|n| m.metric(n).filter(|v| v.kind() == MetricKind::Counter).map(|v| (v.total() as f64, n)))
        .filter(|(t, _)| *t > 0.0)
        .collect();
    // The study's own first, then the busiest.
    let rank = |name: &str| preferred.iter().position(|p| *p == name).unwrap_or(preferred.len());
    counters.sort_by(|a, b| rank(a.1).cmp(&rank(b.1)).then(b.0.total_cmp(&a.0)).then(a.1.cmp(b.1)));
    counters.truncate(COLORS.len());
    counters.sort_by(|a, b| a.1.cmp(b.1));
    let mut lines: Vec<Line> = counters
        .iter()
        .zip(COLORS)
        .filter_map(|((_, name), color)| {
            let v = m.metric(name)?;
            // A counter has no window after its last increment: those windows are zeros.
            let windows = v.windows();
            let points = (0..done)
                .map(|i| ((i as f64 + 0.5) * width, Some(windows.get(i).map_or(0.0, |w| w.sum) / width)))
                .collect();
            Some(Line { label: name.to_string(), color, points, right: false })
        })
        .collect();
    if let Some((name, v)) =
        m.names().find_map(|n| m.metric(n).filter(|v| v.kind() == MetricKind::Duration).map(|v| (n, v)))
    {
        let points =
            v.windows().iter().take(done).map(|w| (w.start_s + width / 2.0, w.p99.map(|ns| ns as f64 / 1e6))).collect();
        lines.push(Line { label: format!("p99 {name}"), color: "#1f77b4", points, right: true });
    }
    Chart {
        title: format!("{study}, live: {now_s:.0} s of virtual time"),
        x_label: "virtual time (s)".into(),
        left_label: "per second".into(),
        right_label: "p99 latency (ms)".into(),
        lines,
        spans: commands
            .iter()
            .map(|(t, l)| (*t, t + width / 2.0, l.split_whitespace().next().unwrap_or("").into()))
            .collect(),
    }
}

/// The partition each node's button makes: the node against every other node, as selectors.
pub fn others(names: &[String], node: &str) -> String {
    let rest: Vec<&str> = names.iter().map(String::as_str).filter(|n| *n != node).collect();
    // `client-*` when every other node is one family and the node is not in it.
    let stem = |n: &str| n.rsplit_once('-').map(|(s, _)| format!("{s}-*"));
    if let Some(first) = rest.first().and_then(|n| stem(n))
        && rest.iter().all(|n| stem(n).as_deref() == Some(first.as_str()))
        && stem(node).as_deref() != Some(first.as_str())
    {
        return first;
    }
    rest.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_the_core_prints_them() {
        assert_eq!(parse_sim_time("12.500000000s"), Some(12_500_000_000));
        assert_eq!(parse_sim_time("0.000000001s"), Some(1));
        assert_eq!(parse_sim_time("12s"), None);
    }

    /// A folder left by a killed server whose pid this process was given is skipped, not an
    /// error ("File exists" had stopped `faultline serve` from starting); when every name is
    /// taken, the error says where.
    #[test]
    fn a_folder_left_behind_is_skipped() {
        let parent = std::env::temp_dir().join(format!("faultline-fresh-folder-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        std::fs::create_dir_all(parent.join("s-0")).unwrap();
        std::fs::create_dir_all(parent.join("s-1")).unwrap();
        let counter = AtomicU64::new(0);
        assert_eq!(fresh_folder(&parent, "s", &counter).unwrap(), parent.join("s-2"));
        assert_eq!(fresh_folder(&parent, "s", &counter).unwrap(), parent.join("s-3"));
        for n in 4..4 + FOLDER_TRIES {
            std::fs::create_dir(parent.join(format!("s-{n}"))).unwrap();
        }
        let err = fresh_folder(&parent, "s", &counter).unwrap_err().to_string();
        assert!(err.contains("1000 folders s-N") && err.contains(&parent.display().to_string()), "{err}");
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn a_partition_names_the_other_side_by_family() {
        let names: Vec<String> = ["server", "client-0", "client-1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(others(&names, "server"), "client-*");
        assert_eq!(others(&names, "client-0"), "server,client-1");
    }
}
