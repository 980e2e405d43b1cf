//! A radix heap: a priority queue of `u128` keys for keys that never go below the last one
//! taken (the event queue's keys: virtual time, then scheduling order, only move forward).
//!
//! Keys live in 129 buckets by the highest bit in which they differ from the last key taken;
//! taking the minimum empties the lowest non-empty bucket into lower ones. Each key moves
//! down a few times in all, through vectors read front to back, where a binary heap of 100k
//! keys makes ~17 scattered, cache-missing compares per pop. Keys come out in exactly the order
//! of a binary heap of the same keys (they are unique, and the order is that of `u128`).

/// Largest emptied bucket buffer kept for reuse, in keys (16 KiB).
const SPARE_MAX: usize = 1024;

/// The buckets; see the module doc.
#[derive(Debug)]
pub(crate) struct RadixHeap {
    /// `buckets[0]` holds keys equal to `last`; `buckets[i]`, keys whose highest bit differing
    /// from `last` is bit `i - 1`.
    buckets: Vec<Vec<u128>>,
    /// Bit `i` set when `buckets[i]` may be non-empty (for `i` in 1..=128, at bit `i - 1`).
    occupied: u128,
    /// The last key taken (or the floor set by `rebuild`): no key below it may be pushed.
    last: u128,
    len: usize,
    /// An empty vector with capacity, swapped in for a bucket being redistributed.
    spare: Vec<u128>,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap { buckets: vec![Vec::new(); 129], occupied: 0, last: 0, len: 0, spare: Vec::new() }
    }
}

#[inline]
fn bucket_of(key: u128, last: u128) -> usize {
    128 - (key ^ last).leading_zeros() as usize
}

impl RadixHeap {
    /// Adds `key`. A key below the last one seen by `peek` or `pop` is allowed but costs a pass
    /// over every key (the buckets are rebuilt around it): the event queue does that only when
    /// a run stops before an event it peeked at, and the next run schedules something earlier.
    #[inline]
    pub(crate) fn push(&mut self, key: u128) {
        if key < self.last {
            self.rebase(key);
        }
        let b = bucket_of(key, self.last);
        self.buckets[b].push(key);
        if b > 0 {
            self.occupied |= 1 << (b - 1);
        }
        self.len += 1;
    }

