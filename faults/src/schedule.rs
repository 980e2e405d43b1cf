//! Turns a script into a timeline of core commands at exact virtual instants, with `for`
//! undoing each fault by itself, and installs it into a simulation.

use faultline::{Command, Message, NetFault, NodeId, Sim, SimTime, derive_rng};

use crate::parse::ScriptError;
use crate::script::{Action, Entry, NodeSet, Script, Timing};
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

/// The commands of a script, in the order they apply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Commands by time (then by script order).
    pub commands: Vec<Timed>,
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

fn occurrences(entry: &Entry, horizon: SimTime) -> Vec<SimTime> {
    match entry.timing {
        Timing::At(t) => vec![SimTime::ZERO + t],
        Timing::Now => vec![SimTime::ZERO],
        Timing::Every { period, from } => {
            let mut out = Vec::new();
            let mut t = SimTime::ZERO + from.unwrap_or(period);
            while t < horizon {
                out.push(t);
                t += period;
            }
            out
        }
    }
}

/// Expands a script into the commands it applies before `horizon` (the end of the run), with
/// random picks drawn from a generator seeded by `seed`. Fails before the run when a selector
/// matches no node.
pub fn compile(script: &Script, resolver: &Resolver, seed: u64, horizon: SimTime) -> Result<Timeline, ScriptError> {
    resolver.check(script)?;
    let mut rng = derive_rng(seed, "faults", 0);
    let mut timed = Vec::new();
    for (n, entry) in script.entries.iter().enumerate() {
        for (k, at) in occurrences(entry, horizon).into_iter().enumerate() {
            // Entry number and occurrence: unique, and the same for the script's reprint.
            let label = format!("fault{}.{k}", n + 1);
            let applied = commands(&entry.action, resolver, &mut rng, &label)?;
            let line = entry.pos.line;
            timed.extend(applied.commands.into_iter().map(|command| Timed { at, command, line }));
            if let Some(d) = entry.lasting {
                timed.extend(applied.undo.into_iter().map(|command| Timed { at: at + d, command, line }));
            }
        }
    }
    timed.sort_by_key(|t| t.at); // stable: same-instant commands keep script order
    Ok(Timeline { commands: timed })
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
}
