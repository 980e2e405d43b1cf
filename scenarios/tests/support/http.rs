//! A small HTTP/1.0 client over a TCP socket (so a body is the bytes until the server closes,
//! streams included), and `faultline serve` started on an ephemeral port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.0 request to `addr` (`host:port`); `host` is the Host header (None: none
/// sent).
pub fn request(addr: &str, method: &str, path: &str, host: Option<&str>, body: Option<(&str, &[u8])>) -> Response {
    send(addr, "HTTP/1.0", method, path, host, body)
}

/// The same as HTTP/1.1 with `Connection: close`, the body read by its `Content-Length` (for
/// servers that keep the connection open all the same, as chromedriver does).
pub fn request11(addr: &str, method: &str, path: &str, host: Option<&str>, body: Option<(&str, &[u8])>) -> Response {
    send(addr, "HTTP/1.1", method, path, host, body)
}

fn send(
    addr: &str,
    version: &str,
    method: &str,
    path: &str,
    host: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!("{method} {path} {version}\r\n");
    if version == "HTTP/1.1" {
        head.push_str("Connection: close\r\n");
    }
    if let Some(h) = host {
        head.push_str(&format!("Host: {h}\r\n"));
    }
    if let Some((kind, bytes)) = body {
        head.push_str(&format!("Content-Type: {kind}\r\nContent-Length: {}\r\n", bytes.len()));
    } else if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    if let Some((_, bytes)) = body {
        let _ = s.write_all(bytes);
    }
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        raw.extend_from_slice(&chunk[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let r = parse(&raw);
            if let Some(len) = r.header("content-length").and_then(|l| l.parse::<usize>().ok())
                && raw.len() >= end + 4 + len
            {
                raw.truncate(end + 4 + len);
                break;
            }
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response { status, headers, body: raw[end + 4..].to_vec() }
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its name.
    pub event: String,
    /// Its data, lines joined by newlines.
    pub data: String,
}

/// A server-sent event stream being read.
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    /// Opens `path` as an event stream.
    pub fn open(addr: &str, path: &str) -> Events {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").as_bytes())
            .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.contains(" 200 "), "{line}");
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
        }
        Events { reader }
    }

    /// The next event (comments and keep-alives skipped), or None at the end of the stream.
    pub fn next(&mut self) -> Option<Event> {
        let (mut event, mut data) = (String::from("message"), Vec::<String>::new());
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let l = line.trim_end_matches(['\n', '\r']);
            if l.is_empty() {
                if !data.is_empty() {
                    return Some(Event { event, data: data.join("\n") });
                }
                continue;
            }
            if let Some(v) = l.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            }
        }
    }

    /// The next event called `name`, skipping others.
    pub fn next_named(&mut self, name: &str) -> Option<Event> {
        loop {
            let e = self.next()?;
            if e.event == name {
                return Some(e);
            }
        }
    }
}

/// `faultline serve` on an ephemeral loopback port, stopped when dropped.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Where its stderr goes.
    log: std::path::PathBuf,
}

impl Server {
    /// Starts the server with `args` after `serve --listen 127.0.0.1:0` (the binary in
    /// `FAULTLINE_SERVE_BIN` when set).
    pub fn start(args: &[&str]) -> Server {
        // FAULTLINE_SERVE_BIN measures another build (the release one) with the same tests.
        let bin = std::env::var("FAULTLINE_SERVE_BIN")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_faultline").to_string());
        // Its log goes to a file, read only when it does not start.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("faultline-serve-test-{}-{n}.log", std::process::id()));
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create the server's log"))
            .spawn()
            .expect("start faultline serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(url) = line.trim().strip_prefix("faultline serve: ").map(str::to_string) else {
            let _ = child.kill();
            let status = child.wait();
            let stderr = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("faultline serve printed {line:?} instead of its URL; exit {status:?}; stderr:\n{stderr}");
        };
        let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
        Server { child, addr, log }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// GET `path` with this server's Host.
    pub fn get(&self, path: &str) -> Response {
        request(&self.addr, "GET", path, Some(&self.addr), None)
    }

    /// POST a form to `path`.
    pub fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        request(
            &self.addr,
            "POST",
            path,
            Some(&self.addr),
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
