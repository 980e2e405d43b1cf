//! The study's parameters: one plain data type with the defaults written out, read from a TOML
//! file (same names, in snake_case) and overridden by flags, then checked once.

use std::path::PathBuf;
use std::time::Duration;

use faultline::time::serde_duration;
use faultline_nodes::metastable::{
    Backoff, BreakerConfig, BudgetConfig, ClientConfig, DeadlinePolicy, Load, ServerConfig,
};
use serde::{Deserialize, Serialize};

use crate::cli::InputError;

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

fn bad(msg: String) -> Result<(), InputError> {
    Err(InputError(msg))
}

impl Params {
    /// Checks every parameter; the error names the flag and what is allowed.
    pub fn validate(&self) -> Result<(), InputError> {
        let rate = |flag: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                bad(format!("--{flag} must be a number of requests per second >= 0, got {v}"))
            }
        };
        rate("base-rps", self.base_rps)?;
        rate("spike-rps", self.spike_rps)?;
        for (flag, v) in
            [("clients", self.clients), ("capacity", self.capacity), ("breaker-window", self.breaker_window)]
        {
            if v == 0 {
                return bad(format!("--{flag} must be at least 1"));
            }
        }
        for (flag, d) in [("duration", self.duration), ("timeout", self.timeout), ("window", self.window)] {
            if d.is_zero() {
                return bad(format!("--{flag} must be longer than zero"));
            }
        }
        if self.load != LoadKind::Constant && self.spike_start + self.spike_duration > self.duration {
            return bad(format!(
                "the spike ({}s from {}s) must end within --duration ({}s)",
                self.spike_duration.as_secs_f64(),
                self.spike_start.as_secs_f64(),
                self.duration.as_secs_f64()
            ));
        }
        if let Some(r) = self.retry_budget
            && !(r.is_finite() && r > 0.0 && r <= 1.0)
        {
            return bad(format!("--retry-budget must be tokens per success in (0, 1], got {r}"));
        }
        if !(self.retry_budget_max.is_finite() && self.retry_budget_max >= 1.0) {
            return bad(format!("--retry-budget-max must be at least 1, got {}", self.retry_budget_max));
        }
        if !(self.breaker_failure_ratio > 0.0 && self.breaker_failure_ratio <= 1.0) {
            return bad(format!("--breaker-failure-ratio must be in (0, 1], got {}", self.breaker_failure_ratio));
        }
        if self.breaker_probes == 0 {
            return bad("--breaker-probes must be at least 1".into());
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
    pub fn capacity_rps(&self) -> f64 {
        self.capacity as f64 / self.server().service_time(self.capacity).as_secs_f64()
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
            "{load}; server {} slots, {} ms + {} ms per active (~{:.0} rps at full concurrency); timeout {}s, {} retries, backoff {}{}",
            self.capacity,
            self.base_latency.as_secs_f64() * 1e3,
            self.concurrency_slope.as_secs_f64() * 1e3,
            self.capacity_rps(),
            self.timeout.as_secs_f64(),
            self.max_retries,
            self.backoff,
            if defences.is_empty() { String::new() } else { format!("; {}", defences.join(", ")) }
        )
    }
}
