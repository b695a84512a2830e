//! JSON text straight into a grafter [`Value`], for the JSON columns of SQL servers
//! (PostgreSQL's json and jsonb, MySQL's and MariaDB's JSON) under
//! [`grafter_model::JsonPolicy::Map`].
//!
//! Going through `serde_json::Value` first would build every object twice (an ordered map,
//! then grafter's map) and allocate each key twice; a JSON column is often the most
//! expensive one of a row, so this visitor builds the final value directly. The result is
//! exactly [`Value::from_json`]'s: integral numbers that fit an `i64` are `Int`, other
//! numbers `Float`, objects `Map` (a repeated key keeps its last value).

use std::collections::BTreeMap;
use std::fmt;

use grafter_model::Value;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

/// Parses a JSON document into a [`Value`].
#[cfg(feature = "postgres")]
pub(crate) fn parse(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = deserializer.deserialize_any(ValueVisitor)?;
    deserializer.end()?;
    Ok(value)
}

/// Parses a JSON document given as bytes into a [`Value`].
#[cfg(feature = "mysql")]
pub(crate) fn parse_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = deserializer.deserialize_any(ValueVisitor)?;
    deserializer.end()?;
    Ok(value)
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(Seed)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Seed)?;
            entries.insert(key, value);
        }
        Ok(Value::Map(entries))
    }
}

/// Deserializes nested values with [`ValueVisitor`].
struct Seed;

impl<'de> serde::de::DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn same_as_from_json() {
        let texts = [
            r#"{"a": {"b": [1, 2.5, null, "x", true]}, "z": -7, "big": 18446744073709551615, "a": 2}"#,
            r#"[]"#,
            r#""\u00e9\ud83c\udf89""#,
            "123456789012",
            "-0.0",
            "null",
        ];
        for text in texts {
            let expected = Value::from_json(serde_json::from_str(text).unwrap());
            assert_eq!(parse(text).unwrap(), expected, "{text}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn invalid_json_is_an_error() {
        assert!(parse("{\"a\": }").is_err());
        assert!(parse("1 2").is_err());
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn bytes_read_as_text_does() {
        let document = br#"{"a": [1, 2.5, null], "u": 18446744073709551615, "a": 2}"#;
        let expected = Value::from_json(serde_json::from_slice(document).unwrap());
        assert_eq!(parse_slice(document).unwrap(), expected);
        assert!(parse_slice(b"{\"a\":").is_err());
    }
}
