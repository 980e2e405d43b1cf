//! The fault layer under adversarial input (issue 8): arbitrary bytes, near-miss tokens and
//! huge numbers through the nemesis spec parser, the script and live-command parsers and the
//! compiler. Every input is read or refused with an error: no panic, and work bounded by the
//! command limit, not by the numbers written.

use std::time::{Duration, Instant};

use faultline::SimTime;
use faultline_faults::{Nemesis, Resolver, compile_limited, parse_live, parse_script};
use proptest::prelude::*;

/// The command limit the compiler gets here: small, so that an unbounded expansion would show
/// as a count over it (or as time), not as memory.
const LIMIT: usize = 2_000;

fn resolver() -> Resolver {
    let names: Vec<String> = ["client-0", "client-1", "server", "replica-1", "replica-2"].map(String::from).to_vec();
    Resolver::new(&names).alias("clients", "client-*")
}

/// Run lengths, from nothing to the last instant.
fn horizon() -> impl Strategy<Value = SimTime> {
    prop_oneof![
        Just(SimTime::ZERO),
        Just(SimTime::MAX),
        (0u64..=u64::MAX).prop_map(SimTime::from_nanos),
        (1u64..10_000).prop_map(|s| SimTime::ZERO + Duration::from_secs(s)),
    ]
}

/// Durations that tempt overflow and huge expansions as well as ordinary ones.
fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1ns".to_string()),
        Just("0s".to_string()),
        Just("18446744073709551615ns".to_string()),
        Just("18446744073709551616ns".to_string()),
        Just("18446744073s".to_string()),
        Just("99999999999999999999h".to_string()),
        Just("0.0000000001s".to_string()),
        Just("1e9s".to_string()),
        Just("-1s".to_string()),
        (0u64..=u64::MAX, prop::sample::select(vec!["ns", "us", "ms", "s", "m", "h", ""]))
            .prop_map(|(n, u)| format!("{n}{u}")),
        (0u32..5000, prop::sample::select(vec!["us", "ms", "s"])).prop_map(|(n, u)| format!("{n}{u}")),
    ]
}

fn weight_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("4294967295".to_string()),
        Just("4294967296".to_string()),
        Just("18446744073709551615".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1.5".to_string()),
        Just(String::new()),
        (0u64..=u64::MAX).prop_map(|n| n.to_string()),
        (1u32..2_000_000).prop_map(|n| n.to_string()),
    ]
}

