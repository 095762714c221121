//! Leiden and Louvain community detection (modularity or CPM), parallel and deterministic.
//!
//! Both share one engine: local moving, then (Leiden only) refinement, then aggregation, repeated
//! until every community is a single node of the current level. Should a run stop earlier (the
//! level cap, or a refinement that merges nothing), Leiden splits any disconnected community into its
//! connected parts, which never lowers the quality.
//!
//! * **Local moving** visits nodes in a seeded random order (on large graphs, runs of 512 consecutive
//!   ids in random order, so rows are read sequentially: see `scratch::visit_order`), in batches whose size depends on n only
//!   (n / 64, at most 16,384; one node at a time on small graphs). Within a batch the
//!   best move of every node is computed in parallel against the community state at the start of the
//!   batch; the moves are then applied in order, skipping a move whose target community has emptied in
//!   the meantime (that breaks the swap of two singletons) or whose gain, re-checked against the
//!   current community totals, is no longer positive. A node that moves re-activates its
//!   neighbours for the next round; rounds continue until no node is active, a round moves at most
//!   n / 1,000 nodes, or 32 rounds have run. Proposals are pure
//!   functions of the state, so the result depends on the seed but not on the number of threads.
//!   Proposals read the rows of 32 nodes at a time in one pass (`scratch::Gather`: the misses of a
//!   group overlap); aggregation reads a community's members the same way.
//! * **Refinement** (Leiden) starts each community again from singletons and merges, greedily, only
//!   well-connected singletons into well-connected sub-communities of the same community, so every
//!   final community is connected (Traag, Waltman & van Eck 2019). Communities are refined in
//!   parallel: they are independent.
//! * **Aggregation** collapses each (refined) community into one node; the next level starts from the
//!   unrefined communities.
//! * **Later passes** start again from single nodes with the previous result as the communities,
//!   move them, and then reuse the first pass's refinement of the input graph (the moved nodes cut
//!   out of it, see `reuse_refinement`) instead of refining the input graph again; the aggregate
//!   takes the first pass's rows for every group left whole (`aggregate` with `prev`). A later
//!   pass whose first level moves at most n / 1,000 nodes (a stalled round's count) keeps those
//!   moves and stops there, its disconnected communities split.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::graph::{pack, split_rows, unpack, Graph};
use super::scratch::{relabel_dense, rng, visit_order, Gather, Pool, GROUP, NONE};
use crate::snapshot::csr::Csr;

/// Nodes whose moves are proposed against one frozen state. Smaller is closer to sequential local
/// moving (quality); larger has less synchronisation. Fixed, so results do not depend on threads.
const BATCH: usize = 16_384;
/// Proposals computed per parallel task.
const TASK: usize = 256;
/// Cap on local-moving rounds per level (as NetworKit PLM): in later rounds a few nodes can swap back
/// and forth between batches without end.
const MAX_ROUNDS: usize = 32;
/// A level's local moving stops once a round moves at most n / STALL nodes (the first round
/// included: in a second pass the first round over the previous result moves a few hundred nodes of
/// a million): the last rounds of a large level move a handful of nodes back and forth between
/// batches; the next level (and the refinement) pick up what they would find. On the 1M-node planted
/// graph n / 1,000 instead of n / 10,000 halves the first level's rounds (24 to 13) for the same
/// modularity (0.80216).
const STALL: usize = 1_000;

/// The quality function optimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    /// Newman–Girvan modularity with a resolution γ: `Q = 1/2m Σ_c (in_c − γ tot_c² / 2m)`.
    Modularity,
    /// Constant Potts model: `H = Σ_c (e_c − γ · n_c (n_c − 1) / 2)`, node sizes 1.
    Cpm,
}

/// Parameters of [`leiden`].
#[derive(Clone, Debug)]
pub struct LeidenConfig {
    pub quality: Quality,
    /// γ; 1.0 is standard modularity. For CPM, a density threshold (e.g. 0.01).
    pub resolution: f64,
    pub seed: u64,
    /// Passes; each pass after the first restarts from the previous result (as leidenalg's
    /// `n_iterations`), reusing the first pass's refinement of the input nodes, and goes on above
    /// the input level only when it moved more than n / 1,000 nodes there. 1 or 2 is usual.
    pub iterations: usize,
    /// Cap on aggregation levels per pass.
    pub max_levels: usize,
}

/// Parameters of [`louvain`].
#[derive(Clone, Debug)]
pub struct LouvainConfig {
    pub resolution: f64,
    pub seed: u64,
    pub max_levels: usize,
}

/// A partition of the nodes into communities.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    /// Community of every node, numbered `0..community_count` in order of first appearance.
    pub membership: Vec<u32>,
    pub community_count: usize,
    /// Value of the optimised quality function on the input graph.
    pub quality: f64,
    /// Aggregation levels run (summed over passes).
    pub levels: usize,
}

