//! Histories: the operations a checker judges, recorded from invoke / ok / fail / info events.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};

/// A value in a history: an argument, a result or a key.
///
/// Strings and lists are reference-counted, so a model's state that holds one is cheap to clone
/// (the checker clones states at every step it keeps).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// No value: a read of a register never written, or an argument a function does not take.
    #[default]
    Nil,
    /// An integer.
    Int(i64),
    /// A string. EDN and Jepsen keywords (`:timed-out`) are kept as strings with their colon.
    Str(Arc<str>),
    /// A list, such as the `[old new]` argument of a compare-and-set.
    List(Arc<[Value]>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// A list value.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

/// EDN-like: `nil`, `3`, `"text"`, `[1 2]`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// As JSON: `null`, a number, a string or an array.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Int(v) => s.serialize_i64(*v),
            Value::Str(v) => s.serialize_str(v),
            Value::List(items) => s.collect_seq(items.iter()),
        }
    }
}

/// What an operation does. The models say which functions they understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    /// Read a register.
    Read,
    /// Write a register.
    Write,
    /// Compare-and-set a register: the argument is `[old new]`.
    Cas,
    /// Get a key's value.
    Get,
    /// Put a key's value.
    Put,
    /// Append to a key's value.
    Append,
}

impl Function {
    /// Every function, in declaration order.
    pub const ALL: [Function; 6] =
        [Function::Read, Function::Write, Function::Cas, Function::Get, Function::Put, Function::Append];

    /// The name used in every history format: `read`, `write`, `cas`, `get`, `put`, `append`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Read => "read",
            Function::Write => "write",
            Function::Cas => "cas",
            Function::Get => "get",
            Function::Put => "put",
            Function::Append => "append",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Function {
    type Err = String;
    fn from_str(s: &str) -> Result<Function, String> {
        Function::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown function {s:?} (expected read, write, cas, get, put or append)"))
    }
}

/// The kind of an event, as Jepsen names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The operation starts.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It completed and certainly did not take effect (for a compare-and-set: it ran and the
    /// compare failed).
    Fail,
    /// Its outcome is unknown (a timeout): it may take effect at any time after its invoke, or
    /// never.
    Info,
}

impl EventKind {
    /// `invoke`, `ok`, `fail` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Invoke => "invoke",
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info => "info",
        }
    }
}

impl FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<EventKind, String> {
        match s {
            "invoke" => Ok(EventKind::Invoke),
            "ok" => Ok(EventKind::Ok),
            "fail" => Ok(EventKind::Fail),
            "info" => Ok(EventKind::Info),
            _ => Err(format!("unknown event type {s:?} (expected invoke, ok, fail or info)")),
        }
    }
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Completed, took effect.
    Ok,
    /// Completed, did not take effect.
    Fail,
    /// Outcome unknown: open until the end of the history.
    Info,
    /// Invoked and never completed in the history: treated as [`Status::Info`].
    Pending,
}

impl Status {
    /// True when the operation has no known outcome ([`Status::Info`] or [`Status::Pending`]).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Info | Status::Pending)
    }
}

/// What the times of a history count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Times as recorded (nanoseconds, or whatever unit the recorder used).
    #[default]
    Given,
    /// Line numbers of the file the history was read from (formats without timestamps, whose
    /// line order is real-time order).
    Lines,
    /// The position of each event in the order it was recorded, from 1.
    Order,
}

/// One event: an operation starts (invoke) or ends (ok, fail, info).
///
/// A process runs one operation at a time: an ok, fail or info event ends the operation its
/// process invoked last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The client that runs the operation.
    pub process: u64,
    /// Invoke, ok, fail or info.
    pub kind: EventKind,
    /// The function.
    pub f: Function,
    /// The key, or [`Value::Nil`] for a history of a single object.
    pub key: Value,
    /// On invoke, the argument; on ok, the result (what a read returned); otherwise ignored.
    pub value: Value,
    /// When it happened; `None` numbers events in the order they are recorded.
    pub time: Option<u64>,
}

impl Event {
    /// An event with no key and no time.
    pub fn new(process: u64, kind: EventKind, f: Function, value: impl Into<Value>) -> Event {
        Event { process, kind, f, key: Value::Nil, value: value.into(), time: None }
    }

    /// The same event on `key`.
    pub fn key(mut self, key: impl Into<Value>) -> Event {
        self.key = key.into();
        self
    }

    /// The same event at `time`.
    pub fn at(mut self, time: u64) -> Event {
        self.time = Some(time);
        self
    }
}

/// One operation of a history: its call, and its end if it had one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The client that ran it.
    pub process: u64,
    /// The function.
    pub f: Function,
    /// The key ([`Value::Nil`] for a single object).
    pub key: Value,
    /// The argument.
    pub input: Value,
    /// The result (what a read returned); [`Value::Nil`] unless the status is [`Status::Ok`].
    pub output: Value,
    /// How it ended.
    pub status: Status,
    /// When it was invoked.
    pub call: u64,
    /// When its ok, fail or info event came; `None` while pending.
    pub end: Option<u64>,
}

