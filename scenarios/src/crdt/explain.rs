//! The words of the crdt study's report page: "what you are seeing" (the mechanism, with one
//! run's numbers) and experiments to try, each an exact command line.

use std::fmt::Write as _;

use faultline::time::format_duration;
use faultline_nodes::crdt::{CrdtKind, Mode};

use super::{Summary, bytes};

/// "What you are seeing": a few sentences that explain the mechanism with this run's numbers.
pub fn explain(s: &Summary) -> String {
    let p = &s.params;
    let mut out = format!(
        "Each of the {} replicas gossips every {} with {} peer{} chosen at random ({} topology); each exchange happens with probability {} and crosses the emulated network ({} one way), so every merge is a message that can be late, lost or cut off. ",
        p.replicas,
        format_duration(p.gossip_interval),
        p.fanout,
        if p.fanout == 1 { "" } else { "s" },
        s.topology,
        p.merge_probability,
        p.net_delay
    );
    match (s.converged, s.converged_at_s, s.convergence_s) {
        (true, Some(at), Some(c)) => {
            let _ = write!(
                out,
                "Every replica held the same state (the state, not only the value) from {at:.3} s, {c:.3} s after the last of {} operations. ",
                s.ops.acknowledged
            );
        }
        _ => {
            let _ = write!(
                out,
                "The replicas had not converged by the end ({} distinct values among them): gossip had not carried every update everywhere. ",
                s.values.distinct
            );
        }
    }
    para(&mut out);
    let a = &s.anomalies;
    let n = |v: Option<u64>| v.unwrap_or(0);
    match p.kind {
        CrdtKind::GCounter | CrdtKind::PnCounter => {
            let _ = write!(
                out,
                "A {} keeps one entry per replica{}, and a merge takes each entry's maximum, so no increment is counted twice or lost: {} {} against the {} the operations add up to. ",
                p.kind.name(),
                if p.kind == CrdtKind::PnCounter { " for increments and one for decrements" } else { "" },
                if s.converged {
                    "it ends at"
                } else {
                    "their states joined (what gossip would bring every replica to) hold"
                },
                s.value,
                s.expected
            );
            if let Some(b) = &s.baseline {
                let _ = write!(
                    out,
                    "A single counter merged by maximum, on the same operations, ended at {}: concurrent increments at different replicas were swallowed by the max ({} lost). ",
                    b.value, b.errors
                );
            }
        }
        CrdtKind::OrSet => {
            let _ = write!(
                out,
                "The OR-Set tags every add uniquely, and a remove deletes only the tags it has seen: an add concurrent with a remove survives it ({} add-wins outcome{} here), and a remove that saw an element stays removed whatever merges come later ({} of the last adds lost). ",
                n(a.orset_add_wins),
                if n(a.orset_add_wins) == 1 { "" } else { "s" },
                n(a.orset_lost_adds)
            );
            if let Some(b) = &s.baseline {
                let _ = write!(
                    out,
                    "A naive set (plain add and remove, union on merge) on the same operations ends with {} wrong element{} ({} removed, then brought back by a merge from a replica that still had it). ",
                    b.errors,
                    if b.errors == 1 { "" } else { "s" },
                    n(a.naive_set_resurrected)
                );
                if b.value == s.value {
                    out.push_str("On these operations it happens to end where the OR-Set does (the OR-Set's extra elements are its add-wins outcomes); the shopping-cart preset shows where the two part. ");
                }
            }
        }
        _ => {
            let _ = write!(
                out,
                "Each write carries its writer's own clock, and a merge keeps the highest stamp: {} acknowledged write{} vanished, beaten in a merge by a write that had not seen them, {} of them by a write that happened earlier in real time but carried a clock ahead{}. ",
                n(a.lww_lost_updates),
                if n(a.lww_lost_updates) == 1 { "" } else { "s" },
                n(a.lww_skew_wins),
                p.clock_skew.map_or(String::new(), |k| format!(" (replica 0 runs {} ahead)", format_duration(k)))
            );
        }
    }
    para(&mut out);
    let per = s.bytes.checked_div(s.messages).unwrap_or(0);
    match p.mode {
        Mode::State => {
            let _ = write!(
                out,
                "In state mode every message carries the whole state: {} messages, {} in all, {} each on average, for a state of up to {}.",
                s.messages,
                bytes(s.bytes),
                bytes(per),
                bytes(s.state_bytes.max as u64)
            );
        }
        Mode::Delta => {
            let _ = write!(
                out,
                "In delta mode a message carries only what the peer has not acknowledged, and the whole state ({} times here) to a peer never heard from or too far behind: {} messages, {} in all, {} each on average, for a state of up to {}.",
                s.full_states,
                s.messages,
                bytes(s.bytes),
                bytes(per),
                bytes(s.state_bytes.max as u64)
            );
        }
    }
    if let Some(part) = &s.partition {
        let _ = write!(
            out,
            "\n\nFrom {:.3} s to {:.3} s the two halves could not gossip; both kept accepting operations ({} of them then, every one acknowledged), and at least {} distinct states stood in every window; after the heal the gossip joined them.",
            part.from_s,
            part.to_s,
            s.ops.during_partition,
            s.min_distinct_in_partition.map_or("-".to_string(), |d| d.to_string())
        );
    }
    if !s.fault_windows.is_empty() {
        let spans: Vec<String> =
            s.fault_windows.iter().map(|f| format!("{} from {:.3} s to {:.3} s", f.kind, f.from_s, f.to_s)).collect();
        let _ = write!(
            out,
            "\n\nFaults ran (shaded; each is in faults.txt): {}. {} of {} planned operations were acknowledged (a replica that is down skips its own).",
            spans.join(", "),
            s.ops.acknowledged,
            s.ops.planned
        );
    }
    out
}