/// Where one level of a [`leiden_timed`] or [`louvain_timed`] run spent its time. Timings are
/// measured, so they vary between runs; the partition does not.
#[derive(Clone, Debug, Default)]
pub struct LevelTiming {
    /// Pass (0-based) and level within it (0 is the input graph).
    pub pass: usize,
    pub level: usize,
    pub nodes: usize,
    pub edges: usize,
    /// Local-moving rounds run and moves applied.
    pub rounds: usize,
    pub moves: usize,
    /// Seconds in local moving, in refinement (or reusing the first refinement) and in
    /// aggregation.
    pub moving: f64,
    pub refining: f64,
    pub aggregating: f64,
}

/// Leiden community detection.
///
/// Deterministic for a given `seed`, independent of the number of rayon threads. Every community of
/// the result induces a connected subgraph.
///
/// # Complexity
/// Each local-moving round is O(m) work over the active nodes (per-worker accumulators sized to a
/// node's distinct neighbour communities, expected O(1) per edge), at most 32 rounds per level;
/// refinement and aggregation are O(m) per level, with O(n + m) extra memory; in practice a few
/// rounds on the first level dominate and later levels are much smaller.
pub fn leiden(g: &Graph, cfg: &LeidenConfig) -> Partition {
    leiden_timed(g, cfg).0
}

/// [`leiden`], with the time of every level's phases.
pub fn leiden_timed(g: &Graph, cfg: &LeidenConfig) -> (Partition, Vec<LevelTiming>) {
    run(
        g,
        cfg.quality,
        cfg.resolution,
        cfg.seed,
        true,
        cfg.iterations.max(1),
        cfg.max_levels,
    )
}

/// Louvain community detection (modularity): local moving and aggregation, no refinement, so a
/// community may be disconnected.
///
/// # Complexity
/// As [`leiden`], without the refinement phase.
pub fn louvain(g: &Graph, cfg: &LouvainConfig) -> Partition {
    louvain_timed(g, cfg).0
}

/// [`louvain`], with the time of every level's phases.
pub fn louvain_timed(g: &Graph, cfg: &LouvainConfig) -> (Partition, Vec<LevelTiming>) {
    run(
        g,
        Quality::Modularity,
        cfg.resolution,
        cfg.seed,
        false,
        1,
        cfg.max_levels,
    )
}

/// The current level: a graph plus node weights (strength for modularity, size for CPM).
struct Level {
    g: Graph,
    nw: Vec<f64>,
}

