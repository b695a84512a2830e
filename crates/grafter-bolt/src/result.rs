//! What a query gives back: [`Record`]s under named fields, and a [`Summary`].
//!
//! Records share one list of field names (an `Arc`), so a million-row result does not carry
//! a million copies of its column names.

use std::sync::Arc;

use crate::packstream::{BoltMap, BoltValue};

/// One row of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    fields: Arc<[String]>,
    values: Vec<BoltValue>,
}

impl Record {
    pub(crate) fn new(fields: Arc<[String]>, values: Vec<BoltValue>) -> Record {
        Record { fields, values }
    }

    /// The field names, in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The values, in field order.
    pub fn values(&self) -> &[BoltValue] {
        &self.values
    }

    /// The values, taken out.
    pub fn into_values(self) -> Vec<BoltValue> {
        self.values
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&BoltValue> {
        let index = self.fields.iter().position(|f| f == name)?;
        self.values.get(index)
    }
}

/// The metadata a server sends around a result: RUN's (`fields`, `t_first`, `qid`) and the
/// final PULL's (`bookmark`, `stats`, `type`, `db`, `t_last`) merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// All metadata fields.
    pub metadata: BoltMap,
}

impl Summary {
    /// The bookmark of an auto-commit query that committed.
    pub fn bookmark(&self) -> Option<&str> {
        self.metadata.get("bookmark").and_then(BoltValue::as_str)
    }

    /// The query type: "r", "w", "rw" or "s".
    pub fn query_type(&self) -> Option<&str> {
        self.metadata.get("type").and_then(BoltValue::as_str)
    }

    /// One update counter from `stats` (e.g. "nodes-created"), 0 when absent.
    pub fn counter(&self, name: &str) -> i64 {
        self.metadata
            .get("stats")
            .and_then(BoltValue::as_map)
            .and_then(|stats| stats.get(name))
            .and_then(BoltValue::as_int)
            .unwrap_or(0)
    }

    /// The database the query ran on, if the server said.
    pub fn database(&self) -> Option<&str> {
        self.metadata.get("db").and_then(BoltValue::as_str)
    }
}

/// A whole result held in memory (see `RecordStream` for streaming).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// Field names.
    pub fields: Vec<String>,
    /// Records.
    pub records: Vec<Record>,
    /// The summary.
    pub summary: Summary,
}

impl QueryResult {
    /// The single value of a one-row, one-column result.
    pub fn single_value(&self) -> Option<&BoltValue> {
        match self.records.as_slice() {
            [record] if record.values.len() == 1 => record.values.first(),
            _ => None,
        }
    }
}
