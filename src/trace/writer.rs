//! The tracing layer that writes events (and, for Chrome, span lifetimes) stamped with virtual
//! time and node, in one of three formats.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::chrome::{self, Chrome};
use super::fields::Fields;
use super::marks::{DROP_TARGET, PHASE_TARGET, VERDICT_TARGET};
use super::sink::Sink;
use super::{TraceError, TraceFormat, TraceOutput};
use crate::kernel::{CONTROL_TARGET, Shared};

/// A writer's state, behind one lock.
struct State {
    sink: Sink,
    chrome: Chrome,
}

impl State {
    fn write(&mut self, text: &str) {
        // Finished: whatever comes later (spans of tasks dropped with the runtime) is not written.
        if !self.sink.is_done() {
            self.sink.write(text);
        }
    }
}

/// Writes one trace output.
#[derive(Clone)]
pub(crate) struct TraceLayer {
    format: TraceFormat,
    state: Arc<Mutex<State>>,
    clock: Arc<Shared>,
    names: Arc<[String]>,
}

/// Events of these targets concern the whole run: in Chrome they are global instants on the
/// `sim` track.
fn is_global(target: &str) -> bool {
    target == CONTROL_TARGET || target == PHASE_TARGET || target == VERDICT_TARGET
}

impl TraceLayer {
    pub(crate) fn open(output: &TraceOutput, clock: Arc<Shared>, names: Arc<[String]>) -> Result<Self, TraceError> {
        let mut state = State { sink: Sink::open(&output.sink)?, chrome: Chrome::default() };
        if output.format == TraceFormat::Chrome {
            let header = state.chrome.header(&names);
            state.write(&header);
        }
        Ok(TraceLayer { format: output.format, state: Arc::new(Mutex::new(state)), clock, names })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the output (for Chrome: closes the slices still open, marked unfinished, and the
    /// object), flushes it, and renames a file to its name. Idempotent, and callable from any
    /// thread (an interrupt handler): later events are not written.
    pub(crate) fn finish(&self) -> Result<(), TraceError> {
        let mut state = self.lock();
        if !state.sink.is_done() && self.format == TraceFormat::Chrome {
            let footer = state.chrome.footer(self.clock.now());
            state.write(&footer);
        }
        state.sink.finish()
    }

    /// Replaces the node indices `from` and `to` of a drop event by node names.
    fn name_nodes(&self, fields: &mut Fields) {
        for key in ["from", "to"] {
            if let Some(v) = fields.map.get_mut(key)
                && let Some(name) = v.as_u64().and_then(|i| usize::try_from(i).ok()).and_then(|i| self.names.get(i))
            {
                *v = Value::from(name.as_str());
            }
        }
    }

    /// The node being polled: its Chrome process and its name.
    fn node(&self) -> (u64, &str) {
        match self.clock.current() {
            Some(n) => (chrome::node_pid(n.index()), self.names.get(n.index()).map_or("?", String::as_str)),
            None => (chrome::SIM_PID, "sim"),
        }
    }
}

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        if meta.target() == DROP_TARGET {
            self.name_nodes(&mut fields);
        }
        let now = self.clock.now();
        let (pid, node) = self.node();
        let text = match self.format {
            TraceFormat::Text => {
                let msg = fields.message.as_deref().unwrap_or("");
                let pairs = fields.pairs();
                let sep = if pairs.is_empty() || msg.is_empty() { "" } else { " " };
                format!("t={now} {node} {} {}: {msg}{sep}{pairs}\n", meta.level(), meta.target())
            }
            TraceFormat::JsonLines => {
                let mut obj = json!({
                    "t": now.to_string().trim_end_matches('s'),
                    "ns": now.as_nanos(),
                    "node": node,
                    "level": meta.level().as_str(),
                    "target": meta.target(),
                });
                if let Some(m) = fields.message {
                    obj["message"] = Value::from(m);
                }
                obj["fields"] = Value::Object(fields.map);
                format!("{obj}\n")
            }
            TraceFormat::Chrome => {
                let global = is_global(meta.target());
                let name = fields.message.clone().unwrap_or_else(|| meta.target().to_string());
                // `applied: pause b`, `phase: during`, `verdict: recovered`.
                let detail = ["command", "phase", "verdict"].iter().find_map(|k| match fields.map.get(*k) {
                    Some(Value::String(c)) if global => Some(c.clone()),
                    _ => None,
                });
                let name = match detail {
                    Some(d) => format!("{name}: {d}"),
                    None => name,
                };
                let pid = if global { chrome::SIM_PID } else { pid };
                let args = Value::Object(fields.map);
                let mut state = self.lock();
                let text = state.chrome.instant(name, meta.target(), global, now, pid, args);
                state.write(&text);
                return;
            }
        };
        self.lock().write(&text);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        if self.format != TraceFormat::Chrome {
            return;
        }
        let (pid, _) = self.node();
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let meta = attrs.metadata();
        let mut state = self.lock();
        if let Some(text) = state.chrome.begin(
            id.into_u64(),
            meta.name(),
            meta.target(),
            self.clock.now(),
            pid,
            Value::Object(fields.map),
        ) {
            state.write(&text);
        }
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        if self.format != TraceFormat::Chrome {
            return;
        }
        let mut state = self.lock();
        if state.sink.is_done() {
            return;
        }
        if let Some(text) = state.chrome.end(id.into_u64(), self.clock.now()) {
            state.write(&text);
        }
    }
}
