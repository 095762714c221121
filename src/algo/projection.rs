//! Weighted, undirected edge lists for community detection: the person-level projection and the
//! full entity graph.
//!
//! The person projection links two persons when
//! - they hold (own or use) the same phone, account, device or wallet: a strong tie, [`SHARED_ID`];
//! - their phones were seen in the same handset: [`SHARED_DEVICE`];
//! - their phones called or texted each other, or their accounts or wallets transferred money, weighted
//!   by the link's evidence strength ([`rank::strength`](super::rank::strength)) damped by how busy the
//!   busier end is ([`hub_damping`]): one call among a hotline's or a payroll account's thousands says
//!   little about that pair, so hubs do not glue communities together;
//! - a direct person-to-person link says so: a statement of acting together from a case file
//!   (recruited, financed, smuggled, colleague, member of, travelled with) weighs [`ASSOCIATION`],
//!   as much as a shared identifier; other relations (relative, same address, custom kinds) weigh
//!   their evidence strength.
//!
//! **Weighting** ([`ProjectionConfig`], a run's [`Weighting`]): `evidence` keeps every tie above at
//! its strength; `operational` (the default of community runs) asks what is evidence of *working
//! together*: shared identifiers and handsets, stated associations and co-travel keep their
//! weight, calls, messages and transfers weigh [`OPERATIONAL_CONTACT`] of theirs (everybody calls
//! and pays family, friends and shops; contact places a person near the gang, not in it), and
//! kinship and address links, and contact between two persons so linked (a call home), count
//! nothing (a family that knows nothing is the main noise around every member).
//!
//! Identifiers held by more than `max_holders` persons (a company phone, a clearing account) and
//! handsets with more than `max_holders` numbers (relay boxes) tie nobody: they would make a clique.

use super::rank::strength;
use crate::model::run::Weighting;
use crate::model::{EntityKind, LinkKind};
use crate::snapshot::{Ix, Snapshot};
use rayon::prelude::*;

/// Weight of two persons holding the same identifier.
pub const SHARED_ID: f32 = 6.0;
/// Weight of two persons whose phones were in the same handset.
pub const SHARED_DEVICE: f32 = 4.0;
/// Weight of a recorded statement that two persons acted together (see the module docs).
pub const ASSOCIATION: f32 = 6.0;
/// Counterparties from which a call or transfer starts to count less (a busy private number).
pub const HUB_DEGREE: f64 = 20.0;

/// `1 / (1 + ln(1 + degree / HUB_DEGREE))²`: 1 for a quiet number, 0.35 at 20 counterparties, 0.07
/// at 300, 0.03 at 3,000 (an inverse-document-frequency weighting: a tie through a busy end is
/// common, so it says little about the pair).
pub fn hub_damping(degree: usize) -> f32 {
    (1.0 / (1.0 + (degree as f64 / HUB_DEGREE).ln_1p()).powi(2)) as f32
}

