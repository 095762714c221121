//! Algorithm benches on a seeded planted-partition graph (`FRAUDNET_BENCH_NODES`, default 100,000
//! nodes, average degree 20, mu 0.2) and, when `FRAUDNET_BENCH_EDGELIST` names an edge-list file,
//! on that graph too. Besides criterion's timings, each algorithm prints lines a person can compare
//! with other tools (the time of one run on one thread and on all, the speed-up, modularity, NMI
//! against the planted communities); timings exclude reading the file and building the graph, which
//! are reported apart. Graphs above 200,000 nodes get these one-shot figures only;
//! `FRAUDNET_BENCH_NODES=0` skips the generated graph.
//!
//! `FRAUDNET_BENCH_ALGOS` (comma-separated, of leiden, louvain, lpa, wcc, pagerank, bfs, khop,
//! kcore; default all) picks the algorithms. `FRAUDNET_BENCH_SEEDS` names a file of node labels (whitespace-separated): the 3-hop seeds, so
//! that they are the ones a peer script used (`benches/peers.sh` writes the peers' seeds there).
//!
//!     cargo bench --bench algo
//!     FRAUDNET_BENCH_EDGELIST=graph.el FRAUDNET_BENCH_TRUTH=graph.gt cargo bench --bench algo -- edgelist

mod common;

// The binary's allocator, so that these figures are the binary's.
#[global_allocator]
static ALLOC: fraudnet::mem::HugePageAlloc = fraudnet::mem::HugePageAlloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use fraudnet::algo::bfs::{bfs, k_hop};
use fraudnet::algo::components::connected_components;
use fraudnet::algo::graph::Graph;
use fraudnet::algo::kcore::core_numbers;
use fraudnet::algo::leiden::{leiden, louvain, LeidenConfig, LouvainConfig, Quality};
use fraudnet::algo::lpa::{label_propagation, LabelPropagationConfig};
use fraudnet::algo::pagerank::{pagerank, PageRankConfig};
use fraudnet::algo::quality::{modularity, nmi};
use fraudnet::ingest::edgelist::{read_edgelist, NodeLabels};

fn leiden_cfg() -> LeidenConfig {
    LeidenConfig {
        quality: Quality::Modularity,
        resolution: 1.0,
        seed: 42,
        iterations: 2,
        max_levels: 64,
    }
}

/// Graphs above this many nodes get the one-shot figures only (criterion's repeated samples would
/// take minutes per algorithm).
const ONE_SHOT_ABOVE: usize = 200_000;

/// Runs `f` on one thread, then on the default pool; prints both times and the speed-up.
fn timed<R: Send>(name: &str, what: &str, f: impl Fn() -> R + Sync) -> (R, f64) {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let t = Instant::now();
    black_box(one.install(&f));
    let t1 = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = f();
    let tn = t.elapsed().as_secs_f64();
    println!(
        "[{name}] {what}: {tn:.4} s on {} threads, {t1:.4} s on 1 thread (speed-up {:.2}x)",
        rayon::current_num_threads(),
        t1 / tn
    );
    (r, tn)
}

