//! The live pages: the live run's page, its event stream (the run paced to the wall clock on a
//! blocking thread, a chart per window), its commands and its script.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::sse::Event;
use axum::response::{Html, IntoResponse, Response};
use faultline_faults::ControlSource;
use maud::html;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::AppState;
use super::form::{FormState, form};
use super::html::{self, body};
use super::live::{self, Session};
use super::query::{Refused, Request as Req};
use super::registry::{Entry, Parsed};
use super::routes::{self, entry, evaluate, failed, not_found};
use crate::cli::FaultArgs;
use crate::study::drive::observer::{Observer, observed};

/// Live runs go at this many virtual seconds per wall second unless the page says otherwise.
pub const DEFAULT_SPEED: f64 = 5.0;

fn speed_of(request: &Req) -> Result<f64, String> {
    match request.get("speed") {
        None => Ok(DEFAULT_SPEED),
        Some(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= 1e6 => Ok(x),
            _ => Err(format!("speed: '{s}' (allowed: a number > 0 and <= 1000000, virtual seconds per wall second)")),
        },
    }
}

/// `/{study}/live`: the form, and the live panel that starts the run.
pub async fn page(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let q = q.unwrap_or_default();
    let ev = evaluate(&st, entry, &q, &["preset", "speed"]);
    let speed = speed_of(&ev.request);
    let error = match (&ev.parsed, &speed) {
        (Err(e), _) => Some(e.clone()),
        (_, Err(e)) => Some(Refused { field: None, message: e.clone() }),
        _ => None,
    };
    let state = FormState { request: &ev.request, base: &ev.base, error: error.as_ref() };
    let speed_value = ev.request.get("speed").map_or(DEFAULT_SPEED.to_string(), str::to_string);
    let speed_field = html! {
        div.field {
            label for="f-speed" { "speed" }
            input #f-speed type="text" name="speed" value=(speed_value);
            span.help { "Virtual seconds per wall second (--realtime)." }
        }
    };
    let main = html! {
        p { "A run paced to the wall clock; break it while it goes. Parameters are fixed for the run: change them and start again." }
        div.cols {
            (form(entry, &st.presets, &state, &format!("/{}/live", entry.name), "live", speed_field))
            div #result .live {
                p { a href={ "/" (entry.name) "?" (ev.request.params_query(entry)) } { "Back to the study page" } }
                @if let Some(e) = &error {
                    p.verdict.error { "error: " (e.message) }
                } @else {
                    div #live data-events={ "/" (entry.name) "/live/events?" (q) } data-state="starting" {
                        p.cmd { "Command line: " code { (ev.request.shown) " --realtime " (speed_value) " --control unix:PATH" } }
                        p #clock { "starting…" }
                        div #livechart .chart {}
                        div {
                            label for="target" { "node " } select #target {}
                            " " label for="amount" { "value " } input #amount type="text" value="0.3" size="6";
                        }
                        div {
                            button data-cmd="partition {node} | {rest}" { "partition" }
                            button data-cmd="heal" { "heal" }
                            button data-cmd="crash {node}" { "crash" }
                            button data-cmd="restart {node}" { "restart" }
                            button data-cmd="pause {node}" { "pause" }
                            button data-cmd="resume {node}" { "resume" }
                            button data-cmd="link * -> {node} loss {value}" { "link loss" }
                            button data-cmd="link * -> {node} latency 200ms" { "link latency" }
                            button data-cmd="link * -> * reset" { "links reset" }
                        }
                        form #cmdform {
                            input #cmd type="text" size="50" placeholder="any control command, e.g. isolate server hold";
                            button type="submit" { "send" }
                        }
                        pre #replies {}
                        p { a #script href="#" download="faults.txt" { "This session's faults as a script (faults.txt)" } }
                        div #final {}
                    }
                }
            }
        }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, Html(html::page(&format!("{} live", entry.name), main).into_string())).into_response()
}

