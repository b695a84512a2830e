//! Describing, counting and streaming one read of a SQLite database.

use std::sync::Arc;

use grafter_model::{Batch, Column, Cursor, SourceRow, Value};
use rusqlite::{Connection, ToSql, types::ValueRef};

use super::convert::{Conversion, conversion, convert, logical_type};
use super::state::{SqliteSource, quote_ident};
use crate::blocking::BatchSender;
use crate::{Filter, KeyRange, Read, ScanRequest, Source as _, SourceError};

/// The columns of a table, view or query.
pub(super) fn columns(source: &SqliteSource, connection: &Connection, read: &Read) -> Result<Vec<Column>, SourceError> {
    if let Read::Table(table) = read {
        let exists: bool = connection
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1",
                [table],
                |row| row.get(0),
            )
            .map_err(|e| source.query_error(read, e))?;
        if !exists {
            return Err(SourceError::UnknownTable {
                table: table.clone(),
                source_url: source.describe(),
                suggestion: crate::suggest(table, table_names(connection).iter().map(String::as_str)),
            });
        }
    }
    let statement =
        connection.prepare(&format!("SELECT * FROM {}", from_clause(read))).map_err(|e| source.query_error(read, e))?;
    Ok(statement
        .columns()
        .into_iter()
        .map(|column| {
            let declared = column.decl_type().map(str::to_owned);
            Column {
                name: column.name().to_owned(),
                logical_type: declared.as_deref().map_or(grafter_model::LogicalType::Any, logical_type),
                declared_type: declared,
                nullable: None,
            }
        })
        .collect())
}

fn table_names(connection: &Connection) -> Vec<String> {
    let Ok(mut statement) = connection
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
    else {
        return Vec::new();
    };
    statement.query_map([], |row| row.get(0)).map(|rows| rows.flatten().collect()).unwrap_or_default()
}

/// Fails with [`SourceError::UnknownColumn`] when `request` reads a column not `available`.
pub(super) fn check_columns(
    source: &SqliteSource,
    request: &ScanRequest,
    available: &[Column],
) -> Result<(), SourceError> {
    let names: Vec<&str> = available.iter().map(|c| c.name.as_str()).collect();
    crate::sql::check_columns(&request.read, &names, crate::sql::requested_columns(request), &|| source.describe())
}

/// `FROM` target of a read: a quoted table, or the query as a subquery.
fn from_clause(read: &Read) -> String {
    crate::sql::from_clause(read, quote_ident)
}

/// The `WHERE` conditions that skip rows without references, and those of the request's
/// filters; their parameters are numbered from `first`.
fn skip_null_conditions(request: &ScanRequest, first: usize) -> (Vec<String>, Vec<Value>) {
    let mut conditions: Vec<String> =
        request.skip_null.iter().map(|c| format!("{} IS NOT NULL", quote_ident(c))).collect();
    let mut parameters: Vec<Value> = Vec::new();
    let mark = |value: &Value, parameters: &mut Vec<Value>| {
        parameters.push(value.clone());
        format!("?{}", first + parameters.len() - 1)
    };
    for filter in &request.filters {
        conditions.push(match filter {
            Filter::IsNull(name) => format!("{} IS NULL", quote_ident(name)),
            Filter::OneOf(name, values) => {
                let marks: Vec<String> = values.iter().map(|v| mark(v, &mut parameters)).collect();
                if marks.is_empty() {
                    "0".to_owned()
                } else {
                    format!("{} IN ({})", quote_ident(name), marks.join(", "))
                }
            }
            Filter::AtLeast(name, value) => format!("{} >= {}", quote_ident(name), mark(value, &mut parameters)),
            Filter::KeyIn(keys) if keys.is_empty() => "0".to_owned(),
            Filter::KeyIn(keys) => {
                let names: Vec<String> = request.order_by.iter().map(|k| quote_ident(k)).collect();
                let tuples: Vec<String> = keys
                    .iter()
                    .map(|key| {
                        let marks: Vec<String> = key.iter().map(|v| mark(v, &mut parameters)).collect();
                        format!("({})", marks.join(", "))
                    })
                    .collect();
                format!("({}) IN (VALUES {})", names.join(", "), tuples.join(", "))
            }
        });
    }
    (conditions, parameters)
}

/// The `WHERE` conditions and parameters that keep a scan inside `range` (starting after
/// `lower` when given, else after the range's own lower bound).
fn range_conditions(request: &ScanRequest, lower: Option<&Vec<Value>>) -> (Vec<String>, Vec<Value>) {
    let keys = request.order_by.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ");
    let mut conditions = Vec::new();
    let mut parameters: Vec<Value> = Vec::new();
    for (bound, operator) in [(lower.or(request.range.after.as_ref()), ">"), (request.range.up_to.as_ref(), "<=")] {
        if let Some(values) = bound {
            let first = parameters.len() + 1;
            let marks: Vec<String> = (first..first + values.len()).map(|i| format!("?{i}")).collect();
            conditions.push(format!("({keys}) {operator} ({})", marks.join(", ")));
            parameters.extend(values.iter().cloned());
        }
    }
    (conditions, parameters)
}

