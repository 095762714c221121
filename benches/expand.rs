//! Traversal benchmarks: a full breadth-first search and 3-hop expansions on a graph of about 1M
//! nodes and 10M+ edges, with 1 and 2 threads.
//!
//! The graph is the edge list named by `FRAUDNET_BENCH_EDGELIST` (`u v` per line, 0-based, the format
//! of the peers' graphs), or else a seeded synthetic graph of 1M nodes and 10M edges with a
//! heavy-tailed degree distribution. Run: `cargo bench --bench expand`.

use criterion::{criterion_group, criterion_main, Criterion};
use fraudnet::algo::expand::{bfs_levels, expand, ExpandConfig, HubPolicy, LinkFilter};
use fraudnet::model::{EntityKind, LinkKind};
use fraudnet::snapshot::Snapshot;
use rand::{Rng, SeedableRng};
use std::io::BufRead;
use std::time::Duration;

// The binary's allocator, so that these figures are the binary's.
#[global_allocator]
static ALLOC: fraudnet::mem::HugePageAlloc = fraudnet::mem::HugePageAlloc;

fn load() -> (usize, Vec<(u32, u32)>) {
    if let Ok(path) = std::env::var("FRAUDNET_BENCH_EDGELIST") {
        let f = std::fs::File::open(&path).expect("FRAUDNET_BENCH_EDGELIST is readable");
        let mut edges = Vec::new();
        let mut n = 0u32;
        for line in std::io::BufReader::with_capacity(1 << 20, f).lines() {
            let line = line.expect("edge list line");
            let mut it = line.split_ascii_whitespace();
            let (Some(a), Some(b)) = (it.next(), it.next()) else {
                continue;
            };
            let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
                continue;
            };
            n = n.max(a + 1).max(b + 1);
            edges.push((a, b));
        }
        return (n as usize, edges);
    }
    // 1M nodes, 10M edges; endpoints skewed (square of a uniform) for a heavy tail.
    let n = 1_000_000u32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let pick = |rng: &mut rand_chacha::ChaCha8Rng| {
        let x: f64 = rng.gen();
        ((x * x) * f64::from(n)) as u32 % n
    };
    let edges = (0..10_000_000)
        .map(|_| {
            let a = pick(&mut rng);
            let b = rng.gen_range(0..n);
            (a, b)
        })
        .collect();
    (n as usize, edges)
}

fn bench(c: &mut Criterion) {
    let (n, edges) = load();
    let snap = Snapshot::from_edges(n, EntityKind::Phone, LinkKind::CALL, &edges);
    drop(edges);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let seeds: Vec<u32> = std::iter::repeat_with(|| rng.gen_range(0..n as u32))
        .filter(|&v| snap.degree(v) > 0)
        .take(10)
        .collect();
    let source = (0..n as u32).find(|&v| snap.degree(v) > 0).unwrap_or(0);
    let reached = bfs_levels(&snap, source)
        .iter()
        .filter(|&&l| l != u32::MAX)
        .count();
    let khop = |s: u32| ExpandConfig {
        seeds: vec![s],
        hops: 3,
        filter: LinkFilter::all(),
        hubs: HubPolicy::none(),
        max_nodes: usize::MAX,
        free_links: vec![],
    };
    let sizes: Vec<usize> = seeds
        .iter()
        .map(|&s| expand(&snap, &khop(s)).map_or(0, |e| e.len()))
        .collect();
    eprintln!(
        "graph: {} nodes, {} links; BFS from {source} reaches {reached}; 3-hop sizes {sizes:?}",
        snap.node_count(),
        snap.link_count()
    );
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let mut g = c.benchmark_group(format!("traversal_{threads}t"));
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        g.bench_function("bfs_full", |b| {
            b.iter(|| pool.install(|| bfs_levels(&snap, source)))
        });
        g.bench_function("khop3_10_seeds", |b| {
            b.iter(|| {
                pool.install(|| {
                    seeds
                        .iter()
                        .map(|&s| expand(&snap, &khop(s)).map_or(0, |e| e.len()))
                        .sum::<usize>()
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
