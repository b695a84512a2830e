//! Counting, splitting and streaming one read of a PostgreSQL database.
//!
//! A scan runs on a connection of its own, so that a long stream never blocks the source's
//! metadata queries and parallel partitions each get their own. Rows travel as one
//! `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the server streams binary tuples without
//! per-row protocol overhead and [`super::copy`] parses them in place, so a row costs its
//! values and nothing else (the measurements are in the module docs of [`super`]). The scan
//! drives its own connection where the stream is polled ([`Reader`]), so memory stays flat:
//! while the engine is busy, nothing reads the socket and the server waits.
//!
//! `COPY` takes no parameters, and cursor and range keys are data that must never be
//! spliced into SQL. They are therefore set first as session settings by a parameterized
//! `SELECT set_config('grafter.pN', $1, false)`, and the `COPY`'s query reads them back as
//! `current_setting('grafter.pN')::<key type>` (a stable expression, so an index on the key
//! still serves the range). Counting and splitting use ordinary bound parameters.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures::StreamExt as _;
use grafter_model::{Batch, Column, Cursor, SourceRow, Value};
use tokio_postgres::Client;
use tokio_postgres::types::{FromSql, ToSql, Type};

use super::connect::{Driver, Stage, connect_undriven};
use super::convert::{Cast, Decoder, Policy, decode, lossy, plan};
use super::copy::CopyParser;
use super::describe::{Described, PgColumn, describe};
use super::params::{TextParam, type_name};
use super::state::quote_ident;
use super::state::{PostgresSource, Transfer};
use crate::{BatchStream, Filter, KeyRange, Read, ScanRequest, Source as _, SourceError};

/// How a statement refers to its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$n`, bound with the statement.
    Bind,
    /// `current_setting('grafter.pN')`, set beforehand (for `COPY`).
    Settings,
}

/// `WHERE` conditions and the parameters they use.
struct Conditions {
    style: Placeholders,
    conditions: Vec<String>,
    parameters: Vec<TextParam>,
}

impl Conditions {
    fn new(style: Placeholders) -> Conditions {
        Conditions { style, conditions: Vec::new(), parameters: Vec::new() }
    }

    /// A placeholder for `value` read as type `ty`.
    fn placeholder(&mut self, value: &Value, ty: &Type) -> String {
        self.parameters.push(TextParam::of(value));
        let n = self.parameters.len();
        match self.style {
            Placeholders::Bind => format!("${n}::{}", type_name(ty)),
            Placeholders::Settings => format!("pg_catalog.current_setting('grafter.p{n}')::{}", type_name(ty)),
        }
    }

    /// `(k1, k2) <operator> (v1, v2)`: row comparison, the order `ORDER BY k1, k2` scans in.
    fn key_bound(&mut self, keys: &[&PgColumn], values: &[Value], operator: &str) -> Result<(), String> {
        if values.len() != keys.len() {
            return Err(format!(
                "a key bound has {} values but the key ({}) has {} columns",
                values.len(),
                keys.iter().map(|k| k.column.name.as_str()).collect::<Vec<_>>().join(", "),
                keys.len()
            ));
        }
        if let Some(position) = values.iter().position(Value::is_null) {
            return Err(format!("a key bound has NULL for key column `{}`", keys[position].column.name));
        }
        let columns: Vec<String> = keys.iter().map(|k| quote_ident(&k.column.name)).collect();
        let placeholders: Vec<String> = keys.iter().zip(values).map(|(k, v)| self.placeholder(v, &k.ty)).collect();
        self.conditions.push(format!("({}) {operator} ({})", columns.join(", "), placeholders.join(", ")));
        Ok(())
    }

    /// The condition of one [`Filter`]; `order_by` is the key a `KeyIn` lists.
    fn filter(&mut self, described: &Described, filter: &Filter, order_by: &[String]) -> Result<(), String> {
        let column = |name: &String| described.column(name).ok_or_else(|| format!("no column `{name}`"));
        let keys = || order_by.iter().map(|name| column(name).map(|c| (c.column.name.as_str(), c))).collect();
        let condition =
            crate::sql::filter_condition(filter, quote_ident, &column, &keys, &mut |c: &PgColumn, value| {
                self.placeholder(value, &c.ty)
            })?;
        self.conditions.push(condition);
        Ok(())
    }

    /// The conditions as ` WHERE …`, or nothing.
    fn where_clause(&self) -> String {
        if self.conditions.is_empty() { String::new() } else { format!(" WHERE {}", self.conditions.join(" AND ")) }
    }