fn nemesis_spec() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "halves",
        "majority",
        "ring",
        "bridge",
        "partition",
        "crash",
        "skew",
        "flaky",
        "meteor",
        "",
    ]);
    let kinds = prop::collection::vec((kind, prop::option::of(weight_text())), 0..5).prop_map(|ks| {
        ks.into_iter()
            .map(|(k, w)| w.map_or_else(|| k.to_string(), |w| format!("{k}*{w}")))
            .collect::<Vec<_>>()
            .join("+")
    });
    let part = prop_oneof![
        duration_text().prop_map(|d| format!("every={d}")),
        duration_text().prop_map(|d| format!("for={d}")),
        duration_text().prop_map(|d| format!("from={d}")),
        duration_text().prop_map(|d| format!("skew={d}")),
        kinds.prop_map(|k| format!("kinds={k}")),
        prop::sample::select(vec![
            "nodes=*",
            "nodes=replica-*",
            "nodes=nobody",
            "nodes=",
            "loss=0.5",
            "loss=NaN",
            "loss=1e308",
            "loss=-0",
            "x",
            "=",
            ",,"
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(part, 0..6).prop_map(|parts| parts.join(","))
}

fn script_line() -> impl Strategy<Value = String> {
    let timing = prop_oneof![
        duration_text().prop_map(|d| format!("at {d}")),
        duration_text().prop_map(|d| format!("every {d}")),
        (duration_text(), duration_text()).prop_map(|(p, f)| format!("every {p} from {f}")),
        Just(String::new()),
    ];
    let lasting = prop::option::of(duration_text()).prop_map(|d| d.map_or_else(String::new, |d| format!("for {d}")));
    let action = prop_oneof![
        Just("crash client-1".to_string()),
        Just("crash *".to_string()),
        Just("pause random(replica-*)".to_string()),
        Just("restart server".to_string()),
        Just("heal nosuchlabel".to_string()),
        Just("partition clients | server".to_string()),
        Just("isolate replica-1 hold".to_string()),
        Just("cut * -> server".to_string()),
        duration_text().prop_map(|d| format!("link * -> server latency {d}")),
        duration_text().prop_map(|d| format!("link * -> * jitter {d}")),
        (duration_text(), duration_text())
            .prop_map(|(a, b)| format!("link client-0 -> server latency uniform({a}, {b})")),
        duration_text().prop_map(|d| format!("skew server +{d}")),
        duration_text().prop_map(|d| format!("skew server -{d}")),
        Just("drift server 1e308ppm".to_string()),
        Just("drift server -999999ppm".to_string()),
        Just("stop".to_string()),
    ];
    (timing, lasting, action).prop_map(|(t, l, a)| format!("{t} {l} {a}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_nemesis_spec_is_refused_or_generates_within_the_limit(spec in nemesis_spec(), h in horizon(), seed in any::<u64>()) {
        let started = Instant::now();
        if let Ok(n) = spec.parse::<Nemesis>() {
            let back = n.to_string().parse::<Nemesis>();
            prop_assert_eq!(back, Ok(n.clone()), "the printed spec reads back");
            if let Ok(script) = n.generate_limited(&resolver(), seed, h, LIMIT) {
                prop_assert!(script.entries.len() <= LIMIT);
                let _ = compile_limited(&script, &resolver(), seed, h, LIMIT);
            }
        }
        prop_assert!(started.elapsed() < Duration::from_secs(5), "{spec}: {:?}", started.elapsed());
    }

    #[test]
    fn any_nemesis_bytes_are_refused_or_read(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = String::from_utf8_lossy(&bytes).parse::<Nemesis>();
    }

    #[test]
    fn any_script_compiles_within_the_limit_or_is_refused(lines in prop::collection::vec(script_line(), 1..6), h in horizon(), seed in any::<u64>()) {
        let text = lines.join("\n");
        let started = Instant::now();
        if let Ok(script) = parse_script(&text)
            && let Ok(t) = compile_limited(&script, &resolver(), seed, h, LIMIT)
        {
            prop_assert!(t.commands.len() <= LIMIT, "{}", t.commands.len());
            prop_assert!(t.commands.windows(2).all(|w| w[0].at <= w[1].at), "in time order");
            prop_assert!(t.commands.iter().all(|c| c.command.validate().is_ok()));
            prop_assert!(t.after_end.iter().all(|a| a.at > h));
        }
        prop_assert!(started.elapsed() < Duration::from_secs(5), "{text}: {:?}", started.elapsed());
    }

    #[test]
    fn any_control_line_is_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..300), words in prop::collection::vec(script_line(), 1..3)) {
        let _ = parse_live(&String::from_utf8_lossy(&bytes));
        for w in &words {
            // A live command is a script command without its timing: feed both forms.
            let _ = parse_live(w);
            let _ = parse_live(w.trim_start_matches(|c: char| c != ' ').trim());
        }
    }

    #[test]
    fn long_globs_resolve_in_bounded_time(stars in 1usize..60, tail in "[a-z*?]{0,20}") {
        let started = Instant::now();
        let pattern = format!("{}{tail}x", "*a".repeat(stars));
        let _ = parse_live(&format!("crash {pattern}")).map(|e| e.map(|e| {
            let script = faultline_faults::Script { entries: vec![faultline_faults::Entry { timing: faultline_faults::Timing::At(Duration::ZERO), ..e }] };
            compile_limited(&script, &resolver(), 1, SimTime::MAX, LIMIT)
        }));
        prop_assert!(!faultline_faults::glob(&pattern, &"a".repeat(500)), "no x in the name");
        prop_assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}

#[test]
fn every_nanosecond_of_the_longest_run_is_refused_by_the_limit() {
    // Found by `any_script_compiles_within_the_limit_or_is_refused`: counting the instants of
    // `every 1ns from 0s` up to the last instant (2^64 of them) overflowed.
    let script = parse_script("every 1ns from 0s  drift server -999999ppm").unwrap();
    let err = compile_limited(&script, &resolver(), 0, SimTime::MAX, LIMIT).unwrap_err();
    assert!(err.to_string().contains(&LIMIT.to_string()), "{err}");
}
