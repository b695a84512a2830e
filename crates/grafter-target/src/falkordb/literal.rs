//! Values as FalkorDB can take and keep them.
//!
//! FalkorDB binds no parameters server-side: a query's parameters travel as a `CYPHER
//! name=literal …` prefix that the server parses. [`write_literal`] writes one value as such
//! a literal, escaped so that no value can end the literal early (the injection-proof part).
//!
//! What FalkorDB keeps of each value (and what it reports back over its native protocol) is
//! [`crate::cypher::values`]'s business, shared with the Bolt target.

use std::fmt::Write as _;

use grafter_model::Value;

pub(crate) use crate::cypher::values::{reported_form, storable};

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

/// `[a, b, …]`: a list of values as one literal (a row of a batch).
pub(crate) fn list_literal(values: impl IntoIterator<Item = Value>) -> String {
    let mut out = String::new();
    write_literal(&mut out, &Value::List(values.into_iter().collect()));
    out
}

/// `CYPHER name=literal … rows=[…] ` with the rows given as ready-made literals.
pub(crate) fn prefix_with_rows(params: &[(String, Value)], rows: &[&String]) -> String {
    let mut text = params_prefix(params);
    if text.is_empty() {
        text.push_str("CYPHER ");
    }
    let size: usize = rows.iter().map(|r| r.len() + 1).sum();
    text.reserve(size + 16);
    text.push_str("rows=[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(row);
    }
    text.push_str("] ");
    text
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
    fn parameters_form_a_prefix() {
        let prefix = params_prefix(&[("a".into(), Value::Int(1)), ("b".into(), Value::from("x"))]);
        assert_eq!(prefix, "CYPHER a=1 b='x' ");
    }
}
