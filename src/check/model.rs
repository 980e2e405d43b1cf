//! Sequential models: what a correct object does when its operations run one at a time.

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::history::{Function, History, Operation, Status, Value};

/// The sequential specification of an object, as the checker needs it.
///
/// The checker looks for an order of the operations that respects real time (an operation that
/// returned before another was invoked comes first) in which every operation, applied with
/// [`Model::step`] from [`Model::init`], is legal. States must be cheap to clone and hash: the
/// checker stores one per (set of linearized operations, state) pair it visits.
pub trait Model {
    /// The state of one object (one partition of the history).
    type State: Clone + Eq + Hash + fmt::Debug;
    /// An operation's call, in the model's terms.
    type Input: fmt::Debug;
    /// An operation's result, in the model's terms (including "unknown" for open operations).
    type Output: fmt::Debug;

    /// The model's name, for explanations: `register`, `cas-register`, `kv`.
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Reads one operation of the history. `Ok(None)` leaves it out because it constrains
    /// nothing (a failed write did not happen; a read that never returned says nothing). An
    /// open operation ([`Status::is_open`]) must get an output that [`Model::step`] accepts
    /// whatever the state, as its result is unknown.
    fn prepare(&self, op: &Operation) -> Result<Option<Prepared<Self>>, ModelError>;

    /// Applies one operation: the new state, or `None` when `output` is not what the object
    /// would have answered in `state`.
    fn step(&self, state: &Self::State, input: &Self::Input, output: &Self::Output) -> Option<Self::State>;

    /// True when the operation never changes the state (a read, a failed compare-and-set). The
    /// explanation leaves such operations out rather than relaxing them; `false` is always safe.
    fn read_only(&self, _input: &Self::Input, _output: &Self::Output) -> bool {
        false
    }

    /// Splits the history into independent parts, checked one by one (P-compositionality):
    /// the history is linearizable exactly when every part is. Each part lists indices into
    /// `ops`. The default puts the operations of each key together, which is right for every
    /// model whose state is one independent object per key.
    fn partition(&self, ops: &[Operation]) -> Vec<Vec<usize>> {
        partition_by_key(ops)
    }

    /// A state, for explanations.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// An operation, for explanations: `read -> 3`, `cas(1 2) -> fail`, `write(4) -> ?`.
    fn describe(&self, op: &Operation) -> String {
        describe_operation(op)
    }
}

/// An operation as a model reads it: its call and its result.
pub type Prepared<M> = (<M as Model>::Input, <M as Model>::Output);

/// The operations of each key together, keys in the order they first appear.
pub fn partition_by_key(ops: &[Operation]) -> Vec<Vec<usize>> {
    let mut index: FxHashMap<&Value, usize> = FxHashMap::default();
    let mut parts: Vec<Vec<usize>> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let part = *index.entry(&op.key).or_insert_with(|| {
            parts.push(Vec::new());
            parts.len() - 1
        });
        parts[part].push(i);
    }
    parts
}

/// `read -> 3`, `write(4) -> ok`, `cas(1 2) -> fail`, `append("x") -> ? (info)`.
pub fn describe_operation(op: &Operation) -> String {
    let mut s = op.f.name().to_string();
    match &op.input {
        Value::Nil => {}
        Value::List(items) => {
            s.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&item.to_string());
            }
            s.push(')');
        }
        v => s.push_str(&format!("({v})")),
    }
    match op.status {
        Status::Ok => match op.f {
            Function::Read | Function::Get => s.push_str(&format!(" -> {}", op.output)),
            _ => s.push_str(" -> ok"),
        },
        Status::Fail => s.push_str(" -> fail"),
        Status::Info => s.push_str(" -> ? (info)"),
        Status::Pending => s.push_str(" -> ? (no reply)"),
    }
    s
}

/// An operation a model cannot check: a function it does not have, or an argument of the
/// wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {model} model cannot check `{op}` (process {process}, invoked at {call}): {reason}")]
pub struct ModelError {
    /// The model's name.
    pub model: &'static str,
    /// The operation, described.
    pub op: String,
    /// Its process.
    pub process: u64,
    /// Its call time.
    pub call: u64,
    /// What is wrong.
    pub reason: String,
}

impl ModelError {
    /// An error about `op`.
    pub fn new(model: &'static str, op: &Operation, reason: impl Into<String>) -> ModelError {
        ModelError { model, op: describe_operation(op), process: op.process, call: op.call, reason: reason.into() }
    }
}

/// A register's operation, as the register models read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Set the value.
    Write(Value),
    /// If the value is `.0`, set `.1`.
    Cas(Value, Value),
}

