//! The fault script as data: timed entries of fault actions on node selectors, and the
//! canonical text form they print in.

use std::fmt;
use std::time::Duration;

use faultline::{CutMode, LinkPatch, format_duration};

/// Where a piece of script text stands. Positions do not take part in equality, so a script
/// and its reprint compare equal.
#[derive(Clone, Copy, Debug, Default, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl PartialEq for Pos {
    fn eq(&self, _other: &Pos) -> bool {
        true
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Names one node or several: an exact name, an alias the scenario defines (`clients`), a glob
/// (`replica-*`, `*`), or one node drawn at random from a glob each time (`random(replica-*)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// The name, alias or glob.
    pub pattern: String,
    /// Draw one matching node at random each time the entry applies.
    pub random: bool,
    /// Where it was written.
    pub pos: Pos,
}

/// Comma-separated selectors: `client-1,client-2`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSet(pub Vec<Selector>);

/// A fault, with the nodes it acts on still unresolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `partition A | B [| C ...] [hold]`: nodes in no group form one more group.
    Partition {
        /// The groups.
        groups: Vec<NodeSet>,
        /// Drop or hold the messages it stops.
        mode: CutMode,
    },
    /// `cut A -> B [hold]`: messages from A to B only.
    Cut {
        /// Senders.
        from: NodeSet,
        /// Receivers.
        to: NodeSet,
        /// Drop or hold.
        mode: CutMode,
    },
    /// `isolate N [hold]`: N against everyone else.
    Isolate {
        /// The node(s) cut off, as one group.
        nodes: NodeSet,
        /// Drop or hold.
        mode: CutMode,
    },
    /// `heal`: every partition; `heal LABEL`: only the one labelled so (traces and live replies
    /// show labels: `fault3.0` for the third script entry, `live2` for the second live command).
    Heal(Option<String>),
    /// `link A -> B latency D jitter D loss P duplicate P`, or `link A -> B reset`.
    Link {
        /// Senders (`*`: all).
        from: NodeSet,
        /// Receivers (`*`: all).
        to: NodeSet,
        /// The settings to change; `None` resets the links to the default.
        patch: Option<LinkPatch>,
    },
    /// `crash N`.
    Crash(NodeSet),
    /// `restart N`.
    Restart(NodeSet),
    /// `pause N`.
    Pause(NodeSet),
    /// `resume N`.
    Resume(NodeSet),
    /// `skew N +250ms` (or `-250ms`).
    Skew {
        /// Whose clocks.
        nodes: NodeSet,
        /// The step, in nanoseconds.
        nanos: i64,
    },
    /// `drift N 100ppm` (or `-100ppm`).
    Drift {
        /// Whose clocks.
        nodes: NodeSet,
        /// Parts per million.
        ppm: f64,
    },
    /// `stop`: end the run.
    Stop,
}

impl Action {
    /// The action's first word.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Partition { .. } => "partition",
            Action::Cut { .. } => "cut",
            Action::Isolate { .. } => "isolate",
            Action::Heal(_) => "heal",
            Action::Link { .. } => "link",
            Action::Crash(_) => "crash",
            Action::Restart(_) => "restart",
            Action::Pause(_) => "pause",
            Action::Resume(_) => "resume",
            Action::Skew { .. } => "skew",
            Action::Drift { .. } => "drift",
            Action::Stop => "stop",
        }
    }

    /// True when `for` can undo it (a heal, restart, resume or stop has nothing to undo).
    pub fn can_last(&self) -> bool {
        !matches!(self, Action::Heal(_) | Action::Restart(_) | Action::Resume(_) | Action::Stop)
    }
}

/// When an entry applies.
#[derive(Clone, Debug, PartialEq)]
pub enum Timing {
    /// Once, at this virtual time.
    At(Duration),
    /// Repeatedly: at `from`, `from + period`, ... (`from` defaults to one period).
    Every {
        /// Time between occurrences.
        period: Duration,
        /// First occurrence.
        from: Option<Duration>,
    },
    /// Now (a live command).
    Now,
}

/// One line of a script.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// When.
    pub timing: Timing,
    /// How long the fault lasts before it is undone (`for`); `None`: until something undoes it.
    pub lasting: Option<Duration>,
    /// What.
    pub action: Action,
    /// Where the entry starts.
    pub pos: Pos,
}

/// A whole fault script.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    /// The entries, in the order written.
    pub entries: Vec<Entry>,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.random { write!(f, "random({})", self.pattern) } else { f.write_str(&self.pattern) }
    }
}

impl fmt::Display for NodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

fn mode(m: CutMode) -> &'static str {
    match m {
        CutMode::Drop => "",
        CutMode::Hold => " hold",
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Partition { groups, mode: m } => {
                let groups: Vec<String> = groups.iter().map(ToString::to_string).collect();
                write!(f, "partition {}{}", groups.join(" | "), mode(*m))
            }
            Action::Cut { from, to, mode: m } => write!(f, "cut {from} -> {to}{}", mode(*m)),
            Action::Isolate { nodes, mode: m } => write!(f, "isolate {nodes}{}", mode(*m)),
            Action::Heal(None) => f.write_str("heal"),
            Action::Heal(Some(label)) => write!(f, "heal {label}"),
            Action::Link { from, to, patch: Some(p) } => write!(f, "link {from} -> {to} {p}"),
            Action::Link { from, to, patch: None } => write!(f, "link {from} -> {to} reset"),
            Action::Crash(n) => write!(f, "crash {n}"),
            Action::Restart(n) => write!(f, "restart {n}"),
            Action::Pause(n) => write!(f, "pause {n}"),
            Action::Resume(n) => write!(f, "resume {n}"),
            Action::Skew { nodes, nanos } => {
                let sign = if *nanos < 0 { '-' } else { '+' };
                write!(f, "skew {nodes} {sign}{}", format_duration(Duration::from_nanos(nanos.unsigned_abs())))
            }
            Action::Drift { nodes, ppm } => write!(f, "drift {nodes} {ppm}ppm"),
            Action::Stop => f.write_str("stop"),
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.timing {
            Timing::At(t) => write!(f, "at {} ", format_duration(*t))?,
            Timing::Every { period, from } => {
                write!(f, "every {} ", format_duration(*period))?;
                if let Some(from) = from {
                    write!(f, "from {} ", format_duration(*from))?;
                }
            }
            Timing::Now => {}
        }
        if let Some(d) = self.lasting {
            write!(f, "for {} ", format_duration(d))?;
        }
        write!(f, "{}", self.action)
    }
}

/// The canonical form: one entry per line, no comments.
impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
