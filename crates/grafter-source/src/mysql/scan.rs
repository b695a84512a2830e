//! Describing, counting, splitting and streaming one read of a MySQL / MariaDB database.
//!
//! A scan is one server-side prepared statement whose rows are read one at a time as the
//! server sends them (the driver's `exec_iter`: an unbuffered result), converted, and handed
//! on in batches through a small bounded channel, so memory stays flat whatever the table's
//! size and the server is held back (by TCP) while the engine is behind. Every value in the
//! SQL — cursor keys, range bounds, offsets — is a parameter; only validated names (backtick
//! quoted) and the user's own query text are spliced.
//!
//! Keyed scans continue after a key with `k1 >= ? AND (k1 > ? OR (k1 = ? AND k2 > ?))`
//! rather than the row comparison `(k1, k2) > (?, ?)`: both servers accept the latter, but
//! MariaDB's optimizer does not turn a row comparison into an index range (it reads the
//! table from the start and filters), and MySQL 8 only partly; the leading `k1 >= ?` always
//! gives an index range on the first key column.

use std::sync::Arc;

use futures::StreamExt as _;
use grafter_model::{Batch, Column, Cursor, LogicalType, SourceRow, TypePolicy, Value};
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, Params, Value as My};
use tokio::sync::{mpsc, oneshot};

use super::connect::{server_code, statement_error};
use super::convert::{self, Conversion, convert};
use super::introspect;
use super::state::{MysqlSource, quote_ident};
use crate::{BatchStream, Filter, KeyRange, Read, ScanRequest, SourceError};

/// Batches in flight between a scan's reader task and the engine: what keeps memory flat.
const IN_FLIGHT: usize = 4;

/// ER_NO_SUCH_TABLE: the table a read names does not exist (checked again at scan time, as
/// `information_schema` and a case-sensitive server may disagree about a name's case).
const NO_SUCH_TABLE: u16 = 1146;

/// The columns of a table, view or query.
///
/// Tables are described by `information_schema` (declared types such as `decimal(10,2)`,
/// nullability, MariaDB's JSON check); queries by the server's own description of the
/// prepared statement, without running it.
pub(super) async fn columns(
    source: &MysqlSource,
    connection: &mut Conn,
    read: &Read,
) -> Result<Vec<Column>, SourceError> {
    match read {
        Read::Table(table) => {
            let columns = introspect::table_columns(source, connection, &source.database, table).await?;
            if columns.is_empty() {
                return Err(unknown_table(source, connection, table).await);
            }
            Ok(columns)
        }
        Read::Query(_) => query_columns(source, connection, read).await,
    }
}

/// [`SourceError::UnknownTable`], with the nearest existing table as a suggestion.
async fn unknown_table(source: &MysqlSource, connection: &mut Conn, table: &str) -> SourceError {
    let names = introspect::table_names(connection, &source.database).await.unwrap_or_default();
    SourceError::UnknownTable {
        table: table.to_owned(),
        source_url: source.describe_url(),
        suggestion: crate::suggest(table, names.iter().map(String::as_str)),
    }
}

