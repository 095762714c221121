//! `fraudnet analyze`: run one algorithm on a plain edge-list file, write `node value` lines with
//! the file's own labels, and print the time of every phase, the quality and the memory per edge.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::algo::bfs::{bfs, k_hop, UNREACHED};
use crate::algo::components::connected_components;
use crate::algo::graph::Graph;
use crate::algo::kcore::core_numbers;
use crate::algo::leiden::{
    leiden_timed, louvain_timed, LeidenConfig, LevelTiming, LouvainConfig, Partition, Quality,
};
use crate::algo::lpa::{label_propagation, LabelPropagationConfig};
use crate::algo::pagerank::{pagerank, PageRankConfig};
use crate::algo::quality::{modularity, nmi};
use crate::ingest::edgelist::EdgeList;

/// Algorithms `analyze` can run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeAlgo {
    Leiden,
    Louvain,
    Lpa,
    Wcc,
    Kcore,
    Pagerank,
    /// Full BFS from `--source` (`node depth` lines), or with `--hops K` the K-hop neighbourhood.
    Bfs,
}

/// Quality function for Leiden.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeQuality {
    Modularity,
    Cpm,
}

/// Run an algorithm on an edge-list file (`u v [weight]` per line).
#[derive(clap::Args, Clone, Debug)]
pub struct AnalyzeArgs {
    /// Edge-list file: `u v [weight]` per line, `#`/`%` comments; labels may be any strings.
    #[arg(long)]
    pub edgelist: PathBuf,
    #[arg(long, value_enum, default_value = "leiden")]
    pub algo: AnalyzeAlgo,
    /// Resolution γ (Leiden, Louvain); for `--quality cpm`, the density threshold.
    #[arg(long, default_value_t = 1.0, value_parser = super::positive)]
    pub resolution: f64,
    #[arg(long, value_enum, default_value = "modularity")]
    pub quality: AnalyzeQuality,
    /// Seed of every random choice; the same seed gives the same result on any number of threads.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Leiden passes (each restarts from the previous result; one that moves at most n / 1,000
    /// nodes of the input graph ends there).
    #[arg(long, default_value_t = 2)]
    pub passes: usize,
    /// PageRank iterations (fixed count, or the cap with `--tolerance`) and label-propagation
    /// round cap.
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// PageRank: stop once an iteration changes the scores by less than this in total (L1), as
    /// GAP's and networkx's PageRank do; 0 runs exactly `--iterations`.
    #[arg(long, default_value_t = 0.0, value_parser = super::non_negative)]
    pub tolerance: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write `node community` / `node score` lines here (default: none written).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// BFS source node label (default: the node of highest degree).
    #[arg(long)]
    pub source: Option<String>,
    /// With `--algo bfs`: only the neighbourhood within this many hops.
    #[arg(long)]
    pub hops: Option<u32>,
    /// Ground truth `node community` file: print the NMI of the result against it.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    #[command(flatten)]
    pub rejects: super::RejectsArg,
}

/// Runs `fraudnet analyze`.
///
/// # Errors
/// Unreadable or malformed input files, an unwritable output file.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    match args.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .context("starting the worker threads")?
            .install(|| run_inner(args)),
        None => run_inner(args),
    }
}

/// What an algorithm produced.
enum Output {
    Communities(Partition),
    Scores(Vec<f64>),
    Levels(Vec<u32>),
}

/// Prints where each level of a Leiden or Louvain run spent its time (stderr), and passes the
/// partition on.
fn report_levels((p, levels): (Partition, Vec<LevelTiming>)) -> Partition {
    let sum = |f: fn(&LevelTiming) -> f64| levels.iter().map(f).sum::<f64>();
    eprintln!(
        "phases: local moving {:.3} s, refinement {:.3} s, aggregation {:.3} s",
        sum(|l| l.moving),
        sum(|l| l.refining),
        sum(|l| l.aggregating)
    );
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    for l in &levels {
        eprintln!(
            "  pass {} level {}: {} nodes, {} edges; {} round{}, {} move{}; moving {:.3} s, refinement {:.3} s, aggregation {:.3} s",
            l.pass,
            l.level,
            l.nodes,
            l.edges,
            l.rounds,
            plural(l.rounds),
            l.moves,
            plural(l.moves),
            l.moving,
            l.refining,
            l.aggregating
        );
    }
    p
}

