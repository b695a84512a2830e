//! The connection to a FalkorDB server: GRAPH.QUERY with parameters over the Redis protocol,
//! reconnecting after a failure, with bounded retries for what is safe to repeat.
//!
//! The `redis` crate carries the protocol (a well-kept driver with a tokio multiplexed
//! connection); FalkorDB's query language and replies are handled here and in [`super::reply`].
//! Errors are split in two: the server refusing a query ([`ClientError::Query`], final) and
//! the connection failing ([`ClientError::Connection`], worth a retry once the server is back).

use std::time::Duration;

use grafter_model::Value;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

use super::frame::{self, Frame};
use super::literal::params_prefix;
use super::reply::{self, Names, Reply};
use super::wire::{Answer, Wire};
use crate::cypher::queries::NameSet;
use crate::cypher::retry::Backoff;
use crate::cypher::{CypherRunner, Params};
use super::url::FalkorDbUrl;
use crate::TargetError;

/// How long to wait for the server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one reply may take. Generous: a query over a big graph is slow, a dead server is
/// noticed by its closed socket long before this.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);

/// What went wrong talking to FalkorDB.
#[derive(Debug, Clone)]
pub(crate) enum ClientError {
    /// The server answered with an error.
    Query(String),
    /// The connection failed or could not be made; the request may or may not have run.
    Connection(String),
    /// The server refused a write because this process's lease lock was taken over or
    /// broken: nothing of it ran.
    Fenced(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Query(message) | ClientError::Connection(message) | ClientError::Fenced(message) => {
                f.write_str(message)
            }
        }
    }
}

fn classify(error: redis::RedisError) -> ClientError {
    let message = error.to_string();
    if error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || message.contains("LOADING")
    {
        ClientError::Connection(message)
    } else {
        ClientError::Query(match (error.code(), error.detail()) {
            (Some(code), Some(detail)) => server_message(code, detail),
            (_, Some(detail)) => detail.to_owned(),
            _ => message,
        })
    }
}

/// The server's own words: Redis splits an error's first word off as its code (`ERR` for
/// most, but FalkorDB's `Division by zero` arrives as `Division` + `by zero`).
fn server_message(code: &str, detail: &str) -> String {
    if code == "ERR" { detail.to_owned() } else { format!("{code} {detail}") }
}

/// An error reply's words as [`classify`] gives them: a server still loading its data is a
/// connection to try again, anything else a refusal.
fn refused(message: &str) -> ClientError {
    if message.starts_with("LOADING") {
        return ClientError::Connection(message.to_owned());
    }
    ClientError::Query(match message.split_once(' ') {
        Some((code, detail)) => server_message(code, detail),
        None => message.to_owned(),
    })
}

/// What a read's reply holds; an error reply is the server refusing the query.
fn answered<'a>(answer: &'a Answer<'_>) -> Result<Frame<'a>, ClientError> {
    match frame::parse(answer.bytes()).map_err(ClientError::Connection)? {
        Frame::Error(message) => Err(refused(&String::from_utf8_lossy(message))),
        frame => Ok(frame),
    }
}

/// Commands that change a graph: while this process holds the lock they are fenced.
const WRITES: &[&[u8]] = &[b"GRAPH.QUERY", b"GRAPH.BULK", b"GRAPH.DELETE", b"GRAPH.CONSTRAINT", b"GRAPH.COPY"];

fn is_write(command: &redis::Cmd) -> bool {
    match command.args_iter().next() {
        Some(redis::Arg::Simple(name)) => WRITES.iter().any(|w| w.eq_ignore_ascii_case(name)),
        _ => false,
    }
}

/// While this process holds the lease lock: its fencing token, and the connection whose
/// `WATCH` on the fence key makes the server refuse a write once the token moved on (see
/// [`super::lock`]).
struct Fence {
    key: String,
    token: i64,
    connection: Option<MultiplexedConnection>,
    /// Whether the connection watches the key and has seen it hold `token` since.
    armed: bool,
}

