//! Issue 7 end to end: the generated case exported as partitions and run by two `fraudnet cluster`
//! processes of two workers each on loopback, against the single-machine algorithms on the same
//! person graph.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fraudnet::algo::components::connected_components;
use fraudnet::algo::graph::Graph;
use fraudnet::algo::leiden::{leiden, LeidenConfig, Quality};
use fraudnet::algo::lpa::{label_propagation, LabelPropagationConfig};
use fraudnet::algo::pagerank::{pagerank, PageRankConfig};
use fraudnet::algo::projection::{person_projection, ProjectionConfig};
use fraudnet::algo::quality::modularity;
use fraudnet::model::run::{Algo, ClusterShape};
use fraudnet::snapshot::Snapshot;
use fraudnet::store::Store;

use crate::support::{generated_store, Dir};

/// The acceptance case size.
const PERSONS: usize = 100_000;
/// No run may take longer (a hung cluster fails the test instead of blocking CI).
const DEADLINE: Duration = Duration::from_secs(600);

/// Child processes killed when dropped (a failed assertion leaves nothing running).
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `algo` on 2 processes × 2 workers (process 0 also storing the run in `db` if given);
/// returns the `reference value` lines of process 0.
fn cluster(dir: &Dir, manifest: &Path, algo: &str, db: Option<&Path>) -> Vec<(String, String)> {
    let hosts = dir.join(&format!("hosts-{algo}"));
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let out = dir.join(&format!("{algo}.txt"));
    let mut procs = Procs(Vec::new());
    for p in 0..2 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fraudnet"));
        cmd.args(["cluster", "--algo", algo, "--workers", "2", "--process"])
            .arg(p.to_string())
            .arg("--manifest")
            .arg(manifest)
            .arg("--hostfile")
            .arg(&hosts)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if p == 0 {
            cmd.arg("--out").arg(&out);
            if let Some(db) = db {
                cmd.arg("--db").arg(db);
            }
        }
        procs
            .0
            .push(cmd.spawn().expect("starting fraudnet cluster"));
    }
    let started = Instant::now();
    for i in 0..2 {
        loop {
            if let Some(status) = procs.0[i].try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = procs.0[i].stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                assert!(status.success(), "{algo} process {i} failed:\n{err}");
                if i == 0 {
                    eprintln!("{algo}, process 0:\n{err}");
                }
                break;
            }
            assert!(started.elapsed() < DEADLINE, "{algo}: the cluster hangs");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let (r, v) = l.rsplit_once(' ').expect("`reference value` line");
            (r.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn two_processes_two_workers_match_one_machine() {
    let dir = Dir::new();
    let (_, db) = generated_store(dir.path(), PERSONS, 1);
    let export = dir.join("export");
    dir.ok(&[
        "export",
        "--edges",
        "--partitions",
        "8",
        "--db",
        db.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    let manifest = export.join("manifest.json");

    // the single-machine algorithms on the same graph
    let store = Store::open_read_only(&db).unwrap();
    let (snap, _) = Snapshot::build(&store, 0).unwrap();
    let proj = person_projection(&snap, &ProjectionConfig::standard(50));
    let refs: Vec<String> = proj.nodes.iter().map(|&v| snap.reference(v)).collect();
    let g = Graph::from_edges(proj.nodes.len(), &proj.edges).unwrap();
    drop((snap, store));
    eprintln!(
        "person graph: {} nodes, {} edges",
        g.node_count(),
        g.edge_count()
    );

    let check_refs = |lines: &[(String, String)]| {
        assert_eq!(lines.len(), refs.len());
        assert!(lines.iter().zip(&refs).all(|(l, r)| &l.0 == r));
    };
    let membership = |lines: &[(String, String)]| -> Vec<u32> {
        check_refs(lines);
        lines.iter().map(|l| l.1.parse().unwrap()).collect()
    };

    let wcc = membership(&cluster(&dir, &manifest, "wcc", None));
    let single = connected_components(g.csr());
    assert!(single.count > 1, "the case has more than one component");
    assert_eq!(wcc, single.membership, "components are exactly the same");

    let pr = cluster(&dir, &manifest, "pagerank", None);
    check_refs(&pr);
    let single = pagerank(&g.to_digraph(), &PageRankConfig::fixed(20));
    let worst = pr
        .iter()
        .zip(&single.scores)
        .map(|(l, s)| (l.1.parse::<f64>().unwrap() - s).abs())
        .fold(0.0, f64::max);
    eprintln!("pagerank: largest difference {worst:e}");
    assert!(worst < 1e-6, "{worst}");

    let lpa = membership(&cluster(&dir, &manifest, "lpa", None));
    let single = label_propagation(
        &g,
        &LabelPropagationConfig {
            seed: 42,
            max_rounds: 100,
            tolerance: 1e-5,
        },
    );
    let (q, q1) = (
        modularity(&g, &lpa, 1.0).unwrap(),
        modularity(&g, &single.membership, 1.0).unwrap(),
    );
    eprintln!("label propagation: modularity {q:.4} on the cluster, {q1:.4} on one machine");
    assert!((q - q1).abs() < 0.01 || q > q1, "{q} vs {q1}");

    let ld = membership(&cluster(&dir, &manifest, "leiden", Some(&db)));
    let single = leiden(
        &g,
        &LeidenConfig {
            quality: Quality::Modularity,
            resolution: 1.0,
            seed: 42,
            iterations: 2,
            max_levels: 64,
        },
    );
    let (q, q1) = (
        modularity(&g, &ld, 1.0).unwrap(),
        modularity(&g, &single.membership, 1.0).unwrap(),
    );
    eprintln!("leiden: modularity {q:.4} on the cluster, {q1:.4} on one machine");
    assert!((q - q1).abs() < 0.01 || q > q1, "{q} vs {q1}");

    // process 0 stored the Leiden result as a community run marked with the cluster's shape
    let store = Store::open_read_only(&db).unwrap();
    let run = store.latest_run().unwrap().expect("the cluster's run");
    assert_eq!(
        run.cluster,
        Some(ClusterShape {
            processes: 2,
            workers: 2
        })
    );
    assert_eq!(run.params.algo, Algo::Leiden);
    assert_eq!(run.nodes, refs.len() as u64);
    assert!(
        (run.modularity - q).abs() < 1e-6,
        "{} vs {q}",
        run.modularity
    );
    let members = store.run_membership(run.id).unwrap();
    assert!(members.entries.iter().filter(|e| e.member).count() == refs.len());
    drop(store);
    let list = dir.ok(&["communities", "--db", db.to_str().unwrap(), "--list"]);
    assert!(list.contains("2×2"), "{list}");
    let report = dir.ok(&[
        "communities",
        "--db",
        db.to_str().unwrap(),
        "--report",
        "latest",
        "--json",
        "--no-members",
    ]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["cluster"]["processes"], 2, "{v}");
}
