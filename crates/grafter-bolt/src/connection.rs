//! [`Connection`]: one Bolt connection: connect, handshake, authenticate, exchange messages.
//!
//! The connection keeps the protocol state the server keeps, so callers cannot get it
//! wrong: a result left half-read is discarded before the next request, a FAILURE is
//! followed by RESET before the connection is used again (the server ignores everything
//! until then), and a transaction handle dropped without commit is rolled back (by RESET)
//! before anything else runs. Transactions and streamed results live in `transaction.rs`.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use crate::chunk::{self, ReadError};
use crate::config::{ConnectConfig, Security};
use crate::error::{BoltError, ServerError};
use crate::handshake::{self, PROPOSALS, Reply, Version};
use crate::message::{Auth, Hello, MessageError, Request, Response, TxExtra};
use crate::packstream::{BoltMap, BoltValue};
use crate::result::Record;
use crate::transaction::{RecordStream, Transaction};

/// A byte stream Bolt can run over: TCP, TLS over TCP, or an in-memory pipe in tests.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A result whose records are still (partly) on the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenResult {
    pub(crate) qid: i64,
    /// A PULL was sent and its summary not read yet.
    pub(crate) pull_in_flight: bool,
    /// The server said `has_more` (or no PULL has answered yet).
    pub(crate) has_more: bool,
}

