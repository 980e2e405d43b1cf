//! The study's parameters: one plain data type with the defaults written out, read from a TOML
//! file (same names, in snake_case) and overridden by flags, then checked once.

use std::path::PathBuf;
use std::time::Duration;

use faultline::control::MAX_LINK_DELAY;
use faultline::time::{format_duration, serde_duration};
use faultline_nodes::metastable::{
    Backoff, BreakerConfig, BudgetConfig, ClientConfig, DeadlinePolicy, Load, ServerConfig,
};
use serde::{Deserialize, Serialize};

use super::run::Summary;
use super::sweep::Row;
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::{Figure, Table};
use crate::study::param::{FAULTS, HOUR, NEMESIS, ZERO, dur, int};
use crate::study::{Kind, Param, RunId, RunLimits, Speed, Study};

/// The shape of the offered load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoadKind {
    /// `base-rps` throughout.
    Constant,
    /// `spike-rps` from `spike-start` for `spike-duration`, `base-rps` otherwise.
    #[default]
    Spike,
    /// Up from `base-rps` to `spike-rps` and back down over the spike window.
    Ramp,
}

/// Every parameter of a run. The defaults are a server of about 250 requests/s hit by a 10 s
/// spike of 400 requests/s over a base of 100, with clients that retry three times at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Master seed.
    pub seed: u64,
    /// Load shape.
    pub load: LoadKind,
    /// Requests/s outside the spike.
    pub base_rps: f64,
    /// Requests/s during the spike (the top, for a ramp).
    pub spike_rps: f64,
    /// When the spike starts.
    #[serde(with = "serde_duration")]
    pub spike_start: Duration,
    /// How long it lasts.
    #[serde(with = "serde_duration")]
    pub spike_duration: Duration,
    /// Length of the run.
    #[serde(with = "serde_duration")]
    pub duration: Duration,
    /// Client nodes sharing the load.
    pub clients: usize,
    /// Requests the server serves at once.
    pub capacity: usize,
    /// Service time alone.
    #[serde(with = "serde_duration")]
    pub base_latency: Duration,
    /// Extra service time per request in service.
    #[serde(with = "serde_duration")]
    pub concurrency_slope: Duration,
    /// Client timeout per attempt.
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before a retry.
    pub backoff: Backoff,
    /// Backoff base.
    #[serde(with = "serde_duration")]
    pub backoff_base: Duration,
    /// Longest backoff.
    #[serde(with = "serde_duration")]
    pub backoff_cap: Duration,
    /// Retry budget: tokens per success (off when absent).
    pub retry_budget: Option<f64>,
    /// Most tokens a client's budget holds.
    pub retry_budget_max: f64,
    /// Circuit breaker on.
    pub breaker: bool,
    /// Outcomes the breaker judges by.
    pub breaker_window: usize,
    /// Failure fraction that opens it.
    pub breaker_failure_ratio: f64,
    /// How long it stays open.
    #[serde(with = "serde_duration")]
    pub breaker_cooldown: Duration,
    /// Successful probes that close it.
    pub breaker_probes: u32,
    /// Reject when this many wait.
    pub queue_limit: Option<usize>,
    /// Shed the oldest when more than this many wait.
    pub shed_above: Option<usize>,
    /// Deadline propagation: off, expired or unfinishable.
    pub deadline: DeadlinePolicy,
    /// Serve newest first when more than this many wait.
    pub lifo_above: Option<usize>,
    /// One-way latency between clients and server.
    #[serde(with = "serde_duration")]
    pub link_latency: Duration,
    /// Width of the time-series windows.
    #[serde(with = "serde_duration")]
    pub window: Duration,
    /// Time after the trigger ends before the "after" phase starts.
    #[serde(with = "serde_duration")]
    pub settle: Duration,
    /// Fault script (relative to the config file when given there).
    pub faults: Option<PathBuf>,
    /// Nemesis spec.
    pub nemesis: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        Params {
            seed: 1,
            load: LoadKind::Spike,
            base_rps: 100.0,
            spike_rps: 400.0,
            spike_start: s(30),
            spike_duration: s(10),
            duration: s(120),
            clients: 10,
            capacity: 50,
            base_latency: ms(100),
            concurrency_slope: ms(2),
            timeout: s(1),
            max_retries: 3,
            backoff: Backoff::None,
            backoff_base: ms(100),
            backoff_cap: s(10),
            retry_budget: None,
            retry_budget_max: 10.0,
            breaker: false,
            breaker_window: 20,
            breaker_failure_ratio: 0.5,
            breaker_cooldown: s(5),
            breaker_probes: 3,
            queue_limit: None,
            shed_above: None,
            deadline: DeadlinePolicy::Off,
            lifo_above: None,
            link_latency: ms(1),
            window: s(1),
            settle: s(10),
            faults: None,
            nemesis: None,
        }
    }
}

