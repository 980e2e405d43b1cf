//! Typed metric handles: a metric declared once as a `static`, resolved to a numeric id on its
//! first use, so that recording a sample costs an index in the store, not a string lookup.
//!
//! ```
//! use faultline::metrics::{Counter, DurationHistogram};
//!
//! static REQUESTS: Counter = Counter::new("requests");
//! static LATENCY: DurationHistogram = DurationHistogram::new("latency");
//!
//! REQUESTS.add(1); // inside a node: labelled with it, stamped with virtual time
//! LATENCY.record(std::time::Duration::from_millis(3));
//! ```
//!
//! Ids come from one process-wide registry of names, so a handle and the string functions
//! ([`count`](super::count) and the rest) that name the same metric land in the same series.
//! Ids never reach a report: reports order metrics by name.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::METRIC_TARGET;
use super::recorder::{handing, signed};
use super::report::MetricKind;

/// Every metric name the process has used, and its id (its index in `names`).
struct Registry {
    ids: BTreeMap<&'static str, u32>,
    names: Vec<&'static str>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { ids: BTreeMap::new(), names: Vec::new() });

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Names a thread has looked up, by where their bytes are (address, length), with their id
/// and their registered copy.
type Seen = rustc_hash::FxHashMap<(usize, usize), (u32, &'static str)>;

thread_local! {
    /// This thread's names: a metric named by a string literal is found again without the lock.
    static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::new(Seen::default());
}

/// The most names a thread remembers (beyond, it asks the registry each time).
const SEEN_MAX: usize = 4096;

/// The id of metric `name`, registering it on first use. A name given at run time is copied
/// once into static memory: metric names come from code, so they are few. Each thread
/// remembers where the names it saw live, and checks the bytes are still the name (a string
/// freed and another one built at the same address is looked up again).
pub(crate) fn id_of(name: &str) -> u32 {
    let at = (name.as_ptr() as usize, name.len());
    let seen = SEEN.with(|m| m.borrow().get(&at).copied());
    if let Some((id, registered)) = seen
        && registered == name
    {
        return id;
    }
    let id = registered_id_of(name);
    let registered = name_of(id);
    SEEN.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < SEEN_MAX || m.contains_key(&at) {
            m.insert(at, (id, registered));
        }
    });
    id
}

fn registered_id_of(name: &str) -> u32 {
    let mut reg = registry();
    if let Some(&id) = reg.ids.get(name) {
        return id;
    }
    let id = u32::try_from(reg.names.len()).expect("fewer than 2^32 metric names");
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    reg.names.push(name);
    reg.ids.insert(name, id);
    id
}

/// The name of metric `id`.
pub(crate) fn name_of(id: u32) -> &'static str {
    registry().names[id as usize]
}

/// A metric's name and its id, resolved once.
#[derive(Debug)]
struct Key {
    name: &'static str,
    id: OnceLock<u32>,
}

impl Key {
    const fn new(name: &'static str) -> Self {
        Key { name, id: OnceLock::new() }
    }

    #[inline]
    fn id(&self) -> u32 {
        *self.id.get_or_init(|| id_of(self.name))
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(Key);

        impl $name {
            /// A handle for the metric `name`; declare it as a `static`.
            pub const fn new(name: &'static str) -> Self {
                $name(Key::new(name))
            }

            /// The metric's name, as reports show it.
            pub fn name(&self) -> &'static str {
                self.0.name
            }
        }
    };
}

handle!(
    /// A counter: a total of increments, and the increments per window.
    Counter
);
handle!(
    /// A level (queue length, connections): each node's last value; merged over nodes, the
    /// sum of every node's last value.
    Gauge
);
handle!(
    /// A histogram of unitless samples (sizes, counts per request).
    Histogram
);
handle!(
    /// A histogram of durations, recorded in nanoseconds.
    DurationHistogram
);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        handing(self.0.id(), MetricKind::Counter, signed(n), || {
            tracing::trace!(target: METRIC_TARGET, metric = self.0.name, count = n);
        });
    }
}

impl Gauge {
    /// Sets the level of the node recording it to `value`.
    #[inline]
    pub fn set(&self, value: i64) {
        handing(self.0.id(), MetricKind::Gauge, value, || {
            tracing::trace!(target: METRIC_TARGET, metric = self.0.name, gauge = value);
        });
    }
}

impl Histogram {
    /// Records one sample.
    #[inline]
    pub fn record(&self, value: u64) {
        handing(self.0.id(), MetricKind::Value, signed(value), || {
            tracing::trace!(target: METRIC_TARGET, metric = self.0.name, value);
        });
    }
}

impl DurationHistogram {
    /// Records one duration (saturating at `u64::MAX` nanoseconds, about 584 years).
    #[inline]
    pub fn record(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        handing(self.0.id(), MetricKind::Duration, signed(nanos), || {
            tracing::trace!(target: METRIC_TARGET, metric = self.0.name, nanos);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_found_again_at_the_same_address_is_checked_by_its_bytes() {
        let mut name = String::from("handle-test-a");
        let a = id_of(&name);
        assert_eq!(id_of(&name), a, "found again");
        assert_eq!(id_of("handle-test-a"), a, "the same name elsewhere is the same metric");
        // The same buffer, the same length, another name.
        let at = name.as_ptr();
        name.clear();
        name.push_str("handle-test-b");
        assert_eq!(name.as_ptr(), at);
        let b = id_of(&name);
        assert_ne!(a, b);
        assert_eq!((name_of(a), name_of(b)), ("handle-test-a", "handle-test-b"));
    }
}
