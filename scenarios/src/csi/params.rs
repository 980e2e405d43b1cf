//! The csi study's parameters: one plain data type with the defaults written out, its table
//! (flags, TOML keys, ranges, sweepable names), and the checks between parameters, which turn
//! them into the `nodes::csi` configurations of each scenario.

use std::path::PathBuf;
use std::time::Duration;

use faultline::time::{format_duration, parse_duration, serde_duration};
use faultline_nodes::csi::api::{ApiConfig, MAX_WORKERS};
use faultline_nodes::csi::compression::{Compression, CompressionConfig, ConnectorFormat};
use faultline_nodes::csi::config::{ConfigScenario, MAX_RETRIES};
use faultline_nodes::csi::encoding::{Decode, EncodingConfig};
use faultline_nodes::csi::metadata::{MetadataConfig, Variant};
use faultline_nodes::csi::types::{Rounding, TypesConfig};
use faultline_nodes::csi::{ConfigError, MAX_RECORDS, Processing, Scenario};
use serde::{Deserialize, Serialize};

use crate::cli::InputError;
use crate::study::param::{FAULTS, HOUR, MS, NEMESIS, PROBABILITY, ZERO, dur, int, word};
use crate::study::{Kind, Param, RunLimits};

/// Which scenario to run: one of the six, or all of them in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    /// [`Scenario::Metadata`].
    Metadata,
    /// [`Scenario::Encoding`].
    Encoding,
    /// [`Scenario::Compression`].
    Compression,
    /// [`Scenario::Config`].
    Config,
    /// [`Scenario::Api`].
    Api,
    /// [`Scenario::Types`].
    Types,
    /// The six in turn, one table.
    All,
}

impl Which {
    /// The scenarios it stands for, in report order.
    pub fn scenarios(self) -> Vec<Scenario> {
        match self {
            Which::Metadata => vec![Scenario::Metadata],
            Which::Encoding => vec![Scenario::Encoding],
            Which::Compression => vec![Scenario::Compression],
            Which::Config => vec![Scenario::Config],
            Which::Api => vec![Scenario::Api],
            Which::Types => vec![Scenario::Types],
            Which::All => Scenario::ALL.to_vec(),
        }
    }
}

/// Downstream's schema in the metadata scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataKind {
    /// A type mismatch: downstream declares `int` seconds where upstream writes a `long` of
    /// milliseconds (a schema registry sees it).
    #[default]
    Types,
    /// A unit mismatch: both declare `long`, downstream means microseconds (a registry cannot
    /// see it).
    Units,
}

