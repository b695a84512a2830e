//! Who and where: the operator, host and grafter version recorded in history and locks.

pub use grafter_model::identity::{host, user};

/// grafter's version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
