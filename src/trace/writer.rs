//! The tracing layer that writes events (and, for Chrome, span lifetimes) stamped with virtual
//! time and node.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::fields::Fields;
use super::{TraceError, TraceFormat, TraceOutput, TraceSink};
use crate::kernel::{CONTROL_TARGET, Shared};
use crate::time::SimTime;

struct Out {
    w: Box<dyn Write + Send>,
    name: String,
    first: bool,
    /// Finished: whatever comes later (spans of tasks dropped with the runtime) is not written.
    closed: bool,
    error: Option<io::Error>,
}

impl Out {
    fn line(&mut self, text: &str) {
        if !self.closed
            && self.error.is_none()
            && let Err(e) = self.w.write_all(text.as_bytes())
        {
            self.error = Some(e);
        }
    }
}

/// Writes one trace output.
#[derive(Clone)]
pub(crate) struct TraceLayer {
    format: TraceFormat,
    out: Arc<Mutex<Out>>,
    clock: Arc<Shared>,
    names: Arc<[String]>,
}

/// The Chrome track (thread id) of a span, kept in the span's extensions.
struct Track(u32);

impl TraceLayer {
    pub(crate) fn open(output: &TraceOutput, clock: Arc<Shared>, names: Arc<[String]>) -> Result<Self, TraceError> {
        let (w, name): (Box<dyn Write + Send>, String) = match &output.sink {
            TraceSink::File(path) => {
                let file = std::fs::File::create(path)
                    .map_err(|source| TraceError::Io { path: path.display().to_string(), source })?;
                (Box::new(io::BufWriter::new(file)), path.display().to_string())
            }
            TraceSink::Stderr => (Box::new(io::stderr()), "stderr".to_string()),
            TraceSink::Memory(buf) => (Box::new(buf.clone()), "memory".to_string()),
        };
        let layer = TraceLayer {
            format: output.format,
            out: Arc::new(Mutex::new(Out { w, name, first: true, closed: false, error: None })),
            clock,
            names,
        };
        if layer.format == TraceFormat::Chrome {
            layer.chrome_header();
        }
        Ok(layer)
    }

    fn chrome_header(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.line("[\n");
        let mut meta = vec![
            json!({"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "faultline"}}),
            json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": 0, "args": {"name": "sim"}}),
        ];
        for (i, name) in self.names.iter().enumerate() {
            meta.push(json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": i + 1, "args": {"name": name}}));
            meta.push(
                json!({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": i + 1, "args": {"sort_index": i + 1}}),
            );
        }
        for m in meta {
            Self::chrome_item(&mut out, &m);
        }
    }

    fn chrome_item(out: &mut Out, item: &Value) {
        let sep = if out.first { "" } else { ",\n" };
        out.first = false;
        out.line(&format!("{sep}{item}"));
    }

    /// Ends the output (closes the Chrome array) and flushes; reports the first write error.
    pub(crate) fn finish(&self) -> Result<(), TraceError> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out.closed {
            return Ok(());
        }
        if self.format == TraceFormat::Chrome {
            out.line("\n]\n");
        }
        out.closed = true;
        if out.error.is_none()
            && let Err(e) = out.w.flush()
        {
            out.error = Some(e);
        }
        match out.error.take() {
            Some(source) => Err(TraceError::Io { path: out.name.clone(), source }),
            None => Ok(()),
        }
    }

    fn node(&self) -> (u32, &str) {
        match self.clock.current() {
            Some(n) => (n.0 + 1, self.names.get(n.index()).map_or("?", String::as_str)),
            None => (0, "sim"),
        }
    }
}

fn micros(t: SimTime) -> Value {
    // Chrome timestamps are microseconds; keep the nanoseconds as decimals.
    let ns = t.as_nanos();
    serde_json::from_str(&format!("{}.{:03}", ns / 1000, ns % 1000)).unwrap_or(Value::Null)
}

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = self.clock.now();
        let (tid, node) = self.node();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        match self.format {
            TraceFormat::Text => {
                let msg = fields.message.as_deref().unwrap_or("");
                let pairs = fields.pairs();
                let sep = if pairs.is_empty() || msg.is_empty() { "" } else { " " };
                out.line(&format!("t={now} {node} {} {}: {msg}{sep}{pairs}\n", meta.level(), meta.target()));
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
                out.line(&format!("{obj}\n"));
            }
            TraceFormat::Chrome => {
                let control = meta.target() == CONTROL_TARGET;
                let name = fields.message.clone().unwrap_or_else(|| meta.target().to_string());
                let name = match fields.map.get("command") {
                    Some(Value::String(c)) if control => format!("{name}: {c}"),
                    _ => name,
                };
                let item = json!({
                    "name": name,
                    "cat": meta.target(),
                    "ph": "i",
                    "s": if control { "g" } else { "t" },
                    "ts": micros(now),
                    "pid": 1,
                    "tid": tid,
                    "args": Value::Object(fields.map),
                });
                Self::chrome_item(&mut out, &item);
            }
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.format != TraceFormat::Chrome {
            return;
        }
        let (tid, _) = self.node();
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Track(tid));
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let item = json!({
            "name": attrs.metadata().name(),
            "cat": attrs.metadata().target(),
            "ph": "b",
            "id": id.into_u64(),
            "ts": micros(self.clock.now()),
            "pid": 1,
            "tid": tid,
            "args": Value::Object(fields.map),
        });
        Self::chrome_item(&mut self.out.lock().unwrap_or_else(|e| e.into_inner()), &item);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.format != TraceFormat::Chrome {
            return;
        }
        let Some(span) = ctx.span(&id) else { return };
        let tid = span.extensions().get::<Track>().map_or(0, |t| t.0);
        let item = json!({
            "name": span.metadata().name(),
            "cat": span.metadata().target(),
            "ph": "e",
            "id": id.into_u64(),
            "ts": micros(self.clock.now()),
            "pid": 1,
            "tid": tid,
        });
        Self::chrome_item(&mut self.out.lock().unwrap_or_else(|e| e.into_inner()), &item);
    }
}
