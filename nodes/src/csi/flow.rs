//! A data-plane pipeline: an upstream system that writes records, an optional connector, and a
//! downstream system that reads and stores them, as three actors exchanging raw bytes. A
//! scenario only says how each side writes and reads ([`DataFlow`]); the actors, the self-tests
//! and the oracle's bookkeeping are the same for all.

use std::rc::Rc;
use std::time::Duration;

use faultline::{Context, Node, SimBuilder, SimRng, async_trait};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Observer, Raw, Surface, metric};

/// Node names of a data-plane pipeline.
pub mod names {
    /// The writing system.
    pub const UPSTREAM: &str = "upstream";
    /// The glue (only where the scenario has one).
    pub const CONNECTOR: &str = "connector";
    /// The reading system.
    pub const DOWNSTREAM: &str = "downstream";
}

/// A read or write that failed, as the system that tried reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    /// Short kind, the same for every record failing the same way (e.g. `utf-8 decode`).
    pub kind: &'static str,
    /// The error text the system shows.
    pub error: String,
}

impl Fail {
    /// A failure of kind `kind`.
    pub fn new(kind: &'static str, error: impl ToString) -> Self {
        Fail { kind, error: error.to_string() }
    }
}

/// Two systems (and maybe a connector) that exchange records as bytes. Each side has its own
/// writer and reader; each side alone round-trips its own data.
pub trait DataFlow: 'static {
    /// A record as upstream holds it.
    type Up;
    /// A record as downstream holds it.
    type Down;

    /// Records upstream produces in a run.
    fn records(&self) -> u64;
    /// Mean gap between two records (arrivals are a Poisson process).
    fn spacing(&self) -> Duration;
    /// One record of upstream's data; the environment decides its content.
    fn generate(&self, rng: &mut SimRng) -> Self::Up;
    /// What upstream means by the record, in words both sides' meaning can be compared in.
    fn meant(&self, v: &Self::Up) -> String;
    /// Upstream's writer.
    fn write(&self, v: &Self::Up) -> Result<Vec<u8>, Fail>;
    /// Upstream's own reader (used by its self-test).
    fn read_own(&self, bytes: &[u8]) -> Result<Self::Up, Fail>;

    /// Whether a connector sits between the two systems.
    fn has_connector(&self) -> bool {
        false
    }
    /// The connector: bytes as they arrive to bytes for downstream's reader.
    fn connect(&self, bytes: &[u8]) -> Result<Vec<u8>, Fail> {
        Ok(bytes.to_vec())
    }

    /// Downstream's reader.
    fn read(&self, bytes: &[u8]) -> Result<Self::Down, Fail>;
    /// Downstream's own writer, in the format its connector and reader expect (self-test).
    fn write_own(&self, v: &Self::Down) -> Result<Vec<u8>, Fail>;
    /// What downstream's stored value means, comparable with [`DataFlow::meant`].
    fn stored(&self, v: &Self::Down) -> String;
    /// The amount upstream meant, in the scenario's smallest unit, where records carry one
    /// (the oracle sums the drift of totals).
    fn meant_amount(&self, _v: &Self::Up) -> Option<i128> {
        None
    }
    /// The amount downstream stored, in the same unit.
    fn stored_amount(&self, _v: &Self::Down) -> Option<i128> {
        None
    }
    /// One record of downstream's own test data.
    fn own_sample(&self, rng: &mut SimRng) -> Self::Down;
}

/// How a record fares from upstream's writer to downstream's store, without any network: what
/// a write-read test does. `Ok` if downstream stores what upstream meant.
pub fn cross<F: DataFlow + ?Sized>(flow: &F, v: &F::Up) -> Result<(), String> {
    let bytes = flow.write(v).map_err(|f| format!("upstream: {}", f.error))?;
    let bytes = flow.connect(&bytes).map_err(|f| format!("connector: {}", f.error))?;
    let d = flow.read(&bytes).map_err(|f| format!("downstream: {}", f.error))?;
    let (meant, got) = (flow.meant(v), flow.stored(&d));
    if meant == got { Ok(()) } else { Err(format!("meant {meant}, stored {got}")) }
}

