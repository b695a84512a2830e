//! [`BoltError`]: everything that can go wrong talking Bolt, each variant naming what failed.
//!
//! Messages name the server address, the server's own code and message, or the bytes that
//! did not fit, and never a password: credentials live only in `Auth`, whose `Debug` hides
//! them, and no error carries a URL with its password in it.

use std::io;

use thiserror::Error;

use crate::packstream::{BoltMap, DecodeError, EncodeError};

/// A Bolt client error.
#[derive(Debug, Error)]
pub enum BoltError {
    /// Nothing listens at the address.
    #[error("connection to {address} refused (is the Bolt server running and listening there?)")]
    ConnectionRefused {
        /// host:port.
        address: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Any other failure to open the TCP connection (name resolution, unreachable host).
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// host:port.
        address: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The TCP connection (or TLS and handshake) took too long.
    #[error("connecting to {address} timed out after {seconds:.1} s")]
    ConnectTimeout {
        /// host:port.
        address: String,
        /// The timeout.
        seconds: f64,
    },
    /// The server shares no protocol version with us.
    #[error(
        "{address} refused the Bolt handshake: no common version (we offered {offered}; the server answered {reply})"
    )]
    HandshakeRefused {
        /// host:port.
        address: String,
        /// The versions we proposed, e.g. "5.7-5.0, 4.4".
        offered: String,
        /// The server's four reply bytes in hex.
        reply: String,
    },
    /// The server rejected the credentials (or the auth scheme).
    #[error("authentication failed at {address}: {code}: {message}")]
    AuthFailed {
        /// host:port.
        address: String,
        /// The server's failure code, e.g. `Neo.ClientError.Security.Unauthorized`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server answered a request with FAILURE.
    #[error("{0}")]
    Server(ServerError),
    /// The peer broke the protocol: it sent something other than what the state allows.
    #[error("protocol violation from {address}: expected {expected}, got {got}")]
    Protocol {
        /// host:port.
        address: String,
        /// What we expected.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// A TLS setup or handshake failure (certificate not trusted, wrong name, no TLS there).
    #[error("TLS with {address} failed: {message}")]
    Tls {
        /// host:port.
        address: String,
        /// What failed.
        message: String,
    },
    /// The URL asks for TLS but the crate was built without the `tls` feature.
    #[error("`{scheme}://` needs TLS, but grafter-bolt was built without its `tls` feature")]
    TlsUnavailable {
        /// The URL scheme.
        scheme: String,
    },
    /// A URL that is not a Bolt URL.
    #[error("invalid Bolt URL `{url}`: {reason}")]
    Url {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing the socket failed.
    #[error("I/O error {context} ({address}): {source}")]
    Io {
        /// host:port.
        address: String,
        /// What we were doing, e.g. "reading a message".
        context: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The server closed the connection.
    #[error("{address} closed the connection while {context}")]
    Closed {
        /// host:port.
        address: String,
        /// What we were doing.
        context: &'static str,
    },
    /// An earlier I/O or protocol error left the connection unusable.
    #[error("the connection to {address} is unusable after an earlier error; open a new one")]
    Defunct {
        /// host:port.
        address: String,
    },
    /// A value could not be encoded for the negotiated version.
    #[error("cannot encode a request: {0}")]
    Encode(#[from] EncodeError),
    /// The server sent bytes that are not valid PackStream or not a valid message.
    #[error("cannot decode a message from {address}: {source}")]
    Decode {
        /// host:port.
        address: String,
        /// What was wrong.
        #[source]
        source: DecodeError,
    },
    /// A message longer than the configured limit.
    #[error("a message from {address} exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// host:port.
        address: String,
        /// The limit.
        limit: usize,
    },
    /// The transaction was ended (by an error, a reset or the server) and cannot be used.
    #[error("the transaction is no longer open: {why}")]
    TransactionClosed {
        /// Why.
        why: &'static str,
    },
    /// Routing found no server for the job.
    #[error("routing: no {role} server for database {database} ({detail})")]
    NoServer {
        /// "WRITE", "READ" or "ROUTE".
        role: &'static str,
        /// The database, or "(default)".
        database: String,
        /// What was tried.
        detail: String,
    },
    /// A batch helper could not fit a single row under the byte cap.
    #[error("row {index} alone encodes to {bytes} bytes, over the cap of {cap} bytes")]
    RowTooLarge {
        /// The row's index in the input.
        index: usize,
        /// Bytes it needs (with the message around it).
        bytes: usize,
        /// The cap.
        cap: usize,
    },
}

/// A FAILURE the server sent for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    /// The status code (`code`, or `neo4j_code` from Bolt 5.7 on), e.g.
    /// `Neo.ClientError.Statement.SyntaxError`.
    pub code: String,
    /// The server's message.
    pub message: String,
    /// The GQL status (Bolt 5.7+), if the server sent one.
    pub gql_status: Option<String>,
    /// All fields of the FAILURE, for anything not lifted out above.
    pub metadata: BoltMap,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "server error {}: {}", self.code, self.message)
    }
}

impl ServerError {
    /// Builds the error from a FAILURE's metadata.
    pub fn from_metadata(metadata: BoltMap) -> ServerError {
        let text = |key: &str| metadata.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        // Bolt 5.7 renamed `code` to `neo4j_code` (the GQL error format); some servers still
        // send `code` on 5.7, so both are read.
        let code = text("neo4j_code").or_else(|| text("code")).unwrap_or_else(|| "(no code)".into());
        let message = text("message").or_else(|| text("description")).unwrap_or_else(|| "(no message)".into());
        let gql_status = text("gql_status");
        ServerError { code, message, gql_status, metadata }
    }

    /// Whether the server is telling us it is not (or no longer) the cluster leader, so a
    /// write must go elsewhere.
    pub fn is_not_a_leader(&self) -> bool {
        self.code == "Neo.ClientError.Cluster.NotALeader"
            || self.code == "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"
    }

    /// Whether the server says retrying may succeed.
    pub fn is_transient(&self) -> bool {
        self.code.starts_with("Neo.TransientError.")
    }

    /// Whether this is a security (authentication or authorisation) failure.
    pub fn is_security(&self) -> bool {
        self.code.contains(".Security.")
    }
}

impl BoltError {
    /// Whether a routed write that failed this way should refresh the routing table and be
    /// tried once more on the new leader: the server is not the leader, or it cannot be
    /// reached any more.
    pub fn is_routing_failure(&self) -> bool {
        match self {
            BoltError::Server(e) => e.is_not_a_leader(),
            BoltError::ConnectionRefused { .. }
            | BoltError::Connect { .. }
            | BoltError::ConnectTimeout { .. }
            | BoltError::Io { .. }
            | BoltError::Closed { .. }
            | BoltError::Defunct { .. } => true,
            _ => false,
        }
    }

    /// The server's failure, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            BoltError::Server(e) => Some(e),
            _ => None,
        }
    }
}
