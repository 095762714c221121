//! Graph algorithms: pure functions over in-memory graphs, parallel with rayon, deterministic given
//! an explicit seed (and, where stated, whatever the number of threads).
//!
//! No I/O, no serde, no tokio. Inputs are a [`graph::Graph`] (undirected, weighted, over the shared
//! [`crate::snapshot::csr::Csr`]) or a bare `Csr`; parameters are `*Config` structs without
//! `Default`, results are plain structs or vectors indexed by node.
//!
//! * community runs over a snapshot: [`community`] (detection, attachment, stable ids, comparison),
//!   [`report`] (per-community key people, money, links), [`groups`] (sub-communities and the
//!   linked groups they form inside each community)
//! * communities: [`leiden::leiden`], [`leiden::louvain`], [`lpa::label_propagation`],
//!   [`components::connected_components`], [`kcore::core_numbers`]
//! * centrality: [`pagerank::pagerank`], [`centrality::betweenness`], [`centrality::degree`]
//! * quality: [`quality::modularity`], [`quality::nmi`]
//! * traversal: [`bfs::bfs`] (direction-optimizing), [`bfs::k_hop`]
//! * investigation over a snapshot: [`expand::expand`] (leads), [`rank::rank`], [`paths`] (petgraph on
//!   the extracted subgraph), [`trace::trace`] (money flow), [`projection`] (person-level graph)

pub mod bfs;
pub mod centrality;
pub mod community;
pub mod components;
pub mod expand;
pub mod graph;
pub mod groups;
pub mod kcore;
pub mod leiden;
pub mod lpa;
pub mod pagerank;
pub mod paths;
pub mod projection;
pub mod quality;
pub mod rank;
pub mod report;
pub(crate) mod scratch;
pub mod trace;

/// Errors of algorithm entry points that take node indices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgoError {
    #[error("node {node} is out of range (graph has {n} nodes)")]
    NodeOutOfRange { node: u32, n: usize },
}
