//! From per-window counts to what happened: phases before, during and after the trigger,
//! whether goodput came back (judged on a moving window), and a verdict in words.

use serde::{Deserialize, Serialize};

/// What happened to requests over some time: a window, or the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// New requests.
    pub offered: u64,
    /// Attempts, retries included.
    pub attempts: u64,
    /// Retries.
    pub retries: u64,
    /// Successes that reached their client in time.
    pub goodput: u64,
    /// Attempts the client gave up on.
    pub timeouts: u64,
    /// Attempts rejected, shed or dropped.
    pub shed: u64,
    /// Replies that came after their client had given up.
    pub late: u64,
    /// Of those, the ones the server served (not refusals): its wasted work.
    #[serde(default)]
    pub wasted: u64,
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| Counts {
            offered: a.offered + b.offered,
            attempts: a.attempts + b.attempts,
            retries: a.retries + b.retries,
            goodput: a.goodput + b.goodput,
            timeouts: a.timeouts + b.timeouts,
            shed: a.shed + b.shed,
            late: a.late + b.late,
            wasted: a.wasted + b.wasted,
        })
    }
}

/// One time window of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Start of the window, in seconds.
    pub t_s: f64,
    /// Requests in the window.
    #[serde(flatten)]
    pub counts: Counts,
    /// Longest server queue in the window.
    pub queue: i64,
    /// Most requests in service in the window.
    pub concurrency: i64,
    /// Median latency of successes (ms), if any.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of successes (ms), if any.
    pub p99_ms: Option<f64>,
}

/// Rates and latencies over a phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Start (s).
    pub start_s: f64,
    /// End (s).
    pub end_s: f64,
    /// New requests per second.
    pub offered_rps: f64,
    /// Successes in time per second.
    pub goodput_rps: f64,
    /// Goodput / offered.
    pub goodput_ratio: f64,
    /// Attempts / offered.
    pub retry_amplification: f64,
    /// Late replies per second.
    pub late_rps: f64,
    /// Attempts served for clients that had already given up, per second.
    #[serde(default)]
    pub wasted_rps: f64,
    /// Longest server queue in the phase.
    #[serde(default)]
    pub max_queue: i64,
    /// Median latency of successes (ms).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of successes (ms).
    pub p99_ms: Option<f64>,
}

/// The three phases; `during` and `after` are absent without a trigger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Up to the trigger (the whole run without one).
    pub before: Phase,
    /// The trigger.
    pub during: Option<Phase>,
    /// From the trigger's end plus the settle time to the end.
    pub after: Option<Phase>,
}

/// Sums windows `range` into a phase, in a run whose windows end at `end_s` (a partial last
/// window counts for the time it covered, not for a whole window); `percentiles` gives p50/p99
/// (ms) over the same windows.
pub fn phase(
    windows: &[Window],
    range: std::ops::Range<usize>,
    width_s: f64,
    end_s: f64,
    percentiles: &dyn Fn(std::ops::Range<usize>) -> (Option<f64>, Option<f64>),
) -> Phase {
    let ws = &windows[range.clone()];
    let (from, to) = (range.start as f64 * width_s, (range.end as f64 * width_s).min(end_s));
    let secs = (to - from).max(f64::MIN_POSITIVE);
    let c: Counts = ws.iter().map(|w| w.counts).sum();
    let (offered, goodput) = (c.offered as f64, c.goodput as f64);
    let (p50_ms, p99_ms) = percentiles(range.clone());
    Phase {
        start_s: from,
        end_s: to.max(from),
        offered_rps: offered / secs,
        goodput_rps: goodput / secs,
        goodput_ratio: if offered > 0.0 { goodput / offered } else { 1.0 },
        retry_amplification: if offered > 0.0 { c.attempts as f64 / offered } else { 0.0 },
        late_rps: c.late as f64 / secs,
        wasted_rps: c.wasted as f64 / secs,
        max_queue: ws.iter().map(|w| w.queue).max().unwrap_or(0),
        p50_ms,
        p99_ms,
    }
}

