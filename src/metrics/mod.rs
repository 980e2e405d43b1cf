//! Metrics through `tracing`: nodes emit events on the target [`METRIC_TARGET`], a layer
//! records them into HdrHistograms and per-window time series, labelled with the node, and a
//! [`MetricsReport`] summarizes them.
//!
//! An event is a metric when its target is [`METRIC_TARGET`] and it has a `metric` field (the
//! name) and one of: `value` (a histogram sample), `nanos` (a duration sample), `count` (a
//! counter increment) or `gauge` (a level). Any code may emit one; [`Context`](crate::Context)
//! has shorthands.

mod layer;
mod report;
mod store;

use std::time::Duration;

pub(crate) use layer::MetricsLayer;
pub use report::{MetricKind, MetricView, MetricsReport, Stats, Summary, WindowStats};
pub(crate) use store::Store;

/// The tracing target of metric events.
pub const METRIC_TARGET: &str = "faultline::metric";

/// Records `value` into the histogram `metric`.
pub fn record(metric: &str, value: u64) {
    tracing::trace!(target: METRIC_TARGET, metric, value);
}

/// Records a duration, in nanoseconds, into the histogram `metric`.
pub fn record_duration(metric: &str, d: Duration) {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    tracing::trace!(target: METRIC_TARGET, metric, nanos);
}

/// Adds `n` to the counter `metric`.
pub fn count(metric: &str, n: u64) {
    tracing::trace!(target: METRIC_TARGET, metric, count = n);
}

/// Sets the gauge `metric` to `value`.
pub fn gauge(metric: &str, value: i64) {
    tracing::trace!(target: METRIC_TARGET, metric, gauge = value);
}
