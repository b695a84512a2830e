//! Source URLs: `SCHEME:PATH` for files and folders (`sqlite:`, `csv:`, `ndjson:`,
//! `archive:`), `SCHEME://…` for servers (`postgres://`, `mysql://`). Which schemes exist,
//! and which of them name servers, is the connectors' to say (`connector.rs`).

use std::path::Path;

use crate::connector::{Connector, Location};
use crate::{CONNECTOR_FEATURES, CONNECTORS, SourceError};

/// A parsed source URL: the connector it names and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUrl {
    /// The connector's name (its first scheme: `postgres` for `postgresql://` too).
    pub scheme: &'static str,
    /// The file, folder or server.
    pub location: Location,
}

impl SourceUrl {
    /// The connector's name.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }
}

/// Every scheme this build knows, for the error on an unknown one.
fn known_schemes() -> Vec<&'static str> {
    CONNECTORS.iter().flat_map(|c| c.schemes.iter().copied()).collect()
}

/// The connector `scheme` names.
pub(crate) fn connector(scheme: &str) -> Option<&'static Connector> {
    CONNECTORS.iter().copied().find(|c| c.schemes.contains(&scheme))
}

/// Parses a source URL; relative paths are taken relative to `base_dir`. `sqlite://PATH` and
/// `sqlite:///abs/path` are accepted too. A server URL is checked as its connector will read
/// it (without connecting), so a URL that cannot work fails here, before anything runs.
pub fn parse_url(url: &str, base_dir: &Path) -> Result<SourceUrl, SourceError> {
    let known = known_schemes();
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "it has no scheme".into(),
            hint: format!("write it as SCHEME:PATH, with SCHEME one of {}", known.join(", ")),
        });
    };
    let Some(connector) = connector(scheme) else {
        if CONNECTOR_FEATURES.contains(&scheme) {
            return Err(SourceError::NotBuiltIn { scheme: scheme.to_owned() });
        }
        return Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: format!("unknown scheme `{scheme}`"),
            hint: match crate::suggest(scheme, known.iter().copied()) {
                Some(near) => format!("did you mean `{near}:`? Known schemes: {}", known.join(", ")),
                None => format!("known schemes: {}", known.join(", ")),
            },
        });
    };
    let name = connector.schemes[0];
    if let Some(check) = connector.check_server_url {
        check(url)?;
        return Ok(SourceUrl { scheme: name, location: Location::Server(url.to_owned()) });
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "the path is empty".into(),
            hint: format!("write it as {scheme}:PATH"),
        });
    }
    Ok(SourceUrl { scheme: name, location: Location::Path(base_dir.join(path)) })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[cfg(feature = "sqlite")]
    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let url = parse_url("sqlite:data/x.db", Path::new("/cfg")).unwrap();
        assert_eq!(url.location, Location::Path(PathBuf::from("/cfg/data/x.db")));
        let url = parse_url("sqlite:///abs/x.db", Path::new("/cfg")).unwrap();
        assert_eq!(url.location, Location::Path(PathBuf::from("/abs/x.db")));
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn unknown_scheme_suggests_the_nearest() {
        let err = parse_url("sqlit:x.db", Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("did you mean `sqlite:`"), "{err}");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn an_alias_names_its_connector_and_a_server_url_stays_whole() {
        let url = parse_url("postgresql://app@db.example/shop", Path::new("/cfg")).unwrap();
        assert_eq!(url.scheme(), "postgres");
        assert_eq!(url.location, Location::Server("postgresql://app@db.example/shop".into()));
    }
}
