//! Targets: where the graph goes.
//!
//! A [`GraphTarget`] is opened from a URL ([`open`]): a core of six methods that hands out
//! its parts — a [`GraphLoader`], a [`GraphReader`], a [`RunLedger`] — and optional
//! abilities ([`Snapshots`], [`ChangeSync`]); see `target.rs`. Loading is split in two so that the
//! expensive part can run beside the store: [`GraphLoader::encode`] turns a
//! [`RecordBatch`] into the store's own form (pure CPU, on a worker thread), and
//! [`GraphLoader::write`] applies it together with the mapping's [`Checkpoint`] in one
//! transaction (serially, on the store). The engine drives a write as a handle
//! (`loader.stage(…)`: outcomes, then the rejects made durable, then the commit; see
//! `handover.rs`), so none of its code runs inside a target's transaction. Writes are idempotent by key: a record whose key
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
mod encoded;
mod error;
mod handover;
mod read_only;
mod records;
mod store;
mod target;
mod url;

/// Declares the stores (each behind its cargo feature, `null:` always there) and the table
/// `check_url` and [`open`] read. Adding a target: its folder with a `STORE`, its feature in
/// Cargo.toml, one line here.
macro_rules! stores {
    ($($module:ident => $feature:literal),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            pub mod $module;
        )*
        pub mod null;
        /// The stores this build has.
        const STORES: &[&store::Store] = &[
            $(
                #[cfg(feature = $feature)]
                &$module::STORE,
            )*
            &null::STORE,
        ];
        /// Every store's name, built in or not, for the error on one this build lacks.
        const STORE_FEATURES: &[&str] = &[$($feature),*];
    };
}

stores! {
    bolt => "bolt",
    falkordb => "falkordb",
    grafeo => "grafeo",
}

pub use census::{Census, CensusPart, Elements, KnownProperties, LabelSet, PropertyCount, RelationshipShape};
pub use dialect::{Ddl, Dialect, PropertySchema, SchemaKind};
pub use encoded::Encoded;
pub use error::TargetError;
pub use handover::{ChangeGate, Gate, Pending, PendingWrite, Step, Work, WriteGate, WriteStep};
pub use read_only::writing_clause;
pub use records::{
    Anchor, AnchorKey, ChangeOutcome, ChangeReport, ChangeSet, Checkpoint, EndpointSpec, NodeRecord, NodeSpec,
    QueryResult, RecordBatch, RelRecord, RelSpec, RowOutcome, WriteReport,
};
pub use target::{
    Access, ChangeSync, GraphLoader, GraphReader, GraphTarget, KeyConstraint, KeyIndex, LeaseLock, RowStream,
    RunLedger, RunRecords, Snapshots, process_alive,
};
pub use url::{check_url, key_guard};

/// Opens the target a URL names (connecting to a server at once). Relative paths are
/// resolved against `base_dir`.
pub async fn open(url: &str, base_dir: &Path, access: Access) -> Result<Box<dyn GraphTarget>, TargetError> {
    let store = url::store_for(url)?;
    (store.check)(url, base_dir)?;
    (store.open)(url, base_dir, access).await
}
