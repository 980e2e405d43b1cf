//! The tracing layer that writes events (and, for Chrome, span lifetimes) stamped with virtual
//! time and node, in one of three formats; with phases scheduled ahead of the run, written when
//! the run reaches them, and holds that keep the output open past the end of the run.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::chrome::{self, Chrome};
use super::fields::Fields;
use super::marks::{DROP_TARGET, PHASE_TARGET, VERDICT_TARGET};
use super::sink::Sink;
use super::{TraceError, TraceFormat, TraceOutput};
use crate::kernel::{CONTROL_TARGET, Shared};
use crate::time::SimTime;

/// A phase to write when the run reaches its instant ([`super::Traces::phase_at`]).
struct Mark {
    at: SimTime,
    fields: Map<String, Value>,
}

/// A writer's state, behind one lock.
struct State {
    sink: Sink,
    chrome: Chrome,
    /// Phases not yet reached, by instant.
    marks: VecDeque<Mark>,
    /// Holds not yet released ([`super::Traces::hold`]).
    holds: usize,
    /// A finish asked for while held: done at the last release.
    finish_asked: bool,
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
    /// Whether the output's filter takes phases (info on [`PHASE_TARGET`]).
    takes_phases: bool,
}

/// Events of these targets concern the whole run: in Chrome they are global instants on the
/// `sim` track.
fn is_global(target: &str) -> bool {
    target == CONTROL_TARGET || target == PHASE_TARGET || target == VERDICT_TARGET
}

impl TraceLayer {
    pub(crate) fn open(output: &TraceOutput, clock: Arc<Shared>, names: Arc<[String]>) -> Result<Self, TraceError> {
        let sink = Sink::open(&output.sink)?;
        let mut state =
            State { sink, chrome: Chrome::default(), marks: VecDeque::new(), holds: 0, finish_asked: false };
        if output.format == TraceFormat::Chrome {
            let header = state.chrome.header(&names);
            state.write(&header);
        }
        let takes_phases = output.may_take(PHASE_TARGET, &Level::INFO);
        Ok(TraceLayer { format: output.format, state: Arc::new(Mutex::new(state)), clock, names, takes_phases })
    }

    /// Schedules phase `name` at `at` (see [`super::Traces::phase_at`]).
    pub(crate) fn phase_at(&self, at: SimTime, name: &str, trigger: &str) {
        if !self.takes_phases {
            return;
        }
        let mut fields = Map::new();
        fields.insert("phase".into(), Value::from(name));
        fields.insert("trigger".into(), Value::from(trigger));
        let mut state = self.lock();
        let i = state.marks.partition_point(|m| m.at <= at);
        state.marks.insert(i, Mark { at, fields });
    }

    /// Writes the scheduled phases due at `now`, each at its own instant (never before what was
    /// already written).
    fn write_marks(&self, state: &mut State, now: SimTime) {
        while state.marks.front().is_some_and(|m| m.at <= now) {
            let Some(mark) = state.marks.pop_front() else { break };
            let text = self.render(
                state,
                mark.at,
                (chrome::SIM_PID, "sim"),
                Level::INFO,
                PHASE_TARGET,
                Some("phase".into()),
                mark.fields,
            );
            state.write(&text);
        }
    }

    /// Adds a hold.
    pub(crate) fn hold(&self) {
        self.lock().holds += 1;
    }

    /// Releases a hold; the last one finishes the output if a finish was asked meanwhile.
    pub(crate) fn release(&self) -> Result<(), TraceError> {
        let mut state = self.lock();
        state.holds = state.holds.saturating_sub(1);
        if state.holds == 0 && state.finish_asked { self.finish_locked(&mut state) } else { Ok(()) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the output (for Chrome: closes the slices still open, marked unfinished, and the
    /// object), flushes it, and renames a file to its name. Idempotent, and callable from any
    /// thread (an interrupt handler): later events are not written.
    pub(crate) fn finish(&self) -> Result<(), TraceError> {
        let mut state = self.lock();
        if state.holds > 0 {
            state.finish_asked = true;
            return Ok(());
        }
        self.finish_locked(&mut state)
    }

    fn finish_locked(&self, state: &mut State) -> Result<(), TraceError> {
        let now = self.clock.now();
        if !state.sink.is_done() {
            self.write_marks(state, now);
            if self.format == TraceFormat::Chrome {
                let footer = state.chrome.footer(now);
                state.write(&footer);
            }
        }
        state.sink.finish()
    }

    /// One event as this writer's format writes it, at `now` on `node` (its Chrome process and
    /// name).
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        state: &mut State,
        now: SimTime,
        (pid, node): (u64, &str),
        level: Level,
        target: &str,
        message: Option<String>,
        map: Map<String, Value>,
    ) -> String {
        match self.format {
            TraceFormat::Text => {
                let fields = Fields { message, map };
                let msg = fields.message.as_deref().unwrap_or("");
                let pairs = fields.pairs();
                let sep = if pairs.is_empty() || msg.is_empty() { "" } else { " " };
                format!("t={now} {node} {level} {target}: {msg}{sep}{pairs}\n")
            }
            TraceFormat::JsonLines => {
                let mut obj = json!({
                    "t": now.to_string().trim_end_matches('s'),
                    "ns": now.as_nanos(),
                    "node": node,
                    "level": level.as_str(),
                    "target": target,
                });
                if let Some(m) = message {
                    obj["message"] = Value::from(m);
                }
                obj["fields"] = Value::Object(map);
                format!("{obj}\n")
            }
            TraceFormat::Chrome => {
                let global = is_global(target);
                let name = message.unwrap_or_else(|| target.to_string());
                // `applied: pause b`, `phase: during`, `verdict: recovered`.
                let detail = ["command", "phase", "verdict"].iter().find_map(|k| match map.get(*k) {
                    Some(Value::String(c)) if global => Some(c.clone()),
                    _ => None,
                });
                let name = match detail {
                    Some(d) => format!("{name}: {d}"),
                    None => name,
                };
                let pid = if global { chrome::SIM_PID } else { pid };
                state.chrome.instant(name, target, global, now, pid, Value::Object(map))
            }
        }
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
        let node = self.node();
        let mut state = self.lock();
        // Held past the end of the run: only what concerns the whole run (its verdict) is still
        // written, not what the teardown of its tasks emits.
        if state.finish_asked && !is_global(meta.target()) {
            return;
        }
        self.write_marks(&mut state, now);
        let text = self.render(&mut state, now, node, *meta.level(), meta.target(), fields.message, fields.map);
        state.write(&text);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        if self.format != TraceFormat::Chrome {
            return;
        }
        let (pid, _) = self.node();
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let meta = attrs.metadata();
        let now = self.clock.now();
        let mut state = self.lock();
        if state.finish_asked {
            return;
        }
        self.write_marks(&mut state, now);
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
        let now = self.clock.now();
        let mut state = self.lock();
        // Slices still open when the run ended are closed by the finish, marked unfinished.
        if state.sink.is_done() || state.finish_asked {
            return;
        }
        self.write_marks(&mut state, now);
        if let Some(text) = state.chrome.end(id.into_u64(), now) {
            state.write(&text);
        }
    }
}
