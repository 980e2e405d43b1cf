//! Reading histories from files: JSON lines, Jepsen's log format (as in its etcd tests), and
//! EDN maps, one event per line.
//!
//! - JSON lines: `{"process": 0, "type": "invoke", "f": "write", "key": "x", "value": 3, "time": 120}`.
//!   `type` is `invoke`, `ok`, `fail` or `info`; `f` is `read`, `write`, `cas`, `get`, `put` or
//!   `append`; `key` and `time` are optional (every line has a time, or none does); `value` is
//!   the argument on an invoke and the result on an ok (`null`, an integer, a string, or a list
//!   such as a cas's `[old, new]`).
//! - Jepsen logs: `INFO  jepsen.util - 2 :invoke :cas [3 0]`: process, type, function and value,
//!   separated by any whitespace, after an optional logger prefix. Lines of other loggers and
//!   of the `:nemesis` process are skipped.
//! - EDN: `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`, fields in any
//!   order, `:time` optional.
//!
//! Without times, line order is real-time order: each event's time is its line number. The
//! format is detected from the first event line unless given. Input is bounded
//! ([`ReadLimits`]): a larger file is refused before it is read. [`write_json_lines`] writes a
//! history in the first format.

mod edn;
mod jepsen;
mod json;

pub use json::write as write_json_lines;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use super::history::{Clock, Event, EventKind, Function, History, Value};

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line.
    JsonLines,
    /// Jepsen's log lines (`INFO  jepsen.util - 3 :ok :read 1`).
    Jepsen,
    /// One EDN map per line.
    Edn,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::JsonLines, Format::Jepsen, Format::Edn];

    /// `json`, `jepsen` or `edn`.
    pub fn name(self) -> &'static str {
        match self {
            Format::JsonLines => "json",
            Format::Jepsen => "jepsen",
            Format::Edn => "edn",
        }
    }

    /// The format of a history whose first event line is `line`, if it looks like one.
    pub fn detect(line: &str) -> Option<Format> {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix('{') {
            return match rest.trim_start().chars().next() {
                Some('"' | '}') => Some(Format::JsonLines),
                Some(':') => Some(Format::Edn),
                _ => None,
            };
        }
        let first = line.split_whitespace().next()?;
        (first.parse::<u64>().is_ok() || first == ":nemesis" || jepsen::is_level(first)).then_some(Format::Jepsen)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" | "jsonl" | "json-lines" => Ok(Format::JsonLines),
            "jepsen" | "jepsen-log" | "etcd" => Ok(Format::Jepsen),
            "edn" => Ok(Format::Edn),
            _ => Err(format!("unknown history format {s:?} (expected json, jepsen or edn)")),
        }
    }
}

/// How much a reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The largest input, in bytes.
    pub max_bytes: u64,
    /// The longest line, in bytes.
    pub max_line: usize,
}

/// 64 MiB, lines of 1 MiB.
impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits { max_bytes: 64 << 20, max_line: 1 << 20 }
    }
}

/// A line that is not what its format expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The line number, from 1.
    pub line: usize,
    /// What was expected, and what was found.
    pub message: String,
}

/// A history that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read the history: {0}")]
    Io(#[from] io::Error),
    /// The input is larger than [`ReadLimits::max_bytes`].
    #[error("the history is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size, or how far reading got before it passed the limit.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A line is longer than [`ReadLimits::max_line`].
    #[error("line {line} is longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The line number.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// A line does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// One event line, before it goes into a history.
struct Raw {
    process: u64,
    kind: EventKind,
    f: Function,
    key: Value,
    value: Value,
    time: Option<u64>,
}

/// Feeds lines into a history.
struct Parser {
    format: Option<Format>,
    history: Option<History>,
}

impl Parser {
    fn new(format: Option<Format>) -> Parser {
        Parser { format, history: None }
    }

    fn line(&mut self, no: usize, text: &str) -> Result<(), ParseError> {
        let error = |message: String| ParseError { line: no, message };
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let format = match self.format {
            Some(format) => format,
            None => {
                let format = Format::detect(text).ok_or_else(|| {
                    error(format!(
                        "cannot tell the history format: expected a JSON object, an EDN map or a Jepsen log line, found {}",
                        excerpt(text)
                    ))
                })?;
                *self.format.insert(format)
            }
        };
        let raw = match format {
            Format::JsonLines => json::line(text),
            Format::Jepsen => jepsen::line(text),
            Format::Edn => edn::line(text),
        }
        .map_err(error)?;
        let Some(raw) = raw else { return Ok(()) };
        let history = self
            .history
            .get_or_insert_with(|| History::with_clock(if raw.time.is_some() { Clock::Given } else { Clock::Lines }));
        let time = match (raw.time, history.clock()) {
            (Some(t), Clock::Given) => t,
            (None, Clock::Lines) => no as u64,
            (Some(_), _) => return Err(error("this event has a time, but the first one had none".into())),
            (None, _) => return Err(error("this event has no time, but the first one had one".into())),
        };
        let event =
            Event { process: raw.process, kind: raw.kind, f: raw.f, key: raw.key, value: raw.value, time: Some(time) };
        history.record(event).map_err(|e| error(e.to_string()))
    }

    fn finish(self) -> History {
        self.history.unwrap_or_default()
    }
}

/// The start of a line, for error messages.
fn excerpt(text: &str) -> String {
    let mut end = text.len().min(60);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() { format!("{:?}...", &text[..end]) } else { format!("{text:?}") }
}

/// Parses a history from text, in `format` or the one its first event line has.
pub fn parse(text: &str, format: Option<Format>) -> Result<History, ParseError> {
    let mut parser = Parser::new(format);
    for (i, line) in text.lines().enumerate() {
        parser.line(i + 1, line)?;
    }
    Ok(parser.finish())
}

/// Reads a history, line by line, within `limits`.
pub fn read<R: BufRead>(mut reader: R, format: Option<Format>, limits: &ReadLimits) -> Result<History, ReadError> {
    let mut parser = Parser::new(format);
    let mut buf = Vec::new();
    let mut total = 0u64;
    let mut no = 0;
    loop {
        buf.clear();
        let n = (&mut reader).take(limits.max_line as u64 + 2).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        no += 1;
        total += n as u64;
        if total > limits.max_bytes {
            return Err(ReadError::TooLarge { size: total, limit: limits.max_bytes });
        }
        let mut line = &buf[..];
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        if line.len() > limits.max_line {
            return Err(ReadError::LineTooLong { line: no, limit: limits.max_line });
        }
        let text = std::str::from_utf8(line)
            .map_err(|e| ParseError { line: no, message: format!("not UTF-8 (at byte {})", e.valid_up_to()) })?;
        parser.line(no, text)?;
    }
    Ok(parser.finish())
}

/// Reads a history file within `limits`: a file larger than `limits.max_bytes` is refused
/// before it is read.
pub fn read_file(path: &Path, format: Option<Format>, limits: &ReadLimits) -> Result<History, ReadError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > limits.max_bytes {
        return Err(ReadError::TooLarge { size, limit: limits.max_bytes });
    }
    read(BufReader::new(file), format, limits)
}
