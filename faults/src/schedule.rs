//! Turns a script into a timeline of core commands at exact virtual instants, with `for`
//! undoing each fault by itself, and installs it into a simulation.
//!
//! The timeline is bounded: a script that would make more commands than the caller's limit
//! (`every 1ns ...` over a long run) is refused before its commands are made, with the line and
//! the count. Time arithmetic is checked: an instant past the last representable one is past
//! every run. Entries that begin after the end of the run are reported in
//! [`Timeline::after_end`], never silently dropped.

use std::fmt;
use std::time::Duration;

use faultline::{Command, Message, NetFault, NodeId, Sim, SimTime, derive_rng, format_duration};

use crate::parse::ScriptError;
use crate::script::{Action, NodeSet, Script, Timing};
use crate::select::Resolver;

/// One command at one instant, and the script line it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// When it applies.
    pub at: SimTime,
    /// What.
    pub command: Command,
    /// The script line (0 for generated undo of live commands).
    pub line: usize,
}

/// How many commands [`compile`] makes at most; [`compile_limited`] takes another limit
/// (scenarios set it from `--max-fault-commands`).
pub const DEFAULT_MAX_COMMANDS: usize = 1_000_000;

/// A script entry that first applies after the end of the run, so never does.
#[derive(Clone, Debug, PartialEq)]
pub struct AfterEnd {
    /// The script line (0 for entries without one, such as the nemesis's).
    pub line: usize,
    /// When it would first apply.
    pub at: SimTime,
    /// The end of the run.
    pub horizon: SimTime,
    /// The entry, as the script prints it.
    pub entry: String,
}

impl fmt::Display for AfterEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: '{}' first applies at {}, after the end of the run at {}: it never applies",
            origin(self.line),
            self.entry,
            self.at,
            self.horizon
        )
    }
}

/// Where a command came from, for messages: `fault script line 3`, or `nemesis` for entries
/// without a line (the nemesis writes its script without positions).
pub(crate) fn origin(line: usize) -> String {
    if line == 0 { "nemesis".to_string() } else { format!("fault script line {line}") }
}

/// The commands of a script, in the order they apply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Commands by time (then by script order).
    pub commands: Vec<Timed>,
    /// Entries that begin after the end of the run: they are not in `commands`, and the caller
    /// should tell the user (as a warning or an error).
    pub after_end: Vec<AfterEnd>,
}

impl Timeline {
    /// Schedules every command in `sim`.
    pub fn install<M: Message>(&self, sim: &Sim<M>) -> Result<(), faultline::ControlError> {
        for t in &self.commands {
            sim.schedule(t.at, t.command.clone())?;
        }
        Ok(())
    }

    /// The first and last instants of the timeline: when faults begin and when the last one ends.
    pub fn span(&self) -> Option<(SimTime, SimTime)> {
        Some((self.commands.first()?.at, self.commands.last()?.at))
    }
}

/// The node sets an action names.
pub(crate) fn sets(action: &Action) -> Vec<&NodeSet> {
    match action {
        Action::Partition { groups, .. } => groups.iter().collect(),
        Action::Cut { from, to, .. } | Action::Link { from, to, .. } => vec![from, to],
        Action::Isolate { nodes, .. } | Action::Skew { nodes, .. } | Action::Drift { nodes, .. } => vec![nodes],
        Action::Crash(n) | Action::Restart(n) | Action::Pause(n) | Action::Resume(n) => vec![n],
        Action::Heal(_) | Action::Stop => Vec::new(),
    }
}

/// A fault as core commands, and the commands that undo it.
pub struct Applied {
    /// Commands that make the fault.
    pub commands: Vec<Command>,
    /// Commands that undo it (for `for`).
    pub undo: Vec<Command>,
}

