//! The observed history as plain events, one per invoke and one per completion, in time order,
//! and their JSON-lines form: `{"process":…, "type":"invoke|ok|fail|info", "f":"read|write",
//! "key":…, "value":…, "time":…}`, which a linearizability checker reads.
//!
//! A write's value is its unique number; a read's completion carries what it returned: `null`
//! for a key never written, the number for one version, an array of numbers for siblings.
//! An operation still pending at the end of the run has no completion: it is indeterminate.

use serde::{Deserialize, Serialize};

use super::Key;
use super::observer::{Observations, OpKind, Outcome};

/// What an event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The operation started.
    Invoke,
    /// It succeeded.
    Ok,
    /// It failed with no effect.
    Fail,
    /// It may or may not have taken effect.
    Info,
}

/// One event of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The process.
    pub process: u64,
    /// Invoke or completion.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// `read`, `write` (or `cas`).
    pub f: String,
    /// The key.
    pub key: Key,
    /// The value written (invoke and completion of a write), read (completion of a read), or
    /// `null`.
    pub value: serde_json::Value,
    /// Virtual time in nanoseconds.
    pub time: u64,
}

/// The history of `obs`: events sorted by time (an invoke before a completion at the same
/// instant, then by process).
pub fn history(obs: &Observations) -> Vec<Event> {
    let mut events = Vec::with_capacity(obs.ops.len() * 2);
    for op in &obs.ops {
        let f = match op.kind {
            OpKind::Read => "read",
            OpKind::Write => "write",
        };
        let written = op.written.map_or(serde_json::Value::Null, |v| v.0.into());
        events.push(Event {
            process: op.process,
            kind: EventType::Invoke,
            f: f.into(),
            key: op.key,
            value: written.clone(),
            time: op.invoke.as_nanos(),
        });
        let Some(done) = op.complete else { continue };
        let (kind, value) = match (op.outcome, op.kind) {
            (Outcome::Ok, OpKind::Read) => (EventType::Ok, read_value(op)),
            (Outcome::Ok, OpKind::Write) => (EventType::Ok, written),
            (Outcome::Fail, _) => (EventType::Fail, written),
            (Outcome::Info, _) => (EventType::Info, written),
            (Outcome::Pending, _) => continue,
        };
        events.push(Event { process: op.process, kind, f: f.into(), key: op.key, value, time: done.as_nanos() });
    }
    events.sort_by_key(|e| (e.time, e.kind != EventType::Invoke, e.process));
    events
}

fn read_value(op: &super::OpRecord) -> serde_json::Value {
    match op.read.as_slice() {
        [] => serde_json::Value::Null,
        [one] => one.value.0.into(),
        many => many.iter().map(|v| serde_json::Value::from(v.value.0)).collect(),
    }
}

/// The history as JSON lines, one event per line.
pub fn to_json_lines(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        // An `Event` holds only strings, numbers and JSON values: it always serializes.
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    out
}
