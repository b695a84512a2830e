//! Target URLs: `grafeo:PATH` for the embedded store, `falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH`
//! for a FalkorDB server, `bolt://` and `neo4j://` (with `+s` / `+ssc`) for a server spoken
//! to over Bolt (Neo4j, Memgraph, FalkorDB).

use std::path::{Path, PathBuf};

use crate::TargetError;

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    /// `grafeo:PATH` — the embedded store, one file.
    Grafeo(PathBuf),
    /// `null:` — discards records (for measuring sources).
    Null,
    /// `falkordb://…/GRAPH` — a graph on a FalkorDB server.
    FalkorDb(FalkorDbUrl),
    /// `bolt://…`, `neo4j://…` — a server spoken to over Bolt.
    Bolt(BoltUrl),
}

/// Where a Bolt server is, and grafter's own settings for it (taken out of the URL's query
/// before the rest goes to the Bolt client).
#[derive(Clone, PartialEq, Eq)]
pub struct BoltUrl {
    /// The URL the Bolt client reads: scheme, credentials, host, port and its own query
    /// parameters (`database`, a routing context). Holds the password: never print it; see
    /// [`BoltUrl::describe`].
    pub connect: String,
    /// `max_message_bytes=N`: the most bytes one statement may take on the wire (and, on a
    /// server that writes parameters into the query text, as that text). `None`: the
    /// server's default.
    pub max_message_bytes: Option<usize>,
    /// `server=neo4j|memgraph|falkordb`: which server it is, when its greeting does not
    /// tell. `None`: detected.
    pub server: Option<String>,
}

/// The smallest `max_message_bytes` grafter accepts: a statement must hold its query text
/// and at least one row.
pub const MIN_MESSAGE_BYTES: usize = 1024;

impl BoltUrl {
    /// The URL for people to read: the password replaced by `***`.
    pub fn describe(&self) -> String {
        grafter_model::redact_url(&self.connect)
    }
}

impl std::fmt::Debug for BoltUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Where a FalkorDB graph lives.
#[derive(Clone, PartialEq, Eq)]
pub struct FalkorDbUrl {
    /// Host name or address.
    pub host: String,
    /// Port (FalkorDB's default: 6379).
    pub port: u16,
    /// User name (Redis ACL), if any.
    pub user: Option<String>,
    /// Password, if any. Never printed: see the `Debug` impl and [`FalkorDbUrl::describe`].
    pub password: Option<String>,
    /// The graph's name (its Redis key).
    pub graph: String,
    /// `?bulk=off` turns off loading new labels with `GRAPH.BULK` (on by default).
    pub bulk: bool,
}

impl FalkorDbUrl {
    /// The URL for people to read: the password replaced by `***`.
    pub fn describe(&self) -> String {
        let credentials = match (&self.user, &self.password) {
            (Some(user), Some(_)) => format!("{user}:***@"),
            (Some(user), None) => format!("{user}@"),
            (None, Some(_)) => ":***@".to_owned(),
            (None, None) => String::new(),
        };
        let options = if self.bulk { "" } else { "?bulk=off" };
        format!("falkordb://{credentials}{}:{}/{}{options}", self.host, self.port, self.graph)
    }
}

impl std::fmt::Debug for FalkorDbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl TargetUrl {
    /// The URL's scheme.
    pub fn scheme(&self) -> &'static str {
        match self {
            TargetUrl::Grafeo(_) => "grafeo",
            TargetUrl::Null => "null",
            TargetUrl::FalkorDb(_) => "falkordb",
            TargetUrl::Bolt(_) => "bolt",
        }
    }
}

const KNOWN_SCHEMES: &[&str] =
    &["grafeo", "falkordb", "bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc", "null"];

