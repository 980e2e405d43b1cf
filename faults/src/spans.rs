//! When faults were in force: the intervals of a timeline during which at least one fault it
//! made was still active (a partition not yet healed, a node crashed or paused and not yet
//! back, a link changed and not yet reset), so that a study's phases and charts can follow any
//! trigger: a script entry, the nemesis, or a live command. A clock step or drift is an instant.

use std::collections::BTreeSet;

use faultline::{Command, NetFault, SimTime};

use crate::schedule::Timed;

/// One interval during which faults were active.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpan {
    /// The first command of the interval.
    pub from: SimTime,
    /// When the last active fault was undone (the end of the run for one never undone; equal to
    /// `from` for an instant such as a clock step).
    pub to: SimTime,
    /// The kinds of fault in it, in order of first appearance (`partition`, `crash`).
    pub kinds: Vec<&'static str>,
}

impl FaultSpan {
    /// The kinds in words: `partition + crash`.
    pub fn label(&self) -> String {
        self.kinds.join(" + ")
    }
}

/// What a command starts (`Some(key)`) or ends (`Err(keys it ends)`), keyed so that its undo
/// finds it.
enum Effect {
    Starts(String),
    Ends(Box<dyn Fn(&str) -> bool>),
    Instant,
    Nothing,
}

fn effect(c: &Command) -> Effect {
    match c {
        Command::Net(NetFault::Partition { label, .. } | NetFault::OneWay { label, .. }) => {
            Effect::Starts(format!("net:{}", label.as_deref().unwrap_or("")))
        }
        Command::Net(NetFault::Heal { label: Some(l) }) => {
            let key = format!("net:{l}");
            Effect::Ends(Box::new(move |k| k == key))
        }
        Command::Net(NetFault::Heal { label: None }) => Effect::Ends(Box::new(|k| k.starts_with("net:"))),
        Command::Net(NetFault::SetLink { from, to, .. }) => Effect::Starts(format!("link:{from:?}>{to:?}")),
        Command::Net(NetFault::ResetLink { from: None, to: None }) => {
            Effect::Ends(Box::new(|k| k.starts_with("link:")))
        }
        Command::Net(NetFault::ResetLink { from, to }) => {
            let key = format!("link:{from:?}>{to:?}");
            Effect::Ends(Box::new(move |k| k == key))
        }
        Command::Crash(n) | Command::Pause(n) => Effect::Starts(format!("down:{}", n.index())),
        Command::Restart(n) | Command::Resume(n) => {
            let key = format!("down:{}", n.index());
            Effect::Ends(Box::new(move |k| k == key))
        }
        Command::Skew { .. } | Command::Drift { .. } => Effect::Instant,
        Command::Stop => Effect::Nothing,
    }
}

/// The intervals of `commands` (in time order, as a [`crate::Timeline`] holds them) during
/// which some fault was active, up to `end`.
pub fn fault_spans(commands: &[Timed], end: SimTime) -> Vec<FaultSpan> {
    let mut spans: Vec<FaultSpan> = Vec::new();
    let mut active: BTreeSet<String> = BTreeSet::new();
    let mut open: Option<FaultSpan> = None;
    for t in commands.iter().filter(|t| t.at <= end) {
        let kind = t.command.kind();
        match effect(&t.command) {
            Effect::Starts(key) => {
                active.insert(key);
                let span = open.get_or_insert_with(|| FaultSpan { from: t.at, to: t.at, kinds: Vec::new() });
                if !span.kinds.contains(&kind) {
                    span.kinds.push(kind);
                }
            }
            Effect::Ends(matches) => {
                active.retain(|k| !matches(k));
                if active.is_empty()
                    && let Some(mut span) = open.take()
                {
                    span.to = t.at;
                    spans.push(span);
                }
            }
            Effect::Instant => match &mut open {
                Some(span) if !span.kinds.contains(&kind) => span.kinds.push(kind),
                Some(_) => {}
                None => spans.push(FaultSpan { from: t.at, to: t.at, kinds: vec![kind] }),
            },
            Effect::Nothing => {}
        }
    }
    if let Some(mut span) = open {
        span.to = end;
        spans.push(span);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Resolver, compile, parse_script};
    use std::time::Duration;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn overlapping_faults_make_one_span_and_an_unhealed_one_lasts_to_the_end() {
        let script = parse_script(
            "at 10s for 10s partition a | b\nat 15s for 10s crash c\nat 40s skew a +1s\nat 50s pause b\nat 60s heal\n",
        )
        .unwrap();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let t = compile(&script, &Resolver::new(&names), 1, at(100)).unwrap();
        let spans = fault_spans(&t.commands, at(100));
        let words: Vec<(u64, u64, String)> =
            spans.iter().map(|s| (s.from.as_secs_f64() as u64, s.to.as_secs_f64() as u64, s.label())).collect();
        assert_eq!(
            words,
            vec![
                (10, 25, "partition + crash".to_string()),
                (40, 40, "skew".to_string()),
                (50, 100, "pause".to_string()), // a heal does not resume a paused node
            ]
        );
    }
}
