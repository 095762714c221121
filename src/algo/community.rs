//! Community runs over a snapshot: detection on the person projection or the entity graph, the
//! community of every entity, ids that stay stable from one run to the next, and the comparison of
//! two runs. The per-community report is [`super::report`]; the store keeps the result.
//!
//! * **Detection** calls [`leiden`](super::leiden), [`louvain`](super::leiden::louvain),
//!   [`label_propagation`](super::lpa) or [`connected_components`](super::components) on the graph
//!   [`super::projection`] builds.
//! * **Attachment** (person projection): an identifier joins the community most of its holders
//!   (persons that own or use it) are in; a handset without holders joins the community most of its
//!   numbers joined. Ties go to the smaller local community, so the result is deterministic.
//! * **Stable ids**: the new communities are matched to the previous run's by member overlap,
//!   greedily by Jaccard similarity (ties: larger overlap, then the smaller old id, then the smaller
//!   new community), a pair counting only from [`MIN_JACCARD`]. A matched community keeps the old
//!   id; the others get fresh ids (never reused: runs carry `next_community`), largest first.

use super::components::connected_components;
use super::graph::{Graph, GraphError};
use super::groups::{groups, GroupConfig};
use super::leiden::{leiden, louvain, LeidenConfig, LouvainConfig, Quality};
use super::lpa::{label_propagation, LabelPropagationConfig};
use super::projection::{entity_edges, person_projection, Projection, ProjectionConfig};
use super::quality::modularity;
use crate::model::run::{
    Algo, GraphKind, LinkedGroup, MemberEntry, Membership, Run, RunInfo, RunParams, GROUP_MIN_SIZE,
};
use crate::model::{EntityId, EntityKind, LinkKind};
use crate::snapshot::{Ix, Snapshot};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::time::Instant;

/// Pairs of old and new communities less similar than this are not the same community.
pub const MIN_JACCARD: f64 = 0.1;
/// Identifiers held by more persons than this tie nobody in the person projection by default: a
/// household or a small firm shares a number, a company switchboard or a clearing account does not
/// make its users a gang.
pub const DEFAULT_MAX_HOLDERS: u32 = 12;

const NONE: u32 = u32::MAX;

/// The partition of one run, before ids are matched.
pub struct Detection {
    /// The partitioned graph and the snapshot index of each of its nodes.
    pub projection: Projection,
    pub graph: Graph,
    /// Local community (`0..count`) of each graph node.
    pub local: Vec<u32>,
    pub count: usize,
    pub modularity: f64,
    /// Local community of every snapshot entity (`u32::MAX`: none).
    pub of_entity: Vec<u32>,
    /// Whether the entity is a node of the graph.
    pub is_member: Vec<bool>,
    pub seconds_graph: f64,
    pub seconds_detect: f64,
}

/// Runs the detection a run's parameters ask for.
///
/// # Errors
/// Only if the projection is malformed (an internal error): [`GraphError`].
///
/// # Complexity
/// The projection's cost, then the algorithm's (near-linear in the edges for all four), then
/// O(n + m) for attachment and modularity.
pub fn detect(snap: &Snapshot, params: &RunParams) -> Result<Detection, GraphError> {
    let t = Instant::now();
    let (projection, graph) = project(snap, params)?;
    let seconds_graph = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (local, count) = match params.algo {
        Algo::Leiden => {
            let p = leiden(
                &graph,
                &LeidenConfig {
                    quality: Quality::Modularity,
                    resolution: params.resolution,
                    seed: params.seed,
                    iterations: 2,
                    max_levels: 32,
                },
            );
            (p.membership, p.community_count)
        }
        Algo::Louvain => {
            let p = louvain(
                &graph,
                &LouvainConfig {
                    resolution: params.resolution,
                    seed: params.seed,
                    max_levels: 32,
                },
            );
            (p.membership, p.community_count)
        }
        Algo::Lpa => {
            let p = label_propagation(
                &graph,
                &LabelPropagationConfig {
                    seed: params.seed,
                    max_rounds: 100,
                    tolerance: 1e-5,
                },
            );
            (p.membership, p.community_count)
        }
        Algo::Wcc => {
            let c = connected_components(graph.csr());
            (c.membership, c.count)
        }
    };
    let seconds_detect = t.elapsed().as_secs_f64();
    Ok(complete(
        snap,
        params,
        projection,
        graph,
        local,
        count,
        seconds_graph,
        seconds_detect,
    ))
}

