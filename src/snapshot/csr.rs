//! Compressed sparse rows: the adjacency layout every traversal and algorithm runs on.

use rayon::prelude::*;

/// Adjacency in compressed sparse row form: the neighbours of `v` are
/// `targets[offsets[v]..offsets[v + 1]]`, sorted ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Csr {
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

impl Csr {
    /// Builds from `(src, dst)` pairs over nodes `0..n`. Pairs are kept as given (no dedup); each row is
    /// sorted. Returns, with the CSR, for every slot the index of the pair it came from, so callers can
    /// keep per-edge data aligned with the slots.
    ///
    /// # Complexity
    /// O(n + m log d) time (counting sort, then a parallel sort of each row), O(n + m) memory.
    ///
    /// # Panics
    /// If an endpoint is `>= n`.
    pub fn from_pairs(n: usize, pairs: &[(u32, u32)]) -> (Csr, Vec<u32>) {
        let mut offsets = vec![0usize; n + 1];
        for &(s, _) in pairs {
            offsets[s as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        let mut slots: Vec<(u32, u32)> = vec![(0, 0); pairs.len()];
        for (i, &(s, d)) in pairs.iter().enumerate() {
            let c = &mut cursor[s as usize];
            slots[*c] = (d, i as u32);
            *c += 1;
        }
        // Sort each row by target, in parallel over disjoint row slices.
        let mut rows: Vec<&mut [(u32, u32)]> = Vec::with_capacity(n);
        let mut rest: &mut [(u32, u32)] = &mut slots;
        for v in 0..n {
            let (row, tail) = rest.split_at_mut(offsets[v + 1] - offsets[v]);
            rows.push(row);
            rest = tail;
        }
        rows.par_iter_mut().for_each(|row| row.sort_unstable());
        let (targets, origin): (Vec<u32>, Vec<u32>) = slots.into_par_iter().unzip();
        (Csr { offsets, targets }, origin)
    }

    /// Builds from raw parts. `offsets` must have `n + 1` non-decreasing entries ending at `targets.len()`.
    pub fn from_parts(offsets: Vec<usize>, targets: Vec<u32>) -> Csr {
        debug_assert_eq!(offsets.last().copied().unwrap_or(0), targets.len());
        Csr { offsets, targets }
    }

    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    #[inline]
    pub fn neighbors(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    /// The slot range of `v`'s row, to index per-edge data aligned with the targets.
    #[inline]
    pub fn range(&self, v: u32) -> std::ops::Range<usize> {
        let v = v as usize;
        self.offsets[v]..self.offsets[v + 1]
    }

    #[inline]
    pub fn degree(&self, v: u32) -> usize {
        let v = v as usize;
        self.offsets[v + 1] - self.offsets[v]
    }

    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    pub fn targets(&self) -> &[u32] {
        &self.targets
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * std::mem::size_of::<usize>()
            + self.targets.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_and_origins_align() {
        let pairs = [(0, 2), (1, 0), (0, 1), (2, 2), (0, 2)];
        let (csr, origin) = Csr::from_pairs(3, &pairs);
        assert_eq!(csr.neighbors(0), &[1, 2, 2]);
        assert_eq!(csr.neighbors(1), &[0]);
        assert_eq!(csr.neighbors(2), &[2]);
        for v in 0..3u32 {
            for slot in csr.range(v) {
                let (s, d) = pairs[origin[slot] as usize];
                assert_eq!((s, d), (v, csr.targets()[slot]));
            }
        }
    }

    #[test]
    fn empty_graph() {
        let (csr, origin) = Csr::from_pairs(0, &[]);
        assert_eq!(csr.node_count(), 0);
        assert!(origin.is_empty());
    }
}
