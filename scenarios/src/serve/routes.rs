//! The server's pages and endpoints, and what each one does with its request.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::Value;
use tokio::sync::mpsc;

use super::form::{FormState, form};
use super::html::{page, result};
use super::pool::RunError;
use super::query::{self, Refused, Request as Req};
use super::registry::{Entry, Outcome};
use super::{AppState, live_routes, sweep};

/// The largest request body (a live command), in bytes.
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// Every route, behind the Host check.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/{study}", get(study_page))
        .route("/{study}/result", get(study_result))
        .route("/{study}/file/{name}", get(file))
        .route("/{study}/live", get(live_routes::page))
        .route("/{study}/live/events", get(live_routes::events))
        .route("/live/{id}/command", post(live_routes::command))
        .route("/live/{id}/faults.txt", get(live_routes::script))
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
        p.status { span #busy { "running…" } }
        div.cols {
            (form(entry, &st.presets, &state, &format!("/{}", entry.name), "study", html! {}))
            (result(entry, st.experiments(entry.name), &ev.request.shown, &ev.request.params_query(entry), run.as_deref().map_err(|(_, e)| e)))
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
    let fragment = result(
        entry,
        st.experiments(entry.name),
        &ev.request.shown,
        &ev.request.params_query(entry),
        run.as_deref().map_err(|(_, e)| e),
    )
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

/// A stream of server-sent events from a channel; it ends when the sender is dropped, and the
/// receiver is dropped when the page goes away.
pub fn events(rx: mpsc::Receiver<Event>) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
}

/// A stream of one `failed` event with `message`.
pub fn failed(message: String) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Event::default().event("failed").data(message.replace('\r', "")));
    events(rx)
}

/// A whole page as a response.
pub fn html_page(title: &str, main: Markup) -> Html<String> {
    Html(page(title, main).into_string())
}
