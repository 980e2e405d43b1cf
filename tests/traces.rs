//! Traces as tools read them: Chrome trace-event JSON checked by the format's own rules on a
//! run with a partition, a crash and a restart; JSON lines with one line per command, phase and
//! verdict; drops with their reason; files whole or not at all; readable text and filters.

use std::time::Duration;

use faultline::trace::DropReason;
use faultline::{BuildError, Command, Context, FnNode, Sim, SimTime, TraceBuffer, TraceFormat, TraceOutput, TraceSink};
use serde_json::Value;
use tracing::Instrument;

fn at(ms: u64) -> SimTime {
    SimTime::ZERO + Duration::from_millis(ms)
}

/// "a" pings "b" every 250 ms inside a span; "b" answers.
fn ping(outputs: Vec<TraceOutput>) -> Sim<u8> {
    let mut b = Sim::<u8>::builder(1)
        .default_link(faultline::LinkConfig::constant(Duration::from_micros(1500)))
        .metrics_window(Duration::from_millis(500))
        .node("a", || {
            FnNode(|ctx: Context<u8>| async move {
                let peer = ctx.node_id("b").unwrap();
                for i in 0..8u8 {
                    let start = ctx.now();
                    let span = tracing::info_span!("request", i);
                    let _enter = span.enter();
                    ctx.send(peer, &i);
                    tracing::info!(i, "sent");
                    drop(_enter);
                    if ctx.recv_timeout(Duration::from_millis(100)).await.is_some() {
                        ctx.record_duration("rtt", ctx.now() - start);
                    }
                    ctx.count("requests", 1);
                    ctx.gauge("in_flight", i64::from(i));
                    ctx.sleep(Duration::from_millis(250)).await;
                }
            })
        })
        .node("b", || {
            FnNode(|ctx: Context<u8>| async move {
                loop {
                    let m = ctx.recv().await;
                    ctx.send(m.from, &m.msg);
                }
            })
        });
    for o in outputs {
        b = b.trace(o);
    }
    b.build().unwrap()
}

#[test]
fn chrome_trace_has_a_track_per_node_and_commands_as_instants() {
    let buf = TraceBuffer::default();
    let mut sim = ping(vec![TraceOutput::new(TraceFormat::Chrome, TraceSink::Memory(buf.clone())).filtered("info")]);
    let b = sim.node_id("b").unwrap();
    sim.schedule(at(1000), Command::Pause(b)).unwrap();
    sim.schedule(at(1300), Command::Resume(b)).unwrap();
    sim.run();
    sim.finish().unwrap();
    let trace: Value = serde_json::from_slice(&buf.contents()).expect("valid JSON object");
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let process = |pid: u64| {
        events
            .iter()
            .find(|e| e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == pid)
            .map(|e| e["args"]["name"].clone())
    };
    assert_eq!(process(1), Some(Value::from("sim")));
    assert_eq!(process(2), Some(Value::from("a")));
    assert_eq!(process(3), Some(Value::from("b")));
    let control: Vec<&Value> = events.iter().filter(|e| e["cat"] == "faultline::control").collect();
    assert_eq!(control.len(), 2);
    assert_eq!(control[0]["ph"], "i");
    assert_eq!(control[0]["s"], "g");
    assert_eq!(control[0]["pid"], 1, "commands are on the sim track");
    assert_eq!(control[0]["name"], "applied: pause b");
    assert_eq!(control[0]["ts"].as_f64(), Some(1_000_000.0), "virtual microseconds");
    let sent: Vec<&Value> = events.iter().filter(|e| e["name"] == "sent").collect();
    assert_eq!(sent.len(), 8);
    assert!(sent.iter().all(|e| e["pid"] == 2), "a's events on a's track");
    let spans: Vec<&Value> = events.iter().filter(|e| e["name"] == "request").collect();
    assert_eq!(spans.len(), 16, "each request span begins and ends");
    let ids: Vec<u64> = spans.iter().filter(|e| e["ph"] == "b").map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>(), "small integer ids, in the order slices begin");
    check_trace_event_format(&trace);
}

#[test]
fn json_lines_and_text_carry_virtual_time_and_node() {
    let (json, text) = (TraceBuffer::default(), TraceBuffer::default());
    let mut sim = ping(vec![
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(json.clone())).filtered("info"),
        TraceOutput::new(TraceFormat::Text, TraceSink::Memory(text.clone())).filtered("info"),
    ]);
    sim.run();
    sim.finish().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(json.contents()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 8);
    // The second request: a 3 ms round trip and a 250 ms pause after the first.
    assert_eq!(lines[1]["t"], "0.253000000");
    assert_eq!(lines[1]["ns"], 253_000_000);
    assert_eq!(lines[1]["node"], "a");
    assert_eq!(lines[1]["fields"]["i"], 1);
    let text = String::from_utf8(text.contents()).unwrap();
    assert_eq!(text.lines().nth(1), Some("t=0.253000000s a INFO traces: sent i=1"));
}

