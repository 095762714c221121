//! Integration tests: one binary.

mod expand;
