//! Bolt messages: the requests a client sends and the responses a server answers with.
//!
//! Every message is a PackStream structure whose tag is the message signature. Requests
//! are built per negotiated [`Version`] (credentials travel in HELLO up to 5.0 and in LOGON
//! from 5.1; `bolt_agent` is required from 5.3). Responses are SUCCESS, RECORD, FAILURE and
//! IGNORED. Framing into chunks is `chunk.rs`'s job; this module only lays out the bytes of
//! one message.

use std::fmt;

use crate::handshake::Version;
use crate::packstream::decode::Decoder;
use crate::packstream::encode::Encoder;
use crate::packstream::{BoltMap, BoltValue, DecodeError, EncodeError};

/// Message signatures (the structure tag of each message).
pub mod signature {
    /// HELLO.
    pub const HELLO: u8 = 0x01;
    /// GOODBYE.
    pub const GOODBYE: u8 = 0x02;
    /// RESET.
    pub const RESET: u8 = 0x0F;
    /// RUN.
    pub const RUN: u8 = 0x10;
    /// BEGIN.
    pub const BEGIN: u8 = 0x11;
    /// COMMIT.
    pub const COMMIT: u8 = 0x12;
    /// ROLLBACK.
    pub const ROLLBACK: u8 = 0x13;
    /// DISCARD.
    pub const DISCARD: u8 = 0x2F;
    /// PULL.
    pub const PULL: u8 = 0x3F;
    /// ROUTE.
    pub const ROUTE: u8 = 0x66;
    /// LOGON.
    pub const LOGON: u8 = 0x6A;
    /// LOGOFF.
    pub const LOGOFF: u8 = 0x6B;
    /// SUCCESS.
    pub const SUCCESS: u8 = 0x70;
    /// RECORD.
    pub const RECORD: u8 = 0x71;
    /// IGNORED.
    pub const IGNORED: u8 = 0x7E;
    /// FAILURE.
    pub const FAILURE: u8 = 0x7F;
}

/// Credentials. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    /// The auth scheme: "basic", "none", "bearer", "kerberos".
    pub scheme: String,
    /// The user name (basic).
    pub principal: Option<String>,
    /// The password or token.
    pub credentials: Option<String>,
}

impl Auth {
    /// User name and password.
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Auth {
        Auth { scheme: "basic".into(), principal: Some(user.into()), credentials: Some(password.into()) }
    }

    /// No authentication (servers without auth, such as FalkorDB without `requirepass`).
    pub fn none() -> Auth {
        Auth { scheme: "none".into(), principal: None, credentials: None }
    }

    /// A bearer token (SSO).
    pub fn bearer(token: impl Into<String>) -> Auth {
        Auth { scheme: "bearer".into(), principal: None, credentials: Some(token.into()) }
    }

    fn insert_into(&self, map: &mut BoltMap) {
        map.insert("scheme".into(), self.scheme.clone().into());
        if let Some(principal) = &self.principal {
            map.insert("principal".into(), principal.clone().into());
        }
        if let Some(credentials) = &self.credentials {
            map.insert("credentials".into(), credentials.clone().into());
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("scheme", &self.scheme)
            .field("principal", &self.principal)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Who is connecting, for HELLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// `user_agent`, e.g. "grafter/0.1.0".
    pub user_agent: String,
    /// The routing context: `Some` (with at least `address`) for `neo4j://` URLs, which
    /// tells the server the client routes; `None` for direct `bolt://` connections.
    pub routing: Option<BoltMap>,
    /// Credentials: sent inside HELLO up to 5.0, in LOGON from 5.1.
    pub auth: Auth,
}

/// The `bolt_agent` dictionary Bolt 5.3+ requires.
pub fn bolt_agent() -> BoltMap {
    let mut agent = BoltMap::new();
    agent.insert("product".into(), format!("grafter-bolt/{}", env!("CARGO_PKG_VERSION")).into());
    agent.insert("platform".into(), format!("{}; {}", std::env::consts::OS, std::env::consts::ARCH).into());
    agent.insert("language".into(), "Rust".into());
    agent
}

/// Access mode of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessMode {
    /// Writes (and reads); routed to the leader.
    #[default]
    Write,
    /// Reads only; routed to followers and read replicas.
    Read,
}

/// The `extra` of BEGIN (and of RUN in auto-commit): database, mode, bookmarks, metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxExtra {
    /// The database; `None` is the server's default (FalkorDB: graph `falkordb`).
    pub database: Option<String>,
    /// Read or write.
    pub mode: AccessMode,
    /// Bookmarks the transaction must see.
    pub bookmarks: Vec<String>,
    /// Metadata attached to the transaction (shown in server logs and listings).
    pub metadata: BoltMap,
    /// Transaction timeout in milliseconds.
    pub timeout_ms: Option<i64>,
}

