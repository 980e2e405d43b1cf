//! Input files read with a size limit, and a study's TOML config read against its parameter
//! table: every value checked by its parameter, every error at `file:line:column`.

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use toml::de::{DeTable, DeValue};

use super::param::{Kind, Param};
use crate::cli::InputError;

/// Reads a whole input file (`--config`, `--merge`, `--faults`), refusing one larger than
/// `max_bytes` without reading past it (so `/dev/zero` is refused, not read forever).
pub fn read_limited(path: &Path, flag: &str, max_bytes: u64) -> Result<String, InputError> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| InputError(format!("{flag} {shown}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| InputError(format!("{flag} {shown}: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(InputError(format!(
            "{flag} {shown}: larger than the limit of {max_bytes} bytes (raise it with --max-input-bytes)"
        )));
    }
    String::from_utf8(bytes).map_err(|_| InputError(format!("{flag} {shown}: not UTF-8 text")))
}

/// `line:column` (from 1) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.chars().count(), |nl| before[nl + 1..].chars().count()) + 1;
    (line, col)
}

/// One value from a config file, checked by its parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The parameter, by index in the table.
    pub param: usize,
    /// Its value, as the field's JSON.
    pub value: Value,
}

/// Reads the TOML `text` of config file `path` against `table`. Unknown keys, values of the
/// wrong type and values out of range are errors at `file:line:column`. Relative paths are
/// taken relative to the config file's folder.
pub fn settings(table: &[Param], path: &Path, text: &str) -> Result<Vec<Setting>, InputError> {
    let file = path.display();
    let at = |offset: usize| {
        let (l, c) = line_col(text, offset);
        format!("{file}:{l}:{c}")
    };
    let root = DeTable::parse(text).map_err(|e| {
        let place = e.span().map_or_else(|| file.to_string(), |s| at(s.start));
        InputError(format!("{place}: {}", e.message().trim()))
    })?;
    let mut out = Vec::new();
    let mut entries: Vec<_> = root.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let origin = at(value.span().start);
        let name = key.get_ref().replace('_', "-");
        let Some(index) = table.iter().position(|p| p.name == name) else {
            let keys: Vec<String> = table.iter().map(Param::key).collect();
            return Err(InputError(format!(
                "{}: unknown key '{}' (allowed: {})",
                at(key.span().start),
                key.get_ref(),
                keys.join(", ")
            )));
        };
        let param = &table[index];
        let wrong =
            || InputError(format!("{origin}: {} must be {}", param.key(), param.allowed().replace(", or off", "")));
        let text = match (value.get_ref(), param.kind) {
            (DeValue::String(s), Kind::Duration { .. } | Kind::Choice(_) | Kind::Path | Kind::Text(_)) => s.to_string(),
            (DeValue::Integer(i), Kind::Int { .. } | Kind::Float { .. }) => {
                let digits = i.as_str().replace('_', "");
                if i.radix() == 10 {
                    digits
                } else {
                    u64::from_str_radix(&digits, i.radix()).map_err(|_| wrong())?.to_string()
                }
            }
            (DeValue::Float(f), Kind::Float { .. }) => f.as_str().replace('_', ""),
            (DeValue::Boolean(b), Kind::Bool) => b.to_string(),
            _ => return Err(wrong()),
        };
        let mut value = param.parse(&text, &origin).map_err(InputError)?;
        if param.kind == Kind::Path
            && let Value::String(p) = &value
            && let Some(dir) = path.parent()
        {
            value = Value::from(dir.join(p).display().to_string());
        }
        out.push(Setting { param: index, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::param::PROBABILITY;

    const TABLE: [Param; 3] = [
        Param::new("base-rps", Kind::Float { min: 0.0, min_excluded: false, max: 1e6 }, "rate"),
        Param::new("ratio", PROBABILITY, "p"),
        Param::new("faults", Kind::Path, "script").optional(),
    ];

    #[test]
    fn errors_point_at_the_line_and_column() {
        let p = Path::new("dir/x.toml");
        let e = settings(&TABLE, p, "ratio = 0.5\nbase_rps = -3\n").unwrap_err().0;
        assert_eq!(e, "dir/x.toml:2:12: out of range: '-3' (allowed: a number >= 0 and <= 1000000)");
        let e = settings(&TABLE, p, "\n\nnope = 1\n").unwrap_err().0;
        assert!(e.starts_with("dir/x.toml:3:1: unknown key 'nope' (allowed: base_rps, ratio, faults)"), "{e}");
        let e = settings(&TABLE, p, "ratio = \"high\"").unwrap_err().0;
        assert_eq!(e, "dir/x.toml:1:9: ratio must be a number >= 0 and <= 1");
        assert!(settings(&TABLE, p, "ratio = [").unwrap_err().0.starts_with("dir/x.toml:1:"));
    }

    #[test]
    fn values_and_relative_paths() {
        let s = settings(&TABLE, Path::new("dir/x.toml"), "base_rps = 1_000\nfaults = \"f.txt\"").unwrap();
        assert_eq!(s[0], Setting { param: 0, value: Value::from(1000.0) });
        assert_eq!(s[1].value, Value::from("dir/f.txt"));
    }

    #[test]
    fn input_files_have_a_size_limit() {
        let e = read_limited(Path::new("/dev/zero"), "--config", 1000).unwrap_err().0;
        assert_eq!(e, "--config /dev/zero: larger than the limit of 1000 bytes (raise it with --max-input-bytes)");
    }
}
