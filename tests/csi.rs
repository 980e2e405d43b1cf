//! The CSI study's headline results, each from whole runs of the actors over the emulated
//! network: two systems that pass their own tests, the failures their connection produces
//! (loud or silent, and where), and the checks that catch them. Deterministic by seed.

use std::time::Duration;

use faultline::{LinkConfig, Sim, derive_rng};
use faultline_nodes::csi::api::ApiConfig;
use faultline_nodes::csi::compression::{CompressionConfig, ConnectorFormat};
use faultline_nodes::csi::config::{self, ConfigScenario};
use faultline_nodes::csi::encoding::{Decode, EncodingConfig};
use faultline_nodes::csi::flow::{self, DataFlow};
use faultline_nodes::csi::metadata::{MetadataConfig, Variant};
use faultline_nodes::csi::types::{Rounding, TypesConfig};
use faultline_nodes::csi::{CsiResult, Observer, Processing, Raw, api, prevent};

const LINK: Duration = Duration::from_millis(1);

fn builder(seed: u64) -> faultline::SimBuilder<Raw> {
    Sim::<Raw>::builder(seed).default_link(LinkConfig::constant(LINK))
}

fn run_flow<F: DataFlow>(flow: F, seed: u64) -> CsiResult {
    let observer = Observer::new();
    let mut sim = flow::install(builder(seed), flow, &observer).build().unwrap();
    sim.run();
    assert!(sim.report().panics.is_empty());
    observer.result()
}

fn run_config(cfg: &ConfigScenario, seed: u64) -> CsiResult {
    let observer = Observer::new();
    let mut sim = cfg.install(builder(seed), &observer).unwrap().build().unwrap();
    sim.run();
    observer.result()
}

fn run_api(cfg: &ApiConfig, seed: u64) -> CsiResult {
    let observer = Observer::new();
    let mut sim = cfg.install(builder(seed), &observer).unwrap().build().unwrap();
    sim.run();
    observer.result()
}

/// Four standard errors of a binomial share `p` over `n` trials.
fn tolerance(p: f64, n: u64) -> f64 {
    4.0 * (p * (1.0 - p) / n as f64).sqrt()
}

#[test]
fn encoding_failures_follow_the_share_of_non_ascii_names() {
    let n = 4000;
    let zero = run_flow(EncodingConfig { records: n, non_ascii_share: 0.0, ..Default::default() }.flow().unwrap(), 1);
    assert_eq!(zero.records, n);
    assert_eq!(zero.loud_failures + zero.silent_corruptions, 0);
    for share in [0.1, 0.4] {
        let r =
            run_flow(EncodingConfig { records: n, non_ascii_share: share, ..Default::default() }.flow().unwrap(), 1);
        assert!((r.failure_ratio - share).abs() < tolerance(share, n), "share {share}: ratio {}", r.failure_ratio);
    }
}

#[test]
fn strict_decoding_fails_loudly_and_lossy_decoding_corrupts_silently() {
    let strict =
        run_flow(EncodingConfig { records: 2000, decode: Decode::Strict, ..Default::default() }.flow().unwrap(), 2);
    assert!(strict.loud_failures > 0);
    assert_eq!(strict.silent_corruptions, 0);
    assert_eq!(strict.surfaced_at.downstream, strict.loud_failures);
    let lossy =
        run_flow(EncodingConfig { records: 2000, decode: Decode::Lossy, ..Default::default() }.flow().unwrap(), 2);
    assert_eq!(lossy.loud_failures, 0);
    // Same seed, same data: the records strict decoding refused are the ones lossy decoding
    // stored wrong, and only the oracle knows.
    assert_eq!(lossy.silent_corruptions, strict.loud_failures);
    let ex = &lossy.examples[0];
    assert!(!ex.loud && ex.read.contains('\u{fffd}'), "{ex:?}");
}

