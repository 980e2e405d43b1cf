//! Compression (Kafka/Flink): upstream's producer config says `compression=lz4`, so it writes
//! LZ4 frames. Downstream's source connector is configured from the same properties, but
//! `compression` is not in its config schema: it ignores the key without a word and reads the
//! bytes in its own format (raw JSON, or the LZ4 *block* format where the *frame* format was
//! written). Every record fails, loudly, at the connector; nothing reaches downstream. The
//! codecs are lz4_flex's.

use std::io::{Read, Write};
use std::time::Duration;

use faultline::{SimBuilder, SimRng};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::flow::{DataFlow, Fail};
use super::{ConfigError, Observer, Raw, check_records};

/// How the producer compresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain bytes.
    None,
    /// LZ4 frame format (what Kafka's `compression.type=lz4` writes).
    #[default]
    Lz4,
}

/// The format the connector reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorFormat {
    /// Plain JSON bytes.
    #[default]
    Raw,
    /// LZ4 block format, with the uncompressed size as a 4-byte little-endian prefix.
    Block,
    /// LZ4 frame format.
    Frame,
}

impl std::str::FromStr for ConnectorFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raw" => Ok(ConnectorFormat::Raw),
            "block" => Ok(ConnectorFormat::Block),
            "frame" => Ok(ConnectorFormat::Frame),
            _ => Err(format!("unknown connector format '{s}' (raw, block, frame)")),
        }
    }
}

/// The compression scenario's configuration: the producer's properties and the connector's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionConfig {
    /// Records upstream writes.
    pub records: u64,
    /// Mean gap between records.
    #[serde(with = "faultline::time::serde_duration")]
    pub spacing: Duration,
    /// The producer's `compression` property.
    pub compression: Compression,
    /// The connector's `format` property.
    pub connector_format: ConnectorFormat,
    /// The connector's `max_record_bytes` property: larger records are refused.
    pub max_record_bytes: usize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig {
            records: 10_000,
            spacing: Duration::from_millis(10),
            compression: Compression::Lz4,
            connector_format: ConnectorFormat::Raw,
            max_record_bytes: 1 << 20,
        }
    }
}

/// Keys the connector's config schema knows.
pub const CONNECTOR_KEYS: &[&str] = &["topic", "format", "max_record_bytes"];

impl CompressionConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("compression.records", self.records)?;
        if !(64..=64 << 20).contains(&self.max_record_bytes) {
            return Err(ConfigError::new(
                "compression.max_record_bytes",
                format!("must be between 64 and {} bytes, got {}", 64 << 20, self.max_record_bytes),
            ));
        }
        Ok(())
    }

    /// The producer's properties, as the two systems share them.
    pub fn producer_properties(&self) -> Vec<(String, String)> {
        let c = match self.compression {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
        };
        vec![("topic".into(), "orders".into()), ("compression".into(), c.into())]
    }

    /// Adds the pipeline's nodes to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        Ok(super::flow::install(builder, self.flow()?, observer))
    }

    /// The pipeline, once the configuration is valid.
    pub fn flow(&self) -> Result<CompressionFlow, ConfigError> {
        self.validate()?;
        // The connector reads the shared properties through its own schema, as Flink did: a
        // key it does not know is dropped without a word.
        let ignored = self
            .producer_properties()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !CONNECTOR_KEYS.contains(&k.as_str()))
            .collect();
        Ok(CompressionFlow { config: self.clone(), ignored })
    }
}

/// An order, the record both sides exchange as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order number.
    pub order: u64,
    /// Customer name.
    pub customer: String,
    /// Product codes.
    pub items: Vec<String>,
}

/// The compression pipeline: upstream, the connector, downstream.
#[derive(Clone, Debug)]
pub struct CompressionFlow {
    config: CompressionConfig,
    ignored: Vec<String>,
}

impl CompressionFlow {
    /// Producer properties the connector silently ignored.
    pub fn ignored_keys(&self) -> &[String] {
        &self.ignored
    }
}

fn json(o: &Order) -> Result<Vec<u8>, Fail> {
    serde_json::to_vec(o).map_err(|e| Fail::new("json write", e))
}

fn frame_compress(bytes: &[u8]) -> Result<Vec<u8>, Fail> {
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
    enc.write_all(bytes).map_err(|e| Fail::new("lz4 frame write", e))?;
    enc.finish().map_err(|e| Fail::new("lz4 frame write", e))
}

