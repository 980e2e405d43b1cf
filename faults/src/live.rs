//! Live control: fault commands typed while a run is going, on standard input or a unix
//! socket. Each line is a script command without `at` (applied now), or `status`, or `stop`.
//! Every line gets a reply; a bad line gets an error and the run goes on.
//!
//! It is a protocol with limits ([`LiveLimits`]): several clients at once on the socket, each
//! served by its own thread (an idle client blocks no one); lines of at most
//! [`DEFAULT_MAX_LINE`] bytes (a longer one gets one short error and is discarded up to its
//! newline); bytes that are not UTF-8 get an error and the session goes on; a line cut off by
//! a disconnect is discarded, never executed; replies are written with a timeout, so a client
//! that does not read cannot hold the process. [`LiveControl::shutdown`] (also on drop) ends
//! every session and removes the socket.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use faultline::{ControlHandle, SimRng, derive_rng};

use crate::line::{Line, LineSplitter};
use crate::parse::parse_live;
use crate::record::Recording;
use crate::schedule::commands;
use crate::select::Resolver;

/// The longest control line, in bytes, by default.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// The limits of a live-control session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLimits {
    /// The longest line, in bytes (without its newline).
    pub max_line: usize,
    /// How long a reply may wait for a client to read it before the session is closed.
    pub reply_timeout: Duration,
    /// How many socket clients may be connected at once; one more gets an error and is closed.
    pub max_clients: usize,
}

impl Default for LiveLimits {
    fn default() -> Self {
        LiveLimits { max_line: DEFAULT_MAX_LINE, reply_timeout: Duration::from_secs(2), max_clients: 16 }
    }
}

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
    /// What was applied, with the virtual instants, for the run's `faults.txt`.
    recording: Recording,
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

    /// The reply to one line as the splitter delivered it.
    fn reply(&mut self, line: &Line, max_line: usize) -> String {
        match line {
            Line::Text(text) => self.handle(text),
            Line::NotUtf8 { at } => format!("error: the line is not UTF-8 (bad byte at offset {at}); discarded"),
            Line::TooLong => format!("error: line longer than {max_line} bytes; discarded up to its newline"),
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
            self.recording.begin();
            let reply = match self.control.request(command.clone()).wait() {
                Ok(t) => {
                    self.recording.record(t, &command, self.resolver.names());
                    format!("t={t} applied: {words}")
                }
                Err(e) => format!("error: {words}: {e}"),
            };
            self.recording.end();
            replies.push(reply);
        }
        replies.join("\n")
    }
}

/// What the reader threads and the owner share.
#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    /// The socket file, and its device and inode: removed only while it is still ours.
    socket: Mutex<Option<(PathBuf, u64, u64)>>,
    /// Socket sessions running now.
    sessions: Mutex<usize>,
    ended: Condvar,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some((path, dev, ino)) = lock(&self.socket).take()
            && let Ok(meta) = path.symlink_metadata()
            && meta.dev() == dev
            && meta.ino() == ino
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running live-control reader. Dropping it shuts it down (see [`LiveControl::shutdown`]).
pub struct LiveControl {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// Shuts a [`LiveControl`] down from another thread, such as the one that watches for SIGINT
/// and SIGTERM. Cloneable and `Send`.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<Shared>);

impl ShutdownHandle {
    /// The same as [`LiveControl::shutdown`].
    pub fn shutdown(&self) {
        self.0.shutdown();
    }
}

impl LiveControl {
    /// Starts reading commands from `source` for the simulation behind `control`, with the
    /// default [`LiveLimits`]. Random picks in live commands draw from a generator seeded by
    /// `seed`.
    pub fn start(source: ControlSource, control: ControlHandle, resolver: Resolver, seed: u64) -> io::Result<Self> {
        LiveControl::start_with(source, control, resolver, seed, LiveLimits::default())
    }

    /// [`start`](Self::start) with other limits. Errors name the socket path.
    pub fn start_with(
        source: ControlSource,
        control: ControlHandle,
        resolver: Resolver,
        seed: u64,
        limits: LiveLimits,
    ) -> io::Result<Self> {
        LiveControl::start_recorded(source, control, resolver, seed, limits, Recording::default())
    }

