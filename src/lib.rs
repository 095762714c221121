//! fraudnet: a graph store, lead expansion, money tracing and community detection for
//! telecom-fraud investigations. See ARCHITECTURE.md for the map.

pub mod algo;
pub mod cli;
pub mod cluster;
pub mod generate;
pub mod ingest;
pub mod mem;
pub mod model;
pub mod server;
pub mod snapshot;
pub mod store;

/// proptest settings for the crate's property tests: `cases` cases, and failing cases kept beside
/// the test's source file (`tests.rs` → `tests.proptest-regressions`), not in a top-level folder.
#[cfg(test)]
pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
