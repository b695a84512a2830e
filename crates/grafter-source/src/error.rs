//! [`SourceError`]: everything that can go wrong reading a source, each naming the file,
//! table or column at fault and, where one helps, a hint.

/// An error reading a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The URL cannot be understood.
    #[error("source URL {url:?}: {reason}\n  hint: {hint}")]
    BadUrl {
        /// The URL (never containing a password for file sources).
        url: String,
        /// What is wrong.
        reason: String,
        /// How to fix it.
        hint: String,
    },
    /// A file or directory the source needs does not exist.
    #[error("{what} not found: {path}\n  hint: {hint}")]
    NotFound {
        /// What was looked for ("SQLite database", "CSV directory", …).
        what: String,
        /// Where.
        path: String,
        /// How to fix it.
        hint: String,
    },
    /// A read names a table the source does not have.
    #[error("table `{table}` not found in {source_url}{}", suggestion_text(.suggestion, "table"))]
    UnknownTable {
        /// The table as named.
        table: String,
        /// The source, described.
        source_url: String,
        /// The nearest existing table, if one is close.
        suggestion: Option<String>,
    },
    /// A read names a column the table or query does not have.
    #[error("column `{column}` not found in {read} of {source_url}{}\n  columns there: {available}", suggestion_text(.suggestion, "column"))]
    UnknownColumn {
        /// The column as named.
        column: String,
        /// The table or query, described.
        read: String,
        /// The source, described.
        source_url: String,
        /// The nearest existing column, if one is close.
        suggestion: Option<String>,
        /// All columns of the read, comma separated.
        available: String,
    },
    /// The database refused a query; `message` is the server's own text.
    #[error("{source_url}: {read} failed: {message}")]
    Query {
        /// The source, described.
        source_url: String,
        /// The table or query, described.
        read: String,
        /// The database's message.
        message: String,
    },
    /// The source cannot do this (e.g. SQL queries on CSV files).
    #[error("{source_url} does not support {what}")]
    Unsupported {
        /// The source, described.
        source_url: String,
        /// What was asked.
        what: String,
    },
    /// A connector that was not compiled in.
    #[error("source scheme `{scheme}:` is not built into this grafter (cargo feature `{scheme}`)")]
    NotBuiltIn {
        /// The scheme.
        scheme: String,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The connection to a database server could not be made or was lost.
    #[error("{source_url}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Connection {
        /// The source, password redacted.
        source_url: String,
        /// What happened.
        message: String,
        /// How to fix it, when a person must.
        hint: Option<String>,
        /// Whether trying again may help (a dropped connection), as opposed to a refusal
        /// that will not change (wrong password, missing database).
        transient: bool,
    },
    /// A value the policy does not allow (or a conversion that failed) in a row that
    /// otherwise was read; the engine rejects the row with this text.
    #[error("{0}")]
    Value(String),
    /// An archive source that is damaged, too new, or lacks what a mapping reads.
    #[cfg(feature = "archive")]
    #[error(transparent)]
    Archive(#[from] grafter_archive::ArchiveError),
    /// Something else the source's driver reported.
    #[error("{source_url}: {message}")]
    Driver {
        /// The source, described.
        source_url: String,
        /// The driver's message.
        message: String,
    },
}

impl SourceError {
    /// Whether the config names a source, table or column that is not there: like an
    /// unknown column in a mapping, it is the config's to fix, and nothing was read.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SourceError::BadUrl { .. }
                | SourceError::NotFound { .. }
                | SourceError::UnknownTable { .. }
                | SourceError::UnknownColumn { .. }
        )
    }

    /// Whether the failed operation may succeed if tried again from the last checkpoint: a
    /// lost connection, not a refused login or a bad query.
    pub fn is_transient(&self) -> bool {
        matches!(self, SourceError::Connection { transient: true, .. })
    }
}

fn suggestion_text(suggestion: &Option<String>, what: &str) -> String {
    match suggestion {
        Some(near) => format!("\n  hint: did you mean {what} `{near}`?"),
        None => String::new(),
    }
}
