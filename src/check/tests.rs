//! The checker on small histories written by hand, and on random histories of a real register.

use std::time::Duration;

use proptest::prelude::*;

use super::format::{self, Format, ReadError, ReadLimits};
use super::*;

/// One line per event: `process kind f value [key]`, times are the line numbers (from 1).
/// `kind` is `i`, `ok`, `fail` or `info`; `f` is a function name; values are EDN.
fn history(events: &str) -> History {
    let mut h = History::new();
    for (n, line) in events.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let kind = match parts[1] {
            "i" => EventKind::Invoke,
            "ok" => EventKind::Ok,
            "fail" => EventKind::Fail,
            "info" => EventKind::Info,
            k => panic!("kind {k}"),
        };
        let value = match parts[3] {
            "nil" => Value::Nil,
            v if v.starts_with('"') => Value::str(v.trim_matches('"')),
            v if v.contains('/') => Value::list(v.split('/').map(|x| Value::Int(x.parse().unwrap()))),
            v => Value::Int(v.parse().unwrap()),
        };
        let mut e = Event::new(parts[0].parse().unwrap(), kind, parts[2].parse().unwrap(), value).at(n as u64 + 1);
        if let Some(key) = parts.get(4) {
            e = e.key(Value::str(key));
        }
        h.record(e).unwrap_or_else(|err| panic!("{line}: {err}"));
    }
    h
}

fn verdict<M: Model>(model: &M, h: &History) -> Verdict {
    Checker::new().timeout(Duration::from_secs(10)).check(model, h).unwrap()
}

fn linearizable<M: Model>(model: &M, h: &History) -> bool {
    match verdict(model, h) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable(_) => false,
        Verdict::Unknown => panic!("unknown"),
    }
}

// ---------------------------------------------------------------- register

#[test]
fn a_read_concurrent_with_a_write_may_see_either_value() {
    let old = history("0 i write 1\n1 i read nil\n1 ok read nil\n0 ok write 1");
    let new = history("0 i write 1\n1 i read nil\n1 ok read 1\n0 ok write 1");
    assert!(linearizable(&Register::default(), &old));
    assert!(linearizable(&Register::default(), &new));
}

#[test]
fn a_read_after_a_write_returned_must_see_it() {
    let stale = history("0 i write 1\n0 ok write 1\n1 i read nil\n1 ok read nil");
    assert!(!linearizable(&Register::default(), &stale));
    let never_written = history("1 i read nil\n1 ok read 3");
    assert!(!linearizable(&Register::default(), &never_written));
}

#[test]
fn reads_cannot_go_back_in_time() {
    // p1 sees the new value, then p2, which starts after p1 returned, sees the old one.
    let h = history("0 i write 1\n1 i read nil\n1 ok read 1\n2 i read nil\n2 ok read nil\n0 ok write 1");
    assert!(!linearizable(&Register::default(), &h));
    // Had p2 started before p1 returned, it could be ordered first.
    let h = history("0 i write 1\n1 i read nil\n2 i read nil\n1 ok read 1\n2 ok read nil\n0 ok write 1");
    assert!(linearizable(&Register::default(), &h));
}

#[test]
fn a_register_starts_at_its_initial_value() {
    let h = history("0 i read nil\n0 ok read 7");
    assert!(linearizable(&Register { initial: Value::Int(7) }, &h));
    assert!(!linearizable(&Register::default(), &h));
}

#[test]
fn keys_are_checked_apart() {
    // Each key alone is fine; mixed into one register, the reads would contradict each other.
    let h = history(
        "0 i write 1 a\n0 ok write 1 a\n1 i write 2 b\n1 ok write 2 b\n0 i read nil a\n0 ok read 1 a\n1 i read nil b\n1 ok read 2 b",
    );
    assert!(linearizable(&Register::default(), &h));
    let stale = history("0 i write 1 a\n0 ok write 1 a\n1 i read nil b\n1 ok read 1 b");
    assert!(!linearizable(&Register::default(), &stale));
    let Verdict::NotLinearizable(why) = verdict(&Register::default(), &stale) else { panic!() };
    assert_eq!(why.key, Some(Value::str("b")));
}

// ---------------------------------------------------------------- compare-and-set register

