//! k-core decomposition (Batagelj & Zaveršnik 2003): the core number of every node.

use crate::snapshot::csr::Csr;

/// Core numbers of a symmetric adjacency: the largest k such that the node belongs to a subgraph in
/// which every node has at least k neighbours. Degrees count row entries, so a row should hold no
/// self-loops and no duplicates (as in [`super::graph::Graph`]). No parameters, hence no config.
///
/// # Complexity
/// O(n + m) time (bucket sort by degree, one peeling pass), O(n) extra memory. Sequential: the pass
/// is memory-bound and already linear.
pub fn core_numbers(csr: &Csr) -> Vec<u32> {
    let n = csr.node_count();
    let mut deg: Vec<u32> = (0..n as u32).map(|v| csr.degree(v) as u32).collect();
    let md = deg.iter().copied().max().unwrap_or(0) as usize;
    let mut bin = vec![0usize; md + 2];
    for &d in &deg {
        bin[d as usize + 1] += 1;
    }
    for i in 0..=md {
        bin[i + 1] += bin[i];
    }
    // bin[d] = first position of degree d in `vert`.
    let mut pos = vec![0usize; n];
    let mut vert = vec![0u32; n];
    {
        let mut next = bin.clone();
        for v in 0..n {
            let d = deg[v] as usize;
            pos[v] = next[d];
            vert[next[d]] = v as u32;
            next[d] += 1;
        }
    }
    for i in 0..n {
        let v = vert[i];
        let dv = deg[v as usize];
        for &u in csr.neighbors(v) {
            let du = deg[u as usize];
            if du > dv {
                // Move u to the front of its bucket, then shrink the bucket by one.
                let pu = pos[u as usize];
                let pw = bin[du as usize];
                let w = vert[pw];
                if u != w {
                    vert.swap(pu, pw);
                    pos[u as usize] = pw;
                    pos[w as usize] = pu;
                }
                bin[du as usize] += 1;
                deg[u as usize] = du - 1;
            }
        }
    }
    deg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::graph::Graph;

    #[test]
    fn clique_with_tail_and_star() {
        // K4 on 0..4, a tail 3-4-5, a star centred at 6 with leaves 7..10, isolated 11.
        let mut e = vec![
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 2),
            (1, 3),
            (2, 3),
            (3, 4),
            (4, 5),
        ];
        e.extend((7..11).map(|l| (6, l)));
        let g = Graph::from_unweighted(12, &e).unwrap();
        let c = core_numbers(g.csr());
        assert_eq!(c, vec![3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn matches_naive_peeling_on_random_graphs() {
        use rand::Rng;
        let mut r = crate::algo::scratch::rng(5);
        for _ in 0..20 {
            let n = 30;
            let e: Vec<(u32, u32)> = (0..80)
                .map(|_| (r.gen_range(0..n), r.gen_range(0..n)))
                .collect();
            let g = Graph::from_unweighted(n as usize, &e).unwrap();
            let c = core_numbers(g.csr());
            // naive: for each k, repeatedly delete nodes of degree < k
            for k in 0..=n {
                let mut alive = vec![true; n as usize];
                loop {
                    let mut changed = false;
                    for v in 0..n {
                        if alive[v as usize] {
                            let d = g
                                .neighbors(v)
                                .iter()
                                .filter(|&&u| alive[u as usize])
                                .count();
                            if d < k as usize {
                                alive[v as usize] = false;
                                changed = true;
                            }
                        }
                    }
                    if !changed {
                        break;
                    }
                }
                for v in 0..n as usize {
                    assert_eq!(alive[v], c[v] >= k, "node {v} k {k}");
                }
            }
        }
    }
}
