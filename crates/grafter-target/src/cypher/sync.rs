//! `grafter sync`'s changes as Cypher, for the server targets: FalkorDB natively
//! ([`crate::falkordb`]) and Bolt servers with transactions ([`crate::bolt`]) settle and
//! write a [`ChangeSet`] with the same statements, and keep sync states as the same
//! `_GrafterSync` nodes.
//!
//! A batch of changes goes in two steps. [`settle`] reads what the graph holds — which
//! nodes exist and already hold exactly the record (compared by the server, so doubles
//! compare exactly), which relationships an anchor holds and whether one of them already is
//! the record — and decides every change's outcome. It reads through a [`ChangeReader`],
//! so a Bolt target reads inside the transaction it then writes in. What remains to write
//! comes back as [`Part`]s, in order: the removals, the updates in place, the creations.
//! How the parts commit with the state ([`state_clause`]) is the target's business:
//!
//! - FalkorDB runs one query atomically: [`combined`] makes one query of every part, each
//!   an `UNWIND` that runs over `[null]` when it has nothing to do (so an empty part does
//!   not end the query), with `FOREACH` for writes that must not happen on such a row.
//! - A Bolt server with transactions runs each part alone ([`Part::statement`], cut to its
//!   byte cap) and then the state, in one explicit transaction.
//!
//! Values are converted by the target (what it keeps of each) before they travel as
//! parameters; one it cannot keep rejects its change, with the reason.

use async_trait::async_trait;
use grafter_model::{SyncState, Value, quote_name};

use super::bookkeeping::fenced_write;
use super::queries::pattern;
use super::{CypherRunner, Params};
use crate::records::node_text;
use crate::{
    Anchor, AnchorKey, ChangeOutcome, ChangeReport, ChangeSet, NodeRecord, NodeSpec, RelRecord, RelSpec, TargetError,
};

/// Label of the nodes holding sync states.
pub(crate) const SYNC_LABEL: &str = "_GrafterSync";