#[test]
fn a_cas_succeeds_only_on_its_old_value() {
    let ok = history("0 i write 1\n0 ok write 1\n1 i cas 1/2\n1 ok cas 1/2\n0 i read nil\n0 ok read 2");
    assert!(linearizable(&CasRegister::default(), &ok));
    let wrong = history("0 i write 1\n0 ok write 1\n1 i cas 3/2\n1 ok cas 3/2");
    assert!(!linearizable(&CasRegister::default(), &wrong));
}

#[test]
fn a_failed_cas_ran_and_must_be_placed_where_the_compare_fails() {
    // The value is 1 throughout, so cas(1 2) cannot have failed.
    let h = history("0 i write 1\n0 ok write 1\n1 i cas 1/2\n1 fail cas 1/2");
    assert!(!linearizable(&CasRegister::default(), &h));
    // With a concurrent write of 3, it can fail after it.
    let h = history("0 i write 1\n0 ok write 1\n2 i write 3\n1 i cas 1/2\n1 fail cas 1/2\n2 ok write 3");
    assert!(linearizable(&CasRegister::default(), &h));
    // And a failed cas changed nothing.
    let h = history("0 i write 1\n0 ok write 1\n1 i cas 0/2\n1 fail cas 0/2\n0 i read nil\n0 ok read 1");
    assert!(linearizable(&CasRegister::default(), &h));
}

#[test]
fn a_plain_register_refuses_cas() {
    let h = history("1 i cas 1/2\n1 ok cas 1/2");
    let err = Checker::new().check(&Register::default(), &h).unwrap_err();
    assert!(err.to_string().contains("cas-register"), "{err}");
    let bad = history("1 i cas 1\n1 ok cas 1");
    let err = Checker::new().check(&CasRegister::default(), &bad).unwrap_err();
    assert!(err.to_string().contains("[old new]"), "{err}");
}

// ---------------------------------------------------------------- key-value

#[test]
fn kv_appends_and_gets() {
    let model = KeyValue;
    let h = history(
        r#"0 i append "a" k
           1 i append "b" k
           0 ok append "a" k
           1 ok append "b" k
           2 i get nil k
           2 ok get "ba" k
           2 i get nil j
           2 ok get "" j"#,
    );
    assert!(linearizable(&model, &h));
    // After both appends returned, a get must see both.
    let h = history(
        r#"0 i append "a" k
        0 ok append "a" k
        1 i append "b" k
        1 ok append "b" k
        2 i get nil k
        2 ok get "b" k"#,
    );
    assert!(!linearizable(&model, &h));
    // A put replaces; a never-written key reads as "" (or nil).
    let h = history(
        r#"0 i append "a" k
        0 ok append "a" k
        0 i put "z" k
        0 ok put "z" k
        1 i get nil k
        1 ok get "z" k
        1 i get nil other
        1 ok get nil other"#,
    );
    assert!(linearizable(&model, &h));
}

#[test]
fn kv_refuses_register_functions() {
    let h = history("0 i read nil\n0 ok read 1");
    assert!(Checker::new().check(&KeyValue, &h).unwrap_err().to_string().contains("get, put and append"));
    assert_eq!(ModelKind::infer(&h), ModelKind::Register);
    assert_eq!(ModelKind::infer(&history("0 i cas 1/2\n0 fail cas 1/2")), ModelKind::CasRegister);
    assert_eq!(ModelKind::infer(&history("0 i get nil\n0 ok get \"\"")), ModelKind::KeyValue);
}

// ---------------------------------------------------------------- info, fail, pending

#[test]
fn an_info_write_may_take_effect_long_after_its_timeout() {
    // The write times out at line 2; a read at 3-4 still sees nil, one at 5-6 sees 1.
    let h = history("0 i write 1\n0 info write 1\n1 i read nil\n1 ok read nil\n1 i read nil\n1 ok read 1");
    assert!(linearizable(&Register::default(), &h));
    // Closed at its info line instead (as if it had returned), it could not.
    let closed = history("0 i write 1\n0 ok write 1\n1 i read nil\n1 ok read nil\n1 i read nil\n1 ok read 1");
    assert!(!linearizable(&Register::default(), &closed));
}

