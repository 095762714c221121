//! The one integration-test binary: end-to-end tests through the `fraudnet` binary and the library.

mod cluster;
mod expand;
mod ingest;
mod support;
