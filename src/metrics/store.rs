//! Where metric samples go: per metric and node, one full-precision histogram for the run and
//! one small histogram per time window.

use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;

use super::report::MetricKind;

/// One window of one series.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) last: i64,
    pub(crate) hist: Option<Box<Histogram<u64>>>,
}

impl Window {
    fn add(&mut self, v: i64, sample: bool) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        }
        self.count += 1;
        self.sum += v as f64;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
        if sample {
            let h =
                self.hist.get_or_insert_with(|| Box::new(Histogram::new(2).expect("2 significant figures is valid")));
            let _ = h.record(v.max(0) as u64); // auto-resizing: only u64::MAX overflows
        }
    }
}

/// Everything recorded for one metric on one node.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub(crate) kind: MetricKind,
    pub(crate) hist: Histogram<u64>,
    pub(crate) total: i128,
    pub(crate) last: i64,
    /// Exact extremes (the histogram keeps three significant figures).
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) windows: Vec<Window>,
}

impl Series {
    fn new(kind: MetricKind) -> Self {
        Series {
            kind,
            hist: Histogram::new(3).expect("3 significant figures is valid"),
            total: 0,
            last: 0,
            min: i64::MAX,
            max: i64::MIN,
            windows: Vec::new(),
        }
    }
}

/// All series of a run, keyed by metric name and then by node: slot 0 for events emitted outside
/// any node, slot `id + 1` for node `id`. Hashed for the hot path; reports sort by name.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) window_ns: u64,
    pub(crate) series: FxHashMap<String, Vec<Option<Series>>>,
    /// Samples whose kind differed from the metric's first sample, and were not recorded.
    pub(crate) conflicts: u64,
    /// Reused buffer for the metric name of the event being recorded.
    pub(crate) scratch: String,
}

impl Store {
    pub(crate) fn new(window_ns: u64) -> Self {
        Store { window_ns: window_ns.max(1), series: FxHashMap::default(), conflicts: 0, scratch: String::new() }
    }

    pub(crate) fn record(&mut self, metric: &str, node: Option<u32>, kind: MetricKind, v: i64, now_ns: u64) {
        let by_node = match self.series.get_mut(metric) {
            Some(m) => m,
            None => self.series.entry(metric.to_string()).or_default(),
        };
        let slot = node.map_or(0, |n| n as usize + 1);
        if by_node.len() <= slot {
            by_node.resize_with(slot + 1, || None);
        }
        let series = by_node[slot].get_or_insert_with(|| Series::new(kind));
        if series.kind != kind {
            self.conflicts += 1;
            return;
        }
        let sample = matches!(kind, MetricKind::Value | MetricKind::Duration);
        if sample {
            let _ = series.hist.record(v.max(0) as u64);
        }
        series.total += i128::from(v);
        series.last = v;
        series.min = series.min.min(v);
        series.max = series.max.max(v);
        let w = (now_ns / self.window_ns) as usize;
        if series.windows.len() <= w {
            series.windows.resize_with(w + 1, Window::default);
        }
        series.windows[w].add(v, sample);
    }
}
