//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromedriver`), with a
//! hand-written client on [`super::http`]: open a page, find, type, click, run a script, read
//! the console, list what a page loaded or points at outside itself, measure elements, take a
//! screenshot of the window or of the whole page. The one browser harness of the tests (the
//! server's and the reports'). When Chromium is missing it is installed if this machine can
//! (`apt-get`, as root).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::request11 as request;

/// The WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether Chromium and chromedriver are installed, installing them first when they are not
/// and this machine can (root with `apt-get`). A test that needs them fails when this is false:
/// a browser check that did not run must not pass.
pub fn available() -> bool {
    let found = || Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if found() {
        return true;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("chromium or chromedriver is missing: installing them (apt-get install -y chromium chromium-driver)");
        let _ = Command::new("apt-get").args(["install", "-y", "chromium", "chromium-driver"]).status();
    }
    found()
}

/// The message of a test that cannot run without a browser.
pub const MISSING: &str = "chromium and chromedriver are needed at /usr/bin (as root: apt-get update && apt-get install -y chromium chromium-driver)";

/// `file://` URL of a local path.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// A browser session; the browser and its driver stop when it is dropped.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    profile: std::path::PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("faultline-chromium-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let mut b = Browser { driver, addr, session: String::new(), profile };
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let text = body.map(|b| b.to_string());
        let r = request(
            &self.addr,
            method,
            path,
            Some(&self.addr),
            text.as_deref().map(|t| ("application/json", t.as_bytes())),
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        assert!(r.status == 200, "WebDriver {method} {path}: {} {}", r.status, r.text());
        v["value"].clone()
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    /// The element matching a CSS selector.
    pub fn find(&self, css: &str) -> String {
        let v = self.call("POST", &self.s("/element"), Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    /// Clears a field and types `text` in it, as a person would.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/clear")), Some(json!({})));
        self.call("POST", &self.s(&format!("/element/{e}/value")), Some(json!({ "text": text })));
    }

    /// Clicks the element.
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), Some(json!({})));
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub fn eval(&self, script: &str) -> Value {
        self.call("POST", &self.s("/execute/sync"), Some(json!({ "script": script, "args": [] })))
    }

    /// Waits up to `timeout` for `script` to return something truthy; returns it.
    pub fn wait_for(&self, script: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(script);
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for: {script}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The console's entries since the last call (chromedriver's log, which W3C WebDriver does
    /// not have): `(level, message)`.
    pub fn console(&self) -> Vec<(String, String)> {
        let v = self.call("POST", &self.s("/se/log"), Some(json!({ "type": "browser" })));
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        (m["level"].as_str().unwrap_or("").to_string(), m["message"].as_str().unwrap_or("").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The console's messages at level SEVERE (errors) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        self.console().into_iter().filter(|(level, _)| level == "SEVERE").map(|(_, m)| m).collect()
    }

    /// Every resource the page loaded (scripts, styles, images, fetches), by URL.
    pub fn resources(&self) -> Vec<String> {
        let v = self.eval("return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);");
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    /// What a page loaded from outside itself or points at: the resource-timing entries and
    /// every attribute that names another resource (`src`, `href` other than a fragment, CSS
    /// `url(...)`, `@import`).
    pub fn external(&self) -> Vec<String> {
        let v = self.eval(EXTERNAL);
        v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
    }

    /// The rendered size (CSS pixels) of every element matching `css`: width, height.
    pub fn sizes(&self, css: &str) -> Vec<(f64, f64)> {
        let script = format!(
            "return [...document.querySelectorAll({})].map(e => {{ const r = e.getBoundingClientRect(); return [r.width, r.height]; }});",
            json!(css)
        );
        let v = self.eval(&script);
        v.as_array()
            .map(|a| a.iter().map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0))).collect())
            .unwrap_or_default()
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        let v = self.call("POST", &self.s("/elements"), Some(json!({"using": "css selector", "value": css})));
        v.as_array().map_or(0, Vec::len)
    }

    /// Sets the window's size.
    pub fn resize(&self, width: u32, height: u32) {
        self.call("POST", &self.s("/window/rect"), Some(json!({ "width": width, "height": height })));
    }

    /// Saves a screenshot of the window as PNG.
    pub fn screenshot(&self, path: &Path) {
        let v = self.call("GET", &self.s("/screenshot"), None);
        let png = base64(v.as_str().expect("base64 PNG"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Saves a screenshot of the whole page, `width` wide (the window grown to the page's
    /// height, then set back to `width` x 1000).
    pub fn screenshot_page(&self, width: u32, path: &Path) {
        self.eval("window.scrollTo(0, 0);");
        let height = self.eval("return document.documentElement.scrollHeight;").as_u64().unwrap_or(2000);
        self.resize(width, height.clamp(600, 12_000) as u32 + 140);
        self.screenshot(path);
        self.resize(width, 1000);
    }
}

/// The script of [`Browser::external`].
const EXTERNAL: &str = r#"
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

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(&self.addr, "DELETE", &format!("/session/{}", self.session), Some(&self.addr), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Decodes standard base64.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
