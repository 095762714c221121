//! Algorithm benches on a seeded planted-partition graph (`FRAUDNET_BENCH_NODES`, default 100,000
//! nodes, average degree 20, mu 0.2) and, when `FRAUDNET_BENCH_EDGELIST` names an edge-list file,
//! on that graph too. Besides criterion's timings, each bench prints one line a person can compare
//! with other tools: time of one run, modularity, community count.
//!
//!     cargo bench --bench algo
//!     FRAUDNET_BENCH_EDGELIST=graph.el cargo bench --bench algo -- leiden

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

use fraudnet::algo::bfs::{bfs, k_hop};
use fraudnet::algo::components::connected_components;
use fraudnet::algo::graph::Graph;
use fraudnet::algo::kcore::core_numbers;
use fraudnet::algo::leiden::{leiden, louvain, LeidenConfig, LouvainConfig, Quality};
use fraudnet::algo::lpa::{label_propagation, LabelPropagationConfig};
use fraudnet::algo::pagerank::{pagerank, PageRankConfig};
use fraudnet::algo::quality::{modularity, nmi};
use fraudnet::ingest::edgelist::read_edgelist;

fn leiden_cfg() -> LeidenConfig {
    LeidenConfig {
        quality: Quality::Modularity,
        resolution: 1.0,
        seed: 42,
        iterations: 2,
        max_levels: 64,
    }
}

fn bench_graph(
    c: &mut Criterion,
    name: &str,
    edges: &[(u32, u32, f32)],
    n: usize,
    truth: Option<&[u32]>,
) {
    let t = Instant::now();
    let g = Graph::from_edges(n, edges).expect("generated edges are in range");
    println!(
        "[{name}] {} nodes, {} edges, build {:.3} s, {:.1} bytes/edge, {} threads",
        g.node_count(),
        g.edge_count(),
        t.elapsed().as_secs_f64(),
        g.heap_bytes() as f64 / g.edge_count().max(1) as f64,
        rayon::current_num_threads()
    );
    let report = |what: &str, secs: f64, membership: &[u32], count: usize| {
        let q = modularity(&g, membership, 1.0).unwrap_or(f64::NAN);
        let nmi = truth.map_or(String::new(), |t| {
            format!(", NMI {:.4}", nmi(membership, t).unwrap_or(f64::NAN))
        });
        println!("[{name}] {what}: {secs:.3} s, modularity {q:.5}, {count} communities{nmi}");
    };
    let mut group = c.benchmark_group(name.to_owned());
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(2));

    let t = Instant::now();
    let p = leiden(&g, &leiden_cfg());
    report(
        "leiden",
        t.elapsed().as_secs_f64(),
        &p.membership,
        p.community_count,
    );
    group.bench_function("leiden", |b| {
        b.iter(|| black_box(leiden(&g, &leiden_cfg())))
    });

    let lcfg = LouvainConfig {
        resolution: 1.0,
        seed: 42,
        max_levels: 64,
    };
    let t = Instant::now();
    let p = louvain(&g, &lcfg);
    report(
        "louvain",
        t.elapsed().as_secs_f64(),
        &p.membership,
        p.community_count,
    );
    group.bench_function("louvain", |b| b.iter(|| black_box(louvain(&g, &lcfg))));

    let pcfg = LabelPropagationConfig {
        seed: 42,
        max_rounds: 100,
        tolerance: 1e-5,
    };
    let t = Instant::now();
    let p = label_propagation(&g, &pcfg);
    report(
        "label propagation",
        t.elapsed().as_secs_f64(),
        &p.membership,
        p.community_count,
    );
    group.bench_function("label_propagation", |b| {
        b.iter(|| black_box(label_propagation(&g, &pcfg)))
    });

    let t = Instant::now();
    let cc = connected_components(g.csr());
    println!(
        "[{name}] components: {:.4} s, {} components, largest {}",
        t.elapsed().as_secs_f64(),
        cc.count,
        cc.largest()
    );
    group.bench_function("connected_components", |b| {
        b.iter(|| black_box(connected_components(g.csr())))
    });

    let d = g.to_digraph();
    let prc = PageRankConfig {
        damping: 0.85,
        max_iterations: 20,
        tolerance: 0.0,
    };
    let t = Instant::now();
    black_box(pagerank(&d, &prc));
    println!(
        "[{name}] pagerank (20 iterations): {:.4} s",
        t.elapsed().as_secs_f64()
    );
    group.bench_function("pagerank_20", |b| b.iter(|| black_box(pagerank(&d, &prc))));

    // BFS from the highest-degree node (inside the giant component).
    let src = (0..g.node_count() as u32)
        .max_by_key(|&v| g.neighbors(v).len())
        .unwrap_or(0);
    if g.node_count() > 0 {
        let t = Instant::now();
        let r = bfs(g.csr(), src).expect("source in range");
        println!(
            "[{name}] bfs: {:.4} s, {} reached, depth {}",
            t.elapsed().as_secs_f64(),
            r.reached,
            r.max_depth
        );
        group.bench_function("bfs", |b| b.iter(|| black_box(bfs(g.csr(), src))));
        let seed = (g.node_count() / 2) as u32;
        let t = Instant::now();
        let r = k_hop(g.csr(), &[seed], 3).expect("seed in range");
        println!(
            "[{name}] 3-hop from node {seed}: {:.6} s, {} reached",
            t.elapsed().as_secs_f64(),
            r.len()
        );
        group.bench_function("k_hop_3", |b| {
            b.iter(|| black_box(k_hop(g.csr(), &[seed], 3)))
        });
    }

    let t = Instant::now();
    let k = core_numbers(g.csr());
    println!(
        "[{name}] k-core: {:.4} s, max core {}",
        t.elapsed().as_secs_f64(),
        k.iter().max().unwrap_or(&0)
    );
    group.bench_function("kcore", |b| b.iter(|| black_box(core_numbers(g.csr()))));
    group.bench_function("graph_build", |b| {
        b.iter(|| black_box(Graph::from_edges(n, edges)))
    });
    group.finish();
}

fn planted(c: &mut Criterion) {
    let n = common::env_usize("FRAUDNET_BENCH_NODES", 100_000);
    let (edges, truth) = common::planted_partition(n, 20, 0.2, 50, 2000, 42);
    bench_graph(c, "planted", &edges, n, Some(&truth));
}

fn edgelist(c: &mut Criterion) {
    let Ok(path) = std::env::var("FRAUDNET_BENCH_EDGELIST") else {
        return;
    };
    let t = Instant::now();
    let file = std::fs::File::open(&path).expect("FRAUDNET_BENCH_EDGELIST names a readable file");
    let el =
        read_edgelist(std::io::BufReader::with_capacity(1 << 20, file)).expect("a valid edge list");
    println!("[edgelist] read {path}: {:.3} s", t.elapsed().as_secs_f64());
    bench_graph(c, "edgelist", &el.edges, el.node_count(), None);
}

criterion_group!(benches, planted, edgelist);
criterion_main!(benches);
