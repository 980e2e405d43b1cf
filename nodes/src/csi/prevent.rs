//! Preventions: the checks that would have caught a scenario before go-live, as plain functions
//! over the two sides' schemas, configs and data. Each says what it found, and a check that
//! cannot see a problem says so instead of passing silently.

use std::time::Duration;

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use encoding_rs::Encoding;
use faultline::{LinkConfig, Sim, SimBuilder, SimRng};
use serde::{Deserialize, Serialize};

use super::api::ApiConfig;
use super::compression::{CONNECTOR_KEYS, CompressionConfig};
use super::config::ConfigScenario;
use super::encoding::EncodingConfig;
use super::flow::{DataFlow, cross};
use super::metadata::MetadataConfig;
use super::{ConfigError, CsiResult, MAX_RECORDS, Observer, Raw};

/// What a check concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "why", rename_all = "snake_case")]
pub enum Verdict {
    /// It found the problem: the pair would be refused before data flows.
    Caught(String),
    /// It found nothing wrong (which does not mean nothing is).
    Passed(String),
    /// It has nothing to check in this scenario.
    NotApplicable(String),
}

impl Verdict {
    /// Whether the check caught the problem.
    pub fn caught(&self) -> bool {
        matches!(self, Verdict::Caught(_))
    }
}

/// Schema registry: Avro's own compatibility rules (apache-avro's `SchemaCompatibility`), can
/// the reader's schema read what the writer's writes?
pub fn registry_avro(writer: &Schema, reader: &Schema) -> Verdict {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(c) => Verdict::Passed(format!(
            "Avro calls the pair compatible ({c:?}); a unit both declare as long is invisible to it"
        )),
        Err(e) => Verdict::Caught(format!("Avro refuses the pair: {e}")),
    }
}

/// Schema registry for the metadata scenario.
pub fn registry_metadata(cfg: &MetadataConfig) -> Verdict {
    let (writer, reader) = cfg.schemas();
    registry_avro(&writer, &reader)
}

/// Upstream's declared schema in the types scenario: an amount as a double.
pub const TYPES_WRITER_SCHEMA: &str = r#"{"type": "record", "name": "Invoice", "fields": [{"name": "invoice", "type": "long"}, {"name": "total", "type": "double"}]}"#;
/// Downstream's declared schema in the types scenario: an amount as decimal(12, 2).
pub const TYPES_READER_SCHEMA: &str = r#"{"type": "record", "name": "Invoice", "fields": [{"name": "invoice", "type": "long"},
  {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}}]}"#;

/// Schema registry for the types scenario, over the two sides' declared schemas.
pub fn registry_types() -> Verdict {
    match (Schema::parse_str(TYPES_WRITER_SCHEMA), Schema::parse_str(TYPES_READER_SCHEMA)) {
        (Ok(w), Ok(r)) => registry_avro(&w, &r),
        (Err(e), _) | (_, Err(e)) => Verdict::NotApplicable(format!("declared schema does not parse: {e}")),
    }
}

/// Schema registry for the encoding scenario: both sides declare a charset; WHATWG labels
/// (encoding_rs) resolve aliases, so `latin1` and `windows-1252` are the same encoding.
pub fn registry_encoding(cfg: &EncodingConfig) -> Verdict {
    let (up, down) = (&cfg.upstream_charset, &cfg.downstream_charset);
    match (Encoding::for_label(up.as_bytes()), Encoding::for_label(down.as_bytes())) {
        (Some(a), Some(b)) if a == b => Verdict::Passed(format!("both declare {}", a.name())),
        (Some(a), Some(b)) => {
            Verdict::Caught(format!("upstream writes {} and downstream reads {}", a.name(), b.name()))
        }
        _ => Verdict::Caught(format!("unknown charset label among '{up}', '{down}'")),
    }
}

