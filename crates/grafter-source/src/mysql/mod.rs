//! The MySQL / MariaDB source (`mysql://user:pass@host:port/db`, also `mariadb://…`): tables
//! and queries of one database on a server.
//!
//! Every operation runs on a connection of its own ([`connect`]), set up the same way each
//! time: utf8mb4 results, session time zone `+00:00` (so `TIMESTAMP` values arrive in UTC), a
//! long `net_write_timeout` (so a slow graph write does not make the server give up on a
//! stream). Scans ([`scan`]) are server-side prepared statements streamed row by row (the
//! binary protocol, unbuffered), so values always travel as parameters and a table is never
//! held in memory; tables with a primary key are read in key order so that a cursor is a key.
//! [`convert`] decides once per result column how its values become grafter values, by the
//! column's protocol metadata and the [`TypePolicy`]; [`introspect`] reads
//! `information_schema` for `grafter init`.
//!
//! grafter speaks only what MySQL 8 and MariaDB 10.x/11.x have in common. Where the two
//! servers differ (JSON, `KILL`, `CHECK` constraints, display widths), the code says so.

mod connect;
mod convert;
mod introspect;
mod scan;
mod state;

use async_trait::async_trait;
use grafter_model::{Catalog, Column, TypePolicy, Value};
use mysql_async::Conn;

pub use state::MysqlSource;

use crate::{BatchStream, KeyRange, Read, ScanRequest, Source, SourceError};

/// `mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (also `mariadb://`).
pub(crate) const CONNECTOR: crate::connector::Connector = crate::connector::Connector {
    schemes: &["mysql", "mariadb"],
    check_server_url: Some(check_url),
    open: open_connector,
};

fn open_connector<'a>(
    location: &'a crate::Location,
    options: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move {
        Ok(Box::new(MysqlSource::connect(location.server()?, options.types).await?) as Box<dyn Source>)
    })
}

/// Checks a `mysql://` or `mariadb://` URL as [`MysqlSource::connect`] will read it, without
/// connecting.
pub(crate) fn check_url(url: &str) -> Result<(), SourceError> {
    connect::options(url).map(drop)
}

impl MysqlSource {
    /// Connects to the server and database `url` names, so that a wrong host, user, password
    /// or database shows at once (as [`SourceError::Connection`], never transient, with a
    /// hint and the password redacted).
    pub async fn connect(url: &str, types: TypePolicy) -> Result<MysqlSource, SourceError> {
        let (opts, database) = connect::options(url)?;
        let source = MysqlSource { opts, redacted: grafter_model::redact_url(url), database, types };
        let connection = source.connection_for(connect::Stage::Open).await?;
        // Close politely: the connection was only a check.
        let _ = connection.disconnect().await;
        Ok(source)
    }

    /// A new connection for an operation of an open source.
    async fn connection(&self) -> Result<Conn, SourceError> {
        self.connection_for(connect::Stage::Established).await
    }

    async fn connection_for(&self, stage: connect::Stage) -> Result<Conn, SourceError> {
        connect::connect(self, stage).await
    }

    /// The URL for messages, password redacted.
    fn describe_url(&self) -> String {
        self.redacted.clone()
    }
}

#[async_trait]
impl Source for MysqlSource {
    fn describe(&self) -> String {
        self.describe_url()
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        let mut connection = self.connection().await?;
        scan::columns(self, &mut connection, read).await
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        let Read::Table(table) = read else { return Ok(None) };
        let mut connection = self.connection().await?;
        // Checks that the table exists first, so a typo is `UnknownTable`, not "no key".
        scan::columns(self, &mut connection, read).await?;
        let key = introspect::primary_key(self, &mut connection, table).await?;
        Ok((!key.is_empty()).then_some(key))
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        let mut connection = self.connection().await?;
        scan::count(self, &mut connection, request).await.map(Some)
    }

    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError> {
        let connection = self.connection().await?;
        scan::stream(self, connection, request).await
    }

    async fn split(&self, read: &Read, key: &[String], parts: usize) -> Result<Vec<KeyRange>, SourceError> {
        let mut connection = self.connection().await?;
        scan::split(self, &mut connection, read, key, parts).await
    }

    async fn max_key(&self, read: &Read, key: &[String]) -> Result<Option<Vec<Value>>, SourceError> {
        let mut connection = self.connection().await?;
        scan::max_key(self, &mut connection, read, key).await
    }

    async fn introspect(&self) -> Result<Catalog, SourceError> {
        let mut connection = self.connection().await?;
        introspect::catalog(self, &mut connection).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let (opts, database) = connect::options("mysql://app:s3cret@db.example:3306/shop").unwrap();
        let source = MysqlSource {
            opts,
            redacted: grafter_model::redact_url("mysql://app:s3cret@db.example:3306/shop"),
            database,
            types: TypePolicy::default(),
        };
        let debug = format!("{source:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("mysql://app:***@db.example:3306/shop"), "{debug}");
    }
}
