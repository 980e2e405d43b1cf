//! Turns a metric event into a sample, stamped with virtual time and the node whose task
//! emitted it.
//!
//! An event emitted by name is read by visiting its fields, as any subscriber reads it. A typed
//! handle already holds its sample as numbers, so it hands them over beside its event
//! ([`handing`]): the recorder takes them instead of visiting the fields, which would cost more
//! than the rest of recording the sample. The event itself is dispatched whole either way.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use tracing::Event;
use tracing::field::{Field, Visit};

use super::handle::id_of;
use super::report::MetricKind;
use super::store::record_active;
use crate::kernel::Shared;

/// One sample, as numbers.
#[derive(Clone, Copy)]
struct Typed {
    id: u32,
    kind: MetricKind,
    value: i64,
}

thread_local! {
    /// The sample of the handle event this thread is dispatching, if any.
    static HANDED: Cell<Option<Typed>> = const { Cell::new(None) };
}

/// A sample as the store keeps it: an unsigned one saturates at `i64::MAX`.
pub(crate) fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Runs `emit`, which emits the event of a handle's sample (`kind`, `value`) of metric `id`,
/// with the sample handed to the recorder beside it. Dispatch is synchronous and not
/// re-entrant, so the event the recorder sees while the sample is handed is this one; it is
/// taken back after, if no recorder took it.
#[inline]
pub(crate) fn handing(id: u32, kind: MetricKind, value: i64, emit: impl FnOnce()) {
    HANDED.set(Some(Typed { id, kind, value }));
    emit();
    HANDED.set(None);
}

/// Records metric events into the store of the sim running on the emitting thread.
pub(crate) struct Recorder {
    clock: Arc<Shared>,
}

impl Recorder {
    pub(crate) fn new(clock: Arc<Shared>) -> Self {
        Recorder { clock }
    }

    /// Records `event`, a metric event (its target is [`METRIC_TARGET`](super::METRIC_TARGET));
    /// one without a metric and a value is ignored.
    #[inline]
    pub(crate) fn record(&self, event: &Event<'_>) {
        let Some(Typed { id, kind, value }) = HANDED.take().or_else(|| visit(event)) else { return };
        let node = self.clock.current().map(|n| n.0);
        let now = self.clock.now().as_nanos();
        if let Err(hit) = record_active(id, node, kind, value, now) {
            self.clock.reach(hit);
        }
    }
}

/// The sample of an event emitted by name, read from its fields.
fn visit(event: &Event<'_>) -> Option<Typed> {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let (Some(id), Some((kind, value))) = (fields.id, fields.value) else { return None };
    Some(Typed { id, kind, value })
}

/// The fields of one metric event.
#[derive(Default)]
struct Fields {
    id: Option<u32>,
    value: Option<(MetricKind, i64)>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, signed(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let kind = match field.name() {
            "value" => MetricKind::Value,
            "nanos" => MetricKind::Duration,
            "count" => MetricKind::Counter,
            "gauge" => MetricKind::Gauge,
            _ => return,
        };
        self.value = Some((kind, value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "metric" {
            self.id = Some(id_of(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "metric" {
            self.id = Some(id_of(format!("{value:?}").trim_matches('"')));
        }
    }
}
