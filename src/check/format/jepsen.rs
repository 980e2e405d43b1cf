//! Jepsen's log lines: `INFO  jepsen.util - 2 :invoke :cas [3 0]`.

use super::super::history::{EventKind, Function, Value};
use super::Raw;
use super::edn::Reader;

/// A log level, as the logger prefix starts.
pub(super) fn is_level(token: &str) -> bool {
    matches!(token, "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL")
}

/// The first whitespace-separated token, and the rest.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    s.split_at(end)
}

/// `[LEVEL logger - ]process :type :f value`; `None` for other loggers' lines and the nemesis.
pub(super) fn line(text: &str) -> Result<Option<Raw>, String> {
    let mut rest = text;
    let (first, after) = token(rest);
    if is_level(first) {
        let (logger, after) = token(after);
        let (dash, after) = token(after);
        if dash != "-" {
            return Err(format!("expected `{first} <logger> - ` before the event, found {:?}", text.trim()));
        }
        if logger != "jepsen.util" {
            return Ok(None);
        }
        rest = after;
    }
    let (process, rest) = token(rest);
    let (kind, rest) = token(rest);
    let (f, rest) = token(rest);
    if process == ":nemesis" {
        return Ok(None);
    }
    let found = |t: &str| if t.is_empty() { "the end of the line".to_string() } else { format!("`{t}`") };
    let process = process
        .parse::<u64>()
        .map_err(|_| format!("expected a process number or :nemesis, found {}", found(process)))?;
    let kind = kind
        .strip_prefix(':')
        .and_then(|k| k.parse::<EventKind>().ok())
        .ok_or_else(|| format!("expected :invoke, :ok, :fail or :info after the process, found {}", found(kind)))?;
    let f = f
        .strip_prefix(':')
        .and_then(|k| k.parse::<Function>().ok())
        .ok_or_else(|| format!("expected :read, :write, :cas, :get, :put or :append, found {}", found(f)))?;
    let value = if rest.trim().is_empty() {
        Value::Nil
    } else {
        let mut r = Reader::new(rest);
        let v = r.value()?;
        r.end()?;
        v
    };
    Ok(Some(Raw { process, kind, f, key: Value::Nil, value, time: None }))
}
