//! Key values on their way back to the server: cursors, range bounds and split boundaries
//! are data, so they always travel as parameters, never as SQL text.
//!
//! Each value is sent in PostgreSQL's *text* format ([`TextParam`]) and the statement casts
//! it to the key column's own type (`$1::"pg_catalog"."int4"`), so the server's input
//! function parses it: one encoding serves every key type, including enums, domains and
//! the types grafter reads as text. [`pg_text`] writes a [`Value`] the way that input
//! function reads it.

use bytes::BytesMut;
use chrono::{Datelike as _, NaiveDate};
use grafter_model::Value;
use postgres_types::{Format, IsNull, ToSql, Type, to_sql_checked};

use super::convert::hex_text;
use super::state::quote_ident;

/// A parameter sent as text for the server to parse; `None` is NULL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextParam(pub Option<String>);

impl TextParam {
    /// The parameter for a key value.
    pub(super) fn of(value: &Value) -> TextParam {
        TextParam(pg_text(value))
    }
}

impl ToSql for TextParam {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    /// Any type: the server parses the text with the parameter's type's input function.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// The SQL name of a type, schema-qualified and quoted (a name, never a value).
pub(super) fn type_name(ty: &Type) -> String {
    format!("{}.{}", quote_ident(ty.schema()), quote_ident(ty.name()))
}

/// A value in PostgreSQL's text input syntax; `None` for NULL.
pub(super) fn pg_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) if x.is_nan() => "NaN".into(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        // `{:?}` is the shortest text that reads back as the same double.
        Value::Float(x) => format!("{x:?}"),
        Value::String(s) => s.clone(),
        Value::Bytes(bytes) => hex_text(bytes),
        Value::Date(date) => with_era(*date, String::new()),
        Value::Time(time) => time.format("%H:%M:%S%.f").to_string(),
        Value::DateTime(dt) => with_era(dt.date(), format!(" {}", dt.time().format("%H:%M:%S%.f"))),
        Value::DateTimeTz(dt) => with_era(dt.date_naive(), format!(" {}", dt.format("%H:%M:%S%.f%:z"))),
        // Every field signed: under `IntervalStyle = sql_standard` a leading sign would
        // otherwise carry over to the unsigned fields after it.
        Value::Duration(d) => format!("{:+} months {:+} days {:+} microseconds", d.months, d.days, d.nanos / 1000),
        Value::List(items) => array_literal(items),
        Value::Map(_) => value.to_json().to_string(),
    })
}

/// `YYYY-MM-DD` then `rest`, with PostgreSQL's ` BC` suffix for years before 1 (chrono's
/// year 0 is 1 BC).
fn with_era(date: NaiveDate, rest: String) -> String {
    let year = date.year();
    if year > 0 {
        format!("{year:04}-{:02}-{:02}{rest}", date.month(), date.day())
    } else {
        format!("{:04}-{:02}-{:02}{rest} BC", 1 - year, date.month(), date.day())
    }
}

/// `{…}` with every element quoted, NULLs bare: PostgreSQL's array input syntax.
fn array_literal(items: &[Value]) -> String {
    let elements: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::List(inner) => array_literal(inner),
            other => match pg_text(other) {
                None => "NULL".into(),
                Some(text) => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
            },
        })
        .collect();
    format!("{{{}}}", elements.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveTime};

    #[test]
    fn values_are_written_in_postgresql_input_syntax() {
        assert_eq!(pg_text(&Value::Null), None);
        assert_eq!(pg_text(&Value::Float(0.1)).unwrap(), "0.1");
        assert_eq!(pg_text(&Value::Float(1e300)).unwrap(), "1e300");
        assert_eq!(pg_text(&Value::Float(f64::NEG_INFINITY)).unwrap(), "-Infinity");
        assert_eq!(pg_text(&Value::Bytes(vec![0, 255])).unwrap(), "\\x00ff");
        let bc = NaiveDate::from_ymd_opt(-43, 3, 15).unwrap();
        assert_eq!(pg_text(&Value::Date(bc)).unwrap(), "0044-03-15 BC");
        let dt = NaiveDate::from_ymd_opt(1969, 7, 20)
            .unwrap()
            .and_time(NaiveTime::from_hms_micro_opt(20, 17, 40, 5).unwrap());
        assert_eq!(pg_text(&Value::DateTime(dt)).unwrap(), "1969-07-20 20:17:40.000005");
        let tz = DateTime::parse_from_rfc3339("2024-02-29T13:05:09+02:00").unwrap();
        assert_eq!(pg_text(&Value::DateTimeTz(tz)).unwrap(), "2024-02-29 13:05:09+02:00");
        let d = grafter_model::Duration { months: 14, days: -3, nanos: 1_500_000 };
        assert_eq!(pg_text(&Value::Duration(d)).unwrap(), "+14 months -3 days +1500 microseconds");
        let list = Value::List(vec![Value::from("a\"b"), Value::Null, Value::List(vec![Value::Int(1)])]);
        assert_eq!(pg_text(&list).unwrap(), r#"{"a\"b",NULL,{"1"}}"#);
    }

    #[test]
    fn type_names_are_quoted() {
        assert_eq!(type_name(&Type::INT4), r#""pg_catalog"."int4""#);
    }
}