const fn rate() -> Kind {
    Kind::Float { min: 0.0, min_excluded: false, max: MAX_RPS }
}
/// The longest run: 30 days of virtual time.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The highest rate of requests a run may offer, per second: above the issue's ×100 benchmark
/// (17,500/s), and low enough that a minute of overload fits in memory (what a server queues
/// grows with the overload; the events in flight stop at `--max-in-flight`).
pub const MAX_RPS: f64 = 1e5;
const RATIO: Kind = Kind::Float { min: 0.0, min_excluded: true, max: 1.0 };

/// Every parameter of the study, declared once: flags, config keys, ranges and sweeps come
/// from here. The defaults are [`Params::default`].
pub const TABLE: &[Param] = &[
    Param::new("seed", int(0, u64::MAX), "Master seed."),
    Param::new("load", Kind::Choice(&["constant", "spike", "ramp"]), "Load shape."),
    Param::new("base-rps", rate(), "Requests/s outside the spike."),
    Param::new("spike-rps", rate(), "Requests/s during the spike (the peak, for a ramp)."),
    Param::new("spike-start", dur(ZERO, MAX_DURATION), "When the spike starts."),
    Param::new("spike-duration", dur(ZERO, MAX_DURATION), "How long the spike lasts."),
    Param::new("duration", dur(Duration::from_millis(1), MAX_DURATION), "Length of the run (virtual time)."),
    Param::new("clients", int(1, 100_000), "Client nodes sharing the load."),
    Param::new("capacity", int(1, 10_000_000), "Requests the server serves at once."),
    Param::new("base-latency", dur(ZERO, HOUR), "Service time with nothing else in service."),
    Param::new("concurrency-slope", dur(ZERO, HOUR), "Extra service time per request in service."),
    Param::new("timeout", dur(Duration::from_micros(1), HOUR), "Client timeout per attempt."),
    Param::new("max-retries", int(0, 1000), "Retries after the first attempt."),
    Param::new(
        "backoff",
        Kind::Choice(&["none", "exponential", "full-jitter", "decorrelated"]),
        "Backoff before a retry.",
    ),
    Param::new("backoff-base", dur(ZERO, HOUR), "Backoff base."),
    Param::new("backoff-cap", dur(ZERO, HOUR), "Longest backoff."),
    Param::new("retry-budget", RATIO, "Retry budget: tokens each success deposits (a retry costs one).").optional(),
    Param::new(
        "retry-budget-max",
        Kind::Float { min: 1.0, min_excluded: false, max: 1e9 },
        "Most tokens a client's retry budget holds.",
    ),
    Param::new("breaker", Kind::Bool, "Circuit breaker on the clients."),
    Param::new("breaker-window", int(1, 1_000_000), "Outcomes the breaker judges by."),
    Param::new("breaker-failure-ratio", RATIO, "Failure fraction that opens the breaker."),
    Param::new("breaker-cooldown", dur(ZERO, HOUR), "How long the breaker stays open."),
    Param::new("breaker-probes", int(1, 1_000_000), "Successful probes that close the breaker."),
    Param::new("queue-limit", int(0, 1_000_000_000), "Reject new requests when this many wait.").optional(),
    Param::new("shed-above", int(0, 1_000_000_000), "Shed the oldest queued requests above this queue length.")
        .optional(),
    Param::new(
        "deadline",
        Kind::Choice(&["off", "expired", "unfinishable"]),
        "Drop queued requests past (or unable to meet) their deadline.",
    ),
    Param::new("lifo-above", int(0, 1_000_000_000), "Serve newest first above this queue length.").optional(),
    Param::new("link-latency", dur(ZERO, MAX_LINK_DELAY), "One-way latency between clients and server."),
    Param::new("window", dur(Duration::from_micros(1), MAX_DURATION), "Width of the time-series windows."),
    Param::new("settle", dur(ZERO, MAX_DURATION), "Time after the trigger before the \"after\" phase starts."),
    FAULTS,
    NEMESIS,
];

fn bad(msg: String) -> Result<(), InputError> {
    Err(InputError(msg))
}

/// The metastable study, for the shared command line.
pub struct Metastable;

impl Study for Metastable {
    type Params = Params;
    type Summary = Summary;
    type Row = Row;
    const NAME: &'static str = "metastable";
    const ABOUT: &'static str = "Retry storms that outlive their trigger, and the defences that end them.";