fn run(
    g0: &Graph,
    quality: Quality,
    resolution: f64,
    seed: u64,
    refine_on: bool,
    iterations: usize,
    max_levels: usize,
) -> (Partition, Vec<LevelTiming>) {
    let n0 = g0.node_count();
    let mut timings: Vec<LevelTiming> = Vec::new();
    let nw0: Vec<f64> = match quality {
        Quality::Modularity => g0.strengths().to_vec(),
        Quality::Cpm => vec![1.0; n0],
    };
    let scale = match quality {
        Quality::Modularity if g0.total_weight() > 0.0 => resolution / (2.0 * g0.total_weight()),
        Quality::Modularity => 0.0,
        Quality::Cpm => resolution,
    };
    let mut rng = rng(seed);
    let mut membership: Vec<u32> = (0..n0 as u32).collect();
    let mut levels = 0usize;
    // The first pass's refinement of the input graph's nodes and its aggregate, which later passes
    // reuse (shared, not copied: a later pass that stops at the input level never reads it).
    let mut first: Option<(Vec<u32>, Arc<Level>)> = None;
    for pass in 0..iterations {
        // Level 0 works on the input graph itself; later levels own their aggregated graph.
        let mut owned: Option<Arc<Level>> = None;
        let mut node_to_level: Vec<u32> = (0..n0 as u32).collect();
        let mut comm = membership.clone();
        let mut level_no = 0usize;
        let mut any_move = false;
        let mut clean = refine_on;
        // When set, the nodes whose community may have come apart (see `split_disconnected`).
        let mut suspect: Option<Vec<bool>> = None;
        loop {
            let (g, nw) = match &owned {
                Some(l) => (&l.g, &l.nw[..]),
                None => (g0, &nw0[..]),
            };
            let n = g.node_count();
            let mut timing = LevelTiming {
                pass,
                level: level_no,
                nodes: n,
                edges: g.edge_count(),
                ..LevelTiming::default()
            };
            let clock = Instant::now();
            let order = visit_order(n, &mut rng);
            let reuse = match &first {
                Some(f) if refine_on && pass > 0 && level_no == 0 => Some((f, comm.clone())),
                _ => None,
            };
            let (moves, rounds) = move_nodes(g, nw, scale, &mut comm, &order, MAX_ROUNDS);
            timing.moving = clock.elapsed().as_secs_f64();
            timing.moves = moves;
            timing.rounds = rounds;
            timings.push(timing);
            levels += 1;
            level_no += 1;
            any_move |= moves > 0;
            // A later pass whose first level moves no more nodes than a stalled round (see
            // STALL) stops there, with those moves: the levels above would regroup what the
            // previous pass found, less a handful of nodes. On the 1M-node planted graph the
            // second pass moves 458 nodes; its higher levels then cost 0.9 s of 6 and add 1e-5
            // to the modularity (0.80214 against 0.80213).
            let stalled = pass > 0 && level_no == 1 && moves <= n / STALL;
            if stalled {
                // The previous pass's communities are connected, and a node only ever moves
                // next to a neighbour: only the communities that lost a node can have come
                // apart. Mark their members (labels are still the pass's input labels here).
                let mut lost = vec![false; n];
                for (&now, &was) in comm.iter().zip(&membership) {
                    if now != was {
                        lost[was as usize] = true;
                    }
                }
                suspect = Some(membership.iter().map(|&c| lost[c as usize]).collect());
            }
            // Done when every community is a single node of this level (Traag et al., Alg. A.2):
            // each such node is a refined, hence connected, community.
            let communities = relabel_dense(&mut comm);
            if communities == n {
                break;
            }
            if stalled {
                clean = false;
                break;
            }
            if level_no >= max_levels.max(1) {
                clean = false;
                break;
            }
            let clock = Instant::now();
            let (basis, hit) = match &reuse {
                Some(((r, _), before)) => reuse_refinement(g, r, before, &comm),
                None if refine_on => (refine(g, nw, scale, &comm, &order), Vec::new()),
                None => (comm.clone(), Vec::new()),
            };
            // Number the refined communities community by community, so that the next level's
            // nodes of one community are adjacent in memory (locality for every later pass).
            let (basis, k) = renumber_by_community(&basis, &comm, communities);
            if k == n {
                // Refinement merged nothing: aggregating would not change the graph.
                clean = false;
                break;
            }
            let mut next_comm = vec![0u32; k];
            for v in 0..n {
                next_comm[basis[v] as usize] = comm[v];
            }
            let timing = timings.last_mut().expect("this level's timing");
            timing.refining = clock.elapsed().as_secs_f64();
            let clock = Instant::now();
            let next = Arc::new(match &reuse {
                Some(((r, l), _)) => {
                    let same = Same::new(r, &hit, &basis, k, l.g.node_count());
                    aggregate(g, nw, &basis, k, Some((l, &same)))
                }
                None => aggregate(g, nw, &basis, k, None),
            });
            timing.aggregating = clock.elapsed().as_secs_f64();
            if refine_on && pass == 0 && level_no == 1 && iterations > 1 {
                first = Some((basis.clone(), Arc::clone(&next)));
            }
            node_to_level
                .par_iter_mut()
                .for_each(|x| *x = basis[*x as usize]);
            comm = next_comm;
            owned = Some(next);
        }
        let mut m: Vec<u32> = node_to_level
            .par_iter()
            .map(|&x| comm[x as usize])
            .collect();
        if refine_on && !clean {
            // Guarantee connected communities even when stopped early: splitting a disconnected
            // community into its parts never lowers the quality (no edges run between them).
            m = split_disconnected(g0, &m, suspect.as_deref());
        }
        relabel_dense(&mut m);
        membership = m;
        if !any_move {
            break;
        }
    }
    let community_count = membership
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let q = match quality {
        Quality::Modularity => super::quality::modularity_unchecked(g0, &membership, resolution),
        Quality::Cpm => cpm_value(g0, &membership, community_count, resolution),
    };
    let p = Partition {
        membership,
        community_count,
        quality: q,
        levels,
    };
    (p, timings)
}

fn cpm_value(g: &Graph, membership: &[u32], k: usize, resolution: f64) -> f64 {
    let internal = super::quality::internal_weight(g, membership);
    let mut sizes = vec![0f64; k];
    for &c in membership {
        sizes[c as usize] += 1.0;
    }
    internal - resolution * sizes.iter().map(|s| s * (s - 1.0) / 2.0).sum::<f64>()
}

/// A proposed move: target community and the edge weight from the node to it and to its own.
#[derive(Clone, Copy, Default)]
struct Proposal {
    target: u32,
    w_target: f64,
    w_own: f64,
}