/// One system's test suite, run alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfTest {
    /// Which system.
    pub system: String,
    /// Records round-tripped.
    pub samples: u64,
    /// Records that came back as they went in.
    pub passed: u64,
    /// The first that did not, if any.
    pub first_failure: Option<String>,
}

impl SelfTest {
    /// Whether every sample passed.
    pub fn pass(&self) -> bool {
        self.samples > 0 && self.passed == self.samples
    }

    pub(crate) fn new(system: &str) -> Self {
        SelfTest { system: system.to_string(), samples: 0, passed: 0, first_failure: None }
    }

    pub(crate) fn check(&mut self, outcome: Result<(), String>) {
        self.samples += 1;
        match outcome {
            Ok(()) => self.passed += 1,
            Err(e) => {
                self.first_failure.get_or_insert(e);
            }
        }
    }
}

/// Both systems' self-tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfTests {
    /// The upstream system alone.
    pub upstream: SelfTest,
    /// The downstream system alone (with its connector, where it has one).
    pub downstream: SelfTest,
}

impl SelfTests {
    /// Whether both pass.
    pub fn pass(&self) -> bool {
        self.upstream.pass() && self.downstream.pass()
    }
}

impl std::fmt::Display for SelfTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.pass() { "pass" } else { "FAIL" };
        write!(f, "{} alone: {verdict} ({}/{})", self.system, self.passed, self.samples)?;
        if let Some(e) = &self.first_failure {
            write!(f, ", first failure: {e}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for SelfTests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}. {}.", self.upstream, self.downstream)
    }
}

/// Runs each side's self-test on `n` of its own records: a round trip through its own writer
/// and reader.
pub fn self_tests<F: DataFlow + ?Sized>(flow: &F, n: u64, rng: &mut SimRng) -> SelfTests {
    let mut up = SelfTest::new(names::UPSTREAM);
    let mut down = SelfTest::new(names::DOWNSTREAM);
    for _ in 0..n {
        let v = flow.generate(rng);
        up.check((|| {
            let bytes = flow.write(&v).map_err(|f| f.error)?;
            let back = flow.read_own(&bytes).map_err(|f| f.error)?;
            let (a, b) = (flow.meant(&v), flow.meant(&back));
            if a == b { Ok(()) } else { Err(format!("wrote {a}, read {b}")) }
        })());
        let d = flow.own_sample(rng);
        down.check((|| {
            let bytes = flow.write_own(&d).map_err(|f| f.error)?;
            let bytes = flow.connect(&bytes).map_err(|f| f.error)?;
            let back = flow.read(&bytes).map_err(|f| f.error)?;
            let (a, b) = (flow.stored(&d), flow.stored(&back));
            if a == b { Ok(()) } else { Err(format!("wrote {a}, read {b}")) }
        })());
    }
    SelfTests { upstream: up, downstream: down }
}