/// The graph a run's parameters partition.
fn project(snap: &Snapshot, params: &RunParams) -> Result<(Projection, Graph), GraphError> {
    let projection = match params.graph {
        GraphKind::Person => person_projection(
            snap,
            &ProjectionConfig::for_weighting(params.max_holders as usize, params.weighting),
        ),
        GraphKind::Entity => entity_edges(snap),
    };
    let graph = Graph::from_edges(projection.nodes.len(), &projection.edges)?;
    Ok((projection, graph))
}

/// The detection of a partition computed elsewhere (`fraudnet cluster`) on the graph `params`
/// describe: `community_of` gives the community of a node of that graph (any ids), `None` for a
/// node the computation did not see, which then stays alone.
///
/// # Errors
/// As [`detect`].
pub fn adopt(
    snap: &Snapshot,
    params: &RunParams,
    community_of: impl Fn(Ix) -> Option<u32>,
) -> Result<Detection, GraphError> {
    let t = Instant::now();
    let (projection, graph) = project(snap, params)?;
    let seconds_graph = t.elapsed().as_secs_f64();
    let mut fresh = u32::MAX;
    let mut local: Vec<u32> = projection
        .nodes
        .iter()
        .map(|&v| {
            community_of(v).unwrap_or_else(|| {
                fresh -= 1;
                fresh
            })
        })
        .collect();
    let count = crate::algo::scratch::relabel_dense(&mut local);
    Ok(complete(
        snap,
        params,
        projection,
        graph,
        local,
        count,
        seconds_graph,
        0.0,
    ))
}

/// Modularity and the community of every entity (attachment), for a partition of the graph.
#[allow(clippy::too_many_arguments)]
fn complete(
    snap: &Snapshot,
    params: &RunParams,
    projection: Projection,
    graph: Graph,
    local: Vec<u32>,
    count: usize,
    seconds_graph: f64,
    seconds_detect: f64,
) -> Detection {
    let q = modularity(&graph, &local, 1.0).unwrap_or(0.0);
    let n = snap.node_count();
    let mut of_entity = vec![NONE; n];
    let mut is_member = vec![false; n];
    for (i, &v) in projection.nodes.iter().enumerate() {
        of_entity[v as usize] = local[i];
        is_member[v as usize] = true;
    }
    if params.graph == GraphKind::Person {
        attach(snap, &mut of_entity);
    }
    Detection {
        projection,
        graph,
        local,
        count,
        modularity: q,
        of_entity,
        is_member,
        seconds_graph,
        seconds_detect,
    }
}

/// The most frequent community among `cs` (ties: the smallest), ignoring `NONE`.
fn majority(mut cs: Vec<u32>) -> u32 {
    cs.retain(|&c| c != NONE);
    cs.sort_unstable();
    let mut best = (0usize, NONE);
    let mut i = 0;
    while i < cs.len() {
        let j = cs[i..].iter().take_while(|&&c| c == cs[i]).count();
        if j > best.0 {
            best = (j, cs[i]);
        }
        i += j;
    }
    best.1
}

/// Identifiers join their holders' community, then handsets their numbers'. See the module docs.
fn attach(snap: &Snapshot, of: &mut [u32]) {
    let n = snap.node_count() as Ix;
    let first: Vec<(Ix, u32)> = (0..n)
        .into_par_iter()
        .filter(|&v| snap.kind(v) != EntityKind::Person)
        .filter_map(|v| {
            let cs: Vec<u32> = snap
                .all_links(v)
                .filter(|&(p, l)| {
                    snap.kind(p) == EntityKind::Person
                        && matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
                })
                .map(|(p, _)| of[p as usize])
                .collect();
            let c = majority(cs);
            (c != NONE).then_some((v, c))
        })
        .collect();
    for (v, c) in first {
        of[v as usize] = c;
    }
    let of_ref = &*of;
    let second: Vec<(Ix, u32)> = (0..n)
        .into_par_iter()
        .filter(|&v| snap.kind(v) == EntityKind::Device && of_ref[v as usize] == NONE)
        .filter_map(|v| {
            let cs: Vec<u32> = snap
                .all_links(v)
                .filter(|&(_, l)| snap.link_kind(l) == LinkKind::DEVICE_OF)
                .map(|(p, _)| of_ref[p as usize])
                .collect();
            let c = majority(cs);
            (c != NONE).then_some((v, c))
        })
        .collect();
    for (v, c) in second {
        of[v as usize] = c;
    }
}

