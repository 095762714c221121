//! `import`, `stats`, `show`, `search`, `check`: getting data in and looking at it.

use super::{print_json, DbArg};
use crate::ingest::import::{import_parsers, open_files, ImportConfig, ImportReport, INGEST_BATCH};
use crate::ingest::record::Reject;
use crate::model::ident::interpretations;
use crate::model::time::{BeijingTime, Yuan};
use crate::model::{EntityId, EntityKind, LinkKind};
use crate::store::{Direction, EntityRecord, Store, StoreError};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Files to import; their layout is recognised from the header (see fixtures/README.md).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where the summary and the rejected rows are written (default: DB/imports).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Records per atomic run of the import (memory grows with it, about 200 bytes a record).
    #[arg(long, default_value_t = INGEST_BATCH)]
    pub batch: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// A canonical reference (`phone:+8613800138000`) or an identifier as written (`138-0013-8000`).
    pub reference: String,
    /// Links shown per direction.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Evidence records shown per link.
    #[arg(long, default_value_t = 3)]
    pub evidence: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// A name, an identifier in any writing, or a fragment of one.
    pub text: String,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Also print a digest of the store's logical content (entities, identifiers, links and
    /// evidence named by their keys): two stores holding the same case have the same digest.
    #[arg(long)]
    pub digest: bool,
    #[arg(long)]
    pub json: bool,
}

fn open_existing(db: &Path) -> Result<Store> {
    Store::open_read_only(db).with_context(|| format!("opening the store at {}", db.display()))
}

fn stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    BeijingTime(i64::try_from(now).unwrap_or(0))
        .to_string()
        .replace([' ', ':'], "-")
}

pub fn import(a: &ImportArgs) -> Result<()> {
    // Every file is opened and recognised before the store is touched.
    let parsers = open_files(&a.files).context("nothing was imported")?;
    let summary = match Store::open(&a.db.db) {
        Ok(store) => {
            let report_dir = a
                .report_dir
                .clone()
                .unwrap_or_else(|| a.db.db.join("imports"));
            import_into(&store, parsers, a.batch, &report_dir, true)?
        }
        // A server holds the store: it runs the import and swaps its snapshot when it is done.
        Err(StoreError::Locked(_)) if super::control::reachable(&a.db.db) => {
            drop(parsers);
            let files = a
                .files
                .iter()
                .map(|f| std::path::absolute(f).map(|p| p.display().to_string()))
                .collect::<std::io::Result<Vec<_>>>()?;
            let report_dir = match &a.report_dir {
                Some(d) => Some(std::path::absolute(d)?.display().to_string()),
                None => None,
            };
            eprintln!("the store is served by a running fraudnet server: importing through it");
            super::control::request(
                &a.db.db,
                &json!({"op": "import", "files": files, "batch": a.batch, "report_dir": report_dir}),
            )?
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the store at {}", a.db.db.display()))
        }
    };
    if a.json {
        return print_json(&summary);
    }
    print_import(&a.db.db, &summary)
}

