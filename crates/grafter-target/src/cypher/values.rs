//! What each graph server keeps of grafter's values as properties, and what it reports back.
//!
//! FalkorDB keeps fewer types than grafter carries: properties are booleans, integers,
//! doubles, strings and arrays of those; its temporal types keep whole seconds and cannot be
//! written as literals. So [`storable`] turns every other value into the text a person reads
//! (ISO 8601 for temporal values, base64 for bytes, JSON for maps and lists holding NULL or
//! maps) — exact and documented, never silently rounded. Doubles are kept exactly, but the
//! native protocol reports them to 15 significant digits, which [`reported_form`] mirrors for
//! verification (Bolt carries them as they are).
//!
//! Neo4j (and Memgraph, held to the same rules) keeps every Bolt type as a property, but an
//! array only of one simple type without NULL: [`neo4j_storable`] keeps those and turns maps
//! and other lists into their JSON text.

use grafter_model::Value;

/// Why a value cannot be stored at all (the row is rejected with this reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unstorable(pub String);

/// The value FalkorDB will hold for `value`: itself where FalkorDB has the type, else its text.
pub(crate) fn storable(value: Value) -> Result<Value, Unstorable> {
    match value {
        Value::Float(x) if !x.is_finite() => {
            Err(Unstorable(format!("FalkorDB cannot store the floating-point value {x}")))
        }
        Value::String(s) if s.contains('\0') => {
            Err(Unstorable("FalkorDB cannot store text containing a NUL character".into()))
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_) => Ok(value),
        Value::List(items) if items.iter().all(storable_in_array) => Ok(Value::List(items)),
        other => {
            let text = other.to_string();
            if text.contains('\0') {
                return Err(Unstorable("FalkorDB cannot store text containing a NUL character".into()));
            }
            Ok(Value::String(text))
        }
    }
}

/// Why FalkorDB cannot store `value` at all, if it cannot: what [`storable`] refuses, told
/// without converting the value (it runs for every value loaded).
pub(crate) fn falkordb_refusal(value: &Value) -> Option<String> {
    match value {
        Value::Float(x) if !x.is_finite() => Some(format!("FalkorDB cannot store the floating-point value {x}")),
        Value::String(s) if s.contains('\0') => Some("FalkorDB cannot store text containing a NUL character".into()),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_) => None,
        Value::List(items) if items.iter().all(storable_in_array) => None,
        // Stored as its text: only text holding NUL is refused. Dates, times, durations and
        // base64 never hold one; maps and lists are rendered, so look.
        Value::Date(_)
        | Value::Time(_)
        | Value::DateTime(_)
        | Value::DateTimeTz(_)
        | Value::Duration(_)
        | Value::Bytes(_) => None,
        other => storable(other.clone()).err().map(|e| e.0),
    }
}

/// Whether FalkorDB keeps `value` as an element of an array property as is.
fn storable_in_array(value: &Value) -> bool {
    match value {
        Value::Bool(_) | Value::Int(_) => true,
        Value::Float(x) => x.is_finite(),
        Value::String(s) => !s.contains('\0'),
        Value::List(items) => items.iter().all(storable_in_array),
        _ => false,
    }
}

/// The value as a query reads it back: [`storable`], with doubles rounded to the 15
/// significant digits FalkorDB reports. What verification compares the source with.
pub(crate) fn reported_form(value: Value) -> Value {
    match storable(value) {
        Ok(Value::Float(x)) => Value::Float(fifteen_digits(x)),
        Ok(Value::List(items)) => Value::List(items.into_iter().map(reported_form).collect()),
        Ok(other) => other,
        Err(_) => Value::Null,
    }
}

/// `x` rounded to 15 significant digits, as FalkorDB prints doubles (`%.15g`).
pub(crate) fn fifteen_digits(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.14e}").parse().unwrap_or(x)
}

