//! Lead expansion: everything within `k` hops of one or more seeds, through the links an investigator
//! allows (entity kinds, link kinds, time window, minimum evidence), without flooding through hubs.
//!
//! A hub is an entity that everybody touches: a service number (95588, 10086, 400…), a payment
//! platform's clearing account, an organisation, or any entity whose degree is far above the rest of the
//! graph. A hub reached by the expansion is reported (with its degree) but not expanded through, so a
//! bank hotline does not pull in a tenth of the population. Links by which a police source states
//! co-offending (recruited, smuggled, financed, worked together) do not count toward the degree: a
//! smuggler named by a hundred crossers is a lead, not noise.
//!
//! The traversal is a level-synchronous breadth-first search, parallel with rayon, that switches
//! between a top-down step (scan the frontier's links) and a bottom-up step (scan every unvisited entity
//! for a link into the frontier bitmap) as the frontier grows and shrinks, as in Beamer's
//! direction-optimising BFS. Each level is computed as a set and written in index order, so the result
//! does not depend on the number of threads.

use crate::model::{EntityKind, Flags, LinkKind, Timestamp};
use crate::snapshot::{Ix, Link, Snapshot};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::time::Instant;

/// Degree at or above which an entity is always a hub when no threshold is configured, and the floor of
/// the computed threshold.
pub const MIN_HUB_DEGREE: usize = 200;

/// An entity linked to an organisation (a platform's clearing account, a hotline's number) is a hub
/// from this degree on.
pub const ORG_HUB_DEGREE: usize = 50;

/// Bottom-up steps pay off when the frontier's links exceed the unexplored links divided by this
/// (Beamer's alpha).
const BOTTOM_UP_ALPHA: usize = 14;
/// Return to top-down when the frontier holds fewer entities than all of them divided by this (beta).
const TOP_DOWN_BETA: usize = 24;

const UNSEEN: u32 = u32::MAX;

/// Which links a traversal may follow. Links without a time (registrations, debrief facts) always pass
/// the time window; `min_count` applies to calls, messages and transfers, `min_amount` to transfers.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkFilter {
    /// `None`: every kind.
    pub link_kinds: Option<Vec<LinkKind>>,
    /// `None`: every kind of entity may be entered.
    pub entity_kinds: Option<Vec<EntityKind>>,
    /// Inclusive `[from, to]`; a link passes when its `[first, last]` overlaps it.
    pub window: Option<(Timestamp, Timestamp)>,
    pub min_count: u32,
    /// Fen.
    pub min_amount: i64,
}

impl LinkFilter {
    /// The filter that lets everything through.
    pub fn all() -> LinkFilter {
        LinkFilter {
            link_kinds: None,
            entity_kinds: None,
            window: None,
            min_count: 0,
            min_amount: 0,
        }
    }

    pub fn is_trivial(&self) -> bool {
        self.link_kinds.is_none()
            && self.entity_kinds.is_none()
            && self.window.is_none()
            && self.min_count <= 1
            && self.min_amount <= 0
    }

    /// Whether `link` may be followed.
    #[inline]
    pub fn passes(&self, link: &Link) -> bool {
        // A filter that keeps every link reads nothing of it, so walks over many links do not load
        // their records (totals are never negative: amounts are stored as magnitudes).
        if self.link_kinds.is_none()
            && self.window.is_none()
            && self.min_count == 0
            && self.min_amount <= 0
        {
            return true;
        }
        if let Some(ks) = &self.link_kinds {
            if !ks.contains(&link.kind) {
                return false;
            }
        }
        if let Some((from, to)) = self.window {
            if link.has_time() && (link.last < from || link.first > to) {
                return false;
            }
        }
        let evidenced = matches!(
            link.kind,
            LinkKind::CALL | LinkKind::SMS | LinkKind::TRANSFER
        );
        if evidenced && link.count < self.min_count {
            return false;
        }
        if link.kind == LinkKind::TRANSFER && link.total < self.min_amount {
            return false;
        }
        true
    }

    /// Whether an entity of this kind may be entered.
    #[inline]
    pub fn enters(&self, kind: EntityKind) -> bool {
        self.entity_kinds
            .as_ref()
            .is_none_or(|ks| ks.contains(&kind))
    }
}

