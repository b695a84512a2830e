//! Target URLs: `grafeo:PATH` for the embedded store.

use std::path::{Path, PathBuf};

use crate::TargetError;

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    /// `grafeo:PATH` — the embedded store, one file.
    Grafeo(PathBuf),
    /// `null:` — discards records (for measuring sources).
    Null,
}

impl TargetUrl {
    /// The URL's scheme.
    pub fn scheme(&self) -> &'static str {
        match self {
            TargetUrl::Grafeo(_) => "grafeo",
            TargetUrl::Null => "null",
        }
    }
}

const KNOWN_SCHEMES: &[&str] = &["grafeo", "null"];

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
        other => Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: format!("unknown scheme `{other}`"),
            hint: format!("known target schemes: {}", KNOWN_SCHEMES.join(", ")),
        }),
    }
}
