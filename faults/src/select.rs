//! Resolves node selectors against a scenario's nodes: exact names, aliases, globs, and random
//! picks.

use std::collections::BTreeMap;

use faultline::{NodeId, SimRng};
use rand::RngExt;

use crate::parse::ScriptError;
use crate::script::{NodeSet, Script, Selector};

/// The nodes a script may name: the scenario's node names, plus aliases for groups of them
/// (`clients` for `client-*`).
#[derive(Clone, Debug)]
pub struct Resolver {
    names: Vec<String>,
    aliases: BTreeMap<String, String>,
}

/// True when `name` matches `pattern`, where `*` stands for any run of characters and `?` for
/// one.
pub fn glob(pattern: &str, name: &str) -> bool {
    // The classic two-pointer match: on a mismatch, the last `*` takes one more character.
    // Linear in practice and never worse than quadratic, whatever the input (a recursive match
    // is exponential in the number of `*`s, and patterns come from users).
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == n[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

impl Resolver {
    /// Resolves against these node names (ids follow their order).
    pub fn new(names: &[String]) -> Self {
        Resolver { names: names.to_vec(), aliases: BTreeMap::new() }
    }

    /// Lets scripts write `alias` for the nodes `pattern` matches.
    pub fn alias(mut self, alias: &str, pattern: &str) -> Self {
        self.aliases.insert(alias.to_string(), pattern.to_string());
        self
    }

    /// Node names, by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every node a selector can stand for (for `random(..)`, the candidates).
    pub fn candidates(&self, sel: &Selector) -> Result<Vec<NodeId>, ScriptError> {
        let pattern = self.aliases.get(&sel.pattern).unwrap_or(&sel.pattern);
        let ids: Vec<NodeId> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| glob(pattern, n))
            .map(|(i, _)| NodeId::from_index(i))
            .collect();
        if ids.is_empty() {
            let mut known = self.names.clone();
            if known.len() > 8 {
                known.truncate(8);
                known.push("...".into());
            }
            let aliases: Vec<&str> = self.aliases.keys().map(String::as_str).collect();
            let aliases = if aliases.is_empty() { String::new() } else { format!("; aliases: {}", aliases.join(", ")) };
            return Err(ScriptError::at(
                sel.pos,
                format!("'{}' matches no node (nodes: {}{aliases})", sel.pattern, known.join(", ")),
            ));
        }
        Ok(ids)
    }

    /// The nodes of a set, drawing `random(..)` picks from `rng`. Each node appears once.
    pub fn resolve(&self, set: &NodeSet, rng: &mut SimRng) -> Result<Vec<NodeId>, ScriptError> {
        let mut out = Vec::new();
        for sel in &set.0 {
            let ids = self.candidates(sel)?;
            if sel.random {
                out.push(ids[rng.random_range(0..ids.len())]);
            } else {
                out.extend(ids);
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|id| seen.insert(*id));
        Ok(out)
    }

    /// True when the set names every node (`*`), so that a link change can apply to all links.
    pub(crate) fn is_everyone(&self, set: &NodeSet) -> bool {
        set.0.len() == 1 && !set.0[0].random && set.0[0].pattern == "*"
    }

    /// Checks that every selector of the script matches at least one node: unknown nodes are
    /// errors before the run, not in the middle of it.
    pub fn check(&self, script: &Script) -> Result<(), ScriptError> {
        for entry in &script.entries {
            for set in crate::schedule::sets(&entry.action) {
                for sel in &set.0 {
                    self.candidates(sel)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Pos;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob("replica-*", "replica-2"));
        assert!(glob("*", "anything"));
        assert!(glob("r?", "r1"));
        assert!(!glob("r?", "r10"));
        assert!(!glob("replica-*", "client-1"));
        assert!(glob("a*b*c", "aXXbYc"));
        assert!(glob("a*", "a"));
        assert!(glob("*?", "x"));
        assert!(!glob("*?", ""));
        assert!(!glob("a*b", "aXXbY"));
        assert!(glob("**", ""));
    }

    // Pins a hang found while fuzzing for issue 8: the recursive glob took exponential time on
    // many stars against a name that does not match, and a live command could stall the run.
    #[test]
    fn many_stars_match_in_bounded_time() {
        let pattern = format!("{}b", "*a".repeat(40));
        let name = "a".repeat(200);
        assert!(!glob(&pattern, &name));
    }

    #[test]
    fn aliases_names_and_unknowns() {
        let names: Vec<String> = ["client-0", "client-1", "server"].map(String::from).to_vec();
        let r = Resolver::new(&names).alias("clients", "client-*");
        let sel = |p: &str| Selector { pattern: p.into(), random: false, pos: Pos { line: 3, column: 9 } };
        assert_eq!(r.candidates(&sel("clients")).unwrap().len(), 2);
        assert_eq!(r.candidates(&sel("server")).unwrap(), vec![NodeId::from_index(2)]);
        assert_eq!(
            r.candidates(&sel("replica-9")).unwrap_err().to_string(),
            "line 3, column 9: 'replica-9' matches no node (nodes: client-0, client-1, server; aliases: clients)"
        );
    }
}
