//! Reads fault scripts: one entry per line, `#` comments, errors with line, column and what was
//! expected.
//!
//! ```text
//! entry    := ("at" TIME | "every" PERIOD ["from" TIME]) ["for" DURATION] action
//! action   := "partition" set ("|" set)+ [mode] | "cut" set "->" set [mode] | "isolate" set [mode]
//!           | "heal" [LABEL] | "link" set "->" set (setting+ | "reset")
//!           | ("crash" | "restart" | "pause" | "resume") set
//!           | "skew" set ("+" | "-")DURATION | "drift" set NUMBER"ppm" | "stop"
//! set      := selector ("," selector)*        selector := NAME | GLOB | ALIAS | "random(" GLOB ")"
//! mode     := "hold" | "drop"                  setting  := "latency" LATENCY | "jitter" DURATION
//!                                                        | "loss" P | "duplicate" P
//! ```
//! Live commands are the same without `at`/`every`.

use std::time::Duration;

use faultline::control::check_link_delay;
use faultline::{CutMode, Latency, LinkPatch, parse_duration};

use crate::script::{Action, Entry, NodeSet, Pos, Script, Selector, Timing};

/// A script that cannot be read: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", pos.line, pos.column)]
pub struct ScriptError {
    /// Where.
    pub pos: Pos,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl ScriptError {
    pub(crate) fn at(pos: Pos, message: impl Into<String>) -> Self {
        ScriptError { pos, message: message.into() }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Pipe,
    Comma,
    Arrow,
    Open,
    Close,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Pipe => "'|'".into(),
            Tok::Comma => "','".into(),
            Tok::Arrow => "'->'".into(),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
        }
    }
}

/// True when `chars[i]` continues a word: not a space, a symbol, a comment or an arrow.
fn in_word(chars: &[char], i: usize) -> bool {
    let arrow = chars[i] == '-' && chars.get(i + 1) == Some(&'>');
    !(chars[i].is_whitespace() || matches!(chars[i], '|' | ',' | '(' | ')' | '#') || arrow)
}

fn tokenize(text: &str, line: usize) -> Vec<(Tok, Pos)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column: i + 1 };
        let arrow = c == '-' && chars.get(i + 1) == Some(&'>');
        match c {
            '#' => break,
            c if c.is_whitespace() => i += 1,
            '|' | ',' | '(' | ')' => {
                out.push((
                    match c {
                        '|' => Tok::Pipe,
                        ',' => Tok::Comma,
                        '(' => Tok::Open,
                        _ => Tok::Close,
                    },
                    pos,
                ));
                i += 1;
            }
            _ if arrow => {
                out.push((Tok::Arrow, pos));
                i += 2;
            }
            _ => {
                let start = i;
                while i < chars.len() && in_word(&chars, i) {
                    i += 1;
                }
                out.push((Tok::Word(chars[start..i].iter().collect()), pos));
            }
        }
    }
    out
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    end: Pos,
}

const COMMANDS: &str = "partition, cut, isolate, heal, link, crash, restart, pause, resume, skew, drift or stop";

impl Parser {
    fn new(text: &str, line: usize) -> Self {
        let end = Pos { line, column: text.chars().count() + 1 };
        Parser { toks: tokenize(text, line), i: 0, end }
    }

    fn pos(&self) -> Pos {
        self.toks.get(self.i).map_or(self.end, |t| t.1)
    }

    fn found(&self) -> String {
        self.toks.get(self.i).map_or("the end of the line".into(), |t| t.0.show())
    }

