//! Target URLs: `grafeo:PATH` for the embedded store, `falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH`
//! for a FalkorDB server.

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
        format!("falkordb://{credentials}{}:{}/{}", self.host, self.port, self.graph)
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
        }
    }
}

const KNOWN_SCHEMES: &[&str] = &["grafeo", "falkordb", "null"];

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
            url: url.to_owned(),
            reason: "the path is empty".into(),
            hint: "write grafeo:PATH, or leave [target] url out to use a file beside grafter.toml".into(),
        }),
        "falkordb" => parse_falkordb(url, path).map(TargetUrl::FalkorDb),
        other => Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: format!("unknown scheme `{other}`"),
            hint: format!("known target schemes: {}", KNOWN_SCHEMES.join(", ")),
        }),
    }
}

/// `falkordb://[USER[:PASSWORD]@]HOST[:PORT]/GRAPH`; user and password percent-decoded.
fn parse_falkordb(url: &str, rest: &str) -> Result<FalkorDbUrl, TargetError> {
    let bad = |reason: &str| TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: reason.to_owned(),
        hint: "write it as falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH, e.g. falkordb://127.0.0.1:6380/shop".into(),
    };
    let (authority, graph) = rest.split_once('/').ok_or_else(|| bad("it names no graph"))?;
    let graph = percent_decode(graph).map_err(|_| bad("the graph name is not valid percent-encoded UTF-8"))?;
    if graph.is_empty() || graph.contains(['/', '?', '#']) || graph.chars().any(char::is_control) {
        return Err(bad("the graph name is empty or holds `/`, `?`, `#` or control characters"));
    }
    let (credentials, address) = match authority.rsplit_once('@') {
        Some((credentials, address)) => (Some(credentials), address),
        None => (None, authority),
    };
    let (user, password) = match credentials {
        None => (None, None),
        Some(credentials) => {
            let (user, password) = match credentials.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (credentials, None),
            };
            let decode =
                |s: &str| percent_decode(s).map_err(|_| bad("the user or password is not valid percent-encoded UTF-8"));
            let user = if user.is_empty() { None } else { Some(decode(user)?) };
            (user, password.map(decode).transpose()?)
        }
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            (host, port.parse::<u16>().map_err(|_| bad(&format!("the port `{port}` is not a number from 1 to 65535")))?)
        }
        _ => (address, 6379),
    };
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    Ok(FalkorDbUrl { host: host.trim_start_matches('[').trim_end_matches(']').to_owned(), port, user, password, graph })
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
