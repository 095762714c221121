//! `fraudnet export --edges` (the partitioned graph for the cluster) and `fraudnet cluster` (one
//! process of a run on timely dataflow).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};

use crate::algo::community::{self, Previous};
use crate::algo::projection::{entity_edges, person_projection, ProjectionConfig};
use crate::cluster::partition::read_node_map;
use crate::cluster::{run, Algo, ClusterConfig, ClusterResult, ExportWriter, Manifest, Params};
use crate::model::run::{
    Algo as RunAlgo, ClusterShape, GraphKind, GroupParams, RunInfo, RunParams, Weighting,
};
use crate::snapshot::Snapshot;
use crate::store::Store;

/// Which graph to export.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportGraph {
    /// Persons, tied by shared identifiers and handsets, calls, transfers and relations.
    Person,
    /// Every entity and link.
    Entity,
}

/// Write the graph as partitions for `fraudnet cluster`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Export the edges (the only export there is; the flag keeps room for others).
    #[arg(long)]
    pub edges: bool,
    /// Number of partitions (at least the number of workers of the largest cluster you will run).
    #[arg(long)]
    pub partitions: u32,
    #[arg(long, value_enum, default_value = "person")]
    pub graph: ExportGraph,
    /// Store directories; their graphs are pooled (entities with the same reference are one node).
    /// Default: `$FRAUDNET_DB` or `fraudnet-data`.
    #[arg(long)]
    pub db: Vec<PathBuf>,
    /// Export a plain edge-list file (`u v [weight]` lines) instead of stores.
    #[arg(long, conflicts_with = "db")]
    pub edgelist: Option<PathBuf>,
    /// Person graph: identifiers or handsets held by more persons than this tie nobody.
    #[arg(long, default_value_t = 50)]
    pub max_holders: usize,
    /// Output directory (created; must be empty).
    pub out: PathBuf,
    #[command(flatten)]
    pub rejects: super::RejectsArg,
}

/// Runs `fraudnet export`.
///
/// # Errors
/// No `--edges`, unreadable stores or files, an unwritable output directory.
pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    if !args.edges {
        bail!("say what to export: `fraudnet export --edges ...` (the only export there is)");
    }
    let t = Instant::now();
    let created = !args.out.exists();
    let mut w = ExportWriter::create(&args.out, args.partitions)
        .with_context(|| format!("creating the export in {}", args.out.display()))?;
    // The directory was new or empty: a failed export removes what it wrote, so the same
    // command can run again once the input is fixed.
    let written = (|| -> anyhow::Result<Manifest> {
        let graph = if let Some(path) = &args.edgelist {
            let el = super::read_edge_file(path, &args.rejects)?;
            for id in 0..el.node_count() as u32 {
                w.add_node(&el.labels.label(id).to_string())?;
            }
            for &(u, v, x) in &el.edges {
                w.add_edge(u, v, x)?;
            }
            "edgelist"
        } else {
            let dbs = if args.db.is_empty() {
                vec![std::env::var_os("FRAUDNET_DB")
                    .map_or_else(|| PathBuf::from(super::DEFAULT_DB), PathBuf::from)]
            } else {
                args.db.clone()
            };
            let cfg = ProjectionConfig::standard(args.max_holders);
            let mut ids: HashMap<String, u32> = HashMap::new();
            for db in &dbs {
                let store = Store::open_read_only(db)
                    .with_context(|| format!("opening the store at {}", db.display()))?;
                let (snap, _) = Snapshot::build(&store, 0)
                    .with_context(|| format!("reading the store at {}", db.display()))?;
                let proj = match args.graph {
                    ExportGraph::Person => person_projection(&snap, &cfg),
                    ExportGraph::Entity => entity_edges(&snap),
                };
                let mut map = Vec::with_capacity(proj.nodes.len());
                for &ix in &proj.nodes {
                    let r = snap.reference(ix);
                    let id = match ids.get(&r) {
                        Some(&id) => id,
                        None => {
                            let id = w.add_node(&r)?;
                            ids.insert(r, id);
                            id
                        }
                    };
                    map.push(id);
                }
                for &(u, v, x) in &proj.edges {
                    w.add_edge(map[u as usize], map[v as usize], x)?;
                }
                eprintln!(
                    "{}: {} nodes, {} edges",
                    db.display(),
                    proj.nodes.len(),
                    proj.edges.len()
                );
            }
            match args.graph {
                ExportGraph::Person => "person",
                ExportGraph::Entity => "entity",
            }
        };
        let holders = (graph == "person").then_some(args.max_holders as u32);
        w.finish(graph, holders)
            .with_context(|| format!("finishing the export in {}", args.out.display()))
    })();
    let m = match written {
        Ok(m) => m,
        Err(e) => {
            discard_export(&args.out, created);
            return Err(e);
        }
    };
    eprintln!(
        "exported {} nodes, {} edges into {} partitions in {:.2} s{}",
        m.nodes,
        m.edges,
        m.partitions.len(),
        t.elapsed().as_secs_f64(),
        if m.self_loops_dropped > 0 {
            format!(
                "; {} self-loops not exported (they do not change components, PageRank or label propagation)",
                m.self_loops_dropped
            )
        } else {
            String::new()
        }
    );
    println!("{}", args.out.join("manifest.json").display());
    Ok(())
}