/// Prefixes a payload with its record id: the transport's own key, which both sides agree on
/// (as a Kafka offset is), so the oracle can follow a record whatever happens to its payload.
pub fn frame(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Splits a framed message into id and payload; `None` if it is shorter than the id.
pub fn unframe(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (id, payload) = bytes.split_at_checked(8)?;
    Some((u64::from_be_bytes(id.try_into().ok()?), payload))
}

/// An exponential gap with mean `mean` (Poisson arrivals).
pub fn exponential(rng: &mut SimRng, mean: Duration) -> Duration {
    let u: f64 = rng.random();
    mean.mul_f64(-(1.0 - u).ln())
}

/// Adds the pipeline's nodes (`upstream`, maybe `connector`, `downstream`) to `builder`.
pub fn install<F: DataFlow>(builder: SimBuilder<Raw>, flow: F, observer: &Observer) -> SimBuilder<Raw> {
    let flow = Rc::new(flow);
    let (f, o) = (flow.clone(), observer.clone());
    let mut b = builder.node(names::UPSTREAM, move || Upstream { flow: f.clone(), observer: o.clone() });
    if flow.has_connector() {
        let (f, o) = (flow.clone(), observer.clone());
        b = b.node(names::CONNECTOR, move || Connector { flow: f.clone(), observer: o.clone() });
    }
    let (f, o) = (flow, observer.clone());
    b.node(names::DOWNSTREAM, move || Downstream { flow: f.clone(), observer: o.clone() })
}

/// The writing system: produces records, writes them with its writer, sends them on.
pub struct Upstream<F> {
    flow: Rc<F>,
    observer: Observer,
}

#[async_trait(?Send)]
impl<F: DataFlow> Node<Raw> for Upstream<F> {
    async fn run(&mut self, ctx: Context<Raw>) {
        let next = if self.flow.has_connector() { names::CONNECTOR } else { names::DOWNSTREAM };
        let Some(to) = ctx.node_id(next) else {
            self.observer.loud(0, ctx.now(), Surface::Upstream, "setup", format!("no node named {next}"));
            return;
        };
        for id in 0..self.flow.records() {
            let gap = exponential(&mut ctx.rng(), self.flow.spacing());
            ctx.sleep(gap).await;
            let v = self.flow.generate(&mut ctx.rng());
            metric::RECORDS.add(1);
            match self.flow.write(&v) {
                Ok(bytes) => {
                    self.observer.sent(id, ctx.now(), self.flow.meant(&v), &bytes);
                    if let Some(a) = self.flow.meant_amount(&v) {
                        self.observer.amount_meant(id, a);
                    }
                    metric::MESSAGES.add(1);
                    ctx.send_raw(to, frame(id, &bytes));
                }
                Err(f) => {
                    tracing::info!(record = id, kind = f.kind, error = %f.error, "upstream cannot write the record");
                    self.observer.sent(id, ctx.now(), self.flow.meant(&v), &[]);
                    self.observer.loud(id, ctx.now(), Surface::Upstream, f.kind, f.error);
                    metric::LOUD.add(1);
                }
            }
        }
    }
}

/// The glue: takes what upstream sent, hands downstream what it made of it.
pub struct Connector<F> {
    flow: Rc<F>,
    observer: Observer,
}

#[async_trait(?Send)]
impl<F: DataFlow> Node<Raw> for Connector<F> {
    async fn run(&mut self, ctx: Context<Raw>) {
        let Some(to) = ctx.node_id(names::DOWNSTREAM) else { return };
        loop {
            let packet = ctx.recv_raw().await;
            let Some((id, payload)) = unframe(&packet.bytes) else { continue };
            match self.flow.connect(payload) {
                Ok(bytes) => {
                    metric::MESSAGES.add(1);
                    ctx.send_raw(to, frame(id, &bytes));
                }
                Err(f) => {
                    tracing::info!(record = id, kind = f.kind, error = %f.error, "the connector refuses the record");
                    self.observer.loud(id, ctx.now(), Surface::Connector, f.kind, f.error);
                    metric::LOUD.add(1);
                }
            }
        }
    }
}

/// The reading system: reads each record with its reader and stores it.
pub struct Downstream<F> {
    flow: Rc<F>,
    observer: Observer,
}

#[async_trait(?Send)]
impl<F: DataFlow> Node<Raw> for Downstream<F> {
    async fn run(&mut self, ctx: Context<Raw>) {
        loop {
            let packet = ctx.recv_raw().await;
            let Some((id, payload)) = unframe(&packet.bytes) else { continue };
            match self.flow.read(payload) {
                Ok(v) => {
                    tracing::debug!(record = id, "stored");
                    self.observer.stored(id, ctx.now(), Surface::Downstream, self.flow.stored(&v));
                    if let Some(a) = self.flow.stored_amount(&v) {
                        self.observer.amount_stored(id, a);
                    }
                    metric::STORED.add(1);
                }
                Err(f) => {
                    tracing::info!(record = id, kind = f.kind, error = %f.error, "downstream cannot read the record");
                    self.observer.loud(id, ctx.now(), Surface::Downstream, f.kind, f.error);
                    metric::LOUD.add(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_short_input_is_refused() {
        let f = frame(7, b"abc");
        assert_eq!(unframe(&f), Some((7, &b"abc"[..])));
        assert_eq!(unframe(&[1, 2, 3]), None);
    }
}
