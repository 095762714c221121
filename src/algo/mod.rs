//! algo (under construction)