async fn query_columns(source: &MysqlSource, connection: &mut Conn, read: &Read) -> Result<Vec<Column>, SourceError> {
    let Read::Query(sql) = read else { unreachable!("called for queries only") };
    let statement = connection
        .prep(format!("SELECT * FROM {}", from_clause(read)))
        .await
        .map_err(|e| statement_error(source, read, e))?;
    let described = statement.columns().to_vec();
    let _ = connection.close(statement).await;
    // MariaDB's JSON columns are text on the wire; only `information_schema` knows them. A
    // derived table hides the base columns, so the query is described once more on its own
    // to learn where its text columns come from (skipped when it has none).
    let mut json = vec![false; described.len()];
    let may_be_json = described
        .iter()
        .any(|c| Conversion::of(c, true) == Conversion::Json && Conversion::of(c, false) == Conversion::Text);
    if may_be_json && let Ok(statement) = connection.prep(sql.trim().trim_end_matches(';')).await {
        let origins: Vec<(String, String, String)> = statement
            .columns()
            .iter()
            .map(|c| (c.schema_str().into_owned(), c.org_table_str().into_owned(), c.org_name_str().into_owned()))
            .collect();
        let _ = connection.close(statement).await;
        if origins.len() == described.len() {
            for (index, (schema, table, column)) in origins.iter().enumerate() {
                if !table.is_empty() && !schema.is_empty() {
                    json[index] = introspect::table_columns(source, connection, schema, table)
                        .await
                        .map(|columns| columns.iter().any(|c| &c.name == column && c.logical_type == LogicalType::Json))
                        .unwrap_or(false);
                }
            }
        }
    }
    Ok(described
        .iter()
        .zip(json)
        .map(|(column, json)| {
            let (logical_type, declared) = convert::describe(column, json);
            Column { name: column.name_str().into_owned(), logical_type, declared_type: Some(declared), nullable: None }
        })
        .collect())
}

/// Fails with [`SourceError::UnknownColumn`] when `request` reads a column not `available`.
fn check_columns(source: &MysqlSource, request: &ScanRequest, available: &[Column]) -> Result<(), SourceError> {
    let names: Vec<&str> = available.iter().map(|c| c.name.as_str()).collect();
    crate::sql::check_columns(&request.read, &names, crate::sql::requested_columns(request), &|| source.describe_url())
}

/// `FROM` target of a read: a quoted table, or the query as a derived table.
fn from_clause(read: &Read) -> String {
    crate::sql::from_clause(read, quote_ident)
}

/// A `WHERE` clause under construction: conditions and, in the same order as their
/// placeholders, the parameters.
#[derive(Default)]
struct Conditions {
    conditions: Vec<String>,
    parameters: Vec<My>,
}

impl Conditions {
    /// Rows whose key is greater than `values` (`lower`) or at most `values` (upper).
    fn key_bound(&mut self, keys: &[&Column], values: &[Value], lower: bool) {
        // `k1 > ? OR (k1 = ? AND (k2 > ? OR (k2 = ? AND (k3 > ?))))`, led by `k1 >= ?`, which
        // alone gives the server an index range (the rest is exact).
        let mut sql = String::new();
        if keys.len() > 1 {
            let mark = self.placeholder(keys[0], &values[0]);
            sql.push_str(&format!("{} {} {mark} AND (", quote_ident(&keys[0].name), if lower { ">=" } else { "<=" }));
        }
        let mut closing = String::new();
        for (index, key) in keys.iter().enumerate() {
            let last = index + 1 == keys.len();
            let name = quote_ident(&key.name);
            let operator = match (lower, last) {
                (true, _) => ">",
                (false, true) => "<=",
                (false, false) => "<",
            };
            let mark = self.placeholder(key, &values[index]);
            sql.push_str(&format!("{name} {operator} {mark}"));
            if !last {
                let mark = self.placeholder(key, &values[index]);
                sql.push_str(&format!(" OR ({name} = {mark} AND ("));
                closing.push_str("))");
            }
        }
        sql.push_str(&closing);
        if keys.len() > 1 {
            sql.push(')');
        }
        self.conditions.push(sql);
    }

    fn placeholder(&mut self, key: &Column, value: &Value) -> String {
        let declared = key.declared_type.as_deref().unwrap_or("");
        self.parameters.push(convert::parameter(value, key.logical_type, declared));
        convert::placeholder(key.logical_type, declared)
    }

    /// The condition of one [`Filter`]; `keys` are the `order_by` columns a `KeyIn` lists.
    fn filter(&mut self, filter: &Filter, available: &[Column], keys: &[&Column]) -> Result<(), String> {
        let column =
            |name: &String| available.iter().find(|c| &c.name == name).ok_or_else(|| format!("no column `{name}`"));
        let keys = || Ok(keys.iter().map(|c| (c.name.as_str(), *c)).collect());
        let condition = crate::sql::filter_condition(filter, quote_ident, &column, &keys, &mut |c: &Column, value| {
            self.placeholder(c, value)
        })?;
        self.conditions.push(condition);
        Ok(())
    }