/// Removes a failed export: the directory if the export created it, else what it wrote inside.
fn discard_export(dir: &Path, created: bool) {
    let _ = if created {
        std::fs::remove_dir_all(dir)
    } else {
        std::fs::read_dir(dir).map(|entries| {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        })
    };
}

/// Algorithms of `cluster`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterAlgo {
    Wcc,
    Lpa,
    Pagerank,
    Leiden,
}

/// Run one process of a distributed job over an export.
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    #[arg(long, value_enum)]
    pub algo: ClusterAlgo,
    /// `manifest.json` of the export; this machine needs the partitions of its workers beside it.
    #[arg(long)]
    pub manifest: PathBuf,
    /// One `host:port` per line, one line per process, the same file on every machine. Without it,
    /// a single process.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// This process's line in the hostfile (0-based).
    #[arg(long, default_value_t = 0)]
    pub process: usize,
    /// Worker threads in this process (the same on every process).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Process 0 writes `node community` / `node score` lines here (node = entity reference).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Process 0 stores the result (wcc, lpa, leiden) as a community run in this store, as
    /// `fraudnet communities` does, marked with the cluster's shape: the export must come from
    /// this store (`export --edges --db`); nodes of other pooled stores are left out of the run.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Leiden: gather the community graph on process 0 once there are at most this many
    /// communities (its memory: about 40 bytes per community pair).
    #[arg(long, default_value_t = 1 << 18)]
    pub gather_communities: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// PageRank iterations.
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Leiden resolution γ.
    #[arg(long, default_value_t = 1.0, value_parser = super::positive)]
    pub resolution: f64,
    /// Label-propagation superstep cap.
    #[arg(long, default_value_t = 200)]
    pub max_rounds: usize,
    /// Process 0 prints a JSON summary (times, communication per step) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Reads a hostfile: `host:port` per line, `#` comments and blank lines skipped.
///
/// # Errors
/// Unreadable file, a line that is not `host:port`, no line at all.
pub fn read_hostfile(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let ok = l
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            bail!(
                "{}: line {}: expected `host:port`, found {l:?}",
                path.display(),
                i + 1
            );
        }
        out.push(l.to_owned());
    }
    if out.is_empty() {
        bail!("{}: no `host:port` line", path.display());
    }
    Ok(out)
}

