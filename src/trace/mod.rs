//! Traces for ordinary tracing tools: every line carries virtual time and the node. Three
//! writers: readable text, JSON lines, and Chrome trace-event JSON (open it in Perfetto), with
//! one track per node and commands as instant events. An `EnvFilter` (by default `RUST_LOG`)
//! selects what is traced.

mod fields;
mod writer;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub(crate) use writer::TraceLayer;

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
    /// A file, created (or truncated) when the simulation is built.
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