    fn parameter_refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.parameters.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

/// The conditions of `request`: rows with references only, within the key range, and after
/// `lower` (a cursor key) when given instead of the range's own lower bound.
fn conditions(
    source: &PostgresSource,
    described: &Described,
    request: &ScanRequest,
    lower: Option<&Vec<Value>>,
    style: Placeholders,
) -> Result<Conditions, SourceError> {
    let mut conditions = Conditions::new(style);
    for column in &request.skip_null {
        conditions.conditions.push(format!("{} IS NOT NULL", quote_ident(column)));
    }
    for filter in &request.filters {
        conditions.filter(described, filter, &request.order_by).map_err(|e| driver(source, &request.read, e))?;
    }
    let bounds = [(lower.or(request.range.after.as_ref()), ">"), (request.range.up_to.as_ref(), "<=")];
    if bounds.iter().any(|(bound, _)| bound.is_some()) {
        if request.order_by.is_empty() {
            return Err(driver(source, &request.read, "a key range or key cursor needs a key to order by".into()));
        }
        let keys = key_columns(described, &request.order_by);
        for (bound, operator) in bounds {
            if let Some(values) = bound {
                conditions.key_bound(&keys, values, operator).map_err(|e| driver(source, &request.read, e))?;
            }
        }
    }
    Ok(conditions)
}

/// The described columns of `key` (all checked to exist).
fn key_columns<'a>(described: &'a Described, key: &[String]) -> Vec<&'a PgColumn> {
    key.iter().filter_map(|name| described.column(name)).collect()
}

fn driver(source: &PostgresSource, read: &Read, message: String) -> SourceError {
    SourceError::Driver { source_url: source.describe(), message: format!("{read}: {message}") }
}

/// Fails with [`SourceError::UnknownColumn`] when `wanted` names a column the read lacks.
pub(super) fn check_columns<'a>(
    source: &PostgresSource,
    read: &Read,
    described: &Described,
    wanted: impl IntoIterator<Item = &'a String>,
) -> Result<(), SourceError> {
    let names: Vec<&str> = described.columns.iter().map(|c| c.column.name.as_str()).collect();
    crate::sql::check_columns(read, &names, wanted, &|| source.describe())
}

