//! Generators of realistic example databases.
pub mod placement;
