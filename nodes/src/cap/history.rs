//! The observed history as plain events, one per invoke and one per completion, in time order,
//! and their JSON-lines form: `{"process":…, "type":"invoke|ok|fail|info", "f":"read|write",
//! "key":…, "value":…, "time":…}`, which a linearizability checker reads.
//!
//! A write's value is its unique number; a read's completion carries what it returned: `null`
//! for a key never written, the number for one version, an array of numbers for siblings.
//! An operation still pending at the end of the run has no completion: it is indeterminate.
//!
//! [`check_history`] builds the same operations straight into a [`faultline::check::History`],
//! so a run can be judged by the linearizability checker without going through text: each key
//! is its own register, which a register model checks one key at a time.

use faultline::{SimTime, check};
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

/// The history of `obs`: events sorted by time. At one instant, invokes come before
/// completions (operations that touch at an instant overlap, the lenient reading), except that
/// a process's completion comes before its own next invoke at that instant: a process runs one
/// operation at a time, and a parser refuses an invoke while its last operation is open. So at
/// one instant: the invokes of processes that do not also complete there, the completions of
/// those that also invoke there, their invokes, then the other completions, each by process.
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
    let invoking: std::collections::BTreeSet<(u64, u64)> =
        events.iter().filter(|e| e.kind == EventType::Invoke).map(|e| (e.time, e.process)).collect();
    let completing: std::collections::BTreeSet<(u64, u64)> =
        events.iter().filter(|e| e.kind != EventType::Invoke).map(|e| (e.time, e.process)).collect();
    events.sort_by_key(|e| {
        let invoke = e.kind == EventType::Invoke;
        let both = invoking.contains(&(e.time, e.process)) && completing.contains(&(e.time, e.process));
        let rank = match (invoke, both) {
            (true, false) => 0,
            (false, true) => 1,
            (true, true) => 2,
            (false, false) => 3,
        };
        (e.time, rank, e.process)
    });
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

