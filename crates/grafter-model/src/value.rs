//! [`Value`]: one cell of data, typed the way a property graph can store it.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// One value travelling from a source row to a graph property.
///
/// The variants are the types property graphs share (Cypher's property types, plus maps,
/// which the embedded store can hold). Temporal values keep their own type so a target with
/// a temporal type stores them as such; targets without one get ISO 8601 strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL, a missing JSON field or an empty CSV field (by the source's null rule).
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes (SQL blobs).
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(NaiveDate),
    /// A time of day without zone.
    Time(NaiveTime),
    /// A date and time without zone ("timestamp without time zone").
    DateTime(NaiveDateTime),
    /// A date and time at a fixed UTC offset ("timestamptz").
    DateTimeTz(DateTime<FixedOffset>),
    /// A span of time in calendar units (SQL intervals): months and days do not have a
    /// fixed length, so they are kept apart from the exact part.
    Duration(Duration),
    /// A list of values.
    List(Vec<Value>),
    /// A map from names to values (JSON objects).
    Map(BTreeMap<String, Value>),
}

/// The type of a [`Value`], for messages and type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// [`Value::Null`]
    Null,
    /// [`Value::Bool`]
    Bool,
    /// [`Value::Int`]
    Int,
    /// [`Value::Float`]
    Float,
    /// [`Value::String`]
    String,
    /// [`Value::Bytes`]
    Bytes,
    /// [`Value::Date`]
    Date,
    /// [`Value::Time`]
    Time,
    /// [`Value::DateTime`]
    DateTime,
    /// [`Value::DateTimeTz`]
    DateTimeTz,
    /// [`Value::Duration`]
    Duration,
    /// [`Value::List`]
    List,
    /// [`Value::Map`]
    Map,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ValueKind::Null => "null",
            ValueKind::Bool => "bool",
            ValueKind::Int => "int",
            ValueKind::Float => "float",
            ValueKind::String => "string",
            ValueKind::Bytes => "bytes",
            ValueKind::Date => "date",
            ValueKind::Time => "time",
            ValueKind::DateTime => "datetime",
            ValueKind::DateTimeTz => "datetime with offset",
            ValueKind::Duration => "duration",
            ValueKind::List => "list",
            ValueKind::Map => "map",
        };
        f.write_str(name)
    }
}

impl Value {
    /// The value's type.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::Null => ValueKind::Null,
            Value::Bool(_) => ValueKind::Bool,
            Value::Int(_) => ValueKind::Int,
            Value::Float(_) => ValueKind::Float,
            Value::String(_) => ValueKind::String,
            Value::Bytes(_) => ValueKind::Bytes,
            Value::Date(_) => ValueKind::Date,
            Value::Time(_) => ValueKind::Time,
            Value::DateTime(_) => ValueKind::DateTime,
            Value::DateTimeTz(_) => ValueKind::DateTimeTz,
            Value::Duration(_) => ValueKind::Duration,
            Value::List(_) => ValueKind::List,
            Value::Map(_) => ValueKind::Map,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as JSON, for reject files, reports and `--format json`.
    ///
    /// Temporal values become ISO 8601 strings and bytes become base64, so every value has a
    /// faithful, readable text form.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                // NaN and infinities have no JSON number; keep them readable.
                .unwrap_or_else(|| J::String(f.to_string())),
            Value::String(s) => J::String(s.clone()),
            Value::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            temporal => J::String(temporal.to_string()),
        }
    }

    /// Converts parsed JSON into a value: integral numbers become [`Value::Int`], other
    /// numbers [`Value::Float`], arrays lists and objects maps.
    pub fn from_json(json: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s),
            J::Array(items) => Value::List(items.into_iter().map(Value::from_json).collect()),
            J::Object(map) => Value::Map(map.into_iter().map(|(k, v)| (k, Value::from_json(v))).collect()),
        }
    }
}

