//! [`ConnectConfig`]: where and how to connect, read from a Bolt URL or built by hand.
//!
//! Schemes follow the official drivers: `bolt://` is one direct connection, `neo4j://`
//! routes (it asks the server for a routing table); `+s` adds TLS with certificates checked
//! against the Mozilla roots, `+ssc` adds TLS that accepts a self-signed certificate. User
//! and password may sit in the URL (`bolt://user:pass@host`, percent-encoded), the database
//! in `?database=` (or `?db=`); the other query parameters of a `neo4j://` URL form the
//! routing context sent to the server.

use std::fmt;
use std::time::Duration;

use crate::error::BoltError;
use crate::message::Auth;
use crate::packstream::BoltMap;

/// The default Bolt port.
pub const DEFAULT_PORT: u16 = 7687;

/// Whether and how to use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain TCP.
    Plain,
    /// TLS, the certificate checked against the Mozilla (webpki) roots and the host name.
    Verified,
    /// TLS accepting any certificate (self-signed): encrypted, but not authenticated.
    SelfSigned,
}

/// Everything needed to open a connection.
#[derive(Clone)]
pub struct ConnectConfig {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS or not.
    pub security: Security,
    /// `neo4j://`: route through a routing table.
    pub routing: bool,
    /// Routing context (the `neo4j://` URL's query parameters other than the database).
    pub routing_context: BoltMap,
    /// Credentials (`Auth::none()` when the URL has no user).
    pub auth: Auth,
    /// The database for transactions, if not the server's default.
    pub database: Option<String>,
    /// The `user_agent` sent in HELLO.
    pub user_agent: String,
    /// How long TCP connect, TLS and the Bolt handshake may take.
    pub connect_timeout: Duration,
    /// Records asked for per PULL. Small enough that a huge result never sits in memory.
    pub fetch_size: i64,
    /// The largest message accepted from the server.
    pub max_message_bytes: usize,
}

impl fmt::Debug for ConnectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("routing", &self.routing)
            .field("routing_context", &self.routing_context)
            .field("auth", &self.auth)
            .field("database", &self.database)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl ConnectConfig {
    /// A direct, plain, unauthenticated connection to `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> ConnectConfig {
        ConnectConfig {
            host: host.into(),
            port,
            security: Security::Plain,
            routing: false,
            routing_context: BoltMap::new(),
            auth: Auth::none(),
            database: None,
            user_agent: format!("grafter/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            fetch_size: 1000,
            max_message_bytes: 256 * 1024 * 1024,
        }
    }

    /// Reads a Bolt URL: `bolt[+s|+ssc]://[user[:password]@]host[:port][?database=name]`,
    /// or the same with `neo4j`.
    pub fn parse(url: &str) -> Result<ConnectConfig, BoltError> {
        let fail = |reason: String| BoltError::Url { url: grafter_model::redact_url(url), reason };
        // grafter's one reading of credentials: the password may hold any character.
        let parsed = grafter_model::ServerUrl::parse(url)
            .ok_or_else(|| fail("no scheme (expected bolt:// or neo4j://)".into()))?;
        let (routing, security) = match parsed.scheme().to_ascii_lowercase().as_str() {
            "bolt" => (false, Security::Plain),
            "bolt+s" => (false, Security::Verified),
            "bolt+ssc" => (false, Security::SelfSigned),
            "neo4j" => (true, Security::Plain),
            "neo4j+s" => (true, Security::Verified),
            "neo4j+ssc" => (true, Security::SelfSigned),
            other => {
                return Err(fail(format!(
                    "unknown scheme `{other}` (expected bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc)"
                )));
            }
        };
        let (rest, query) = match parsed.rest().split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (parsed.rest(), None),
        };
        // A trailing slash (`bolt://host:7687/`) is harmless; a path is not a Bolt concept.
        let hostport = rest.strip_suffix('/').unwrap_or(rest);
        if hostport.contains('/') {
            return Err(fail("a Bolt URL has no path; name the database with ?database=".into()));
        }
        let (host, port) = split_host_port(hostport).map_err(fail)?;
        let mut config = ConnectConfig::new(host, port);
        config.routing = routing;
        config.security = security;
        let user = parsed.user().map_err(|e| fail(e.to_string()))?;
        let password = parsed.password().map_err(|e| fail(e.to_string()))?;
        if user.is_some() || password.is_some() {
            config.auth = Auth::basic(user.unwrap_or_default(), password.unwrap_or_default());
        }
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key).map_err(|e| fail(format!("query key: {e}")))?;
            let value = percent_decode(value).map_err(|e| fail(format!("query value of `{key}`: {e}")))?;
            if key == "database" || key == "db" {
                if value.is_empty() {
                    return Err(fail(format!("`{key}` is empty")));
                }
                config.database = Some(value);
            } else if grafter_model::is_password_parameter(&key) {
                // As routing context it would travel to the server, which may log it.
                return Err(fail(format!(
                    "`{key}` is no URL parameter: write the password before the host, bolt://USER:PASSWORD@HOST"
                )));
            } else if routing {
                config.routing_context.insert(key, value.into());
            } else {
                return Err(fail(format!(
                    "unknown parameter `{key}` (bolt:// takes only `database`; routing context needs neo4j://)"
                )));
            }
        }
        Ok(config)
    }

    /// Uses `user` and `password` (basic auth).
    pub fn with_auth(mut self, auth: Auth) -> ConnectConfig {
        self.auth = auth;
        self
    }

    /// Uses `database` for transactions.
    pub fn with_database(mut self, database: impl Into<String>) -> ConnectConfig {
        self.database = Some(database.into());
        self
    }

    /// `host:port` (IPv6 hosts in brackets).
    pub fn address(&self) -> String {
        join_host_port(&self.host, self.port)
    }
}

