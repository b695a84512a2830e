//! The [`GraphTarget`] trait every store implements — a core of six methods — and its parts
//! and abilities ([`GraphLoader`], [`GraphReader`], [`RunLedger`] = [`RunRecords`] + [`LeaseLock`],
//! [`Snapshots`], [`ChangeSync`]), with what they are asked in: [`KeyIndex`], [`Access`], the
//! [`RowStream`] of a read, the gates a load and a sync settle through (`handover.rs`). Near
//! a leaf of the crate's imports: it names the records, the census, the dialect and the
//! gates, never a store.

use std::collections::BTreeMap;
use std::path::Path;
use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
use grafter_model::{Fingerprint, LockHolder, RunRecord, SyncState, Value};

use crate::census::{Census, CensusPart, KnownProperties};
use crate::dialect::{Ddl, Dialect};
use crate::encoded::Encoded;
use crate::error::TargetError;
use crate::handover::{ChangeGate, WriteGate};
use crate::read_only::writing_clause;
use crate::records::{ChangeReport, ChangeSet, Checkpoint, EndpointSpec, QueryResult, RecordBatch, WriteReport};

/// Whether a process with this id runs on this host (Linux: it has a /proc entry, and is
/// not a zombie). Where that cannot be told, it is taken as alive, so a lock is never taken
/// from a live holder. Lock holders on this host are judged by it.
pub fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat.rsplit_once(") ").is_none_or(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// An index the target should have before loading: on `properties` of nodes labelled `label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndex {
    /// The label.
    pub label: String,
    /// The key properties, in key order.
    pub properties: Vec<String>,
}

/// A node key a uniqueness constraint of the target's holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConstraint {
    /// The label and key properties.
    pub key: KeyIndex,
    /// Whether it holds now; `false` while the server still builds it over nodes already
    /// there (FalkorDB builds in the background).
    pub working: bool,
}

/// Rows read back from the graph, in batches: one value per requested column, NULL where
/// a property is not set.
pub type RowStream = Pin<Box<dyn Stream<Item = Result<Vec<Vec<Value>>, TargetError>> + Send>>;

/// A graph store grafter loads into: a small core every store has, and optional abilities
/// the engine asks for before it uses them (datafusion's `TableProvider` shape).
///
/// The core names the store, answers Cypher, closes, and hands out its parts: the
/// [`GraphLoader`] a run writes through, the [`GraphReader`] verification reads back
/// through, and the [`RunLedger`] — [`RunRecords`] (checkpoints and run history) and the
/// [`LeaseLock`] — kept in the store itself so that it commits with the data it describes.
/// Taking snapshots for rollback ([`GraphTarget::snapshots`]) and applying a sync's changes
/// ([`GraphTarget::change_sync`]) are abilities some stores lack.
#[async_trait]
pub trait GraphTarget: Send + Sync {
    /// The target's URL for people to read, password redacted.
    fn describe(&self) -> String;

    /// What a run loads through.
    fn loader(&self) -> &dyn GraphLoader;

    /// What verification and `grafter fingerprint` read the graph back through.
    fn reader(&self) -> &dyn GraphReader;

    /// The run ledger the store keeps: checkpoints and run records, and the lease lock.
    fn ledger(&self) -> &dyn RunLedger;

    /// Runs a Cypher query with parameters and returns all its rows. It may write.
    async fn query(
        &self,
        cypher: &str,
        params: Vec<(String, grafter_model::Value)>,
    ) -> Result<QueryResult, TargetError>;

    /// Flushes and closes the store.
    async fn close(&self) -> Result<(), TargetError>;

    // ------------------------------------------------------------------ defaulted

    /// Runs a Cypher query that must not change the graph (checks, verify queries, `grafter
    /// query` without `--write`): one that would is refused with
    /// [`TargetError::WriteRefused`] and changes nothing. Stores that can run a query
    /// read-only do so; this default, for those that cannot, refuses any query whose text
    /// holds a writing clause ([`writing_clause`]) before sending it.
    async fn read_query(
        &self,
        cypher: &str,
        params: Vec<(String, grafter_model::Value)>,
    ) -> Result<QueryResult, TargetError> {
        if let Some(clause) = writing_clause(cypher) {
            return Err(TargetError::WriteRefused { target: self.describe(), reason: format!("it holds `{clause}`") });
        }
        self.query(cypher, params).await
    }

    /// Whether the target keeps what it is given. The null target does not: there is then
    /// nothing to verify.
    fn keeps_graph(&self) -> bool {
        true
    }

