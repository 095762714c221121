//! Weighted undirected graphs over the shared [`Csr`] layout, and the directed view PageRank pulls over.
//!
//! Every undirected edge `{u, v}` (u ≠ v) is stored in both rows; self-loops are kept out of the rows
//! and held per node, so that local-moving algorithms never see them as neighbours while modularity
//! still counts them (a loop of weight `w` adds `2w` to its node's strength and `w` to the total weight,
//! the convention of igraph and networkx). Duplicate edges are merged by summing their weights.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::snapshot::csr::Csr;

/// Input that cannot make a graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error("edge {index}: node {node} is out of range (graph has {n} nodes)")]
    NodeOutOfRange { index: usize, node: u32, n: usize },
    #[error("edge {index}: weight {weight} is not a finite non-negative number")]
    InvalidWeight { index: usize, weight: f32 },
}

/// An undirected weighted graph: adjacency in both directions, weights aligned with the CSR slots.
#[derive(Clone, Debug)]
pub struct Graph {
    csr: Csr,
    weights: Vec<f32>,
    self_loops: Vec<f64>,
    strength: Vec<f64>,
    total_weight: f64,
    /// Every slot weight is 1 (inner loops then skip reading the weights).
    unit_weights: bool,
}

/// Sum of `f(i)` over `0..n` in a fixed association order (fixed chunks, then in order), so the
/// result does not depend on the number of threads.
pub(crate) fn det_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    const CHUNK: usize = 4096;
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&f).sum::<f64>())
        .collect();
    parts.iter().sum()
}

#[inline]
pub(crate) fn pack(target: u32, w: f32) -> u64 {
    (u64::from(target) << 32) | u64::from(w.to_bits())
}

#[inline]
pub(crate) fn unpack(x: u64) -> (u32, f32) {
    ((x >> 32) as u32, f32::from_bits(x as u32))
}

/// Splits `data` into consecutive mutable rows of the given lengths.
pub(crate) fn split_rows<'a, T>(mut data: &'a mut [T], offsets: &[usize]) -> Vec<&'a mut [T]> {
    let mut rows = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let (row, rest) = data.split_at_mut(w[1] - w[0]);
        rows.push(row);
        data = rest;
    }
    rows
}