/// The history of `obs` as the checker's operations: function `read` or `write`, the key and
/// the values as integers (a value's number, client × 2^32 + sequence, is far below 2^63 with
/// at most [`MAX_CLIENTS`](super::config::MAX_CLIENTS) clients, so it is the same integer as in
/// the JSON lines), a read's result as in [`history`] (nil, a
/// number, or a list of siblings, which no register ever holds), so that parsing
/// [`to_json_lines`] gives the same operations. Statuses follow the outcome:
/// a write without a quorum in time is `info` (it may have taken effect), an operation still
/// running at the end is pending; both may take effect at any time after their call, or never.
pub fn check_history(obs: &Observations) -> Result<check::History, check::HistoryError> {
    // Past 2^63 the cast would wrap, which still keeps distinct values distinct.
    let int = |v: u64| check::Value::Int(v as i64);
    let mut h = check::History::new();
    for op in &obs.ops {
        let (f, input) = match (op.kind, op.written) {
            (OpKind::Write, Some(v)) => (check::Function::Write, int(v.0)),
            (OpKind::Write, None) => (check::Function::Write, check::Value::Nil),
            (OpKind::Read, _) => (check::Function::Read, check::Value::Nil),
        };
        let status = match op.outcome {
            Outcome::Ok => check::Status::Ok,
            Outcome::Fail => check::Status::Fail,
            Outcome::Info => check::Status::Info,
            Outcome::Pending => check::Status::Pending,
        };
        let output = match (op.outcome, op.kind) {
            (Outcome::Ok, OpKind::Read) => match op.read.as_slice() {
                [] => check::Value::Nil,
                [one] => int(one.value.0),
                many => check::Value::list(many.iter().map(|v| int(v.value.0))),
            },
            // As the JSON lines carry it: a write's ok event repeats the value.
            (Outcome::Ok, OpKind::Write) => input.clone(),
            _ => check::Value::Nil,
        };
        h.push(check::Operation {
            process: op.process,
            f,
            key: check::Value::Int(i64::from(op.key)),
            input,
            output,
            status,
            call: op.invoke.as_nanos(),
            end: op.complete.filter(|_| op.outcome != Outcome::Pending).map(SimTime::as_nanos),
        })?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use faultline::check::{Checker, ModelKind, Status, Value as V, Verdict, format};

    use super::*;
    use crate::cap::{OpRecord, Value, Version, Versioned};

    fn op(process: u64, kind: OpKind, written: Option<u64>, span: (u64, Option<u64>), outcome: Outcome) -> OpRecord {
        OpRecord {
            process,
            client: process as u32,
            node: faultline::NodeId::from_index(0),
            kind,
            key: 7,
            written: written.map(Value),
            invoke: SimTime::from_nanos(span.0),
            complete: span.1.map(SimTime::from_nanos),
            outcome,
            read: Vec::new(),
            version: None,
        }
    }

    fn got(values: &[u64]) -> Vec<Versioned> {
        let version = Version::Stamp { time: 0, writer: 0 };
        values.iter().map(|&v| Versioned { version: version.clone(), value: Value(v) }).collect()
    }

    #[test]
    fn operations_keep_their_status_values_and_windows_and_match_the_json_lines() {
        let mut obs = Observations::default();
        obs.ops.push(op(0, OpKind::Write, Some(1), (0, Some(10)), Outcome::Ok));
        obs.ops.push(OpRecord { read: got(&[1]), ..op(1, OpKind::Read, None, (5, Some(20)), Outcome::Ok) });
        let last = Value::new(9_999, u32::MAX).0; // the largest value 10 000 clients write
        obs.ops.push(op(2, OpKind::Write, Some(last), (12, Some(40)), Outcome::Info));
        obs.ops.push(op(0, OpKind::Read, None, (30, Some(35)), Outcome::Fail));
        obs.ops.push(OpRecord { read: got(&[1, 2]), ..op(3, OpKind::Read, None, (41, Some(50)), Outcome::Ok) });
        obs.ops.push(op(1, OpKind::Read, None, (45, None), Outcome::Pending));
        let h = check_history(&obs).unwrap();
        let ops = h.operations();
        let seen: Vec<_> = ops.iter().map(|o| (o.status, o.input.clone(), o.output.clone(), o.call, o.end)).collect();
        assert_eq!(
            seen,
            [
                (Status::Ok, V::Int(1), V::Int(1), 0, Some(10)),
                (Status::Ok, V::Nil, V::Int(1), 5, Some(20)),
                (Status::Info, V::Int(last as i64), V::Nil, 12, Some(40)),
                (Status::Fail, V::Nil, V::Nil, 30, Some(35)),
                (Status::Ok, V::Nil, V::list([V::Int(1), V::Int(2)]), 41, Some(50)),
                (Status::Pending, V::Nil, V::Nil, 45, None),
            ]
        );
        assert!(ops.iter().all(|o| o.key == V::Int(7)));
        let parsed = format::parse(&to_json_lines(&history(&obs)), None).unwrap();
        let mut from_text = parsed.operations().to_vec();
        from_text.sort_by_key(|o| o.call);
        assert_eq!(from_text, ops);
        // Siblings are no register's value: the read of both cannot be ordered.
        let verdict = Checker::new().check_as(ModelKind::Register, &h).unwrap();
        let Verdict::NotLinearizable(why) = verdict else { panic!("{verdict}") };
        assert_eq!(why.ops.len(), 1, "{why}");
        assert_eq!(why.ops[0].what, "read -> [1 2]");
    }

    #[test]
    fn a_process_completes_before_its_own_next_invoke_at_the_same_instant() {
        // The bug this pins: at one instant every invoke came first, so process 0's read,
        // started at the nanosecond its write ended, preceded that write's completion and the
        // parser refused the history (an invoke while the process's operation was open).
        let mut obs = Observations::default();
        obs.ops.push(op(0, OpKind::Write, Some(1), (0, Some(10)), Outcome::Ok));
        obs.ops.push(OpRecord { read: got(&[1]), ..op(0, OpKind::Read, None, (10, Some(20)), Outcome::Ok) });
        // Another process invoking at 10 still overlaps the write (invokes of others come
        // before completions at one instant), and one completing at 10 comes after.
        obs.ops.push(op(1, OpKind::Write, Some(2), (10, Some(30)), Outcome::Ok));
        obs.ops.push(op(2, OpKind::Write, Some(3), (5, Some(10)), Outcome::Ok));
        let events = history(&obs);
        let at_10: Vec<(u64, EventType)> =
            events.iter().filter(|e| e.time == 10).map(|e| (e.process, e.kind)).collect();
        assert_eq!(
            at_10,
            [(1, EventType::Invoke), (0, EventType::Ok), (0, EventType::Invoke), (2, EventType::Ok)],
            "{events:?}"
        );
        let parsed = format::parse(&to_json_lines(&events), None).expect("the history parses");
        assert_eq!(parsed.len(), 4);
    }
}
