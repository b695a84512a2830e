//! What an open SQLite source holds (its file and type policy) and how it quotes names.
//! The connector's other files read it; it reads none of them.

use std::path::PathBuf;

/// A SQLite database opened as a source.
#[derive(Debug, Clone)]
pub struct SqliteSource {
    pub(super) path: PathBuf,
    pub(super) types: grafter_model::TypePolicy,
}

/// Quotes an identifier for SQLite: double quotes, doubled inside.
pub(super) use crate::sql::double_quoted as quote_ident;
