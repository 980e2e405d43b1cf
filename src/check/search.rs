//! The search: Wing and Gong's backtracking over a list of call and return entries, with
//! Lowe's cache of (linearized set, state) pairs, as in Porcupine.
//!
//! The entries are in time order. Walking the list from its head, the search linearizes the
//! operation of a call entry when the model accepts it and the resulting (set, state) pair is
//! new, lifts its call and return out of the list, and starts again from the head; when it
//! meets a return entry, that operation should have been linearized already, so it undoes
//! the last linearization and moves on past it. The history is linearizable when the list
//! empties. Two exact reductions on top of Porcupine's:
//! - the return entries of open operations (info, pending) come after everything; meeting one
//!   means every operation that returned is linearized, which is success, since each open
//!   one may take effect at the end or never. An open operation whose step would leave the
//!   state as it is is not linearized at all (kept for later, or never, is as good);
//! - an optional operation (the explanation's relaxation) that does not take effect changes
//!   nothing, so that choice is made once, at its return entry, rather than at every point
//!   of its window.

use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHasher};

use super::Limits;
use super::model::Model;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// One operation as the search sees it.
pub(crate) struct Item<'a, M: Model> {
    pub input: &'a M::Input,
    pub output: &'a M::Output,
    pub call: u64,
    /// `None`: open (info, pending): it may take effect at any time after its call, or never.
    pub ret: Option<u64>,
    /// It may also not take effect at all, even though it returned (the explanation's way of
    /// setting an operation free without losing soundness).
    pub optional: bool,
    /// Breaks ties between entries at the same time (the operation's index in the history).
    pub tie: usize,
}

/// What one search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    /// `deepest`: the longest linearizable prefix found; `stuck`: the item whose return the
    /// search could not pass at that depth.
    NotLinearizable {
        deepest: usize,
        stuck: usize,
    },
    OutOfBudget,
}

/// A wall-clock deadline and a step budget, shared by every search of one check.
pub(crate) struct Budget {
    deadline: Option<Instant>,
    max_steps: Option<u64>,
    steps: u64,
}

impl Budget {
    pub fn new(limits: &Limits) -> Budget {
        let deadline = limits.timeout.and_then(|d| Instant::now().checked_add(d));
        Budget { deadline, max_steps: limits.max_steps, steps: 0 }
    }

    /// A budget for one part of the work: the same deadline, and at most `steps` more steps
    /// (and no more than this budget has left).
    pub fn part(&self, steps: u64) -> Budget {
        let left = self.max_steps.map_or(u64::MAX, |max| max.saturating_sub(self.steps));
        Budget { deadline: self.deadline, max_steps: Some(steps.min(left)), steps: 0 }
    }

    /// Counts the steps a [`Budget::part`] took.
    pub fn spend(&mut self, part: &Budget) {
        self.steps += part.steps;
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// True once the deadline has passed or every step is spent.
    pub fn spent(&self) -> bool {
        self.max_steps.is_some_and(|max| self.steps >= max) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Counts one step; true once the budget is spent. The clock is read every 1024 steps.
    #[inline]
    fn tick(&mut self) -> bool {
        self.steps += 1;
        if self.max_steps.is_some_and(|max| self.steps > max) {
            return true;
        }
        self.steps & 0x3ff == 1 && self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The entries of the history, in time order, as a doubly linked list that operations are
/// lifted out of when linearized and put back into when the search backtracks.
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// For a call entry, its return entry; `NIL` for a return entry.
    mate: Vec<u32>,
    /// The item of each entry.
    item: Vec<u32>,
}

impl List {
    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        if n != NIL {
            self.prev[n as usize] = e;
        }
    }

    /// Takes a call entry and its return entry out of the list.
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        self.unlink(self.mate[call as usize]);
    }

    /// Undoes the matching `lift` (lifts are undone last first).
    fn unlift(&mut self, call: u32) {
        self.relink(self.mate[call as usize]);
        self.relink(call);
    }
}

/// Lowe's memo: the (linearized set, state) pairs already reached. Reaching one again cannot
/// lead anywhere new, so the search skips it.
struct Cache<S> {
    words: usize,
    /// The linearized sets, `words` words each, one per stored pair.
    bits: Vec<u64>,
    states: Vec<S>,
    /// The next pair with the same hash.
    chain: Vec<u32>,
    heads: FxHashMap<u64, u32>,
}

impl<S: Clone + Eq> Cache<S> {
    fn new(words: usize) -> Cache<S> {
        Cache { words, bits: Vec::new(), states: Vec::new(), chain: Vec::new(), heads: FxHashMap::default() }
    }

