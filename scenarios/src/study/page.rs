//! One run's report page from the study interface: what every study gives (its parameters,
//! its terminal report) and what it may add (verdict, explanation, charts, tables, experiments,
//! faults) gathered into a [`Page`] that `report::html` renders, for `--out` or for a server.

use std::path::Path;

use serde_json::Value;

use super::{Refusal, Study};
use crate::report::Page;

/// Every parameter of `params` in the study's table order, as `--flag` and value (`off` for
/// an absent optional one).
pub fn params<S: Study>(params: &S::Params) -> Vec<(String, String)> {
    let json = serde_json::to_value(params).unwrap_or(Value::Null);
    S::table()
        .iter()
        .map(|p| {
            let value = match json.get(p.key()) {
                None | Some(Value::Null) => "off".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            (p.flag(), value)
        })
        .collect()
}

/// The page of one run of study `S`; `files` are the names written beside it.
pub fn page<S: Study>(p: &S::Params, summary: &S::Summary, files: &[String]) -> Page {
    Page {
        study: S::NAME.to_string(),
        about: S::ABOUT.to_string(),
        describe: S::describe(p),
        params: params::<S>(p),
        verdict: S::verdict(summary),
        incomplete: S::incomplete(summary).map(str::to_string),
        explain: S::explain(summary),
        figures: S::charts(summary),
        tables: S::tables(summary),
        experiments: S::experiments().into_iter().map(|(t, c)| (t.to_string(), c)).collect(),
        faults: S::faults(summary).map(str::to_string),
        text: S::text(summary),
        files: files.to_vec(),
    }
}

/// The page's body of one run of study `S` (no `<html>` around it, charts inline), for a server
/// that embeds it in its own page (with [`crate::report::html::STYLE`]).
pub fn body<S: Study>(p: &S::Params, summary: &S::Summary) -> String {
    crate::report::html::body(&page::<S>(p, summary, &[]))
}

/// The whole page of one run of study `S`, as `--out` writes it (without the list of files).
pub fn html<S: Study>(p: &S::Params, summary: &S::Summary) -> String {
    crate::report::html::page(&page::<S>(p, summary, &[]))
}

/// Checks that every experiment of study `S` is a command that runs as written from the
/// repository at `root`: `cargo run --release --bin NAME -- ARGS` whose arguments parse (paths
/// under `scenarios/` must exist). The error names the experiment and what is wrong.
pub fn check_experiments<S: Study>(root: &Path) -> Result<(), String> {
    let prefix = format!("cargo run --release --bin {} -- ", S::NAME);
    for (title, text) in S::experiments() {
        let command = text.split("\n\n").next().unwrap_or_default().trim();
        let Some(args) = command.strip_prefix(&prefix) else {
            return Err(format!("'{title}': '{command}' does not start with '{prefix}'"));
        };
        let args: Vec<String> = args
            .split_whitespace()
            .map(|a| if a.starts_with("scenarios/") { root.join(a).display().to_string() } else { a.to_string() })
            .collect();
        match S::parse_args(std::iter::once(S::NAME.to_string()).chain(args)) {
            Ok(_) => {}
            Err(Refusal::Input(e)) => return Err(format!("'{title}': {command}: {e}")),
            Err(Refusal::Info(_)) => return Err(format!("'{title}': {command} only prints help")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::cli::{FaultArgs, InputError, TraceArgs};
    use crate::report::html;
    use crate::study::run::{RunId, SweepRow};
    use crate::study::{Kind, Param, RunLimits, Speed};

    /// A study that implements none of the report's methods.
    struct Bare;

    #[derive(Clone, Default, Serialize, Deserialize)]
    struct P {
        seed: u64,
        window: Option<String>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    struct R {
        #[serde(flatten)]
        id: RunId,
    }

    impl SweepRow for R {
        const MEASURES: &'static [crate::study::run::Measure] = &[];
        fn id(&self) -> &RunId {
            &self.id
        }
        fn measures(&self) -> Vec<Option<f64>> {
            Vec::new()
        }
    }

    const TABLE: &[Param] = &[
        Param::new("seed", Kind::Int { min: 0, max: 9 }, "Seed."),
        Param::new("window", Kind::Text(9), "Window.").optional(),
    ];

    impl Study for Bare {
        type Params = P;
        type Summary = u64;
        type Row = R;
        const NAME: &'static str = "bare";
        const ABOUT: &'static str = "A study with no report of its own.";
        fn table() -> &'static [Param] {
            TABLE
        }
        fn check(_: &P, _: &RunLimits) -> Result<(), InputError> {
            Ok(())
        }
        fn seed(p: &P) -> u64 {
            p.seed
        }
        fn with_seed(p: &P, seed: u64) -> P {
            P { seed, ..p.clone() }
        }
        fn describe(p: &P) -> String {
            format!("seed {}", p.seed)
        }
        fn run(_: &P, _: &FaultArgs, _: &TraceArgs, _: &RunLimits) -> anyhow::Result<(u64, Speed)> {
            anyhow::bail!("not run in this test")
        }
        fn incomplete(_: &u64) -> Option<&str> {
            None
        }
        fn text(s: &u64) -> String {
            format!("bare: {s} things\nverdict: {s} is fine\n")
        }
        fn files(_: &u64) -> Vec<(&'static str, Vec<u8>)> {
            Vec::new()
        }
        fn row(id: RunId, _: &u64) -> R {
            R { id }
        }
    }

    #[test]
    fn a_study_with_no_report_of_its_own_still_gets_a_page() {
        let p = P { seed: 3, window: None };
        let page = page::<Bare>(&p, &7, &["summary.json".to_string()]);
        assert_eq!(page.verdict, "7 is fine", "the verdict line of the terminal report");
        assert_eq!(page.params, vec![("--seed".into(), "3".into()), ("--window".into(), "off".into())]);
        assert!(page.figures.is_empty() && page.experiments.is_empty());
        let html = html::page(&page);
        assert!(html.contains("A study with no report of its own."));
        assert!(html.contains("bare: 7 things"), "the terminal report is on the page");
        assert!(check_experiments::<Bare>(Path::new(".")).is_ok(), "no experiments, nothing to refuse");
        assert!(super::html::<Bare>(&p, &7).contains(&super::body::<Bare>(&p, &7)), "one body, two wrappers");
    }
}