/// How to recognise hubs.
#[derive(Clone, Debug, PartialEq)]
pub struct HubPolicy {
    /// Degree from which an entity is a hub. `None`: [`hub_threshold`] of the snapshot.
    pub degree: Option<usize>,
    /// Service numbers are hubs whatever their degree.
    pub service_numbers: bool,
    /// Organisations, and identifiers an organisation owns, are hubs from [`ORG_HUB_DEGREE`].
    pub organisations: bool,
}

impl HubPolicy {
    /// No hubs at all: a plain breadth-first search.
    pub fn none() -> HubPolicy {
        HubPolicy {
            degree: Some(usize::MAX),
            service_numbers: false,
            organisations: false,
        }
    }

    /// Hubs by degree (from the snapshot's distribution), service numbers and organisations.
    pub fn standard() -> HubPolicy {
        HubPolicy {
            degree: None,
            service_numbers: true,
            organisations: true,
        }
    }
}

/// What to expand.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpandConfig {
    pub seeds: Vec<Ix>,
    /// Hops from the nearest seed.
    pub hops: u32,
    pub filter: LinkFilter,
    pub hubs: HubPolicy,
    /// At most this many entities reached (seeds and hubs included). When a level would pass it, the
    /// entities with the most links into the previous level are kept.
    pub max_nodes: usize,
    /// Links that do not count as a hop: with `[OWNS, USES]` a person and the phones and accounts they
    /// hold are one step, so "3 hops" means three calls, transfers or relations away, as an
    /// investigator counts. Empty: every link is a hop.
    pub free_links: Vec<LinkKind>,
}

impl ExpandConfig {
    /// The command line's defaults: 3 hops, no filter, standard hubs, at most 200,000 entities.
    pub fn standard(seeds: Vec<Ix>) -> ExpandConfig {
        ExpandConfig {
            seeds,
            hops: 3,
            filter: LinkFilter::all(),
            hubs: HubPolicy::standard(),
            max_nodes: 200_000,
            free_links: vec![LinkKind::OWNS, LinkKind::USES],
        }
    }
}

/// Why an entity is a hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubReason {
    Degree,
    ServiceNumber,
    Organisation,
}

impl HubReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HubReason::Degree => "high_degree",
            HubReason::ServiceNumber => "service_number",
            HubReason::Organisation => "organisation",
        }
    }
}

/// A hub the expansion reached and did not expand through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hub {
    pub ix: Ix,
    pub degree: usize,
    pub hop: u32,
    pub reason: HubReason,
}

/// How one level was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    TopDown,
    BottomUp,
}

/// Figures of one expansion.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpandStats {
    /// Entities first reached at each hop; `[0]` is the seeds.
    pub per_hop: Vec<usize>,
    pub steps: Vec<Step>,
    pub hub_threshold: usize,
    pub hubs_stopped: usize,
    /// The `max_nodes` cap cut a level short.
    pub truncated: bool,
    /// The last level still had entities to expand when `hops` was reached.
    pub hop_limit_reached: bool,
    pub seconds: f64,
}

/// Domain errors of an expansion.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpandError {
    #[error("no seed given")]
    NoSeed,
    #[error("seed index {0} is not in the snapshot")]
    UnknownSeed(Ix),
}

/// The result: every entity reached with its hop, in (hop, index) order, and the hubs.
#[derive(Clone, Debug)]
pub struct Expansion {
    pub seeds: Vec<Ix>,
    pub nodes: Vec<(Ix, u32)>,
    pub hubs: Vec<Hub>,
    pub filter: LinkFilter,
    /// The hub policy the expansion used, so later stages judge new entities the same way.
    pub hub_policy: HubPolicy,
    pub stats: ExpandStats,
    hop_of: FxHashMap<Ix, u32>,
    hub_set: FxHashSet<Ix>,
}

impl Expansion {
    /// The hop at which `ix` was reached, if it was.
    pub fn hop(&self, ix: Ix) -> Option<u32> {
        self.hop_of.get(&ix).copied()
    }

    pub fn is_hub(&self, ix: Ix) -> bool {
        self.hub_set.contains(&ix)
    }