    fn skip_nulls(&mut self, columns: &[String]) {
        self.conditions.extend(columns.iter().map(|c| format!("{} IS NOT NULL", quote_ident(c))));
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() { String::new() } else { format!(" WHERE {}", self.conditions.join(" AND ")) }
    }
}

/// The conditions that keep a read inside `range`, starting after `lower` when given (a
/// cursor), else after the range's own lower bound; plus the skipped NULLs.
fn conditions(
    source: &MysqlSource,
    request: &ScanRequest,
    available: &[Column],
    lower: Option<&Vec<Value>>,
) -> Result<Conditions, SourceError> {
    let keys: Vec<&Column> = request.order_by.iter().filter_map(|k| available.iter().find(|c| &c.name == k)).collect();
    let mut conditions = Conditions::default();
    for (bound, is_lower) in [(lower.or(request.range.after.as_ref()), true), (request.range.up_to.as_ref(), false)] {
        if let Some(values) = bound {
            if values.len() != keys.len() || keys.is_empty() {
                return Err(SourceError::Driver {
                    source_url: source.describe_url(),
                    message: format!(
                        "{}: a key position has {} values but the read is ordered by {} columns ({})",
                        request.read,
                        values.len(),
                        keys.len(),
                        request.order_by.join(", ")
                    ),
                });
            }
            conditions.key_bound(&keys, values, is_lower);
        }
    }
    conditions.skip_nulls(&request.skip_null);
    for filter in &request.filters {
        conditions.filter(filter, available, &keys).map_err(|message| SourceError::Driver {
            source_url: source.describe_url(),
            message: format!("{}: {message}", request.read),
        })?;
    }
    Ok(conditions)
}

/// Rows a scan of `request` from the start yields (within its range).
pub(super) async fn count(
    source: &MysqlSource,
    connection: &mut Conn,
    request: &ScanRequest,
) -> Result<u64, SourceError> {
    let available = columns(source, connection, &request.read).await?;
    check_columns(source, request, &available)?;
    let conditions = conditions(source, request, &available, None)?;
    let sql = format!("SELECT COUNT(*) FROM {}{}", from_clause(&request.read), conditions.where_clause());
    let count: Option<u64> = connection
        .exec_first(sql, Params::Positional(conditions.parameters))
        .await
        .map_err(|e| read_error(source, &request.read, e))?;
    Ok(count.unwrap_or(0))
}

/// The greatest values of `key` (in order, NULLs left out) among the rows of `read`.
pub(super) async fn max_key(
    source: &MysqlSource,
    connection: &mut Conn,
    read: &Read,
    key: &[String],
) -> Result<Option<Vec<Value>>, SourceError> {
    check_key(source, connection, read, key).await?;
    let quoted: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
    let sql =
        format!("SELECT {} FROM {}{}", quoted.join(", "), from_clause(read), crate::sql::greatest_key_clauses(&quoted));
    key_row(source, connection, read, &sql, Params::Empty).await
}

/// Checks that `read` has the columns of `key`.
async fn check_key(
    source: &MysqlSource,
    connection: &mut Conn,
    read: &Read,
    key: &[String],
) -> Result<(), SourceError> {
    let available = columns(source, connection, read).await?;
    let probe = ScanRequest {
        read: read.clone(),
        columns: Vec::new(),
        skip_null: Vec::new(),
        order_by: key.to_vec(),
        after: Cursor::Start,
        batch_size: 1,
        range: KeyRange::all(),
        filters: Vec::new(),
    };
    check_columns(source, &probe, &available)
}

