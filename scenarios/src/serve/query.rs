//! A page's query string as a study's command line: `?spike-rps=300&max-retries=0` is
//! `metastable --spike-rps 300 --max-retries 0`, parsed by the binary's own code, so a value
//! the command line refuses is refused here with the same message. Files cannot be named from
//! a page: a preset (read when the server started) stands for `--config`.

use serde_json::Value;

use super::presets::Presets;
use super::registry::{Entry, Parsed};
use crate::study::{Kind, Refusal};

/// The longest query string a page takes, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 << 10;

/// Query keys that are not study parameters: what they mean.
pub const EXTRA_KEYS: [(&str, &str); 4] = [
    ("preset", "a preset of the study, as --config"),
    ("speed", "live runs: virtual seconds per wall second"),
    ("sweep", "sweeps: NAME=FROM:TO:STEP or NAME=A,B,C"),
    ("seeds", "sweeps: runs per value"),
];

/// A query that cannot become a command line, or that the command line refused: the message,
/// and the parameter it is about, if one is named.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    /// The parameter (flag spelling) the message names first, if any.
    pub field: Option<String>,
    /// The message, as the command line gives it.
    pub message: String,
}

/// A query read into pairs, with its command line.
#[derive(Clone, Debug)]
pub struct Request {
    /// The pairs, in order, empty values left out (an empty field means its default).
    pub pairs: Vec<(String, String)>,
    /// The command line, program name first.
    pub argv: Vec<String>,
    /// The same as a person would type it (`--config` relative to the repository).
    pub shown: String,
}

impl Request {
    /// The value of `key`, the last one given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The study's parameters only, as a query string (for links that keep them).
    pub fn params_query(&self, entry: &Entry) -> String {
        let kept: Vec<(String, String)> =
            self.pairs.iter().filter(|(k, _)| k == "preset" || entry.param(k).is_some()).cloned().collect();
        encode(&kept)
    }
}

/// Encodes pairs as a query string.
pub fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn refused(entry: &Entry, message: String) -> Refused {
    Refused { field: field_of(entry, &message), message }
}

/// The parameter of `entry` whose flag `message` names first.
pub fn field_of(entry: &Entry, message: &str) -> Option<String> {
    entry
        .table
        .iter()
        .filter_map(|p| {
            let flag = p.flag();
            message
                .match_indices(&flag)
                .find(|(i, _)| {
                    let next = message[i + flag.len()..].chars().next();
                    !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '-')
                })
                .map(|(i, _)| (i, p.name.to_string()))
        })
        .min()
        .map(|(_, name)| name)
}

/// Reads `query` (without `?`) for `entry` into its command line; `allowed_extra` lists the
/// keys besides the study's parameters that this page takes.
pub fn request(entry: &Entry, presets: &Presets, query: &str, allowed_extra: &[&str]) -> Result<Request, Refused> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(Refused { field: None, message: format!("the query is longer than {MAX_QUERY_BYTES} bytes") });
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| Refused { field: None, message: format!("the query cannot be read: {e}") })?;
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let mut argv = vec![entry.name.to_string()];
    let mut shown = vec![entry.name.to_string()];
    fn push(argv: &mut Vec<String>, shown: &mut Vec<String>, flag: String, value: Option<&str>) {
        argv.push(flag.clone());
        shown.push(flag);
        if let Some(v) = value {
            argv.push(v.to_string());
            shown.push(shell_word(v));
        }
    }
    if let Some((_, name)) = pairs.iter().rev().find(|(k, _)| k == "preset") {
        let preset = presets.find(entry.name, name).ok_or_else(|| Refused {
            field: None,
            message: format!(
                "preset '{name}': no such preset of {} (allowed: {})",
                entry.name,
                presets.names(entry.name).join(", ")
            ),
        })?;
        argv.push("--config".into());
        argv.push(preset.path.display().to_string());
        shown.push("--config".into());
        shown.push(shell_word(&preset.shown));
    }
    for (key, value) in &pairs {
        if key == "preset" || allowed_extra.contains(&key.as_str()) {
            if key == "sweep" || key == "seeds" {
                push(&mut argv, &mut shown, format!("--{key}"), Some(value));
            }
            continue;
        }
        let Some(p) = entry.param(key) else {
            let mut names: Vec<&str> = entry.table.iter().filter(|p| p.kind != Kind::Path).map(|p| p.name).collect();
            names.extend(allowed_extra.iter().copied());
            return Err(Refused {
                field: None,
                message: format!("unknown parameter '{key}' (allowed: {})", names.join(", ")),
            });
        };
        match p.kind {
            Kind::Path => {
                return Err(Refused {
                    field: Some(p.name.into()),
                    message: format!(
                        "{}: a page cannot name a file on the server (use a preset, or the command line)",
                        p.flag()
                    ),
                });
            }
            Kind::Bool => match value.trim() {
                "true" | "on" => push(&mut argv, &mut shown, p.flag(), None),
                "false" | "off" => {}
                other => {
                    return Err(refused(
                        entry,
                        format!("{}: not true or false: '{other}' (allowed: true or false)", p.flag()),
                    ));
                }
            },
            _ => push(&mut argv, &mut shown, p.flag(), Some(value)),
        }
    }
    Ok(Request { pairs, argv, shown: shown.join(" ") })
}

