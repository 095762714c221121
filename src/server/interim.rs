//! Interim graph queries for the API until `algo` publishes expansion, paths and tracing:
//! a bounded, filtered breadth-first expansion ranked by evidence-weighted proximity with
//! explanation paths, shortest paths avoiding hubs, and a time-ordered money-flow trace.
//!
//! They are deliberately simple and run on one snapshot without I/O. Each answer says when it
//! hit a bound (`truncated`). When `algo` lands, the handlers call it instead and this module goes.

use crate::model::{EntityKind, Flags, LinkKind, Roles, Timestamp};
use crate::snapshot::{Ix, Link, Snapshot};
use std::collections::{HashMap, HashSet, VecDeque};

/// Filters and bounds of an expansion.
#[derive(Clone, Debug)]
pub struct ExpandConfig {
    pub hops: u32,
    pub limit: usize,
    pub kinds: Option<Vec<EntityKind>>,
    pub link_kinds: Option<Vec<String>>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub min_count: u64,
    pub min_amount_fen: i64,
    /// Entities with more links than this are reported as hubs and not expanded through.
    pub hub_degree: usize,
    /// Entities visited at most (the answer says when the bound was hit).
    pub max_visit: usize,
}

/// One hop of an explanation: a link in the direction walked.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
}

#[derive(Clone, Debug)]
pub struct Lead {
    pub ix: Ix,
    pub score: f64,
    pub hops: u32,
    pub reasons: Vec<String>,
    pub paths: Vec<Vec<Step>>,
}

#[derive(Clone, Debug, Default)]
pub struct Expansion {
    pub leads: Vec<Lead>,
    pub hubs: Vec<Ix>,
    pub visited: usize,
    pub truncated: bool,
    /// Links among the seeds and leads returned (for drawing).
    pub links: Vec<u32>,
}

const MAX_PARENTS: usize = 3;

fn link_ok(snap: &Snapshot, l: &Link, cfg: &ExpandConfig) -> bool {
    if u64::from(l.count) < cfg.min_count {
        return false;
    }
    if cfg.min_amount_fen > 0 && !(l.kind == LinkKind::TRANSFER && l.total >= cfg.min_amount_fen) {
        return false;
    }
    if let Some(kinds) = &cfg.link_kinds {
        let name = snap.link_kind_name(l.kind);
        if !kinds.iter().any(|k| k == name) {
            return false;
        }
    }
    if cfg.from.is_some() || cfg.to.is_some() {
        if !l.has_time() {
            // Registrations and ownership have no time: they stay.
            return !matches!(l.kind, LinkKind::CALL | LinkKind::SMS | LinkKind::TRANSFER);
        }
        if cfg.from.is_some_and(|f| l.last < f) || cfg.to.is_some_and(|t| l.first > t) {
            return false;
        }
    }
    true
}

/// Strength of a link's evidence in (0, 1].
fn strength(l: &Link) -> f64 {
    let c = f64::from(l.count.max(1));
    let base = match l.kind {
        LinkKind::OWNS | LinkKind::USES | LinkKind::DEVICE_OF => 0.9,
        LinkKind::RECRUITED | LinkKind::FINANCED | LinkKind::SMUGGLED | LinkKind::MEMBER_OF => 0.9,
        LinkKind::TRANSFER => 0.6 + 0.1 * ((l.total.max(1) as f64).log10() / 8.0).min(1.0),
        LinkKind::RELATIVE => 0.3,
        _ => 0.5,
    };
    (base * (1.0 + c.ln()) / (1.0 + c.ln() + 1.0)).min(1.0) + 0.1 * base
}

const SIGNAL_ROLES: [&str; 12] = [
    "boss",
    "financier",
    "manager",
    "team_leader",
    "member",
    "recruiter",
    "smuggler",
    "launderer",
    "cash_out",
    "usdt_dealer",
    "card_dealer",
    "returnee",
];