    /// The smallest key, without removing it.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u128> {
        if self.buckets[0].is_empty() {
            self.refill()?;
        }
        Some(self.last)
    }

    /// Removes and returns the smallest key.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<u128> {
        if self.buckets[0].is_empty() {
            self.refill()?;
        }
        self.len -= 1;
        self.buckets[0].pop()
    }

    /// Rebuilds the buckets around `floor`, below every key held.
    #[cold]
    fn rebase(&mut self, floor: u128) {
        let all = self.drain();
        self.last = floor;
        for k in all {
            self.push(k);
        }
    }

    /// Removes and returns the smallest key if it is at most `max`. Unlike [`RadixHeap::pop`]
    /// it never looks past `max`: when every key is beyond it, the buckets stay as they are, so
    /// that keys pushed next may still be as low as `max` without a rebuild.
    #[inline]
    pub(crate) fn pop_at_most(&mut self, max: u128) -> Option<u128> {
        if self.buckets[0].is_empty() {
            // Drop the marks of buckets emptied by `retain`, then bound the lowest one from
            // below: its keys share `last`'s bits above bit b - 1 and have that bit set.
            while self.occupied != 0 {
                let b = self.occupied.trailing_zeros() as usize + 1;
                if !self.buckets[b].is_empty() {
                    let floor = ((self.last >> (b - 1)) | 1) << (b - 1);
                    if floor > max {
                        return None;
                    }
                    break;
                }
                self.occupied &= !(1 << (b - 1));
            }
            self.refill()?;
        }
        if self.last > max {
            return None;
        }
        self.len -= 1;
        self.buckets[0].pop()
    }

    /// Moves the lowest non-empty bucket's keys down, relative to its minimum, which becomes
    /// `last` and lands in bucket 0.
    fn refill(&mut self) -> Option<()> {
        while self.occupied != 0 {
            let b = self.occupied.trailing_zeros() as usize + 1;
            self.occupied &= !(1 << (b - 1));
            if self.buckets[b].is_empty() {
                continue;
            }
            let mut keys = std::mem::replace(&mut self.buckets[b], std::mem::take(&mut self.spare));
            let min = keys.iter().copied().min().unwrap_or(self.last);
            self.last = min;
            for &k in &keys {
                let nb = bucket_of(k, min);
                self.buckets[nb].push(k);
                if nb > 0 {
                    self.occupied |= 1 << (nb - 1);
                }
            }
            keys.clear();
            // A bucket is emptied only here. Keep a small buffer for the next bucket to swap
            // in, but free a large one: otherwise each of the 129 buckets would keep the
            // largest size it ever had (up to every key at once), 10x the keys' own memory.
            if keys.capacity() <= SPARE_MAX {
                self.spare = keys;
            }
            return Some(());
        }
        None
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Key slots allocated (for the queue's memory figure).
    pub(crate) fn capacity(&self) -> usize {
        self.buckets.iter().map(Vec::capacity).sum::<usize>() + self.spare.capacity()
    }

    /// Keeps only the keys for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u128) -> bool) {
        self.occupied = 0;
        self.len = 0;
        for (i, b) in self.buckets.iter_mut().enumerate() {
            b.retain(|&k| keep(k));
            self.len += b.len();
            if i > 0 && !b.is_empty() {
                self.occupied |= 1 << (i - 1);
            }
        }
    }

    /// Every key, in no particular order, emptying the heap; the next keys pushed may be as
    /// low as 0.
    pub(crate) fn drain(&mut self) -> Vec<u128> {
        let mut all = Vec::with_capacity(self.len);
        for b in &mut self.buckets {
            all.append(b);
        }
        self.occupied = 0;
        self.last = 0;
        self.len = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test keys.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn pops_in_the_order_of_a_binary_heap() {
        let mut radix = RadixHeap::default();
        let mut heap = std::collections::BinaryHeap::new();
        let (mut state, mut seq, mut now) = (0x9E37_79B9_7F4A_7C15_u64, 0u128, 0u128);
        for round in 0..20_000u32 {
            // Push a few keys at or after the current time, then pop one or two.
            for _ in 0..(next(&mut state) % 3) {
                seq += 1;
                let at = now + u128::from(next(&mut state) % 1000) * u128::from(round % 2);
                let key = (at << 64) | seq;
                radix.push(key);
                heap.push(std::cmp::Reverse(key));
            }
            for _ in 0..(next(&mut state) % 3) {
                let got = radix.pop();
                assert_eq!(got, heap.pop().map(|r| r.0));
                if let Some(k) = got {
                    now = k >> 64;
                }
            }
            assert_eq!(radix.len(), heap.len());
        }
        while let Some(k) = radix.pop() {
            assert_eq!(Some(k), heap.pop().map(|r| r.0));
        }
        assert!(heap.is_empty());
    }

    #[test]
    fn a_key_below_the_last_peeked_still_comes_out_first() {
        let mut r = RadixHeap::default();
        for k in [100u128, 300, 200] {
            r.push(k);
        }
        assert_eq!(r.peek(), Some(100));
        assert_eq!(r.pop(), Some(100));
        assert_eq!(r.peek(), Some(200));
        // A run stopped before 200; the next one schedules 150.
        r.push(150);
        r.push(250);
        let order: Vec<_> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(order, vec![150, 200, 250, 300]);
    }

    #[test]
    fn pop_at_most_stops_at_the_bound_without_moving_past_it() {
        let mut r = RadixHeap::default();
        for k in [10u128, 1 << 40, (1 << 40) + 5] {
            r.push(k);
        }
        assert_eq!(r.pop_at_most(10), Some(10));
        assert_eq!(r.pop_at_most(1000), None);
        // Nothing was redistributed past the bound: a key just above 10 needs no rebuild.
        assert_eq!(r.last, 10);
        r.push(11);
        assert_eq!(r.pop_at_most(1000), Some(11));
        assert_eq!(r.pop_at_most(1 << 40), Some(1 << 40));
        assert_eq!(r.pop_at_most(u128::MAX), Some((1 << 40) + 5));
        assert_eq!(r.pop_at_most(u128::MAX), None);
    }

    #[test]
    fn pop_at_most_agrees_with_a_binary_heap() {
        let mut radix = RadixHeap::default();
        let mut heap = std::collections::BinaryHeap::new();
        let (mut state, mut seq, mut now) = (0x2545_F491_4F6C_DD1D_u64, 0u128, 0u128);
        for _ in 0..20_000 {
            for _ in 0..(next(&mut state) % 3) {
                seq += 1;
                let key = ((now + u128::from(next(&mut state) % 50)) << 64) | seq;
                radix.push(key);
                heap.push(std::cmp::Reverse(key));
            }
            // Take everything due at `now`, then move `now` on by a little.
            let max = (now << 64) | u128::from(u64::MAX);
            while let Some(k) = radix.pop_at_most(max) {
                assert_eq!(Some(k), heap.pop().map(|r| r.0));
            }
            assert!(heap.peek().is_none_or(|r| r.0 > max));
            now += u128::from(next(&mut state) % 4);
        }
    }

    #[test]
    fn emptied_buckets_give_their_memory_back() {
        let mut r = RadixHeap::default();
        // 300k keys in one bucket, then drained: they pass through lower buckets on the way.
        for k in 0..300_000u128 {
            r.push((1 << 90) + k * 7);
        }
        while r.pop().is_some() {}
        assert!(r.capacity() <= 130 * SPARE_MAX, "{} key slots still held", r.capacity());
    }

    #[test]
    fn peek_does_not_remove_and_retain_filters() {
        let mut r = RadixHeap::default();
        for k in [50u128, 7, 9, 1 << 100, 8] {
            r.push(k);
        }
        assert_eq!(r.peek(), Some(7));
        assert_eq!(r.peek(), Some(7));
        assert_eq!(r.len(), 5);
        r.retain(|k| k % 2 == 0);
        assert_eq!(r.len(), 3);
        assert_eq!(r.pop(), Some(8));
        assert_eq!(r.pop(), Some(50));
        assert_eq!(r.pop(), Some(1 << 100));
        assert_eq!(r.pop(), None);
        assert_eq!(r.peek(), None);
    }
}