/// Runs a one-row query with grafter values as parameters.
fn query_row<T>(
    connection: &Connection,
    sql: &str,
    parameters: &[Value],
    read_row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let bound: Vec<SqlValue> = parameters.iter().map(SqlValue).collect();
    let bound_refs: Vec<&dyn ToSql> = bound.iter().map(|p| p as &dyn ToSql).collect();
    connection.query_row(sql, bound_refs.as_slice(), read_row)
}

/// Rows a scan of `request` from the start yields (within its range).
pub(super) fn count(source: &SqliteSource, connection: &Connection, request: &ScanRequest) -> Result<u64, SourceError> {
    let (mut conditions, mut parameters) = range_conditions(request, None);
    let (filtered, filter_parameters) = skip_null_conditions(request, parameters.len() + 1);
    conditions.extend(filtered);
    parameters.extend(filter_parameters);
    let mut sql = format!("SELECT count(*) FROM {}", from_clause(&request.read));
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    let count: i64 =
        query_row(connection, &sql, &parameters, |row| row.get(0)).map_err(|e| source.query_error(&request.read, e))?;
    Ok(count.max(0) as u64)
}

/// Consecutive key ranges of about equal size: the boundary keys sit at every
/// `rows / parts`-th row in key order.
pub(super) fn split(
    source: &SqliteSource,
    connection: &Connection,
    read: &Read,
    key: &[String],
    parts: usize,
) -> Result<Vec<KeyRange>, SourceError> {
    let query_error = |e| source.query_error(read, e);
    let keys = key.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ");
    let rows: i64 = query_row(connection, &format!("SELECT count(*) FROM {}", from_clause(read)), &[], |r| r.get(0))
        .map_err(query_error)?;
    let parts = parts.max(1).min(rows.max(1) as usize);
    let mut ranges = Vec::with_capacity(parts);
    let mut previous: Option<Vec<Value>> = None;
    for part in 1..parts {
        let offset = rows * part as i64 / parts as i64 - 1;
        let sql = format!("SELECT {keys} FROM {} ORDER BY {keys} LIMIT 1 OFFSET {offset}", from_clause(read));
        let boundary: Vec<Value> = query_row(connection, &sql, &[], |row| {
            (0..key.len())
                .map(|i| {
                    Ok(convert(row.get_ref(i)?, Conversion::Plain, grafter_model::BytesPolicy::Raw)
                        .unwrap_or(Value::Null))
                })
                .collect()
        })
        .map_err(query_error)?;
        ranges.push(KeyRange { after: previous.take(), up_to: Some(boundary.clone()) });
        previous = Some(boundary);
    }
    ranges.push(KeyRange { after: previous, up_to: None });
    Ok(ranges)
}

