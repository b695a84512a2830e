//! The Bolt target's connection to its server: a pool of `grafter-bolt` connections (through
//! its [`Router`], which also routes `neo4j://` URLs: every statement goes to the writer,
//! so reads see what grafter just wrote), statements run in auto-commit or inside one
//! explicit transaction, and bounded retries with backoff and jitter.
//!
//! What may be retried: a connection that failed or could not be made, and a server error
//! the server calls transient (`Neo.TransientError.*`) — after about six seconds of growing
//! waits the request fails, naming the server and saying that the run resumes. A
//! connection left in a failed state is RESET before its next use (the Bolt client does
//! that). On FalkorDB every statement is also checked against its Bolt port's size limit
//! before it is sent: a statement too big for it is refused here rather than crash it.

use std::time::Duration;

use grafter_bolt::message::Request;
use grafter_bolt::{AccessMode, BoltError, BoltMap, BoltValue, ConnectConfig, Connection, Router, TxExtra, Version};
use grafter_model::Value;

use super::params::{self, from_bolt, statement_text_len};
use super::server::{FALKORDB_TEXT_LIMIT, Server};
use crate::cypher::queries::NameSet;
use crate::cypher::retry::Backoff;
use crate::cypher::{CypherRunner, Params};
use super::url::BoltUrl;
use crate::TargetError;

/// How long TCP connect, the handshake and authentication may take. Short, because
/// FalkorDB 4.16 leaves the handshake after another client's GOODBYE unanswered: the next
/// attempt gets through.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A Bolt server and the database (graph) on it.
pub(crate) struct Client {
    router: Router,
    server: Server,
    /// Whether `server` is known yet (told by the URL or the greeting), for messages.
    known: bool,
    description: String,
    database: Option<String>,
    cap: usize,
    version: Version,
    /// Retries, and whether the server is taken as down.
    backoff: Backoff,
    /// Held while a statement (or a batch's statements) runs on FalkorDB: its Bolt port runs
    /// writes without the module lock Redis expects them to hold, and two at a time were
    /// seen to crash the server (`RM_Yield` aborting) and to leave that lock taken for ever
    /// (every client hangs). One at a time costs little: FalkorDB writes one at a time per
    /// graph anyway.
    serial: tokio::sync::Mutex<()>,
    /// The lock's fencing token while this process holds it, 0 otherwise.
    fence: std::sync::atomic::AtomicI64,
    /// Relationship types whose one-statement write found something to look at closer (see
    /// `write::optimistic`).
    pub(crate) pessimistic: NameSet,
    /// Labels whose batches met a key already in the graph when written without a lookup
    /// (see `write::create_only`).
    pub(crate) pessimistic_labels: NameSet,
}

/// Whether trying again may help.
pub(crate) fn retryable(error: &BoltError) -> bool {
    match error {
        BoltError::Server(e) => e.is_transient() || e.is_not_a_leader(),
        BoltError::NoServer { .. } => true,
        other => other.is_routing_failure(),
    }
}

/// RUN's `extra` for an auto-commit statement on `database` (see [`Client::run_extra`]).
fn run_extra(server: Server, database: Option<&str>, read_only: bool) -> Vec<(String, BoltValue)> {
    let mut extra = match (database, server) {
        (None, _) => Vec::new(),
        (Some(graph), Server::FalkorDb) if graph != "db" => {
            vec![(graph.to_owned(), BoltValue::from(graph)), ("db".into(), BoltValue::from(graph))]
        }
        (Some(db), _) => vec![("db".into(), BoltValue::from(db))],
    };
    if read_only && server != Server::FalkorDb {
        extra.push(("mode".into(), BoltValue::from("r")));
    }
    extra
}

