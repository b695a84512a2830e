//! The Bolt target (`bolt://HOST:7687`, `neo4j://HOST:7687`, with `+s` / `+ssc` for TLS): a
//! graph on a server that speaks Bolt — Neo4j 5, Memgraph, or FalkorDB's Bolt port — through
//! grafter's own client, `grafter-bolt`.
//!
//! It keeps everything the FalkorDB target keeps, in the graph, with the same Cypher
//! ([`crate::cypher`]): checkpoints, run history and the lease lock as `_Grafter…` nodes,
//! `_grafter_run` marks until a run finishes, paged scans and the fingerprint. Here live what
//! Bolt changes: the connection and its retries ([`client`]), which server it is and what
//! that implies ([`server`]), values to and from Bolt ([`params`]), statements cut to the
//! byte cap ([`statements`]), a batch with its checkpoint committed once ([`write`]), labels
//! new to the graph written without marks ([`owned`]), indexes on relationship keys
//! ([`relationship_keys`]), a
//! batch of `grafter sync`'s changes with its sync state committed once ([`sync`]; not on
//! FalkorDB's Bolt port), and snapshots kept beside the graph ([`snapshot`]).

mod client;
pub(crate) mod encoded;
mod owned;
mod params;
mod relationship_keys;
mod server;
mod snapshot;
mod statements;
mod sync;
pub mod url;
mod write;

use std::path::Path;

use async_trait::async_trait;
use futures::future::BoxFuture;
use grafter_model::{Fingerprint, LockHolder, SyncState, Value};

use self::client::Client;
use self::owned::Ownership;
use self::relationship_keys::RelationshipKeys;
use self::server::{FALKORDB_TEXT_LIMIT, Server};
pub use self::url::{BoltUrl, MIN_MESSAGE_BYTES};
use crate::cypher::server::CypherServer;
use crate::cypher::{CypherRunner, bookkeeping};
use crate::store::Store;
use crate::{
    Access, ChangeGate, ChangeReport, ChangeSet, ChangeSync, Checkpoint, Ddl, Dialect, Encoded, GraphLoader,
    GraphReader, GraphTarget, KeyIndex, LeaseLock, QueryResult, RecordBatch, RunLedger, Snapshots, TargetError,
    WriteGate, WriteReport,
};

/// How long a run on ArcadeDB waits after taking the lock before reading it back (see
/// `acquire_lock`): far longer than the 0.3 ms seen between two racing `MERGE`s, far shorter
/// than anything a user notices.
const ARCADEDB_LOCK_SETTLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Bolt servers in the table of stores: `bolt://` and `neo4j://`, with `+s` / `+ssc` for TLS
/// (`url.rs`).
pub(crate) const STORE: Store = Store {
    schemes: &["bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"],
    check: check_url,
    open: open_url,
    key_guard: "a uniqueness constraint per label's key, made before loading where the server has them (Neo4j, \
                Memgraph, ArcadeDB); FalkorDB's Bolt port: an index",
};

fn check_url(url: &str, _: &Path) -> Result<(), TargetError> {
    BoltUrl::parse(url).map(|_| ())
}

fn open_url<'a>(url: &'a str, _: &'a Path, access: Access) -> BoxFuture<'a, Result<Box<dyn GraphTarget>, TargetError>> {
    Box::pin(async move {
        let target: Box<dyn GraphTarget> = Box::new(BoltTarget::open(&BoltUrl::parse(url)?, access).await?);
        Ok(target)
    })
}

/// A graph on a Bolt server.
pub struct BoltTarget {
    client: std::sync::Arc<Client>,
    /// Opened to read only: [`GraphTarget::query`] runs in read mode, where the server
    /// refuses writes (Neo4j, Memgraph; FalkorDB's Bolt port has no such mode).
    read_only: bool,
    /// The run's owned labels and the keys the server keeps unique (see [`Ownership`]).
    ownership: Ownership,
    /// How keyed relationships are found, per type (see [`RelationshipKeys`]).
    relationship_keys: RelationshipKeys,
}

