//! Values on their way to a Bolt server and back.
//!
//! Out: a grafter [`Value`] becomes what the server keeps ([`storable`]: Neo4j's or
//! FalkorDB's rules, [`crate::cypher::values`]), then a [`BoltValue`] parameter. Most servers
//! bind parameters as they come. FalkorDB's Bolt port writes them into the query text
//! instead (see [`super::server`]), so for it [`parameter`] escapes strings the way its
//! parser reads them back (a backslash before every backslash and quote) and refuses what
//! that text cannot carry: a double its six printed decimals would change, a map key that is
//! not a plain name. A double in a batch row travels as `[m, e]` (`m × 2^e`, both integers)
//! and the statement rebuilds it ([`exact_column`]), so every bit arrives. [`spliced_len`]
//! says how long the text FalkorDB makes of a parameter is, to keep statements under its
//! limit.
//!
//! Back: [`from_bolt`] turns answers into values; nodes, relationships and paths become
//! maps, as the native FalkorDB target shows them.

use std::collections::BTreeMap;

use grafter_bolt::{BoltMap, BoltValue};
use grafter_model::Value;

use super::server::Server;
use crate::cypher::values;

/// The value `server` keeps for `value`, or why it cannot keep it (the row is rejected).
pub(crate) fn storable(server: Server, value: Value) -> Result<Value, String> {
    match server {
        Server::FalkorDb => {
            let value = values::storable(value).map_err(|e| e.0)?;
            if let Value::List(items) = &value
                && let Some(x) = inexact_float(items)
            {
                return Err(format!(
                    "FalkorDB's Bolt port carries doubles in lists with six decimals, which would change {x:?} (load it through falkordb://)"
                ));
            }
            Ok(value)
        }
        Server::Neo4j | Server::Memgraph => values::neo4j_storable(value).map_err(|e| e.0),
        Server::ArcadeDb => match value {
            Value::DateTimeTz(_) => Ok(Value::String(value.to_string())),
            Value::List(items) if items.iter().any(|item| matches!(item, Value::DateTimeTz(_))) => {
                Ok(Value::String(Value::List(items).to_string()))
            }
            other => values::neo4j_storable(other).map_err(|e| e.0),
        },
    }
}

/// Why `server` cannot store `value`, if it cannot: what [`storable`] refuses, told without
/// converting simple values (it runs for every value loaded).
pub(crate) fn refusal(server: Server, value: &Value) -> Option<String> {
    match server {
        Server::Neo4j | Server::Memgraph | Server::ArcadeDb => None,
        Server::FalkorDb => match value {
            Value::List(_) => storable(server, value.clone()).err(),
            other => values::falkordb_refusal(other),
        },
    }
}

/// The first double in `items` (at any depth) that six printed decimals would change.
fn inexact_float(items: &[Value]) -> Option<f64> {
    items.iter().find_map(|item| match item {
        Value::Float(x) if !survives_six_decimals(*x) => Some(*x),
        Value::List(inner) => inexact_float(inner),
        _ => None,
    })
}

/// Whether `x` printed as C's `%f` (six decimals, as FalkorDB's Bolt port writes doubles)
/// reads back as the same double.
pub(crate) fn survives_six_decimals(x: f64) -> bool {
    x.is_finite() && format!("{x:.6}").parse::<f64>().is_ok_and(|y| y.to_bits() == x.to_bits())
}

/// `x` as `(m, e)` with `x = m × 2^e` exactly (`x` finite; -0.0 comes back as 0.0, but
/// never needs this: it survives six decimals).
pub(crate) fn mantissa_exponent(x: f64) -> (i64, i64) {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let fraction = (bits & ((1u64 << 52) - 1)) as i64;
    let (m, e) = if exponent == 0 { (fraction, -1074) } else { (fraction | (1i64 << 52), exponent - 1075) };
    (if bits >> 63 == 1 { -m } else { m }, e)
}

/// How a statement reads row position `i` when the positions in `exact` hold doubles as
/// `[m, e]`.
pub(crate) fn exact_column(exact: &[usize]) -> impl Fn(usize) -> String + '_ {
    move |i| {
        if exact.contains(&i) { format!("(r[{i}][0] * 2.0 ^ r[{i}][1])") } else { format!("r[{i}]") }
    }
}

