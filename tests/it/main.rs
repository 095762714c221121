//! The one integration-test binary: end-to-end tests through the `fraudnet` binary and the library.

mod analyze;
mod cluster;
mod communities;
mod crash;
mod expand;
mod fuzz;
mod ingest;
mod serve;
mod support;
