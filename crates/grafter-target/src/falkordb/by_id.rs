//! Writing again, by node id, what the graph already holds: the re-run of a config (after a
//! mapping changed, or `--fresh`) over labels whose nodes were there before the run.
//!
//! Such a batch meets an existing element for every record. The way of [`super::write`]
//! looks each one up through the key index, then writes it with `MERGE`, which looks it up
//! again; a relationship's two ends are looked up twice each. Once a label has shown itself
//! held (its batches met only existing elements, for at least a thirty-second of its nodes:
//! see [`super::bulk::BulkState::learn_existing`]), the run reads the ids of its nodes by
//! key, once ([`super::bulk::BulkState`] keeps them), and from then on a batch whose
//! records all have ids is written in one statement that finds each node by its id — a seek
//! in FalkorDB's node store, not an index walk (10,000 nodes updated: 71 ms against 231 ms
//! for `MERGE`; 10,000 relationships: 41 ms against 450 ms, measured on FalkorDB 4.16).
//!
//! Ids are a guess the statement checks: the node under each id must still carry the label
//! and the key (another client may have deleted it, and FalkorDB gives deleted ids to new
//! nodes), a relationship must be the only one of its type and key between its ends, and
//! none may carry this run's mark (a key met twice in the run is a duplicate, which the
//! lookup way rejects with its reason). The statement writes, and stores the checkpoint,
//! only if every record passes; else it changes nothing and returns no row, and the batch
//! takes the lookup way. What it writes carries the run's mark, as on the lookup way.

use grafter_model::{Value, quote_name};

use super::connection::Client;
use super::literal::prefix_with_rows;
use super::send::{Sent, send};
use crate::cypher::RUN_PROPERTY;
use crate::cypher::batch::{PreparedBatch, Shape};
use crate::cypher::bookkeeping::{checkpoint_clause, checkpoint_params};
use crate::cypher::queries::run_mark;
use crate::{Checkpoint, NodeSpec, RelSpec, RowOutcome, TargetError, WriteGate, WriteReport};

/// `v.`k1` = r[p1] AND v.`k2` = r[p2]`: the node under the id still has the key, whose
/// properties are at those row positions.
fn key_check<'a>(variable: &str, key: impl IntoIterator<Item = (&'a String, usize)>) -> String {
    let checks: Vec<String> =
        key.into_iter().map(|(name, position)| format!("{variable}.{} = r[{position}]", quote_name(name))).collect();
    checks.join(" AND ")
}

/// The key check of an end node, whose key properties follow each other from `first`.
fn end_check(variable: &str, names: &[String], first: usize) -> String {
    key_check(variable, names.iter().enumerate().map(|(i, name)| (name, first + i)))
}

/// `v.`_grafter_run` IS NULL OR v.`_grafter_run` <> $run`: not written by this run yet.
fn unmarked(variable: &str) -> String {
    let run = quote_name(RUN_PROPERTY);
    format!("({variable}.{run} IS NULL OR {variable}.{run} <> $run)")
}

/// The SET of the properties that are not the key, then the run's mark.
fn updates(variable: &str, names: &[String], key: &[usize], first: usize) -> String {
    let sets: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !key.contains(i))
        .map(|(i, name)| format!("{variable}.{} = r[{}]", quote_name(name), first + i))
        .chain(std::iter::once(run_mark(variable)))
        .collect();
    format!("SET {}", sets.join(", "))
}

/// The gathering that lets the statement write only when all `$n` records passed, and the
/// end that stores the checkpoint only then.
fn all_or_nothing(variable: &str, set: &str) -> String {
    format!(
        "WITH collect([{variable}, r]) AS found WHERE size(found) = $n \
         UNWIND found AS f WITH f[0] AS {variable}, f[1] AS r {set} \
         WITH count({variable}) AS written WHERE written = $n {} RETURN written",
        checkpoint_clause()
    )
}

/// The update of a node batch by the ids in `$ids` (by batch position, as `r[0]` is).
pub(crate) fn node_update(spec: &NodeSpec) -> String {
    format!(
        "UNWIND $rows AS r WITH r, $ids[r[0]] AS node \
         MATCH (n) WHERE id(n) = node AND n:{} AND {} AND {} {}",
        quote_name(&spec.label),
        key_check("n", spec.key.iter().map(|&k| (&spec.properties[k], 1 + k))),
        unmarked("n"),
        all_or_nothing("n", &updates("n", &spec.properties, &spec.key, 1))
    )
}