impl Client {
    /// Connects, tells which server it is, and keeps the connection for reuse.
    pub(crate) async fn open(url: &BoltUrl) -> Result<Client, TargetError> {
        let description = url.describe();
        let mut config = ConnectConfig::parse(&url.connect).map_err(|e| TargetError::BadUrl {
            url: description.clone(),
            reason: e.to_string(),
            hint: "write it as bolt://[USER:PASSWORD@]HOST[:PORT][?database=NAME] (or neo4j://… to route, +s / +ssc for TLS)".into(),
        })?;
        config.connect_timeout = CONNECT_TIMEOUT;
        config.user_agent = format!("grafter/{}", env!("CARGO_PKG_VERSION"));
        let database = config.database.clone();
        let named = url.server.as_deref().and_then(Server::named);
        let mut client = Client {
            router: Router::new(config),
            server: named.unwrap_or(Server::Neo4j),
            known: named.is_some(),
            description,
            database,
            cap: 0,
            version: Version::V5_7,
            backoff: Backoff::default(),
            serial: tokio::sync::Mutex::new(()),
            fence: std::sync::atomic::AtomicI64::new(0),
            pessimistic: NameSet::default(),
            pessimistic_labels: NameSet::default(),
        };
        let conn = client.retry(|| client.router.acquire(AccessMode::Write)).await?;
        client.server = named.unwrap_or_else(|| Server::detect(conn.server_agent(), conn.connection_id()));
        client.known = true;
        client.version = conn.version();
        client.cap = client.server.cap(url.max_message_bytes);
        tracing::debug!(
            "{}: {} (agent {:?}, Bolt {}), statements up to {} bytes",
            client.description,
            client.server.name(),
            conn.server_agent(),
            client.version,
            client.cap
        );
        client.router.release(conn);
        Ok(client)
    }

    /// The server.
    pub(crate) fn server(&self) -> Server {
        self.server
    }

    /// The lock's fencing token while this process holds it: every batch's statement checks
    /// it (see `cypher::bookkeeping::checkpoint_clause`).
    pub(crate) fn fence(&self) -> Option<i64> {
        Some(self.fence.load(std::sync::atomic::Ordering::SeqCst)).filter(|&token| token != 0)
    }

    /// The error for a write the server refused because the fencing token moved on.
    pub(crate) fn fenced_off(&self) -> TargetError {
        TargetError::LockLost {
            target: self.description.clone(),
            reason: format!(
                "the lock was taken over or broken since this process took it: the server refused this write (fencing token {} is no longer current)",
                self.fence().unwrap_or_default()
            ),
        }
    }

    /// Sets (a lock taken) or clears (`None`: released) the fencing token.
    pub(crate) fn set_fence(&self, token: Option<i64>) {
        self.fence.store(token.unwrap_or(0), std::sync::atomic::Ordering::SeqCst);
    }

    /// The most bytes one statement may take.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// The negotiated Bolt version.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// RUN's `extra` for an auto-commit statement. FalkorDB takes the graph from the first
    /// key of it; a server that reads `db` as specified finds it too.
    pub(crate) fn run_extra(&self) -> Vec<(String, BoltValue)> {
        self.extra(false)
    }

    /// [`Client::run_extra`], in read mode if `read_only` (where the server refuses writes).
    fn extra(&self, read_only: bool) -> Vec<(String, BoltValue)> {
        run_extra(self.server, self.database.as_deref(), read_only)
    }

    /// BEGIN's `extra`: the database, write mode.
    pub(crate) fn tx_extra(&self) -> TxExtra {
        TxExtra { database: self.database.clone(), mode: AccessMode::Write, ..TxExtra::default() }
    }

