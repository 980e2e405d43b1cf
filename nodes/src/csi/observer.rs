//! The end-to-end oracle: what upstream meant, what downstream stored, and the errors each side
//! saw, kept outside the systems (no system reads it) and compared after the run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use faultline::SimTime;
use serde::{Deserialize, Serialize};

use super::Surface;

/// Names of the oracle's scenario counters ([`CsiResult::counters`]).
pub mod counter {
    /// Attempts upstream sent (config).
    pub const ATTEMPTS: &str = "attempts";
    /// Attempts upstream gave up on (config).
    pub const TIMEOUTS: &str = "timeouts";
    /// Replies to attempts upstream had given up on (config).
    pub const LATE_REPLIES: &str = "late_replies";
    /// Retries downstream recognised by their idempotency key (config).
    pub const DEDUPLICATED: &str = "deduplicated";
    /// Operations that reached the apply step after a newer one on the same entity (api).
    pub const OUT_OF_ORDER: &str = "out_of_order";
}

/// Longest byte excerpt an example keeps, so a report stays readable whatever the record size.
pub const EXAMPLE_BYTES: usize = 48;

#[derive(Clone, Debug)]
struct Sent {
    at: SimTime,
    meant: String,
    bytes: Vec<u8>,
    len: usize,
}

#[derive(Clone, Debug)]
struct Loud {
    at: SimTime,
    surface: Surface,
    kind: String,
    error: String,
}

#[derive(Default)]
struct Ledger {
    sent: BTreeMap<u64, Sent>,
    stored: BTreeMap<u64, Vec<(SimTime, Surface, String)>>,
    loud: BTreeMap<u64, Loud>,
    counters: BTreeMap<&'static str, u64>,
    amounts: BTreeMap<u64, (i128, i128)>,
}

/// The oracle's notebook, shared by the actors of one run and read by the caller afterwards.
/// Systems only write to it; none reads what another wrote.
#[derive(Clone, Default)]
pub struct Observer(Rc<RefCell<Ledger>>);

/// Counts per system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerSurface {
    /// In the upstream system.
    pub upstream: u64,
    /// In the connector.
    pub connector: u64,
    /// In the downstream system.
    pub downstream: u64,
}

impl PerSurface {
    fn add(&mut self, s: Surface) {
        match s {
            Surface::Upstream => self.upstream += 1,
            Surface::Connector => self.connector += 1,
            Surface::Downstream => self.downstream += 1,
        }
    }
}

/// One concrete record that shows a failure kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The failure kind, e.g. `loud at connector: lz4 block`, `silent at downstream` or
    /// `duplicate at downstream` (a side effect applied more than once).
    pub kind: String,
    /// Whether somebody saw an error.
    pub loud: bool,
    /// Where it surfaced.
    pub surface: Surface,
    /// Record id.
    pub record: u64,
    /// What upstream meant.
    pub sent: String,
    /// The first bytes upstream put on the wire, as hex (at most [`EXAMPLE_BYTES`]).
    pub bytes_hex: String,
    /// What was read: the stored value, or the error.
    pub read: String,
}

/// A failure as the oracle classified it: when and where it surfaced, and whether it was loud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// When it surfaced: the error's instant (loud), the wrong value's storing (silent), or the
    /// record's sending (never stored).
    pub at: SimTime,
    /// Whether somebody saw an error.
    pub loud: bool,
    /// Where it surfaced.
    pub surface: Surface,
}

/// One record's fate over time, for time series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// When upstream produced it.
    pub sent: SimTime,
    /// Its failure, if it failed.
    pub failure: Option<Failure>,
    /// How many times it was stored (or its side effect applied): more than one is a duplicate.
    pub copies: usize,
}

impl Mark {
    /// Whether the record went wrong in any way: a failure, or a side effect applied twice.
    pub fn wrong(&self) -> bool {
        self.failure.is_some() || self.copies > 1
    }
}