/// The first row of a query that selects key columns, decoded; `None` when it has none.
async fn key_row(
    source: &MysqlSource,
    connection: &mut Conn,
    read: &Read,
    sql: &str,
    params: Params,
) -> Result<Option<Vec<Value>>, SourceError> {
    let mut result = connection.exec_iter(sql, params).await.map_err(|e| read_error(source, read, e))?;
    let conversions: Vec<Conversion> =
        result.columns().map(|columns| columns.iter().map(|c| Conversion::of(c, false)).collect()).unwrap_or_default();
    let row = result.next().await.map_err(|e| read_error(source, read, e))?;
    result.drop_result().await.map_err(|e| read_error(source, read, e))?;
    Ok(row.map(|row| {
        row.unwrap_raw()
            .into_iter()
            .zip(&conversions)
            .map(|(cell, conversion)| {
                convert(cell.unwrap_or(My::NULL), *conversion, &source.types, true)
                    .unwrap_or_else(|rejected| rejected.stored)
            })
            .collect()
    }))
}

/// Consecutive key ranges of about equal size: the boundary keys sit at every
/// `rows / parts`-th row in key order (found by the server with `LIMIT 1 OFFSET ?`, so only
/// the boundary rows travel).
pub(super) async fn split(
    source: &MysqlSource,
    connection: &mut Conn,
    read: &Read,
    key: &[String],
    parts: usize,
) -> Result<Vec<KeyRange>, SourceError> {
    check_key(source, connection, read, key).await?;
    let from = from_clause(read);
    let rows: Option<u64> = connection
        .exec_first(format!("SELECT COUNT(*) FROM {from}"), ())
        .await
        .map_err(|e| read_error(source, read, e))?;
    let rows = rows.unwrap_or(0);
    let parts = parts.max(1).min(usize::try_from(rows.max(1)).unwrap_or(usize::MAX)) as u64;
    let keys = key.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {keys} FROM {from} ORDER BY {keys} LIMIT 1 OFFSET ?");
    let mut ranges = Vec::with_capacity(parts as usize);
    let mut previous: Option<Vec<Value>> = None;
    for part in 1..parts {
        let offset = rows * part / parts - 1;
        let row = key_row(source, connection, read, &sql, Params::Positional(vec![My::UInt(offset)])).await?;
        // Rows deleted since the count: the remaining ranges would be empty anyway.
        let Some(boundary) = row else { break };
        ranges.push(KeyRange { after: previous.take(), up_to: Some(boundary.clone()) });
        previous = Some(boundary);
    }
    ranges.push(KeyRange { after: previous, up_to: None });
    Ok(ranges)
}

/// An error of a statement reading `read`: a table that vanished (or differs in case) is
/// [`SourceError::UnknownTable`]; the rest as [`statement_error`] classifies it.
fn read_error(source: &MysqlSource, read: &Read, error: mysql_async::Error) -> SourceError {
    match (read, server_code(&error)) {
        (Read::Table(table), Some(NO_SUCH_TABLE)) => {
            SourceError::UnknownTable { table: table.clone(), source_url: source.describe_url(), suggestion: None }
        }
        _ => statement_error(source, read, error),
    }
}

/// What a scan's reader task needs to know, decided before it starts.
struct ScanPlan {
    sql: String,
    parameters: Vec<My>,
    /// Selected columns: the requested ones, then key columns not requested (needed for the
    /// cursor, cut off before rows are handed on).
    selected: Vec<String>,
    /// Position in `selected` of each key column, in key order.
    key_positions: Vec<usize>,
    /// Whether each selected column's values are read as JSON (from introspection).
    json: Vec<bool>,
    /// Rows consumed before this scan (unkeyed resumes).
    rows_before: u64,
    /// The requested columns, as batches describe them.
    columns: Arc<[Column]>,
}

