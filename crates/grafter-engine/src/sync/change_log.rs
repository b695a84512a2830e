//! Reading a change log: each entry names a table, an operation and the changed row's key;
//! the entries of the mapping's table become the identities of rows to read again.
//!
//! The operation is checked but does not decide what happens: the row's current state
//! does. A row that is there is upserted as it is now, a row that is not is removed. So
//! entries read twice, out of order, or for a row changed again since, all end in the state
//! the source has — which is what makes reading the log again (the overlap) harmless.

use std::sync::Arc;

use grafter_model::{LogicalType, SourceRow, Value};

use super::changes::identity_text;
use super::tracked::Tracked;
use crate::records::{Origin, Rejected, RowData};
use crate::rejects::RowShape;

/// The identities a batch of log entries names, in order, without repeats.
pub(crate) struct LogBatch {
    /// Changed rows' identities.
    pub identities: Vec<Vec<Value>>,
    /// Entries that cannot be read, as rejects shown under the log's columns, placed by its id.
    pub unreadable: Vec<(Rejected, Arc<RowShape>)>,
    /// The position of the batch's last entry: (changed at, id).
    pub last: Option<Vec<Value>>,
    /// The newest `changed at` of the batch.
    pub newest: Option<Value>,
    /// Entries read.
    pub read: u64,
    /// Per identity (as [`identity_text`]), the position (changed at, id) of its last entry.
    pub positions: std::collections::HashMap<String, Vec<Value>>,
}

/// Reads a batch of log rows (columns: id, table, operation, key, changed at).
pub(crate) fn read_entries(rows: Vec<SourceRow>, tracked: &Tracked) -> LogBatch {
    let columns = tracked.log.as_ref().map(|l| l.columns.clone()).unwrap_or_default();
    // An entry is found again by the log's id.
    let key = columns.first().cloned().into_iter().collect();
    let columns = Arc::new(RowShape { columns, key });
    let mut batch = LogBatch {
        identities: Vec::new(),
        unreadable: Vec::new(),
        last: None,
        newest: None,
        read: 0,
        positions: std::collections::HashMap::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        batch.read += 1;
        let (values, line) = match row {
            SourceRow::Ok { values, line } => (values, line),
            SourceRow::Malformed { raw, reason, line } => {
                let origin = Origin { line, row: RowData::Raw(raw) };
                batch.unreadable.push((Rejected { origin, reason }, Arc::clone(&columns)));
                continue;
            }
        };
        if !values[4].is_null() && !values[0].is_null() {
            batch.last = Some(vec![values[4].clone(), values[0].clone()]);
            batch.newest = Some(values[4].clone());
        }
        let entry = check_operation(&values[2]).and_then(|()| parse_key(&values[3], &tracked.identity_types));
        match entry {
            Ok(identity) => {
                let text = identity_text(&identity);
                batch.positions.insert(text.clone(), vec![values[4].clone(), values[0].clone()]);
                if seen.insert(text) {
                    batch.identities.push(identity);
                }
            }
            Err(reason) => {
                let reason = format!(
                    "change log `{}`, entry {}: {reason}",
                    tracked.log.as_ref().map_or("", |l| l.table.as_str()),
                    values[0]
                );
                batch.unreadable.push((
                    Rejected { origin: Origin { line, row: RowData::Values(values) }, reason },
                    Arc::clone(&columns),
                ));
            }
        }
    }
    batch
}

/// Checks an operation: INSERT, UPDATE or DELETE, or their first letters, in any case.
fn check_operation(value: &Value) -> Result<(), String> {
    let text = match value {
        Value::String(text) => text.trim().to_ascii_uppercase(),
        other => return Err(format!("operation {other} is not text")),
    };
    match text.as_str() {
        "INSERT" | "UPDATE" | "DELETE" | "I" | "U" | "D" => Ok(()),
        _ => Err(format!("operation {text:?} is none of INSERT, UPDATE, DELETE")),
    }
}

/// Reads a record key into one value per identity column, typed like the column: the key's
/// text for a one-column key, a JSON array for a composite one.
pub(crate) fn parse_key(value: &Value, types: &[LogicalType]) -> Result<Vec<Value>, String> {
    let parts: Vec<Value> = match value {
        Value::Null => return Err("the record key is null".into()),
        Value::List(items) => items.clone(),
        Value::String(text) if text.trim_start().starts_with('[') => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("record key {text:?} is not a JSON array: {e}"))?;
            json.as_array()
                .ok_or_else(|| format!("record key {text:?} is not a JSON array"))?
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Value::String(s.clone()),
                    serde_json::Value::Number(n) => {
                        n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int)
                    }
                    serde_json::Value::Bool(b) => Value::Bool(*b),
                    serde_json::Value::Null => Value::Null,
                    other => Value::String(other.to_string()),
                })
                .collect()
        }
        other => vec![other.clone()],
    };
    if parts.len() != types.len() {
        return Err(format!(
            "record key {value} has {} value(s) but the table's key has {} column(s){}",
            parts.len(),
            types.len(),
            if types.len() > 1 { " (write a composite key as a JSON array, e.g. [\"a\", 1])" } else { "" }
        ));
    }
    parts.into_iter().zip(types).map(|(part, kind)| typed(part, *kind)).collect()
}

/// A key value in the column's type, where text of that type was given.
fn typed(value: Value, kind: LogicalType) -> Result<Value, String> {
    match (value, kind) {
        (Value::Null, _) => Err("a key value is null".into()),
        (Value::String(text), LogicalType::Int) => {
            text.trim().parse::<i64>().map(Value::Int).map_err(|_| format!("key value {text:?} is not an integer"))
        }
        (Value::Int(n), LogicalType::String) => Ok(Value::String(n.to_string())),
        (value, _) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_are_read_as_text_or_json_arrays_in_the_columns_types() {
        assert_eq!(parse_key(&Value::String("42".into()), &[LogicalType::Int]).unwrap(), vec![Value::Int(42)]);
        assert_eq!(parse_key(&Value::Int(42), &[LogicalType::Int]).unwrap(), vec![Value::Int(42)]);
        assert_eq!(
            parse_key(&Value::String("a-b".into()), &[LogicalType::String]).unwrap(),
            vec![Value::String("a-b".into())]
        );
        assert_eq!(
            parse_key(&Value::String(r#"["7", 3]"#.into()), &[LogicalType::Int, LogicalType::Int]).unwrap(),
            vec![Value::Int(7), Value::Int(3)]
        );
    }

    #[test]
    fn unreadable_record_keys_say_why() {
        let error = parse_key(&Value::String("x7".into()), &[LogicalType::Int]).unwrap_err();
        assert_eq!(error, "key value \"x7\" is not an integer");
        let error = parse_key(&Value::String("7".into()), &[LogicalType::Int, LogicalType::Int]).unwrap_err();
        assert!(error.contains("has 1 value(s) but the table's key has 2 column(s)"), "{error}");
        assert!(check_operation(&Value::String("upsert".into())).unwrap_err().contains("UPSERT"));
        assert!(check_operation(&Value::String("d".into())).is_ok());
    }
}
