//! Turns a metric event into a sample, stamped with virtual time and the node whose task
//! emitted it.

use std::fmt;
use std::sync::Arc;

use tracing::Event;
use tracing::field::{Field, Visit};

use super::handle::id_of;
use super::report::MetricKind;
use super::store::record_active;
use crate::kernel::Shared;

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
    pub(crate) fn record(&self, event: &Event<'_>) {
        let mut sample = Sample::default();
        event.record(&mut sample);
        let (Some(id), Some((kind, value))) = (sample.id, sample.value) else { return };
        let node = self.clock.current().map(|n| n.0);
        let now = self.clock.now().as_nanos();
        if let Err(hit) = record_active(id, node, kind, value, now) {
            self.clock.reach(hit);
        }
    }
}

/// The fields of one metric event. A handle's event carries the metric's `id` before its
/// name, so the name is looked up only for events emitted by name.
#[derive(Default)]
struct Sample {
    id: Option<u32>,
    value: Option<(MetricKind, i64)>,
}

impl Sample {
    fn name(&mut self, name: &str) {
        if self.id.is_none() {
            self.id = Some(id_of(name));
        }
    }
}

impl Visit for Sample {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "id" {
            self.id = u32::try_from(value).ok();
        } else {
            self.record_i64(field, i64::try_from(value).unwrap_or(i64::MAX));
        }
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
            self.name(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "metric" {
            self.name(format!("{value:?}").trim_matches('"'));
        }
    }
}
