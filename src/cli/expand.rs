//! `expand`, `path`, `trace`: lead expansion with ranked, explained leads; paths between two
//! entities; money-flow tracing. Each opens the store read-only, builds the snapshot, runs the
//! algorithm and prints a table or, with `--json`, one JSON document.

use super::{print_json, DbArg};
use crate::algo::expand::{expand, ExpandConfig, HubPolicy, LinkFilter};
use crate::algo::paths::{k_shortest_paths, PathConfig};
use crate::algo::rank::{rank, PathStep, RankConfig};
use crate::algo::trace::{trace, Sink, TraceConfig, Unit};
use crate::model::ident::interpretations;
use crate::model::time::{parse_time, BeijingTime, Yuan};
use crate::model::{EntityKind, LinkKind, Timestamp};
use crate::snapshot::transfers::{AggregateTransfers, FlowDirection, StoreTransfers};
use crate::snapshot::{Ix, Snapshot};
use crate::store::{LinkKey, Store};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ExpandArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// A seed: a canonical reference, an identifier as written (phone, ID, card…), or a unique name.
    #[arg(long = "seed", required = true)]
    pub seeds: Vec<String>,
    /// Hops from the seeds (a person and the phones and accounts they hold count as one).
    #[arg(long, default_value_t = 3)]
    pub hops: u32,
    /// Leads shown.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only these link kinds (comma-separated: call,transfer,owns,…).
    #[arg(long, value_delimiter = ',')]
    pub links: Vec<String>,
    /// Only enter these entity kinds (comma-separated: person,phone,account,…).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Only links active after this time (`YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[arg(long)]
    pub since: Option<String>,
    /// Only links active before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Minimum records on a call, message or transfer link.
    #[arg(long, default_value_t = 0)]
    pub min_count: u32,
    /// Minimum total of a transfer link, in yuan.
    #[arg(long, default_value_t = 0)]
    pub min_amount: i64,
    /// Degree from which an entity is a hub (default: from the degree distribution).
    #[arg(long)]
    pub hub_degree: Option<usize>,
    /// At most this many entities reached.
    #[arg(long, default_value_t = 200_000)]
    pub max_nodes: usize,
    /// Explanation paths per lead.
    #[arg(long, default_value_t = 3)]
    pub paths: usize,
    /// Evidence records shown per path step (read from the store).
    #[arg(long, default_value_t = 2)]
    pub evidence: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PathArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// One end: a reference, an identifier as written, or a unique name.
    pub from: String,
    /// The other end.
    pub to: String,
    /// Paths wanted.
    #[arg(long, default_value_t = 3)]
    pub k: usize,
    /// Links a path may have at most.
    #[arg(long, default_value_t = 6)]
    pub max_len: u32,
    /// Allow paths through hubs (hotlines, clearing accounts, very high degree).
    #[arg(long)]
    pub through_hubs: bool,
    /// Evidence records shown per step.
    #[arg(long, default_value_t = 2)]
    pub evidence: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The account (or wallet) to start from.
    pub account: String,
    /// Where the money went (default).
    #[arg(long, conflicts_with = "backward")]
    pub forward: bool,
    /// Where the money came from.
    #[arg(long)]
    pub backward: bool,
    #[arg(long, default_value_t = 6)]
    pub hops: u32,
    /// Follow the money this many days past the start account's last traced transfer (backward:
    /// before its first); 0 = no limit.
    #[arg(long, default_value_t = 7)]
    pub window_days: i64,
    /// A holder's USDT payment counts as the counter-value of yuan left at their account at
    /// most this many days after the yuan arrived; 0 = no limit.
    #[arg(long, default_value_t = 45)]
    pub settle_days: i64,
    /// Trace only the start account's transfers from this time (`YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub until: Option<String>,
    /// Flows below this many yuan are not followed.
    #[arg(long, default_value_t = 1)]
    pub min_amount: i64,
    /// Use the snapshot's per-link aggregates instead of each transaction from the store.
    #[arg(long)]
    pub aggregates: bool,
    /// Rows shown per table (flow edges, conversions, end accounts, held).
    #[arg(long, default_value_t = 40)]
    pub limit: usize,
    /// Evidence records shown per flow edge (source file and line, time, transaction id).
    #[arg(long, default_value_t = 1)]
    pub evidence: usize,
    #[arg(long)]
    pub json: bool,
}

