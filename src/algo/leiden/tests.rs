use proptest::prelude::*;

use super::tests_support::{cliques_with_bridge, ring_of_cliques};
use super::*;
use crate::algo::quality::{modularity, nmi};

fn lcfg(seed: u64) -> LeidenConfig {
    LeidenConfig {
        quality: Quality::Modularity,
        resolution: 1.0,
        seed,
        iterations: 2,
        max_levels: 64,
    }
}

fn louv(seed: u64) -> LouvainConfig {
    LouvainConfig {
        resolution: 1.0,
        seed,
        max_levels: 64,
    }
}

#[test]
fn two_cliques_joined_by_a_bridge() {
    let g = cliques_with_bridge(5);
    for p in [leiden(&g, &lcfg(1)), louvain(&g, &louv(1))] {
        assert_eq!(p.community_count, 2);
        assert!(p.membership[..5].iter().all(|&c| c == p.membership[0]));
        assert!(p.membership[5..].iter().all(|&c| c == p.membership[5]));
        let q = modularity(&g, &p.membership, 1.0).unwrap();
        assert!((q - p.quality).abs() < 1e-12);
    }
}

#[test]
fn ring_of_cliques_recovers_every_clique() {
    let (g, truth) = ring_of_cliques(20, 5);
    let p = leiden(&g, &lcfg(7));
    assert_eq!(p.community_count, 20);
    assert!((nmi(&p.membership, &truth).unwrap() - 1.0).abs() < 1e-9);
    let p = louvain(&g, &louv(7));
    assert!((nmi(&p.membership, &truth).unwrap() - 1.0).abs() < 1e-9);
}

#[test]
fn resolution_limit_merges_small_cliques_and_high_resolution_splits() {
    // 30 triangles in a ring: at γ = 1 modularity prefers pairs of triangles (resolution limit);
    // above γ = 3.75 every triangle stands alone.
    let (g, truth) = ring_of_cliques(30, 3);
    let high = LeidenConfig {
        resolution: 5.0,
        ..lcfg(2)
    };
    let p = leiden(&g, &high);
    assert!(
        (nmi(&p.membership, &truth).unwrap() - 1.0).abs() < 1e-9,
        "{:?}",
        p.membership
    );
    let p = leiden(&g, &lcfg(2));
    assert!(p.community_count < 30);
}

#[test]
fn cpm_with_high_threshold_keeps_cliques_only() {
    let (g, truth) = ring_of_cliques(6, 5);
    let cfg = LeidenConfig {
        quality: Quality::Cpm,
        resolution: 0.5,
        ..lcfg(3)
    };
    let p = leiden(&g, &cfg);
    assert!((nmi(&p.membership, &truth).unwrap() - 1.0).abs() < 1e-9);
    // e_c = 10 per clique, n_c (n_c - 1)/2 = 10 → H = 6 * (10 - 0.5 * 10)
    assert!((p.quality - 30.0).abs() < 1e-9, "{}", p.quality);
}

#[test]
fn star_and_disconnected_parts() {
    // a star 0..6, a triangle 7..10, two isolated nodes 10 and 11
    let mut e: Vec<(u32, u32)> = (1..6).map(|l| (0, l)).collect();
    e.extend([(6, 7), (7, 8), (6, 8)]);
    let g = Graph::from_unweighted(11, &e).unwrap();
    let p = leiden(&g, &lcfg(4));
    assert_eq!(p.membership.len(), 11);
    assert!(p.membership[..6].iter().all(|&c| c == p.membership[0]));
    assert!(p.membership[6..9].iter().all(|&c| c == p.membership[6]));
    assert_ne!(p.membership[0], p.membership[6]);
    assert_ne!(p.membership[9], p.membership[10]);
    assert!(communities_connected(&g, &p.membership));
}

#[test]
fn empty_and_edgeless() {
    let g = Graph::from_edges(0, &[]).unwrap();
    assert_eq!(leiden(&g, &lcfg(1)).community_count, 0);
    let g = Graph::from_edges(3, &[]).unwrap();
    let p = leiden(&g, &lcfg(1));
    assert_eq!(p.community_count, 3);
    assert_eq!(p.quality, 0.0);
}

#[test]
fn self_loops_and_weights() {
    // Heavy loops on two nodes joined by a light edge: keep them apart.
    let g = Graph::from_edges(2, &[(0, 0, 10.0), (1, 1, 10.0), (0, 1, 0.1)]).unwrap();
    let p = leiden(&g, &lcfg(1));
    assert_eq!(p.community_count, 2);
    // A weighted path: the heavy pairs stay together.
    let g = Graph::from_edges(4, &[(0, 1, 5.0), (1, 2, 0.1), (2, 3, 5.0)]).unwrap();
    let p = leiden(&g, &lcfg(1));
    assert_eq!(p.membership, vec![0, 0, 1, 1]);
}

