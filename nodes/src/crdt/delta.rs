//! Delta-interval anti-entropy (Almeida, Shoker and Baquero, 2018, algorithm 2): the
//! bookkeeping a replica keeps to send each peer only what that peer has not acknowledged.
//!
//! Every delta a replica makes or receives (when it changed the state) gets the next sequence
//! number and waits in a buffer. To gossip with a peer, the replica sends the join of the
//! deltas from the peer's last acknowledged sequence on: a *delta interval*. The peer merges it
//! and acknowledges the sequence it was sent with. When the buffer no longer reaches back to a
//! peer's acknowledgement (it is bounded, and a peer never heard from has none), the replica
//! sends its full state instead, which is always correct. Deltas that every neighbour has
//! acknowledged are dropped.

use std::collections::{BTreeMap, VecDeque};

use faultline::NodeId;
use serde::{Deserialize, Serialize};

use super::Crdt;

/// What one gossip message carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Crdt")]
pub enum Payload<T> {
    /// The sender's whole state.
    Full(T),
    /// The join of the deltas the receiver has not acknowledged.
    Delta(T),
}

impl<T> Payload<T> {
    /// The state or delta inside.
    pub fn state(&self) -> &T {
        match self {
            Payload::Full(t) | Payload::Delta(t) => t,
        }
    }

    /// Whether it is a full state.
    pub fn is_full(&self) -> bool {
        matches!(self, Payload::Full(_))
    }
}

/// A replica's delta buffer and its peers' acknowledgements.
#[derive(Clone, Debug)]
pub struct DeltaBuffer<T> {
    /// Each delta with the peer it came from (none: made here), so it is not sent back there.
    deltas: VecDeque<(Option<NodeId>, T)>,
    /// Sequence number of `deltas[0]`.
    first: u64,
    /// Acknowledged sequence per peer: the peer has merged every delta before it.
    acked: BTreeMap<NodeId, u64>,
    limit: usize,
}

impl<T: Crdt> DeltaBuffer<T> {
    /// An empty buffer that holds at most `limit` deltas (at least 1).
    pub fn new(limit: usize) -> Self {
        Self::starting_at(0, limit)
    }

    /// An empty buffer whose first delta gets sequence `first`. A replica that restarts starts
    /// above every sequence it used before, so that an acknowledgement still in flight from
    /// its previous life (of a sequence it no longer knows) cannot skip its new deltas.
    pub fn starting_at(first: u64, limit: usize) -> Self {
        DeltaBuffer { deltas: VecDeque::new(), first, acked: BTreeMap::new(), limit: limit.max(1) }
    }

    /// The sequence number the next delta will get: an interval sent now covers up to here.
    pub fn next_seq(&self) -> u64 {
        self.first + self.deltas.len() as u64
    }

    /// Deltas held.
    pub fn len(&self) -> usize {
        self.deltas.len()
    }

    /// Whether no delta is held.
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// Records a delta made here; drops the oldest when the buffer is full.
    pub fn push(&mut self, delta: T) {
        self.push_from(None, delta);
    }

    /// Records a delta received from `origin` (which will not get it back); drops the oldest
    /// when the buffer is full.
    pub fn push_from(&mut self, origin: Option<NodeId>, delta: T) {
        self.deltas.push_back((origin, delta));
        while self.deltas.len() > self.limit {
            self.deltas.pop_front();
            self.first += 1;
        }
    }

    /// What to send `peer`: `None` when it has acknowledged everything (or all it has not came
    /// from it), the delta interval when the buffer reaches back to its acknowledgement, else the full `state`.
    pub fn payload_for(&self, peer: NodeId, state: &T) -> Option<Payload<T>> {
        let Some(&acked) = self.acked.get(&peer) else {
            return Some(Payload::Full(state.clone()));
        };
        if acked >= self.next_seq() {
            return None;
        }
        if acked < self.first {
            return Some(Payload::Full(state.clone()));
        }
        let from = (acked - self.first) as usize;
        let mut interval = T::default();
        let mut any = false;
        for (_, d) in self.deltas.range(from..).filter(|(origin, _)| *origin != Some(peer)) {
            interval.merge(d);
            any = true;
        }
        any.then_some(Payload::Delta(interval))
    }

    /// `peer` has merged every delta before `seq`.
    pub fn ack(&mut self, peer: NodeId, seq: u64) {
        let e = self.acked.entry(peer).or_insert(0);
        *e = (*e).max(seq.min(self.first + self.deltas.len() as u64));
    }