/// The core commands of one action, resolving nodes now (random picks draw from `rng`);
/// partitions carry `label` so that their undo heals only them.
pub fn commands(
    action: &Action,
    resolver: &Resolver,
    rng: &mut faultline::SimRng,
    label: &str,
) -> Result<Applied, ScriptError> {
    let ids = |set: &NodeSet, rng: &mut faultline::SimRng| resolver.resolve(set, rng);
    let cut = |fault: NetFault| Applied {
        commands: vec![Command::Net(fault)],
        undo: vec![Command::Net(NetFault::Heal { label: Some(label.to_string()) })],
    };
    let each = |set: &NodeSet,
                rng: &mut faultline::SimRng,
                make: &dyn Fn(NodeId) -> Command,
                unmake: &dyn Fn(NodeId) -> Command| {
        let nodes = ids(set, rng)?;
        Ok(Applied {
            commands: nodes.iter().map(|&n| make(n)).collect(),
            undo: nodes.iter().map(|&n| unmake(n)).collect(),
        })
    };
    let label = Some(label.to_string());
    Ok(match action {
        Action::Partition { groups, mode } => {
            let groups = groups.iter().map(|g| ids(g, rng)).collect::<Result<_, _>>()?;
            cut(NetFault::Partition { groups, mode: *mode, label })
        }
        Action::Cut { from, to, mode } => {
            cut(NetFault::OneWay { from: ids(from, rng)?, to: ids(to, rng)?, mode: *mode, label })
        }
        Action::Isolate { nodes, mode } => {
            cut(NetFault::Partition { groups: vec![ids(nodes, rng)?], mode: *mode, label })
        }
        Action::Heal(label) => {
            Applied { commands: vec![Command::Net(NetFault::Heal { label: label.clone() })], undo: Vec::new() }
        }
        Action::Link { from, to, patch } => {
            let side = |set: &NodeSet, rng: &mut faultline::SimRng| -> Result<Vec<Option<NodeId>>, ScriptError> {
                if resolver.is_everyone(set) {
                    Ok(vec![None])
                } else {
                    Ok(ids(set, rng)?.into_iter().map(Some).collect())
                }
            };
            let (senders, receivers) = (side(from, rng)?, side(to, rng)?);
            let mut applied = Applied { commands: Vec::new(), undo: Vec::new() };
            for &f in &senders {
                for &t in &receivers {
                    let reset = Command::Net(NetFault::ResetLink { from: f, to: t });
                    match patch {
                        Some(p) => {
                            applied.commands.push(Command::Net(NetFault::SetLink { from: f, to: t, patch: p.clone() }));
                            applied.undo.push(reset);
                        }
                        None => applied.commands.push(reset),
                    }
                }
            }
            applied
        }
        Action::Crash(set) => each(set, rng, &Command::Crash, &Command::Restart)?,
        Action::Restart(set) => each(set, rng, &Command::Restart, &Command::Crash)?,
        Action::Pause(set) => each(set, rng, &Command::Pause, &Command::Resume)?,
        Action::Resume(set) => each(set, rng, &Command::Resume, &Command::Pause)?,
        Action::Skew { nodes, nanos } => each(nodes, rng, &|node| Command::Skew { node, nanos: *nanos }, &|node| {
            Command::Skew { node, nanos: -nanos }
        })?,
        Action::Drift { nodes, ppm } => {
            each(nodes, rng, &|node| Command::Drift { node, ppm: *ppm }, &|node| Command::Drift { node, ppm: 0.0 })?
        }
        Action::Stop => Applied { commands: vec![Command::Stop], undo: Vec::new() },
    })
}

/// `t + d`, or `None` past the last representable instant.
fn checked_add(t: SimTime, d: Duration) -> Option<SimTime> {
    u64::try_from(d.as_nanos()).ok().and_then(|d| t.as_nanos().checked_add(d)).map(SimTime::from_nanos)
}

