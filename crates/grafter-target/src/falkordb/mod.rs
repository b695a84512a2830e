//! The FalkorDB target (`falkordb://HOST:PORT/GRAPH`): a graph on a FalkorDB server, spoken
//! to in its native protocol (Redis, Cypher through `GRAPH.QUERY`).
//!
//! Everything the embedded target keeps, this one keeps on the server too: checkpoints and run
//! history are `_Grafter…` nodes (`cypher/server.rs`), the lease lock is [`lock`]'s. Batches and their
//! checkpoints commit in one query ([`write`]), or one bulk-insert command for labels new to
//! the graph ([`bulk`]); snapshots for rollback are copies of the graph
//! into another graph on the server ([`snapshot`]). Values FalkorDB has no type for are stored as text
//! ([`literal`]); replies are decoded in [`reply`], reading back in [`scan`].

mod bulk;
mod by_id;
mod connection;
mod constraint;
pub(crate) mod encoded;
mod frame;
mod ids;
mod index;
mod literal;
mod lock;
mod reply;
mod send;
mod snapshot;
mod sync;
pub mod url;
mod wire;
mod write;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use grafter_model::{Fingerprint, LockHolder, SyncState, Value};

use self::connection::{Client, ClientError, OnGraph, failed};
pub use self::url::FalkorDbUrl;
use crate::cypher::server::CypherServer;
use crate::cypher::{CypherRunner, bookkeeping, scan};
use crate::dialect::Dialect;
use crate::process_alive;
use crate::store::Store;
use crate::{
    Access, ChangeGate, ChangeReport, ChangeSet, ChangeSync, Checkpoint, Ddl, Encoded,  GraphLoader,
    GraphReader, GraphTarget, KeyIndex, LeaseLock, QueryResult, RecordBatch, RunLedger, Snapshots, TargetError,
    WriteGate, WriteReport,
};

/// Default batches a batch holds when it goes in bulk (see `batch_rows`).
const BULK_BATCHES: usize = 3;

/// FalkorDB in the table of stores: `falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH` (`url.rs`).
pub(crate) const STORE: Store = Store {
    schemes: &["falkordb"],
    check: check_url,
    open: open_url,
    key_guard: "a uniqueness constraint per label's key (GRAPH.CONSTRAINT), made with its index once the label's \
                nodes are loaded (`?key_constraints=off`: the index alone)",
};

fn check_url(url: &str, _: &Path) -> Result<(), TargetError> {
    FalkorDbUrl::parse(url).map(|_| ())
}

fn open_url<'a>(url: &'a str, _: &'a Path, access: Access) -> BoxFuture<'a, Result<Box<dyn GraphTarget>, TargetError>> {
    Box::pin(async move {
        let target: Box<dyn GraphTarget> = Box::new(FalkorDbTarget::open(&FalkorDbUrl::parse(url)?, access).await?);
        Ok(target)
    })
}

/// A graph on a FalkorDB server.
pub struct FalkorDbTarget {
    client: Arc<Client>,
    url: FalkorDbUrl,
    /// What this run knows for loading in bulk ([`bulk`]).
    bulk: tokio::sync::Mutex<bulk::BulkState>,
    /// Whether `bulk` is set (read by [`GraphLoader::encode`], which cannot wait for the lock).
    bulk_on: std::sync::atomic::AtomicBool,
}

/// Query parameters as FalkorDB literals; their names must be bare identifiers.
fn query_params(params: Vec<(String, Value)>) -> Result<Vec<(String, Value)>, TargetError> {
    params
        .into_iter()
        .map(|(name, value)| {
            if !literal::is_bare_identifier(&name) {
                return Err(TargetError::Query {
                    message: format!(
                        "parameter name `{name}`: FalkorDB takes letters, digits and underscores only (not first a digit)"
                    ),
                });
            }
            Ok((name, literal::parameter(value)?))
        })
        .collect()
}

