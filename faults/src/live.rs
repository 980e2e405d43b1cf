//! Live control: fault commands typed while a run is going, on standard input or a unix
//! socket. Each line is a script command without `at` (applied now), or `status`, or `stop`.
//! Every line gets a reply; a bad line gets an error and the run goes on.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use faultline::{ControlHandle, SimRng, derive_rng};

use crate::parse::parse_live;
use crate::schedule::commands;
use crate::select::Resolver;

/// Where live commands come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlSource {
    /// Standard input (replies on standard error).
    Stdin,
    /// A unix socket at this path, created with mode 0600 and removed on exit (replies on the
    /// connection).
    Unix(PathBuf),
}

impl FromStr for ControlSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stdin" => Ok(ControlSource::Stdin),
            _ => match s.strip_prefix("unix:") {
                Some(path) if !path.is_empty() => Ok(ControlSource::Unix(PathBuf::from(path))),
                _ => Err(format!("'{s}' is not a control source: use stdin or unix:PATH")),
            },
        }
    }
}

/// Turns lines into commands for one running simulation.
struct Operator {
    control: ControlHandle,
    resolver: Resolver,
    rng: SimRng,
    count: u64,
}

impl Operator {
    /// The reply to one line, one line of text (empty for blank lines and comments).
    fn handle(&mut self, line: &str) -> String {
        match line.trim() {
            "status" => match self.control.status().wait() {
                Ok(s) => {
                    let nodes: Vec<String> = s.nodes.iter().map(|(n, st)| format!("{n}={}", st.name())).collect();
                    format!(
                        "t={} status: {}; delivered={} held={} applied={} refused={}",
                        s.now,
                        nodes.join(" "),
                        s.delivered,
                        s.held,
                        s.control.total_applied(),
                        s.control.total_rejected()
                    )
                }
                Err(e) => format!("error: {e}"),
            },
            _ => self.command(line),
        }
    }

    fn command(&mut self, line: &str) -> String {
        let entry = match parse_live(line.trim_end()) {
            Ok(Some(entry)) => entry,
            Ok(None) => return String::new(),
            Err(e) => return format!("error: column {}: {}", e.pos.column, e.message),
        };
        self.count += 1;
        let label = format!("live{}", self.count);
        let applied = match commands(&entry.action, &self.resolver, &mut self.rng, &label) {
            Ok(a) => a,
            Err(e) => return format!("error: column {}: {}", e.pos.column, e.message),
        };
        let mut replies = Vec::new();
        for command in applied.commands {
            let words = command.describe(self.resolver.names());
            replies.push(match self.control.request(command).wait() {
                Ok(t) => format!("t={t} applied: {words}"),
                Err(e) => format!("error: {words}: {e}"),
            });
        }
        replies.join("\n")
    }
}

/// A running live-control reader. Dropping it stops the reader and removes the socket.
pub struct LiveControl {
    stop: Arc<AtomicBool>,
    socket: Option<PathBuf>,
    thread: Option<JoinHandle<()>>,
}

impl LiveControl {
    /// Starts reading commands from `source` for the simulation behind `control`. Random
    /// picks in live commands draw from a generator seeded by `seed`.
    pub fn start(source: ControlSource, control: ControlHandle, resolver: Resolver, seed: u64) -> io::Result<Self> {
        let mut op = Operator { control, resolver, rng: derive_rng(seed, "live", 0), count: 0 };
        let stop = Arc::new(AtomicBool::new(false));
        match source {
            ControlSource::Stdin => {
                // Standard input cannot be interrupted: the reader ends with the process.
                // Applied commands show in the run's control trace; errors and status here.
                std::thread::spawn(move || {
                    for line in io::stdin().lock().lines() {
                        let Ok(line) = line else { break };
                        for reply in op.handle(&line).lines().filter(|r| !r.contains(" applied: ")) {
                            eprintln!("{reply}");
                        }
                    }
                });
                Ok(LiveControl { stop, socket: None, thread: None })
            }
            ControlSource::Unix(path) => {
                let listener = bind_private(&path)?;
                listener.set_nonblocking(true)?;
                let flag = stop.clone();
                let thread = std::thread::spawn(move || serve(listener, &mut op, &flag));
                Ok(LiveControl { stop, socket: Some(path), thread: Some(thread) })
            }
        }
    }
}

impl Drop for LiveControl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(p) = self.socket.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Binds a unix socket at `path` with mode 0600. The socket is made inside a fresh directory
/// only its owner can enter, then linked into place: no moment exists at which another user
/// could connect, and an existing file at `path` is refused, never replaced.
fn bind_private(path: &Path) -> io::Result<UnixListener> {
    if path.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("--control unix:{}: a file is already there; remove it or choose another path", path.display()),
        ));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let private = parent.join(format!(".faultline-control-{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let staged = private.join("socket");
    let result = (|| {
        let listener = UnixListener::bind(&staged)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&staged, path)
            .map_err(|e| io::Error::new(e.kind(), format!("--control unix:{}: {e}", path.display())))?;
        Ok(listener)
    })();
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&private);
    result
}

fn serve(listener: UnixListener, op: &mut Operator, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = converse(stream, op, stop);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
}

fn converse(stream: UnixStream, op: &mut Operator, stop: &AtomicBool) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while !stop.load(Ordering::Acquire) {
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                let reply = op.handle(&line);
                line.clear();
                if !reply.is_empty() {
                    writeln!(writer, "{reply}")?;
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