impl Graph {
    /// Builds an undirected graph over nodes `0..n` from weighted edges, in parallel.
    ///
    /// Each edge is stored in both rows, rows are sorted by neighbour, parallel edges are merged by
    /// summing their weights (in a fixed order, so the result is deterministic), and self-loops are
    /// held per node.
    ///
    /// # Errors
    /// An endpoint `>= n`, or a weight that is negative, NaN or infinite.
    ///
    /// # Complexity
    /// O(n + m log d) time with d the largest degree, O(n + m) memory; rayon-parallel.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f32)]) -> Result<Graph, GraphError> {
        if let Some((index, &(u, v, _))) = edges
            .par_iter()
            .enumerate()
            .find_first(|(_, &(u, v, _))| u as usize >= n || v as usize >= n)
        {
            let node = if u as usize >= n { u } else { v };
            return Err(GraphError::NodeOutOfRange { index, node, n });
        }
        if let Some((index, &(_, _, weight))) = edges
            .par_iter()
            .enumerate()
            .find_first(|(_, &(_, _, w))| !(w.is_finite() && w >= 0.0))
        {
            return Err(GraphError::InvalidWeight { index, weight });
        }
        let counts: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
        edges.par_iter().for_each(|&(u, v, _)| {
            if u != v {
                counts[u as usize].fetch_add(1, Ordering::Relaxed);
                counts[v as usize].fetch_add(1, Ordering::Relaxed);
            }
        });
        let mut offsets = vec![0usize; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + counts[i].load(Ordering::Relaxed) as usize;
        }
        drop(counts);
        let slots_len = offsets[n];
        let cursor: Vec<AtomicUsize> = offsets[..n].iter().map(|&o| AtomicUsize::new(o)).collect();
        let slots: Vec<AtomicU64> = (0..slots_len)
            .into_par_iter()
            .map(|_| AtomicU64::new(0))
            .collect();
        edges.par_iter().for_each(|&(u, v, w)| {
            if u != v {
                let p = cursor[u as usize].fetch_add(1, Ordering::Relaxed);
                slots[p].store(pack(v, w), Ordering::Relaxed);
                let p = cursor[v as usize].fetch_add(1, Ordering::Relaxed);
                slots[p].store(pack(u, w), Ordering::Relaxed);
            }
        });
        drop(cursor);
        let mut slots: Vec<u64> = slots.into_par_iter().map(AtomicU64::into_inner).collect();
        // Sort each row (arrival order is racy; the sorted row is not), then merge duplicates in place.
        let lens: Vec<usize> = split_rows(&mut slots, &offsets)
            .into_par_iter()
            .map(|row| {
                row.sort_unstable();
                let mut out = 0usize;
                let mut i = 0usize;
                while i < row.len() {
                    let (t, w) = unpack(row[i]);
                    let mut sum = f64::from(w);
                    let mut j = i + 1;
                    while j < row.len() && unpack(row[j]).0 == t {
                        sum += f64::from(unpack(row[j]).1);
                        j += 1;
                    }
                    row[out] = pack(t, sum as f32);
                    out += 1;
                    i = j;
                }
                out
            })
            .collect();
        let mut new_offsets = vec![0usize; n + 1];
        for i in 0..n {
            new_offsets[i + 1] = new_offsets[i] + lens[i];
        }
        let (targets, weights): (Vec<u32>, Vec<f32>) = (0..n)
            .into_par_iter()
            .flat_map_iter(|v| {
                slots[offsets[v]..offsets[v] + lens[v]]
                    .iter()
                    .map(|&x| unpack(x))
            })
            .unzip();
        drop(slots);
        let mut self_loops = vec![0f64; n];
        for &(u, v, w) in edges {
            if u == v {
                self_loops[u as usize] += f64::from(w);
            }
        }
        Ok(Graph::from_parts(
            Csr::from_parts(new_offsets, targets),
            weights,
            self_loops,
        ))
    }

    /// Assembles a graph from a symmetric CSR without self-loops, its slot weights and per-node loops.
    pub(crate) fn from_parts(csr: Csr, weights: Vec<f32>, self_loops: Vec<f64>) -> Graph {
        debug_assert_eq!(csr.edge_count(), weights.len());
        let n = csr.node_count();
        let strength: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|v| {
                let r = csr.range(v as u32);
                weights[r].iter().map(|&w| f64::from(w)).sum::<f64>() + 2.0 * self_loops[v]
            })
            .collect();
        let total_weight = det_sum(n, |v| strength[v]) / 2.0;
        let unit_weights = weights.par_iter().all(|&w| w == 1.0);
        Graph {
            csr,
            weights,
            self_loops,
            strength,
            total_weight,
            unit_weights,
        }
    }

    /// Unweighted convenience: every edge has weight 1.
    ///
    /// # Errors
    /// As [`Graph::from_edges`].
    pub fn from_unweighted(n: usize, edges: &[(u32, u32)]) -> Result<Graph, GraphError> {
        let e: Vec<(u32, u32, f32)> = edges.par_iter().map(|&(u, v)| (u, v, 1.0)).collect();
        Graph::from_edges(n, &e)
    }

    pub fn node_count(&self) -> usize {
        self.csr.node_count()
    }

    /// Distinct undirected edges, self-loops included.
    pub fn edge_count(&self) -> usize {
        self.csr.edge_count() / 2 + self.self_loops.iter().filter(|&&w| w > 0.0).count()
    }

    pub fn csr(&self) -> &Csr {
        &self.csr
    }

    #[inline]
    pub fn neighbors(&self, v: u32) -> &[u32] {
        self.csr.neighbors(v)
    }

    /// Weights aligned with [`Graph::neighbors`].
    #[inline]
    pub fn neighbor_weights(&self, v: u32) -> &[f32] {
        &self.weights[self.csr.range(v)]
    }

    /// Weights of the CSR slots `r` (a row's range, as [`Csr::range`] gives it).
    #[inline]
    pub(crate) fn slot_weights(&self, r: std::ops::Range<usize>) -> &[f32] {
        &self.weights[r]
    }

    /// Whether every edge (self-loops aside) has weight 1.
    #[inline]
    pub fn has_unit_weights(&self) -> bool {
        self.unit_weights
    }

    /// Weighted degree: row weights plus twice the self-loop weight.
    #[inline]
    pub fn strength(&self, v: u32) -> f64 {
        self.strength[v as usize]
    }

    pub fn strengths(&self) -> &[f64] {
        &self.strength
    }

    #[inline]
    pub fn self_loop(&self, v: u32) -> f64 {
        self.self_loops[v as usize]
    }

    /// Sum of edge weights, each undirected edge and each loop counted once (`m`).
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Heap bytes held by the graph.
    pub fn heap_bytes(&self) -> usize {
        self.csr.heap_bytes()
            + self.weights.capacity() * 4
            + (self.self_loops.capacity() + self.strength.capacity()) * 8
    }

    /// The directed view of this graph (each undirected edge as two arcs; loops left out).
    pub fn to_digraph(&self) -> Digraph {
        let n = self.node_count();
        let out_degree = (0..n as u32).map(|v| self.csr.degree(v) as u32).collect();
        Digraph {
            in_adj: self.csr.clone(),
            out_degree,
        }
    }
}