    /// The DDL the target speaks for indexes and constraints. The embedded store speaks
    /// Neo4j 5's (named indexes and constraints).
    fn dialect(&self) -> Dialect {
        Dialect::Neo4j
    }

    /// Runs one DDL step its [`GraphTarget::dialect`] wrote: Cypher through
    /// [`GraphTarget::query`]; FalkorDB also runs its constraint commands.
    async fn run_ddl(&self, ddl: &Ddl) -> Result<(), TargetError> {
        match ddl {
            Ddl::Cypher(text) => self.query(text, Vec::new()).await.map(|_| ()),
            other => Err(TargetError::Unsupported { target: self.describe(), what: format!("`{other}`") }),
        }
    }

    // ------------------------------------------------------------------ optional abilities

    /// Snapshots for rollback, if the store can take them (`None`: runs start without one,
    /// and `grafter rollback` has nothing to go back to).
    fn snapshots(&self) -> Option<&dyn Snapshots> {
        None
    }

    /// [`GraphTarget::snapshots`] where a snapshot is known to exist (a run's record names
    /// it), or the refusal that names the target.
    fn require_snapshots(&self) -> Result<&dyn Snapshots, TargetError> {
        self.snapshots().ok_or_else(|| TargetError::Unsupported { target: self.describe(), what: "snapshots".into() })
    }

    /// Applying a sync's changes, or why this store cannot keep up incrementally (asked
    /// before `grafter sync` reads anything).
    fn change_sync(&self) -> Result<&dyn ChangeSync, TargetError> {
        Err(TargetError::Unsupported { target: self.describe(), what: "incremental sync".into() })
    }
}

/// How a run writes into a store. Loading is split in two so that the expensive part runs
/// beside the store: [`GraphLoader::encode`] turns a [`RecordBatch`] into the store's own
/// form (pure CPU, on a worker thread), and [`GraphLoader::write`] applies it together with
/// the mapping's [`Checkpoint`] in one transaction (serially, on the store).
#[async_trait]
pub trait GraphLoader: Send + Sync {
    /// Starts (or, with the `marks` a previous attempt returned, resumes) a run: from now on
    /// writes tell this run's elements from older ones. Returns the marks to store with the
    /// run, so that a resume after a crash judges duplicates exactly as one clean run would.
    async fn begin_run(&self, marks: Option<&str>) -> Result<String, TargetError>;

    /// Creates the key indexes (idempotently). Returns the statements it ran, for the log.
    async fn ensure_indexes(&self, indexes: &[KeyIndex]) -> Result<Vec<String>, TargetError>;

    /// How many rows each batch of the mapping `shape` belongs to (a batch without records)
    /// should hold, `rows` being the configured size: a target with a faster way for bigger
    /// batches asks for more (FalkorDB in bulk, where each command costs the server a pass
    /// over the graph's matrices). Asked by run `run_id` before each pass over a mapping's
    /// rows, unless the user chose the batch size; every batch is still one write with its
    /// checkpoint. Defaults to `rows`.
    async fn batch_rows(&self, run_id: &str, shape: &RecordBatch, rows: usize) -> Result<usize, TargetError> {
        let _ = (run_id, shape);
        Ok(rows)
    }

    /// Prepares a batch for [`GraphLoader::write`]: converts values to the store's types and
    /// checks them. Pure CPU work, safe to run on any thread beside a write in progress.
    fn encode(&self, batch: RecordBatch) -> Result<Encoded, TargetError>;

    /// Writes an encoded batch and stores `checkpoint`, atomically: after a crash either
    /// both are there or neither. Rows the target cannot store are reported as rejected, with
    /// the reason, and do not stop the batch. Once the outcomes are known, and before
    /// anything commits, the write shows them through `gate` ([`WriteGate::settle`]) and
    /// waits: the engine makes the rejects durable, and an error there rolls the batch back.
    /// It may settle again (a first try that wrote nothing, a lost connection); each reject
    /// is written once. The engine calls this through `stage` (`handover.rs`), which hands
    /// it the gate and drives it step by step.
    async fn write(
        &self,
        encoded: Encoded,
        checkpoint: &Checkpoint,
        gate: WriteGate,
    ) -> Result<WriteReport, TargetError>;

    /// Whether the key indexes must exist before loading (servers, whose MERGE and MATCH
    /// scan a label without one) rather than be built after it (the embedded store, where
    /// building once is cheaper than maintaining row by row). Either way
    /// [`GraphLoader::ensure_indexes`] is called again after the load: a server target that
    /// left some out before (FalkorDB, for labels it loads in bulk) creates them then.
    fn indexes_first(&self) -> bool {
        false
    }

