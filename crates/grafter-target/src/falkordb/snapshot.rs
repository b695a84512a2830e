//! Snapshots of a FalkorDB graph for rollback: a copy of the graph into another graph on the
//! same server, made and restored with Cypher, page by page.
//!
//! FalkorDB has `GRAPH.COPY`, but FalkorDB 4.16.3 was seen (twice, here) to deadlock the
//! whole server in it — its copy task waiting forever for the module lock while other
//! clients loaded and indexed graphs. A migration tool must never hang the server it
//! migrates into, so grafter copies through queries instead: slower for a big graph, safe
//! beside any other client. Doubles travel exactly (as mantissa and exponent: FalkorDB prints
//! them to 15 digits only), so a restored graph is the graph that was snapshotted, bit for bit.

use std::collections::BTreeMap;

use grafter_model::{Value, quote_name};

use super::connection::{Client, ClientError, OnGraph, failed};
use super::literal::{list_literal, prefix_with_rows};
use crate::TargetError;
use crate::cypher::scan::max_id;

/// Rows of values, one statement's worth.
type Rows = Vec<Vec<Value>>;

/// Ids per page read.
const PAGE: i64 = 20_000;
/// The temporary label and property of copied nodes (see [`copy_graph`]).
const COPY_LABEL: &str = "_GrafterCopy";
const COPY_ID: &str = "_grafter_copy_id";

/// Per element: `[key, value, is_float, exponent, mantissa]` per property, so that a double
/// comes back exactly as `mantissa × 2^(exponent − 52)`.
fn exact_properties(element: &str) -> String {
    let safe = format!("CASE typeOf({element}[k]) WHEN 'Float' THEN {element}[k] ELSE 1.0 END");
    let exponent = "toInteger(floor(log(abs(p[3]) + CASE WHEN p[3] = 0.0 THEN 1.0 ELSE 0.0 END) / log(2))) - 1";
    format!(
        "[p IN [k IN keys({element}) | [k, {element}[k], typeOf({element}[k]) = 'Float', {safe}]] | \
         [p[0], p[1], p[2], {exponent}, toInteger(p[3] / 2.0 ^ ({exponent} - 52))]]"
    )
}

