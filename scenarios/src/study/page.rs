//! One run's report page from the study interface: what every study gives (its parameters,
//! its terminal report) and what it may add (verdict, explanation, charts, tables, experiments,
//! faults) gathered into a [`Page`] that `report::html` renders, for `--out` or for a server.

use serde_json::Value;

use super::Study;
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