/// Rows a scan of `request` from the start yields (within its range).
pub(super) async fn count(source: &PostgresSource, client: &Client, request: &ScanRequest) -> Result<u64, SourceError> {
    let described = describe(source, client, &request.read).await?;
    check_columns(source, &request.read, &described, crate::sql::requested_columns(request))?;
    let conditions = conditions(source, &described, request, None, Placeholders::Bind)?;
    let sql = format!("SELECT count(*) FROM {}{}", described.from, conditions.where_clause());
    let row = client
        .query_one(&sql, &conditions.parameter_refs())
        .await
        .map_err(|e| source.query_error(&e, &request.read, &sql))?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

/// Consecutive key ranges of about equal size: the boundaries are the keys at every
/// `rows / parts`-th row in key order, found in one pass with `row_number()`.
pub(super) async fn split(
    source: &PostgresSource,
    client: &Client,
    read: &Read,
    key: &[String],
    parts: usize,
) -> Result<Vec<KeyRange>, SourceError> {
    let described = describe(source, client, read).await?;
    check_columns(source, read, &described, key)?;
    let count_sql = format!("SELECT count(*) FROM {}", described.from);
    let rows: i64 =
        client.query_one(&count_sql, &[]).await.map_err(|e| source.query_error(&e, read, &count_sql))?.get(0);
    let parts = parts.max(1).min(rows.max(1) as usize);
    if parts == 1 {
        return Ok(vec![KeyRange::all()]);
    }
    let positions: Vec<i64> = (1..parts as i64).map(|part| rows * part / parts as i64).collect();
    let keys = key_columns(&described, key);
    let quoted: Vec<String> = keys.iter().map(|k| quote_ident(&k.column.name)).collect();
    let decoders: Vec<(Decoder, Cast)> = keys.iter().map(|k| plan(&k.ty)).collect();
    let outer: Vec<String> =
        quoted.iter().zip(&decoders).map(|(k, (_, cast))| format!("{k}{}", cast.suffix())).collect();
    let sql = format!(
        "SELECT {outer} FROM (SELECT {inner}, row_number() OVER (ORDER BY {inner}) AS grafter_row FROM {from}) AS grafter_split \
         WHERE grafter_row = ANY ($1) ORDER BY grafter_row",
        outer = outer.join(", "),
        inner = quoted.join(", "),
        from = described.from,
    );
    let boundaries = client.query(&sql, &[&positions]).await.map_err(|e| source.query_error(&e, read, &sql))?;
    let mut ranges = Vec::with_capacity(parts);
    let mut previous: Option<Vec<Value>> = None;
    for row in boundaries {
        let boundary = decode_key_row(source, read, &sql, &row, &keys, &decoders, "split boundary")?;
        ranges.push(KeyRange { after: previous.take(), up_to: Some(boundary.clone()) });
        previous = Some(boundary);
    }
    ranges.push(KeyRange { after: previous, up_to: None });
    Ok(ranges)
}

/// The key values of a row that selected `keys` (with their casts), decoded.
fn decode_key_row(
    source: &PostgresSource,
    read: &Read,
    sql: &str,
    row: &tokio_postgres::Row,
    keys: &[&PgColumn],
    decoders: &[(Decoder, Cast)],
    what: &str,
) -> Result<Vec<Value>, SourceError> {
    let mut values = Vec::with_capacity(keys.len());
    for (index, (decoder, _)) in decoders.iter().enumerate() {
        let RawField(raw) = row.try_get(index).map_err(|e| source.query_error(&e, read, sql))?;
        let value = match raw {
            None => Value::Null,
            Some(raw) => decode(decoder, raw, Policy::keys()).map_err(|reason| {
                driver(source, read, format!("{what}, column `{}`: {reason}", keys[index].column.name))
            })?,
        };
        values.push(value);
    }
    Ok(values)
}

/// The greatest values of `key` (compared in order, NULLs left out) among the rows of `read`.
pub(super) async fn max_key(
    source: &PostgresSource,
    client: &Client,
    read: &Read,
    key: &[String],
) -> Result<Option<Vec<Value>>, SourceError> {
    let described = describe(source, client, read).await?;
    check_columns(source, read, &described, key)?;
    let keys = key_columns(&described, key);
    let decoders: Vec<(Decoder, Cast)> = keys.iter().map(|k| plan(&k.ty)).collect();
    let quoted: Vec<String> = keys.iter().map(|k| quote_ident(&k.column.name)).collect();
    let outer: Vec<String> =
        quoted.iter().zip(&decoders).map(|(k, (_, cast))| format!("{k}{}", cast.suffix())).collect();
    let sql =
        format!("SELECT {} FROM {}{}", outer.join(", "), described.from, crate::sql::greatest_key_clauses(&quoted));
    let rows = client.query(&sql, &[]).await.map_err(|e| source.query_error(&e, read, &sql))?;
    rows.first().map(|row| decode_key_row(source, read, &sql, row, &keys, &decoders, "greatest key")).transpose()
}

/// Starts streaming the rows of `request`. Problems with the read itself (unknown table or
/// column, a query the server rejects) are errors of this call; what happens later (a lost
/// connection, a failing expression in some row) ends the stream with an error.
pub(super) async fn scan(
    source: &PostgresSource,
    client: &Client,
    request: ScanRequest,
    transfer: Transfer,
) -> Result<BatchStream, SourceError> {
    let described = describe(source, client, &request.read).await?;
    check_columns(source, &request.read, &described, crate::sql::requested_columns(&request))?;
    let read = &request.read;

    // Key columns the caller did not ask for are selected anyway (to build the cursor) and
    // are not part of the rows handed on.
    let extra_key = request.order_by.iter().filter(|k| !request.columns.contains(k));
    let selected: Vec<&PgColumn> =
        request.columns.iter().chain(extra_key).filter_map(|name| described.column(name)).collect();
    let plans: Vec<(Decoder, Cast)> = selected.iter().map(|c| plan(&c.ty)).collect();

    // Where the scan starts: after the key cursor, or after as many rows as were counted.
    let (lower, rows_before) = match (&request.after, request.order_by.is_empty()) {
        (Cursor::Key(last), false) => (Some(last), 0),
        (Cursor::Key(_), true) => {
            return Err(driver(source, read, "a key cursor was stored but the read has no key to order by".into()));
        }
        (Cursor::Rows { rows, .. }, _) => (None, *rows),
        (Cursor::Start, _) => (None, 0),
    };
    // Rows fetched by key (sync reads back up to 1,000 changed rows at a time) go through a
    // bound statement: as session settings their key values would be one select-list item
    // each, and PostgreSQL takes at most 1,664 in one statement; before version 16 it also
    // re-sorts its whole table of settings for every new one (a batch of 1,000 keys cost
    // 80 ms of server time in each new connection). A fetch is short: COPY gains nothing.
    let transfer = if request.filters.iter().any(|f| matches!(f, Filter::KeyIn(_))) { Transfer::Portal } else { transfer };
    let style = match transfer {
        Transfer::Copy => Placeholders::Settings,
        Transfer::Portal => Placeholders::Bind,
    };
    let mut conditions = conditions(source, &described, &request, lower, style)?;
    let list: Vec<String> = selected
        .iter()
        .zip(&plans)
        .map(|(c, (_, cast))| format!("{}{}", quote_ident(&c.column.name), cast.suffix()))
        .collect();
    let mut select = format!("SELECT {} FROM {}{}", list.join(", "), described.from, conditions.where_clause());
    if !request.order_by.is_empty() {
        let keys: Vec<String> = request.order_by.iter().map(|k| quote_ident(k)).collect();
        select.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    }
    if rows_before > 0 {
        let offset = conditions.placeholder(&Value::Int(rows_before as i64), &Type::INT8);
        select.push_str(&format!(" OFFSET {offset}"));
    }

    let (connection, driver) = connect_undriven(&source.config, &source.url, Stage::Again).await?;
    let mut driver = Some(Box::pin(driver));
    if request.order_by.is_empty() {
        // An unkeyed scan resumes by counting rows, so the order must be the same every
        // time: no synchronized scans (which start wherever another scan is) and no
        // parallel workers (which interleave).
        let settings = "SET synchronize_seqscans = off; SET max_parallel_workers_per_gather = 0";
        driven(&mut driver, connection.batch_execute(settings))
            .await
            .map_err(|e| source.query_error(&e, read, settings))?;
    }

    let columns: Arc<[Column]> = selected[..request.columns.len()].iter().map(|c| c.column.clone()).collect();
    let key_positions: Vec<usize> =
        request.order_by.iter().filter_map(|k| selected.iter().position(|c| &c.column.name == k)).collect();
    let builder = RowBuilder {
        names: request.columns.clone(),
        decoders: plans.into_iter().map(|(decoder, _)| decoder).collect(),
        requested: request.columns.len(),
        key_positions,
        policy: Policy::rows(source.types),
        columns,
        batch_size: request.batch_size.max(1),
        batch: Vec::with_capacity(request.batch_size.max(1)),
        line: rows_before,
        key_bytes: Vec::new(),
        key_ranges: Vec::new(),
        source_url: source.describe(),
        read: read.clone(),
    };

    let rows = match transfer {
        Transfer::Copy => {
            if !conditions.parameters.is_empty() {
                let assignments: Vec<String> = (1..=conditions.parameters.len())
                    .map(|n| format!("pg_catalog.set_config('grafter.p{n}', ${n}, false)"))
                    .collect();
                let sql = format!("SELECT {}", assignments.join(", "));
                driven(&mut driver, connection.query(&sql, &conditions.parameter_refs()))
                    .await
                    .map_err(|e| source.query_error(&e, read, &sql))?;
            }
            let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
            let stream = driven(&mut driver, connection.copy_out(&copy))
                .await
                .map_err(|e| source.query_error(&e, read, &copy))?;
            Rows::Copy(Box::pin(stream), CopyParser::default())
        }
        Transfer::Portal => {
            let rows = driven(&mut driver, connection.query_raw(&select, conditions.parameter_refs()))
                .await
                .map_err(|e| source.query_error(&e, read, &select))?;
            Rows::Portal(Box::pin(rows))
        }
    };
    let reader =
        Reader { _connection: connection, driver, rows, builder, ready: VecDeque::new(), error: None, done: false };
    Ok(futures::stream::unfold(
        reader,
        |mut reader| async move { reader.next_batch().await.map(|item| (item, reader)) },
    )
    .boxed())
}

/// Where a scan's rows come from.
enum Rows {
    /// A binary COPY stream and its parser.
    Copy(Pin<Box<tokio_postgres::CopyOutStream>>, CopyParser),
    /// The rows of a bound statement.
    Portal(Pin<Box<tokio_postgres::RowStream>>),
}

/// The state of one scan's stream.
///
/// Everything happens where the stream is polled: the connection's driver reads the socket
/// and rows are decoded on the consumer's task, not on tasks of their own. Values are then
/// allocated on the thread that (usually) frees them, which keeps the allocator's thread
/// caches warm, no wake-ups pass between threads for every few rows, and no extra thread
/// competes with the server for the CPU (measured: see the module docs of [`super`]).
/// When the consumer is busy, nothing reads the socket and the server waits: that is the
/// flow control. Dropping the stream closes the connection, which ends the query on the
/// server.
struct Reader {
    /// The client whose statement is streaming (dropping it would end the stream).
    _connection: Client,
    /// The connection's driver, until it ends.
    driver: Option<Pin<Box<Driver>>>,
    rows: Rows,
    builder: RowBuilder,
    /// Full batches not yet handed on (a chunk of data may complete more than one).
    ready: VecDeque<Batch>,
    /// An error to hand on after the batches before it.
    error: Option<SourceError>,
    done: bool,
}

impl Reader {
    /// The next batch; `None` after the last one (or after an error).
    async fn next_batch(&mut self) -> Option<Result<Batch, SourceError>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                return Some(Ok(batch));
            }
            if let Some(error) = self.error.take() {
                return Some(Err(error));
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.read_more().await {
                self.error = Some(error);
                self.done = true;
            }
        }
    }

    /// Reads one chunk (or row) from the server into `ready`; at the end of the data, the
    /// last partial batch.
    async fn read_more(&mut self) -> Result<(), SourceError> {
        let builder = &mut self.builder;
        let ready = &mut self.ready;
        let driver = &mut self.driver;
        match &mut self.rows {
            Rows::Copy(stream, parser) => {
                let Some(chunk) = driven(driver, stream.next()).await else {
                    parser.finish().map_err(|reason| builder.locate(unreadable_copy(reason)))?;
                    return self.finish();
                };
                let chunk = chunk.map_err(|e| builder.error(&e))?;
                let width = builder.decoders.len();
                parser
                    .feed(
                        &chunk,
                        &mut |buffer: &[u8], fields: &[Option<Range<usize>>]| {
                            if fields.len() != width {
                                let reason = format!("a row has {} fields, expected {width}", fields.len());
                                return Err(unreadable_copy(reason));
                            }
                            if let Some(batch) = builder.push(|i| Ok(fields[i].clone().map(|range| &buffer[range])))? {
                                ready.push_back(batch);
                            }
                            Ok(())
                        },
                        unreadable_copy,
                    )
                    .map_err(|e| builder.locate(e))
            }
            Rows::Portal(rows) => {
                let Some(row) = driven(driver, rows.next()).await else { return self.finish() };
                let row = row.map_err(|e| builder.error(&e))?;
                let batch = builder.push(|i| {
                    row.try_get::<_, RawField<'_>>(i)
                        .map(|field| field.0)
                        .map_err(|e| SourceError::Driver { source_url: String::new(), message: e.to_string() })
                });
                if let Some(batch) = batch.map_err(|e| builder.locate(e))? {
                    ready.push_back(batch);
                }
                Ok(())
            }
        }
    }

    /// The end of the data: the last, partial batch.
    fn finish(&mut self) -> Result<(), SourceError> {
        self.done = true;
        if let Some(batch) = self.builder.finish()? {
            self.ready.push_back(batch);
        }
        Ok(())
    }
}

