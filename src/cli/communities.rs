//! `fraudnet communities`: run community detection on the store's snapshot and keep the run
//! (`--list`, `--compare A B`, `--report RUN` read the kept runs). The work is the library's
//! (`algo::community`, `algo::report`, `store` runs); this file parses and formats.

use super::{print_json, DbArg};
use crate::algo::community::{self, compare, Previous, DEFAULT_MAX_HOLDERS};
use crate::model::run::{
    Algo, CommunitySummary, GraphKind, GroupParams, Run, RunInfo, RunParams, Weighting,
};
use crate::model::time::{BeijingTime, Yuan};
use crate::model::Roles;
use crate::server::runs::{describe, groups_json, info_json, run_json};
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgoArg {
    Leiden,
    Louvain,
    Lpa,
    Wcc,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphArg {
    /// Persons linked through shared identifiers, calls, money and relations.
    Person,
    /// Every entity and link.
    Entity,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightingArg {
    /// Evidence of working together: shared identifiers and handsets, stated associations and
    /// co-travel in full; calls, messages and transfers at a fifth; kinship, and calls between
    /// relatives, not at all.
    Operational,
    /// Every tie at its evidence strength, kinship and contact included.
    Evidence,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args, Debug)]
pub struct CommunitiesArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[arg(long, value_enum, default_value = "leiden")]
    pub algo: AlgoArg,
    /// Modularity resolution γ (Leiden, Louvain): larger gives smaller communities.
    #[arg(long, default_value_t = 1.0, value_parser = super::positive)]
    pub resolution: f64,
    /// Seed of every random choice (same seed, same result on any number of threads).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The graph to partition.
    #[arg(long, value_enum, default_value = "person")]
    pub graph: GraphArg,
    /// Identifiers held by more persons than this tie nobody (person graph).
    #[arg(long, default_value_t = DEFAULT_MAX_HOLDERS)]
    pub max_holders: u32,
    /// How the person graph weighs its ties.
    #[arg(long, value_enum, default_value = "operational")]
    pub weighting: WeightingArg,
    /// List the stored runs.
    #[arg(long, conflicts_with_all = ["compare", "report"])]
    pub list: bool,
    /// Compare two stored runs: what persisted, split, merged, appeared, vanished.
    #[arg(long, num_args = 2, value_names = ["RUN1", "RUN2"], conflicts_with = "report")]
    pub compare: Option<Vec<u32>>,
    /// Print the report of a stored run (a number or `latest`).
    #[arg(long, value_name = "RUN")]
    pub report: Option<String>,
    /// Report format (`--json` is `--format json`).
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    #[arg(long)]
    pub json: bool,
    /// Leave the member lists out of JSON and CSV.
    #[arg(long)]
    pub no_members: bool,
    /// Communities shown in the table.
    #[arg(long, default_value_t = 15)]
    pub limit: usize,
    /// Linked groups: sub-communities are sets of members this many times denser than their
    /// community.
    #[arg(long, default_value_t = GroupParams::STANDARD.part_density, value_parser = super::positive)]
    pub part_density: f64,
    /// Linked groups: sub-communities are joined while the ties between them are at least this
    /// many times as dense as their community.
    #[arg(long, default_value_t = GroupParams::STANDARD.link_density, value_parser = super::positive)]
    pub link_density: f64,
}

fn format(a: &CommunitiesArgs) -> FormatArg {
    if a.json {
        FormatArg::Json
    } else {
        a.format
    }
}

pub fn run(a: &CommunitiesArgs) -> Result<()> {
    if a.list {
        let store = open_ro(&a.db.db)?;
        return list(&store, format(a));
    }
    if let Some(ids) = &a.compare {
        let store = open_ro(&a.db.db)?;
        return compare_runs(&store, ids[0], ids[1], format(a));
    }
    if let Some(r) = &a.report {
        let store = open_ro(&a.db.db)?;
        let id = run_number(&store, r)?;
        let run = store
            .run(id)
            .context("reading the run")?
            .with_context(|| format!("no community run {id}"))?;
        return print_report(&store, &run, format(a), !a.no_members, a.limit);
    }
    let params = RunParams {
        algo: match a.algo {
            AlgoArg::Leiden => Algo::Leiden,
            AlgoArg::Louvain => Algo::Louvain,
            AlgoArg::Lpa => Algo::Lpa,
            AlgoArg::Wcc => Algo::Wcc,
        },
        resolution: a.resolution,
        seed: a.seed,
        graph: match a.graph {
            GraphArg::Person => GraphKind::Person,
            GraphArg::Entity => GraphKind::Entity,
        },
        max_holders: a.max_holders,
        weighting: match a.weighting {
            WeightingArg::Operational => Weighting::Operational,
            WeightingArg::Evidence => Weighting::Evidence,
        },
        groups: Some(GroupParams {
            part_density: a.part_density,
            link_density: a.link_density,
        }),
    };
    let store = Store::open(&a.db.db)
        .with_context(|| format!("opening the store at {}", a.db.db.display()))?;
    let (run, snap_s) = run_on_store(&store, &params)?;
    if format(a) == FormatArg::Table {
        eprintln!(
            "snapshot {snap_s:.1} s, run {:.1} s; run {} written",
            run.info.seconds, run.info.id
        );
    }
    print_report(&store, &run, format(a), !a.no_members, a.limit)
}