/// The value Neo4j holds for `value`: itself for every type Bolt carries as a property
/// (temporal values, durations and bytes included); a map, or a list holding NULL, maps,
/// lists or several types, as its JSON text (Neo4j keeps neither as a property).
pub(crate) fn neo4j_storable(value: Value) -> Result<Value, Unstorable> {
    match value {
        Value::Map(_) => Ok(Value::String(value.to_string())),
        Value::List(items) if !homogeneous(&items) => Ok(Value::String(Value::List(items).to_string())),
        other => Ok(other),
    }
}

/// Whether Neo4j keeps `items` as an array property: one simple type, no NULL.
fn homogeneous(items: &[Value]) -> bool {
    let kind = |v: &Value| match v {
        Value::Bool(_) => Some(0),
        Value::Int(_) => Some(1),
        Value::Float(_) => Some(2),
        Value::String(_) => Some(3),
        Value::Date(_) => Some(4),
        Value::Time(_) => Some(5),
        Value::DateTime(_) => Some(6),
        Value::DateTimeTz(_) => Some(7),
        Value::Duration(_) => Some(8),
        Value::Null | Value::Bytes(_) | Value::List(_) | Value::Map(_) => None,
    };
    let Some(first) = items.first() else { return true };
    let Some(first) = kind(first) else { return false };
    items.iter().all(|item| kind(item) == Some(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_falkordb_lacks_are_stored_as_their_text() {
        let date = Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(storable(date), Ok(Value::from("2024-02-29")));
        assert_eq!(storable(Value::Bytes(vec![0, 255])), Ok(Value::from("AP8=")));
        let with_null = Value::List(vec![Value::Int(1), Value::Null]);
        assert_eq!(storable(with_null), Ok(Value::from("[1,null]")));
        let nested = Value::List(vec![Value::List(vec![Value::Int(1)])]);
        assert_eq!(storable(nested.clone()), Ok(nested));
    }

    #[test]
    fn what_cannot_be_stored_is_refused_with_a_reason() {
        assert!(storable(Value::Float(f64::NAN)).unwrap_err().0.contains("NaN"));
        assert!(storable(Value::from("a\0b")).unwrap_err().0.contains("NUL"));
    }

    #[test]
    fn the_refusal_told_without_converting_agrees_with_storable() {
        let date = Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        let map = |text: &str| Value::Map([("k".to_owned(), Value::from(text))].into());
        for value in [
            Value::Null,
            Value::Int(1),
            Value::Float(1.5),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::from("a\0b"),
            Value::from("plain"),
            date,
            Value::Bytes(vec![0, 0]),
            Value::List(vec![Value::Int(1), Value::Null]),
            Value::List(vec![Value::from("x\0")]),
            Value::List(vec![Value::Float(f64::NAN), Value::Null]),
            map("v"),
            map("v\0"),
        ] {
            assert_eq!(falkordb_refusal(&value), storable(value.clone()).err().map(|e| e.0), "{value:?}");
        }
    }

    #[test]
    fn reported_doubles_have_fifteen_digits() {
        assert_eq!(reported_form(Value::Float(0.1 + 0.2)), Value::Float(0.3));
        assert_eq!(reported_form(Value::Float(123_456_789.123_456_79)), Value::Float(123_456_789.123_457));
        assert_eq!(reported_form(Value::Float(-2.5)), Value::Float(-2.5));
    }

    #[test]
    fn neo4j_keeps_its_types_and_writes_the_rest_as_json() {
        let date = Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(neo4j_storable(date.clone()), Ok(date.clone()));
        assert_eq!(neo4j_storable(Value::Bytes(vec![0, 255])), Ok(Value::Bytes(vec![0, 255])));
        let ints = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(neo4j_storable(ints.clone()), Ok(ints));
        assert_eq!(neo4j_storable(Value::List(vec![Value::Int(1), Value::Null])), Ok(Value::from("[1,null]")));
        assert_eq!(neo4j_storable(Value::List(vec![Value::Int(1), Value::from("a")])), Ok(Value::from(r#"[1,"a"]"#)));
        let map = Value::Map([("k".to_owned(), Value::from("v"))].into());
        assert_eq!(neo4j_storable(map), Ok(Value::from(r#"{"k":"v"}"#)));
        assert_eq!(neo4j_storable(Value::List(vec![])), Ok(Value::List(vec![])));
    }
}