fn plan(source: &MysqlSource, request: &ScanRequest, available: &[Column]) -> Result<ScanPlan, SourceError> {
    let mut selected = request.columns.clone();
    selected.extend(request.order_by.iter().filter(|k| !request.columns.contains(k)).cloned());
    let key_positions: Vec<usize> =
        request.order_by.iter().filter_map(|k| selected.iter().position(|c| c == k)).collect();
    let find = |name: &String| available.iter().find(|c| &c.name == name);
    let json = selected.iter().map(|name| find(name).is_some_and(|c| c.logical_type == LogicalType::Json)).collect();
    let columns: Arc<[Column]> = request.columns.iter().filter_map(find).cloned().collect();

    let mut rows_before = 0;
    let lower = match (&request.after, request.order_by.is_empty()) {
        (Cursor::Key(last), false) => Some(last),
        (Cursor::Rows { rows, .. }, _) => {
            rows_before = *rows;
            None
        }
        (Cursor::Start, _) => None,
        (Cursor::Key(_), true) => {
            return Err(SourceError::Driver {
                source_url: source.describe_url(),
                message: format!("{}: a key cursor was stored but the read has no key to order by", request.read),
            });
        }
    };
    let mut conditions = conditions(source, request, available, lower)?;
    let select_list = if selected.is_empty() {
        // A read of no columns still has rows (to count them).
        "1".to_owned()
    } else {
        selected.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
    };
    let mut sql = format!("SELECT {select_list} FROM {}{}", from_clause(&request.read), conditions.where_clause());
    if !request.order_by.is_empty() {
        let keys: Vec<String> = request.order_by.iter().map(|k| quote_ident(k)).collect();
        sql.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    } else if rows_before > 0 {
        // MySQL has no OFFSET without LIMIT; this LIMIT is its documented "all rows".
        sql.push_str(" LIMIT 18446744073709551615 OFFSET ?");
        conditions.parameters.push(My::UInt(rows_before));
    }
    Ok(ScanPlan { sql, parameters: conditions.parameters, selected, key_positions, json, rows_before, columns })
}

/// Starts streaming `request` on `connection`. Errors that happen before the first row (an
/// unknown table or column, a query the server refuses) are errors of this call; later ones
/// are the stream's last item.
///
/// Two tasks share the work, so that reading the socket and converting rows overlap (on two
/// cores the server, the driver and the conversion otherwise take turns, and the server waits
/// whenever a row is being converted): the *reader* owns the connection and only drains the
/// server's rows into small chunks; the *converter* turns chunks into batches. Both channels
/// are bounded, so memory stays flat and a slow consumer holds the server back.
pub(super) async fn stream(
    source: &MysqlSource,
    mut connection: Conn,
    request: ScanRequest,
) -> Result<BatchStream, SourceError> {
    let available = columns(source, &mut connection, &request.read).await?;
    check_columns(source, &request, &available)?;
    let plan = plan(source, &request, &available)?;
    tracing::debug!(read = %request.read, sql = %plan.sql, "mysql scan");

    let (started_tx, started_rx) = oneshot::channel();
    let (chunk_tx, chunk_rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let reader = Reader { source: source.clone(), read: request.read.clone() };
    let reader_task =
        tokio::spawn(reader.run(connection, plan.sql.clone(), plan.parameters.clone(), started_tx, chunk_tx));
    let metadata = match started_rx.await {
        Ok(Ok(metadata)) => metadata,
        Ok(Err(error)) => return Err(error),
        // The task ended without a word: it panicked; say so rather than yield no rows.
        Err(_) => return Err(task_failed(source, "before the first row", reader_task.await.err())),
    };
    let conversions: Vec<Conversion> =
        metadata.iter().zip(&plan.json).map(|(column, json)| Conversion::of(column, *json)).collect();
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let rows = Arc::new(RowConverter::new(&plan, conversions, source.types));
    let converter = Converter { batch_size: request.batch_size.max(1), plan, rows, source_url: source.describe_url() };
    let converter_task = tokio::spawn(converter.run(chunk_rx, tx));
    let source_url = source.describe_url();
    Ok(futures::stream::unfold((rx, Some(converter_task), source_url), |(mut rx, task, source_url)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, task, source_url)));
        }
        // The channel closed: the end of the data, or a converter that panicked mid-way
        // (which must not look like the end of the data).
        match task?.await {
            Ok(()) => None,
            Err(failure) => Some((
                Err(SourceError::Driver {
                    source_url: source_url.clone(),
                    message: format!("the scan's converter failed before the end of the data: {failure}"),
                }),
                (rx, None, source_url),
            )),
        }
    })
    .boxed())
}