#[test]
fn an_info_write_may_never_take_effect() {
    let h = history(
        "0 i write 1\n0 info write 1\n1 i read nil\n1 ok read nil\n1 i write 2\n1 ok write 2\n1 i read nil\n1 ok read 2",
    );
    assert!(linearizable(&Register::default(), &h));
    // But it cannot take effect before it was invoked.
    let early = history("1 i read nil\n1 ok read 1\n0 i write 1\n0 info write 1");
    assert!(!linearizable(&Register::default(), &early));
}

#[test]
fn an_operation_still_running_at_the_end_is_like_info() {
    let h = history("0 i write 1\n1 i read nil\n1 ok read nil\n1 i read nil\n1 ok read 1");
    assert_eq!(h.operations()[0].status, Status::Pending);
    assert!(linearizable(&Register::default(), &h));
}

#[test]
fn a_failed_write_did_not_happen() {
    let h = history("0 i write 1\n0 fail write 1\n1 i read nil\n1 ok read 1");
    assert!(!linearizable(&Register::default(), &h));
    // A failed read tells nothing.
    let h = history("0 i write 1\n0 ok write 1\n1 i read nil\n1 fail read nil");
    assert!(linearizable(&Register::default(), &h));
}

#[test]
fn a_process_may_go_on_after_an_info() {
    // The history records the next invoke of a process whose operation timed out.
    let h = history("0 i write 1\n0 info write 1\n0 i read nil\n0 ok read 1");
    assert!(linearizable(&Register::default(), &h));
}

// ---------------------------------------------------------------- histories

#[test]
fn events_that_do_not_fit_are_refused() {
    let mut h = History::new();
    h.record(Event::new(0, EventKind::Invoke, Function::Read, Value::Nil)).unwrap();
    let twice = h.record(Event::new(0, EventKind::Invoke, Function::Write, 1)).unwrap_err();
    assert!(matches!(twice, HistoryError::AlreadyRunning { process: 0, .. }), "{twice}");
    let other = h.record(Event::new(0, EventKind::Ok, Function::Write, 1)).unwrap_err();
    assert!(matches!(other, HistoryError::FunctionMismatch { .. }), "{other}");
    let nobody = h.record(Event::new(5, EventKind::Ok, Function::Read, 1)).unwrap_err();
    assert!(matches!(nobody, HistoryError::NotRunning { process: 5, .. }), "{nobody}");
    let key = h.record(Event::new(0, EventKind::Ok, Function::Read, 1).key("x")).unwrap_err();
    assert!(matches!(key, HistoryError::KeyMismatch { .. }), "{key}");
    let mixed = h.record(Event::new(0, EventKind::Ok, Function::Read, 1).at(5)).unwrap_err();
    assert_eq!(mixed, HistoryError::MixedTimes);

    let mut h = History::new();
    h.record(Event::new(0, EventKind::Invoke, Function::Read, Value::Nil).at(10)).unwrap();
    let early = h.record(Event::new(0, EventKind::Ok, Function::Read, 1).at(9)).unwrap_err();
    assert!(matches!(early, HistoryError::EndsBeforeCall { call: 10, end: 9, .. }), "{early}");
}

#[test]
fn whole_operations_can_be_pushed() {
    let op = |process, f, input: Value, output: Value, call, end| Operation {
        process,
        f,
        key: Value::Nil,
        input,
        output,
        status: Status::Ok,
        call,
        end: Some(end),
    };
    let mut h = History::new();
    h.push(op(0, Function::Write, 1.into(), Value::Nil, 0, 10)).unwrap();
    h.push(op(1, Function::Read, Value::Nil, 1.into(), 5, 6)).unwrap();
    assert!(linearizable(&Register::default(), &h));
    h.push(op(2, Function::Read, Value::Nil, Value::Nil, 11, 12)).unwrap();
    assert!(!linearizable(&Register::default(), &h));
    assert!(h.push(op(2, Function::Read, Value::Nil, Value::Nil, 11, 3)).is_err());
}

#[test]
fn an_empty_history_is_linearizable() {
    for model in ModelKind::ALL {
        assert_eq!(Checker::new().check_as(model, &History::new()).unwrap(), Verdict::Linearizable);
    }
}