    /// Why the target cannot store `value` as a property, if it cannot (FalkorDB: a NaN
    /// double, text holding NUL; the embedded store: a value over its size limit). The engine
    /// rejects a row holding such a value with this reason before it reaches
    /// [`GraphLoader::encode`], and verification expects it rejected: a write never fails on
    /// one. Checked for every value loaded, so it must be cheap.
    fn refuses(&self, value: &Value) -> Option<String> {
        let _ = value;
        None
    }

    /// Called once every mapping of a run has loaded without failure: the target drops
    /// whatever it kept on elements to tell this run's writes apart during the run.
    async fn finish_run(&self, run_id: &str) -> Result<(), TargetError> {
        let _ = run_id;
        Ok(())
    }
}

/// How the graph is read back: by label and type, streamed, counted, looked up by key,
/// fingerprinted and counted by shape. grafter's own bookkeeping never appears.
#[async_trait]
pub trait GraphReader: Send + Sync {
    /// The node keys (label and properties) a uniqueness constraint holds or is being built
    /// for, for verify to check that every mapped label's key has one; `None` where the
    /// target keeps no such constraints (its keys are guarded by an index and the loader alone).
    async fn key_constraints(&self) -> Result<Option<Vec<KeyConstraint>>, TargetError> {
        Ok(None)
    }

    /// The fingerprint of the graph, grafter's bookkeeping left out.
    async fn fingerprint(&self) -> Result<Fingerprint, TargetError>;

    /// Every node labelled `label`, in batches: per node, the values of `properties` in that
    /// order (NULL when unset). Streams without holding the label in memory beyond what the
    /// store needs to list it; grafter's own bookkeeping nodes never appear.
    async fn scan_nodes(&self, label: &str, properties: &[String]) -> Result<RowStream, TargetError>;

    /// Every relationship of `rel_type` from a node labelled `start.label` to one labelled
    /// `end.label`, in batches: per relationship, the start node's key values (its
    /// `start.key_properties`), the end node's, then the relationship's `properties`.
    async fn scan_relationships(
        &self,
        rel_type: &str,
        start: &EndpointSpec,
        end: &EndpointSpec,
        properties: &[String],
    ) -> Result<RowStream, TargetError>;

    /// The number of nodes labelled `label`.
    async fn count_nodes(&self, label: &str) -> Result<u64, TargetError>;

    /// The number of relationships of `rel_type` from a `start_label` node to an `end_label` one.
    async fn count_relationships(&self, rel_type: &str, start_label: &str, end_label: &str)
    -> Result<u64, TargetError>;

    /// The nodes labelled `label` whose `key_properties` equal one of `keys` (values in the
    /// stored form): per node found, the values of `properties`. A key two nodes hold gives
    /// two rows, a key no node holds none.
    async fn lookup_nodes(
        &self,
        label: &str,
        key_properties: &[String],
        keys: &[Vec<Value>],
        properties: &[String],
    ) -> Result<Vec<Vec<Value>>, TargetError>;

    /// The graph by shape ([`Census`]): nodes per set of labels, relationships per type and
    /// their ends' label sets, grafter's bookkeeping left out; and for each of `questions`,
    /// the properties those elements carry beyond the ones known. At least `part` of it: a
    /// target that counts everything in one pass (the embedded store) may answer the whole.
    async fn census(&self, questions: &[KnownProperties], part: CensusPart) -> Result<Census, TargetError>;

    /// Relationships per type, where the target counts them without reading them (a count
    /// store, a matrix per type), so that verification can do without the relationship half
    /// of the census when the scans account for every one of them. `None` where it cannot;
    /// a target that answers must also offer
    /// [`GraphReader::scan_relationships_counting_properties`].
    async fn relationship_counts(&self) -> Result<Option<BTreeMap<String, u64>>, TargetError> {
        Ok(None)
    }

    /// [`GraphReader::scan_relationships`] with one more value at the end of each row: how
    /// many properties the relationship carries (grafter's run mark among them), so that the
    /// reader tells whether it carries any beyond `properties`.
    async fn scan_relationships_counting_properties(
        &self,
        rel_type: &str,
        start: &EndpointSpec,
        end: &EndpointSpec,
        properties: &[String],
    ) -> Result<RowStream, TargetError> {
        let _ = (rel_type, start, end, properties);
        Err(TargetError::Unsupported {
            target: "this target".into(),
            what: "counting a relationship's properties as it is read".into(),
        })
    }

    /// The value `value` becomes once stored and read back: what verification compares the
    /// graph's values with. Targets that store some types with less precision (grafeo keeps
    /// timestamps to the millisecond, finer ones as text) say so here; the default stores
    /// everything as is.
    fn stored_form(&self, value: Value) -> Value {
        value
    }
}

