//! The server's pages and endpoints, and what each one does with its request.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Form, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::form::{FormState, form};
use super::html::{body, page, result};
use super::live::{self, Session};
use super::pool::RunError;
use super::query::{self, Refused, Request as Req};
use super::registry::{Entry, Outcome};
use super::{AppState, sweep};
use crate::cli::FaultArgs;
use crate::study::drive::observer::{Observer, observed};
use faultline_faults::ControlSource;

/// The largest request body (a live command), in bytes.
pub const MAX_BODY_BYTES: usize = 64 << 10;
/// Live runs go at this many virtual seconds per wall second unless the page says otherwise.
pub const DEFAULT_SPEED: f64 = 5.0;

/// Every route, behind the Host check.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/{study}", get(study_page))
        .route("/{study}/result", get(study_result))
        .route("/{study}/file/{name}", get(file))
        .route("/{study}/live", get(live_page))
        .route("/{study}/live/events", get(live_events))
        .route("/live/{id}/command", post(live_command))
        .route("/live/{id}/faults.txt", get(live_script))
        .route("/{study}/sweep", get(sweep::page))
        .route("/{study}/sweep/events", get(sweep::events))
        .route("/{study}/sweep/table", get(sweep::table))
        .fallback(|| async { not_found("no such page") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Refuses a request whose `Host` is not this server's (DNS rebinding), and marks every
/// response as loading nothing from elsewhere.
async fn guard(State(st): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if !st.hosts.allows(host) {
        let message = format!(
            "refused: Host '{}' is not this server (allowed: {}; add names with --allow-host)\n",
            host.unwrap_or(""),
            st.hosts.list().join(", ")
        );
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self' data:",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A 404 page.
pub fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, Html(page("not found", html! { p { (what) } }).into_string())).into_response()
}

/// The study of a path, or a 404 (boxed: a response is large).
pub fn entry<'a>(st: &'a AppState, name: &str) -> Result<&'a Entry, Box<Response>> {
    st.entries.iter().find(|e| e.name == name).ok_or_else(|| Box::new(not_found(&format!("no study called '{name}'"))))
}

async fn home(State(st): State<Arc<AppState>>) -> Html<String> {
    let main = html! {
        p { "Each study runs on an emulated network in virtual time. Pick one, move its parameters, and the run is done again as you go; every experiment is a link." }
        ul.studies {
            @for e in &st.entries {
                li {
                    a href={ "/" (e.name) } { strong { (e.name) } } ": " (e.about)
                    " (" a href={ "/" (e.name) "/live" } { "live" } ", " a href={ "/" (e.name) "/sweep" } { "sweep" } ")"
                    @let presets = st.presets.of(e.name);
                    @if !presets.is_empty() {
                        div.presets { "Presets: "
                            @for p in presets {
                                a href={ "/" (e.name) "?preset=" (p.name) } title=(p.about) { (p.name) } " "
                            }
                        }
                    }
                }
            }
        }
    };
    Html(page("studies", main).into_string())
}

/// A request as far as it goes: the command line read from the query, the parameters the form
/// starts from, and the parsed command line or why it was refused.
pub struct Evaluated {
    /// The request (its pairs even when refused).
    pub request: Req,
    /// The parameters before the request's own values (the preset's, or the defaults).
    pub base: Value,
    /// The parsed command line, or the refusal.
    pub parsed: Result<super::registry::Parsed, Refused>,
}

/// Reads `query` for `entry`, allowing `extra` keys besides its parameters.
pub fn evaluate(st: &AppState, entry: &Entry, query: &str, extra: &[&str]) -> Evaluated {
    let (request, parsed) = match query::request(entry, &st.presets, query, extra) {
        Ok(r) => {
            let p = query::parse(entry, &r);
            (r, p)
        }
        Err(e) => {
            let pairs = serde_urlencoded::from_str(query).unwrap_or_default();
            (Req { pairs, argv: Vec::new(), shown: entry.name.to_string() }, Err(e))
        }
    };
    let base = request
        .get("preset")
        .and_then(|name| {
            let only = Req { pairs: vec![("preset".into(), name.into())], argv: Vec::new(), shown: String::new() };
            let r = query::request(entry, &st.presets, &query::encode(&only.pairs), &[]).ok()?;
            query::parse(entry, &r).ok().map(|p| p.params)
        })
        .unwrap_or_else(|| entry.defaults.clone());
    Evaluated { request, base, parsed }
}