// ---------------------------------------------------------------- explanations

/// p0 writes 1; p1 reads it; p2 writes 2; then p0 reads 1 again, a stale read, since nothing
/// wrote 1 after 2; p1's last read is fine.
const STALE: &str = "0 i write 1
    0 ok write 1
    1 i read nil
    1 ok read 1
    2 i write 2
    2 ok write 2
    0 i read nil
    0 ok read 1
    1 i read nil
    1 ok read 2";

#[test]
fn the_explanation_is_the_smallest_set_that_cannot_be_ordered() {
    let h = history(STALE);
    let Verdict::NotLinearizable(why) = verdict(&Register::default(), &h) else { panic!("linearizable?") };
    // write(2) returned at line 6, and the read at 7-8 returned 1: whatever the rest did (the
    // first write may have happened or not), these two cannot be ordered.
    let core: Vec<(u64, &str, u64, Option<u64>)> =
        why.ops.iter().map(|o| (o.process, o.what.as_str(), o.call, o.end)).collect();
    assert_eq!(core, [(2, "write(2) -> ok", 5, Some(6)), (0, "read -> 1", 7, Some(8))]);
    assert_eq!(why.ops.iter().map(|o| o.index).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(why.others, 3);
    assert!(why.minimal);
    assert_eq!(why.model, "register");
    assert_eq!(why.stuck.index, 3);
    let text = why.to_string();
    assert!(text.contains("p2    write(2) -> ok  t 5..6"), "{text}");
    assert!(text.contains("whatever the 3 other operations did"), "{text}");
    let json = serde_json::to_value(&why).unwrap();
    assert_eq!(json["ops"][1]["what"], "read -> 1");
    assert_eq!(json["clock"], "given");

    // Minimal: freeing either makes even the whole history orderable (the read left out; the
    // write as if it had timed out, so that it may take effect later or never).
    let relaxed = |which: usize| {
        let mut r = History::new();
        for (i, op) in h.operations().iter().enumerate() {
            match i {
                _ if i != which => r.push(op.clone()).unwrap(),
                3 => {}
                _ => r.push(Operation { status: Status::Info, ..op.clone() }).unwrap(),
            }
        }
        r
    };
    assert!(linearizable(&Register::default(), &relaxed(2)));
    assert!(linearizable(&Register::default(), &relaxed(3)));
}

#[test]
fn the_explanation_keeps_a_write_that_a_read_needs() {
    // The new-old inversion: p1 reads 1 while p0's write(1) runs, then p2 reads nil. Leaving
    // the write out would "explain" p1's read alone (nothing wrote 1), which is false; the
    // checker only sets it free, so the two reads are the explanation.
    let h = history("0 i write 1\n1 i read nil\n1 ok read 1\n2 i read nil\n2 ok read nil\n0 ok write 1");
    let Verdict::NotLinearizable(why) = verdict(&Register::default(), &h) else { panic!() };
    let what: Vec<&str> = why.ops.iter().map(|o| o.what.as_str()).collect();
    assert_eq!(what, ["read -> 1", "read -> nil"]);
    assert_eq!(why.others, 1);
}

#[test]
fn without_minimising_the_explanation_is_the_whole_failing_part() {
    let h = history(STALE);
    let Verdict::NotLinearizable(why) = Checker::new().without_minimising().check(&Register::default(), &h).unwrap()
    else {
        panic!()
    };
    assert_eq!(why.ops.len(), 5);
    assert!(!why.minimal);
}

#[test]
fn explanation_times_follow_the_clock() {
    let text = format::parse("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\tnil\n", None).unwrap();
    assert_eq!(text.clock(), Clock::Lines);
    let Verdict::NotLinearizable(why) = verdict(&Register::default(), &text) else { panic!() };
    assert!(why.to_string().contains("lines 1-2"), "{why}");
}

// ---------------------------------------------------------------- budget

/// Many concurrent writes and reads that no order satisfies: the search has to try them all.
fn hard() -> History {
    let mut h = History::new();
    let n = 14;
    for p in 0..n {
        h.record(Event::new(p, EventKind::Invoke, Function::Write, p as i64).at(1)).unwrap();
    }
    for p in 0..n {
        h.record(Event::new(p, EventKind::Ok, Function::Write, p as i64).at(2)).unwrap();
    }
    // Every value read after all writes returned: at most one of them can be right.
    for p in 0..n {
        h.record(Event::new(p, EventKind::Invoke, Function::Read, Value::Nil).at(3)).unwrap();
    }
    for p in 0..n {
        h.record(Event::new(p, EventKind::Ok, Function::Read, p as i64).at(4)).unwrap();
    }
    h
}

#[test]
fn a_spent_budget_gives_unknown_never_a_hang() {
    let h = hard();
    let steps = Checker::new().limits(Limits::steps(100)).check(&Register::default(), &h).unwrap();
    assert_eq!(steps, Verdict::Unknown);
    let time = Checker::new().limits(Limits::time(Duration::ZERO)).check(&Register::default(), &h).unwrap();
    assert_eq!(time, Verdict::Unknown);
    assert_eq!(Verdict::Unknown.linearizable(), None);
    // Given the time, the verdict comes.
    let v = Checker::new().check(&Register::default(), &h).unwrap();
    assert_eq!(v.linearizable(), Some(false));
}

#[test]
fn a_spent_explanation_budget_still_gives_the_verdict() {
    let h = history(STALE);
    let v = Checker::new().explain_limits(Limits::steps(3)).check(&Register::default(), &h).unwrap();
    let Verdict::NotLinearizable(why) = v else { panic!() };
    assert!(!why.minimal);
    assert!(!why.ops.is_empty());
    assert!(why.to_string().contains("perhaps not the smallest"));
}

// ---------------------------------------------------------------- formats

#[test]
fn json_lines_with_and_without_times() {
    let text = r#"
{"process": 0, "type": "invoke", "f": "write", "key": "x", "value": 1, "time": 100}
{"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [1, 2], "time": 150}
{"process": 0, "type": "ok", "f": "write", "key": "x", "value": 1, "time": 200}
{"process": 1, "type": "info", "f": "cas", "key": "x", "value": [1, 2], "time": 900}
{"process": 2, "type": "invoke", "f": "read", "key": "x", "value": null, "time": 1000}
{"process": 2, "type": "ok", "f": "read", "key": "x", "value": 2, "time": 1100}
"#;
    let h = format::parse(text, None).unwrap();
    assert_eq!(h.clock(), Clock::Given);
    assert_eq!(h.len(), 3);
    assert_eq!(h.operations()[1].status, Status::Info);
    assert_eq!(h.operations()[1].input, Value::list([Value::Int(1), Value::Int(2)]));
    assert_eq!(h.operations()[2].call, 1000);
    assert_eq!(ModelKind::infer(&h), ModelKind::CasRegister);
    assert!(linearizable(&CasRegister::default(), &h));

    let untimed = "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":1}\n\n{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":1,\"value\":\"\"}";
    let h = format::parse(untimed, Some(Format::JsonLines)).unwrap();
    assert_eq!(h.clock(), Clock::Lines);
    assert_eq!((h.operations()[0].call, h.operations()[0].end), (1, Some(3)));
    assert_eq!(h.operations()[0].key, Value::Int(1));
}

#[test]
fn json_lines_round_trip() {
    let mut h = History::new();
    let e = |p, k, f, v: Value, t| Event::new(p, k, f, v).key("x").at(t);
    for event in [
        e(0, EventKind::Invoke, Function::Write, 1.into(), 10),
        e(1, EventKind::Invoke, Function::Cas, Value::list([1.into(), 2.into()]), 10),
        e(0, EventKind::Ok, Function::Write, 1.into(), 20),
        // Same time: p0's read starts as its write ends.
        e(0, EventKind::Invoke, Function::Read, Value::Nil, 20),
        e(1, EventKind::Fail, Function::Cas, Value::Nil, 25),
        e(0, EventKind::Ok, Function::Read, 1.into(), 30),
        e(2, EventKind::Invoke, Function::Write, 3.into(), 31),
        e(2, EventKind::Info, Function::Write, Value::Nil, 40),
        Event::new(3, EventKind::Invoke, Function::Read, Value::Nil).at(50),
    ] {
        h.record(event).unwrap();
    }
    let mut out = Vec::new();
    format::write_json_lines(&h, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(text.starts_with(r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1,"time":10}"#), "{text}");
    let back = format::parse(&text, None).unwrap();
    assert_eq!(back.operations(), h.operations());
    assert_eq!(back.clock(), Clock::Given);
}

#[test]
fn json_errors_name_the_line_and_what_was_expected() {
    let err = |text: &str| format::parse(text, None).unwrap_err().to_string();
    let ok = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n";
    assert_eq!(
        err(&format!("{ok}{{\"process\":0,\"type\":\"done\",\"f\":\"read\"}}")),
        "line 2: `type`: unknown event type \"done\" (expected invoke, ok, fail or info)"
    );
    assert!(
        err(&format!("{ok}{{\"process\":0,\"type\":\"ok\",\"f\":\"incr\"}}"))
            .starts_with("line 2: `f`: unknown function \"incr\"")
    );
    assert!(err("{\"type\":\"ok\",\"f\":\"read\"}").starts_with("line 1: missing `process`"));
    assert!(err("{\"process\":-1,\"type\":\"ok\",\"f\":\"read\"}").contains("non-negative integer"));
    assert!(err("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5}").contains("an integer that fits"));
    assert!(
        err("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":true}")
            .contains("null, an integer, a string or an array")
    );
    assert!(err("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\"").starts_with("line 1: not a JSON object"));
    assert!(
        err(&format!("{ok}{{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"time\":5}}"))
            .contains("has a time, but the first one had none")
    );
    assert!(
        err(&format!("{ok}{{\"process\":1,\"type\":\"ok\",\"f\":\"read\"}}"))
            .contains("process 1 completes read (ok) but has no operation running")
    );
    assert!(err("hello world").starts_with("line 1: cannot tell the history format"));
}

#[test]
fn jepsen_logs() {
    let text = "INFO  jepsen.core - Running test\n\
                INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
                INFO  jepsen.util - 3   :invoke :read   nil\n\
                INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
                INFO  jepsen.util - 3\t:ok\t:read\t3\n\
                INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n\
                INFO  jepsen.util - 7\t:invoke\t:write\t1\n\
                INFO  jepsen.util - 7\t:fail\t:write\t:timed-out\n\
                4 :invoke :read nil\n";
    let h = format::parse(text, None).unwrap();
    assert_eq!(h.clock(), Clock::Lines);
    let ops = h.operations();
    assert_eq!(ops.len(), 4);
    assert_eq!(
        (ops[0].process, ops[0].f, ops[0].status, ops[0].call, ops[0].end),
        (2, Function::Cas, Status::Info, 2, Some(6))
    );
    assert_eq!(ops[0].input, Value::list([Value::Int(3), Value::Int(0)]));
    assert_eq!((ops[1].output.clone(), ops[1].call, ops[1].end), (Value::Int(3), 3, Some(5)));
    assert_eq!(ops[2].status, Status::Fail);
    assert_eq!(ops[3].status, Status::Pending);

    let err = |text: &str| format::parse(text, Some(Format::Jepsen)).unwrap_err().to_string();
    assert_eq!(
        err("INFO  jepsen.util - 2\t:start\t:cas\t[3 0]"),
        "line 1: expected :invoke, :ok, :fail or :info after the process, found `:start`"
    );
    assert_eq!(err("INFO  jepsen.util - x\t:ok"), "line 1: expected a process number or :nemesis, found `x`");
    assert!(
        err("INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0")
            .starts_with("line 1: expected a value or `]`, found the end of the line")
    );
    assert!(err("INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0] 4").contains("expected the end of the line, found `4`"));
    assert!(err("INFO  jepsen.util - 2\t:invoke\t:write\t1.5").contains("expected nil, an integer"));
    assert!(err("INFO  jepsen.util : 2").contains("expected `INFO <logger> - `"));
}

#[test]
fn edn_maps() {
    let text = r#"{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}
{:process 1, :type :invoke, :f :get, :key "4", :value nil}
{:process 0, :type :ok, :f :append, :key "4", :value "x 0 1 y"}
{:process :nemesis, :type :info, :f :start, :value nil}
{:value "x 0 1 y", :f :get, :type :ok, :key "4", :process 1, :index 7}"#;
    let h = format::parse(text, None).unwrap();
    assert_eq!(ModelKind::infer(&h), ModelKind::KeyValue);
    assert_eq!(h.len(), 2);
    assert_eq!(h.operations()[1].output, Value::str("x 0 1 y"));
    assert_eq!(h.operations()[1].key, Value::str("4"));
    assert!(linearizable(&KeyValue, &h));

    let err = |text: &str| format::parse(text, Some(Format::Edn)).unwrap_err().to_string();
    assert!(err("{:process 0, :type :invoke, :f :get, :key \"4}").contains("string not closed"));
    let e = err("{:process 0, :type :begin, :f :get}");
    assert!(e.contains(":type expected :invoke, :ok, :fail or :info, found `:begin`"), "{e}");
    assert!(err("{:process 0, :f :get}").contains("the map has no :type"));
    assert!(err("(:process 0)").contains("expected an EDN map"));
    assert!(err("{:process 0, :type :invoke, :f :get, :value {:a 1}}").contains("maps and sets are not values"));
    assert!(err("{:process 0, :type :invoke, :f :get, :value \"a\\qb\"}").contains("an escape"));
}

#[test]
fn input_is_bounded() {
    // Ten lines of 41 or 42 bytes.
    let text: String = (0..10).map(|p| format!("{{\"process\":{p},\"type\":\"invoke\",\"f\":\"read\"}}\n")).collect();
    let small = ReadLimits { max_bytes: 100, max_line: 1000 };
    let err = format::read(text.as_bytes(), None, &small).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { limit: 100, .. }), "{err}");
    assert!(err.to_string().contains("more than the limit of 100 bytes"));
    let narrow = ReadLimits { max_bytes: 1 << 20, max_line: 20 };
    let err = format::read(text.as_bytes(), None, &narrow).unwrap_err();
    assert!(matches!(err, ReadError::LineTooLong { line: 1, limit: 20 }), "{err}");
    // Exactly at the limits is fine (CRLF included).
    let crlf = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n";
    let exact = ReadLimits { max_bytes: crlf.len() as u64, max_line: crlf.len() - 2 };
    assert_eq!(format::read(crlf.as_bytes(), None, &exact).unwrap().len(), 1);

    // A file over the limit is refused from its size, before it is read.
    let path = std::env::temp_dir().join(format!("faultline-check-limit-{}.jsonl", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let err = format::read_file(&path, None, &small).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { size, limit: 100 } if size == text.len() as u64), "{err}");
    assert_eq!(format::read_file(&path, None, &ReadLimits::default()).unwrap().len(), 10);
    std::fs::remove_file(&path).unwrap();
    let err = format::read(&b"\xff\xfe\n"[..], None, &ReadLimits::default()).unwrap_err();
    assert!(err.to_string().contains("line 1: not UTF-8"), "{err}");
}

#[test]
fn formats_are_detected_or_named() {
    assert_eq!(Format::detect("{\"process\": 1}"), Some(Format::JsonLines));
    assert_eq!(Format::detect("{:process 1}"), Some(Format::Edn));
    assert_eq!(Format::detect("INFO  jepsen.util - 1 :ok :read 1"), Some(Format::Jepsen));
    assert_eq!(Format::detect("3\t:invoke\t:read\tnil"), Some(Format::Jepsen));
    assert_eq!(Format::detect("hello"), None);
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>().unwrap(), f);
    }
    for m in ModelKind::ALL {
        assert_eq!(m.name().parse::<ModelKind>().unwrap(), m);
    }
    // A JSON file read as EDN says so at its first line.
    let err = format::parse("{\"process\": 1}", Some(Format::Edn)).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("expected a keyword"), "{err}");
}

