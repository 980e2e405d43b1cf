//! Traces for ordinary tracing tools: every line carries virtual time and the node. Three
//! writers: readable text, JSON lines, and Chrome trace-event JSON (open it in Perfetto), with
//! one track per node and commands, phases and verdicts as instant events. An `EnvFilter` (by
//! default `RUST_LOG`) selects what is traced.
//!
//! What a run traces on purpose, by target (see [`marks`] for the fields):
//!
//! | target | level | one event per |
//! |---|---|---|
//! | `faultline::control` | info (applied), warn (refused) | fault command |
//! | `faultline::phase` | info | phase change ([`phase`], [`Traces::phase`]) |
//! | `faultline::verdict` | info | verdict ([`verdict`], [`Traces::verdict`]) |
//! | `faultline::drop` | debug | dropped message, with its `reason` ([`dropped`], [`DropReason`]) |
//!
//! A scenario that knows when its phases change before the run starts (a load spike) writes
//! them with [`Traces::phase_at`]; one that judges the run after it ends holds the traces open
//! ([`Traces::hold`]) to write its verdict before they finish.
//!
//! A trace file is written as `NAME.partial` and renamed when the trace finishes
//! ([`Sim::finish`](crate::Sim::finish) or [`Traces::finish`], which an interrupt handler may
//! call), so it exists whole or not at all.

mod chrome;
mod fields;
pub mod marks;
mod sink;
mod writer;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing::Dispatch;

pub use marks::{DROP_TARGET, DropReason, PHASE_TARGET, VERDICT_TARGET, dropped, drops_traced, phase, verdict};
pub(crate) use writer::TraceLayer;

/// A handle on a run's trace writers, from [`Sim::traces`](crate::Sim::traces): it can be
/// cloned, sent to another thread, and outlive the run.
#[derive(Clone)]
pub struct Traces {
    writers: Vec<TraceLayer>,
    dispatch: Dispatch,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces").field("writers", &self.writers.len()).finish_non_exhaustive()
    }
}

impl Traces {
    pub(crate) fn new(writers: Vec<TraceLayer>, dispatch: Dispatch) -> Self {
        Traces { writers, dispatch }
    }

    /// Writes a phase change into the run's traces at the run's current virtual time (see
    /// [`PHASE_TARGET`]), for a scenario that decides phases outside the run.
    pub fn phase(&self, name: &str, trigger: &str) {
        tracing::dispatcher::with_default(&self.dispatch, || phase(name, trigger));
    }

    /// Writes the run's verdict into its traces at the run's current virtual time (see
    /// [`VERDICT_TARGET`]), typically after the run and before [`Traces::finish`] (or, when
    /// [`Sim::finish`](crate::Sim::finish) comes first, while a [`Traces::hold`] keeps them open).
    pub fn verdict(&self, verdict_word: &str, detail: &str) {
        tracing::dispatcher::with_default(&self.dispatch, || verdict(verdict_word, detail));
    }

    /// Writes phase `name` (started by `trigger`) at virtual instant `at`, which the run has
    /// not reached yet: each writer whose filter takes [`PHASE_TARGET`] at info writes it,
    /// on the `sim` track, just before the first thing it writes at or after `at` (or when it
    /// finishes, if the run reached `at`). An instant already past is written at the next one.
    pub fn phase_at(&self, at: crate::time::SimTime, name: &str, trigger: &str) {
        for w in &self.writers {
            w.phase_at(at, name, trigger);
        }
    }

    /// Keeps the traces open past [`Sim::finish`](crate::Sim::finish) (or a call to
    /// [`Traces::finish`]) until the hold is released, so that what is judged after the run
    /// (its verdict) is still written, at the run's last instant. Dropping the hold releases it
    /// too, ignoring errors.
    pub fn hold(&self) -> TraceHold {
        for w in &self.writers {
            w.hold();
        }
        TraceHold { traces: Some(self.clone()) }
    }

