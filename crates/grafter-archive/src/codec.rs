//! How values are written as text so that every [`Value`] comes back with its exact type.
//!
//! Two forms, one for each data format:
//!
//! - **Typed JSON** (NDJSON lines, and CSV cells that need it): JSON's own null, booleans,
//!   integers, strings and arrays stand for themselves; a float is a JSON number with a
//!   fraction or exponent (`1.0`, never `1`), so it reads back as a float; everything else
//!   is an object with exactly one `$`-tag: `{"$date": "2024-02-29"}`, `{"$bytes": base64}`,
//!   `{"$map": {…}}`, `{"$float": "NaN"}`. Since every object is a tag, no map can be
//!   mistaken for one.
//! - **CSV cells**: a column's manifest type decides its plain form (`42` in an int column,
//!   `2024-02-29` in a date column, the text itself in a string column), so archives stay
//!   readable. `\N` is NULL; a value whose type differs from its column's (a decimal policy
//!   giving floats in a decimal column, say) is `\` followed by its typed JSON; a string
//!   starting with `\` gets a second `\` in front.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use grafter_model::{Duration, LogicalType, Value, ValueKind};
use serde_json::{Value as Json, json};

const DATE: &str = "%Y-%m-%d";
const TIME: &str = "%H:%M:%S%.f";
const DATETIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The CSV text of NULL.
pub const NULL_CELL: &str = "\\N";

/// The value as typed JSON.
pub fn to_typed_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => match serde_json::Number::from_f64(*x) {
            Some(number) => Json::Number(number),
            None => json!({"$float": x.to_string()}),
        },
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => json!({"$bytes": base64::engine::general_purpose::STANDARD.encode(b)}),
        Value::Date(_) => json!({"$date": value.to_string()}),
        Value::Time(_) => json!({"$time": value.to_string()}),
        Value::DateTime(_) => json!({"$datetime": value.to_string()}),
        Value::DateTimeTz(_) => json!({"$datetimetz": value.to_string()}),
        Value::Duration(d) => json!({"$duration": [d.months, d.days, d.nanos]}),
        Value::List(items) => Json::Array(items.iter().map(to_typed_json).collect()),
        Value::Map(map) => {
            let inner: serde_json::Map<String, Json> = map.iter().map(|(k, v)| (k.clone(), to_typed_json(v))).collect();
            json!({"$map": inner})
        }
    }
}

/// Reads typed JSON back; the error says what is wrong.
pub fn from_typed_json(json: &Json) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None if n.is_f64() => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            None => return Err(format!("integer {n} is out of range")),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(from_typed_json).collect::<Result<_, _>>()?),
        Json::Object(object) => {
            let mut entries = object.iter();
            let (Some((tag, body)), None) = (entries.next(), entries.next()) else {
                return Err(format!("an object must have exactly one `$` tag, found {json}"));
            };
            let text = || body.as_str().ok_or_else(|| format!("`{tag}` needs a string, found {body}"));
            match tag.as_str() {
                "$float" => Value::Float(text()?.parse().map_err(|_| format!("bad float {body}"))?),
                "$bytes" => Value::Bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(text()?)
                        .map_err(|e| format!("bad base64: {e}"))?,
                ),
                "$date" => plain(text()?, ValueKind::Date)?,
                "$time" => plain(text()?, ValueKind::Time)?,
                "$datetime" => plain(text()?, ValueKind::DateTime)?,
                "$datetimetz" => plain(text()?, ValueKind::DateTimeTz)?,
                "$duration" => {
                    let parts: Option<Vec<i64>> = body.as_array().map(|a| a.iter().filter_map(Json::as_i64).collect());
                    match parts.as_deref() {
                        Some(&[months, days, nanos]) => Value::Duration(Duration { months, days, nanos }),
                        _ => return Err(format!("`$duration` needs [months, days, nanos], found {body}")),
                    }
                }
                "$map" => {
                    let inner = body.as_object().ok_or_else(|| format!("`$map` needs an object, found {body}"))?;
                    let map: BTreeMap<String, Value> = inner
                        .iter()
                        .map(|(k, v)| from_typed_json(v).map(|v| (k.clone(), v)))
                        .collect::<Result<_, _>>()?;
                    Value::Map(map)
                }
                other => return Err(format!("unknown tag `{other}`")),
            }
        }
    })
}

/// The value kind a column of `logical` type is written plainly as in CSV; `None`: typed
/// JSON (JSON columns, whose values are maps, lists or scalars).
fn plain_kind(logical: LogicalType) -> Option<ValueKind> {
    Some(match logical {
        LogicalType::Bool => ValueKind::Bool,
        LogicalType::Int => ValueKind::Int,
        LogicalType::Float => ValueKind::Float,
        LogicalType::Decimal | LogicalType::String | LogicalType::Any => ValueKind::String,
        LogicalType::Bytes => ValueKind::Bytes,
        LogicalType::Date => ValueKind::Date,
        LogicalType::Time => ValueKind::Time,
        LogicalType::DateTime => ValueKind::DateTime,
        LogicalType::DateTimeTz => ValueKind::DateTimeTz,
        // Typed JSON carries durations and lists exactly.
        LogicalType::Json | LogicalType::Duration | LogicalType::List => return None,
    })
}

