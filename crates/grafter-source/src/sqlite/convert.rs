//! SQLite values to grafter [`Value`]s.
//!
//! SQLite stores every value as one of five storage classes whatever the column's declared
//! type, so the declared type is the only record of intent. grafter follows it where SQLite
//! has no type of its own: `BOOLEAN` columns become booleans, `DATE` / `DATETIME` /
//! `TIMESTAMP` / `TIME` columns holding ISO 8601 text become temporal values. Text that does
//! not fit such a column is an error naming the column (the row is rejected), never a silent
//! string. Integers, reals, text and blobs otherwise keep their storage class.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use grafter_model::{BytesPolicy, LogicalType, Value};
use rusqlite::types::ValueRef;

/// How a column's stored values are read, decided once per column from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conversion {
    /// By storage class.
    Plain,
    /// `BOOLEAN`: integers 0/1 (and text true/false).
    Bool,
    /// `DATE`: ISO dates.
    Date,
    /// `DATETIME` / `TIMESTAMP`: ISO date-times, with an offset when the text has one.
    DateTime,
    /// `TIME`: ISO times of day.
    Time,
}

/// The logical type SQLite's declared type stands for, by SQLite's own affinity rules
/// (<https://sqlite.org/datatype3.html>) refined by the temporal and boolean names.
pub(super) fn logical_type(declared: &str) -> LogicalType {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("BOOL") {
        LogicalType::Bool
    } else if upper.contains("INT") {
        LogicalType::Int
    } else if upper.contains("DATETIME") || upper.contains("TIMESTAMP") {
        LogicalType::DateTime
    } else if upper.contains("DATE") {
        LogicalType::Date
    } else if upper.contains("TIME") {
        LogicalType::Time
    } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
        LogicalType::String
    } else if upper.contains("BLOB") {
        LogicalType::Bytes
    } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
        LogicalType::Float
    } else if upper.contains("JSON") {
        LogicalType::Json
    } else if upper.contains("NUMERIC") || upper.contains("DECIMAL") {
        LogicalType::Decimal
    } else {
        LogicalType::Any
    }
}

/// The conversion for a column of the given declared type.
pub(super) fn conversion(declared: Option<&str>) -> Conversion {
    match declared.map(logical_type) {
        Some(LogicalType::Bool) => Conversion::Bool,
        Some(LogicalType::Date) => Conversion::Date,
        Some(LogicalType::DateTime) => Conversion::DateTime,
        Some(LogicalType::Time) => Conversion::Time,
        _ => Conversion::Plain,
    }
}

/// Converts one stored value; the error text says what is wrong with it (the caller adds the
/// column). Blobs follow the bytes policy.
pub(super) fn convert(value: ValueRef<'_>, conversion: Conversion, bytes: BytesPolicy) -> Result<Value, String> {
    let text = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => {
            return match conversion {
                Conversion::Bool => match i {
                    0 => Ok(Value::Bool(false)),
                    1 => Ok(Value::Bool(true)),
                    other => Err(format!("{other} is not a boolean (expected 0 or 1)")),
                },
                // Numbers in temporal columns (Unix times, Julian days) are kept as stored:
                // which of the two they are is not written anywhere.
                _ => Ok(Value::Int(i)),
            };
        }
        ValueRef::Real(x) => return Ok(Value::Float(x)),
        ValueRef::Blob(blob) => {
            return Ok(match bytes {
                BytesPolicy::Raw => Value::Bytes(blob.to_vec()),
                BytesPolicy::Base64 => Value::String(base64::engine::general_purpose::STANDARD.encode(blob)),
            });
        }
        ValueRef::Text(text) => std::str::from_utf8(text).map_err(|e| format!("invalid UTF-8: {e}"))?,
    };
    match conversion {
        Conversion::Plain => Ok(Value::String(text.to_owned())),
        Conversion::Bool => match text.to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Value::Bool(true)),
            "0" | "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{text:?} is not a boolean")),
        },
        Conversion::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| not_iso(text, "date", "YYYY-MM-DD")),
        Conversion::Time => NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
            .map(Value::Time)
            .map_err(|_| not_iso(text, "time", "HH:MM:SS")),
        Conversion::DateTime => parse_datetime(text).ok_or_else(|| not_iso(text, "datetime", "YYYY-MM-DD HH:MM:SS")),
    }
}

