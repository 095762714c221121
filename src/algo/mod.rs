//! Algorithms over a snapshot: pure, deterministic, parallel with rayon; no I/O.

pub mod expand;
pub mod paths;
pub mod projection;
pub mod rank;
pub mod trace;
