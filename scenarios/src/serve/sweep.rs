//! One-parameter sweeps from a page: the study's own `--sweep` and `--seeds`, run one after
//! another on a blocking thread (one slot of the pool), progress sent as server-sent events,
//! the study's sweep table at the end. [`view`] is where the phase diagram of the reports work
//! takes the table's place.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::json;
use tokio::sync::mpsc;

use super::AppState;
use super::form::{FormState, form};
use super::query::Refused;
use super::registry::Parsed;
use super::routes::{self, entry, evaluate, html_page};

const EXTRA: [&str; 3] = ["preset", "sweep", "seeds"];

/// The sweep's result as the page shows it: the diagram (filled in when the sweep is done),
/// then the table.
pub fn view(table: &str) -> Markup {
    html! { div #diagram {} pre #table { (table) } }
}

fn parsed_sweep(st: &AppState, ev: &super::routes::Evaluated) -> Result<Parsed, Refused> {
    let parsed = ev.parsed.clone()?;
    if parsed.common.sweep.is_none() {
        return Err(Refused { field: None, message: "sweep: give NAME=FROM:TO:STEP or NAME=A,B,C".into() });
    }
    let _ = st;
    Ok(parsed)
}

/// `/{study}/sweep`: the form, and the sweep's progress when one is asked for.
pub async fn page(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let q = q.unwrap_or_default();
    let ev = evaluate(&st, entry, &q, &EXTRA);
    let asked = ev.request.get("sweep").is_some();
    let error = match (&ev.parsed, asked) {
        (Err(e), _) => Some(e.clone()),
        _ => None,
    };
    let sweepable: Vec<&str> = entry.table.iter().filter(|p| p.sweepable).map(|p| p.name).collect();
    let swept = ev.request.all("sweep");
    let extra = html! {
        div.field {
            label for="f-sweep" { "sweep" }
            input #f-sweep type="text" name="sweep" value=(swept.first().copied().unwrap_or("")) placeholder="spike-rps=250:450:50";
            span.help { "NAME=FROM:TO:STEP or NAME=A,B,C; sweepable: " (sweepable.join(", ")) "." }
        }
        div.field {
            label for="f-sweep2" { "and sweep" }
            input #f-sweep2 type="text" name="sweep" value=(swept.get(1).copied().unwrap_or("")) placeholder="max-retries=0,1,2,3";
            span.help { "Optional: a second parameter makes a grid, drawn as a phase diagram." }
        }
        div.field {
            label for="f-seeds" { "seeds" }
            input #f-seeds type="text" name="seeds" value=(ev.request.get("seeds").unwrap_or("1"));
            span.help { "Runs per value, with seeds --seed, --seed + 1, …; at most " (st.limits.max_sweep_jobs) " runs in all." }
        }
    };
    let state = FormState { request: &ev.request, base: &ev.base, error: error.as_ref() };
    let main = html! {
        div.cols {
            (form(entry, &st.presets, &state, &format!("/{}/sweep", entry.name), "sweep", extra))
            div #result {
                @if let Some(e) = &error {
                    p.verdict.error { "error: " (e.message) }
                } @else if asked {
                    div #sweep data-events={ "/" (entry.name) "/sweep/events?" (q) } data-state="running" {
                        p.cmd { "Command line: " code { (ev.request.shown) } }
                        p { progress #progress value="0" max="1" {} " " span #count { "starting" } }
                        noscript { p { a href={ "/" (entry.name) "/sweep/table?" (q) } { "Run the sweep (without JavaScript: the table comes when it is done)" } } }
                        (view(""))
                    }
                } @else {
                    p { "Give a parameter and its values, then Start." }
                }
            }
        }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, html_page(&format!("{} sweep", entry.name), main)).into_response()
}

/// `/{study}/sweep/events`: runs the sweep, `progress` events, then `done` with the table.
pub async fn events_route(st: Arc<AppState>, name: String, q: Option<String>) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e.clone(),
        Err(r) => return *r,
    };
    let ev = evaluate(&st, &entry, q.as_deref().unwrap_or(""), &EXTRA);
    let (tx, rx) = mpsc::channel::<Event>(4);
    let parsed = match parsed_sweep(&st, &ev) {
        Ok(p) => p,
        Err(e) => {
            let _ = tx.try_send(Event::default().event("failed").data(e.message));
            return routes::events(rx).into_response();
        }
    };
    let permit = match st.pool.slot().await {
        Ok(p) => p,
        Err(e) => {
            let _ = tx.try_send(Event::default().event("failed").data(e.to_string()));
            return routes::events(rx).into_response();
        }
    };
    let limits = st.limits;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let out = tx.clone();
        let mut progress = move |done: u64, of: u64| {
            let data = json!({ "done": done, "of": of }).to_string();
            !matches!(
                out.try_send(Event::default().event("progress").data(data)),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        };
        let event = match (entry.sweep)(&parsed, &limits, &mut progress) {
            Ok(report) => {
                Event::default().event("done").data(json!({ "table": report.text, "svg": report.svg }).to_string())
            }
            Err(e) => Event::default().event("failed").data(format!("{e:#}").replace('\r', "")),
        };
        let _ = tx.blocking_send(event);
    });
    routes::events(rx).into_response()
}

/// The route of [`events_route`].
pub async fn events(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    events_route(st, name, q).await
}

/// `/{study}/sweep/table`: the sweep run to its end, its table as plain text (for pages
/// without JavaScript and for scripts).
pub async fn table(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e.clone(),
        Err(r) => return *r,
    };
    let ev = evaluate(&st, &entry, q.as_deref().unwrap_or(""), &EXTRA);
    let parsed = match parsed_sweep(&st, &ev) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("error: {}\n", e.message)).into_response(),
    };
    let permit = match st.pool.slot().await {
        Ok(p) => p,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("error: {e}\n")).into_response(),
    };
    let limits = st.limits;
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        (entry.sweep)(&parsed, &limits, &mut |_, _| true)
    })
    .await;
    match result {
        Ok(Ok(report)) => report.text.into_response(),
        Ok(Err(e)) => (StatusCode::BAD_REQUEST, format!("error: {e:#}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("error: {e}\n")).into_response(),
    }
}