/// Ids for the local communities of `det`, matched to `previous` (see the module docs), and the
/// membership of every entity with those ids. `next_community` is the smallest id not used before
/// (1 for a first run); returns the new value with the membership and the ids by local community.
pub fn assign_ids(
    snap: &Snapshot,
    det: &Detection,
    previous: Option<&Membership>,
    next_community: u32,
) -> (Membership, Vec<u32>, u32) {
    let n = snap.node_count();
    // entries by entity id, with local communities for now
    let mut entries: Vec<(EntityId, u32, bool)> = (0..n)
        .filter(|&v| det.of_entity[v] != NONE)
        .map(|v| (snap.node(v as Ix).id, det.of_entity[v], det.is_member[v]))
        .collect();
    entries.par_sort_unstable_by_key(|e| e.0);
    let mut size = vec![0u32; det.count];
    let mut smallest = vec![EntityId(u64::MAX); det.count];
    for &(id, c, m) in &entries {
        if m {
            size[c as usize] += 1;
            smallest[c as usize] = smallest[c as usize].min(id);
        }
    }
    let mut ids = vec![NONE; det.count];
    if let Some(prev) = previous {
        let mut old_size: FxHashMap<u32, u32> = FxHashMap::default();
        for e in prev.entries.iter().filter(|e| e.member) {
            *old_size.entry(e.community).or_default() += 1;
        }
        let mut overlap: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        let mut j = 0;
        for &(id, c, m) in &entries {
            if !m {
                continue;
            }
            while j < prev.entries.len() && prev.entries[j].entity < id {
                j += 1;
            }
            if let Some(o) = prev.entries.get(j) {
                if o.entity == id && o.member {
                    *overlap.entry((c, o.community)).or_default() += 1;
                }
            }
        }
        let mut pairs: Vec<(f64, u32, u32, u32)> = overlap
            .into_iter()
            .map(|((c, o), ov)| {
                let union = size[c as usize] + old_size.get(&o).copied().unwrap_or(0) - ov;
                (f64::from(ov) / f64::from(union.max(1)), ov, o, c)
            })
            .filter(|p| p.0 >= MIN_JACCARD)
            .collect();
        pairs.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        let mut taken: rustc_hash::FxHashSet<u32> = Default::default();
        for (_, _, o, c) in pairs {
            if ids[c as usize] == NONE && !taken.contains(&o) {
                ids[c as usize] = o;
                taken.insert(o);
            }
        }
    }
    let mut fresh: Vec<u32> = (0..det.count as u32)
        .filter(|&c| ids[c as usize] == NONE)
        .collect();
    fresh.sort_unstable_by(|&a, &b| {
        size[b as usize]
            .cmp(&size[a as usize])
            .then(smallest[a as usize].cmp(&smallest[b as usize]))
    });
    let mut next = next_community.max(1);
    for c in fresh {
        ids[c as usize] = next;
        next = next.saturating_add(1);
    }
    let membership = Membership {
        entries: entries
            .into_iter()
            .map(|(entity, c, member)| MemberEntry {
                entity,
                community: ids[c as usize],
                member,
            })
            .collect(),
    };
    (membership, ids, next)
}

/// The run before this one: its membership and the smallest id it left unused.
pub struct Previous<'a> {
    pub membership: &'a Membership,
    pub next_community: u32,
}

/// A whole run: detection, ids matched to `previous`, and the report. `id` and `time` (Unix
/// seconds) are the caller's; `seconds` in the result is the wall time of this call.
///
/// # Errors
/// As [`detect`].
pub fn run(
    snap: &Snapshot,
    params: &RunParams,
    id: u32,
    time: crate::model::Timestamp,
    previous: Option<Previous<'_>>,
) -> Result<(Run, Detection), GraphError> {
    let t = Instant::now();
    let det = detect(snap, params)?;
    Ok(finish(snap, params, det, id, time, previous, t))
}