// ---------------------------------------------------------------- random histories

/// One operation to run against a real register.
#[derive(Clone, Debug)]
struct Planned {
    key: u8,
    /// 0 read, 1 write, 2 cas.
    f: u8,
    a: i64,
    b: i64,
    /// How long before its linearization point it was invoked, and after it returned.
    before: u64,
    after: u64,
    /// 0..=7 ok (or fail for a cas whose compare fails); 8 info and took effect; 9 info and never did.
    fate: u8,
}

fn planned() -> impl Strategy<Value = Planned> {
    (0u8..2, 0u8..3, 0i64..3, 0i64..3, 0u64..400, 0u64..400, 0u8..10)
        .prop_map(|(key, f, a, b, before, after, fate)| Planned { key, f, a, b, before, after, fate })
}

/// Runs the plan against a real register per key, each operation taking effect at its own
/// instant (100, 200, ...) inside a window around it, on processes that run one operation at
/// a time. Every such history is linearizable by construction.
fn run(plan: &[Planned]) -> History {
    let mut state = [Value::Nil, Value::Nil];
    let mut busy_until: Vec<u64> = Vec::new();
    let mut events: Vec<(u64, usize, Event)> = Vec::new();
    for (k, p) in plan.iter().enumerate() {
        let at = 1000 + 100 * k as u64;
        let (call, end) = (at - p.before, at + p.after);
        let process = match busy_until.iter().position(|&b| b < call) {
            Some(i) => i,
            None => {
                busy_until.push(0);
                busy_until.len() - 1
            }
        };
        busy_until[process] = end;
        let key = Value::str(if p.key == 0 { "x" } else { "y" });
        let reg = &mut state[p.key as usize];
        let takes_effect = p.fate != 9;
        let (f, input, output, ok) = match p.f {
            0 => (Function::Read, Value::Nil, reg.clone(), true),
            1 => {
                if takes_effect {
                    *reg = Value::Int(p.a);
                }
                (Function::Write, Value::Int(p.a), Value::Int(p.a), true)
            }
            _ => {
                let swapped = *reg == Value::Int(p.a);
                if swapped && takes_effect {
                    *reg = Value::Int(p.b);
                }
                let arg = Value::list([Value::Int(p.a), Value::Int(p.b)]);
                (Function::Cas, arg.clone(), arg, swapped)
            }
        };
        let kind = match p.fate {
            8 | 9 => EventKind::Info,
            _ if ok => EventKind::Ok,
            _ => EventKind::Fail,
        };
        let pid = process as u64;
        events.push((call, events.len(), Event::new(pid, EventKind::Invoke, f, input).key(key.clone()).at(call)));
        events.push((end, events.len(), Event::new(pid, kind, f, output).key(key).at(end)));
    }
    events.sort_by_key(|(t, seq, _)| (*t, *seq));
    let mut h = History::new();
    for (_, _, e) in events {
        h.record(e).unwrap();
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_history_of_a_real_register_is_linearizable(plan in prop::collection::vec(planned(), 1..40)) {
        let h = run(&plan);
        let v = Checker::new().timeout(Duration::from_secs(20)).check(&CasRegister::default(), &h).unwrap();
        prop_assert_eq!(v.name(), "linearizable", "{}", v);
    }

    #[test]
    fn an_explanation_cannot_be_ordered_on_its_own(plan in prop::collection::vec(planned(), 2..30), which in 0usize..30, to in 0i64..4) {
        // Corrupt one read: the history may stop being linearizable; when it does, the
        // operations of the explanation, alone, cannot be ordered either.
        let h = run(&plan);
        let mut ops: Vec<Operation> = h.operations().to_vec();
        let reads: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].f == Function::Read && ops[i].status == Status::Ok).collect();
        prop_assume!(!reads.is_empty());
        let r = reads[which % reads.len()];
        ops[r].output = if to == 3 { Value::Nil } else { Value::Int(to) };
        let mut corrupt = History::new();
        for op in ops {
            corrupt.push(op).unwrap();
        }
        let checker = Checker::new().timeout(Duration::from_secs(20));
        if let Verdict::NotLinearizable(why) = checker.check(&CasRegister::default(), &corrupt).unwrap() {
            let mut core = History::new();
            for o in &why.ops {
                core.push(corrupt.operations()[o.index].clone()).unwrap();
            }
            let v = checker.check(&CasRegister::default(), &core).unwrap();
            prop_assert_eq!(v.name(), "not-linearizable", "{}", why);
            prop_assert!(why.minimal);
        }
    }
}
