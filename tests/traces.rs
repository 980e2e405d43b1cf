//! Traces as tools read them: Chrome trace-event JSON with a track per node and commands as
//! instant events, JSON lines with virtual time, readable text, and filters.

use std::time::Duration;

use faultline::{BuildError, Command, Context, FnNode, Sim, SimTime, TraceBuffer, TraceFormat, TraceOutput, TraceSink};
use serde_json::Value;

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
    let events: Vec<Value> = serde_json::from_slice(&buf.contents()).expect("valid JSON array");
    let thread = |tid: u64| {
        events
            .iter()
            .find(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == tid)
            .map(|e| e["args"]["name"].clone())
    };
    assert_eq!(thread(1), Some(Value::from("a")));
    assert_eq!(thread(2), Some(Value::from("b")));
    let control: Vec<&Value> = events.iter().filter(|e| e["cat"] == "faultline::control").collect();
    assert_eq!(control.len(), 2);
    assert_eq!(control[0]["ph"], "i");
    assert_eq!(control[0]["s"], "g");
    assert_eq!(control[0]["name"], "applied: pause b");
    assert_eq!(control[0]["ts"].as_f64(), Some(1_000_000.0), "virtual microseconds");
    let sent: Vec<&Value> = events.iter().filter(|e| e["name"] == "sent").collect();
    assert_eq!(sent.len(), 8);
    assert!(sent.iter().all(|e| e["tid"] == 1));
    let spans: Vec<&Value> = events.iter().filter(|e| e["name"] == "request").collect();
    assert_eq!(spans.len(), 16, "each request span begins and ends");
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