#[test]
fn compression_key_is_ignored_and_the_connector_fails_loudly() {
    let cfg = CompressionConfig { records: 500, ..Default::default() };
    let flow = cfg.flow().unwrap();
    assert_eq!(flow.ignored_keys(), ["compression".to_string()]);
    let r = run_flow(flow, 3);
    assert_eq!(r.loud_failures, 500);
    assert_eq!(r.surfaced_at.connector, 500);
    assert!(r.examples[0].kind.starts_with("loud at connector"), "{:?}", r.examples[0]);
    let block =
        run_flow(CompressionConfig { connector_format: ConnectorFormat::Block, ..cfg.clone() }.flow().unwrap(), 3);
    assert_eq!((block.loud_failures, block.surfaced_at.connector), (500, 500));
    // A connector that knows the frame format reads every record.
    let fixed =
        run_flow(CompressionConfig { connector_format: ConnectorFormat::Frame, ..cfg.clone() }.flow().unwrap(), 3);
    assert_eq!(fixed.failure_ratio, 0.0);
    assert!(prevent::config_check_compression(&cfg).caught());
}

#[test]
fn config_failures_match_the_probability_from_the_processing_distribution() {
    let cfg = ConfigScenario { requests: 2000, retries: 0, ..Default::default() };
    let p = cfg.timeout_probability(2 * LINK);
    assert!((0.3..0.4).contains(&p), "{p}");
    let r = run_config(&cfg, 4);
    assert!((r.failure_ratio - p).abs() < tolerance(p, 2000), "measured {} against {p}", r.failure_ratio);
    assert_eq!(r.surfaced_at.upstream, r.loud_failures);
}

#[test]
fn retries_duplicate_side_effects_and_idempotency_keys_remove_them() {
    let cfg = ConfigScenario { requests: 1000, ..Default::default() };
    let r = run_config(&cfg, 5);
    // Each timed-out attempt was still processed: its retry applies the effect again.
    assert!(r.duplicates > 200, "{r:?}");
    assert_eq!(r.counters["timeouts"], r.duplicates + r.loud_failures, "every timeout but the last is a duplicate");
    let keyed = run_config(&ConfigScenario { idempotency_keys: true, ..cfg }, 5);
    assert_eq!(keyed.duplicates, 0);
    assert!(keyed.counters["deduplicated"] > 200);
    assert!(prevent::config_check(&ConfigScenario::default()).caught());
}

#[test]
fn api_reorders_grow_with_workers_and_vanish_with_one_worker_or_per_entity_ordering() {
    let out_of_order = |cfg: &ApiConfig| {
        let r = run_api(cfg, 6);
        (r.counters.get("out_of_order").copied().unwrap_or(0), r)
    };
    let (one, r1) = out_of_order(&ApiConfig { workers: 1, ..Default::default() });
    assert_eq!((one, r1.loud_failures, r1.silent_corruptions), (0, 0, 0));
    // More workers take more of the backlog at once, so more operations overtake each other,
    // up to the concurrency the arrivals allow (mean processing / spacing, about 10 here).
    let counts: Vec<u64> =
        [2, 4, 8].iter().map(|&workers| out_of_order(&ApiConfig { workers, ..Default::default() }).0).collect();
    assert!(0 < counts[0] && counts[0] < counts[1] && counts[1] < counts[2], "2, 4, 8 workers: {counts:?}");
    let (_, r8) = out_of_order(&ApiConfig { workers: 8, ..Default::default() });
    assert!(r8.loud_failures > 0 && r8.silent_corruptions > 0, "updates before their create, and lost updates");
    let (keyed, rk) = out_of_order(&ApiConfig { workers: 8, per_entity_ordering: true, ..Default::default() });
    assert_eq!((keyed, rk.loud_failures, rk.silent_corruptions), (0, 0, 0));
}

#[test]
fn metadata_mismatches_corrupt_silently_and_the_oracle_sees_it() {
    let r = run_flow(MetadataConfig { records: 2000, ..Default::default() }.flow().unwrap(), 7);
    assert!(r.silent_corruptions > 0 && r.loud_failures > 0, "{r:?}");
    // Which records are loud depends on the value: devices without a clock fit 32 bits.
    let share = r.silent_corruptions as f64 / 2000.0;
    assert!((share - 0.2).abs() < tolerance(0.2, 2000), "{share}");
    let units =
        run_flow(MetadataConfig { records: 2000, variant: Variant::Units, ..Default::default() }.flow().unwrap(), 7);
    assert_eq!((units.loud_failures, units.surfaced_at.downstream), (0, units.silent_corruptions));
    assert!(units.silent_corruptions > 1990);
}

