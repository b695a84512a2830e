//! Values as FalkorDB can take and keep them.
//!
//! FalkorDB binds no parameters server-side: a query's parameters travel as a `CYPHER
//! name=literal …` prefix that the server parses. [`write_literal`] writes one value as such
//! a literal, escaped so that no value can end the literal early (the injection-proof part).
//!
//! FalkorDB keeps fewer types than grafter carries: properties are booleans, integers,
//! doubles, strings and arrays of those; its temporal types keep whole seconds and cannot be
//! written as literals. So [`storable`] turns every other value into the text a person reads
//! (ISO 8601 for temporal values, base64 for bytes, JSON for maps and lists holding NULL or
//! maps) — exact and documented, never silently rounded. Doubles are kept exactly, but the
//! server reports them to 15 significant digits, which [`reported_form`] mirrors for
//! verification.

use std::fmt::Write as _;

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

/// Appends `value` as a Cypher literal. Values must have gone through [`storable`] (or be
/// lists and maps of storable values, for parameters that are not properties).
pub(crate) fn write_literal(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // `{:?}` is the shortest text that reads back as the same double, always with a
        // fraction or exponent, so the server never takes it for an integer.
        Value::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::String(s) => write_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_literal(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            // The CYPHER prefix takes bare map keys only; grafter's own parameter maps use
            // plain identifiers, and anything else is written as a list of [key, value].
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                debug_assert!(is_bare_identifier(key), "map key {key:?} in a FalkorDB parameter");
                out.push_str(key);
                out.push(':');
                write_literal(out, item);
            }
            out.push('}');
        }
        other => write_string(out, &other.to_string()),
    }
}

/// A query parameter as FalkorDB can take it: lists and maps (with plain-identifier keys)
/// kept as such, scalar values as [`storable`] makes them.
pub(crate) fn parameter(value: Value) -> Result<Value, crate::TargetError> {
    let refuse = |message: String| crate::TargetError::Query { message };
    match value {
        Value::List(items) => Ok(Value::List(items.into_iter().map(parameter).collect::<Result<_, _>>()?)),
        Value::Map(map) => {
            let mut out = std::collections::BTreeMap::new();
            for (key, item) in map {
                if !is_bare_identifier(&key) {
                    return Err(refuse(format!(
                        "map key `{key}` in a parameter: FalkorDB takes letters, digits and underscores only"
                    )));
                }
                out.insert(key, parameter(item)?);
            }
            Ok(Value::Map(out))
        }
        other => storable(other).map_err(|e| refuse(format!("parameter value: {}", e.0))),
    }
}

/// Whether `name` can be written unquoted (letters, digits, underscores; not first a digit).
pub(crate) fn is_bare_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A single-quoted string literal: backslashes and quotes escaped, everything else as is
/// (FalkorDB reads raw newlines and any UTF-8 inside quotes).
fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// The `CYPHER a=… b=… ` prefix carrying `params` (names must be bare identifiers).
pub(crate) fn params_prefix(params: &[(String, Value)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut out = String::from("CYPHER ");
    for (name, value) in params {
        out.push_str(name);
        out.push('=');
        write_literal(&mut out, value);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(value: &Value) -> String {
        let mut out = String::new();
        write_literal(&mut out, value);
        out
    }

    #[test]
    fn strings_cannot_end_their_literal_early() {
        assert_eq!(literal(&Value::from(r"it's a \ test")), r"'it\'s a \\ test'");
        assert_eq!(literal(&Value::from("x' RETURN 1 //")), r"'x\' RETURN 1 //'");
    }

    #[test]
    fn doubles_keep_every_digit_and_stay_doubles() {
        assert_eq!(literal(&Value::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(literal(&Value::Float(1.0)), "1.0");
        assert_eq!(literal(&Value::Float(1e300)), "1e300");
    }

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
    fn reported_doubles_have_fifteen_digits() {
        assert_eq!(reported_form(Value::Float(0.1 + 0.2)), Value::Float(0.3));
        assert_eq!(reported_form(Value::Float(123_456_789.123_456_789)), Value::Float(123_456_789.123_457));
        assert_eq!(reported_form(Value::Float(-2.5)), Value::Float(-2.5));
    }

    #[test]
    fn parameters_form_a_prefix() {
        let prefix = params_prefix(&[("a".into(), Value::Int(1)), ("b".into(), Value::from("x"))]);
        assert_eq!(prefix, "CYPHER a=1 b='x' ");
    }
}
