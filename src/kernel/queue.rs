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

    fn fire(&self) {
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

/// 24 bytes: virtual time, then scheduling order, then where the event is. Ordered by time and
/// sequence only (the sequence is unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    at: u64,
    /// Sequence number shifted left by one; the low bit marks a timer (which may be cancelled),
    /// so that other events never need a look into the slab before they are due.
    seq: u64,
    slot: u32,
}

impl Key {
    fn is_timer(&self) -> bool {
        self.seq & 1 == 1
    }

    #[inline]
    fn order(&self) -> u128 {
        (u128::from(self.at) << 64) | u128::from(self.seq)
    }
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for Key {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
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
        let timer = u64::from(matches!(event, Event::Timer(_)));
        let slot = self.events.insert(event) as u32;
        self.seq += 1;
        self.heap.push(Reverse(Key { at: at.as_nanos(), seq: (self.seq << 1) | timer, slot }));
    }

    pub(crate) fn push_delivery(&mut self, at: SimTime, packet: Packet) {
        self.payload += packet.bytes.capacity();
        self.push(at, Event::Deliver(packet));
    }

    /// The instant of the next live event, dropping cancelled timers on the way.
    pub(crate) fn next_time(&mut self) -> Option<SimTime> {
        while let Some(Reverse(key)) = self.heap.peek() {
            if key.is_timer()
                && let Event::Timer(t) = &self.events[key.slot as usize]
                && t.is_cancelled()
            {
                self.events.remove(key.slot as usize);
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
        let slot = key.slot as usize;
        self.heap.pop();
        let event = self.events.remove(slot);
        if let Event::Deliver(p) = &event {
            self.payload -= p.bytes.capacity();
        }
        Some(event)
    }

    /// Fires a timer event; returns the event back when it is not a timer.
    pub(crate) fn fire(event: Event) -> Option<Event> {
        match event {
            Event::Timer(t) => {
                t.fire();
                None
            }
            other => Some(other),
        }
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
