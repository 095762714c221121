//! Identifiers (placeholder)
