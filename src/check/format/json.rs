//! JSON lines: `{"process": 0, "type": "ok", "f": "read", "key": "x", "value": 3, "time": 120}`.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use super::super::history::{EventKind, Function, History, Status, Value};
use super::Raw;

fn value(v: &Json, field: &str) -> Result<Value, String> {
    Ok(match v {
        Json::Null => Value::Nil,
        Json::String(s) => Value::Str(Arc::from(s.as_str())),
        Json::Number(n) => Value::Int(
            n.as_i64().ok_or_else(|| format!("`{field}`: expected an integer that fits in 64 bits, found {n}"))?,
        ),
        Json::Array(items) => Value::List(items.iter().map(|v| value(v, field)).collect::<Result<Vec<_>, _>>()?.into()),
        Json::Bool(_) | Json::Object(_) => {
            return Err(format!("`{field}`: expected null, an integer, a string or an array, found {v}"));
        }
    })
}

/// One event object; `None` for the nemesis's events (`"process": "nemesis"`).
pub(super) fn line(text: &str) -> Result<Option<Raw>, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let Json::Object(map) = json else {
        return Err(format!("expected a JSON object, found {}", text.chars().take(40).collect::<String>()));
    };
    let field = |name: &str| map.get(name).filter(|v| !v.is_null());
    let process = match field("process") {
        Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Some(Json::String(s)) if s == "nemesis" || s == ":nemesis" => return Ok(None),
        Some(other) => return Err(format!("`process`: expected a non-negative integer, found {other}")),
        None => return Err("missing `process`".into()),
    };
    let name = |key: &str, expected: &str| match field(key) {
        Some(Json::String(s)) => Ok(s.strip_prefix(':').unwrap_or(s).to_string()),
        Some(other) => Err(format!("`{key}`: expected {expected}, found {other}")),
        None => Err(format!("missing `{key}` ({expected})")),
    };
    let kind = name("type", "\"invoke\", \"ok\", \"fail\" or \"info\"")?
        .parse::<EventKind>()
        .map_err(|e| format!("`type`: {e}"))?;
    let f = name("f", "a function name")?.parse::<Function>().map_err(|e| format!("`f`: {e}"))?;
    let key = field("key").map(|v| value(v, "key")).transpose()?.unwrap_or_default();
    let val = field("value").map(|v| value(v, "value")).transpose()?.unwrap_or_default();
    let time = match field("time") {
        None => None,
        Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(other) => return Err(format!("`time`: expected a non-negative integer, found {other}")),
    };
    Ok(Some(Raw { process, kind, f, key, value: val, time }))
}

/// One event, fields in the documented order.
#[derive(Serialize)]
struct Line<'a> {
    process: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    f: Function,
    #[serde(skip_serializing_if = "Value::is_nil")]
    key: &'a Value,
    value: &'a Value,
    time: u64,
}

/// Writes `history` as JSON lines, one event per line in time order (at equal times, an
/// operation's end before another's start), each with its time. [`super::parse`] reads it
/// back into the same operations.
pub fn write<W: Write>(history: &History, mut out: W) -> io::Result<()> {
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * history.len());
    for (i, op) in history.operations().iter().enumerate() {
        events.push((op.call, true, i));
        if let Some(end) = op.end {
            events.push((end, false, i));
        }
    }
    events.sort_unstable();
    for (time, invoke, i) in events {
        let op = &history.operations()[i];
        let (kind, value) = match (invoke, op.status) {
            (true, _) => ("invoke", &op.input),
            (false, Status::Ok) if matches!(op.f, Function::Read | Function::Get) => ("ok", &op.output),
            (false, Status::Ok) => ("ok", &op.input),
            (false, Status::Fail) => ("fail", &op.input),
            (false, _) => ("info", &op.input),
        };
        let line = Line { process: op.process, kind, f: op.f, key: &op.key, value, time };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