impl FalkorDbTarget {
    /// Connects to the server (a failure here names the server and what to check). For
    /// writing, the graph is created if it does not exist yet: reads before the first write
    /// (the history, checkpoints) find it empty rather than missing, and the lock, kept
    /// beside it, needs no node in it. Reads never create it.
    pub async fn open(url: &FalkorDbUrl, access: Access) -> Result<FalkorDbTarget, TargetError> {
        let target = url.describe();
        let client = Client::new(url).map_err(|e| failed(&target, e))?;
        // Fail now, clearly, rather than at the first batch.
        client.command_with_retry(&redis::cmd("PING")).await.map_err(|e| failed(&target, e))?;
        let modules = client.command(redis::cmd("GRAPH.LIST")).await;
        if let Err(ClientError::Query(message)) = modules {
            return Err(TargetError::Store {
                target,
                message: format!(
                    "the server answers but has no graph module ({message})\n  hint: is this a plain Redis? FalkorDB loads falkordb.so as a module"
                ),
            });
        }
        if access == Access::Write {
            let mut create = redis::cmd("GRAPH.QUERY");
            create.arg(&url.graph).arg("RETURN 0");
            client.command_with_retry(&create).await.map_err(|e| failed(&target, e))?;
        }
        Ok(FalkorDbTarget {
            client: Arc::new(client),
            url: url.clone(),
            bulk: tokio::sync::Mutex::new(bulk::BulkState::new(false, false)),
            bulk_on: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn snapshot_name(&self, run_id: &str) -> String {
        format!("{}__grafter_snapshot_{run_id}", self.url.graph)
    }
}

#[async_trait]
impl GraphTarget for FalkorDbTarget {
    fn describe(&self) -> String {
        self.url.describe()
    }

    fn loader(&self) -> &dyn GraphLoader {
        self
    }

    fn reader(&self) -> &dyn GraphReader {
        self
    }

    fn ledger(&self) -> &dyn RunLedger {
        self
    }

    fn snapshots(&self) -> Option<&dyn Snapshots> {
        Some(self)
    }

    fn change_sync(&self) -> Result<&dyn ChangeSync, TargetError> {
        Ok(self)
    }

    fn dialect(&self) -> Dialect {
        Dialect::FalkorDb
    }

    async fn run_ddl(&self, ddl: &Ddl) -> Result<(), TargetError> {
        match ddl {
            Ddl::Cypher(text) => self.query(text, Vec::new()).await.map(|_| ()),
            Ddl::FalkorDbUnique { create, label, property } => {
                let key = KeyIndex { label: label.clone(), properties: vec![property.clone()] };
                if *create {
                    constraint::create_unique(&self.client, &self.describe(), &key).await
                } else {
                    constraint::drop_unique(&self.client, &self.describe(), &key).await
                }
            }
        }
    }

    async fn query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        let reply = self
            .client
            .query_graph(&self.url.graph, cypher, &query_params(params)?, false)
            .await
            .map_err(|e| failed(&self.describe(), e))?;
        Ok(QueryResult { columns: reply.columns, rows: reply.rows })
    }

    /// `GRAPH.RO_QUERY`: the server itself refuses a query that writes.
    async fn read_query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        match self.client.read_query(cypher, &query_params(params)?).await {
            Ok(reply) => Ok(QueryResult { columns: reply.columns, rows: reply.rows }),
            // FalkorDB's words for "this query writes" and "there is no such graph".
            Err(ClientError::Query(message)) if message.contains("only on read-only queries") => {
                Err(TargetError::WriteRefused { target: self.describe(), reason: format!("FalkorDB: {message}") })
            }
            Err(ClientError::Query(message)) if message.contains("empty key") => Err(TargetError::NotFound {
                path: self.describe(),
                hint: format!(
                    "graph `{}` does not exist on the server yet: nothing has been loaded into it (`grafter run` creates it)",
                    self.url.graph
                ),
            }),
            Err(error) => Err(failed(&self.describe(), error)),
        }
    }

    async fn close(&self) -> Result<(), TargetError> {
        Ok(())
    }
}

#[async_trait]
impl GraphLoader for FalkorDbTarget {
    async fn begin_run(&self, marks: Option<&str>) -> Result<String, TargetError> {
        // Elements carry the run's id (the checkpoint's) until the run finishes: nothing else
        // to remember. A resumed run loads in bulk too: it reads back the ids of what the
        // earlier attempt wrote in bulk when it first needs them.
        let state = bulk::BulkState::new(self.url.bulk, marks.is_some());
        self.bulk_on.store(self.url.bulk, std::sync::atomic::Ordering::Relaxed);
        *self.bulk.lock().await = state;
        Ok(marks.unwrap_or("{}").to_owned())
    }