impl TxExtra {
    /// The dictionary the spec describes. Absent fields take the server's defaults, and
    /// write mode is the default, so only "r" is sent: the message stays as small as it can
    /// be, which matters for servers with tight message limits.
    pub fn to_map(&self) -> BoltMap {
        let mut map = BoltMap::new();
        if let Some(db) = &self.database {
            map.insert("db".into(), db.clone().into());
        }
        if self.mode == AccessMode::Read {
            map.insert("mode".into(), "r".into());
        }
        if !self.bookmarks.is_empty() {
            map.insert("bookmarks".into(), BoltValue::List(self.bookmarks.iter().cloned().map(Into::into).collect()));
        }
        if !self.metadata.is_empty() {
            map.insert("tx_metadata".into(), self.metadata.clone().into());
        }
        if let Some(ms) = self.timeout_ms {
            map.insert("tx_timeout".into(), ms.into());
        }
        map
    }
}

/// A request message.
#[derive(Clone, PartialEq)]
pub enum Request {
    /// HELLO: its `extra` dictionary, already laid out for the version.
    Hello(BoltMap),
    /// LOGON (5.1+): the auth dictionary.
    Logon(BoltMap),
    /// LOGOFF (5.1+).
    Logoff,
    /// BEGIN with its extra.
    Begin(BoltMap),
    /// RUN.
    Run {
        /// Cypher text.
        query: String,
        /// Parameters.
        parameters: BoltMap,
        /// BEGIN-like extra in auto-commit; empty inside a transaction. Entries go on the
        /// wire in this order (a dictionary is ordered there; a server may depend on it).
        extra: Vec<(String, BoltValue)>,
    },
    /// PULL `n` records (-1: all) of result `qid` (-1: the last one).
    Pull {
        /// How many.
        n: i64,
        /// Which result.
        qid: i64,
    },
    /// DISCARD `n` records (-1: all) of result `qid`.
    Discard {
        /// How many.
        n: i64,
        /// Which result.
        qid: i64,
    },
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// RESET: back to READY from any state (also rolls back an open transaction).
    Reset,
    /// GOODBYE: the client is closing.
    Goodbye,
    /// ROUTE (4.4+): ask for the routing table.
    Route {
        /// The routing context (`address` of the initial router plus URL parameters).
        routing: BoltMap,
        /// Bookmarks.
        bookmarks: Vec<String>,
        /// `db` (and `imp_user`).
        extra: BoltMap,
    },
}

impl Request {
    /// HELLO for `version`: credentials inside it up to 5.0, `bolt_agent` from 5.3.
    pub fn hello(hello: &Hello, version: Version) -> Request {
        let mut extra = BoltMap::new();
        extra.insert("user_agent".into(), hello.user_agent.clone().into());
        if version.needs_bolt_agent() {
            extra.insert("bolt_agent".into(), bolt_agent().into());
        }
        if let Some(routing) = &hello.routing {
            extra.insert("routing".into(), routing.clone().into());
        }
        if !version.has_logon() {
            hello.auth.insert_into(&mut extra);
        }
        Request::Hello(extra)
    }

    /// LOGON (5.1+).
    pub fn logon(auth: &Auth) -> Request {
        let mut map = BoltMap::new();
        auth.insert_into(&mut map);
        Request::Logon(map)
    }