#[test]
fn types_lose_cents_silently_and_totals_drift() {
    let r = run_flow(TypesConfig { records: 2000, ..Default::default() }.flow().unwrap(), 8);
    assert!(r.silent_corruptions > 100, "{r:?}");
    assert_eq!(r.loud_failures, 0);
    // Truncation only ever loses: the drift is one cent down per corrupted invoice.
    assert_eq!(r.drift, -(r.silent_corruptions as i128));
    let rounded =
        run_flow(TypesConfig { records: 2000, rounding: Rounding::HalfUp, ..Default::default() }.flow().unwrap(), 8);
    assert!(rounded.silent_corruptions < r.silent_corruptions / 10, "{}", rounded.silent_corruptions);
}

#[test]
fn each_side_passes_its_own_tests_in_every_scenario() {
    let mut rng = derive_rng(9, "self-test", 0);
    assert!(flow::self_tests(&EncodingConfig::default().flow().unwrap(), 200, &mut rng).pass());
    for variant in [Variant::Seconds, Variant::Units] {
        assert!(
            flow::self_tests(&MetadataConfig { variant, ..Default::default() }.flow().unwrap(), 200, &mut rng).pass()
        );
    }
    for connector_format in [ConnectorFormat::Raw, ConnectorFormat::Block] {
        let f = CompressionConfig { connector_format, ..Default::default() }.flow().unwrap();
        assert!(flow::self_tests(&f, 200, &mut rng).pass());
    }
    assert!(flow::self_tests(&TypesConfig::default().flow().unwrap(), 200, &mut rng).pass());
    assert!(config::self_tests(&ConfigScenario::default()).pass());
    assert!(api::self_tests().pass());
}

#[test]
fn the_registry_refuses_the_pairs_it_can_see_and_passes_the_units_variant() {
    assert!(prevent::registry_metadata(&MetadataConfig::default()).caught());
    assert!(prevent::registry_encoding(&EncodingConfig::default()).caught());
    assert!(prevent::registry_types().caught());
    let same = EncodingConfig { upstream_charset: "latin1".into(), ..Default::default() };
    assert!(
        !prevent::registry_encoding(&EncodingConfig { downstream_charset: "windows-1252".into(), ..same }).caught()
    );
    // Honest about its blind spot: both declare a long.
    assert!(matches!(
        prevent::registry_metadata(&MetadataConfig { variant: Variant::Units, ..Default::default() }),
        prevent::Verdict::Passed(_)
    ));
}

#[test]
fn the_contract_test_catches_the_ordering_assumption() {
    assert!(prevent::contract(&ApiConfig::default(), 1).caught());
    assert!(!prevent::contract(&ApiConfig { workers: 1, ..Default::default() }, 1).caught());
    assert!(!prevent::contract(&ApiConfig { per_entity_ordering: true, ..Default::default() }, 1).caught());
}

#[test]
fn write_read_catch_probability_comes_from_the_data() {
    let flow = EncodingConfig { non_ascii_share: 0.05, ..Default::default() }.flow().unwrap();
    let mut rng = derive_rng(10, "write-read", 0);
    let w = prevent::write_read(&flow, 100, 5000, &mut rng).unwrap();
    assert!((w.failing_share - 0.05).abs() < tolerance(0.05, 5000), "{w:?}");
    assert!((w.p_catch - (1.0 - (1.0 - w.failing_share).powi(100))).abs() < 1e-12);
    assert!(w.p_catch > 0.99 && w.caught, "{w:?}");
    let small = prevent::write_read(&flow, 1, 5000, &mut rng).unwrap();
    assert!(small.p_catch < 0.1);
    // Compression fails on every record: one sample is enough.
    let c = prevent::write_read(&CompressionConfig::default().flow().unwrap(), 1, 100, &mut rng).unwrap();
    assert_eq!((c.caught, c.failing_share), (true, 1.0));
    let e = prevent::write_read(&flow, 0, 10, &mut rng).unwrap_err();
    assert_eq!(e.field, "prevent.write-read");
}

