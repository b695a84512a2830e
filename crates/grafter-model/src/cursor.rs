//! [`Cursor`]: how far a scan has come, so that a later scan can continue after it.
//!
//! A cursor is stored in the target beside the data it covers (see the run-safety design),
//! so it has an exact text form: [`Cursor::encode`] and [`Cursor::decode`] round-trip every
//! key value with its type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Value as J, json};

use crate::Value;

/// A position in a source scan: everything up to and including it has been consumed.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cursor {
    /// Nothing consumed yet.
    #[default]
    Start,
    /// Files and unkeyed queries: the number of rows consumed, and for files the byte offset
    /// where the next record starts (so a resume can seek instead of re-reading).
    Rows {
        /// Rows (records) consumed so far.
        rows: u64,
        /// Byte offset of the next record in the file, when the source knows it.
        byte_offset: Option<u64>,
    },
    /// Keyed scans (ordered by a unique key): the key of the last row consumed.
    Key(Vec<Value>),
}

/// A slice of a keyed read: the rows whose key (in scan order) is greater than `after` and
/// at most `up_to`; `None` leaves that side open. The partitions of one read are consecutive
/// ranges covering every key exactly once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRange {
    /// Exclusive lower bound.
    pub after: Option<Vec<Value>>,
    /// Inclusive upper bound.
    pub up_to: Option<Vec<Value>>,
}

impl KeyRange {
    /// The whole read.
    pub fn all() -> KeyRange {
        KeyRange::default()
    }

    /// Whether this is the whole read.
    pub fn is_all(&self) -> bool {
        self.after.is_none() && self.up_to.is_none()
    }

    /// The range as compact JSON text, its key values typed as in [`Cursor::encode`].
    pub fn encode(&self) -> String {
        let bound = |b: &Option<Vec<Value>>| b.as_ref().map(|values| values.iter().map(tagged).collect::<Vec<_>>());
        json!({"after": bound(&self.after), "up_to": bound(&self.up_to)}).to_string()
    }

    /// Reads a range written by [`KeyRange::encode`].
    pub fn decode(text: &str) -> Result<KeyRange, CursorError> {
        let fail = |reason: &str| CursorError { text: text.to_owned(), reason: reason.to_owned() };
        let json: J = serde_json::from_str(text).map_err(|e| fail(&e.to_string()))?;
        let bound = |name: &str| -> Result<Option<Vec<Value>>, CursorError> {
            match json.get(name) {
                None | Some(J::Null) => Ok(None),
                Some(J::Array(items)) => items
                    .iter()
                    .map(untagged)
                    .collect::<Option<Vec<_>>>()
                    .map(Some)
                    .ok_or_else(|| fail("a bound value has an unknown type")),
                Some(_) => Err(fail("a bound is not a list")),
            }
        };
        Ok(KeyRange { after: bound("after")?, up_to: bound("up_to")? })
    }
}

/// A stored cursor that cannot be read back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored cursor {text:?} is not valid: {reason}")]
pub struct CursorError {
    text: String,
    reason: String,
}

impl Cursor {
    /// The cursor as compact JSON text.
    pub fn encode(&self) -> String {
        let json = match self {
            Cursor::Start => json!({"start": true}),
            Cursor::Rows { rows, byte_offset } => json!({"rows": rows, "byte_offset": byte_offset}),
            Cursor::Key(values) => json!({"key": values.iter().map(tagged).collect::<Vec<_>>()}),
        };
        json.to_string()
    }

    /// Reads a cursor written by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let fail = |reason: &str| CursorError { text: text.to_owned(), reason: reason.to_owned() };
        let json: J = serde_json::from_str(text).map_err(|e| fail(&e.to_string()))?;
        if json.get("start").is_some() {
            return Ok(Cursor::Start);
        }
        if let Some(rows) = json.get("rows") {
            let rows = rows.as_u64().ok_or_else(|| fail("rows is not a count"))?;
            let byte_offset = json.get("byte_offset").and_then(J::as_u64);
            return Ok(Cursor::Rows { rows, byte_offset });
        }
        if let Some(J::Array(items)) = json.get("key") {
            let values = items.iter().map(untagged).collect::<Option<Vec<_>>>();
            return values.map(Cursor::Key).ok_or_else(|| fail("a key value has an unknown type"));
        }
        Err(fail("expected start, rows or key"))
    }
}