/// `host:port`, bracketing IPv6 literals.
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Splits `host[:port]`, `[v6][:port]`.
pub(crate) fn split_host_port(hostport: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed `[` in the host")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("expected `:port` after `]`")?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse::<u16>().map_err(|_| format!("port `{p}` is not a number from 1 to 65535"))?,
    };
    if port == 0 {
        return Err("port 0 is not a port to connect to".into());
    }
    Ok((host.to_owned(), port))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("`%` without two hex digits")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "`%` without two hex digits")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "`%` without two hex digits")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        for (url, routing, security) in [
            ("bolt://h", false, Security::Plain),
            ("bolt+s://h", false, Security::Verified),
            ("bolt+ssc://h", false, Security::SelfSigned),
            ("neo4j://h", true, Security::Plain),
            ("neo4j+s://h", true, Security::Verified),
            ("neo4j+ssc://h", true, Security::SelfSigned),
        ] {
            let config = ConnectConfig::parse(url).expect(url);
            assert_eq!((config.routing, config.security, config.port), (routing, security, DEFAULT_PORT), "{url}");
        }
    }

    #[test]
    fn user_password_database_and_port() {
        let config = ConnectConfig::parse("bolt://alice:p%40ss:w@127.0.0.1:7691?database=shop").expect("parses");
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 7691);
        assert_eq!(config.auth, Auth::basic("alice", "p@ss:w"));
        assert_eq!(config.database.as_deref(), Some("shop"));
        assert_eq!(config.address(), "127.0.0.1:7691");
        let shown = format!("{config:?}");
        assert!(!shown.contains("p@ss"), "{shown}");
    }

    #[test]
    fn passwords_with_url_delimiters_are_read_whole() {
        for (written, password) in [("p/ss", "p/ss"), ("p#ss", "p#ss"), ("p?ss", "p?ss"), ("a@b/c#d?e", "a@b/c#d?e")] {
            let config = ConnectConfig::parse(&format!("bolt://alice:{written}@127.0.0.1:7691?database=shop")).unwrap();
            assert_eq!(config.auth, Auth::basic("alice", password), "{written}");
            assert_eq!((config.address(), config.database.as_deref()), ("127.0.0.1:7691".into(), Some("shop")));
        }
    }

    #[test]
    fn ipv6_and_routing_context() {
        let config = ConnectConfig::parse("neo4j://[::1]:7000/?region=eu&db=g").expect("parses");
        assert_eq!(config.host, "::1");
        assert_eq!(config.address(), "[::1]:7000");
        assert_eq!(config.database.as_deref(), Some("g"));
        assert_eq!(config.routing_context.get("region").and_then(|v| v.as_str()), Some("eu"));
        assert_eq!(config.auth, Auth::none());
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for (url, needle) in [
            ("http://h", "unknown scheme"),
            ("h:7687", "no scheme"),
            ("bolt://h:x", "port `x`"),
            ("bolt://h:0", "port 0"),
            ("bolt://:1", "no host"),
            ("bolt://h/db", "no path"),
            ("bolt://h?region=eu", "routing context needs neo4j://"),
            ("bolt://u:secret@h?database=", "empty"),
        ] {
            let err = ConnectConfig::parse(url).expect_err(url).to_string();
            assert!(err.contains(needle), "{url}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn a_password_parameter_is_refused_never_shown_and_never_sent_as_routing_context() {
        for url in ["bolt://h:1?password=s3cret", "neo4j://h:1?region=eu&PWD=s3cret"] {
            let err = ConnectConfig::parse(url).expect_err("a password parameter").to_string();
            assert!(err.contains("is no URL parameter: write the password before the host"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