impl Operation {
    /// When the operation returned: the end of an ok or fail operation; `None` for an open one,
    /// which may take effect at any time after its call.
    pub fn returned(&self) -> Option<u64> {
        if self.status.is_open() { None } else { self.end }
    }
}

/// An event that does not fit the history recorded so far.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// A process invoked an operation while its previous one was still running.
    #[error("process {process} invokes {f} while its {running} invoked at {since} has not completed")]
    AlreadyRunning {
        /// The process.
        process: u64,
        /// The new function.
        f: Function,
        /// The running operation's function.
        running: Function,
        /// When the running operation was invoked.
        since: u64,
    },
    /// An ok, fail or info event for a process with no operation running.
    #[error("process {process} completes {f} ({kind}) but has no operation running")]
    NotRunning {
        /// The process.
        process: u64,
        /// The function named by the event.
        f: Function,
        /// `ok`, `fail` or `info`.
        kind: &'static str,
    },
    /// The completion names another function than the invoke.
    #[error("process {process} invoked {invoked} but completes {completed}")]
    FunctionMismatch {
        /// The process.
        process: u64,
        /// The invoked function.
        invoked: Function,
        /// The function of the completion.
        completed: Function,
    },
    /// The completion names another key than the invoke.
    #[error("process {process} invoked {f} on key {invoked} but completes it on key {completed}")]
    KeyMismatch {
        /// The process.
        process: u64,
        /// The function.
        f: Function,
        /// The key on the invoke.
        invoked: Value,
        /// The key on the completion.
        completed: Value,
    },
    /// An operation ends before it starts.
    #[error("process {process}: {f} invoked at {call} ends at {end}, before it started")]
    EndsBeforeCall {
        /// The process.
        process: u64,
        /// The function.
        f: Function,
        /// The invoke time.
        call: u64,
        /// The end time.
        end: u64,
    },
    /// Some events carry a time and others do not.
    #[error("some events have a time and others do not: give every event a time, or none")]
    MixedTimes,
}

/// A history: the operations of concurrent processes, in the order they were invoked.
///
/// Build it from events with [`History::record`] (an ok, fail or info event completes the
/// operation its process invoked last), or from whole operations with [`History::push`].
/// Operations that are still running at the end stay [`Status::Pending`]: like `info` ones,
/// they may take effect at any time after their call, or never.
#[derive(Clone, Debug, Default)]
pub struct History {
    ops: Vec<Operation>,
    running: FxHashMap<u64, usize>,
    events: u64,
    timed: Option<bool>,
    clock: Clock,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// An empty history whose times count `clock`.
    pub fn with_clock(clock: Clock) -> History {
        History { clock, ..History::default() }
    }

    /// What the times count.
    pub fn clock(&self) -> Clock {
        if self.timed == Some(false) { Clock::Order } else { self.clock }
    }

    /// Records one event.
    pub fn record(&mut self, event: Event) -> Result<(), HistoryError> {
        self.events += 1;
        let time = match (event.time, self.timed) {
            (Some(_), Some(false)) | (None, Some(true)) => return Err(HistoryError::MixedTimes),
            (Some(t), _) => {
                self.timed = Some(true);
                t
            }
            (None, _) => {
                self.timed = Some(false);
                self.events
            }
        };
        let Event { process, kind, f, key, value, .. } = event;
        if kind == EventKind::Invoke {
            if let Some(&i) = self.running.get(&process) {
                let running = &self.ops[i];
                return Err(HistoryError::AlreadyRunning { process, f, running: running.f, since: running.call });
            }
            self.running.insert(process, self.ops.len());
            self.ops.push(Operation {
                process,
                f,
                key,
                input: value,
                output: Value::Nil,
                status: Status::Pending,
                call: time,
                end: None,
            });
            return Ok(());
        }
        let Some(&i) = self.running.get(&process) else {
            return Err(HistoryError::NotRunning { process, f, kind: kind.name() });
        };
        let op = &mut self.ops[i];
        if op.f != f {
            return Err(HistoryError::FunctionMismatch { process, invoked: op.f, completed: f });
        }
        if !key.is_nil() && key != op.key {
            return Err(HistoryError::KeyMismatch { process, f, invoked: op.key.clone(), completed: key });
        }
        if time < op.call {
            return Err(HistoryError::EndsBeforeCall { process, f, call: op.call, end: time });
        }
        op.end = Some(time);
        op.status = match kind {
            EventKind::Ok => {
                op.output = value;
                Status::Ok
            }
            EventKind::Fail => Status::Fail,
            _ => Status::Info,
        };
        self.running.remove(&process);
        Ok(())
    }

    /// Adds a whole operation. Its status says how it ended; a [`Status::Pending`] one need
    /// not have an end.
    pub fn push(&mut self, op: Operation) -> Result<(), HistoryError> {
        if let Some(end) = op.end
            && end < op.call
        {
            return Err(HistoryError::EndsBeforeCall { process: op.process, f: op.f, call: op.call, end });
        }
        self.timed = Some(true);
        self.ops.push(op);
        Ok(())
    }

    /// The operations, in the order they were invoked (or pushed).
    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there is no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
