//! Target URLs: `grafeo:PATH` for the embedded store, `falkordb://…/GRAPH` for a FalkorDB
//! server, `bolt://` and `neo4j://` (with `+s` / `+ssc`) for a server spoken to over Bolt
//! (Neo4j, Memgraph, ArcadeDB, FalkorDB), `null:` to discard. Which schemes exist, and how
//! each URL is read, is the stores' to say (`store.rs`; `falkordb/url.rs`, `bolt/url.rs`).

use std::path::Path;

use crate::store::Store;
use crate::{STORE_FEATURES, STORES, TargetError};

/// Every scheme this build knows, for the error on an unknown one.
fn known_schemes() -> Vec<&'static str> {
    STORES.iter().flat_map(|store| store.schemes.iter().copied()).collect()
}

/// The store `url`'s scheme names, or why there is none.
pub(crate) fn store_for(url: &str) -> Result<&'static Store, TargetError> {
    let known = known_schemes();
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "it has no scheme".into(),
            hint: format!("write it as SCHEME:…, with SCHEME one of {}", known.join(", ")),
        });
    };
    if let Some(store) = STORES.iter().copied().find(|store| store.schemes.contains(&scheme)) {
        return Ok(store);
    }
    if STORE_FEATURES.contains(&scheme) {
        return Err(TargetError::NotBuiltIn { scheme: scheme.to_owned() });
    }
    Err(TargetError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: format!("unknown scheme `{scheme}`"),
        hint: match grafter_model::suggest(scheme, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}:`? Known target schemes: {}", known.join(", ")),
            None => format!("known target schemes: {}", known.join(", ")),
        },
    })
}

/// Checks a target URL as its store will read it, without connecting (relative paths are
/// taken relative to `base_dir`), so a URL that cannot work fails before anything runs.
/// Returns the store's name.
pub fn check_url(url: &str, base_dir: &Path) -> Result<&'static str, TargetError> {
    let store = store_for(url)?;
    (store.check)(url, base_dir)?;
    Ok(store.name())
}

/// How the store of `url` holds node keys unique, in words (`grafter plan` says it).
pub fn key_guard(url: &str) -> Result<&'static str, TargetError> {
    Ok(store_for(url)?.key_guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_names_its_store() {
        for (url, store) in [
            ("grafeo:g.grafeo", "grafeo"),
            ("null:", "null"),
            ("falkordb://127.0.0.1:6380/shop", "falkordb"),
            ("bolt://h", "bolt"),
            ("bolt+s://h", "bolt"),
            ("neo4j+ssc://h", "bolt"),
        ] {
            assert_eq!(check_url(url, Path::new("/")).unwrap(), store, "{url}");
        }
    }

    #[test]
    fn urls_that_cannot_work_are_refused_when_checked() {
        for (url, needle) in [
            ("falkor://127.0.0.1:6380/g", "did you mean `falkordb:`?"),
            ("no scheme here", "it has no scheme"),
            ("grafeo:", "the path is empty"),
            ("bolt://u:s3cret@127.0.0.1:7687/shop", "a Bolt URL has no path"),
            ("bolt://u:s3cret@127.0.0.1:7687?region=eu", "unknown parameter `region`"),
            ("bolt://u:s3cret@127.0.0.1:notaport", "port `notaport`"),
            ("falkordb://u:s3cret@127.0.0.1:6380", "it names no graph"),
        ] {
            let error = check_url(url, Path::new("/")).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