fn bench_graph(
    c: &mut Criterion,
    name: &str,
    edges: &[(u32, u32, f32)],
    n: usize,
    truth: Option<&[u32]>,
    peer_seeds: Option<&[u32]>,
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
    let report = |membership: &[u32], count: usize| {
        let q = modularity(&g, membership, 1.0).unwrap_or(f64::NAN);
        let nmi = truth.map_or(String::new(), |t| {
            format!(", NMI {:.4}", nmi(membership, t).unwrap_or(f64::NAN))
        });
        println!("[{name}]   modularity {q:.5}, {count} communities{nmi}");
    };
    let repeat = g.node_count() <= ONE_SHOT_ABOVE;
    let algos = std::env::var("FRAUDNET_BENCH_ALGOS").unwrap_or_default();
    let want = |a: &str| algos.is_empty() || algos.split(',').any(|x| x.trim() == a);
    let mut group = c.benchmark_group(name.to_owned());
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(2));

    if want("leiden") {
        let (p, _) = timed(name, "leiden", || leiden(&g, &leiden_cfg()));
        report(&p.membership, p.community_count);
        if repeat {
            group.bench_function("leiden", |b| {
                b.iter(|| black_box(leiden(&g, &leiden_cfg())))
            });
        }
    }

    if want("louvain") {
        let lcfg = LouvainConfig {
            resolution: 1.0,
            seed: 42,
            max_levels: 64,
        };
        let (p, _) = timed(name, "louvain", || louvain(&g, &lcfg));
        report(&p.membership, p.community_count);
        if repeat {
            group.bench_function("louvain", |b| b.iter(|| black_box(louvain(&g, &lcfg))));
        }
    }

    if want("lpa") {
        let pcfg = LabelPropagationConfig {
            seed: 42,
            max_rounds: 100,
            tolerance: 1e-5,
        };
        let (p, _) = timed(name, "label propagation", || label_propagation(&g, &pcfg));
        report(&p.membership, p.community_count);
        if repeat {
            group.bench_function("label_propagation", |b| {
                b.iter(|| black_box(label_propagation(&g, &pcfg)))
            });
        }
    }

    if want("wcc") {
        let (cc, _) = timed(name, "components", || connected_components(g.csr()));
        println!(
            "[{name}]   {} components, largest {}",
            cc.count,
            cc.largest()
        );
        if repeat {
            group.bench_function("connected_components", |b| {
                b.iter(|| black_box(connected_components(g.csr())))
            });
        }
    }

    if want("pagerank") {
        let d = g.to_digraph();
        let prc = PageRankConfig::fixed(20);
        timed(name, "pagerank (20 iterations)", || pagerank(&d, &prc));
        if repeat {
            group.bench_function("pagerank_20", |b| b.iter(|| black_box(pagerank(&d, &prc))));
        }
    }

    if g.node_count() > 0 && want("bfs") {
        // From node 0, as the peers' script does (their BFS and ours then cover the same graph).
        let (r, _) = timed(name, "bfs from node 0", || {
            bfs(g.csr(), 0).expect("source in range")
        });
        println!("[{name}]   {} reached, depth {}", r.reached, r.max_depth);
        // As the GAP suite reports it: the mean over 16 sources with at least one neighbour.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(27491095);
        let sources: Vec<u32> = (0..1_000_000)
            .map(|_| rng.gen_range(0..g.node_count() as u32))
            .filter(|&v| g.csr().degree(v) > 0)
            .take(16)
            .collect();
        let (reached, t) = timed(name, "bfs from 16 sources (total)", || {
            sources
                .iter()
                .map(|&s| bfs(g.csr(), s).expect("source in range").reached)
                .sum::<usize>()
        });
        println!(
            "[{name}]   {:.4} s per source, {} reached per source",
            t / sources.len().max(1) as f64,
            reached / sources.len().max(1)
        );
        if repeat {
            group.bench_function("bfs", |b| b.iter(|| black_box(bfs(g.csr(), 0))));
        }
    }
    if g.node_count() > 0 && want("khop") {
        // 3-hop neighbourhoods: the peers' seeds when given (one after the other, as the peers
        // time them), else 10 seeded nodes with at least one neighbour.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut draw = |k: usize| -> Vec<u32> {
            (0..100 * k)
                .map(|_| rng.gen_range(0..g.node_count() as u32))
                .filter(|&v| g.csr().degree(v) > 0)
                .take(k)
                .collect()
        };
        let seeds: Vec<u32> = peer_seeds.map_or_else(|| draw(10), <[u32]>::to_vec);
        let mut per_seed = Vec::with_capacity(seeds.len());
        let mut sizes = Vec::with_capacity(seeds.len());
        for &s in &seeds {
            let t = Instant::now();
            let r = k_hop(g.csr(), &[s], 3).expect("seed in range");
            per_seed.push(t.elapsed().as_secs_f64() * 1e3);
            sizes.push(r.len());
        }
        per_seed.sort_by(f64::total_cmp);
        println!(
            "[{name}] 3-hop from {} {} seeds, one at a time: median {:.3} ms per seed (mean {:.3}), reached {:?}",
            seeds.len(),
            if peer_seeds.is_some() { "peer" } else { "seeded" },
            per_seed.get(per_seed.len() / 2).copied().unwrap_or(0.0),
            per_seed.iter().sum::<f64>() / per_seed.len().max(1) as f64,
            sizes
        );
        // A batch of 1,000 seeds, one neighbourhood per task: the throughput of many queries.
        let batch = draw(1000);
        let (reached, t) = timed(name, "3-hop from 1,000 seeds (batch)", || {
            batch
                .par_iter()
                .map(|&s| k_hop(g.csr(), &[s], 3).expect("seed in range").len())
                .sum::<usize>()
        });
        println!(
            "[{name}]   {:.4} ms per seed, {} reached per seed",
            t * 1e3 / batch.len().max(1) as f64,
            reached / batch.len().max(1)
        );
        if repeat {
            let seed = seeds.first().copied().unwrap_or(0);
            group.bench_function("k_hop_3", |b| {
                b.iter(|| black_box(k_hop(g.csr(), &[seed], 3)))
            });
        }
    }

    if want("kcore") {
        let (k, _) = timed(name, "k-core", || core_numbers(g.csr()));
        println!("[{name}]   max core {}", k.iter().max().unwrap_or(&0));
        if repeat {
            group.bench_function("kcore", |b| b.iter(|| black_box(core_numbers(g.csr()))));
            group.bench_function("graph_build", |b| {
                b.iter(|| black_box(Graph::from_edges(n, edges)))
            });
        }
    }

    group.finish();
}