    /// The message's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello(_) => "HELLO",
            Request::Logon(_) => "LOGON",
            Request::Logoff => "LOGOFF",
            Request::Begin(_) => "BEGIN",
            Request::Run { .. } => "RUN",
            Request::Pull { .. } => "PULL",
            Request::Discard { .. } => "DISCARD",
            Request::Commit => "COMMIT",
            Request::Rollback => "ROLLBACK",
            Request::Reset => "RESET",
            Request::Goodbye => "GOODBYE",
            Request::Route { .. } => "ROUTE",
        }
    }

    /// Appends the message (unchunked) to `out`.
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut e = Encoder { out, format: version.struct_format() };
        match self {
            Request::Hello(extra) => {
                e.struct_header(signature::HELLO, 1)?;
                e.map(extra, 0)?;
            }
            Request::Logon(auth) => {
                e.struct_header(signature::LOGON, 1)?;
                e.map(auth, 0)?;
            }
            Request::Logoff => e.struct_header(signature::LOGOFF, 0)?,
            Request::Begin(extra) => {
                e.struct_header(signature::BEGIN, 1)?;
                e.map(extra, 0)?;
            }
            Request::Run { query, parameters, extra } => {
                e.struct_header(signature::RUN, 3)?;
                e.string(query)?;
                e.map(parameters, 0)?;
                e.entries(extra, 0)?;
            }
            Request::Pull { n, qid } | Request::Discard { n, qid } => {
                let sig = if matches!(self, Request::Pull { .. }) { signature::PULL } else { signature::DISCARD };
                e.struct_header(sig, 1)?;
                // qid -1 (the last result) is the default, so it is left out.
                e.map_header(if *qid == -1 { 1 } else { 2 })?;
                e.string("n")?;
                e.int(*n);
                if *qid != -1 {
                    e.string("qid")?;
                    e.int(*qid);
                }
            }
            Request::Commit => e.struct_header(signature::COMMIT, 0)?,
            Request::Rollback => e.struct_header(signature::ROLLBACK, 0)?,
            Request::Reset => e.struct_header(signature::RESET, 0)?,
            Request::Goodbye => e.struct_header(signature::GOODBYE, 0)?,
            Request::Route { routing, bookmarks, extra } => {
                e.struct_header(signature::ROUTE, 3)?;
                e.map(routing, 0)?;
                e.list_header(bookmarks.len())?;
                for bookmark in bookmarks {
                    e.string(bookmark)?;
                }
                e.map(extra, 0)?;
            }
        }
        Ok(())
    }

    /// Reads a request from its (dechunked) bytes: what a server does. Test servers use it.
    pub fn decode(bytes: &[u8], version: Version) -> Result<Request, MessageError> {
        let mut d = Decoder::new(bytes, version.struct_format());
        let (count, sig, _) = d.struct_header()?;
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            fields.push(d.value(1)?);
        }
        d.finish()?;
        let bad = |what: &str| MessageError::Invalid(format!("{what} (signature 0x{sig:02X}, {count} fields)"));
        let map = |value: Option<BoltValue>| match value {
            Some(BoltValue::Dictionary(map)) => Ok(map),
            _ => Err(bad("expected a dictionary field")),
        };
        let mut fields = fields.into_iter();
        let request = match sig {
            signature::HELLO => Request::Hello(map(fields.next())?),
            signature::LOGON => Request::Logon(map(fields.next())?),
            signature::BEGIN => Request::Begin(map(fields.next())?),
            signature::RUN => {
                let query = match fields.next() {
                    Some(BoltValue::String(q)) => q,
                    _ => return Err(bad("RUN without a query string")),
                };
                Request::Run {
                    query,
                    parameters: map(fields.next())?,
                    extra: map(fields.next())?.into_iter().collect(),
                }
            }
            signature::PULL | signature::DISCARD => {
                let extra = map(fields.next())?;
                let n = extra.get("n").and_then(BoltValue::as_int).ok_or_else(|| bad("PULL/DISCARD without n"))?;
                let qid = extra.get("qid").and_then(BoltValue::as_int).unwrap_or(-1);
                if sig == signature::PULL { Request::Pull { n, qid } } else { Request::Discard { n, qid } }
            }
            signature::ROUTE => {
                let routing = map(fields.next())?;
                let bookmarks = match fields.next() {
                    Some(BoltValue::List(items)) => {
                        items.into_iter().filter_map(|b| b.as_str().map(str::to_owned)).collect()
                    }
                    _ => return Err(bad("ROUTE without a bookmark list")),
                };
                Request::Route { routing, bookmarks, extra: map(fields.next())? }
            }
            signature::LOGOFF => Request::Logoff,
            signature::COMMIT => Request::Commit,
            signature::ROLLBACK => Request::Rollback,
            signature::RESET => Request::Reset,
            signature::GOODBYE => Request::Goodbye,
            _ => return Err(bad("unknown request")),
        };
        if fields.next().is_some() {
            return Err(bad("too many fields"));
        }
        Ok(request)
    }
}

