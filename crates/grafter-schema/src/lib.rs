//! Versioned schema migrations of the graph, for every target.
//!
//! A project's `migrations/` folder (beside grafter.toml) holds `V0001__name.cypher` files
//! with `// up`, `// down` and `// verify` sections ([`migration`]) and `V0002__name.toml`
//! declarative refactorings compiled to Cypher with their inverse and verification
//! ([`declarative`]). [`MigrationSet::load`] reads them all and orders them by version and
//! their `requires:` headers ([`set`]); every file has a [`checksum`] that ignores line
//! endings and trailing whitespace.
//!
//! The [`Migrator`] applies and reverts them on a [`grafter_target::GraphTarget`] under the
//! target's lease lock, recording each version in the target itself ([`history`]), with a
//! snapshot before each migration that is restored when a statement or a verify query fails
//! ([`runner`]). Dry runs classify each statement and count what it touches ([`plan`]);
//! `status`, `verify`, `repair`, `baseline` and `roundtrip` are in [`admin`].
//!
//! This crate sits beside the engine: it knows targets only through their trait, and the
//! CLI gives it the lock holder (who, where) to migrate as.

pub mod admin;
pub mod checksum;
pub mod declarative;
mod error;
mod fault;
pub mod history;
pub mod merge;
pub mod migration;
pub mod plan;
pub mod runner;
pub mod set;
pub mod statement;
pub mod transform;

pub use admin::{ChecksumState, Repair, Roundtrip, StatusLine, VerifyLine, status};
pub use error::SchemaError;
pub use history::{MIGRATION_LABEL, MigrationRecord, MigrationStatus};
pub use migration::{Kind, Migration, Version};
pub use plan::{Estimate, PlannedMigration, PlannedStatement};
pub use runner::{Migrator, Options, Outcome, Report};
pub use set::MigrationSet;
pub use statement::{Statement, Step, TransformStep};