fn frame_decompress(bytes: &[u8], max: usize) -> Result<Vec<u8>, Fail> {
    let mut out = Vec::new();
    lz4_flex::frame::FrameDecoder::new(bytes)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Fail::new("lz4 frame", e))?;
    if out.len() > max {
        return Err(Fail::new("record too large", format!("more than max_record_bytes={max}")));
    }
    Ok(out)
}

fn block_decompress(bytes: &[u8], max: usize) -> Result<Vec<u8>, Fail> {
    let (size, block) =
        bytes.split_at_checked(4).ok_or_else(|| Fail::new("lz4 block", "shorter than its size prefix"))?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size > max {
        return Err(Fail::new(
            "lz4 block size",
            format!("declared uncompressed size {size} exceeds max_record_bytes={max}"),
        ));
    }
    lz4_flex::block::decompress(block, size).map_err(|e| Fail::new("lz4 block", e))
}

impl DataFlow for CompressionFlow {
    type Up = Order;
    type Down = Order;

    fn records(&self) -> u64 {
        self.config.records
    }
    fn spacing(&self) -> Duration {
        self.config.spacing
    }
    fn generate(&self, rng: &mut SimRng) -> Order {
        let n = rng.random_range(1..6);
        Order {
            order: rng.random_range(0..1_000_000),
            customer: format!("customer-{}", rng.random_range(0..5000u32)),
            items: (0..n).map(|_| format!("SKU-{:05}", rng.random_range(0..20_000u32))).collect(),
        }
    }
    fn meant(&self, v: &Order) -> String {
        format!("{v:?}")
    }
    fn write(&self, v: &Order) -> Result<Vec<u8>, Fail> {
        let bytes = json(v)?;
        match self.config.compression {
            Compression::None => Ok(bytes),
            Compression::Lz4 => frame_compress(&bytes),
        }
    }
    fn read_own(&self, bytes: &[u8]) -> Result<Order, Fail> {
        let plain = match self.config.compression {
            Compression::None => bytes.to_vec(),
            Compression::Lz4 => frame_decompress(bytes, self.config.max_record_bytes)?,
        };
        serde_json::from_slice(&plain).map_err(|e| Fail::new("json", e))
    }
    fn has_connector(&self) -> bool {
        true
    }
    fn connect(&self, bytes: &[u8]) -> Result<Vec<u8>, Fail> {
        let max = self.config.max_record_bytes;
        let plain = match self.config.connector_format {
            ConnectorFormat::Raw => bytes.to_vec(),
            ConnectorFormat::Block => block_decompress(bytes, max)?,
            ConnectorFormat::Frame => frame_decompress(bytes, max)?,
        };
        // The connector deserializes to hand downstream typed rows.
        let order: Order = serde_json::from_slice(&plain).map_err(|e| Fail::new("json", e))?;
        json(&order)
    }
    fn read(&self, bytes: &[u8]) -> Result<Order, Fail> {
        serde_json::from_slice(bytes).map_err(|e| Fail::new("json", e))
    }
    fn write_own(&self, v: &Order) -> Result<Vec<u8>, Fail> {
        let bytes = json(v)?;
        match self.config.connector_format {
            ConnectorFormat::Raw => Ok(bytes),
            ConnectorFormat::Block => Ok(lz4_flex::block::compress_prepend_size(&bytes)),
            ConnectorFormat::Frame => frame_compress(&bytes),
        }
    }
    fn stored(&self, v: &Order) -> String {
        format!("{v:?}")
    }
    fn own_sample(&self, rng: &mut SimRng) -> Order {
        self.generate(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::flow::{cross, self_tests};
    use faultline::derive_rng;

    #[test]
    fn sides_pass_alone_and_the_connector_fails_across() {
        for connector_format in [ConnectorFormat::Raw, ConnectorFormat::Block, ConnectorFormat::Frame] {
            let flow = CompressionConfig { connector_format, ..Default::default() }.flow().unwrap();
            assert!(self_tests(&flow, 50, &mut derive_rng(2, "t", 0)).pass());
            let o = flow.generate(&mut derive_rng(2, "o", 0));
            let r = cross(&flow, &o);
            match connector_format {
                ConnectorFormat::Frame => assert!(r.is_ok()),
                _ => assert!(r.unwrap_err().starts_with("connector:")),
            }
        }
        let flow = CompressionConfig::default().flow().unwrap();
        assert_eq!(flow.ignored_keys(), ["compression".to_string()]);
    }

    #[test]
    fn a_block_size_beyond_the_limit_is_refused_without_allocating_it() {
        let e = block_decompress(&[0xff, 0xff, 0xff, 0x7f, 0], 1024).unwrap_err();
        assert_eq!(e.kind, "lz4 block size");
    }
}
