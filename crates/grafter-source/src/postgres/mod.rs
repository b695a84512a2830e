//! The PostgreSQL source (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, also
//! `postgresql://`): tables, views and queries of a PostgreSQL database.
//!
//! Opening the source connects at once (`connect`), so a wrong host, password or database
//! shows before anything else happens; that connection then answers the metadata questions
//! (columns, keys, counts, splits, introspection). Every scan opens a connection of its own
//! and streams rows with a binary `COPY` (`scan`), decoding the wire format directly
//! (`convert`, `numeric`, `copy`); cursor and range keys always travel as parameters
//! (`params`). A connection lost mid-scan is a transient error, so the engine retries from
//! its checkpoint; refusals (authentication, missing database, bad SQL) are not.
//!
//! Why `COPY` rather than a bound portal ([`Transfer`]): `examples/postgres_scan.rs` reads a
//! 1M-row table (int, bigint, text, numeric(12,2), timestamptz, bool, uuid, jsonb) both ways
//! and with `psql -c "COPY (SELECT …) TO STDOUT" > /dev/null`, in interleaved rounds. On the
//! 2-core development machine (server on the same cores, mimalloc as in the grafter binary)
//! binary `COPY` streamed 0.89–1.02M rows/s, 0.93–0.99× psql's rate, the portal 0.86–0.95M
//! rows/s (0.87–0.95×); in key order both reached about 0.9× psql's own ordered `COPY`. What
//! got there: decoding binary values straight from the received bytes, JSON parsed directly
//! into grafter values, and the connection driven on the consumer's task (no wake-ups
//! between threads every few rows).
//!
//! The URL's password is kept only inside the driver's configuration (whose `Debug` hides
//! it); everything grafter shows says [`grafter_model::redact_url`]'s form.

mod connect;
mod convert;
mod copy;
mod describe;
mod introspect;
mod numeric;
mod params;
mod scan;
mod state;

use std::sync::Arc;

use async_trait::async_trait;
use grafter_model::{Catalog, Column, TypePolicy, Value};
use tokio_postgres::Client;

pub use state::{PostgresSource, Transfer};

use crate::{BatchStream, KeyRange, Read, ScanRequest, Source, SourceError};

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (also `postgresql://`).
pub(crate) const CONNECTOR: crate::connector::Connector = crate::connector::Connector {
    schemes: &["postgres", "postgresql"],
    check_server_url: Some(check_url),
    open: open_connector,
};

fn open_connector<'a>(
    location: &'a crate::Location,
    options: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move {
        Ok(Box::new(PostgresSource::connect(location.server()?, options.types).await?) as Box<dyn Source>)
    })
}

/// Checks a `postgres://` URL as [`PostgresSource::connect`] will read it, without connecting.
pub(crate) fn check_url(url: &str) -> Result<(), SourceError> {
    connect::config(url).map(drop)
}

impl PostgresSource {
    /// Connects to the server `url` names. A server that cannot be reached, a refused login
    /// and a missing database are [`SourceError::Connection`]s that say which, with the URL
    /// redacted.
    pub async fn connect(url: &str, types: TypePolicy) -> Result<PostgresSource, SourceError> {
        let config = connect::config(url)?;
        let redacted = grafter_model::redact_url(url);
        let client = connect::connect(&config, &redacted, connect::Stage::Open).await?;
        Ok(PostgresSource {
            config,
            url: redacted,
            types,
            transfer: Transfer::default(),
            client: tokio::sync::Mutex::new(Arc::new(client)),
        })
    }

    /// Chooses how scans move rows (for benchmarks; the default is the fastest).
    #[doc(hidden)]
    pub fn with_transfer(mut self, transfer: Transfer) -> PostgresSource {
        self.transfer = transfer;
        self
    }

    /// The metadata connection, connecting again if it was lost.
    async fn client(&self) -> Result<Arc<Client>, SourceError> {
        let mut client = self.client.lock().await;
        if client.is_closed() {
            tracing::debug!("PostgreSQL metadata connection was lost; connecting again");
            *client = Arc::new(self.open_connection(connect::Stage::Again).await?);
        }
        Ok(client.clone())
    }

    /// A new connection (for a scan).
    async fn open_connection(&self, stage: connect::Stage) -> Result<Client, SourceError> {
        connect::connect(&self.config, &self.url, stage).await
    }

    /// A failed statement of `read` as a [`SourceError`] (see [`connect::query_error`]).
    fn query_error(&self, error: &tokio_postgres::Error, read: &Read, statement: &str) -> SourceError {
        connect::query_error(error, &self.url, read, statement)
    }
}

#[async_trait]
impl Source for PostgresSource {
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        let client = self.client().await?;
        let described = describe::describe(self, &client, read).await?;
        Ok(described.columns.into_iter().map(|c| c.column).collect())
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        let Read::Table(table) = read else { return Ok(None) };
        let client = self.client().await?;
        let relation = describe::resolve(self, &client, table).await?;
        let key = describe::primary_key(&client, &relation).await.map_err(|e| self.query_error(&e, read, ""))?;
        Ok((!key.is_empty()).then_some(key))
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        let client = self.client().await?;
        scan::count(self, &client, request).await.map(Some)
    }

    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError> {
        let client = self.client().await?;
        scan::scan(self, &client, request, self.transfer).await
    }

    async fn split(&self, read: &Read, key: &[String], parts: usize) -> Result<Vec<KeyRange>, SourceError> {
        let client = self.client().await?;
        scan::split(self, &client, read, key, parts).await
    }

    async fn max_key(&self, read: &Read, key: &[String]) -> Result<Option<Vec<Value>>, SourceError> {
        let client = self.client().await?;
        scan::max_key(self, &client, read, key).await
    }

    async fn introspect(&self) -> Result<Catalog, SourceError> {
        let client = self.client().await?;
        introspect::catalog(&client).await.map_err(|e| {
            if connect::is_transient(&e) {
                self.query_error(&e, &Read::Query("introspection".into()), "")
            } else {
                SourceError::Driver { source_url: self.url.clone(), message: format!("reading the catalog: {e}") }
            }
        })
    }
}
