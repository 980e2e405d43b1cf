//! Runs the csi study: for each scenario asked for, each side's self-test alone, the checks
//! `--prevent` asked for (a check that catches the problem refuses the deploy, and no record
//! crosses), then the two systems connected over the emulated network, and the oracle's
//! verdict: loud and silent failures, where they surfaced, duplicates, and their windows.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline::{RunOutcome, SimBuilder, SimTime, derive_rng, seed::derive_seed};
use faultline_faults::Resolver;
use faultline_nodes::csi::flow::{self, DataFlow};
use faultline_nodes::csi::prevent::{self, Verdict, WriteRead};
use faultline_nodes::csi::{
    ConfigError, CsiResult, Example, Observer, PerSurface, Plane, Raw, Scenario, SelfTests, Surface, api, config,
};
use serde::{Serialize, Serializer};

use super::params::{Check, Params, Plan, name};
use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::study::drive::{Driven, Driver};
use crate::study::fault_window::FaultWindow;
use crate::study::{RunLimits, Speed};

/// Records each data system's self-test round-trips alone.
pub const SELF_TEST_SAMPLES: u64 = 1000;
/// Windows of a run when `--window` is off.
pub const AUTO_WINDOWS: u64 = 40;
/// One-way latency of the study's links (the core's default link).
pub const LINK: Duration = Duration::from_millis(1);

/// One window of a run: records produced, and failures by the instant and place they surfaced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    /// Start of the window (s of virtual time).
    pub t_s: f64,
    /// Records (requests, operations) upstream produced.
    pub records: u64,
    /// Errors somebody saw, by where.
    pub loud: PerSurface,
    /// Wrong values only the oracle saw, by where.
    pub silent: PerSurface,
    /// Extra applications of the side effects of the records sent in it.
    pub duplicates: u64,
}

/// What one check concluded, and when it would have run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prevention {
    /// The check, as `--prevent` spells it.
    pub check: String,
    /// `caught`, `passed` or `not applicable`.
    pub verdict: String,
    /// Whether it caught the problem (and so refused the deploy).
    pub caught: bool,
    /// When it runs.
    pub when: String,
    /// What it found, or why it has nothing to check here.
    pub why: String,
    /// The write-read test's sample and odds, for `write-read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_read: Option<WriteRead>,
}

/// The config scenario's odds, from the configured distribution, next to what was measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Odds {
    /// P(processing > timeout - round trip), from the distribution: one attempt times out.
    pub attempt_timeout_probability: f64,
    /// Attempts that timed out over attempts sent, measured.
    pub measured_attempt_timeouts: Option<f64>,
    /// P(every attempt times out) = p^(retries + 1): a request fails loudly.
    pub request_failure_probability: f64,
}

/// What one scenario's run found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioSummary {
    /// The scenario.
    pub scenario: Scenario,
    /// Its plane (EuroSys 2023): data, management or control.
    pub plane: Plane,
    /// One line that says what ran.
    pub describe: String,
    /// Each side's own test suite, run alone.
    pub self_tests: SelfTests,
    /// Whether the pair went live (false: a check refused it, and no record crossed).
    pub deployed: bool,
    /// Records (requests, operations) upstream produced.
    pub records: u64,
    /// Records with an error somebody saw.
    pub loud_failures: u64,
    /// Records stored wrong (or never) without anybody knowing.
    pub silent_corruptions: u64,
    /// (loud + silent) / records.
    pub failure_ratio: f64,
    /// Where failures surfaced.
    pub surfaced_at: PerSurface,
    /// Side effects applied more than once.
    pub duplicates: u64,
    /// The scenario's own counters (attempts, timeouts, out-of-order applies...).
    pub counters: BTreeMap<String, u64>,
    /// Types: stored minus meant totals over the run, in cents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_cents: Option<i64>,
    /// Compression: producer keys the connector ignored without a word.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_keys: Vec<String>,
    /// Config: the odds from the configured distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub odds: Option<Odds>,
    /// The checks asked for: what each caught, when, and why.
    pub prevention: Vec<Prevention>,
    /// One concrete record per failure kind.
    pub examples: Vec<Example>,
    /// Width of the windows (s).
    pub window_s: f64,
    /// The time series.
    pub windows: Vec<Window>,
    /// The last instant a record was sent or failed (s): where the time series ends.
    pub end_s: f64,
    /// When the faults of `faults` were in force.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fault_windows: Vec<FaultWindow>,
    /// The faults applied, as a script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<String>,
    /// Why the run stopped before its end, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// What a run found: one scenario, or all six.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Summary {
    /// One scenario: the object with its keys.
    One(Box<One>),
    /// `--scenario all`: an object with one entry per scenario.
    All(Box<All>),
}

