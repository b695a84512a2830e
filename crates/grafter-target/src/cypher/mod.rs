//! Cypher the server targets share: FalkorDB's native protocol ([`crate::falkordb`]) and
//! Bolt ([`crate::bolt`]) run the same statements and differ only in how they carry them.
//!
//! A server target implements [`CypherRunner`] (read, write, and what a stored key looks
//! like); on top of it this module keeps grafter's bookkeeping in the graph
//! ([`bookkeeping`]: checkpoints, run records, the lease lock as `_Grafter…` nodes; the
//! [`crate::RunRecords`] and [`crate::GraphReader`] of every server, written once, in
//! [`server`]), reads
//! the graph back ([`scan`]: paged scans, counts, lookups, the fingerprint), writes the
//! `UNWIND` statements a batch becomes ([`queries`]), turns a [`crate::RecordBatch`] into
//! rows and outcomes ([`batch`]), and settles `grafter sync`'s changes and keeps sync states
//! ([`sync`]). How a statement travels (a `CYPHER` text prefix, Bolt parameters), how big it
//! may be and how it commits stay with each target.

pub(crate) mod batch;
pub(crate) mod bookkeeping;
pub(crate) mod census;
pub(crate) mod queries;
pub(crate) mod retry;
pub(crate) mod scan;
pub(crate) mod server;
pub(crate) mod sync;
pub(crate) mod values;

use async_trait::async_trait;
use grafter_model::Value;

use crate::TargetError;

/// Label of grafter's checkpoint nodes.
pub(crate) const CHECKPOINT_LABEL: &str = "_GrafterCheckpoint";
/// Label of run records.
pub(crate) const RUN_LABEL: &str = "_GrafterRun";
/// Label of the lock node.
pub(crate) const LOCK_LABEL: &str = "_GrafterLock";
/// The property marking elements written by the run in progress (removed when it finishes).
pub(crate) const RUN_PROPERTY: &str = "_grafter_run";

/// Parameters of a statement, by name.
pub(crate) type Params = [(String, Value)];

/// A graph server that runs Cypher with parameters: what the shared bookkeeping, scans and
/// writes need from a target's connection.
#[async_trait]
pub(crate) trait CypherRunner: Send + Sync {
    /// The target, described for people (password redacted), for errors.
    fn target(&self) -> &str;

    /// Runs a read-only statement, retried while the connection fails; its rows.
    async fn read(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError>;

    /// Runs a statement that is safe to repeat (idempotent writes), retried while the
    /// connection fails; its rows.
    async fn write(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError>;

    /// `value` as the store keeps it: what a lookup by key compares with.
    fn stored(&self, value: Value) -> Value;

    /// Streams every row of a read-only statement, in batches, where the server can hand a
    /// long result over a little at a time (Bolt servers other than FalkorDB: one query,
    /// records PULLed in batches). `None` where it cannot: reads of a whole graph are then
    /// cut into pages of internal ids (see [`scan`]), which needs the ids to be dense
    /// (FalkorDB's are; ArcadeDB's are not, so paging there would walk an empty id space).
    fn stream(self: std::sync::Arc<Self>, cypher: String, params: Vec<(String, Value)>) -> Option<crate::RowStream> {
        let _ = (cypher, params);
        None
    }

    /// The lock's fencing token, where this runner's writes must check it themselves (see
    /// [`bookkeeping::checkpoint_clause`]); `None` where the target fences writes another
    /// way (FalkorDB's native protocol) or holds no lock.
    fn fence(&self) -> Option<i64> {
        None
    }

    /// How many of `items` (from the front) one statement of `cypher` can carry as its list
    /// parameter `$name`; at least one. Servers that take any size take them all.
    fn fit(&self, cypher: &str, name: &str, items: &[Value]) -> usize {
        let _ = (cypher, name);
        items.len().max(1)
    }
}

/// The first value of the first row, as a count (0 when there is none).
pub(crate) fn first_count(rows: &[Vec<Value>]) -> u64 {
    match rows.first().and_then(|row| row.first()) {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}
