//! What each connector says about itself — its schemes, whether its URL names a path or a
//! server, how a server URL is checked without I/O, and how it opens — so that parsing a
//! URL and opening a source only read the table of connectors this build has (`CONNECTORS`
//! in `lib.rs`). A new source is its own folder, its cargo feature, and one line there.

use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::{Source, SourceError};

/// Where a source URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or a folder; a relative path is taken from the config's folder.
    Path(PathBuf),
    /// A server: the URL as given (password and all; never printed).
    Server(String),
}

impl Location {
    /// The path, for connectors that read one.
    #[cfg(any(feature = "sqlite", feature = "csv", feature = "ndjson", feature = "archive"))]
    pub(crate) fn path(&self) -> Result<&std::path::Path, SourceError> {
        match self {
            Location::Path(path) => Ok(path),
            Location::Server(url) => Err(SourceError::BadUrl {
                url: grafter_model::redact_url(url),
                reason: "this connector reads a file or a folder, not a server".into(),
                hint: "write it as SCHEME:PATH".into(),
            }),
        }
    }

    /// The server URL, for connectors that connect to one.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn server(&self) -> Result<&str, SourceError> {
        match self {
            Location::Server(url) => Ok(url),
            Location::Path(path) => Err(SourceError::BadUrl {
                url: path.display().to_string(),
                reason: "this connector connects to a server, not a path".into(),
                hint: "write it as SCHEME://USER@HOST:PORT/DATABASE".into(),
            }),
        }
    }
}

/// Options of the connectors that have any, from the config's `[source]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceOptions {
    /// How CSV files are read.
    #[cfg(feature = "csv")]
    pub csv: crate::csv::CsvOptions,
    /// How values without an exact graph counterpart are converted.
    pub types: grafter_model::TypePolicy,
}

/// How a connector opens: connecting to a server at once, so that a wrong host or password
/// shows before anything else happens.
pub(crate) type Opener =
    for<'a> fn(&'a Location, &'a SourceOptions) -> BoxFuture<'a, Result<Box<dyn Source>, SourceError>>;

/// How a server connector checks its URL as it will read it, without connecting.
pub(crate) type UrlCheck = fn(&str) -> Result<(), SourceError>;

/// A connector, as the table of connectors lists it.
pub(crate) struct Connector {
    /// Its schemes; the first names it (and its cargo feature).
    pub schemes: &'static [&'static str],
    /// For a server connector, how its URL is checked as [`Connector::open`] will read it,
    /// without connecting; `None` for a connector that reads a path.
    pub check_server_url: Option<UrlCheck>,
    /// Opens the source.
    pub open: Opener,
}