fn planted(n: u32, k: u32, deg_in: u32, deg_out: u32, seed: u64) -> (Graph, Vec<u32>) {
    use rand::Rng;
    let mut r = crate::algo::scratch::rng(seed);
    let size = n / k;
    let mut e = Vec::new();
    for v in 0..n {
        let c = v / size;
        for _ in 0..deg_in / 2 {
            e.push((v, c * size + r.gen_range(0..size)));
        }
        for _ in 0..deg_out / 2 {
            e.push((v, r.gen_range(0..n)));
        }
    }
    (
        Graph::from_unweighted(n as usize, &e).unwrap(),
        (0..n).map(|v| v / size).collect(),
    )
}

#[test]
fn planted_partition_is_recovered_and_deterministic_across_threads() {
    let (g, truth) = planted(3000, 30, 16, 4, 11);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let a = one.install(|| leiden(&g, &lcfg(5)));
    let b = four.install(|| leiden(&g, &lcfg(5)));
    assert_eq!(a, b);
    assert!(nmi(&a.membership, &truth).unwrap() > 0.95);
    assert!(communities_connected(&g, &a.membership));
    let c = one.install(|| louvain(&g, &louv(5)));
    let d = four.install(|| louvain(&g, &louv(5)));
    assert_eq!(c, d);
    assert!(nmi(&c.membership, &truth).unwrap() > 0.95);
    let e = leiden(&g, &lcfg(6));
    assert!(nmi(&e.membership, &truth).unwrap() > 0.95);
}

fn arb_graph() -> impl Strategy<Value = Graph> {
    (1usize..80).prop_flat_map(|n| {
        proptest::collection::vec((0..n as u32, 0..n as u32, 0.1f32..3.0), 0..300)
            .prop_map(move |e| Graph::from_edges(n, &e).unwrap())
    })
}

proptest! {
    #![proptest_config(crate::proptest_config(64))]
    #[test]
    fn leiden_invariants(g in arb_graph(), seed in 0u64..1000) {
        let p = leiden(&g, &lcfg(seed));
        prop_assert_eq!(p.membership.len(), g.node_count());
        prop_assert!(p.membership.iter().all(|&c| (c as usize) < p.community_count));
        prop_assert!(communities_connected(&g, &p.membership));
        let q = modularity(&g, &p.membership, 1.0).unwrap();
        prop_assert!((-0.5..=1.0).contains(&q));
        prop_assert!((q - p.quality).abs() < 1e-9);
        // Never worse than all singletons.
        let single: Vec<u32> = (0..g.node_count() as u32).collect();
        prop_assert!(q >= modularity(&g, &single, 1.0).unwrap() - 1e-9);
    }

    #[test]
    fn louvain_covers_all_nodes(g in arb_graph(), seed in 0u64..1000) {
        let p = louvain(&g, &louv(seed));
        prop_assert_eq!(p.membership.len(), g.node_count());
        let q = modularity(&g, &p.membership, 1.0).unwrap();
        prop_assert!((-0.5..=1.0).contains(&q));
    }
}

#[test]
fn a_reused_refinement_isolates_moved_nodes_and_splits_what_they_held_together() {
    // Path 0-1-2 and pair 3-4 as the first refinement; then node 1 moves to another community.
    let g = Graph::from_edges(5, &[(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0), (2, 3, 1.0)]).unwrap();
    let prev = [0, 0, 0, 1, 1];
    let before = [0, 0, 0, 0, 0];
    let comm = [0, 1, 0, 0, 0];
    let (b, hit) = reuse_refinement(&g, &prev, &before, &comm);
    assert_eq!(hit, vec![0]);
    // 0 and 2 are no longer connected inside their group; 1 is alone; 3-4 untouched.
    assert_eq!(b[3], b[4]);
    let mut labels = b.to_vec();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels, vec![0, 1, 2, 3], "{b:?}");
    assert!(b[0] != b[2] && b[1] != b[0] && b[1] != b[2] && b[3] != b[0]);
    // Nothing moved: the first refinement as it was.
    assert_eq!(
        reuse_refinement(&g, &prev, &before, &before),
        (prev.to_vec(), vec![])
    );
}

#[test]
fn second_pass_communities_stay_connected() {
    let (g, _) = ring_of_cliques(30, 6);
    for seed in 0..8 {
        let p = leiden(&g, &lcfg(seed));
        assert!(communities_connected(&g, &p.membership), "seed {seed}");
    }
}