/// Every parameter of a run. The defaults are the nodes' defaults: 10,000 records per data
/// scenario (2,000 requests for config, 500 entities for api), 20% non-ASCII names, strict
/// decoding, LZ4 frames read raw, a 30 s timeout with 3 retries against a log-normal
/// processing time of median 25 s, four workers, truncating decimals; no prevention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Master seed.
    pub seed: u64,
    /// Which scenario.
    pub scenario: Which,
    /// Records (data scenarios), requests (config) or entities (api); absent: the scenario's
    /// default.
    pub records: Option<u64>,
    /// Records per second; with `duration`, instead of `records`.
    pub rate: Option<f64>,
    /// How long `rate` lasts.
    #[serde(with = "faultline::time::serde_option_duration")]
    pub duration: Option<Duration>,
    /// Mean gap between records (data), think time (config), gap between operations (api);
    /// absent: the scenario's default.
    #[serde(with = "faultline::time::serde_option_duration")]
    pub spacing: Option<Duration>,
    /// Metadata: downstream's schema.
    pub metadata: MetadataKind,
    /// Metadata: share of readings from devices whose clock was never set.
    pub unsynced_share: f64,
    /// Encoding: share of records with non-ASCII text.
    pub non_ascii_share: f64,
    /// Encoding: downstream's decoding.
    pub decode: Decode,
    /// Encoding: upstream's charset.
    pub upstream_charset: String,
    /// Encoding: downstream's charset.
    pub downstream_charset: String,
    /// Compression: the producer's compression.
    pub compression: Compression,
    /// Compression: the format the connector reads.
    pub connector_format: ConnectorFormat,
    /// Config: upstream's timeout per attempt.
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// Config: upstream's retries.
    pub retries: u32,
    /// Config: downstream's processing time, as a distribution.
    pub processing: String,
    /// Config: the timeout downstream expects callers to use.
    #[serde(with = "serde_duration")]
    pub expected_timeout: Duration,
    /// Config: the retries downstream expects.
    pub expected_retries: u32,
    /// Config: upstream sends idempotency keys and downstream honours them.
    pub idempotency_keys: bool,
    /// Api: updates per entity after its create.
    pub updates: u32,
    /// Api: downstream's workers.
    pub workers: u32,
    /// Api: downstream routes one entity's operations to one worker.
    pub per_entity_ordering: bool,
    /// Api: downstream's processing time per operation.
    pub op_processing: String,
    /// Types: most lines per invoice.
    pub max_lines: u32,
    /// Types: downstream's column scale.
    pub scale: u32,
    /// Types: downstream's column rounding.
    pub rounding: Rounding,
    /// Checks before go-live, comma-separated.
    pub prevent: Option<String>,
    /// Records (or requests, operations) the write-read catch probability is measured on.
    pub write_read_population: u64,
    /// Width of the time-series windows; absent: a fortieth of the run, rounded.
    #[serde(with = "faultline::time::serde_option_duration")]
    pub window: Option<Duration>,
    /// Fault script.
    pub faults: Option<PathBuf>,
    /// Nemesis spec.
    pub nemesis: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        let m = MetadataConfig::default();
        let e = EncodingConfig::default();
        let c = CompressionConfig::default();
        let k = ConfigScenario::default();
        let a = ApiConfig::default();
        let t = TypesConfig::default();
        Params {
            seed: 1,
            scenario: Which::All,
            records: None,
            rate: None,
            duration: None,
            spacing: None,
            metadata: MetadataKind::Types,
            unsynced_share: m.unsynced_share,
            non_ascii_share: e.non_ascii_share,
            decode: e.decode,
            upstream_charset: e.upstream_charset,
            downstream_charset: e.downstream_charset,
            compression: c.compression,
            connector_format: c.connector_format,
            timeout: k.timeout,
            retries: k.retries,
            processing: "lognormal(25s, 0.5)".into(),
            expected_timeout: k.expected_timeout,
            expected_retries: k.expected_retries,
            idempotency_keys: k.idempotency_keys,
            updates: a.updates,
            workers: a.workers,
            per_entity_ordering: a.per_entity_ordering,
            op_processing: "uniform(1ms, 20ms)".into(),
            max_lines: t.max_lines,
            scale: t.scale,
            rounding: t.rounding,
            prevent: None,
            write_read_population: 10_000,
            window: None,
            faults: None,
            nemesis: None,
        }
    }
}

/// The longest `--duration` of a `--rate`: thirty days of virtual time.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The default N of `--prevent write-read`.
pub const DEFAULT_WRITE_READ: u64 = 20;

