//! Targets: where the graph goes.
//!
//! A [`GraphTarget`] is opened from a URL ([`open`]): a core of six methods that hands out
//! its parts — a [`GraphLoader`], a [`GraphReader`], a [`RunLedger`] — and optional
//! abilities ([`Snapshots`], [`ChangeSync`]); see `target.rs`. Loading is split in two so that the
//! expensive part can run beside the store: [`GraphLoader::encode`] turns a
//! [`RecordBatch`] into the store's own form (pure CPU, on a worker thread), and
//! [`GraphLoader::write`] applies it together with the mapping's [`Checkpoint`] in one
//! transaction (serially, on the store). Writes are idempotent by key: a record whose key
//! already exists from before the run updates that node or relationship instead of adding
//! another. Every target also answers Cypher ([`GraphTarget::query`]), which is how users
//! and tests look at the result.
//!
//! The run ledger a target keeps (checkpoints, run history, the lease lock) lives in the
//! store because it must commit with the data; every Cypher server's records and reads are
//! written once (`cypher/server.rs`). Targets never see sources.

use std::path::Path;

mod census;
#[cfg(any(feature = "falkordb", feature = "bolt"))]
mod cypher;
mod dialect;
mod error;
mod read_only;
mod records;
mod target;
mod url;

#[cfg(feature = "bolt")]
pub mod bolt;
#[cfg(feature = "falkordb")]
pub mod falkordb;
#[cfg(feature = "grafeo")]
pub mod grafeo;
pub mod null;

pub use census::{Census, Elements, KnownProperties, LabelSet, PropertyCount, RelationshipShape};
pub use dialect::{Ddl, Dialect, PropertySchema, SchemaKind};
pub use error::TargetError;
pub use read_only::writing_clause;
pub use records::{
    Anchor, AnchorKey, ChangeOutcome, ChangeReport, ChangeSet, Checkpoint, Encoded, EndpointSpec, NodeRecord, NodeSpec,
    QueryResult, RecordBatch, RelRecord, RelSpec, RowOutcome, WriteReport,
};
pub use target::{
    Access, BeforeCommit, ChangeCommit, ChangeSync, GraphLoader, GraphReader, GraphTarget, KeyIndex, LeaseLock,
    RowStream, RunLedger, RunRecords, Snapshots, process_alive,
};
pub use url::{BoltUrl, FalkorDbUrl, MIN_MESSAGE_BYTES, TargetUrl, parse_url};

/// Opens the target a URL names. Relative paths are resolved against `base_dir`.
pub async fn open(url: &str, base_dir: &Path, access: Access) -> Result<Box<dyn GraphTarget>, TargetError> {
    match parse_url(url, base_dir)? {
        #[cfg(feature = "grafeo")]
        TargetUrl::Grafeo(path) => Ok(Box::new(grafeo::GrafeoTarget::open(&path, access).await?)),
        TargetUrl::Null => Ok(Box::new(null::NullTarget::default())),
        #[cfg(feature = "falkordb")]
        TargetUrl::FalkorDb(url) => Ok(Box::new(falkordb::FalkorDbTarget::open(&url, access).await?)),
        #[cfg(feature = "bolt")]
        TargetUrl::Bolt(url) => Ok(Box::new(bolt::BoltTarget::open(&url, access).await?)),
        #[allow(unreachable_patterns)]
        other => Err(TargetError::NotBuiltIn { scheme: other.scheme().to_owned() }),
    }
}