/// The best community of every node of `vs` (a group of at most [`GROUP`]) given the state, or its
/// current one, into `out`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn best_moves(
    g: &Graph,
    nw: &[f64],
    scale: f64,
    comm: &[u32],
    tot: &[f64],
    vs: &[u32],
    out: &mut [Proposal],
    s: &mut Gather,
) {
    s.rows(g.csr(), vs, |u| comm[u as usize]);
    let unit = g.has_unit_weights();
    let mut at = 0usize;
    for ((&v, o), &(a, b)) in vs.iter().zip(out.iter_mut()).zip(&s.ranges) {
        let cs = &s.keys[at..at + (b - a)];
        at += b - a;
        let acc = &mut s.acc;
        if unit {
            for &c in cs {
                acc.add(c, 1.0);
            }
        } else {
            for (&c, &w) in cs.iter().zip(g.slot_weights(a..b)) {
                acc.add(c, f64::from(w));
            }
        }
        let cv = comm[v as usize];
        let k = nw[v as usize] * scale;
        let w_own = acc.get(cv);
        let mut best = Proposal {
            target: cv,
            w_target: w_own,
            w_own,
        };
        let mut best_gain = w_own - k * (tot[cv as usize] - nw[v as usize]);
        for (c, w) in acc.iter() {
            if c != cv {
                let gain = w - k * tot[c as usize];
                if gain > best_gain {
                    best_gain = gain;
                    best.target = c;
                    best.w_target = w;
                }
            }
        }
        acc.clear();
        *o = best;
    }
}

/// Batched parallel local moving (see the module doc). Returns the number of moves applied and
/// of rounds run.
fn move_nodes(
    g: &Graph,
    nw: &[f64],
    scale: f64,
    comm: &mut [u32],
    order: &[u32],
    max_rounds: usize,
) -> (usize, usize) {
    let n = g.node_count();
    // Small graphs run (nearly) sequentially; the batch depends on n only, never on threads.
    let batch_len = (n / 64).clamp(1, BATCH);
    let mut tot = vec![0f64; n];
    let mut size = vec![0u32; n];
    for v in 0..n {
        tot[comm[v] as usize] += nw[v];
        size[comm[v] as usize] += 1;
    }
    let pool = Pool::new(Gather::default);
    let active: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(true)).collect();
    let mut moved: Vec<u32> = Vec::new();
    let mut queue: Vec<u32> = order.to_vec();
    let mut proposals = vec![Proposal::default(); batch_len];
    let mut moves = 0usize;
    let mut rounds = 0usize;
    for _ in 0..max_rounds {
        if queue.is_empty() {
            break;
        }
        rounds += 1;
        let moves_before = moves;
        for &v in &queue {
            active[v as usize].store(false, Relaxed);
        }
        for batch in queue.chunks(batch_len) {
            let props = &mut proposals[..batch.len()];
            let comm_r: &[u32] = comm;
            let tot_r: &[f64] = &tot;
            let task = |vs: &[u32], out: &mut [Proposal]| {
                pool.with(|s| {
                    for (gv, go) in vs.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
                        best_moves(g, nw, scale, comm_r, tot_r, gv, go, s);
                    }
                });
            };
            if batch.len() < TASK {
                task(batch, props);
            } else {
                batch
                    .par_chunks(TASK)
                    .zip(props.par_chunks_mut(TASK))
                    .for_each(|(vs, out)| task(vs, out));
            }
            for (&v, p) in batch.iter().zip(props.iter()) {
                let cv = comm[v as usize];
                let t = p.target;
                if t == cv || size[t as usize] == 0 {
                    continue;
                }
                let w = nw[v as usize];
                // Re-check against the community totals as they are now (earlier moves of this
                // batch may have changed them).
                let k = w * scale;
                let gain =
                    (p.w_target - k * tot[t as usize]) - (p.w_own - k * (tot[cv as usize] - w));
                if gain <= 0.0 {
                    continue;
                }
                tot[cv as usize] -= w;
                size[cv as usize] -= 1;
                tot[t as usize] += w;
                size[t as usize] += 1;
                comm[v as usize] = t;
                moves += 1;
                moved.push(v);
            }
            // Wake the neighbours of the moved nodes that sit outside their new community (in
            // parallel: this is a random-access pass as large as the moves).
            let comm_r: &[u32] = comm;
            moved.par_iter().with_min_len(64).for_each(|&v| {
                let t = comm_r[v as usize];
                for &u in g.neighbors(v) {
                    if comm_r[u as usize] != t {
                        active[u as usize].store(true, Relaxed);
                    }
                }
            });
            moved.clear();
        }
        queue = order
            .iter()
            .copied()
            .filter(|&v| active[v as usize].load(Relaxed))
            .collect();
        if moves - moves_before <= n / STALL {
            break;
        }
    }
    (moves, rounds)
}