    fn fail<T>(&self, expected: &str) -> Result<T, ScriptError> {
        Err(ScriptError::at(self.pos(), format!("expected {expected}, found {}", self.found())))
    }

    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.i) {
            Some((Tok::Word(w), _)) => Some(w),
            _ => None,
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let hit = self.toks.get(self.i).is_some_and(|t| &t.0 == tok);
        self.i += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.peek_word() == Some(word);
        self.i += usize::from(hit);
        hit
    }

    fn word(&mut self, expected: &str) -> Result<(String, Pos), ScriptError> {
        match self.toks.get(self.i) {
            Some((Tok::Word(w), pos)) => {
                let out = (w.clone(), *pos);
                self.i += 1;
                Ok(out)
            }
            _ => self.fail(expected),
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ScriptError> {
        if self.eat(&tok) { Ok(()) } else { self.fail(&tok.show()) }
    }

    fn duration(&mut self, what: &str) -> Result<Duration, ScriptError> {
        let (w, pos) = self.word(what)?;
        parse_duration(&w).map_err(|e| ScriptError::at(pos, format!("{what}: {e}")))
    }

    fn end(&self) -> Result<(), ScriptError> {
        if self.i == self.toks.len() { Ok(()) } else { self.fail("the end of the line") }
    }

    fn selector(&mut self) -> Result<Selector, ScriptError> {
        let (w, pos) = self.word("a node name, alias or glob")?;
        if w == "random" && self.eat(&Tok::Open) {
            let (pattern, _) = self.word("a glob inside random(...)")?;
            self.expect(Tok::Close)?;
            return Ok(Selector { pattern, random: true, pos });
        }
        Ok(Selector { pattern: w, random: false, pos })
    }

    fn set(&mut self) -> Result<NodeSet, ScriptError> {
        let mut set = vec![self.selector()?];
        while self.eat(&Tok::Comma) {
            set.push(self.selector()?);
        }
        Ok(NodeSet(set))
    }

    fn mode(&mut self) -> CutMode {
        if self.eat_word("hold") {
            CutMode::Hold
        } else {
            self.eat_word("drop");
            CutMode::Drop
        }
    }

    fn probability(&mut self, what: &str) -> Result<f64, ScriptError> {
        let (w, pos) = self.word(&format!("a probability after '{what}'"))?;
        match w.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(ScriptError::at(pos, format!("{what} must be a probability between 0 and 1, found '{w}'"))),
        }
    }

    fn latency(&mut self) -> Result<Latency, ScriptError> {
        let (name, pos) = self
            .word("a latency: a duration or constant(..), uniform(..), normal(..), lognormal(..), exponential(..)")?;
        let mut text = name;
        if self.eat(&Tok::Open) {
            let mut args = Vec::new();
            loop {
                args.push(self.word("a duration")?.0);
                if self.eat(&Tok::Close) {
                    break;
                }
                self.expect(Tok::Comma)?;
            }
            text = format!("{text}({})", args.join(", "));
        }
        let latency: Latency =
            text.parse().map_err(|e: faultline::LatencyError| ScriptError::at(pos, e.to_string()))?;
        check_link_delay(Some(&latency), None).map_err(|e| ScriptError::at(pos, e.to_string()))?;
        Ok(latency)
    }

    fn patch(&mut self) -> Result<LinkPatch, ScriptError> {
        let mut patch = LinkPatch::default();
        while let Some(w) = self.peek_word() {
            match w {
                "latency" => {
                    self.i += 1;
                    patch.latency = Some(self.latency()?);
                }
                "jitter" => {
                    self.i += 1;
                    let pos = self.pos();
                    let jitter = self.duration("a duration after 'jitter'")?;
                    check_link_delay(None, Some(jitter)).map_err(|e| ScriptError::at(pos, e.to_string()))?;
                    patch.jitter = Some(jitter);
                }
                "loss" => {
                    self.i += 1;
                    patch.loss = Some(self.probability("loss")?);
                }
                "duplicate" => {
                    self.i += 1;
                    patch.duplicate = Some(self.probability("duplicate")?);
                }
                _ => break,
            }
        }
        if patch.is_empty() {
            return self.fail("'reset' or a link setting: latency, jitter, loss, duplicate");
        }
        Ok(patch)
    }

    fn action(&mut self) -> Result<Action, ScriptError> {
        let (verb, pos) = self.word(&format!("a command: {COMMANDS}"))?;
        Ok(match verb.as_str() {
            "partition" => {
                let mut groups = vec![self.set()?];
                while self.eat(&Tok::Pipe) {
                    groups.push(self.set()?);
                }
                if groups.len() < 2 {
                    return self.fail("'|' and a second group (to cut one group from all others, use isolate)");
                }
                Action::Partition { groups, mode: self.mode() }
            }
            "cut" => {
                let from = self.set()?;
                self.expect(Tok::Arrow)?;
                Action::Cut { from, to: self.set()?, mode: self.mode() }
            }
            "isolate" => Action::Isolate { nodes: self.set()?, mode: self.mode() },
            "heal" => Action::Heal(match self.peek_word() {
                Some(_) => Some(self.word("a partition label")?.0),
                None => None,
            }),
            "link" => {
                let from = self.set()?;
                self.expect(Tok::Arrow)?;
                let to = self.set()?;
                let patch = if self.eat_word("reset") { None } else { Some(self.patch()?) };
                Action::Link { from, to, patch }
            }
            "crash" => Action::Crash(self.set()?),
            "restart" => Action::Restart(self.set()?),
            "pause" => Action::Pause(self.set()?),
            "resume" => Action::Resume(self.set()?),
            "skew" => {
                let nodes = self.set()?;
                let (w, wpos) = self.word("a signed step such as +250ms or -1s")?;
                let sign = match w.chars().next() {
                    Some('+') => 1,
                    Some('-') => -1,
                    _ => {
                        return Err(ScriptError::at(
                            wpos,
                            format!("expected a signed step such as +250ms or -1s, found '{w}'"),
                        ));
                    }
                };
                let step = parse_duration(&w[1..]).map_err(|e| ScriptError::at(wpos, e.to_string()))?;
                let nanos =
                    i64::try_from(step.as_nanos()).map_err(|_| ScriptError::at(wpos, "the step is too large"))?;
                Action::Skew { nodes, nanos: sign * nanos }
            }
            "drift" => {
                let nodes = self.set()?;
                let (w, wpos) = self.word("a rate such as 100ppm or -50ppm")?;
                let ppm = w
                    .strip_suffix("ppm")
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|p| p.is_finite() && p.abs() < 1e6)
                    .ok_or_else(|| {
                        ScriptError::at(
                            wpos,
                            format!("expected a rate between -1000000ppm and 1000000ppm such as 100ppm, found '{w}'"),
                        )
                    })?;
                Action::Drift { nodes, ppm }
            }
            "stop" => Action::Stop,
            other => return Err(ScriptError::at(pos, format!("unknown command '{other}': expected {COMMANDS}"))),
        })
    }

    fn entry(&mut self, live: bool) -> Result<Entry, ScriptError> {
        let pos = self.pos();
        let timing = if self.eat_word("at") {
            if live {
                return Err(ScriptError::at(pos, "live commands apply now: leave out 'at'"));
            }
            Timing::At(self.duration("a time after 'at'")?)
        } else if self.eat_word("every") {
            if live {
                return Err(ScriptError::at(pos, "live commands apply now: leave out 'every'"));
            }
            let ppos = self.pos();
            let period = self.duration("a period after 'every'")?;
            if period.is_zero() {
                return Err(ScriptError::at(ppos, "the period must be longer than zero"));
            }
            let from = if self.eat_word("from") { Some(self.duration("a time after 'from'")?) } else { None };
            Timing::Every { period, from }
        } else if live {
            Timing::Now
        } else {
            return self.fail("'at' or 'every'");
        };
        let for_pos = self.pos();
        let lasting = if self.eat_word("for") {
            if live {
                return Err(ScriptError::at(
                    for_pos,
                    "live commands cannot take 'for': send the undoing command yourself",
                ));
            }
            let d = self.duration("a duration after 'for'")?;
            if d.is_zero() {
                return Err(ScriptError::at(for_pos, "'for' needs a duration longer than zero"));
            }
            if let Timing::Every { period, .. } = timing
                && d >= period
            {
                return Err(ScriptError::at(
                    for_pos,
                    "'for' must be shorter than the period, or occurrences would overlap",
                ));
            }
            Some(d)
        } else {
            None
        };
        let action = self.action()?;
        if lasting.is_some() && !action.can_last() {
            return Err(ScriptError::at(for_pos, format!("'for' cannot undo '{}'", action.verb())));
        }
        self.end()?;
        Ok(Entry { timing, lasting, action, pos })
    }
}