/// When an entry applies before `horizon`: its first instant and how many times (a lazy
/// description, so that `every 1ns` costs nothing until it is counted against the limit).
/// `None` when it first applies after the end of the run.
fn occurrences(timing: &Timing, horizon: SimTime) -> Result<(SimTime, u64), SimTime> {
    match *timing {
        Timing::At(t) => {
            let at = SimTime::from_duration(t);
            if at > horizon { Err(at) } else { Ok((at, 1)) }
        }
        Timing::Now => Ok((SimTime::ZERO, 1)),
        Timing::Every { period, from } => {
            let first = SimTime::from_duration(from.unwrap_or(period));
            let period = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1);
            // As for `at`: an instant at the horizon itself still applies (the run's last
            // instant fires its events); only one past it is after the end. Pinned by
            // `any_script_compiles_within_the_limit_or_is_refused` (faults/tests/fuzz.rs), which
            // found `every 18446744073709551615ns` at a horizon of that many nanoseconds
            // reported as after the end.
            if first > horizon {
                return Err(first);
            }
            // Instants first, first + period, ... up to the horizon. Every nanosecond of the
            // longest run is one more instant than a u64 counts: it saturates, far past any
            // limit (found by the same test: `every 1ns from 0s` at that horizon overflowed).
            Ok((first, ((horizon.as_nanos() - first.as_nanos()) / period).saturating_add(1)))
        }
    }
}

/// A count for a message: exact below a million, `1.2e11` above.
fn count_words(n: u128) -> String {
    if n < 1_000_000 { n.to_string() } else { format!("{:.1e}", n as f64) }
}

/// Expands a script into the commands it applies before `horizon` (the end of the run), with
/// random picks drawn from a generator seeded by `seed`. Fails before the run when a selector
/// matches no node, or when the script makes more than [`DEFAULT_MAX_COMMANDS`] commands.
pub fn compile(script: &Script, resolver: &Resolver, seed: u64, horizon: SimTime) -> Result<Timeline, ScriptError> {
    compile_limited(script, resolver, seed, horizon, DEFAULT_MAX_COMMANDS)
}

