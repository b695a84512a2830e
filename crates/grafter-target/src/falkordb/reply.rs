//! Reading FalkorDB's compact result sets (`GRAPH.QUERY … --compact`) into grafter values.
//!
//! A compact reply is `[header, rows, statistics]` (or `[statistics]` for a query that
//! returns nothing). Every cell is a `[type, value]` pair, so integers, strings and booleans
//! are never confused. Nodes and relationships name their labels, types and property keys by
//! number; [`Names`] holds the server's lists to turn the numbers back into names, and
//! [`needs_names`] says when those lists must be (re)read first. Replies come as
//! [`Frame`]s, whether read from the socket's bytes ([`super::wire`]) or through the `redis`
//! crate ([`super::frame::from_redis`]).

use std::collections::BTreeMap;

use grafter_model::Value;

use super::frame::Frame as R;

/// The server's names for label, relationship-type and property-key numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub labels: Vec<String>,
    pub types: Vec<String>,
    pub keys: Vec<String>,
}

/// A reply, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reply {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Statistics lines, e.g. `Nodes created: 3`.
    pub statistics: Vec<String>,
}

/// Whether the reply holds a node, relationship or path whose numbers `names` cannot resolve.
pub(crate) fn needs_names(raw: &R<'_>, names: &Names) -> bool {
    let R::Array(parts) = raw else { return false };
    let Some(R::Array(rows)) = parts.get(1) else { return false };
    rows.iter().any(|row| match row {
        R::Array(cells) => cells.iter().any(|cell| cell_needs_names(cell, names)),
        _ => false,
    })
}

fn cell_needs_names(cell: &R<'_>, names: &Names) -> bool {
    let R::Array(pair) = cell else { return false };
    let (Some(kind), Some(value)) = (pair.first().and_then(int), pair.get(1)) else { return false };
    let beyond = |id: Option<i64>, list: &[String]| id.is_none_or(|id| id < 0 || id as usize >= list.len());
    match (kind, value) {
        (6, R::Array(items)) => items.iter().any(|item| cell_needs_names(item, names)),
        (10, R::Array(items)) => items.iter().skip(1).step_by(2).any(|item| cell_needs_names(item, names)),
        (9, R::Array(items)) => items.iter().any(|item| cell_needs_names(item, names)),
        (8, R::Array(node)) => {
            let labels = match node.get(1) {
                Some(R::Array(ids)) => ids.iter().any(|id| beyond(int(id), &names.labels)),
                _ => false,
            };
            labels || properties_need_names(node.get(2), names)
        }
        (7, R::Array(edge)) => {
            beyond(edge.get(1).and_then(int), &names.types) || properties_need_names(edge.get(4), names)
        }
        _ => false,
    }
}

fn properties_need_names(properties: Option<&R<'_>>, names: &Names) -> bool {
    let Some(R::Array(properties)) = properties else { return false };
    properties.iter().any(|p| match p {
        R::Array(triple) => triple.first().and_then(int).is_none_or(|id| id < 0 || id as usize >= names.keys.len()),
        _ => true,
    })
}

/// Decodes a compact reply.
pub(crate) fn decode(raw: R<'_>, names: &Names) -> Result<Reply, String> {
    let R::Array(parts) = raw else { return Err(format!("unexpected reply {raw:?}")) };
    let mut parts = parts.into_iter();
    let mut reply = Reply::default();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(statistics), None, None) => reply.statistics = strings(statistics),
        (Some(R::Array(header)), Some(R::Array(rows)), statistics) => {
            reply.columns = header
                .into_iter()
                .map(|column| match column {
                    R::Array(pair) => pair.into_iter().nth(1).map(text).unwrap_or_default(),
                    other => text(other),
                })
                .collect();
            reply.rows = rows
                .into_iter()
                .map(|row| match row {
                    R::Array(cells) => cells.into_iter().map(|cell| cell_value(cell, names)).collect(),
                    other => Err(format!("unexpected row {other:?}")),
                })
                .collect::<Result<_, _>>()?;
            reply.statistics = statistics.map(strings).unwrap_or_default();
        }
        other => return Err(format!("unexpected reply shape {other:?}")),
    }
    Ok(reply)
}