    /// Stores the pair; false if it was already there.
    fn insert(&mut self, hash: u64, linearized: &[u64], state: &S) -> bool {
        let w = self.words;
        let new = self.states.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut head) => {
                let mut i = *head.get();
                while i != NIL {
                    let at = i as usize;
                    let bits = &self.bits[at * w..(at + 1) * w];
                    // Word by word: a call to memcmp costs more than comparing one or two words.
                    if bits.iter().zip(linearized).all(|(a, b)| a == b) && self.states[at] == *state {
                        return false;
                    }
                    i = self.chain[at];
                }
                self.chain.push(*head.get());
                head.insert(new);
            }
            Entry::Vacant(head) => {
                head.insert(new);
                self.chain.push(NIL);
            }
        }
        self.bits.extend_from_slice(linearized);
        self.states.push(state.clone());
        true
    }
}

struct Frame<S> {
    /// The call entry linearized.
    entry: u32,
    /// The state before it.
    state: S,
    /// True when the operation was linearized as not taking effect (see [`Item::optional`]).
    skipped: bool,
}

fn hash_state<S: Hash>(state: &S) -> u64 {
    let mut h = FxHasher::default();
    state.hash(&mut h);
    h.finish()
}

/// A fixed pseudo-random key per operation: the linearized set's hash is the xor of its
/// operations' keys (Zobrist hashing), kept up to date in O(1) per step.
fn zobrist(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where the search is: the operations linearized so far (lifted out of the list, with the
/// way back on the stack) and the state they lead to.
struct Path<S> {
    list: List,
    cache: Cache<S>,
    linearized: Vec<u64>,
    /// The hash of `linearized`.
    zobrist: u64,
    state: S,
    stack: Vec<Frame<S>>,
}

impl<S: Clone + Eq + Hash> Path<S> {
    /// Linearizes item `i`, whose call entry is `entry`, into state `next`, unless the cache
    /// has seen that (set, state) pair already.
    fn linearize(&mut self, i: usize, entry: u32, next: S, skipped: bool) -> bool {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        self.linearized[word] |= bit;
        let zobrist = self.zobrist ^ zobrist(i);
        let hash = zobrist ^ hash_state(&next).wrapping_mul(0x2545_f491_4f6c_dd1d);
        if !self.cache.insert(hash, &self.linearized, &next) {
            self.linearized[word] &= !bit;
            return false;
        }
        self.zobrist = zobrist;
        let state = std::mem::replace(&mut self.state, next);
        self.stack.push(Frame { entry, state, skipped });
        self.list.lift(entry);
        true
    }

    /// Undoes the last linearization: its call entry and whether it was a skip.
    fn backtrack(&mut self) -> Option<(u32, bool)> {
        let frame = self.stack.pop()?;
        self.list.unlift(frame.entry);
        let i = self.list.item[frame.entry as usize] as usize;
        self.linearized[i / 64] &= !(1u64 << (i % 64));
        self.zobrist ^= zobrist(i);
        self.state = frame.state;
        Some((frame.entry, frame.skipped))
    }

    /// The first entry left, or `None` when every one is linearized.
    fn first(&self) -> Option<u32> {
        Some(self.list.next[HEAD as usize]).filter(|&e| e != NIL)
    }
}

/// Is there an order of `items` that respects real time and the model?
pub(crate) fn search<M: Model>(model: &M, items: &[Item<'_, M>], budget: &mut Budget) -> Outcome {
    let n = items.len();
    if n == 0 {
        return Outcome::Linearizable;
    }
    if n >= (NIL as usize - 1) / 2 {
        return Outcome::OutOfBudget;
    }

    // Entries in time order; at equal times calls come first, so operations that touch are
    // taken as concurrent. Open operations return after everything.
    let mut order: Vec<(u64, bool, usize, u32)> = Vec::with_capacity(2 * n);
    let mut open = Vec::new();
    for (i, it) in items.iter().enumerate() {
        order.push((it.call, false, it.tie, i as u32));
        match it.ret {
            Some(r) => order.push((r, true, it.tie, i as u32)),
            None => open.push(i as u32),
        }
    }
    order.sort_unstable();
    order.extend(open.into_iter().map(|i| (u64::MAX, true, usize::MAX, i)));

    let len = 2 * n + 1;
    let mut list = List {
        next: (1..=len as u32).collect(),
        prev: (0..len as u32).map(|e| e.wrapping_sub(1)).collect(),
        mate: vec![NIL; len],
        item: vec![0; len],
    };
    list.next[len - 1] = NIL;
    let mut call_entry = vec![NIL; n];
    for (k, &(_, is_return, _, i)) in order.iter().enumerate() {
        let e = k as u32 + 1;
        list.item[e as usize] = i;
        if is_return {
            list.mate[call_entry[i as usize] as usize] = e;
        } else {
            call_entry[i as usize] = e;
        }
    }

    let words = n.div_ceil(64);
    let mut path = Path {
        list,
        cache: Cache::new(words),
        linearized: vec![0; words],
        zobrist: 0,
        state: model.init(),
        stack: Vec::new(),
    };
    // The longest linearizable prefix seen, and the item whose return stopped it.
    let mut best: Option<(usize, usize)> = None;
    let mut entry = path.first().expect("n > 0");
    // Whether the current entry's move (linearize at a call; skip at an optional return) has
    // been tried already: true when the search comes back to it.
    let mut tried = false;
    loop {
        if budget.tick() {
            return Outcome::OutOfBudget;
        }
        let i = path.list.item[entry as usize] as usize;
        let it = &items[i];
        let lifted = if path.list.mate[entry as usize] != NIL {
            // A call entry: linearize the operation here, if the model allows it.
            match (!tried).then(|| model.step(&path.state, it.input, it.output)).flatten() {
                // An open operation that changes nothing need not be linearized here: left out,
                // it stays available for later, or for never, which is as good.
                Some(next) if it.ret.is_none() && next == path.state => false,
                Some(next) => path.linearize(i, entry, next, false),
                None => false,
            }
        } else if it.ret.is_none() {
            // The return of an open operation: only open operations are left, and each of them
            // can take effect at the end, or never.
            return Outcome::Linearizable;
        } else if it.optional && !tried && path.linearize(i, call_entry[i], path.state.clone(), true) {
            // The return of an optional operation not linearized yet: it did not take effect.
            // As that changes nothing, it is decided here only, not at every point of its window.
            true
        } else {
            // The return of an operation that could not be linearized before it: backtrack.
            if best.is_none_or(|(depth, _)| path.stack.len() > depth) {
                best = Some((path.stack.len(), i));
            }
            let Some((call, skipped)) = path.backtrack() else {
                let (deepest, stuck) = best.unwrap_or((0, i));
                return Outcome::NotLinearizable { deepest, stuck };
            };
            // Back to where that operation was linearized, to move on from there.
            entry = if skipped { path.list.mate[call as usize] } else { call };
            tried = true;
            continue;
        };
        tried = false;
        entry = if lifted {
            match path.first() {
                Some(first) => first,
                None => return Outcome::Linearizable,
            }
        } else {
            path.list.next[entry as usize]
        };
    }
}