/// Reads a whole script.
pub fn parse_script(text: &str) -> Result<Script, ScriptError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut p = Parser::new(line, i + 1);
        if p.toks.is_empty() {
            continue;
        }
        entries.push(p.entry(false)?);
    }
    Ok(Script { entries })
}

/// Reads one live command (a script entry without `at`, `every` or `for`). `None` for an empty
/// line or a comment.
pub fn parse_live(line: &str) -> Result<Option<Entry>, ScriptError> {
    let mut p = Parser::new(line, 1);
    if p.toks.is_empty() {
        return Ok(None);
    }
    p.entry(true).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_script(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_command() {
        let text = "\
# a 10 s outage between clients and server
at 20s for 10s partition clients | server
at 80s for 10s partition clients | server hold
at 60s for 5s pause server
at 5s link client-1 -> server latency lognormal(5ms, 2ms) loss 0.05
at 30s crash replica-2
at 45s restart replica-2
at 15s skew replica-1 +250ms
every 30s for 5s isolate random(replica-*)
at 1s cut a,b -> c hold   # one way
at 2s heal
at 2500ms heal fault1.0
at 3s resume server
at 4s drift replica-1 -50ppm
at 5s link * -> * jitter 2ms duplicate 0.01
at 6s link a -> b reset
every 10s from 2s for 1s link a -> b latency 300us
at 90s stop
";
        let s = parse_script(text).unwrap();
        assert_eq!(s.entries.len(), 17);
        let canonical = s.to_string();
        assert_eq!(canonical.lines().next(), Some("at 20s for 10s partition clients | server"));
        assert!(canonical.contains("at 5s link client-1 -> server latency lognormal(5ms, 2ms) loss 0.05\n"));
        assert!(canonical.contains("every 30s for 5s isolate random(replica-*)\n"));
        assert!(canonical.contains("at 1s cut a,b -> c hold\n"));
        assert!(canonical.contains("at 4s drift replica-1 -50ppm\n"));
        assert!(canonical.contains("every 10s from 2s for 1s link a -> b latency constant(300us)\n"));
        assert_eq!(parse_script(&canonical).unwrap(), s);
        assert_eq!(s.entries[1].pos, Pos::default());
        assert_eq!(parse_script(text).unwrap().entries[7].pos.line, 9);
        assert!(canonical.contains("at 2500ms heal fault1.0\n"));
    }

    #[test]
    fn every_error_says_where_and_what_was_expected() {
        assert_eq!(err("partition a | b"), "line 1, column 1: expected 'at' or 'every', found 'partition'");
        assert_eq!(
            err("\nat 5 crash a"),
            "line 2, column 4: a time after 'at': invalid duration '5': missing unit (write a number and a unit: 200us, 500ms, 1.5s, 2m, 1h)"
        );
        assert_eq!(
            err("at 5s explode a"),
            "line 1, column 7: unknown command 'explode': expected partition, cut, isolate, heal, link, crash, restart, pause, resume, skew, drift or stop"
        );
        assert_eq!(
            err("at 5s partition a"),
            "line 1, column 18: expected '|' and a second group (to cut one group from all others, use isolate), found the end of the line"
        );
        assert_eq!(err("at 5s cut a b"), "line 1, column 13: expected '->', found 'b'");
        assert_eq!(
            err("at 5s link a -> b loss 1.5"),
            "line 1, column 24: loss must be a probability between 0 and 1, found '1.5'"
        );
        assert_eq!(
            err("at 5s link a -> b"),
            "line 1, column 18: expected 'reset' or a link setting: latency, jitter, loss, duplicate, found the end of the line"
        );
        assert_eq!(
            err("at 5s link a -> b latency gamma(1ms)"),
            "line 1, column 27: invalid latency 'gamma(1ms)': unknown distribution 'gamma' (known: constant, uniform, normal, lognormal, exponential)"
        );
        assert_eq!(
            err("at 5s skew a 250ms"),
            "line 1, column 14: expected a signed step such as +250ms or -1s, found '250ms'"
        );
        assert_eq!(
            err("at 5s drift a fast"),
            "line 1, column 15: expected a rate between -1000000ppm and 1000000ppm such as 100ppm, found 'fast'"
        );
        assert_eq!(err("at 5s for 2s heal"), "line 1, column 7: 'for' cannot undo 'heal'");
        assert_eq!(
            err("every 5s for 5s crash a"),
            "line 1, column 10: 'for' must be shorter than the period, or occurrences would overlap"
        );
        assert_eq!(err("every 0s crash a"), "line 1, column 7: the period must be longer than zero");
        assert_eq!(err("at 1s for 0s crash a"), "line 1, column 7: 'for' needs a duration longer than zero");
        assert_eq!(err("at 1s crash a extra"), "line 1, column 15: expected the end of the line, found 'extra'");
        assert_eq!(err("at 1s isolate random(a"), "line 1, column 23: expected ')', found the end of the line");
        assert_eq!(
            err("at 1s crash"),
            "line 1, column 12: expected a node name, alias or glob, found the end of the line"
        );
    }

    #[test]
    fn live_commands_apply_now() {
        let e = parse_live("partition clients | server hold").unwrap().unwrap();
        assert_eq!(e.timing, Timing::Now);
        assert_eq!(e.to_string(), "partition clients | server hold");
        assert!(parse_live("   # nothing").unwrap().is_none());
        assert_eq!(parse_live("at 5s heal").unwrap_err().message, "live commands apply now: leave out 'at'");
        assert!(parse_live("for 5s crash a").unwrap_err().message.contains("cannot take 'for'"));
    }
}
