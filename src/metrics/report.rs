//! What a run's metrics come to: per metric (all nodes merged, or one node) the count, mean and
//! percentiles, the total, and the per-window time series.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::store::{Series, Store, Window};

/// What a metric measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Samples without a unit (`value` field).
    Value,
    /// Durations in nanoseconds (`nanos` field).
    Duration,
    /// Increments (`count` field).
    Counter,
    /// Levels (`gauge` field).
    Gauge,
}

/// Summary of a histogram: count, mean and percentiles, in the metric's unit (nanoseconds for
/// durations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Stats {
    fn of(h: &Histogram<u64>, min: i64, max: i64) -> Stats {
        if h.is_empty() {
            return Stats::default();
        }
        Stats {
            count: h.len(),
            mean: h.mean(),
            min: min.max(0) as u64,
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: max.max(0) as u64,
        }
    }
}

/// One window of a time series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// Start of the window, in virtual seconds.
    pub start_s: f64,
    /// Samples (or increments, for counters) in the window.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Last value (for gauges merged over nodes: the sum of each node's last value).
    pub last: i64,
    /// Median sample (histograms only; two significant figures).
    pub p50: Option<u64>,
    /// 99th percentile sample (histograms only; two significant figures).
    pub p99: Option<u64>,
}

/// One metric, over all nodes or one node.
#[derive(Clone, Debug)]
pub struct MetricView {
    kind: MetricKind,
    hist: Histogram<u64>,
    total: i128,
    min: i64,
    max: i64,
    windows: Vec<Window>,
    window: Duration,
}

impl MetricView {
    fn merge(kind: MetricKind, window: Duration, series: &[&Series]) -> MetricView {
        let mut hist = Histogram::new(3).expect("3 significant figures is valid");
        let mut windows: Vec<Window> = Vec::new();
        let (mut total, mut min, mut max) = (0, i64::MAX, i64::MIN);
        for s in series {
            hist.add(&s.hist).expect("auto-resizing histograms always merge");
            total += s.total;
            min = min.min(s.min);
            max = max.max(s.max);
            if windows.len() < s.windows.len() {
                windows.resize_with(s.windows.len(), Window::default);
            }
            for (into, w) in windows.iter_mut().zip(&s.windows) {
                merge_window(into, w);
            }
        }
        MetricView { kind, hist, total, min, max, windows, window }
    }

    /// What the metric measures.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    /// Count, mean and percentiles of the samples (percentiles to three significant figures;
    /// min and max exact).
    pub fn stats(&self) -> Stats {
        Stats::of(&self.hist, self.min, self.max)
    }

    /// Count, mean and percentiles of the samples recorded in windows `range` (percentiles to
    /// the windows' two significant figures; min and max exact).
    pub fn stats_in(&self, range: std::ops::Range<usize>) -> Stats {
        let mut merged = Window::default();
        for w in self.windows.get(range.start.min(self.windows.len())..range.end.min(self.windows.len())).unwrap_or(&[])
        {
            merge_window(&mut merged, w);
        }
        match &merged.hist {
            Some(h) => Stats::of(h, merged.min, merged.max),
            None => Stats::default(),
        }
    }

    /// The full histogram.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Sum of every sample or increment.
    pub fn total(&self) -> i128 {
        self.total
    }

    /// The time series, one entry per window from the start of the run.
    pub fn windows(&self) -> Vec<WindowStats> {
        self.windows
            .iter()
            .enumerate()
            .map(|(i, w)| WindowStats {
                start_s: (self.window * i as u32).as_secs_f64(),
                count: w.count,
                sum: w.sum,
                min: w.min,
                max: w.max,
                last: w.last,
                p50: w.hist.as_ref().map(|h| h.value_at_quantile(0.5)),
                p99: w.hist.as_ref().map(|h| h.value_at_quantile(0.99)),
            })
            .collect()
    }
}

fn merge_window(into: &mut Window, w: &Window) {
    if w.count == 0 {
        return;
    }
    if into.count == 0 {
        into.min = w.min;
        into.max = w.max;
    }
    into.count += w.count;
    into.sum += w.sum;
    into.min = into.min.min(w.min);
    into.max = into.max.max(w.max);
    into.last += w.last;
    if let Some(h) = &w.hist {
        match &mut into.hist {
            Some(mine) => mine.add(h.as_ref()).expect("auto-resizing histograms always merge"),
            None => into.hist = Some(h.clone()),
        }
    }
}

