//! `faultline serve`: the studies in the browser. A page per study with a form made from its
//! parameter table, re-run on every change (the URL holds the parameters, with the flags' own
//! names); live runs paced to the wall clock that a person breaks with a click; one-parameter
//! sweeps. Everything goes through the same code as the command line: the query is parsed as
//! the study's command line, the run is the study's run.
//!
//! Safe to leave running: it binds 127.0.0.1 unless told otherwise, answers only requests
//! whose `Host` is its own, runs simulations on blocking threads with a limit on how many at
//! once, and keeps the studies' limits on runs and input.

pub mod experiments;
pub mod form;
pub mod host;
pub mod html;
pub mod live;
pub mod live_routes;
pub mod pool;
pub mod presets;
pub mod query;
pub mod registry;
pub mod routes;
pub mod sweep;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::study::RunLimits;

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where it listens.
    pub listen: SocketAddr,
    /// Host names it answers to besides its address (`--allow-host`).
    pub allow_hosts: Vec<String>,
    /// The presets folder.
    pub presets: PathBuf,
    /// Runs at once.
    pub runs: usize,
    /// Live runs at once.
    pub live: usize,
    /// The limits of every run (the studies' own, `--max-sweep-jobs` lower for a page).
    pub limits: RunLimits,
}

impl Default for Options {
    fn default() -> Self {
        let runs = std::thread::available_parallelism().map_or(2, |n| n.get());
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            allow_hosts: Vec::new(),
            presets: presets::default_dir(),
            runs,
            live: 4,
            limits: RunLimits { max_sweep_jobs: 200, ..RunLimits::default() },
        }
    }
}

/// What every request handler shares.
pub struct AppState {
    /// The studies.
    pub entries: Vec<registry::Entry>,
    /// Their presets.
    pub presets: presets::Presets,
    /// Each study's experiments (as [`AppState::entries`]), with the pages that run them.
    pub experiments: Vec<Vec<experiments::Experiment>>,
    /// Where runs happen.
    pub pool: pool::Pool,
    /// Live sessions.
    pub sessions: live::Sessions,
    /// The limits of every run.
    pub limits: RunLimits,
    /// The `Host` values served.
    pub hosts: host::Hosts,
}

impl AppState {
    /// The experiments of the study called `name`.
    pub fn experiments(&self, name: &str) -> &[experiments::Experiment] {
        let at = self.entries.iter().position(|e| e.name == name);
        at.and_then(|i| self.experiments.get(i)).map_or(&[], Vec::as_slice)
    }
}

/// A bound server, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Binds `options.listen` and reads the presets. Must be called inside a tokio runtime.
    pub async fn bind(options: &Options) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| anyhow::anyhow!("--listen {}: {e}", options.listen))?;
        let addr = listener.local_addr()?;
        let entries = registry::studies();
        let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
        let presets = presets::Presets::read(&options.presets, &names);
        let experiments = entries.iter().map(|e| experiments::of(e, &presets)).collect();
        let state = AppState {
            entries,
            presets,
            experiments,
            pool: pool::Pool::new(options.runs, Duration::from_secs(30)),
            sessions: live::Sessions::new(&std::env::temp_dir(), options.live)?,
            limits: options.limits,
            hosts: host::Hosts::new(addr, &options.allow_hosts),
        };
        Ok(Server { listener, state: Arc::new(state) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The URL of its home page.
    pub fn url(&self) -> std::io::Result<String> {
        Ok(format!("http://{}/", self.addr()?))
    }

    /// Serves until the process ends.
    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(self.listener, routes::router(self.state)).await
    }
}
