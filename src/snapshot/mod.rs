//! In-memory, immutable graph snapshots built from the store, shared read-only by every query.

pub mod csr;
