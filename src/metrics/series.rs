//! One series of samples: a full-precision histogram for the whole run, exact totals and
//! extremes, and a time series of windows that each keep a few counters and a histogram in
//! the shared two-figure bucket layout.
//!
//! Only the current window holds a dense bucket array; a window that ends keeps just the
//! buckets it used. So memory follows windows × buckets used, and a series that records
//! nothing costs nothing.

use std::borrow::Cow;

use hdrhistogram::Histogram;

use super::buckets::{self, BUCKETS};

/// A closed window: its counters, and its histogram as `(bucket, count)` in bucket order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    pub(crate) count: u64,
    pub(crate) sum: i128,
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) last: i64,
    pub(crate) hist: Box<[(u16, u64)]>,
}

impl Window {
    /// The `q` quantile of the window's samples, within the bucket layout's error.
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.hist.iter().map(|&(_, c)| c).sum();
        let counts = self.hist.iter().map(|&(b, c)| (usize::from(b), c));
        buckets::quantile(counts, total, q, self.min.max(0) as u64, self.max.max(0) as u64)
    }
}

/// The window being filled.
#[derive(Clone, Debug)]
struct Current {
    index: u64,
    /// First instant after the window (ns).
    end_ns: u64,
    window: Window,
    /// Dense counts, allocated on the first histogram sample.
    dense: Option<Box<[u64; BUCKETS]>>,
    /// Buckets of `dense` used in this window, to close it without a scan.
    used: Vec<u16>,
}

/// Everything recorded for one metric, over every node or on one node.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// Samples at three significant figures (histogram metrics only).
    pub(crate) hist: Option<Histogram<u64>>,
    pub(crate) total: i128,
    /// Exact extremes (the histograms keep fewer figures).
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) last: i64,
    pub(crate) closed: Vec<Window>,
    current: Option<Current>,
}

impl Series {
    pub(crate) fn new(histogram: bool) -> Self {
        Series {
            hist: histogram.then(|| Histogram::new(3).expect("3 significant figures is valid")),
            total: 0,
            min: i64::MAX,
            max: i64::MIN,
            last: 0,
            closed: Vec::new(),
            current: None,
        }
    }

    /// Records `v` in window `index` (which ends at `end_ns`); `index` never goes back.
    /// `add` is what the total grows by (the sample, or for gauges nothing: their total is
    /// their level).
    #[inline]
    pub(crate) fn record(&mut self, v: i64, add: i64, index: u64, end_ns: u64) {
        if let Some(h) = &mut self.hist {
            let _ = h.record(v.max(0) as u64); // auto-resizing: only u64::MAX overflows
        }
        self.total += i128::from(add);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
        let histogram = self.hist.is_some();
        let cur = self.current_window(index, end_ns);
        let w = &mut cur.window;
        if w.count == 0 {
            w.min = v;
            w.max = v;
        }
        w.count += 1;
        w.sum += i128::from(v);
        w.min = w.min.min(v);
        w.max = w.max.max(v);
        w.last = v;
        if histogram {
            let b = buckets::bucket(v.max(0) as u64);
            let dense = cur.dense.get_or_insert_with(|| Box::new([0; BUCKETS]));
            if dense[b] == 0 {
                cur.used.push(b as u16);
            }
            dense[b] += 1;
        }
    }

    /// The window `index`, closing the current one (and empty ones in between) if it is older.
    #[inline]
    fn current_window(&mut self, index: u64, end_ns: u64) -> &mut Current {
        if self.current.as_ref().is_some_and(|c| c.index != index) {
            let mut cur = self.current.take().expect("checked");
            self.closed.push(close(&mut cur));
            let gap = (index - cur.index - 1) as usize;
            self.closed.extend(std::iter::repeat_with(Window::default).take(gap));
            cur.index = index;
            cur.end_ns = end_ns;
            self.current = Some(cur);
        }
        if self.current.is_none() {
            self.closed.extend(std::iter::repeat_with(Window::default).take(index as usize));
        }
        self.current.get_or_insert_with(|| Current {
            index,
            end_ns,
            window: Window::default(),
            dense: None,
            used: Vec::new(),
        })
    }

    /// Whether `now_ns` still falls in the current window (the caller's fast path).
    #[inline]
    pub(crate) fn current_ends_after(&self, now_ns: u64) -> Option<(u64, u64)> {
        self.current.as_ref().filter(|c| now_ns < c.end_ns).map(|c| (c.index, c.end_ns))
    }

    /// Every window from the start of the run to the last one recorded, the current one
    /// included (summarized as if it ended now; the series goes on).
    pub(crate) fn windows(&self) -> impl Iterator<Item = Cow<'_, Window>> {
        let current = self.current.as_ref().map(|c| Cow::Owned(snapshot(c)));
        self.closed.iter().map(Cow::Borrowed).chain(current)
    }
}

/// The current window as it would close now.
fn snapshot(cur: &Current) -> Window {
    let mut w = cur.window.clone();
    if let Some(dense) = &cur.dense {
        let mut used = cur.used.clone();
        used.sort_unstable();
        w.hist = used.iter().map(|&b| (b, dense[usize::from(b)])).collect();
    }
    w
}

/// Ends the current window: its histogram shrinks to the buckets it used, and the dense
/// array is zeroed for the next window.
fn close(cur: &mut Current) -> Window {
    let mut w = std::mem::take(&mut cur.window);
    if let Some(dense) = &mut cur.dense {
        cur.used.sort_unstable();
        w.hist = cur.used.iter().map(|&b| (b, std::mem::take(&mut dense[usize::from(b)]))).collect();
        cur.used.clear();
    }
    w
}