impl fmt::Display for Value {
    /// The value as a person reads it in a table: strings unquoted, temporal values in ISO
    /// 8601, bytes in base64, lists and maps as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::Time(t) => write!(f, "{}", t.format("%H:%M:%S%.f")),
            Value::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.f")),
            Value::DateTimeTz(dt) => write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.f%:z")),
            Value::Duration(d) => write!(f, "{d}"),
            Value::List(_) | Value::Map(_) => write!(f, "{}", self.to_json()),
        }
    }
}

/// A calendar span: months, days and an exact remainder, as SQL intervals and Cypher
/// durations have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    /// Whole months (years are 12 months).
    pub months: i64,
    /// Whole days.
    pub days: i64,
    /// The rest, in nanoseconds.
    pub nanos: i64,
}

impl fmt::Display for Duration {
    /// ISO 8601, as Cypher writes durations: `P1Y2M3DT4H5M6.5S`, `PT0S` when zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Duration::default() {
            return f.write_str("PT0S");
        }
        f.write_str("P")?;
        let (years, months) = (self.months / 12, self.months % 12);
        if years != 0 {
            write!(f, "{years}Y")?;
        }
        if months != 0 {
            write!(f, "{months}M")?;
        }
        if self.days != 0 {
            write!(f, "{}D", self.days)?;
        }
        if self.nanos != 0 {
            f.write_str("T")?;
            let sign = if self.nanos < 0 { "-" } else { "" };
            let total = self.nanos.unsigned_abs();
            let (hours, rest) = (total / 3_600_000_000_000, total % 3_600_000_000_000);
            let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
            let (seconds, fraction) = (rest / 1_000_000_000, rest % 1_000_000_000);
            if hours != 0 {
                write!(f, "{sign}{hours}H")?;
            }
            if minutes != 0 {
                write!(f, "{sign}{minutes}M")?;
            }
            if seconds != 0 || fraction != 0 {
                write!(f, "{sign}{seconds}")?;
                if fraction != 0 {
                    let digits = format!("{fraction:09}");
                    write!(f, ".{}", digits.trim_end_matches('0'))?;
                }
                f.write_str("S")?;
            }
        }
        Ok(())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_values_render_as_iso_8601() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let time = NaiveTime::from_hms_micro_opt(13, 5, 9, 250_000).unwrap();
        assert_eq!(Value::Date(date).to_string(), "2024-02-29");
        assert_eq!(Value::DateTime(date.and_time(time)).to_string(), "2024-02-29T13:05:09.250");
        let tz = DateTime::parse_from_rfc3339("2024-02-29T13:05:09+02:00").unwrap();
        assert_eq!(Value::DateTimeTz(tz).to_string(), "2024-02-29T13:05:09+02:00");
    }

    #[test]
    fn json_round_trip_keeps_integers_integers() {
        let json: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":1.5,"c":[true,null],"d":"x"}"#).unwrap();
        let value = Value::from_json(json.clone());
        let Value::Map(map) = &value else { panic!("expected a map") };
        assert_eq!(map["a"], Value::Int(1));
        assert_eq!(map["b"], Value::Float(1.5));
        assert_eq!(value.to_json(), json);
    }

    #[test]
    fn nan_has_a_readable_json_form() {
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::String("NaN".into()));
    }

    #[test]
    fn durations_render_as_iso_8601() {
        let d = Duration { months: 14, days: 3, nanos: 4 * 3_600_000_000_000 + 5 * 60_000_000_000 + 6_500_000_000 };
        assert_eq!(Value::Duration(d).to_string(), "P1Y2M3DT4H5M6.5S");
        assert_eq!(Duration::default().to_string(), "PT0S");
        assert_eq!(Duration { months: 0, days: 0, nanos: -90_000_000_000 }.to_string(), "PT-1M-30S");
    }

    #[test]
    fn bytes_render_as_base64() {
        assert_eq!(Value::Bytes(vec![0, 255, 16]).to_string(), "AP8Q");
    }
}