impl fmt::Debug for Request {
    /// Shows the message with any `credentials` replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |map: &BoltMap| {
            let mut shown = map.clone();
            if shown.contains_key("credentials") {
                shown.insert("credentials".into(), "***".into());
            }
            shown
        };
        match self {
            Request::Hello(extra) => write!(f, "HELLO {:?}", redacted(extra)),
            Request::Logon(auth) => write!(f, "LOGON {:?}", redacted(auth)),
            Request::Begin(extra) => write!(f, "BEGIN {extra:?}"),
            Request::Run { query, parameters, extra } => write!(f, "RUN {query:?} {parameters:?} {extra:?}"),
            Request::Pull { n, qid } => write!(f, "PULL n={n} qid={qid}"),
            Request::Discard { n, qid } => write!(f, "DISCARD n={n} qid={qid}"),
            Request::Route { routing, bookmarks, extra } => write!(f, "ROUTE {routing:?} {bookmarks:?} {extra:?}"),
            other => f.write_str(other.name()),
        }
    }
}

/// A response message.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// SUCCESS with its metadata.
    Success(BoltMap),
    /// One RECORD's values.
    Record(Vec<BoltValue>),
    /// FAILURE with its metadata (`code`/`neo4j_code`, `message`, …).
    Failure(BoltMap),
    /// IGNORED: the server skipped the request (it is in FAILED state).
    Ignored,
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// Not PackStream, or a bad structure inside.
    Decode(DecodeError),
    /// A structure that is not the kind of message expected, or one with the wrong fields.
    Invalid(String),
}

impl From<DecodeError> for MessageError {
    fn from(e: DecodeError) -> Self {
        MessageError::Decode(e)
    }
}

impl Response {
    /// Reads one response message from its (dechunked) bytes.
    pub fn decode(bytes: &[u8], version: Version) -> Result<Response, MessageError> {
        let mut d = Decoder::new(bytes, version.struct_format());
        let (fields, sig, _) = d.struct_header()?;
        let mut values = Vec::with_capacity(fields);
        for _ in 0..fields {
            values.push(d.value(1)?);
        }
        d.finish()?;
        let one_map = |values: Vec<BoltValue>, name: &str| -> Result<BoltMap, MessageError> {
            match <[BoltValue; 1]>::try_from(values) {
                Ok([BoltValue::Dictionary(map)]) => Ok(map),
                Ok([other]) => Err(MessageError::Invalid(format!("{name} with a {} field", other.type_name()))),
                Err(values) => Err(MessageError::Invalid(format!("{name} with {} fields", values.len()))),
            }
        };
        match sig {
            signature::SUCCESS => Ok(Response::Success(one_map(values, "SUCCESS")?)),
            signature::FAILURE => Ok(Response::Failure(one_map(values, "FAILURE")?)),
            signature::IGNORED => Ok(Response::Ignored),
            signature::RECORD => match <[BoltValue; 1]>::try_from(values) {
                Ok([BoltValue::List(items)]) => Ok(Response::Record(items)),
                _ => Err(MessageError::Invalid("RECORD without a list of values".into())),
            },
            other => Err(MessageError::Invalid(format!("message with signature 0x{other:02X}"))),
        }
    }

