//! The report of a community run: per community its size, members by role, key people by
//! centrality inside the community, money in, out and inside, and the communities it is most
//! strongly linked to. Pure over a snapshot and a [`Detection`](super::community::Detection).
//!
//! * **Key people** are computed on the community's own subgraph: the [`KEY_CENTRE`] persons with the
//!   highest PageRank (the centre: a boss, a manager), the [`KEY_MONEY`] who received the most money
//!   (financiers, collectors) and the [`KEY_BROKER`] with the highest betweenness (who joins its parts:
//!   recruiters, brokers), each listed once under the first reason found. Betweenness is exact up to
//!   [`EXACT_BETWEENNESS`] members, sampled from [`BETWEENNESS_SAMPLES`] sources above.
//! * **Money**: a transfer between two entities with communities counts inside when both are in the
//!   same one, as out of the source's and into the target's otherwise; an end without a community
//!   (an unheld account) is outside. A person's money is that of the accounts and wallets they own
//!   or use.
//! * **Links**: the summed weight of the graph's edges between two communities and the money between
//!   them; the [`MAX_LINKS`] strongest per community.

use super::centrality::{betweenness, BetweennessConfig, Sources};
use super::community::Detection;
use super::graph::Graph;
use super::pagerank::{pagerank, PageRankConfig};
use crate::model::run::{CommunityLink, CommunitySummary, KeyPerson, KeyRole};
use crate::model::{EntityKind, LinkKind};
use crate::snapshot::{Ix, Snapshot};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub const KEY_CENTRE: usize = 3;
pub const KEY_MONEY: usize = 2;
pub const KEY_BROKER: usize = 2;
pub const EXACT_BETWEENNESS: usize = 400;
pub const BETWEENNESS_SAMPLES: usize = 128;
pub const MAX_LINKS: usize = 5;
/// Communities smaller than this get no key people (everyone is key in a pair).
pub const KEY_MIN_SIZE: usize = 3;

const NONE: u32 = u32::MAX;

/// Money received and sent by each person through the accounts and wallets they own or use (fen).
fn money_of_persons(snap: &Snapshot) -> (Vec<i64>, Vec<i64>) {
    let n = snap.node_count();
    let mut inn = vec![0i64; n];
    let mut out = vec![0i64; n];
    for v in 0..n as Ix {
        if !matches!(snap.kind(v), EntityKind::Account | EntityKind::Wallet) {
            continue;
        }
        let (mut i, mut o) = (0i64, 0i64);
        for (_, l) in snap.in_links(v) {
            let l = snap.link(l);
            if l.kind == LinkKind::TRANSFER {
                i = i.saturating_add(l.total.max(0));
            }
        }
        for (_, l) in snap.out_links(v) {
            let l = snap.link(l);
            if l.kind == LinkKind::TRANSFER {
                o = o.saturating_add(l.total.max(0));
            }
        }
        if i == 0 && o == 0 {
            continue;
        }
        for (p, l) in snap.all_links(v) {
            if snap.kind(p) == EntityKind::Person
                && matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
            {
                inn[p as usize] = inn[p as usize].saturating_add(i);
                out[p as usize] = out[p as usize].saturating_add(o);
            }
        }
    }
    (inn, out)
}

fn top(scores: &[(usize, f64)], k: usize) -> Vec<usize> {
    let mut s: Vec<(usize, f64)> = scores.iter().copied().filter(|x| x.1 > 0.0).collect();
    s.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    s.into_iter().take(k).map(|x| x.0).collect()
}

