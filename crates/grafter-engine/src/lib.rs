//! The runner: joins a source and a target through a plan.
//!
//! [`run`] is `grafter run`. It binds every selected mapping against the source's columns
//! ([`prepare`]), creates the key indexes, and then loads stage by stage: within a stage the
//! mappings run side by side, each as a pipeline ([`pipeline`]) of three steps joined by small
//! bounded channels — the source's scan, the transform of rows into records ([`records`]) plus
//! the target's encoding, and the target's write with its checkpoint. Rows that cannot be
//! loaded go to the reject file ([`rejects`]) with their reason; the [`RunSummary`] accounts
//! for every row read. Progress is reported to an [`Observer`]. [`verify`] is `grafter
//! verify`: the graph compared with the source, element by element where they differ; a run
//! ends with it.
//!
//! The engine is the only crate that knows both sources and targets; it knows neither's
//! connectors, only their traits.

mod admin;
mod describe;
mod error;
mod export;
mod fault;
mod graph_archive;
mod identity;
mod interrupt;
mod keep;
mod lease;
mod ledger;
mod observer;
mod pipeline;
mod prepare;
mod records;
mod rejects;
mod remap;
mod resume;
mod run;
mod session;
mod snapshots;
mod summary;
mod sync;
mod throughput;
mod verify;

pub use admin::{LockState, RollbackReport, RollbackTarget, break_lock, fingerprint, history, lock_status, rollback};
pub use describe::{ActualCounts, ModelCounts, PlanDescription, describe_plan};
pub use error::EngineError;
pub use export::{ExportOptions, ExportSummary, ExportedEntity, export};
pub use graph_archive::{export_graph, import_plan};
pub use lease::{DEFAULT_LEASE, holder};
pub use observer::{NullObserver, Observer};
pub use prepare::PreparedMapping;
pub use rejects::sync_reject_file;
pub use run::{RunOptions, run};
pub use session::new_run_id;
pub use snapshots::{Rollback, SnapshotEntry, list_snapshots, prune_snapshots, rollback_states};
pub use summary::{KeptArchive, MappingStats, MappingStatus, RunSummary};
pub use sync::{Counts, MappingSync, PassReport, SyncEnd, SyncOptions, SyncSummary, sync};
pub use verify::command::verify;
pub use verify::{
    CheckReport, ElementRef, FieldDifference, Finding, KeyConstraintReport, MappingReport, MappingVerdict, NodeRef,
    NotFromConfig, RunGlance, Verdict, VerifyOptions, VerifyReport,
};