/// A parameter for `server`; an error says why the server's Bolt port cannot carry it.
pub(crate) fn parameter(server: Server, value: Value) -> Result<BoltValue, String> {
    if !server.splices_parameters() {
        return Ok(BoltValue::from(value));
    }
    Ok(match value {
        Value::Null => BoltValue::Null,
        Value::Bool(b) => BoltValue::Boolean(b),
        Value::Int(i) => BoltValue::Integer(i),
        Value::Float(x) if survives_six_decimals(x) => BoltValue::Float(x),
        Value::Float(x) => {
            return Err(format!(
                "FalkorDB's Bolt port carries doubles with six decimals, which would change {x:?} (use falkordb://)"
            ));
        }
        Value::String(s) if s.contains('\0') => {
            return Err("FalkorDB's Bolt port cuts text at a NUL character".into());
        }
        Value::String(s) => BoltValue::String(escape(&s)),
        Value::List(items) => {
            BoltValue::List(items.into_iter().map(|item| parameter(server, item)).collect::<Result<_, _>>()?)
        }
        Value::Map(map) => {
            let mut out = BoltMap::new();
            for (key, item) in map {
                if !is_plain_name(&key) {
                    return Err(format!(
                        "map key `{key}`: FalkorDB's Bolt port takes letters, digits and underscores only"
                    ));
                }
                out.insert(key, parameter(server, item)?);
            }
            BoltValue::Dictionary(out)
        }
        other => parameter(server, values::storable(other).map_err(|e| e.0)?)?,
    })
}

/// A batch row: every value a parameter for `server`, and the positions of doubles sent as
/// `[m, e]` (FalkorDB only; values went through [`storable`] first).
pub(crate) fn row(server: Server, values: Vec<Value>) -> Result<(BoltValue, Vec<usize>), String> {
    let mut exact = Vec::new();
    let mut items = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        match value {
            // Also when the six decimals would be long: `[m, e]` is at most 40 characters.
            Value::Float(x) if server.splices_parameters() && (!survives_six_decimals(x) || x.abs() >= 1e16) => {
                let (m, e) = mantissa_exponent(x);
                exact.push(i);
                items.push(BoltValue::List(vec![BoltValue::Integer(m), BoltValue::Integer(e)]));
            }
            other => items.push(parameter(server, other)?),
        }
    }
    Ok((BoltValue::List(items), exact))
}

