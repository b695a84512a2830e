//! Source URLs: `sqlite:PATH`, `csv:DIR`, `ndjson:DIR`, `archive:FILE`, `postgres://…`, `mysql://…`.

use std::path::{Path, PathBuf};

use crate::SourceError;

/// A parsed source URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceUrl {
    /// `sqlite:PATH` — a SQLite database file.
    Sqlite(PathBuf),
    /// `csv:DIR` — a directory of `.csv` files, one per table.
    Csv(PathBuf),
    /// `ndjson:DIR` — a directory of `.ndjson` / `.jsonl` files, one per table.
    Ndjson(PathBuf),
    /// `postgres://…` or `postgresql://…` — a PostgreSQL server (the URL as given).
    Postgres(String),
    /// `mysql://…` or `mariadb://…` — a MySQL or MariaDB server (the URL as given).
    Mysql(String),
    /// `archive:FILE` — a grafter archive (`grafter export`).
    Archive(PathBuf),
}

impl SourceUrl {
    /// The URL's scheme.
    pub fn scheme(&self) -> &'static str {
        match self {
            SourceUrl::Sqlite(_) => "sqlite",
            SourceUrl::Csv(_) => "csv",
            SourceUrl::Ndjson(_) => "ndjson",
            SourceUrl::Postgres(_) => "postgres",
            SourceUrl::Mysql(_) => "mysql",
            SourceUrl::Archive(_) => "archive",
        }
    }
}

/// The schemes grafter knows, for the error on an unknown one.
const KNOWN_SCHEMES: &[&str] = &["sqlite", "csv", "ndjson", "postgres", "postgresql", "mysql", "mariadb", "archive"];

/// Parses a source URL; relative paths are taken relative to `base_dir`. `sqlite://PATH` and
/// `sqlite:///abs/path` are accepted too. A server URL is checked as its connector will read
/// it (without connecting), so a URL that cannot work fails here, before anything runs.
pub fn parse_url(url: &str, base_dir: &Path) -> Result<SourceUrl, SourceError> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "it has no scheme".into(),
            hint: format!("write it as SCHEME:PATH, with SCHEME one of {}", KNOWN_SCHEMES.join(", ")),
        });
    };
    match scheme {
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            crate::postgres::check_url(url)?;
            return Ok(SourceUrl::Postgres(url.to_owned()));
        }
        "mysql" | "mariadb" => {
            #[cfg(feature = "mysql")]
            crate::mysql::check_url(url)?;
            return Ok(SourceUrl::Mysql(url.to_owned()));
        }
        _ => {}
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "the path is empty".into(),
            hint: format!("write it as {scheme}:PATH"),
        });
    }
    let path = base_dir.join(path);
    match scheme {
        "sqlite" => Ok(SourceUrl::Sqlite(path)),
        "csv" => Ok(SourceUrl::Csv(path)),
        "ndjson" | "jsonl" => Ok(SourceUrl::Ndjson(path)),
        "archive" => Ok(SourceUrl::Archive(path)),
        other => Err(SourceError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: format!("unknown scheme `{other}`"),
            hint: match crate::suggest(other, KNOWN_SCHEMES.iter().copied()) {
                Some(near) => format!("did you mean `{near}:`? Known schemes: {}", KNOWN_SCHEMES.join(", ")),
                None => format!("known schemes: {}", KNOWN_SCHEMES.join(", ")),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let url = parse_url("sqlite:data/x.db", Path::new("/cfg")).unwrap();
        assert_eq!(url, SourceUrl::Sqlite(PathBuf::from("/cfg/data/x.db")));
        let url = parse_url("sqlite:///abs/x.db", Path::new("/cfg")).unwrap();
        assert_eq!(url, SourceUrl::Sqlite(PathBuf::from("/abs/x.db")));
    }

    #[test]
    fn unknown_scheme_suggests_the_nearest() {
        let err = parse_url("sqlit:x.db", Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("did you mean `sqlite:`"), "{err}");
    }
}
