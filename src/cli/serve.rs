//! `fraudnet serve`: the JSON API and the viewer on one address (loopback by default).

use crate::server::{self, AppState, ServerConfig};
use crate::store::Store;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Store directory (created by `import`).
    #[arg(long, env = "FRAUDNET_DB", default_value = super::DEFAULT_DB)]
    pub db: PathBuf,
    /// Address to listen on. Only loopback by default: give another address to serve a network,
    /// preferably behind a TLS-terminating proxy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Serve the viewer from this directory instead of the copy built into the binary.
    #[arg(long)]
    pub web: Option<PathBuf>,
    /// Worker threads for the async runtime (graph queries run on their own blocking threads).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let store = Arc::new(
        Store::open(&args.db)
            .with_context(|| format!("opening the store at {}", args.db.display()))?,
    );
    let report = server::audit::verify(store.as_ref()).context("reading the audit log")?;
    if report.ok {
        eprintln!("audit log: {} entries, chain intact", report.entries);
    } else {
        eprintln!(
            "WARNING: the audit log's hash chain is BROKEN at entry {} ({}). Entries may have been \
             altered or removed; keep this store as evidence and investigate. Serving continues \
             and new entries are appended.",
            report.first_bad.as_deref().unwrap_or("?"),
            report.reason.as_deref().unwrap_or("unknown reason")
        );
    }
    let mut config = ServerConfig::standard();
    config.web_dir = args.web.clone();
    let state = AppState::with_store(store.clone(), config).context("starting the server")?;
    let users = server::auth::list_users(store.as_ref()).context("reading accounts")?;
    if users.is_empty() {
        eprintln!("no accounts yet: create one with `fraudnet user add NAME --role admin`");
    }

    let t0 = std::time::Instant::now();
    let snap = state
        .graph
        .rebuild(store.clone())
        .context("building the graph snapshot")?;
    eprintln!(
        "snapshot: {} entities, {} links in {:.2} s ({:.0} bytes per link)",
        snap.nodes,
        snap.links,
        t0.elapsed().as_secs_f64(),
        snap.bytes_per_link()
    );
    if !args.addr.ip().is_loopback() {
        eprintln!(
            "WARNING: listening on {}, reachable from the network. The session cookie is not marked \
             Secure: put a TLS proxy in front.",
            args.addr
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let local = listener.local_addr().context("reading the bound address")?;
        println!("fraudnet viewer: http://{local}/");
        server::serve_on(state, listener).await?;
        anyhow::Ok(())
    })?;
    Ok(())
}
