//! Ingest: investigators' files (call records, bank statements, registries, debrief links,
//! FollowTheMoney JSON lines) to normalised records, and records into the store.

pub mod edgelist;
pub mod import;
pub mod parse;
pub mod record;
pub mod writer;

use crate::model::EntityId;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store names entity {0:?} in its identifier index but has no record of it (run `fraudnet check`)")]
    Dangling(EntityId),
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests;
