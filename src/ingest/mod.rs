//! ingest (under construction)
