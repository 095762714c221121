//! Shortest and k shortest paths between two entities, by evidence strength.
//!
//! The neighbourhood of both ends (an [`expand`] from the two of them, up to half the maximum length
//! each) is extracted into a `petgraph` `UnGraph`, where `petgraph::algo::astar` (with a zero
//! heuristic, i.e. Dijkstra with the path) finds the shortest path, and Yen's algorithm, built on it,
//! the next ones as simple paths. A link's length is [`rank::cost`](super::rank::cost): strong links
//! (many calls, large or many transfers, ownership) are short. Hubs are not passed through unless
//! asked.

use super::expand::{expand, ExpandConfig, ExpandError, HubPolicy, LinkFilter};
use super::rank::{cost, PathStep};
use crate::snapshot::{Ix, Snapshot};
use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;
use rustc_hash::{FxHashMap, FxHashSet};

/// What to look for.
#[derive(Clone, Debug, PartialEq)]
pub struct PathConfig {
    pub from: Ix,
    pub to: Ix,
    /// Paths wanted (1 = the shortest only).
    pub k: usize,
    /// At most this many links a path.
    pub max_len: u32,
    /// Allow paths through hubs (service numbers, clearing accounts, very high degree).
    pub through_hubs: bool,
    pub filter: LinkFilter,
}

/// A path with its total length.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundPath {
    pub cost: f64,
    pub steps: Vec<PathStep>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    #[error("entity index {0} is not in the snapshot")]
    UnknownEntity(Ix),
    #[error("both ends are the same entity")]
    SameEntity,
}

impl From<ExpandError> for PathError {
    fn from(e: ExpandError) -> PathError {
        match e {
            ExpandError::UnknownSeed(s) => PathError::UnknownEntity(s),
            _ => PathError::UnknownEntity(Ix::MAX),
        }
    }
}

/// Up to `k` shortest simple paths from `from` to `to`, shortest first; empty when none within
/// `max_len`.
///
/// # Complexity
/// Extraction O(n_s + m_s) (parallel expansion); then Yen: O(k · L · (m_s + n_s) log n_s) for paths of
/// at most L links, on the extracted neighbourhood only.
pub fn k_shortest_paths(snap: &Snapshot, cfg: &PathConfig) -> Result<Vec<FoundPath>, PathError> {
    let n = snap.node_count();
    for v in [cfg.from, cfg.to] {
        if v as usize >= n {
            return Err(PathError::UnknownEntity(v));
        }
    }
    if cfg.from == cfg.to {
        return Err(PathError::SameEntity);
    }
    let exp = expand(
        snap,
        &ExpandConfig {
            seeds: vec![cfg.from, cfg.to],
            hops: cfg.max_len.div_ceil(2),
            filter: cfg.filter.clone(),
            hubs: if cfg.through_hubs {
                HubPolicy::none()
            } else {
                HubPolicy::standard()
            },
            max_nodes: 500_000,
            free_links: vec![],
        },
    )?;
    // The neighbourhood as a petgraph graph: node weight = snapshot index, edge weight = link.
    let mut g: UnGraph<Ix, u32> = UnGraph::default();
    let mut local: FxHashMap<Ix, NodeIndex> = FxHashMap::default();
    for &(v, _) in &exp.nodes {
        local.insert(v, g.add_node(v));
    }
    for &(v, _) in &exp.nodes {
        for (u, l) in snap.out_links(v) {
            if let Some(&b) = local.get(&u) {
                if cfg.filter.passes(snap.link(l)) {
                    g.add_edge(local[&v], b, l);
                }
            }
        }
    }
    let blocked: FxHashSet<NodeIndex> = exp
        .hubs
        .iter()
        .filter(|h| h.ix != cfg.from && h.ix != cfg.to)
        .map(|h| local[&h.ix])
        .collect();
    let (Some(&s), Some(&t)) = (local.get(&cfg.from), local.get(&cfg.to)) else {
        return Ok(Vec::new());
    };
    let found = yen(snap, &g, s, t, cfg.k.max(1), cfg.max_len as usize, &blocked);
    Ok(found
        .into_iter()
        .map(|(c, nodes, edges)| FoundPath {
            cost: c,
            steps: nodes
                .windows(2)
                .zip(edges)
                .map(|(w, e)| {
                    let (a, b) = (g[w[0]], g[w[1]]);
                    let l = g[e];
                    PathStep {
                        from: a,
                        to: b,
                        link: l,
                        forward: snap.link(l).src == a,
                    }
                })
                .collect(),
        })
        .collect())
}

type Found = (f64, Vec<NodeIndex>, Vec<EdgeIndex>);

/// One shortest path avoiding `banned_nodes` and `banned_edges`, by petgraph's A* with a zero
/// heuristic. Returns the nodes and, for each step, the cheapest parallel edge used.
fn shortest(
    snap: &Snapshot,
    g: &UnGraph<Ix, u32>,
    s: NodeIndex,
    t: NodeIndex,
    banned_nodes: &FxHashSet<NodeIndex>,
    banned_edges: &FxHashSet<EdgeIndex>,
) -> Option<Found> {
    let (c, nodes) = petgraph::algo::astar(
        g,
        s,
        |v| v == t,
        |e| {
            if banned_edges.contains(&e.id())
                || banned_nodes.contains(&e.target())
                || banned_nodes.contains(&e.source())
            {
                f64::INFINITY
            } else {
                cost(snap.link(*e.weight()))
            }
        },
        |_| 0.0,
    )?;
    if !c.is_finite() {
        return None;
    }
    let edges = nodes
        .windows(2)
        .map(|w| best_edge(snap, g, w[0], w[1], banned_edges))
        .collect::<Option<Vec<_>>>()?;
    Some((c, nodes, edges))
}