/// One scenario's run, with the parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct One {
    /// Every parameter.
    pub params: Params,
    /// What it found.
    #[serde(flatten)]
    pub run: ScenarioSummary,
}

/// The six scenarios' runs, in report order.
#[derive(Clone, Debug, PartialEq)]
pub struct All {
    /// Every parameter.
    pub params: Params,
    /// Each scenario's run.
    pub runs: Vec<ScenarioSummary>,
    /// The faults applied in each run, as one script with a comment line per scenario (each
    /// run's are also in its entry).
    pub faults: Option<String>,
}

impl Serialize for All {
    /// An object with one entry per scenario, by name, in report order.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.runs.len()))?;
        for r in &self.runs {
            m.serialize_entry(&name(r.scenario), r)?;
        }
        m.end()
    }
}

impl Summary {
    /// The parameters of the run.
    pub fn params(&self) -> &Params {
        match self {
            Summary::One(o) => &o.params,
            Summary::All(a) => &a.params,
        }
    }

    /// Each scenario's run, in order.
    pub fn runs(&self) -> Vec<&ScenarioSummary> {
        match self {
            Summary::One(o) => vec![&o.run],
            Summary::All(a) => a.runs.iter().collect(),
        }
    }

    /// The faults applied, as one script (with a comment line per scenario under `all`).
    pub fn faults(&self) -> Option<&str> {
        match self {
            Summary::One(o) => o.run.faults.as_deref(),
            Summary::All(a) => a.faults.as_deref(),
        }
    }

    /// Why a run stopped before its end, if one did.
    pub fn incomplete(&self) -> Option<&str> {
        self.runs().into_iter().find_map(|r| r.incomplete.as_deref())
    }
}

/// A nice width near `span / AUTO_WINDOWS`: 1, 2 or 5 times a power of ten, at least 1 ms.
fn auto_width(span: Duration) -> Duration {
    let rough = (span.as_secs_f64() / AUTO_WINDOWS as f64).max(1e-3);
    let mag = 10f64.powf(rough.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&m| m >= rough * (1.0 - 1e-12)).unwrap_or(10.0 * mag);
    Duration::from_secs_f64(step)
}

/// The windows of a run's timeline, `width` wide (or automatic), within `limits`.
fn windows(
    r: &CsiResult,
    width: Option<Duration>,
    limits: &RunLimits,
) -> Result<(Duration, Duration, Vec<Window>), InputError> {
    let since = |t: SimTime| t.saturating_since(SimTime::ZERO);
    let end =
        r.timeline.iter().map(|m| since(m.failure.map_or(m.sent, |f| f.at.max(m.sent)))).max().unwrap_or_default();
    let width = width.unwrap_or_else(|| auto_width(end));
    let n = (end.as_nanos() / width.as_nanos().max(1) + 1) as u64;
    if n > limits.max_windows {
        return Err(InputError(format!(
            "--window {} cuts the run's {:.3} s into {n} windows, more than --max-windows {} (allowed: a wider --window, or a higher --max-windows)",
            faultline::time::format_duration(width),
            end.as_secs_f64(),
            limits.max_windows
        )));
    }
    let mut out: Vec<Window> = (0..n)
        .map(|i| Window {
            t_s: (width.as_secs_f64() * i as f64 * 1e9).round() / 1e9,
            records: 0,
            loud: PerSurface::default(),
            silent: PerSurface::default(),
            duplicates: 0,
        })
        .collect();
    let at = |t: SimTime| (since(t).as_nanos() / width.as_nanos().max(1)) as usize;
    for m in &r.timeline {
        if let Some(w) = out.get_mut(at(m.sent)) {
            w.records += 1;
            w.duplicates += m.copies.saturating_sub(1) as u64;
        }
        if let Some(f) = m.failure
            && let Some(w) = out.get_mut(at(f.at))
        {
            let per = if f.loud { &mut w.loud } else { &mut w.silent };
            match f.surface {
                Surface::Upstream => per.upstream += 1,
                Surface::Connector => per.connector += 1,
                Surface::Downstream => per.downstream += 1,
            }
        }
    }
    Ok((width, end, out))
}

