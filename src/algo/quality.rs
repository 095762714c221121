//! Partition quality: modularity (with resolution) and normalized mutual information.

use rayon::prelude::*;

use super::graph::{det_sum, Graph};

/// A partition that does not fit the graph or the other partition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QualityError {
    #[error("membership has {got} entries, expected {expected}")]
    LengthMismatch { got: usize, expected: usize },
}

/// Modularity of `membership` on `g` with resolution `resolution`:
/// `Q = 1/2m Σ_c (in_c − γ tot_c² / 2m)`, where `in_c` counts each internal edge twice and each loop
/// twice, and `tot_c` is the summed strength. Lies in `[-1/2, 1]` for γ = 1; 0 for an edgeless graph.
///
/// # Errors
/// `membership.len() != g.node_count()`.
///
/// # Complexity
/// O(n + m), parallel; the summation order is fixed, so the value does not depend on the thread count.
pub fn modularity(g: &Graph, membership: &[u32], resolution: f64) -> Result<f64, QualityError> {
    check(membership.len(), g.node_count())?;
    Ok(modularity_unchecked(g, membership, resolution))
}

/// Sum of edge weights inside communities (each edge and loop once).
pub(crate) fn internal_weight(g: &Graph, membership: &[u32]) -> f64 {
    det_sum(g.node_count(), |v| {
        let c = membership[v];
        let v = v as u32;
        let mut s = 2.0 * g.self_loop(v);
        for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
            if membership[u as usize] == c {
                s += f64::from(w);
            }
        }
        s
    }) / 2.0
}

pub(crate) fn modularity_unchecked(g: &Graph, membership: &[u32], resolution: f64) -> f64 {
    let m = g.total_weight();
    if m <= 0.0 {
        return 0.0;
    }
    let internal = internal_weight(g, membership);
    let k = membership
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut tot = vec![0f64; k];
    for (v, &c) in membership.iter().enumerate() {
        tot[c as usize] += g.strength(v as u32);
    }
    let sq: f64 = tot.iter().map(|t| t * t).sum();
    internal / m - resolution * sq / (4.0 * m * m)
}

fn check(got: usize, expected: usize) -> Result<(), QualityError> {
    if got == expected {
        Ok(())
    } else {
        Err(QualityError::LengthMismatch { got, expected })
    }
}

/// Normalized mutual information `2 I(A;B) / (H(A) + H(B))` (the arithmetic normalisation of
/// Danon et al., igraph's `compare_communities(method="nmi")` and scikit-learn's default).
/// 1 for identical partitions up to renaming; defined as 1 when both have a single community.
///
/// # Errors
/// Partitions of different lengths.
///
/// # Complexity
/// O(n log n) (a parallel sort of the label pairs).
pub fn nmi(a: &[u32], b: &[u32]) -> Result<f64, QualityError> {
    check(b.len(), a.len())?;
    let n = a.len();
    if n == 0 {
        return Ok(1.0);
    }
    let counts = |labels: &[u32]| {
        let k = labels.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let mut cnt = vec![0u64; k];
        for &c in labels {
            cnt[c as usize] += 1;
        }
        cnt
    };
    let ca = counts(a);
    let cb = counts(b);
    let nf = n as f64;
    let h = |cnt: &[u64]| -> f64 {
        cnt.iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / nf;
                -p * p.ln()
            })
            .sum()
    };
    let ha = h(&ca);
    let hb = h(&cb);
    let mut pairs: Vec<u64> = a
        .par_iter()
        .zip(b)
        .map(|(&x, &y)| (u64::from(x) << 32) | u64::from(y))
        .collect();
    pairs.par_sort_unstable();
    let mut mi = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i + 1;
        while j < pairs.len() && pairs[j] == pairs[i] {
            j += 1;
        }
        let nij = (j - i) as f64;
        let x = (pairs[i] >> 32) as usize;
        let y = (pairs[i] & 0xffff_ffff) as usize;
        mi += nij / nf * (nij * nf / (ca[x] as f64 * cb[y] as f64)).ln();
        i = j;
    }
    if ha + hb <= 0.0 {
        return Ok(1.0);
    }
    Ok((2.0 * mi / (ha + hb)).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_triangles() -> Graph {
        Graph::from_unweighted(6, &[(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
            .unwrap()
    }

    #[test]
    fn modularity_matches_hand_computation() {
        let g = two_triangles();
        // m = 7; each side: in = 6, tot = 7. Q = 12/14 - 2 * (7/14)^2 = 0.857142.. - 0.5
        let q = modularity(&g, &[0, 0, 0, 1, 1, 1], 1.0).unwrap();
        assert!((q - (12.0 / 14.0 - 0.5)).abs() < 1e-12, "{q}");
        // All in one community: Q = 0.
        assert!(modularity(&g, &[0; 6], 1.0).unwrap().abs() < 1e-12);
        // Resolution 0: fraction of internal weight.
        assert!((modularity(&g, &[0, 0, 0, 1, 1, 1], 0.0).unwrap() - 6.0 / 7.0).abs() < 1e-12);
        assert!(modularity(&g, &[0; 5], 1.0).is_err());
    }

    #[test]
    fn modularity_counts_self_loops_like_networkx() {
        // networkx: G = 0-1, loop at 0 (w 1); communities {0},{1}:
        // m = 2, k0 = 3, k1 = 1; Q = (2/4) - (9 + 1)/16 = -0.125
        let g = Graph::from_unweighted(2, &[(0, 1), (0, 0)]).unwrap();
        let q = modularity(&g, &[0, 1], 1.0).unwrap();
        assert!((q + 0.125).abs() < 1e-12, "{q}");
    }

    #[test]
    fn nmi_identical_renamed_and_independent() {
        let a = [0, 0, 1, 1, 2, 2];
        let b = [5, 5, 3, 3, 1, 1];
        assert!((nmi(&a, &b).unwrap() - 1.0).abs() < 1e-12);
        let c = [0, 1, 0, 1, 0, 1];
        let d = [0, 0, 0, 1, 1, 1];
        assert!(nmi(&c, &d).unwrap() < 0.1);
        assert!(nmi(&a, &c[..5]).is_err());
        assert_eq!(nmi(&[0, 0], &[0, 0]).unwrap(), 1.0);
    }
}