fn planted(c: &mut Criterion) {
    let n = common::env_usize("FRAUDNET_BENCH_NODES", 100_000);
    if n == 0 {
        return;
    }
    let (edges, truth) = common::planted_partition(n, 20, 0.2, 50, 2000, 42);
    bench_graph(c, "planted", &edges, n, Some(&truth), None);
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
    let truth = std::env::var("FRAUDNET_BENCH_TRUTH")
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| read_truth(&p, &el.labels));
    let seeds = std::env::var("FRAUDNET_BENCH_SEEDS")
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| read_seeds(&p, &el.labels));
    bench_graph(
        c,
        "edgelist",
        &el.edges,
        el.node_count(),
        truth.as_deref(),
        seeds.as_deref(),
    );
}

/// `node community` lines over the edge list's integer labels (the peers' ground-truth files);
/// nodes the file leaves out get a community of their own.
fn read_truth(path: &str, labels: &NodeLabels) -> Vec<u32> {
    let NodeLabels::Integers(ids) = labels else {
        panic!("FRAUDNET_BENCH_TRUTH needs an edge list with integer labels");
    };
    let text = std::fs::read_to_string(path).expect("FRAUDNET_BENCH_TRUTH names a readable file");
    let mut truth: Vec<u32> = (0..ids.len() as u32).map(|v| u32::MAX - v).collect();
    for line in text.lines() {
        let mut it = line.split_whitespace().map(str::parse::<u64>);
        if let (Some(Ok(v)), Some(Ok(c))) = (it.next(), it.next()) {
            if let Ok(id) = ids.binary_search(&v) {
                truth[id] = c as u32;
            }
        }
    }
    truth
}

/// Node labels (whitespace-separated integers) to node ids of the edge list.
fn read_seeds(path: &str, labels: &NodeLabels) -> Vec<u32> {
    let NodeLabels::Integers(ids) = labels else {
        panic!("FRAUDNET_BENCH_SEEDS needs an edge list with integer labels");
    };
    let text = std::fs::read_to_string(path).expect("FRAUDNET_BENCH_SEEDS names a readable file");
    text.split_whitespace()
        .map(|w| {
            let v: u64 = w
                .parse()
                .expect("FRAUDNET_BENCH_SEEDS holds integer labels");
            ids.binary_search(&v)
                .expect("every seed is a node of the edge list") as u32
        })
        .collect()
}

criterion_group!(benches, planted, edgelist);
criterion_main!(benches);