impl BoltTarget {
    /// Connects to the server and tells which one it is (a failure here names the server
    /// and what to check).
    pub async fn open(url: &BoltUrl, access: Access) -> Result<BoltTarget, TargetError> {
        Ok(BoltTarget {
            client: std::sync::Arc::new(Client::open(url).await?),
            read_only: access == Access::Read,
            ownership: Ownership::default(),
            relationship_keys: RelationshipKeys::default(),
        })
    }

    /// Runs key DDL `statements` in order, adding those that ran to `done`.
    async fn run_ddl_statements(&self, statements: Vec<String>, done: &mut Vec<String>) -> Result<(), TargetError> {
        for statement in statements {
            match self.client.write(&statement, &[]).await {
                Ok(_) => done.push(statement),
                // FalkorDB and Memgraph have no IF NOT EXISTS: an index already there is fine.
                Err(TargetError::Query { message })
                    if message.contains("already") && !keeps_constraint_from_key(&message) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn server(&self) -> Server {
        self.client.server()
    }

    /// Refuses sync where the server cannot commit changes with their state (see [`sync`]).
    fn syncs(&self) -> Result<(), TargetError> {
        match sync::refusal(self.server()) {
            Some(what) => Err(TargetError::Unsupported { target: self.describe(), what }),
            None => Ok(()),
        }
    }
}

/// Whether a server's error creating a key constraint says the graph keeps it from being
/// made (keys already duplicated, an index of the user's own on the key), so that an index
/// does instead.
fn keeps_constraint_from_key(message: &str) -> bool {
    ["ConstraintCreationFailed", "IndexAlreadyExists", "ConstraintValidationFailed"]
        .iter()
        .any(|code| message.contains(code))
}

#[async_trait]
impl GraphTarget for BoltTarget {
    fn describe(&self) -> String {
        self.client.target().to_owned()
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

    /// FalkorDB's Bolt port cannot commit a batch of changes with its sync state.
    fn change_sync(&self) -> Result<&dyn ChangeSync, TargetError> {
        self.syncs()?;
        Ok(self)
    }

    fn dialect(&self) -> Dialect {
        self.server().dialect()
    }

    async fn run_ddl(&self, ddl: &Ddl) -> Result<(), TargetError> {
        match ddl {
            Ddl::Cypher(text) => self.query(text, Vec::new()).await.map(|_| ()),
            other => Err(TargetError::Unsupported {
                target: self.describe(),
                what: format!(
                    "`{other}` over Bolt (FalkorDB's constraints are commands of its native protocol: use a falkordb:// URL)"
                ),
            }),
        }
    }

    async fn query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        let (columns, rows) = self.client.statement(cypher, &params, self.read_only).await?;
        Ok(QueryResult { columns, rows })
    }

    /// In read access mode, where the server refuses writes in it (Neo4j, Memgraph); FalkorDB's
    /// Bolt port has no read mode, so there the text of the query decides
    /// ([`crate::writing_clause`]), as it does first everywhere for a clearer message.
    async fn read_query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        if let Some(clause) = crate::writing_clause(cypher) {
            return Err(TargetError::WriteRefused { target: self.describe(), reason: format!("it holds `{clause}`") });
        }
        match self.client.statement(cypher, &params, true).await {
            Ok((columns, rows)) => Ok(QueryResult { columns, rows }),
            Err(TargetError::Query { message }) if message.contains("AccessMode") => {
                Err(TargetError::WriteRefused { target: self.describe(), reason: message })
            }
            Err(other) => Err(other),
        }
    }

    async fn close(&self) -> Result<(), TargetError> {
        self.client.close().await;
        Ok(())
    }
}

#[async_trait]
impl GraphLoader for BoltTarget {
    async fn begin_run(&self, marks: Option<&str>) -> Result<String, TargetError> {
        // Elements carry the run's id until the run finishes, or belong to labels the run
        // owns, which its checkpoints name: nothing else to remember.
        self.ownership.begin(marks.is_some()).await;
        Ok(marks.unwrap_or("{}").to_owned())
    }

    fn indexes_first(&self) -> bool {
        // Without an index every MERGE and MATCH on a key scans the label.
        true
    }

    async fn ensure_indexes(&self, indexes: &[KeyIndex]) -> Result<Vec<String>, TargetError> {
        let mut statements = Vec::new();
        for index in indexes {
            let (label, properties) = (&index.label, &index.properties);
            if let Some(constraint) = self.dialect().key_constraint(label, properties) {
                match self.run_ddl_statements(constraint, &mut statements).await {
                    Ok(()) => {
                        self.ownership.constrained(index).await;
                        continue;
                    }
                    // Duplicate keys in the graph already, or an index of the user's own on
                    // the key: the run goes on with an index, and says why there is no
                    // constraint (verify reports duplicate keys).
                    Err(TargetError::Query { message }) if keeps_constraint_from_key(&message) => {
                        tracing::warn!(
                            "{}: no uniqueness constraint on the key of :{label} ({}), an index instead: {message}",
                            self.describe(),
                            properties.join(", ")
                        );
                    }
                    Err(error) => return Err(error),
                }
            }
            self.run_ddl_statements(self.dialect().key_index(label, properties), &mut statements).await?;
        }
        Ok(statements)
    }

    fn encode(&self, batch: RecordBatch) -> Result<Encoded, TargetError> {
        Ok(write::encode(self.server(), batch))
    }

    async fn write(
        &self,
        encoded: Encoded,
        checkpoint: &Checkpoint,
        gate: WriteGate,
    ) -> Result<WriteReport, TargetError> {
        write::write(
            &self.client,
            (&self.ownership, &self.relationship_keys),
            &checkpoint.run_id,
            encoded,
            checkpoint,
            gate,
        )
        .await
    }

    async fn finish_run(&self, run_id: &str) -> Result<(), TargetError> {
        // Each pass of the unmarking scans the graph: only a run that may have marked
        // something pays for it.
        if self.ownership.marked().await {
            let unmarked = bookkeeping::unmark(self.client.as_ref(), run_id, 100_000).await?;
            tracing::debug!("{}: {unmarked} elements unmarked", self.describe());
        }
        let prefix = [("prefix".to_owned(), Value::String(format!("{run_id}/")))];
        while crate::cypher::first_count(&self.client.write(&write::clear_stages(), &prefix).await?) > 0 {}
        Ok(())
    }

    fn refuses(&self, value: &Value) -> Option<String> {
        if let Some(reason) = params::refusal(self.server(), value) {
            return Some(reason);
        }
        // FalkorDB's Bolt port takes statements of a few KB, parameters spliced in: a value
        // whose text alone takes half of one cannot go with its statement. (A record whose
        // values fit one by one but not together is still rejected by the writer.)
        let cap = self.client.cap();
        if self.server().splices_parameters() && rough_text_len(value) > cap / 4 {
            let spliced = params::parameter(self.server(), value.clone()).map(|v| params::spliced_len(&v));
            if spliced.is_ok_and(|len| len > cap / 2) {
                return Some(format!(
                    "the value's text does not fit in a statement of at most {cap} bytes (the target URL's max_message_bytes; FalkorDB's Bolt port takes at most 4,095 bytes of text): load such records through falkordb://"
                ));
            }
        }
        None
    }
}

/// Run records and reading back are those of every Cypher server.
impl CypherServer for BoltTarget {
    fn runner(&self) -> std::sync::Arc<dyn CypherRunner> {
        self.client.clone()
    }

    fn reads_back_as(&self, value: Value) -> Value {
        // Bolt carries doubles whole, so (unlike FalkorDB's native replies) nothing is
        // rounded on the way back.
        params::storable(self.server(), value).unwrap_or(Value::Null)
    }

    /// On FalkorDB a long record goes in parts: escaping may double its text, and the
    /// statement around it needs room.
    fn record_text_limit(&self) -> Option<usize> {
        (self.server() == Server::FalkorDb).then_some((FALKORDB_TEXT_LIMIT - 600) / 2)
    }

    /// Neo4j's uniqueness constraints (`UNIQUENESS`, `NODE_PROPERTY_UNIQUENESS` from 2025 on)
    /// and node keys, which ArcadeDB lists alike; FalkorDB's Bolt port keeps none grafter
    /// makes, and Memgraph's would need its own listing (`SHOW CONSTRAINT INFO`), not met yet.
    fn key_constraints_query(&self) -> Option<&'static str> {
        matches!(self.server(), Server::Neo4j | Server::ArcadeDb).then_some(
            "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties \
             WHERE (type CONTAINS 'UNIQUENESS' OR type = 'NODE_KEY') AND NOT type STARTS WITH 'RELATIONSHIP' \
             RETURN labelsOrTypes[0] AS label, properties, true AS working",
        )
    }

    /// Neo4j from its count store, FalkorDB from the type's matrix; Memgraph and ArcadeDB
    /// would read every relationship.
    fn counts_relationships_by_type(&self) -> bool {
        matches!(self.server(), Server::Neo4j | Server::FalkorDb)
    }
}

#[async_trait]
impl LeaseLock for BoltTarget {
    async fn acquire_lock(&self, holder: &LockHolder) -> Result<Option<LockHolder>, TargetError> {
        // The server must know the lock's label before the statement that takes it is
        // planned (see `bookkeeping::acquire_lock`): a uniqueness constraint where the server
        // has them, else an index. Either may be there already.
        for statement in self.server().dialect().lock_guard() {
            if let Err(error) = self.client.statement(&statement, &[], false).await {
                tracing::debug!("{}: {statement}: {error} (taken as already there)", self.describe());
            }
        }
        let (previous, token) = bookkeeping::acquire_lock(self.client.as_ref(), holder).await?;
        if self.server().reads_the_lock_back() {
            // ArcadeDB 26.10 let two runs started together both find the lock free: their
            // `MERGE`s, 0.3 ms apart, returned tokens 1 and 2, and the run holding 1 was
            // refused at its first write (by the fencing check: nothing was written twice,
            // but it failed instead of being refused as locked; 1 double start in 40 to
            // 120). Let what is in flight land, then read the lock back: the run that lost
            // is refused here, having written nothing.
            tokio::time::sleep(ARCADEDB_LOCK_SETTLE).await;
            bookkeeping::confirm_lock(self.client.as_ref(), token).await?;
        }
        self.client.set_fence(Some(token));
        Ok(previous)
    }