/// Every parameter of the study, declared once. The defaults are [`Params::default`].
pub const TABLE: &[Param] = &[
    Param::new("seed", int(0, u64::MAX), "Master seed."),
    Param::new(
        "scenario",
        Kind::Choice(&["metadata", "encoding", "compression", "config", "api", "types", "all"]),
        "Which interaction: metadata (Hive/Spark), encoding (producer/consumer), compression (Kafka/Flink), config (ServiceA/ServiceB), api (worker pool), types (f64/decimal), or all six in one table.",
    )
    .fixed(),
    Param::new(
        "records",
        int(1, MAX_RECORDS),
        "Records (data scenarios), requests (config) or entities (api: each a create and --updates updates); off: 10000 records, 2000 requests, 500 entities.",
    )
    .optional(),
    Param::new("rate", Kind::Float { min: 0.0, min_excluded: true, max: 1e6 }, "Records per second for --duration, instead of --records (sets --spacing to 1/rate).")
        .optional(),
    Param::new("duration", dur(MS, MAX_DURATION), "How long --rate lasts.").optional(),
    Param::new(
        "spacing",
        dur(ZERO, HOUR),
        "Mean gap between records (data, Poisson arrivals), think time between requests (config), gap between operations (api); off: 10ms, 1s, 1ms.",
    )
    .optional(),
    Param::new(
        "metadata",
        Kind::Choice(&["types", "units"]),
        "Metadata: types (downstream declares int seconds for upstream's long milliseconds) or units (both declare long, downstream means microseconds: a registry cannot see it).",
    ),
    Param::new("unsynced-share", PROBABILITY, "Metadata: share of readings from devices whose clock was never set (they count from 1970)."),
    Param::new("non-ascii-share", PROBABILITY, "Encoding: share of records whose text has a non-ASCII character (accents, currency symbols)."),
    Param::new("decode", Kind::Choice(&["strict", "lossy"]), "Encoding: downstream refuses malformed text (strict, loud) or replaces it with U+FFFD (lossy, silent)."),
    Param::new("upstream-charset", Kind::Text(64), "Encoding: upstream's charset (a WHATWG label: windows-1252, latin1, utf-8, ...).").fixed(),
    Param::new("downstream-charset", Kind::Text(64), "Encoding: downstream's charset (a WHATWG label).").fixed(),
    Param::new("compression", Kind::Choice(&["none", "lz4"]), "Compression: the producer's compression property (lz4 writes LZ4 frames)."),
    Param::new(
        "connector-format",
        Kind::Choice(&["raw", "block", "frame"]),
        "Compression: what the connector reads (it ignores the producer's compression key): raw JSON, the LZ4 block format, or the LZ4 frame format.",
    ),
    Param::new("timeout", dur(MS, HOUR), "Config: upstream's timeout per attempt."),
    Param::new("retries", int(0, MAX_RETRIES as u64), "Config: upstream's retries after the first attempt."),
    Param::new(
        "processing",
        Kind::Text(200),
        "Config: downstream's processing time: 25s, constant(25s), uniform(10s, 40s), exponential(25s) or lognormal(MEDIAN, SIGMA).",
    ),
    Param::new("expected-timeout", dur(MS, HOUR), "Config: the timeout downstream's operators expect callers to use."),
    Param::new("expected-retries", int(0, MAX_RETRIES as u64), "Config: the retries downstream's operators expect."),
    Param::new("idempotency-keys", Kind::Bool, "Config: upstream sends an idempotency key and downstream applies each key once."),
    Param::new("updates", int(0, 1000), "Api: updates upstream sends per entity after its create."),
    Param::new("workers", int(1, MAX_WORKERS as u64), "Api: downstream's worker pool."),
    Param::new("per-entity-ordering", Kind::Bool, "Api: downstream routes all operations on one entity to one worker."),
    Param::new("op-processing", Kind::Text(200), "Api: downstream's processing time per operation (same forms as --processing)."),
    Param::new("max-lines", int(1, 1000), "Types: most lines per invoice."),
    Param::new("scale", int(2, 8), "Types: digits after the point of downstream's DECIMAL column."),
    Param::new("rounding", Kind::Choice(&["truncate", "half-up", "half-even"]), "Types: how downstream's column brings a value to its scale."),
    Param::new(
        "prevent",
        Kind::Text(200),
        "Checks before go-live (repeat the flag, or separate with commas): registry, config-check, contract, write-read[:N] (N sample records, default 20). A check that catches the problem refuses the deploy.",
    )
    .optional()
    .repeatable()
    .fixed(),
    Param::new(
        "write-read-population",
        int(1, MAX_RECORDS),
        "Records (requests, operations) on which the write-read catch probability is measured.",
    ),
    Param::new("window", dur(MS, MAX_DURATION), "Width of the time-series windows; off: a fortieth of the run, rounded.").optional(),
    FAULTS,
    NEMESIS,
];