fn verdict(check: Check, when: &str, v: Verdict, write_read: Option<WriteRead>) -> Prevention {
    let (word, caught, why) = match v {
        Verdict::Caught(why) => ("caught", true, why),
        Verdict::Passed(why) => ("passed", false, why),
        Verdict::NotApplicable(why) => ("not applicable", false, why),
    };
    Prevention { check: check.name(), verdict: word.into(), caught, when: when.into(), why, write_read }
}

fn write_read_error(e: ConfigError, n: u64) -> InputError {
    match e.field.as_str() {
        "prevent.population" => InputError(format!("--write-read-population: {}", e.reason)),
        _ => InputError(format!("--prevent write-read:{n}: {}", e.reason)),
    }
}

const AT_DEPLOY: &str = "at deploy, before any record crosses";
const IN_CI: &str = "before go-live: the consumer's expectation replayed against the provider";

/// The checks of `plan` on scenario `s`.
fn preventions(p: &Params, plan: &Plan, s: Scenario) -> Result<Vec<Prevention>, InputError> {
    let mut out = Vec::new();
    let na = |why: &str| Verdict::NotApplicable(why.to_string());
    for &check in &plan.prevent {
        let item = match check {
            Check::Registry => {
                let v = match s {
                    Scenario::Metadata => prevent::registry_metadata(&plan.metadata),
                    Scenario::Encoding => prevent::registry_encoding(&plan.encoding),
                    Scenario::Types => prevent::registry_types(),
                    Scenario::Compression => na(
                        "both sides declare the same JSON record; compression is a property of the transport, not a schema a registry holds (config-check sees the ignored key)",
                    ),
                    Scenario::Config => na(
                        "requests and replies are the same JSON on both sides; the mismatch is in timeouts and retries (config-check)",
                    ),
                    Scenario::Api => na(
                        "the operations' schema is the same on both sides; the ordering assumption is in no schema (contract)",
                    ),
                };
                verdict(check, AT_DEPLOY, v, None)
            }
            Check::ConfigCheck => {
                let v = match s {
                    Scenario::Config => prevent::config_check(&plan.config),
                    Scenario::Compression => prevent::config_check_compression(&plan.compression),
                    Scenario::Metadata | Scenario::Encoding | Scenario::Types => na(
                        "the two sides' configurations share no key that differs; the mismatch is in the data's schema or values (registry, write-read)",
                    ),
                    Scenario::Api => na(
                        "upstream sets no key about ordering that could be compared with downstream's worker pool (contract)",
                    ),
                };
                verdict(check, AT_DEPLOY, v, None)
            }
            Check::Contract => {
                let v = match s {
                    Scenario::Api => prevent::contract(&plan.api, derive_seed(p.seed, "csi contract", 0)),
                    Scenario::Config => na(
                        "the consumer's expectation here is a timeout, which config-check compares with the provider's p99; write-read runs requests",
                    ),
                    _ => na(
                        "a consumer-driven contract states call semantics (order, synchrony); a data pair's contract is its schema (registry) or a write-read test",
                    ),
                };
                verdict(check, IN_CI, v, None)
            }
            Check::WriteRead(n) => {
                let pop = p.write_read_population;
                let mut rng = derive_rng(p.seed, "csi write-read", 0);
                let seed = derive_seed(p.seed, "csi write-read", 1);
                let w = match s {
                    Scenario::Metadata => {
                        prevent::write_read(&plan.metadata.flow().map_err(crate_err)?, n, pop, &mut rng)
                    }
                    Scenario::Encoding => {
                        prevent::write_read(&plan.encoding.flow().map_err(crate_err)?, n, pop, &mut rng)
                    }
                    Scenario::Compression => {
                        prevent::write_read(&plan.compression.flow().map_err(crate_err)?, n, pop, &mut rng)
                    }
                    Scenario::Types => prevent::write_read(&plan.types.flow().map_err(crate_err)?, n, pop, &mut rng),
                    Scenario::Config => prevent::write_read_config(&plan.config, n, pop, seed),
                    Scenario::Api => prevent::write_read_api(&plan.api, n, pop, seed),
                }
                .map_err(|e| write_read_error(e, n))?;
                let when = format!(
                    "before go-live: {} sample {} written by upstream and read by downstream",
                    w.sample,
                    match s {
                        Scenario::Config => "requests",
                        Scenario::Api => "operations",
                        _ => "records",
                    }
                );
                verdict(check, &when, w.verdict(), Some(w))
            }
        };
        out.push(item);
    }
    Ok(out)
}

