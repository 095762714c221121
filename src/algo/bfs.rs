//! Breadth-first search: a full direction-optimizing BFS (Beamer, Asanović & Patterson 2012, as in
//! the GAP benchmark suite) and a k-hop neighbourhood for small, local queries.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use super::AlgoError;
use crate::snapshot::csr::Csr;

/// Not reached.
pub const UNREACHED: u32 = u32::MAX;
/// Switch to bottom-up when the frontier's edges exceed the unexplored edges / ALPHA (GAP: 15).
const ALPHA: usize = 15;
/// Switch back to top-down when the frontier shrinks below n / BETA (GAP: 18).
const BETA: usize = 18;

/// Hop distance of every node from the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfsReport {
    /// `depth[v]`, or [`UNREACHED`].
    pub depth: Vec<u32>,
    pub reached: usize,
    pub max_depth: u32,
}

/// Full BFS over a symmetric adjacency (each edge in both rows), direction-optimizing: top-down
/// steps claim nodes with compare-and-swap; when the frontier gets heavy, bottom-up steps let every
/// unvisited node look for a parent in the frontier bitmap. Depths are deterministic.
///
/// # Errors
/// `source` out of range.
///
/// # Complexity
/// O(n + m) work in the worst case, usually far fewer edge visits thanks to bottom-up steps;
/// O(n) memory (depths plus two bitmaps).
pub fn bfs(csr: &Csr, source: u32) -> Result<BfsReport, AlgoError> {
    let n = csr.node_count();
    if source as usize >= n {
        return Err(AlgoError::NodeOutOfRange { node: source, n });
    }
    let depth: Vec<AtomicU32> = (0..n)
        .into_par_iter()
        .map(|_| AtomicU32::new(UNREACHED))
        .collect();
    depth[source as usize].store(0, Relaxed);
    let mut frontier = vec![source];
    let mut edges_to_check = csr.edge_count();
    let mut scout = csr.degree(source);
    let mut level = 0u32;
    let words = n.div_ceil(64);
    while !frontier.is_empty() {
        if scout > edges_to_check / ALPHA {
            let front: Vec<AtomicU64> = (0..words)
                .into_par_iter()
                .map(|_| AtomicU64::new(0))
                .collect();
            frontier.par_iter().for_each(|&v| {
                front[v as usize / 64].fetch_or(1 << (v % 64), Relaxed);
            });
            let mut front: Vec<u64> = front.into_par_iter().map(AtomicU64::into_inner).collect();
            let mut next = vec![0u64; words];
            let mut awake = frontier.len();
            loop {
                let old = awake;
                awake = bottom_up_step(csr, &depth, &front, &mut next, level);
                level += 1;
                std::mem::swap(&mut front, &mut next);
                if awake == 0 || (awake < old && awake <= n / BETA) {
                    break;
                }
            }
            frontier = (0..n as u32)
                .into_par_iter()
                .with_min_len(4096)
                .filter(|&v| front[v as usize / 64] >> (v % 64) & 1 == 1)
                .collect();
            scout = 1;
        } else {
            edges_to_check = edges_to_check.saturating_sub(scout);
            let (next, s) = top_down_step(csr, &depth, &frontier, level);
            frontier = next;
            scout = s;
            level += 1;
        }
    }
    let depth: Vec<u32> = depth.into_par_iter().map(AtomicU32::into_inner).collect();
    let reached = depth.par_iter().filter(|&&d| d != UNREACHED).count();
    let max_depth = depth
        .par_iter()
        .filter(|&&d| d != UNREACHED)
        .copied()
        .max()
        .unwrap_or(0);
    Ok(BfsReport {
        depth,
        reached,
        max_depth,
    })
}

fn top_down_step(
    csr: &Csr,
    depth: &[AtomicU32],
    frontier: &[u32],
    level: u32,
) -> (Vec<u32>, usize) {
    let parts: Vec<(Vec<u32>, usize)> = frontier
        .par_chunks(64)
        .map(|chunk| {
            let mut out = Vec::new();
            let mut scout = 0usize;
            for &v in chunk {
                for &u in csr.neighbors(v) {
                    let d = &depth[u as usize];
                    if d.load(Relaxed) == UNREACHED
                        && d.compare_exchange(UNREACHED, level + 1, Relaxed, Relaxed)
                            .is_ok()
                    {
                        out.push(u);
                        scout += csr.degree(u);
                    }
                }
            }
            (out, scout)
        })
        .collect();
    let scout = parts.iter().map(|p| p.1).sum();
    let mut next = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for (p, _) in parts {
        next.extend_from_slice(&p);
    }
    (next, scout)
}

