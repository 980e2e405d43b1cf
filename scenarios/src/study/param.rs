//! One parameter of a study, declared as data: its flag name (the TOML key is the same in
//! snake_case), its help, its kind with the range it allows, and whether a sweep may vary it.
//! From this one declaration come the flag, the config key, the check and its message.

use std::time::Duration;

use faultline::time::{format_duration, parse_duration};
use serde_json::Value;

/// What a parameter holds and the values it allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A duration with a unit (`500ms`), from `min` to `max` inclusive.
    Duration {
        /// Shortest allowed.
        min: Duration,
        /// Longest allowed.
        max: Duration,
    },
    /// A finite number from `min` (excluded when `min_excluded`) to `max` inclusive.
    Float {
        /// Lowest allowed.
        min: f64,
        /// Whether `min` itself is refused.
        min_excluded: bool,
        /// Highest allowed.
        max: f64,
    },
    /// A whole number from `min` to `max` inclusive.
    Int {
        /// Lowest allowed.
        min: u64,
        /// Highest allowed.
        max: u64,
    },
    /// On or off; as a flag it takes no value and switches on.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A file path.
    Path,
    /// Free text of at most this many bytes.
    Text(usize),
}

/// A duration from `min` to `max`.
pub const fn dur(min: Duration, max: Duration) -> Kind {
    Kind::Duration { min, max }
}

/// A whole number from `min` to `max`.
pub const fn int(min: u64, max: u64) -> Kind {
    Kind::Int { min, max }
}

/// No time.
pub const ZERO: Duration = Duration::ZERO;
/// One millisecond.
pub const MS: Duration = Duration::from_millis(1);
/// One hour.
pub const HOUR: Duration = Duration::from_secs(3600);

/// The word a unit enum value is written as (its serde name): `strong`, `lww`.
pub fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// A probability: a number in [0, 1].
pub const PROBABILITY: Kind = Kind::Float { min: 0.0, min_excluded: false, max: 1.0 };

/// The longest text a parameter value may have, whatever its kind (a duration or number never
/// needs more).
pub const MAX_VALUE_BYTES: usize = 4096;

/// `--faults FILE`: a fault script, the same parameter in every study.
pub const FAULTS: Param =
    Param::new("faults", Kind::Path, "Fault script to apply (see README: \"Fault scripts\").").optional().fixed();

/// `--nemesis SPEC`: random faults, the same parameter in every study.
pub const NEMESIS: Param = Param::new(
    "nemesis",
    Kind::Text(MAX_VALUE_BYTES),
    "Random faults, e.g. \"every=20s,for=5s,kinds=partition+crash\".",
)
.optional()
.fixed();

/// One parameter of a study.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// The flag's name without dashes, in kebab case (`base-rps`); the TOML key and the field of
    /// the study's parameter type are the same in snake case (`base_rps`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// It may be absent (`off` on the command line, or left out of the config, switches it off).
    pub optional: bool,
    /// `--sweep NAME=...` may vary it.
    pub sweepable: bool,
    /// As a flag it may be given without a value, which then means this one (`--partition`
    /// alone is `--partition middle`).
    pub bare: Option<&'static str>,
    /// As a flag it may be given several times; the values join into one comma list
    /// (`--prevent registry --prevent contract` is `--prevent registry,contract`).
    pub repeatable: bool,
}

impl Param {
    /// A required, sweepable parameter.
    pub const fn new(name: &'static str, kind: Kind, help: &'static str) -> Param {
        Param { name, help, kind, optional: false, sweepable: true, bare: None, repeatable: false }
    }

    /// The same parameter, optional: absent by default, `off` switches it off.
    pub const fn optional(mut self) -> Param {
        self.optional = true;
        self
    }

    /// The same parameter, which sweeps may not vary.
    pub const fn fixed(mut self) -> Param {
        self.sweepable = false;
        self
    }

    /// The same parameter (a comma list), whose flag may be given several times.
    pub const fn repeatable(mut self) -> Param {
        self.repeatable = true;
        self
    }

    /// The same parameter, whose flag given alone means `value`.
    pub const fn bare(mut self, value: &'static str) -> Param {
        self.bare = Some(value);
        self
    }

    /// The TOML key and field name: the flag's name in snake case.
    pub fn key(&self) -> String {
        self.name.replace('-', "_")
    }