/// Decodes [`exact_properties`]' list into (name, value) pairs.
fn decode_properties(value: Option<Value>) -> Vec<(String, Value)> {
    let Some(Value::List(properties)) = value else { return Vec::new() };
    properties
        .into_iter()
        .filter_map(|property| {
            let Value::List(fields) = property else { return None };
            let mut fields = fields.into_iter();
            let (Some(Value::String(name)), Some(value), Some(is_float), Some(exponent), Some(mantissa)) =
                (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            let value = match (is_float, exponent, mantissa) {
                (Value::Bool(true), Value::Int(e), Value::Int(m)) => {
                    let e = i32::try_from(e - 52).unwrap_or(0);
                    Value::Float(m as f64 * 2f64.powi(e))
                }
                _ => value,
            };
            Some((name, value))
        })
        .collect()
}

async fn exists(client: &Client, graph: &str) -> Result<bool, ClientError> {
    let reply = client.command_with_retry(redis::cmd("EXISTS").arg(graph)).await?;
    Ok(!matches!(reply, redis::Value::Int(0)))
}

/// `CYPHER rows=[…] ` written from values.
fn rows_param(rows: &[Vec<Value>]) -> String {
    let literals: Vec<String> = rows.iter().map(|row| list_literal(row.iter().cloned())).collect();
    prefix_with_rows(&[], &literals.iter().collect::<Vec<_>>())
}

/// `SET x.`a` = r[2], x.`b` = r[3]` for properties starting at row position `first`.
fn sets(variable: &str, names: &[String], first: usize) -> String {
    if names.is_empty() {
        return String::new();
    }
    let sets: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{variable}.{} = r[{}]", quote_name(name), first + i))
        .collect();
    format!(" SET {}", sets.join(", "))
}

/// Replaces graph `to` with a copy of graph `from` (nodes, relationships, their labels,
/// types and properties, and node indexes). A `from` that does not exist leaves an empty
/// `to`.
pub(crate) async fn copy_graph(client: &Client, target: &str, from: &str, to: &str) -> Result<(), TargetError> {
    let fail = |e| failed(target, e);
    delete_graph(client, target, to).await?;
    // An empty graph still exists as a key, so that reading it (a snapshot's fingerprint)
    // works.
    client.query_graph(to, "RETURN 0", &[], false).await.map_err(fail)?;
    if !exists(client, from).await.map_err(fail)? {
        return Ok(());
    }
    // Each copy carries its original's id under a temporary label with an index, so that
    // relationships find their ends by index: FalkorDB scans every node for `id(a) = r[0]`
    // when `r` comes from UNWIND.
    client
        .query_graph(to, &format!("CREATE INDEX FOR (n:{COPY_LABEL}) ON (n.{COPY_ID})"), &[], false)
        .await
        .map_err(fail)?;

    // Nodes, grouped by labels and property names so that each group is one UNWIND.
    let source = OnGraph { client, graph: from };
    let max = max_id(&source).await?;
    let read =
        format!("MATCH (n) WHERE id(n) >= $from AND id(n) < $to RETURN id(n), labels(n), {}", exact_properties("n"));
    let mut start = 0;
    while start <= max {
        let params = [("from".to_owned(), Value::Int(start)), ("to".to_owned(), Value::Int(start + PAGE))];
        let page = client.retry(|| client.query_graph(from, &read, &params, true)).await.map_err(fail)?;
        let mut groups: BTreeMap<(Vec<String>, Vec<String>), Rows> = BTreeMap::new();
        for row in page.rows {
            let mut row = row.into_iter();
            let (Some(Value::Int(id)), Some(Value::List(labels))) = (row.next(), row.next()) else { continue };
            let labels: Vec<String> = labels.into_iter().map(|l| l.to_string()).collect();
            let (names, values): (Vec<String>, Vec<Value>) = decode_properties(row.next()).into_iter().unzip();
            groups.entry((labels, names)).or_default().push(std::iter::once(Value::Int(id)).chain(values).collect());
        }
        for ((labels, names), rows) in groups {
            let labels: String = labels.iter().map(|l| format!(":{}", quote_name(l))).collect();
            let text = format!(
                "{}UNWIND $rows AS r CREATE (n{labels}:{COPY_LABEL}) SET n.{COPY_ID} = r[0]{}",
                rows_param(&rows),
                sets("n", &names, 1).replacen(" SET ", ", ", 1)
            );
            client.query_text(to, &text, false).await.map_err(fail)?;
        }
        start += PAGE;
    }

    // Relationships, between the copies of their nodes.
    // Paged by the start nodes' ids, which FalkorDB seeks (it scans to filter relationship ids).
    let max = max_id(&source).await?;
    let read = format!(
        "MATCH (a) WHERE id(a) >= $from AND id(a) < $to MATCH (a)-[x]->(b) RETURN id(a), id(b), type(x), {}",
        exact_properties("x")
    );
    let mut start = 0;
    while start <= max {
        let params = [("from".to_owned(), Value::Int(start)), ("to".to_owned(), Value::Int(start + PAGE))];
        let page = client.retry(|| client.query_graph(from, &read, &params, true)).await.map_err(fail)?;
        let mut groups: BTreeMap<(String, Vec<String>), Vec<Vec<Value>>> = BTreeMap::new();
        for row in page.rows {
            let mut row = row.into_iter();
            let (Some(Value::Int(a)), Some(Value::Int(b)), Some(rel_type)) = (row.next(), row.next(), row.next())
            else {
                continue;
            };
            let (names, values): (Vec<String>, Vec<Value>) = decode_properties(row.next()).into_iter().unzip();
            let row = [Value::Int(a), Value::Int(b)].into_iter().chain(values).collect();
            groups.entry((rel_type.to_string(), names)).or_default().push(row);
        }
        for ((rel_type, names), rows) in groups {
            let text = format!(
                "{}UNWIND $rows AS r MATCH (a:{COPY_LABEL} {{{COPY_ID}: r[0]}}) MATCH (b:{COPY_LABEL} {{{COPY_ID}: r[1]}}) CREATE (a)-[x:{}]->(b){}",
                rows_param(&rows),
                quote_name(&rel_type),
                sets("x", &names, 2)
            );
            client.query_text(to, &text, false).await.map_err(fail)?;
        }
        start += PAGE;
    }

    // The copies lose their temporary label and id.
    loop {
        let reply = client
            .query_graph(
                to,
                &format!("MATCH (n:{COPY_LABEL}) WITH n LIMIT 100000 REMOVE n:{COPY_LABEL} SET n.{COPY_ID} = NULL RETURN count(n)"),
                &[],
                false,
            )
            .await
            .map_err(fail)?;
        if !matches!(reply.rows.first().and_then(|r| r.first()), Some(Value::Int(n)) if *n > 0) {
            break;
        }
    }
    client.query_graph(to, &format!("DROP INDEX ON :{COPY_LABEL}({COPY_ID})"), &[], false).await.map_err(fail)?;

    // Node indexes, so that a restored graph is as fast as the one it replaces.
    let indexes = client
        .retry(|| {
            client.query_graph(
                from,
                "CALL db.indexes() YIELD label, properties, entitytype RETURN label, properties, entitytype",
                &[],
                true,
            )
        })
        .await
        .map_err(fail)?;
    for row in indexes.rows {
        let (Some(Value::String(label)), Some(Value::List(properties)), Some(Value::String(kind))) =
            (row.first(), row.get(1), row.get(2))
        else {
            continue;
        };
        if kind != "NODE" || properties.is_empty() {
            continue;
        }
        let on: Vec<String> = properties.iter().map(|p| format!("n.{}", quote_name(&p.to_string()))).collect();
        let statement = format!("CREATE INDEX FOR (n:{}) ON ({})", quote_name(label), on.join(", "));
        match client.query_graph(to, &statement, &[], false).await {
            Ok(_) => {}
            Err(ClientError::Query(message)) if message.contains("already indexed") => {}
            Err(error) => return Err(fail(error)),
        }
    }
    Ok(())
}

/// Deletes a graph; one that is not there is what was wanted.
pub(crate) async fn delete_graph(client: &Client, target: &str, graph: &str) -> Result<(), TargetError> {
    match client.command_with_retry(redis::cmd("GRAPH.DELETE").arg(graph)).await {
        Ok(_) => Ok(()),
        Err(ClientError::Query(message)) if message.contains("empty key") || message.contains("Invalid graph") => {
            Ok(())
        }
        Err(error) => Err(failed(target, error)),
    }
}