/// Key people of one community (`members`: graph nodes, ascending).
fn key_people(
    snap: &Snapshot,
    det: &Detection,
    members: &[u32],
    pos: &[u32],
    money: &(Vec<i64>, Vec<i64>),
    seed: u64,
) -> Vec<KeyPerson> {
    let c = det.local[members[0] as usize];
    let g = &det.graph;
    let mut edges: Vec<(u32, u32, f32)> = Vec::new();
    for &u in members {
        for (&v, &w) in g.neighbors(u).iter().zip(g.neighbor_weights(u)) {
            if v > u && det.local[v as usize] == c {
                edges.push((pos[u as usize], pos[v as usize], w));
            }
        }
    }
    let Ok(sub) = Graph::from_edges(members.len(), &edges) else {
        return Vec::new();
    };
    let pr = pagerank(
        &sub.to_digraph(),
        &PageRankConfig {
            damping: 0.85,
            max_iterations: 100,
            tolerance: 1e-10,
        },
    )
    .scores;
    let sources = if members.len() <= EXACT_BETWEENNESS {
        Sources::All
    } else {
        Sources::Sample {
            count: BETWEENNESS_SAMPLES,
            seed,
        }
    };
    let bc = betweenness(&sub, &BetweennessConfig { sources });
    let ix = |i: usize| det.projection.nodes[members[i] as usize];
    let persons: Vec<usize> = (0..members.len())
        .filter(|&i| snap.kind(ix(i)) == EntityKind::Person)
        .collect();
    let score = |f: &dyn Fn(usize) -> f64| -> Vec<(usize, f64)> {
        persons.iter().map(|&i| (i, f(i))).collect()
    };
    let mut out: Vec<KeyPerson> = Vec::new();
    let picks = [
        (KeyRole::Centre, top(&score(&|i| pr[i]), KEY_CENTRE)),
        (
            KeyRole::Money,
            top(&score(&|i| money.0[ix(i) as usize] as f64), KEY_MONEY),
        ),
        (KeyRole::Broker, top(&score(&|i| bc[i]), KEY_BROKER)),
    ];
    for (role, list) in picks {
        for i in list {
            let v = ix(i);
            let id = snap.node(v).id;
            if out.iter().any(|k| k.entity == id) {
                continue;
            }
            out.push(KeyPerson {
                entity: id,
                role,
                degree: sub.neighbors(i as u32).len() as u32,
                pagerank: pr[i],
                betweenness: bc[i],
                money_in: money.0[v as usize],
                money_out: money.1[v as usize],
            });
        }
    }
    out
}

