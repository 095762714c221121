//! `fraudnet demo`: the main job on an embedded default: generate the demo case, import it, run
//! community detection, create one account per role (passwords printed once), and serve the viewer.

use super::data::{import, ImportArgs};
use super::serve::{self, ServeArgs};
use super::DbArg;
use crate::generate::{generate, GenerateConfig};
use crate::server::auth::{add_user, generate_password, get_user, Role};
use crate::store::Store;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where the demo case's files and store go.
    #[arg(long, default_value = "fraudnet-demo")]
    pub dir: PathBuf,
    /// Background population of the generated case.
    #[arg(long, default_value_t = 100_000)]
    pub persons: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Prepare the case and the accounts, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

const DEMO_USERS: [(&str, Role); 4] = [
    ("investigator", Role::Investigator),
    ("analyst", Role::Analyst),
    ("supervisor", Role::Supervisor),
    ("admin", Role::Admin),
];

pub fn run(a: &DemoArgs) -> Result<()> {
    let case = a.dir.join("case");
    let db = a.dir.join("db");
    if !case.join("truth.json").exists() {
        eprintln!(
            "generating the demo case ({} persons) in {}",
            a.persons,
            case.display()
        );
        generate(
            &GenerateConfig {
                persons: a.persons,
                seed: a.seed,
            },
            &case,
        )
        .context("generating the demo case")?;
    }
    if !db.join("CURRENT").exists() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&case)
            .with_context(|| format!("reading {}", case.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "jsonl"))
            .collect();
        files.sort();
        import(&ImportArgs {
            db: DbArg { db: db.clone() },
            files,
            report_dir: None,
            batch: crate::ingest::import::INGEST_BATCH,
            json: false,
        })?;
    }
    {
        let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
        let mut created = Vec::new();
        for (name, role) in DEMO_USERS {
            if get_user(&store, name)?.is_none() {
                let pw = generate_password();
                add_user(&store, name, role, &pw)?;
                created.push((name, pw));
            }
        }
        if !created.is_empty() {
            println!("demo accounts (passwords shown once):");
            for (name, pw) in created {
                println!("  {name:<14} {pw}");
            }
        }
        if store.latest_run()?.is_none() {
            let params = crate::model::run::RunParams {
                algo: crate::model::run::Algo::Leiden,
                resolution: 1.0,
                seed: 42,
                graph: crate::model::run::GraphKind::Person,
                max_holders: crate::algo::community::DEFAULT_MAX_HOLDERS,
                weighting: crate::model::run::Weighting::Operational,
                groups: Some(crate::model::run::GroupParams::STANDARD),
            };
            let (run, _) = super::communities::run_on_store(&store, &params)
                .context("running community detection")?;
            println!(
                "community run {}: {} communities, modularity {:.3} ({:.1} s)",
                run.info.id, run.info.communities, run.info.modularity, run.info.seconds
            );
        }
        let truth = std::fs::read_to_string(case.join("truth.json")).unwrap_or_default();
        if let Ok(t) = serde_json::from_str::<serde_json::Value>(&truth) {
            println!(
                "seed returnee: {} (phone as written: {})",
                t["seed"].as_str().unwrap_or("?"),
                t["seed_phone"].as_str().unwrap_or("?")
            );
        }
    }
    if a.no_serve {
        return Ok(());
    }
    serve::run(ServeArgs {
        db,
        addr: a.addr,
        allow_network: false,
        web: None,
        workers: 2,
    })
}
