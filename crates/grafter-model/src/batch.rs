//! Rows as sources deliver them: [`Column`]s describing a read, [`SourceRow`]s and
//! [`Batch`]es of them.

use std::sync::Arc;

use crate::{Cursor, Value};

/// The logical type of a source column, as far as the source knows it. Used by `init` to
/// explain mappings and by `plan` to show what arrives; values themselves carry their type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// Booleans.
    Bool,
    /// Integers.
    Int,
    /// Floating point numbers.
    Float,
    /// Exact decimals.
    Decimal,
    /// Text.
    String,
    /// Binary data.
    Bytes,
    /// Dates.
    Date,
    /// Times of day.
    Time,
    /// Timestamps without zone.
    DateTime,
    /// Timestamps with zone.
    DateTimeTz,
    /// JSON documents.
    Json,
    /// Spans of time (PostgreSQL intervals, MySQL `TIME`, which may pass 24 hours or be
    /// negative).
    Duration,
    /// Lists (PostgreSQL arrays, MySQL `SET`).
    List,
    /// Anything else, or unknown (CSV columns, SQLite columns without declared type).
    Any,
}

/// One column of a source read (a table, a query, a file).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Column {
    /// The column's name as the source spells it.
    pub name: String,
    /// Its logical type.
    pub logical_type: LogicalType,
    /// The type as the source declared it (`VARCHAR(40)`, `INTEGER`, …), if any.
    pub declared_type: Option<String>,
    /// Whether the column may hold NULL, if the source knows.
    pub nullable: Option<bool>,
}

impl Column {
    /// A column of unknown type (files).
    pub fn untyped(name: impl Into<String>) -> Column {
        Column { name: name.into(), logical_type: LogicalType::Any, declared_type: None, nullable: None }
    }
}

/// One row read from a source, or the reason it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRow {
    /// A row whose values line up with the read's columns.
    Ok {
        /// One value per column.
        values: Vec<Value>,
        /// For files, the line number where the record starts; for SQL reads, the row's
        /// number in the scan (1-based). A scan resumed by row count (a read without a key)
        /// goes on counting, so there it is the row's number in the read; a keyed scan
        /// counts again from its resume point or key range, so reject files place a keyed
        /// read's rows by their key instead.
        line: u64,
    },
    /// A record the source could not decode (malformed CSV line, invalid UTF-8, bad JSON).
    /// It is counted as read and goes to the reject file with `reason`; it is never dropped.
    Malformed {
        /// The record's raw text, as far as it could be recovered.
        raw: String,
        /// What is wrong with it.
        reason: String,
        /// Where the record is, as [`SourceRow::Ok`]'s `line`.
        line: u64,
    },
}

impl SourceRow {
    /// The row or line number.
    pub fn line(&self) -> u64 {
        match self {
            SourceRow::Ok { line, .. } | SourceRow::Malformed { line, .. } => *line,
        }
    }
}

/// A batch of consecutive rows of one read.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The columns of every row in the batch.
    pub columns: Arc<[Column]>,
    /// The rows, in scan order.
    pub rows: Vec<SourceRow>,
    /// Where a scan continues after this batch: storing it together with the batch's writes
    /// is what makes resuming exact.
    pub cursor_after: Cursor,
}
