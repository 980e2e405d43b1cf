//! The hash ring that places each key on N replicas, its home set, with the rest of the ring
//! in order as fallbacks. Hashing is FNV-1a over fixed bytes: the same on every run and
//! platform (no `RandomState`).

use super::Key;

/// Points each replica has on the ring, so that keys spread evenly.
pub const VNODES: u32 = 16;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV mixes low bytes poorly into the high bits; finish with a murmur-style avalanche.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A consistent-hash ring over replicas `0..nodes`.
#[derive(Clone, Debug)]
pub struct Ring {
    points: Vec<(u64, u32)>,
    nodes: u32,
    n: usize,
}

impl Ring {
    /// A ring of `nodes` replicas, each key on `n` of them (`1 <= n <= nodes`, checked by the
    /// cluster config).
    pub fn new(nodes: usize, n: usize) -> Self {
        let nodes = u32::try_from(nodes).unwrap_or(u32::MAX);
        let mut points: Vec<(u64, u32)> = (0..nodes)
            .flat_map(|r| (0..VNODES).map(move |v| (fnv1a(format!("replica-{r}-{v}").as_bytes()), r)))
            .collect();
        points.sort_unstable();
        Ring { points, nodes, n: n.min(nodes as usize) }
    }

    /// Every replica in the order the ring visits them from `key`: the first N are its home
    /// set, the rest its fallbacks.
    pub fn preference(&self, key: Key) -> Vec<u32> {
        let h = fnv1a(&key.to_le_bytes());
        let start = self.points.partition_point(|&(p, _)| p < h);
        let mut seen = vec![false; self.nodes as usize];
        let mut out = Vec::with_capacity(self.nodes as usize);
        for i in 0..self.points.len() {
            let (_, r) = self.points[(start + i) % self.points.len()];
            if !std::mem::replace(&mut seen[r as usize], true) {
                out.push(r);
            }
        }
        out
    }

    /// The key's N home replicas.
    pub fn home(&self, key: Key) -> Vec<u32> {
        let mut p = self.preference(key);
        p.truncate(self.n);
        p
    }

    /// Whether replica `r` is in the key's home set.
    pub fn is_home(&self, key: Key, r: u32) -> bool {
        self.home(key).contains(&r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_are_distinct_stable_and_spread() {
        let ring = Ring::new(5, 3);
        let mut load = [0; 5];
        for k in 0..1000 {
            let h = ring.home(k);
            assert_eq!(h.len(), 3);
            let mut d = h.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), 3);
            assert_eq!(ring.preference(k)[..3], h[..]);
            assert_eq!(ring.preference(k).len(), 5);
            for r in h {
                load[r as usize] += 1;
            }
        }
        // 3000 placements over 5 replicas: each holds a fair share, none is starved.
        assert!(load.iter().all(|&l| (300..=900).contains(&l)), "{load:?}");
        assert_eq!(Ring::new(5, 3).home(42), ring.home(42));
    }
}