/// Parses a target URL; relative paths are taken relative to `base_dir`.
pub fn parse_url(url: &str, base_dir: &Path) -> Result<TargetUrl, TargetError> {
    let (scheme, rest) = url.split_once(':').ok_or_else(|| TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: "it has no scheme".into(),
        hint: format!("write it as SCHEME:…, with SCHEME one of {}", KNOWN_SCHEMES.join(", ")),
    })?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    match scheme {
        "null" => Ok(TargetUrl::Null),
        "grafeo" if !path.is_empty() => Ok(TargetUrl::Grafeo(base_dir.join(path))),
        "grafeo" => Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "the path is empty".into(),
            hint: "write grafeo:PATH, or leave [target] url out to use a file beside grafter.toml".into(),
        }),
        "falkordb" => parse_falkordb(url).map(TargetUrl::FalkorDb),
        "bolt" | "bolt+s" | "bolt+ssc" | "neo4j" | "neo4j+s" | "neo4j+ssc" => parse_bolt(url).map(TargetUrl::Bolt),
        other => Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: format!("unknown scheme `{other}`"),
            hint: match grafter_model::suggest(other, KNOWN_SCHEMES.iter().copied()) {
                Some(near) => format!("did you mean `{near}:`? Known target schemes: {}", KNOWN_SCHEMES.join(", ")),
                None => format!("known target schemes: {}", KNOWN_SCHEMES.join(", ")),
            },
        }),
    }
}

/// `falkordb://[USER[:PASSWORD]@]HOST[:PORT]/GRAPH`; user and password read by grafter's one
/// rule ([`grafter_model::ServerUrl`]: any character in the password, percent-encoded or not).
fn parse_falkordb(url: &str) -> Result<FalkorDbUrl, TargetError> {
    let bad = |reason: &str| TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: reason.to_owned(),
        hint:
            "write it as falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH[?bulk=off], e.g. falkordb://127.0.0.1:6380/shop"
                .into(),
    };
    let parsed = grafter_model::ServerUrl::parse(url).ok_or_else(|| bad("it has no `//` after the scheme"))?;
    let (rest, options) = parsed.rest().split_once('?').unwrap_or((parsed.rest(), ""));
    let mut bulk = true;
    for option in options.split('&').filter(|option| !option.is_empty()) {
        match option {
            "bulk=on" => bulk = true,
            "bulk=off" => bulk = false,
            other => {
                // The name only: the value may be a secret (`password=…`).
                let name = other.split_once('=').map_or(other, |(name, _)| name);
                return Err(bad(&format!("unknown option `{name}` (the one option is bulk=on|off)")));
            }
        }
    }
    let (address, graph) = rest.split_once('/').ok_or_else(|| bad("it names no graph"))?;
    let graph = percent_decode(graph).map_err(|_| bad("the graph name is not valid percent-encoded UTF-8"))?;
    if graph.is_empty() || graph.contains(['/', '?', '#']) || graph.chars().any(char::is_control) {
        return Err(bad("the graph name is empty or holds `/`, `?`, `#` or control characters"));
    }
    let user = parsed.user().map_err(|e| bad(&e.to_string()))?;
    let password = parsed.password().map_err(|e| bad(&e.to_string()))?;
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            (host, port.parse::<u16>().map_err(|_| bad(&format!("the port `{port}` is not a number from 1 to 65535")))?)
        }
        _ => (address, 6379),
    };
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    Ok(FalkorDbUrl {
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        user,
        password,
        graph,
        bulk,
    })
}

