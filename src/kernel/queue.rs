//! The queue of timed events: deliveries, timers and scheduled commands, ordered by virtual
//! time and then by a sequence number, so that events at one instant happen in the order they
//! were scheduled.

use std::task::Waker;

use slab::Slab;

use crate::control::Command;
use crate::net::Packet;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A timer, held in the queue itself: the sleeper's waker, and whether the sleeper went away.
/// The sleeper keeps a [`TimerRef`] to it; a timer costs no allocation of its own, and firing
/// one reads nothing beyond its queue slot.
#[derive(Debug)]
pub(crate) struct Timer {
    /// Which timer this is (slots are reused; serials are not).
    serial: u64,
    waker: Option<Waker>,
    cancelled: bool,
}

impl Timer {
    /// Wakes the sleeper, unless it went away.
    pub(crate) fn fire(self) {
        if !self.cancelled
            && let Some(w) = self.waker
        {
            w.wake();
        }
    }
}

/// A sleeper's handle on its timer in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerRef {
    slot: usize,
    serial: u64,
}

/// Something that happens at an instant.
pub(crate) enum Event {
    /// A message reaches its receiver's host.
    Deliver(Packet),
    /// A sleeping task wakes.
    Timer(Timer),
    /// A command scheduled ahead of time (boxed: commands are rare and large, and every slot of
    /// the queue is as big as its largest variant).
    Control(Box<Command>),
}

/// Slab slots: 2^28 events queued at once, more than 15 GB of them.
const SLOT_BITS: u32 = 28;
/// Sequence numbers before the queue renumbers its keys (2^35, about 34 billion events).
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS - 1);
/// The queue sweeps cancelled timers out once they are at least this many...
const SWEEP_MIN: usize = 1024;
/// ...and at least this share (1/n) of the events it holds.
const SWEEP_SHARE: usize = 4;

/// A queue key, 128 bits ordered as an integer: the virtual time (high 64 bits), then a tag
/// holding the scheduling order (high bits), a timer flag and the slab slot (low bits).
/// Ordered by time and tag, that is by time and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128);

impl Key {
    fn new(at: u64, seq: u64, timer: bool, slot: usize) -> Key {
        assert!(slot < 1 << SLOT_BITS, "faultline: more than 2^28 events queued at once");
        let tag = (seq << (SLOT_BITS + 1)) | (u64::from(timer) << SLOT_BITS) | slot as u64;
        Key((u128::from(at) << 64) | u128::from(tag))
    }

    fn at(self) -> u64 {
        (self.0 >> 64) as u64
    }

    fn tag(self) -> u64 {
        self.0 as u64
    }

    fn is_timer(self) -> bool {
        (self.tag() >> SLOT_BITS) & 1 == 1
    }

    fn slot(self) -> usize {
        (self.tag() & ((1 << SLOT_BITS) - 1)) as usize
    }
}

/// The queue's keys: a binary min-heap of 16-byte keys.
///
/// A radix heap (129 buckets by the highest bit that differs from the last key taken) was tried
/// in its place, with the inline payloads and once-per-message link counters already in: in an
/// interleaved A/B it was 10-20% slower at 100 nodes and 1k in flight and no faster at 1k nodes
/// and 100k in flight (the cache misses left there are the message's slab slot and its link's
/// counters, not the heap), so the binary heap stayed.
#[derive(Default)]
struct Keys(BinaryHeap<Reverse<u128>>);

impl Keys {
    fn push(&mut self, key: u128) {
        self.0.push(Reverse(key));
    }

    fn peek(&self) -> Option<u128> {
        self.0.peek().map(|r| r.0)
    }

    fn pop(&mut self) -> Option<u128> {
        self.0.pop().map(|r| r.0)
    }

    /// Removes and returns the smallest key if it is at most `max`.
    fn pop_at_most(&mut self, max: u128) -> Option<u128> {
        if self.peek()? <= max { self.pop() } else { None }
    }

    /// Keeps only the keys for which `keep` is true (one pass, then a rebuild).
    fn retain(&mut self, mut keep: impl FnMut(u128) -> bool) {
        self.0.retain(|r| keep(r.0));
    }