/// Imports opened files into an open store, writes the rejected rows and the summary into
/// `report_dir`, and returns the summary (the `--json` document). Used by `import` and by a
/// server's control socket, so both write the same reports.
pub(crate) fn import_into(
    store: &Store,
    parsers: Vec<crate::ingest::parse::FileParser>,
    batch: usize,
    report_dir: &Path,
    progress: bool,
) -> Result<serde_json::Value> {
    let stamp = stamp();
    let rejects_path = report_dir.join(format!("{stamp}-rejects.csv"));
    let mut rejects: Option<csv::Writer<std::fs::File>> = None;
    let mut reject_err: Option<anyhow::Error> = None;
    let mut on_reject = |r: &Reject| {
        if reject_err.is_some() {
            return;
        }
        let res = (|| -> Result<()> {
            if rejects.is_none() {
                std::fs::create_dir_all(report_dir)?;
                let mut w = csv::Writer::from_path(&rejects_path)?;
                w.write_record(["file", "line", "reason", "detail", "raw"])?;
                rejects = Some(w);
            }
            if let Some(w) = rejects.as_mut() {
                w.write_record([
                    r.file.as_str(),
                    &r.line.to_string(),
                    r.reason,
                    &r.detail,
                    &r.raw,
                ])?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            reject_err = Some(e);
        }
    };
    let bar = (progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}] {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let mut on_progress = |p: crate::ingest::import::Progress<'_>| {
        if let Some(b) = &bar {
            b.set_position(p.rows);
            b.set_message(format!(
                "file {}/{} {} — {} rows",
                p.file_index + 1,
                p.files,
                p.file,
                p.rows
            ));
        }
    };
    let report = import_parsers(
        store,
        parsers,
        &ImportConfig { chunk_rows: batch },
        &mut on_reject,
        &mut on_progress,
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = reject_err {
        return Err(e.context(format!(
            "writing rejected rows to {}",
            rejects_path.display()
        )));
    }
    if let Some(mut w) = rejects {
        w.flush()?;
    }
    let rejects_file = (report.rejected() > 0).then(|| rejects_path.display().to_string());
    let mut summary = import_json(&report, rejects_file.as_deref(), store.disk_bytes());
    std::fs::create_dir_all(report_dir)?;
    let summary_path = report_dir.join(format!("{stamp}-summary.json"));
    std::fs::write(&summary_path, serde_json::to_vec_pretty(&summary)?)?;
    summary["summary_file"] = json!(summary_path.display().to_string());
    Ok(summary)
}

/// The human summary of an import, from its JSON document.
fn print_import(db: &Path, s: &serde_json::Value) -> Result<()> {
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let files = s["files"].as_array().cloned().unwrap_or_default();
    writeln!(
        out,
        "imported {} files into {} in {:.1} s ({:.0} rows/s)",
        files.len(),
        db.display(),
        s["seconds"].as_f64().unwrap_or(0.0),
        s["rows_per_second"].as_f64().unwrap_or(0.0)
    )?;
    for f in &files {
        writeln!(
            out,
            "  {:<40} {:<15} {:>10} rows {:>10} records {:>8} rejected",
            f["file"].as_str().unwrap_or(""),
            f["layout"].as_str().unwrap_or(""),
            n(&f["rows"]),
            n(&f["records"]),
            n(&f["rejected"])
        )?;
        for w in f["warnings"].as_array().into_iter().flatten() {
            writeln!(out, "    warning: {}", w.as_str().unwrap_or(""))?;
        }
    }
    writeln!(
        out,
        "entities: {} new, {} enriched",
        n(&s["entities_new"]),
        n(&s["entities_enriched"])
    )?;
    writeln!(
        out,
        "links: {} new; evidence records: {} new, {} already known",
        n(&s["links_new"]),
        n(&s["evidence_new"]),
        n(&s["evidence_duplicate"])
    )?;
    if n(&s["rejected"]) > 0 {
        writeln!(out, "rejected rows: {}", n(&s["rejected"]))?;
        for (reason, k) in s["rejected_by_reason"].as_object().into_iter().flatten() {
            writeln!(out, "  {reason:<16} {}", n(k))?;
        }
        writeln!(
            out,
            "the rejected rows, with file, line and reason: {}",
            s["rejects_file"].as_str().unwrap_or("")
        )?;
    }
    for (reason, k) in s["kept_with_value_dropped"]
        .as_object()
        .into_iter()
        .flatten()
    {
        writeln!(out, "kept with a value dropped ({reason}): {}", n(k))?;
    }
    writeln!(out, "summary: {}", s["summary_file"].as_str().unwrap_or(""))?;
    Ok(())
}

fn import_json(
    r: &ImportReport,
    rejects_file: Option<&str>,
    disk: Option<u64>,
) -> serde_json::Value {
    json!({
        "files": r.files.iter().map(|f| json!({
            "file": f.file, "layout": f.layout.name(), "encoding": f.encoding, "rows": f.rows,
            "records": f.records, "rejected": f.rejected, "warnings": f.warnings,
        })).collect::<Vec<_>>(),
        "rows": r.rows,
        "seconds": r.seconds,
        "rows_per_second": r.rows_per_second(),
        "phase_seconds": {
            "parse_wait": r.parse_wait,
            "resolve": r.write_times.resolve,
            "stage": r.write_times.stage,
            "lookup": r.write_times.lookup,
            "write": r.write_times.write,
        },
        "entities_new": r.writes.entities_new,
        "entities_enriched": r.writes.entities_enriched,
        "links_new": r.writes.links_new,
        "evidence_new": r.writes.evidence_new,
        "evidence_duplicate": r.writes.evidence_duplicate,
        "rejected": r.rejected(),
        "rejected_by_reason": r.rejected_by_reason,
        "kept_with_value_dropped": r.notes_by_reason,
        "rejects_file": rejects_file,
        "store_bytes": disk,
    })
}

fn kind_name(store: &Store, k: LinkKind) -> String {
    store
        .link_kind_name(k)
        .unwrap_or_else(|_| format!("kind{}", k.0))
}

pub fn stats(a: &StatsArgs) -> Result<()> {
    let store = open_existing(&a.db.db)?;
    let s = store.stats()?;
    let by_kind = |m: &std::collections::BTreeMap<LinkKind, u64>| -> serde_json::Map<String, serde_json::Value> {
        m.iter().map(|(k, n)| (kind_name(&store, *k), json!(n))).collect()
    };
    let v = json!({
        "schema_version": store.schema_version()?,
        "entities": s.entity_total(),
        "entities_by_kind": s.entities.iter().map(|(k, n)| (k.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "links": s.link_total(),
        "links_by_kind": by_kind(&s.links),
        "evidence": s.evidence_total(),
        "evidence_by_kind": by_kind(&s.evidence),
        "sources": s.sources,
        "store_bytes": store.disk_bytes(),
    });
    if a.json {
        return print_json(&v);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "store {} (schema {})",
        a.db.db.display(),
        store.schema_version()?
    )?;
    writeln!(out, "entities {:>12}", s.entity_total())?;
    for (k, n) in &s.entities {
        writeln!(out, "  {:<14} {n:>12}", k.as_str())?;
    }
    writeln!(
        out,
        "links    {:>12}   evidence {:>12}",
        s.link_total(),
        s.evidence_total()
    )?;
    for (k, n) in &s.links {
        writeln!(
            out,
            "  {:<14} {n:>12}   {:>12}",
            kind_name(&store, *k),
            s.evidence.get(k).copied().unwrap_or(0)
        )?;
    }
    writeln!(out, "sources  {:>12}", s.sources)?;
    if let Some(b) = store.disk_bytes() {
        writeln!(out, "on disk  {:>9.1} MiB", b as f64 / 1048576.0)?;
    }
    Ok(())
}

/// Resolves what a user typed to an entity: a canonical reference or any writing of an identifier.
pub(crate) fn resolve(store: &Store, typed: &str) -> Result<Option<EntityId>> {
    for n in interpretations(typed) {
        if let Some(id) = store.lookup(n.kind, &n.key)? {
            return Ok(Some(id));
        }
    }
    // Free keys (a case's person keys, places, orgs) as written.
    for kind in [EntityKind::Person, EntityKind::Place, EntityKind::Org] {
        if let Some(id) = store.lookup(kind, typed.trim())? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn entity_json(rec: &EntityRecord) -> serde_json::Value {
    json!({
        "ref": format!("{}:{}", rec.kind, rec.key),
        "kind": rec.kind.as_str(),
        "key": rec.key,
        "label": rec.label,
        "roles": rec.roles.names().collect::<Vec<_>>(),
        "flags": rec.flags.names().collect::<Vec<_>>(),
        "statuses": rec.statuses.iter().map(|(s, t)| json!({"status": s.as_str(), "since": BeijingTime(*t).to_string()})).collect::<Vec<_>>(),
        "notes": rec.notes,
    })
}

fn value_text(kind: LinkKind, v: i64) -> String {
    if kind == LinkKind::TRANSFER {
        format!("¥{}", Yuan(v))
    } else if matches!(kind, LinkKind::CALL) {
        format!("{v} s")
    } else {
        String::new()
    }
}

pub fn show(a: &ShowArgs) -> Result<()> {
    let store = open_existing(&a.db.db)?;
    let Some(id) = resolve(&store, &a.reference)? else {
        let near = near_matches(&store, &a.reference, 5)?;
        bail!(
            "no entity {:?} in the store{}",
            a.reference,
            if near.is_empty() {
                String::new()
            } else {
                format!("; did you mean: {}", near.join(", "))
            }
        );
    };
    let rec = store
        .entity(id)?
        .with_context(|| format!("entity {} is indexed but missing", id.0))?;
    let mut links = Vec::new();
    for dir in [Direction::Out, Direction::In] {
        for (k, agg) in store.links_of(id, dir, a.limit)? {
            let other = if dir == Direction::Out { k.dst } else { k.src };
            let other_rec = store.entity(other)?;
            let evidence = store.evidence(&k, a.evidence)?;
            let ev_json: Vec<_> = evidence
                .iter()
                .map(|e| {
                    let src = store.source(e.source).ok().flatten();
                    json!({
                        "time": e.key.time.map(|t| BeijingTime(t).to_string()),
                        "value": e.value,
                        "source": src.as_ref().map(|s| s.file.clone()),
                        "source_label": src.and_then(|s| s.label),
                        "line": e.line,
                        "record_id": e.record_id,
                        "detail": e.detail,
                    })
                })
                .collect();
            links.push(json!({
                "direction": if dir == Direction::Out { "out" } else { "in" },
                "kind": kind_name(&store, k.kind),
                "other": other_rec.as_ref().map(|r| format!("{}:{}", r.kind, r.key)),
                "other_label": other_rec.and_then(|r| r.label),
                "count": agg.count,
                "total": agg.total,
                "first": agg.has_time().then(|| BeijingTime(agg.first).to_string()),
                "last": agg.has_time().then(|| BeijingTime(agg.last).to_string()),
                "evidence": ev_json,
            }));
        }
    }
    let mut v = entity_json(&rec);
    v["links"] = json!(links);
    if a.json {
        return print_json(&v);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}:{}  {}",
        rec.kind,
        rec.key,
        rec.label.as_deref().unwrap_or("")
    )?;
    let roles: Vec<_> = rec.roles.names().collect();
    if !roles.is_empty() {
        writeln!(out, "  roles: {}", roles.join(", "))?;
    }
    let flags: Vec<_> = rec.flags.names().collect();
    if !flags.is_empty() {
        writeln!(out, "  flags: {}", flags.join(", "))?;
    }
    for (s, t) in &rec.statuses {
        writeln!(out, "  status: {} since {}", s.as_str(), BeijingTime(*t))?;
    }
    for l in &links {
        let arrow = if l["direction"] == "out" {
            "→"
        } else {
            "←"
        };
        let kind = l["kind"].as_str().unwrap_or("");
        let lk = LinkKind::builtin(kind).unwrap_or(LinkKind(0));
        writeln!(
            out,
            "  {arrow} {:<10} {} {}  ×{} {}{}",
            kind,
            l["other"].as_str().unwrap_or("?"),
            l["other_label"].as_str().unwrap_or(""),
            l["count"],
            value_text(lk, l["total"].as_i64().unwrap_or(0)),
            match (l["first"].as_str(), l["last"].as_str()) {
                (Some(f), Some(t)) if f != t => format!("  {f} … {t}"),
                (Some(f), _) => format!("  {f}"),
                _ => String::new(),
            }
        )?;
        for e in l["evidence"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "       {} {}:{} {} {}",
                e["time"].as_str().unwrap_or("-"),
                e["source"].as_str().unwrap_or("?"),
                e["line"],
                e["record_id"].as_str().unwrap_or(""),
                e["detail"].as_str().unwrap_or("")
            )?;
        }
    }
    Ok(())
}

/// Entities whose label or key contains the text, exact identifier matches first.
fn find(store: &Store, text: &str, limit: usize) -> Result<Vec<(EntityId, EntityRecord)>> {
    let mut out: Vec<(EntityId, EntityRecord)> = Vec::new();
    if let Some(id) = resolve(store, text)? {
        if let Some(rec) = store.entity(id)? {
            out.push((id, rec));
        }
    }
    let needle = text.trim().to_lowercase();
    let digits: String = crate::model::ident::to_half_width(text)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if needle.is_empty() {
        return Ok(out);
    }
    let mut hits: Vec<(u8, EntityId, EntityRecord)> = Vec::new();
    store.scan_entities(EntityId(0), EntityId(u64::MAX), |id, rec| {
        let label = rec.label.as_deref().unwrap_or("").to_lowercase();
        let rank = if !label.is_empty() && label == needle {
            0
        } else if !label.is_empty() && label.contains(&needle) {
            1
        } else if rec.key.to_lowercase().contains(&needle)
            || (digits.len() >= 4 && rec.key.contains(&digits))
        {
            2
        } else {
            return;
        };
        if hits.len() < limit * 20 {
            hits.push((rank, id, rec));
        }
    })?;
    hits.sort_by_key(|(r, id, _)| (*r, *id));
    for (_, id, rec) in hits {
        if out.len() >= limit {
            break;
        }
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, rec));
        }
    }
    Ok(out)
}

fn near_matches(store: &Store, text: &str, limit: usize) -> Result<Vec<String>> {
    let mut probes = vec![text.to_string()];
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() > 6 {
        probes.push(digits[digits.len() - 6..].to_string());
        probes.push(digits[..6].to_string());
    }
    let mut out = Vec::new();
    for p in probes {
        for (_, rec) in find(store, &p, limit)? {
            let r = format!("{}:{}", rec.kind, rec.key);
            if !out.contains(&r) && out.len() < limit {
                out.push(r);
            }
        }
    }
    Ok(out)
}

pub fn search(a: &SearchArgs) -> Result<()> {
    let store = open_existing(&a.db.db)?;
    let hits = find(&store, &a.text, a.limit)?;
    if a.json {
        return print_json(
            &json!({"query": a.text, "results": hits.iter().map(|(_, r)| entity_json(r)).collect::<Vec<_>>()}),
        );
    }
    let mut out = std::io::stdout().lock();
    if hits.is_empty() {
        writeln!(out, "nothing matches {:?}", a.text)?;
    }
    for (_, r) in hits {
        writeln!(
            out,
            "{:<8} {:<40} {}",
            r.kind.as_str(),
            format!("{}:{}", r.kind, r.key),
            r.label.unwrap_or_default()
        )?;
    }
    Ok(())
}

pub fn check(a: &CheckArgs) -> Result<()> {
    let store = open_existing(&a.db.db)?;
    let rep = store.check()?;
    let digest = if a.digest {
        Some(store.digest()?)
    } else {
        None
    };
    if a.json {
        print_json(&json!({
            "sound": rep.is_sound(), "entities": rep.entities, "identifiers": rep.idents,
            "links": rep.links, "evidence": rep.evidence, "problem_count": rep.problem_count, "problems": rep.problems,
            "digest": digest.as_ref().map(|d| d.hex.clone()),
        }))?;
    } else {
        println!(
            "entities {}, identifiers {}, links {}, evidence {}",
            rep.entities, rep.idents, rep.links, rep.evidence
        );
        for p in &rep.problems {
            println!("problem: {p}");
        }
        if let Some(d) = &digest {
            println!("digest {}", d.hex);
        }
    }
    if !rep.is_sound() {
        bail!("the store has {} problems", rep.problem_count);
    }
    if !a.json {
        println!("the store is sound");
    }
    Ok(())
}