/// Parses the request's command line with the study's own parser.
pub fn parse(entry: &Entry, request: &Request) -> Result<Parsed, Refused> {
    match (entry.parse)(&request.argv) {
        Ok(parsed) => Ok(parsed),
        Err(Refusal::Input(e)) => Err(refused(entry, e.0)),
        Err(Refusal::Info(_)) => Err(Refused { field: None, message: "help is not a parameter".into() }),
    }
}

/// `word` quoted for a POSIX shell when it needs to be.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_.,:/=+@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The value of parameter `key` in `params` as a form field shows it (`off` for an absent
/// optional one, durations with their unit).
pub fn shown_value(params: &Value, key: &str) -> String {
    match params.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::registry::studies;

    fn metastable() -> Entry {
        studies().into_iter().find(|e| e.name == "metastable").unwrap()
    }

    #[test]
    fn a_query_is_the_command_line_and_refused_as_it_is() {
        let e = metastable();
        let presets = Presets::default();
        let r = request(&e, &presets, "spike-rps=300&max-retries=0&retry-budget=", &[]).unwrap();
        assert_eq!(r.argv, ["metastable", "--spike-rps", "300", "--max-retries", "0"]);
        assert_eq!(r.shown, "metastable --spike-rps 300 --max-retries 0");
        let p = parse(&e, &r).unwrap();
        assert_eq!(p.params["max_retries"], 0);
        let bad = request(&e, &presets, "max-retries=-1", &[]).unwrap();
        let err = parse(&e, &bad).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("max-retries"));
        assert_eq!(err.message, "--max-retries: out of range: '-1' (allowed: a whole number from 0 to 1000)");
        let err = request(&e, &presets, "faults=/etc/passwd", &[]).unwrap_err();
        assert!(err.message.contains("cannot name a file"), "{}", err.message);
        let err = request(&e, &presets, "json=true", &[]).unwrap_err();
        assert!(err.message.starts_with("unknown parameter 'json' (allowed: seed, load,"), "{}", err.message);
        let err = request(&e, &presets, "preset=../../etc", &[]).unwrap_err();
        assert!(err.message.starts_with("preset '../../etc': no such preset"), "{}", err.message);
    }

    #[test]
    fn the_field_is_the_flag_named_first_and_whole() {
        let e = metastable();
        assert_eq!(field_of(&e, "--spike-rps: out of range").as_deref(), Some("spike-rps"));
        assert_eq!(field_of(&e, "--retry-budget-max 3 and --retry-budget").as_deref(), Some("retry-budget-max"));
        assert_eq!(field_of(&e, "nothing named").as_deref(), None);
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("300"), "300");
    }
}