/// The summary of every community of `det`, whose local community `c` has the id `ids[c]`; sorted
/// by size (largest first), then id. `seed` drives sampled betweenness.
///
/// # Complexity
/// O(n + m) for sizes, roles, money and links; per community of s members and m_c edges, PageRank in
/// O(iterations · m_c) and betweenness in O(min(s, samples) · m_c); communities run in parallel.
pub fn report(snap: &Snapshot, det: &Detection, ids: &[u32], seed: u64) -> Vec<CommunitySummary> {
    let k = det.count;
    let nodes = &det.projection.nodes;
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
    let mut pos = vec![0u32; nodes.len()];
    for (i, &c) in det.local.iter().enumerate() {
        pos[i] = members[c as usize].len() as u32;
        members[c as usize].push(i as u32);
    }
    let mut roles: Vec<[u32; 32]> = vec![[0; 32]; k];
    for (i, &v) in nodes.iter().enumerate() {
        let r = snap.roles(v).0;
        for (b, slot) in roles[det.local[i] as usize].iter_mut().enumerate() {
            *slot += (r >> b) & 1;
        }
    }
    // money across and inside, and between pairs of communities
    let (mut m_in, mut m_out, mut m_inside) = (vec![0i64; k], vec![0i64; k], vec![0i64; k]);
    let mut pair: FxHashMap<(u32, u32), (f64, i64)> = FxHashMap::default();
    for l in snap.links() {
        if l.kind != LinkKind::TRANSFER || l.total <= 0 {
            continue;
        }
        let (a, b) = (det.of_entity[l.src as usize], det.of_entity[l.dst as usize]);
        if a == b {
            if a != NONE {
                m_inside[a as usize] = m_inside[a as usize].saturating_add(l.total);
            }
            continue;
        }
        if a != NONE {
            m_out[a as usize] = m_out[a as usize].saturating_add(l.total);
        }
        if b != NONE {
            m_in[b as usize] = m_in[b as usize].saturating_add(l.total);
        }
        if a != NONE && b != NONE {
            let e = pair.entry((a.min(b), a.max(b))).or_default();
            e.1 = e.1.saturating_add(l.total);
        }
    }
    let g = &det.graph;
    for u in 0..g.node_count() as u32 {
        let cu = det.local[u as usize];
        for (&v, &w) in g.neighbors(u).iter().zip(g.neighbor_weights(u)) {
            let cv = det.local[v as usize];
            if v > u && cu != cv {
                pair.entry((cu.min(cv), cu.max(cv))).or_default().0 += f64::from(w);
            }
        }
    }
    let mut links: Vec<Vec<CommunityLink>> = vec![Vec::new(); k];
    for (&(a, b), &(weight, money)) in &pair {
        for (x, y) in [(a, b), (b, a)] {
            links[x as usize].push(CommunityLink {
                community: ids[y as usize],
                weight,
                money,
            });
        }
    }
    let money = money_of_persons(snap);
    let mut out: Vec<CommunitySummary> = (0..k)
        .into_par_iter()
        .map(|c| {
            let mut l = links[c].clone();
            l.sort_unstable_by(|p, q| {
                q.weight
                    .total_cmp(&p.weight)
                    .then(q.money.cmp(&p.money))
                    .then(p.community.cmp(&q.community))
            });
            l.truncate(MAX_LINKS);
            let key = if members[c].len() >= KEY_MIN_SIZE {
                key_people(snap, det, &members[c], &pos, &money, seed)
            } else {
                Vec::new()
            };
            CommunitySummary {
                id: ids[c],
                size: members[c].len() as u32,
                roles: roles[c]
                    .iter()
                    .enumerate()
                    .filter(|(_, &n)| n > 0)
                    .map(|(b, &n)| (b as u8, n))
                    .collect(),
                key_people: key,
                money_in: m_in[c],
                money_out: m_out[c],
                money_inside: m_inside[c],
                links: l,
            }
        })
        .collect();
    out.sort_unstable_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::community::{assign_ids, detect, DEFAULT_MAX_HOLDERS};
    use crate::algo::rank::tests::{case, person};
    use crate::model::run::{Algo, GraphKind, RunParams};

    #[test]
    fn the_compound_of_the_small_case_has_its_key_people_and_money() {
        let (snap, _) = case();
        let params = RunParams {
            algo: Algo::Leiden,
            resolution: 1.0,
            seed: 3,
            graph: GraphKind::Person,
            max_holders: DEFAULT_MAX_HOLDERS,
            weighting: crate::model::run::Weighting::Operational,
            groups: None,
        };
        let det = detect(&snap, &params).unwrap();
        let (m, ids, _) = assign_ids(&snap, &det, None, 1);
        let rep = report(&snap, &det, &ids, 3);
        assert_eq!(
            rep.iter().map(|c| c.size as usize).sum::<usize>(),
            det.projection.nodes.len()
        );
        assert!(rep.windows(2).all(|w| w[0].size >= w[1].size));
        let seed = person(&snap, "S");
        let c = m.get(snap.node(seed).id).unwrap().community;
        let comm = rep.iter().find(|x| x.id == c).unwrap();
        // the seed's community holds M1 and M2 (they call the seed and share its handset)
        for i in 1..=2 {
            let v = person(&snap, &format!("M{i}"));
            assert_eq!(m.get(snap.node(v).id).unwrap().community, c, "M{i}");
        }
        assert!(!comm.key_people.is_empty());
        assert!(comm.key_people.len() <= KEY_CENTRE + KEY_MONEY + KEY_BROKER);
        let centre = comm
            .key_people
            .iter()
            .filter(|k| k.role == KeyRole::Centre)
            .count();
        assert!(centre >= 1);
        let returnee = crate::model::Roles::bit("returnee")
            .unwrap()
            .trailing_zeros() as u8;
        assert!(comm.roles.iter().any(|&(b, n)| b == returnee && n >= 1));
        // S, M3 and M4 are returnees: counted once each over all communities
        let returnees: u32 = rep
            .iter()
            .flat_map(|c| c.roles.iter())
            .filter(|r| r.0 == returnee)
            .map(|r| r.1)
            .sum();
        assert_eq!(returnees, 3);
        // every key person is a member, listed once
        let mut seen: Vec<_> = comm.key_people.iter().map(|k| k.entity).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), comm.key_people.len());
        assert!(comm
            .key_people
            .iter()
            .all(|k| m.get(k.entity).unwrap().community == c));
        // money balances: what leaves one community enters another or goes outside
        let total_in: i64 = rep.iter().map(|x| x.money_in).sum();
        let total_out: i64 = rep.iter().map(|x| x.money_out).sum();
        assert!(total_in > 0 || total_out > 0);
        // links are symmetric in weight
        for a in &rep {
            for l in &a.links {
                let b = rep.iter().find(|x| x.id == l.community).unwrap();
                assert!(b.links.iter().any(|x| x.community == a.id) || b.links.len() == MAX_LINKS);
            }
        }
    }
}