fn crate_err(e: ConfigError) -> InputError {
    InputError(e.to_string())
}

/// The longest horizon a run may have: ten years of virtual time (a fault script or nemesis
/// is compiled up to it).
pub const MAX_HORIZON: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The virtual time by which scenario `s` has surely ended: generous, since a run that goes
/// quiet ends sooner; at most [`MAX_HORIZON`].
fn horizon(plan: &Plan, s: Scenario) -> Duration {
    let slack = Duration::from_secs(60);
    // Twice the mean span of `n` gaps, plus a hundred more: Poisson arrivals stay well within.
    let span = |n: u64, gap: Duration| {
        gap.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
            .saturating_mul(2)
            .saturating_add(gap.saturating_mul(100))
    };
    let h = match s {
        Scenario::Metadata => span(plan.metadata.records, plan.metadata.spacing),
        Scenario::Encoding => span(plan.encoding.records, plan.encoding.spacing),
        Scenario::Compression => span(plan.compression.records, plan.compression.spacing),
        Scenario::Types => span(plan.types.records, plan.types.spacing),
        Scenario::Config => {
            let c = &plan.config;
            let per = c.think.saturating_mul(2).saturating_add(c.timeout.saturating_mul(c.retries + 1));
            span(c.requests, per).saturating_add(c.processing.quantile(1.0 - 1e-9))
        }
        Scenario::Api => {
            let a = &plan.api;
            let ops = a.entities.saturating_mul(u64::from(a.updates) + 1);
            span(ops, a.spacing.saturating_add(a.processing.quantile(1.0 - 1e-9)))
        }
    };
    h.saturating_add(slack).min(MAX_HORIZON)
}

/// Records scenario `s` produces when it runs to its end.
fn expected_records(plan: &Plan, s: Scenario) -> u64 {
    match s {
        Scenario::Metadata => plan.metadata.records,
        Scenario::Encoding => plan.encoding.records,
        Scenario::Compression => plan.compression.records,
        Scenario::Types => plan.types.records,
        Scenario::Config => plan.config.requests,
        Scenario::Api => plan.api.entities * (u64::from(plan.api.updates) + 1),
    }
}

type Install = Box<dyn FnOnce(SimBuilder<Raw>, &Observer) -> Result<SimBuilder<Raw>, ConfigError>>;

fn data<F: DataFlow>(p: &Params, flow: F) -> (SelfTests, Install) {
    let mut rng = derive_rng(p.seed, "csi self-test", 0);
    let tests = flow::self_tests(&flow, SELF_TEST_SAMPLES, &mut rng);
    (tests, Box::new(move |b, o| Ok(flow::install(b, flow, o))))
}

