//! The control socket of a running server: how `fraudnet import` and `fraudnet backup` work on a
//! store that a server holds open.
//!
//! RocksDB lets one process open a store for writing, and the server is that process (accounts,
//! case maps and the audit log are written into the same store). So while it runs, the server
//! listens on a Unix socket inside the store directory, `DB/control.sock`, created with mode
//! 0600: whoever may use it could read the store's files anyway, so the file system's permission
//! is the authentication. A command that finds the store locked and the socket answering sends
//! one JSON line and reads one JSON line back:
//!
//! - `{"op":"import","files":[...],"batch":N,"report_dir":…}`: the server imports with its own
//!   handle (queries keep being answered from the current snapshot), then builds a new snapshot
//!   and swaps it in; snapshot reloads wait for the import (`AppState::writing`).
//! - `{"op":"backup","dir":…}`: a RocksDB checkpoint through the server's handle.
//!
//! Answers are `{"ok":true,"result":{…}}` or `{"ok":false,"error":"…"}`. Both operations are
//! recorded in the audit log as user `local`.

use crate::server::AppState;
use crate::store::Store;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest request line accepted on the socket.
const MAX_REQUEST: u64 = 1 << 20;

pub fn socket_path(db: &Path) -> PathBuf {
    db.join("control.sock")
}

/// Whether a server answers on the store's control socket.
pub fn reachable(db: &Path) -> bool {
    UnixStream::connect(socket_path(db)).is_ok()
}

/// Sends one request to the server holding `db` and returns its `result`.
pub fn request(db: &Path, req: &Value) -> Result<Value> {
    let path = socket_path(db);
    let mut s = UnixStream::connect(&path).with_context(|| {
        format!(
            "connecting to the server's control socket {}",
            path.display()
        )
    })?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    s.write_all(&line)?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    let v: Value = serde_json::from_str(&answer)
        .with_context(|| format!("the server answered no JSON on {}", path.display()))?;
    if v["ok"] == true {
        Ok(v["result"].clone())
    } else {
        bail!(
            "the server refused: {}",
            v["error"].as_str().unwrap_or("no reason given")
        )
    }
}

/// Listens on the store's control socket until the process ends. Call inside the server's
/// runtime; the socket file is replaced if a killed server left one behind (the store's lock,
/// which this process holds, proves no other server uses it).
pub fn listen(
    state: AppState,
    store: Arc<Store>,
    db: PathBuf,
) -> Result<tokio::task::JoinHandle<()>> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(&db);
    if path.exists() {
        std::fs::remove_file(&path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("creating the control socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            let (state, store, db) = (state.clone(), store.clone(), db.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_one(conn, state, store, db).await {
                    eprintln!("control socket: {e:#}");
                }
            });
        }
    }))
}

async fn serve_one(
    conn: tokio::net::UnixStream,
    state: AppState,
    store: Arc<Store>,
    db: PathBuf,
) -> Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (rd, mut wr) = conn.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(rd.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let answer = match handle(&line, state, store, db).await {
        Ok(result) => json!({"ok": true, "result": result}),
        Err(e) => json!({"ok": false, "error": format!("{e:#}")}),
    };
    let mut out = serde_json::to_vec(&answer)?;
    out.push(b'\n');
    wr.write_all(&out).await?;
    Ok(())
}

async fn handle(line: &str, state: AppState, store: Arc<Store>, db: PathBuf) -> Result<Value> {
    let req: Value = serde_json::from_str(line).context("the request is not one JSON line")?;
    match req["op"].as_str() {
        Some("import") => {
            let files: Vec<PathBuf> = req["files"]
                .as_array()
                .ok_or_else(|| anyhow!("import needs `files`"))?
                .iter()
                .map(|f| f.as_str().map(PathBuf::from))
                .collect::<Option<_>>()
                .ok_or_else(|| anyhow!("`files` must be strings"))?;
            let batch = req["batch"]
                .as_u64()
                .map_or(crate::ingest::import::INGEST_BATCH, |b| {
                    usize::try_from(b).unwrap_or(usize::MAX)
                });
            let report_dir = req["report_dir"]
                .as_str()
                .map_or_else(|| db.join("imports"), PathBuf::from);
            let _writing = state.writing.lock().await;
            let st = state.clone();
            let names = files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let mut summary = tokio::task::spawn_blocking(move || -> Result<Value> {
                let parsers = crate::ingest::import::open_files(&files)
                    .context("nothing was imported")?;
                let mut summary = super::data::import_into(&store, parsers, batch, &report_dir, false)?;
                let snap = st
                    .graph
                    .rebuild(store.clone())
                    .context("building the new snapshot")?;
                summary["snapshot"] = json!({
                    "generation": st.graph.generation(), "entities": snap.nodes, "links": snap.links,
                });
                Ok(summary)
            })
            .await??;
            state
                .record("local", "import", vec![], names)
                .map_err(|e| anyhow!("recording the import in the audit log: {e}"))?;
            summary["through_server"] = json!(true);
            Ok(summary)
        }
        Some("backup") => {
            let dir = PathBuf::from(
                req["dir"]
                    .as_str()
                    .ok_or_else(|| anyhow!("backup needs `dir`"))?,
            );
            let shown = dir.display().to_string();
            let result =
                tokio::task::spawn_blocking(move || super::backup::backup_into(&store, &db, &dir))
                    .await??;
            state
                .record("local", "backup", vec![], shown)
                .map_err(|e| anyhow!("recording the backup in the audit log: {e}"))?;
            Ok(result)
        }
        other => bail!("unknown operation {other:?} (import or backup)"),
    }
}