    /// Drops the deltas that all of `neighbours` peers have acknowledged (when every one has
    /// acknowledged something).
    pub fn collect(&mut self, neighbours: usize) {
        if self.acked.len() < neighbours {
            return;
        }
        let low = self.acked.values().copied().min().unwrap_or(0);
        while self.first < low && !self.deltas.is_empty() {
            self.deltas.pop_front();
            self.first += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::RngExt;
    use rand::seq::SliceRandom;

    use super::*;
    use crate::crdt::{GCounter, Op, OrSet, PnCounter, ReplicaId, Replicated};

    #[test]
    fn sends_full_state_then_intervals_then_nothing() {
        let peer = NodeId::from_index(1);
        let mut state = GCounter::new();
        let mut buf = DeltaBuffer::new(8);
        buf.push(state.increment(0, 1));
        assert!(buf.payload_for(peer, &state).unwrap().is_full(), "never acknowledged: full state");
        buf.ack(peer, buf.next_seq());
        assert_eq!(buf.payload_for(peer, &state), None);
        buf.push(state.increment(0, 1));
        buf.push(state.increment(2, 5));
        let Some(Payload::Delta(d)) = buf.payload_for(peer, &state) else { panic!("expected an interval") };
        assert_eq!(d.value(), 7);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn an_acknowledgement_from_a_previous_life_is_ignored() {
        let peer = NodeId::from_index(1);
        let mut state = GCounter::new();
        let mut buf = DeltaBuffer::starting_at(1 << 40, 8);
        buf.ack(peer, 57); // sent to this replica before it crashed
        buf.push(state.increment(0, 1));
        assert!(buf.payload_for(peer, &state).unwrap().is_full());
    }

    #[test]
    fn a_full_buffer_falls_back_to_full_state() {
        let peer = NodeId::from_index(1);
        let mut state = GCounter::new();
        let mut buf = DeltaBuffer::new(2);
        buf.ack(peer, 0);
        for _ in 0..3 {
            buf.push(state.increment(0, 1));
        }
        assert!(buf.payload_for(peer, &state).unwrap().is_full());
        buf.collect(1);
        assert_eq!(buf.len(), 2, "nothing acknowledged past the start: nothing dropped");
    }

    /// Replays `ops` at two replicas that gossip delta intervals to a third over a channel
    /// that reorders and duplicates messages and loses acks; the third ends equal to the
    /// full-state merge of the two.
    fn intervals_converge<T: Replicated>(ops: &[(ReplicaId, Op)], seed: u64) -> Result<(), TestCaseError> {
        let mut rng = faultline::derive_rng(seed, "delta", 0);
        let sink = NodeId::from_index(9);
        let mut reps = [T::default(), T::default()];
        let mut bufs = [DeltaBuffer::new(4), DeltaBuffer::new(4)];
        let mut wire: Vec<(usize, u64, Payload<T>)> = Vec::new();
        let mut receiver = T::default();
        let deliver = |wire: &mut Vec<(usize, u64, Payload<T>)>,
                       bufs: &mut [DeltaBuffer<T>; 2],
                       rng: &mut faultline::SimRng,
                       receiver: &mut T| {
            wire.shuffle(rng);
            let take = rng.random_range(0..=wire.len());
            for (from, seq, p) in wire.iter().take(take) {
                receiver.merge(p.state());
                if rng.random_range(0..2) == 0 {
                    bufs[*from].ack(sink, *seq);
                }
            }
            // Duplicates: keep some delivered messages on the wire.
            let keep = rng.random_range(0..=take);
            wire.drain(keep..take);
        };
        for (step, (r, op)) in ops.iter().enumerate() {
            let r = (*r % 2) as usize;
            let d = reps[r].apply(r as ReplicaId, op, step as u64);
            bufs[r].push(d);
            if let Some(p) = bufs[r].payload_for(sink, &reps[r]) {
                wire.push((r, bufs[r].next_seq(), p));
            }
            deliver(&mut wire, &mut bufs, &mut rng, &mut receiver);
        }
        for r in 0..2 {
            if let Some(p) = bufs[r].payload_for(sink, &reps[r]) {
                wire.push((r, bufs[r].next_seq(), p));
            }
        }
        for (_, _, p) in &wire {
            receiver.merge(p.state());
        }
        let mut full = reps[0].clone();
        full.merge(&reps[1]);
        prop_assert_eq!(receiver, full);
        Ok(())
    }

    fn op() -> impl Strategy<Value = (ReplicaId, Op)> {
        (0u32..2, 0u32..4, 0u8..3).prop_map(|(r, x, k)| {
            let op = match k {
                0 => Op::Increment(u64::from(x) + 1),
                1 => Op::Add(x),
                _ => Op::Remove(x),
            };
            (r, op)
        })
    }

    proptest! {
        #[test]
        fn gcounter_intervals_converge(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            intervals_converge::<GCounter>(&ops, seed)?;
        }

        #[test]
        fn pncounter_intervals_converge(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            let ops: Vec<_> = ops.into_iter().map(|(r, o)| (r, if let Op::Add(x) = o { Op::Decrement(u64::from(x) + 1) } else { o })).collect();
            intervals_converge::<PnCounter>(&ops, seed)?;
        }

        #[test]
        fn orset_intervals_converge(ops in prop::collection::vec(op(), 0..40), seed: u64) {
            intervals_converge::<OrSet<u32>>(&ops, seed)?;
        }
    }
}