/// Runs scenario `s` of `plan`; adds to `speed`.
fn run_scenario(
    p: &Params,
    plan: &Plan,
    s: Scenario,
    live: &FaultArgs,
    traces: &TraceArgs,
    limits: &RunLimits,
    speed: &mut Speed,
) -> anyhow::Result<ScenarioSummary> {
    let mut ignored_keys = Vec::new();
    let (self_tests, install): (SelfTests, Install) = match s {
        Scenario::Metadata => data(p, plan.metadata.flow().map_err(crate_err)?),
        Scenario::Encoding => data(p, plan.encoding.flow().map_err(crate_err)?),
        Scenario::Compression => {
            let flow = plan.compression.flow().map_err(crate_err)?;
            ignored_keys = flow.ignored_keys().to_vec();
            let props = plan.compression.producer_properties();
            for k in &mut ignored_keys {
                if let Some((_, v)) = props.iter().find(|(pk, _)| pk == k) {
                    *k = format!("{k}={v}");
                }
            }
            data(p, flow)
        }
        Scenario::Types => data(p, plan.types.flow().map_err(crate_err)?),
        Scenario::Config => {
            let cfg = plan.config.clone();
            (config::self_tests(&cfg), Box::new(move |b, o| cfg.install(b, o)))
        }
        Scenario::Api => {
            let cfg = plan.api.clone();
            (api::self_tests(), Box::new(move |b, o| cfg.install(b, o)))
        }
    };
    let prevention = preventions(p, plan, s)?;
    let odds = (s == Scenario::Config).then(|| {
        let q = plan.config.timeout_probability(LINK * 2);
        Odds {
            attempt_timeout_probability: q,
            measured_attempt_timeouts: None,
            request_failure_probability: q.powi(plan.config.retries as i32 + 1),
        }
    });
    let mut out = ScenarioSummary {
        scenario: s,
        plane: s.plane(),
        describe: p.describe(plan, s),
        self_tests,
        deployed: false,
        records: 0,
        loud_failures: 0,
        silent_corruptions: 0,
        failure_ratio: 0.0,
        surfaced_at: PerSurface::default(),
        duplicates: 0,
        counters: BTreeMap::new(),
        drift_cents: None,
        ignored_keys,
        odds,
        prevention,
        examples: Vec::new(),
        window_s: 0.0,
        windows: Vec::new(),
        end_s: 0.0,
        fault_windows: Vec::new(),
        faults: None,
        incomplete: None,
    };
    if out.prevention.iter().any(|c| c.caught) {
        return Ok(out);
    }

    let driver = Driver::new(p.seed, live, limits)?;
    let observer = Observer::new();
    let builder = install(driver.builder::<Raw>(traces), &observer).map_err(crate_err)?;
    let sim = builder.build().map_err(|e| InputError(e.to_string()))?;
    let end = SimTime::ZERO + horizon(plan, s);
    let resolver = Resolver::new(sim.names()).alias("systems", "*");
    let Driven { report, outcome, plan: faults, wall_s, incomplete } =
        driver.run(sim, resolver, p.faults.as_deref(), p.nemesis.as_deref(), end)?;
    let r = observer.result();
    let expected = expected_records(plan, s);
    out.incomplete = incomplete.or_else(|| {
        (outcome == RunOutcome::Deadline && r.records < expected).then(|| {
            format!(
                "the run reached its horizon of {:.0} s with {} of {expected} records produced",
                end.as_secs_f64(),
                r.records
            )
        })
    });
    let (width, span, windows) = windows(&r, p.window, limits)?;
    speed.wall_s += wall_s;
    speed.virtual_s += report.end.as_secs_f64();
    speed.work += r.records;
    speed.events += report.engine.events;
    if let Some(o) = &mut out.odds {
        let attempts = r.counters.get("attempts").copied().unwrap_or(0);
        let timeouts = r.counters.get("timeouts").copied().unwrap_or(0);
        o.measured_attempt_timeouts = (attempts > 0).then(|| timeouts as f64 / attempts as f64);
    }
    out.deployed = true;
    out.records = r.records;
    out.loud_failures = r.loud_failures;
    out.silent_corruptions = r.silent_corruptions;
    out.failure_ratio = r.failure_ratio;
    out.surfaced_at = r.surfaced_at;
    out.duplicates = r.duplicates;
    out.counters = r.counters.clone();
    out.drift_cents = (s == Scenario::Types).then(|| i64::try_from(r.drift).unwrap_or(i64::MIN));
    out.examples = r.examples.clone();
    out.window_s = width.as_secs_f64();
    out.windows = windows;
    out.end_s = span.as_secs_f64();
    out.fault_windows = FaultWindow::of_timeline(&faults.timeline, report.end);
    out.faults = faults.script_text();
    Ok(out)
}

