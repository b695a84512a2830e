//! Reading a FalkorDB graph back: nodes and relationships page by page (for verification and
//! the fingerprint), counts, and lookups by key.
//!
//! Pages are ranges of FalkorDB's internal ids (`id(n) >= $from AND id(n) < $to`), so each
//! query is bounded and none needs the whole graph sorted; the id space is read once, up to
//! the highest id there is.

use std::sync::Arc;

use futures::StreamExt;
use grafter_model::{Fingerprint, FingerprintBuilder, Value, is_bookkeeping_label, quote_name};
use rustc_hash::FxHashMap;

use super::connection::Client;
use super::literal::storable;
use super::{RUN_PROPERTY, failed};
use crate::{EndpointSpec, RowStream, TargetError};

/// Ids per page.
const PAGE: i64 = 50_000;

/// The highest node id (`nodes`) or relationship id in use, -1 when there are none.
pub(crate) async fn max_id(client: &Client, graph: &str, nodes: bool) -> Result<i64, super::connection::ClientError> {
    let cypher = if nodes { "MATCH (n) RETURN max(id(n))" } else { "MATCH ()-[x]->() RETURN max(id(x))" };
    let reply = client.retry(|| client.query_graph(graph, cypher, &[], true)).await?;
    Ok(match reply.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n,
        _ => -1,
    })
}

/// Streams the rows of `cypher` (which filters on `$from` ≤ id < `$to`) over the whole id
/// space, one page per item.
fn paged(client: Arc<Client>, target: String, cypher: String, nodes: bool) -> RowStream {
    let graph = client.graph().to_owned();
    let state = (client, target, cypher, graph, None::<i64>, 0i64);
    futures::stream::unfold(state, move |(client, target, cypher, graph, max, from)| async move {
        let max = match max {
            Some(max) => max,
            None => match max_id(&client, &graph, nodes).await {
                Ok(max) => max,
                Err(e) => return Some((Err(failed(&target, e)), (client, target, cypher, graph, Some(-1), 1))),
            },
        };
        if from > max {
            return None;
        }
        let params = [("from".to_owned(), Value::Int(from)), ("to".to_owned(), Value::Int(from + PAGE))];
        let rows = client
            .retry(|| client.query_graph(&graph, &cypher, &params, true))
            .await
            .map(|reply| reply.rows)
            .map_err(|e| failed(&target, e));
        Some((rows, (client, target, cypher, graph, Some(max), from + PAGE)))
    })
    .boxed()
}

fn columns(variable: &str, properties: &[String]) -> String {
    properties.iter().map(|p| format!("{variable}.{}", quote_name(p))).collect::<Vec<_>>().join(", ")
}

/// Every node labelled `label`: the values of `properties`.
pub(crate) fn nodes(client: Arc<Client>, target: &str, label: &str, properties: &[String]) -> RowStream {
    let returned = if properties.is_empty() { "1".to_owned() } else { columns("n", properties) };
    let cypher = format!("MATCH (n:{}) WHERE id(n) >= $from AND id(n) < $to RETURN {returned}", quote_name(label));
    let stream = paged(client, target.to_owned(), cypher, true);
    if properties.is_empty() {
        // `RETURN 1` only counts rows; the caller asked for no values.
        return stream.map(|page| page.map(|rows| rows.into_iter().map(|_| Vec::new()).collect())).boxed();
    }
    stream
}

/// Every relationship of `rel_type` between the labels: start key, end key, `properties`.
pub(crate) fn relationships(
    client: Arc<Client>,
    target: &str,
    rel_type: &str,
    start: &EndpointSpec,
    end: &EndpointSpec,
    properties: &[String],
) -> RowStream {
    let mut returned = vec![columns("a", &start.key_properties), columns("b", &end.key_properties)];
    if !properties.is_empty() {
        returned.push(columns("x", properties));
    }
    let cypher = format!(
        "MATCH (a:{})-[x:{}]->(b:{}) WHERE id(x) >= $from AND id(x) < $to RETURN {}",
        quote_name(&start.label),
        quote_name(rel_type),
        quote_name(&end.label),
        returned.join(", ")
    );
    paged(client, target.to_owned(), cypher, false)
}

/// The number of nodes labelled `label`.
pub(crate) async fn count_nodes(client: &Client, target: &str, label: &str) -> Result<u64, TargetError> {
    single_count(client, target, &format!("MATCH (n:{}) RETURN count(n)", quote_name(label))).await
}

