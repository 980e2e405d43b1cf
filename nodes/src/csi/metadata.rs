//! Metadata (Hive/Spark): upstream's Avro schema has the event time as a plain `long`
//! (milliseconds since the epoch); downstream's schema expects its own time type and lets
//! Avro's schema resolution (apache-avro's, not ours) coerce what it gets.
//!
//! - `seconds` (the default): downstream declares `int` seconds since the epoch, a 32-bit Unix
//!   time. A millisecond value that does not fit 32 bits fails resolution loudly; one that
//!   fits (a device whose clock was never set still counts from 1970) is read as seconds and
//!   stored a thousand times too far from the epoch, silently.
//! - `units`: both declare `long` (downstream as `timestamp-micros`, as Parquet's
//!   TIMESTAMP_MICROS does) but mean different units. Avro's own rules call that pair
//!   compatible; every record is silently a thousand times too close to the epoch.
//!
//! Upstream publishes its writer schema with the data (as a Hive table property), so downstream
//! resolves each record from the writer's schema to its reader's.

use std::time::Duration;

use apache_avro::Schema;
use apache_avro::types::Value;
use faultline::{SimBuilder, SimRng};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::flow::{DataFlow, Fail};
use super::{ConfigError, Observer, Raw, check_records, check_share};

/// Which mismatch downstream's schema has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// Downstream declares `int` seconds.
    #[default]
    Seconds,
    /// Downstream declares `long` with `timestamp-micros`.
    Units,
}

impl std::str::FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "seconds" => Ok(Variant::Seconds),
            "units" => Ok(Variant::Units),
            _ => Err(format!("unknown metadata variant '{s}' (seconds, units)")),
        }
    }
}

/// The metadata scenario's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// Records upstream writes.
    pub records: u64,
    /// Mean gap between records.
    #[serde(with = "faultline::time::serde_duration")]
    pub spacing: Duration,
    /// Downstream's schema.
    pub variant: Variant,
    /// Share of readings from devices whose clock was never set, so their event time counts
    /// from the epoch (up to 20 days of uptime); the others carry 2024-2025 times.
    pub unsynced_share: f64,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            records: 10_000,
            spacing: Duration::from_millis(10),
            variant: Variant::Seconds,
            unsynced_share: 0.2,
        }
    }
}

/// Upstream's (Hive's) writer schema.
pub const WRITER_SCHEMA: &str = r#"{"type": "record", "name": "Reading", "fields": [
  {"name": "device", "type": "string"},
  {"name": "event_time", "type": "long", "doc": "milliseconds since the epoch"}]}"#;

/// Downstream's reader schema in the `seconds` variant.
pub const READER_SECONDS: &str = r#"{"type": "record", "name": "Reading", "fields": [
  {"name": "device", "type": "string"},
  {"name": "event_time", "type": "int", "doc": "seconds since the epoch"}]}"#;

/// Downstream's reader schema in the `units` variant.
pub const READER_MICROS: &str = r#"{"type": "record", "name": "Reading", "fields": [
  {"name": "device", "type": "string"},
  {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}"#;

impl MetadataConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("metadata.records", self.records)?;
        check_share("metadata.unsynced_share", self.unsynced_share)
    }

    /// The two schemas, writer's and reader's, as Avro parses them.
    pub fn schemas(&self) -> (Schema, Schema) {
        let reader = match self.variant {
            Variant::Seconds => READER_SECONDS,
            Variant::Units => READER_MICROS,
        };
        // Both are constants of this module, checked by its tests.
        (Schema::parse_str(WRITER_SCHEMA).expect("writer schema"), Schema::parse_str(reader).expect("reader schema"))
    }

    /// Adds the pipeline's nodes to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        Ok(super::flow::install(builder, self.flow()?, observer))
    }

    /// The pipeline, once the configuration is valid.
    pub fn flow(&self) -> Result<MetadataFlow, ConfigError> {
        self.validate()?;
        let (writer, reader) = self.schemas();
        Ok(MetadataFlow { config: self.clone(), writer, reader })
    }
}

/// A sensor reading as upstream holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Device name.
    pub device: String,
    /// Milliseconds since the epoch.
    pub event_time_ms: i64,
}

/// A reading as downstream holds it: the instant in microseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Device name.
    pub device: String,
    /// Microseconds since the epoch.
    pub event_time_us: i64,
}

/// The metadata pipeline: no connector; schema resolution in downstream's reader.
#[derive(Clone, Debug)]
pub struct MetadataFlow {
    config: MetadataConfig,
    writer: Schema,
    reader: Schema,
}

/// 2024-01-01T00:00:00Z in milliseconds.
const Y2024_MS: i64 = 1_704_067_200_000;
const TWO_YEARS_MS: i64 = 2 * 365 * 86_400_000;
const TWENTY_DAYS_MS: i64 = 20 * 86_400_000;

/// `us` microseconds since the epoch as an ISO-8601 UTC instant (proleptic Gregorian).
pub fn iso(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

fn field<'a>(fields: &'a [(String, Value)], name: &str) -> Result<&'a Value, Fail> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| Fail::new("missing field", format!("record has no field {name}")))
}

fn device(fields: &[(String, Value)]) -> Result<String, Fail> {
    match field(fields, "device")? {
        Value::String(s) => Ok(s.clone()),
        other => Err(Fail::new("wrong type", format!("device is {other:?}"))),
    }
}