fn run_inner(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let el = super::read_edge_file(&args.edgelist, &args.rejects)?;
    let t_read = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let g = Graph::from_edges(el.node_count(), &el.edges).context("building the graph")?;
    let t_build = t.elapsed().as_secs_f64();
    eprintln!(
        "graph: {} nodes, {} edges, {} threads; read {:.3} s, build {:.3} s; graph memory {:.1} bytes/edge",
        g.node_count(),
        g.edge_count(),
        rayon::current_num_threads(),
        t_read,
        t_build,
        g.heap_bytes() as f64 / g.edge_count().max(1) as f64,
    );
    let t = Instant::now();
    let out = match args.algo {
        AnalyzeAlgo::Leiden => Output::Communities(report_levels(leiden_timed(
            &g,
            &LeidenConfig {
                quality: match args.quality {
                    AnalyzeQuality::Modularity => Quality::Modularity,
                    AnalyzeQuality::Cpm => Quality::Cpm,
                },
                resolution: args.resolution,
                seed: args.seed,
                iterations: args.passes,
                max_levels: 64,
            },
        ))),
        AnalyzeAlgo::Louvain => Output::Communities(report_levels(louvain_timed(
            &g,
            &LouvainConfig {
                resolution: args.resolution,
                seed: args.seed,
                max_levels: 64,
            },
        ))),
        AnalyzeAlgo::Lpa => Output::Communities(label_propagation(
            &g,
            &LabelPropagationConfig {
                seed: args.seed,
                max_rounds: args.iterations.max(1) * 5,
                tolerance: 1e-5,
            },
        )),
        AnalyzeAlgo::Wcc => {
            let c = connected_components(g.csr());
            Output::Communities(Partition {
                community_count: c.count,
                quality: 0.0,
                membership: c.membership,
                levels: 0,
            })
        }
        AnalyzeAlgo::Kcore => Output::Levels(core_numbers(g.csr())),
        AnalyzeAlgo::Pagerank => {
            let d = g.to_digraph();
            let t0 = Instant::now();
            let r = pagerank(
                &d,
                &PageRankConfig {
                    tolerance: args.tolerance,
                    ..PageRankConfig::fixed(args.iterations)
                },
            );
            eprintln!(
                "pagerank: {} iterations in {:.3} s (after the directed view), last change {:.3e}",
                r.iterations,
                t0.elapsed().as_secs_f64(),
                r.delta
            );
            Output::Scores(r.scores)
        }
        AnalyzeAlgo::Bfs => {
            let src = match &args.source {
                Some(label) => (0..el.node_count() as u32)
                    .find(|&id| el.labels.label(id).to_string() == *label)
                    .with_context(|| format!("no node labelled {label}"))?,
                None => (0..g.node_count() as u32)
                    .max_by_key(|&v| g.neighbors(v).len())
                    .unwrap_or(0),
            };
            let t0 = Instant::now();
            match args.hops {
                Some(k) => {
                    let r = k_hop(g.csr(), &[src], k)?;
                    eprintln!(
                        "{k}-hop from {}: {} reached in {:.6} s",
                        el.labels.label(src),
                        r.len(),
                        t0.elapsed().as_secs_f64()
                    );
                    let mut depth = vec![UNREACHED; g.node_count()];
                    for (v, d) in r {
                        depth[v as usize] = d;
                    }
                    Output::Levels(depth)
                }
                None => {
                    let r = bfs(g.csr(), src)?;
                    eprintln!(
                        "bfs from {}: {} reached, depth {}, {:.4} s",
                        el.labels.label(src),
                        r.reached,
                        r.max_depth,
                        t0.elapsed().as_secs_f64()
                    );
                    Output::Levels(r.depth)
                }
            }
        }
    };
    let t_algo = t.elapsed().as_secs_f64();
    eprintln!("algorithm {:?}: {:.3} s", args.algo, t_algo);
    if let Output::Communities(p) = &out {
        let q = modularity(&g, &p.membership, 1.0)?;
        eprintln!("communities: {}; modularity {:.5}", p.community_count, q);
        if args.resolution != 1.0 {
            eprintln!(
                "modularity at resolution {}: {:.5}",
                args.resolution,
                modularity(&g, &p.membership, args.resolution)?
            );
        }
        if let Some(path) = &args.truth {
            let truth = read_truth(path, &el)?;
            eprintln!(
                "NMI vs {}: {:.4}",
                path.display(),
                nmi(&p.membership, &truth)?
            );
        }
    }
    if let Some(rss) = peak_rss_kib() {
        eprintln!("peak memory {:.1} MiB", rss as f64 / 1024.0);
    }
    if let Some(path) = &args.out {
        let t = Instant::now();
        write_output(path, &el, &out).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} in {:.3} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn write_output(path: &PathBuf, el: &EdgeList, out: &Output) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for id in 0..el.node_count() as u32 {
        let label = el.labels.label(id);
        match out {
            Output::Communities(p) => writeln!(w, "{label} {}", p.membership[id as usize])?,
            Output::Scores(s) => writeln!(w, "{label} {:e}", s[id as usize])?,
            Output::Levels(l) => writeln!(w, "{label} {}", l[id as usize])?,
        }
    }
    w.flush()
}