/// A FalkorDB server and one graph on it.
pub(crate) struct Client {
    client: redis::Client,
    url: FalkorDbUrl,
    /// The URL for people to read (password redacted), for errors.
    description: String,
    connection: Mutex<Option<MultiplexedConnection>>,
    /// Read-only queries travel on a connection of their own (see [`super::wire`]).
    wire: Wire,
    /// Set while this process holds the lock: its writes are fenced.
    fence: Mutex<Option<Fence>>,
    /// The fencing token while the lock is held, 0 otherwise (tokens start at 1): read
    /// without waiting for a fenced write in progress.
    token: std::sync::atomic::AtomicI64,
    names: Mutex<Names>,
    /// Retries, and whether the server is taken as down.
    backoff: Backoff,
    /// Relationship types whose one-query write failed once (see `write`).
    pub(crate) pessimistic: NameSet,
    /// Labels `(:L)` and types `[:T]` whose write by node id failed once (see `by_id`).
    pub(crate) not_by_id: NameSet,
    /// Labels and types a batch of which was written by node id.
    pub(crate) written_by_id: NameSet,
}

impl Client {
    /// Prepares a client; nothing is sent until the first request.
    pub fn new(url: &FalkorDbUrl) -> Result<Client, ClientError> {
        use redis::IntoConnectionInfo as _;
        let mut settings = redis::RedisConnectionInfo::default();
        if let Some(user) = &url.user {
            settings = settings.set_username(user);
        }
        if let Some(password) = &url.password {
            settings = settings.set_password(password);
        }
        let info = redis::ConnectionAddr::Tcp(url.host.clone(), url.port)
            .into_connection_info()
            .map_err(|e| ClientError::Query(e.to_string()))?
            .set_redis_settings(settings);
        let client = redis::Client::open(info).map_err(|e| ClientError::Query(e.to_string()))?;
        Ok(Client {
            client,
            url: url.clone(),
            description: url.describe(),
            connection: Mutex::new(None),
            wire: Wire::new(url, CONNECT_TIMEOUT, RESPONSE_TIMEOUT),
            fence: Mutex::new(None),
            token: std::sync::atomic::AtomicI64::new(0),
            names: Mutex::new(Names::default()),
            backoff: Backoff::default(),
            pessimistic: NameSet::default(),
            not_by_id: NameSet::default(),
            written_by_id: NameSet::default(),
        })
    }

    /// The graph's name.
    pub fn graph(&self) -> &str {
        &self.url.graph
    }

