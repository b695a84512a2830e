//! `falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH[?bulk=off][&key_constraints=off]`: where a
//! FalkorDB graph lives, read by the FalkorDB store itself ([`super::STORE`]).

use crate::TargetError;

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
    /// `?key_constraints=off` leaves node keys with their index alone, without a uniqueness
    /// constraint (on by default): FalkorDB 4.16 checks a label's constraints on every
    /// update of its nodes, which made sync's catch-up about 1.8× slower.
    pub key_constraints: bool,
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
        let options: Vec<&str> = [(!self.bulk).then_some("bulk=off"), (!self.key_constraints).then_some("key_constraints=off")]
            .into_iter()
            .flatten()
            .collect();
        let options = if options.is_empty() { String::new() } else { format!("?{}", options.join("&")) };
        format!("falkordb://{credentials}{}:{}/{}{options}", self.host, self.port, self.graph)
    }
}

impl std::fmt::Debug for FalkorDbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl FalkorDbUrl {
    /// Reads a `falkordb://` URL (without connecting).
    pub fn parse(url: &str) -> Result<FalkorDbUrl, TargetError> {
        parse(url)
    }
}

/// `falkordb://[USER[:PASSWORD]@]HOST[:PORT]/GRAPH`; user and password read by grafter's one
/// rule ([`grafter_model::ServerUrl`]: any character in the password, percent-encoded or not).
pub(crate) fn parse(url: &str) -> Result<FalkorDbUrl, TargetError> {
    let bad = |reason: &str| TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: reason.to_owned(),
        hint:
            "write it as falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH[?bulk=off][&key_constraints=off], e.g. \
             falkordb://127.0.0.1:6380/shop"
                .into(),
    };
    let parsed = grafter_model::ServerUrl::parse(url).ok_or_else(|| bad("it has no `//` after the scheme"))?;
    let (rest, options) = parsed.rest().split_once('?').unwrap_or((parsed.rest(), ""));
    let (mut bulk, mut key_constraints) = (true, true);
    for option in options.split('&').filter(|option| !option.is_empty()) {
        match option {
            "bulk=on" => bulk = true,
            "bulk=off" => bulk = false,
            "key_constraints=on" => key_constraints = true,
            "key_constraints=off" => key_constraints = false,
            other => {
                // The name only: the value may be a secret (`password=…`).
                let name = other.split_once('=').map_or(other, |(name, _)| name);
                return Err(bad(&format!(
                    "unknown option `{name}` (the options are bulk=on|off and key_constraints=on|off)"
                )));
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
        key_constraints,
    })
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
        parse(url).unwrap()
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
        assert!(off.key_constraints, "key constraints are on by default");
        let neither = falkordb("falkordb://127.0.0.1:6380/shop?key_constraints=off&bulk=off");
        assert!(!neither.bulk && !neither.key_constraints);
        assert_eq!(neither.describe(), "falkordb://127.0.0.1:6380/shop?bulk=off&key_constraints=off");
        let error = parse("falkordb://u:s3cret@h:1/g?fast=yes").unwrap_err().to_string();
        assert!(error.contains("unknown option `fast`") && !error.contains("s3cret"), "{error}");
    }

    #[test]
    fn passwords_with_url_delimiters_are_read_whole_and_never_shown() {
        for (written, password) in [("p/ss", "p/ss"), ("p#ss", "p#ss"), ("p?ss", "p?ss"), ("a@b/c#d?e", "a@b/c#d?e")] {
            let parsed = falkordb(&format!("falkordb://app:{written}@127.0.0.1:6380/shop?bulk=off"));
            assert_eq!(parsed.password.as_deref(), Some(password), "{written}");
            assert_eq!((parsed.host.as_str(), parsed.port, parsed.graph.as_str()), ("127.0.0.1", 6380, "shop"));
            assert!(!parsed.bulk);
            let error = parse(&format!("falkordb://app:{written}@127.0.0.1:6380/")).unwrap_err().to_string();
            assert!(error.contains("falkordb://app:***@127.0.0.1:6380/") && !error.contains(written), "{error}");
        }
        let error = parse("falkordb://127.0.0.1:6380/g?password=s3cret").unwrap_err().to_string();
        assert!(error.contains("unknown option `password`") && !error.contains("s3cret"), "{error}");
    }

    #[test]
    fn falkordb_urls_without_a_graph_or_with_a_bad_port_are_refused_without_the_password() {
        for url in ["falkordb://u:s3cret@host:6380", "falkordb://u:s3cret@host:63x/g", "falkordb://u:s3cret@host:6380/"]
        {
            let error = parse(url).unwrap_err().to_string();
            assert!(!error.contains("s3cret"), "{error}");
            assert!(error.contains("falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH"), "{error}");
        }
    }
}
