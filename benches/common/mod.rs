//! Seeded graph generators for the benches (no files, no network: the same seed gives the same graph).

#![allow(dead_code)]

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A planted-partition graph: `n` nodes in communities whose sizes follow a power law (exponent
/// 1.5) between `min_size` and `max_size`; each node draws `avg_degree / 2` edges, a fraction `mu`
/// of them to uniformly random nodes, the rest inside its community. Returns the edges (weight 1)
/// and the planted membership. Duplicates and self-loops may occur, as in real edge lists.
pub fn planted_partition(
    n: usize,
    avg_degree: usize,
    mu: f64,
    min_size: usize,
    max_size: usize,
    seed: u64,
) -> (Vec<(u32, u32, f32)>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Community sizes: inverse-CDF sampling of a truncated power law.
    let mut sizes = Vec::new();
    let mut total = 0usize;
    let (a, b, g) = (min_size as f64, max_size as f64, -0.5f64);
    while total < n {
        let u: f64 = rng.gen();
        let s = ((b.powf(g) - a.powf(g)) * u + a.powf(g)).powf(1.0 / g) as usize;
        let s = s.clamp(min_size, max_size).min(n - total);
        sizes.push(s);
        total += s;
    }
    // Nodes get shuffled ids so that communities are not contiguous (as in real data).
    let mut ids: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = rng.gen_range(0..=i);
        ids.swap(i, j);
    }
    let mut membership = vec![0u32; n];
    let mut members: Vec<&[u32]> = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for (c, &s) in sizes.iter().enumerate() {
        for &v in &ids[start..start + s] {
            membership[v as usize] = c as u32;
        }
        members.push(&ids[start..start + s]);
        start += s;
    }
    let per_node = (avg_degree / 2).max(1);
    let mut edges = Vec::with_capacity(n * per_node);
    for v in 0..n as u32 {
        let own = members[membership[v as usize] as usize];
        for _ in 0..per_node {
            let u = if rng.gen::<f64>() < mu || own.len() < 2 {
                rng.gen_range(0..n as u32)
            } else {
                own[rng.gen_range(0..own.len())]
            };
            edges.push((v, u, 1.0));
        }
    }
    (edges, membership)
}

/// Size from an environment variable, or a default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