#[test]
fn the_filter_selects_what_is_traced_and_a_bad_one_is_refused() {
    let buf = TraceBuffer::default();
    let mut sim = ping(vec![TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered("warn")]);
    sim.run();
    sim.finish().unwrap();
    assert!(buf.contents().is_empty(), "no warnings in this run");

    let bad = TraceOutput::new(TraceFormat::Text, TraceSink::Stderr).filtered("faultline=loud");
    let err = Sim::<u8>::builder(1).trace(bad).build().err().unwrap();
    assert!(matches!(err, BuildError::Trace(_)));
    assert!(err.to_string().starts_with("invalid trace filter 'faultline=loud'"), "{err}");
}

/// Reads a Chrome trace by the trace-event format's own rules and panics, naming the event,
/// at the first one broken:
/// - the top level is an object with a `traceEvents` array (and `displayTimeUnit` ms or ns);
/// - every event has a known phase, an integer `pid` and `tid`, and (except metadata) a `ts`;
/// - `B` and `E` nest: an `E` closes the `B` on top of its pid/tid's stack, and none is left open;
/// - async `b` and `e` pair by (cat, id, scope), an `e` ends an open `b` of the same name, and
///   none is left open; ids are integers below 2^53, so that no two collide as doubles;
/// - `M` metadata names every process and every thread that an event uses;
/// - timestamps never go back on a track (pid, tid);
/// - instant events have a scope: `g`, `p` or `t`.
///
/// Returns the number of events checked, so that a caller can see that there was something.
fn check_trace_event_format(trace: &Value) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let obj = trace.as_object().expect("top level is an object, not a bare array");
    if let Some(unit) = obj.get("displayTimeUnit") {
        assert!(unit == "ms" || unit == "ns", "displayTimeUnit {unit}");
    }
    let events = obj.get("traceEvents").and_then(Value::as_array).expect("traceEvents is an array");
    let (mut processes, mut threads) = (BTreeSet::new(), BTreeSet::new());
    let (mut used_pids, mut used_tracks) = (BTreeSet::new(), BTreeSet::new());
    let mut stacks: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    let mut open_async: BTreeMap<(String, u64, String), String> = BTreeMap::new();
    let mut last_ts: BTreeMap<(u64, u64), f64> = BTreeMap::new();
    for (n, e) in events.iter().enumerate() {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("event {n} has no ph: {e}"));
        let pid = e["pid"].as_u64().unwrap_or_else(|| panic!("event {n}: pid is not an integer: {e}"));
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("event {n}: tid is not an integer: {e}"));
        let name = e["name"].as_str().unwrap_or("").to_string();
        if ph == "M" {
            let named = e["args"]["name"].as_str().is_some_and(|s| !s.is_empty());
            match name.as_str() {
                "process_name" if named => drop(processes.insert(pid)),
                "thread_name" if named => drop(threads.insert((pid, tid))),
                "process_name" | "thread_name" => panic!("event {n}: a name without args.name: {e}"),
                _ => {}
            }
            continue;
        }
        assert!(["B", "E", "X", "i", "I", "b", "e", "n", "C"].contains(&ph), "event {n}: phase {ph}");
        used_pids.insert(pid);
        used_tracks.insert((pid, tid));
        let ts = e["ts"].as_f64().unwrap_or_else(|| panic!("event {n} has no numeric ts: {e}"));
        let last = last_ts.entry((pid, tid)).or_insert(f64::MIN);
        assert!(ts >= *last, "event {n}: ts {ts} goes back from {last} on track {pid}/{tid}: {e}");
        *last = ts;
        match ph {
            "B" => stacks.entry((pid, tid)).or_default().push(name),
            "E" => {
                let top = stacks.entry((pid, tid)).or_default().pop();
                let top = top.unwrap_or_else(|| panic!("event {n}: E with no open B on {pid}/{tid}: {e}"));
                assert!(name.is_empty() || name == top, "event {n}: E '{name}' closes B '{top}'");
            }
            "b" | "e" | "n" => {
                let id = &e["id"];
                let id = id.as_u64().unwrap_or_else(|| panic!("event {n}: async id is not an integer: {e}"));
                assert!(id < 1 << 53, "event {n}: id {id} is not below 2^53");
                let cat = e["cat"].as_str().unwrap_or("").to_string();
                let key = (cat, id, e["scope"].as_str().unwrap_or("").to_string());
                match ph {
                    "b" => assert!(open_async.insert(key, name).is_none(), "event {n}: id begun twice: {e}"),
                    "e" => {
                        let began = open_async.remove(&key);
                        let began = began.unwrap_or_else(|| panic!("event {n}: e without its b: {e}"));
                        assert_eq!(began, name, "event {n}: e ends a slice of another name");
                    }
                    _ => assert!(open_async.contains_key(&key), "event {n}: n outside its slice"),
                }
            }
            "i" | "I" => {
                let s = e["s"].as_str().unwrap_or_else(|| panic!("event {n}: instant without a scope: {e}"));
                assert!(["g", "p", "t"].contains(&s), "event {n}: scope {s}");
            }
            _ => {}
        }
    }
    assert!(stacks.values().all(Vec::is_empty), "B slices never ended: {stacks:?}");
    assert!(open_async.is_empty(), "async slices never ended: {open_async:?}");
    assert!(used_pids.is_subset(&processes), "unnamed processes: {:?}", used_pids.difference(&processes));
    assert!(used_tracks.is_subset(&threads), "unnamed threads: {:?}", used_tracks.difference(&threads));
    events.len()
}