/// A register operation's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOutput {
    /// A read returned this value.
    Returned(Value),
    /// A write completed; a compare-and-set succeeded.
    Ok,
    /// A compare-and-set ran and its compare failed.
    Failed,
    /// Unknown (an open operation): any result is accepted.
    Unknown,
}

/// A read/write register. The state is one [`Value`], [`Value::Nil`] until written (a read of
/// a never-written register returns nil). Each key of the history is its own register.
#[derive(Clone, Debug, Default)]
pub struct Register {
    /// The value before any write.
    pub initial: Value,
}

/// A compare-and-set register: a [`Register`] with `cas([old new])`, which sets `new` and
/// returns ok when the value is `old`, and otherwise changes nothing and fails. A `fail`
/// compare-and-set ran and returned false, so it is kept (it must be linearized where the
/// value is not `old`); an open one sets `new` if it takes effect where the value is `old`.
#[derive(Clone, Debug, Default)]
pub struct CasRegister {
    /// The value before any write.
    pub initial: Value,
}

fn prepare_register(
    model: &'static str,
    with_cas: bool,
    op: &Operation,
) -> Result<Option<(RegisterInput, RegisterOutput)>, ModelError> {
    let open_or = |ok: RegisterOutput| if op.status.is_open() { RegisterOutput::Unknown } else { ok };
    Ok(match op.f {
        // A read that failed or never returned constrains nothing.
        Function::Read if op.status == Status::Ok => {
            Some((RegisterInput::Read, RegisterOutput::Returned(op.output.clone())))
        }
        Function::Read => None,
        Function::Write if op.status == Status::Fail => None,
        Function::Write => Some((RegisterInput::Write(op.input.clone()), open_or(RegisterOutput::Ok))),
        Function::Cas if !with_cas => {
            return Err(ModelError::new(model, op, "a plain register has no cas: use the cas-register model"));
        }
        Function::Cas => {
            let (old, new) = match &op.input {
                Value::List(items) if items.len() == 2 => (items[0].clone(), items[1].clone()),
                other => return Err(ModelError::new(model, op, format!("cas takes [old new], not {other}"))),
            };
            let output = match op.status {
                Status::Ok => RegisterOutput::Ok,
                Status::Fail => RegisterOutput::Failed,
                Status::Info | Status::Pending => RegisterOutput::Unknown,
            };
            Some((RegisterInput::Cas(old, new), output))
        }
        Function::Get | Function::Put | Function::Append => {
            let fs = if with_cas { "read, write and cas" } else { "read and write" };
            return Err(ModelError::new(
                model,
                op,
                format!("a register has only {fs}; get, put and append are the kv model's"),
            ));
        }
    })
}

fn step_register(state: &Value, input: &RegisterInput, output: &RegisterOutput) -> Option<Value> {
    match (input, output) {
        (RegisterInput::Read, RegisterOutput::Returned(v)) => (state == v).then(|| state.clone()),
        (RegisterInput::Read, _) => Some(state.clone()),
        (RegisterInput::Write(v), _) => Some(v.clone()),
        (RegisterInput::Cas(old, new), RegisterOutput::Ok) => (state == old).then(|| new.clone()),
        (RegisterInput::Cas(old, _), RegisterOutput::Failed) => (state != old).then(|| state.clone()),
        (RegisterInput::Cas(old, new), _) => Some(if state == old { new.clone() } else { state.clone() }),
    }
}

fn register_read_only(input: &RegisterInput, output: &RegisterOutput) -> bool {
    matches!((input, output), (RegisterInput::Read, _) | (RegisterInput::Cas(..), RegisterOutput::Failed))
}

impl Model for Register {
    type State = Value;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn name(&self) -> &'static str {
        "register"
    }
    fn init(&self) -> Value {
        self.initial.clone()
    }
    fn prepare(&self, op: &Operation) -> Result<Option<(RegisterInput, RegisterOutput)>, ModelError> {
        prepare_register(self.name(), false, op)
    }
    fn step(&self, state: &Value, input: &RegisterInput, output: &RegisterOutput) -> Option<Value> {
        step_register(state, input, output)
    }
    fn read_only(&self, input: &RegisterInput, output: &RegisterOutput) -> bool {
        register_read_only(input, output)
    }
}