/// `s` as FalkorDB's Cypher parser must see it between single quotes to read back `s`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Letters, digits and underscores, not first a digit.
pub(crate) fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The length of the text FalkorDB's Bolt port writes for `value` (`NULL`, `true`, digits,
/// `%f`, `'…'`, `[a, b]`, `{k: v}`).
pub(crate) fn spliced_len(value: &BoltValue) -> usize {
    match value {
        BoltValue::Null => 4,
        BoltValue::Boolean(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        BoltValue::Integer(i) => i.to_string().len(),
        BoltValue::Float(x) => format!("{x:.6}").len(),
        BoltValue::String(s) => s.len() + 2,
        BoltValue::List(items) => 2 + items.iter().map(spliced_len).sum::<usize>() + 2 * items.len().saturating_sub(1),
        BoltValue::Dictionary(map) => {
            2 + map.iter().map(|(k, v)| k.len() + 2 + spliced_len(v)).sum::<usize>() + 2 * map.len().saturating_sub(1)
        }
        // Nothing else is sent to it (`parameter` turns every value into one of the above);
        // counted long so that it is never taken to fit.
        _ => usize::MAX / 4,
    }
}

/// The length of the text FalkorDB's Bolt port makes of `query` with `params`
/// (`CYPHER a=… b=… query`).
pub(crate) fn statement_text_len(query: &str, params: &BoltMap) -> usize {
    if params.is_empty() {
        return query.len();
    }
    "CYPHER ".len()
        + params.iter().map(|(name, value)| name.len() + 2 + spliced_len(value)).sum::<usize>()
        + query.len()
}

/// A value from the server as grafter's.
pub(crate) fn from_bolt(value: BoltValue) -> Value {
    match value {
        BoltValue::List(items) => Value::List(items.into_iter().map(from_bolt).collect()),
        BoltValue::Dictionary(map) => Value::Map(map.into_iter().map(|(k, v)| (k, from_bolt(v))).collect()),
        BoltValue::Node(node) => {
            let mut map = properties(node.properties);
            map.insert("_id".into(), Value::Int(node.id));
            map.insert("_labels".into(), Value::List(node.labels.into_iter().map(Value::String).collect()));
            Value::Map(map)
        }
        BoltValue::Relationship(rel) => {
            let mut map = properties(rel.properties);
            map.insert("_id".into(), Value::Int(rel.id));
            map.insert("_type".into(), Value::String(rel.rel_type));
            map.insert("_start".into(), Value::Int(rel.start_node_id));
            map.insert("_end".into(), Value::Int(rel.end_node_id));
            Value::Map(map)
        }
        BoltValue::UnboundRelationship(rel) => {
            let mut map = properties(rel.properties);
            map.insert("_id".into(), Value::Int(rel.id));
            map.insert("_type".into(), Value::String(rel.rel_type));
            Value::Map(map)
        }
        BoltValue::Path(path) => Value::Map(BTreeMap::from([
            ("nodes".to_owned(), Value::List(path.nodes.into_iter().map(|n| from_bolt(BoltValue::Node(n))).collect())),
            (
                "relationships".to_owned(),
                Value::List(path.rels.into_iter().map(|r| from_bolt(BoltValue::UnboundRelationship(r))).collect()),
            ),
        ])),
        other => {
            let shown = format!("{other:?}");
            // Points, times with an offset and zoned date-times have no grafter type: shown
            // as the server sent them rather than dropped.
            Value::try_from(other).unwrap_or(Value::String(shown))
        }
    }
}

fn properties(map: BoltMap) -> BTreeMap<String, Value> {
    map.into_iter().map(|(k, v)| (k, from_bolt(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_come_apart_into_integers_that_rebuild_them_exactly() {
        for x in [0.30000000000000004, -2.5, 1e300, -1e-300, 5e-324, f64::MAX, f64::MIN_POSITIVE, 123456.789] {
            let (m, e) = mantissa_exponent(x);
            assert!(m.unsigned_abs() < 1 << 53, "{x}");
            // What the statement computes: m * 2.0 ^ e.
            assert_eq!((m as f64) * 2f64.powf(e as f64), x, "{x}");
        }
        assert!(survives_six_decimals(0.5) && survives_six_decimals(-0.0) && survives_six_decimals(1.98));
        assert!(!survives_six_decimals(0.30000000000000004) && !survives_six_decimals(1e-7));
    }

    #[test]
    fn falkordb_rows_send_changing_doubles_as_integers_and_escape_strings() {
        let values = vec![Value::Int(0), Value::Float(0.1 + 0.2), Value::Float(0.5), Value::from(r"it's a \ test")];
        let (row, exact) = row(Server::FalkorDb, values.clone()).unwrap();
        assert_eq!(exact, [1]);
        let BoltValue::List(items) = row else { panic!("a row is a list") };
        assert_eq!(items[2], BoltValue::Float(0.5));
        assert_eq!(items[3], BoltValue::from(r"it\'s a \\ test"));
        // Other servers bind parameters: everything goes as it is.
        let (row, exact) = super::row(Server::Neo4j, values).unwrap();
        assert!(exact.is_empty());
        assert_eq!(row.as_list().unwrap()[1], BoltValue::Float(0.1 + 0.2));
        assert_eq!(exact_column(&[1])(1), "(r[1][0] * 2.0 ^ r[1][1])");
        assert_eq!(exact_column(&[1])(2), "r[2]");
    }

    #[test]
    fn what_falkordbs_bolt_port_cannot_carry_is_refused_with_a_reason() {
        assert!(parameter(Server::FalkorDb, Value::Float(1e-7)).unwrap_err().contains("six decimals"));
        assert!(parameter(Server::FalkorDb, Value::from("a\0b")).unwrap_err().contains("NUL"));
        let map = Value::Map(BTreeMap::from([("a b".to_owned(), Value::Int(1))]));
        assert!(parameter(Server::FalkorDb, map).unwrap_err().contains("`a b`"));
        let list = Value::List(vec![Value::Float(0.1 + 0.2)]);
        assert!(storable(Server::FalkorDb, list).unwrap_err().contains("falkordb://"));
    }

    #[test]
    fn spliced_text_is_measured_as_falkordb_writes_it() {
        let params = BoltMap::from([
            ("a".to_owned(), BoltValue::List(vec![BoltValue::Integer(-12), BoltValue::Null, BoltValue::Float(0.5)])),
            ("b".to_owned(), BoltValue::Dictionary(BoltMap::from([("k".to_owned(), BoltValue::from("x'y"))]))),
            ("c".to_owned(), BoltValue::Boolean(false)),
        ]);
        // CYPHER a=[-12, NULL, 0.500000] b={k: 'x'y'} c=false RETURN 1
        let text = "CYPHER a=[-12, NULL, 0.500000] b={k: 'x'y'} c=false RETURN 1";
        assert_eq!(statement_text_len("RETURN 1", &params), text.len());
        assert_eq!(statement_text_len("RETURN 1", &BoltMap::new()), 8);
    }

    #[test]
    fn graph_structures_read_back_as_maps() {
        let node = grafter_bolt::packstream::value::Node {
            id: 7,
            labels: vec!["A".into()],
            properties: BoltMap::from([("x".to_owned(), BoltValue::Integer(1))]),
            element_id: "7".into(),
        };
        let Value::Map(map) = from_bolt(BoltValue::Node(node)) else { panic!("a node is a map") };
        assert_eq!(map["_id"], Value::Int(7));
        assert_eq!(map["_labels"], Value::List(vec![Value::from("A")]));
        assert_eq!(map["x"], Value::Int(1));
    }
}
