//! A sim's subscriber: metric events go straight to the [`Recorder`], everything else to the
//! stack of trace writers behind it.
//!
//! Each trace writer has its own filter. Had the recorder been one more filtered layer in that
//! stack, a metric callsite would be wanted by one filter and not by the others, so tracing
//! would ask every filter again on every sample. Here a metric callsite is always enabled,
//! decided once, and a sample reaches the writers only when one of their filters may take
//! metric events (`--trace` with `faultline::metric=trace`, say).

use std::any::TypeId;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

use super::METRIC_TARGET;
use super::recorder::Recorder;

/// Metric events to `recorder`; other events, spans, and metric events when `writers_take_metrics`,
/// to `writers`.
pub(crate) struct SimSubscriber<S> {
    recorder: Recorder,
    writers: S,
    writers_take_metrics: bool,
}

impl<S> SimSubscriber<S> {
    pub(crate) fn new(recorder: Recorder, writers: S, writers_take_metrics: bool) -> Self {
        SimSubscriber { recorder, writers, writers_take_metrics }
    }
}

fn is_metric(metadata: &Metadata<'_>) -> bool {
    metadata.target() == METRIC_TARGET
}

impl<S: Subscriber> Subscriber for SimSubscriber<S> {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if !is_metric(metadata) {
            return self.writers.register_callsite(metadata);
        }
        if self.writers_take_metrics {
            // The writers' filters see the callsite; their verdict is asked per sample.
            let _ = self.writers.register_callsite(metadata);
        }
        Interest::always()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE) // metric events are at trace level
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_metric(metadata) || self.writers.enabled(metadata)
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        is_metric(event.metadata()) || self.writers.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if !is_metric(metadata) {
            self.writers.event(event);
            return;
        }
        self.recorder.record(event);
        if self.writers_take_metrics && self.writers.enabled(metadata) && self.writers.event_enabled(event) {
            self.writers.event(event);
        }
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.writers.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.writers.record(span, values);
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.writers.record_follows_from(span, follows);
    }

    fn enter(&self, span: &Id) {
        self.writers.enter(span);
    }

    fn exit(&self, span: &Id) {
        self.writers.exit(span);
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.writers.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.writers.try_close(id)
    }

    fn current_span(&self) -> Current {
        self.writers.current_span()
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded to the writers' stack, which upholds the contract for its types.
        unsafe { self.writers.downcast_raw(id) }
    }
}