    /// Finishes every trace: closes what is open (Chrome slices are ended at the current
    /// virtual time, marked `"unfinished": true`), flushes, and renames files to their names.
    /// Idempotent, callable from any thread (a SIGINT handler); nothing is written after it.
    /// While a [`Traces::hold`] is held, the finish waits for its release (and meanwhile only
    /// phases and verdicts are still written).
    /// Every writer is finished even if one fails; the first error is returned.
    pub fn finish(&self) -> Result<(), TraceError> {
        let mut first = Ok(());
        for w in &self.writers {
            let r = w.finish();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// Traces kept open after the run, from [`Traces::hold`].
#[derive(Debug)]
#[must_use = "a hold keeps the trace files unfinished until it is released"]
pub struct TraceHold {
    traces: Option<Traces>,
}

impl TraceHold {
    /// Releases the hold: if the traces were finished meanwhile (and no other hold remains),
    /// they finish now. Returns the first error of a writer.
    pub fn release(mut self) -> Result<(), TraceError> {
        self.release_now()
    }

    fn release_now(&mut self) -> Result<(), TraceError> {
        let Some(traces) = self.traces.take() else { return Ok(()) };
        let mut first = Ok(());
        for w in &traces.writers {
            let r = w.release();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for TraceHold {
    fn drop(&mut self) {
        let _ = self.release_now();
    }
}

/// What format a trace is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// `t=12.000345000s client-1 INFO target: message key=value`
    Text,
    /// One JSON object per line.
    JsonLines,
    /// Chrome trace-event JSON, as Perfetto and `chrome://tracing` open it.
    Chrome,
}

/// Where a trace goes.
#[derive(Clone, Debug)]
pub enum TraceSink {
    /// A file, written as `NAME.partial` from when the simulation is built and renamed to its
    /// name when the trace finishes (an existing file is replaced only then).
    File(PathBuf),
    /// Standard error.
    Stderr,
    /// A buffer in memory, for tests and for hashing a run.
    Memory(TraceBuffer),
}

/// A shared in-memory trace.
#[derive(Clone, Debug, Default)]
pub struct TraceBuffer(Arc<Mutex<Vec<u8>>>);

impl TraceBuffer {
    /// The bytes written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Write for TraceBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One trace output: a format, a place, and a filter.
#[derive(Clone, Debug)]
pub struct TraceOutput {
    /// The format.
    pub format: TraceFormat,
    /// Where it goes.
    pub sink: TraceSink,
    /// `EnvFilter` directives (`info`, `faultline::control=info,warn`); `None` reads `RUST_LOG`,
    /// and without it traces `info`.
    pub filter: Option<String>,
}

impl TraceOutput {
    /// A trace in `format` to `sink`, filtered by `RUST_LOG` (default `info`).
    pub fn new(format: TraceFormat, sink: TraceSink) -> Self {
        TraceOutput { format, sink, filter: None }
    }

    /// The same output with explicit filter directives.
    pub fn filtered(mut self, directives: &str) -> Self {
        self.filter = Some(directives.to_string());
        self
    }

    pub(crate) fn directives(&self) -> String {
        self.filter
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "info".to_string())
    }

    /// Whether the filter may take events of `target` at `level`: simple `target=level`
    /// directives are read exactly; others (span filters) may take anything.
    pub(crate) fn may_take(&self, target: &str, level: &tracing::Level) -> bool {
        self.directives().parse::<tracing_subscriber::filter::Targets>().map_or(true, |t| t.would_enable(target, level))
    }
}

/// A trace that could not be set up or written.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The filter directives do not parse.
    #[error(
        "invalid trace filter '{directives}' (RUST_LOG syntax, e.g. 'info' or 'faultline::control=info,warn'): {reason}"
    )]
    Filter {
        /// The directives.
        directives: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The file could not be created or written.
    #[error("cannot write trace {path}: {source}")]
    Io {
        /// The file, or `stderr`.
        path: String,
        /// The cause.
        source: io::Error,
    },
}