fn task_failed(source: &MysqlSource, when: &str, failure: Option<tokio::task::JoinError>) -> SourceError {
    SourceError::Driver {
        source_url: source.describe_url(),
        message: match failure {
            Some(failure) => format!("the scan's reader failed {when}: {failure}"),
            None => format!("the scan's reader stopped {when}"),
        },
    }
}

/// Rows per chunk handed from the reader to the converter: small enough to keep both busy,
/// large enough that the hand-over costs nothing per row.
const CHUNK_ROWS: usize = 256;

/// Chunks in flight between reader and converter.
const CHUNKS_IN_FLIGHT: usize = 16;

/// What the reader hands the converter.
enum Chunk {
    /// Rows as the driver read them.
    Rows(Vec<mysql_async::Row>),
    /// The result ended normally: no more rows.
    End,
    /// The server or the connection failed after the rows sent before.
    Failed(SourceError),
}

/// The task that owns a scan's connection: runs the statement and drains its rows.
struct Reader {
    source: MysqlSource,
    read: Read,
}

impl Reader {
    async fn run(
        self,
        mut connection: Conn,
        sql: String,
        parameters: Vec<My>,
        started: oneshot::Sender<Result<Arc<[mysql_async::Column]>, SourceError>>,
        chunks: mpsc::Sender<Chunk>,
    ) {
        let connection_id = connection.id();
        let mut result = match connection.exec_iter(sql.as_str(), Params::Positional(parameters)).await {
            Ok(result) => result,
            Err(error) => {
                let _ = started.send(Err(read_error(&self.source, &self.read, error)));
                return;
            }
        };
        let metadata = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
        if started.send(Ok(metadata)).is_err() {
            return;
        }
        let abandoned = loop {
            let mut chunk = Vec::with_capacity(CHUNK_ROWS);
            let last = loop {
                match result.next().await {
                    Ok(Some(row)) => {
                        chunk.push(row);
                        if chunk.len() == CHUNK_ROWS {
                            break None;
                        }
                    }
                    Ok(None) => break Some(Chunk::End),
                    Err(error) => break Some(Chunk::Failed(read_error(&self.source, &self.read, error))),
                }
            };
            if !chunk.is_empty() && chunks.send(Chunk::Rows(chunk)).await.is_err() {
                break last.is_none();
            }
            if let Some(last) = last {
                let _ = chunks.send(last).await;
                break false;
            }
        };
        drop(result);
        if abandoned {
            // The stream was dropped mid-read. Dropping the connection would make the driver
            // read the rest of the result first (to leave the connection clean), which for a
            // big table means reading it all; end the server's side instead.
            abandon(&self.source, connection_id).await;
        }
        drop(connection);
    }
}

/// The task that turns the reader's rows into batches: chunks are converted by tasks of
/// their own, up to [`CONVERTING`] at once (conversion, JSON parsing above all, is the costly
/// part of a scan, and a second core halves it), and put back in order here.
struct Converter {
    batch_size: usize,
    plan: ScanPlan,
    rows: Arc<RowConverter>,
    source_url: String,
}

/// Chunks converted at the same time.
const CONVERTING: usize = 2;

type Sender = mpsc::Sender<Result<Batch, SourceError>>;

/// A converted row, with its key when it was rejected (a rejected row keeps no values, but
/// may be the last of a batch, whose key is the batch's cursor).
type Converted = (SourceRow, Option<Vec<Value>>);