/// The update of a relationship batch by its ends' ids in `$ids` (`[start, end]` by batch
/// position): each record's relationship must be the only one of its type (and key)
/// between them.
pub(crate) fn relationship_update(spec: &RelSpec) -> String {
    let starts = spec.start.key_properties.len();
    let ends = spec.end.key_properties.len();
    let first_property = 1 + starts + ends;
    let key: Vec<String> = spec
        .key
        .iter()
        .map(|&k| format!("{}: r[{}]", quote_name(&spec.properties[k]), first_property + k))
        .collect();
    let key_pattern = if key.is_empty() { String::new() } else { format!(" {{{}}}", key.join(", ")) };
    format!(
        "UNWIND $rows AS r WITH r, $ids[r[0]][0] AS start_node, $ids[r[0]][1] AS end_node \
         MATCH (a) WHERE id(a) = start_node AND a:{} AND {} \
         MATCH (b) WHERE id(b) = end_node AND b:{} AND {} \
         OPTIONAL MATCH (a)-[found:{}{key_pattern}]->(b) \
         WITH r, collect(found) AS between WHERE size(between) = 1 \
         WITH r, between[0] AS x WHERE {} {}",
        quote_name(&spec.start.label),
        end_check("a", &spec.start.key_properties, 1),
        quote_name(&spec.end.label),
        end_check("b", &spec.end.key_properties, 1 + starts),
        quote_name(&spec.rel_type),
        unmarked("x"),
        all_or_nothing("x", &updates("x", &spec.properties, &spec.key, first_property))
    )
}

/// Writes `prepared` by node ids (`ids`, one per batch position: a node's id, or a
/// relationship's `[start, end]`) as one statement that writes all or nothing: `Some` with
/// the report when it did, `None` when some record needs the lookup way (nothing written).
pub(crate) async fn write(
    client: &Client,
    target: &str,
    prepared: &mut PreparedBatch,
    rows: &[String],
    ids: Value,
    checkpoint: &Checkpoint,
    gate: &mut WriteGate,
) -> Result<Option<WriteReport>, TargetError> {
    for &position in &prepared.positions {
        prepared.outcomes[position] = Some(RowOutcome::Updated);
    }
    let report = prepared.report();
    gate.settle(&report).await.map_err(|message| TargetError::Write { target: target.to_owned(), message })?;
    let stored = checkpoint.with_outcomes(&report);
    let mut params = vec![("run".to_owned(), Value::String(checkpoint.run_id.clone()))];
    params.extend(checkpoint_params(&stored, None));
    params.push(("n".into(), Value::Int(prepared.positions.len() as i64)));
    params.push(("ids".into(), ids));
    let statement = match &prepared.shape {
        Shape::Nodes(spec) => node_update(spec),
        Shape::Relationships(spec) => relationship_update(spec),
    };
    let all: Vec<&String> = rows.iter().collect();
    let text = format!("{}{statement}", prefix_with_rows(&params, &all));
    match send(client, target, &text, &stored).await? {
        Sent::CommittedUnseen => Ok(Some(report)),
        Sent::Rows(rows) if !rows.is_empty() => Ok(Some(report)),
        Sent::Rows(_) => {
            prepared.reset_decisions();
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointSpec;

    #[test]
    fn a_node_update_checks_label_key_and_mark_and_leaves_the_key_alone() {
        let spec = NodeSpec {
            mapping: "m".into(),
            label: "Odd Label".into(),
            properties: vec!["name".into(), "id".into()],
            key: vec![1],
        };
        let statement = node_update(&spec);
        assert!(statement.contains("WITH r, $ids[r[0]] AS node MATCH (n) WHERE id(n) = node AND n:`Odd Label` AND n.`id` = r[2]"), "{statement}");
        assert!(statement.contains("(n.`_grafter_run` IS NULL OR n.`_grafter_run` <> $run)"), "{statement}");
        assert!(statement.contains("SET n.`name` = r[1], n.`_grafter_run` = $run"), "{statement}");
        assert!(!statement.contains("SET n.`id`") && !statement.contains(", n.`id` = "), "the key is not set: {statement}");
        assert!(statement.contains("WHERE written = $n"), "an empty gathering must not store the checkpoint: {statement}");
    }

    #[test]
    fn a_relationship_update_wants_exactly_one_relationship_between_checked_ends() {
        let spec = RelSpec {
            mapping: "m".into(),
            rel_type: "HAS".into(),
            start: EndpointSpec { label: "A".into(), key_properties: vec!["id".into()] },
            end: EndpointSpec { label: "B".into(), key_properties: vec!["x".into(), "y".into()] },
            properties: vec!["k".into(), "since".into()],
            key: vec![0],
        };
        let statement = relationship_update(&spec);
        assert!(statement.contains("MATCH (a) WHERE id(a) = start_node AND a:`A` AND a.`id` = r[1]"), "{statement}");
        assert!(statement.contains("MATCH (b) WHERE id(b) = end_node AND b:`B` AND b.`x` = r[2] AND b.`y` = r[3]"), "{statement}");
        assert!(statement.contains("OPTIONAL MATCH (a)-[found:`HAS` {`k`: r[4]}]->(b)"), "{statement}");
        assert!(statement.contains("WHERE size(between) = 1"), "{statement}");
        assert!(statement.contains("SET x.`since` = r[5], x.`_grafter_run` = $run"), "{statement}");
    }
}
