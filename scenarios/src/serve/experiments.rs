//! The report's "experiments to try" as one-click links: each experiment's command line read
//! back into the page URL with the same parameters (`--config` of a preset becomes `preset=`,
//! `--sweep` and `--seeds` open the sweep page, `--out` is dropped: the page offers the files).
//! A command that does not convert, or whose URL the study's own parser refuses, gets no link:
//! the page shows the command alone.

use super::html::link;
use super::presets::Presets;
use super::query;
use super::registry::Entry;
use crate::study::Kind;

/// One experiment as the server offers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Its title, as the report shows it.
    pub title: String,
    /// The page that runs it, if its command converts and parses.
    pub url: Option<String>,
}

/// Every experiment of `entry`, in the report's order.
pub fn of(entry: &Entry, presets: &Presets) -> Vec<Experiment> {
    entry
        .experiments
        .iter()
        .map(|(title, text)| Experiment { title: title.to_string(), url: url(entry, presets, text) })
        .collect()
}

/// The page URL of an experiment's command (its first paragraph), or `None` when it does not
/// convert or does not parse.
pub fn url(entry: &Entry, presets: &Presets, text: &str) -> Option<String> {
    let command = text.split("\n\n").next().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let cargo = ["cargo", "run", "--release", "--bin", entry.name, "--"];
    let mut args: &[&str] = if words.starts_with(&cargo) {
        &words[cargo.len()..]
    } else if words.first() == Some(&entry.name) {
        &words[1..]
    } else {
        return None;
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut sweep = false;
    while let Some((first, rest)) = args.split_first() {
        args = rest;
        let flag = first.strip_prefix("--")?;
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        let bool_flag = entry.param(name).is_some_and(|p| p.kind == Kind::Bool);
        let value = match inline {
            Some(v) => v.to_string(),
            None if bool_flag => "true".to_string(),
            None => {
                let (v, rest) = args.split_first()?;
                args = rest;
                v.to_string()
            }
        };
        match name {
            "out" => {}
            "config" => {
                let preset =
                    value.strip_prefix(&format!("scenarios/presets/{}/", entry.name))?.strip_suffix(".toml")?;
                presets.find(entry.name, preset)?;
                pairs.push(("preset".into(), preset.into()));
            }
            "sweep" | "seeds" => {
                sweep = true;
                pairs.push((name.into(), value));
            }
            _ => {
                entry.param(name)?;
                pairs.push((name.into(), value));
            }
        }
    }
    let extra: &[&str] = if sweep { &["preset", "sweep", "seeds"] } else { &["preset"] };
    let request = query::request(entry, presets, &query::encode(&pairs), extra).ok()?;
    query::parse(entry, &request).ok()?;
    let path = if sweep { format!("/{}/sweep", entry.name) } else { format!("/{}", entry.name) };
    Some(link(&path, &pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::presets::default_dir;
    use crate::serve::registry::studies;

    fn entry(name: &str) -> Entry {
        studies().into_iter().find(|e| e.name == name).unwrap()
    }

    fn presets() -> Presets {
        Presets::read(&default_dir(), &["metastable", "cap", "crdt", "csi"])
    }

    #[test]
    fn commands_become_the_pages_that_run_them() {
        let (e, p) = (entry("metastable"), presets());
        let run = "cargo run --release --bin metastable --";
        assert_eq!(url(&e, &p, &format!("{run} --out out/m\n\nprose")).as_deref(), Some("/metastable"));
        assert_eq!(
            url(&e, &p, &format!("{run} --config scenarios/presets/metastable/outage-held.toml --out x")).as_deref(),
            Some("/metastable?preset=outage-held")
        );
        assert_eq!(
            url(&e, &p, &format!("{run} --sweep spike-rps=200:400:50 --seeds 3")).as_deref(),
            Some("/metastable/sweep?sweep=spike-rps%3D200%3A400%3A50&seeds=3")
        );
        assert_eq!(
            url(&e, &p, "metastable --max-retries 0 --breaker").as_deref(),
            Some("/metastable?max-retries=0&breaker=true")
        );
        assert_eq!(url(&e, &p, "metastable --max-retries=0").as_deref(), Some("/metastable?max-retries=0"));
    }

    #[test]
    fn commands_that_do_not_convert_or_parse_get_no_link() {
        let (e, p) = (entry("metastable"), presets());
        for command in [
            "cap --duration 5s",
            "metastable --faults scenarios/faults/x.txt",
            "metastable --config scenarios/presets/metastable/no-such.toml",
            "metastable --config /etc/passwd",
            "metastable --max-retries -1",
            "metastable --max-retries",
            "metastable --no-such-flag 1",
            "metastable stray",
            "echo hi",
        ] {
            assert_eq!(url(&e, &p, command), None, "{command}");
        }
    }

    #[test]
    fn every_experiment_of_metastable_and_cap_is_a_link() {
        for name in ["metastable", "cap"] {
            let all = of(&entry(name), &presets());
            assert!(all.len() >= 5, "{name}");
            for x in &all {
                assert!(x.url.is_some(), "{name}: '{}' has no link", x.title);
            }
        }
    }
}