    /// [`start_with`](Self::start_with), writing every applied command into `recording` with
    /// the virtual instant it applied, so that the session can be replayed as a script.
    pub fn start_recorded(
        source: ControlSource,
        control: ControlHandle,
        resolver: Resolver,
        seed: u64,
        limits: LiveLimits,
        recording: Recording,
    ) -> io::Result<Self> {
        if limits.reply_timeout.is_zero() || limits.max_line == 0 || limits.max_clients == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("live control limits must be above zero, found {limits:?}"),
            ));
        }
        let op =
            Arc::new(Mutex::new(Operator { control, resolver, rng: derive_rng(seed, "live", 0), count: 0, recording }));
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            socket: Mutex::new(None),
            sessions: Mutex::new(0),
            ended: Condvar::new(),
        });
        let limits = Arc::new(limits);
        match source {
            ControlSource::Stdin => {
                // Standard input cannot be interrupted: the reader ends with the process, and
                // acts on nothing once shut down. Applied commands show in the run's control
                // trace; errors and status here.
                let flag = shared.clone();
                std::thread::spawn(move || {
                    let reply = |text: &str| {
                        let mut err = io::stderr().lock();
                        for line in text.lines().filter(|r| !r.contains(" applied: ")) {
                            // A closed standard error loses the reply, never the run.
                            let _ = writeln!(err, "{line}");
                        }
                        true
                    };
                    read_lines(io::stdin().lock(), &op, &flag, &limits, reply);
                });
                Ok(LiveControl { shared, accept: None })
            }
            ControlSource::Unix(path) => {
                let (listener, dev, ino) = bind_private(&path)?;
                *lock(&shared.socket) = Some((path.clone(), dev, ino));
                if let Err(e) = listener.set_nonblocking(true) {
                    shared.shutdown();
                    return Err(named(&path, e));
                }
                let flag = shared.clone();
                let accept = std::thread::spawn(move || serve(listener, op, flag, limits));
                Ok(LiveControl { shared, accept: Some(accept) })
            }
        }
    }

    /// Stops live control: no command is acted on after it, every socket session ends within
    /// a read timeout (50 ms), and the socket file is removed (if it is still the one this
    /// control made). Safe to call from any thread, more than once; [`Drop`] calls it too.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    /// A handle that can shut this live control down from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.clone())
    }
}

impl Drop for LiveControl {
    fn drop(&mut self) {
        self.shared.shutdown();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        // Sessions notice the stop within a read timeout; one stuck waiting for a simulation
        // that no longer runs is left behind rather than keeping the process alive.
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut n = lock(&self.shared.sessions);
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            n = self.shared.ended.wait_timeout(n, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

/// The socket path in an error, so that the user sees which path failed.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("unix:{}: {e}", path.display()))
}

/// Binds a unix socket at `path` with mode 0600, and returns it with the device and inode of
/// the socket file. The socket is made inside a fresh directory only its owner can enter, then
/// linked into place: no moment exists at which another user could connect, and an existing
/// file at `path` is refused, never replaced.
fn bind_private(path: &Path) -> io::Result<(UnixListener, u64, u64)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if path.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("unix:{}: a file is already there; remove it or choose another path", path.display()),
        ));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let private = parent.join(format!(".faultline-control-{}-{n}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&private).map_err(|e| named(path, e))?;
    let staged = private.join("socket");
    let result = (|| {
        let listener = UnixListener::bind(&staged)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&staged, path)?;
        let meta = path.symlink_metadata()?;
        Ok((listener, meta.dev(), meta.ino()))
    })()
    .map_err(|e| named(path, e));
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&private);
    result
}

/// Accepts clients until shut down, each in its own session thread.
fn serve(listener: UnixListener, op: Arc<Mutex<Operator>>, shared: Arc<Shared>, limits: Arc<LiveLimits>) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                let mut n = lock(&shared.sessions);
                if *n >= limits.max_clients {
                    drop(n);
                    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
                    let _ = writeln!(
                        &stream,
                        "error: {} control clients are connected already (the limit)",
                        limits.max_clients
                    );
                    continue;
                }
                *n += 1;
                drop(n);
                let (op, shared, limits) = (op.clone(), shared.clone(), limits.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &op, &shared, &limits);
                    *lock(&shared.sessions) -= 1;
                    shared.ended.notify_all();
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            // Out of file descriptors and the like: try again later rather than stop serving.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// One socket client: lines in, replies out, until it disconnects, stops reading, or live
/// control shuts down.
fn session(stream: UnixStream, op: &Mutex<Operator>, shared: &Shared, limits: &LiveLimits) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;
    stream.set_write_timeout(Some(limits.reply_timeout))?;
    let mut writer = stream.try_clone()?;
    let mut failed = None;
    read_lines(stream, op, shared, limits, |reply| {
        // A reply the client does not take within the timeout ends the session.
        if failed.is_none()
            && let Err(e) = writeln!(writer, "{reply}")
        {
            failed = Some(e);
        }
        failed.is_none()
    });
    failed.map_or(Ok(()), Err)
}