/// Expands from `seeds` breadth-first up to `cfg.hops`, scoring each reached entity by the
/// evidence-weighted walk mass reaching it (split over each node's degree, hubs not crossed),
/// plus investigative signals (flagged roles, foreign numbers, shared devices).
///
/// # Complexity
/// O(V' + E') for the V' entities and E' links visited, bounded by `cfg.max_visit`.
pub fn expand(snap: &Snapshot, seeds: &[Ix], cfg: &ExpandConfig) -> Expansion {
    let mut depth: HashMap<Ix, u32> = HashMap::new();
    let mut parents: HashMap<Ix, Vec<(Ix, u32)>> = HashMap::new();
    let mut mass: HashMap<Ix, f64> = HashMap::new();
    let mut order: Vec<Ix> = Vec::new();
    let mut hubs: Vec<Ix> = Vec::new();
    let mut truncated = false;
    let seed_set: HashSet<Ix> = seeds.iter().copied().collect();
    let mut queue = VecDeque::new();
    for &s in seeds {
        if depth.insert(s, 0).is_none() {
            mass.insert(s, 1.0);
            queue.push_back(s);
        }
    }
    while let Some(v) = queue.pop_front() {
        let d = depth[&v];
        let is_hub = !seed_set.contains(&v) && snap.degree(v) > cfg.hub_degree;
        if is_hub {
            hubs.push(v);
            continue;
        }
        if d >= cfg.hops {
            continue;
        }
        let m = mass.get(&v).copied().unwrap_or(0.0);
        let deg = snap.degree(v).max(1) as f64;
        for (w, l) in snap.all_links(v) {
            let link = snap.link(l);
            if w == v || !link_ok(snap, link, cfg) {
                continue;
            }
            match depth.get(&w) {
                None => {
                    if depth.len() >= cfg.max_visit {
                        truncated = true;
                        continue;
                    }
                    depth.insert(w, d + 1);
                    order.push(w);
                    queue.push_back(w);
                    parents.entry(w).or_default().push((v, l));
                    *mass.entry(w).or_default() += m * strength(link) / deg.sqrt();
                }
                Some(&dw) if dw == d + 1 => {
                    let p = parents.entry(w).or_default();
                    if p.len() < MAX_PARENTS {
                        p.push((v, l));
                    }
                    *mass.entry(w).or_default() += m * strength(link) / deg.sqrt();
                }
                _ => {}
            }
        }
    }
    let hub_set: HashSet<Ix> = hubs.iter().copied().collect();
    let mut leads: Vec<Lead> = order
        .iter()
        .filter(|v| !hub_set.contains(v))
        .filter(|&&v| cfg.kinds.as_ref().is_none_or(|k| k.contains(&snap.kind(v))))
        .map(|&v| {
            let (score, reasons) = signals(snap, v, depth[&v], mass[&v], &depth);
            Lead {
                ix: v,
                score,
                hops: depth[&v],
                reasons,
                paths: explain(v, &parents, &seed_set),
            }
        })
        .collect();
    leads.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ix.cmp(&b.ix)));
    if leads.len() > cfg.limit {
        leads.truncate(cfg.limit);
        truncated = true;
    }
    let shown: HashSet<Ix> = leads
        .iter()
        .map(|l| l.ix)
        .chain(seeds.iter().copied())
        .collect();
    let mut links: Vec<u32> = Vec::new();
    for &v in &shown {
        for (w, l) in snap.out_links(v) {
            if shown.contains(&w) && link_ok(snap, snap.link(l), cfg) {
                links.push(l);
            }
        }
    }
    links.sort_unstable();
    links.truncate(20_000);
    Expansion {
        leads,
        hubs,
        visited: depth.len(),
        truncated,
        links,
    }
}