/// Reads `node community` lines; nodes of the file absent from the graph are ignored, graph nodes
/// absent from the file get a community of their own.
fn read_truth(path: &PathBuf, el: &EdgeList) -> anyhow::Result<Vec<u32>> {
    use std::collections::HashMap;
    let index: HashMap<String, u32> = (0..el.node_count() as u32)
        .map(|id| (el.labels.label(id).to_string(), id))
        .collect();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut comm_ids: HashMap<&str, u32> = HashMap::new();
    let mut truth = vec![u32::MAX; el.node_count()];
    for (i, line) in text.lines().enumerate() {
        let mut it = line.split_whitespace();
        let (Some(node), Some(c)) = (it.next(), it.next()) else {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            anyhow::bail!(
                "{}: line {}: expected `node community`",
                path.display(),
                i + 1
            );
        };
        let next = comm_ids.len() as u32;
        let cid = *comm_ids.entry(c).or_insert(next);
        if let Some(&id) = index.get(node) {
            truth[id as usize] = cid;
        }
    }
    let mut next = comm_ids.len() as u32;
    for t in &mut truth {
        if *t == u32::MAX {
            *t = next;
            next += 1;
        }
    }
    Ok(truth)
}

/// Peak resident memory of this process (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_communities_with_original_labels() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("g.el");
        let mut text = String::from("# two triangles and a bridge\n");
        for (u, v) in [
            ("a", "b"),
            ("b", "c"),
            ("a", "c"),
            ("x", "y"),
            ("y", "z"),
            ("x", "z"),
            ("c", "x"),
        ] {
            text.push_str(&format!("{u} {v}\n"));
        }
        std::fs::write(&input, text).unwrap();
        let truth = dir.path().join("g.gt");
        std::fs::write(&truth, "a 1\nb 1\nc 1\nx 2\ny 2\nz 2\n").unwrap();
        for algo in [
            AnalyzeAlgo::Leiden,
            AnalyzeAlgo::Louvain,
            AnalyzeAlgo::Lpa,
            AnalyzeAlgo::Wcc,
        ] {
            let out = dir.path().join("out.txt");
            let args = AnalyzeArgs {
                edgelist: input.clone(),
                algo,
                resolution: 1.0,
                quality: AnalyzeQuality::Modularity,
                seed: 1,
                passes: 2,
                iterations: 20,
                tolerance: 0.0,
                threads: Some(2),
                source: None,
                hops: None,
                out: Some(out.clone()),
                truth: Some(truth.clone()),
                rejects: Default::default(),
            };
            run(&args).unwrap();
            let got = std::fs::read_to_string(&out).unwrap();
            let lines: Vec<&str> = got.lines().collect();
            assert_eq!(lines.len(), 6);
            assert!(lines[0].starts_with("a "));
            let comm = |l: &str| l.split(' ').nth(1).unwrap().to_owned();
            assert_eq!(comm(lines[0]), comm(lines[2]), "{algo:?}");
            if algo != AnalyzeAlgo::Wcc {
                assert_ne!(comm(lines[0]), comm(lines[3]), "{algo:?}");
            }
        }
    }

    #[test]
    fn scores_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("g.el");
        std::fs::write(&input, "0 1\n1 2\n2 0\n2 3\n").unwrap();
        let out = dir.path().join("pr.txt");
        let mut args = AnalyzeArgs {
            edgelist: input.clone(),
            algo: AnalyzeAlgo::Pagerank,
            resolution: 1.0,
            quality: AnalyzeQuality::Modularity,
            seed: 1,
            passes: 1,
            iterations: 20,
            tolerance: 0.0,
            threads: None,
            source: None,
            hops: None,
            out: Some(out.clone()),
            truth: None,
            rejects: Default::default(),
        };
        run(&args).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
        args.algo = AnalyzeAlgo::Kcore;
        run(&args).unwrap();
        let k = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            k.lines().collect::<Vec<_>>(),
            vec!["0 2", "1 2", "2 2", "3 1"]
        );
        args.algo = AnalyzeAlgo::Pagerank;
        args.tolerance = 1e-3;
        run(&args).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
        args.algo = AnalyzeAlgo::Kcore;
        // A bad line is set aside; a file of nothing else is an error naming it.
        std::fs::write(&input, "0 1\n1\n").unwrap();
        run(&args).unwrap();
        std::fs::write(&input, "# x\n1\n").unwrap();
        let e = run(&args).unwrap_err();
        assert!(format!("{e:#}").contains("line 2: expected"), "{e:#}");
    }
}
