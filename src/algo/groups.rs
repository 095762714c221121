//! The finer structure inside each community of a partition: sub-communities, and the *linked
//! groups* they form. The partition itself is left as it is (its modularity does not change).
//!
//! A modularity community holds, besides its dense core, the people its members are loosely tied
//! to: a gang's community also takes in the relatives, victims and villagers its members call. Both
//! steps below measure ties against the community's own density `d_c = W_c / (n_c (n_c − 1) / 2)`
//! (`W_c`: the weight of the edges inside it, `n_c`: its members), so they mean the same on a dense
//! gang and on a sparse village:
//!
//! * **Sub-communities** (parts): Leiden with the constant Potts model on the community's own
//!   subgraph at the resolution `part_density · d_c`: a part is a set of members denser than that,
//!   and a member tied weakly to every part is a part of one.
//! * **Linked groups**: parts are then merged, strongest link first (average linkage), while the
//!   tie density between two groups, `w_AB / (n_A n_B)`, is at least `link_density · d_c`. Each
//!   merge is recorded with its weight and its density relative to `d_c`. A group never spans two
//!   communities, so the groups cannot merge the whole graph.
//!
//! Deterministic for a given seed (each community's Leiden gets a seed derived from it and the
//! community's number), independent of the number of threads.

use super::graph::Graph;
use super::leiden::{leiden, LeidenConfig, Quality};
use crate::model::run::{GroupMerge, GroupParams};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Parameters of [`groups`]: the run's factors ([`GroupParams`]) and its seed.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupConfig {
    pub part_density: f64,
    pub link_density: f64,
    pub seed: u64,
}

impl GroupConfig {
    pub fn new(p: GroupParams, seed: u64) -> GroupConfig {
        GroupConfig {
            part_density: p.part_density,
            link_density: p.link_density,
            seed,
        }
    }

    /// The standard factors ([`GroupParams::STANDARD`]).
    pub fn standard(seed: u64) -> GroupConfig {
        GroupConfig::new(GroupParams::STANDARD, seed)
    }
}

/// One merge of two groups of parts.
/// A linked group: parts of one community merged by [`GroupMerge`]s.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The community (of the input partition) it lies in.
    pub community: u32,
    pub size: u32,
    /// Sizes of its parts, largest first.
    pub parts: Vec<u32>,
    /// The merges that made it, in order.
    pub merges: Vec<GroupMerge>,
}

/// Sub-communities and linked groups of a partition.
#[derive(Clone, Debug, PartialEq)]
pub struct Hierarchy {
    /// Part of every node, `0..part_count`, the parts of community 0 first.
    pub part: Vec<u32>,
    pub part_count: usize,
    /// Group of every node, `0..groups.len()`, the groups of community 0 first.
    pub group: Vec<u32>,
    pub groups: Vec<Group>,
}

/// Max-heap entry: a candidate merge of groups `a` and `b` at density `d`, valid while both
/// groups are at the recorded versions.
#[derive(PartialEq)]
struct Cand {
    d: f64,
    a: u32,
    b: u32,
    va: u32,
    vb: u32,
}

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d
            .total_cmp(&o.d)
            .then(o.a.cmp(&self.a))
            .then(o.b.cmp(&self.b))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The parts and groups of one community, in local numbering.
struct Local {
    part: Vec<u32>,
    parts: usize,
    group_of_part: Vec<u32>,
    groups: Vec<Group>,
}