/// Runs `fraudnet cluster`.
///
/// # Errors
/// Bad arguments, unreadable or damaged partitions, network failure, an unwritable output.
pub fn cluster(args: &ClusterArgs) -> anyhow::Result<()> {
    let addresses = match &args.hostfile {
        Some(h) => read_hostfile(h)?,
        None => vec!["127.0.0.1:0".into()],
    };
    let cfg = ClusterConfig {
        manifest: args.manifest.clone(),
        addresses,
        process: args.process,
        workers: args.workers,
    };
    let algo = match args.algo {
        ClusterAlgo::Wcc => Algo::Wcc,
        ClusterAlgo::Lpa => Algo::Lpa,
        ClusterAlgo::Pagerank => Algo::PageRank,
        ClusterAlgo::Leiden => Algo::Leiden,
    };
    let params = Params {
        seed: args.seed,
        iterations: args.iterations,
        resolution: args.resolution,
        max_rounds: args.max_rounds,
        gather_communities: args.gather_communities,
        ..Params::default()
    };
    // Process 0 writes the node map: check it before the whole cluster works for nothing.
    let dir = args
        .manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let first = args.process == 0;
    let refs = if first && (args.out.is_some() || args.db.is_some()) {
        let m = crate::cluster::partition::read_manifest(&args.manifest)?;
        Some((read_node_map(&dir, &m)?, m))
    } else {
        None
    };
    let store = match (&args.db, first) {
        (Some(db), true) => {
            if algo == Algo::PageRank {
                bail!("--db stores community runs: use it with --algo wcc, lpa or leiden");
            }
            let m = &refs.as_ref().expect("read above").1;
            if !matches!(m.graph.as_str(), "person" | "entity") {
                bail!(
                    "--db: the export is of an edge list, not of a store (`fraudnet export --edges --db`)"
                );
            }
            Some(
                Store::open(db)
                    .with_context(|| format!("opening the store at {}", db.display()))?,
            )
        }
        _ => None,
    };
    let t = Instant::now();
    let Some(res) = run(&cfg, algo, &params).context("running on the cluster")? else {
        return Ok(());
    };
    let total = t.elapsed().as_secs_f64();
    report(&res, total);
    if let (Some(path), Some((refs, _))) = (&args.out, &refs) {
        write_out(&res, refs, path).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let (Some(store), Some((refs, m))) = (&store, &refs) {
        let run = save_run(store, &res, refs, m, args, total)?;
        eprintln!(
            "run {} written: {} communities, modularity {:.5} on the store's graph",
            run.id, run.communities, run.modularity
        );
    }
    if args.json {
        super::print_json(&summary(&res, total))?;
    }
    Ok(())
}

fn report(res: &ClusterResult, total: f64) {
    eprintln!(
        "{} on {} processes × {} workers: {:.3} s ({})",
        res.algo.name(),
        res.processes,
        res.workers / res.processes.max(1),
        total,
        res.phases
            .iter()
            .map(|(p, s)| format!("{p} {s:.3} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!("step            records: self   process    remote  remote MiB   changed  seconds");
    for s in &res.steps {
        eprintln!(
            "{:<14} {:>14} {:>9} {:>9} {:>11.2} {:>9} {:>8.3}",
            s.phase,
            s.to_self,
            s.to_process,
            s.to_remote,
            s.remote_bytes as f64 / (1 << 20) as f64,
            s.changed,
            s.seconds
        );
    }
    if let Some(q) = res.modularity {
        eprintln!("communities: {}; modularity {q:.5}", res.community_count);
    }
}

fn summary(res: &ClusterResult, total: f64) -> serde_json::Value {
    serde_json::json!({
        "algo": res.algo.name(),
        "processes": res.processes,
        "workers": res.workers,
        "seconds": total,
        "phases": res.phases.iter().map(|(p, s)| serde_json::json!({"phase": p, "seconds": s})).collect::<Vec<_>>(),
        "communities": res.membership.as_ref().map(|_| res.community_count),
        "modularity": res.modularity,
        "steps": res.steps.iter().map(|s| serde_json::json!({
            "phase": s.phase, "to_self": s.to_self, "to_process": s.to_process,
            "to_remote": s.to_remote, "remote_bytes": s.remote_bytes, "changed": s.changed,
            "seconds": s.seconds,
        })).collect::<Vec<_>>(),
        "params": {
            "seed": res.params.seed, "iterations": res.params.iterations,
            "damping": res.params.damping, "resolution": res.params.resolution,
            "max_rounds": res.params.max_rounds, "passes": res.params.passes,
        },
    })
}

/// Stores a community result as a run of `store`, as `fraudnet communities` would have: the
/// membership is matched to the store's graph by entity reference, ids follow the previous run,
/// the report is computed on the store's snapshot, and the run is marked with the cluster's shape.
fn save_run(
    store: &Store,
    res: &ClusterResult,
    refs: &[String],
    m: &Manifest,
    args: &ClusterArgs,
    cluster_seconds: f64,
) -> anyhow::Result<RunInfo> {
    let t = Instant::now();
    let membership = res
        .membership
        .as_ref()
        .context("the cluster returned no membership")?;
    let params = RunParams {
        algo: match res.algo {
            Algo::Wcc => RunAlgo::Wcc,
            Algo::Lpa => RunAlgo::Lpa,
            _ => RunAlgo::Leiden,
        },
        resolution: res.params.resolution,
        seed: res.params.seed,
        graph: if m.graph == "entity" {
            GraphKind::Entity
        } else {
            GraphKind::Person
        },
        max_holders: m.max_holders.unwrap_or(50),
        // `export` writes the person projection at its evidence weighting (ProjectionConfig::standard).
        weighting: Weighting::Evidence,
        groups: Some(GroupParams::STANDARD),
    };
    let (snap, _) = Snapshot::build(store, 0).context("building the snapshot")?;
    let by_ref: HashMap<&str, u32> = refs
        .iter()
        .map(String::as_str)
        .zip(membership.iter().copied())
        .collect();
    let unseen = std::cell::Cell::new(0usize);
    let det = community::adopt(&snap, &params, |v| {
        let c = by_ref.get(snap.reference(v).as_str()).copied();
        unseen.set(unseen.get() + usize::from(c.is_none()));
        c
    })
    .context("matching the result to the store's graph")?;
    let unseen = unseen.get();
    if unseen > 0 {
        eprintln!(
            "warning: {unseen} nodes of the store's graph are not in the export (each left alone in the run); was it exported from this store with the same --max-holders?"
        );
    }
    let latest = store.latest_run().context("reading the runs")?;
    let prev = match &latest {
        Some(r) => Some((
            store.run_membership(r.id).context("reading the last run")?,
            r.next_community,
        )),
        None => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (mut run, _) = community::finish(
        &snap,
        &params,
        det,
        latest.as_ref().map_or(1, |r| r.id + 1),
        now,
        prev.as_ref().map(|(membership, next_community)| Previous {
            membership,
            next_community: *next_community,
        }),
        t,
    );
    run.info.seconds += cluster_seconds;
    run.info.cluster = Some(ClusterShape {
        processes: res.processes as u32,
        workers: args.workers as u32,
    });
    store.put_run(&run).context("writing the run")?;
    Ok(run.info)
}

/// Writes the gathered result: `reference community` or `reference score` lines in node order.
fn write_out(res: &ClusterResult, refs: &[String], path: &Path) -> anyhow::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    if let Some(m) = &res.membership {
        for (r, c) in refs.iter().zip(m) {
            writeln!(w, "{r} {c}")?;
        }
    } else if let Some(s) = &res.scores {
        for (r, x) in refs.iter().zip(s) {
            writeln!(w, "{r} {x:e}")?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostfile_lines() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("hosts");
        std::fs::write(&p, "# two machines\n10.0.0.1:2101\n\nnode-b:2101\n").unwrap();
        assert_eq!(
            read_hostfile(&p).unwrap(),
            vec!["10.0.0.1:2101", "node-b:2101"]
        );
        std::fs::write(&p, "10.0.0.1:2101\n10.0.0.2\n").unwrap();
        let e = format!("{:#}", read_hostfile(&p).unwrap_err());
        assert!(e.contains("line 2"), "{e}");
    }

    /// The whole pipeline in one process with several workers, against the single-machine
    /// algorithms (two processes are in the integration tests).
    #[test]
    fn export_then_cluster_matches_single_machine() {
        use crate::algo::components::connected_components;
        use crate::algo::graph::Graph;
        use crate::algo::pagerank::{pagerank, PageRankConfig};
        let t = tempfile::tempdir().unwrap();
        let el = t.path().join("g.el");
        // two rings of cliques joined by one edge, plus a separate triangle
        let mut text = String::new();
        let mut edges = Vec::new();
        for c in 0..6u32 {
            for a in 0..5u32 {
                for b in a + 1..5 {
                    edges.push((c * 5 + a, c * 5 + b));
                }
            }
            edges.push((c * 5, ((c + 1) % 6) * 5 + 1));
        }
        edges.extend([(30, 31), (31, 32), (30, 32), (3, 3)]);
        for (u, v) in &edges {
            text.push_str(&format!("{u} {v}\n"));
        }
        std::fs::write(&el, text).unwrap();
        let out = t.path().join("export");
        export(&ExportArgs {
            edges: true,
            partitions: 5,
            graph: ExportGraph::Person,
            db: vec![],
            edgelist: Some(el),
            max_holders: 50,
            out: out.clone(),
            rejects: Default::default(),
        })
        .unwrap();
        let g = Graph::from_edges(
            33,
            &edges
                .iter()
                .filter(|e| e.0 != e.1)
                .map(|&(u, v)| (u, v, 1.0))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let cfg = ClusterConfig {
            manifest: out.join("manifest.json"),
            addresses: vec!["127.0.0.1:0".into()],
            process: 0,
            workers: 3,
        };
        let p = Params::default();
        let wcc = run(&cfg, Algo::Wcc, &p).unwrap().unwrap();
        assert_eq!(
            wcc.membership.unwrap(),
            connected_components(g.csr()).membership
        );
        let pr = run(&cfg, Algo::PageRank, &p).unwrap().unwrap();
        let single = pagerank(&g.to_digraph(), &PageRankConfig::fixed(20));
        for (a, b) in pr.scores.unwrap().iter().zip(&single.scores) {
            // the single-machine pull keeps its contributions in f32
            assert!((a - b).abs() < 1e-7, "{a} {b}");
        }
        for algo in [Algo::Lpa, Algo::Leiden] {
            let r = run(&cfg, algo, &p).unwrap().unwrap();
            let m = r.membership.unwrap();
            let q = crate::algo::quality::modularity(&g, &m, 1.0).unwrap();
            assert!((q - r.modularity.unwrap()).abs() < 1e-6, "{algo:?}");
            assert!(q > 0.5, "{algo:?} {q}");
            assert_ne!(m[0], m[30], "{algo:?}");
        }
        assert!(ExportWriter::create(&out, 2).is_err());
    }
}