fn open(db: &Path) -> Result<(Store, Snapshot, f64)> {
    let store = Store::open_read_only(db)
        .with_context(|| format!("opening the store at {}", db.display()))?;
    let t = Instant::now();
    let (snap, _) = Snapshot::build(&store, 0).context("building the snapshot")?;
    Ok((store, snap, t.elapsed().as_secs_f64()))
}

/// Resolves what a user typed: a reference or identifier in any writing, a free key, or a unique name.
pub fn resolve(snap: &Snapshot, typed: &str) -> Result<Ix> {
    for n in interpretations(typed) {
        if let Some(ix) = snap.lookup(n.kind, &n.key) {
            return Ok(ix);
        }
    }
    for kind in [EntityKind::Person, EntityKind::Place, EntityKind::Org] {
        if let Some(ix) = snap.lookup(kind, typed.trim()) {
            return Ok(ix);
        }
    }
    let near = snap.search(typed, 8);
    let exact: Vec<Ix> = near
        .iter()
        .copied()
        .filter(|&v| snap.node(v).label == Some(typed.trim()))
        .collect();
    if exact.len() == 1 {
        return Ok(exact[0]);
    }
    if near.is_empty() {
        bail!("no entity matches {typed:?}");
    }
    let list: Vec<String> = near
        .iter()
        .map(|&v| {
            let n = snap.node(v);
            match n.label {
                Some(l) => format!("  {} ({l})", snap.reference(v)),
                None => format!("  {}", snap.reference(v)),
            }
        })
        .collect();
    bail!(
        "no entity is exactly {typed:?}; near matches:\n{}",
        list.join("\n")
    )
}

fn parse_opt_time(s: &Option<String>) -> Result<Option<Timestamp>> {
    s.as_deref()
        .map(|t| parse_time(t).map_err(|e| anyhow::anyhow!("bad time {t:?}: {e}")))
        .transpose()
}

fn window(
    since: &Option<String>,
    until: &Option<String>,
) -> Result<Option<(Timestamp, Timestamp)>> {
    let (a, b) = (parse_opt_time(since)?, parse_opt_time(until)?);
    Ok(if a.is_none() && b.is_none() {
        None
    } else {
        Some((a.unwrap_or(Timestamp::MIN), b.unwrap_or(Timestamp::MAX)))
    })
}

fn entity_json(snap: &Snapshot, v: Ix) -> Value {
    let n = snap.node(v);
    json!({
        "ref": snap.reference(v),
        "kind": n.kind.as_str(),
        "label": n.label,
        "roles": n.roles.names().collect::<Vec<_>>(),
        "flags": n.flags.names().collect::<Vec<_>>(),
    })
}

fn time_text(t: Timestamp) -> Option<String> {
    (t != Timestamp::MIN && t != Timestamp::MAX).then(|| BeijingTime(t).to_string())
}

/// A path step as JSON, with up to `evidence` records read from the store.
fn step_json(store: &Store, snap: &Snapshot, s: &PathStep, evidence: usize) -> Value {
    let l = snap.link(s.link);
    let mut v = json!({
        "from": snap.reference(s.from),
        "to": snap.reference(s.to),
        "kind": snap.link_kind_name(l.kind),
        "direction": if s.forward { "forward" } else { "backward" },
        "count": l.count,
        "first": if l.has_time() { time_text(l.first) } else { None },
        "last": if l.has_time() { time_text(l.last) } else { None },
    });
    match l.kind {
        LinkKind::TRANSFER => v["amount_yuan"] = json!(Yuan(l.total).to_string()),
        LinkKind::CALL => v["duration_s"] = json!(l.total),
        _ => {}
    }
    if evidence > 0 {
        let key = LinkKey {
            src: snap.node(l.src).id,
            kind: l.kind,
            dst: snap.node(l.dst).id,
        };
        let records = store.evidence(&key, evidence).unwrap_or_default();
        v["evidence"] = Value::Array(
            records
                .iter()
                .map(|r| {
                    let src = store.source(r.source).ok().flatten();
                    json!({
                        "source": src.as_ref().map(|s| s.file.clone()),
                        "source_label": src.and_then(|s| s.label),
                        "line": r.line,
                        "time": r.key.time.and_then(time_text),
                        "value": r.value,
                        "record_id": r.record_id,
                        "detail": r.detail,
                    })
                })
                .collect(),
        );
    }
    v
}

