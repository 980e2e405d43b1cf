//! The queue of timed events: deliveries, timers and scheduled commands, ordered by virtual
//! time and then by a sequence number, so that events at one instant happen in the order they
//! were scheduled.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;

use slab::Slab;

use crate::control::Command;
use crate::net::Packet;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A timer shared between a sleeping future and the queue.
#[derive(Debug, Default)]
pub(crate) struct TimerCell {
    waker: RefCell<Option<Waker>>,
    state: Cell<TimerState>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum TimerState {
    #[default]
    Armed,
    Fired,
    Cancelled,
}

impl TimerCell {
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// The sleeper went away: the queue skips this timer without moving the clock to it.
    pub(crate) fn cancel(&self) {
        if self.state.get() == TimerState::Armed {
            self.state.set(TimerState::Cancelled);
            self.waker.borrow_mut().take();
        }
    }

    /// Wakes the sleeper, unless it went away.
    pub(crate) fn fire(&self) {
        if self.state.get() == TimerState::Armed {
            self.state.set(TimerState::Fired);
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    fn is_cancelled(&self) -> bool {
        self.state.get() == TimerState::Cancelled
    }
}

/// Something that happens at an instant.
pub(crate) enum Event {
    /// A message reaches its receiver's host.
    Deliver(Packet),
    /// A sleeping task wakes.
    Timer(Rc<TimerCell>),
    /// A command scheduled ahead of time (boxed: commands are rare and large, and every slot of
    /// the queue is as big as its largest variant).
    Control(Box<Command>),
}

/// 16 bytes: virtual time, then a tag holding the scheduling order (high bits), a timer flag
/// and the slab slot (low bits). Ordered by time and tag, that is by time and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    at: u64,
    tag: u64,
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        ((u128::from(self.at) << 64) | u128::from(self.tag))
            .cmp(&((u128::from(other.at) << 64) | u128::from(other.tag)))
    }
}

impl PartialOrd for Key {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Slab slots: 2^28 events queued at once, more than 15 GB of them.
const SLOT_BITS: u32 = 28;
/// Sequence numbers before the queue renumbers its keys (2^35, about 34 billion events).
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS - 1);

impl Key {
    fn new(at: u64, seq: u64, timer: bool, slot: usize) -> Key {
        assert!(slot < 1 << SLOT_BITS, "faultline: more than 2^28 events queued at once");
        Key { at, tag: (seq << (SLOT_BITS + 1)) | (u64::from(timer) << SLOT_BITS) | slot as u64 }
    }

    fn is_timer(&self) -> bool {
        (self.tag >> SLOT_BITS) & 1 == 1
    }

    fn slot(&self) -> usize {
        (self.tag & ((1 << SLOT_BITS) - 1)) as usize
    }
}

/// Events ordered by `(time, sequence)`: a binary heap of small keys, with the events themselves
/// in a slab so that sifting moves 24 bytes, not whole messages.
#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Reverse<Key>>,
    events: Slab<Event>,
    seq: u64,
    /// Bytes of the messages in flight (their buffers' capacity).
    payload: usize,
}

impl EventQueue {
    pub(crate) fn push(&mut self, at: SimTime, event: Event) {
        let timer = matches!(event, Event::Timer(_));
        let slot = self.events.insert(event);
        if self.seq + 1 == SEQ_LIMIT {
            self.renumber();
        }
        self.seq += 1;
        self.heap.push(Reverse(Key::new(at.as_nanos(), self.seq, timer, slot)));
    }

    pub(crate) fn push_delivery(&mut self, at: SimTime, packet: Packet) {
        self.payload += packet.bytes.capacity();
        self.push(at, Event::Deliver(packet));
    }

    /// The instant of the next live event, dropping cancelled timers on the way.
    pub(crate) fn next_time(&mut self) -> Option<SimTime> {
        while let Some(Reverse(key)) = self.heap.peek() {
            if key.is_timer()
                && let Event::Timer(t) = &self.events[key.slot()]
                && t.is_cancelled()
            {
                self.events.remove(key.slot());
                self.heap.pop();
                continue;
            }
            return Some(SimTime::from_nanos(key.at));
        }
        None
    }

    /// The next event due at or before `now`, if any.
    pub(crate) fn pop_due(&mut self, now: SimTime) -> Option<Event> {
        let Reverse(key) = self.heap.peek()?;
        if key.at > now.as_nanos() {
            return None;
        }
        let slot = key.slot();
        self.heap.pop();
        let event = self.events.remove(slot);
        if let Event::Deliver(p) = &event {
            self.payload -= p.bytes.capacity();
        }
        Some(event)
    }

    /// Gives the queued keys the sequence numbers 1, 2, ... in the order they will pop, so that
    /// numbering can go on without changing any order.
    fn renumber(&mut self) {
        let mut keys = std::mem::take(&mut self.heap).into_sorted_vec(); // by Reverse: latest first
        keys.reverse();
        for (i, Reverse(k)) in keys.iter_mut().enumerate() {
            *k = Key::new(k.at, i as u64 + 1, k.is_timer(), k.slot());
        }
        self.seq = keys.len() as u64;
        self.heap = BinaryHeap::from(keys);
    }

    /// Events waiting, cancelled timers included.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Memory the queue holds: its heap and slab as allocated, and the buffers of the messages
    /// in flight (without the allocator's own overhead per buffer).
    pub(crate) fn memory(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<Key>>()
            + self.events.capacity() * std::mem::size_of::<Event>().max(8)
            + self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    fn packet(seq: u64) -> Packet {
        Packet { from: NodeId(0), to: NodeId(1), sent_at: SimTime::ZERO, seq, bytes: Vec::new() }
    }

    #[test]
    fn orders_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::default();
        q.push_delivery(SimTime::from_nanos(5), packet(1));
        q.push_delivery(SimTime::from_nanos(3), packet(2));
        q.push_delivery(SimTime::from_nanos(5), packet(3));
        let mut order = Vec::new();
        while let Some(t) = q.next_time() {
            while let Some(Event::Deliver(p)) = q.pop_due(t) {
                order.push((t.as_nanos(), p.seq));
            }
        }
        assert_eq!(order, vec![(3, 2), (5, 1), (5, 3)]);
    }

    #[test]
    fn renumbering_keeps_the_order() {
        let mut q = EventQueue::default();
        for (i, at) in [9, 3, 5, 3, 9, 1].into_iter().enumerate() {
            q.push_delivery(SimTime::from_nanos(at), packet(i as u64));
        }
        q.renumber();
        q.push_delivery(SimTime::from_nanos(3), packet(6));
        let mut order = Vec::new();
        while let Some(t) = q.next_time() {
            while let Some(Event::Deliver(p)) = q.pop_due(t) {
                order.push(p.seq);
            }
        }
        assert_eq!(order, vec![5, 1, 3, 6, 2, 0, 4]);
    }

    #[test]
    fn a_queue_slot_is_no_bigger_than_a_message() {
        assert!(std::mem::size_of::<Event>() <= std::mem::size_of::<Packet>() + 8);
    }

    #[test]
    fn cancelled_timers_do_not_move_the_clock() {
        let mut q = EventQueue::default();
        let t = Rc::new(TimerCell::default());
        q.push(SimTime::from_nanos(1), Event::Timer(t.clone()));
        q.push_delivery(SimTime::from_nanos(9), packet(1));
        t.cancel();
        assert_eq!(q.next_time(), Some(SimTime::from_nanos(9)));
    }
}
