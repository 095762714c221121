//! The one integration-test binary: end-to-end tests through the `fraudnet` binary and the library.

mod communities;
mod expand;
mod ingest;
mod support;