/// The validator itself refuses what tools misread: a bare array, an unclosed slice, an id
/// above 2^53, an unnamed track, time going back, an instant without a scope.
#[test]
fn the_format_check_refuses_broken_traces() {
    let named = r#"{"ph":"M","name":"process_name","pid":1,"tid":1,"args":{"name":"p"}},
        {"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"t"}}"#;
    let doc =
        |events: &str| -> Value { serde_json::from_str(&format!("{{\"traceEvents\":[{named}{events}]}}")).unwrap() };
    let refused = |trace: Value| std::panic::catch_unwind(|| check_trace_event_format(&trace)).is_err();
    let good = doc(r#",{"ph":"b","cat":"c","name":"s","id":1,"pid":1,"tid":1,"ts":1},
        {"ph":"e","cat":"c","name":"s","id":1,"pid":1,"tid":1,"ts":2}"#);
    assert_eq!(check_trace_event_format(&good), 4);
    assert!(refused(serde_json::from_str("[]").unwrap()), "bare array");
    assert!(refused(doc(r#",{"ph":"b","cat":"c","name":"s","id":1,"pid":1,"tid":1,"ts":1}"#)), "unclosed");
    assert!(refused(doc(r#",{"ph":"B","name":"s","pid":1,"tid":1,"ts":1}"#)), "unclosed B");
    assert!(
        refused(doc(r#",{"ph":"b","cat":"c","name":"s","id":9007199254740993,"pid":1,"tid":1,"ts":1},
            {"ph":"e","cat":"c","name":"s","id":9007199254740993,"pid":1,"tid":1,"ts":2}"#)),
        "id above 2^53"
    );
    assert!(refused(doc(r#",{"ph":"i","s":"g","name":"x","pid":2,"tid":1,"ts":1}"#)), "unnamed process");
    assert!(refused(doc(r#",{"ph":"i","name":"x","pid":1,"tid":1,"ts":1}"#)), "no scope");
    assert!(
        refused(doc(
            r#",{"ph":"i","s":"t","name":"x","pid":1,"tid":1,"ts":5},{"ph":"i","s":"t","name":"x","pid":1,"tid":1,"ts":4}"#
        )),
        "time going back"
    );
    assert!(
        refused(doc(r#",{"ph":"B","name":"a","pid":1,"tid":1,"ts":1},{"ph":"B","name":"b","pid":1,"tid":1,"ts":2},
            {"ph":"E","name":"a","pid":1,"tid":1,"ts":3},{"ph":"E","name":"b","pid":1,"tid":1,"ts":4}"#)),
        "B/E out of stack order"
    );
}

/// A client sends requests to two servers, each request an async slice held open across the
/// wait for its answer; each server handles one message in a slice and holds a `serve` slice for
/// its whole life. A partition cuts the client from s1, s2 crashes (its slices end then) and
/// restarts, and the run ends with slices still open, which the trace closes and marks.
fn faulty_run(outputs: Vec<TraceOutput>) -> Sim<u32> {
    let client = || {
        FnNode(|ctx: Context<u32>| async move {
            let servers = [ctx.node_id("s1").unwrap(), ctx.node_id("s2").unwrap()];
            for i in 0..40u32 {
                let to = servers[i as usize % 2];
                let request = async {
                    ctx.send(to, &i);
                    tracing::info!(i, "sent");
                    ctx.recv_timeout(Duration::from_millis(30)).await.is_some()
                };
                let answered = request.instrument(tracing::info_span!("request", i)).await;
                if !answered {
                    tracing::info!(i, "timed out");
                }
                ctx.sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let server = || {
        FnNode(|ctx: Context<u32>| async move {
            let life = tracing::info_span!("serve", incarnation = ctx.incarnation());
            async {
                loop {
                    let m = ctx.recv().await;
                    let work = async {
                        ctx.sleep(Duration::from_millis(5)).await;
                        ctx.send(m.from, &m.msg);
                    };
                    work.instrument(tracing::info_span!("handle", i = m.msg)).await;
                }
            }
            .instrument(life)
            .await;
        })
    };
    let mut b = Sim::<u32>::builder(7)
        .default_link(faultline::LinkConfig::constant(Duration::from_millis(1)))
        .node("client", client)
        .node("s1", server)
        .node("s2", server);
    for o in outputs {
        b = b.trace(o);
    }
    let sim = b.build().unwrap();
    let [c, s1, s2] = ["client", "s1", "s2"].map(|n| sim.node_id(n).unwrap());
    sim.schedule(at(200), Command::partition(vec![vec![c], vec![s1]])).unwrap();
    sim.schedule(at(400), Command::heal()).unwrap();
    sim.schedule(at(502), Command::Crash(s2)).unwrap();
    sim.schedule(at(503), Command::Crash(s2)).unwrap(); // refused: already crashed
    sim.schedule(at(600), Command::Restart(s2)).unwrap();
    sim
}

#[test]
fn chrome_trace_of_a_partition_a_crash_and_a_restart_reads_right() {
    let buf = TraceBuffer::default();
    let mut sim =
        faulty_run(vec![TraceOutput::new(TraceFormat::Chrome, TraceSink::Memory(buf.clone())).filtered("info")]);
    sim.run_until(at(700));
    let traces = sim.traces();
    traces.phase("after", "heal at 0.4s");
    traces.verdict("recovered", "answers again 0.1 s after the heal");
    sim.finish().unwrap();
    traces.finish().unwrap(); // idempotent
    let trace: Value = serde_json::from_slice(&buf.contents()).expect("valid JSON");
    assert!(check_trace_event_format(&trace) > 100);
    let events = trace["traceEvents"].as_array().unwrap();
    let names: Vec<&str> =
        events.iter().filter(|e| e["pid"] == 1 && e["ph"] == "i").filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "applied: partition client | s1",
            "applied: heal",
            "applied: crash s2",
            "refused: crash s2",
            "applied: restart s2",
            "phase: after",
            "verdict: recovered"
        ],
        "commands, phases and verdicts as instants on the sim track"
    );
    // s2 (pid 4) served in two lives: the first life's slice ends at the crash, not unfinished.
    let serve: Vec<&Value> = events.iter().filter(|e| e["name"] == "serve" && e["pid"] == 4).collect();
    assert_eq!(serve.iter().map(|e| e["ph"].as_str().unwrap()).collect::<Vec<_>>(), ["b", "e", "b", "e"]);
    // The crash (502 ms) ends the first life's slice when the kernel drops s2's cancelled task,
    // which it does the next time that task is woken (here 1 ms later), and before the restart.
    let ended = serve[1]["ts"].as_f64().unwrap();
    assert!((502_000.0..600_000.0).contains(&ended), "ended by the crash, at {ended}");
    assert_eq!(serve[1].get("args"), None);
    assert_eq!(serve[3]["ts"].as_f64(), Some(700_000.0), "closed at the end of the run");
    assert_eq!(serve[3]["args"]["unfinished"], true);
    // Each server's slices are on its own track.
    for (pid, server) in [(3, "s1"), (4, "s2")] {
        let handles = events.iter().filter(|e| e["name"] == "handle" && e["pid"] == pid).count();
        assert!(handles > 10, "{server} handled requests on its own track ({handles} events)");
    }
    // Requests sent to s1 during the partition time out: their slices end 30 ms after they begin.
    let timed_out = events.iter().filter(|e| e["name"] == "timed out" && e["pid"] == 2).count();
    assert!(timed_out >= 4, "{timed_out}");
}

#[test]
fn json_lines_at_info_have_one_line_per_command_phase_and_verdict() {
    let buf = TraceBuffer::default();
    // Only the core's targets, so that node events do not count.
    let filter = "faultline=info";
    let mut sim =
        faulty_run(vec![TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered(filter)]);
    sim.run_until(at(100));
    sim.traces().phase("during", "fault script");
    sim.run_until(at(700));
    let traces = sim.traces();
    traces.verdict("recovered", "answers again");
    sim.finish().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(buf.contents()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let brief: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let f = &l["fields"];
            let what = f["command"].as_str().or(f["phase"].as_str()).or(f["verdict"].as_str()).unwrap_or("");
            (l["target"].as_str().unwrap().into(), l["message"].as_str().unwrap().into(), what.into())
        })
        .collect();
    let row = |t: &str, m: &str, w: &str| (t.to_string(), m.to_string(), w.to_string());
    assert_eq!(
        brief,
        [
            row("faultline::phase", "phase", "during"),
            row("faultline::control", "applied", "partition client | s1"),
            row("faultline::control", "applied", "heal"),
            row("faultline::control", "applied", "crash s2"),
            row("faultline::control", "refused", "crash s2"),
            row("faultline::control", "applied", "restart s2"),
            row("faultline::verdict", "verdict", "recovered"),
        ]
    );
    assert_eq!(lines[0]["ns"], 100_000_000);
    assert_eq!(lines[0]["fields"]["trigger"], "fault script");
    assert_eq!(lines[4]["level"], "WARN");
    assert_eq!(lines[6]["ns"], 700_000_000, "the verdict at the end of the run");
}

/// Drops are debug events on `faultline::drop`, with their reason and the node names: absent
/// at the default level, one line each at debug.
#[test]
fn drop_events_carry_their_reason_at_debug() {
    let (debug, info) = (TraceBuffer::default(), TraceBuffer::default());
    let out = |buf: &TraceBuffer, filter| {
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered(filter)
    };
    let mut sim = Sim::<u8>::builder(1)
        .node("a", || FnNode(|_: Context<u8>| async {}))
        .node("b", || {
            FnNode(|ctx: Context<u8>| async move {
                let a = ctx.node_id("a").unwrap();
                faultline::trace::dropped(DropReason::Loss, a, ctx.id(), 3);
                faultline::trace::dropped(DropReason::Misaddressed, ctx.id(), faultline::NodeId::from_index(9), 1);
            })
        })
        .trace(out(&debug, "debug"))
        .trace(out(&info, "info"))
        .build()
        .unwrap();
    sim.run();
    sim.finish().unwrap();
    assert!(info.contents().is_empty(), "no drops at the default level");
    let text = String::from_utf8(debug.contents()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        (&lines[0]["level"], &lines[0]["target"], &lines[0]["node"]),
        (&"DEBUG".into(), &"faultline::drop".into(), &"b".into())
    );
    assert_eq!(lines[0]["fields"], serde_json::json!({"reason": "loss", "from": "a", "to": "b", "bytes": 3}));
    assert_eq!(lines[1]["fields"]["reason"], "misaddressed");
    assert_eq!(lines[1]["fields"]["to"], 9, "an index that is no node stays a number");
}

/// A trace file appears whole when the trace finishes, and not at all before: it is written as
/// `NAME.partial` and renamed.
#[test]
fn a_trace_file_is_written_whole_or_not_at_all() {
    let dir = std::env::temp_dir().join(format!("faultline-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.trace.json");
    let partial = dir.join("run.trace.json.partial");
    let out = || TraceOutput::new(TraceFormat::Chrome, TraceSink::File(path.clone())).filtered("info");

    // Dropped without finishing (a run that died): nothing is left behind.
    let mut sim = faulty_run(vec![out()]);
    sim.run_until(at(300));
    assert!(partial.exists() && !path.exists(), "written under the partial name while it runs");
    drop(sim);
    assert!(!partial.exists() && !path.exists(), "an unfinished trace leaves no file");

    // Interrupted: finished from the handle (as a SIGINT handler would), then the run goes on
    // and nothing more is written.
    let mut sim = faulty_run(vec![out()]);
    sim.run_until(at(300));
    let traces = sim.traces();
    std::thread::spawn(move || traces.finish()).join().unwrap().unwrap();
    assert!(path.exists() && !partial.exists());
    let first = std::fs::read(&path).unwrap();
    sim.run_until(at(700));
    sim.finish().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first, "nothing after finish");
    let trace: Value = serde_json::from_slice(&first).unwrap();
    check_trace_event_format(&trace);
    let unfinished = trace["traceEvents"].as_array().unwrap().iter().filter(|e| e["args"]["unfinished"] == true);
    let unfinished: Vec<&str> = unfinished.map(|e| e["name"].as_str().unwrap()).collect();
    assert!(unfinished.iter().filter(|n| **n == "serve").count() == 2, "each server's life: {unfinished:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Counts the drop lines of a JSON-lines trace by reason.
fn drops_by_reason(buf: &TraceBuffer) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in String::from_utf8(buf.contents()).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!((&v["target"], &v["level"]), (&"faultline::drop".into(), &"DEBUG".into()), "{line}");
        *counts.entry(v["fields"]["reason"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    counts
}

/// Every way the core loses a message is one debug line on `faultline::drop` with its reason,
/// and the lines agree with the counters of the mechanism that dropped it: a lossy link, a
/// partition, a node paused then crashed with messages waiting in its inbox, messages sent to
/// it while it is down, and one sent to no node.
#[test]
fn every_drop_is_traced_with_its_reason_and_agrees_with_the_counters() {
    let buf = TraceBuffer::default();
    let lossy = faultline::LinkConfig { loss: 0.3, ..faultline::LinkConfig::constant(Duration::from_millis(1)) };
    let sink = |ctx: Context<u32>| async move {
        let name = format!("got_{}", ctx.name());
        loop {
            ctx.recv().await;
            ctx.count(&name, 1);
        }
    };
    let mut sim = Sim::<u32>::builder(3)
        .default_link(lossy)
        .node("a", || {
            FnNode(|ctx: Context<u32>| async move {
                let (b, c) = (ctx.node_id("b").unwrap(), ctx.node_id("c").unwrap());
                for i in 0..200u32 {
                    ctx.send(b, &i);
                    ctx.send(c, &i);
                    ctx.sleep(Duration::from_millis(10)).await;
                }
                ctx.send(faultline::NodeId::from_index(9), &0);
            })
        })
        .node("b", move || FnNode(sink))
        .node("c", move || FnNode(sink))
        .trace(
            TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered("faultline::drop=debug"),
        )
        .build()
        .unwrap();
    let [a, b, c] = ["a", "b", "c"].map(|n| sim.node_id(n).unwrap());
    sim.schedule(at(500), Command::partition(vec![vec![a], vec![b]])).unwrap();
    sim.schedule(at(800), Command::heal()).unwrap();
    sim.schedule(at(1000), Command::Pause(c)).unwrap();
    sim.schedule(at(1100), Command::Crash(c)).unwrap();
    sim.run();
    let report = sim.finish().unwrap();
    let drops = drops_by_reason(&buf);
    let link = |f, t| report.net.link(f, t).unwrap();
    let lost = report.net.total().lost;
    // The partition cuts a from b, and from c too (c, unnamed, is a third group).
    let cut = report.net.total().cut;
    let got = report.metrics.metric("got_c").map_or(0, |m| m.total() as u64);
    let undeliverable = report.nodes[c.index()].undeliverable;
    // What reached c's node: read, still waiting when it crashed, or arriving while it was down.
    let in_inbox_at_crash = link(a, c).delivered - got - undeliverable;
    assert!(
        lost > 50 && link(a, b).cut > 10 && link(a, c).cut > 10 && undeliverable > 50 && in_inbox_at_crash > 3,
        "{drops:?}"
    );
    let expected: std::collections::BTreeMap<String, u64> = [
        ("loss", lost),
        ("partition", cut),
        ("crashed-inbox", in_inbox_at_crash),
        ("undeliverable", undeliverable),
        ("misaddressed", report.engine.misaddressed),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(drops, expected);
    assert_eq!(report.engine.misaddressed, 1);
}

/// A send past `max_in_flight` is dropped (and stops the run), one line each.
#[test]
fn sends_past_the_in_flight_limit_are_traced_as_drops() {
    let buf = TraceBuffer::default();
    let limits = faultline::Limits { max_in_flight: 5, ..faultline::Limits::default() };
    let mut sim = Sim::<u32>::builder(1)
        .limits(limits)
        .node("a", || {
            FnNode(|ctx: Context<u32>| async move {
                let b = ctx.node_id("b").unwrap();
                for i in 0..12u32 {
                    ctx.send(b, &i);
                }
            })
        })
        .node("b", || {
            FnNode(|ctx: Context<u32>| async move { while ctx.recv_timeout(Duration::from_secs(1)).await.is_some() {} })
        })
        .trace(
            TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered("faultline::drop=debug"),
        )
        .build()
        .unwrap();
    let outcome = sim.run();
    sim.finish().unwrap();
    assert!(matches!(outcome, faultline::RunOutcome::Limit(_)), "{outcome:?}");
    let drops = drops_by_reason(&buf);
    // Five queued; the seven after them found the queue full.
    assert_eq!(drops.get("in-flight-limit"), Some(&7), "{drops:?}");
}

/// The metastable server's own drops, at debug: requests past their deadline and requests
/// shed from a full queue, as many lines as its counters count.
#[test]
fn the_metastable_server_traces_its_deadline_and_shedding_drops() {
    use faultline_nodes::metastable::{Client, DeadlinePolicy, Msg, Server, metric};
    let params = faultline_scenarios::metastable::Params {
        duration: Duration::from_secs(60),
        deadline: DeadlinePolicy::Expired,
        queue_limit: Some(400),
        ..faultline_scenarios::metastable::Params::default()
    };
    let buf = TraceBuffer::default();
    let mut b = Sim::<Msg>::builder(1).default_link(faultline::LinkConfig::constant(params.link_latency)).trace(
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(buf.clone())).filtered("faultline::drop=debug"),
    );
    let server = params.server();
    b = b.node("server", move || Server::new(server.clone()));
    for i in 0..params.clients {
        let client = params.client();
        b = b.node(&format!("client-{i}"), move || Client::new(client.clone()));
    }
    let mut sim = b.build().unwrap();
    sim.run_until(SimTime::ZERO + params.duration);
    let report = sim.finish().unwrap();
    let total = |name: &str| report.metrics.metric(name).map_or(0, |m| m.total() as u64);
    let drops = drops_by_reason(&buf);
    let deadline = total(metric::EXPIRED.name()) + total(metric::UNFINISHABLE.name());
    let shed = total(metric::REJECTED.name()) + total(metric::SHED_OLDEST.name());
    assert!(deadline > 100 && shed > 100, "the spike overloads the server: {deadline} {shed}");
    assert_eq!(drops.get("deadline"), Some(&deadline));
    assert_eq!(drops.get("shed"), Some(&shed));
}

/// A default metastable run, traced as its binary traces it: the JSON lines at the default
/// level are its two phase changes and its verdict (not an empty file); the Chrome trace reads
/// right by the format's rules, the server's work is on the server's track (one slice per
/// request served, plus those still in service at the end, marked unfinished), each client's
/// requests on its own track, and the phases and verdict on the `sim` track at their instants.
#[test]
fn a_default_metastable_run_traces_its_phases_verdict_and_the_servers_work() {
    let dir = std::env::temp_dir().join(format!("faultline-metastable-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, chrome) = (dir.join("run.jsonl"), dir.join("run.trace.json"));
    let params = faultline_scenarios::metastable::Params {
        duration: Duration::from_secs(60),
        ..faultline_scenarios::metastable::Params::default()
    };
    let traces =
        faultline_scenarios::cli::TraceArgs { trace_json: Some(json.clone()), trace_chrome: Some(chrome.clone()) };
    let (summary, _) =
        faultline_scenarios::metastable::run(&params, &faultline_scenarios::cli::FaultArgs::default(), &traces)
            .unwrap();
    let spike = params.spike_start.as_nanos() as u64;
    let spike_end = (params.spike_start + params.spike_duration).as_nanos() as u64;

    let lines: Vec<Value> =
        std::fs::read_to_string(&json).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let brief: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            let f = &l["fields"];
            (
                l["target"].as_str().unwrap(),
                f["phase"].as_str().or(f["verdict"].as_str()).unwrap(),
                l["ns"].as_u64().unwrap(),
            )
        })
        .collect();
    let word = if summary.recovered == Some(true) { "recovered" } else { "stays-down" };
    assert_eq!(
        brief,
        [
            ("faultline::phase", "during", spike),
            ("faultline::phase", "after", spike_end),
            ("faultline::verdict", word, 60_000_000_000),
        ]
    );
    assert_eq!(lines[2]["fields"]["detail"], summary.verdict.as_str());

    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&chrome).unwrap()).unwrap();
    assert!(check_trace_event_format(&trace) > 10_000);
    let events = trace["traceEvents"].as_array().unwrap();
    let pid_of = |name: &str| {
        events
            .iter()
            .find(|e| e["name"] == "process_name" && e["args"]["name"] == name)
            .map(|e| e["pid"].as_u64().unwrap())
    };
    let server = pid_of("server").unwrap();
    let on = |pid: u64, name: &str, ph: &str| {
        events.iter().filter(move |e| e["pid"] == pid && e["name"] == name && e["ph"] == ph).collect::<Vec<_>>()
    };
    let (begun, ended) = (on(server, "serve", "b"), on(server, "serve", "e"));
    let unfinished = ended.iter().filter(|e| e["args"]["unfinished"] == true).count() as u64;
    assert_eq!(begun.len(), ended.len());
    assert_eq!(
        begun.len() as u64,
        summary.totals.served + unfinished,
        "a slice per request served, and those in service"
    );
    assert!(unfinished > 0 && unfinished <= params.capacity as u64, "{unfinished} in service at the end");
    assert!(on(server, "request", "b").is_empty(), "no client work on the server's track");
    let mut requests = 0;
    for i in 0..params.clients {
        let pid = pid_of(&format!("client-{i}")).unwrap();
        let mine = on(pid, "request", "b");
        assert!(!mine.is_empty(), "client-{i} has its requests on its own track");
        assert!(on(pid, "serve", "b").is_empty());
        requests += mine.len() as u64;
    }
    assert_eq!(requests, summary.totals.counts.offered, "one slice per request offered");
    // Every slice lies within the run.
    assert!(events.iter().filter(|e| e["ph"] == "b" || e["ph"] == "e").all(|e| e["ts"].as_f64().unwrap() <= 60e6));
    let sim: Vec<(&str, f64)> = events
        .iter()
        .filter(|e| e["pid"] == 1 && e["ph"] == "i")
        .map(|e| (e["name"].as_str().unwrap(), e["ts"].as_f64().unwrap()))
        .collect();
    let verdict = format!("verdict: {word}");
    assert_eq!(
        sim,
        [("phase: during", spike as f64 / 1e3), ("phase: after", spike_end as f64 / 1e3), (verdict.as_str(), 60e6)]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Phases scheduled ahead are written at their instants by the writers whose filter takes
/// them; a hold keeps the trace open past `Sim::finish` for the verdict, and the slices still
/// open are closed by the finish, marked unfinished.
#[test]
fn phases_come_at_their_instants_and_a_hold_keeps_the_trace_open_for_the_verdict() {
    let (chrome, json, quiet) = (TraceBuffer::default(), TraceBuffer::default(), TraceBuffer::default());
    let mut sim = faulty_run(vec![
        TraceOutput::new(TraceFormat::Chrome, TraceSink::Memory(chrome.clone())).filtered("info"),
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(json.clone())).filtered("faultline=info"),
        TraceOutput::new(TraceFormat::JsonLines, TraceSink::Memory(quiet.clone())).filtered("faultline::control=info"),
    ]);
    let traces = sim.traces();
    let hold = traces.hold();
    traces.phase_at(at(450), "after", "heal");
    traces.phase_at(at(150), "during", "partition");
    traces.phase_at(at(5000), "never", "past the end of the run");
    sim.run_until(at(700));
    sim.finish().unwrap();
    assert!(!String::from_utf8(chrome.contents()).unwrap().ends_with("]}\n"), "held open");
    traces.verdict("recovered", "answers again");
    hold.release().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(json.contents()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let brief: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            let f = &l["fields"];
            let what = f["command"].as_str().or(f["phase"].as_str()).or(f["verdict"].as_str()).unwrap();
            (what.to_string(), l["ns"].as_u64().unwrap() / 1_000_000)
        })
        .collect();
    let row = |w: &str, ms: u64| (w.to_string(), ms);
    assert_eq!(
        brief,
        [
            row("during", 150),
            row("partition client | s1", 200),
            row("heal", 400),
            row("after", 450),
            row("crash s2", 502),
            row("crash s2", 503),
            row("restart s2", 600),
            row("recovered", 700)
        ]
    );
    assert_eq!(lines[0]["node"], "sim");
    let quiet = String::from_utf8(quiet.contents()).unwrap();
    assert!(!quiet.contains("phase") && !quiet.contains("verdict") && quiet.lines().count() == 5, "{quiet}");
    let trace: Value = serde_json::from_slice(&chrome.contents()).unwrap();
    check_trace_event_format(&trace);
    let events = trace["traceEvents"].as_array().unwrap();
    let unfinished: Vec<&str> =
        events.iter().filter(|e| e["args"]["unfinished"] == true).map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(unfinished.iter().filter(|n| **n == "serve").count(), 2, "{unfinished:?}");
    assert!(events.iter().all(|e| e["ts"].as_f64().is_none_or(|t| t <= 700_000.0)), "nothing after the end");
}