/// Runs the study within `limits`: each scenario `params` names, in turn.
pub fn run(
    params: &Params,
    live: &FaultArgs,
    traces: &TraceArgs,
    limits: &RunLimits,
) -> anyhow::Result<(Summary, Speed)> {
    let plan = params.plan()?;
    params.check_limits(&plan, limits)?;
    let scenarios = params.scenario.scenarios();
    if scenarios.len() > 1 {
        let one_run = [
            ("--trace-json", traces.trace_json.is_some()),
            ("--trace-chrome", traces.trace_chrome.is_some()),
            ("--control", live.control.is_some()),
            ("--realtime", live.realtime.is_some()),
        ];
        if let Some((flag, _)) = one_run.iter().find(|(_, given)| *given) {
            return Err(InputError(format!(
                "{flag} follows one run, and --scenario all makes six: give one --scenario"
            ))
            .into());
        }
    }
    // A run refused at deploy simulates nothing: its speed line reads 0, not NaN.
    let mut speed = Speed { wall_s: 1e-9, virtual_s: 0.0, work: 0, unit: "records", events: 0 };
    let started = std::time::Instant::now();
    // The scenarios are separate simulations, each from its own seed: they run side by side on
    // every core and are reported in order, the same as one after another.
    let results = crate::sweep::run_each(
        scenarios.len() as u64,
        |k| {
            let mut mine = Speed { wall_s: 0.0, virtual_s: 0.0, work: 0, unit: "records", events: 0 };
            let run = run_scenario(params, &plan, scenarios[k as usize], live, traces, limits, &mut mine)?;
            Ok((run, mine))
        },
        || {},
    )?;
    let mut runs = Vec::new();
    for (run, mine) in results {
        speed.virtual_s += mine.virtual_s;
        speed.work += mine.work;
        speed.events += mine.events;
        let incomplete = run.incomplete.is_some();
        runs.push(run);
        // A limit or a signal stopped this one: the report ends with it.
        if incomplete {
            break;
        }
    }
    speed.wall_s = started.elapsed().as_secs_f64().max(1e-9);
    let summary = if params.scenario == super::params::Which::All {
        let scripts: Vec<String> =
            runs.iter().filter_map(|r| r.faults.as_ref().map(|f| format!("# {}\n{f}", name(r.scenario)))).collect();
        let faults = (!scripts.is_empty()).then(|| scripts.join("\n"));
        Summary::All(Box::new(All { params: params.clone(), runs, faults }))
    } else {
        let run = runs.pop().ok_or_else(|| anyhow::anyhow!("no scenario ran"))?;
        Summary::One(Box::new(One { params: params.clone(), run }))
    };
    Ok((summary, speed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_windows_are_round_and_about_forty() {
        assert_eq!(auto_width(Duration::from_secs(100)), Duration::from_secs(5));
        assert_eq!(auto_width(Duration::from_secs(80)), Duration::from_secs(2));
        assert_eq!(auto_width(Duration::ZERO), Duration::from_millis(1));
    }
}