fn int(value: &R<'_>) -> Option<i64> {
    match value {
        R::Int(i) => Some(*i),
        R::Text(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        _ => None,
    }
}

fn text(value: R<'_>) -> String {
    match value {
        R::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        },
        R::Int(i) => i.to_string(),
        R::Nil => String::new(),
        other => format!("{other:?}"),
    }
}

fn strings(value: R<'_>) -> Vec<String> {
    match value {
        R::Array(items) => items.into_iter().map(text).collect(),
        other => vec![text(other)],
    }
}

fn name(list: &[String], id: i64) -> String {
    usize::try_from(id).ok().and_then(|i| list.get(i)).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// One `[type, value]` cell.
fn cell_value(cell: R<'_>, names: &Names) -> Result<Value, String> {
    let R::Array(pair) = cell else { return Err(format!("unexpected cell {cell:?}")) };
    let mut pair = pair.into_iter();
    let (Some(kind), Some(value)) = (pair.next(), pair.next()) else {
        return Ok(Value::Null);
    };
    let kind = int(&kind).ok_or_else(|| format!("unexpected cell type {kind:?}"))?;
    typed_value(kind, value, names)
}

fn typed_value(kind: i64, value: R<'_>, names: &Names) -> Result<Value, String> {
    Ok(match kind {
        1 => Value::Null,
        2 => Value::String(text(value)),
        3 => Value::Int(int(&value).ok_or_else(|| format!("bad integer {value:?}"))?),
        4 => Value::Bool(text(value) == "true"),
        5 => {
            let shown = text(value);
            Value::Float(match shown.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                other => other.parse().map_err(|_| format!("bad double {other:?}"))?,
            })
        }
        6 => match value {
            R::Array(items) => {
                Value::List(items.into_iter().map(|item| cell_value(item, names)).collect::<Result<_, _>>()?)
            }
            other => return Err(format!("bad array {other:?}")),
        },
        7 => edge(value, names)?,
        8 => node(value, names)?,
        9 => match value {
            R::Array(parts) => {
                let mut map = BTreeMap::new();
                let mut parts = parts.into_iter();
                if let Some(nodes) = parts.next() {
                    map.insert("nodes".to_owned(), cell_value(nodes, names)?);
                }
                if let Some(edges) = parts.next() {
                    map.insert("relationships".to_owned(), cell_value(edges, names)?);
                }
                Value::Map(map)
            }
            other => return Err(format!("bad path {other:?}")),
        },
        10 => match value {
            R::Array(items) => {
                let mut map = BTreeMap::new();
                let mut items = items.into_iter();
                while let (Some(key), Some(item)) = (items.next(), items.next()) {
                    map.insert(text(key), cell_value(item, names)?);
                }
                Value::Map(map)
            }
            other => return Err(format!("bad map {other:?}")),
        },
        11 => match value {
            R::Array(coordinates) => {
                let mut map = BTreeMap::new();
                let mut coordinates = coordinates.into_iter().map(text);
                for key in ["latitude", "longitude"] {
                    let number = coordinates.next().and_then(|c| c.parse().ok()).unwrap_or(f64::NAN);
                    map.insert(key.to_owned(), Value::Float(number));
                }
                Value::Map(map)
            }
            other => return Err(format!("bad point {other:?}")),
        },
        13 => {
            epoch_seconds(&value, |s| chrono::DateTime::from_timestamp(s, 0).map(|dt| Value::DateTime(dt.naive_utc())))?
        }
        14 => epoch_seconds(&value, |s| chrono::DateTime::from_timestamp(s, 0).map(|dt| Value::Date(dt.date_naive())))?,
        15 => epoch_seconds(&value, |s| chrono::DateTime::from_timestamp(s, 0).map(|dt| Value::Time(dt.time())))?,
        16 => Value::Duration(grafter_model::Duration {
            months: 0,
            days: 0,
            nanos: int(&value).unwrap_or(0).saturating_mul(1_000_000_000),
        }),
        _ => match value {
            R::Array(items) => Value::List(items.into_iter().map(|i| Value::String(text(i))).collect()),
            other => Value::String(text(other)),
        },
    })
}

