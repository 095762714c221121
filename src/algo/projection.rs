//! Person-level projection (in progress).