    fn indexes_first(&self) -> bool {
        // Without an index every MERGE and MATCH on a key scans the label.
        true
    }

    async fn ensure_indexes(&self, indexes: &[KeyIndex]) -> Result<Vec<String>, TargetError> {
        let mut state = self.bulk.lock().await;
        let mut statements = Vec::new();
        for index in indexes {
            // A label that will load in bulk gets its index after the load (the engine asks
            // again then): building it once is cheaper than keeping it up row by row.
            if state.defers(&self.client, index).await? {
                continue;
            }
            statements.extend(index::create_index(&self.client, &self.describe(), index).await?);
            if self.url.key_constraints {
                statements.extend(constraint::ensure_key_unique(&self.client, &self.describe(), index).await?);
            }
        }
        state.indexes_asked();
        Ok(statements)
    }

    /// Three default batches to a bulk command. FalkorDB folds what each `GRAPH.BULK` adds
    /// into the graph's matrices when the command ends, a pass that grows with the graph:
    /// the 4M-row Placement load took 25.3–27.8 s in batches of 10,000, 22.3 s in batches of
    /// 20,000, 21.4 s in batches of 30,000 and no less in batches of 50,000, whose peak RSS
    /// was 718 MiB against 536 MiB (443 MiB at 10,000): each batch in flight is held whole.
    async fn batch_rows(&self, run_id: &str, shape: &RecordBatch, rows: usize) -> Result<usize, TargetError> {
        if !self.bulk_on.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(rows);
        }
        let shape = crate::cypher::batch::Shape::of(shape);
        // The decision the batch's write would take, taken now (and kept for it).
        let bulk = self.bulk.lock().await.takes(&self.client, &self.describe(), run_id, &shape).await?;
        Ok(if bulk { rows.saturating_mul(BULK_BATCHES) } else { rows })
    }

    fn encode(&self, batch: RecordBatch) -> Result<Encoded, TargetError> {
        Ok(write::encode(batch, self.bulk_on.load(std::sync::atomic::Ordering::Relaxed)))
    }

    async fn write(
        &self,
        encoded: Encoded,
        checkpoint: &Checkpoint,
        gate: WriteGate,
    ) -> Result<WriteReport, TargetError> {
        write::write(&self.client, &self.describe(), &checkpoint.run_id, encoded, checkpoint, &self.bulk, gate).await
    }

    async fn finish_run(&self, run_id: &str) -> Result<(), TargetError> {
        bulk::collapse_checkpoints(&self.client, &self.describe(), run_id).await?;
        self.bulk_on.store(false, std::sync::atomic::Ordering::Relaxed);
        let marked = std::mem::replace(&mut *self.bulk.lock().await, bulk::BulkState::new(false, false)).marked;
        // Elements written in bulk carry no mark: only a run that wrote the Cypher way (or
        // resumed one that may have) has marks to remove.
        if marked {
            let unmarked = bookkeeping::unmark(self.client.as_ref(), run_id, 1_000_000).await?;
            tracing::debug!("{}: {unmarked} elements unmarked", self.describe());
        }
        Ok(())
    }

    fn refuses(&self, value: &Value) -> Option<String> {
        crate::cypher::values::falkordb_refusal(value)
    }
}