/// What a run shows, as the oracle sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CsiResult {
    /// Records (or requests, or operations) upstream produced.
    pub records: u64,
    /// Records with an error somebody saw.
    pub loud_failures: u64,
    /// Records stored with a value other than what upstream meant, or never stored and never
    /// reported: wrong without anybody knowing.
    pub silent_corruptions: u64,
    /// (loud + silent) / records.
    pub failure_ratio: f64,
    /// Where failures surfaced (loud and silent).
    pub surfaced_at: PerSurface,
    /// Side effects applied more than once (each extra application counts one).
    pub duplicates: u64,
    /// Counters a scenario keeps besides (attempts, timeouts, out-of-order applies...).
    pub counters: BTreeMap<String, u64>,
    /// Sum of stored minus meant amounts over the records that carry one (types scenario: in
    /// cents), the drift of totals over the run.
    pub drift: i128,
    /// One example record per failure kind, in order of first appearance by record id.
    pub examples: Vec<Example>,
    /// Every record's fate, by record id (not serialized: a study turns it into windows).
    #[serde(skip)]
    pub timeline: Vec<Mark>,
}

fn hex(bytes: &[u8], len: usize) -> String {
    let mut s: String = bytes.iter().take(EXAMPLE_BYTES).map(|b| format!("{b:02x}")).collect();
    if len > EXAMPLE_BYTES {
        s.push_str(&format!("... ({len} bytes)"));
    }
    s
}

impl Observer {
    /// A fresh notebook.
    pub fn new() -> Self {
        Observer::default()
    }

    /// Upstream produced record `id` at `at`, meaning `meant`, written as `bytes` (kept up to
    /// [`EXAMPLE_BYTES`]).
    pub fn sent(&self, id: u64, at: SimTime, meant: String, bytes: &[u8]) {
        let len = bytes.len();
        let bytes = bytes[..len.min(EXAMPLE_BYTES)].to_vec();
        self.0.borrow_mut().sent.insert(id, Sent { at, meant, bytes, len });
    }

    /// Somebody at `surface` saw an error about record `id` at `at` (the first error per record
    /// counts).
    pub fn loud(&self, id: u64, at: SimTime, surface: Surface, kind: &str, error: impl Into<String>) {
        self.0.borrow_mut().loud.entry(id).or_insert(Loud { at, surface, kind: kind.to_string(), error: error.into() });
    }

    /// `surface` stored `value` for record `id` at `at`; storing the same record again is a
    /// duplicate.
    pub fn stored(&self, id: u64, at: SimTime, surface: Surface, value: String) {
        self.0.borrow_mut().stored.entry(id).or_default().push((at, surface, value));
    }

    /// Upstream meant amount `a` for record `id`.
    pub fn amount_meant(&self, id: u64, a: i128) {
        self.0.borrow_mut().amounts.entry(id).or_default().0 = a;
    }

    /// Downstream stored amount `a` for record `id` (each storing adds, so a duplicate drifts).
    pub fn amount_stored(&self, id: u64, a: i128) {
        let mut l = self.0.borrow_mut();
        let e = l.amounts.entry(id).or_default();
        e.1 = e.1.saturating_add(a).saturating_sub(e.0);
    }

    /// Adds `n` to a scenario counter.
    pub fn count(&self, name: &'static str, n: u64) {
        *self.0.borrow_mut().counters.entry(name).or_default() += n;
    }

    /// Compares what downstream stored with what upstream meant.
    pub fn result(&self) -> CsiResult {
        let l = self.0.borrow();
        let mut r = CsiResult { records: l.sent.len() as u64, ..CsiResult::default() };
        let mut seen_kinds: Vec<String> = Vec::new();
        let mut example =
            |r: &mut CsiResult, kind: String, loud: bool, surface: Surface, id: u64, s: &Sent, read: String| {
                if !seen_kinds.contains(&kind) {
                    seen_kinds.push(kind.clone());
                    r.examples.push(Example {
                        kind,
                        loud,
                        surface,
                        record: id,
                        sent: s.meant.clone(),
                        bytes_hex: hex(&s.bytes, s.len),
                        read,
                    });
                }
            };
        for (&id, s) in &l.sent {
            let stored = l.stored.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            r.duplicates += (stored.len() as u64).saturating_sub(1);
            let failure = |at, loud, surface| Some(Failure { at, loud, surface });
            let mut mark = Mark { sent: s.at, failure: None, copies: stored.len() };
            if let Some(e) = l.loud.get(&id) {
                r.loud_failures += 1;
                r.surfaced_at.add(e.surface);
                mark.failure = failure(e.at, true, e.surface);
                let kind = format!("loud at {}: {}", e.surface, e.kind);
                example(&mut r, kind, true, e.surface, id, s, e.error.clone());
            } else if let Some((at, surface, value)) = stored.iter().find(|(_, _, v)| *v != s.meant) {
                r.silent_corruptions += 1;
                r.surfaced_at.add(*surface);
                mark.failure = failure(*at, false, *surface);
                example(&mut r, format!("silent at {surface}"), false, *surface, id, s, value.clone());
            } else if stored.is_empty() {
                r.silent_corruptions += 1;
                r.surfaced_at.add(Surface::Downstream);
                mark.failure = failure(s.at, false, Surface::Downstream);
                example(&mut r, "silent: never stored".into(), false, Surface::Downstream, id, s, "(nothing)".into());
            }
            if mark.failure.is_none() && stored.len() > 1 {
                let (_, surface, value) = &stored[0];
                let read = format!("{value} ({} times)", stored.len());
                example(&mut r, format!("duplicate at {surface}"), false, *surface, id, s, read);
            }
            r.timeline.push(mark);
        }
        if r.records > 0 {
            r.failure_ratio = (r.loud_failures + r.silent_corruptions) as f64 / r.records as f64;
        }
        r.drift = l.amounts.values().map(|(_, d)| *d).sum();
        r.counters = l.counters.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        r
    }
}