/// Reads lines from `input` and answers each through `reply` (which returns false to end the
/// session), until the end of the input or a shutdown. A line without a newline at the end is
/// discarded.
fn read_lines<R: Read, F: FnMut(&str) -> bool>(
    mut input: R,
    op: &Mutex<Operator>,
    shared: &Shared,
    limits: &LiveLimits,
    mut reply: F,
) {
    let mut splitter = LineSplitter::new(limits.max_line);
    let mut chunk = [0u8; 4096];
    let mut lines = Vec::new();
    while !shared.stopped() {
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => splitter.feed(&chunk[..n], &mut lines),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => break,
        }
        for line in lines.drain(..) {
            if shared.stopped() {
                return;
            }
            let text = lock(op).reply(&line, limits.max_line);
            if !text.is_empty() && !reply(&text) {
                return;
            }
        }
    }
    splitter.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline::{Context, FnNode, Sim};

    /// An operator for a simulation that has already ended: every command is answered at
    /// once ("the simulation has ended"), so a line that reaches the sim shows in the replies.
    fn ended() -> Mutex<Operator> {
        let sim = Sim::<u32>::builder(1)
            .node("a", || {
                FnNode(|ctx: Context<u32>| async move {
                    ctx.recv().await;
                })
            })
            .build()
            .unwrap();
        let (control, names) = (sim.control(), sim.names().to_vec());
        drop(sim);
        Mutex::new(Operator {
            control,
            resolver: Resolver::new(&names),
            rng: derive_rng(1, "live", 0),
            count: 0,
            recording: Recording::default(),
        })
    }

    fn session(input: &[u8], limits: &LiveLimits) -> Vec<String> {
        let shared = Shared {
            stop: AtomicBool::new(false),
            socket: Mutex::new(None),
            sessions: Mutex::new(0),
            ended: Condvar::new(),
        };
        let mut replies = Vec::new();
        read_lines(input, &ended(), &shared, limits, |r| {
            replies.push(r.to_string());
            true
        });
        replies
    }

    // Pins issue 8 (stdin and socket share this reader): an invalid UTF-8 line ended live
    // control for the rest of the run; a 10 MB bad line got a 10 MB reply; a line with no
    // newline was buffered without limit; a partial line at disconnect was executed.
    #[test]
    fn bad_bytes_long_lines_and_a_partial_line_get_short_errors_and_the_session_goes_on() {
        let limits = LiveLimits { max_line: 64, ..LiveLimits::default() };
        let mut input = b"\xff\xfecrash a\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\ncrash a\r\n# comment\n\nbogus\ncrash a");
        let replies = session(&input, &limits);
        assert_eq!(
            replies,
            vec![
                "error: the line is not UTF-8 (bad byte at offset 0); discarded",
                "error: line longer than 64 bytes; discarded up to its newline",
                "error: crash a: the simulation has ended",
                "error: column 1: unknown command 'bogus': expected partition, cut, isolate, heal, link, crash, restart, pause, resume, skew, drift or stop",
            ],
            "the last 'crash a' had no newline: discarded, not executed"
        );
        assert!(replies.iter().all(|r| r.len() < 200), "no reply echoes a long line");
    }

    #[test]
    fn nothing_is_acted_on_after_shutdown() {
        let shared = Shared {
            stop: AtomicBool::new(true),
            socket: Mutex::new(None),
            sessions: Mutex::new(0),
            ended: Condvar::new(),
        };
        let mut replies = 0;
        read_lines(&b"crash a\n"[..], &ended(), &shared, &LiveLimits::default(), |_| {
            replies += 1;
            true
        });
        assert_eq!(replies, 0);
    }
}