#[test]
fn a_run_is_deterministic_by_seed() {
    let run = |seed: u64| {
        let cfg = EncodingConfig { records: 1000, decode: Decode::Lossy, ..Default::default() };
        let observer = Observer::new();
        let mut sim = flow::install(builder(seed), cfg.flow().unwrap(), &observer).build().unwrap();
        sim.run();
        (observer.result(), format!("{}", sim.report().metrics))
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert!(a.1.contains("csi_records"), "{}", a.1);
    assert_eq!(run_api(&ApiConfig::default(), 11), run_api(&ApiConfig::default(), 11));
    assert_eq!(
        run_config(&ConfigScenario { requests: 200, ..Default::default() }, 11),
        run_config(&ConfigScenario { requests: 200, ..Default::default() }, 11)
    );
}

#[test]
fn bad_input_names_the_field_and_what_is_allowed() {
    let e = EncodingConfig { records: 0, ..Default::default() }.validate().unwrap_err();
    assert_eq!(e.field, "encoding.records");
    let e = ApiConfig { workers: 0, ..Default::default() }.validate().unwrap_err();
    assert!(e.to_string().starts_with("api.workers: must be between 1 and"), "{e}");
    let e = ConfigScenario { processing: Processing::Uniform { min: LINK * 2, max: LINK }, ..Default::default() }
        .validate()
        .unwrap_err();
    assert_eq!(e.field, "config.processing");
    let e = CompressionConfig { max_record_bytes: 1, ..Default::default() }.validate().unwrap_err();
    assert_eq!(e.field, "compression.max_record_bytes");
    assert!("nonsense".parse::<faultline_nodes::csi::Scenario>().unwrap_err().contains("metadata, encoding"));
}

#[test]
fn write_read_of_requests_runs_the_actors_and_its_odds_match_the_distribution() {
    // Without idempotency keys a request goes wrong exactly when its first attempt times out
    // (the retry applies it again, or every attempt times out): requests are independent, so
    // the share of samples of 5 that catch it must match 1 - (1 - p)^5.
    let cfg = ConfigScenario::default();
    let w = prevent::write_read_config(&cfg, 5, 2000, 3).unwrap();
    let p = cfg.timeout_probability(2 * LINK);
    let expected = 1.0 - (1.0 - p).powi(5);
    assert_eq!((w.sample, w.trials), (5, Some(400)));
    assert!((w.p_catch - expected).abs() < tolerance(expected, 400), "{w:?} against {expected}");
    assert!((w.failing_share - p).abs() < tolerance(p, 2000), "{w:?} against {p}");
    // Processing that always fits the timeout leaves nothing to catch.
    let fast = ConfigScenario { processing: Processing::Constant { value: Duration::from_secs(5) }, ..cfg };
    let w = prevent::write_read_config(&fast, 5, 100, 3).unwrap();
    assert_eq!((w.caught, w.p_catch), (false, 0.0));
}

#[test]
fn write_read_of_operations_catches_reordering_only_where_the_pool_reorders() {
    let w = prevent::write_read_api(&ApiConfig { workers: 8, ..Default::default() }, 20, 2000, 4).unwrap();
    assert!(w.p_catch > 0.5 && w.trials == Some(100), "{w:?}");
    let one = prevent::write_read_api(&ApiConfig { workers: 1, ..Default::default() }, 20, 400, 4).unwrap();
    assert_eq!((one.caught, one.p_catch), (false, 0.0));
    // One operation alone cannot be overtaken: a sample of 1 (one create) never catches it.
    let single = prevent::write_read_api(&ApiConfig { workers: 8, updates: 0, ..Default::default() }, 1, 200, 4);
    assert_eq!(single.unwrap().p_catch, 0.0);
}
