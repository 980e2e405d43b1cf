//! Properties of the script language: no input makes the readers panic, and every script
//! prints to a canonical form that reads back to the same script.

use std::time::Duration;

use faultline::{CutMode, Latency, LinkPatch};
use faultline_faults::{Action, Entry, Nemesis, NodeSet, Pos, Script, Selector, Timing, parse_live, parse_script};
use proptest::prelude::*;

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (1u64..100_000).prop_map(Duration::from_micros),
        (1u64..10_000).prop_map(Duration::from_millis),
        (1u64..3_600).prop_map(Duration::from_secs),
        (1u64..1_000_000_000).prop_map(Duration::from_nanos),
    ]
}

fn selector() -> impl Strategy<Value = Selector> {
    ("[a-z][a-z0-9]{0,6}(-[0-9]{1,2})?(\\*)?", any::<bool>())
        .prop_filter("not a keyword", |(p, _)| !matches!(p.as_str(), "hold" | "drop" | "reset" | "random"))
        .prop_map(|(pattern, random)| Selector { pattern, random, pos: Pos::default() })
}

fn set() -> impl Strategy<Value = NodeSet> {
    prop::collection::vec(selector(), 1..4).prop_map(NodeSet)
}

fn mode() -> impl Strategy<Value = CutMode> {
    prop_oneof![Just(CutMode::Drop), Just(CutMode::Hold)]
}

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), (0u32..=1000).prop_map(|p| f64::from(p) / 1000.0)]
}

fn latency() -> impl Strategy<Value = Latency> {
    prop_oneof![
        duration().prop_map(|value| Latency::Constant { value }),
        (duration(), duration()).prop_map(|(a, b)| Latency::Uniform { min: a.min(b), max: a.max(b) }),
        (duration(), duration(), duration()).prop_map(|(mean, stddev, floor)| Latency::LogNormal {
            mean,
            stddev,
            floor
        }),
        (duration(), duration()).prop_map(|(mean, floor)| Latency::Exponential { mean, floor }),
    ]
}

fn patch() -> impl Strategy<Value = LinkPatch> {
    (
        prop::option::of(latency()),
        prop::option::of(duration()),
        prop::option::of(probability()),
        prop::option::of(probability()),
    )
        .prop_map(|(latency, jitter, loss, duplicate)| LinkPatch { latency, jitter, loss, duplicate })
        .prop_filter("changes something", |p| !p.is_empty())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (prop::collection::vec(set(), 2..4), mode()).prop_map(|(groups, mode)| Action::Partition { groups, mode }),
        (set(), set(), mode()).prop_map(|(from, to, mode)| Action::Cut { from, to, mode }),
        (set(), mode()).prop_map(|(nodes, mode)| Action::Isolate { nodes, mode }),
        (set(), set(), prop::option::of(patch())).prop_map(|(from, to, patch)| Action::Link { from, to, patch }),
        set().prop_map(Action::Crash),
        set().prop_map(Action::Pause),
        (set(), -5_000_000_000i64..5_000_000_000).prop_map(|(nodes, nanos)| Action::Skew { nodes, nanos }),
        (set(), -100_000i32..100_000).prop_map(|(nodes, p)| Action::Drift { nodes, ppm: f64::from(p) / 10.0 }),
        Just(Action::Heal(None)),
        "[a-z]{1,5}[0-9]\\.[0-9]".prop_map(|l| Action::Heal(Some(l))),
        set().prop_map(Action::Restart),
        set().prop_map(Action::Resume),
        Just(Action::Stop),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    let timing = prop_oneof![
        duration().prop_map(Timing::At),
        (duration(), prop::option::of(duration())).prop_map(|(period, from)| Timing::Every { period, from }),
    ];
    (timing, action(), prop::option::of(1u64..1000)).prop_map(|(timing, action, lasting)| {
        // `for` only where it can undo, and shorter than a period.
        let lasting = lasting.filter(|_| action.can_last()).map(|ms| match &timing {
            Timing::Every { period, .. } => (*period / 2).max(Duration::from_nanos(1)).min(Duration::from_millis(ms)),
            _ => Duration::from_millis(ms),
        });
        let lasting = match &timing {
            Timing::Every { period, .. } if lasting.is_some_and(|d| d >= *period) => None,
            _ => lasting,
        };
        Entry { timing, lasting, action, pos: Pos::default() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,120}") {
        let _ = parse_script(&text);
        let _ = parse_live(&text);
        let _ = text.parse::<Nemesis>();
    }

    #[test]
    fn near_miss_scripts_are_read_or_refused_without_panic(
        words in prop::collection::vec(prop_oneof![
            Just("at"), Just("every"), Just("for"), Just("from"), Just("5s"), Just("-1s"), Just("+2ms"), Just("partition"),
            Just("cut"), Just("link"), Just("latency"), Just("lognormal("), Just("1ms"), Just(","), Just(")"), Just("|"),
            Just("->"), Just("a"), Just("random("), Just("hold"), Just("loss"), Just("0.5"), Just("2"), Just("skew"),
            Just("drift"), Just("9ppm"), Just("reset"), Just("heal"), Just("#"), Just("\n"),
        ], 0..16)
    ) {
        let text = words.join(" ");
        let _ = parse_script(&text);
        let _ = parse_live(&text);
    }

    #[test]
    fn canonical_form_reads_back_to_the_same_script(entries in prop::collection::vec(entry(), 0..12)) {
        let script = Script { entries };
        let text = script.to_string();
        let back = parse_script(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &script);
        prop_assert_eq!(back.to_string(), text);
    }
}
