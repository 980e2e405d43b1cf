//! faultline: the studies in one binary's subcommands; today `serve`, the studies in the
//! browser (`faultline serve`, then open the URL it prints).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use faultline_scenarios::serve::{Options, Server};

/// Emulate networked nodes on a virtual clock and study how distributed systems fail.
#[derive(Parser)]
#[command(name = "faultline", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the studies as web pages: forms that re-run as you change them, live runs you can
    /// break with a click, sweeps. Binds 127.0.0.1 unless --listen says otherwise.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port). Anything but loopback lets other machines
    /// run simulations here: a warning says so.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Another host name the pages may be reached by (for a non-loopback --listen); requests
    /// with any other Host header are refused. Repeatable.
    #[arg(long, value_name = "NAME", value_parser = host_name)]
    allow_host: Vec<String>,
    /// Folder of presets (presets/<study>/*.toml) [default: this source tree's scenarios/presets].
    #[arg(long, value_name = "DIR")]
    presets: Option<PathBuf>,
    /// Simulations run at once [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    runs: Option<u16>,
    /// Live runs at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    live: u16,
    /// Most runs in one sweep from a page.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_sweep_jobs: u64,
}

/// A name a `Host` header can carry (`name` or `name:port`): not empty, no spaces, no
/// slashes or `@`, at most 260 characters.
fn host_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 260 || s.chars().any(|c| c.is_whitespace() || c.is_control() || "/@\\".contains(c)) {
        return Err(
            "a host name, as a Host header carries it (e.g. 'sim.example.org' or 'sim.example.org:8080')".into()
        );
    }
    Ok(s.to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let Command::Serve(args) = cli.command;
    let mut options =
        Options { listen: args.listen, allow_hosts: args.allow_host, live: args.live.into(), ..Options::default() };
    if let Some(dir) = args.presets {
        options.presets = dir;
    }
    if let Some(n) = args.runs {
        options.runs = n.into();
    }
    options.limits.max_sweep_jobs = args.max_sweep_jobs;
    if !options.listen.ip().is_loopback() {
        eprintln!(
            "warning: --listen {} is not loopback: anyone who can reach it can run simulations on this machine (there is no login)",
            options.listen
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the server's runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let server = Server::bind(&options).await?;
        println!("faultline serve: {}", server.url()?);
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        server.run().await?;
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