/// Runs `work` (a statement on the scan's connection) while driving that connection on the
/// same task: the driver first, so that what it reads is there when `work` looks.
async fn driven<T>(driver: &mut Option<Pin<Box<Driver>>>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        if let Some(connection) = driver.as_mut()
            && let Poll::Ready(ended) = connection.as_mut().poll(cx)
        {
            // A connection that ended makes `work` fail, with the reason in its error.
            if let Err(error) = ended {
                tracing::debug!("PostgreSQL scan connection ended: {error}");
            }
            *driver = None;
        }
        work.as_mut().poll(cx)
    })
    .await
}

/// COPY data that does not follow the binary format (the source and read are added by
/// [`RowBuilder::locate`]).
fn unreadable_copy(reason: String) -> SourceError {
    SourceError::Driver {
        source_url: String::new(),
        message: format!("unreadable COPY data from the server: {reason}"),
    }
}

/// A value's bytes as the server sent them, whatever its type.
struct RawField<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawField<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawField(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawField(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Turns rows of binary fields into batches of [`SourceRow`]s with their cursors.
struct RowBuilder {
    /// Names of the requested columns.
    names: Vec<String>,
    /// One decoder per selected column: the requested ones, then extra key columns.
    decoders: Vec<Decoder>,
    /// How many of the selected columns were requested.
    requested: usize,
    /// Positions of the key columns among the selected ones.
    key_positions: Vec<usize>,
    policy: Policy,
    columns: Arc<[Column]>,
    batch_size: usize,
    batch: Vec<SourceRow>,
    /// Rows read so far, including those skipped by a row cursor.
    line: u64,
    /// The last row's key fields, raw (a reused buffer, so keys cost no allocation per row;
    /// they are decoded once per batch, for its cursor).
    key_bytes: Vec<u8>,
    key_ranges: Vec<Option<Range<usize>>>,
    source_url: String,
    read: Read,
}

impl RowBuilder {
    /// Adds one row whose field `i` is `field(i)`; returns a batch when one is full.
    fn push<'a>(
        &mut self,
        field: impl Fn(usize) -> Result<Option<&'a [u8]>, SourceError>,
    ) -> Result<Option<Batch>, SourceError> {
        self.line += 1;
        let mut values = Vec::with_capacity(self.requested);
        let mut failure: Option<String> = None;
        for (index, decoder) in self.decoders[..self.requested].iter().enumerate() {
            let value = match field(index)? {
                None => Value::Null,
                Some(raw) => match decode(decoder, raw, self.policy) {
                    Ok(value) => value,
                    Err(reason) => {
                        failure.get_or_insert_with(|| format!("column `{}`: {reason}", self.names[index]));
                        lossy(decoder, raw)
                    }
                },
            };
            values.push(value);
        }
        if !self.key_positions.is_empty() {
            self.key_bytes.clear();
            self.key_ranges.clear();
            for &position in &self.key_positions {
                let range = field(position)?.map(|raw| {
                    let start = self.key_bytes.len();
                    self.key_bytes.extend_from_slice(raw);
                    start..self.key_bytes.len()
                });
                self.key_ranges.push(range);
            }
        }
        let line = self.line;
        self.batch.push(match failure {
            None => SourceRow::Ok { values, line },
            Some(reason) => SourceRow::Malformed { raw: raw_text(&self.names, &values), reason, line },
        });
        if self.batch.len() >= self.batch_size { self.take().map(Some) } else { Ok(None) }
    }

    /// The rows gathered since the last full batch, if any.
    fn finish(&mut self) -> Result<Option<Batch>, SourceError> {
        if self.batch.is_empty() { Ok(None) } else { self.take().map(Some) }
    }

    fn take(&mut self) -> Result<Batch, SourceError> {
        let cursor_after = self.cursor()?;
        let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        Ok(Batch { columns: self.columns.clone(), rows, cursor_after })
    }

    /// Where a scan continues after the last row: its key, exact, or the rows read.
    fn cursor(&self) -> Result<Cursor, SourceError> {
        if self.key_positions.is_empty() {
            return Ok(Cursor::Rows { rows: self.line, byte_offset: None });
        }
        let mut key = Vec::with_capacity(self.key_positions.len());
        for (range, &position) in self.key_ranges.iter().zip(&self.key_positions) {
            key.push(match range {
                None => Value::Null,
                Some(range) => decode(&self.decoders[position], &self.key_bytes[range.clone()], Policy::keys())
                    .map_err(|reason| SourceError::Driver {
                        source_url: self.source_url.clone(),
                        message: format!("{}: cannot read the key of row {}: {reason}", self.read, self.line),
                    })?,
            });
        }
        Ok(Cursor::Key(key))
    }

    /// A driver error while streaming, explained (lost connections are transient).
    fn error(&self, error: &tokio_postgres::Error) -> SourceError {
        super::connect::query_error(error, &self.source_url, &self.read, "")
    }

    /// A driver error made where the source and read were not at hand, completed with them.
    fn locate(&self, error: SourceError) -> SourceError {
        match error {
            SourceError::Driver { source_url, message } if source_url.is_empty() => SourceError::Driver {
                source_url: self.source_url.clone(),
                message: format!("{}: {message}", self.read),
            },
            other => other,
        }
    }
}

/// A row as a JSON object, for a rejected row's raw text.
fn raw_text(names: &[String], values: &[Value]) -> String {
    let object: serde_json::Map<String, serde_json::Value> =
        names.iter().zip(values).map(|(name, value)| (name.clone(), value.to_json())).collect();
    serde_json::Value::Object(object).to_string()
}