impl Converter {
    async fn run(self, chunks: mpsc::Receiver<Chunk>, tx: Sender) {
        let rows = self.rows.clone();
        let source_url = self.source_url.clone();
        let chunks =
            futures::stream::unfold(chunks, |mut chunks| async move { chunks.recv().await.map(|c| (c, chunks)) });
        let converted = chunks
            .map(move |chunk| {
                let (rows, source_url) = (rows.clone(), source_url.clone());
                async move {
                    match chunk {
                        Chunk::Rows(chunk) => match tokio::spawn(async move { rows.convert(chunk) }).await {
                            Ok(converted) => Ok(Some(converted)),
                            Err(failure) => Err(SourceError::Driver {
                                source_url,
                                message: format!("converting rows failed: {failure}"),
                            }),
                        },
                        Chunk::End => Ok(None),
                        Chunk::Failed(error) => Err(error),
                    }
                }
            })
            .buffered(CONVERTING);
        let mut converted = std::pin::pin!(converted);

        let plan = &self.plan;
        let trim = plan.selected.len() > plan.columns.len();
        let mut batch: Vec<SourceRow> = Vec::with_capacity(self.batch_size);
        let mut rejected_key: Option<Vec<Value>> = None;
        let mut line = plan.rows_before;
        let mut ended = false;
        while let Some(item) = converted.next().await {
            let chunk = match item {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(error) => {
                    // Rows read before the failure are delivered first: their cursor is where
                    // a retry continues.
                    if !batch.is_empty() {
                        let full = self.finish(std::mem::take(&mut batch), rejected_key.take(), line, trim);
                        if tx.send(Ok(full)).await.is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Err(error)).await;
                    return;
                }
            };
            for (mut row, key) in chunk {
                line += 1;
                match &mut row {
                    SourceRow::Ok { line: at, .. } | SourceRow::Malformed { line: at, .. } => *at = line,
                }
                rejected_key = key;
                batch.push(row);
                if batch.len() == self.batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(self.batch_size));
                    let full = self.finish(full, rejected_key.take(), line, trim);
                    // A dropped stream: returning drops the chunk receiver, which stops the
                    // reader at its next chunk.
                    if tx.send(Ok(full)).await.is_err() {
                        return;
                    }
                }
            }
        }
        if !ended {
            // The reader went away without saying the result ended: it panicked.
            let message = "the scan's reader failed before the end of the data".to_owned();
            let _ = tx.send(Err(SourceError::Driver { source_url: self.source_url.clone(), message })).await;
            return;
        }
        if !batch.is_empty() {
            let full = self.finish(batch, rejected_key.take(), line, trim);
            let _ = tx.send(Ok(full)).await;
        }
    }

    /// A batch of `rows` with its cursor; key columns the caller did not ask for are cut off
    /// here, after the cursor has been read from the last row.
    fn finish(&self, mut rows: Vec<SourceRow>, rejected_key: Option<Vec<Value>>, line: u64, trim: bool) -> Batch {
        let plan = &self.plan;
        let cursor_after = if plan.key_positions.is_empty() {
            Cursor::Rows { rows: line, byte_offset: None }
        } else {
            let key = rejected_key.or_else(|| match rows.last() {
                Some(SourceRow::Ok { values, .. }) => {
                    Some(plan.key_positions.iter().map(|&i| values.get(i).cloned().unwrap_or(Value::Null)).collect())
                }
                _ => None,
            });
            Cursor::Key(key.unwrap_or_default())
        };
        if trim {
            for row in &mut rows {
                if let SourceRow::Ok { values, .. } = row {
                    values.truncate(plan.columns.len());
                }
            }
        }
        Batch { columns: plan.columns.clone(), rows, cursor_after }
    }
}

/// Converts driver rows into source rows: one [`Conversion`] per selected column.
struct RowConverter {
    conversions: Vec<Conversion>,
    /// Whether each selected column is part of the key (zero dates there always reject).
    in_key: Vec<bool>,
    /// Selected column names, for reasons.
    selected: Vec<String>,
    /// How many of the selected columns were requested (the rest are extra key columns).
    requested: usize,
    key_positions: Vec<usize>,
    policy: TypePolicy,
}