/// Runs an evaluated request: the outcome, or the refusal and its status.
async fn outcome(st: &AppState, entry: &Entry, ev: &Evaluated) -> Result<Arc<Outcome>, (StatusCode, Refused)> {
    let parsed = ev.parsed.clone().map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    st.pool.run(entry, &ev.request.argv, parsed, st.limits).await.map_err(|e| {
        let status = match e {
            RunError::Input(_) => StatusCode::BAD_REQUEST,
            RunError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            RunError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = e.to_string();
        (status, Refused { field: query::field_of(entry, &message), message })
    })
}

async fn study_page(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let ev = evaluate(&st, entry, q.as_deref().unwrap_or(""), &["preset"]);
    let run = outcome(&st, entry, &ev).await;
    let status = run.as_ref().err().map_or(StatusCode::OK, |(s, _)| *s);
    let error = run.as_ref().err().map(|(_, e)| e);
    let state = FormState { request: &ev.request, base: &ev.base, error };
    let main = html! {
        p { (entry.about) " " span #busy { "running…" } }
        div.cols {
            (form(entry, &st.presets, &state, &format!("/{}", entry.name), "study", html! {}))
            (result(entry, &ev.request.shown, &ev.request.params_query(entry), run.as_deref().map_err(|(_, e)| e)))
        }
    };
    (status, Html(page(entry.name, main).into_string())).into_response()
}

async fn study_result(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let start = Instant::now();
    let ev = evaluate(&st, entry, q.as_deref().unwrap_or(""), &["preset"]);
    let run = outcome(&st, entry, &ev).await;
    let ran = start.elapsed();
    // The fragment of a refused request is still a result to show (the error, by its field):
    // 200, so that the page's console stays clean; its status is in a header. The whole page
    // (without JavaScript) answers 400.
    let refused = run.as_ref().err().map(|(s, _)| s.as_u16().to_string()).unwrap_or_default();
    let fragment =
        result(entry, &ev.request.shown, &ev.request.params_query(entry), run.as_deref().map_err(|(_, e)| e))
            .into_string();
    let headers = [
        (header::HeaderName::from_static("server-timing"), timing(ran, start.elapsed())),
        (header::HeaderName::from_static("x-faultline-refused"), refused),
    ];
    (headers, Html(fragment)).into_response()
}

/// The `Server-Timing` header of a result: the run (with parsing; near zero when the outcome
/// was kept from before) and the whole response, rendering included, in milliseconds.
fn timing(ran: Duration, total: Duration) -> String {
    format!("run;dur={:.1}, total;dur={:.1}", ran.as_secs_f64() * 1e3, total.as_secs_f64() * 1e3)
}

async fn file(
    State(st): State<Arc<AppState>>,
    Path((name, file)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let entry = match entry(&st, &name) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let ev = evaluate(&st, entry, q.as_deref().unwrap_or(""), &["preset"]);
    let run = match outcome(&st, entry, &ev).await {
        Ok(o) => o,
        Err((status, e)) => return (status, format!("error: {}\n", e.message)).into_response(),
    };
    let Some(bytes) = run.file(&file) else {
        return (StatusCode::NOT_FOUND, format!("this run has no file '{file}'\n")).into_response();
    };
    let kind = match file.rsplit('.').next() {
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    let disposition = format!("attachment; filename=\"{}\"", file.replace(['"', '\\'], "_"));
    ([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes.to_vec())
        .into_response()
}

fn speed_of(request: &Req) -> Result<f64, String> {
    match request.get("speed") {
        None => Ok(DEFAULT_SPEED),
        Some(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= 1e6 => Ok(x),
            _ => Err(format!("speed: '{s}' (allowed: a number > 0 and <= 1000000, virtual seconds per wall second)")),
        },
    }
}

async fn live_page(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
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
    (status, Html(page(&format!("{} live", entry.name), main).into_string())).into_response()
}

/// A stream of server-sent events from a channel; it ends when the sender is dropped, and the
/// receiver is dropped when the page goes away.
pub fn events(rx: mpsc::Receiver<Event>) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
}

fn failed(message: String) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Event::default().event("failed").data(message.replace('\r', "")));
    events(rx)
}

async fn live_events(State(st): State<Arc<AppState>>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
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
    let limits = st.limits;
    tokio::task::spawn_blocking(move || live_run(entry, parsed, session, speed, every, limits, tx));
    events(rx).into_response()
}

/// One live run on this (blocking) thread: events out on `tx` until the run ends or `tx` closes.
fn live_run(
    entry: Entry,
    parsed: super::registry::Parsed,
    session: Arc<Session>,
    speed: f64,
    every: Duration,
    limits: crate::study::RunLimits,
    tx: mpsc::Sender<Event>,
) {
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
            let html = html! {
                @if let Some(v) = outcome.verdict() {
                    p.verdict data-verdict=(v.split(':').next().unwrap_or("")) { (v) }
                }
                (body(&entry, &outcome))
            };
            Event::default().event("end").data(html.into_string().replace('\r', ""))
        }
        Err(e) => Event::default().event("failed").data(format!("{e:#}").replace('\r', "")),
    };
    let _ = tx.blocking_send(event);
}

#[derive(serde::Deserialize)]
struct CommandForm {
    line: String,
}

async fn live_command(State(st): State<Arc<AppState>>, Path(id): Path<u64>, Form(f): Form<CommandForm>) -> Response {
    let Some(session) = st.sessions.get(id) else { return not_found(&format!("no live session {id}")) };
    let max = usize::try_from(st.limits.max_control_line).unwrap_or(usize::MAX);
    match tokio::task::spawn_blocking(move || session.command(&f.line, max)).await {
        Ok(Ok(reply)) => reply.into_response(),
        Ok(Err(e)) => (StatusCode::CONFLICT, format!("error: {e}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("error: {e}")).into_response(),
    }
}

async fn live_script(State(st): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
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

/// Markup helper for other route files.
pub fn html_page(title: &str, main: Markup) -> Html<String> {
    Html(page(title, main).into_string())
}
