//! Faults driving whole runs: scripts at exact instants with `for` undoing them, a nemesis that
//! replays from its own printed script, and live commands over a unix socket.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use faultline::{Context, FnNode, LinkConfig, Sim, SimTime, TraceBuffer, TraceFormat, TraceOutput, TraceSink};
use faultline_faults::{ControlSource, LiveControl, Nemesis, Resolver, compile, parse_script};
use serde_json::Value;

fn at_ms(ms: u64) -> SimTime {
    SimTime::ZERO + Duration::from_millis(ms)
}

type Arrivals = Rc<RefCell<Vec<SimTime>>>;

/// Every node sends to every other every 10 ms over 1 ms links; arrivals are logged.
fn mesh(names: &[&str], realtime: Option<f64>, trace: Option<TraceBuffer>) -> (Sim<u32>, Arrivals) {
    let arrivals: Arrivals = Rc::default();
    let mut b = Sim::<u32>::builder(5).default_link(LinkConfig::constant(Duration::from_millis(1)));
    if let Some(f) = realtime {
        b = b.realtime(f);
    }
    if let Some(buf) = trace {
        b = b.trace(TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf)).filtered("info"));
    }
    for name in names {
        let arrivals = arrivals.clone();
        b = b.node(name, move || {
            let arrivals = arrivals.clone();
            FnNode(move |ctx: Context<u32>| {
                let arrivals = arrivals.clone();
                async move {
                    let sender = ctx.clone();
                    ctx.spawn(async move {
                        for k in 0.. {
                            for peer in sender.nodes().filter(|&n| n != sender.id()) {
                                sender.send(peer, &k);
                            }
                            sender.sleep(Duration::from_millis(10)).await;
                        }
                    });
                    loop {
                        ctx.recv().await;
                        arrivals.borrow_mut().push(ctx.now());
                    }
                }
            })
        });
    }
    (b.build().unwrap(), arrivals)
}

