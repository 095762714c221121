//! Ranking the leads of an expansion, and explaining each one.
//!
//! Every entity an [`Expansion`] reached (persons and identifiers: phones, accounts, devices, wallets;
//! not the seeds' own side, not hubs) gets a score that is a weighted sum of named components, each in
//! `[0, 1]`, so an investigator can read why a lead is high:
//!
//! | component | what it measures |
//! |---|---|
//! | `proximity` | random walk with restart from the seeds over the reached subgraph, links weighted by evidence; walks that enter a hub go back to the seeds (hubs are damped) |
//! | `evidence` | strength of the lead's own links (call counts and minutes, transfer counts and amounts, log-scaled) |
//! | `returnees` | other persons flagged `returnee` within 2 hops of the lead (the seeds excepted) |
//! | `foreign` | the lead is, or holds, a foreign number; or calls several |
//! | `shared_device` | a handset shared by several numbers (one of the lead's, or the lead itself) |
//! | `per_head` | repeated round-sum payments into the lead's accounts |
//! | `layering` | money into the lead's accounts from accounts that themselves received from many |
//! | `known_role` | the lead already carries an investigative role (returnee, suspect…) |
//! | `associates` | second round: the summed first-round scores of the persons the lead deals with (calls, money, relations, shared handsets), so the people many suspects deal with rise |
//!
//! A reported victim's score is scaled down by [`VICTIM_FACTOR`]: victims are witnesses, not leads.
//! A person inherits the signals of the identifiers they own or use, and their proximity is the walk's
//! mass on them and their identifiers together.
//!
//! Each lead carries up to `paths_per_lead` explanation paths from a seed: the shortest path by evidence
//! (strong links are short) and the best alternatives through other neighbours.

use super::expand::Expansion;
use crate::model::{EntityKind, Flags, LinkKind, Roles};
use crate::snapshot::{Ix, Link, Snapshot};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

/// Flagged returnees nearby at which the `returnees` component reaches 63%: a compound member has
/// dozens of flagged colleagues within two hops; a villager who knows one returnee has one or two.
pub const RETURNEES_SCALE: f64 = 25.0;

/// Summed associate scores (each above [`ASSOCIATE_FLOOR`]) at which `associates` reaches 63%.
pub const ASSOCIATES_SCALE: f64 = 3.0;
/// Only the part of an associate's first-round score above this counts: knowing many ordinary
/// people is not suspicious.
pub const ASSOCIATE_FLOOR: f64 = 0.3;

/// A reported victim's score is multiplied by this.
pub const VICTIM_FACTOR: f64 = 0.3;

/// How much each component counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub proximity: f64,
    pub evidence: f64,
    pub returnees: f64,
    pub foreign: f64,
    pub shared_device: f64,
    pub per_head: f64,
    pub layering: f64,
    pub known_role: f64,
    pub associates: f64,
}

impl Weights {
    /// The weights the command line uses.
    pub fn standard() -> Weights {
        Weights {
            proximity: 0.25,
            evidence: 0.05,
            returnees: 0.35,
            foreign: 0.15,
            shared_device: 0.10,
            per_head: 0.05,
            layering: 0.30,
            known_role: 0.15,
            associates: 0.35,
        }
    }
}

/// What to rank and how.
#[derive(Clone, Debug, PartialEq)]
pub struct RankConfig {
    /// Restart probability of the walk (0.15 is usual).
    pub restart: f64,
    pub iterations: u32,
    /// Weight factor of links into hubs (walks entering a hub restart at the seeds).
    pub hub_damping: f64,
    /// Leads returned, best first; 0 = all.
    pub limit: usize,
    pub paths_per_lead: usize,
    pub weights: Weights,
}

impl RankConfig {
    pub fn standard(limit: usize) -> RankConfig {
        RankConfig {
            restart: 0.15,
            iterations: 30,
            hub_damping: 0.05,
            limit,
            paths_per_lead: 3,
            weights: Weights::standard(),
        }
    }
}

/// One step of an explanation path: from `from` to `to` over `link` (see [`Snapshot::link`] for its
/// kind and evidence); `forward` when the link points from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
    pub forward: bool,
}