/// A directed graph as PageRank needs it: for each node the sources of its in-arcs, and out-degrees.
#[derive(Clone, Debug)]
pub struct Digraph {
    /// Row `v` lists the `u` of every arc `u → v`.
    pub in_adj: Csr,
    pub out_degree: Vec<u32>,
}

impl Digraph {
    /// Builds from arcs `u → v` over nodes `0..n`; parallel arcs are kept (they count twice).
    ///
    /// # Errors
    /// An endpoint `>= n`.
    ///
    /// # Complexity
    /// O(n + m log d).
    pub fn from_arcs(n: usize, arcs: &[(u32, u32)]) -> Result<Digraph, GraphError> {
        if let Some((index, &(u, v))) = arcs
            .par_iter()
            .enumerate()
            .find_first(|(_, &(u, v))| u as usize >= n || v as usize >= n)
        {
            let node = if u as usize >= n { u } else { v };
            return Err(GraphError::NodeOutOfRange { index, node, n });
        }
        let mut out_degree = vec![0u32; n];
        for &(u, _) in arcs {
            out_degree[u as usize] += 1;
        }
        let rev: Vec<(u32, u32)> = arcs.par_iter().map(|&(u, v)| (v, u)).collect();
        let (in_adj, _) = Csr::from_pairs(n, &rev);
        Ok(Digraph { in_adj, out_degree })
    }

    pub fn node_count(&self) -> usize {
        self.out_degree.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_in_both_rows_duplicates_merged_loops_apart() {
        let g =
            Graph::from_edges(3, &[(0, 1, 1.0), (1, 0, 2.0), (1, 2, 1.5), (2, 2, 4.0)]).unwrap();
        assert_eq!(g.neighbors(0), &[1]);
        assert_eq!(g.neighbor_weights(0), &[3.0]);
        assert_eq!(g.neighbors(1), &[0, 2]);
        assert_eq!(g.neighbor_weights(1), &[3.0, 1.5]);
        assert_eq!(g.neighbors(2), &[1]);
        assert_eq!(g.self_loop(2), 4.0);
        assert_eq!(g.strength(2), 1.5 + 8.0);
        assert_eq!(g.total_weight(), 3.0 + 1.5 + 4.0);
        assert_eq!(g.edge_count(), 3);
        assert!(!g.has_unit_weights());
        let sum: f64 = g.strengths().iter().sum();
        assert_eq!(sum, 2.0 * g.total_weight());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            Graph::from_edges(2, &[(0, 2, 1.0)]),
            Err(GraphError::NodeOutOfRange {
                index: 0,
                node: 2,
                n: 2
            })
        ));
        assert!(matches!(
            Graph::from_edges(2, &[(0, 1, 1.0), (0, 1, -1.0)]),
            Err(GraphError::InvalidWeight { index: 1, .. })
        ));
        assert!(Graph::from_edges(2, &[(0, 1, f32::NAN)]).is_err());
    }

    #[test]
    fn empty_and_isolated() {
        let g = Graph::from_edges(0, &[]).unwrap();
        assert_eq!(g.node_count(), 0);
        let g = Graph::from_edges(4, &[(0, 1, 1.0)]).unwrap();
        assert!(g.has_unit_weights());
        assert_eq!(g.neighbors(3), &[] as &[u32]);
        assert_eq!(g.strength(3), 0.0);
    }

    #[test]
    fn digraph_in_adjacency() {
        let d = Digraph::from_arcs(3, &[(0, 1), (2, 1), (1, 0)]).unwrap();
        assert_eq!(d.in_adj.neighbors(1), &[0, 2]);
        assert_eq!(d.in_adj.neighbors(0), &[1]);
        assert_eq!(d.out_degree, vec![1, 1, 1]);
        assert!(Digraph::from_arcs(2, &[(0, 5)]).is_err());
    }
}