    /// Converts parameters for the server.
    pub(crate) fn parameters(&self, params: &Params) -> Result<BoltMap, TargetError> {
        params
            .iter()
            .map(|(name, value)| {
                if self.server.splices_parameters() && !params::is_plain_name(name) {
                    return Err(TargetError::Query {
                        message: format!(
                            "parameter name `{name}`: FalkorDB's Bolt port takes letters, digits and underscores only"
                        ),
                    });
                }
                let value = params::parameter(self.server, value.clone())
                    .map_err(|message| TargetError::Query { message: format!("parameter `{name}`: {message}") })?;
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// Refuses a statement the server's Bolt port cannot take (FalkorDB: over its text
    /// limit, or over the cap on the wire).
    pub(crate) fn check_size(&self, query: &str, params: &BoltMap) -> Result<(), TargetError> {
        if !self.server.splices_parameters() {
            return Ok(());
        }
        let text = statement_text_len(query, params);
        let run = Request::Run { query: query.to_owned(), parameters: params.clone(), extra: self.run_extra() };
        let mut body = Vec::new();
        let wire = run.encode(self.version, &mut body).map_or(usize::MAX, |()| body.len());
        if text > FALKORDB_TEXT_LIMIT || wire > self.cap.max(FALKORDB_TEXT_LIMIT) {
            return Err(TargetError::Query {
                message: format!(
                    "this statement with its parameters makes {text} bytes of text ({wire} on the wire); FalkorDB's Bolt port aborts the whole server above {FALKORDB_TEXT_LIMIT}, so it was not sent (use the falkordb:// URL for big values)"
                ),
            });
        }
        Ok(())
    }

    /// Runs `query` in an auto-commit transaction on `conn` and reads its rows.
    pub(crate) async fn run_auto(
        &self,
        conn: &mut Connection,
        query: &str,
        params: BoltMap,
    ) -> Result<Vec<Vec<BoltValue>>, BoltError> {
        Ok(self.run_auto_with_fields(conn, query, params, false).await?.1)
    }

    /// [`Client::run_auto`], with the result's column names.
    async fn run_auto_with_fields(
        &self,
        conn: &mut Connection,
        query: &str,
        params: BoltMap,
        read_only: bool,
    ) -> Result<(Vec<String>, Vec<Vec<BoltValue>>), BoltError> {
        let stream = conn.run_with_entries(query, params, self.extra(read_only)).await?;
        let result = stream.pull_all().await?;
        Ok((result.fields, result.records.into_iter().map(|record| record.into_values()).collect()))
    }

    /// A pooled connection to the writer.
    pub(crate) async fn acquire(&self) -> Result<Connection, BoltError> {
        self.router.acquire(AccessMode::Write).await
    }

    /// Gives a connection back after it was used: dropped if it broke, its server forgotten
    /// by the routing table if `error` says the server failed.
    pub(crate) async fn release(&self, conn: Connection, error: Option<&BoltError>) {
        if let Some(error) = error
            && error.is_routing_failure()
        {
            let not_leader = error.server_error().is_some_and(|e| e.is_not_a_leader());
            self.router.forget(conn.address(), not_leader).await;
        }
        self.router.release(conn);
    }

    /// On FalkorDB, waits until no other statement of this process runs there (see
    /// `serial`); elsewhere statements run side by side.
    pub(crate) async fn one_at_a_time(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.server {
            Server::FalkorDb => Some(self.serial.lock().await),
            Server::Neo4j | Server::Memgraph | Server::ArcadeDb => None,
        }
    }

    /// Waits for a batch's turn where batches of its kind must not run side by side
    /// (`relationships`: whether it writes relationships): on FalkorDB every statement (see
    /// `serial`), on ArcadeDB relationship batches (see
    /// [`Server::writes_relationships_one_at_a_time`]).
    pub(crate) async fn batch_turn(&self, relationships: bool) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if relationships && self.server.writes_relationships_one_at_a_time() {
            return Some(self.serial.lock().await);
        }
        self.one_at_a_time().await
    }

    /// Runs `work` on a pooled connection to the writer (see [`Client::release`]).
    pub(crate) async fn on_connection<T>(
        &self,
        work: impl AsyncFnOnce(&mut Connection) -> Result<T, BoltError>,
    ) -> Result<T, BoltError> {
        let _turn = self.one_at_a_time().await;
        let mut conn = self.acquire().await?;
        let result = work(&mut conn).await;
        self.release(conn, result.as_ref().err()).await;
        result
    }

    /// Runs `attempt` until it succeeds, fails for good, or has failed in a retryable way too
    /// often (see [`Backoff`]).
    pub(crate) async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T, TargetError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, BoltError>>,
    {
        match self.backoff.run(retryable, attempt).await {
            Ok(value) => Ok(value),
            Err(error) if retryable(&error) => Err(self.gave_up(error)),
            Err(error) => Err(self.failed(error)),
        }
    }

    /// The error once retries are used up.
    pub(crate) fn gave_up(&self, error: BoltError) -> TargetError {
        let what = match &error {
            BoltError::Server(e) => format!("the server kept failing with {}: {}", e.code, e.message),
            other => format!("the server does not answer ({other})"),
        };
        TargetError::Store {
            target: self.description.clone(),
            message: format!(
                "{what}\n  hint: check that {} is running and reachable; a run stopped by this resumes where it stopped with `grafter run`",
                if self.known { self.server.name() } else { "the Bolt server" }
            ),
        }
    }

    /// The error for a request that failed for good.
    pub(crate) fn failed(&self, error: BoltError) -> TargetError {
        match error {
            BoltError::Server(e) if e.code == "Neo.ClientError.Database.DatabaseNotFound" => TargetError::Store {
                target: self.description.clone(),
                message: format!(
                    "the server has no database `{}` ({})\n  hint: name an existing one in [target] url's \
                     ?database= (Neo4j Community has only `neo4j`; CREATE DATABASE needs Enterprise), or leave \
                     it out for the server's default",
                    self.database.as_deref().unwrap_or("(default)"),
                    e.message
                ),
            },
            BoltError::Server(e)
                if e.code == "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"
                    || e.code == "Neo.ClientError.Cluster.NotALeader" =>
            {
                TargetError::Store {
                    target: self.description.clone(),
                    message: format!(
                        "the server refuses writes: it is a read-only replica or database ({}: {})\n  hint: point \
                         [target] url at the primary, or use neo4j:// so that writes are routed to it",
                        e.code, e.message
                    ),
                }
            }
            BoltError::Server(e) => TargetError::Query { message: format!("{}: {}", e.code, e.message) },
            BoltError::AuthFailed { ref code, .. } if code.ends_with("AuthenticationRateLimit") => TargetError::Store {
                target: self.description.clone(),
                message: format!(
                    "{error}\n  hint: the server refuses this user for a while after failed logins (Neo4j locks \
                     it after 3 in a row, for dbms.security.auth_lock_time, 5 s by default): check the password \
                     in [target] url, then wait and run again"
                ),
            },
            BoltError::AuthFailed { .. } => TargetError::Store {
                target: self.description.clone(),
                message: format!("{error}\n  hint: check the user and password in [target] url"),
            },
            other => TargetError::Store { target: self.description.clone(), message: other.to_string() },
        }
    }

    /// Runs one statement in auto-commit (in read mode if `read_only`), retried as
    /// [`Client::retry`] says; its column names and rows.
    pub(crate) async fn statement(
        &self,
        query: &str,
        params: &Params,
        read_only: bool,
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), TargetError> {
        let params = self.parameters(params)?;
        self.check_size(query, &params)?;
        let run = async |conn: &mut Connection| self.run_auto_with_fields(conn, query, params.clone(), read_only).await;
        let (fields, rows) = self.retry(|| self.on_connection(run)).await?;
        Ok((fields, rows.into_iter().map(|row| row.into_iter().map(from_bolt).collect()).collect()))
    }

    /// Streams the rows of a read-only statement in batches of `STREAM_BATCH`, on a connection
    /// of its own, from a task that fills a small channel ahead of the reader (so a long
    /// result never sits in memory). A failure ends the stream with the error; a stream
    /// dropped early stops the task, and the connection it held is dropped, not reused.
    fn stream_rows(self: std::sync::Arc<Self>, cypher: String, params: Vec<(String, Value)>) -> crate::RowStream {
        const STREAM_BATCH: usize = 10_000;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<Vec<Value>>, TargetError>>(2);
        tokio::spawn(async move {
            let client = self;
            let params = match client.parameters(&params) {
                Ok(params) => params,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            let mut conn = match client.retry(|| client.acquire()).await {
                Ok(conn) => conn,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            let read = async {
                let mut stream = conn.run_with_entries(&cypher, params, client.extra(true)).await?;
                let mut batch = Vec::with_capacity(STREAM_BATCH);
                while let Some(record) = stream.next().await? {
                    batch.push(record.into_values().into_iter().map(from_bolt).collect());
                    if batch.len() == STREAM_BATCH
                        && sender
                            .send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH))))
                            .await
                            .is_err()
                    {
                        return Ok(false);
                    }
                }
                if !batch.is_empty() && sender.send(Ok(batch)).await.is_err() {
                    return Ok(false);
                }
                Ok::<bool, BoltError>(true)
            };
            match read.await {
                Ok(true) => client.release(conn, None).await,
                // The reader went away mid-result: the connection is left with records
                // unread, so it is not given back.
                Ok(false) => {}
                Err(error) => {
                    client.release(conn, Some(&error)).await;
                    let _ = sender.send(Err(client.failed(error))).await;
                }
            }
        });
        Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        }))
    }

    /// Closes pooled connections. FalkorDB's are dropped without GOODBYE, after which it would
    /// leave its next request, from any client, unanswered for seconds.
    pub(crate) async fn close(&self) {
        if self.server != Server::FalkorDb {
            self.router.close().await;
        }
    }
}