/// The raw signals behind the components, kept for reasons and for callers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    pub ppr: f64,
    pub evidence: f64,
    pub returnees: u32,
    /// Foreign numbers the lead is or holds.
    pub foreign_numbers: Vec<Ix>,
    pub foreign_contacts: u32,
    /// Most other numbers sharing a handset with one of the lead's numbers (or on the lead device).
    pub shared_device: u32,
    /// A handset shared with a number on the seeds' side.
    pub shares_device_with_seed: bool,
    pub round_payments: u32,
    pub round_amount: i64,
    /// Accounts feeding the lead that received from 3 or more accounts themselves, and how many
    /// accounts fed those.
    pub layered_from: u32,
    pub layered_upstream: u32,
    /// Share of the lead's transfer inflow that did not leave again (money ends here).
    pub retained: f64,
    /// Sum of the first-round scores of the persons the lead deals with.
    pub associates: f64,
}

/// A ranked lead.
#[derive(Clone, Debug, PartialEq)]
pub struct Lead {
    pub ix: Ix,
    pub score: f64,
    pub hops: u32,
    pub components: Vec<(&'static str, f64)>,
    pub signals: Signals,
    pub reasons: Vec<String>,
    pub paths: Vec<Vec<PathStep>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// Best first (ties by index).
    pub leads: Vec<Lead>,
    /// Leads before the limit.
    pub candidates: usize,
    pub seconds: f64,
}

/// Evidence strength of one link: how much an investigator would lean on it.
pub fn strength(l: &Link) -> f64 {
    let c = f64::from(l.count.max(1));
    match l.kind {
        LinkKind::OWNS | LinkKind::USES => 4.0,
        LinkKind::DEVICE_OF => 3.0,
        LinkKind::CALL | LinkKind::SMS => {
            1.0 + c.ln_1p() + 0.3 * (l.total.max(0) as f64 / 60.0).ln_1p()
        }
        LinkKind::TRANSFER => 1.0 + c.ln_1p() + 0.2 * (l.total.max(0) as f64 / 10_000.0).ln_1p(),
        LinkKind::RECRUITED
        | LinkKind::FINANCED
        | LinkKind::SMUGGLED
        | LinkKind::COLLEAGUE
        | LinkKind::MEMBER_OF => 2.5,
        LinkKind::RELATIVE | LinkKind::TRAVELLED_WITH => 2.0,
        LinkKind::SAME_ADDRESS => 1.5,
        _ => 1.0,
    }
}

/// Path cost of a link: strong links are short (`1 / (1 + ln(1 + count))`, identity links shorter).
pub fn cost(l: &Link) -> f64 {
    match l.kind {
        LinkKind::OWNS | LinkKind::USES => 0.1,
        _ => 1.0 / (1.0 + strength(l)),
    }
}

fn is_identity(kind: LinkKind) -> bool {
    matches!(kind, LinkKind::OWNS | LinkKind::USES)
}

fn is_lead_kind(k: EntityKind) -> bool {
    matches!(
        k,
        EntityKind::Person
            | EntityKind::Phone
            | EntityKind::Account
            | EntityKind::Device
            | EntityKind::Wallet
    )
}

/// The reached subgraph in local indices: links between reached entities that pass the expansion's
/// filter; hubs keep no links of their own (nothing flows out of them).
struct Sub {
    nodes: Vec<Ix>,
    local: FxHashMap<Ix, u32>,
    hub: Vec<bool>,
    /// Per local node: (neighbour, global link).
    adj: Vec<Vec<(u32, u32)>>,
}

impl Sub {
    fn build(snap: &Snapshot, exp: &Expansion) -> Sub {
        let nodes: Vec<Ix> = exp.nodes.iter().map(|&(v, _)| v).collect();
        let local: FxHashMap<Ix, u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u32))
            .collect();
        let hub: Vec<bool> = nodes.iter().map(|&v| exp.is_hub(v)).collect();
        let adj = nodes
            .par_iter()
            .enumerate()
            .map(|(i, &v)| {
                if hub[i] {
                    return Vec::new();
                }
                let mut a: Vec<(u32, u32)> = snap
                    .all_links(v)
                    .filter(|&(_, l)| exp.filter.passes(snap.link(l)))
                    .filter_map(|(u, l)| local.get(&u).map(|&j| (j, l)))
                    .filter(|&(j, _)| j as usize != i)
                    .collect();
                a.sort_unstable();
                a
            })
            .collect();
        Sub {
            nodes,
            local,
            hub,
            adj,
        }
    }
}