fn not_iso(text: &str, what: &str, shape: &str) -> String {
    format!("{text:?} is not a valid {what} (expected ISO 8601, {shape})")
}

/// Parses the date-time texts SQLite's own date functions accept: `YYYY-MM-DD`,
/// `YYYY-MM-DD HH:MM[:SS[.fff]]` with a space or `T`, optionally followed by `Z` or an offset.
fn parse_datetime(text: &str) -> Option<Value> {
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Some(Value::DateTimeTz(with_offset));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(with_offset) = DateTime::parse_from_str(text, format) {
            return Some(Value::DateTimeTz(with_offset));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Value::DateTime(naive));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| Value::DateTime(d.and_time(NaiveTime::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_follow_sqlite_affinity() {
        assert_eq!(logical_type("NVARCHAR(120)"), LogicalType::String);
        assert_eq!(logical_type("INTEGER"), LogicalType::Int);
        assert_eq!(logical_type("NUMERIC(10,2)"), LogicalType::Decimal);
        assert_eq!(logical_type("DATETIME"), LogicalType::DateTime);
        assert_eq!(logical_type("date"), LogicalType::Date);
        assert_eq!(logical_type("BOOLEAN"), LogicalType::Bool);
        assert_eq!(logical_type("FLOAT"), LogicalType::Float);
        assert_eq!(logical_type(""), LogicalType::Any);
    }

    #[test]
    fn datetime_text_becomes_a_datetime() {
        let value = convert(ValueRef::Text(b"2003-08-14 00:00:00"), Conversion::DateTime, BytesPolicy::Raw).unwrap();
        assert_eq!(value.to_string(), "2003-08-14T00:00:00");
        let value =
            convert(ValueRef::Text(b"2003-08-14T10:00:00+02:00"), Conversion::DateTime, BytesPolicy::Raw).unwrap();
        assert_eq!(value.to_string(), "2003-08-14T10:00:00+02:00");
    }

    #[test]
    fn an_impossible_date_is_an_error_naming_the_text() {
        let err = convert(ValueRef::Text(b"2023-02-30 00:00:00"), Conversion::DateTime, BytesPolicy::Raw).unwrap_err();
        assert_eq!(err, "\"2023-02-30 00:00:00\" is not a valid datetime (expected ISO 8601, YYYY-MM-DD HH:MM:SS)");
        assert!(convert(ValueRef::Text(b"2023-13-01"), Conversion::Date, BytesPolicy::Raw).is_err());
    }

    #[test]
    fn booleans_accept_only_zero_and_one() {
        assert_eq!(convert(ValueRef::Integer(1), Conversion::Bool, BytesPolicy::Raw), Ok(Value::Bool(true)));
        assert!(convert(ValueRef::Integer(2), Conversion::Bool, BytesPolicy::Raw).is_err());
    }

    #[test]
    fn blobs_follow_the_bytes_policy() {
        assert_eq!(convert(ValueRef::Blob(&[0, 255]), Conversion::Plain, BytesPolicy::Base64), Ok(Value::from("AP8=")));
        assert_eq!(
            convert(ValueRef::Blob(&[0, 255]), Conversion::Plain, BytesPolicy::Raw),
            Ok(Value::Bytes(vec![0, 255]))
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let err = convert(ValueRef::Text(b"caf\xe9"), Conversion::Plain, BytesPolicy::Raw).unwrap_err();
        assert!(err.starts_with("invalid UTF-8"), "{err}");
    }
}
