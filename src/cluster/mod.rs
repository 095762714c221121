//! Batch analytics across machines: the partitioned edge export ([`partition`]) and the algorithms
//! on timely dataflow that read it ([`dataflow`]). No I/O beyond the export files; the command line
//! (`fraudnet export --edges`, `fraudnet cluster`) is in `cli::cluster`.

pub mod dataflow;
pub mod partition;

pub use dataflow::{run, Algo, ClusterConfig, ClusterError, ClusterResult, Params, Step};
pub use partition::{ExportWriter, Manifest, PartitionError};