/// One Bolt connection.
pub struct Connection {
    io: BufStream<Box<dyn Io>>,
    address: String,
    version: Version,
    server_agent: String,
    connection_id: Option<String>,
    hints: BoltMap,
    database: Option<String>,
    pub(crate) fetch_size: i64,
    max_message_bytes: usize,
    /// A FAILURE (or IGNORED) was received: RESET before the next request.
    pub(crate) needs_reset: bool,
    /// Requests sent after one that failed whose answers (IGNORED, by the spec) have not
    /// been read: RESET reads them before its own. They are not awaited at once because
    /// some servers (FalkorDB 4.16) answer them only when RESET arrives.
    unanswered: usize,
    /// BEGIN succeeded and neither COMMIT nor ROLLBACK followed yet.
    pub(crate) in_tx: bool,
    pub(crate) open: Option<OpenResult>,
    last_bookmark: Option<String>,
    /// An I/O or protocol error: the byte stream can no longer be trusted.
    defunct: bool,
    write_buf: Vec<u8>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address)
            .field("version", &self.version)
            .field("server_agent", &self.server_agent)
            .field("in_tx", &self.in_tx)
            .field("needs_reset", &self.needs_reset)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `config`'s address (TCP, then TLS if asked), negotiates the version and
    /// authenticates. For `neo4j://` configurations this is a direct connection to the URL's
    /// host; use `Router` to route.
    pub async fn connect(config: &ConnectConfig) -> Result<Connection, BoltError> {
        let address = config.address();
        Self::connect_to(config, &address).await
    }

    /// Connects to `address` (host:port) with `config`'s other settings. The router uses
    /// this to reach the servers its routing table names.
    pub async fn connect_to(config: &ConnectConfig, address: &str) -> Result<Connection, BoltError> {
        let timeout = config.connect_timeout;
        let attempt = async {
            let tcp = TcpStream::connect(address).await.map_err(|source| {
                if source.kind() == std::io::ErrorKind::ConnectionRefused {
                    BoltError::ConnectionRefused { address: address.to_owned(), source }
                } else {
                    BoltError::Connect { address: address.to_owned(), source }
                }
            })?;
            // Bolt messages are small and answered one by one; Nagle's delay would stall
            // every pipelined exchange.
            let _ = tcp.set_nodelay(true);
            let io: Box<dyn Io> = match config.security {
                Security::Plain => Box::new(tcp),
                Security::Verified | Security::SelfSigned => wrap_tls(tcp, config, address).await?,
            };
            Self::open(io, address, config).await
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| BoltError::ConnectTimeout { address: address.to_owned(), seconds: timeout.as_secs_f64() })?
    }

    /// Runs the handshake and authentication over an already open byte stream.
    pub async fn open(io: Box<dyn Io>, address: &str, config: &ConnectConfig) -> Result<Connection, BoltError> {
        let mut io = BufStream::new(io);
        let io_err = |context: &'static str| {
            let address = address.to_owned();
            move |source: std::io::Error| BoltError::Io { address, context, source }
        };
        io.write_all(&handshake::request_bytes(&PROPOSALS)).await.map_err(io_err("sending the handshake"))?;
        io.flush().await.map_err(io_err("sending the handshake"))?;
        let mut reply = [0u8; 4];
        io.read_exact(&mut reply).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::UnexpectedEof {
                BoltError::Closed { address: address.to_owned(), context: "waiting for the handshake reply" }
            } else {
                BoltError::Io { address: address.to_owned(), context: "reading the handshake reply", source }
            }
        })?;
        let version = match handshake::parse_reply(reply, &PROPOSALS) {
            Reply::Agreed(version) => version,
            Reply::Refused => {
                return Err(BoltError::HandshakeRefused {
                    address: address.to_owned(),
                    offered: handshake::describe(&PROPOSALS),
                    reply: handshake::hex(&reply),
                });
            }
            Reply::Invalid(what) => {
                return Err(BoltError::Protocol {
                    address: address.to_owned(),
                    expected: format!("one of the offered versions ({})", handshake::describe(&PROPOSALS)),
                    got: what,
                });
            }
        };
        let mut conn = Connection {
            io,
            address: address.to_owned(),
            version,
            server_agent: String::new(),
            connection_id: None,
            hints: BoltMap::new(),
            database: config.database.clone(),
            fetch_size: config.fetch_size.max(1),
            max_message_bytes: config.max_message_bytes,
            needs_reset: false,
            unanswered: 0,
            in_tx: false,
            open: None,
            last_bookmark: None,
            defunct: false,
            write_buf: Vec::new(),
        };
        conn.hello(config).await?;
        Ok(conn)
    }

    async fn hello(&mut self, config: &ConnectConfig) -> Result<(), BoltError> {
        let routing = config.routing.then(|| {
            let mut context = config.routing_context.clone();
            context.insert("address".into(), config.address().into());
            context
        });
        let hello = Hello { user_agent: config.user_agent.clone(), routing, auth: config.auth.clone() };
        let mut requests = vec![Request::hello(&hello, self.version)];
        if self.version.has_logon() {
            // 5.1+: HELLO then LOGON, pipelined; the server answers both in order.
            requests.push(Request::logon(&config.auth));
        }
        self.send(&requests).await?;
        let hello_meta = self.expect_success("HELLO").await.map_err(|e| self.auth_error(e))?;
        self.server_agent = hello_meta.get("server").and_then(BoltValue::as_str).unwrap_or_default().to_owned();
        self.connection_id = hello_meta.get("connection_id").and_then(BoltValue::as_str).map(str::to_owned);
        if let Some(hints) = hello_meta.get("hints").and_then(BoltValue::as_map) {
            self.hints = hints.clone();
        }
        if self.version.has_logon() {
            self.expect_success("LOGON").await.map_err(|e| self.auth_error(e))?;
        }
        Ok(())
    }

    /// A FAILURE while authenticating is an auth failure: the server's code and message,
    /// nothing of the credentials.
    fn auth_error(&self, error: BoltError) -> BoltError {
        match error {
            BoltError::Server(e) if e.is_security() => {
                BoltError::AuthFailed { address: self.address.clone(), code: e.code, message: e.message }
            }
            other => other,
        }
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The server's agent string from HELLO (e.g. "Neo4j/5.13.0").
    pub fn server_agent(&self) -> &str {
        &self.server_agent
    }

    /// The server's id for this connection, if it sent one.
    pub fn connection_id(&self) -> Option<&str> {
        self.connection_id.as_deref()
    }

    /// Connection hints from HELLO (e.g. `connection.recv_timeout_seconds`).
    pub fn hints(&self) -> &BoltMap {
        &self.hints
    }

    /// host:port of the server.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The database transactions run on (`None`: the server's default).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The bookmark of the last committed transaction, to pass to the next one (on another
    /// connection) so it sees what this one wrote.
    pub fn last_bookmark(&self) -> Option<&str> {
        self.last_bookmark.as_deref()
    }

    /// Whether the connection can still be used (no I/O or protocol error so far).
    pub fn is_usable(&self) -> bool {
        !self.defunct
    }

    /// Starts an explicit transaction on the configured database.
    pub async fn begin(&mut self, mode: crate::AccessMode) -> Result<Transaction<'_>, BoltError> {
        let extra = TxExtra { database: self.database.clone(), mode, ..TxExtra::default() };
        self.begin_with(extra).await
    }

    /// Starts an explicit transaction with the given BEGIN extras (database, mode,
    /// bookmarks, metadata, timeout).
    pub async fn begin_with(&mut self, extra: TxExtra) -> Result<Transaction<'_>, BoltError> {
        self.prepare(true).await?;
        self.send(&[Request::Begin(extra.to_map())]).await?;
        self.expect_success("BEGIN").await?;
        self.in_tx = true;
        Ok(Transaction::new(self))
    }

    /// Runs `query` in an auto-commit transaction (write mode, configured database) and
    /// returns its records as a stream.
    pub async fn run(&mut self, query: &str, parameters: BoltMap) -> Result<RecordStream<'_>, BoltError> {
        let extra = TxExtra { database: self.database.clone(), ..TxExtra::default() };
        self.run_with(query, parameters, extra).await
    }

    /// Runs `query` in an auto-commit transaction with the given extras.
    pub async fn run_with(
        &mut self,
        query: &str,
        parameters: BoltMap,
        extra: TxExtra,
    ) -> Result<RecordStream<'_>, BoltError> {
        self.prepare(true).await?;
        self.start_run(query, parameters, extra.to_map().into_iter().collect()).await
    }

    /// Runs `query` in an auto-commit transaction whose RUN `extra` holds exactly these
    /// entries, in this order (for servers that read it in a way of their own; see the
    /// target's FalkorDB notes).
    pub async fn run_with_entries(
        &mut self,
        query: &str,
        parameters: BoltMap,
        extra: Vec<(String, BoltValue)>,
    ) -> Result<RecordStream<'_>, BoltError> {
        self.prepare(true).await?;
        self.start_run(query, parameters, extra).await
    }

    /// Sends RUN and the first PULL together and reads RUN's answer. The stream reads the
    /// rest.
    pub(crate) async fn start_run(
        &mut self,
        query: &str,
        parameters: BoltMap,
        extra: Vec<(String, BoltValue)>,
    ) -> Result<RecordStream<'_>, BoltError> {
        let run = Request::Run { query: query.to_owned(), parameters, extra };
        self.send(&[run, Request::Pull { n: self.fetch_size, qid: -1 }]).await?;
        match self.expect_success("RUN").await {
            Ok(meta) => {
                let fields: Arc<[String]> = meta
                    .get("fields")
                    .and_then(BoltValue::as_list)
                    .map(|fields| fields.iter().map(|f| f.as_str().unwrap_or_default().to_owned()).collect())
                    .unwrap_or_default();
                let qid = meta.get("qid").and_then(BoltValue::as_int).unwrap_or(-1);
                self.open = Some(OpenResult { qid, pull_in_flight: true, has_more: true });
                Ok(RecordStream::new(self, fields, meta))
            }
            Err(error) => {
                // The PULL sent with the RUN gets its own answer (IGNORED), read by the RESET
                // that must come next: waiting for it here would hang on servers that send it
                // only once RESET arrives.
                if !self.defunct {
                    self.unanswered += 1;
                }
                Err(error)
            }
        }
    }

    /// Reads the next record of the open result, asking for more as the server runs out,
    /// or `None` (and the final metadata) when the result is complete.
    pub(crate) async fn next_record(&mut self, fields: &Arc<[String]>) -> Result<Step, BoltError> {
        loop {
            let Some(open) = self.open else { return Ok(Step::Done(BoltMap::new())) };
            if !open.pull_in_flight {
                if !open.has_more {
                    self.open = None;
                    return Ok(Step::Done(BoltMap::new()));
                }
                self.send(&[Request::Pull { n: self.fetch_size, qid: open.qid }]).await?;
                self.open = Some(OpenResult { pull_in_flight: true, ..open });
            }
            match self.recv("reading records").await? {
                Response::Record(values) => return Ok(Step::Record(Record::new(fields.clone(), values))),
                Response::Success(meta) => {
                    let has_more = meta.get("has_more").and_then(BoltValue::as_bool).unwrap_or(false);
                    if has_more {
                        self.open = Some(OpenResult { qid: open.qid, pull_in_flight: false, has_more: true });
                        continue;
                    }
                    self.open = None;
                    if let Some(bookmark) = meta.get("bookmark").and_then(BoltValue::as_str) {
                        self.last_bookmark = Some(bookmark.to_owned());
                    }
                    return Ok(Step::Done(meta));
                }
                Response::Failure(meta) => {
                    self.open = None;
                    self.needs_reset = true;
                    return Err(BoltError::Server(ServerError::from_metadata(meta)));
                }
                Response::Ignored => {
                    self.open = None;
                    self.needs_reset = true;
                    return Err(self.ignored("PULL"));
                }
            }
        }
    }

    /// Throws away the rest of the open result: reads the PULL in flight, then DISCARDs
    /// whatever the server still holds.
    pub(crate) async fn discard_open(&mut self) -> Result<BoltMap, BoltError> {
        let mut last = BoltMap::new();
        while let Some(open) = self.open {
            if open.pull_in_flight {
                match self.recv("discarding records").await? {
                    Response::Record(_) => continue,
                    Response::Success(meta) => {
                        let has_more = meta.get("has_more").and_then(BoltValue::as_bool).unwrap_or(false);
                        self.open = has_more.then_some(OpenResult { pull_in_flight: false, ..open });
                        if let Some(bookmark) = meta.get("bookmark").and_then(BoltValue::as_str) {
                            self.last_bookmark = Some(bookmark.to_owned());
                        }
                        last = meta;
                    }
                    Response::Failure(meta) => {
                        self.open = None;
                        self.needs_reset = true;
                        return Err(BoltError::Server(ServerError::from_metadata(meta)));
                    }
                    Response::Ignored => {
                        self.open = None;
                        self.needs_reset = true;
                        return Err(self.ignored("PULL"));
                    }
                }
            } else {
                self.send(&[Request::Discard { n: -1, qid: open.qid }]).await?;
                self.open = Some(OpenResult { pull_in_flight: true, ..open });
            }
        }
        Ok(last)
    }

    /// Brings the connection to a state where a new request can go: an open result is
    /// discarded, a failure is RESET, and (`outside_tx`) an abandoned transaction is rolled
    /// back by RESET.
    pub(crate) async fn prepare(&mut self, outside_tx: bool) -> Result<(), BoltError> {
        if self.defunct {
            return Err(BoltError::Defunct { address: self.address.clone() });
        }
        if self.open.is_some() && !self.needs_reset {
            // A failure while discarding leaves needs_reset set, handled just below.
            let _ = self.discard_open().await;
            if self.defunct {
                return Err(BoltError::Defunct { address: self.address.clone() });
            }
        }
        if self.needs_reset || (outside_tx && self.in_tx) {
            self.reset().await?;
        }
        Ok(())
    }

    /// Sends RESET: the server drops any result and transaction and leaves the FAILED state.
    pub async fn reset(&mut self) -> Result<(), BoltError> {
        if self.defunct {
            return Err(BoltError::Defunct { address: self.address.clone() });
        }
        self.send(&[Request::Reset]).await?;
        // Requests pipelined after a failure are answered (IGNORED) before RESET is.
        while self.unanswered > 0 {
            self.recv("reading the answers RESET ends").await?;
            self.unanswered -= 1;
        }
        if let Some(open) = self.open.take()
            && open.pull_in_flight
        {
            // The PULL sent before RESET still gets its answer (records and a summary, or
            // IGNORED, or FAILURE if RESET interrupted it); RESET's own answer comes after.
            while let Response::Record(_) = self.recv("waiting for RESET to finish").await? {}
        }
        match self.recv("waiting for RESET's answer").await? {
            Response::Success(_) => {}
            other => {
                // A RESET that does not succeed means the server cannot recover this connection.
                self.defunct = true;
                return Err(match other {
                    Response::Failure(meta) => BoltError::Server(ServerError::from_metadata(meta)),
                    other => BoltError::Protocol {
                        address: self.address.clone(),
                        expected: "SUCCESS for RESET".into(),
                        got: other.name().into(),
                    },
                });
            }
        }
        self.needs_reset = false;
        self.in_tx = false;
        self.open = None;
        Ok(())
    }

    /// Asks a router for the routing table of `database` (ROUTE, Bolt 4.3+). Returns the
    /// `rt` dictionary of the answer.
    pub async fn route(
        &mut self,
        routing: BoltMap,
        bookmarks: Vec<String>,
        database: Option<&str>,
    ) -> Result<BoltMap, BoltError> {
        if !self.version.has_route() {
            return Err(BoltError::Protocol {
                address: self.address.clone(),
                expected: "Bolt 4.3 or later for ROUTE".into(),
                got: format!("Bolt {}", self.version),
            });
        }
        self.prepare(true).await?;
        let mut extra = BoltMap::new();
        if let Some(db) = database {
            extra.insert("db".into(), db.into());
        }
        self.send(&[Request::Route { routing, bookmarks, extra }]).await?;
        let meta = self.expect_success("ROUTE").await?;
        match meta.get("rt") {
            Some(BoltValue::Dictionary(rt)) => Ok(rt.clone()),
            other => Err(BoltError::Protocol {
                address: self.address.clone(),
                expected: "SUCCESS {rt: {...}} for ROUTE".into(),
                got: format!("rt = {other:?}"),
            }),
        }
    }

    /// Replaces the connection's credentials (LOGOFF then LOGON, Bolt 5.1+).
    pub async fn reauthenticate(&mut self, auth: &Auth) -> Result<(), BoltError> {
        if !self.version.has_logon() {
            return Err(BoltError::Protocol {
                address: self.address.clone(),
                expected: "Bolt 5.1 or later for LOGOFF/LOGON".into(),
                got: format!("Bolt {}", self.version),
            });
        }
        self.prepare(true).await?;
        self.send(&[Request::Logoff, Request::logon(auth)]).await?;
        self.expect_success("LOGOFF").await?;
        self.expect_success("LOGON").await.map_err(|e| self.auth_error(e))?;
        Ok(())
    }

    /// Says GOODBYE and closes the socket. Errors are ignored: the connection is going
    /// away either way.
    pub async fn close(mut self) {
        if !self.defunct {
            let _ = self.send(&[Request::Goodbye]).await;
        }
        let _ = self.io.shutdown().await;
    }

    /// Writes `requests` (chunked) and flushes them in one go.
    pub(crate) async fn send(&mut self, requests: &[Request]) -> Result<(), BoltError> {
        if self.defunct {
            return Err(BoltError::Defunct { address: self.address.clone() });
        }
        self.write_buf.clear();
        let mut body = Vec::new();
        for request in requests {
            body.clear();
            request.encode(self.version, &mut body)?;
            chunk::write_chunked(&body, &mut self.write_buf);
        }
        let result = async {
            self.io.write_all(&self.write_buf).await?;
            self.io.flush().await
        }
        .await;
        result.map_err(|source| {
            self.defunct = true;
            BoltError::Io { address: self.address.clone(), context: "sending a message", source }
        })
    }

    /// Reads one response.
    pub(crate) async fn recv(&mut self, context: &'static str) -> Result<Response, BoltError> {
        if self.defunct {
            return Err(BoltError::Defunct { address: self.address.clone() });
        }
        let bytes = match chunk::read_message(&mut self.io, self.max_message_bytes).await {
            Ok(bytes) => bytes,
            Err(error) => {
                self.defunct = true;
                return Err(match error {
                    ReadError::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
                        BoltError::Closed { address: self.address.clone(), context }
                    }
                    ReadError::Io(source) => BoltError::Io { address: self.address.clone(), context, source },
                    ReadError::TooLarge => {
                        BoltError::MessageTooLarge { address: self.address.clone(), limit: self.max_message_bytes }
                    }
                });
            }
        };
        Response::decode(&bytes, self.version).map_err(|error| {
            self.defunct = true;
            match error {
                MessageError::Decode(source) => BoltError::Decode { address: self.address.clone(), source },
                MessageError::Invalid(got) => BoltError::Protocol {
                    address: self.address.clone(),
                    expected: "SUCCESS, RECORD, FAILURE or IGNORED".into(),
                    got,
                },
            }
        })
    }

    /// Reads the answer to `request`, which must be SUCCESS.
    pub(crate) async fn expect_success(&mut self, request: &'static str) -> Result<BoltMap, BoltError> {
        match self.recv(request).await? {
            Response::Success(meta) => Ok(meta),
            Response::Failure(meta) => {
                self.needs_reset = true;
                Err(BoltError::Server(ServerError::from_metadata(meta)))
            }
            Response::Ignored => {
                self.needs_reset = true;
                Err(self.ignored(request))
            }
            Response::Record(_) => {
                self.defunct = true;
                Err(BoltError::Protocol {
                    address: self.address.clone(),
                    expected: format!("SUCCESS or FAILURE for {request}"),
                    got: "RECORD".into(),
                })
            }
        }
    }

    fn ignored(&self, request: &str) -> BoltError {
        BoltError::Protocol {
            address: self.address.clone(),
            expected: format!("an answer to {request}"),
            got: "IGNORED (the server is in its FAILED state)".into(),
        }
    }

    pub(crate) fn set_bookmark(&mut self, bookmark: Option<String>) {
        if bookmark.is_some() {
            self.last_bookmark = bookmark;
        }
    }
}

/// One step of reading a result.
pub(crate) enum Step {
    /// A record.
    Record(Record),
    /// The result is complete; the final metadata.
    Done(BoltMap),
}

#[cfg(feature = "tls")]
async fn wrap_tls(tcp: TcpStream, config: &ConnectConfig, address: &str) -> Result<Box<dyn Io>, BoltError> {
    Ok(Box::new(crate::tls::connect(tcp, &config.host, address, config.security).await?))
}

#[cfg(not(feature = "tls"))]
async fn wrap_tls(_tcp: TcpStream, config: &ConnectConfig, _address: &str) -> Result<Box<dyn Io>, BoltError> {
    let scheme = if config.routing { "neo4j+s" } else { "bolt+s" };
    Err(BoltError::TlsUnavailable { scheme: scheme.into() })
}

/// A pause between attempts, for the router's retry.
pub(crate) const RETRY_PAUSE: Duration = Duration::from_millis(100);