impl Model for CasRegister {
    type State = Value;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn name(&self) -> &'static str {
        "cas-register"
    }
    fn init(&self) -> Value {
        self.initial.clone()
    }
    fn prepare(&self, op: &Operation) -> Result<Option<(RegisterInput, RegisterOutput)>, ModelError> {
        prepare_register(self.name(), true, op)
    }
    fn step(&self, state: &Value, input: &RegisterInput, output: &RegisterOutput) -> Option<Value> {
        step_register(state, input, output)
    }
    fn read_only(&self, input: &RegisterInput, output: &RegisterOutput) -> bool {
        register_read_only(input, output)
    }
}

/// A key-value operation, as [`KeyValue`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvInput {
    /// Read the key.
    Get,
    /// Set the key.
    Put(Arc<str>),
    /// Append to the key.
    Append(Arc<str>),
}

/// A key-value operation's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOutput {
    /// A get returned this string.
    Returned(Arc<str>),
    /// A put or append completed.
    Ok,
    /// Unknown (an open operation): any result is accepted.
    Unknown,
}

/// A key-value store of strings with `get`, `put` and `append`. Every key starts as the empty
/// string, and a get of a never-written key returns `""` (nil is read as `""`). Keys are
/// independent, so the history is checked key by key; the state is one key's string.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyValue;

impl Model for KeyValue {
    type State = Arc<str>;
    type Input = KvInput;
    type Output = KvOutput;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Arc<str> {
        Arc::from("")
    }

    fn prepare(&self, op: &Operation) -> Result<Option<(KvInput, KvOutput)>, ModelError> {
        let text = |v: &Value, what: &str| match v {
            Value::Str(s) => Ok(s.clone()),
            Value::Nil => Ok(Arc::from("")),
            other => Err(ModelError::new(self.name(), op, format!("{what} must be a string, not {other}"))),
        };
        let write_output = if op.status.is_open() { KvOutput::Unknown } else { KvOutput::Ok };
        Ok(match op.f {
            Function::Get if op.status == Status::Ok => {
                Some((KvInput::Get, KvOutput::Returned(text(&op.output, "a get's result")?)))
            }
            Function::Get => None,
            Function::Put | Function::Append if op.status == Status::Fail => None,
            Function::Put => Some((KvInput::Put(text(&op.input, "put's argument")?), write_output)),
            Function::Append => Some((KvInput::Append(text(&op.input, "append's argument")?), write_output)),
            Function::Read | Function::Write | Function::Cas => {
                return Err(ModelError::new(
                    self.name(),
                    op,
                    "the kv model has get, put and append; read, write and cas are a register's",
                ));
            }
        })
    }

    fn step(&self, state: &Arc<str>, input: &KvInput, output: &KvOutput) -> Option<Arc<str>> {
        match (input, output) {
            (KvInput::Get, KvOutput::Returned(v)) => (state == v).then(|| state.clone()),
            (KvInput::Get, _) => Some(state.clone()),
            (KvInput::Put(v), _) => Some(v.clone()),
            (KvInput::Append(v), _) if v.is_empty() => Some(state.clone()),
            (KvInput::Append(v), _) => {
                let mut s = String::with_capacity(state.len() + v.len());
                s.push_str(state);
                s.push_str(v);
                Some(Arc::from(s))
            }
        }
    }

    fn read_only(&self, input: &KvInput, _output: &KvOutput) -> bool {
        matches!(input, KvInput::Get)
    }
}

/// The built-in models, by name: for tools that pick one from a flag or a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// [`Register`].
    Register,
    /// [`CasRegister`].
    CasRegister,
    /// [`KeyValue`].
    KeyValue,
}

impl ModelKind {
    /// Every built-in model.
    pub const ALL: [ModelKind; 3] = [ModelKind::Register, ModelKind::CasRegister, ModelKind::KeyValue];

    /// `register`, `cas-register` or `kv`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::KeyValue => "kv",
        }
    }

    /// The model a history's functions call for: `kv` if it has a get, put or append,
    /// `cas-register` if it has a cas, and `register` otherwise.
    pub fn infer(history: &History) -> ModelKind {
        let ops = history.operations();
        if ops.iter().any(|op| matches!(op.f, Function::Get | Function::Put | Function::Append)) {
            ModelKind::KeyValue
        } else if ops.iter().any(|op| op.f == Function::Cas) {
            ModelKind::CasRegister
        } else {
            ModelKind::Register
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ModelKind, String> {
        match s {
            "register" => Ok(ModelKind::Register),
            "cas-register" | "cas" => Ok(ModelKind::CasRegister),
            "kv" | "key-value" => Ok(ModelKind::KeyValue),
            _ => Err(format!("unknown model {s:?} (expected register, cas-register or kv)")),
        }
    }
}
