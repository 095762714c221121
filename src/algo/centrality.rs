//! Degree and betweenness centrality.

use rand::seq::index::sample;
use rayon::prelude::*;

use super::graph::Graph;
use super::scratch::rng;

/// Number of distinct neighbours of every node (self-loops not counted).
///
/// # Complexity
/// O(n).
pub fn degree(g: &Graph) -> Vec<u32> {
    (0..g.node_count() as u32)
        .map(|v| g.neighbors(v).len() as u32)
        .collect()
}

/// Which sources the betweenness sums over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sources {
    /// Every node: exact betweenness.
    All,
    /// `count` sources drawn without replacement with `seed`; the sums are scaled by `n / count`.
    Sample { count: usize, seed: u64 },
}

/// Parameters of [`betweenness`].
#[derive(Clone, Debug)]
pub struct BetweennessConfig {
    pub sources: Sources,
}

/// Sources handled per parallel task (a fixed grouping keeps sums thread-count independent).
const GROUP: usize = 16;
/// Groups in flight at once (bounds memory to WAVE partial score vectors).
const WAVE: usize = 8;

/// Betweenness centrality by Brandes' algorithm on the unweighted graph (hop counts; weights are
/// ignored), undirected convention: each unordered pair counted once.
///
/// # Complexity
/// O(s · (n + m)) time for s sources (s = n when exact), O(WAVE · n) memory.
pub fn betweenness(g: &Graph, cfg: &BetweennessConfig) -> Vec<f64> {
    let n = g.node_count();
    let sources: Vec<u32> = match cfg.sources {
        Sources::All => (0..n as u32).collect(),
        Sources::Sample { count, seed } => {
            let mut s: Vec<u32> = sample(&mut rng(seed), n, count.min(n))
                .into_iter()
                .map(|x| x as u32)
                .collect();
            s.sort_unstable();
            s
        }
    };
    let mut total = vec![0f64; n];
    let groups: Vec<&[u32]> = sources.chunks(GROUP).collect();
    for wave in groups.chunks(WAVE) {
        let partials: Vec<Vec<f64>> = wave.par_iter().map(|grp| brandes(g, grp)).collect();
        for p in partials {
            for (t, x) in total.iter_mut().zip(p) {
                *t += x;
            }
        }
    }
    let scale = if sources.is_empty() {
        0.0
    } else {
        n as f64 / sources.len() as f64 / 2.0
    };
    total.iter_mut().for_each(|x| *x *= scale);
    total
}

fn brandes(g: &Graph, sources: &[u32]) -> Vec<f64> {
    let n = g.node_count();
    let mut bc = vec![0f64; n];
    let mut sigma = vec![0f64; n];
    let mut dist = vec![u32::MAX; n];
    let mut delta = vec![0f64; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for &s in sources {
        order.clear();
        sigma[s as usize] = 1.0;
        dist[s as usize] = 0;
        order.push(s);
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            let dv = dist[v as usize];
            for &u in g.neighbors(v) {
                if dist[u as usize] == u32::MAX {
                    dist[u as usize] = dv + 1;
                    order.push(u);
                }
                if dist[u as usize] == dv + 1 {
                    sigma[u as usize] += sigma[v as usize];
                }
            }
        }
        for &w in order.iter().rev() {
            let dw = dist[w as usize];
            for &v in g.neighbors(w) {
                if dist[v as usize] != u32::MAX && dist[v as usize] + 1 == dw {
                    delta[v as usize] +=
                        sigma[v as usize] / sigma[w as usize] * (1.0 + delta[w as usize]);
                }
            }
            if w != s {
                bc[w as usize] += delta[w as usize];
            }
        }
        for &w in &order {
            sigma[w as usize] = 0.0;
            dist[w as usize] = u32::MAX;
            delta[w as usize] = 0.0;
        }
    }
    bc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_centre_carries_every_pair() {
        let e: Vec<(u32, u32)> = (1..6).map(|l| (0, l)).collect();
        let g = Graph::from_unweighted(6, &e).unwrap();
        let b = betweenness(
            &g,
            &BetweennessConfig {
                sources: Sources::All,
            },
        );
        // 5 leaves: C(5,2) = 10 pairs through the centre.
        assert!((b[0] - 10.0).abs() < 1e-9);
        assert!(b[1..].iter().all(|&x| x.abs() < 1e-12));
        assert_eq!(degree(&g), vec![5, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn path_and_bridge() {
        // path 0-1-2-3: bc = [0, 2, 2, 0]
        let g = Graph::from_unweighted(4, &[(0, 1), (1, 2), (2, 3)]).unwrap();
        let b = betweenness(
            &g,
            &BetweennessConfig {
                sources: Sources::All,
            },
        );
        assert_eq!(
            b.iter()
                .map(|x| (x * 1e9).round() / 1e9)
                .collect::<Vec<_>>(),
            vec![0.0, 2.0, 2.0, 0.0]
        );
        // Sampling every node equals the exact result.
        let s = betweenness(
            &g,
            &BetweennessConfig {
                sources: Sources::Sample { count: 4, seed: 1 },
            },
        );
        for (x, y) in b.iter().zip(&s) {
            assert!((x - y).abs() < 1e-9);
        }
    }

    #[test]
    fn bridge_between_cliques_is_most_central() {
        let g = crate::algo::leiden::tests_support::cliques_with_bridge(5);
        let b = betweenness(
            &g,
            &BetweennessConfig {
                sources: Sources::Sample { count: 6, seed: 3 },
            },
        );
        let top = (0..b.len()).max_by(|&x, &y| b[x].total_cmp(&b[y])).unwrap();
        assert!(top == 4 || top == 5, "{top} {b:?}");
    }
}