    async fn connection(&self) -> Result<MultiplexedConnection, ClientError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = self.new_connection().await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn new_connection(&self) -> Result<MultiplexedConnection, ClientError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| ClientError::Connection(format!("cannot connect to {}: {e}", self.url.describe())))
    }

    /// From now on every write is fenced by `token` (the lock was just taken).
    pub(crate) async fn set_fence(&self, key: String, token: i64) {
        *self.fence.lock().await = Some(Fence { key, token, connection: None, armed: false });
        self.token.store(token, std::sync::atomic::Ordering::SeqCst);
    }

    /// Writes are no longer fenced (the lock was released).
    pub(crate) async fn clear_fence(&self) {
        self.token.store(0, std::sync::atomic::Ordering::SeqCst);
        *self.fence.lock().await = None;
    }

    /// The fencing token, while this process holds the lock.
    pub(crate) fn fence_token(&self) -> Option<i64> {
        Some(self.token.load(std::sync::atomic::Ordering::SeqCst)).filter(|&token| token != 0)
    }

    /// Sends a write as `MULTI`, the command, `EXEC` on the connection that watches the
    /// fence, then watches it again and reads it: one round trip (see [`super::lock`]).
    async fn fenced(&self, fence: &mut Fence, command: redis::Cmd) -> Result<redis::Value, ClientError> {
        let result = self.fenced_once(fence, command).await;
        if matches!(result, Err(ClientError::Connection(_))) {
            // A new connection watches nothing yet.
            fence.connection = None;
            fence.armed = false;
        }
        result
    }

    async fn fenced_once(&self, fence: &mut Fence, command: redis::Cmd) -> Result<redis::Value, ClientError> {
        let mut connection = match &fence.connection {
            Some(connection) => connection.clone(),
            None => {
                let connection = self.new_connection().await?;
                fence.connection = Some(connection.clone());
                connection
            }
        };
        let taken_over = |current: Option<&redis::Value>| {
            ClientError::Fenced(format!(
                "the lock was taken over or broken (fencing token {} is now {}); the server refused this write",
                fence.token,
                match current {
                    Some(redis::Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
                    _ => "unset".to_owned(),
                }
            ))
        };
        if !fence.armed {
            let mut arm = redis::pipe();
            arm.cmd("WATCH").arg(&fence.key).cmd("GET").arg(&fence.key);
            let replies: Vec<redis::Value> = arm.query_async(&mut connection).await.map_err(classify)?;
            if !holds(replies.get(1), fence.token) {
                return Err(taken_over(replies.get(1)));
            }
            fence.armed = true;
        }
        let mut transaction = redis::pipe();
        transaction.ignore_errors();
        transaction
            .cmd("MULTI")
            .add_command(command)
            .cmd("EXEC")
            .cmd("WATCH")
            .arg(&fence.key)
            .cmd("GET")
            .arg(&fence.key);
        let replies: Vec<redis::Value> = transaction.query_async(&mut connection).await.map_err(classify)?;
        // MULTI, the command queued, EXEC's results, WATCH, GET.
        fence.armed = holds(replies.get(4), fence.token);
        match replies.get(2) {
            Some(redis::Value::Array(results)) => match results.first() {
                Some(redis::Value::ServerError(error)) => {
                    Err(ClientError::Query(server_message(error.code(), error.details().unwrap_or(""))))
                }
                Some(value) => Ok(value.clone()),
                None => Err(ClientError::Query("the transaction ran no command".into())),
            },
            Some(redis::Value::Nil) => Err(taken_over(replies.get(4))),
            // EXECABORT: the command was refused when queued; its own error says why.
            _ => match replies.get(1) {
                Some(redis::Value::ServerError(error)) => {
                    Err(ClientError::Query(server_message(error.code(), error.details().unwrap_or(""))))
                }
                other => Err(ClientError::Query(format!("the server answered a fenced write with {other:?}"))),
            },
        }
    }

    /// Forgets a connection that failed, so the next request opens a new one.
    async fn drop_connection(&self) {
        *self.connection.lock().await = None;
    }

    /// Sends one command once; a write while this process holds the lock is fenced.
    pub async fn command(&self, command: redis::Cmd) -> Result<redis::Value, ClientError> {
        if is_write(&command) {
            let mut fence = self.fence.lock().await;
            if let Some(fence) = fence.as_mut() {
                return self.fenced(fence, command).await;
            }
        }
        let mut connection = self.connection().await?;
        match command.query_async::<redis::Value>(&mut connection).await {
            Ok(value) => Ok(value),
            Err(error) => {
                let error = classify(error);
                if matches!(error, ClientError::Connection(_)) {
                    self.drop_connection().await;
                }
                Err(error)
            }
        }
    }

    /// Sends a command that is safe to repeat, retrying while the connection fails.
    pub async fn command_with_retry(&self, command: &redis::Cmd) -> Result<redis::Value, ClientError> {
        self.retry(|| self.command(command.clone())).await
    }

    /// Runs Cypher on `graph` once (writes must not be blindly repeated: see the writer).
    pub async fn query_graph(
        &self,
        graph: &str,
        cypher: &str,
        params: &[(String, Value)],
        read_only: bool,
    ) -> Result<Reply, ClientError> {
        let mut text = params_prefix(params);
        text.push_str(cypher);
        self.query_text(graph, &text, read_only).await
    }

    /// Runs a query whose text already carries its parameters: a read-only one on the read
    /// connection, anything else through the `redis` crate (writes may be fenced).
    pub async fn query_text(&self, graph: &str, text: &str, read_only: bool) -> Result<Reply, ClientError> {
        if read_only {
            let answer = self.read_only(graph, text).await?;
            return self.decoded(graph, answered(&answer)?).await;
        }
        let mut command = redis::cmd("GRAPH.QUERY");
        command.arg(graph).arg(text).arg("--compact");
        let raw = self.command(command).await?;
        self.decoded(graph, frame::from_redis(&raw)).await
    }

    /// A reply decoded, the graph's names read again first when it holds numbers they do
    /// not resolve yet.
    async fn decoded(&self, graph: &str, raw: Frame<'_>) -> Result<Reply, ClientError> {
        let stale = reply::needs_names(&raw, &*self.names.lock().await);
        if stale {
            self.refresh_names(graph).await?;
        }
        reply::decode(raw, &*self.names.lock().await).map_err(ClientError::Query)
    }

    /// Runs a read-only query on the graph, retrying while the connection fails.
    pub async fn read_query(&self, cypher: &str, params: &[(String, Value)]) -> Result<Reply, ClientError> {
        self.retry(|| self.query_graph(&self.url.graph, cypher, params, true)).await
    }

    /// Runs a query that is safe to repeat (idempotent writes), retrying while the
    /// connection fails.
    pub async fn idempotent(&self, cypher: &str, params: &[(String, Value)]) -> Result<Reply, ClientError> {
        self.retry(|| self.query_graph(&self.url.graph, cypher, params, false)).await
    }

    /// Sends a read-only query on the read connection; its reply's bytes.
    async fn read_only(&self, graph: &str, text: &str) -> Result<Answer<'_>, ClientError> {
        self.wire.request(&[b"GRAPH.RO_QUERY", graph.as_bytes(), text.as_bytes(), b"--compact"]).await
    }

    /// Reads the graph's label, type and property-key names (to decode nodes and edges).
    async fn refresh_names(&self, graph: &str) -> Result<(), ClientError> {
        let mut names = Names::default();
        for (procedure, list) in [
            ("CALL db.labels()", &mut names.labels),
            ("CALL db.relationshipTypes()", &mut names.types),
            ("CALL db.propertyKeys()", &mut names.keys),
        ] {
            let answer = self.read_only(graph, procedure).await?;
            let decoded = reply::decode(answered(&answer)?, &Names::default()).map_err(ClientError::Query)?;
            *list = decoded.rows.into_iter().filter_map(|row| row.into_iter().next()).map(|v| v.to_string()).collect();
        }
        *self.names.lock().await = names;
        Ok(())
    }
}

