//! netbench's command line: bad flags are refused with a message naming the flag and exit
//! code 2; both workloads run and report what they did.

use std::process::Command;

fn netbench(args: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netbench")).args(args.split_whitespace()).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn report(args: &str) -> serde_json::Value {
    let (code, out, err) = netbench(args);
    assert_eq!(code, 0, "{args}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn bad_flags_are_refused_with_exit_code_2_and_the_flag_named() {
    for (args, says) in [
        ("--nodes 0", "--nodes"),
        ("--nodes 200001", "--nodes"),
        ("--nodes many", "--nodes"),
        ("--in-flight 0", "--in-flight"),
        ("--in-flight 10000001", "--in-flight"),
        ("--deliveries 0", "--deliveries"),
        ("--deliveries 10000000001", "--deliveries"),
        ("--deliveries -3", "-3"),
        ("--seed x", "--seed"),
        ("--every 100ms", "--duration"),
        ("--duration 1s", "--every"),
        ("--every 0s --duration 1s", "--every must be at least 1us"),
        ("--every 999ns --duration 1s", "--every must be at least 1us"),
        ("--every fast --duration 1s", "--every"),
        ("--every 100ms --duration 0s", "--duration must be more than 0"),
        ("--every 100ms --duration 169h", "--duration must be more than 0 and at most 7 days"),
        ("--every 2s --duration 1s", "must not be longer than --duration"),
        ("--every 18446744073709551615ns --duration 1s", "must not be longer than --duration"),
        ("--every 1us --duration 100h --nodes 100000", "more than the limit"),
        ("--every 100ms --duration 1s --in-flight 5", "cannot be used with"),
        ("--every 100ms --duration 1s --deliveries 5", "cannot be used with"),
        ("--link-traffic=yes", "--link-traffic"),
        ("--nodes 20000 --deliveries 200000000 --link-traffic", "--link-traffic would count up to 200001000 links"),
        ("--nodes 200000 --every 1ms --duration 1s --link-traffic", "more than the limit of 100000000"),
        ("--metrics=1", "--metrics"),
    ] {
        let (code, out, err) = netbench(args);
        assert_eq!(code, 2, "{args}: {err}");
        assert!(out.is_empty(), "{args}: {out}");
        assert!(err.contains(says), "{args}: expected {says:?} in {err}");
    }
}

#[test]
fn the_steady_workload_delivers_what_was_asked() {
    let r = report("--nodes 3 --in-flight 5 --deliveries 200 --json");
    assert_eq!(r["workload"], "steady");
    assert_eq!(r["deliveries"], 200);
    assert!(r["peak_rss_bytes"].as_u64().is_none_or(|b| b > 0));
}

#[test]
fn the_periodic_workload_sends_on_every_period_and_metrics_change_nothing() {
    // 5 nodes, each sending once per 10 ms from a random phase in the first period, for 1 s:
    // 100 sends each; what did not arrive by the end is still in flight.
    let plain = report("--nodes 5 --every 10ms --duration 1s --json");
    assert_eq!(plain["workload"], "periodic");
    let (delivered, in_flight) = (plain["deliveries"].as_u64().unwrap(), plain["in_flight"].as_u64().unwrap());
    assert_eq!(delivered + in_flight, 500, "{plain}");
    assert!(in_flight < 5 * 2, "at most one message per node is younger than the 10 ms link: {plain}");
    let metered = report("--nodes 5 --every 10ms --duration 1s --metrics --json");
    assert_eq!(metered["metrics"], true);
    for key in ["deliveries", "in_flight", "events", "instants", "bytes_delivered"] {
        assert_eq!(metered[key], plain[key], "{key}");
    }
}

#[test]
fn traffic_is_counted_per_node_above_256_nodes_unless_links_are_asked_for() {
    let run = |args: &str| report(&format!("--every 100ms --duration 200ms --json {args}"));
    assert_eq!(run("--nodes 256")["traffic"], "link");
    let (per_node, per_link) = (run("--nodes 257"), run("--nodes 257 --link-traffic"));
    assert_eq!((&per_node["traffic"], &per_link["traffic"]), (&"node".into(), &"link".into()));
    for key in ["deliveries", "in_flight", "events", "bytes_delivered"] {
        assert_eq!(per_node[key], per_link[key], "{key}");
    }
}