/// `/{study}/live/events`: starts the run; `session`, then `window` events, then `end`.
pub async fn events(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e.clone(),
        Err(r) => return *r,
    };
    let ev = evaluate(&st, &entry, q.as_deref().unwrap_or(""), &["preset", "speed"]);
    let parsed = match (ev.parsed, speed_of(&ev.request)) {
        (Err(e), _) => return failed(e.message).into_response(),
        (_, Err(e)) => return failed(e).into_response(),
        (Ok(p), Ok(speed)) => (p, speed),
    };
    let (parsed, speed) = parsed;
    let session = match st.sessions.open(entry.name, ev.request.shown.clone(), speed) {
        Ok(s) => s,
        Err(e) => return failed(e).into_response(),
    };
    let (tx, rx) = mpsc::channel::<Event>(8);
    let every = parsed
        .params
        .get("window")
        .and_then(Value::as_str)
        .and_then(|w| faultline::time::parse_duration(w).ok())
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_millis(100));
    let state = st.clone();
    tokio::task::spawn_blocking(move || live_run(&state, entry, parsed, session, speed, every, tx));
    routes::events(rx).into_response()
}

/// One live run on this (blocking) thread: events out on `tx` until the run ends or `tx` closes;
/// the last is the report of the run, as the study page shows one.
fn live_run(
    st: &AppState,
    entry: Entry,
    parsed: Parsed,
    session: Arc<Session>,
    speed: f64,
    every: Duration,
    tx: mpsc::Sender<Event>,
) {
    let limits = st.limits;
    let watcher = session.clone();
    let out = tx.clone();
    let mut n = 0u64;
    let study = entry.name;
    let preferred = entry.live_metrics.clone();
    let see = Box::new(move |now: faultline::SimTime, report: &dyn Fn() -> faultline::Report| {
        if out.is_closed() {
            return false;
        }
        let r = report();
        if n == 0 {
            let names: Vec<String> = r.nodes.iter().map(|n| n.name.clone()).collect();
            let parts: serde_json::Map<String, Value> =
                names.iter().map(|n| (n.clone(), Value::from(live::others(&names, n)))).collect();
            let data = json!({ "id": watcher.id, "nodes": names, "parts": parts }).to_string();
            if out.blocking_send(Event::default().event("session").data(data)).is_err() {
                return false;
            }
        }
        n += 1;
        let now_s = now.as_secs_f64();
        let chart = live::chart(study, &preferred, &r, now_s, &watcher.commands());
        // The last finished window's value of each line, for the page and its tests.
        let last: serde_json::Map<String, Value> = chart
            .lines
            .iter()
            .filter_map(|l| l.points.last().map(|(_, y)| (l.label.clone(), y.map_or(Value::Null, Value::from))))
            .collect();
        let status = format!("t = {now_s:.1} s of virtual time, at {speed}x real time");
        let data = json!({ "svg": chart.render(), "status": status, "n": n, "last": last }).to_string();
        // A page that reads slowly misses windows, never holds the run; a closed one stops it.
        !matches!(out.try_send(Event::default().event("window").data(data)), Err(mpsc::error::TrySendError::Closed(_)))
    });
    let live = FaultArgs {
        faults: None,
        nemesis: None,
        control: Some(ControlSource::Unix(session.socket.clone())),
        realtime: Some(speed),
    };
    let result = observed(Observer { every, see }, || (entry.run)(&parsed, &live, &limits));
    session.running.store(false, Ordering::Release);
    let event = match result {
        Ok(outcome) => {
            let html = body(&outcome, st.experiments(entry.name));
            Event::default().event("end").data(html.into_string().replace('\r', ""))
        }
        Err(e) => Event::default().event("failed").data(format!("{e:#}").replace('\r', "")),
    };
    let _ = tx.blocking_send(event);
}

/// The body of a command: one control line.
#[derive(serde::Deserialize)]
pub struct CommandForm {
    /// The line, as typed.
    pub line: String,
}

/// `POST /live/{id}/command`: one control line, its reply.
pub async fn command(State(st): State<Arc<AppState>>, Path(id): Path<u64>, Form(f): Form<CommandForm>) -> Response {
    let Some(session) = st.sessions.get(id) else { return not_found(&format!("no live session {id}")) };
    let max = usize::try_from(st.limits.max_control_line).unwrap_or(usize::MAX);
    match tokio::task::spawn_blocking(move || session.command(&f.line, max)).await {
        Ok(Ok(reply)) => reply.into_response(),
        Ok(Err(e)) => (StatusCode::CONFLICT, format!("error: {e}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("error: {e}")).into_response(),
    }
}

/// `/live/{id}/faults.txt`: the session's faults as a script.
pub async fn script(State(st): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    let Some(session) = st.sessions.get(id) else { return not_found(&format!("no live session {id}")) };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"faults.txt\""),
        ],
        Body::from(session.script()),
    )
        .into_response()
}