#[async_trait::async_trait]
impl CypherRunner for Client {
    fn target(&self) -> &str {
        &self.description
    }

    async fn read(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        Ok(self.statement(cypher, params, false).await?.1)
    }

    async fn write(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        match self.statement(cypher, params, false).await {
            Ok((_, rows)) => Ok(rows),
            Err(error)
                if self.fence().is_some() && crate::cypher::bookkeeping::refused_by_fence(&error.to_string()) =>
            {
                tracing::debug!("{}: refused by the fencing check: {cypher}: {error}", self.description);
                Err(self.fenced_off())
            }
            Err(error) => Err(error),
        }
    }

    fn stored(&self, value: Value) -> Value {
        params::storable(self.server, value).unwrap_or(Value::Null)
    }

    fn fence(&self) -> Option<i64> {
        Client::fence(self)
    }

    /// Neo4j, Memgraph and ArcadeDB stream a result over Bolt; FalkorDB's Bolt port builds it
    /// whole first, so there reads stay paged.
    fn stream(self: std::sync::Arc<Self>, cypher: String, params: Vec<(String, Value)>) -> Option<crate::RowStream> {
        (self.server != Server::FalkorDb).then(|| self.stream_rows(cypher, params))
    }

    fn fit(&self, cypher: &str, name: &str, items: &[Value]) -> usize {
        let rows: Result<Vec<BoltValue>, String> =
            items.iter().map(|item| params::parameter(self.server, item.clone())).collect();
        let fit = rows.ok().and_then(|rows| {
            let sizer = super::statements::Sizer::new(self, cypher, name, &BoltMap::new(), &self.run_extra()).ok()?;
            sizer.fit(&rows).ok()
        });
        // What does not convert or measure is sent one at a time, to fail with its reason.
        fit.unwrap_or(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falkordb_finds_its_graph_in_the_first_key_and_others_in_db() {
        let extra = run_extra(Server::FalkorDb, Some("shop"), true);
        assert_eq!(extra, [("shop".into(), BoltValue::from("shop")), ("db".into(), BoltValue::from("shop"))]);
        assert_eq!(run_extra(Server::FalkorDb, Some("db"), false), [("db".into(), BoltValue::from("db"))]);
        assert_eq!(
            run_extra(Server::Neo4j, Some("shop"), true),
            [("db".into(), BoltValue::from("shop")), ("mode".into(), BoltValue::from("r"))]
        );
        assert!(run_extra(Server::Memgraph, None, false).is_empty());
    }

    #[test]
    fn lost_connections_and_transient_errors_are_retried_and_nothing_else() {
        let refused = BoltError::ConnectionRefused {
            address: "h:1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(retryable(&refused));
        assert!(retryable(&BoltError::Closed { address: "h:1".into(), context: "reading" }));
        let server = |code: &str| {
            BoltError::Server(grafter_bolt::ServerError::from_metadata(BoltMap::from([
                ("code".to_owned(), BoltValue::from(code)),
                ("message".to_owned(), BoltValue::from("m")),
            ])))
        };
        assert!(retryable(&server("Neo.TransientError.Transaction.DeadlockDetected")));
        assert!(retryable(&server("Neo.ClientError.Cluster.NotALeader")));
        assert!(!retryable(&server("Neo.ClientError.Statement.SyntaxError")));
        assert!(!retryable(&server("SyntaxError")));
    }
}