/// Every metric of a run. Node labels are node names; `None` is for events emitted outside any
/// node.
#[derive(Clone, Debug)]
pub struct MetricsReport {
    window: Duration,
    series: BTreeMap<String, BTreeMap<Option<String>, Series>>,
    conflicts: u64,
}

/// One line of [`MetricsReport::summaries`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Metric name.
    pub metric: String,
    /// Node name, or `None` for all nodes merged.
    pub node: Option<String>,
    /// What it measures.
    pub kind: MetricKind,
    /// Sum of samples or increments.
    pub total: f64,
    /// Histogram summary (empty for counters and gauges).
    pub stats: Stats,
}

impl MetricsReport {
    pub(crate) fn from_store(store: &Store, names: &[String]) -> Self {
        let series = store
            .series
            .iter()
            .map(|(metric, by_node)| {
                let by_name = by_node
                    .iter()
                    .enumerate()
                    .filter_map(|(slot, s)| {
                        let node = slot.checked_sub(1).and_then(|n| names.get(n).cloned());
                        s.as_ref().map(|s| (node, s.clone()))
                    })
                    .collect();
                (metric.clone(), by_name)
            })
            .collect();
        MetricsReport { window: Duration::from_nanos(store.window_ns), series, conflicts: store.conflicts }
    }

    /// Width of the time-series windows.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Names of every metric recorded, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series.keys().map(String::as_str)
    }

    /// A metric over every node.
    pub fn metric(&self, name: &str) -> Option<MetricView> {
        let by_node = self.series.get(name)?;
        let series: Vec<&Series> = by_node.values().collect();
        Some(MetricView::merge(series[0].kind, self.window, &series))
    }

    /// A metric on one node.
    pub fn node_metric(&self, name: &str, node: &str) -> Option<MetricView> {
        let s = self.series.get(name)?.get(&Some(node.to_string()))?;
        Some(MetricView::merge(s.kind, self.window, &[s]))
    }

    /// Samples not recorded because their kind differed from the metric's first sample.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// Every metric, merged over nodes and then per node, in a stable order.
    pub fn summaries(&self) -> Vec<Summary> {
        let mut out = Vec::new();
        for (metric, by_node) in &self.series {
            let mut push = |node: Option<String>, view: MetricView| {
                out.push(Summary {
                    metric: metric.clone(),
                    node,
                    kind: view.kind,
                    total: view.total as f64,
                    stats: view.stats(),
                })
            };
            push(None, self.metric(metric).expect("metric exists"));
            if by_node.len() > 1 {
                for (node, s) in by_node {
                    let label = node.clone().unwrap_or_else(|| "-".to_string());
                    push(Some(label), MetricView::merge(s.kind, self.window, &[s]));
                }
            }
        }
        out
    }
}

/// A table: one line per metric (all nodes), durations in milliseconds.
impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "metric", "count", "mean", "p50", "p90", "p99", "p99.9", "max"
        )?;
        for s in self.summaries().iter().filter(|s| s.node.is_none()) {
            match s.kind {
                MetricKind::Counter => writeln!(f, "{:<28} {:>9} (total)", s.metric, s.total)?,
                MetricKind::Gauge => writeln!(f, "{:<28} {:>9} (last, summed over nodes)", s.metric, s.total)?,
                MetricKind::Value | MetricKind::Duration => {
                    let (scale, unit) = if s.kind == MetricKind::Duration { (1e6, "ms") } else { (1.0, "") };
                    let v = |x: f64| format!("{:.3}{unit}", x / scale);
                    let st = &s.stats;
                    writeln!(
                        f,
                        "{:<28} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                        s.metric,
                        st.count,
                        v(st.mean),
                        v(st.p50 as f64),
                        v(st.p90 as f64),
                        v(st.p99 as f64),
                        v(st.p999 as f64),
                        v(st.max as f64)
                    )?;
                }
            }
        }
        Ok(())
    }
}