fn best_edge(
    snap: &Snapshot,
    g: &UnGraph<Ix, u32>,
    a: NodeIndex,
    b: NodeIndex,
    banned: &FxHashSet<EdgeIndex>,
) -> Option<EdgeIndex> {
    g.edges_connecting(a, b)
        .filter(|e| !banned.contains(&e.id()))
        .min_by(|x, y| {
            cost(snap.link(*x.weight()))
                .total_cmp(&cost(snap.link(*y.weight())))
                .then(x.id().cmp(&y.id()))
        })
        .map(|e| e.id())
}

/// Yen's k shortest simple paths, keeping only paths of at most `max_len` links.
fn yen(
    snap: &Snapshot,
    g: &UnGraph<Ix, u32>,
    s: NodeIndex,
    t: NodeIndex,
    k: usize,
    max_len: usize,
    blocked: &FxHashSet<NodeIndex>,
) -> Vec<Found> {
    let mut accepted: Vec<Found> = Vec::new();
    let mut candidates: Vec<Found> = Vec::new();
    let Some(first) = shortest(snap, g, s, t, blocked, &FxHashSet::default()) else {
        return accepted;
    };
    candidates.push(first);
    // Yen explores more than k when some candidates are too long.
    let mut rounds = 0;
    while accepted.len() < k && rounds < 4 * k + 8 {
        rounds += 1;
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        let Some(best) = candidates.pop() else {
            break;
        };
        if accepted.iter().any(|p| p.1 == best.1 && p.2 == best.2) {
            continue;
        }
        let (_, nodes, edges) = &best;
        for i in 0..nodes.len().saturating_sub(1) {
            let spur = nodes[i];
            let root_nodes = &nodes[..=i];
            let root_edges = &edges[..i];
            let mut banned_edges: FxHashSet<EdgeIndex> = FxHashSet::default();
            for p in accepted.iter().chain(std::iter::once(&best)) {
                if p.1.len() > i && p.1[..=i] == *root_nodes && p.2[..i] == *root_edges {
                    if let Some(&e) = p.2.get(i) {
                        banned_edges.insert(e);
                    }
                }
            }
            let mut banned_nodes = blocked.clone();
            banned_nodes.extend(root_nodes[..i].iter().copied());
            if let Some((c, tail_nodes, tail_edges)) =
                shortest(snap, g, spur, t, &banned_nodes, &banned_edges)
            {
                let root_cost: f64 = root_edges.iter().map(|&e| cost(snap.link(g[e]))).sum();
                let mut all_nodes = root_nodes[..i].to_vec();
                all_nodes.extend(tail_nodes);
                let mut all_edges = root_edges.to_vec();
                all_edges.extend(tail_edges);
                let cand = (root_cost + c, all_nodes, all_edges);
                if !candidates
                    .iter()
                    .chain(&accepted)
                    .any(|p| p.1 == cand.1 && p.2 == cand.2)
                {
                    candidates.push(cand);
                }
            }
        }
        if best.2.len() <= max_len {
            accepted.push(best);
        }
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::rank::tests::{case, ix, person};
    use crate::model::{EntityKind, LinkKind};

    fn cfg(from: Ix, to: Ix, k: usize) -> PathConfig {
        PathConfig {
            from,
            to,
            k,
            max_len: 6,
            through_hubs: false,
            filter: LinkFilter::all(),
        }
    }

    #[test]
    fn shortest_and_alternatives_on_a_small_graph() {
        // 0-1-3 and 0-2-3 and 0-4-5-3; link 0-1 carries more calls (shorter).
        let snap = Snapshot::from_edges(
            6,
            EntityKind::Phone,
            LinkKind::CALL,
            &[(0, 1), (1, 3), (0, 2), (2, 3), (0, 4), (4, 5), (5, 3)],
        );
        let found = k_shortest_paths(&snap, &cfg(0, 3, 5)).unwrap();
        assert_eq!(found.len(), 3);
        let nodes = |p: &FoundPath| {
            let mut v = vec![p.steps[0].from];
            v.extend(p.steps.iter().map(|s| s.to));
            v
        };
        assert_eq!(nodes(&found[0]).len(), 3);
        assert_eq!(nodes(&found[1]).len(), 3);
        assert_eq!(nodes(&found[2]), vec![0, 4, 5, 3]);
        assert!(found.windows(2).all(|w| w[0].cost <= w[1].cost));
        // max length cuts the long one
        let mut c = cfg(0, 3, 5);
        c.max_len = 2;
        assert_eq!(k_shortest_paths(&snap, &c).unwrap().len(), 2);
        assert_eq!(
            k_shortest_paths(&snap, &cfg(0, 0, 1)).unwrap_err(),
            PathError::SameEntity
        );
        assert_eq!(
            k_shortest_paths(&snap, &cfg(0, 99, 1)).unwrap_err(),
            PathError::UnknownEntity(99)
        );
    }

    #[test]
    fn hubs_are_avoided_unless_asked() {
        let (snap, _) = case();
        let v1 = person(&snap, "V1");
        let m1 = ix(&snap, EntityKind::Phone, "+8613900000001");
        let hotline = ix(&snap, EntityKind::Phone, "95588");
        let mut c = cfg(v1, m1, 3);
        let found = k_shortest_paths(&snap, &c).unwrap();
        assert!(found
            .iter()
            .all(|p| p.steps.iter().all(|s| s.to != hotline)));
        c.through_hubs = true;
        let found = k_shortest_paths(&snap, &c).unwrap();
        assert!(found[0].steps.iter().any(|s| s.to == hotline));
    }
}
