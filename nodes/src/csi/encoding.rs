//! Encoding (producer/consumer): upstream writes text as windows-1252 ("Latin-1"), downstream
//! decodes UTF-8, strictly (a malformed sequence is an error somebody sees) or lossily (it
//! becomes U+FFFD and nobody notices). ASCII text is the same in both, so only records with
//! accents or currency symbols fail, and the failure ratio follows their share. The encodings
//! are encoding_rs's, not a hand-written table.

use std::time::Duration;

use encoding_rs::Encoding;
use faultline::{SimBuilder, SimRng};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::flow::{DataFlow, Fail};
use super::{ConfigError, Observer, Raw, check_records, check_share};

/// How downstream treats bytes that are not valid in its encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decode {
    /// Refuse the record with an error.
    #[default]
    Strict,
    /// Replace with U+FFFD and store.
    Lossy,
}

impl std::str::FromStr for Decode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" => Ok(Decode::Strict),
            "lossy" => Ok(Decode::Lossy),
            _ => Err(format!("unknown decode mode '{s}' (strict, lossy)")),
        }
    }
}

/// The encoding scenario's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodingConfig {
    /// Records upstream writes.
    pub records: u64,
    /// Mean gap between records.
    #[serde(with = "faultline::time::serde_duration")]
    pub spacing: Duration,
    /// Share of records whose text has a non-ASCII character (the environment: customers'
    /// names).
    pub non_ascii_share: f64,
    /// Upstream's charset label (WHATWG labels: `windows-1252`, `latin1`, `utf-8`...).
    pub upstream_charset: String,
    /// Downstream's charset label.
    pub downstream_charset: String,
    /// Downstream's decoding mode.
    pub decode: Decode,
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            records: 10_000,
            spacing: Duration::from_millis(10),
            non_ascii_share: 0.2,
            upstream_charset: "windows-1252".into(),
            downstream_charset: "utf-8".into(),
            decode: Decode::Strict,
        }
    }
}

fn charset(field: &str, label: &str) -> Result<&'static Encoding, ConfigError> {
    Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        ConfigError::new(
            field,
            format!("unknown charset '{label}' (a WHATWG label such as utf-8, windows-1252, latin1)"),
        )
    })
}

impl EncodingConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_records("encoding.records", self.records)?;
        check_share("encoding.non_ascii_share", self.non_ascii_share)?;
        charset("encoding.upstream_charset", &self.upstream_charset)?;
        charset("encoding.downstream_charset", &self.downstream_charset)?;
        Ok(())
    }

    /// Adds the pipeline's nodes to `builder`; fails if the configuration is invalid.
    pub fn install(&self, builder: SimBuilder<Raw>, observer: &Observer) -> Result<SimBuilder<Raw>, ConfigError> {
        Ok(super::flow::install(builder, self.flow()?, observer))
    }

    /// The pipeline, once the configuration is valid.
    pub fn flow(&self) -> Result<EncodingFlow, ConfigError> {
        self.validate()?;
        Ok(EncodingFlow {
            config: self.clone(),
            up: charset("encoding.upstream_charset", &self.upstream_charset)?,
            down: charset("encoding.downstream_charset", &self.downstream_charset)?,
        })
    }
}

/// Names that are plain ASCII.
pub const ASCII_NAMES: &[&str] =
    &["John Smith", "Mary Jones", "Ahmed Khan", "Li Wei", "Anna Berg", "Tom Brown", "Sara Cohen", "Ivan Petrov"];
/// Names and notes with characters windows-1252 has and ASCII has not.
pub const NON_ASCII_NAMES: &[&str] = &[
    "José García",
    "François Côté",
    "Zoë Müller",
    "Søren Ørsted",
    "Björk Guðmundsdóttir",
    "Ñaño Peña",
    "Price €12",
    "Jürgen Groß",
];

/// The encoding pipeline: no connector.
#[derive(Clone, Debug)]
pub struct EncodingFlow {
    config: EncodingConfig,
    up: &'static Encoding,
    down: &'static Encoding,
}

fn encode(enc: &'static Encoding, text: &str) -> Result<Vec<u8>, Fail> {
    let (bytes, _, unmappable) = enc.encode(text);
    if unmappable {
        return Err(Fail::new("unmappable character", format!("{} cannot encode '{text}'", enc.name())));
    }
    Ok(bytes.into_owned())
}

fn decode(enc: &'static Encoding, bytes: &[u8], mode: Decode) -> Result<String, Fail> {
    match mode {
        Decode::Strict => enc
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| s.into_owned())
            .ok_or_else(|| Fail::new("malformed text", format!("bytes are not valid {}", enc.name()))),
        Decode::Lossy => Ok(enc.decode_without_bom_handling(bytes).0.into_owned()),
    }
}

impl DataFlow for EncodingFlow {
    type Up = String;
    type Down = String;

    fn records(&self) -> u64 {
        self.config.records
    }
    fn spacing(&self) -> Duration {
        self.config.spacing
    }
    fn generate(&self, rng: &mut SimRng) -> String {
        let accented = rng.random_bool(self.config.non_ascii_share);
        let list = if accented { NON_ASCII_NAMES } else { ASCII_NAMES };
        list[rng.random_range(0..list.len())].to_string()
    }
    fn meant(&self, v: &String) -> String {
        v.clone()
    }
    fn write(&self, v: &String) -> Result<Vec<u8>, Fail> {
        encode(self.up, v)
    }
    fn read_own(&self, bytes: &[u8]) -> Result<String, Fail> {
        decode(self.up, bytes, Decode::Strict)
    }
    fn read(&self, bytes: &[u8]) -> Result<String, Fail> {
        decode(self.down, bytes, self.config.decode)
    }
    fn write_own(&self, v: &String) -> Result<Vec<u8>, Fail> {
        encode(self.down, v)
    }
    fn stored(&self, v: &String) -> String {
        v.clone()
    }
    fn own_sample(&self, rng: &mut SimRng) -> String {
        let all: Vec<&str> = ASCII_NAMES.iter().chain(NON_ASCII_NAMES).copied().collect();
        all[rng.random_range(0..all.len())].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::flow::{cross, self_tests};
    use faultline::derive_rng;

    #[test]
    fn each_side_passes_alone_and_accents_fail_across() {
        let flow = EncodingConfig::default().flow().unwrap();
        assert!(self_tests(&flow, 200, &mut derive_rng(1, "t", 0)).pass());
        assert!(cross(&flow, &"John Smith".to_string()).is_ok());
        assert!(cross(&flow, &"José García".to_string()).unwrap_err().contains("not valid UTF-8"));
        let lossy = EncodingConfig { decode: Decode::Lossy, ..EncodingConfig::default() }.flow().unwrap();
        assert_eq!(lossy.read(&lossy.write(&"José".into()).unwrap()).unwrap(), "Jos\u{fffd}");
    }

    #[test]
    fn bad_charset_and_share_name_the_field() {
        let e = EncodingConfig { upstream_charset: "klingon".into(), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.field, "encoding.upstream_charset");
        let e = EncodingConfig { non_ascii_share: 1.5, ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.field, "encoding.non_ascii_share");
    }
}
