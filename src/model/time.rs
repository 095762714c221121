//! Times (placeholder)