/// Ranks every lead of the expansion. See the module docs.
///
/// # Complexity
/// O(I·m_s) for the walk (I iterations over the m_s links of the reached subgraph, parallel), plus
/// O(m_s · d) for the signals (each entity looks at its neighbours' degrees), plus O(m_s log n_s) for
/// the explanation paths (one multi-source Dijkstra).
pub fn rank(snap: &Snapshot, exp: &Expansion, cfg: &RankConfig) -> Ranking {
    let t0 = Instant::now();
    let sub = Sub::build(snap, exp);
    let n = sub.nodes.len();
    let seed_local: Vec<u32> = exp
        .seeds
        .iter()
        .filter_map(|s| sub.local.get(s).copied())
        .collect();
    let hop = |i: usize| exp.hop(sub.nodes[i]).unwrap_or(u32::MAX);

    // --- proximity: random walk with restart ---------------------------------------------------
    let weight = |i: usize, j: u32, l: u32| -> f64 {
        let w = strength(snap.link(l));
        let _ = i;
        if sub.hub[j as usize] {
            w * cfg.hub_damping
        } else {
            w
        }
    };
    let wsum: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| sub.adj[i].iter().map(|&(j, l)| weight(i, j, l)).sum())
        .collect();
    let mut restart = vec![0.0; n];
    for &s in &seed_local {
        restart[s as usize] = 1.0 / seed_local.len().max(1) as f64;
    }
    let mut x = restart.clone();
    for _ in 0..cfg.iterations {
        let pulled: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|v| {
                if sub.hub[v] {
                    return 0.0;
                }
                sub.adj[v]
                    .iter()
                    .filter(|&&(u, _)| !sub.hub[u as usize] && wsum[u as usize] > 0.0)
                    .map(|&(u, l)| {
                        x[u as usize] * weight(u as usize, v as u32, l) / wsum[u as usize]
                    })
                    .sum()
            })
            .collect();
        let kept: f64 = pulled.iter().sum();
        let total: f64 = x.iter().sum();
        let back = cfg.restart + (1.0 - cfg.restart) * (total - kept).max(0.0);
        x = pulled
            .iter()
            .zip(&restart)
            .map(|(p, r)| (1.0 - cfg.restart) * p + back * r)
            .collect();
    }

    // --- ownership ---------------------------------------------------------------------------
    // identifiers held by each person (local), and holders of each identifier
    let held: Vec<Vec<u32>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if snap.kind(sub.nodes[i]) != EntityKind::Person {
                return Vec::new();
            }
            let mut h: Vec<u32> = sub.adj[i]
                .iter()
                .filter(|&&(j, l)| {
                    is_identity(snap.link(l).kind)
                        && snap.kind(sub.nodes[j as usize]) != EntityKind::Person
                })
                .map(|&(j, _)| j)
                .collect();
            h.dedup();
            h
        })
        .collect();
    let seed_side: FxHashSet<u32> = (0..n as u32).filter(|&i| hop(i as usize) == 0).collect();

    // --- returnees within 2 hops (identity links free) ----------------------------------------
    let returnee_bit = Roles::bit("returnee").unwrap_or(0);
    let returnees: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            snap.kind(sub.nodes[i as usize]) == EntityKind::Person
                && snap.roles(sub.nodes[i as usize]).0 & returnee_bit != 0
                && !exp.seeds.contains(&sub.nodes[i as usize])
        })
        .collect();
    let reach: Vec<Vec<u32>> = returnees
        .par_iter()
        .map(|&r| within_two(snap, &sub, r))
        .collect();
    let mut near_returnees = vec![0u32; n];
    for (k, list) in reach.iter().enumerate() {
        for &i in list {
            if i != returnees[k] {
                near_returnees[i as usize] += 1;
            }
        }
    }

    // --- signals of each entity on its own -------------------------------------------------------
    let own: Vec<Signals> = (0..n)
        .into_par_iter()
        .map(|i| own_signals(snap, &sub, &seed_side, i, x[i]))
        .collect();

    // --- leads ------------------------------------------------------------------------------
    let cand: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            let v = sub.nodes[i as usize];
            !sub.hub[i as usize] && hop(i as usize) > 0 && is_lead_kind(snap.kind(v))
        })
        .collect();
    let merged: Vec<Signals> = cand
        .par_iter()
        .map(|&i| {
            let i = i as usize;
            let mut s = own[i].clone();
            s.returnees = near_returnees[i];
            for &j in &held[i] {
                let o = &own[j as usize];
                s.ppr += o.ppr;
                s.evidence = s.evidence.max(o.evidence);
                s.foreign_numbers.extend_from_slice(&o.foreign_numbers);
                s.foreign_contacts = s.foreign_contacts.max(o.foreign_contacts);
                s.shared_device = s.shared_device.max(o.shared_device);
                s.shares_device_with_seed |= o.shares_device_with_seed;
                if o.round_payments > s.round_payments {
                    s.round_payments = o.round_payments;
                    s.round_amount = o.round_amount;
                }
                if o.layered_upstream as f64 * o.retained > s.layered_upstream as f64 * s.retained {
                    s.layered_from = o.layered_from;
                    s.layered_upstream = o.layered_upstream;
                    s.retained = o.retained;
                }
                s.returnees = s.returnees.max(near_returnees[j as usize]);
            }
            s.foreign_numbers.sort_unstable();
            s.foreign_numbers.dedup();
            s
        })
        .collect();
    let ppr_ref = 1.0 / n.max(1) as f64;
    let ppr_max = merged
        .iter()
        .map(|s| s.ppr)
        .fold(0.0, f64::max)
        .max(ppr_ref);
    let w = &cfg.weights;
    let mut leads: Vec<Lead> = cand
        .iter()
        .zip(merged)
        .map(|(&i, s)| {
            let v = sub.nodes[i as usize];
            let roles = snap.roles(v);
            let sat = |x: f64, k: f64| 1.0 - (-x / k).exp();
            let proximity = (s.ppr / ppr_ref).ln_1p() / (ppr_max / ppr_ref).ln_1p();
            let evidence = sat(s.evidence, 40.0);
            let returnees = sat(f64::from(s.returnees), RETURNEES_SCALE);
            let foreign = if s.foreign_numbers.is_empty() {
                0.5 * sat(f64::from(s.foreign_contacts), 3.0)
            } else {
                1.0
            };
            let shared_device = if s.shares_device_with_seed {
                1.0
            } else {
                sat(f64::from(s.shared_device), 2.0)
            };
            let per_head = if s.round_payments >= 2 {
                sat(f64::from(s.round_payments), 4.0)
            } else {
                0.0
            };
            let layering = sat(f64::from(s.layered_upstream), 15.0) * s.retained;
            let mut known = roles;
            known.0 &= !Roles::bit("victim").unwrap_or(0);
            let known_role = if known.is_empty() { 0.0 } else { 1.0 };
            let components = vec![
                ("proximity", proximity),
                ("evidence", evidence),
                ("returnees", returnees),
                ("foreign", foreign),
                ("shared_device", shared_device),
                ("per_head", per_head),
                ("layering", layering),
                ("known_role", known_role),
            ];
            let mut score = w.proximity * proximity
                + w.evidence * evidence
                + w.returnees * returnees
                + w.foreign * foreign
                + w.shared_device * shared_device
                + w.per_head * per_head
                + w.layering * layering
                + w.known_role * known_role;
            if roles.contains("victim") {
                score *= VICTIM_FACTOR;
            }
            Lead {
                ix: v,
                score,
                hops: hop(i as usize),
                components,
                signals: s,
                reasons: Vec::new(),
                paths: Vec::new(),
            }
        })
        .collect();
    // --- associates: the scores of the persons a lead deals with ------------------------------
    // A compound member's contacts are compound members; the boss's and the financiers' are many
    // of them; a member's relative knows one member and a village. Each lead gains
    // `associates` = saturated sum of its person-neighbours' first-round scores.
    let mut holders: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (p, ids) in held.iter().enumerate() {
        for &j in ids {
            holders[j as usize].push(p as u32);
        }
    }
    let mut first: Vec<f64> = vec![0.0; n];
    for l in &leads {
        first[sub.local[&l.ix] as usize] = l.score;
    }
    let assoc: Vec<f64> = leads
        .par_iter()
        .map(|l| {
            let i = sub.local[&l.ix];
            let mut unit: Vec<u32> = vec![i];
            if snap.kind(l.ix) == EntityKind::Person {
                unit.extend_from_slice(&held[i as usize]);
            } else {
                for &p in &holders[i as usize] {
                    unit.push(p);
                    unit.extend_from_slice(&held[p as usize]);
                }
            }
            let mut people: Vec<u32> = Vec::new();
            for &u in &unit {
                for &(w, lk) in &sub.adj[u as usize] {
                    if sub.hub[w as usize] || is_identity(snap.link(lk).kind) {
                        continue;
                    }
                    if snap.kind(sub.nodes[w as usize]) == EntityKind::Person {
                        people.push(w);
                    } else {
                        people.extend_from_slice(&holders[w as usize]);
                    }
                }
            }
            people.sort_unstable();
            people.dedup();
            people
                .iter()
                .filter(|p| !unit.contains(p))
                .map(|&p| (first[p as usize] - ASSOCIATE_FLOOR).max(0.0))
                .sum::<f64>()
        })
        .collect();
    for (l, a) in leads.iter_mut().zip(assoc) {
        let c = 1.0 - (-a / ASSOCIATES_SCALE).exp();
        l.components.push(("associates", c));
        let victim = snap.roles(l.ix).contains("victim");
        l.score += w.associates * c * if victim { VICTIM_FACTOR } else { 1.0 };
        l.signals.associates = a;
    }
    leads.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ix.cmp(&b.ix)));
    let candidates = leads.len();
    if cfg.limit > 0 {
        leads.truncate(cfg.limit);
    }

    // --- explanations ---------------------------------------------------------------------------
    let need_paths = cfg.paths_per_lead > 0 && !leads.is_empty();
    let tree = if need_paths {
        Some(dijkstra(snap, &sub, &seed_local))
    } else {
        None
    };
    leads.par_iter_mut().for_each(|lead| {
        let i = sub.local[&lead.ix];
        if let Some((dist, pred)) = &tree {
            lead.paths = explain(snap, &sub, dist, pred, i, cfg.paths_per_lead);
        }
        lead.reasons = reasons(snap, &sub, &seed_side, &held[i as usize], i, lead);
    });
    Ranking {
        leads,
        candidates,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Local entities within 2 hops of `r` in the reached subgraph, identity links free, not through hubs.
fn within_two(snap: &Snapshot, sub: &Sub, r: u32) -> Vec<u32> {
    let mut dist: FxHashMap<u32, u32> = FxHashMap::default();
    let mut dq = VecDeque::from([(r, 0u32)]);
    dist.insert(r, 0);
    while let Some((v, d)) = dq.pop_front() {
        if dist.get(&v).is_some_and(|&dv| dv < d) || sub.hub[v as usize] {
            continue;
        }
        for &(u, l) in &sub.adj[v as usize] {
            let free = is_identity(snap.link(l).kind);
            let du = d + u32::from(!free);
            if du > 2 {
                continue;
            }
            if dist.get(&u).is_none_or(|&old| du < old) {
                dist.insert(u, du);
                if free {
                    dq.push_front((u, du));
                } else {
                    dq.push_back((u, du));
                }
            }
        }
    }
    let mut out: Vec<u32> = dist.into_keys().collect();
    out.sort_unstable();
    out
}

const ROUND_FEN: i64 = 50_000; // 500 yuan
const MIN_PER_HEAD_FEN: i64 = 100_000; // 1,000 yuan

fn own_signals(
    snap: &Snapshot,
    sub: &Sub,
    seed_side: &FxHashSet<u32>,
    i: usize,
    ppr: f64,
) -> Signals {
    let v = sub.nodes[i];
    let mut s = Signals {
        ppr,
        ..Signals::default()
    };
    s.evidence = sub.adj[i]
        .iter()
        .filter(|&&(_, l)| !is_identity(snap.link(l).kind))
        .map(|&(_, l)| strength(snap.link(l)))
        .sum();
    match snap.kind(v) {
        EntityKind::Phone => {
            if snap.flags(v).contains(Flags::FOREIGN) {
                s.foreign_numbers.push(v);
            }
            let mut foreign: Vec<Ix> = snap
                .all_links(v)
                .filter(|&(u, l)| {
                    matches!(snap.link(l).kind, LinkKind::CALL | LinkKind::SMS)
                        && snap.flags(u).contains(Flags::FOREIGN)
                })
                .map(|(u, _)| u)
                .collect();
            foreign.sort_unstable();
            foreign.dedup();
            s.foreign_contacts = foreign.len() as u32;
            for (d, l) in snap.all_links(v) {
                if snap.link(l).kind != LinkKind::DEVICE_OF || snap.degree(d) > 10_000 {
                    continue;
                }
                let phones: Vec<Ix> = snap
                    .all_links(d)
                    .filter(|&(p, l2)| p != v && snap.link(l2).kind == LinkKind::DEVICE_OF)
                    .map(|(p, _)| p)
                    .collect();
                s.shared_device = s.shared_device.max(phones.len() as u32);
                if phones
                    .iter()
                    .any(|p| sub.local.get(p).is_some_and(|j| seed_side.contains(j)))
                {
                    s.shares_device_with_seed = true;
                }
            }
        }
        EntityKind::Device => {
            let phones = snap
                .all_links(v)
                .filter(|&(_, l)| snap.link(l).kind == LinkKind::DEVICE_OF)
                .count() as u32;
            s.shared_device = phones.saturating_sub(1);
        }
        EntityKind::Account | EntityKind::Wallet => {
            let mut by_amount: FxHashMap<i64, u32> = FxHashMap::default();
            let mut layered_from = 0;
            let mut upstream = 0;
            for (b, l) in snap.in_links(v) {
                let link = snap.link(l);
                if link.kind != LinkKind::TRANSFER {
                    continue;
                }
                let c = i64::from(link.count.max(1));
                // the same round sum paid repeatedly by one payer (victims pay once each)
                if c >= 2 && link.total % c == 0 {
                    let mean = link.total / c;
                    if mean >= MIN_PER_HEAD_FEN && mean % ROUND_FEN == 0 {
                        *by_amount.entry(mean).or_default() += link.count;
                    }
                }
                if snap.degree(b) > 10_000 {
                    continue;
                }
                // a layering account: fed by several, and passes on what it gets (in ≈ out)
                let (mut feeders, mut inflow, mut outflow) = (0u32, 0i64, 0i64);
                for (_, l2) in snap.in_links(b) {
                    let x = snap.link(l2);
                    if x.kind == LinkKind::TRANSFER {
                        feeders += 1;
                        inflow = inflow.saturating_add(x.total);
                    }
                }
                if feeders < 3 {
                    continue;
                }
                for (_, l2) in snap.out_links(b) {
                    let x = snap.link(l2);
                    if x.kind == LinkKind::TRANSFER {
                        outflow = outflow.saturating_add(x.total);
                    }
                }
                let passes_on = outflow.min(inflow) as f64 >= 0.8 * outflow.max(inflow) as f64;
                if passes_on {
                    layered_from += 1;
                    upstream += feeders;
                }
            }
            if let Some((&amount, &count)) =
                by_amount.iter().max_by_key(|(a, c)| (**c, Reverse(**a)))
            {
                s.round_payments = count;
                s.round_amount = amount;
            }
            s.layered_from = layered_from;
            s.layered_upstream = upstream;
            let (mut inflow, mut outflow) = (0i64, 0i64);
            for (_, l) in snap.in_links(v) {
                let x = snap.link(l);
                if x.kind == LinkKind::TRANSFER {
                    inflow = inflow.saturating_add(x.total);
                }
            }
            for (_, l) in snap.out_links(v) {
                let x = snap.link(l);
                if x.kind == LinkKind::TRANSFER {
                    outflow = outflow.saturating_add(x.total);
                }
            }
            s.retained = if inflow > 0 {
                (1.0 - outflow as f64 / inflow as f64).clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        _ => {}
    }
    s
}

/// Multi-source Dijkstra from the seeds over the reached subgraph, not through hubs.
fn dijkstra(snap: &Snapshot, sub: &Sub, seeds: &[u32]) -> (Vec<f64>, Vec<Option<(u32, u32)>>) {
    let n = sub.nodes.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut pred: Vec<Option<(u32, u32)>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    for &s in seeds {
        dist[s as usize] = 0.0;
        heap.push(Reverse((Ord64(0.0), s)));
    }
    while let Some(Reverse((Ord64(d), v))) = heap.pop() {
        if d > dist[v as usize] || sub.hub[v as usize] {
            continue;
        }
        for &(u, l) in &sub.adj[v as usize] {
            let nd = d + cost(snap.link(l));
            if nd < dist[u as usize] {
                dist[u as usize] = nd;
                pred[u as usize] = Some((v, l));
                heap.push(Reverse((Ord64(nd), u)));
            }
        }
    }
    (dist, pred)
}

/// A totally ordered f64 for heaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ord64(pub(crate) f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn step(snap: &Snapshot, sub: &Sub, from: u32, to: u32, link: u32) -> PathStep {
    let f = sub.nodes[from as usize];
    PathStep {
        from: f,
        to: sub.nodes[to as usize],
        link,
        forward: snap.link(link).src == f,
    }
}

fn tree_path(snap: &Snapshot, sub: &Sub, pred: &[Option<(u32, u32)>], mut v: u32) -> Vec<PathStep> {
    let mut steps = Vec::new();
    while let Some((u, l)) = pred[v as usize] {
        steps.push(step(snap, sub, u, v, l));
        v = u;
        if steps.len() > sub.nodes.len() {
            break;
        }
    }
    steps.reverse();
    steps
}

fn explain(
    snap: &Snapshot,
    sub: &Sub,
    dist: &[f64],
    pred: &[Option<(u32, u32)>],
    v: u32,
    k: usize,
) -> Vec<Vec<PathStep>> {
    let mut via: Vec<(f64, u32, u32)> = sub.adj[v as usize]
        .iter()
        .filter(|&&(u, _)| dist[u as usize].is_finite() && !sub.hub[u as usize])
        .map(|&(u, l)| (dist[u as usize] + cost(snap.link(l)), u, l))
        .collect();
    via.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<Vec<PathStep>> = Vec::new();
    let mut used: FxHashSet<u32> = FxHashSet::default();
    for (_, u, l) in via {
        if out.len() >= k {
            break;
        }
        if !used.insert(u) {
            continue;
        }
        let mut p = tree_path(snap, sub, pred, u);
        let vx = sub.nodes[v as usize];
        if p.iter().any(|s| s.from == vx || s.to == vx) {
            continue;
        }
        p.push(step(snap, sub, u, v, l));
        out.push(p);
    }
    out
}

/// The country of a foreign number, for reasons.
pub fn country(e164: &str) -> &'static str {
    const CODES: [(&str, &str); 10] = [
        ("+95", "Myanmar"),
        ("+855", "Cambodia"),
        ("+856", "Laos"),
        ("+66", "Thailand"),
        ("+63", "Philippines"),
        ("+60", "Malaysia"),
        ("+84", "Vietnam"),
        ("+852", "Hong Kong"),
        ("+853", "Macau"),
        ("+886", "Taiwan"),
    ];
    CODES
        .iter()
        .find(|(p, _)| e164.starts_with(p))
        .map_or("foreign", |(_, c)| *c)
}

fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        format!("¥{}", fen / 100)
    } else {
        format!("¥{}.{:02}", fen / 100, (fen % 100).abs())
    }
}