/// The refinement of a later pass's input level: the first pass's refined sub-communities `prev`,
/// with every node that local moving has just moved (`before` against `comm`) a singleton of its
/// own, and every sub-community that lost a node split into its connected parts. Each group is
/// then connected and inside one community of `comm`, as a refinement's are.
///
/// Re-refining the input graph instead costs a quarter of a second pass for no gain: on the
/// 1M-node planted graph the second pass moves 458 nodes, and those moves are its whole gain
/// (modularity 0.80216 with them; 0.80162 when the pass skips them and re-refines; 0.80214 when it
/// reuses the first refinement like this).
///
/// Returns, with the groups, the groups of `prev` that lost a node (sorted).
///
/// # Complexity
/// O(n) plus the rows of the sub-communities that lost a node.
fn reuse_refinement(g: &Graph, prev: &[u32], before: &[u32], comm: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let n = g.node_count();
    let mut basis = prev.to_vec();
    let k_prev = prev.iter().map(|&x| x + 1).max().unwrap_or(0);
    let mut next = k_prev;
    let mut hit = Vec::new();
    for v in 0..n {
        if before[v] != comm[v] {
            hit.push(prev[v]);
            basis[v] = next;
            next += 1;
        }
    }
    if hit.is_empty() {
        return (basis, hit);
    }
    hit.sort_unstable();
    hit.dedup();
    // The remaining members of each group that lost a node, group by group, in node order.
    let mut members: Vec<(u32, u32)> = (0..n as u32)
        .filter(|&v| {
            let b = basis[v as usize];
            b < k_prev && hit.binary_search(&b).is_ok()
        })
        .map(|v| (basis[v as usize], v))
        .collect();
    members.sort_unstable();
    let mut seen = vec![false; n];
    let mut stack = Vec::new();
    for grp in members.chunk_by(|a, b| a.0 == b.0) {
        let b = grp[0].0;
        let mut first = true;
        for &(_, s) in grp {
            if seen[s as usize] {
                continue;
            }
            // A connected part: the first keeps the group's label, each other gets a new one.
            let label = if first { b } else { next };
            if !first {
                next += 1;
            }
            first = false;
            seen[s as usize] = true;
            basis[s as usize] = label;
            stack.push(s);
            while let Some(v) = stack.pop() {
                for &u in g.neighbors(v) {
                    if !seen[u as usize] && basis[u as usize] == b {
                        seen[u as usize] = true;
                        basis[u as usize] = label;
                        stack.push(u);
                    }
                }
            }
        }
    }
    // The new labels run past `n` where few groups were merged: make them dense.
    relabel_dense(&mut basis);
    (basis, hit)
}

/// Which groups of a reused refinement are the same as in the first pass, both ways.
struct Same {
    /// For every group now, the first pass's group with the same members, or `NONE`.
    prev_of: Vec<u32>,
    /// For every group of the first pass, the group now with the same members, or `NONE`.
    now_of: Vec<u32>,
}

impl Same {
    /// `prev`: the first pass's groups (`k_prev` of them); `hit`: those that lost a node (sorted);
    /// `basis`: the groups now (`k`).
    fn new(prev: &[u32], hit: &[u32], basis: &[u32], k: usize, k_prev: usize) -> Same {
        let mut prev_of = vec![NONE; k];
        let mut now_of = vec![NONE; k_prev];
        for (&b1, &b2) in prev.iter().zip(basis) {
            if hit.binary_search(&b1).is_err() {
                prev_of[b2 as usize] = b1;
                now_of[b1 as usize] = b2;
            }
        }
        Same { prev_of, now_of }
    }
}

/// Renumbers sub-community labels `sub` (arbitrary ids `< n`) to `0..k` so that the sub-communities
/// of community 0 come first, then those of community 1, and so on.
fn renumber_by_community(sub: &[u32], comm: &[u32], communities: usize) -> (Vec<u32>, usize) {
    let n = sub.len();
    let (_, members) = group_by_id(comm, communities);
    let mut map = vec![u32::MAX; n];
    let mut k = 0u32;
    for &v in &members {
        let r = sub[v as usize] as usize;
        if map[r] == u32::MAX {
            map[r] = k;
            k += 1;
        }
    }
    (
        sub.par_iter().map(|&r| map[r as usize]).collect(),
        k as usize,
    )
}

/// Per-worker state of the refinement.
struct RefineScratch {
    /// Local index (position in the community's member list) of the community's nodes, `NONE` for
    /// every other node of the level (so one lookup both tests membership and maps the node).
    local: Vec<u32>,
    /// Rows of up to [`GROUP`] members read in one pass, each neighbour mapped through `local`.
    gather: Gather,
    /// The community's internal arcs as (local target, weight), row after row: read once from the
    /// level's graph, then the merging pass reads only these (no more lookups of `comm` and `local`).
    adj: Vec<(u32, f32)>,
    /// Row `i` of `adj` is `adj[aoff[i]..aoff[i + 1]]`.
    aoff: Vec<usize>,
    /// Dense weights per sub-community (local ids), with the ids touched in first-touch order.
    wsum: Vec<f64>,
    touched: Vec<u32>,
    ext: Vec<f64>,
    rtot: Vec<f64>,
    rid: Vec<u32>,
    single: Vec<bool>,
}