/// A key value as `[type, text-or-number]`, so that its type survives the round trip.
fn tagged(value: &Value) -> J {
    match value {
        Value::Null => json!(["null"]),
        Value::Bool(b) => json!(["bool", b]),
        Value::Int(i) => json!(["int", i]),
        Value::Float(x) => json!(["float", x.to_bits()]),
        Value::String(s) => json!(["string", s]),
        Value::Date(_) => json!(["date", value.to_string()]),
        Value::Time(_) => json!(["time", value.to_string()]),
        Value::DateTime(_) => json!(["datetime", value.to_string()]),
        Value::DateTimeTz(_) => json!(["datetimetz", value.to_string()]),
        Value::Duration(d) => json!(["duration", [d.months, d.days, d.nanos]]),
        // Bytes, lists and maps are not used as scan keys; keep them as readable JSON.
        other => json!(["json", other.to_json()]),
    }
}

fn untagged(json: &J) -> Option<Value> {
    let tag = json.get(0)?.as_str()?;
    let body = json.get(1);
    Some(match tag {
        "null" => Value::Null,
        "bool" => Value::Bool(body?.as_bool()?),
        "int" => Value::Int(body?.as_i64()?),
        "float" => Value::Float(f64::from_bits(body?.as_u64()?)),
        "string" => Value::String(body?.as_str()?.to_owned()),
        "date" => Value::Date(NaiveDate::parse_from_str(body?.as_str()?, "%Y-%m-%d").ok()?),
        "time" => Value::Time(NaiveTime::parse_from_str(body?.as_str()?, "%H:%M:%S%.f").ok()?),
        "datetime" => Value::DateTime(NaiveDateTime::parse_from_str(body?.as_str()?, "%Y-%m-%dT%H:%M:%S%.f").ok()?),
        "datetimetz" => Value::DateTimeTz(DateTime::parse_from_rfc3339(body?.as_str()?).ok()?),
        "duration" => {
            let parts = body?.as_array()?;
            Value::Duration(crate::Duration {
                months: parts.first()?.as_i64()?,
                days: parts.get(1)?.as_i64()?,
                nanos: parts.get(2)?.as_i64()?,
            })
        }
        "json" => Value::from_json(body?.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cursor_round_trips_with_types() {
        let date = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        let cursors = [
            Cursor::Start,
            Cursor::Rows { rows: 42, byte_offset: Some(1234) },
            Cursor::Rows { rows: 7, byte_offset: None },
            Cursor::Key(vec![Value::Int(-3), Value::from("a\"b"), Value::Date(date), Value::Float(0.1)]),
            Cursor::Key(vec![Value::DateTime(date.and_hms_micro_opt(1, 2, 3, 4).unwrap())]),
            Cursor::Key(vec![Value::Duration(crate::Duration { months: 1, days: 2, nanos: 3 })]),
        ];
        for cursor in cursors {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
    }

    #[test]
    fn ranges_round_trip() {
        let ranges = [
            KeyRange::all(),
            KeyRange { after: Some(vec![Value::Int(10)]), up_to: None },
            KeyRange {
                after: Some(vec![Value::from("a"), Value::Int(1)]),
                up_to: Some(vec![Value::from("m"), Value::Int(0)]),
            },
        ];
        for range in ranges {
            assert_eq!(KeyRange::decode(&range.encode()).unwrap(), range);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_start() {
        assert!(Cursor::decode("{\"nope\":1}").is_err());
        assert!(Cursor::decode("not json").is_err());
    }
}
