//! The tracing layer that turns metric events into samples, stamped with virtual time and the
//! node whose task emitted them.

use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::report::MetricKind;
use super::{METRIC_TARGET, Store};
use crate::kernel::Shared;

/// Records metric events into a [`Store`].
pub(crate) struct MetricsLayer {
    store: Arc<Mutex<Store>>,
    clock: Arc<Shared>,
}

impl MetricsLayer {
    pub(crate) fn new(store: Arc<Mutex<Store>>, clock: Arc<Shared>) -> Self {
        MetricsLayer { store, clock }
    }
}

/// The fields of one metric event; the name goes into a reused buffer.
struct Sample<'a> {
    metric: &'a mut String,
    named: bool,
    value: Option<(MetricKind, i64)>,
}

impl Visit for Sample<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "metric" {
            self.metric.clear();
            self.metric.push_str(value);
            self.named = true;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, i64::try_from(value).unwrap_or(i64::MAX));
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

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "metric" {
            self.metric.clear();
            self.metric.push_str(format!("{value:?}").trim_matches('"'));
            self.named = true;
        }
    }
}

impl<S: Subscriber> Layer<S> for MetricsLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != METRIC_TARGET {
            return;
        }
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let mut name = std::mem::take(&mut store.scratch);
        let mut sample = Sample { metric: &mut name, named: false, value: None };
        event.record(&mut sample);
        if let (true, Some((kind, value))) = (sample.named, sample.value) {
            let node = self.clock.current().map(|n| n.0);
            store.record(&name, node, kind, value, self.clock.now().as_nanos());
        }
        store.scratch = name;
    }
}