#[test]
fn aggregating_from_a_previous_aggregate_gives_the_same_graph_to_the_bit() {
    let (g, truth) = ring_of_cliques(12, 6);
    let nw = g.strengths().to_vec();
    // First groups: every clique cut in two halves of three.
    let prev: Vec<u32> = (0..g.node_count() as u32).map(|v| v / 3).collect();
    let k_prev = g.node_count() / 3;
    let first = aggregate(&g, &nw, &prev, k_prev, None);
    // Nodes 0 and 7 move to the next clique's community.
    let before = truth.clone();
    let mut comm = truth.clone();
    comm[0] = truth[6];
    comm[7] = truth[12];
    let (basis, hit) = reuse_refinement(&g, &prev, &before, &comm);
    let communities = comm.iter().map(|&c| c as usize + 1).max().unwrap();
    let (basis, k) = renumber_by_community(&basis, &comm, communities);
    let same = Same::new(&prev, &hit, &basis, k, k_prev);
    assert!(same.prev_of.iter().any(|&b| b != NONE) && same.prev_of.contains(&NONE));
    let fresh = aggregate(&g, &nw, &basis, k, None);
    let reused = aggregate(&g, &nw, &basis, k, Some((&first, &same)));
    for a in 0..k as u32 {
        assert_eq!(fresh.g.neighbors(a), reused.g.neighbors(a), "row {a}");
        let r = fresh.g.csr().range(a);
        assert_eq!(fresh.g.slot_weights(r.clone()), reused.g.slot_weights(r));
        assert_eq!(
            fresh.g.self_loop(a).to_bits(),
            reused.g.self_loop(a).to_bits()
        );
        assert_eq!(
            fresh.nw[a as usize].to_bits(),
            reused.nw[a as usize].to_bits()
        );
    }
}

#[test]
fn timed_runs_report_every_level_and_the_same_partition() {
    let (g, _) = planted(3000, 30, 16, 4, 11);
    let (p, levels) = leiden_timed(&g, &lcfg(5));
    assert_eq!(p, leiden(&g, &lcfg(5)));
    assert_eq!(levels.len(), p.levels);
    assert_eq!((levels[0].pass, levels[0].level), (0, 0));
    assert_eq!(levels[0].nodes, g.node_count());
    assert_eq!(levels[0].edges, g.edge_count());
    assert!(levels[0].moves > 0 && levels[0].rounds > 0);
    // later levels of a pass are smaller; the second pass starts again from the input graph
    assert!(levels
        .windows(2)
        .all(|w| w[1].level == 0 || w[1].nodes < w[0].nodes));
    assert!(levels.iter().any(|l| l.pass == 1 && l.level == 0));
    assert!(levels
        .iter()
        .all(|l| l.moving >= 0.0 && l.aggregating >= 0.0));
    let (q, louvain_levels) = louvain_timed(&g, &louv(5));
    assert_eq!(q, louvain(&g, &louv(5)));
    assert_eq!(louvain_levels.len(), q.levels);
    assert!(louvain_levels
        .iter()
        .all(|l| l.pass == 0 && l.refining >= 0.0));
}

#[test]
fn a_later_pass_that_moves_a_handful_of_nodes_stops_at_the_input_level() {
    let (g, _) = planted(3000, 30, 16, 4, 11);
    let n = g.node_count();
    let mut stopped = 0;
    for seed in 0..8 {
        let cfg = LeidenConfig {
            iterations: 3,
            ..lcfg(seed)
        };
        let (p, levels) = leiden_timed(&g, &cfg);
        assert!(communities_connected(&g, &p.membership), "seed {seed}");
        for pass in 1..3 {
            let first = levels.iter().find(|l| l.pass == pass && l.level == 0);
            let above = levels.iter().any(|l| l.pass == pass && l.level > 0);
            if let Some(f) = first {
                assert_eq!(above, f.moves > n / 1000, "seed {seed} pass {pass}");
                stopped += usize::from(!above);
            }
        }
    }
    assert!(stopped > 0, "no pass stopped early: the rule went untested");
}

#[test]
fn splitting_searches_only_the_suspect_communities() {
    // Two 4-cliques, 0..4 and 4..8, bridged by 3–4; each community holds a pair of each clique,
    // so both are disconnected.
    let g = cliques_with_bridge(4);
    let membership = vec![0, 0, 1, 1, 0, 0, 1, 1];
    // Labels are the smallest node of each part.
    assert_eq!(
        split_disconnected(&g, &membership, None),
        vec![0, 0, 2, 2, 4, 4, 6, 6]
    );
    // Nothing suspect: every community is taken as connected.
    assert_eq!(
        split_disconnected(&g, &membership, Some(&[false; 8])),
        vec![0, 0, 2, 2, 0, 0, 2, 2]
    );
    // One suspect member: its whole community is searched, the other is left alone.
    let mut one = [false; 8];
    one[6] = true;
    assert_eq!(
        split_disconnected(&g, &membership, Some(&one)),
        vec![0, 0, 2, 2, 0, 0, 6, 6]
    );
}