fn step_text(snap: &Snapshot, s: &PathStep) -> String {
    let l = snap.link(s.link);
    let arrow = if s.forward { "->" } else { "<-" };
    let what = match l.kind {
        LinkKind::TRANSFER => format!(
            "{} ×{} ¥{}",
            snap.link_kind_name(l.kind),
            l.count,
            Yuan(l.total)
        ),
        LinkKind::CALL | LinkKind::SMS => format!("{} ×{}", snap.link_kind_name(l.kind), l.count),
        k => snap.link_kind_name(k).to_string(),
    };
    format!("{arrow}[{what}]{arrow} {}", snap.reference(s.to))
}

fn path_text(snap: &Snapshot, p: &[PathStep]) -> String {
    let mut out = p
        .first()
        .map(|s| snap.reference(s.from))
        .unwrap_or_default();
    for s in p {
        out.push(' ');
        out.push_str(&step_text(snap, s));
    }
    out
}

/// CPU time of all this process's threads so far (Linux: the scheduler's nanosecond counters per
/// thread), so a query's cost can be told apart from the machine's load; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 * 1e-9)
}

pub fn run_expand(a: &ExpandArgs) -> Result<()> {
    let (store, snap, build_s) = open(&a.db.db)?;
    let seeds = a
        .seeds
        .iter()
        .map(|s| resolve(&snap, s))
        .collect::<Result<Vec<Ix>>>()?;
    let filter = crate::server::graph::link_filter(
        &a.links,
        &a.kinds,
        parse_opt_time(&a.since)?,
        parse_opt_time(&a.until)?,
        a.min_count,
        a.min_amount.saturating_mul(100),
    )
    .map_err(anyhow::Error::msg)?;
    let mut cfg = ExpandConfig::standard(seeds);
    cfg.hops = a.hops;
    cfg.filter = filter;
    cfg.hubs = HubPolicy {
        degree: a.hub_degree,
        ..HubPolicy::standard()
    };
    cfg.max_nodes = a.max_nodes;
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let exp = expand(&snap, &cfg)?;
    let mut rc = RankConfig::standard(a.limit);
    rc.paths_per_lead = a.paths;
    let ranking = rank(&snap, &exp, &rc);
    let query_s = t.elapsed().as_secs_f64();
    let query_cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let stats = json!({
        "reached": exp.len(),
        "per_hop": exp.stats.per_hop,
        "steps": exp.stats.steps.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>(),
        "hub_threshold": exp.stats.hub_threshold,
        "hubs_stopped": exp.stats.hubs_stopped,
        "truncated": exp.stats.truncated,
        "hop_limit_reached": exp.stats.hop_limit_reached,
        "candidates": ranking.candidates,
        "core_persons": ranking.core,
        "widened": ranking.widened,
        "expand_seconds": exp.stats.seconds,
        "rank_seconds": ranking.seconds,
        "rank_phases": ranking.phases.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "query_seconds": query_s,
        "query_cpu_seconds": query_cpu,
        "snapshot_seconds": build_s,
        "snapshot_nodes": snap.node_count(),
        "snapshot_links": snap.link_count(),
    });
    if a.json {
        let leads: Vec<Value> = ranking
            .leads
            .iter()
            .map(|l| {
                let mut v = entity_json(&snap, l.ix);
                v["score"] = json!(l.score);
                v["hops"] = json!(l.hops);
                v["components"] = Value::Object(
                    l.components
                        .iter()
                        .map(|(k, x)| ((*k).to_string(), json!(x)))
                        .collect(),
                );
                v["reasons"] = json!(l.reasons);
                v["paths"] = Value::Array(
                    l.paths
                        .iter()
                        .map(|p| {
                            Value::Array(
                                p.iter()
                                    .map(|s| step_json(&store, &snap, s, a.evidence))
                                    .collect(),
                            )
                        })
                        .collect(),
                );
                v
            })
            .collect();
        let hubs: Vec<Value> = exp
            .hubs
            .iter()
            .map(|h| {
                let mut v = entity_json(&snap, h.ix);
                v["degree"] = json!(h.degree);
                v["hop"] = json!(h.hop);
                v["reason"] = json!(h.reason.as_str());
                v
            })
            .collect();
        let seeds: Vec<Value> = exp.seeds.iter().map(|&s| entity_json(&snap, s)).collect();
        return print_json(&json!({"seeds": seeds, "leads": leads, "hubs": hubs, "stats": stats}));
    }
    let mut out = std::io::stdout().lock();
    for &s in &exp.seeds {
        writeln!(
            out,
            "seed {}  {}",
            snap.reference(s),
            snap.node(s).label.unwrap_or("")
        )?;
    }
    writeln!(
        out,
        "reached {} entities {:?} by hop, {} hubs not expanded{}{}; query {:.3} s (snapshot {:.2} s)",
        exp.len(),
        exp.stats.per_hop,
        exp.hubs.len(),
        if exp.stats.truncated { ", CAPPED at --max-nodes" } else { "" },
        if exp.stats.hop_limit_reached { ", more beyond --hops" } else { "" },
        query_s,
        build_s
    )?;
    writeln!(
        out,
        "\n{:>4}  {:>6}  {:>3}  {:<40} {:<12} reasons",
        "#", "score", "hop", "lead", "label"
    )?;
    for (i, l) in ranking.leads.iter().enumerate() {
        let n = snap.node(l.ix);
        writeln!(
            out,
            "{:>4}  {:>6.3}  {:>3}  {:<40} {:<12} {}",
            i + 1,
            l.score,
            l.hops,
            snap.reference(l.ix),
            n.label.unwrap_or(""),
            l.reasons.join("; ")
        )?;
        if let Some(p) = l.paths.first() {
            writeln!(out, "{:>20}via {}", "", path_text(&snap, p))?;
        }
    }
    if !exp.hubs.is_empty() {
        writeln!(out, "\nhubs (not expanded):")?;
        for h in exp.hubs.iter().take(20) {
            writeln!(
                out,
                "  {}  degree {}  {}",
                snap.reference(h.ix),
                h.degree,
                h.reason.as_str()
            )?;
        }
    }
    Ok(())
}