fn decode(writer: &Schema, reader: &Schema, bytes: &[u8]) -> Result<Value, Fail> {
    let mut input = bytes;
    apache_avro::reader::datum::GenericDatumReader::builder(writer)
        .reader_schema(reader)
        .build()
        .and_then(|r| r.read_value(&mut input))
        .map_err(|e| Fail::new("avro resolution", e))
}

fn encode(schema: &Schema, value: Value) -> Result<Vec<u8>, Fail> {
    apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .build()
        .and_then(|w| w.write_value_to_vec(value))
        .map_err(|e| Fail::new("avro write", e))
}

impl MetadataFlow {
    fn record(&self, bytes: &[u8], writer: &Schema, reader: &Schema) -> Result<Vec<(String, Value)>, Fail> {
        match decode(writer, reader, bytes)? {
            Value::Record(fields) => Ok(fields),
            other => Err(Fail::new("wrong type", format!("not a record: {other:?}"))),
        }
    }
}

impl DataFlow for MetadataFlow {
    type Up = Reading;
    type Down = Stored;

    fn records(&self) -> u64 {
        self.config.records
    }
    fn spacing(&self) -> Duration {
        self.config.spacing
    }
    fn generate(&self, rng: &mut SimRng) -> Reading {
        let unsynced = rng.random_bool(self.config.unsynced_share);
        let n = rng.random_range(0..1000u32);
        let event_time_ms =
            if unsynced { rng.random_range(0..TWENTY_DAYS_MS) } else { Y2024_MS + rng.random_range(0..TWO_YEARS_MS) };
        Reading { device: format!("sensor-{n:03}"), event_time_ms }
    }
    fn meant(&self, v: &Reading) -> String {
        format!("{} @ {}", v.device, iso(v.event_time_ms.saturating_mul(1000)))
    }
    fn write(&self, v: &Reading) -> Result<Vec<u8>, Fail> {
        let value = Value::Record(vec![
            ("device".into(), Value::String(v.device.clone())),
            ("event_time".into(), Value::Long(v.event_time_ms)),
        ]);
        encode(&self.writer, value)
    }
    fn read_own(&self, bytes: &[u8]) -> Result<Reading, Fail> {
        let fields = self.record(bytes, &self.writer, &self.writer)?;
        match field(&fields, "event_time")? {
            Value::Long(ms) => Ok(Reading { device: device(&fields)?, event_time_ms: *ms }),
            other => Err(Fail::new("wrong type", format!("event_time is {other:?}"))),
        }
    }
    fn read(&self, bytes: &[u8]) -> Result<Stored, Fail> {
        let fields = self.record(bytes, &self.writer, &self.reader)?;
        let event_time_us = match field(&fields, "event_time")? {
            Value::Int(secs) => i64::from(*secs) * 1_000_000,
            Value::TimestampMicros(us) => *us,
            other => return Err(Fail::new("wrong type", format!("event_time is {other:?}"))),
        };
        Ok(Stored { device: device(&fields)?, event_time_us })
    }
    fn write_own(&self, v: &Stored) -> Result<Vec<u8>, Fail> {
        let time = match self.config.variant {
            Variant::Seconds => {
                Value::Int(i32::try_from(v.event_time_us / 1_000_000).map_err(|e| Fail::new("out of range", e))?)
            }
            Variant::Units => Value::TimestampMicros(v.event_time_us),
        };
        encode(
            &self.reader,
            Value::Record(vec![("device".into(), Value::String(v.device.clone())), ("event_time".into(), time)]),
        )
    }
    fn stored(&self, v: &Stored) -> String {
        format!("{} @ {}", v.device, iso(v.event_time_us))
    }
    fn own_sample(&self, rng: &mut SimRng) -> Stored {
        // Downstream's own data: 2024-2025 instants, whole seconds (its column's resolution in
        // the `seconds` variant).
        let secs = Y2024_MS / 1000 + rng.random_range(0..TWO_YEARS_MS / 1000);
        Stored { device: format!("sensor-{:03}", rng.random_range(0..1000u32)), event_time_us: secs * 1_000_000 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::flow::{cross, self_tests};
    use faultline::derive_rng;

    #[test]
    fn iso_dates_are_right() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso(Y2024_MS * 1000), "2024-01-01T00:00:00.000000Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn sides_pass_alone_and_fail_across_by_value() {
        for variant in [Variant::Seconds, Variant::Units] {
            let flow = MetadataConfig { variant, ..Default::default() }.flow().unwrap();
            assert!(self_tests(&flow, 100, &mut derive_rng(3, "t", 0)).pass(), "{variant:?}");
        }
        let flow = MetadataConfig::default().flow().unwrap();
        let synced = Reading { device: "a".into(), event_time_ms: Y2024_MS };
        let unset = Reading { device: "a".into(), event_time_ms: 5_000 };
        assert!(cross(&flow, &synced).unwrap_err().starts_with("downstream:"));
        // 5 s after the epoch, read as 5000 s: silently wrong.
        assert_eq!(
            cross(&flow, &unset).unwrap_err(),
            "meant a @ 1970-01-01T00:00:05.000000Z, stored a @ 1970-01-01T01:23:20.000000Z"
        );
        let units = MetadataConfig { variant: Variant::Units, ..Default::default() }.flow().unwrap();
        assert!(cross(&units, &synced).unwrap_err().contains("stored a @ 1970-01-20"));
    }
}