/// What [`settle`] reads the graph through.
#[async_trait]
pub(crate) trait ChangeReader: Send {
    /// The rows of the read-only `cypher` over the list parameter `$rows` (never empty).
    /// Rows are independent of each other: a reader may cut them into several statements.
    async fn read_rows(&mut self, cypher: &str, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, TargetError>;
}

/// What a target keeps of a value, or why it cannot keep it.
pub(crate) type Convert<'a> = &'a (dyn Fn(Value) -> Result<Value, String> + Send + Sync);

/// One part of a batch's write: a clause applied to each of its rows.
pub(crate) struct Part {
    /// Its name: the parameter its rows travel in when parts are [`combined`].
    name: &'static str,
    /// The variable each row is bound to.
    row: &'static str,
    /// The clause for a row that is never NULL ([`Part::statement`]).
    alone: String,
    /// The clause for a row that may be NULL (an empty part in a [`combined`] query).
    together: String,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

impl Part {
    /// The part alone, as a statement over the list `$rows`.
    pub(crate) fn statement(&self) -> String {
        format!("UNWIND $rows AS {} {} RETURN count(*)", self.row, self.alone)
    }
}

/// The parts as one query (ready for [`state_clause`] after it) and its parameters.
pub(crate) fn combined(parts: Vec<Part>) -> (String, Vec<(String, Value)>) {
    let mut query = Vec::with_capacity(parts.len());
    let mut params = Vec::with_capacity(parts.len());
    for part in parts {
        let name = part.name;
        query.push(format!(
            "UNWIND CASE WHEN size(${name}) = 0 THEN [null] ELSE ${name} END AS {} {} WITH count(*) AS _{name}",
            part.row, part.together
        ));
        params.push((name.to_owned(), list(part.rows)));
    }
    (query.join(" "), params)
}

/// The clause that stores a mapping's sync state, given `$sync_mapping` and `$sync_state`
/// ([`state_params`]).
pub(crate) fn state_clause() -> String {
    format!("MERGE (s:{SYNC_LABEL} {{mapping: $sync_mapping}}) SET s.state = $sync_state RETURN 1")
}

/// The parameters of [`state_clause`].
pub(crate) fn state_params(state: &SyncState) -> Vec<(String, Value)> {
    vec![
        ("sync_mapping".into(), Value::String(state.mapping.clone())),
        ("sync_state".into(), Value::String(state.to_json())),
    ]
}

fn list(rows: Vec<Vec<Value>>) -> Value {
    Value::List(rows.into_iter().map(Value::List).collect())
}

/// `{`a`: d[1], `b`: d[2]}`: a pattern's properties from positions of list `row`.
fn properties(names: &[String], row: &str, first: usize) -> String {
    pattern(names, first, &|i| format!("{row}[{i}]"))
}

/// `(v.`a` = r[3] OR (v.`a` IS NULL AND r[3] IS NULL)) AND …`: whether `variable` holds
/// exactly the properties at positions from `first` of `r`.
fn holds(variable: &str, names: &[String], first: usize) -> String {
    if names.is_empty() {
        return "true".into();
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (property, value) = (format!("{variable}.{}", quote_name(name)), format!("r[{}]", first + i));
            format!("({property} = {value} OR ({property} IS NULL AND {value} IS NULL))")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `v.`a` = x[3], …`: every property set from positions of `row` (NULL removes it).
fn sets(variable: &str, names: &[String], row: &str, first: usize) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{variable}.{} = {row}[{}]", quote_name(name), first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values converted to what the target keeps; the first that cannot be stored says why.
fn converted(convert: Convert, names: &[String], values: &[Value]) -> Result<Vec<Value>, String> {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| convert(value.clone()).map_err(|e| format!("property `{name}`: {e}")))
        .collect()
}

/// `rows` with their index in front.
fn indexed(rows: &[(usize, Vec<Value>)]) -> Vec<Vec<Value>> {
    rows.iter().map(|(i, row)| std::iter::once(Value::Int(*i as i64)).chain(row.iter().cloned()).collect()).collect()
}

async fn read(
    reader: &mut dyn ChangeReader,
    cypher: &str,
    rows: Vec<Vec<Value>>,
) -> Result<Vec<Vec<Value>>, TargetError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    reader.read_rows(cypher, rows).await
}

fn index_of(row: &[Value]) -> Option<usize> {
    match row.first() {
        Some(Value::Int(i)) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn flag(row: &[Value], at: usize) -> bool {
    matches!(row.get(at), Some(Value::Bool(true)))
}

fn number(row: &[Value], at: usize) -> i64 {
    match row.get(at) {
        Some(Value::Int(n)) => *n,
        Some(Value::Float(x)) => *x as i64,
        _ => 0,
    }
}

/// Every change's outcome, and the parts that write them (see the module documentation).
pub(crate) async fn settle(
    changes: &ChangeSet,
    convert: Convert<'_>,
    reader: &mut dyn ChangeReader,
) -> Result<(ChangeReport, Vec<Part>), TargetError> {
    match changes {
        ChangeSet::Nodes { spec, upserts, deletes } => settle_nodes(spec, upserts, deletes, convert, reader).await,
        ChangeSet::Relationships { spec, anchor, upserts, deletes } => {
            settle_relationships(spec, *anchor, upserts, deletes, convert, reader).await
        }
    }
}

async fn settle_nodes(
    spec: &NodeSpec,
    upserts: &[NodeRecord],
    deletes: &[Vec<Value>],
    convert: Convert<'_>,
    reader: &mut dyn ChangeReader,
) -> Result<(ChangeReport, Vec<Part>), TargetError> {
    let label = quote_name(&spec.label);
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    let mut report = ChangeReport {
        upserts: vec![ChangeOutcome::Created; upserts.len()],
        deletes: vec![ChangeOutcome::Absent; deletes.len()],
    };

    // Removals: which keys have a node.
    let mut delete_rows = Vec::new();
    for (i, key) in deletes.iter().enumerate() {
        match converted(convert, &key_names, key) {
            Ok(key) => delete_rows.push((i, key)),
            Err(reason) => report.deletes[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let found = read(
        reader,
        &format!("UNWIND $rows AS r MATCH (n:{label} {}) RETURN DISTINCT r[0]", properties(&key_names, "r", 1)),
        indexed(&delete_rows),
    )
    .await?;
    for row in &found {
        if let Some(i) = index_of(row) {
            report.deletes[i] = ChangeOutcome::Deleted;
        }
    }

    // Upserts: which exist, and which of those already hold the record.
    let mut upsert_rows = Vec::new();
    for (i, record) in upserts.iter().enumerate() {
        match converted(convert, &spec.properties, &record.properties) {
            Ok(values) => {
                let key = spec.key.iter().map(|&k| values[k].clone());
                upsert_rows.push((i, key.chain(values.iter().cloned()).collect::<Vec<_>>()));
            }
            Err(reason) => report.upserts[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let found = read(
        reader,
        &format!(
            "UNWIND $rows AS r MATCH (n:{label} {}) RETURN r[0], {}",
            properties(&key_names, "r", 1),
            holds("n", &spec.properties, 1 + key_names.len())
        ),
        indexed(&upsert_rows),
    )
    .await?;
    let mut same: Vec<Option<bool>> = vec![None; upserts.len()];
    for row in &found {
        if let Some(i) = index_of(row) {
            // Several nodes with one key: unchanged only if every one holds the record.
            same[i] = Some(same[i].unwrap_or(true) && flag(row, 1));
        }
    }
    for (i, same) in same.into_iter().enumerate() {
        match same {
            Some(true) => report.upserts[i] = ChangeOutcome::Unchanged,
            Some(false) => report.upserts[i] = ChangeOutcome::Updated,
            None => {}
        }
    }

    // The write: removals, then creations and updates by MERGE on the key.
    let removals = delete_rows.into_iter().filter(|(i, _)| report.deletes[*i] == ChangeOutcome::Deleted);
    let writes = upsert_rows
        .into_iter()
        .filter(|(i, _)| matches!(report.upserts[*i], ChangeOutcome::Created | ChangeOutcome::Updated));
    let merge = |row: &str| {
        let key: Vec<String> =
            spec.key.iter().map(|&k| format!("{}: {row}[{k}]", quote_name(&spec.properties[k]))).collect();
        let others: Vec<String> = spec
            .properties
            .iter()
            .enumerate()
            .filter(|(i, _)| !spec.key.contains(i))
            .map(|(i, name)| format!("n.{} = {row}[{i}]", quote_name(name)))
            .collect();
        let set = if others.is_empty() { String::new() } else { format!(" SET {}", others.join(", ")) };
        format!("MERGE (n:{label} {{{}}}){set}", key.join(", "))
    };
    let remove = format!("OPTIONAL MATCH (n:{label} {}) DETACH DELETE n", properties(&key_names, "d", 0));
    let parts = vec![
        Part {
            name: "removals",
            row: "d",
            alone: remove.clone(),
            together: remove,
            rows: removals.map(|(_, key)| key).collect(),
        },
        Part {
            name: "writes",
            row: "r",
            alone: merge("r"),
            together: format!("FOREACH (x IN CASE WHEN r IS NULL THEN [] ELSE [r] END | {})", merge("x")),
            rows: writes.map(|(_, row)| row[key_names.len()..].to_vec()).collect(),
        },
    ];
    Ok((report, parts))
}

/// The pattern of what an anchor holds, `x` the relationship, from a start node `a` and end
/// node `b` (already bound, or `(a:S {…})` when `start`/`end` give their patterns).
fn anchored(spec: &RelSpec, anchor: Anchor, start: &str, end: &str) -> String {
    let rel_type = quote_name(&spec.rel_type);
    let (start_label, end_label) = (quote_name(&spec.start.label), quote_name(&spec.end.label));
    match anchor {
        Anchor::Start => format!("({start})-[x:{rel_type}]->(y:{end_label})"),
        Anchor::End => format!("(y:{start_label})-[x:{rel_type}]->({end})"),
        Anchor::Pair => format!("({start})-[x:{rel_type}]->({end})"),
    }
}

async fn settle_relationships(
    spec: &RelSpec,
    anchor: Anchor,
    upserts: &[RelRecord],
    deletes: &[AnchorKey],
    convert: Convert<'_>,
    reader: &mut dyn ChangeReader,
) -> Result<(ChangeReport, Vec<Part>), TargetError> {
    let (start_label, end_label) = (quote_name(&spec.start.label), quote_name(&spec.end.label));
    let (starts, ends) = (spec.start.key_properties.len(), spec.end.key_properties.len());
    let mut report = ChangeReport {
        upserts: vec![ChangeOutcome::Created; upserts.len()],
        deletes: vec![ChangeOutcome::Absent; deletes.len()],
    };
    // An anchor key as it is sent: the sides the anchor names.
    let anchor_rows = |key: &AnchorKey| -> Result<Vec<Value>, String> {
        let mut row = converted(convert, &spec.start.key_properties, &key.start)?;
        row.extend(converted(convert, &spec.end.key_properties, &key.end)?);
        Ok(row)
    };
    // The anchor's nodes bound from a list of anchor keys (`d[…]` from position `first`).
    let anchor_nodes = |row: &str, first: usize| match anchor {
        Anchor::Start => {
            (format!("a:{start_label} {}", properties(&spec.start.key_properties, row, first)), String::new())
        }
        Anchor::End => (String::new(), format!("b:{end_label} {}", properties(&spec.end.key_properties, row, first))),
        Anchor::Pair => (
            format!("a:{start_label} {}", properties(&spec.start.key_properties, row, first)),
            format!("b:{end_label} {}", properties(&spec.end.key_properties, row, first + starts)),
        ),
    };
    let anchor_key_of = |record: &RelRecord| match anchor {
        Anchor::Start => AnchorKey { start: record.start.clone(), end: Vec::new() },
        Anchor::End => AnchorKey { start: Vec::new(), end: record.end.clone() },
        Anchor::Pair => AnchorKey { start: record.start.clone(), end: record.end.clone() },
    };

    // Removals: which anchors hold anything.
    let mut delete_rows = Vec::new();
    for (i, key) in deletes.iter().enumerate() {
        match anchor_rows(key) {
            Ok(row) => delete_rows.push((i, row)),
            Err(reason) => report.deletes[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let (read_start, read_end) = anchor_nodes("r", 1);
    let found = read(
        reader,
        &format!("UNWIND $rows AS r MATCH {} RETURN DISTINCT r[0]", anchored(spec, anchor, &read_start, &read_end)),
        indexed(&delete_rows),
    )
    .await?;
    for row in &found {
        if let Some(i) = index_of(row) {
            report.deletes[i] = ChangeOutcome::Deleted;
        }
    }
    let mut removals: Vec<Vec<Value>> = delete_rows
        .into_iter()
        .filter(|(i, _)| report.deletes[*i] == ChangeOutcome::Deleted)
        .map(|(_, row)| row)
        .collect();

    // Upserts: the ends, what the anchor holds, and whether it already is the record.
    let mut upsert_rows: Vec<(usize, Vec<Value>)> = Vec::new();
    for (i, record) in upserts.iter().enumerate() {
        let row = converted(convert, &spec.start.key_properties, &record.start).and_then(|mut row| {
            row.extend(converted(convert, &spec.end.key_properties, &record.end)?);
            row.extend(converted(convert, &spec.properties, &record.properties)?);
            Ok(row)
        });
        match row {
            Ok(row) => upsert_rows.push((i, row)),
            Err(reason) => report.upserts[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let connects = match anchor {
        Anchor::Start => "y = b",
        Anchor::End => "y = a",
        Anchor::Pair => "true",
    };
    let found = read(
        reader,
        &format!(
            "UNWIND $rows AS r \
             OPTIONAL MATCH (a:{start_label} {}) OPTIONAL MATCH (b:{end_label} {}) \
             OPTIONAL MATCH {} \
             RETURN r[0], a IS NULL, b IS NULL, count(x), \
             sum(CASE WHEN x IS NOT NULL AND {connects} THEN 1 ELSE 0 END), \
             sum(CASE WHEN x IS NOT NULL AND {connects} AND {} THEN 1 ELSE 0 END)",
            properties(&spec.start.key_properties, "r", 1),
            properties(&spec.end.key_properties, "r", 1 + starts),
            anchored(spec, anchor, "a", "b"),
            holds("x", &spec.properties, 1 + starts + ends),
        ),
        indexed(&upsert_rows),
    )
    .await?;
    let mut in_place = Vec::new();
    let mut creations = Vec::new();
    let by_index: std::collections::HashMap<usize, &Vec<Value>> =
        upsert_rows.iter().map(|(i, row)| (*i, row)).collect();
    for row in &found {
        let Some(i) = index_of(row) else { continue };
        let Some(values) = by_index.get(&i) else { continue };
        let record = &upserts[i];
        let (no_start, no_end) = (flag(row, 1), flag(row, 2));
        let (held, connecting, same) = (number(row, 3), number(row, 4), number(row, 5));
        let remove_held = || anchor_rows(&anchor_key_of(record)).ok();
        report.upserts[i] = if no_start || no_end {
            // The row no longer gives what its anchor holds: that goes now, the new
            // relationship once its node is there.
            if held > 0 {
                removals.extend(remove_held());
            }
            ChangeOutcome::Missing(if no_start {
                format!(
                    "start node {} not found",
                    node_text(&spec.start.label, &spec.start.key_properties, &record.start)
                )
            } else {
                format!("end node {} not found", node_text(&spec.end.label, &spec.end.key_properties, &record.end))
            })
        } else if held == 1 && connecting == 1 && same == 1 {
            ChangeOutcome::Unchanged
        } else if held == 1 && connecting == 1 {
            in_place.push((*values).clone());
            ChangeOutcome::Updated
        } else {
            if held > 0 {
                removals.extend(remove_held());
            }
            creations.push((*values).clone());
            if held > 0 { ChangeOutcome::Updated } else { ChangeOutcome::Created }
        };
    }

    let rel_type = quote_name(&spec.rel_type);
    let (write_start, write_end) = anchor_nodes("d", 0);
    let remove = format!("OPTIONAL MATCH {} DELETE x", anchored(spec, anchor, &write_start, &write_end));
    let mut parts = vec![Part { name: "removals", row: "d", alone: remove.clone(), together: remove, rows: removals }];
    // Relationship properties that differ are set in place (there are none to set when the
    // mapping copies no property: such a relationship is then always unchanged).
    if !spec.properties.is_empty() {
        let update = format!(
            "OPTIONAL MATCH (a:{start_label} {})-[x:{rel_type}]->(b:{end_label} {}) SET {}",
            properties(&spec.start.key_properties, "r", 0),
            properties(&spec.end.key_properties, "r", starts),
            sets("x", &spec.properties, "r", starts + ends),
        );
        parts.push(Part { name: "updates", row: "r", alone: update.clone(), together: update, rows: in_place });
    }
    let values = if spec.properties.is_empty() {
        String::new()
    } else {
        format!(" {}", properties(&spec.properties, "r", starts + ends))
    };
    let ends_of = |bind: &str| {
        format!(
            "{bind} (a:{start_label} {}) {bind} (b:{end_label} {})",
            properties(&spec.start.key_properties, "r", 0),
            properties(&spec.end.key_properties, "r", starts),
        )
    };
    let create = format!("CREATE (a)-[x:{rel_type}{values}]->(b)");
    parts.push(Part {
        name: "creations",
        row: "r",
        alone: format!("{} {create}", ends_of("MATCH")),
        together: format!(
            "{} FOREACH (_ IN CASE WHEN a IS NULL OR b IS NULL THEN [] ELSE [1] END | {create})",
            ends_of("OPTIONAL MATCH")
        ),
        rows: creations,
    });
    Ok((report, parts))
}

/// The committed batch count of a mapping's stored state, if it has one: after a connection
/// failed during a write of changes, whether that write committed.
pub(crate) async fn stored_batches<R: CypherRunner + ?Sized>(
    runner: &R,
    mapping: &str,
) -> Result<Option<u64>, TargetError> {
    let rows = runner
        .read(
            &format!("MATCH (s:{SYNC_LABEL} {{mapping: $m}}) RETURN s.state"),
            &[("m".into(), Value::String(mapping.to_owned()))],
        )
        .await?;
    Ok(rows.first().and_then(|r| r.first()).and_then(|v| match v {
        Value::String(json) => SyncState::from_json(json).ok().map(|s| s.batches),
        _ => None,
    }))
}

/// Every stored sync state.
pub(crate) async fn states<R: CypherRunner + ?Sized>(runner: &R) -> Result<Vec<SyncState>, TargetError> {
    let target = runner.target();
    let rows = runner.read(&format!("MATCH (s:{SYNC_LABEL}) RETURN s.state"), &[]).await?;
    rows.into_iter()
        .map(|row| match row.first() {
            Some(Value::String(json)) => SyncState::from_json(json).map_err(|e| TargetError::Bookkeeping {
                target: target.to_owned(),
                message: format!("a sync state cannot be read ({e}): {json}"),
            }),
            other => Err(TargetError::Bookkeeping {
                target: target.to_owned(),
                message: format!("a sync state node has no state: {other:?}"),
            }),
        })
        .collect()
}

/// Stores sync states, all in one statement (behind the lock's fencing check).
pub(crate) async fn save_states<R: CypherRunner + ?Sized>(runner: &R, states: &[SyncState]) -> Result<(), TargetError> {
    let rows: Vec<Vec<Value>> =
        states.iter().map(|s| vec![Value::String(s.mapping.clone()), Value::String(s.to_json())]).collect();
    let params: &Params = &[("states".into(), list(rows))];
    fenced_write(
        runner,
        &format!("UNWIND $states AS st MERGE (s:{SYNC_LABEL} {{mapping: st[0]}}) SET s.state = st[1]"),
        params,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{EndpointSpec, NodeRecord};

    /// Answers every read with no rows: every upsert is new, every delete absent.
    struct EmptyGraph(Vec<String>);

    #[async_trait]
    impl ChangeReader for EmptyGraph {
        async fn read_rows(&mut self, cypher: &str, _: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, TargetError> {
            self.0.push(cypher.to_owned());
            Ok(Vec::new())
        }
    }

    fn keep(value: Value) -> Result<Value, String> {
        match value {
            Value::Float(x) if x.is_nan() => Err("NaN".into()),
            other => Ok(other),
        }
    }

    #[tokio::test]
    async fn node_changes_become_removals_then_merges_and_a_value_not_kept_rejects_its_change() {
        let spec = Arc::new(NodeSpec {
            mapping: "m".into(),
            label: "Item".into(),
            properties: vec!["id".into(), "v".into()],
            key: vec![0],
        });
        let upserts = vec![
            NodeRecord { properties: vec![Value::Int(1), Value::Float(0.5)] },
            NodeRecord { properties: vec![Value::Int(2), Value::Float(f64::NAN)] },
        ];
        let changes = ChangeSet::Nodes { spec, upserts, deletes: vec![vec![Value::Int(3)]] };
        let mut reader = EmptyGraph(Vec::new());
        let (report, parts) = settle(&changes, &keep, &mut reader).await.unwrap();
        assert_eq!(report.upserts[0], ChangeOutcome::Created);
        assert_eq!(report.upserts[1], ChangeOutcome::Rejected("property `v`: NaN".into()));
        assert_eq!(report.deletes, [ChangeOutcome::Absent]);
        assert_eq!(reader.0.len(), 2, "one read for the removals, one for the upserts: {:?}", reader.0);
        assert_eq!(
            parts[0].statement(),
            "UNWIND $rows AS d OPTIONAL MATCH (n:`Item` {`id`: d[0]}) DETACH DELETE n RETURN count(*)"
        );
        assert!(parts[0].rows.is_empty(), "nothing to remove");
        assert_eq!(
            parts[1].statement(),
            "UNWIND $rows AS r MERGE (n:`Item` {`id`: r[0]}) SET n.`v` = r[1] RETURN count(*)"
        );
        assert_eq!(parts[1].rows, [vec![Value::Int(1), Value::Float(0.5)]]);
        let (query, params) = combined(parts);
        assert!(
            query.starts_with("UNWIND CASE WHEN size($removals) = 0 THEN [null] ELSE $removals END AS d "),
            "{query}"
        );
        assert!(
            query.ends_with("FOREACH (x IN CASE WHEN r IS NULL THEN [] ELSE [r] END | MERGE (n:`Item` {`id`: x[0]}) SET n.`v` = x[1]) WITH count(*) AS _writes"),
            "{query}"
        );
        assert_eq!(params.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["removals", "writes"]);
    }

    #[tokio::test]
    async fn relationships_whose_ends_are_missing_wait_and_the_others_are_created_between_found_ends() {
        let spec = Arc::new(RelSpec {
            mapping: "placed".into(),
            rel_type: "PLACED".into(),
            start: EndpointSpec { label: "Customer".into(), key_properties: vec!["id".into()] },
            end: EndpointSpec { label: "Order".into(), key_properties: vec!["id".into()] },
            properties: Vec::new(),
            key: Vec::new(),
        });
        let record = RelRecord { start: vec![Value::Int(7)], end: vec![Value::Int(9)], properties: Vec::new() };
        /// The order's customer is not there.
        struct NoStart;
        #[async_trait]
        impl ChangeReader for NoStart {
            async fn read_rows(&mut self, _: &str, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, TargetError> {
                Ok(rows
                    .iter()
                    .map(|r| {
                        vec![
                            r[0].clone(),
                            Value::Bool(true),
                            Value::Bool(false),
                            Value::Int(0),
                            Value::Int(0),
                            Value::Int(0),
                        ]
                    })
                    .collect())
            }
        }
        let changes =
            ChangeSet::Relationships { spec, anchor: Anchor::End, upserts: vec![record], deletes: Vec::new() };
        let (report, parts) = settle(&changes, &keep, &mut NoStart).await.unwrap();
        assert_eq!(report.upserts, [ChangeOutcome::Missing("start node (:Customer {id: 7}) not found".into())]);
        assert!(parts.iter().all(|p| p.rows.is_empty()), "nothing to write");
        let creations = parts.last().unwrap().statement();
        assert_eq!(
            creations,
            "UNWIND $rows AS r MATCH (a:`Customer` {`id`: r[0]}) MATCH (b:`Order` {`id`: r[1]}) CREATE (a)-[x:`PLACED`]->(b) RETURN count(*)"
        );
    }
}