/// The first window at or after `from` from which the goodput ratio, judged on a moving window
/// of `k` windows, stays within 5% of `before_ratio` to the end. `None` when it never settles
/// there (or the run leaves no full moving window after `from`).
pub fn recovery(windows: &[Window], from: usize, k: usize, before_ratio: f64) -> Option<usize> {
    let threshold = before_ratio * 0.95;
    let last = windows.len().checked_sub(k)?;
    if from > last {
        return None;
    }
    // Prefix sums make each moving window O(1): the analysis is linear in windows (it was
    // quadratic, and `--window 100us` hung in it).
    let mut offered = Vec::with_capacity(windows.len() + 1);
    let mut goodput = Vec::with_capacity(windows.len() + 1);
    let (mut o, mut g) = (0u64, 0u64);
    offered.push(0);
    goodput.push(0);
    for w in windows {
        o += w.counts.offered;
        g += w.counts.goodput;
        offered.push(o);
        goodput.push(g);
    }
    let moving_ratio = |i: usize| {
        let (o, g) = (offered[i + k] - offered[i], goodput[i + k] - goodput[i]);
        if o == 0 { 1.0 } else { g as f64 / o as f64 }
    };
    let mut start = None;
    for i in from..=last {
        if moving_ratio(i) >= threshold {
            start.get_or_insert(i);
        } else {
            start = None;
        }
    }
    start
}

/// The verdict: what happened, in one line, with the numbers that say why.
pub fn verdict(phases: &Phases, recovery_s: Option<f64>, trigger: &str, after_s: f64) -> String {
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let Some(after) = &phases.after else {
        let b = &phases.before;
        if b.offered_rps == 0.0 {
            // `--load constant --base-rps 1e-20` offered no request in the run: "healthy,
            // goodput 100%" would be a claim about nothing.
            return "nothing to judge: no request was offered in the run (--base-rps too low?)".into();
        }
        let state = if b.goodput_ratio >= 0.95 { "healthy" } else { "degraded" };
        return format!(
            "{state}: goodput {} of offered load, {:.2} attempts per request, p99 {}",
            pct(b.goodput_ratio),
            b.retry_amplification,
            b.p99_ms.map_or("n/a".into(), |p| format!("{p:.0} ms"))
        );
    };
    let retry_share = |p: &Phase| if p.retry_amplification > 0.0 { 1.0 - 1.0 / p.retry_amplification } else { 0.0 };
    match recovery_s {
        Some(s) => format!(
            "recovered: goodput came back to within 5% of before {s:.0} s after the {trigger} ended (after: {} of offered, {:.2} attempts per request)",
            pct(after.goodput_ratio),
            after.retry_amplification
        ),
        None => format!(
            "metastable: goodput stayed at {} of offered load for {after_s:.0} s after the {trigger} ended; retries made up {} of the attempts, and the server served {:.0} attempts/s whose clients had already given up",
            pct(after.goodput_ratio),
            pct(retry_share(after)),
            after.wasted_rps
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(offered: u64, goodput: u64) -> Window {
        Window { counts: Counts { offered, goodput, attempts: offered, ..Counts::default() }, ..Window::default() }
    }

    #[test]
    fn recovery_needs_the_moving_window_to_stay_up() {
        let mut ws: Vec<Window> = (0..10).map(|_| w(100, 100)).collect();
        ws.extend((0..5).map(|_| w(100, 0)));
        ws.extend((0..3).map(|_| w(100, 100)));
        ws.push(w(100, 0)); // a dip: judged on 5 windows it pulls the ratio to 0.8
        ws.extend((0..10).map(|_| w(100, 100)));
        assert_eq!(recovery(&ws, 10, 5, 1.0), Some(19), "only from after the dip does it stay up");
        assert_eq!(recovery(&ws, 10, 1, 1.0), Some(19));
        let down: Vec<Window> = (0..20).map(|_| w(100, 10)).collect();
        assert_eq!(recovery(&down, 5, 5, 1.0), None);
        assert_eq!(recovery(&down, 18, 5, 1.0), None, "no full moving window left");
    }

    #[test]
    fn phases_sum_their_windows() {
        let ws = vec![w(100, 100), w(200, 50)];
        let p = phase(&ws, 0..2, 1.0, 2.0, &|_| (Some(1.0), Some(2.0)));
        assert_eq!(p.offered_rps, 150.0);
        let partial = phase(&ws, 0..2, 1.0, 1.5, &|_| (None, None));
        assert_eq!((partial.end_s, partial.offered_rps), (1.5, 200.0), "a half last window counts half a second");
        assert_eq!(p.goodput_ratio, 0.5);
        assert_eq!(p.p99_ms, Some(2.0));
    }

    #[test]
    fn verdicts_say_what_and_why() {
        let down = Phase { goodput_ratio: 0.03, retry_amplification: 4.0, wasted_rps: 240.0, ..Phase::default() };
        let phases = Phases { before: Phase::default(), during: None, after: Some(down) };
        assert_eq!(
            verdict(&phases, None, "spike", 70.0),
            "metastable: goodput stayed at 3% of offered load for 70 s after the spike ended; retries made up 75% of the attempts, and the server served 240 attempts/s whose clients had already given up"
        );
    }
}
