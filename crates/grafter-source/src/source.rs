//! The [`Source`] trait and what a read asks of a source: [`Read`], [`ScanRequest`],
//! [`Filter`], the [`BatchStream`] it answers with. Every connector implements the trait
//! here; [`crate::open`] picks the connector a URL names. A leaf of the crate: it imports
//! nothing but the error.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
use grafter_model::{Batch, Catalog, Column, Cursor, KeyRange, SourceRow, Value};

use crate::SourceError;

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

/// The columns a request reads besides those it delivers: filtered columns.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
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