/// The number of relationships of `rel_type` from a `start` node to an `end` one.
pub(crate) async fn count_relationships(
    client: &Client,
    target: &str,
    rel_type: &str,
    start: &str,
    end: &str,
) -> Result<u64, TargetError> {
    let cypher =
        format!("MATCH (:{})-[x:{}]->(:{}) RETURN count(x)", quote_name(start), quote_name(rel_type), quote_name(end));
    single_count(client, target, &cypher).await
}

async fn single_count(client: &Client, target: &str, cypher: &str) -> Result<u64, TargetError> {
    let reply = client.read(cypher, &[]).await.map_err(|e| failed(target, e))?;
    match reply.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
        other => Err(TargetError::Query { message: format!("a count returned {other:?}") }),
    }
}

/// The nodes with one of `keys`: per node found, the values of `properties`.
pub(crate) async fn lookup_nodes(
    client: &Client,
    target: &str,
    label: &str,
    key_properties: &[String],
    keys: &[Vec<Value>],
    properties: &[String],
) -> Result<Vec<Vec<Value>>, TargetError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(5_000) {
        let keys: Vec<Value> = chunk
            .iter()
            .map(|key| Value::List(key.iter().map(|v| storable(v.clone()).unwrap_or(Value::Null)).collect()))
            .collect();
        let pattern: Vec<String> =
            key_properties.iter().enumerate().map(|(i, p)| format!("{}: k[{i}]", quote_name(p))).collect();
        let returned = if properties.is_empty() { "1".to_owned() } else { columns("n", properties) };
        let cypher =
            format!("UNWIND $keys AS k MATCH (n:{} {{{}}}) RETURN {returned}", quote_name(label), pattern.join(", "));
        let reply = client.read(&cypher, &[("keys".into(), Value::List(keys))]).await.map_err(|e| failed(target, e))?;
        out.extend(reply.rows.into_iter().map(|row| if properties.is_empty() { Vec::new() } else { row }));
    }
    Ok(out)
}

fn user_properties(value: Option<Value>) -> Vec<(String, Value)> {
    match value {
        Some(Value::Map(map)) => map.into_iter().filter(|(k, _)| k != RUN_PROPERTY).collect(),
        _ => Vec::new(),
    }
}

/// The fingerprint of `graph` (the target's own graph, or a snapshot of it).
pub(crate) async fn fingerprint(client: Arc<Client>, target: &str, graph: &str) -> Result<Fingerprint, TargetError> {
    let mut builder = FingerprintBuilder::new();
    let mut digests: FxHashMap<i64, Option<u128>> = FxHashMap::default();
    for nodes in [true, false] {
        let max = max_id(&client, graph, nodes).await.map_err(|e| failed(target, e))?;
        let cypher = if nodes {
            "MATCH (n) WHERE id(n) >= $from AND id(n) < $to RETURN id(n), labels(n), properties(n)"
        } else {
            "MATCH (a)-[x]->(b) WHERE id(x) >= $from AND id(x) < $to RETURN id(a), id(b), type(x), properties(x)"
        };
        let mut from = 0;
        while from <= max {
            let params = [("from".to_owned(), Value::Int(from)), ("to".to_owned(), Value::Int(from + PAGE))];
            let reply = client
                .retry(|| client.query_graph(graph, cypher, &params, true))
                .await
                .map_err(|e| failed(target, e))?;
            for row in reply.rows {
                let mut row = row.into_iter();
                if nodes {
                    let (Some(Value::Int(id)), Some(Value::List(labels))) = (row.next(), row.next()) else { continue };
                    let labels: Vec<String> = labels.into_iter().map(|l| l.to_string()).collect();
                    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                    let properties = user_properties(row.next());
                    let properties: Vec<(&str, &Value)> = properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
                    let digest = if labels.iter().any(|l| is_bookkeeping_label(l)) {
                        None
                    } else {
                        builder.add_node(&labels, &properties)
                    };
                    digests.insert(id, digest);
                } else {
                    let (Some(Value::Int(start)), Some(Value::Int(end)), Some(rel_type)) =
                        (row.next(), row.next(), row.next())
                    else {
                        continue;
                    };
                    let (Some(Some(start)), Some(Some(end))) = (digests.get(&start), digests.get(&end)) else {
                        // An endpoint is bookkeeping: so is the relationship.
                        continue;
                    };
                    let properties = user_properties(row.next());
                    let properties: Vec<(&str, &Value)> = properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
                    builder.add_relationship(&rel_type.to_string(), *start, *end, &properties);
                }
            }
            from += PAGE;
        }
    }
    Ok(builder.finish())
}