/// The weight of a direct person-to-person link.
fn relation_weight(link: &crate::snapshot::Link, kin: f32) -> f32 {
    match link.kind {
        LinkKind::RECRUITED
        | LinkKind::FINANCED
        | LinkKind::SMUGGLED
        | LinkKind::COLLEAGUE
        | LinkKind::MEMBER_OF
        | LinkKind::TRAVELLED_WITH => ASSOCIATION,
        LinkKind::RELATIVE | LinkKind::SAME_ADDRESS => strength(link) as f32 * kin,
        _ => strength(link) as f32,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionConfig {
    /// Identifiers or handsets with more holders than this tie nobody.
    pub max_holders: usize,
    /// Factor on calls, messages and transfers (contact evidence).
    pub contact: f32,
    /// Factor on kinship and same-address links.
    pub kin: f32,
    /// Further factor on contact between two persons linked by kinship or address (a call home).
    pub kin_contact: f32,
}

/// Factor on contact (calls, messages, transfers) of the operational weighting.
pub const OPERATIONAL_CONTACT: f32 = 0.2;

impl ProjectionConfig {
    /// Every tie at its evidence strength ([`Weighting::Evidence`]).
    pub fn standard(max_holders: usize) -> ProjectionConfig {
        ProjectionConfig::for_weighting(max_holders, Weighting::Evidence)
    }

    /// The factors of a run's weighting: see [`Weighting`] and the module docs.
    pub fn for_weighting(max_holders: usize, w: Weighting) -> ProjectionConfig {
        match w {
            Weighting::Evidence => ProjectionConfig {
                max_holders,
                contact: 1.0,
                kin: 1.0,
                kin_contact: 1.0,
            },
            Weighting::Operational => ProjectionConfig {
                max_holders,
                contact: OPERATIONAL_CONTACT,
                kin: 0.0,
                kin_contact: 0.0,
            },
        }
    }
}

/// An undirected weighted edge list over `0..nodes.len()`, each pair once (`u < v`), sorted, with the
/// snapshot index of each node.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub nodes: Vec<Ix>,
    pub edges: Vec<(u32, u32, f32)>,
}

const NONE: u32 = u32::MAX;

fn merge(mut pairs: Vec<(u32, u32, f32)>) -> Vec<(u32, u32, f32)> {
    pairs.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut out: Vec<(u32, u32, f32)> = Vec::with_capacity(pairs.len());
    for (a, b, w) in pairs {
        match out.last_mut() {
            Some(last) if (last.0, last.1) == (a, b) => last.2 += w,
            _ => out.push((a, b, w)),
        }
    }
    out
}

fn ordered(a: u32, b: u32, w: f32) -> Option<(u32, u32, f32)> {
    match a.cmp(&b) {
        std::cmp::Ordering::Less => Some((a, b, w)),
        std::cmp::Ordering::Greater => Some((b, a, w)),
        std::cmp::Ordering::Equal => None,
    }
}

/// The person-level projection. See the module docs.
///
/// # Complexity
/// O(m + Σ h²) where h is the number of holders of an identifier (bounded by `max_holders`), parallel
/// over entities; then a parallel sort of the pairs.
pub fn person_projection(snap: &Snapshot, cfg: &ProjectionConfig) -> Projection {
    let n = snap.node_count();
    let nodes: Vec<Ix> = (0..n as Ix)
        .filter(|&v| snap.kind(v) == EntityKind::Person)
        .collect();
    let mut local = vec![NONE; n];
    for (i, &v) in nodes.iter().enumerate() {
        local[v as usize] = i as u32;
    }
    let local = &local;
    // pairs of persons linked by kinship or address (whose contact `kin_contact` scales)
    let mut kin_pairs: rustc_hash::FxHashSet<(u32, u32)> = Default::default();
    for &v in nodes.iter().filter(|_| cfg.kin_contact != 1.0) {
        for (u, l) in snap.out_links(v) {
            if local[u as usize] != NONE
                && matches!(
                    snap.link_kind(l),
                    LinkKind::RELATIVE | LinkKind::SAME_ADDRESS
                )
            {
                let (a, b) = (local[v as usize], local[u as usize]);
                kin_pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    let kin_pairs = &kin_pairs;
    // Holders (local person indices) of each identifier.
    let holders = |v: Ix| -> Vec<u32> {
        let mut h: Vec<u32> = snap
            .all_links(v)
            .filter(|&(p, l)| {
                local[p as usize] != NONE
                    && matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
            })
            .map(|(p, _)| local[p as usize])
            .collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let pairs: Vec<(u32, u32, f32)> = (0..n as Ix)
        .into_par_iter()
        .flat_map_iter(|v| {
            let mut out: Vec<(u32, u32, f32)> = Vec::new();
            match snap.kind(v) {
                EntityKind::Person => {
                    // direct person-person links, counted from their source
                    for (u, l) in snap.out_links(v) {
                        let link = snap.link(l);
                        if local[u as usize] != NONE
                            && !matches!(link.kind, LinkKind::OWNS | LinkKind::USES)
                        {
                            let w = relation_weight(link, cfg.kin);
                            if w > 0.0 {
                                out.extend(ordered(local[v as usize], local[u as usize], w));
                            }
                        }
                    }
                }
                EntityKind::Device => {
                    let phones: Vec<Ix> = snap
                        .all_links(v)
                        .filter(|&(_, l)| snap.link_kind(l) == LinkKind::DEVICE_OF)
                        .map(|(p, _)| p)
                        .collect();
                    if phones.len() <= cfg.max_holders {
                        let mut people: Vec<u32> = phones
                            .iter()
                            .flat_map(|&p| holders(p))
                            .chain(holders(v))
                            .collect();
                        people.sort_unstable();
                        people.dedup();
                        if people.len() <= cfg.max_holders {
                            for (i, &a) in people.iter().enumerate() {
                                for &b in &people[i + 1..] {
                                    out.push((a, b, SHARED_DEVICE));
                                }
                            }
                        }
                    }
                }
                _ => {
                    let mine = holders(v);
                    if mine.is_empty() || mine.len() > cfg.max_holders {
                        return out;
                    }
                    for (i, &a) in mine.iter().enumerate() {
                        for &b in &mine[i + 1..] {
                            out.push((a, b, SHARED_ID));
                        }
                    }
                    // calls, messages and transfers to identifiers of other persons (from the source)
                    let busy = snap.degree(v);
                    for (u, l) in snap.out_links(v) {
                        let link = snap.link(l);
                        if !matches!(
                            link.kind,
                            LinkKind::CALL | LinkKind::SMS | LinkKind::TRANSFER
                        ) {
                            continue;
                        }
                        let theirs = holders(u);
                        if theirs.is_empty() || theirs.len() > cfg.max_holders {
                            continue;
                        }
                        let w = strength(link) as f32
                            * hub_damping(busy.max(snap.degree(u)))
                            * cfg.contact;
                        for &a in &mine {
                            for &b in &theirs {
                                let k = if kin_pairs.contains(&(a.min(b), a.max(b))) {
                                    cfg.kin_contact
                                } else {
                                    1.0
                                };
                                if w * k > 0.0 {
                                    out.extend(ordered(a, b, w * k));
                                }
                            }
                        }
                    }
                }
            }
            out
        })
        .collect();
    Projection {
        nodes,
        edges: merge(pairs),
    }
}

/// The full entity graph as an undirected weighted edge list: every link, both directions folded
/// into one pair, weighted by evidence strength (parallel links between two entities add up).
///
/// # Complexity
/// O(m log m) (one parallel sort).
pub fn entity_edges(snap: &Snapshot) -> Projection {
    let pairs: Vec<(u32, u32, f32)> = snap
        .links()
        .par_iter()
        .filter_map(|l| ordered(l.src, l.dst, strength(l) as f32))
        .collect();
    Projection {
        nodes: (0..snap.node_count() as Ix).collect(),
        edges: merge(pairs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::rank::tests::{case, person};

    fn weight(p: &Projection, a: Ix, b: Ix) -> f32 {
        let la = p.nodes.iter().position(|&v| v == a).unwrap() as u32;
        let lb = p.nodes.iter().position(|&v| v == b).unwrap() as u32;
        let (x, y) = if la < lb { (la, lb) } else { (lb, la) };
        p.edges
            .iter()
            .find(|e| (e.0, e.1) == (x, y))
            .map_or(0.0, |e| e.2)
    }

    #[test]
    fn persons_tied_by_calls_devices_money_and_relations() {
        let (snap, _) = case();
        let p = person_projection(&snap, &ProjectionConfig::standard(50));
        assert!(p.nodes.iter().all(|&v| snap.kind(v) == EntityKind::Person));
        assert!(p
            .edges
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert!(p.edges.iter().all(|e| e.0 < e.1 && e.2 > 0.0));
        let s = person(&snap, "S");
        // M1 shares a handset with the seed and they call: more than calls alone
        let m1 = weight(&p, s, person(&snap, "M1"));
        let m5 = weight(&p, s, person(&snap, "M5"));
        assert!(m1 > m5 && m5 > 0.0, "{m1} {m5}");
        assert!(
            weight(&p, s, person(&snap, "R")) > 0.0,
            "relative and calls"
        );
        assert!(
            weight(&p, person(&snap, "B"), person(&snap, "C")) > 0.0,
            "payments"
        );
        assert_eq!(weight(&p, s, person(&snap, "V1")), 0.0);
    }

    #[test]
    fn busy_ends_weigh_less() {
        assert_eq!(hub_damping(0), 1.0);
        let d: Vec<f32> = [1, 20, 300, 3000].iter().map(|&k| hub_damping(k)).collect();
        assert!(d.windows(2).all(|w| w[0] > w[1]), "{d:?}");
        assert!((d[1] - 0.349).abs() < 0.01 && d[3] < 0.05, "{d:?}");
    }

    #[test]
    fn entity_edges_fold_directions() {
        let snap = Snapshot::from_edges(
            3,
            EntityKind::Phone,
            LinkKind::CALL,
            &[(0, 1), (1, 0), (1, 2), (2, 2)],
        );
        let p = entity_edges(&snap);
        assert_eq!(p.edges.len(), 2);
        assert_eq!((p.edges[0].0, p.edges[0].1), (0, 1));
        assert!(p.edges[0].2 > p.edges[1].2);
    }
}