    /// The message's name, for errors.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Success(_) => "SUCCESS",
            Response::Record(_) => "RECORD",
            Response::Failure(_) => "FAILURE",
            Response::Ignored => "IGNORED",
        }
    }

    /// Encodes a response (for test servers and tests).
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut e = Encoder { out, format: version.struct_format() };
        match self {
            Response::Success(map) => {
                e.struct_header(signature::SUCCESS, 1)?;
                e.map(map, 0)?;
            }
            Response::Failure(map) => {
                e.struct_header(signature::FAILURE, 1)?;
                e.map(map, 0)?;
            }
            Response::Ignored => e.struct_header(signature::IGNORED, 0)?,
            Response::Record(values) => {
                e.struct_header(signature::RECORD, 1)?;
                e.list_header(values.len())?;
                for value in values {
                    e.value(value, 1)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt_map;

    fn bytes(request: &Request, version: Version) -> Vec<u8> {
        let mut out = Vec::new();
        request.encode(version, &mut out).expect("encodes");
        out
    }

    const V57: Version = Version::V5_7;

    // The examples of the Bolt message reference, byte for byte.

    #[test]
    fn no_field_messages() {
        assert_eq!(bytes(&Request::Reset, V57), [0xB0, 0x0F]);
        assert_eq!(bytes(&Request::Goodbye, V57), [0xB0, 0x02]);
        assert_eq!(bytes(&Request::Commit, V57), [0xB0, 0x12]);
        assert_eq!(bytes(&Request::Rollback, V57), [0xB0, 0x13]);
        assert_eq!(bytes(&Request::Logoff, V57), [0xB0, 0x6B]);
    }

    #[test]
    fn run_return_1() {
        let run = Request::Run { query: "RETURN 1 AS num".into(), parameters: BoltMap::new(), extra: Vec::new() };
        let mut expected = vec![0xB3, 0x10, 0x8F];
        expected.extend_from_slice(b"RETURN 1 AS num");
        expected.extend_from_slice(&[0xA0, 0xA0]);
        assert_eq!(bytes(&run, V57), expected);
    }

    #[test]
    fn pull_and_discard() {
        assert_eq!(bytes(&Request::Pull { n: -1, qid: -1 }, V57), [0xB1, 0x3F, 0xA1, 0x81, 0x6E, 0xFF]);
        assert_eq!(
            bytes(&Request::Pull { n: 1000, qid: 2 }, V57),
            [0xB1, 0x3F, 0xA2, 0x81, 0x6E, 0xC9, 0x03, 0xE8, 0x83, 0x71, 0x69, 0x64, 0x02]
        );
        assert_eq!(bytes(&Request::Discard { n: -1, qid: -1 }, V57), [0xB1, 0x2F, 0xA1, 0x81, 0x6E, 0xFF]);
    }

    #[test]
    fn begin_read_mode_on_a_database() {
        let extra = TxExtra { database: Some("g".into()), mode: AccessMode::Read, ..TxExtra::default() };
        assert_eq!(
            bytes(&Request::Begin(extra.to_map()), V57),
            [0xB1, 0x11, 0xA2, 0x82, b'd', b'b', 0x81, b'g', 0x84, b'm', b'o', b'd', b'e', 0x81, b'r']
        );
        // Write mode is the default and is not sent.
        assert_eq!(bytes(&Request::Begin(TxExtra::default().to_map()), V57), [0xB1, 0x11, 0xA0]);
    }

    #[test]
    fn hello_carries_credentials_only_up_to_5_0() {
        let hello = Hello { user_agent: "ua".into(), routing: None, auth: Auth::basic("neo4j", "secret") };
        let Request::Hello(v50) = Request::hello(&hello, Version::V5_0) else { panic!("HELLO") };
        assert_eq!(v50.get("principal"), Some(&BoltValue::from("neo4j")));
        assert_eq!(v50.get("credentials"), Some(&BoltValue::from("secret")));
        assert!(!v50.contains_key("bolt_agent"));
        let Request::Hello(v51) = Request::hello(&hello, Version::V5_1) else { panic!("HELLO") };
        assert!(!v51.contains_key("credentials") && !v51.contains_key("scheme"));
        assert!(!v51.contains_key("bolt_agent"));
        let Request::Hello(v53) = Request::hello(&hello, Version::V5_3) else { panic!("HELLO") };
        assert!(v53.get("bolt_agent").and_then(BoltValue::as_map).is_some_and(|a| a.contains_key("product")));
        // HELLO {"user_agent": "ua"} on 5.1: B1 01 A1 8A "user_agent" 82 "ua"
        let mut expected = vec![0xB1, 0x01, 0xA1, 0x8A];
        expected.extend_from_slice(b"user_agent");
        expected.extend_from_slice(&[0x82, b'u', b'a']);
        assert_eq!(bytes(&Request::Hello(v51), Version::V5_1), expected);
    }

    #[test]
    fn logon_and_redaction() {
        let logon = Request::logon(&Auth::basic("neo4j", "secret"));
        let shown = format!("{logon:?}");
        assert!(shown.contains("neo4j") && !shown.contains("secret"), "{shown}");
        let shown = format!("{:?}", Auth::basic("neo4j", "secret"));
        assert!(!shown.contains("secret"), "{shown}");
        let encoded = bytes(&logon, V57);
        assert_eq!(encoded[..3], [0xB1, 0x6A, 0xA3]);
    }

    #[test]
    fn route_message() {
        let route = Request::Route {
            routing: bolt_map! { "address" => "h:1" },
            bookmarks: vec![],
            extra: bolt_map! { "db" => "x" },
        };
        let mut expected = vec![0xB3, 0x66, 0xA1, 0x87];
        expected.extend_from_slice(b"address");
        expected.extend_from_slice(&[0x83, b'h', b':', b'1', 0x90, 0xA1, 0x82, b'd', b'b', 0x81, b'x']);
        assert_eq!(bytes(&route, V57), expected);
    }

    #[test]
    fn requests_decode_back() {
        let requests = [
            Request::Hello(bolt_map! { "user_agent" => "ua" }),
            Request::logon(&Auth::basic("u", "p")),
            Request::Logoff,
            Request::Begin(bolt_map! { "db" => "g" }),
            Request::Run { query: "RETURN $x".into(), parameters: bolt_map! { "x" => 1 }, extra: Vec::new() },
            Request::Pull { n: 1000, qid: 3 },
            Request::Discard { n: -1, qid: -1 },
            Request::Commit,
            Request::Rollback,
            Request::Reset,
            Request::Goodbye,
            Request::Route {
                routing: bolt_map! { "address" => "h:1" },
                bookmarks: vec!["b".into()],
                extra: BoltMap::new(),
            },
        ];
        for request in requests {
            assert_eq!(Request::decode(&bytes(&request, V57), V57), Ok(request.clone()), "{request:?}");
        }
        assert!(Request::decode(&[0xB0, 0x7F], V57).is_err());
    }

    #[test]
    fn responses() {
        let success = [0xB1, 0x70, 0xA1, 0x86, b's', b'e', b'r', b'v', b'e', b'r', 0x81, b'x'];
        assert_eq!(Response::decode(&success, V57), Ok(Response::Success(bolt_map! { "server" => "x" })));
        assert_eq!(
            Response::decode(&[0xB1, 0x71, 0x92, 0x01, 0x02], V57),
            Ok(Response::Record(vec![1.into(), 2.into()]))
        );
        assert_eq!(Response::decode(&[0xB0, 0x7E], V57), Ok(Response::Ignored));
        assert!(matches!(Response::decode(&[0xB0, 0x70], V57), Err(MessageError::Invalid(_))));
        assert!(matches!(Response::decode(&[0xB0, 0x10], V57), Err(MessageError::Invalid(_))));
        assert!(matches!(Response::decode(&[0xB1, 0x71], V57), Err(MessageError::Decode(_))));
        for response in [
            Response::Failure(bolt_map! { "code" => "Neo.ClientError.Statement.SyntaxError", "message" => "bad" }),
            Response::Record(vec![BoltValue::Null, "a".into()]),
            Response::Ignored,
        ] {
            let mut out = Vec::new();
            response.encode(V57, &mut out).expect("encodes");
            assert_eq!(Response::decode(&out, V57), Ok(response));
        }
    }
}