fn signals(
    snap: &Snapshot,
    v: Ix,
    hops: u32,
    mass: f64,
    reached: &HashMap<Ix, u32>,
) -> (f64, Vec<String>) {
    let mut score = mass;
    let mut reasons = vec![format!(
        "{hops} hop(s) from the seeds, evidence-weighted proximity {mass:.3}"
    )];
    let roles: Roles = snap.roles(v);
    let flagged: Vec<&str> = roles.names().filter(|r| SIGNAL_ROLES.contains(r)).collect();
    if !flagged.is_empty() {
        score *= 1.5;
        reasons.push(format!("flagged: {}", flagged.join(", ")));
    }
    if snap.flags(v).contains(Flags::FOREIGN) {
        score *= 1.3;
        reasons.push("foreign number".to_string());
    }
    // Flagged persons nearby (within the expansion) that share a direct link.
    let near_flagged = snap
        .all_links(v)
        .filter(|(w, _)| {
            reached.contains_key(w) && snap.roles(*w).names().any(|r| SIGNAL_ROLES.contains(&r))
        })
        .count();
    if near_flagged > 0 {
        score *= 1.0 + 0.1 * (near_flagged.min(10) as f64);
        reasons.push(format!(
            "linked to {near_flagged} flagged entities in the expansion"
        ));
    }
    if snap.kind(v) == EntityKind::Device {
        let phones = snap
            .all_links(v)
            .filter(|(w, _)| snap.kind(*w) == EntityKind::Phone)
            .count();
        if phones > 1 {
            score *= 1.2;
            reasons.push(format!("device shared by {phones} numbers"));
        }
    }
    (score, reasons)
}

fn explain(v: Ix, parents: &HashMap<Ix, Vec<(Ix, u32)>>, seeds: &HashSet<Ix>) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let first = parents.get(&v).map(Vec::as_slice).unwrap_or_default();
    for &(p, l) in first.iter().take(MAX_PARENTS) {
        let mut path = vec![Step {
            from: p,
            to: v,
            link: l,
        }];
        let mut cur = p;
        let mut guard = 0;
        while !seeds.contains(&cur) && guard < 64 {
            guard += 1;
            let Some(&(pp, ll)) = parents.get(&cur).and_then(|ps| ps.first()) else {
                break;
            };
            path.push(Step {
                from: pp,
                to: cur,
                link: ll,
            });
            cur = pp;
        }
        path.reverse();
        out.push(path);
    }
    out
}

/// Up to `k` shortest paths (same length, through different last hops) from `a` to `b`, at most
/// `max_len` links, not crossing hubs unless `include_hubs`.
///
/// # Complexity
/// O(V' + E') for the entities within `max_len` of `a`.
pub fn paths(
    snap: &Snapshot,
    a: Ix,
    b: Ix,
    max_len: u32,
    k: usize,
    include_hubs: bool,
    hub_degree: usize,
) -> Vec<Vec<Step>> {
    let mut depth: HashMap<Ix, u32> = HashMap::from([(a, 0)]);
    let mut parents: HashMap<Ix, Vec<(Ix, u32)>> = HashMap::new();
    let mut queue = VecDeque::from([a]);
    while let Some(v) = queue.pop_front() {
        let d = depth[&v];
        if v == b || d >= max_len || (v != a && !include_hubs && snap.degree(v) > hub_degree) {
            continue;
        }
        if depth.get(&b).is_some_and(|&db| d >= db) {
            continue;
        }
        for (w, l) in snap.all_links(v) {
            match depth.get(&w) {
                None => {
                    depth.insert(w, d + 1);
                    parents.entry(w).or_default().push((v, l));
                    queue.push_back(w);
                }
                Some(&dw) if dw == d + 1 => {
                    let p = parents.entry(w).or_default();
                    if p.len() < k.max(1) {
                        p.push((v, l));
                    }
                }
                _ => {}
            }
        }
        if depth.len() > 2_000_000 {
            break;
        }
    }
    if !depth.contains_key(&b) {
        return Vec::new();
    }
    explain(b, &parents, &HashSet::from([a]))
        .into_iter()
        .take(k)
        .collect()
}

