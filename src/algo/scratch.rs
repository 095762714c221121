//! Per-thread scratch space and seeded permutations shared by the community algorithms.
//!
//! Inner loops accumulate weights per community in a dense array plus a touched list (no hashing).
//! One such accumulator per rayon worker lives in a [`Pool`], picked by the worker's index, so the
//! O(n) arrays are allocated once per phase rather than once per task.

use std::sync::Mutex;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const NONE: u32 = u32::MAX;

/// A sparse accumulator over keys `0..capacity`: dense slots plus the list of touched keys, in the
/// order they were first touched.
#[derive(Debug)]
pub(crate) struct Acc {
    slot: Vec<u32>,
    pub(crate) items: Vec<(u32, f64)>,
    /// Free scratch for callers (e.g. gathered neighbour labels).
    pub(crate) buf: Vec<u32>,
}

impl Acc {
    pub(crate) fn new(capacity: usize) -> Acc {
        Acc {
            slot: vec![NONE; capacity],
            items: Vec::new(),
            buf: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, key: u32, w: f64) {
        let s = self.slot[key as usize];
        if s == NONE {
            self.slot[key as usize] = self.items.len() as u32;
            self.items.push((key, w));
        } else {
            self.items[s as usize].1 += w;
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: u32) -> f64 {
        match self.slot[key as usize] {
            NONE => 0.0,
            s => self.items[s as usize].1,
        }
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        for &(k, _) in &self.items {
            self.slot[k as usize] = NONE;
        }
        self.items.clear();
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
        let mut a = Acc::new(5);
        a.add(3, 1.0);
        a.add(1, 2.0);
        a.add(3, 0.5);
        assert_eq!(a.items, vec![(3, 1.5), (1, 2.0)]);
        assert_eq!(a.get(3), 1.5);
        a.clear();
        assert_eq!(a.get(3), 0.0);
        assert!(a.items.is_empty());
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
    fn relabel_in_first_appearance_order() {
        let mut l = vec![7, 3, 7, 9];
        assert_eq!(relabel_dense(&mut l), 3);
        assert_eq!(l, vec![0, 1, 0, 2]);
    }
}
