//! Ingest: investigators' files (call records, bank statements, registries, debrief links,
//! FollowTheMoney JSON lines) to normalised records, and records into the store.

pub mod parse;
pub mod record;