    async fn renew_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        let Some(token) = self.client.fence() else {
            return Err(TargetError::LockLost { target: self.describe(), reason: "this process holds no lock".into() });
        };
        bookkeeping::renew_lock(self.client.as_ref(), holder, token).await
    }

    async fn release_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        self.client.set_fence(None);
        bookkeeping::release_lock(self.client.as_ref(), holder).await
    }

    async fn lock_holder(&self) -> Result<Option<LockHolder>, TargetError> {
        bookkeeping::lock_holder(self.client.as_ref()).await
    }

    async fn break_lock(&self) -> Result<Option<LockHolder>, TargetError> {
        bookkeeping::break_lock(self.client.as_ref()).await
    }
}

#[async_trait]
impl Snapshots for BoltTarget {
    async fn take_snapshot(&self, run_id: &str) -> Result<String, TargetError> {
        snapshot::take(&self.client, run_id).await?;
        Ok(run_id.to_owned())
    }

    async fn restore_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        snapshot::restore(&self.client, snapshot).await
    }

    async fn snapshot_fingerprint(&self, snapshot: &str) -> Result<Option<Fingerprint>, TargetError> {
        snapshot::fingerprint(&self.client, snapshot).await
    }

    async fn drop_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        snapshot::drop(&self.client, snapshot).await
    }
}

#[async_trait]
impl ChangeSync for BoltTarget {
    async fn apply_changes(&self, changes: ChangeSet, gate: ChangeGate) -> Result<ChangeReport, TargetError> {
        sync::apply(&self.client, changes, gate).await
    }

    async fn sync_states(&self) -> Result<Vec<SyncState>, TargetError> {
        crate::cypher::sync::states(self.client.as_ref()).await
    }

    async fn save_sync_states(&self, states: &[SyncState]) -> Result<(), TargetError> {
        crate::cypher::sync::save_states(self.client.as_ref(), states).await
    }
}

/// At least how many bytes a value's text takes (strings and bytes; lists and maps add
/// theirs): enough to skip measuring values far below a statement's size.
fn rough_text_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(items) => items.iter().map(rough_text_len).sum(),
        Value::Map(entries) => entries.iter().map(|(k, v)| k.len() + rough_text_len(v)).sum(),
        _ => 0,
    }
}