/// The CSV cell for `value` in a column of type `logical`.
pub fn to_cell(value: &Value, logical: LogicalType) -> String {
    let plain = plain_kind(logical);
    match value {
        Value::Null => NULL_CELL.to_owned(),
        Value::String(s) if plain == Some(ValueKind::String) => {
            if s.starts_with('\\') {
                format!("\\{s}")
            } else {
                s.clone()
            }
        }
        Value::Float(x) if plain == Some(ValueKind::Float) => x.to_string(),
        Value::Bool(_)
        | Value::Int(_)
        | Value::Bytes(_)
        | Value::Date(_)
        | Value::Time(_)
        | Value::DateTime(_)
        | Value::DateTimeTz(_)
            if plain == Some(value.kind()) =>
        {
            value.to_string()
        }
        _ if plain.is_none() => to_typed_json(value).to_string(),
        _ => format!("\\{}", to_typed_json(value)),
    }
}

/// Reads a CSV cell of a column of type `logical`.
pub fn from_cell(cell: &str, logical: LogicalType) -> Result<Value, String> {
    if cell == NULL_CELL {
        return Ok(Value::Null);
    }
    if let Some(escaped) = cell.strip_prefix("\\\\") {
        return Ok(Value::String(format!("\\{escaped}")));
    }
    if let Some(json) = cell.strip_prefix('\\') {
        return typed_text(json);
    }
    match plain_kind(logical) {
        Some(kind) => plain(cell, kind),
        None => typed_text(cell),
    }
}

fn typed_text(text: &str) -> Result<Value, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not typed JSON ({e}): {text}"))?;
    from_typed_json(&json)
}

/// Parses the plain text of a value of `kind` (as [`Value`]'s `Display` writes it).
fn plain(text: &str, kind: ValueKind) -> Result<Value, String> {
    let bad = |what: &str| format!("`{text}` is not a {what}");
    Ok(match kind {
        ValueKind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("boolean")),
        },
        ValueKind::Int => Value::Int(text.parse().map_err(|_| bad("64-bit integer"))?),
        ValueKind::Float => Value::Float(text.parse().map_err(|_| bad("float"))?),
        ValueKind::Bytes => {
            Value::Bytes(base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| bad("base64 text"))?)
        }
        ValueKind::Date => Value::Date(NaiveDate::parse_from_str(text, DATE).map_err(|_| bad("date"))?),
        ValueKind::Time => Value::Time(NaiveTime::parse_from_str(text, TIME).map_err(|_| bad("time"))?),
        ValueKind::DateTime => {
            Value::DateTime(NaiveDateTime::parse_from_str(text, DATETIME).map_err(|_| bad("date and time"))?)
        }
        ValueKind::DateTimeTz => {
            Value::DateTimeTz(DateTime::parse_from_rfc3339(text).map_err(|_| bad("date and time with offset"))?)
        }
        _ => Value::String(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Value> {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let time = NaiveTime::from_hms_nano_opt(13, 5, 9, 123_456_789).unwrap();
        let mut map = BTreeMap::new();
        map.insert("$date".to_owned(), Value::from("not a tag"));
        map.insert("n".to_owned(), Value::List(vec![Value::Int(1), Value::Float(1.0), Value::Date(date)]));
        vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Float(1.0),
            Value::Float(-0.1),
            Value::Float(1e300),
            Value::Float(f64::INFINITY),
            Value::from(""),
            Value::from("\\N"),
            Value::from("\\"),
            Value::from("42"),
            Value::from("line\nbreak, \"quoted\""),
            Value::Bytes(vec![0, 255, 10]),
            Value::Date(date),
            Value::Time(time),
            Value::DateTime(date.and_time(time)),
            Value::DateTimeTz(DateTime::parse_from_rfc3339("2024-02-29T13:05:09.5+02:00").unwrap()),
            Value::Duration(Duration { months: 14, days: -3, nanos: 5 }),
            Value::Map(map),
            Value::List(vec![]),
        ]
    }

    const EVERY_TYPE: [LogicalType; 14] = [
        LogicalType::Bool,
        LogicalType::Int,
        LogicalType::Float,
        LogicalType::Decimal,
        LogicalType::String,
        LogicalType::Bytes,
        LogicalType::Date,
        LogicalType::Time,
        LogicalType::DateTime,
        LogicalType::DateTimeTz,
        LogicalType::Json,
        LogicalType::Duration,
        LogicalType::List,
        LogicalType::Any,
    ];

    #[test]
    fn every_value_survives_typed_json() {
        for value in samples() {
            let text = to_typed_json(&value).to_string();
            let back = from_typed_json(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(back, value, "{text}");
        }
        let nan = from_typed_json(&to_typed_json(&Value::Float(f64::NAN))).unwrap();
        assert!(matches!(nan, Value::Float(x) if x.is_nan()));
    }

    #[test]
    fn every_value_survives_a_csv_cell_of_every_column_type() {
        for logical in EVERY_TYPE {
            for value in samples() {
                let cell = to_cell(&value, logical);
                assert_eq!(from_cell(&cell, logical).unwrap(), value, "{logical:?} cell {cell:?}");
            }
        }
    }

    #[test]
    fn cells_of_the_columns_own_type_are_plain() {
        assert_eq!(to_cell(&Value::Int(42), LogicalType::Int), "42");
        assert_eq!(to_cell(&Value::from("42"), LogicalType::String), "42");
        assert_eq!(to_cell(&Value::Int(42), LogicalType::String), "\\42");
        assert_eq!(to_cell(&Value::Float(2.5), LogicalType::Decimal), "\\2.5");
    }

    #[test]
    fn objects_that_are_not_tags_are_errors() {
        let err = from_typed_json(&json!({"a": 1, "b": 2})).unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
        assert!(from_typed_json(&json!({"$nope": 1})).unwrap_err().contains("unknown tag"));
    }
}