/// The run ledger a store keeps beside the data, so that it commits with what it describes:
/// its [`RunRecords`] and its [`LeaseLock`]. Every store that has both has a ledger.
pub trait RunLedger: RunRecords + LeaseLock {}

impl<T: RunRecords + LeaseLock> RunLedger for T {}

/// The run records a store keeps beside the data: checkpoints (one per mapping partition,
/// written in the same transaction as the batch they follow) and the run history.
#[async_trait]
pub trait RunRecords: Send + Sync {
    /// Stores several checkpoints in one transaction: all or none (a mapping's partitions,
    /// laid out before any data).
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<(), TargetError>;

    /// The checkpoints stored for `run_id`.
    async fn checkpoints(&self, run_id: &str) -> Result<Vec<Checkpoint>, TargetError>;

    /// The checkpoints of `mapping` (with this definition `checksum`) from the newest run that
    /// has any, one per partition; empty when no run has loaded it.
    async fn latest_checkpoints(&self, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError>;

    /// Stores (creates or replaces) a run's record.
    async fn save_run(&self, record: &RunRecord) -> Result<(), TargetError>;

    /// Every run recorded, oldest first.
    async fn runs(&self) -> Result<Vec<RunRecord>, TargetError>;
}

/// The store's lease lock: the one writer at a time, renewed while it works, taken over
/// when its holder is gone.
#[async_trait]
pub trait LeaseLock: Send + Sync {
    /// Takes the lock for `holder`. A lock held by another live holder whose lease has not
    /// run out is refused with [`TargetError::Locked`]; an expired (or, where the target can
    /// tell, abandoned) lock is taken over and returned.
    async fn acquire_lock(&self, holder: &LockHolder) -> Result<Option<LockHolder>, TargetError>;

    /// Extends the lease; fails if the lock is no longer `holder`'s.
    async fn renew_lock(&self, holder: &LockHolder) -> Result<(), TargetError>;

    /// Releases the lock if `holder` still has it.
    async fn release_lock(&self, holder: &LockHolder) -> Result<(), TargetError>;

    /// The current lock holder, if any (expired or not).
    async fn lock_holder(&self) -> Result<Option<LockHolder>, TargetError>;

    /// Removes the lock whoever holds it; returns who did.
    async fn break_lock(&self) -> Result<Option<LockHolder>, TargetError>;
}

/// Snapshots for rollback: the graph as it was before a run, to go back to.
#[async_trait]
pub trait Snapshots: Send + Sync {
    /// Saves what rollback needs to bring the graph back to its state now; returns the
    /// snapshot's name, which the run's record keeps.
    async fn take_snapshot(&self, run_id: &str) -> Result<String, TargetError>;

    /// Brings the graph back to a snapshot. Bookkeeping (history, checkpoints) comes back as
    /// it was then too: the caller re-saves history.
    async fn restore_snapshot(&self, snapshot: &str) -> Result<(), TargetError>;

    /// The fingerprint of the graph a snapshot holds, read without restoring it (for
    /// `rollback --dry-run`); `None` when the snapshot cannot be read so (Bolt servers: one
    /// left incomplete).
    async fn snapshot_fingerprint(&self, snapshot: &str) -> Result<Option<Fingerprint>, TargetError>;

    /// Removes a snapshot that is no longer needed.
    async fn drop_snapshot(&self, snapshot: &str) -> Result<(), TargetError>;
}

/// Applying `grafter sync`'s changes, and the sync states kept with them.
#[async_trait]
pub trait ChangeSync: Send + Sync {
    /// Applies one mapping's changes and stores the sync state the engine answers through
    /// `gate` once the outcomes are settled ([`ChangeGate::settle`], once), atomically: after
    /// a crash either both are there or neither. Upserts leave exactly the record's
    /// properties; a node delete takes its relationships along. The engine calls this
    /// through `stage_changes` (`handover.rs`).
    async fn apply_changes(&self, changes: ChangeSet, gate: ChangeGate) -> Result<ChangeReport, TargetError>;

    /// The sync states stored, one per mapping that was synced or loaded with change tracking.
    async fn sync_states(&self) -> Result<Vec<SyncState>, TargetError>;

    /// Stores (creates or replaces, by mapping) sync states, all in one transaction.
    async fn save_sync_states(&self, states: &[SyncState]) -> Result<(), TargetError>;
}

/// What a command will do with a target: reading commands must not create a store that is
/// not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Load data (creates the store if missing).
    Write,
    /// Only read (the store must exist).
    Read,
}