/// A run from a detection: ids matched to `previous`, the report and the linked groups (when
/// `params.groups` asks for them). `seconds` counts from `started`.
pub fn finish(
    snap: &Snapshot,
    params: &RunParams,
    det: Detection,
    id: u32,
    time: crate::model::Timestamp,
    previous: Option<Previous<'_>>,
    started: Instant,
) -> (Run, Detection) {
    let t = started;
    let (membership, ids, next) = assign_ids(
        snap,
        &det,
        previous.as_ref().map(|p| p.membership),
        previous.as_ref().map_or(1, |p| p.next_community),
    );
    let communities = super::report::report(snap, &det, &ids, params.seed);
    let groups = params.groups.map_or_else(Vec::new, |g| {
        linked_groups(snap, &det, &ids, &GroupConfig::new(g, params.seed))
    });
    let info = RunInfo {
        id,
        params: params.clone(),
        time,
        seconds: t.elapsed().as_secs_f64(),
        modularity: det.modularity,
        generation: snap.generation(),
        entities: snap.node_count() as u64,
        links: snap.link_count() as u64,
        nodes: det.projection.nodes.len() as u64,
        edges: det.projection.edges.len() as u64,
        communities: det.count as u32,
        next_community: next,
        cluster: None,
    };
    (
        Run {
            info,
            communities,
            membership,
            groups,
        },
        det,
    )
}

/// The linked groups of a detection ([`super::groups`]) with at least [`GROUP_MIN_SIZE`]
/// members, as entity ids under the run's community ids; largest first (ties: community id, then
/// smallest member), numbered from 1.
pub fn linked_groups(
    snap: &Snapshot,
    det: &Detection,
    ids: &[u32],
    cfg: &GroupConfig,
) -> Vec<LinkedGroup> {
    let h = groups(&det.graph, &det.local, det.count, cfg);
    let mut members: Vec<Vec<EntityId>> = vec![Vec::new(); h.groups.len()];
    for (i, &g) in h.group.iter().enumerate() {
        if h.groups[g as usize].size >= GROUP_MIN_SIZE {
            members[g as usize].push(snap.node(det.projection.nodes[i]).id);
        }
    }
    let mut out: Vec<LinkedGroup> = h
        .groups
        .into_iter()
        .zip(members)
        .filter(|(g, _)| g.size >= GROUP_MIN_SIZE)
        .map(|(g, mut m)| {
            m.sort_unstable();
            LinkedGroup {
                id: 0,
                community: ids[g.community as usize],
                members: m,
                parts: g.parts,
                merges: g.merges,
            }
        })
        .collect();
    out.sort_unstable_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.community.cmp(&b.community))
            .then(a.members.first().cmp(&b.members.first()))
    });
    for (i, g) in out.iter_mut().enumerate() {
        g.id = i as u32 + 1;
    }
    out
}

/// Communities smaller than this are left out of a comparison's lists (they are counted).
pub const COMPARE_MIN_SIZE: u32 = 3;
/// A share of a community that moved together, for splits and merges.
pub const COMPARE_SHARE: f64 = 0.2;

/// What changed from one run to another (communities of at least [`COMPARE_MIN_SIZE`] members).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Ids in both runs: (id, size before, size after, members in both).
    pub persisted: Vec<(u32, u32, u32, u32)>,
    /// A community of the first run whose members went, in shares of at least
    /// [`COMPARE_SHARE`], to two or more communities of the second: (id, [(new id, members)]).
    pub split: Vec<(u32, Vec<(u32, u32)>)>,
    /// A community of the second run that took such shares of two or more of the first.
    pub merged: Vec<(u32, Vec<(u32, u32)>)>,
    /// Ids only in the second run, with their size.
    pub appeared: Vec<(u32, u32)>,
    /// Ids only in the first run, with their size.
    pub vanished: Vec<(u32, u32)>,
    /// Members of both runs, and how many of them changed community id.
    pub common: u64,
    pub moved: u64,
}

