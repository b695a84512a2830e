//! A server's graph by shape ([`Census`]) and the properties elements carry beyond a known
//! set, from two aggregate statements whatever the number of questions: nodes grouped by
//! their labels and their property names, relationships by type, their ends' labels and
//! their property names. The replies are a few rows per shape (one per set of property
//! names met, which differ only where properties are missing), and every question is
//! answered from them here. Both are read like the scans ([`super::scan::whole`]): one
//! streamed statement where the server streams, else paged over the id space (FalkorDB), so
//! no statement has the whole graph to go through.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use grafter_model::{Value, is_bookkeeping_label, quote_name};

use super::scan::{single_count, whole};
use super::{CypherRunner, RUN_PROPERTY};
use crate::TargetError;
use crate::census::{Census, CensusPart, Elements, KnownProperties, PropertyCount, property_counts};

/// Every row of the aggregate `cypher` over the whole graph (see [`whole`]: `filter`, which
/// bounds `$from` ≤ id < `$to` of nodes, takes the place of `{filter}` where the statement is
/// paged). Paged, an aggregate gives one row per group per page: the caller sums them.
async fn every_page(
    runner: &Arc<dyn CypherRunner>,
    cypher: &str,
    filter: &str,
) -> Result<Vec<Vec<Value>>, TargetError> {
    let mut pages = whole(Arc::clone(runner), cypher, filter, None, Vec::new());
    let mut rows = Vec::new();
    while let Some(page) = pages.next().await {
        rows.extend(page?);
    }
    Ok(rows)
}

/// Nodes with the same labels and property names, and how many.
const NODES: &str = "MATCH (n) {filter} RETURN labels(n), keys(n), count(n)";

/// Relationships with the same type, ends' labels and property names, and how many. Paged
/// by their start nodes' ids: FalkorDB seeks a range of node ids but scans every
/// relationship to filter on theirs (on a graph of 370,000 relationships, eight pages of
/// relationship ids took 2.8 s, two pages of node ids 0.25 s).
const RELATIONSHIPS: &str =
    "MATCH (a) {filter} MATCH (a)-[x]->(b) RETURN type(x), labels(a), labels(b), keys(x), count(x)";

/// A name (a type, a label, a property name) as a reply gives it; empty when missing.
fn name(value: Option<Value>) -> String {
    match value {
        Some(Value::String(text)) => text,
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// A list of names (labels, property names) as a reply gives it.
fn names(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items.into_iter().map(|item| name(Some(item))).collect(),
        _ => Vec::new(),
    }
}

fn count(value: Option<Value>) -> u64 {
    match value {
        Some(Value::Int(n)) => u64::try_from(n).unwrap_or(0),
        _ => 0,
    }
}

/// Elements of one shape that carry the same property names.
struct Group {
    /// The type (relationships; empty for nodes).
    rel_type: String,
    /// The node's labels, or the start node's.
    labels: Vec<String>,
    /// The end node's labels (relationships).
    end: Vec<String>,
    /// Their property names.
    keys: Vec<String>,
    /// How many.
    count: u64,
}

/// `part` of the graph `runner` reads, by shape, bookkeeping left out, and the answers to
/// `questions` about it (the others unanswered: empty).
pub(crate) async fn census(
    runner: Arc<dyn CypherRunner>,
    questions: &[KnownProperties],
    part: CensusPart,
) -> Result<Census, TargetError> {
    let bookkeeping = |labels: &[String]| labels.iter().any(|l| is_bookkeeping_label(l));
    let mut groups: Vec<Group> = Vec::new();
    let node_pages = if part.nodes() {
        every_page(&runner, NODES, "WHERE id(n) >= $from AND id(n) < $to").await?
    } else {
        Vec::new()
    };
    for row in node_pages {
        let mut row = row.into_iter();
        let (labels, keys, count) = (names(row.next()), names(row.next()), count(row.next()));
        if !bookkeeping(&labels) {
            groups.push(Group { rel_type: String::new(), labels, end: Vec::new(), keys, count });
        }
    }
    let node_groups = groups.len();
    let relationship_pages = if part.relationships() {
        every_page(&runner, RELATIONSHIPS, "WHERE id(a) >= $from AND id(a) < $to").await?
    } else {
        Vec::new()
    };
    for row in relationship_pages {
        let mut row = row.into_iter();
        let rel_type = name(row.next());
        let (labels, end, keys, count) = (names(row.next()), names(row.next()), names(row.next()), count(row.next()));
        if !bookkeeping(&labels) && !bookkeeping(&end) {
            groups.push(Group { rel_type, labels, end, keys, count });
        }
    }
    let (nodes, relationships) = groups.split_at(node_groups);
    let beyond = questions
        .iter()
        .map(|question| {
            let has = |labels: &[String], label: &str| labels.iter().any(|l| l == label);
            let asked: Vec<&Group> = match &question.elements {
                Elements::Nodes { label } => nodes.iter().filter(|g| has(&g.labels, label)).collect(),
                Elements::Relationships { rel_type, start, end } => relationships
                    .iter()
                    .filter(|g| g.rel_type == *rel_type && has(&g.labels, start) && has(&g.end, end))
                    .collect(),
            };
            properties_beyond(&asked, &question.properties)
        })
        .collect();
    Ok(Census::from_counts(
        nodes.iter().map(|g| (g.labels.clone(), g.count)),
        relationships.iter().map(|g| ((g.rel_type.clone(), g.labels.clone(), g.end.clone()), g.count)),
        beyond,
    ))
}

/// Relationships per type, bookkeeping left out: the server's types
/// (`CALL db.relationshipTypes()`), then one count each, which FalkorDB (a matrix per type)
/// and Neo4j (its count store) answer without reading a relationship. Types without any
/// are left out.
pub(crate) async fn relationship_counts(runner: &dyn CypherRunner) -> Result<BTreeMap<String, u64>, TargetError> {
    let mut counts = BTreeMap::new();
    for row in runner.read("CALL db.relationshipTypes()", &[]).await? {
        let rel_type = name(row.into_iter().next());
        if is_bookkeeping_label(&rel_type) {
            continue;
        }
        let count =
            single_count(runner, &format!("MATCH ()-[x:{}]->() RETURN count(x)", quote_name(&rel_type))).await?;
        if count > 0 {
            counts.insert(rel_type, count);
        }
    }
    Ok(counts)
}

/// The properties the elements of `groups` carry other than `known` (and the run mark),
/// with how many elements carry each.
fn properties_beyond(groups: &[&Group], known: &[String]) -> Vec<PropertyCount> {
    property_counts(groups.iter().flat_map(|group| {
        group.keys.iter().filter(|k| k.as_str() != RUN_PROPERTY && !known.contains(k)).map(|k| (k.clone(), group.count))
    }))
}
