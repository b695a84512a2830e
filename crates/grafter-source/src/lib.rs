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
use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
pub use grafter_model::KeyRange;
use grafter_model::{Batch, Catalog, Column, Cursor, SourceRow, Value};

mod blocking;
mod error;
#[cfg(any(feature = "csv", feature = "ndjson"))]
mod files;
#[cfg(feature = "ndjson")]
mod json;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod json_column;
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
pub use url::{SourceUrl, parse_url};

/// What a mapping reads: a table (or file) by name, or a SQL query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Read {
    /// A table; for file sources, the file `DIR/<name>.<ext>` (or `DIR/<name>` if it exists).
    Table(String),
    /// A SQL query (SQL sources only).
    Query(String),
}

impl std::fmt::Display for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Read::Table(name) => write!(f, "table `{name}`"),
            Read::Query(sql) => write!(f, "query `{}`", one_line(sql)),
        }
    }
}

/// A query shortened to one line for messages.
fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 { format!("{}…", flat.chars().take(79).collect::<String>()) } else { flat }
}

/// How to scan a read.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// What to read.
    pub read: Read,
    /// Columns to deliver, in this order. Every one must exist in the read.
    pub columns: Vec<String>,
    /// Rows where any of these columns is NULL are not read at all (SQL sources push this
    /// into `WHERE`, file sources skip such rows). Used for relationships: a row without a
    /// reference has no relationship to create.
    pub skip_null: Vec<String>,
    /// Order rows by this unique key and continue after a [`Cursor::Key`]. Empty: scan in
    /// the source's natural order and count rows ([`Cursor::Rows`]).
    pub order_by: Vec<String>,
    /// Continue after this position.
    pub after: Cursor,
    /// Rows per batch.
    pub batch_size: usize,
    /// Only rows whose `order_by` key lies in this range (a partition of a parallel read).
    pub range: KeyRange,
    /// Further conditions every row read must meet (SQL sources; file sources refuse them).
    pub filters: Vec<Filter>,
}

/// A condition on the rows of a scan, beyond its key range: how soft-deleted rows are left
/// out and how `grafter sync` reads only what changed. Values travel as parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Only rows where this column is NULL (rows marked deleted are left out).
    IsNull(String),
    /// Only rows where this column equals one of the values.
    OneOf(String, Vec<grafter_model::Value>),
    /// Only rows where this column is at least the value.
    AtLeast(String, grafter_model::Value),
    /// Only rows whose `order_by` key is one of these (each with one value per key column).
    KeyIn(Vec<Vec<grafter_model::Value>>),
}

impl Filter {
    /// The column the filter reads, if it names one (`KeyIn` reads the `order_by` key).
    pub fn column(&self) -> Option<&String> {
        match self {
            Filter::IsNull(column) | Filter::OneOf(column, _) | Filter::AtLeast(column, _) => Some(column),
            Filter::KeyIn(_) => None,
        }
    }
}

/// ` WHERE k1 IS NOT NULL AND … ORDER BY k1 DESC, … LIMIT 1`: what a SELECT of the key
/// columns (`quoted`, already quoted for the dialect) needs to return the greatest key.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) fn greatest_key_clauses(quoted: &[String]) -> String {
    format!(
        " WHERE {} ORDER BY {} LIMIT 1",
        quoted.iter().map(|k| format!("{k} IS NOT NULL")).collect::<Vec<_>>().join(" AND "),
        quoted.iter().map(|k| format!("{k} DESC")).collect::<Vec<_>>().join(", "),
    )
}

/// `(k1, k2) IN ((…, …), …)`: the rows whose key (columns `quoted`, already quoted for the
/// dialect) is one of `keys`, each value written by `mark(column position, value)` as a
/// placeholder. `keys` must not be empty (an empty list is each dialect's own `false`).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn key_in_condition(
    quoted: &[String],
    keys: &[Vec<Value>],
    mut mark: impl FnMut(usize, &Value) -> String,
) -> Result<String, String> {
    if quoted.is_empty() {
        return Err("rows chosen by key need a key to order by".into());
    }
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        if key.len() != quoted.len() {
            return Err(format!("a key has {} values but the key has {} columns", key.len(), quoted.len()));
        }
        let marks: Vec<String> = key.iter().enumerate().map(|(i, value)| mark(i, value)).collect();
        tuples.push(format!("({})", marks.join(", ")));
    }
    Ok(format!("({}) IN ({})", quoted.join(", "), tuples.join(", ")))
}

