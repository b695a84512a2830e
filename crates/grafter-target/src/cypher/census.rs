//! A server's graph by shape ([`Census`]) and the properties elements carry beyond a known
//! set: aggregate statements paged over the id space like the scans ([`super::scan`]), so
//! no statement has the whole graph to go through and the replies stay a few rows.

use grafter_model::{Value, is_bookkeeping_label, quote_name};

use super::scan::{PAGE, max_id, page_params};
use super::{CypherRunner, RUN_PROPERTY};
use crate::TargetError;
use crate::census::{Census, Elements, KnownProperties, PropertyCount, property_counts};

/// The rows of `cypher` (filtering on `$from` ≤ id < `$to`, node ids when `nodes`, else
/// relationship ids) over the whole id space, with `params` beside.
async fn every_page<R: CypherRunner + ?Sized>(
    runner: &R,
    cypher: &str,
    nodes: bool,
    params: &[(String, Value)],
) -> Result<Vec<Vec<Value>>, TargetError> {
    let max = max_id(runner, nodes).await?;
    let mut rows = Vec::new();
    let mut from = 0;
    while from <= max {
        let mut page = page_params(from).to_vec();
        page.extend_from_slice(params);
        rows.extend(runner.read(cypher, &page).await?);
        from += PAGE;
    }
    Ok(rows)
}

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
pub(crate) async fn census<R: CypherRunner + ?Sized>(
    runner: &R,
    questions: &[KnownProperties],
) -> Result<Census, TargetError> {
    let bookkeeping = |labels: &[String]| labels.iter().any(|l| is_bookkeeping_label(l));
    let nodes =
        every_page(runner, "MATCH (n) WHERE id(n) >= $from AND id(n) < $to RETURN labels(n), count(n)", true, &[])
            .await?
            .into_iter()
            .filter_map(|row| {
                let mut row = row.into_iter();
                let labels = names(row.next());
                (!bookkeeping(&labels)).then(|| (labels, count(row.next())))
            });
    let nodes: Vec<(Vec<String>, u64)> = nodes.collect();
    let relationships = every_page(
        runner,
        "MATCH (a)-[x]->(b) WHERE id(x) >= $from AND id(x) < $to RETURN type(x), labels(a), labels(b), count(x)",
        false,
        &[],
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
        beyond.push(properties_beyond(runner, &question.elements, &question.properties).await?);
    }
    Ok(Census::from_counts(nodes, relationships, beyond))
}

/// The properties of `elements` other than `known` (and the run mark), with how many
/// elements carry each.
async fn properties_beyond<R: CypherRunner + ?Sized>(
    runner: &R,
    elements: &Elements,
    known: &[String],
) -> Result<Vec<PropertyCount>, TargetError> {
    let (pattern, variable, nodes) = match elements {
        Elements::Nodes { label } => (format!("(e:{})", quote_name(label)), "e", true),
        Elements::Relationships { rel_type, start, end } => {
            (format!("(:{})-[e:{}]->(:{})", quote_name(start), quote_name(rel_type), quote_name(end)), "e", false)
        }
    };
    let cypher = format!(
        "MATCH {pattern} WHERE id({variable}) >= $from AND id({variable}) < $to \
         UNWIND [k IN keys({variable}) WHERE NOT k IN $known] AS k RETURN k, count(*)"
    );
    let known: Vec<Value> =
        known.iter().map(String::as_str).chain([RUN_PROPERTY]).map(|name| Value::String(name.to_owned())).collect();
    let rows = every_page(runner, &cypher, nodes, &[("known".to_owned(), Value::List(known))]).await?;
    Ok(property_counts(rows.into_iter().filter_map(|row| {
        let mut row = row.into_iter();
        match row.next() {
            Some(Value::String(name)) => Some((name, count(row.next()))),
            _ => None,
        }
    })))
}