/// Run records and reading back are those of every Cypher server.
impl CypherServer for FalkorDbTarget {
    fn runner(&self) -> Arc<dyn CypherRunner> {
        self.client.clone()
    }

    /// FalkorDB replies with doubles rounded and values it has no type for as text.
    fn reads_back_as(&self, value: Value) -> Value {
        literal::reported_form(value)
    }

    /// From the type's matrix, without reading a relationship.
    fn counts_relationships_by_type(&self) -> bool {
        true
    }

    /// Runs make one per label's key once its nodes are loaded ([`constraint`]), unless the
    /// URL says `key_constraints=off`: then there are none to check.
    fn key_constraints_query(&self) -> Option<&'static str> {
        self.url.key_constraints.then_some(constraint::LISTED)
    }
}

#[async_trait]
impl LeaseLock for FalkorDbTarget {
    async fn acquire_lock(&self, holder: &LockHolder) -> Result<Option<LockHolder>, TargetError> {
        let target = self.describe();
        match self.client.acquire_lock(holder, None).await.map_err(|e| failed(&target, e))? {
            lock::Acquired::Taken { previous, .. } => Ok(previous),
            // A holder on this host whose process is gone (killed, or failed without reaching
            // the server) cannot be using the lock: taken over now rather than at its lease's end.
            lock::Acquired::Refused(current) if current.host == holder.host && !process_alive(current.pid) => {
                let dead = lock::owner(&current);
                match self.client.acquire_lock(holder, Some(&dead)).await.map_err(|e| failed(&target, e))? {
                    lock::Acquired::Taken { .. } => Ok(Some(current)),
                    lock::Acquired::Refused(other) => Err(lock::locked(&target, other)),
                }
            }
            lock::Acquired::Refused(current) => Err(lock::locked(&target, current)),
        }
    }

    async fn renew_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        let target = self.describe();
        match self.client.renew_lock(holder).await.map_err(|e| failed(&target, e))? {
            Ok(()) => Ok(()),
            Err(current) => Err(TargetError::LockLost {
                target,
                reason: current.map_or("the lock was broken".into(), |other| format!("now held by {other}")),
            }),
        }
    }

    async fn release_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        self.client.release_lock(holder).await.map_err(|e| failed(&self.describe(), e))
    }

    async fn lock_holder(&self) -> Result<Option<LockHolder>, TargetError> {
        self.client.lock_holder().await.map_err(|e| failed(&self.describe(), e))
    }

    async fn break_lock(&self) -> Result<Option<LockHolder>, TargetError> {
        self.client.break_lock().await.map_err(|e| failed(&self.describe(), e))
    }
}

#[async_trait]
impl Snapshots for FalkorDbTarget {
    async fn take_snapshot(&self, run_id: &str) -> Result<String, TargetError> {
        let name = self.snapshot_name(run_id);
        snapshot::copy_graph(&self.client, &self.describe(), &self.url.graph, &name).await?;
        Ok(name)
    }

    async fn restore_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        snapshot::copy_graph(&self.client, &self.describe(), snapshot, &self.url.graph).await
    }

    async fn snapshot_fingerprint(&self, snapshot: &str) -> Result<Option<Fingerprint>, TargetError> {
        scan::fingerprint_paged(&OnGraph { client: &self.client, graph: snapshot }).await.map(Some)
    }

    async fn drop_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        snapshot::delete_graph(&self.client, &self.describe(), snapshot).await
    }
}

#[async_trait]
impl ChangeSync for FalkorDbTarget {
    async fn apply_changes(&self, changes: ChangeSet, gate: ChangeGate) -> Result<ChangeReport, TargetError> {
        sync::apply(&self.client, &self.describe(), changes, gate).await
    }

    async fn sync_states(&self) -> Result<Vec<SyncState>, TargetError> {
        crate::cypher::sync::states(self.client.as_ref()).await
    }

    async fn save_sync_states(&self, states: &[SyncState]) -> Result<(), TargetError> {
        crate::cypher::sync::save_states(self.client.as_ref(), states).await
    }
}
