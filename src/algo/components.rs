//! Weakly connected components: Afforest-style parallel union-find (Sutton, Ben-Nun & Barak 2018;
//! the GAP benchmark suite's `cc_sv`/`cc` reference).
//!
//! Links always hang the larger root under the smaller one, so every root is the smallest node of
//! its component and the result is deterministic whatever the thread interleaving.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rand::Rng;
use rayon::prelude::*;

use super::scratch::{relabel_dense, rng};
use crate::snapshot::csr::Csr;

/// Neighbours per node linked before sampling the largest component.
const NEIGHBOR_ROUNDS: usize = 2;
const SAMPLES: usize = 1024;

/// Components: `membership[v]` numbered `0..count` in order of each component's smallest node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Components {
    pub membership: Vec<u32>,
    pub count: usize,
}

impl Components {
    /// Size of the largest component (0 for an empty graph).
    pub fn largest(&self) -> usize {
        let mut sizes = vec![0usize; self.count];
        for &c in &self.membership {
            sizes[c as usize] += 1;
        }
        sizes.into_iter().max().unwrap_or(0)
    }
}

fn link(parent: &[AtomicU32], u: u32, v: u32) {
    let mut p1 = parent[u as usize].load(Relaxed);
    let mut p2 = parent[v as usize].load(Relaxed);
    while p1 != p2 {
        let (high, low) = if p1 > p2 { (p1, p2) } else { (p2, p1) };
        let p_high = parent[high as usize].load(Relaxed);
        if p_high == low {
            break;
        }
        if p_high == high
            && parent[high as usize]
                .compare_exchange(high, low, Relaxed, Relaxed)
                .is_ok()
        {
            break;
        }
        p1 = parent[parent[high as usize].load(Relaxed) as usize].load(Relaxed);
        p2 = parent[low as usize].load(Relaxed);
    }
}

fn compress(parent: &[AtomicU32]) {
    parent.par_iter().with_min_len(4096).for_each(|p| {
        let mut x = p.load(Relaxed);
        loop {
            let gp = parent[x as usize].load(Relaxed);
            if gp == x {
                break;
            }
            x = gp;
        }
        p.store(x, Relaxed);
    });
}

/// Weakly connected components of a symmetric adjacency (each edge in both rows).
///
/// # Complexity
/// O(n + m) work, near-linear in practice: two sampled neighbour rounds link most nodes, then only
/// nodes outside the largest component scan the rest of their row. O(n) extra memory.
pub fn connected_components(csr: &Csr) -> Components {
    let n = csr.node_count();
    let parent: Vec<AtomicU32> = (0..n as u32).into_par_iter().map(AtomicU32::new).collect();
    for r in 0..NEIGHBOR_ROUNDS {
        (0..n as u32)
            .into_par_iter()
            .with_min_len(4096)
            .for_each(|v| {
                if let Some(&u) = csr.neighbors(v).get(r) {
                    link(&parent, v, u);
                }
            });
        compress(&parent);
    }
    // The most frequent root among a fixed sample is very likely the giant component.
    let giant = if n == 0 {
        0
    } else {
        let mut r = rng(0x6166_666f_7265_7374);
        let mut counts: Vec<(u32, usize)> = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..SAMPLES {
            let v = r.gen_range(0..n);
            *seen.entry(parent[v].load(Relaxed)).or_insert(0usize) += 1;
        }
        counts.extend(seen);
        counts
            .iter()
            .max_by_key(|&&(root, c)| (c, std::cmp::Reverse(root)))
            .map_or(0, |x| x.0)
    };
    (0..n as u32)
        .into_par_iter()
        .with_min_len(1024)
        .for_each(|v| {
            if parent[v as usize].load(Relaxed) == giant {
                return;
            }
            for &u in csr.neighbors(v).iter().skip(NEIGHBOR_ROUNDS) {
                link(&parent, v, u);
            }
        });
    compress(&parent);
    let mut membership: Vec<u32> = parent.into_iter().map(AtomicU32::into_inner).collect();
    let count = relabel_dense(&mut membership);
    Components { membership, count }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnected_parts() {
        // 0-1-2, 3-4, 5 isolated, 6-7
        let pairs = [(0, 1), (1, 2), (3, 4), (6, 7)];
        let sym: Vec<(u32, u32)> = pairs.iter().flat_map(|&(u, v)| [(u, v), (v, u)]).collect();
        let (csr, _) = Csr::from_pairs(8, &sym);
        let c = connected_components(&csr);
        assert_eq!(c.membership, vec![0, 0, 0, 1, 1, 2, 3, 3]);
        assert_eq!(c.count, 4);
        assert_eq!(c.largest(), 3);
    }

    #[test]
    fn long_path_with_late_neighbours() {
        // A star whose centre links everything only through neighbours beyond the sampled two.
        let mut sym = Vec::new();
        for leaf in 1..50u32 {
            sym.push((0, leaf));
            sym.push((leaf, 0));
        }
        for leaf in 50..60u32 {
            sym.push((leaf, leaf - 1));
            sym.push((leaf - 1, leaf));
        }
        let (csr, _) = Csr::from_pairs(61, &sym);
        let c = connected_components(&csr);
        assert_eq!(c.count, 2);
        assert!(c.membership[..60].iter().all(|&x| x == 0));
        assert_eq!(c.membership[60], 1);
    }

    #[test]
    fn empty() {
        let c = connected_components(&Csr::default());
        assert_eq!(c.count, 0);
    }
}