fn mix(seed: u64, c: u64) -> u64 {
    let mut z = seed ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Average-linkage merging of parts (sizes `size`, between-weights `between`) while the density
/// between two groups is at least `threshold`. Returns the group of every part and the groups.
fn link(
    community: u32,
    size: &[u32],
    between: &FxHashMap<(u32, u32), f64>,
    threshold: f64,
    density: f64,
) -> (Vec<u32>, Vec<Group>) {
    let k = size.len();
    let mut n: Vec<f64> = size.iter().map(|&s| f64::from(s)).collect();
    let mut adj: Vec<FxHashMap<u32, f64>> = vec![FxHashMap::default(); k];
    for (&(a, b), &w) in between {
        adj[a as usize].insert(b, w);
        adj[b as usize].insert(a, w);
    }
    let mut version = vec![0u32; k];
    let mut parent: Vec<u32> = (0..k as u32).collect();
    let mut merges: Vec<Vec<GroupMerge>> = vec![Vec::new(); k];
    let mut heap = BinaryHeap::new();
    let mut pairs: Vec<(&(u32, u32), &f64)> = between.iter().collect();
    pairs.sort_unstable_by(|x, y| x.0.cmp(y.0));
    for (&(a, b), &w) in pairs {
        let d = w / (n[a as usize] * n[b as usize]);
        if d >= threshold {
            heap.push(Cand {
                d,
                a,
                b,
                va: 0,
                vb: 0,
            });
        }
    }
    while let Some(c) = heap.pop() {
        let (a, b) = (c.a as usize, c.b as usize);
        if version[a] != c.va || version[b] != c.vb || parent[a] != c.a || parent[b] != c.b {
            continue;
        }
        // keep the side with the larger adjacency
        let (keep, gone) = if adj[a].len() >= adj[b].len() {
            (a, b)
        } else {
            (b, a)
        };
        let w = adj[keep].remove(&(gone as u32)).unwrap_or(0.0);
        let gone_adj = std::mem::take(&mut adj[gone]);
        let mut gone_list: Vec<(u32, f64)> = gone_adj.into_iter().collect();
        gone_list.sort_unstable_by_key(|x| x.0);
        for (x, wx) in gone_list {
            if x as usize == keep {
                continue;
            }
            *adj[keep].entry(x).or_default() += wx;
            let ax = &mut adj[x as usize];
            ax.remove(&(gone as u32));
            *ax.entry(keep as u32).or_default() += wx;
        }
        let (big, small) = if n[keep] >= n[gone] {
            (n[keep], n[gone])
        } else {
            (n[gone], n[keep])
        };
        let mut m = std::mem::take(&mut merges[keep]);
        m.append(&mut merges[gone]);
        m.push(GroupMerge {
            sizes: (big as u32, small as u32),
            weight: w,
            ratio: if density > 0.0 {
                w / (big * small) / density
            } else {
                0.0
            },
        });
        merges[keep] = m;
        n[keep] += n[gone];
        parent[gone] = keep as u32;
        version[keep] += 1;
        let mut next: Vec<(u32, f64)> = adj[keep].iter().map(|(&x, &w)| (x, w)).collect();
        next.sort_unstable_by_key(|x| x.0);
        for (x, wx) in next {
            let d = wx / (n[keep] * n[x as usize]);
            if d >= threshold {
                let (p, q) = if (keep as u32) < x {
                    (keep as u32, x)
                } else {
                    (x, keep as u32)
                };
                heap.push(Cand {
                    d,
                    a: p,
                    b: q,
                    va: version[p as usize],
                    vb: version[q as usize],
                });
            }
        }
    }
    // roots are the groups; follow parents (paths are short: each merge points at a root)
    let root = |mut x: usize| {
        while parent[x] as usize != x {
            x = parent[x] as usize;
        }
        x
    };
    let mut gid = vec![u32::MAX; k];
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of_part = vec![0u32; k];
    for p in 0..k {
        let r = root(p);
        if gid[r] == u32::MAX {
            gid[r] = groups.len() as u32;
            groups.push(Group {
                community,
                size: 0,
                parts: Vec::new(),
                merges: std::mem::take(&mut merges[r]),
            });
        }
        let g = &mut groups[gid[r] as usize];
        g.size += size[p];
        g.parts.push(size[p]);
        group_of_part[p] = gid[r];
    }
    for g in &mut groups {
        g.parts.sort_unstable_by(|a, b| b.cmp(a));
    }
    (group_of_part, groups)
}

/// Parts and groups of community `c` whose members (graph nodes, ascending) are `m`.
fn one(g: &Graph, membership: &[u32], c: u32, m: &[u32], cfg: &GroupConfig) -> Local {
    let nc = m.len();
    let mut local: FxHashMap<u32, u32> = FxHashMap::default();
    for (i, &v) in m.iter().enumerate() {
        local.insert(v, i as u32);
    }
    let mut edges: Vec<(u32, u32, f32)> = Vec::new();
    let mut inside = 0.0f64;
    for (i, &v) in m.iter().enumerate() {
        for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
            if u > v && membership[u as usize] == c {
                edges.push((i as u32, local[&u], w));
                inside += f64::from(w);
            }
        }
    }
    let pairs = nc as f64 * (nc as f64 - 1.0) / 2.0;
    let density = if pairs > 0.0 { inside / pairs } else { 0.0 };
    let part: Vec<u32> = if nc < 3 || inside <= 0.0 {
        vec![0; nc]
    } else {
        match Graph::from_edges(nc, &edges) {
            Ok(sub) => {
                leiden(
                    &sub,
                    &LeidenConfig {
                        quality: Quality::Cpm,
                        resolution: cfg.part_density * density,
                        seed: mix(cfg.seed, u64::from(c)),
                        iterations: 2,
                        max_levels: 32,
                    },
                )
                .membership
            }
            Err(_) => vec![0; nc],
        }
    };
    let parts = part.iter().map(|&p| p as usize + 1).max().unwrap_or(0);
    let mut size = vec![0u32; parts];
    for &p in &part {
        size[p as usize] += 1;
    }
    let mut between: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for &(a, b, w) in &edges {
        let (pa, pb) = (part[a as usize], part[b as usize]);
        if pa != pb {
            *between.entry((pa.min(pb), pa.max(pb))).or_default() += f64::from(w);
        }
    }
    let (group_of_part, groups) = link(c, &size, &between, cfg.link_density * density, density);
    Local {
        part,
        parts,
        group_of_part,
        groups,
    }
}

