//! `fraudnet backup DIR` and `fraudnet restore DIR`: RocksDB checkpoints of a store.
//!
//! A checkpoint needs the handle of the process that has the store open for writing. With no
//! server running, `backup` opens the store itself; while a server runs, it asks the server
//! through the store's control socket (`cli::control`), so backups work while investigators use
//! the viewer. A backup is a complete store (open it with `--db DIR`) plus a copy of the import
//! reports (`imports/`). `restore` needs the store closed (stop the server): it checks the backup,
//! copies it beside the store and swaps it in, keeping the old store aside.

use super::{print_json, DbArg};
use crate::store::{Store, StoreError};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Directory to write the backup into; it must not exist yet.
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// A directory written by `fraudnet backup`.
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

/// Checkpoints `store` (which lives in `db`) into `dir`, copies the import reports, and
/// describes what the backup holds (counts and content digest, read back from the backup).
pub(crate) fn backup_into(store: &Store, db: &Path, dir: &Path) -> Result<Value> {
    let t0 = std::time::Instant::now();
    store
        .backup(dir)
        .with_context(|| format!("writing the backup into {}", dir.display()))?;
    let reports = db.join("imports");
    if reports.is_dir() {
        crate::store::copy_tree(&reports, &dir.join("imports"))
            .with_context(|| format!("copying the import reports into {}", dir.display()))?;
    }
    let copy = Store::open_read_only(dir).context("reading the backup back")?;
    let stats = copy.stats()?;
    let digest = copy.digest()?;
    Ok(json!({
        "dir": dir.display().to_string(),
        "entities": stats.entity_total(),
        "links": stats.link_total(),
        "evidence": stats.evidence_total(),
        "digest": digest.hex,
        "seconds": t0.elapsed().as_secs_f64(),
    }))
}

pub fn backup(a: &BackupArgs) -> Result<()> {
    let db = &a.db.db;
    let v = match Store::open(db) {
        Ok(store) => backup_into(&store, db, &a.dir)?,
        Err(StoreError::Locked(_)) if super::control::reachable(db) => {
            let dir = std::path::absolute(&a.dir)?;
            super::control::request(db, &json!({"op": "backup", "dir": dir.display().to_string()}))?
        }
        Err(StoreError::Locked(_)) => bail!(
            "an import is writing the store at {}: back up when it has finished (a checkpoint needs \
             the writing process's handle, and only a server shares its handle)",
            db.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("opening the store at {}", db.display())),
    };
    if a.json {
        return print_json(&v);
    }
    println!(
        "backed up {} entities, {} links, {} evidence records into {} (digest {})",
        v["entities"],
        v["links"],
        v["evidence"],
        a.dir.display(),
        v["digest"].as_str().unwrap_or("")
    );
    Ok(())
}

pub fn restore(a: &RestoreArgs) -> Result<()> {
    let db = &a.db.db;
    let kept = Store::restore(&a.dir, db).with_context(|| {
        format!(
            "restoring {} into {} (stop any server on it first)",
            a.dir.display(),
            db.display()
        )
    })?;
    let store = Store::open_read_only(db)?;
    let stats = store.stats()?;
    let v = json!({
        "db": db.display().to_string(),
        "entities": stats.entity_total(),
        "links": stats.link_total(),
        "evidence": stats.evidence_total(),
        "digest": store.digest()?.hex,
        "previous_store": kept.as_ref().map(|p| p.display().to_string()),
    });
    if a.json {
        return print_json(&v);
    }
    println!(
        "restored {} entities, {} links, {} evidence records into {}",
        v["entities"],
        v["links"],
        v["evidence"],
        db.display()
    );
    if let Some(k) = kept {
        println!("the store that was there is kept in {}", k.display());
    }
    Ok(())
}
