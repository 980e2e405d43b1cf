//! Virtual time: instants on the simulation clock (nanosecond resolution) and durations written with units.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant on the virtual clock, counted in nanoseconds from the start of the run.
///
/// Nodes never see the wall clock: every `now()` is a `SimTime`, and it only moves when every
/// task of the simulation is waiting on the core.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable instant (about 584 years): "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// The instant `d` after the start (saturating at [`SimTime::MAX`]).
    pub fn from_duration(d: Duration) -> Self {
        SimTime(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the start.
    pub const fn since_start(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Seconds since the start, as a float (for reports and charts).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, d: Duration) -> SimTime {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        SimTime(self.0.saturating_add(nanos))
    }
}

impl AddAssign<Duration> for SimTime {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub for SimTime {
    type Output = Duration;
    fn sub(self, earlier: SimTime) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Seconds with nine decimals, e.g. `12.000345000s`: exact to the nanosecond.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}s", self.0 / 1_000_000_000, self.0 % 1_000_000_000)
    }
}

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration '{input}': {reason} (write a number and a unit: 200us, 500ms, 1.5s, 2m, 1h)")]
pub struct DurationError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

const UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Reads a duration written with a unit: `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`.
///
/// The number may have a fractional part (`1.5s`). A bare number is an error: the unit is
/// never guessed.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(faultline::parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(faultline::parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
/// assert!(faultline::parse_duration("10").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError { input: input.to_string(), reason };
    let s = input.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| err("missing unit"))?;
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(err("missing number"));
    }
    let scale =
        UNITS.iter().find(|(name, _)| *name == unit).map(|(_, scale)| *scale).ok_or_else(|| err("unknown unit"))?;
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(err("malformed number"));
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| err("number too large"))? };
    let mut nanos = whole.checked_mul(scale).ok_or_else(|| err("number too large"))?;
    let mut place = scale;
    for digit in frac.bytes() {
        place /= 10;
        if place == 0 {
            return Err(err("more decimals than nanoseconds can hold"));
        }
        nanos = nanos.checked_add(u64::from(digit - b'0') * place).ok_or_else(|| err("number too large"))?;
    }
    Ok(Duration::from_nanos(nanos))
}

/// Writes a duration in the largest unit that keeps it exact (`250ms`, `1500us`, `2m`), so that
/// [`parse_duration`] reads it back unchanged.
pub fn format_duration(d: Duration) -> String {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return "0s".to_string();
    }
    let (name, scale) = UNITS
        .iter()
        .rev()
        .filter(|(name, _)| *name != "µs")
        .find(|(_, scale)| nanos % scale == 0)
        .copied()
        .unwrap_or(("ns", 1));
    format!("{}{name}", nanos / scale)
}

/// Serde support for [`Duration`] fields written with units (`"500ms"`), for configuration files.
///
/// Use with `#[serde(with = "faultline::time::serde_duration")]`.
pub mod serde_duration {
    use super::*;

    /// Writes the duration as text with a unit.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    /// Reads a duration from text with a unit.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde support for optional [`Duration`] fields written with units (`"500ms"`), absent or
/// `null` for none.
///
/// Use with `#[serde(with = "faultline::time::serde_option_duration")]`.
pub mod serde_option_duration {
    use super::*;

    /// Writes the duration as text with a unit, or nothing.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(format_duration).serialize(s)
    }

    /// Reads a duration from text with a unit, or nothing.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse_duration("200us").unwrap(), Duration::from_micros(200));
        assert_eq!(parse_duration("200µs").unwrap(), Duration::from_micros(200));
        assert_eq!(parse_duration("3ms").unwrap(), Duration::from_millis(3));
        assert_eq!(parse_duration("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration(".5ms").unwrap(), Duration::from_micros(500));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in ["", "10", "ms", "1.2.3s", "5 parsecs", "-1s", "1.0000000001s", "99999999999999999999s"] {
            let e = parse_duration(bad).unwrap_err();
            assert_eq!(e.input, bad);
            assert!(e.to_string().contains("write a number and a unit"), "{e}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for d in [0, 1, 999, 200_000, 1_500_000, 2_000_000_000, 120_000_000_000, 3_600_000_000_001] {
            let d = Duration::from_nanos(d);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn displays_nanoseconds() {
        assert_eq!(SimTime::from_nanos(12_000_345_000).to_string(), "12.000345000s");
        assert_eq!((SimTime::ZERO + Duration::from_micros(200)).as_nanos(), 200_000);
    }
}