/// One check asked for with `--prevent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A schema registry at deploy.
    Registry,
    /// A configuration coherence check at deploy.
    ConfigCheck,
    /// A consumer-driven contract test.
    Contract,
    /// N sample records written by A and read by B.
    WriteRead(u64),
}

impl Check {
    /// Its name as `--prevent` spells it.
    pub fn name(self) -> String {
        match self {
            Check::Registry => "registry".into(),
            Check::ConfigCheck => "config-check".into(),
            Check::Contract => "contract".into(),
            Check::WriteRead(n) => format!("write-read:{n}"),
        }
    }
}

/// Reads `--prevent`: a comma-separated list, each check at most once.
pub fn parse_prevent(text: &str) -> Result<Vec<Check>, InputError> {
    let allowed = "allowed: registry, config-check, contract, write-read[:N], comma-separated";
    let mut out: Vec<Check> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let check = match item {
            "registry" => Check::Registry,
            "config-check" => Check::ConfigCheck,
            "contract" => Check::Contract,
            "write-read" => Check::WriteRead(DEFAULT_WRITE_READ),
            _ => match item.strip_prefix("write-read:") {
                Some(n) => match n.trim().parse::<u64>() {
                    Ok(n) if (1..=MAX_RECORDS).contains(&n) => Check::WriteRead(n),
                    _ => {
                        return bad(format!(
                            "--prevent '{item}': N must be a whole number from 1 to {MAX_RECORDS} ({allowed})"
                        ));
                    }
                },
                None => return bad(format!("--prevent: unknown check '{item}' ({allowed})")),
            },
        };
        if out.iter().any(|c| std::mem::discriminant(c) == std::mem::discriminant(&check)) {
            return bad(format!("--prevent: '{item}' is given twice ({allowed}, each once)"));
        }
        out.push(check);
    }
    if out.is_empty() {
        return bad(format!("--prevent: no check ({allowed}, or off)"));
    }
    Ok(out)
}

/// Reads a processing-time distribution: `25s`, `constant(25s)`, `uniform(A, B)`,
/// `exponential(MEAN)` or `lognormal(MEDIAN, SIGMA)`, checked by the nodes' own rules.
pub fn parse_processing(text: &str, flag: &str) -> Result<Processing, InputError> {
    let t = text.trim();
    let fail = |why: String| {
        InputError(format!(
            "{flag} '{t}': {why} (allowed: 25s, constant(25s), uniform(10s, 40s), exponential(25s), lognormal(25s, 0.5))"
        ))
    };
    let d = |s: &str| parse_duration(s.trim()).map_err(|e| fail(format!("'{}': {}", s.trim(), e.reason)));
    let (name, args) = match t.split_once('(') {
        Some((name, rest)) => {
            let inner = rest.strip_suffix(')').ok_or_else(|| fail("no closing parenthesis".into()))?;
            (name.trim(), inner.split(',').collect::<Vec<_>>())
        }
        None => ("constant", vec![t]),
    };
    let p = match (name, args.as_slice()) {
        ("constant", [v]) => Processing::Constant { value: d(v)? },
        ("uniform", [a, b]) => Processing::Uniform { min: d(a)?, max: d(b)? },
        ("exponential", [m]) => Processing::Exponential { mean: d(m)? },
        ("lognormal", [m, s]) => {
            let sigma: f64 = s.trim().parse().map_err(|_| fail(format!("sigma '{}' is not a number", s.trim())))?;
            Processing::LogNormal { median: d(m)?, sigma }
        }
        ("constant" | "uniform" | "exponential" | "lognormal", _) => {
            return Err(fail(format!("wrong number of arguments to {name}")));
        }
        _ => return Err(fail(format!("unknown distribution '{name}'"))),
    };
    p.validate(flag).map_err(|e| fail(e.reason))?;
    Ok(p)
}

fn bad<T>(msg: String) -> Result<T, InputError> {
    Err(InputError(msg))
}

