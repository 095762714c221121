//! generate (under construction)