/// The greatest values of `key` (in order, NULLs left out) among the rows of `read`.
pub(super) fn max_key(
    source: &SqliteSource,
    connection: &Connection,
    read: &Read,
    key: &[String],
) -> Result<Option<Vec<Value>>, SourceError> {
    let available = columns(source, connection, read)?;
    let conversions: Vec<Conversion> = key
        .iter()
        .map(|name| conversion(available.iter().find(|c| &c.name == name).and_then(|c| c.declared_type.as_deref())))
        .collect();
    let quoted: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
    let sql =
        format!("SELECT {} FROM {}{}", quoted.join(", "), from_clause(read), crate::sql::greatest_key_clauses(&quoted));
    let result = query_row(connection, &sql, &[], |row| {
        (0..key.len())
            .map(|i| Ok(convert(row.get_ref(i)?, conversions[i], source.types.bytes).unwrap_or(Value::Null)))
            .collect::<rusqlite::Result<Vec<Value>>>()
    });
    match result {
        Ok(values) => Ok(Some(values)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(source.query_error(read, e)),
    }
}

/// Streams the rows of `request` to `sender`, batch by batch.
pub(super) fn stream(
    source: &SqliteSource,
    connection: &Connection,
    request: &ScanRequest,
    available: &[Column],
    sender: &BatchSender,
) -> Result<(), SourceError> {
    // Key columns the caller did not ask for are selected anyway (to build the cursor) and
    // cut off before the row is handed on.
    let extra_key: Vec<&String> = request.order_by.iter().filter(|k| !request.columns.contains(k)).collect();
    let selected: Vec<&String> = request.columns.iter().chain(extra_key.iter().copied()).collect();
    let key_positions: Vec<usize> =
        request.order_by.iter().map(|k| selected.iter().position(|c| *c == k).expect("key is selected")).collect();
    let conversions: Vec<Conversion> = selected
        .iter()
        .map(|name| conversion(available.iter().find(|c| &c.name == *name).and_then(|c| c.declared_type.as_deref())))
        .collect();
    let bytes = source.types.bytes;

    let mut rows_before = 0;
    // Where the scan starts: after the cursor, or else after the range's lower bound.
    let lower = match (&request.after, request.order_by.is_empty()) {
        (Cursor::Key(last), false) => Some(last),
        (Cursor::Rows { rows, .. }, _) => {
            rows_before = *rows;
            None
        }
        (Cursor::Start, _) => None,
        (Cursor::Key(_), true) => {
            return Err(SourceError::Driver {
                source_url: source.describe(),
                message: format!("{}: a key cursor was stored but the read has no key to order by", request.read),
            });
        }
    };
    let (mut conditions, mut parameters) = range_conditions(request, lower);
    let (filtered, filter_parameters) = skip_null_conditions(request, parameters.len() + 1);
    conditions.extend(filtered);
    parameters.extend(filter_parameters);
    let mut sql = format!(
        "SELECT {} FROM {}",
        selected.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        from_clause(&request.read)
    );
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    if !request.order_by.is_empty() {
        let keys: Vec<String> = request.order_by.iter().map(|k| quote_ident(k)).collect();
        sql.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    } else if rows_before > 0 {
        sql.push_str(&format!(" LIMIT -1 OFFSET {rows_before}"));
    }

    let query_error = |e| source.query_error(&request.read, e);
    let mut statement = connection.prepare(&sql).map_err(query_error)?;
    let bound: Vec<SqlValue> = parameters.iter().map(SqlValue).collect();
    let bound_refs: Vec<&dyn ToSql> = bound.iter().map(|p| p as &dyn ToSql).collect();
    let mut rows = statement.query(bound_refs.as_slice()).map_err(query_error)?;

    let columns: Arc<[Column]> = request
        .columns
        .iter()
        .map(|name| available.iter().find(|c| &c.name == name).cloned().expect("checked by check_columns"))
        .collect();
    let batch_size = request.batch_size.max(1);
    let mut batch = Vec::with_capacity(batch_size);
    let mut line = rows_before;
    let mut last_key: Option<Vec<Value>> = None;
    while let Some(row) = rows.next().map_err(query_error)? {
        line += 1;
        let mut values = Vec::with_capacity(selected.len());
        let mut failure = None;
        for (index, conversion) in conversions.iter().enumerate() {
            let stored = row.get_ref(index).map_err(query_error)?;
            match convert(stored, *conversion, bytes) {
                Ok(value) => values.push(value),
                Err(reason) => {
                    failure.get_or_insert_with(|| format!("column `{}`: {reason}", selected[index]));
                    values.push(lossy(stored));
                }
            }
        }
        if !key_positions.is_empty() {
            last_key = Some(key_positions.iter().map(|&i| values[i].clone()).collect());
        }
        values.truncate(request.columns.len());
        batch.push(match failure {
            None => SourceRow::Ok { values, line },
            Some(reason) => SourceRow::Malformed { raw: raw_text(&request.columns, &values), reason, line },
        });
        if batch.len() == batch_size {
            let cursor = cursor_after(&last_key, line);
            if !sender.send(Ok(Batch {
                columns: columns.clone(),
                rows: std::mem::take(&mut batch),
                cursor_after: cursor,
            })) {
                return Ok(());
            }
            batch.reserve(batch_size);
        }
    }
    if !batch.is_empty() {
        let cursor = cursor_after(&last_key, line);
        sender.send(Ok(Batch { columns, rows: batch, cursor_after: cursor }));
    }
    Ok(())
}

fn cursor_after(last_key: &Option<Vec<Value>>, rows: u64) -> Cursor {
    match last_key {
        Some(key) => Cursor::Key(key.clone()),
        None => Cursor::Rows { rows, byte_offset: None },
    }
}

/// A stored value as readable as possible, for the reject file.
fn lossy(stored: ValueRef<'_>) -> Value {
    match stored {
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        other => convert(other, Conversion::Plain, grafter_model::BytesPolicy::Base64).unwrap_or(Value::Null),
    }
}

/// A row as a JSON object, for a rejected row's raw text.
fn raw_text(names: &[String], values: &[Value]) -> String {
    let object: serde_json::Map<String, serde_json::Value> =
        names.iter().zip(values).map(|(name, value)| (name.clone(), value.to_json())).collect();
    serde_json::Value::Object(object).to_string()
}

/// A grafter value bound as a SQLite parameter (cursor keys).
struct SqlValue<'a>(&'a Value);

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as Sql};
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(Sql::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Sql::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(Sql::Integer(*i)),
            Value::Float(x) => ToSqlOutput::Owned(Sql::Real(*x)),
            Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // Temporal keys are stored as ISO text in SQLite; compare them as written.
            Value::DateTime(dt) => ToSqlOutput::Owned(Sql::Text(dt.format("%Y-%m-%d %H:%M:%S%.f").to_string())),
            other => ToSqlOutput::Owned(Sql::Text(other.to_string())),
        })
    }
}