impl RowConverter {
    fn new(plan: &ScanPlan, conversions: Vec<Conversion>, policy: TypePolicy) -> RowConverter {
        let mut in_key = vec![false; conversions.len()];
        for &position in &plan.key_positions {
            if let Some(flag) = in_key.get_mut(position) {
                *flag = true;
            }
        }
        RowConverter {
            conversions,
            in_key,
            selected: plan.selected.clone(),
            requested: plan.columns.len(),
            key_positions: plan.key_positions.clone(),
            policy,
        }
    }

    /// Rows converted in order, their line numbers still to be set.
    fn convert(&self, rows: Vec<mysql_async::Row>) -> Vec<Converted> {
        rows.into_iter().map(|row| self.convert_row(row)).collect()
    }

    fn convert_row(&self, row: mysql_async::Row) -> Converted {
        let mut values = Vec::with_capacity(self.conversions.len());
        let mut failure: Option<String> = None;
        for (index, (cell, conversion)) in row.unwrap_raw().into_iter().zip(&self.conversions).enumerate() {
            match convert(cell.unwrap_or(My::NULL), *conversion, &self.policy, self.in_key[index]) {
                Ok(value) => values.push(value),
                Err(rejected) => {
                    failure.get_or_insert_with(|| format!("column `{}`: {}", self.selected[index], rejected.reason));
                    values.push(rejected.stored);
                }
            }
        }
        match failure {
            None => (SourceRow::Ok { values, line: 0 }, None),
            Some(reason) => {
                let key = (!self.key_positions.is_empty()).then(|| {
                    self.key_positions.iter().map(|&i| values.get(i).cloned().unwrap_or(Value::Null)).collect()
                });
                let shown = self.requested.min(values.len());
                let raw = raw_text(&self.selected[..shown], &values[..shown]);
                (SourceRow::Malformed { raw, reason, line: 0 }, key)
            }
        }
    }
}

/// Ends the server's side of an abandoned scan with `KILL <connection>` from a second
/// connection (both servers let a user kill its own connections). Best effort: if it fails,
/// the driver reads the rest of the result, which only costs time.
async fn abandon(source: &MysqlSource, connection_id: u32) {
    match source.connection().await {
        Ok(mut killer) => {
            // The id is the server's own number for the connection, not data.
            if let Err(error) = killer.query_drop(format!("KILL {connection_id}")).await {
                tracing::debug!(%error, "could not stop an abandoned scan");
            }
            let _ = killer.disconnect().await;
        }
        Err(error) => tracing::debug!(%error, "could not stop an abandoned scan"),
    }
}

/// A row as a JSON object, for a rejected row's raw text.
fn raw_text(names: &[String], values: &[Value]) -> String {
    let object: serde_json::Map<String, serde_json::Value> =
        names.iter().zip(values).map(|(name, value)| (name.clone(), value.to_json())).collect();
    serde_json::Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Column {
        Column {
            name: name.into(),
            logical_type: LogicalType::Int,
            declared_type: Some("int".into()),
            nullable: Some(false),
        }
    }

    #[test]
    fn composite_key_bounds_lead_with_an_index_range() {
        let (a, b, c) = (key("a"), key("b"), key("c"));
        let mut conditions = Conditions::default();
        conditions.key_bound(&[&a, &b, &c], &[Value::Int(1), Value::Int(2), Value::Int(3)], true);
        assert_eq!(
            conditions.conditions[0],
            "`a` >= ? AND (`a` > ? OR (`a` = ? AND (`b` > ? OR (`b` = ? AND (`c` > ?)))))"
        );
        let bound: Vec<My> = [1, 1, 1, 2, 2, 3].into_iter().map(My::Int).collect();
        assert_eq!(conditions.parameters, bound);
    }

    #[test]
    fn single_key_bounds_are_plain_comparisons() {
        let a = key("a");
        let mut conditions = Conditions::default();
        conditions.key_bound(&[&a], &[Value::Int(5)], false);
        assert_eq!(conditions.conditions[0], "`a` <= ?");
    }
}
