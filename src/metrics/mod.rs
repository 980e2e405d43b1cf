//! Metrics through `tracing`: nodes emit events on the target [`METRIC_TARGET`], the sim's
//! subscriber hands them to a recorder that keeps an HdrHistogram per metric for the run and a
//! time series of small fixed-layout histograms and counters per window, and a
//! [`MetricsReport`] summarizes them.
//!
//! An event is a metric when its target is [`METRIC_TARGET`] and it has a `metric` field (the
//! name) and one of: `value` (a histogram sample), `nanos` (a duration sample), `count` (a
//! counter increment) or `gauge` (a level). Any subscriber sees these events. Declare a metric
//! once as a typed handle ([`Counter`], [`Gauge`], [`Histogram`], [`DurationHistogram`]): it
//! resolves its name to a numeric id once and hands the recorder that id and the sample beside
//! its event, so a sample is recorded with an index: no field visit, no string lookup and no
//! allocation. The functions below name a metric at run time, for code where a `static` does
//! not fit; they look the name up on every sample.
//!
//! Memory follows metrics × windows, not nodes: samples from every node go into one series,
//! and a per-node series exists only for metrics a study labels
//! ([`SimBuilder::per_node`](crate::SimBuilder::per_node)). A closed window keeps its counters
//! and only the histogram buckets it used.

mod buckets;
mod handle;
mod recorder;
mod report;
mod series;
mod store;
mod subscriber;

use std::time::Duration;

pub use buckets::MAX_RELATIVE_ERROR;
pub use handle::{Counter, DurationHistogram, Gauge, Histogram};
pub(crate) use recorder::Recorder;
pub use report::{MetricKind, MetricView, MetricsReport, Stats, Summary, WindowStats};
pub(crate) use store::{Store, recording};
pub(crate) use subscriber::SimSubscriber;

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
