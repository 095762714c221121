//! Per-thread scratch space and seeded permutations shared by the community algorithms.
//!
//! Inner loops accumulate weights per community in a small cache-resident hash table plus a touched
//! list (a dense O(n) array per worker missed the cache on every edge).
//! One such accumulator per rayon worker lives in a [`Pool`], picked by the worker's index, so it is
//! allocated once per phase rather than once per task.

use std::sync::Mutex;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::snapshot::csr::Csr;

/// No key / no node, in accumulators and per-worker node maps.
pub(crate) const NONE: u32 = u32::MAX;

/// A sparse accumulator: a small open-addressing table (sized to the keys touched, so it stays in
/// L1/L2 cache) whose slots hold a key and its sum side by side (one probe finds both), plus the
/// slots in the order their keys were first touched. Results depend only on that order and on the
/// sums, never on the table's layout.
#[derive(Debug)]
pub(crate) struct Acc {
    /// Table slots: a key (or `NONE`) and its sum.
    slots: Vec<(u32, f64)>,
    /// Slots in use, in touch order.
    used: Vec<u32>,
    shift: u32,
}

impl Default for Acc {
    fn default() -> Acc {
        Acc::new()
    }
}

const MIN_BITS: u32 = 6;

impl Acc {
    pub(crate) fn new() -> Acc {
        Acc {
            slots: vec![(NONE, 0.0); 1 << MIN_BITS],
            used: Vec::new(),
            shift: 32 - MIN_BITS,
        }
    }

    #[inline]
    fn slot_of(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9e37_79b1) >> self.shift) as usize
    }

    /// Doubles the table (load factor kept at most 1/2) and re-inserts the touched keys in touch
    /// order.
    #[cold]
    fn grow(&mut self) {
        let items: Vec<(u32, f64)> = self.iter().collect();
        let bits = 32 - self.shift + 1;
        self.shift = 32 - bits;
        self.slots.clear();
        self.slots.resize(1 << bits, (NONE, 0.0));
        self.used.clear();
        let mask = (1usize << bits) - 1;
        for item in items {
            let mut s = self.slot_of(item.0);
            while self.slots[s].0 != NONE {
                s = (s + 1) & mask;
            }
            self.slots[s] = item;
            self.used.push(s as u32);
        }
    }

    #[inline(always)]
    pub(crate) fn add(&mut self, key: u32, w: f64) {
        let mask = self.slots.len() - 1;
        let mut s = self.slot_of(key);
        loop {
            let slot = &mut self.slots[s];
            if slot.0 == key {
                slot.1 += w;
                return;
            }
            if slot.0 == NONE {
                *slot = (key, w);
                break;
            }
            s = (s + 1) & mask;
        }
        self.used.push(s as u32);
        if self.used.len() * 2 > self.slots.len() {
            self.grow();
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: u32) -> f64 {
        let mask = self.slots.len() - 1;
        let mut s = self.slot_of(key);
        loop {
            let (k, w) = self.slots[s];
            if k == key {
                return w;
            }
            if k == NONE {
                return 0.0;
            }
            s = (s + 1) & mask;
        }
    }

    /// The keys and their sums, in the order the keys were first touched.
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.used.iter().map(|&s| self.slots[s as usize])
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        for &s in &self.used {
            self.slots[s as usize].0 = NONE;
        }
        self.used.clear();
    }
}

/// Nodes whose rows [`Gather::rows`] reads in one pass.
pub(crate) const GROUP: usize = 32;

/// Per-worker scratch of the sweeps that score every node of a batch against its neighbours'
/// labels: an accumulator, plus the rows of a group of nodes gathered in one pass.
#[derive(Debug, Default)]
pub(crate) struct Gather {
    pub(crate) acc: Acc,
    /// CSR range of each node of the group.
    pub(crate) ranges: Vec<(usize, usize)>,
    /// `key(u)` of every neighbour `u`, row after row.
    pub(crate) keys: Vec<u32>,
    /// A row being assembled, for the aggregations that emit rows: (target, f32 weight) packed
    /// into one `u64` (`graph::pack`), so sorting by target is a sort of integers.
    pub(crate) row: Vec<u64>,
}

impl Gather {
    /// Reads the rows of `vs` (at most [`GROUP`] nodes) and maps every neighbour through `key`, in
    /// flat loops of independent loads (the ranges, then the rows copied, then every neighbour
    /// mapped), so the cache misses of a whole group overlap instead of queueing one row at a time
    /// (the sweeps visit nodes in random order: each row is a miss). Mapping in the copying loop
    /// made each key load wait on its target load, and measured slower.
    #[inline]
    pub(crate) fn rows(&mut self, csr: &Csr, vs: &[u32], key: impl Fn(u32) -> u32) {
        let off = csr.offsets();
        let targets = csr.targets();
        self.ranges.clear();
        self.ranges
            .extend(vs.iter().map(|&v| (off[v as usize], off[v as usize + 1])));
        self.keys.clear();
        for &(a, b) in &self.ranges {
            self.keys.extend_from_slice(&targets[a..b]);
        }
        for k in &mut self.keys {
            *k = key(*k);
        }
    }
}