/// `bolt[+s|+ssc]://` or `neo4j[+s|+ssc]://[USER:PASSWORD@]HOST[:PORT][?database=NAME&…]`:
/// grafter's own parameters (`max_message_bytes`, `server`) are taken out, the credentials
/// percent-encoded ([`grafter_model::ServerUrl::for_driver`]), and the Bolt client's own
/// reading of the rest is checked now, so a URL that cannot work fails before anything runs.
fn parse_bolt(url: &str) -> Result<BoltUrl, TargetError> {
    let bad = |reason: String| {
        TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason,
        hint: "write it as bolt://[USER:PASSWORD@]HOST[:PORT][?database=NAME][&max_message_bytes=N] (or neo4j://… to route, +s / +ssc for TLS)".into(),
    }
    };
    let parsed = grafter_model::ServerUrl::parse(url).ok_or_else(|| bad("it has no `//` after the scheme".into()))?;
    let (address, query) = parsed.rest().split_once('?').unwrap_or((parsed.rest(), ""));
    if address.trim_end_matches('/').is_empty() {
        return Err(bad("it names no host".into()));
    }
    let mut kept = Vec::new();
    let mut max_message_bytes = None;
    let mut server = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("max_message_bytes", value)) => {
                let bytes = value.parse::<usize>().ok().filter(|&n| n >= MIN_MESSAGE_BYTES).ok_or_else(|| {
                    bad(format!("max_message_bytes `{value}` is not a number of bytes of at least {MIN_MESSAGE_BYTES}"))
                })?;
                max_message_bytes = Some(bytes);
            }
            Some(("server", value)) => {
                if !["neo4j", "memgraph", "falkordb"].contains(&value) {
                    return Err(bad(format!("server `{value}` is not one of neo4j, memgraph, falkordb")));
                }
                server = Some(value.to_owned());
            }
            _ => kept.push(pair),
        }
    }
    let driver = parsed.for_driver().map_err(|e| bad(e.to_string()))?;
    // `for_driver` keeps the text after the credentials as it is: swap in the filtered query.
    let credentials_end = driver.len() - parsed.rest().len();
    let mut connect = format!("{}{address}", &driver[..credentials_end]);
    if !kept.is_empty() {
        connect.push('?');
        connect.push_str(&kept.join("&"));
    }
    #[cfg(feature = "bolt")]
    if let Err(error) = grafter_bolt::ConnectConfig::parse(&connect) {
        let reason = match error {
            grafter_bolt::BoltError::Url { reason, .. } => reason,
            other => other.to_string(),
        };
        return Err(bad(grafter_model::hide_password(&reason, url)));
    }
    Ok(BoltUrl { connect, max_message_bytes, server })
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn falkordb(url: &str) -> FalkorDbUrl {
        match parse_url(url, Path::new("/")).unwrap() {
            TargetUrl::FalkorDb(parsed) => parsed,
            other => panic!("{url} parsed as {other:?}"),
        }
    }

    #[test]
    fn falkordb_urls_name_host_port_graph_and_credentials() {
        let plain = falkordb("falkordb://127.0.0.1:6380/shop");
        assert_eq!((plain.host.as_str(), plain.port, plain.graph.as_str()), ("127.0.0.1", 6380, "shop"));
        assert_eq!(plain.user, None);
        let secured = falkordb("falkordb://app:s%40cret@db.example/placement");
        assert_eq!(secured.port, 6379);
        assert_eq!(secured.user.as_deref(), Some("app"));
        assert_eq!(secured.password.as_deref(), Some("s@cret"));
        assert_eq!(secured.describe(), "falkordb://app:***@db.example:6379/placement");
        assert!(!format!("{secured:?}").contains("cret"));
        assert!(plain.bulk && secured.bulk, "bulk loading is on by default");
        let off = falkordb("falkordb://127.0.0.1:6380/shop?bulk=off");
        assert_eq!((off.graph.as_str(), off.bulk), ("shop", false));
        assert_eq!(off.describe(), "falkordb://127.0.0.1:6380/shop?bulk=off");
        let error = parse_url("falkordb://u:s3cret@h:1/g?fast=yes", Path::new("/")).unwrap_err().to_string();
        assert!(error.contains("unknown option `fast`") && !error.contains("s3cret"), "{error}");
    }

    fn bolt(url: &str) -> BoltUrl {
        match parse_url(url, Path::new("/")).unwrap() {
            TargetUrl::Bolt(parsed) => parsed,
            other => panic!("{url} parsed as {other:?}"),
        }
    }

    #[test]
    fn bolt_urls_keep_the_clients_part_and_take_out_graftersettings() {
        let plain = bolt("bolt://127.0.0.1:7687");
        assert_eq!(
            (plain.connect.as_str(), plain.max_message_bytes, plain.server),
            ("bolt://127.0.0.1:7687", None, None)
        );
        let full =
            bolt("neo4j+s://app:s%40cret@db.example?database=shop&max_message_bytes=4000&region=eu&server=memgraph");
        assert_eq!(full.connect, "neo4j+s://app:s%40cret@db.example?database=shop&region=eu");
        assert_eq!(full.max_message_bytes, Some(4000));
        assert_eq!(full.server.as_deref(), Some("memgraph"));
        assert_eq!(full.describe(), "neo4j+s://app:***@db.example?database=shop&region=eu");
        assert!(!format!("{full:?}").contains("cret"));
        for scheme in ["bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"] {
            assert_eq!(parse_url(&format!("{scheme}://h"), Path::new("/")).unwrap().scheme(), "bolt");
        }
    }

    #[test]
    fn bad_bolt_settings_are_refused_without_the_password() {
        for (url, needle) in [
            ("bolt://u:s3cret@host?max_message_bytes=12", "at least 1024"),
            ("bolt://u:s3cret@host?max_message_bytes=lots", "`lots`"),
            ("bolt://u:s3cret@host?server=oracle", "not one of"),
            ("bolt://u:s3cret@", "no host"),
        ] {
            let error = parse_url(url, Path::new("/")).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn passwords_with_url_delimiters_are_read_whole_and_never_shown() {
        for (written, password) in [("p/ss", "p/ss"), ("p#ss", "p#ss"), ("p?ss", "p?ss"), ("a@b/c#d?e", "a@b/c#d?e")] {
            let parsed = falkordb(&format!("falkordb://app:{written}@127.0.0.1:6380/shop?bulk=off"));
            assert_eq!(parsed.password.as_deref(), Some(password), "{written}");
            assert_eq!((parsed.host.as_str(), parsed.port, parsed.graph.as_str()), ("127.0.0.1", 6380, "shop"));
            assert!(!parsed.bulk);
            let error = parse_url(&format!("falkordb://app:{written}@127.0.0.1:6380/"), Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("falkordb://app:***@127.0.0.1:6380/") && !error.contains(written), "{error}");
            let parsed = bolt(&format!("bolt://app:{written}@127.0.0.1:7687?database=shop"));
            assert_eq!(parsed.describe(), "bolt://app:***@127.0.0.1:7687?database=shop");
            let config = grafter_bolt::ConnectConfig::parse(&parsed.connect).unwrap();
            assert_eq!(config.auth, grafter_bolt::Auth::basic("app", password), "{written}");
            assert_eq!(config.database.as_deref(), Some("shop"));
        }
        let error = parse_url("falkordb://127.0.0.1:6380/g?password=s3cret", Path::new("/")).unwrap_err().to_string();
        assert!(error.contains("unknown option `password`") && !error.contains("s3cret"), "{error}");
    }

    #[test]
    fn urls_that_cannot_work_are_refused_when_parsed() {
        for (url, needle) in [
            ("falkor://127.0.0.1:6380/g", "did you mean `falkordb:`?"),
            ("bolt://u:s3cret@127.0.0.1:7687/shop", "a Bolt URL has no path"),
            ("bolt://u:s3cret@127.0.0.1:7687?region=eu", "unknown parameter `region`"),
            ("bolt://u:s3cret@127.0.0.1:notaport", "port `notaport`"),
            ("falkordb://u:s3cret@127.0.0.1:6380", "it names no graph"),
        ] {
            let error = parse_url(url, Path::new("/")).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn falkordb_urls_without_a_graph_or_with_a_bad_port_are_refused_without_the_password() {
        for url in ["falkordb://u:s3cret@host:6380", "falkordb://u:s3cret@host:63x/g", "falkordb://u:s3cret@host:6380/"]
        {
            let error = parse_url(url, Path::new("/")).unwrap_err().to_string();
            assert!(!error.contains("s3cret"), "{error}");
            assert!(error.contains("falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH"), "{error}");
        }
    }
}