    /// Every key, in no particular order, emptying the heap.
    fn drain(&mut self) -> Vec<u128> {
        std::mem::take(&mut self.0).into_vec().into_iter().map(|r| r.0).collect()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

/// Events ordered by `(time, sequence)`: a binary heap of 16-byte keys, with the events
/// themselves in a slab so that sifting moves keys, not whole messages.
#[derive(Default)]
pub(crate) struct EventQueue {
    keys: Keys,
    events: Slab<Event>,
    seq: u64,
    /// Heap bytes of the messages in flight (inline payloads have none).
    payload: usize,
    /// Cancelled timers still queued.
    cancelled: usize,
    /// Timers armed so far: the last one's serial.
    timers: u64,
}

impl EventQueue {
    pub(crate) fn push(&mut self, at: SimTime, event: Event) {
        let timer = matches!(event, Event::Timer(_));
        let slot = self.events.insert(event);
        if self.seq + 1 == SEQ_LIMIT {
            self.renumber();
        }
        self.seq += 1;
        self.keys.push(Key::new(at.as_nanos(), self.seq, timer, slot).0);
    }

    pub(crate) fn push_delivery(&mut self, at: SimTime, packet: Packet) {
        self.payload += packet.bytes.heap_bytes();
        self.push(at, Event::Deliver(packet));
    }

    /// Arms a timer for `at` that wakes `waker`.
    pub(crate) fn add_timer(&mut self, at: SimTime, waker: &Waker) -> TimerRef {
        self.sweep_if_stale();
        self.timers += 1;
        let serial = self.timers;
        let slot = self.events.vacant_key();
        self.push(at, Event::Timer(Timer { serial, waker: Some(waker.clone()), cancelled: false }));
        TimerRef { slot, serial }
    }

    /// The timer `timer` refers to, while it is queued and armed.
    fn armed(&mut self, timer: TimerRef) -> Option<&mut Timer> {
        match self.events.get_mut(timer.slot) {
            Some(Event::Timer(t)) if t.serial == timer.serial && !t.cancelled => Some(t),
            _ => None,
        }
    }

    /// The sleeper of `timer` now waits with `waker`.
    pub(crate) fn set_timer_waker(&mut self, timer: TimerRef, waker: &Waker) {
        if let Some(t) = self.armed(timer)
            && !t.waker.as_ref().is_some_and(|w| w.will_wake(waker))
        {
            t.waker = Some(waker.clone());
        }
    }

    /// The sleeper of `timer` went away (or woke): the queue skips it without moving the clock
    /// to it, and sweeps it out once cancelled timers are a large share of what it holds. A
    /// timer already fired is left alone.
    pub(crate) fn cancel_timer(&mut self, timer: TimerRef) {
        if let Some(t) = self.armed(timer) {
            t.cancelled = true;
            t.waker = None;
            self.cancelled += 1;
        }
    }

    /// The instant of the next live event, dropping cancelled timers on the way.
    pub(crate) fn next_time(&mut self) -> Option<SimTime> {
        while let Some(key) = self.keys.peek().map(Key) {
            // With no timer cancelled, no timer needs a look (each look is a cache miss).
            if self.cancelled > 0
                && key.is_timer()
                && let Event::Timer(t) = &self.events[key.slot()]
                && t.cancelled
            {
                self.events.remove(key.slot());
                self.keys.pop();
                self.cancelled -= 1;
                continue;
            }
            return Some(SimTime::from_nanos(key.at()));
        }
        None
    }

    /// The next event due at or before `now`, if any.
    #[inline]
    pub(crate) fn pop_due(&mut self, now: SimTime) -> Option<Event> {
        // The largest key at `now`: every key due is at most this.
        let max = (u128::from(now.as_nanos()) << 64) | u128::from(u64::MAX);
        let key = Key(self.keys.pop_at_most(max)?);
        let event = self.events.remove(key.slot());
        match &event {
            Event::Deliver(p) => self.payload -= p.bytes.heap_bytes(),
            Event::Timer(t) if t.cancelled => self.cancelled -= 1,
            _ => {}
        }
        Some(event)
    }

    /// Removes every cancelled timer once they are many and a large share of the queue: at
    /// scale (a timeout per request, most of them cancelled by the reply) they would otherwise
    /// wait until their instant, costing memory and cache misses on every pop.
    fn sweep_if_stale(&mut self) {
        let stale = self.cancelled;
        if stale < SWEEP_MIN || stale * SWEEP_SHARE < self.keys.len() {
            return;
        }
        let events = &mut self.events;
        self.keys.retain(|k| {
            let key = Key(k);
            if key.is_timer()
                && let Event::Timer(t) = &events[key.slot()]
                && t.cancelled
            {
                events.remove(key.slot());
                return false;
            }
            true
        });
        self.cancelled = 0;
    }

    /// Gives the queued keys the sequence numbers 1, 2, ... in the order they will pop, so that
    /// numbering can go on without changing any order.
    fn renumber(&mut self) {
        let mut keys = self.keys.drain();
        keys.sort_unstable();
        for (i, k) in keys.iter().enumerate() {
            let key = Key(*k);
            self.keys.push(Key::new(key.at(), i as u64 + 1, key.is_timer(), key.slot()).0);
        }
        self.seq = keys.len() as u64;
    }

    /// The messages queued for delivery, in no particular order.
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = &Packet> {
        self.events.iter().filter_map(|(_, e)| match e {
            Event::Deliver(p) => Some(p),
            _ => None,
        })
    }

    /// Events waiting, cancelled timers included.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Cancelled timers still queued.
    #[cfg(test)]
    fn stale(&self) -> usize {
        self.cancelled
    }

    /// Memory the queue holds: its keys and slab as allocated, and the heap buffers of the
    /// messages in flight (without the allocator's own overhead per buffer).
    pub(crate) fn memory(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<u128>()
            + self.events.capacity() * std::mem::size_of::<Event>().max(8)
            + self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    fn packet(seq: u64) -> Packet {
        Packet { from: NodeId(0), to: NodeId(1), sent_at: SimTime::ZERO, seq, bytes: Default::default() }
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
        let t = q.add_timer(SimTime::from_nanos(1), Waker::noop());
        q.push_delivery(SimTime::from_nanos(9), packet(1));
        q.cancel_timer(t);
        assert_eq!(q.stale(), 1);
        assert_eq!(q.next_time(), Some(SimTime::from_nanos(9)));
        assert_eq!((q.stale(), q.len()), (0, 1));
    }

    #[test]
    fn cancelled_timers_are_swept_out_before_their_instant() {
        let mut q = EventQueue::default();
        q.push_delivery(SimTime::from_nanos(1), packet(1));
        let timers: Vec<_> =
            (0..4 * SWEEP_MIN as u64).map(|i| q.add_timer(SimTime::from_nanos(1000 + i), Waker::noop())).collect();
        // Cancel all but the last: each request's timeout, answered in time.
        for &t in &timers[..timers.len() - 1] {
            q.cancel_timer(t);
        }
        assert_eq!(q.stale(), timers.len() - 1);
        // The next timer armed finds most of the queue stale and sweeps it.
        q.add_timer(SimTime::from_nanos(5), Waker::noop());
        assert_eq!((q.stale(), q.len()), (0, 3));
        assert_eq!(q.events.len(), 3);
        // What stays comes out in order: the delivery, the new timer, the live old one.
        let mut order = Vec::new();
        while let Some(t) = q.next_time() {
            while let Some(e) = q.pop_due(t) {
                order.push((t.as_nanos(), matches!(e, Event::Timer(_))));
            }
        }
        let live = 1000 + timers.len() as u64 - 1;
        assert_eq!(order, vec![(1, false), (5, true), (live, true)]);
    }

    #[test]
    fn a_cancelled_timer_taken_as_due_is_uncounted() {
        let mut q = EventQueue::default();
        let t = q.add_timer(SimTime::from_nanos(3), Waker::noop());
        assert_eq!(q.next_time(), Some(SimTime::from_nanos(3)));
        q.cancel_timer(t);
        assert!(matches!(q.pop_due(SimTime::from_nanos(3)), Some(Event::Timer(_))));
        assert_eq!((q.stale(), q.len()), (0, 0));
    }

    #[test]
    fn a_fired_timer_s_handle_leaves_the_next_timer_in_its_slot_alone() {
        let mut q = EventQueue::default();
        let first = q.add_timer(SimTime::from_nanos(3), Waker::noop());
        assert!(matches!(q.pop_due(SimTime::from_nanos(3)), Some(Event::Timer(_))));
        // The next timer takes the freed slot; the first sleeper's late cancel is not for it.
        let second = q.add_timer(SimTime::from_nanos(5), Waker::noop());
        assert_eq!(first.slot, second.slot);
        q.cancel_timer(first);
        assert_eq!(q.stale(), 0);
        assert!(matches!(q.pop_due(SimTime::from_nanos(5)), Some(Event::Timer(t)) if !t.cancelled));
        q.cancel_timer(second);
        assert_eq!((q.stale(), q.len()), (0, 0), "a fired timer cannot be cancelled");
    }
}
