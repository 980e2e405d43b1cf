//! Partitions: the cuts currently in force, which messages they stop, and the messages a
//! holding cut keeps until it heals.

use super::Packet;
use crate::control::{ControlError, CutMode};
use crate::id::NodeId;

/// What the active cuts do to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No cut stands between sender and receiver.
    Pass,
    /// A dropping cut stands in the way.
    Drop,
    /// Only holding cuts stand in the way; the first one (by index) keeps the message.
    Hold(usize),
}

/// One partition in force.
#[derive(Debug)]
struct Cut {
    label: Option<String>,
    mode: CutMode,
    /// Symmetric partition: each node's group. One-way cut: bit 0 = sender side, bit 1 =
    /// receiver side.
    side: Vec<u16>,
    one_way: bool,
    held: Vec<Packet>,
}

impl Cut {
    #[inline]
    fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        let (a, b) = (self.side[from.index()], self.side[to.index()]);
        if self.one_way { a & 1 != 0 && b & 2 != 0 } else { a != b }
    }
}

/// Every cut in force. Empty most of the time, so the hot path checks `is_empty` first.
#[derive(Debug, Default)]
pub(crate) struct Cuts {
    active: Vec<Cut>,
}

impl Cuts {
    pub(crate) fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Splits `nodes` nodes into `groups`; nodes named in no group form one more group.
    pub(crate) fn partition(
        &mut self,
        nodes: usize,
        groups: &[Vec<NodeId>],
        mode: CutMode,
        label: Option<String>,
    ) -> Result<(), ControlError> {
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Err(ControlError::Invalid("a partition needs at least one non-empty group".into()));
        }
        let rest = u16::try_from(groups.len()).map_err(|_| ControlError::Invalid("too many groups".into()))?;
        let mut side = vec![rest; nodes];
        for (g, members) in groups.iter().enumerate() {
            for &n in members {
                if side[n.index()] != rest {
                    return Err(ControlError::Invalid(format!("node {n} is in two groups of one partition")));
                }
                side[n.index()] = g as u16;
            }
        }
        if side.iter().all(|&s| s == side[0]) {
            return Err(ControlError::Invalid("the partition leaves every node in one group: it cuts nothing".into()));
        }
        self.active.push(Cut { label, mode, side, one_way: false, held: Vec::new() });
        Ok(())
    }

    /// Cuts messages from any node of `from` to any node of `to`, and no others.
    pub(crate) fn one_way(
        &mut self,
        nodes: usize,
        from: &[NodeId],
        to: &[NodeId],
        mode: CutMode,
        label: Option<String>,
    ) -> Result<(), ControlError> {
        if from.is_empty() || to.is_empty() {
            return Err(ControlError::Invalid("a one-way cut needs senders and receivers".into()));
        }
        let mut side = vec![0u16; nodes];
        for n in from {
            side[n.index()] |= 1;
        }
        for n in to {
            side[n.index()] |= 2;
        }
        self.active.push(Cut { label, mode, side, one_way: true, held: Vec::new() });
        Ok(())
    }

    /// What the cuts do to a message from `from` to `to`.
    #[inline]
    pub(crate) fn verdict(&self, from: NodeId, to: NodeId) -> Verdict {
        let mut hold = None;
        for (i, cut) in self.active.iter().enumerate() {
            if cut.blocks(from, to) {
                match cut.mode {
                    CutMode::Drop => return Verdict::Drop,
                    CutMode::Hold => hold = hold.or(Some(i)),
                }
            }
        }
        hold.map_or(Verdict::Pass, Verdict::Hold)
    }

    /// Keeps `packet` in cut `index` until that cut heals.
    pub(crate) fn hold(&mut self, index: usize, packet: Packet) {
        self.active[index].held.push(packet);
    }

    /// Removes the cuts labelled `label` (every cut when `None`) and returns the messages they
    /// held, in the order they were sent.
    pub(crate) fn heal(&mut self, label: Option<&str>) -> Result<Vec<Packet>, ControlError> {
        let before = self.active.len();
        let mut released = Vec::new();
        self.active.retain_mut(|cut| {
            let hit = label.is_none() || cut.label.as_deref() == label;
            if hit {
                released.append(&mut cut.held);
            }
            !hit
        });
        if let Some(label) = label
            && before == self.active.len()
        {
            return Err(ControlError::UnknownCut(label.to_string()));
        }
        released.sort_by_key(|p| (p.sent_at, p.seq));
        Ok(released)
    }

    /// Number of messages currently held.
    pub(crate) fn held(&self) -> usize {
        self.active.iter().map(|c| c.held.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u32]) -> Vec<NodeId> {
        v.iter().map(|&i| NodeId(i)).collect()
    }

    #[test]
    fn groups_cut_across_not_within() {
        let mut c = Cuts::default();
        c.partition(5, &[ids(&[0, 1]), ids(&[2, 3])], CutMode::Drop, None).unwrap();
        assert_eq!(c.verdict(NodeId(0), NodeId(1)), Verdict::Pass);
        assert_eq!(c.verdict(NodeId(2), NodeId(3)), Verdict::Pass);
        assert_eq!(c.verdict(NodeId(0), NodeId(2)), Verdict::Drop);
        assert_eq!(c.verdict(NodeId(3), NodeId(1)), Verdict::Drop);
        // Node 4 was named in no group: it forms its own.
        assert_eq!(c.verdict(NodeId(4), NodeId(0)), Verdict::Drop);
    }

    #[test]
    fn one_way_cuts_one_direction() {
        let mut c = Cuts::default();
        c.one_way(3, &ids(&[0]), &ids(&[1]), CutMode::Hold, Some("x".into())).unwrap();
        assert_eq!(c.verdict(NodeId(0), NodeId(1)), Verdict::Hold(0));
        assert_eq!(c.verdict(NodeId(1), NodeId(0)), Verdict::Pass);
        assert_eq!(c.verdict(NodeId(0), NodeId(2)), Verdict::Pass);
    }

    #[test]
    fn dropping_wins_over_holding_and_heal_is_selective() {
        let mut c = Cuts::default();
        c.partition(2, &[ids(&[0])], CutMode::Hold, Some("a".into())).unwrap();
        c.partition(2, &[ids(&[1])], CutMode::Drop, Some("b".into())).unwrap();
        assert_eq!(c.verdict(NodeId(0), NodeId(1)), Verdict::Drop);
        c.heal(Some("b")).unwrap();
        assert_eq!(c.verdict(NodeId(0), NodeId(1)), Verdict::Hold(0));
        assert_eq!(c.heal(Some("b")), Err(ControlError::UnknownCut("b".into())));
        c.heal(None).unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn bad_partitions_are_refused() {
        let mut c = Cuts::default();
        assert!(c.partition(3, &[], CutMode::Drop, None).is_err());
        assert!(c.partition(3, &[ids(&[0]), ids(&[0, 1])], CutMode::Drop, None).is_err());
        assert!(c.partition(2, &[ids(&[0, 1])], CutMode::Drop, None).is_err(), "cuts nothing");
        assert!(c.is_empty());
    }
}
