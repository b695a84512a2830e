//! `bolt[+s|+ssc]://` and `neo4j[+s|+ssc]://` URLs: where a Bolt server is, and grafter's own
//! settings for it, read by the Bolt store itself ([`super::STORE`]).

use crate::TargetError;

/// The smallest `max_message_bytes` grafter accepts: a statement must hold its query text
/// and at least one row.
pub const MIN_MESSAGE_BYTES: usize = 1024;

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

impl BoltUrl {
    /// Reads a Bolt URL as the Bolt client will (without connecting).
    pub fn parse(url: &str) -> Result<BoltUrl, TargetError> {
        parse(url)
    }
}

/// `bolt[+s|+ssc]://` or `neo4j[+s|+ssc]://[USER:PASSWORD@]HOST[:PORT][?database=NAME&…]`:
/// grafter's own parameters (`max_message_bytes`, `server`) are taken out, the credentials
/// percent-encoded ([`grafter_model::ServerUrl::for_driver`]), and the Bolt client's own
/// reading of the rest is checked now, so a URL that cannot work fails before anything runs.
pub(crate) fn parse(url: &str) -> Result<BoltUrl, TargetError> {
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
    if let Err(error) = grafter_bolt::ConnectConfig::parse(&connect) {
        let reason = match error {
            grafter_bolt::BoltError::Url { reason, .. } => reason,
            other => other.to_string(),
        };
        return Err(bad(grafter_model::hide_password(&reason, url)));
    }
    Ok(BoltUrl { connect, max_message_bytes, server })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bolt(url: &str) -> BoltUrl {
        parse(url).unwrap()
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
        for scheme in super::super::STORE.schemes {
            assert_eq!(bolt(&format!("{scheme}://h")).connect, format!("{scheme}://h"));
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
            let error = parse(url).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn passwords_with_url_delimiters_are_read_whole_and_never_shown() {
        for (written, password) in [("p/ss", "p/ss"), ("p#ss", "p#ss"), ("p?ss", "p?ss"), ("a@b/c#d?e", "a@b/c#d?e")] {
            let parsed = bolt(&format!("bolt://app:{written}@127.0.0.1:7687?database=shop"));
            assert_eq!(parsed.describe(), "bolt://app:***@127.0.0.1:7687?database=shop");
            let config = grafter_bolt::ConnectConfig::parse(&parsed.connect).unwrap();
            assert_eq!(config.auth, grafter_bolt::Auth::basic("app", password), "{written}");
            assert_eq!(config.database.as_deref(), Some("shop"));
        }
    }
}