    /// Why `ix` would be a hub under this expansion's policy, whether reached or not.
    pub fn hub_reason(&self, snap: &Snapshot, ix: Ix) -> Option<HubReason> {
        hub_reason(snap, ix, &self.hub_policy, self.stats.hub_threshold)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// The degree from which an entity counts as a hub: the 99.9th percentile of all degrees, at least
/// [`MIN_HUB_DEGREE`].
///
/// # Complexity
/// O(n) (parallel degree pass and a selection).
pub fn hub_threshold(snap: &Snapshot) -> usize {
    let n = snap.node_count();
    if n == 0 {
        return MIN_HUB_DEGREE;
    }
    let mut degrees: Vec<usize> = (0..n as Ix)
        .into_par_iter()
        .map(|v| snap.degree(v))
        .collect();
    let k = (n * 999 / 1000).min(n - 1);
    let (_, p, _) = degrees.select_nth_unstable(k);
    (*p).max(MIN_HUB_DEGREE)
}

/// [`hub_threshold`] of a snapshot, kept with it.
struct HubThreshold(usize);

/// Links by which a police source (a debrief, a case file) states that two persons acted together:
/// recruited, smuggled, financed, worked together.
pub fn is_stated(kind: LinkKind) -> bool {
    matches!(
        kind,
        LinkKind::RECRUITED | LinkKind::SMUGGLED | LinkKind::FINANCED | LinkKind::COLLEAGUE
    )
}

/// Stated links of `v` (see [`is_stated`]).
fn stated_degree(snap: &Snapshot, v: Ix) -> usize {
    snap.all_links(v)
        .filter(|&(_, l)| is_stated(snap.link_kind(l)))
        .count()
}

/// Whether `v` is a hub under `policy` with degree threshold `threshold`, and why.
pub fn hub_reason(
    snap: &Snapshot,
    v: Ix,
    policy: &HubPolicy,
    threshold: usize,
) -> Option<HubReason> {
    let degree = snap.degree(v);
    if policy.service_numbers && snap.flags(v).contains(Flags::SERVICE) {
        return Some(HubReason::ServiceNumber);
    }
    // a police source's statements about co-offending are never noise: a smuggler named by a
    // hundred crossers is the lead, not a hotline
    // (only persons are stated to co-offend: a clearing account's million links are not scanned)
    if degree >= threshold
        && (snap.kind(v) != EntityKind::Person || degree - stated_degree(snap, v) >= threshold)
    {
        return Some(HubReason::Degree);
    }
    if policy.organisations && degree >= ORG_HUB_DEGREE {
        if snap.kind(v) == EntityKind::Org {
            return Some(HubReason::Organisation);
        }
        let org_owned = snap.all_links(v).any(|(o, l)| {
            snap.kind(o) == EntityKind::Org
                && matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
        });
        if org_owned {
            return Some(HubReason::Organisation);
        }
    }
    None
}

/// Expands from the seeds. See the module docs.
///
/// # Complexity
/// O(Σ over levels of min(frontier links, n)) work, spread over the rayon pool; O(n) memory for the
/// level array (4 bytes an entity) and the frontier bitmap during bottom-up steps.
pub fn expand(snap: &Snapshot, cfg: &ExpandConfig) -> Result<Expansion, ExpandError> {
    let t0 = Instant::now();
    let n = snap.node_count();
    if cfg.seeds.is_empty() {
        return Err(ExpandError::NoSeed);
    }
    if let Some(&s) = cfg.seeds.iter().find(|&&s| s as usize >= n) {
        return Err(ExpandError::UnknownSeed(s));
    }
    let threshold = match cfg.hubs.degree {
        Some(d) => d,
        // the same for every query on a snapshot: computed once
        None => snap.memo(|s| HubThreshold(hub_threshold(s))).0,
    };
    let filter = &cfg.filter;
    let trivial = filter.is_trivial();
    let mut level = vec![UNSEEN; n];
    let mut seeds = cfg.seeds.clone();
    seeds.sort_unstable();
    seeds.dedup();
    for &s in &seeds {
        level[s as usize] = 0;
    }
    let mut nodes: Vec<(Ix, u32)> = seeds.iter().map(|&s| (s, 0)).collect();
    let mut hubs = Vec::new();
    let mut steps = Vec::new();
    let mut hop_limit_reached = false;
    // Seeds are always expanded, even when they are hubs themselves.
    let mut frontier: Vec<Ix> = seeds.clone();
    let (more, added, mut truncated) = close_free(
        snap, cfg, threshold, &mut level, &mut nodes, &mut hubs, &frontier, 0,
    );
    let mut per_hop = vec![seeds.len() + added];
    frontier.extend(more);
    frontier.sort_unstable();
    let mut unexplored: usize = snap.link_count() * 2;
    let mut bottom_up = false;

    for hop in 1..=cfg.hops {
        if frontier.is_empty() {
            break;
        }
        if nodes.len() >= cfg.max_nodes {
            truncated = true;
            break;
        }
        let frontier_links: usize = frontier.par_iter().map(|&v| snap.degree(v)).sum();
        unexplored = unexplored.saturating_sub(frontier_links);
        bottom_up = if bottom_up {
            frontier.len() * TOP_DOWN_BETA >= n
        } else {
            frontier_links * BOTTOM_UP_ALPHA > unexplored
        };
        // (entity, links into the frontier)
        let mut next: Vec<(Ix, u32)> = if bottom_up {
            steps.push(Step::BottomUp);
            let mut bits = vec![0u64; n.div_ceil(64)];
            for &v in &frontier {
                bits[v as usize / 64] |= 1 << (v % 64);
            }
            let in_frontier = |u: Ix| bits[u as usize / 64] & (1 << (u % 64)) != 0;
            let level = &level;
            (0..n as Ix)
                .into_par_iter()
                .filter(|&v| level[v as usize] == UNSEEN && filter.enters(snap.kind(v)))
                .filter_map(|v| {
                    let c = if trivial {
                        snap.out_csr()
                            .neighbors(v)
                            .iter()
                            .chain(snap.in_csr().neighbors(v))
                            .filter(|&&u| in_frontier(u))
                            .count()
                    } else {
                        snap.all_links(v)
                            .filter(|&(u, l)| in_frontier(u) && filter.passes(snap.link(l)))
                            .count()
                    };
                    (c > 0).then_some((v, c as u32))
                })
                .collect()
        } else {
            steps.push(Step::TopDown);
            let level = &level;
            let mut cand: Vec<Ix> = frontier
                .par_iter()
                .flat_map_iter(|&v| {
                    let it: Box<dyn Iterator<Item = Ix> + '_> = if trivial {
                        Box::new(
                            snap.out_csr()
                                .neighbors(v)
                                .iter()
                                .chain(snap.in_csr().neighbors(v))
                                .copied()
                                .filter(move |&u| level[u as usize] == UNSEEN),
                        )
                    } else {
                        Box::new(
                            snap.all_links(v)
                                .filter(move |&(u, l)| {
                                    level[u as usize] == UNSEEN
                                        && filter.enters(snap.kind(u))
                                        && filter.passes(snap.link(l))
                                })
                                .map(|(u, _)| u),
                        )
                    };
                    it
                })
                .collect();
            cand.par_sort_unstable();
            let mut next: Vec<(Ix, u32)> = Vec::new();
            for u in cand {
                match next.last_mut() {
                    Some((w, c)) if *w == u => *c += 1,
                    _ => next.push((u, 1)),
                }
            }
            next
        };
        if next.is_empty() {
            break;
        }
        let room = cfg.max_nodes.saturating_sub(nodes.len());
        if next.len() > room {
            truncated = true;
            next.par_sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            next.truncate(room);
            next.par_sort_unstable();
        }
        let is_last = hop == cfg.hops;
        let batch: Vec<Ix> = next.iter().map(|&(v, _)| v).collect();
        let mut admitted = batch.len();
        frontier = admit(
            snap, cfg, threshold, &mut level, &mut nodes, &mut hubs, &batch, hop,
        );
        let (more, added, cut) = close_free(
            snap, cfg, threshold, &mut level, &mut nodes, &mut hubs, &frontier, hop,
        );
        truncated |= cut;
        admitted += added;
        frontier.extend(more);
        frontier.sort_unstable();
        per_hop.push(admitted);
        if is_last && !frontier.is_empty() {
            hop_limit_reached = true;
        }
    }

    let hop_of: FxHashMap<Ix, u32> = nodes.iter().copied().collect();
    let hub_set: FxHashSet<Ix> = hubs.iter().map(|h| h.ix).collect();
    let hubs_stopped = hubs.len();
    Ok(Expansion {
        seeds,
        nodes,
        hubs,
        filter: cfg.filter.clone(),
        hub_policy: cfg.hubs.clone(),
        stats: ExpandStats {
            per_hop,
            steps,
            hub_threshold: threshold,
            hubs_stopped,
            truncated,
            hop_limit_reached,
            seconds: t0.elapsed().as_secs_f64(),
        },
        hop_of,
        hub_set,
    })
}

/// Marks `batch` (sorted, unseen) as reached at `hop`; returns those that are not hubs.
#[allow(clippy::too_many_arguments)]
fn admit(
    snap: &Snapshot,
    cfg: &ExpandConfig,
    threshold: usize,
    level: &mut [u32],
    nodes: &mut Vec<(Ix, u32)>,
    hubs: &mut Vec<Hub>,
    batch: &[Ix],
    hop: u32,
) -> Vec<Ix> {
    let reasons: Vec<Option<HubReason>> = batch
        .par_iter()
        .map(|&v| hub_reason(snap, v, &cfg.hubs, threshold))
        .collect();
    let mut open = Vec::with_capacity(batch.len());
    for (&v, reason) in batch.iter().zip(reasons) {
        level[v as usize] = hop;
        nodes.push((v, hop));
        match reason {
            Some(reason) => hubs.push(Hub {
                ix: v,
                degree: snap.degree(v),
                hop,
                reason,
            }),
            None => open.push(v),
        }
    }
    open
}

/// Closes the entities just reached under the free links (same hop), wave by wave. Returns the added
/// entities that are not hubs, how many were added in all, and whether the size cap cut it short.
#[allow(clippy::too_many_arguments)]
fn close_free(
    snap: &Snapshot,
    cfg: &ExpandConfig,
    threshold: usize,
    level: &mut [u32],
    nodes: &mut Vec<(Ix, u32)>,
    hubs: &mut Vec<Hub>,
    start: &[Ix],
    hop: u32,
) -> (Vec<Ix>, usize, bool) {
    let mut open = Vec::new();
    let mut added = 0;
    if cfg.free_links.is_empty() {
        return (open, 0, false);
    }
    let filter = &cfg.filter;
    let mut wave: Vec<Ix> = start.to_vec();
    while !wave.is_empty() {
        let lv = &*level;
        let mut cand: Vec<Ix> = wave
            .par_iter()
            .flat_map_iter(|&v| {
                snap.all_links(v)
                    .filter(move |&(u, l)| {
                        lv[u as usize] == UNSEEN
                            && cfg.free_links.contains(&snap.link_kind(l))
                            && filter.enters(snap.kind(u))
                            && filter.passes(snap.link(l))
                    })
                    .map(|(u, _)| u)
            })
            .collect();
        cand.par_sort_unstable();
        cand.dedup();
        let room = cfg.max_nodes.saturating_sub(nodes.len());
        let cut = cand.len() > room;
        cand.truncate(room);
        added += cand.len();
        wave = admit(snap, cfg, threshold, level, nodes, hubs, &cand, hop);
        open.extend_from_slice(&wave);
        if cut {
            return (open, added, true);
        }
    }
    (open, added, false)
}

/// Hop distances of a plain breadth-first search over both link directions from `source`
/// (`u32::MAX` = unreached), with the same direction-optimising parallel steps as [`expand`] and no
/// filters, hubs or caps: the traversal the benchmarks compare with other libraries.
///
/// # Complexity
/// O(n + m) work, parallel per level; O(n) memory.
pub fn bfs_levels(snap: &Snapshot, source: Ix) -> Vec<u32> {
    let n = snap.node_count();
    let mut level = vec![UNSEEN; n];
    if source as usize >= n {
        return level;
    }
    let out = snap.out_csr();
    let inn = snap.in_csr();
    level[source as usize] = 0;
    let mut frontier = vec![source];
    let mut unexplored = snap.link_count() * 2;
    let mut bottom_up = false;
    let mut hop = 0u32;
    let mut bits = vec![0u64; n.div_ceil(64)];
    while !frontier.is_empty() {
        hop += 1;
        let frontier_links: usize = frontier
            .par_iter()
            .map(|&v| out.degree(v) + inn.degree(v))
            .sum();
        unexplored = unexplored.saturating_sub(frontier_links);
        bottom_up = if bottom_up {
            frontier.len() * TOP_DOWN_BETA >= n
        } else {
            frontier_links * BOTTOM_UP_ALPHA > unexplored
        };
        let next: Vec<Ix> = if bottom_up {
            bits.par_iter_mut().for_each(|w| *w = 0);
            for &v in &frontier {
                bits[v as usize / 64] |= 1 << (v % 64);
            }
            let bits = &bits;
            let level = &level;
            let in_frontier = |u: &u32| bits[*u as usize / 64] & (1 << (*u % 64)) != 0;
            (0..n as Ix)
                .into_par_iter()
                .with_min_len(4096)
                .filter(|&v| {
                    level[v as usize] == UNSEEN
                        && (out.neighbors(v).iter().any(in_frontier)
                            || inn.neighbors(v).iter().any(in_frontier))
                })
                .collect()
        } else {
            let level = &level;
            let mut cand: Vec<Ix> = frontier
                .par_iter()
                .flat_map_iter(|&v| {
                    out.neighbors(v)
                        .iter()
                        .chain(inn.neighbors(v))
                        .copied()
                        .filter(move |&u| level[u as usize] == UNSEEN)
                })
                .collect();
            cand.par_sort_unstable();
            cand.dedup();
            cand
        };
        for &v in &next {
            level[v as usize] = hop;
        }
        frontier = next;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Flags;

    /// A star: centre 0 linked to 1..=300; 1 also linked to 301, which links to 302.
    fn star() -> Snapshot {
        let mut edges: Vec<(u32, u32)> = (1..=300).map(|i| (0, i)).collect();
        edges.push((1, 301));
        edges.push((301, 302));
        Snapshot::from_edges(303, EntityKind::Phone, LinkKind::CALL, &edges)
    }

    fn cfg(seeds: Vec<Ix>, hops: u32) -> ExpandConfig {
        ExpandConfig {
            seeds,
            hops,
            filter: LinkFilter::all(),
            hubs: HubPolicy {
                degree: Some(100),
                service_numbers: true,
                organisations: true,
            },
            max_nodes: 1_000_000,
            free_links: vec![],
        }
    }

    #[test]
    fn star_hub_is_reported_and_not_expanded() {
        let snap = star();
        let e = expand(&snap, &cfg(vec![301], 3)).unwrap();
        // 301 -> {1, 302} -> 0 (hub, not expanded) -> nothing more through 0
        assert_eq!(e.hop(1), Some(1));
        assert_eq!(e.hop(302), Some(1));
        assert_eq!(e.hop(0), Some(2));
        assert!(e.is_hub(0));
        assert_eq!(e.hubs.len(), 1);
        assert_eq!(e.hubs[0].degree, 300);
        assert_eq!(e.hubs[0].reason, HubReason::Degree);
        assert_eq!(e.hop(2), None, "the hub's other spokes stay out");
        assert_eq!(e.len(), 4);
        assert_eq!(e.stats.per_hop, vec![1, 2, 1]);
        assert_eq!(e.stats.hubs_stopped, 1);
        assert!(!e.stats.hop_limit_reached);
        // Without a hub policy the whole star comes in.
        let mut c = cfg(vec![301], 3);
        c.hubs = HubPolicy::none();
        let e = expand(&snap, &c).unwrap();
        assert_eq!(e.len(), 303);
        assert!(e.hubs.is_empty());
    }

    #[test]
    fn a_hub_seed_is_still_expanded() {
        let snap = star();
        let e = expand(&snap, &cfg(vec![0], 1)).unwrap();
        assert_eq!(e.len(), 301);
        assert!(e.stats.hop_limit_reached);
    }

    #[test]
    fn filters_limit_what_is_followed() {
        let snap = star();
        let mut c = cfg(vec![301], 3);
        c.filter.link_kinds = Some(vec![LinkKind::TRANSFER]);
        let e = expand(&snap, &c).unwrap();
        assert_eq!(e.len(), 1, "only the seed: no transfer links");
        let mut c = cfg(vec![301], 3);
        c.filter.min_count = 2;
        assert_eq!(expand(&snap, &c).unwrap().len(), 1);
        let mut c = cfg(vec![301], 3);
        c.filter.entity_kinds = Some(vec![EntityKind::Person]);
        assert_eq!(expand(&snap, &c).unwrap().len(), 1);
        // links without time pass any window
        let mut c = cfg(vec![301], 1);
        c.filter.window = Some((0, 10));
        assert_eq!(expand(&snap, &c).unwrap().len(), 3);
    }

    #[test]
    fn cap_keeps_best_connected_and_says_so() {
        let snap = star();
        let mut c = cfg(vec![0], 2);
        c.hubs = HubPolicy::none();
        c.max_nodes = 11;
        let e = expand(&snap, &c).unwrap();
        assert_eq!(e.len(), 11);
        assert!(e.stats.truncated);
    }

    #[test]
    fn errors_are_typed() {
        let snap = star();
        assert_eq!(
            expand(&snap, &cfg(vec![], 3)).unwrap_err(),
            ExpandError::NoSeed
        );
        assert_eq!(
            expand(&snap, &cfg(vec![999], 3)).unwrap_err(),
            ExpandError::UnknownSeed(999)
        );
    }

    #[test]
    fn deterministic_across_thread_counts_and_strategies() {
        // A random graph large enough for bottom-up steps.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 5_000u32;
        let edges: Vec<(u32, u32)> = (0..40_000)
            .map(|_| (rng.gen_range(0..n), rng.gen_range(0..n)))
            .collect();
        let snap = Snapshot::from_edges(n as usize, EntityKind::Phone, LinkKind::CALL, &edges);
        let mut c = cfg(vec![3, 17], 6);
        c.hubs = HubPolicy::none();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| expand(&snap, &c).unwrap())
        };
        let a = run(1);
        let b = run(2);
        assert_eq!(a.nodes, b.nodes);
        assert!(a.stats.steps.contains(&Step::BottomUp));
        // Same levels as the plain BFS (min over both seeds) and as a sequential reference.
        let l3 = bfs_levels(&snap, 3);
        let l17 = bfs_levels(&snap, 17);
        for &(v, h) in &a.nodes {
            assert_eq!(h, l3[v as usize].min(l17[v as usize]));
        }
        let reference = reference_bfs(&snap, 3);
        assert_eq!(l3, reference);
        // Filtered path (non-trivial filter that passes everything) gives the same answer.
        let mut c2 = c.clone();
        c2.filter.link_kinds = Some(vec![LinkKind::CALL]);
        assert_eq!(expand(&snap, &c2).unwrap().nodes, a.nodes);
    }

    fn reference_bfs(snap: &Snapshot, s: Ix) -> Vec<u32> {
        let mut level = vec![UNSEEN; snap.node_count()];
        level[s as usize] = 0;
        let mut q = std::collections::VecDeque::from([s]);
        while let Some(v) = q.pop_front() {
            for (u, _) in snap.all_links(v) {
                if level[u as usize] == UNSEEN {
                    level[u as usize] = level[v as usize] + 1;
                    q.push_back(u);
                }
            }
        }
        level
    }

    #[test]
    fn service_flag_makes_a_hub() {
        assert!(Flags::SERVICE.contains(Flags::SERVICE));
        let snap = star();
        // threshold is the computed one here (>= MIN_HUB_DEGREE): the 300-spoke centre is a hub
        assert!(hub_threshold(&snap) >= MIN_HUB_DEGREE);
        let mut c = cfg(vec![301], 3);
        c.hubs = HubPolicy::standard();
        let e = expand(&snap, &c).unwrap();
        assert!(e.is_hub(0));
    }
}