    /// The flag, with its dashes: `--base-rps`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name)
    }

    /// What the kind allows, in words, for help and errors.
    pub fn allowed(&self) -> String {
        let mut s = match self.kind {
            Kind::Duration { min, max } => {
                format!("a duration with a unit from {} to {}", format_duration(min), format_duration(max))
            }
            Kind::Float { min, min_excluded, max } => {
                format!("a number {} {min} and <= {max}", if min_excluded { ">" } else { ">=" })
            }
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Bool => "true or false".to_string(),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
            Kind::Path => "a file path".to_string(),
            Kind::Text(max) => format!("text of at most {max} bytes"),
        };
        if self.optional {
            s.push_str(", or off");
        }
        s
    }

    /// Reads `text` (as written on the command line or in a sweep) into the JSON value of the
    /// field, checking the range. `origin` names where it came from (`--base-rps`,
    /// `metastable.toml:3:12`) and starts every error message.
    pub fn parse(&self, text: &str, origin: &str) -> Result<Value, String> {
        let fail = |why: &str| {
            let shown: String = text.chars().take(60).collect();
            let more = if shown.len() < text.len() { "..." } else { "" };
            Err(format!("{origin}: {why} '{shown}{more}' (allowed: {})", self.allowed()))
        };
        if text.len() > MAX_VALUE_BYTES && !matches!(self.kind, Kind::Text(_)) {
            return fail("value too long:");
        }
        let t = text.trim();
        if self.optional && t == "off" {
            return Ok(Value::Null);
        }
        match self.kind {
            Kind::Duration { min, max } => match parse_duration(t) {
                Ok(d) if d >= min && d <= max => Ok(Value::String(format_duration(d))),
                Ok(_) => fail("out of range:"),
                Err(e) => fail(&format!("{}:", e.reason)),
            },
            Kind::Float { min, min_excluded, max } => match t.parse::<f64>() {
                Ok(x) if x.is_finite() && (x > min || (!min_excluded && x == min)) && x <= max => {
                    Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
                }
                Ok(_) => fail("out of range:"),
                Err(_) => fail("not a number:"),
            },
            Kind::Int { min, max } => match t.parse::<u64>() {
                Ok(x) if x >= min && x <= max => Ok(Value::from(x)),
                Ok(_) => fail("out of range:"),
                Err(_) if t.starts_with('-') && t[1..].bytes().all(|b| b.is_ascii_digit()) => fail("out of range:"),
                Err(_) => fail("not a whole number:"),
            },
            Kind::Bool => match t {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => fail("not true or false:"),
            },
            Kind::Choice(words) => match words.iter().find(|w| **w == t) {
                Some(w) => Ok(Value::from(*w)),
                None => fail("unknown value"),
            },
            Kind::Path if !t.is_empty() => Ok(Value::from(t)),
            Kind::Path => fail("empty path"),
            Kind::Text(max) if text.len() <= max => Ok(Value::from(text)),
            Kind::Text(_) => fail("too long:"),
        }
    }
}

/// The parameter of `table` named `name` (flag spelling), if any.
pub fn find<'a>(table: &'a [Param], name: &str) -> Option<&'a Param> {
    table.iter().find(|p| p.name == name)
}

/// Checks every value of `params` (a study's parameters, as a config file, flags or a sweep
/// set them) against its parameter's range in `table`; the error names the flag and what is
/// allowed.
pub fn check_ranges<T: serde::Serialize>(table: &[Param], params: &T) -> Result<(), crate::cli::InputError> {
    use crate::cli::InputError;
    let json = serde_json::to_value(params).map_err(|e| InputError(e.to_string()))?;
    for p in table {
        let text = match json.get(p.key()) {
            None | Some(Value::Null) if p.optional => continue,
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => continue,
        };
        if p.kind != Kind::Bool {
            p.parse(&text, &p.flag()).map_err(InputError)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Param = Param::new("base-rps", Kind::Float { min: 0.0, min_excluded: false, max: 1e6 }, "rate");

    #[test]
    fn numbers_are_checked_against_their_range_and_name_their_origin() {
        assert_eq!(RATE.parse("250", "--base-rps"), Ok(Value::from(250.0)));
        let e = RATE.parse("-1", "--base-rps").unwrap_err();
        assert_eq!(e, "--base-rps: out of range: '-1' (allowed: a number >= 0 and <= 1000000)");
        for bad in ["NaN", "inf", "1e30", "abc", ""] {
            assert!(RATE.parse(bad, "x.toml:3:12").unwrap_err().starts_with("x.toml:3:12: "), "{bad}");
        }
        let n = Param::new("clients", Kind::Int { min: 1, max: 10 }, "n");
        assert!(n.parse("-1", "--clients").unwrap_err().contains("out of range"));
        assert!(n.parse("0", "--clients").unwrap_err().contains("from 1 to 10"));
        assert!(n.parse("1.5", "--clients").unwrap_err().contains("not a whole number"));
    }

    #[test]
    fn durations_keep_their_units_and_optional_values_switch_off() {
        let d =
            Param::new("window", Kind::Duration { min: Duration::from_millis(1), max: Duration::from_secs(60) }, "w")
                .optional();
        assert_eq!(d.parse("1.5s", "--window"), Ok(Value::from("1500ms")));
        assert_eq!(d.parse("off", "--window"), Ok(Value::Null));
        assert!(d.parse("100us", "--window").unwrap_err().contains("from 1ms to 1m, or off"));
        assert!(d.parse("-1s", "--window").unwrap_err().contains("--window: "));
        assert!(d.parse(&"9".repeat(10_000), "--window").unwrap_err().contains("too long"));
    }
}