/// Keys one side sets that the other does not know, and values the two disagree on.
fn key_mismatches(up: &[(&str, String)], down_known: &[(&str, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (k, v) in up {
        match down_known.iter().find(|(dk, _)| dk == k) {
            None => found.push(format!("upstream sets '{k}', which downstream does not know")),
            Some((_, dv)) if dv != v => found.push(format!("'{k}': upstream {v}, downstream expects {dv}")),
            Some(_) => {}
        }
    }
    found
}

/// Config check for the config scenario: a timeout below downstream's p99, computed from its
/// configured processing distribution, and keys the sides disagree on.
pub fn config_check(cfg: &ConfigScenario) -> Verdict {
    let p99 = cfg.processing.quantile(0.99);
    let mut found = key_mismatches(&cfg.upstream_keys(), &cfg.downstream_keys());
    if cfg.timeout < p99 {
        found.insert(
            0,
            format!(
                "timeout {:?} is below downstream's p99 {:.1}s ({:.1}% of requests take longer)",
                cfg.timeout,
                p99.as_secs_f64(),
                100.0 * cfg.processing.exceeds(cfg.timeout)
            ),
        );
    }
    if found.is_empty() { Verdict::Passed("timeouts and keys agree".into()) } else { Verdict::Caught(found.join("; ")) }
}

/// Config check for the compression scenario: producer properties the connector's schema does
/// not know (and so ignores).
pub fn config_check_compression(cfg: &CompressionConfig) -> Verdict {
    let unknown: Vec<String> = cfg
        .producer_properties()
        .into_iter()
        .filter(|(k, _)| !CONNECTOR_KEYS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if unknown.is_empty() {
        Verdict::Passed("the connector knows every producer key".into())
    } else {
        Verdict::Caught(format!("the connector ignores {}", unknown.join(", ")))
    }
}

/// Consumer-driven contract test for the api scenario: the consumer's expectation ("a create
/// then an update of the same entity, sent back to back, are applied in that order") replayed
/// against the provider as configured, in a small simulation of its own.
pub fn contract(cfg: &ApiConfig, seed: u64) -> Verdict {
    let pairs = 50;
    let probe = ApiConfig { entities: pairs, updates: 1, spacing: Duration::ZERO, ..cfg.clone() };
    let observer = Observer::new();
    let builder = Sim::<Raw>::builder(seed).default_link(LinkConfig::constant(Duration::from_micros(100)));
    let sim =
        probe.install(builder, &observer).map_err(|e| e.to_string()).and_then(|b| b.build().map_err(|e| e.to_string()));
    let mut sim = match sim {
        Ok(s) => s,
        Err(e) => return Verdict::NotApplicable(format!("cannot run the contract: {e}")),
    };
    sim.run();
    let r = observer.result();
    let broken = r.loud_failures + r.silent_corruptions;
    if broken > 0 {
        let ex = r
            .examples
            .first()
            .map(|e| format!(" e.g. {}: sent {}, got {}", e.kind, e.sent, e.read))
            .unwrap_or_default();
        Verdict::Caught(format!("{broken} of {} operations not applied in the order sent;{ex}", r.records))
    } else {
        Verdict::Passed(format!("{pairs} create/update pairs applied in order"))
    }
}

/// What a write-read test of N records found, and how likely it was to find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteRead {
    /// Records (requests, operations) written by A and read by B.
    pub sample: u64,
    /// Whether any of them came out wrong.
    pub caught: bool,
    /// The first that did, and how.
    pub example: Option<String>,
    /// Share of upstream's data that fails across, measured on `population` records.
    pub failing_share: f64,
    /// Records the share was measured on.
    pub population: u64,
    /// Probability that a sample of this size catches the problem: 1 - (1 - share)^N where
    /// records are independent (data scenarios), else the share of `trials` samples that caught
    /// it.
    pub p_catch: f64,
    /// Samples of N run through the actors to measure `p_catch`, where records are not
    /// independent (requests and operations share the other side's workers and time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<u64>,
}

impl WriteRead {
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        let odds = format!("a sample of {} catches it with probability {:.3}", self.sample, self.p_catch);
        match &self.example {
            Some(e) if self.caught => Verdict::Caught(format!("{e} ({odds})")),
            _ => Verdict::Passed(format!("no sample record failed ({odds})")),
        }
    }
}

/// Write-read test: `n` records of upstream's data written by A and read by B; the probability
/// of catching is computed from `population` more records of the same data.
pub fn write_read<F: DataFlow>(flow: &F, n: u64, population: u64, rng: &mut SimRng) -> Result<WriteRead, ConfigError> {
    if n == 0 || n > MAX_RECORDS {
        return Err(ConfigError::new("prevent.write-read", format!("N must be between 1 and {MAX_RECORDS}, got {n}")));
    }
    if population > MAX_RECORDS {
        return Err(ConfigError::new("prevent.population", format!("must be at most {MAX_RECORDS}, got {population}")));
    }
    let mut example = None;
    for _ in 0..n {
        if let Err(e) = cross(flow, &flow.generate(rng)) {
            example = Some(e);
            break;
        }
    }
    let failing = (0..population).filter(|_| cross(flow, &flow.generate(rng)).is_err()).count() as u64;
    let share = if population == 0 { 0.0 } else { failing as f64 / population as f64 };
    Ok(WriteRead {
        sample: n,
        caught: example.is_some(),
        example,
        failing_share: share,
        population,
        p_catch: 1.0 - (1.0 - share).powf(n as f64),
        trials: None,
    })
}

/// Most samples a write-read test of requests or operations runs to measure its odds.
pub const MAX_TRIALS: u64 = 10_000;

/// Write-read test where records are requests or operations between live systems: a sample of
/// `n` sent by A to B through the real actors (`run_sample(n, seed)` runs one in a simulation of
/// its own and returns what its oracle saw), caught when any of them went wrong (an error, a
/// wrong value, a side effect applied twice). How likely a sample of `n` is to catch it is
/// measured on `population / n` (at least one, at most [`MAX_TRIALS`]) more samples with their own seeds, since these
/// records are not independent: they share the other side's workers and clock.
fn write_read_trials(
    n: u64,
    population: u64,
    seed: u64,
    mut run_sample: impl FnMut(u64, u64) -> Result<CsiResult, String>,
) -> Result<WriteRead, ConfigError> {
    if n == 0 || n > MAX_RECORDS {
        return Err(ConfigError::new("prevent.write-read", format!("N must be between 1 and {MAX_RECORDS}, got {n}")));
    }
    if population > MAX_RECORDS {
        return Err(ConfigError::new("prevent.population", format!("must be at most {MAX_RECORDS}, got {population}")));
    }
    let fail = |e: String| ConfigError::new("prevent.write-read", e);
    let sample = run_sample(n, seed).map_err(fail)?;
    let example = first_wrong(&sample);
    let trials = (population / n).clamp(1, MAX_TRIALS);
    let (mut caught, mut units, mut wrong) = (0u64, 0u64, 0u64);
    for i in 0..trials {
        let r = run_sample(n, faultline::seed::derive_seed(seed, "write-read trial", i)).map_err(fail)?;
        let w = r.timeline.iter().filter(|m| m.wrong()).count() as u64;
        caught += u64::from(w > 0);
        (units, wrong) = (units + r.records, wrong + w);
    }
    Ok(WriteRead {
        sample: sample.records,
        caught: example.is_some(),
        example,
        failing_share: if units == 0 { 0.0 } else { wrong as f64 / units as f64 },
        population: units,
        p_catch: caught as f64 / trials as f64,
        trials: Some(trials),
    })
}

/// The first record of `r` that went wrong, in words.
fn first_wrong(r: &CsiResult) -> Option<String> {
    if let Some(e) = r.examples.first() {
        return Some(format!("record {} {}: sent {}, read {}", e.record, e.kind, e.sent, e.read));
    }
    let (id, m) = r.timeline.iter().enumerate().find(|(_, m)| m.copies > 1)?;
    Some(format!("record {id} applied {} times", m.copies))
}

/// Runs `install` in a simulation of its own (the study's default 1 ms links) to its end.
fn mini_run(
    seed: u64,
    install: impl FnOnce(SimBuilder<Raw>, &Observer) -> Result<SimBuilder<Raw>, ConfigError>,
) -> Result<CsiResult, String> {
    let observer = Observer::new();
    let builder = install(Sim::<Raw>::builder(seed), &observer).map_err(|e| e.to_string())?;
    let mut sim = builder.build().map_err(|e| e.to_string())?;
    sim.run();
    Ok(observer.result())
}

/// Write-read test for the config scenario: `n` requests from A to B as configured (timeout,
/// retries, B's processing time, idempotency keys), caught if any timed out or was applied
/// twice.
pub fn write_read_config(cfg: &ConfigScenario, n: u64, population: u64, seed: u64) -> Result<WriteRead, ConfigError> {
    cfg.validate()?;
    write_read_trials(n, population, seed, |n, seed| {
        let probe = ConfigScenario { requests: n, ..cfg.clone() };
        mini_run(seed, |b, o| probe.install(b, o))
    })
}

/// Write-read test for the api scenario: `n` operations (rounded up to whole entities: a
/// create and its updates) from A to B as configured, caught if any failed or was applied out
/// of order.
pub fn write_read_api(cfg: &ApiConfig, n: u64, population: u64, seed: u64) -> Result<WriteRead, ConfigError> {
    cfg.validate()?;
    let per_entity = u64::from(cfg.updates) + 1;
    write_read_trials(n, population, seed, |n, seed| {
        let probe = ApiConfig { entities: n.div_ceil(per_entity), ..cfg.clone() };
        mini_run(seed, |b, o| probe.install(b, o))
    })
}