/// The columns a request reads besides those it delivers: filtered columns.
pub(crate) fn filter_columns(request: &ScanRequest) -> impl Iterator<Item = &String> {
    request.filters.iter().filter_map(Filter::column)
}

/// The refusal of file sources, which read every record in order and cannot filter.
#[cfg(any(feature = "csv", feature = "ndjson"))]
pub(crate) fn refuse_filters(source_url: String, request: &ScanRequest) -> Result<(), SourceError> {
    match request.filters.first() {
        None => Ok(()),
        Some(filter) => Err(SourceError::Unsupported {
            source_url,
            what: match filter {
                Filter::IsNull(column) => format!("`soft_delete = \"{column}\"` (a SQL source is needed)"),
                _ => "reading only the changed rows (grafter sync needs a SQL source)".into(),
            },
        }),
    }
}

/// A stream of batches; ends after the last row of the read.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<Batch, SourceError>> + Send>>;

/// A place rows come from.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's URL for people to read, with any password redacted.
    fn describe(&self) -> String;

    /// The columns of `read`. An unknown table or a query that does not compile is an error
    /// that names it.
    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError>;

    /// The unique key to order a scan of `read` by, so that a cursor can be a key: for tables,
    /// the primary key. `None` when there is none (queries, files): such scans count rows.
    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError>;

    /// How many rows a scan from the start would yield (for progress and ETA), if cheap to know.
    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError>;

    /// Streams the rows of `request`, in batches.
    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError>;

    /// Splits a read ordered by `key` into up to `parts` consecutive ranges of about equal
    /// size, for parallel reads. Sources that cannot split return the whole read.
    async fn split(&self, read: &Read, key: &[String], parts: usize) -> Result<Vec<KeyRange>, SourceError> {
        let _ = (read, key, parts);
        Ok(vec![KeyRange::all()])
    }

    /// The greatest values of `key`, compared column by column in order, among the rows of
    /// `read` whose key columns are all set; `None` when there are none. `grafter run` asks
    /// for the newest change before it reads, where `grafter sync` then starts.
    async fn max_key(&self, read: &Read, key: &[String]) -> Result<Option<Vec<Value>>, SourceError> {
        let _ = (read, key);
        Err(SourceError::Unsupported {
            source_url: self.describe(),
            what: "finding the newest change (grafter sync needs a SQL source)".into(),
        })
    }

    /// Describes the database's tables, keys and foreign keys (for `grafter init`).
    async fn introspect(&self) -> Result<Catalog, SourceError> {
        Err(SourceError::Unsupported { source_url: self.describe(), what: "introspection (init --from)".into() })
    }

    /// All rows of a SQL query, for checks that compare the graph with the source (small
    /// results: counts, lists of ids). Built on [`Source::columns`] and [`Source::scan`] of a
    /// [`Read::Query`], which every SQL source already answers, so a connector gets it without
    /// writing anything; file sources refuse queries there, and so here. A connector with a
    /// cheaper way (or one whose scan wraps queries in a way some SQL does not survive) may
    /// override it.
    async fn query_rows(&self, sql: &str) -> Result<QueryRows, SourceError> {
        use futures::StreamExt as _;
        let read = Read::Query(sql.to_owned());
        let columns: Vec<String> = self.columns(&read).await?.into_iter().map(|c| c.name).collect();
        let request = ScanRequest {
            read: read.clone(),
            columns: columns.clone(),
            skip_null: Vec::new(),
            order_by: Vec::new(),
            after: Cursor::Start,
            batch_size: 10_000,
            range: KeyRange::all(),
            filters: Vec::new(),
        };
        let mut stream = self.scan(request).await?;
        let mut rows = Vec::new();
        while let Some(batch) = stream.next().await {
            for row in batch?.rows {
                match row {
                    SourceRow::Ok { values, .. } => rows.push(values),
                    SourceRow::Malformed { reason, line, .. } => {
                        return Err(SourceError::Query {
                            source_url: self.describe(),
                            read: read.to_string(),
                            message: format!("row {line}: {reason}"),
                        });
                    }
                }
            }
        }
        Ok(QueryRows { columns, rows })
    }
}

/// The rows of a query: column names and one value per column per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryRows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<grafter_model::Value>>,
}

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