/// The sub-communities and linked groups of every community of `membership` (communities
/// `0..count`) on `g`. See the module docs.
///
/// # Complexity
/// Per community of n_c members and m_c inner edges: Leiden (CPM) on its subgraph, near-linear in
/// m_c, then the merging in O(m_c log m_c); communities run in parallel. O(n + m) in all, plus
/// the logarithms.
pub fn groups(g: &Graph, membership: &[u32], count: usize, cfg: &GroupConfig) -> Hierarchy {
    let n = g.node_count();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
    for v in 0..n as u32 {
        members[membership[v as usize] as usize].push(v);
    }
    let locals: Vec<Local> = members
        .par_iter()
        .enumerate()
        .map(|(c, m)| one(g, membership, c as u32, m, cfg))
        .collect();
    let mut part = vec![0u32; n];
    let mut group = vec![0u32; n];
    let mut groups = Vec::new();
    let mut part_base = 0u32;
    for (m, l) in members.iter().zip(locals) {
        let group_base = groups.len() as u32;
        for (i, &v) in m.iter().enumerate() {
            let p = l.part[i];
            part[v as usize] = part_base + p;
            group[v as usize] = group_base + l.group_of_part[p as usize];
        }
        part_base += l.parts as u32;
        groups.extend(l.groups);
    }
    Hierarchy {
        part,
        part_count: part_base as usize,
        group,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dense core of two 8-cliques tied by 12 edges, and 10 pendant persons each tied by one
    /// weak edge to a core member: one community by modularity, the pendants outside the group.
    fn core_and_fringe() -> (Graph, Vec<u32>) {
        let mut e: Vec<(u32, u32, f32)> = Vec::new();
        for base in [0u32, 8] {
            for i in 0..8 {
                for j in i + 1..8 {
                    e.push((base + i, base + j, 1.0));
                }
            }
        }
        for i in 0..12u32 {
            e.push((i % 8, 8 + (i * 3) % 8, 1.0));
        }
        for p in 0..10u32 {
            e.push((p % 16, 16 + p, 0.2));
        }
        (Graph::from_edges(26, &e).unwrap(), vec![0; 26])
    }

    #[test]
    fn the_fringe_stays_out_of_the_cores_group() {
        let (g, m) = core_and_fringe();
        let h = groups(&g, &m, 1, &GroupConfig::standard(1));
        let core = h.group[0];
        assert!((0..16).all(|v| h.group[v] == core), "{:?}", h.group);
        assert!((16..26).all(|v| h.group[v] != core), "{:?}", h.group);
        let gr = &h.groups[core as usize];
        assert_eq!(gr.size, 16);
        assert_eq!(gr.parts.iter().sum::<u32>(), 16);
        assert_eq!(gr.merges.len() + 1, gr.parts.len());
        assert!(gr
            .merges
            .iter()
            .all(|x| x.ratio >= GroupParams::STANDARD.link_density));
        assert_eq!(h.groups.iter().map(|g| g.size).sum::<u32>(), 26);
        // the same on any seed's run, and again with the same seed
        assert_eq!(h, groups(&g, &m, 1, &GroupConfig::standard(1)));
    }

    #[test]
    fn groups_never_cross_communities() {
        let (g, truth) = crate::algo::leiden::tests_support::ring_of_cliques(6, 5);
        let h = groups(&g, &truth, 6, &GroupConfig::standard(3));
        for (&gr, &c) in h.group.iter().zip(&truth) {
            assert_eq!(h.groups[gr as usize].community, c);
        }
        // a clique is its community's densest set: its parts link back into one group
        assert_eq!(h.groups.len(), 6);
        assert!(h.part_count >= 6);
    }
}
