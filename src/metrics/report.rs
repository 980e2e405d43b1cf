//! What a run's metrics come to: per metric (every node merged, or one labelled node) the
//! count, mean and percentiles, the total, and the per-window time series. A report owns what
//! the run recorded and hands out views that borrow it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::buckets::{self, BUCKETS};
use super::series::Series;
use super::store::{Slot, Store};

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

impl MetricKind {
    /// Whether its samples go into histograms.
    pub fn is_histogram(self) -> bool {
        matches!(self, MetricKind::Value | MetricKind::Duration)
    }
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
    /// Samples (or increments, for counters; level changes, for gauges) in the window.
    pub count: u64,
    /// Sum of the values (for counters: of the increments).
    pub sum: f64,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Last value.
    pub last: i64,
    /// Median sample (histograms only; within [`MAX_RELATIVE_ERROR`](super::MAX_RELATIVE_ERROR)).
    pub p50: Option<u64>,
    /// 99th percentile sample (histograms only; within the same error).
    pub p99: Option<u64>,
}

/// One metric, over every node or on one node, borrowed from its report.
#[derive(Clone, Copy, Debug)]
pub struct MetricView<'a> {
    kind: MetricKind,
    series: &'a Series,
    window: Duration,
}

impl<'a> MetricView<'a> {
    /// What the metric measures.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    /// Count, mean and percentiles of the samples (percentiles to three significant figures;
    /// min and max exact). Empty for counters and gauges.
    pub fn stats(&self) -> Stats {
        self.series.hist.as_ref().map_or_else(Stats::default, |h| Stats::of(h, self.series.min, self.series.max))
    }

    /// Count, mean and percentiles of the samples recorded in windows `range` (percentiles
    /// within the windows' [`MAX_RELATIVE_ERROR`](super::MAX_RELATIVE_ERROR); count, mean,
    /// min and max exact).
    pub fn stats_in(&self, range: std::ops::Range<usize>) -> Stats {
        if !self.kind.is_histogram() {
            return Stats::default();
        }
        let mut counts = vec![0u64; BUCKETS];
        let (mut count, mut sum, mut min, mut max) = (0u64, 0i128, i64::MAX, i64::MIN);
        for w in self.series.windows().skip(range.start).take(range.len()) {
            if w.count == 0 {
                continue;
            }
            count += w.count;
            sum += w.sum;
            min = min.min(w.min);
            max = max.max(w.max);
            for &(b, c) in w.hist.iter() {
                counts[usize::from(b)] += c;
            }
        }
        if count == 0 {
            return Stats::default();
        }
        let (lo, hi) = (min.max(0) as u64, max.max(0) as u64);
        let q = |q: f64| {
            let used = counts.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(b, &c)| (b, c));
            buckets::quantile(used, count, q, lo, hi).unwrap_or(hi)
        };
        Stats {
            count,
            mean: sum as f64 / count as f64,
            min: lo,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: hi,
        }
    }

    /// The run's histogram at three significant figures (histogram metrics only).
    pub fn histogram(&self) -> Option<&'a Histogram<u64>> {
        self.series.hist.as_ref()
    }

    /// Sum of every sample or increment; for a gauge, its level now (over every node: the
    /// sum of each node's last level).
    pub fn total(&self) -> i128 {
        self.series.total
    }

    /// The time series, one entry per window from the start of the run to the last window
    /// with a sample.
    pub fn windows(&self) -> Vec<WindowStats> {
        let histogram = self.kind.is_histogram();
        self.series
            .windows()
            .enumerate()
            .map(|(i, w)| WindowStats {
                start_s: self.window.as_secs_f64() * i as f64,
                count: w.count,
                sum: w.sum as f64,
                min: w.min,
                max: w.max,
                last: w.last,
                p50: if histogram { w.quantile(0.5) } else { None },
                p99: if histogram { w.quantile(0.99) } else { None },
            })
            .collect()
    }
}

/// Every metric of a run, in name order. Per-node series exist for the metrics the study
/// labelled ([`SimBuilder::per_node`](crate::SimBuilder::per_node)), and only for nodes that
/// recorded them.
#[derive(Clone, Debug)]
pub struct MetricsReport {
    window: Duration,
    slots: Vec<Slot>,
    nodes: Arc<[String]>,
    conflicts: u64,
}

/// One line of [`MetricsReport::summaries`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Metric name.
    pub metric: String,
    /// Node name (`-` for samples emitted outside any node), or `None` for all nodes merged.
    pub node: Option<String>,
    /// What it measures.
    pub kind: MetricKind,
    /// Sum of samples or increments; a gauge's level.
    pub total: f64,
    /// Histogram summary (empty for counters and gauges).
    pub stats: Stats,
}

impl MetricsReport {
    /// Takes what the store recorded (no copy of its windows).
    pub(crate) fn from_store(store: Store, nodes: Arc<[String]>) -> Self {
        let mut slots: Vec<Slot> = store.slots.into_iter().flatten().map(|s| *s).collect();
        slots.sort_by_key(|s| s.name);
        MetricsReport { window: Duration::from_nanos(store.window_ns), slots, nodes, conflicts: store.conflicts }
    }

    fn slot(&self, name: &str) -> Option<&Slot> {
        let i = self.slots.binary_search_by_key(&name, |s| s.name).ok()?;
        Some(&self.slots[i])
    }

    fn view<'a>(&self, slot: &Slot, series: &'a Series) -> MetricView<'a> {
        MetricView { kind: slot.kind, series, window: self.window }
    }

    /// Width of the time-series windows.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Names of every metric recorded, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.name)
    }

    /// A metric over every node.
    pub fn metric(&self, name: &str) -> Option<MetricView<'_>> {
        let slot = self.slot(name)?;
        Some(self.view(slot, &slot.all))
    }

    /// A labelled metric on one node; `None` when the metric is not labelled per node or the
    /// node recorded nothing.
    pub fn node_metric(&self, name: &str, node: &str) -> Option<MetricView<'_>> {
        let slot = self.slot(name)?;
        let n = self.nodes.iter().position(|x| x == node)? + 1;
        let series = slot.nodes.as_ref()?.get(n)?.as_deref()?;
        Some(self.view(slot, series))
    }

    /// Samples not recorded because their kind differed from the metric's first sample.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// Every metric merged over nodes, each followed by its per-node lines if labelled.
    pub fn summaries(&self) -> Vec<Summary> {
        let mut out = Vec::new();
        for slot in &self.slots {
            let mut push = |node: Option<String>, view: MetricView| {
                out.push(Summary {
                    metric: slot.name.to_string(),
                    node,
                    kind: view.kind,
                    total: view.total() as f64,
                    stats: view.stats(),
                })
            };
            push(None, self.view(slot, &slot.all));
            for (n, series) in slot.nodes.iter().flatten().enumerate() {
                if let Some(series) = series {
                    let label = n.checked_sub(1).map_or("-", |i| self.nodes[i].as_str());
                    push(Some(label.to_string()), self.view(slot, series));
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
                MetricKind::Gauge => writeln!(f, "{:<28} {:>9} (level, summed over nodes)", s.metric, s.total)?,
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
