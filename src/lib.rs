//! fraudnet: a graph store, lead expansion, money tracing and community detection for
//! telecom-fraud investigations. See ARCHITECTURE.md for the map.

pub mod algo;
pub mod cli;
pub mod cluster;
pub mod generate;
pub mod ingest;
pub mod model;
pub mod server;
pub mod snapshot;
pub mod store;
