//! A real browser for tests: Debian's headless Chromium driven over WebDriver (chromedriver on a
//! local port, `fantoccini` as the client), with a fresh profile, no network features, and the
//! browser's console log readable. Shared by every test that opens a page (`mod
//! report_harness;`). When Chromium is missing it is installed if this machine can (`apt-get`,
//! as root); only when it cannot is the test skipped, loudly.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// The flags the browser runs with: headless, no sandbox (containers), and nothing that talks
/// to the network on its own.
pub const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// The paths of chromium and chromedriver, installing them when missing and installable.
/// `None` (after a loud message on stderr) only when they are absent and cannot be installed.
pub fn chromium() -> Option<(PathBuf, PathBuf)> {
    let found = || Some((which("chromium")?, which("chromedriver")?));
    if let Some(f) = found() {
        return Some(f);
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root && which("apt-get").is_some() {
        eprintln!("chromium or chromedriver is missing: installing them (apt-get install -y chromium chromium-driver)");
        let _ = Command::new("apt-get").args(["install", "-y", "chromium", "chromium-driver"]).status();
    }
    let f = found();
    if f.is_none() {
        eprintln!(
            "\n==================== SKIPPED: NO BROWSER ====================\n\
             chromium and chromedriver are not installed and could not be installed here\n\
             (as root: apt-get update && apt-get install -y chromium chromium-driver).\n\
             The real-browser check of the reports did NOT run.\n\
             =============================================================\n"
        );
    }
    f
}

/// A chromedriver process, killed when dropped.
pub struct Driver {
    child: Child,
    /// Its WebDriver URL.
    pub url: String,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Driver {
    /// Starts chromedriver on a free local port and waits until it listens.
    pub fn start(chromedriver: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("faultline-chromium-profile-{}-{port}", std::process::id()));
        Driver { child, url: format!("http://127.0.0.1:{port}"), profile }
    }

    /// A browser session: `chromium` headless with [`FLAGS`], a fresh profile, the console
    /// log kept.
    pub async fn session(&self, chromium: &Path) -> Client {
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("cannot start a browser session")
    }
}

/// chromedriver's console log of the page (`POST /session/{id}/se/log`), which W3C WebDriver
/// does not have.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_string()))
    }
}

/// The console entries since the last call: `(level, message)`.
pub async fn console(client: &Client) -> Vec<(String, String)> {
    let log = client.issue_cmd(BrowserLog).await.expect("cannot read the browser's console log");
    log.as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (e["level"].as_str().unwrap_or("").to_string(), e["message"].as_str().unwrap_or("").to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a page loaded from outside itself: the resource-timing entries and every element
/// attribute that points at another resource (`src`, `href` other than a fragment, CSS
/// `url(...)`).
pub async fn external(client: &Client) -> Vec<String> {
    let script = r#"
        const out = performance.getEntriesByType('resource').map(e => 'loaded ' + e.name);
        for (const el of document.querySelectorAll('*')) {
            for (const a of ['src', 'href', 'xlink:href', 'srcset', 'data', 'poster', 'action']) {
                const v = el.getAttribute(a);
                if (v && !v.startsWith('#')) out.push(el.tagName + ' ' + a + '=' + v);
            }
            const st = el.getAttribute('style');
            if (st && st.includes('url(')) out.push(el.tagName + ' style=' + st);
        }
        for (const s of document.styleSheets) {
            for (const r of s.cssRules) { if (r.cssText.includes('url(') || r.cssText.includes('@import')) out.push('css ' + r.cssText); }
        }
        return out;
    "#;
    let v = client.execute(script, vec![]).await.expect("cannot run the resource check");
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

/// Saves a screenshot of the whole page (the window grown to the page's height) to `path`.
pub async fn screenshot(client: &Client, width: u32, path: &Path) {
    client.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    let height = client.execute("return document.documentElement.scrollHeight;", vec![]).await.unwrap();
    let height = height.as_u64().unwrap_or(2000).clamp(600, 12_000) as u32;
    client.set_window_size(width, height + 140).await.unwrap();
    let png = client.screenshot().await.expect("cannot take a screenshot");
    std::fs::write(path, png).unwrap();
}

/// Runs `f` on a current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// `file://` URL of a local path.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The value of `v` as a list of JSON objects.
pub fn objects(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}