/// [`compile`] with at most `max_commands` commands in the timeline. An entry that would pass
/// the limit is refused before its commands are made: "'every 1ns' from 1ns to the end of the
/// run at 120s makes 2.4e11 commands; the limit is 1000000 (--max-fault-commands)", at the
/// entry's line.
pub fn compile_limited(
    script: &Script,
    resolver: &Resolver,
    seed: u64,
    horizon: SimTime,
    max_commands: usize,
) -> Result<Timeline, ScriptError> {
    resolver.check(script)?;
    let mut rng = derive_rng(seed, "faults", 0);
    let mut timed = Vec::new();
    let mut after_end = Vec::new();
    for (n, entry) in script.entries.iter().enumerate() {
        let line = entry.pos.line;
        let (first, count) = match occurrences(&entry.timing, horizon) {
            Ok(o) => o,
            Err(at) => {
                after_end.push(AfterEnd { line, at, horizon, entry: entry.to_string() });
                continue;
            }
        };
        let period = match entry.timing {
            Timing::Every { period, .. } => period,
            _ => Duration::ZERO,
        };
        for k in 0..count {
            // Checked: occurrences() counted only instants up to the horizon.
            let at = SimTime::from_nanos(first.as_nanos() + k * u64::try_from(period.as_nanos()).unwrap_or(0));
            // Entry number and occurrence: unique, and the same for the script's reprint.
            let label = format!("fault{}.{k}", n + 1);
            let applied = commands(&entry.action, resolver, &mut rng, &label)?;
            let per = applied.commands.len() + if entry.lasting.is_some() { applied.undo.len() } else { 0 };
            // The first occurrence tells what each costs: refuse the entry before making the rest.
            let needed = timed.len() as u128 + u128::from(if k == 0 { count } else { 1 }) * per as u128;
            if needed > max_commands as u128 {
                let what = match &entry.timing {
                    Timing::Every { period, .. } => format!(
                        "'every {}' from {first} to the end of the run at {horizon} makes {} commands",
                        format_duration(*period),
                        count_words(u128::from(count) * per as u128)
                    ),
                    _ => format!("the script makes {} commands by this entry", count_words(needed)),
                };
                return Err(ScriptError::at(
                    entry.pos,
                    format!("{what}; the limit is {max_commands} (--max-fault-commands)"),
                ));
            }
            for command in &applied.commands {
                command.validate().map_err(|e| ScriptError::at(entry.pos, e.to_string()))?;
            }
            timed.extend(applied.commands.into_iter().map(|command| Timed { at, command, line }));
            // An undo past the last representable instant is past every run: nothing to schedule.
            if let Some(undo_at) = entry.lasting.and_then(|d| checked_add(at, d)) {
                timed.extend(applied.undo.into_iter().map(|command| Timed { at: undo_at, command, line }));
            }
        }
    }
    timed.sort_by_key(|t| t.at); // stable: same-instant commands keep script order
    Ok(Timeline { commands: timed, after_end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_script;
    use faultline::CutMode;
    use std::time::Duration;

    fn names() -> Vec<String> {
        ["client-0", "client-1", "server", "replica-1", "replica-2", "replica-3"].map(String::from).to_vec()
    }

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn for_undoes_and_every_repeats_until_the_horizon() {
        let script = parse_script(
            "at 20s for 10s partition clients | server\nevery 30s for 5s isolate random(replica-*)\nat 30s crash replica-2\n",
        )
        .unwrap();
        let r = Resolver::new(&names()).alias("clients", "client-*");
        let t = compile(&script, &r, 1, at(100)).unwrap();
        let words: Vec<String> =
            t.commands.iter().map(|c| format!("{} {}", c.at, c.command.describe(r.names()))).collect();
        assert_eq!(words[0], "20.000000000s partition client-0,client-1 | server as fault1.0");
        assert_eq!(words[1], "30.000000000s heal fault1.0");
        assert!(words[2].starts_with("30.000000000s partition replica-"), "{}", words[2]);
        assert_eq!(words[3], "30.000000000s crash replica-2");
        assert_eq!(words[4], "35.000000000s heal fault2.0");
        assert_eq!(t.commands.iter().filter(|c| c.command.kind() == "partition").count(), 1 + 3, "at 30, 60 and 90 s");
        assert_eq!(t.span(), Some((at(20), at(95))));
        // The random picks are the seed's: the same seed, the same picks.
        assert_eq!(compile(&script, &r, 1, at(100)).unwrap(), t);
    }

    #[test]
    fn undo_of_every_kind() {
        let script = parse_script(
            "at 1s for 1s pause server\nat 1s for 1s skew server +5ms\nat 1s for 1s drift server 10ppm\nat 1s for 1s link * -> server loss 0.5\nat 1s for 1s cut server -> client-0 hold\n",
        )
        .unwrap();
        let r = Resolver::new(&names());
        let t = compile(&script, &r, 1, at(10)).unwrap();
        let undo: Vec<String> =
            t.commands.iter().filter(|c| c.at == at(2)).map(|c| c.command.describe(r.names())).collect();
        assert_eq!(
            undo,
            vec!["resume server", "skew server -5ms", "drift server 0ppm", "link * -> server reset", "heal fault5.0"]
        );
        let cut = &t.commands.iter().find(|c| c.command.kind() == "one-way").unwrap().command;
        assert!(matches!(cut, Command::Net(NetFault::OneWay { mode: CutMode::Hold, .. })));
    }

    #[test]
    fn unknown_nodes_fail_before_the_run() {
        let script = parse_script("at 1s crash server\nat 2s isolate replica-9\n").unwrap();
        let e = compile(&script, &Resolver::new(&names()), 1, at(10)).unwrap_err();
        assert_eq!(e.pos.line, 2);
        assert_eq!(e.pos.column, 15);
        assert!(e.message.starts_with("'replica-9' matches no node"));
    }

    fn clients() -> Resolver {
        Resolver::new(&names())
    }

    // Pins issue 8: `every 1us ...` and `every 1ns crash client-1` over a 120 s run made
    // 1.2e8 and 1.2e11 commands and ran out of memory. Now refused before anything is made.
    #[test]
    fn a_schedule_past_the_limit_is_refused_with_its_line_and_count() {
        let script = parse_script("at 1s crash server\n\nevery 1ns crash client-1\n").unwrap();
        let e = compile(&script, &clients(), 1, at(120)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3, column 1: 'every 1ns' from 0.000000001s to the end of the run at 120.000000000s makes 1.2e11 \
             commands; the limit is 1000000 (--max-fault-commands)"
        );
        let script = parse_script("every 1us for 500ns pause client-1\n").unwrap();
        let e = compile_limited(&script, &clients(), 1, at(120), 1000).unwrap_err();
        assert!(e.message.contains("makes 2.4e8 commands; the limit is 1000"), "{e}");
        // Many entries, each within the limit, still add up to it.
        let script = parse_script(&"at 1s crash *\n".repeat(200)).unwrap();
        let e = compile_limited(&script, &clients(), 1, at(120), 1000).unwrap_err();
        assert_eq!(e.pos.line, 167, "6 commands each: the 167th entry passes 1000");
        assert!(e.message.starts_with("the script makes 1002 commands by this entry"), "{e}");
        let ok = compile_limited(&parse_script("every 1s crash client-1\n").unwrap(), &clients(), 1, at(120), 120);
        assert_eq!(ok.unwrap().commands.len(), 120, "at 1..=120 s: exactly the limit is allowed");
    }

    // Pins issue 8: fault entries after the end of the run were ignored without a word.
    #[test]
    fn entries_after_the_end_are_reported_not_scheduled() {
        let script =
            parse_script("at 10s crash server\nat 200s crash client-1\nevery 1s from 150s pause server\n").unwrap();
        let t = compile(&script, &clients(), 1, at(120)).unwrap();
        assert_eq!(t.commands.len(), 1);
        let late: Vec<String> = t.after_end.iter().map(ToString::to_string).collect();
        assert_eq!(
            late,
            vec![
                "fault script line 2: 'at 200s crash client-1' first applies at 200.000000000s, after the end of the run at 120.000000000s: it never applies",
                "fault script line 3: 'every 1s from 150s pause server' first applies at 150.000000000s, after the end of the run at 120.000000000s: it never applies",
            ]
        );
    }

    // Pins issue 8: time arithmetic in the schedule saturated or wrapped for huge `at`, `every`
    // and `for`. The largest values give an exact schedule, and nothing past the last instant.
    #[test]
    fn huge_times_neither_wrap_nor_loop() {
        let max = "18446744073709551615ns";
        let script = parse_script(&format!(
            "at {max} crash server\nat 1s for {max} pause server\nevery {max} from 0s crash client-0\n"
        ))
        .unwrap();
        let t = compile(&script, &clients(), 1, SimTime::MAX).unwrap();
        let when: Vec<(u64, &str)> = t.commands.iter().map(|c| (c.at.as_nanos(), c.command.kind())).collect();
        assert_eq!(
            when,
            vec![(0, "crash"), (1_000_000_000, "pause"), (u64::MAX, "crash"), (u64::MAX, "crash")],
            "'every {max} from 0s' applies at 0 and at the last instant; the undo of 'for {max}' from 1 s \
             would be past the last instant: not scheduled"
        );
    }

    // Found by the fuzz test: `every 18446744073709551615ns` whose first instant is the run's
    // last was reported as "after the end", while `at` that instant applies (the run's last
    // instant fires its events). Both now apply up to and including the horizon.
    #[test]
    fn an_entry_at_the_last_instant_applies_whether_at_or_every() {
        let script = parse_script("every 18446744073709551615ns crash client-1\nat 120s crash client-0\n").unwrap();
        let t = compile(&script, &clients(), 1, SimTime::MAX).unwrap();
        assert!(t.after_end.is_empty(), "{:?}", t.after_end.iter().map(ToString::to_string).collect::<Vec<_>>());
        assert_eq!(t.commands.len(), 2);
        let t = compile(&parse_script("every 60s crash client-1\n").unwrap(), &clients(), 1, at(120)).unwrap();
        assert_eq!(t.commands.iter().map(|c| c.at).collect::<Vec<_>>(), vec![at(60), at(120)]);
    }

    // Pins issue 8: `link ... latency 18446744073709551615ns` wrapped the delivery time.
    #[test]
    fn link_delays_beyond_any_run_are_refused_at_their_column() {
        let e = parse_script("at 1s link * -> server latency 18446744073709551615ns\n").unwrap_err();
        assert_eq!(e.pos.column, 32);
        assert!(e.message.contains("longer than any run: each of its durations must be at most 24h"), "{e}");
        let e = parse_script("at 1s link * -> server jitter 25h\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1, column 31: link jitter 25h is longer than any run: allowed 0s to 24h");
    }
}