/// [`group`], each group's members in id order.
fn group_by_id(label: &[u32], k: usize) -> (Vec<usize>, Vec<u32>) {
    let ids: Vec<u32> = (0..label.len() as u32).collect();
    group(label, k, &ids)
}

/// Groups `0..n` by `label` (labels `< k`), keeping the order of `order` inside each group.
fn group(label: &[u32], k: usize, order: &[u32]) -> (Vec<usize>, Vec<u32>) {
    let mut off = vec![0usize; k + 1];
    for &l in label {
        off[l as usize + 1] += 1;
    }
    for i in 0..k {
        off[i + 1] += off[i];
    }
    let mut cur = off.clone();
    let mut members = vec![0u32; label.len()];
    for &v in order {
        let c = &mut cur[label[v as usize] as usize];
        members[*c] = v;
        *c += 1;
    }
    (off, members)
}

/// Leiden refinement: returns for every node the id (a node id) of its refined sub-community.
fn refine(g: &Graph, nw: &[f64], scale: f64, comm: &[u32], order: &[u32]) -> Vec<u32> {
    let n = g.node_count();
    let k = comm.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let (off, members) = group(comm, k, order);
    let refined: Vec<AtomicU32> = (0..n as u32).map(AtomicU32::new).collect();
    let pool = Pool::new(|| RefineScratch {
        local: vec![NONE; n],
        gather: Gather::default(),
        adj: Vec::new(),
        aoff: Vec::new(),
        wsum: Vec::new(),
        touched: Vec::new(),
        ext: Vec::new(),
        rtot: Vec::new(),
        rid: Vec::new(),
        single: Vec::new(),
    });
    (0..k).into_par_iter().with_min_len(64).for_each(|c| {
        let m = &members[off[c]..off[c + 1]];
        if m.len() < 2 {
            return;
        }
        pool.with(|s| refine_one(g, nw, scale, m, s, &refined));
    });
    refined.into_iter().map(AtomicU32::into_inner).collect()
}

/// Refines one community, the members `m` (in visiting order).
fn refine_one(
    g: &Graph,
    nw: &[f64],
    scale: f64,
    m: &[u32],
    s: &mut RefineScratch,
    refined: &[AtomicU32],
) {
    s.ext.clear();
    s.rtot.clear();
    s.rid.clear();
    s.single.clear();
    s.adj.clear();
    s.aoff.clear();
    s.wsum.clear();
    s.wsum.resize(m.len(), 0.0);
    for (i, &v) in m.iter().enumerate() {
        s.local[v as usize] = i as u32;
    }
    let mut tot_c = 0.0;
    let unit = g.has_unit_weights();
    s.aoff.push(0);
    for vs in m.chunks(GROUP) {
        let local = &s.local;
        s.gather.rows(g.csr(), vs, |u| local[u as usize]);
        let mut at = 0usize;
        for (&v, &(a, b)) in vs.iter().zip(&s.gather.ranges) {
            tot_c += nw[v as usize];
            let mut e = 0.0;
            let keys = &s.gather.keys[at..at + (b - a)];
            if unit {
                // Unit weights: the weights are not read (a second row per node).
                for &j in keys {
                    if j != NONE {
                        e += 1.0;
                        s.adj.push((j, 1.0));
                    }
                }
            } else {
                for (&j, &w) in keys.iter().zip(g.slot_weights(a..b)) {
                    if j != NONE {
                        e += f64::from(w);
                        s.adj.push((j, w));
                    }
                }
            }
            at += b - a;
            s.aoff.push(s.adj.len());
            s.ext.push(e);
            s.rtot.push(nw[v as usize]);
            s.rid.push(s.rid.len() as u32);
            s.single.push(true);
        }
    }
    for i in 0..m.len() {
        if s.rid[i] != i as u32 || !s.single[i] {
            continue;
        }
        let nv = s.rtot[i];
        if s.ext[i] < scale * nv * (tot_c - nv) {
            continue;
        }
        for &(j, w) in &s.adj[s.aoff[i]..s.aoff[i + 1]] {
            let r = s.rid[j as usize];
            let slot = &mut s.wsum[r as usize];
            // Weights are non-negative, so zero means untouched (a zero weight at worst lists an id
            // twice, which changes neither the choice nor the reset).
            if *slot == 0.0 {
                s.touched.push(r);
            }
            *slot += f64::from(w);
        }
        let mut best = u32::MAX;
        let mut best_gain = 0.0;
        for &r in &s.touched {
            let ri = r as usize;
            if r == i as u32 || s.ext[ri] < scale * s.rtot[ri] * (tot_c - s.rtot[ri]) {
                continue;
            }
            let gain = s.wsum[ri] - scale * nv * s.rtot[ri];
            if gain > best_gain {
                best_gain = gain;
                best = r;
            }
        }
        if best != u32::MAX {
            let b = best as usize;
            let w_vb = s.wsum[b];
            s.rid[i] = best;
            s.rtot[b] += nv;
            s.ext[b] = s.ext[b] + s.ext[i] - 2.0 * w_vb;
            s.single[b] = false;
            s.single[i] = false;
        }
        for &r in &s.touched {
            s.wsum[r as usize] = 0.0;
        }
        s.touched.clear();
    }
    for (i, &v) in m.iter().enumerate() {
        refined[v as usize].store(m[s.rid[i] as usize], Relaxed);
        s.local[v as usize] = NONE;
    }
}