fn bottom_up_step(
    csr: &Csr,
    depth: &[AtomicU32],
    front: &[u64],
    next: &mut [u64],
    level: u32,
) -> usize {
    let n = csr.node_count();
    next.par_iter_mut()
        .enumerate()
        .with_min_len(64)
        .map(|(w, word)| {
            let mut bits = 0u64;
            let mut awake = 0usize;
            for b in 0..64 {
                let v = w * 64 + b;
                if v >= n {
                    break;
                }
                if depth[v].load(Relaxed) != UNREACHED {
                    continue;
                }
                for &u in csr.neighbors(v as u32) {
                    if front[u as usize / 64] >> (u % 64) & 1 == 1 {
                        depth[v].store(level + 1, Relaxed);
                        bits |= 1 << b;
                        awake += 1;
                        break;
                    }
                }
            }
            *word = bits;
            awake
        })
        .sum()
}

/// Nodes within `k` hops of any seed, with their hop count, in BFS order (seeds first, at 0).
/// Meant for local queries: cost is proportional to what is reached (plus an n-bit bitmap).
///
/// # Errors
/// A seed out of range.
///
/// # Complexity
/// O(n/64 + Σ degree of the nodes reached within k − 1 hops).
pub fn k_hop(csr: &Csr, seeds: &[u32], k: u32) -> Result<Vec<(u32, u32)>, AlgoError> {
    let n = csr.node_count();
    let mut seen = vec![0u64; n.div_ceil(64)];
    let mut out = Vec::new();
    for &s in seeds {
        if s as usize >= n {
            return Err(AlgoError::NodeOutOfRange { node: s, n });
        }
        if seen[s as usize / 64] >> (s % 64) & 1 == 0 {
            seen[s as usize / 64] |= 1 << (s % 64);
            out.push((s, 0));
        }
    }
    let mut start = 0;
    for hop in 1..=k {
        let end = out.len();
        for i in start..end {
            let v = out[i].0;
            for &u in csr.neighbors(v) {
                let (w, b) = (u as usize / 64, u % 64);
                if seen[w] >> b & 1 == 0 {
                    seen[w] |= 1 << b;
                    out.push((u, hop));
                }
            }
        }
        start = end;
        if start == out.len() {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sym(n: usize, e: &[(u32, u32)]) -> Csr {
        let p: Vec<(u32, u32)> = e.iter().flat_map(|&(u, v)| [(u, v), (v, u)]).collect();
        Csr::from_pairs(n, &p).0
    }

    fn naive(csr: &Csr, s: u32) -> Vec<u32> {
        let mut d = vec![UNREACHED; csr.node_count()];
        d[s as usize] = 0;
        let mut q = std::collections::VecDeque::from([s]);
        while let Some(v) = q.pop_front() {
            for &u in csr.neighbors(v) {
                if d[u as usize] == UNREACHED {
                    d[u as usize] = d[v as usize] + 1;
                    q.push_back(u);
                }
            }
        }
        d
    }

    #[test]
    fn star_switches_to_bottom_up_and_agrees() {
        let e: Vec<(u32, u32)> = (1..500).map(|l| (0, l)).chain([(500, 501)]).collect();
        let csr = sym(502, &e);
        let r = bfs(&csr, 3).unwrap();
        assert_eq!(r.depth, naive(&csr, 3));
        assert_eq!(r.reached, 500);
        assert_eq!(r.max_depth, 2);
        assert!(bfs(&csr, 502).is_err());
    }

    #[test]
    fn k_hop_on_a_path() {
        let csr = sym(6, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
        let r = k_hop(&csr, &[2], 2).unwrap();
        assert_eq!(r, vec![(2, 0), (1, 1), (3, 1), (0, 2), (4, 2)]);
        let r = k_hop(&csr, &[0, 5, 0], 1).unwrap();
        assert_eq!(r, vec![(0, 0), (5, 0), (1, 1), (4, 1)]);
        assert!(k_hop(&csr, &[9], 1).is_err());
    }

    proptest! {
        #![proptest_config(crate::proptest_config(256))]
        #[test]
        fn bfs_matches_naive(edges in proptest::collection::vec((0u32..60, 0u32..60), 0..400), s in 0u32..60) {
            let csr = sym(60, &edges);
            let r = bfs(&csr, s).unwrap();
            prop_assert_eq!(r.depth, naive(&csr, s));
        }
    }
}