impl Client {
    /// Runs `attempt` until it succeeds, fails with a query error, or the connection has
    /// failed too often (see [`Backoff`]).
    pub(crate) async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        self.backoff.run(|e| matches!(e, ClientError::Connection(_)), attempt).await
    }
}

/// Whether a fence key's value (a `GET` reply) is `token`.
fn holds(value: Option<&redis::Value>, token: i64) -> bool {
    match value {
        Some(redis::Value::BulkString(bytes)) => {
            std::str::from_utf8(bytes).ok().and_then(|t| t.parse().ok()) == Some(token)
        }
        Some(redis::Value::Int(n)) => *n == token,
        _ => false,
    }
}

/// One graph on the server, for the Cypher shared with the Bolt target: the client's own
/// graph or another one (a snapshot).
pub(crate) struct OnGraph<'a> {
    pub client: &'a Client,
    pub graph: &'a str,
}

#[async_trait::async_trait]
impl CypherRunner for OnGraph<'_> {
    fn target(&self) -> &str {
        &self.client.description
    }

    async fn read(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        let reply = self.client.retry(|| self.client.query_graph(self.graph, cypher, params, true)).await;
        reply.map(|reply| reply.rows).map_err(|e| failed(self.target(), e))
    }

    async fn write(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        let reply = self.client.retry(|| self.client.query_graph(self.graph, cypher, params, false)).await;
        reply.map(|reply| reply.rows).map_err(|e| failed(self.target(), e))
    }

    fn stored(&self, value: Value) -> Value {
        super::literal::storable(value).unwrap_or(Value::Null)
    }
}

#[async_trait::async_trait]
impl CypherRunner for Client {
    fn target(&self) -> &str {
        &self.description
    }

    async fn read(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        OnGraph { client: self, graph: &self.url.graph }.read(cypher, params).await
    }

    async fn write(&self, cypher: &str, params: &Params) -> Result<Vec<Vec<Value>>, TargetError> {
        OnGraph { client: self, graph: &self.url.graph }.write(cypher, params).await
    }

    fn stored(&self, value: Value) -> Value {
        super::literal::storable(value).unwrap_or(Value::Null)
    }
}

/// The error for a failed request: the server's own message for a refused query; for a
/// connection that failed, where and what to do.
pub(super) fn failed(target: &str, error: ClientError) -> TargetError {
    match error {
        ClientError::Query(message) => TargetError::Query { message },
        ClientError::Fenced(reason) => TargetError::LockLost { target: target.to_owned(), reason },
        ClientError::Connection(message) => TargetError::Store {
            target: target.to_owned(),
            message: format!(
                "the server does not answer ({message})\n  hint: check that FalkorDB is running and reachable (for a local one: scripts/falkordb start); a run stopped by this resumes where it stopped with `grafter run`"
            ),
        },
    }
}