/// Collapses each group of `basis` (labels `0..k`) into one node.
///
/// With `prev`, an aggregate of the same graph over other groups and which of its nodes are groups
/// of `basis` too: a group whose row there leads only to such groups takes the row from it
/// (relabelled) instead of reading its members' rows. The result is the same to the bit (the same
/// arcs summed in the same order).
fn aggregate(
    g: &Graph,
    nw: &[f64],
    basis: &[u32],
    k: usize,
    prev: Option<(&Level, &Same)>,
) -> Level {
    let n = g.node_count();
    let (off, members) = group_by_id(basis, k);
    let pool = Pool::new(Gather::default);
    const CHUNK: usize = 1024;
    struct Part {
        lens: Vec<usize>,
        targets: Vec<u32>,
        weights: Vec<f32>,
        loops: Vec<f64>,
    }
    let parts: Vec<Part> = (0..k.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ch| {
            pool.with(|s| {
                let lo = ch * CHUNK;
                let hi = ((ch + 1) * CHUNK).min(k);
                // Upper bound of the chunk's slots: no reallocation while filling.
                let bound: usize = members[off[lo]..off[hi]]
                    .iter()
                    .map(|&v| g.csr().degree(v))
                    .sum();
                let mut p = Part {
                    lens: Vec::with_capacity(hi - lo),
                    targets: Vec::with_capacity(bound),
                    weights: Vec::with_capacity(bound),
                    loops: Vec::with_capacity(hi - lo),
                };
                for a in lo..hi {
                    // The group's row from the previous aggregate, where it leads only to whole
                    // groups; else from its members' rows.
                    let from_prev = prev.and_then(|(l, same)| {
                        let b = same.prev_of[a];
                        (b != NONE
                            && l.g
                                .neighbors(b)
                                .iter()
                                .all(|&t| same.now_of[t as usize] != NONE))
                        .then_some((l, same, b))
                    });
                    let self_loop = if let Some((l, same, b)) = from_prev {
                        let ts = l.g.neighbors(b);
                        let ws = l.g.slot_weights(l.g.csr().range(b));
                        s.row.extend(
                            ts.iter()
                                .zip(ws)
                                .map(|(&t, &w)| pack(same.now_of[t as usize], w)),
                        );
                        l.g.self_loop(b)
                    } else {
                        let mut lp = 0.0;
                        let mut internal = 0.0;
                        for vs in members[off[a]..off[a + 1]].chunks(GROUP) {
                            for &v in vs {
                                lp += g.self_loop(v);
                            }
                            s.rows(g.csr(), vs, |u| basis[u as usize]);
                            let mut at = 0usize;
                            for &(x, y) in &s.ranges {
                                let bs = &s.keys[at..at + (y - x)];
                                at += y - x;
                                for (&b, &w) in bs.iter().zip(g.slot_weights(x..y)) {
                                    if b as usize == a {
                                        internal += f64::from(w);
                                    } else {
                                        s.acc.add(b, f64::from(w));
                                    }
                                }
                            }
                        }
                        lp + internal / 2.0
                    };
                    let row = &mut s.row;
                    row.extend(s.acc.iter().map(|(b, w)| pack(b, w as f32)));
                    // targets are distinct within a row: sorting the packed words sorts by target
                    row.sort_unstable();
                    p.lens.push(row.len());
                    for &x in row.iter() {
                        let (b, w) = unpack(x);
                        p.targets.push(b);
                        p.weights.push(w);
                    }
                    p.loops.push(self_loop);
                    row.clear();
                    s.acc.clear();
                }
                p
            })
        })
        .collect();
    // Concatenate the parts in parallel (each into its own slice of the result).
    let mut offsets = Vec::with_capacity(k + 1);
    offsets.push(0usize);
    let mut part_off = Vec::with_capacity(parts.len() + 1);
    part_off.push(0usize);
    let mut loops = Vec::with_capacity(k);
    for p in &parts {
        for &l in &p.lens {
            let last = offsets[offsets.len() - 1];
            offsets.push(last + l);
        }
        part_off.push(part_off[part_off.len() - 1] + p.targets.len());
        loops.extend_from_slice(&p.loops);
    }
    let total = part_off[parts.len()];
    let mut targets = vec![0u32; total];
    let mut weights = vec![0f32; total];
    parts
        .par_iter()
        .zip(split_rows(&mut targets, &part_off))
        .zip(split_rows(&mut weights, &part_off))
        .for_each(|((p, t), w)| {
            t.copy_from_slice(&p.targets);
            w.copy_from_slice(&p.weights);
        });
    drop(parts);
    let mut nw_next = vec![0f64; k];
    for v in 0..n {
        nw_next[basis[v] as usize] += nw[v];
    }
    Level {
        g: Graph::from_parts(Csr::from_parts(offsets, targets), weights, loops),
        nw: nw_next,
    }
}