/// Builds the snapshot, runs detection with ids matched to the latest run, writes the run. Returns
/// it with the snapshot's build time. Used by `communities` and `demo`.
pub fn run_on_store(store: &Store, params: &RunParams) -> Result<(Run, f64)> {
    let t = Instant::now();
    let (snap, _) = Snapshot::build(store, 0).context("building the snapshot")?;
    let snap_s = t.elapsed().as_secs_f64();
    let latest = store.latest_run().context("reading the runs")?;
    let id = latest.as_ref().map_or(1, |r| r.id + 1);
    let prev_members = match &latest {
        Some(r) => Some(store.run_membership(r.id).context("reading the last run")?),
        None => None,
    };
    let previous = match (&latest, &prev_members) {
        (Some(r), Some(m)) => Some(Previous {
            membership: m,
            next_community: r.next_community,
        }),
        _ => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (run, _) =
        community::run(&snap, params, id, now, previous).context("community detection")?;
    store.put_run(&run).context("writing the run")?;
    Ok((run, snap_s))
}

/// `processes×workers` of a cluster run, empty for a run on one machine.
fn shape(r: &RunInfo) -> String {
    r.cluster
        .map_or_else(String::new, |c| format!("{}×{}", c.processes, c.workers))
}

fn open_ro(db: &Path) -> Result<Store> {
    Store::open_read_only(db).with_context(|| format!("opening the store at {}", db.display()))
}

fn run_number(store: &Store, text: &str) -> Result<u32> {
    if text.trim() == "latest" {
        return Ok(store
            .latest_run()?
            .context("no community run yet: run `fraudnet communities`")?
            .id);
    }
    text.trim()
        .parse()
        .with_context(|| format!("a run is a number or `latest` (got {text:?})"))
}

fn list(store: &Store, f: FormatArg) -> Result<()> {
    let runs = store.runs().context("reading the runs")?;
    match f {
        FormatArg::Json => {
            print_json(&json!({ "runs": runs.iter().map(info_json).collect::<Vec<_>>() }))
        }
        FormatArg::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record([
                "run",
                "time",
                "algo",
                "graph",
                "resolution",
                "seed",
                "modularity",
                "communities",
                "entities",
                "links",
                "seconds",
                "cluster",
            ])?;
            for r in &runs {
                w.write_record([
                    r.id.to_string(),
                    BeijingTime(r.time).to_string(),
                    r.params.algo.as_str().to_string(),
                    r.params.graph.as_str().to_string(),
                    r.params.resolution.to_string(),
                    r.params.seed.to_string(),
                    format!("{:.4}", r.modularity),
                    r.communities.to_string(),
                    r.entities.to_string(),
                    r.links.to_string(),
                    format!("{:.2}", r.seconds),
                    shape(r),
                ])?;
            }
            w.flush()?;
            Ok(())
        }
        FormatArg::Table => {
            let mut out = std::io::stdout().lock();
            if runs.is_empty() {
                writeln!(out, "no community runs yet: run `fraudnet communities`")?;
            }
            writeln!(
                out,
                "{:>4}  {:<19}  {:<8} {:<6} {:>5} {:>6}  {:>10} {:>11} {:>9} {:>7}  cluster",
                "run",
                "time (Beijing)",
                "algo",
                "graph",
                "γ",
                "seed",
                "modularity",
                "communities",
                "entities",
                "seconds"
            )?;
            for r in &runs {
                writeln!(
                    out,
                    "{:>4}  {:<19}  {:<8} {:<6} {:>5} {:>6}  {:>10.4} {:>11} {:>9} {:>7.1}  {}",
                    r.id,
                    BeijingTime(r.time).to_string(),
                    r.params.algo.as_str(),
                    r.params.graph.as_str(),
                    r.params.resolution,
                    r.params.seed,
                    r.modularity,
                    r.communities,
                    r.entities,
                    r.seconds,
                    shape(r)
                )?;
            }
            Ok(())
        }
    }
}