impl std::fmt::Display for CsiResult {
    /// The readable account: the counts, where failures surfaced, and one example per kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wrong = self.loud_failures + self.silent_corruptions;
        writeln!(
            f,
            "{wrong} of {} records wrong ({:.2}%): {} loud, {} silent; {} duplicate side effects",
            self.records,
            100.0 * self.failure_ratio,
            self.loud_failures,
            self.silent_corruptions,
            self.duplicates
        )?;
        let s = &self.surfaced_at;
        writeln!(f, "surfaced at: upstream {}, connector {}, downstream {}", s.upstream, s.connector, s.downstream)?;
        if self.drift != 0 {
            writeln!(f, "drift of totals: {}", self.drift)?;
        }
        for (k, v) in &self.counters {
            writeln!(f, "{k}: {v}")?;
        }
        for e in &self.examples {
            writeln!(f, "{} (record {}):", e.kind, e.record)?;
            writeln!(f, "  sent:  {}", e.sent)?;
            writeln!(f, "  bytes: {}", e.bytes_hex)?;
            writeln!(f, "  read:  {}", e.read)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_loud_silent_missing_and_duplicates() {
        let o = Observer::new();
        let t = |s: u64| SimTime::ZERO + std::time::Duration::from_secs(s);
        for id in 0..5 {
            o.sent(id, t(id), format!("v{id}"), &[0xab; 60]);
        }
        o.stored(0, t(10), Surface::Downstream, "v0".into());
        o.stored(1, t(11), Surface::Downstream, "wrong".into());
        o.loud(2, t(12), Surface::Connector, "lz4", "bad magic");
        o.stored(3, t(13), Surface::Downstream, "v3".into());
        o.stored(3, t(14), Surface::Downstream, "v3".into());
        let r = o.result();
        assert_eq!((r.records, r.loud_failures, r.silent_corruptions, r.duplicates), (5, 1, 2, 1));
        assert_eq!(r.surfaced_at, PerSurface { upstream: 0, connector: 1, downstream: 2 });
        assert!((r.failure_ratio - 0.6).abs() < 1e-12);
        assert_eq!(r.examples.len(), 4);
        let dup = r.examples.iter().find(|e| e.kind == "duplicate at downstream").expect("a duplicate example");
        assert_eq!((dup.record, dup.read.as_str()), (3, "v3 (2 times)"));
        let failures: Vec<_> = r.timeline.iter().map(|m| m.failure.map(|f| (f.at, f.loud, f.surface))).collect();
        assert_eq!(
            failures,
            [
                None,
                Some((t(11), false, Surface::Downstream)),
                Some((t(12), true, Surface::Connector)),
                None,
                Some((t(4), false, Surface::Downstream)),
            ],
            "when each failure surfaced: stored wrong, the error, or the sending of one never stored"
        );
        assert!(r.examples[0].bytes_hex.ends_with("... (60 bytes)"), "{}", r.examples[0].bytes_hex);
        let text = r.to_string();
        assert!(text.starts_with("3 of 5 records wrong (60.00%): 1 loud, 2 silent; 1 duplicate"), "{text}");
        assert!(text.contains("silent at downstream (record 1):\n  sent:  v1\n"), "{text}");
    }
}