pub fn run_path(a: &PathArgs) -> Result<()> {
    let (store, snap, _) = open(&a.db.db)?;
    let from = resolve(&snap, &a.from)?;
    let to = resolve(&snap, &a.to)?;
    let found = k_shortest_paths(
        &snap,
        &PathConfig {
            from,
            to,
            k: a.k,
            max_len: a.max_len,
            through_hubs: a.through_hubs,
            filter: LinkFilter::all(),
        },
    )?;
    if a.json {
        let paths: Vec<Value> = found
            .iter()
            .map(|p| {
                json!({
                    "cost": p.cost,
                    "length": p.steps.len(),
                    "steps": p.steps.iter().map(|s| step_json(&store, &snap, s, a.evidence)).collect::<Vec<_>>(),
                })
            })
            .collect();
        return print_json(&json!({
            "from": entity_json(&snap, from),
            "to": entity_json(&snap, to),
            "paths": paths,
        }));
    }
    let mut out = std::io::stdout().lock();
    if found.is_empty() {
        writeln!(
            out,
            "no path of at most {} links{}",
            a.max_len,
            if a.through_hubs {
                ""
            } else {
                " avoiding hubs (try --through-hubs)"
            }
        )?;
    }
    for (i, p) in found.iter().enumerate() {
        writeln!(
            out,
            "{}. cost {:.3}, {} links",
            i + 1,
            p.cost,
            p.steps.len()
        )?;
        writeln!(out, "   {}", path_text(&snap, &p.steps))?;
    }
    Ok(())
}

/// An amount in its unit: `¥1234.50` or `171.46 USDT`.
fn money(amount: i64, unit: Unit) -> String {
    match unit {
        Unit::Cny => format!("¥{}", Yuan(amount)),
        Unit::Usdt => format!("{} USDT", Yuan(amount)),
    }
}