/// One value per rayon worker of the current pool.
pub(crate) struct Pool<T> {
    slots: Vec<Mutex<T>>,
}

impl<T> Pool<T> {
    pub(crate) fn new(make: impl Fn() -> T) -> Pool<T> {
        let k = rayon::current_num_threads().max(1);
        Pool {
            slots: (0..k).map(|_| Mutex::new(make())).collect(),
        }
    }

    /// Runs `f` with the calling worker's value. Never called re-entrantly, so the lock is
    /// uncontended except for callers outside the pool.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        let mut guard = self.slots[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

/// A seeded random generator (ChaCha8: stable output across platforms and versions).
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniformly random permutation of `0..n`.
pub(crate) fn permutation(n: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    p.shuffle(rng);
    p
}

/// Length of the runs of consecutive ids that [`visit_order`] keeps together.
const RUN: usize = 512;

/// A seeded visiting order of `0..n` for the local-moving sweeps. Small graphs get a uniformly random
/// permutation; larger ones runs of [`RUN`] consecutive ids, the runs in random order, so that each
/// node's row is read right after the previous node's (sequential memory traffic instead of a cache
/// miss per row) while the order stays random at the scale of the graph. Depends on `n` and the
/// generator only.
pub(crate) fn visit_order(n: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    if n <= 64 * RUN {
        return permutation(n, rng);
    }
    let runs = permutation(n.div_ceil(RUN), rng);
    let mut out = Vec::with_capacity(n);
    for r in runs {
        let lo = r as usize * RUN;
        out.extend(lo as u32..(lo + RUN).min(n) as u32);
    }
    out
}

/// A 64-bit mix (splitmix64 finaliser) for cheap deterministic tie-breaking.
#[inline]
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Renumbers labels to `0..k` in order of first appearance; returns k.
pub(crate) fn relabel_dense(labels: &mut [u32]) -> usize {
    let max = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut map = vec![NONE; max];
    let mut k = 0u32;
    for l in labels.iter_mut() {
        let m = &mut map[*l as usize];
        if *m == NONE {
            *m = k;
            k += 1;
        }
        *l = *m;
    }
    k as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc_accumulates_and_clears() {
        let mut a = Acc::new();
        a.add(3, 1.0);
        a.add(1, 2.0);
        a.add(3, 0.5);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![(3, 1.5), (1, 2.0)]);
        assert_eq!(a.get(3), 1.5);
        a.clear();
        assert_eq!(a.get(3), 0.0);
        assert_eq!(a.iter().count(), 0);
        // Growth keeps every sum and the touch order.
        for round in 0..2 {
            for k in (0..1000u32).rev() {
                a.add(k * 7919, f64::from(k));
                a.add(k * 7919, 1.0);
            }
            assert_eq!(a.iter().count(), 1000);
            assert_eq!(a.iter().next(), Some((999 * 7919, 1000.0)));
            assert_eq!(a.get(5 * 7919), 6.0);
            assert_eq!(a.get(1), 0.0, "round {round}");
            a.clear();
        }
    }

    #[test]
    fn gather_reads_rows_in_order() {
        let (csr, _) = Csr::from_pairs(4, &[(0, 1), (0, 2), (2, 3), (3, 0)]);
        let mut g = Gather::default();
        g.rows(&csr, &[2, 1, 0], |u| 10 * u);
        assert_eq!(g.ranges, vec![(2, 3), (2, 2), (0, 2)]);
        assert_eq!(g.keys, vec![30, 10, 20]);
    }

    #[test]
    fn permutation_is_seeded() {
        let p = permutation(100, &mut rng(7));
        assert_eq!(p, permutation(100, &mut rng(7)));
        assert_ne!(p, permutation(100, &mut rng(8)));
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn visit_order_is_a_seeded_permutation_of_runs() {
        for n in [10, 64 * RUN + 1, 100_003] {
            let p = visit_order(n, &mut rng(3));
            assert_eq!(p, visit_order(n, &mut rng(3)));
            let mut s = p.clone();
            s.sort_unstable();
            assert_eq!(s, (0..n as u32).collect::<Vec<_>>());
        }
        let p = visit_order(100_003, &mut rng(3));
        assert_eq!(p[1], p[0] + 1);
        assert_ne!(p[..RUN], (0..RUN as u32).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn relabel_in_first_appearance_order() {
        let mut l = vec![7, 3, 7, 9];
        assert_eq!(relabel_dense(&mut l), 3);
        assert_eq!(l, vec![0, 1, 0, 2]);
    }
}
