//! The SQLite source (`sqlite:PATH`): tables and queries of a SQLite database file.
//!
//! The database is opened read-only, so grafter can never change or create a source file.
//! Each scan runs on its own connection and thread ([`crate::blocking`]); tables with a
//! primary key are read in key order so that a cursor is a key (resume seeks by index);
//! other reads count rows. Values are converted by [`convert`], which knows SQLite's
//! dynamic typing; introspection for `grafter init` lives in [`introspect`].

mod convert;
mod introspect;
mod scan;
mod state;

use std::path::Path;

use async_trait::async_trait;
use grafter_model::{Catalog, Column, Value};
use rusqlite::{Connection, OpenFlags};

pub use state::SqliteSource;

use crate::{BatchStream, KeyRange, Read, ScanRequest, Source, SourceError};

/// `sqlite:PATH`: a SQLite database file, opened read-only.
pub(crate) const CONNECTOR: crate::connector::Connector =
    crate::connector::Connector { schemes: &["sqlite"], check_server_url: None, open: open_connector };

fn open_connector<'a>(
    location: &'a crate::Location,
    options: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move { Ok(Box::new(SqliteSource::open(location.path()?, options.types)?) as Box<dyn Source>) })
}

impl SqliteSource {
    /// Opens the database at `path` (read-only) and checks that it is one.
    pub fn open(path: &Path, types: grafter_model::TypePolicy) -> Result<SqliteSource, SourceError> {
        if !path.is_file() {
            return Err(SourceError::NotFound {
                what: "SQLite database".into(),
                path: path.display().to_string(),
                hint: "check `[source] url = \"sqlite:PATH\"`; a relative PATH is taken from the directory of grafter.toml"
                    .into(),
            });
        }
        let source = SqliteSource { path: path.to_path_buf(), types };
        // Reading the schema is the cheapest way to find out that a file is not a database.
        source.connect()?.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())).map_err(|e| {
            SourceError::Driver { source_url: source.describe(), message: format!("cannot read the database: {e}") }
        })?;
        Ok(source)
    }

    /// A new read-only connection.
    fn connect(&self) -> Result<Connection, SourceError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        Connection::open_with_flags(&self.path, flags)
            .map_err(|e| SourceError::Driver { source_url: self.describe(), message: e.to_string() })
    }

    /// Runs blocking `work` on a fresh connection off the async threads.
    async fn with_connection<T, F>(&self, work: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteSource, &Connection) -> Result<T, SourceError> + Send + 'static,
    {
        let source = self.clone();
        tokio::task::spawn_blocking(move || {
            let connection = source.connect()?;
            work(&source, &connection)
        })
        .await
        .map_err(|e| SourceError::Driver {
            source_url: self.describe(),
            message: format!("reader thread failed: {e}"),
        })?
    }

    /// Maps a SQLite error on `read` into a [`SourceError`] carrying SQLite's own message.
    fn query_error(&self, read: &Read, error: rusqlite::Error) -> SourceError {
        SourceError::Query { source_url: self.describe(), read: read.to_string(), message: error.to_string() }
    }
}

#[async_trait]
impl Source for SqliteSource {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        let read = read.clone();
        self.with_connection(move |source, connection| scan::columns(source, connection, &read)).await
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        let Read::Table(table) = read else { return Ok(None) };
        let table = table.clone();
        self.with_connection(move |source, connection| {
            let key =
                introspect::primary_key(connection, &table).map_err(|e| source.query_error(&Read::Table(table), e))?;
            Ok((!key.is_empty()).then_some(key))
        })
        .await
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        let request = request.clone();
        self.with_connection(move |source, connection| scan::count(source, connection, &request).map(Some)).await
    }

    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError> {
        // Check the read and its columns up front, so a mistake is an error of `scan` itself
        // rather than of the stream's first item.
        let available = self.columns(&request.read).await?;
        scan::check_columns(self, &request, &available)?;
        let source = self.clone();
        Ok(crate::blocking::spawn_reader(move |sender| {
            let connection = source.connect()?;
            scan::stream(&source, &connection, &request, &available, sender)
        }))
    }

    async fn split(&self, read: &Read, key: &[String], parts: usize) -> Result<Vec<KeyRange>, SourceError> {
        let (read, key) = (read.clone(), key.to_vec());
        self.with_connection(move |source, connection| scan::split(source, connection, &read, &key, parts)).await
    }

    async fn max_key(&self, read: &Read, key: &[String]) -> Result<Option<Vec<Value>>, SourceError> {
        let (read, key) = (read.clone(), key.to_vec());
        self.with_connection(move |source, connection| scan::max_key(source, connection, &read, &key)).await
    }

    async fn introspect(&self) -> Result<Catalog, SourceError> {
        self.with_connection(|source, connection| {
            introspect::catalog(connection)
                .map_err(|e| SourceError::Driver { source_url: source.describe(), message: e.to_string() })
        })
        .await
    }
}