/// A nodes configuration error in the words of the command line: the field `scenario.name` is
/// the flag `--name`.
fn flag_error(e: ConfigError) -> InputError {
    let name = e.field.split_once('.').map_or(e.field.as_str(), |(_, n)| n).replace('_', "-");
    let flag = match name.as_str() {
        "requests" | "entities" => "--records".to_string(),
        "operations" => "--records x (--updates + 1)".to_string(),
        "think" => "--spacing".to_string(),
        "processing" if e.field.starts_with("api.") => "--op-processing".to_string(),
        other => format!("--{other}"),
    };
    InputError(format!("{flag}: {}", e.reason))
}

/// The six scenarios' configurations, as the parameters set them.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Metadata.
    pub metadata: MetadataConfig,
    /// Encoding.
    pub encoding: EncodingConfig,
    /// Compression.
    pub compression: CompressionConfig,
    /// Config.
    pub config: ConfigScenario,
    /// Api.
    pub api: ApiConfig,
    /// Types.
    pub types: TypesConfig,
    /// The checks `--prevent` asked for, in its order.
    pub prevent: Vec<Check>,
}

impl Plan {
    /// Units of work scenario `s` offers: records, request attempts at most, operations.
    pub fn work(&self, s: Scenario) -> u64 {
        match s {
            Scenario::Metadata => self.metadata.records,
            Scenario::Encoding => self.encoding.records,
            Scenario::Compression => self.compression.records,
            Scenario::Config => self.config.requests.saturating_mul(u64::from(self.config.retries) + 1),
            Scenario::Api => self.api.entities.saturating_mul(u64::from(self.api.updates) + 1),
            Scenario::Types => self.types.records,
        }
    }
}

impl Params {
    /// Checks every value against its range in [`TABLE`] (a config file or a sweep may have
    /// set it), then the rules between them, and builds the scenarios' configurations. Errors
    /// name the flags and what is allowed.
    pub fn plan(&self) -> Result<Plan, InputError> {
        crate::study::param::check_ranges(TABLE, self)?;
        let (records, spacing) = match (self.records, self.rate, self.duration) {
            (Some(_), Some(_), _) => {
                return bad("--records and --rate: give one (--records N, or --rate R with --duration D)".into());
            }
            (_, Some(_), None) => return bad("--rate needs --duration (records = rate x duration)".into()),
            (_, None, Some(_)) => return bad("--duration needs --rate (or give --records instead)".into()),
            (_, Some(_), _) if self.spacing.is_some() => {
                return bad("--rate and --spacing: give one (--rate sets the spacing to 1/rate)".into());
            }
            (Some(n), None, None) => (Some(n), self.spacing),
            (None, Some(rate), Some(d)) => {
                let n = (rate * d.as_secs_f64()).round();
                if !(1.0..=MAX_RECORDS as f64).contains(&n) {
                    return bad(format!(
                        "--rate {rate} for --duration {} makes {n} records (allowed: 1 to {MAX_RECORDS})",
                        format_duration(d)
                    ));
                }
                (Some(n as u64), Some(Duration::from_secs_f64(1.0 / rate)))
            }
            (None, None, None) => (None, self.spacing),
        };
        let prevent = self.prevent.as_deref().map(parse_prevent).transpose()?.unwrap_or_default();
        let d = |def: &dyn Fn() -> Duration| spacing.unwrap_or_else(def);
        let metadata = MetadataConfig {
            records: records.unwrap_or(MetadataConfig::default().records),
            spacing: d(&|| MetadataConfig::default().spacing),
            variant: match self.metadata {
                MetadataKind::Types => Variant::Seconds,
                MetadataKind::Units => Variant::Units,
            },
            unsynced_share: self.unsynced_share,
        };
        let encoding = EncodingConfig {
            records: records.unwrap_or(EncodingConfig::default().records),
            spacing: d(&|| EncodingConfig::default().spacing),
            non_ascii_share: self.non_ascii_share,
            upstream_charset: self.upstream_charset.clone(),
            downstream_charset: self.downstream_charset.clone(),
            decode: self.decode,
        };
        let compression = CompressionConfig {
            records: records.unwrap_or(CompressionConfig::default().records),
            spacing: d(&|| CompressionConfig::default().spacing),
            compression: self.compression,
            connector_format: self.connector_format,
            ..CompressionConfig::default()
        };
        let config = ConfigScenario {
            requests: records.unwrap_or(ConfigScenario::default().requests),
            think: d(&|| ConfigScenario::default().think),
            timeout: self.timeout,
            retries: self.retries,
            processing: parse_processing(&self.processing, "--processing")?,
            expected_timeout: self.expected_timeout,
            expected_retries: self.expected_retries,
            idempotency_keys: self.idempotency_keys,
        };
        let api = ApiConfig {
            entities: records.unwrap_or(ApiConfig::default().entities),
            updates: self.updates,
            spacing: d(&|| ApiConfig::default().spacing),
            workers: self.workers,
            per_entity_ordering: self.per_entity_ordering,
            processing: parse_processing(&self.op_processing, "--op-processing")?,
        };
        let types = TypesConfig {
            records: records.unwrap_or(TypesConfig::default().records),
            spacing: d(&|| TypesConfig::default().spacing),
            max_lines: self.max_lines,
            scale: self.scale,
            rounding: self.rounding,
        };
        metadata.validate().map_err(flag_error)?;
        encoding.validate().map_err(flag_error)?;
        compression.validate().map_err(flag_error)?;
        config.validate().map_err(flag_error)?;
        api.validate().map_err(flag_error)?;
        types.validate().map_err(flag_error)?;
        Ok(Plan { metadata, encoding, compression, config, api, types, prevent })
    }