fn epoch_seconds(value: &R<'_>, make: impl Fn(i64) -> Option<Value>) -> Result<Value, String> {
    let seconds = int(value).ok_or_else(|| format!("bad temporal value {value:?}"))?;
    make(seconds).ok_or_else(|| format!("temporal value out of range: {seconds}"))
}

fn properties(value: Option<R<'_>>, names: &Names, into: &mut BTreeMap<String, Value>) -> Result<(), String> {
    let Some(R::Array(properties)) = value else { return Ok(()) };
    for property in properties {
        let R::Array(triple) = property else { continue };
        let mut triple = triple.into_iter();
        let (Some(key), Some(kind), Some(value)) = (triple.next(), triple.next(), triple.next()) else { continue };
        let key = name(&names.keys, int(&key).unwrap_or(-1));
        let kind = int(&kind).unwrap_or(1);
        into.insert(key, typed_value(kind, value, names)?);
    }
    Ok(())
}

/// A node as a map: `_id`, `_labels` and its properties.
fn node(value: R<'_>, names: &Names) -> Result<Value, String> {
    let R::Array(parts) = value else { return Err(format!("bad node {value:?}")) };
    let mut parts = parts.into_iter();
    let mut map = BTreeMap::new();
    if let Some(id) = parts.next() {
        map.insert("_id".to_owned(), Value::Int(int(&id).unwrap_or(-1)));
    }
    if let Some(R::Array(labels)) = parts.next() {
        let labels = labels.iter().map(|id| Value::String(name(&names.labels, int(id).unwrap_or(-1)))).collect();
        map.insert("_labels".to_owned(), Value::List(labels));
    }
    properties(parts.next(), names, &mut map)?;
    Ok(Value::Map(map))
}

/// A relationship as a map: `_id`, `_type`, `_start`, `_end` and its properties.
fn edge(value: R<'_>, names: &Names) -> Result<Value, String> {
    let R::Array(parts) = value else { return Err(format!("bad relationship {value:?}")) };
    let mut parts = parts.into_iter();
    let mut map = BTreeMap::new();
    for field in ["_id", "_type", "_start", "_end"] {
        let Some(part) = parts.next() else { break };
        let number = int(&part).unwrap_or(-1);
        let value = if field == "_type" { Value::String(name(&names.types, number)) } else { Value::Int(number) };
        map.insert(field.to_owned(), value);
    }
    properties(parts.next(), names, &mut map)?;
    Ok(Value::Map(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> R<'_> {
        R::Text(s.as_bytes())
    }

    fn cell(kind: i64, value: R<'_>) -> R<'_> {
        R::Array(vec![R::Int(kind), value])
    }

    #[test]
    fn typed_cells_decode_without_guessing() {
        let raw = R::Array(vec![
            R::Array(vec![R::Array(vec![R::Int(1), bulk("a")]), R::Array(vec![R::Int(1), bulk("b")])]),
            R::Array(vec![R::Array(vec![cell(2, bulk("true")), cell(4, bulk("true"))])]),
            R::Array(vec![bulk("Cached execution: 0")]),
        ]);
        let reply = decode(raw, &Names::default()).unwrap();
        assert_eq!(reply.columns, ["a", "b"]);
        assert_eq!(reply.rows, vec![vec![Value::from("true"), Value::Bool(true)]]);
    }

    #[test]
    fn nodes_name_their_labels_and_keys() {
        let names = Names { labels: vec!["Album".into()], types: vec![], keys: vec!["id".into()] };
        let node = cell(
            8,
            R::Array(vec![
                R::Int(7),
                R::Array(vec![R::Int(0)]),
                R::Array(vec![R::Array(vec![R::Int(0), R::Int(3), R::Int(42)])]),
            ]),
        );
        let raw = R::Array(vec![R::Array(vec![bulk("n")]), R::Array(vec![R::Array(vec![node])]), R::Array(vec![])]);
        assert!(needs_names(&raw, &Names::default()));
        assert!(!needs_names(&raw, &names));
        let reply = decode(raw, &names).unwrap();
        let Value::Map(map) = &reply.rows[0][0] else { panic!("not a map: {reply:?}") };
        assert_eq!(map["_labels"], Value::List(vec![Value::from("Album")]));
        assert_eq!(map["id"], Value::Int(42));
    }
}