fn compare_runs(store: &Store, a: u32, b: u32, f: FormatArg) -> Result<()> {
    for id in [a, b] {
        if store.run_info(id)?.is_none() {
            bail!("no community run {id}");
        }
    }
    let c = compare(&store.run_membership(a)?, &store.run_membership(b)?);
    let parts = |v: &[(u32, u32)]| -> Value {
        json!(v
            .iter()
            .map(|&(id, n)| json!({"community": id, "members": n}))
            .collect::<Vec<_>>())
    };
    let v = json!({
        "from": a,
        "to": b,
        "min_size": community::COMPARE_MIN_SIZE,
        "common_members": c.common,
        "moved_members": c.moved,
        "persisted": c.persisted.iter().map(|&(id, s1, s2, both)| json!({"community": id, "size_before": s1, "size_after": s2, "members_kept": both})).collect::<Vec<_>>(),
        "split": c.split.iter().map(|(id, p)| json!({"community": id, "into": parts(p)})).collect::<Vec<_>>(),
        "merged": c.merged.iter().map(|(id, p)| json!({"community": id, "from": parts(p)})).collect::<Vec<_>>(),
        "appeared": parts(&c.appeared),
        "vanished": parts(&c.vanished),
    });
    if f != FormatArg::Table {
        return print_json(&v);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "run {a} → run {b} (communities of {}+ members): {} persisted, {} split, {} merged, {} appeared, {} vanished; {} of {} members moved",
        community::COMPARE_MIN_SIZE,
        c.persisted.len(),
        c.split.len(),
        c.merged.len(),
        c.appeared.len(),
        c.vanished.len(),
        c.moved,
        c.common
    )?;
    let show = |v: &[(u32, u32)]| -> String {
        v.iter()
            .map(|(id, n)| format!("#{id} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (id, p) in c.split.iter().take(20) {
        writeln!(out, "  split   #{id} → {}", show(p))?;
    }
    for (id, p) in c.merged.iter().take(20) {
        writeln!(out, "  merged  {} → #{id}", show(p))?;
    }
    let mut changed: Vec<_> = c
        .persisted
        .iter()
        .filter(|p| p.1 != p.3 || p.2 != p.3)
        .collect();
    changed.sort_unstable_by_key(|p| std::cmp::Reverse(p.1.max(p.2)));
    for &&(id, s1, s2, both) in changed.iter().take(20) {
        writeln!(out, "  changed #{id}: {s1} → {s2} members, {both} kept")?;
    }
    let mut big = c.appeared.clone();
    big.sort_unstable_by_key(|x| std::cmp::Reverse(x.1));
    if !big.is_empty() {
        writeln!(out, "  appeared {}", show(&big[..big.len().min(20)]))?;
    }
    let mut gone = c.vanished.clone();
    gone.sort_unstable_by_key(|x| std::cmp::Reverse(x.1));
    if !gone.is_empty() {
        writeln!(out, "  vanished {}", show(&gone[..gone.len().min(20)]))?;
    }
    Ok(())
}

fn roles_text(c: &CommunitySummary) -> String {
    let mut r: Vec<(u32, &str)> = c
        .roles
        .iter()
        .filter_map(|&(b, n)| Roles::NAMES.get(b as usize).map(|name| (n, *name)))
        .collect();
    r.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    r.iter()
        .map(|(n, name)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_report(store: &Store, run: &Run, f: FormatArg, members: bool, limit: usize) -> Result<()> {
    match f {
        FormatArg::Json => {
            let m = members.then_some(&run.membership);
            let mut v = run_json(store, &run.info, &run.communities, m)?;
            v["groups"] = groups_json(store, &run.groups, members)?;
            print_json(&v)
        }
        FormatArg::Csv => {
            let v = run_json(
                store,
                &run.info,
                &run.communities,
                members.then_some(&run.membership),
            )?;
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            let mut head = vec![
                "run",
                "community",
                "size",
                "roles",
                "money_in_yuan",
                "money_out_yuan",
                "money_inside_yuan",
                "key_people",
                "links",
            ];
            if members {
                head.push("members");
            }
            w.write_record(&head)?;
            for (c, cv) in run
                .communities
                .iter()
                .zip(v["communities"].as_array().into_iter().flatten())
            {
                let keys: Vec<String> = cv["key_people"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| {
                        format!(
                            "{} ({})",
                            k["ref"].as_str().unwrap_or(""),
                            k["why"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                let links: Vec<String> = c
                    .links
                    .iter()
                    .map(|l| format!("{}:{:.1}", l.community, l.weight))
                    .collect();
                let mut row = vec![
                    run.info.id.to_string(),
                    c.id.to_string(),
                    c.size.to_string(),
                    roles_text(c),
                    Yuan(c.money_in).to_string(),
                    Yuan(c.money_out).to_string(),
                    Yuan(c.money_inside).to_string(),
                    keys.join("; "),
                    links.join("; "),
                ];
                if members {
                    let refs: Vec<&str> = cv["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str())
                        .collect();
                    row.push(refs.join(" "));
                }
                w.write_record(&row)?;
            }
            w.flush()?;
            Ok(())
        }
        FormatArg::Table => print_table(store, run, limit),
    }
}

fn print_table(store: &Store, run: &Run, limit: usize) -> Result<()> {
    let (info, cs) = (&run.info, &run.communities[..]);
    let mut out = std::io::stdout().lock();
    let sizes: Vec<u32> = cs.iter().map(|c| c.size).collect();
    let singletons = sizes.iter().filter(|&&s| s == 1).count();
    writeln!(
        out,
        "run {}: {}{} on the {} graph ({} weighting, γ {}, seed {}{}), {} — {} nodes, {} edges, modularity {:.4}",
        info.id,
        info.params.algo.as_str(),
        info.cluster.map_or_else(String::new, |c| format!(
            " (cluster, {} processes × {} workers)",
            c.processes, c.workers
        )),
        info.params.graph.as_str(),
        info.params.weighting.as_str(),
        info.params.resolution,
        info.params.seed,
        info.params.groups.map_or_else(String::new, |g| format!(
            ", linked groups at {}× / {}× the density",
            g.part_density, g.link_density
        )),
        BeijingTime(info.time),
        info.nodes,
        info.edges,
        info.modularity
    )?;
    writeln!(
        out,
        "{} communities ({} of one member); the {} largest:",
        info.communities,
        singletons,
        limit.min(cs.len())
    )?;
    for c in cs.iter().take(limit) {
        writeln!(
            out,
            "\n#{:<6} {} members: {}",
            c.id,
            c.size,
            if c.roles.is_empty() {
                "no roles recorded".to_string()
            } else {
                roles_text(c)
            }
        )?;
        writeln!(
            out,
            "        money ¥ in {} · out {} · inside {}",
            Yuan(c.money_in),
            Yuan(c.money_out),
            Yuan(c.money_inside)
        )?;
        let ids: Vec<_> = c.key_people.iter().map(|k| k.entity).collect();
        for (k, d) in c.key_people.iter().zip(describe(store, &ids)?) {
            let (r, label, roles) = d.unwrap_or_default();
            let roles: Vec<&str> = roles.names().collect();
            writeln!(
                out,
                "        {:<7} {} {}{}  degree {} · PageRank {:.3} · betweenness {:.0} · received ¥{}",
                k.role.as_str(),
                r,
                label,
                if roles.is_empty() { String::new() } else { format!(" [{}]", roles.join(", ")) },
                k.degree,
                k.pagerank,
                k.betweenness,
                Yuan(k.money_in)
            )?;
        }
        if !c.links.is_empty() {
            let l: Vec<String> = c
                .links
                .iter()
                .map(|l| {
                    format!(
                        "#{} ({:.0}{})",
                        l.community,
                        l.weight,
                        if l.money > 0 {
                            format!(", ¥{}", Yuan(l.money))
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            writeln!(out, "        linked to {}", l.join(", "))?;
        }
        for g in run.groups.iter().filter(|g| g.community == c.id).take(3) {
            let ratio = g
                .merges
                .iter()
                .map(|m| m.ratio)
                .fold(f64::INFINITY, f64::min);
            writeln!(
                out,
                "        linked group G{}: {} members in {} sub-communities{}",
                g.id,
                g.members.len(),
                g.parts.len(),
                if g.merges.is_empty() {
                    String::new()
                } else {
                    format!(", weakest join {ratio:.1}× the community's density")
                }
            )?;
        }
    }
    Ok(())
}