/// Ends a paragraph: the page separates paragraphs by a blank line.
fn para(out: &mut String) {
    out.truncate(out.trim_end().len());
    out.push_str("\n\n");
}

/// Experiments to try on the report page: a title and the exact command line (paths from the
/// repository root, as the README gives them).
pub fn experiments() -> Vec<(&'static str, String)> {
    [
        (
            "Convergence speed: merge probability 0.1 against 0.8",
            "crdt -- --type g-counter --sweep merge-probability=0.1,0.8 --seeds 5",
            "The table's convergence_s column: with 0.8 the replicas agree a few gossip rounds after the last operation, with 0.1 many times later.",
        ),
        (
            "OR-Set add-wins, and a naive set's resurrections, on the same operations",
            "crdt -- --config scenarios/presets/crdt/orset-add-wins.toml --out out/crdt-orset",
            "The anomalies table: orset_add_wins counts adds that survived a concurrent remove, by design; naive_set_resurrected counts removes a merge undid.",
        ),
        (
            "The shopping cart: two clients remove an item, one re-adds it",
            "crdt -- --config scenarios/presets/crdt/shopping-cart.toml",
            "The OR-Set ends with what the oracle says; the naive set keeps the removed item too.",
        ),
        (
            "LWW-Map: concurrent writes lose updates",
            "crdt -- --config scenarios/presets/crdt/lww-lost-updates.toml",
            "lww_lost_updates: acknowledged writes that no replica holds at the end.",
        ),
        (
            "LWW-Map: a clock ahead wins over later writes",
            "crdt -- --config scenarios/presets/crdt/lww-clock-skew.toml",
            "lww_skew_wins: writes beaten by one made earlier in real time on replica 0, whose clock runs ahead.",
        ),
        (
            "A partition: both halves keep accepting operations, diverge, and converge after the heal",
            "crdt -- --config scenarios/presets/crdt/partition.toml --out out/crdt-partition",
            "The divergence panel stays at two or more states while the partition is shaded, every operation is acknowledged, and the states join soon after the heal.",
        ),
        (
            "State against delta gossip: bytes sent for the same operations",
            "crdt -- --config scenarios/presets/crdt/delta-vs-state.toml --sweep mode=state,delta",
            "The bytes column: delta mode sends a fraction of what state mode sends, and both converge to the same value.",
        ),
        (
            "Tombstones: an OR-Set's state with and without garbage collection",
            "crdt -- --type or-set --topology full --remove-ratio 0.5 --sweep gc=false,true",
            "The state_bytes_max column: removed tags are kept so that a remove survives merges, and --gc forgets those every replica has seen.",
        ),
        (
            "10,000 replicas",
            "crdt -- --type g-counter --mode delta --replicas 10000 --gossip-interval 1s --fanout 1 --ops 10000 --op-rate 400 --duration 60s",
            "The scale benchmark: the terminal report gives the messages and bytes, whether and when the 10,000 replicas converged, and the wall time it took.",
        ),
    ]
    .into_iter()
    .map(|(t, c, look)| (t, format!("cargo run --release --bin {c}\n\n{look}")))
    .collect()
}