/// The first `n` evidence records of a link: `file:line time amount`.
fn evidence_json(store: &Store, snap: &Snapshot, link: u32, n: usize) -> Vec<Value> {
    if n == 0 {
        return Vec::new();
    }
    let l = snap.link(link);
    let key = LinkKey {
        src: snap.node(l.src).id,
        kind: l.kind,
        dst: snap.node(l.dst).id,
    };
    store
        .evidence(&key, n)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let src = store.source(r.source).ok().flatten();
            json!({
                "source": src.as_ref().map(|s| s.file.clone()),
                "line": r.line,
                "time": r.key.time.and_then(time_text),
                "value": r.value,
                "record_id": r.record_id,
            })
        })
        .collect()
}

pub fn run_trace(a: &TraceArgs) -> Result<()> {
    let (store, snap, _) = open(&a.db.db)?;
    let account = resolve(&snap, &a.account)?;
    let days = |d: i64| (d > 0).then(|| d.saturating_mul(86_400));
    let cfg = TraceConfig {
        account,
        direction: if a.backward {
            FlowDirection::Backward
        } else {
            FlowDirection::Forward
        },
        hops: a.hops,
        window: window(&a.since, &a.until)?,
        horizon: days(a.window_days),
        settle: days(a.settle_days),
        min_amount: a.min_amount.saturating_mul(100),
        max_edges: 100_000,
    };
    let t = if a.aggregates {
        trace(&snap, &AggregateTransfers { snap: &snap }, &cfg)?
    } else {
        let src = StoreTransfers::new(&snap, &store, 100_000);
        let t = trace(&snap, &src, &cfg)?;
        if let Some(e) = src.take_error() {
            eprintln!(
                "warning: some evidence could not be read ({e}); those links used aggregates"
            );
        }
        t
    };
    let sink_json = |s: &Sink| {
        json!({
            "account": entity_json(&snap, s.account),
            "amount": Yuan(s.amount).to_string(),
            "amount_minor": s.amount,
            "unit": s.unit.as_str(),
            "reason": s.reason.as_str(),
            "depth": s.depth,
            "owners": s.owners.iter().map(|&p| entity_json(&snap, p)).collect::<Vec<_>>(),
        })
    };
    let totals = t.totals();
    if a.json {
        return print_json(&json!({
            "account": entity_json(&snap, account),
            "direction": if a.backward { "backward" } else { "forward" },
            "start_amount": Yuan(t.start_amount).to_string(),
            "start_amount_minor": t.start_amount,
            "unit": t.unit.as_str(),
            "start_time": time_text(t.start_time),
            "totals": totals.iter().map(|u| json!({
                "unit": u.unit.as_str(),
                "traced": u.traced,
                "created": u.created,
                "ends": u.ends,
                "held": u.held,
                "converted": u.converted,
            })).collect::<Vec<_>>(),
            "accounts_read": t.accounts_read,
            "truncated": t.truncated,
            "edges": t.edges.iter().map(|e| json!({
                "from": snap.reference(e.from),
                "to": snap.reference(e.to),
                "first": time_text(e.first),
                "last": time_text(e.last),
                "amount": Yuan(e.amount).to_string(),
                "transferred": Yuan(e.transferred).to_string(),
                "unit": e.unit.as_str(),
                "records": e.records,
                "depth": e.depth,
                "evidence": evidence_json(&store, &snap, e.link, a.evidence),
            })).collect::<Vec<_>>(),
            "conversions": t.conversions.iter().map(|c| json!({
                "holder": entity_json(&snap, c.holder),
                "account": snap.reference(c.account),
                "wallet": snap.reference(c.wallet),
                "cny": Yuan(c.cny).to_string(),
                "usdt": Yuan(c.usdt).to_string(),
                "rate_cny_per_usdt": rate(c.rate_cny, c.rate_usdt),
                "desk_cny": Yuan(c.rate_cny).to_string(),
                "desk_usdt": Yuan(c.rate_usdt).to_string(),
                "first": time_text(c.first),
                "last": time_text(c.last),
                "depth": c.depth,
            })).collect::<Vec<_>>(),
            "sinks": t.sinks.iter().map(sink_json).collect::<Vec<_>>(),
            "held": t.held.iter().map(sink_json).collect::<Vec<_>>(),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} {} {} {} ({} ledgers read)",
        if a.backward { "traced back" } else { "traced" },
        money(t.start_amount, t.unit),
        if a.backward { "to" } else { "from" },
        snap.reference(account),
        t.accounts_read
    )?;
    for u in &totals {
        if u.traced + u.created == 0 {
            continue;
        }
        writeln!(
            out,
            "  {}: {} traced{} = {} at the ends + {} held on the way{}",
            u.unit.as_str(),
            money(u.traced + u.created, u.unit),
            if u.created > 0 {
                " (from conversions)"
            } else {
                ""
            },
            money(u.ends, u.unit),
            money(u.held, u.unit),
            if u.converted > 0 {
                format!(" + {} converted", money(u.converted, u.unit))
            } else {
                String::new()
            }
        )?;
    }
    writeln!(
        out,
        "\nflow ({} edges{}):",
        t.edges.len(),
        if t.truncated { ", truncated" } else { "" }
    )?;
    for e in t.edges.iter().take(a.limit) {
        writeln!(
            out,
            "{:indent$}{} -> {}  {} of {} in {}  {}",
            "",
            snap.reference(e.from),
            snap.reference(e.to),
            money(e.amount, e.unit),
            money(e.transferred, e.unit),
            e.records,
            time_text(e.first).unwrap_or_default(),
            indent = 2 * e.depth as usize
        )?;
        for r in evidence_json(&store, &snap, e.link, a.evidence) {
            writeln!(
                out,
                "{:indent$}  evidence: {}:{} {} {}",
                "",
                r["source"].as_str().unwrap_or("?"),
                r["line"],
                r["time"].as_str().unwrap_or(""),
                r["record_id"].as_str().unwrap_or(""),
                indent = 2 * e.depth as usize
            )?;
        }
    }
    let person_text = |p: Ix| {
        let n = snap.node(p);
        let roles: Vec<&str> = n.roles.names().collect();
        format!(
            "{} {}{}",
            snap.reference(p),
            n.label.unwrap_or(""),
            if roles.is_empty() {
                String::new()
            } else {
                format!(" [{}]", roles.join(","))
            }
        )
    };
    if !t.conversions.is_empty() {
        writeln!(
            out,
            "\nconversions (yuan left at an account, USDT its holder's wallet paid):"
        )?;
        for c in t.conversions.iter().take(a.limit) {
            writeln!(
                out,
                "  {} => {}  {} -> {}  at {} CNY/USDT (the holder's records: {} for {}), {} … {}\n    holder {}",
                snap.reference(c.account),
                snap.reference(c.wallet),
                money(c.cny, Unit::Cny),
                money(c.usdt, Unit::Usdt),
                rate(c.rate_cny, c.rate_usdt),
                money(c.rate_cny, Unit::Cny),
                money(c.rate_usdt, Unit::Usdt),
                time_text(c.first).unwrap_or_default(),
                time_text(c.last).unwrap_or_default(),
                person_text(c.holder)
            )?;
        }
    }
    for (title, list) in [
        (
            if a.backward {
                "origins"
            } else {
                "end accounts and wallets"
            },
            &t.sinks,
        ),
        ("held on the way", &t.held),
    ] {
        writeln!(out, "\n{title}:")?;
        for s in list.iter().take(a.limit) {
            let names: Vec<String> = s.owners.iter().map(|&p| person_text(p)).collect();
            writeln!(
                out,
                "  {:>20}  {:<40} {:<16} {}",
                money(s.amount, s.unit),
                snap.reference(s.account),
                s.reason.as_str(),
                names.join(", ")
            )?;
        }
        if list.len() > a.limit {
            writeln!(out, "  … {} more", list.len() - a.limit)?;
        }
    }
    Ok(())
}

/// Yuan per USDT, four decimals.
fn rate(cny: i64, usdt: i64) -> String {
    if usdt <= 0 {
        return "-".into();
    }
    format!("{:.4}", cny as f64 / usdt as f64)
}