    fn table() -> &'static [Param] {
        TABLE
    }

    fn check(p: &Params, limits: &RunLimits) -> Result<(), InputError> {
        p.validate()?;
        limits.check_windows(p.duration, p.window)?;
        limits.check_requests(p.offered_requests(), "--base-rps and --spike-rps")?;
        let nodes = p.clients as u64 + 1;
        if nodes > limits.max_nodes {
            return bad(format!(
                "--clients {} makes {nodes} nodes, more than --max-nodes {} (allowed: fewer --clients or a higher --max-nodes)",
                p.clients, limits.max_nodes
            ));
        }
        Ok(())
    }

    fn seed(p: &Params) -> u64 {
        p.seed
    }

    fn with_seed(p: &Params, seed: u64) -> Params {
        Params { seed, ..p.clone() }
    }

    fn describe(p: &Params) -> String {
        p.describe()
    }

    fn run(p: &Params, live: &FaultArgs, traces: &TraceArgs, limits: &RunLimits) -> anyhow::Result<(Summary, Speed)> {
        let (summary, s) = super::run_limited(p, live, traces, limits)?;
        let speed =
            Speed { wall_s: s.wall_s, virtual_s: s.virtual_s, work: s.attempts, unit: "attempts", events: s.events };
        Ok((summary, speed))
    }

    fn incomplete(s: &Summary) -> Option<&str> {
        s.incomplete.as_deref()
    }

    fn text(s: &Summary) -> String {
        super::text(s)
    }

    fn files(s: &Summary) -> Vec<(&'static str, Vec<u8>)> {
        vec![("windows.csv", super::windows_csv(s).into_bytes())]
    }

    fn verdict(s: &Summary) -> String {
        s.verdict.clone()
    }

    fn explain(s: &Summary) -> String {
        super::explain(s)
    }

    fn experiments() -> Vec<(&'static str, String)> {
        super::experiments()
    }

    fn charts(s: &Summary) -> Vec<Figure> {
        super::charts(s)
    }

    fn tables(s: &Summary) -> Vec<Table> {
        super::tables(s)
    }

    fn faults(s: &Summary) -> Option<&str> {
        s.faults.as_deref()
    }

    fn generated_faults<'a>(p: &Params, s: &'a Summary) -> Option<&'a str> {
        s.faults.as_deref().filter(|_| p.nemesis.is_some())
    }

    fn row(id: RunId, s: &Summary) -> Row {
        Row::new(id, s)
    }
}

impl Params {
    /// The requests the load offers over the run, on average: the base rate throughout, plus
    /// the spike's excess over its window (half of it for a ramp).
    pub fn offered_requests(&self) -> f64 {
        let base = self.base_rps * self.duration.as_secs_f64();
        let excess = (self.spike_rps - self.base_rps).max(0.0) * self.spike_duration.as_secs_f64();
        match self.load {
            LoadKind::Constant => base,
            LoadKind::Spike => base + excess,
            LoadKind::Ramp => base + excess / 2.0,
        }
    }

    /// Checks every parameter against its range in [`TABLE`], then the rules between them;
    /// the error names the flag and what is allowed.
    pub fn validate(&self) -> Result<(), InputError> {
        crate::study::param::check_ranges(TABLE, self)?;
        let trigger = self.load != LoadKind::Constant;
        if trigger && self.spike_start.saturating_add(self.spike_duration) > self.duration {
            return bad(format!(
                "the spike ({}s from {}s) must end within --duration ({}s)",
                self.spike_duration.as_secs_f64(),
                self.spike_start.as_secs_f64(),
                self.duration.as_secs_f64()
            ));
        }
        let offered = if trigger { self.base_rps.max(self.spike_rps) } else { self.base_rps };
        if offered <= 0.0 {
            let flags = if trigger { "--base-rps and --spike-rps are" } else { "--base-rps is" };
            return bad(format!("no load: {flags} 0 (allowed: a rate above 0, or there is nothing to study)"));
        }
        if self.window > self.duration / 2 {
            return bad(format!(
                "--window {} is more than half of --duration {} (allowed: at most --duration / 2, so that the run has windows to compare)",
                format_duration(self.window),
                format_duration(self.duration)
            ));
        }
        if self.backoff_cap < self.backoff_base {
            return bad("--backoff-cap must be at least --backoff-base".into());
        }
        Ok(())
    }

    /// The offered load.
    pub fn load(&self) -> Load {
        match self.load {
            LoadKind::Constant => Load::Constant { rps: self.base_rps },
            LoadKind::Spike => Load::Spike {
                base: self.base_rps,
                rps: self.spike_rps,
                start: self.spike_start,
                duration: self.spike_duration,
            },
            LoadKind::Ramp => Load::Ramp {
                base: self.base_rps,
                peak: self.spike_rps,
                start: self.spike_start,
                duration: self.spike_duration,
            },
        }
    }