/// One transfer of a money-flow trace.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    pub from: Ix,
    pub to: Ix,
    pub amount_fen: i64,
    pub time: Timestamp,
    pub depth: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub flows: Vec<Flow>,
    /// Where money stops: `(entity, amount)`, largest first.
    pub sinks: Vec<(Ix, i64)>,
    pub truncated: bool,
}

/// Follows transfers from `root` in time order (each hop no earlier than the one before and
/// within `window` seconds of it), splitting the amount in proportion to the onward transfers so
/// that flow is conserved, up to `hops`. `forward` follows where money went; otherwise where
/// it came from.
///
/// # Complexity
/// O(F · d) for F flows of out-degree d, bounded by `limit`.
pub fn trace(
    snap: &Snapshot,
    root: Ix,
    forward: bool,
    hops: u32,
    window: i64,
    from: Option<Timestamp>,
    limit: usize,
) -> Trace {
    let mut t = Trace::default();
    let mut sinks: HashMap<Ix, i64> = HashMap::new();
    // (entity, amount arriving, time it arrived, depth)
    let mut queue: VecDeque<(Ix, i64, Option<Timestamp>, u32)> = VecDeque::new();
    let start_amount: i64 = transfers(snap, root, forward, from, window)
        .iter()
        .map(|(_, l)| l.total)
        .sum();
    queue.push_back((root, start_amount, from, 0));
    while let Some((v, amount, time, d)) = queue.pop_front() {
        if amount <= 0 {
            continue;
        }
        let onward = if d >= hops {
            Vec::new()
        } else {
            transfers(snap, v, forward, time, window)
        };
        if onward.is_empty() || (v == root && d > 0) {
            *sinks.entry(v).or_default() += amount;
            continue;
        }
        let total: i64 = onward.iter().map(|(_, l)| l.total.max(0)).sum();
        if total <= 0 {
            *sinks.entry(v).or_default() += amount;
            continue;
        }
        // Money in hand is at most what arrived; what is not sent on stays here.
        let sendable = amount.min(total);
        if amount > sendable {
            *sinks.entry(v).or_default() += amount - sendable;
        }
        for (w, l) in onward {
            if t.flows.len() >= limit {
                t.truncated = true;
                break;
            }
            let share = i64::try_from(
                i128::from(sendable) * i128::from(l.total.max(0)) / i128::from(total),
            )
            .unwrap_or(0);
            if share <= 0 {
                continue;
            }
            let when = if forward { l.first } else { l.last };
            let (a, b) = if forward { (v, w) } else { (w, v) };
            t.flows.push(Flow {
                from: a,
                to: b,
                amount_fen: share,
                time: when,
                depth: d + 1,
            });
            queue.push_back((w, share, Some(when), d + 1));
        }
    }
    let mut s: Vec<(Ix, i64)> = sinks.into_iter().filter(|(v, _)| *v != root).collect();
    s.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    t.sinks = s;
    t
}

/// Transfers out of (forward) or into (backward) `v` with times after (forward) or before
/// (backward) `time`, within `window` of it.
fn transfers(
    snap: &Snapshot,
    v: Ix,
    forward: bool,
    time: Option<Timestamp>,
    window: i64,
) -> Vec<(Ix, Link)> {
    let it: Box<dyn Iterator<Item = (Ix, u32)>> = if forward {
        Box::new(snap.out_links(v))
    } else {
        Box::new(snap.in_links(v))
    };
    it.filter_map(|(w, l)| {
        let link = *snap.link(l);
        if link.kind != LinkKind::TRANSFER || w == v || !link.has_time() {
            return None;
        }
        if let Some(t) = time {
            let ok = if forward {
                link.last >= t && link.first <= t.saturating_add(window)
            } else {
                link.first <= t && link.last >= t.saturating_sub(window)
            };
            if !ok {
                return None;
            }
        }
        Some((w, link))
    })
    .collect()
}