fn control_lines(trace: &TraceBuffer) -> Vec<(String, String)> {
    String::from_utf8(trace.contents())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["target"] == "faultline::control")
        .map(|v| (v["t"].as_str().unwrap().to_string(), v["fields"]["command"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn a_script_applies_at_exact_instants_and_for_undoes_it() {
    let trace = TraceBuffer::default();
    let (mut sim, arrivals) = mesh(&["a", "b"], None, Some(trace.clone()));
    let script = parse_script("at 1s for 500ms partition a | b\nat 2300us for 700us pause b\n").unwrap();
    let timeline = compile(&script, &Resolver::new(sim.names()), 1, at_ms(3000)).unwrap();
    timeline.install(&sim).unwrap();
    sim.run_until(at_ms(3000));
    assert_eq!(
        control_lines(&trace),
        vec![
            ("0.002300000".to_string(), "pause b".to_string()),
            ("0.003000000".to_string(), "resume b".to_string()),
            ("1.000000000".to_string(), "partition a | b as fault1.0".to_string()),
            ("1.500000000".to_string(), "heal fault1.0".to_string()),
        ]
    );
    let arrivals = arrivals.borrow();
    let during = arrivals.iter().filter(|t| **t > at_ms(1000) && **t <= at_ms(1500)).count();
    assert_eq!(during, 0, "the partition stopped everything");
    let after = arrivals.iter().filter(|t| **t > at_ms(1500) && **t <= at_ms(2000)).count();
    assert_eq!(after, 2 * 50, "the heal let everything through again");
}

#[test]
fn a_nemesis_run_replays_exactly_from_its_printed_script() {
    let names = ["n0", "n1", "n2", "n3", "n4"];
    let nemesis: Nemesis = "every=2s,for=1s,kinds=partition+crash+skew+flaky".parse().unwrap();
    let run = |script_text: Option<&str>| {
        let trace = TraceBuffer::default();
        let (mut sim, _) = mesh(&names, None, Some(trace.clone()));
        let resolver = Resolver::new(sim.names());
        let script = match script_text {
            None => nemesis.generate(&resolver, 77, at_ms(30_000)).unwrap(),
            Some(text) => parse_script(text).unwrap(),
        };
        compile(&script, &resolver, 0, at_ms(30_000)).unwrap().install(&sim).unwrap();
        sim.run_until(at_ms(30_000));
        (script.to_string(), trace.contents())
    };
    let (printed, first) = run(None);
    assert!(printed.lines().count() >= 8, "{printed}");
    let (_, again) = run(None);
    assert!(first == again, "the same seed gives the same faults");
    let (_, replayed) = run(Some(&printed));
    assert!(first == replayed, "the printed script replays the run byte for byte");
}

#[test]
fn live_commands_over_a_unix_socket_cut_and_restore_traffic() {
    let dir = std::env::temp_dir().join(format!("faultline-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("control.sock");
    let (mut sim, arrivals) = mesh(&["client", "server"], Some(10.0), None);
    let resolver = Resolver::new(sim.names()).alias("clients", "client*");
    let live = LiveControl::start(ControlSource::Unix(path.clone()), sim.control(), resolver.clone(), 1).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let taken = LiveControl::start(ControlSource::Unix(path.clone()), sim.control(), resolver, 1).err().unwrap();
    assert!(taken.to_string().contains("a file is already there"), "{taken}");

    let client = std::thread::spawn({
        let path = path.clone();
        move || {
            let stream = UnixStream::connect(&path).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut ask = |line: &str| {
                writeln!(&stream, "{line}").unwrap();
                let mut reply = String::new();
                reader.read_line(&mut reply).unwrap();
                reply.trim().to_string()
            };
            std::thread::sleep(Duration::from_millis(150));
            let cut = ask("partition clients | server");
            let bad = ask("partition clients");
            let unknown = ask("crash database");
            std::thread::sleep(Duration::from_millis(200));
            let status = ask("status");
            let heal = ask("heal live1");
            (cut, bad, unknown, status, heal)
        }
    });
    // 10x real time: 8 s of virtual time take 0.8 s.
    sim.run_until(at_ms(8000));
    let (cut, bad, unknown, status, heal) = client.join().unwrap();
    drop(live);
    assert!(!path.exists(), "the socket is removed on exit");

    let time = |reply: &str| -> SimTime {
        let secs: f64 = reply.strip_prefix("t=").unwrap().split('s').next().unwrap().parse().unwrap();
        SimTime::ZERO + Duration::from_secs_f64(secs)
    };
    assert!(cut.ends_with(" applied: partition client | server as live1"), "{cut}");
    assert_eq!(
        bad,
        "error: column 18: expected '|' and a second group (to cut one group from all others, use isolate), found the end of the line"
    );
    assert!(unknown.starts_with("error: column 7: 'database' matches no node"), "{unknown}");
    assert!(status.contains("status: client=running server=running"), "{status}");
    assert!(heal.ends_with(" applied: heal live1"), "{heal}");
    let (t_cut, t_heal) = (time(&cut), time(&heal));
    assert!(t_heal > t_cut + Duration::from_millis(500), "{t_cut} .. {t_heal}");
    let arrivals = arrivals.borrow();
    let count = |lo: SimTime, hi: SimTime| arrivals.iter().filter(|t| **t > lo && **t <= hi).count();
    assert!(count(SimTime::ZERO, t_cut) > 0, "traffic flowed before the cut");
    assert_eq!(count(t_cut + Duration::from_millis(1), t_heal), 0, "the cut stopped traffic");
    assert!(count(t_heal, at_ms(8000)) > 0, "traffic flows again after the heal");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh directory for one test's socket.
fn socket_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends `line` and reads one reply line.
fn ask(stream: &UnixStream, reader: &mut BufReader<UnixStream>, line: &str) -> String {
    writeln!(&*stream, "{line}").unwrap();
    let mut reply = String::new();
    reader.read_line(&mut reply).unwrap();
    reply.trim_end().to_string()
}

// Pins issue 8's control-channel cases: one idle connection blocked every other client; a
// client that did not read its replies kept the process from exiting; invalid UTF-8 dropped
// the connection; a 10 MB bad line got a 10 MB reply; a partial line at disconnect was
// executed (`crash client` with no newline crashed the client).
#[test]
fn the_control_socket_serves_clients_at_once_and_no_client_can_hold_it() {
    use faultline_faults::LiveLimits;
    use std::io::Read;

    let dir = socket_dir("sessions");
    let path = dir.join("control.sock");
    let (mut sim, _) = mesh(&["client", "server"], Some(10.0), None);
    let resolver = Resolver::new(sim.names());
    let limits = LiveLimits { reply_timeout: Duration::from_millis(300), ..LiveLimits::default() };
    let live = LiveControl::start_with(ControlSource::Unix(path.clone()), sim.control(), resolver, 1, limits).unwrap();

    let client = std::thread::spawn({
        let path = path.clone();
        move || {
            // An idle client connects first and never sends a byte.
            let idle = UnixStream::connect(&path).unwrap();
            // A client that floods bad lines and never reads a reply.
            let flooder = std::thread::spawn({
                let path = path.clone();
                move || {
                    let mut s = UnixStream::connect(&path).unwrap();
                    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
                    let started = std::time::Instant::now();
                    let line = "bogus\n".repeat(1000);
                    let error = loop {
                        if let Err(e) = s.write_all(line.as_bytes()) {
                            break e;
                        }
                    };
                    (error.kind(), started.elapsed())
                }
            });
            // A client that leaves with half a command.
            let mut partial = UnixStream::connect(&path).unwrap();
            partial.write_all(b"crash client").unwrap();
            drop(partial);

            let worker = UnixStream::connect(&path).unwrap();
            let mut reader = BufReader::new(worker.try_clone().unwrap());
            let not_utf8 = {
                (&worker).write_all(b"crash \xff\xfe\n").unwrap();
                let mut r = String::new();
                reader.read_line(&mut r).unwrap();
                r.trim_end().to_string()
            };
            let long = ask(&worker, &mut reader, &"x".repeat(10 << 20));
            std::thread::sleep(Duration::from_millis(200));
            let status = ask(&worker, &mut reader, "status");
            let pause = ask(&worker, &mut reader, "pause server");
            let flooded = flooder.join().unwrap();
            drop(idle);
            (not_utf8, long, status, pause, flooded)
        }
    });
    sim.run_until(at_ms(10_000));
    let (not_utf8, long, status, pause, (flood_error, flood_time)) = client.join().unwrap();

    assert_eq!(not_utf8, "error: the line is not UTF-8 (bad byte at offset 6); discarded");
    assert_eq!(long, "error: line longer than 4096 bytes; discarded up to its newline", "one short error");
    assert!(
        status.contains("status: client=running server=running"),
        "the partial 'crash client' was not run: {status}"
    );
    assert!(pause.ends_with(" applied: pause server"), "served while another client idles: {pause}");
    assert!(
        matches!(flood_error, std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset),
        "the session of a client that does not read is closed: {flood_error:?}"
    );
    assert!(flood_time < Duration::from_secs(5), "{flood_time:?}");

    // A client that connects and never reads nor writes cannot keep live control alive.
    let mut lingering = UnixStream::connect(&path).unwrap();
    let started = std::time::Instant::now();
    drop(live);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(!path.exists(), "the socket is removed");
    let mut rest = Vec::new();
    assert_eq!(lingering.read_to_end(&mut rest).unwrap_or(0), 0, "the session was closed");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Pins issue 8: SIGINT or SIGTERM left the socket file behind, and the next run refused to
// start. Shutdown from another thread (the one that watches signals) removes it.
#[test]
fn shutdown_from_another_thread_removes_the_socket_and_a_missing_directory_is_named() {
    let dir = socket_dir("shutdown");
    let path = dir.join("control.sock");
    let (sim, _) = mesh(&["a"], None, None);
    let live =
        LiveControl::start(ControlSource::Unix(path.clone()), sim.control(), Resolver::new(sim.names()), 1).unwrap();
    // One client more than the limit gets one line saying so, and is closed.
    let limited = faultline_faults::LiveLimits { max_clients: 1, ..faultline_faults::LiveLimits::default() };
    let other = dir.join("limited.sock");
    let one = LiveControl::start_with(
        ControlSource::Unix(other.clone()),
        sim.control(),
        Resolver::new(sim.names()),
        1,
        limited,
    )
    .unwrap();
    let first = UnixStream::connect(&other).unwrap();
    let mut first_reader = BufReader::new(first.try_clone().unwrap());
    assert!(ask(&first, &mut first_reader, "bogus").starts_with("error: column 1: unknown command"), "in session");
    let mut second = BufReader::new(UnixStream::connect(&other).unwrap());
    let mut refused = String::new();
    second.read_line(&mut refused).unwrap();
    assert_eq!(refused, "error: 1 control clients are connected already (the limit)\n");
    drop(one);
    let handle = live.shutdown_handle();
    std::thread::spawn(move || handle.shutdown()).join().unwrap();
    assert!(!path.exists(), "removed at shutdown, before the drop");
    live.shutdown();
    drop(live);
    // The path is free again for the next run.
    let again =
        LiveControl::start(ControlSource::Unix(path.clone()), sim.control(), Resolver::new(sim.names()), 1).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    drop(again);
    // Drop removes only its own socket: a file put there since is left alone.
    std::fs::write(&path, "not ours").unwrap();
    let e = LiveControl::start(ControlSource::Unix(path.clone()), sim.control(), Resolver::new(sim.names()), 1)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        format!("unix:{}: a file is already there; remove it or choose another path", path.display())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not ours");

    let missing = std::path::Path::new("/nonexistent/dir/x.sock");
    let e = LiveControl::start(ControlSource::Unix(missing.into()), sim.control(), Resolver::new(sim.names()), 1)
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("unix:/nonexistent/dir/x.sock: "), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Pins issue 8: refused commands in a script (`restart server` on a running node, `heal
// nosuchlabel`) went unreported. The refusal log pairs them with their script lines.
#[test]
fn refused_script_commands_are_reported_with_their_lines() {
    let log = faultline_faults::RefusalLog::new();
    let mut b = Sim::<u32>::builder(5).trace(log.output());
    for name in ["client", "server"] {
        b = b.node(name, || {
            FnNode(|ctx: Context<u32>| async move {
                ctx.recv().await;
            })
        });
    }
    let mut sim = b.build().unwrap();
    let script = parse_script("at 1s crash client\nat 2s restart server\nat 12300ms heal nosuchlabel\n").unwrap();
    let timeline = compile(&script, &Resolver::new(sim.names()), 1, at_ms(20_000)).unwrap();
    timeline.install(&sim).unwrap();
    sim.control().submit(faultline::Command::Restart(sim.node_id("server").unwrap())).unwrap();
    sim.run_until(at_ms(20_000));
    let refusals = log.refusals();
    assert_eq!(refusals.len(), 3, "two from the script, one sent directly: {refusals:?}");
    let lines: Vec<String> = timeline.refused(sim.names(), &refusals).iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "fault script line 2: refused at 2 s: restart server: cannot restart server: it is running",
            "fault script line 3: refused at 12.3 s: heal nosuchlabel: no partition labelled 'nosuchlabel' is in force",
        ]
    );
}