    /// The server's configuration.
    pub fn server(&self) -> ServerConfig {
        ServerConfig {
            capacity: self.capacity,
            base_latency: self.base_latency,
            concurrency_slope: self.concurrency_slope,
            queue_limit: self.queue_limit,
            shed_above: self.shed_above,
            deadline: self.deadline,
            lifo_above: self.lifo_above,
        }
    }

    /// Each client's configuration.
    pub fn client(&self) -> ClientConfig {
        ClientConfig {
            load: self.load(),
            share: 1.0 / self.clients as f64,
            stop: self.duration,
            timeout: self.timeout,
            max_retries: self.max_retries,
            backoff: self.backoff,
            backoff_base: self.backoff_base,
            backoff_cap: self.backoff_cap,
            budget: self.retry_budget.map(|ratio| BudgetConfig { ratio, max: self.retry_budget_max }),
            breaker: self.breaker.then_some(BreakerConfig {
                window: self.breaker_window,
                failure_ratio: self.breaker_failure_ratio,
                cooldown: self.breaker_cooldown,
                probes: self.breaker_probes,
            }),
            send_deadline: self.deadline != DeadlinePolicy::Off,
        }
    }

    /// Throughput of the server with every slot busy, in requests per second.
    /// With a service time of zero the server has no limit, and this is infinite: see
    /// [`Params::capacity_rps_finite`] for what reports print.
    pub fn capacity_rps(&self) -> f64 {
        self.capacity as f64 / self.server().service_time(self.capacity).as_secs_f64()
    }

    /// [`Params::capacity_rps`] when finite; `None` for a server with no service time (it is
    /// then unbounded, and a report says so rather than print `inf` or `null`).
    pub fn capacity_rps_finite(&self) -> Option<f64> {
        Some(self.capacity_rps()).filter(|r| r.is_finite())
    }

    /// A few words for a chart title: the load and the retry policy.
    pub fn headline(&self) -> String {
        let load = match self.load {
            LoadKind::Constant => format!("constant {} rps", self.base_rps),
            LoadKind::Spike => format!("spike {} -> {} rps", self.base_rps, self.spike_rps),
            LoadKind::Ramp => format!("ramp {} -> {} rps", self.base_rps, self.spike_rps),
        };
        let mut words = vec![load, format!("{} retries", self.max_retries), format!("backoff {}", self.backoff)];
        words.extend(self.defences());
        words.join(", ")
    }

    /// The defences switched on, in words.
    pub fn defences(&self) -> Vec<String> {
        let mut d = Vec::new();
        if let Some(r) = self.retry_budget {
            d.push(format!("retry budget {r}"));
        }
        if self.breaker {
            d.push("circuit breaker".to_string());
        }
        if let Some(n) = self.queue_limit {
            d.push(format!("queue limit {n}"));
        }
        if let Some(n) = self.shed_above {
            d.push(format!("shed above {n}"));
        }
        if self.deadline != DeadlinePolicy::Off {
            d.push(format!("deadline drop {:?}", self.deadline).to_lowercase());
        }
        if let Some(n) = self.lifo_above {
            d.push(format!("LIFO above {n}"));
        }
        d
    }

    /// One line that says what was run.
    pub fn describe(&self) -> String {
        let load = match self.load {
            LoadKind::Constant => format!("constant {} rps", self.base_rps),
            LoadKind::Spike => format!(
                "spike {} -> {} rps for {}s at {}s",
                self.base_rps,
                self.spike_rps,
                self.spike_duration.as_secs_f64(),
                self.spike_start.as_secs_f64()
            ),
            LoadKind::Ramp => format!(
                "ramp {} -> {} -> {} rps over {}s from {}s",
                self.base_rps,
                self.spike_rps,
                self.base_rps,
                self.spike_duration.as_secs_f64(),
                self.spike_start.as_secs_f64()
            ),
        };
        let defences = self.defences();
        format!(
            "{load}; server {} slots, {} ms + {} ms per active ({} at full concurrency); timeout {}s, {} retries, backoff {}{}",
            self.capacity,
            self.base_latency.as_secs_f64() * 1e3,
            self.concurrency_slope.as_secs_f64() * 1e3,
            self.capacity_rps_finite().map_or("unbounded rps".to_string(), |r| format!("~{r:.0} rps")),
            self.timeout.as_secs_f64(),
            self.max_retries,
            self.backoff,
            if defences.is_empty() { String::new() } else { format!("; {}", defences.join(", ")) }
        )
    }
}
