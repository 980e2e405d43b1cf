//! A live session written down: every command live control applied becomes a script entry at
//! the virtual instant it applied, with its nodes resolved (a `random(...)` pick is written as
//! the node it picked). Appended to the run's script (after its entries and the nemesis's),
//! the entries replay the session with `--faults`: a partition a live command made is labelled
//! `liveN` in the session and `faultM.0` in the replay, so a recorded `heal liveN` is written as
//! `heal faultM.0`.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use faultline::{Command, NetFault, NodeId, SimTime};

use crate::schedule::Timed;
use crate::script::{Action, Entry, NodeSet, Pos, Selector, Timing};

/// The commands a live session applied, shared between live control (which records) and the
/// run (which reads them at its end). Cloning shares the same record.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    inner: Arc<(Mutex<State>, Condvar)>,
}

#[derive(Debug, Default)]
struct State {
    /// Entries the run's script has before the recorded ones.
    first_entry: usize,
    entries: Vec<Entry>,
    timed: Vec<Timed>,
    /// Live partition labels and the labels the replay gives them.
    labels: BTreeMap<String, String>,
    /// Commands sent to the sim whose outcome is not recorded yet.
    pending: usize,
}

impl Recording {
    /// An empty recording for a run whose script (its file's entries and the nemesis's) has
    /// `first_entry` entries: the recorded ones come after them.
    pub fn new(first_entry: usize) -> Self {
        let state = State { first_entry, ..State::default() };
        Recording { inner: Arc::new((Mutex::new(state), Condvar::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A command is on its way to the sim: [`Recording::settle`] waits for its outcome.
    pub fn begin(&self) {
        self.lock().pending += 1;
    }

    /// The outcome of a command [`Recording::begin`] announced is known (and recorded if it
    /// applied).
    pub fn end(&self) {
        let mut st = self.lock();
        st.pending = st.pending.saturating_sub(1);
        self.inner.1.notify_all();
    }

    /// Once the sim is gone, waits (at most `timeout`) until every command sent to it has its
    /// outcome recorded: a command applied at the run's last instant (`stop`) is in the record.
    pub fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while st.pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self.inner.1.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// The recorded entries, in the order they applied.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.clone()
    }

    /// The applied commands with their instants (live commands have script line 0).
    pub fn timed(&self) -> Vec<Timed> {
        self.lock().timed.clone()
    }

    /// Records `command`, applied at `at`; `names` are the run's nodes by id.
    pub fn record(&self, at: SimTime, command: &Command, names: &[String]) {
        let mut st = self.lock();
        let index = st.first_entry + st.entries.len() + 1;
        let action = match command {
            Command::Net(NetFault::Partition { label: Some(l), .. } | NetFault::OneWay { label: Some(l), .. }) => {
                st.labels.insert(l.clone(), format!("fault{index}.0"));
                action(command, names, &BTreeMap::new())
            }
            _ => action(command, names, &st.labels),
        };
        let entry = Entry {
            timing: Timing::At(Duration::from_nanos(at.as_nanos())),
            lasting: None,
            action,
            pos: Pos::default(),
        };
        st.entries.push(entry);
        st.timed.push(Timed { at, command: command.clone(), line: 0 });
    }
}

fn set(ids: &[NodeId], names: &[String]) -> NodeSet {
    NodeSet(
        ids.iter()
            .map(|id| Selector {
                pattern: names.get(id.index()).cloned().unwrap_or_else(|| format!("#{}", id.index())),
                random: false,
                pos: Pos::default(),
            })
            .collect(),
    )
}

fn side(id: Option<NodeId>, names: &[String]) -> NodeSet {
    match id {
        Some(id) => set(&[id], names),
        None => NodeSet(vec![Selector { pattern: "*".into(), random: false, pos: Pos::default() }]),
    }
}

/// The script action that applies `command`, with heal labels translated through `labels`.
fn action(command: &Command, names: &[String], labels: &BTreeMap<String, String>) -> Action {
    match command {
        Command::Net(NetFault::Partition { groups, mode, .. }) if groups.len() == 1 => {
            Action::Isolate { nodes: set(&groups[0], names), mode: *mode }
        }
        Command::Net(NetFault::Partition { groups, mode, .. }) => {
            Action::Partition { groups: groups.iter().map(|g| set(g, names)).collect(), mode: *mode }
        }
        Command::Net(NetFault::OneWay { from, to, mode, .. }) => {
            Action::Cut { from: set(from, names), to: set(to, names), mode: *mode }
        }
        Command::Net(NetFault::Heal { label }) => {
            Action::Heal(label.as_ref().map(|l| labels.get(l).cloned().unwrap_or_else(|| l.clone())))
        }
        Command::Net(NetFault::SetLink { from, to, patch }) => {
            Action::Link { from: side(*from, names), to: side(*to, names), patch: Some(patch.clone()) }
        }
        Command::Net(NetFault::ResetLink { from, to }) => {
            Action::Link { from: side(*from, names), to: side(*to, names), patch: None }
        }
        Command::Crash(n) => Action::Crash(set(&[*n], names)),
        Command::Restart(n) => Action::Restart(set(&[*n], names)),
        Command::Pause(n) => Action::Pause(set(&[*n], names)),
        Command::Resume(n) => Action::Resume(set(&[*n], names)),
        Command::Skew { node, nanos } => Action::Skew { nodes: set(&[*node], names), nanos: *nanos },
        Command::Drift { node, ppm } => Action::Drift { nodes: set(&[*node], names), ppm: *ppm },
        Command::Stop => Action::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Resolver, compile, parse_script, schedule::commands};
    use faultline::derive_rng;

    fn names() -> Vec<String> {
        ["client-0", "client-1", "server"].map(String::from).to_vec()
    }

    #[test]
    fn recorded_commands_replay_as_the_same_commands_with_labels_translated() {
        let names = names();
        let resolver = Resolver::new(&names).alias("clients", "client-*");
        let rec = Recording::new(2);
        let mut rng = derive_rng(1, "live", 0);
        let t = |s: u64| SimTime::ZERO + Duration::from_millis(s);
        let mut applied = Vec::new();
        for (i, (ms, line)) in [
            (1500, "partition clients | server hold"),
            (2000, "crash random(client-*)"),
            (2500, "link * -> server latency 5ms"),
            (3001, "heal live1"),
            (3500, "skew server -250ms"),
        ]
        .into_iter()
        .enumerate()
        {
            let entry = crate::parse_live(line).unwrap().unwrap();
            let a = commands(&entry.action, &resolver, &mut rng, &format!("live{}", i + 1)).unwrap();
            for c in a.commands {
                rec.record(t(ms), &c, &names);
                applied.push((t(ms), c));
            }
        }
        let mut text = String::from("at 1s crash server\nat 1s restart server\n");
        for e in rec.entries() {
            text.push_str(&format!("{e}\n"));
        }
        assert!(text.contains("at 1500ms partition client-0,client-1 | server hold\n"), "{text}");
        assert!(text.contains("at 3001ms heal fault3.0\n"), "the replay's label for the live partition: {text}");
        let replay = compile(&parse_script(&text).unwrap(), &resolver, 99, t(10_000)).unwrap();
        let live: Vec<(SimTime, Command)> = replay.commands[2..].iter().map(|c| (c.at, c.command.clone())).collect();
        let label_of = |kind: &str| {
            live.iter().find_map(|(_, c)| match c {
                Command::Net(NetFault::Partition { label, .. }) if kind == "partition" => label.clone(),
                Command::Net(NetFault::Heal { label }) if kind == "heal" => label.clone(),
                _ => None,
            })
        };
        assert_eq!(label_of("heal"), label_of("partition"), "the recorded heal heals the recorded partition");
        let relabel = |c: &Command| match c {
            Command::Net(NetFault::Partition { groups, mode, .. }) => {
                Command::Net(NetFault::Partition { groups: groups.clone(), mode: *mode, label: None })
            }
            Command::Net(NetFault::Heal { .. }) => Command::Net(NetFault::Heal { label: None }),
            c => c.clone(),
        };
        let norm = |v: &[(SimTime, Command)]| v.iter().map(|(t, c)| (*t, relabel(c))).collect::<Vec<_>>();
        assert_eq!(norm(&live), norm(&applied), "the same commands at the same instants");
        assert_eq!(rec.timed().len(), applied.len());
    }
}
