//! Sources: where rows come from.
//!
//! A [`Source`] is opened from a URL ([`open`]) and answers four questions for the engine:
//! which columns a read has ([`Source::columns`]), which unique key orders a table
//! ([`Source::scan_key`]), how many rows a read will yield ([`Source::count`]), and — the main
//! job — the rows themselves as a stream of [`Batch`]es starting after a [`Cursor`]
//! ([`Source::scan`]). SQL sources can also describe their schema ([`Source::introspect`]) for
//! `grafter init`.
//!
//! Each connector is one module behind one cargo feature; nothing outside this crate knows
//! which connectors exist except through [`open`]. Sources never see targets: the engine
//! joins the two.

use std::path::Path;

pub use grafter_model::KeyRange;

#[cfg(any(feature = "sqlite", feature = "csv", feature = "ndjson", feature = "archive"))]
mod blocking;
mod error;
#[cfg(any(feature = "csv", feature = "ndjson"))]
mod files;
#[cfg(feature = "ndjson")]
mod json;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod json_column;
mod source;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
mod url;

#[cfg(feature = "archive")]
pub mod archive;
#[cfg(feature = "csv")]
pub mod csv;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "ndjson")]
pub mod ndjson;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use error::SourceError;
pub(crate) use grafter_model::suggest;
#[cfg(any(feature = "csv", feature = "ndjson"))]
pub(crate) use source::refuse_filters;
pub use source::{BatchStream, Filter, QueryRows, Read, ScanRequest, Source};
pub use url::{SourceUrl, parse_url};

/// Options of the connectors that have any, from the config's `[source]` section.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// How CSV files are read.
    #[cfg(feature = "csv")]
    pub csv: csv::CsvOptions,
    /// How values without an exact graph counterpart are converted.
    pub types: grafter_model::TypePolicy,
}

/// Opens the source a URL names (connecting to servers, so that a wrong host or password
/// shows at once). Relative paths are resolved against `base_dir` (the directory of
/// grafter.toml).
pub async fn open(url: &str, base_dir: &Path, options: &SourceOptions) -> Result<Box<dyn Source>, SourceError> {
    // A build with only the archive connector reads no options.
    let _ = options;
    match parse_url(url, base_dir)? {
        #[cfg(feature = "sqlite")]
        SourceUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteSource::open(&path, options.types)?)),
        #[cfg(feature = "csv")]
        SourceUrl::Csv(dir) => Ok(Box::new(csv::CsvSource::open(&dir, options.csv.clone())?)),
        #[cfg(feature = "ndjson")]
        SourceUrl::Ndjson(dir) => Ok(Box::new(ndjson::NdjsonSource::open(&dir, options.types)?)),
        #[cfg(feature = "postgres")]
        SourceUrl::Postgres(url) => Ok(Box::new(postgres::PostgresSource::connect(&url, options.types).await?)),
        #[cfg(feature = "mysql")]
        SourceUrl::Mysql(url) => Ok(Box::new(mysql::MysqlSource::connect(&url, options.types).await?)),
        #[cfg(feature = "archive")]
        SourceUrl::Archive(path) => {
            // Opening verifies the whole archive: a pass over the file, off the async runtime.
            let opened = tokio::task::spawn_blocking(move || archive::ArchiveSource::open(&path)).await;
            match opened {
                Ok(source) => Ok(Box::new(source?)),
                Err(failure) => Err(SourceError::Driver {
                    source_url: "archive".into(),
                    message: format!("the archive reader failed: {failure}"),
                }),
            }
        }
        #[allow(unreachable_patterns)]
        other => Err(SourceError::NotBuiltIn { scheme: other.scheme().to_owned() }),
    }
}
