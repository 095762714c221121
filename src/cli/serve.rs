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
    /// Address to listen on. Loopback by default; an address reachable from the network is
    /// refused unless `--allow-network` is given too.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Allow a non-loopback `--addr` (put a TLS-terminating proxy in front: the session cookie
    /// is not marked Secure).
    #[arg(long)]
    pub allow_network: bool,
    /// Serve the viewer from this directory instead of the copy built into the binary.
    #[arg(long)]
    pub web: Option<PathBuf>,
    /// Worker threads for the async runtime (graph queries run on their own blocking threads).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
}

pub fn run(args: ServeArgs) -> Result<()> {
    if !args.addr.ip().is_loopback() && !args.allow_network {
        anyhow::bail!(
            "{} is reachable from the network; fraudnet serves loopback only unless you also pass \
             --allow-network (and put a TLS proxy in front)",
            args.addr
        );
    }
    // Named, so that the ranking's parallel work shows apart in per-thread CPU figures (the load
    // test reads them from /proc). Ignored when a pool already exists.
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rayon-{i}"))
        .build_global();
    let store = Arc::new(
        Store::open(&args.db)
            .with_context(|| format!("opening the store at {}", args.db.display()))?,
    );
    let (_, line) =
        server::audit::startup_check(store.as_ref()).context("reading the audit log")?;
    eprintln!("{line}");
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
        let control = super::control::listen(state.clone(), store.clone(), args.db.clone())?;
        println!("fraudnet viewer: http://{local}/");
        let served = server::serve_on(state, listener).await;
        control.abort();
        let _ = std::fs::remove_file(super::control::socket_path(&args.db));
        served?;
        anyhow::Ok(())
    })?;
    Ok(())
}