fn sizes(m: &Membership) -> FxHashMap<u32, u32> {
    let mut s: FxHashMap<u32, u32> = FxHashMap::default();
    for e in m.entries.iter().filter(|e| e.member) {
        *s.entry(e.community).or_default() += 1;
    }
    s
}

/// Compares two runs' memberships. See [`Comparison`].
///
/// # Complexity
/// O(n) merge of the two sorted memberships plus sorting the lists.
pub fn compare(a: &Membership, b: &Membership) -> Comparison {
    let (sa, sb) = (sizes(a), sizes(b));
    let mut flow: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    let mut out = Comparison::default();
    let (mut i, mut j) = (0, 0);
    while i < a.entries.len() && j < b.entries.len() {
        let (x, y) = (a.entries[i], b.entries[j]);
        match x.entity.cmp(&y.entity) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if x.member && y.member {
                    out.common += 1;
                    out.moved += u64::from(x.community != y.community);
                    *flow.entry((x.community, y.community)).or_default() += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    let big = |s: &FxHashMap<u32, u32>, c: u32| s.get(&c).copied().unwrap_or(0) >= COMPARE_MIN_SIZE;
    let share = |ov: u32, size: u32| ov >= 2 && f64::from(ov) >= COMPARE_SHARE * f64::from(size);
    let mut from: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
    let mut into: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
    for (&(x, y), &ov) in &flow {
        if big(&sa, x) && share(ov, sa[&x]) {
            from.entry(x).or_default().push((y, ov));
        }
        if big(&sb, y) && share(ov, sa.get(&x).copied().unwrap_or(0)) && big(&sa, x) {
            into.entry(y).or_default().push((x, ov));
        }
    }
    let tidy = |m: FxHashMap<u32, Vec<(u32, u32)>>| {
        let mut v: Vec<(u32, Vec<(u32, u32)>)> = m
            .into_iter()
            .filter(|(_, parts)| parts.len() >= 2)
            .map(|(k, mut parts)| {
                parts.sort_unstable_by(|p, q| q.1.cmp(&p.1).then(p.0.cmp(&q.0)));
                (k, parts)
            })
            .collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    };
    out.split = tidy(from);
    out.merged = tidy(into);
    for (&c, &n) in &sa {
        if n < COMPARE_MIN_SIZE {
            continue;
        }
        match sb.get(&c) {
            Some(&m) => {
                let ov = flow.get(&(c, c)).copied().unwrap_or(0);
                out.persisted.push((c, n, m, ov));
            }
            None => out.vanished.push((c, n)),
        }
    }
    for (&c, &n) in &sb {
        if n >= COMPARE_MIN_SIZE && !sa.contains_key(&c) {
            out.appeared.push((c, n));
        }
    }
    out.persisted.sort_unstable();
    out.appeared.sort_unstable();
    out.vanished.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::run::{GroupParams, Weighting};

    /// Two triangles (0-1-2, 3-4-5) joined by one weak call, persons only.
    fn two_triangles(extra: &[(u32, u32)]) -> Snapshot {
        let mut edges = vec![(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)];
        edges.extend_from_slice(extra);
        Snapshot::from_edges(8, EntityKind::Person, LinkKind::RELATIVE, &edges)
    }

    fn params(algo: Algo) -> RunParams {
        RunParams {
            algo,
            resolution: 1.0,
            seed: 1,
            graph: GraphKind::Person,
            max_holders: DEFAULT_MAX_HOLDERS,
            // the triangles are tied by kinship links, which the operational weighting leaves out
            weighting: Weighting::Evidence,
            groups: Some(GroupParams::STANDARD),
        }
    }

    fn community_of(m: &Membership, snap: &Snapshot, v: Ix) -> u32 {
        m.get(snap.node(v).id).unwrap().community
    }

    #[test]
    fn ids_persist_between_runs_and_new_communities_get_new_ids() {
        let snap = two_triangles(&[]);
        let det = detect(&snap, &params(Algo::Leiden)).unwrap();
        assert!(det.modularity > 0.3, "{}", det.modularity);
        let (m1, _, next) = assign_ids(&snap, &det, None, 1);
        let a = community_of(&m1, &snap, 0);
        let b = community_of(&m1, &snap, 4);
        assert_ne!(a, b);
        assert!([a, b].iter().all(|&x| (1..=2).contains(&x)));
        // isolated nodes 6 and 7 are left out of the projection's edges but are nodes: singletons
        assert_eq!(next, 1 + det.count as u32);

        // 6 and 7 become a pair: it keeps the id of one of the two singletons (Jaccard 1/2)
        let snap2 = two_triangles(&[(6, 7)]);
        let mut p = params(Algo::Leiden);
        p.seed = 99;
        let det2 = detect(&snap2, &p).unwrap();
        let (m2, _, next2) = assign_ids(&snap2, &det2, Some(&m1), next);
        assert_eq!(community_of(&m2, &snap2, 1), a);
        assert_eq!(community_of(&m2, &snap2, 5), b);
        let c = community_of(&m2, &snap2, 6);
        assert_eq!(community_of(&m2, &snap2, 7), c);
        assert!(
            [community_of(&m1, &snap, 6), community_of(&m1, &snap, 7)].contains(&c),
            "{c}"
        );
        assert_eq!(next2, next, "no fresh id needed");
        // had the previous run not known 6 and 7, the pair would be new: a fresh id
        let mut partial = m1.clone();
        partial.entries.retain(|e| e.entity.0 <= 6);
        let (m3, _, next3) = assign_ids(&snap2, &det2, Some(&partial), next);
        assert_eq!(community_of(&m3, &snap2, 6), next);
        assert_eq!(next3, next + 1);
        assert_eq!(community_of(&m3, &snap2, 0), a);

        let cmp = compare(&m1, &m2);
        assert_eq!(cmp.persisted.iter().map(|p| p.0).collect::<Vec<_>>(), {
            let mut v = vec![a, b];
            v.sort_unstable();
            v
        });
        assert!(cmp.split.is_empty() && cmp.merged.is_empty());
        assert_eq!(cmp.common, 8);
        assert!(cmp.moved >= 1, "6 and 7 changed community");
    }

    #[test]
    fn a_merge_is_reported_and_keeps_one_id() {
        let snap = two_triangles(&[]);
        let det = detect(&snap, &params(Algo::Leiden)).unwrap();
        let (m1, _, next) = assign_ids(&snap, &det, None, 1);
        // WCC puts both triangles in one community
        let det2 = detect(&snap, &params(Algo::Wcc)).unwrap();
        let (m2, _, _) = assign_ids(&snap, &det2, Some(&m1), next);
        let one = community_of(&m2, &snap, 0);
        assert_eq!(community_of(&m2, &snap, 5), one);
        assert!([community_of(&m1, &snap, 0), community_of(&m1, &snap, 5)].contains(&one));
        let cmp = compare(&m1, &m2);
        assert_eq!(cmp.merged.len(), 1);
        assert_eq!(cmp.merged[0].0, one);
        assert_eq!(cmp.vanished.len(), 1);
        let back = compare(&m2, &m1);
        assert_eq!(back.split.len(), 1);
        assert_eq!(back.appeared.len(), 1);
    }

    #[test]
    fn identifiers_join_their_holders_community() {
        assert_eq!(majority(vec![3, 1, 3, NONE, 1, 1]), 1);
        assert_eq!(majority(vec![NONE]), NONE);
        assert_eq!(majority(vec![2, 5]), 2);
        let (snap, _) = crate::algo::rank::tests::case();
        let det = detect(&snap, &params(Algo::Leiden)).unwrap();
        let m1 = crate::algo::rank::tests::person(&snap, "M1");
        let key = crate::model::ident::phone("+95 9 4000 0001").unwrap().key;
        let phone = snap
            .lookup(EntityKind::Phone, &key)
            .expect("M1's Myanmar number");
        assert!(!det.is_member[phone as usize]);
        assert_eq!(det.of_entity[phone as usize], det.of_entity[m1 as usize]);
        assert!(det.is_member[m1 as usize]);
        // every person is a node, every held identifier has a community
        for v in 0..snap.node_count() as Ix {
            if snap.kind(v) == EntityKind::Person {
                assert!(det.is_member[v as usize]);
            }
        }
    }
}