/// Relabels so that every community is connected: each connected part of a community gets its own
/// label (labels are the smallest node of each part).
///
/// Only the communities holding a node marked in `suspect` (every community, when `None`) are
/// searched; the others are taken to be connected and keep one label. Communities are searched in
/// parallel, each by one worker over its own members, so the result does not depend on threads.
///
/// # Complexity
/// O(n + the edges of the searched communities' members).
fn split_disconnected(g: &Graph, membership: &[u32], suspect: Option<&[bool]>) -> Vec<u32> {
    let n = g.node_count();
    let k = membership
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let (off, members) = group_by_id(membership, k);
    let mut check = vec![suspect.is_none(); k];
    if let Some(marks) = suspect {
        for (&c, &m) in membership.iter().zip(marks) {
            if m {
                check[c as usize] = true;
            }
        }
    }
    let out: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(NONE)).collect();
    (0..k)
        .into_par_iter()
        .with_min_len(16)
        .for_each_init(Vec::new, |stack: &mut Vec<u32>, c| {
            let m = &members[off[c]..off[c + 1]];
            if !check[c] || m.len() < 2 {
                // Members are in id order: the first is the smallest.
                for &v in m {
                    out[v as usize].store(m[0], Relaxed);
                }
                return;
            }
            for &s in m {
                if out[s as usize].load(Relaxed) != NONE {
                    continue;
                }
                out[s as usize].store(s, Relaxed);
                stack.push(s);
                while let Some(v) = stack.pop() {
                    for &u in g.neighbors(v) {
                        let o = &out[u as usize];
                        if membership[u as usize] == c as u32 && o.load(Relaxed) == NONE {
                            o.store(s, Relaxed);
                            stack.push(u);
                        }
                    }
                }
            }
        });
    out.into_iter().map(AtomicU32::into_inner).collect()
}

/// Whether every community of `membership` induces a connected subgraph of `g`.
///
/// # Complexity
/// O(n + m).
pub fn communities_connected(g: &Graph, membership: &[u32]) -> bool {
    let n = g.node_count();
    if membership.len() != n {
        return false;
    }
    let k = membership
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut seen_comm = vec![false; k];
    let mut visited = vec![false; n];
    let mut stack = Vec::new();
    for s in 0..n {
        if visited[s] {
            continue;
        }
        let c = membership[s];
        if seen_comm[c as usize] {
            return false;
        }
        seen_comm[c as usize] = true;
        visited[s] = true;
        stack.push(s as u32);
        while let Some(v) = stack.pop() {
            for &u in g.neighbors(v) {
                if !visited[u as usize] && membership[u as usize] == c {
                    visited[u as usize] = true;
                    stack.push(u);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests;

/// Hand-made graphs shared by the tests of the community algorithms.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::Graph;

    /// Two k-cliques, nodes `0..k` and `k..2k`, joined by the bridge `(k-1, k)`.
    pub(crate) fn cliques_with_bridge(k: u32) -> Graph {
        let mut e = Vec::new();
        for base in [0, k] {
            for i in 0..k {
                for j in i + 1..k {
                    e.push((base + i, base + j));
                }
            }
        }
        e.push((k - 1, k));
        Graph::from_unweighted(2 * k as usize, &e).unwrap()
    }

    /// `c` cliques of size `k` in a ring (last node of clique i to first node of clique i+1), and
    /// the planted membership.
    pub(crate) fn ring_of_cliques(c: u32, k: u32) -> (Graph, Vec<u32>) {
        let mut e = Vec::new();
        for q in 0..c {
            let b = q * k;
            for i in 0..k {
                for j in i + 1..k {
                    e.push((b + i, b + j));
                }
            }
            e.push((b + k - 1, ((q + 1) % c) * k));
        }
        let truth = (0..c * k).map(|v| v / k).collect();
        (Graph::from_unweighted((c * k) as usize, &e).unwrap(), truth)
    }
}