    /// Checks the limits a run of these parameters would meet.
    pub fn check_limits(&self, plan: &Plan, limits: &RunLimits) -> Result<(), InputError> {
        for s in self.scenario.scenarios() {
            let work = plan.work(s);
            if work > limits.max_requests {
                return bad(format!(
                    "--scenario {} with --records offers up to {work} records, requests or operations, more than --max-requests {} (allowed: fewer --records, or a higher --max-requests)",
                    name(s),
                    limits.max_requests
                ));
            }
        }
        Ok(())
    }

    /// One line that says what was run in scenario `s`.
    pub fn describe(&self, plan: &Plan, s: Scenario) -> String {
        let f = format_duration;
        match s {
            Scenario::Metadata => format!(
                "upstream writes event_time as an Avro long of milliseconds, downstream's schema declares {}; {} readings, {:.0}% from devices whose clock was never set",
                match self.metadata {
                    MetadataKind::Types => "int seconds",
                    MetadataKind::Units => "long timestamp-micros",
                },
                plan.metadata.records,
                100.0 * plan.metadata.unsynced_share
            ),
            Scenario::Encoding => format!(
                "upstream encodes {}, downstream decodes {} ({}); {} records, {:.0}% with non-ASCII text",
                plan.encoding.upstream_charset,
                plan.encoding.downstream_charset,
                word(&plan.encoding.decode),
                plan.encoding.records,
                100.0 * plan.encoding.non_ascii_share
            ),
            Scenario::Compression => format!(
                "producer compression={}, the connector reads {} and ignores keys it does not know; {} records",
                word(&plan.compression.compression),
                word(&plan.compression.connector_format),
                plan.compression.records
            ),
            Scenario::Config => format!(
                "upstream timeout {} with {} retries, downstream expects {} with {} and processes in {}; {} requests, think {}, idempotency keys {}",
                f(plan.config.timeout),
                plan.config.retries,
                f(plan.config.expected_timeout),
                plan.config.expected_retries,
                self.processing.trim(),
                plan.config.requests,
                f(plan.config.think),
                if plan.config.idempotency_keys { "on" } else { "off" }
            ),
            Scenario::Api => format!(
                "upstream sends a create and {} updates per entity {} apart, downstream runs {} workers{} processing in {}; {} entities",
                plan.api.updates,
                f(plan.api.spacing),
                plan.api.workers,
                if plan.api.per_entity_ordering { " with per-entity ordering" } else { "" },
                self.op_processing.trim(),
                plan.api.entities
            ),
            Scenario::Types => format!(
                "upstream sums invoice lines in f64, downstream stores DECIMAL(12, {}) ({}); {} invoices of up to {} lines",
                plan.types.scale,
                word(&plan.types.rounding),
                plan.types.records,
                plan.types.max_lines
            ),
        }
    }
}

