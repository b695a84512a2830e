//! A server's graph by shape ([`Census`]) and the properties elements carry beyond a known
//! set: aggregate statements read like the scans ([`super::scan::whole`]): one streamed
//! statement where the server streams (its replies are a few rows), else paged over the id
//! space (FalkorDB), so no statement has the whole graph to go through.

use std::sync::Arc;

use futures::StreamExt;
use grafter_model::{Value, is_bookkeeping_label, quote_name};

use super::scan::whole;
use super::{CypherRunner, RUN_PROPERTY};
use crate::TargetError;
use crate::census::{Census, Elements, KnownProperties, PropertyCount, property_counts};

/// Every row of the aggregate `cypher` over the whole graph (see [`whole`]: `filter`, which
/// bounds `$from` ≤ id < `$to` of nodes when `nodes`, else of relationships, takes the place
/// of `{filter}` where the statement is paged), with `params` beside. Paged, an aggregate
/// gives one row per group per page: the caller sums them.
async fn every_page(
    runner: &Arc<dyn CypherRunner>,
    cypher: &str,
    filter: &str,
    nodes: bool,
    params: Vec<(String, Value)>,
) -> Result<Vec<Vec<Value>>, TargetError> {
    let mut pages = whole(Arc::clone(runner), cypher, filter, nodes, params);
    let mut rows = Vec::new();
    while let Some(page) = pages.next().await {
        rows.extend(page?);
    }
    Ok(rows)
}

/// The page filter of a statement over nodes `n`.
const NODE_PAGE: &str = "WHERE id(n) >= $from AND id(n) < $to";

/// The page filter of a statement over elements `e`.
const ELEMENT_PAGE: &str = "WHERE id(e) >= $from AND id(e) < $to";

/// A list of labels as a reply gives it.
fn names(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => text,
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn count(value: Option<Value>) -> u64 {
    match value {
        Some(Value::Int(n)) => u64::try_from(n).unwrap_or(0),
        _ => 0,
    }
}

/// The graph `runner` reads, by shape, bookkeeping left out, and the answers to `questions`.
pub(crate) async fn census(
    runner: Arc<dyn CypherRunner>,
    questions: &[KnownProperties],
) -> Result<Census, TargetError> {
    let bookkeeping = |labels: &[String]| labels.iter().any(|l| is_bookkeeping_label(l));
    let nodes = every_page(&runner, "MATCH (n) {filter} RETURN labels(n), count(n)", NODE_PAGE, true, Vec::new())
        .await?
        .into_iter()
        .filter_map(|row| {
            let mut row = row.into_iter();
            let labels = names(row.next());
            (!bookkeeping(&labels)).then(|| (labels, count(row.next())))
        });
    let nodes: Vec<(Vec<String>, u64)> = nodes.collect();
    let relationships = every_page(
        &runner,
        "MATCH (a)-[x]->(b) {filter} RETURN type(x), labels(a), labels(b), count(x)",
        "WHERE id(x) >= $from AND id(x) < $to",
        false,
        Vec::new(),
    )
    .await?
    .into_iter()
    .filter_map(|row| {
        let mut row = row.into_iter();
        let rel_type = match row.next() {
            Some(Value::String(text)) => text,
            other => other.map(|v| v.to_string()).unwrap_or_default(),
        };
        let (start, end) = (names(row.next()), names(row.next()));
        (!bookkeeping(&start) && !bookkeeping(&end)).then(|| ((rel_type, start, end), count(row.next())))
    });
    let relationships: Vec<_> = relationships.collect();
    let mut beyond = Vec::with_capacity(questions.len());
    for question in questions {
        beyond.push(properties_beyond(&runner, &question.elements, &question.properties).await?);
    }
    Ok(Census::from_counts(nodes, relationships, beyond))
}

/// The properties of `elements` other than `known` (and the run mark), with how many
/// elements carry each.
async fn properties_beyond(
    runner: &Arc<dyn CypherRunner>,
    elements: &Elements,
    known: &[String],
) -> Result<Vec<PropertyCount>, TargetError> {
    let (pattern, nodes) = match elements {
        Elements::Nodes { label } => (format!("(e:{})", quote_name(label)), true),
        Elements::Relationships { rel_type, start, end } => {
            (format!("(:{})-[e:{}]->(:{})", quote_name(start), quote_name(rel_type), quote_name(end)), false)
        }
    };
    let cypher =
        format!("MATCH {pattern} {{filter}} UNWIND [k IN keys(e) WHERE NOT k IN $known] AS k RETURN k, count(*)");
    let known: Vec<Value> =
        known.iter().map(String::as_str).chain([RUN_PROPERTY]).map(|name| Value::String(name.to_owned())).collect();
    let rows = every_page(runner, &cypher, ELEMENT_PAGE, nodes, vec![("known".to_owned(), Value::List(known))]).await?;
    Ok(property_counts(rows.into_iter().filter_map(|row| {
        let mut row = row.into_iter();
        match row.next() {
            Some(Value::String(name)) => Some((name, count(row.next()))),
            _ => None,
        }
    })))
}
