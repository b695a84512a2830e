//! What an open PostgreSQL source holds — its connection settings, the redacted URL, the
//! metadata connection — and how it quotes names. The connector's other files read it; it
//! reads none of them.

use std::sync::Arc;

use grafter_model::TypePolicy;
use tokio_postgres::Client;

/// How rows travel from the server to grafter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transfer {
    /// `COPY (SELECT …) TO STDOUT (FORMAT binary)`, keys passed as session settings
    /// (the default: the fastest, see the module docs).
    #[default]
    Copy,
    /// The `SELECT` itself with bound parameters, rows streamed in binary from an unnamed
    /// portal. What reads of rows by key use whatever is chosen (their values would not
    /// fit in session settings); otherwise kept for comparison in the benchmark.
    Portal,
}

/// A PostgreSQL database opened as a source.
pub struct PostgresSource {
    /// Connection settings, password included (never printed: see the `Debug` impl).
    pub(super) config: tokio_postgres::Config,
    /// The URL with its password redacted: what messages show.
    pub(super) url: String,
    pub(super) types: TypePolicy,
    pub(super) transfer: Transfer,
    /// The metadata connection, replaced when it was lost.
    pub(super) client: tokio::sync::Mutex<Arc<Client>>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("url", &self.url)
            .field("types", &self.types)
            .field("transfer", &self.transfer)
            .finish_non_exhaustive()
    }
}

/// Quotes an identifier for PostgreSQL: double quotes, doubled inside.
pub(super) use crate::sql::double_quoted as quote_ident;