/// The name of a scenario, as `--scenario` spells it.
pub fn name(s: Scenario) -> String {
    word(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_distributions_read_their_forms_and_refuse_others_by_flag() {
        let p = |t: &str| parse_processing(t, "--processing");
        assert_eq!(p("25s").unwrap(), Processing::Constant { value: Duration::from_secs(25) });
        assert_eq!(
            p("lognormal(25s, 0.5)").unwrap(),
            Processing::LogNormal { median: Duration::from_secs(25), sigma: 0.5 }
        );
        assert_eq!(
            p(" uniform(1ms,20ms) ").unwrap(),
            Processing::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(20) }
        );
        for bad in
            ["gamma(1s)", "uniform(2s)", "uniform(3s, 1s)", "lognormal(1s, x)", "lognormal(1s, 9)", "exponential(1s"]
        {
            assert!(p(bad).unwrap_err().0.starts_with(&format!("--processing '{bad}':")), "{bad}");
        }
    }

    #[test]
    fn prevent_is_a_comma_list_of_known_checks_each_once() {
        assert_eq!(parse_prevent("registry, write-read:5").unwrap(), [Check::Registry, Check::WriteRead(5)]);
        assert_eq!(parse_prevent("write-read").unwrap(), [Check::WriteRead(DEFAULT_WRITE_READ)]);
        assert!(parse_prevent("registry,registry").unwrap_err().0.contains("given twice"));
        assert!(parse_prevent("write-read:1,write-read:2").unwrap_err().0.contains("given twice"));
        assert!(parse_prevent("write-read:0").unwrap_err().0.starts_with("--prevent 'write-read:0': N must be"));
        assert!(parse_prevent("lint").unwrap_err().0.starts_with("--prevent: unknown check 'lint'"));
    }

    #[test]
    fn records_or_rate_with_duration_and_relations_name_the_flags() {
        let refused = |p: Params| p.plan().unwrap_err().0;
        let secs = |s| Some(Duration::from_secs(s));
        assert!(
            refused(Params { records: Some(5), rate: Some(1.0), ..Params::default() })
                .starts_with("--records and --rate")
        );
        assert!(refused(Params { rate: Some(1.0), ..Params::default() }).starts_with("--rate needs --duration"));
        assert!(refused(Params { duration: secs(1), ..Params::default() }).starts_with("--duration needs --rate"));
        assert!(
            refused(Params { rate: Some(0.1), duration: secs(1), ..Params::default() }).contains("makes 0 records")
        );
        assert!(refused(Params { workers: 0, ..Params::default() }).starts_with("--workers: out of range"));
        assert!(
            refused(Params { updates: 1000, records: Some(10_000), ..Params::default() })
                .starts_with("--records x (--updates + 1): must be between 1 and")
        );
        assert!(
            refused(Params { upstream_charset: "klingon".into(), ..Params::default() })
                .starts_with("--upstream-charset: unknown charset 'klingon'")
        );
        let plan = Params { rate: Some(50.0), duration: secs(10), ..Params::default() }.plan().unwrap();
        assert_eq!((plan.encoding.records, plan.encoding.spacing), (500, Duration::from_millis(20)));
        assert_eq!((plan.config.requests, plan.config.think), (500, Duration::from_millis(20)));
        let plan = Params::default().plan().unwrap();
        assert_eq!((plan.config.requests, plan.api.entities, plan.types.records), (2000, 500, 10_000));
    }
}