fn reasons(
    snap: &Snapshot,
    sub: &Sub,
    seed_side: &FxHashSet<u32>,
    held: &[u32],
    i: u32,
    lead: &Lead,
) -> Vec<String> {
    let mut out = Vec::new();
    let s = &lead.signals;
    let v = sub.nodes[i as usize];
    let roles = snap.roles(v);
    let role_names: Vec<&str> = roles.names().collect();
    if !role_names.is_empty() {
        out.push(format!("flagged {}", role_names.join(", ")));
    }
    // direct links between the lead's side and the seeds' side
    let mut mine: Vec<u32> = vec![i];
    mine.extend_from_slice(held);
    let mut direct: Vec<String> = Vec::new();
    for &a in &mine {
        for &(b, l) in &sub.adj[a as usize] {
            if !seed_side.contains(&b) || b == i {
                continue;
            }
            let link = snap.link(l);
            if is_identity(link.kind) && a == i {
                continue;
            }
            let theirs = snap.node(sub.nodes[b as usize]);
            let what = match theirs.kind {
                EntityKind::Person => "the seed".to_string(),
                k => format!("the seed's {k} {}", theirs.key),
            };
            let outgoing = link.src == sub.nodes[a as usize];
            let text = match link.kind {
                LinkKind::CALL | LinkKind::SMS => {
                    let verb = match (link.kind == LinkKind::SMS, outgoing) {
                        (false, true) => "called",
                        (false, false) => "was called by",
                        (true, true) => "texted",
                        (true, false) => "was texted by",
                    };
                    let mins = if link.kind == LinkKind::CALL && link.total > 0 {
                        format!(", {} min in all", (link.total + 59) / 60)
                    } else {
                        String::new()
                    };
                    format!("{verb} {what} {} times{mins}", link.count)
                }
                LinkKind::TRANSFER => {
                    let (verb, dir) = if outgoing {
                        ("sent", "to")
                    } else {
                        ("received", "from")
                    };
                    format!(
                        "{verb} {} {dir} {what} in {} transfers",
                        yuan(link.total),
                        link.count
                    )
                }
                LinkKind::DEVICE_OF => format!("same handset as {what}"),
                k if is_identity(k) => format!("shares an identifier with {what}"),
                k => format!("{} link with {what}", snap.link_kind_name(k)),
            };
            direct.push(text);
        }
    }
    direct.sort();
    direct.dedup();
    out.extend(direct.into_iter().take(3));
    if s.returnees > 0 {
        out.push(format!(
            "{} flagged returnee{} within 2 hops",
            s.returnees,
            if s.returnees == 1 { "" } else { "s" }
        ));
    }
    for &f in s.foreign_numbers.iter().take(2) {
        let key = snap.node(f).key;
        let c = country(key);
        if f == v {
            out.push(format!("{c} number"));
        } else {
            out.push(format!("uses {c} number {key}"));
        }
    }
    if s.foreign_numbers.is_empty() && s.foreign_contacts > 0 {
        out.push(format!(
            "in contact with {} foreign numbers",
            s.foreign_contacts
        ));
    }
    if s.shares_device_with_seed {
        out.push("shares a handset with a number on the seed's side".to_string());
    } else if s.shared_device > 0 {
        out.push(format!(
            "handset shared with {} other number{}",
            s.shared_device,
            if s.shared_device == 1 { "" } else { "s" }
        ));
    }
    if s.round_payments >= 2 {
        out.push(format!(
            "received {} round-sum payments of {}",
            s.round_payments,
            yuan(s.round_amount)
        ));
    }
    if s.layered_from > 0 {
        out.push(format!(
            "receives money from {} account{} that received from {} others, and keeps {:.0}% of it",
            s.layered_from,
            if s.layered_from == 1 { "" } else { "s" },
            s.layered_upstream,
            100.0 * s.retained
        ));
    }
    if roles.contains("victim") {
        out.push("reported victim: ranked down".to_string());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
