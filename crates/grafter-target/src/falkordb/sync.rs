//! Applying `grafter sync`'s changes on FalkorDB, with the mapping's sync state, exactly once.
//!
//! As for a run's batches ([`super::write`]), two queries: a read that settles every
//! change's outcome — which nodes exist and already hold exactly the record (compared by the
//! server, so doubles compare exactly), which relationships an anchor holds and whether one
//! of them already is the record — and then one write query: the removals, the updates in
//! place, the creations and the state, each part an `UNWIND` that runs over `[null]` when it
//! has nothing to do (so an empty part does not end the query), and `FOREACH` for writes
//! that must not happen on a row whose node is missing. FalkorDB runs a query atomically, so
//! the changes and the state commit together or not at all. If the connection fails during
//! the write, the stored state's batch count says whether it committed.

use grafter_model::{SyncState, Value, quote_name};

use super::connection::{Client, ClientError};
use super::failed;
use super::literal::{params_prefix, storable};
use crate::records::node_text;
use crate::{
    Anchor, AnchorKey, ChangeCommit, ChangeOutcome, ChangeReport, ChangeSet, NodeRecord, NodeSpec, RelRecord, RelSpec,
    TargetError,
};

/// Label of the nodes holding sync states.
const SYNC_LABEL: &str = "_GrafterSync";

/// `{`a`: d[1], `b`: d[2]}`: a pattern's properties from positions of list `list`.
fn pattern(names: &[String], list: &str, first: usize) -> String {
    let pairs: Vec<String> =
        names.iter().enumerate().map(|(i, name)| format!("{}: {list}[{}]", quote_name(name), first + i)).collect();
    format!("{{{}}}", pairs.join(", "))
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

/// `v.`a` = x[3], …`: every property set from positions of `x` (NULL removes it).
fn sets(variable: &str, names: &[String], list: &str, first: usize) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{variable}.{} = {list}[{}]", quote_name(name), first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `UNWIND … AS name`: the list, or `[null]` when it is empty, so the query goes on.
fn unwind(parameter: &str, name: &str) -> String {
    format!("UNWIND CASE WHEN size(${parameter}) = 0 THEN [null] ELSE ${parameter} END AS {name}")
}

/// Values converted to what FalkorDB keeps; the first that cannot be stored says why.
fn converted(names: &[String], values: &[Value]) -> Result<Vec<Value>, String> {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| storable(value.clone()).map_err(|e| format!("property `{name}`: {}", e.0)))
        .collect()
}

/// Applies `changes` and stores the state `commit` returns; see the module documentation.
pub(crate) async fn apply(
    client: &Client,
    target: &str,
    changes: ChangeSet,
    commit: ChangeCommit,
) -> Result<ChangeReport, TargetError> {
    let (report, parts) = match &changes {
        ChangeSet::Nodes { spec, upserts, deletes } => settle_nodes(client, target, spec, upserts, deletes).await?,
        ChangeSet::Relationships { spec, anchor, upserts, deletes } => {
            settle_relationships(client, target, spec, *anchor, upserts, deletes).await?
        }
    };
    let state = commit(&report).map_err(|message| TargetError::Write { target: target.to_owned(), message })?;
    let mut params = parts.params;
    params.push(("sync_mapping".into(), Value::String(state.mapping.clone())));
    params.push(("sync_state".into(), Value::String(state.to_json())));
    let text = format!(
        "{}{} MERGE (s:{SYNC_LABEL} {{mapping: $sync_mapping}}) SET s.state = $sync_state RETURN 1",
        params_prefix(&params),
        parts.query
    );
    send(client, target, &text, &state).await?;
    Ok(report)
}

/// The write query's parts and their parameters.
struct WriteParts {
    query: String,
    params: Vec<(String, Value)>,
}

fn list(rows: Vec<Vec<Value>>) -> Value {
    Value::List(rows.into_iter().map(Value::List).collect())
}

async fn read(
    client: &Client,
    target: &str,
    cypher: &str,
    rows: Vec<Vec<Value>>,
) -> Result<Vec<Vec<Value>>, TargetError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let params = [("rows".to_owned(), list(rows))];
    Ok(client.read_query(cypher, &params).await.map_err(|e| failed(target, e))?.rows)
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

async fn settle_nodes(
    client: &Client,
    target: &str,
    spec: &NodeSpec,
    upserts: &[NodeRecord],
    deletes: &[Vec<Value>],
) -> Result<(ChangeReport, WriteParts), TargetError> {
    let label = quote_name(&spec.label);
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    let mut report = ChangeReport {
        upserts: vec![ChangeOutcome::Created; upserts.len()],
        deletes: vec![ChangeOutcome::Absent; deletes.len()],
    };

    // Removals: which keys have a node.
    let mut delete_rows = Vec::new();
    for (i, key) in deletes.iter().enumerate() {
        match converted(&key_names, key) {
            Ok(key) => delete_rows.push(std::iter::once(Value::Int(i as i64)).chain(key).collect()),
            Err(reason) => report.deletes[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let found = read(
        client,
        target,
        &format!("UNWIND $rows AS r MATCH (n:{label} {}) RETURN DISTINCT r[0]", pattern(&key_names, "r", 1)),
        delete_rows.clone(),
    )
    .await?;
    for row in &found {
        if let Some(i) = index_of(row) {
            report.deletes[i] = ChangeOutcome::Deleted;
        }
    }

    // Upserts: which exist, and which of those already hold the record.
    let mut upsert_rows: Vec<Vec<Value>> = Vec::new();
    for (i, record) in upserts.iter().enumerate() {
        match converted(&spec.properties, &record.properties) {
            Ok(values) => {
                let key = spec.key.iter().map(|&k| values[k].clone());
                upsert_rows
                    .push(std::iter::once(Value::Int(i as i64)).chain(key).chain(values.iter().cloned()).collect());
            }
            Err(reason) => report.upserts[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let first_property = 1 + key_names.len();
    let found = read(
        client,
        target,
        &format!(
            "UNWIND $rows AS r MATCH (n:{label} {}) RETURN r[0], {}",
            pattern(&key_names, "r", 1),
            holds("n", &spec.properties, first_property)
        ),
        upsert_rows.clone(),
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
    let removals: Vec<Vec<Value>> = delete_rows
        .into_iter()
        .filter(|row| index_of(row).is_some_and(|i| report.deletes[i] == ChangeOutcome::Deleted))
        .map(|row| row[1..].to_vec())
        .collect();
    let writes: Vec<Vec<Value>> = upsert_rows
        .into_iter()
        .filter(|row| {
            index_of(row).is_some_and(|i| matches!(report.upserts[i], ChangeOutcome::Created | ChangeOutcome::Updated))
        })
        .map(|row| row[1 + key_names.len()..].to_vec())
        .collect();
    let key_in_record: Vec<String> =
        spec.key.iter().map(|&k| format!("{}: x[{k}]", quote_name(&spec.properties[k]))).collect();
    let other: Vec<(usize, &String)> =
        spec.properties.iter().enumerate().filter(|(i, _)| !spec.key.contains(i)).collect();
    let set_others = if other.is_empty() {
        String::new()
    } else {
        format!(
            " SET {}",
            other.iter().map(|(i, name)| format!("n.{} = x[{i}]", quote_name(name))).collect::<Vec<_>>().join(", ")
        )
    };
    let query = format!(
        "{} OPTIONAL MATCH (n:{label} {}) DETACH DELETE n WITH count(*) AS _removed \
         {} FOREACH (x IN CASE WHEN r IS NULL THEN [] ELSE [r] END | MERGE (n:{label} {{{}}}){set_others}) \
         WITH count(*) AS _written",
        unwind("removals", "d"),
        pattern(&key_names, "d", 0),
        unwind("writes", "r"),
        key_in_record.join(", "),
    );
    Ok((
        report,
        WriteParts { query, params: vec![("removals".into(), list(removals)), ("writes".into(), list(writes))] },
    ))
}

/// The pattern of what an anchor holds, `x` the relationship, from a start node `a` and end
/// node `b` (already bound, or `(a:S {…})` when `bind` gives their patterns).
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
    client: &Client,
    target: &str,
    spec: &RelSpec,
    anchor: Anchor,
    upserts: &[RelRecord],
    deletes: &[AnchorKey],
) -> Result<(ChangeReport, WriteParts), TargetError> {
    let (start_label, end_label) = (quote_name(&spec.start.label), quote_name(&spec.end.label));
    let (starts, ends) = (spec.start.key_properties.len(), spec.end.key_properties.len());
    let mut report = ChangeReport {
        upserts: vec![ChangeOutcome::Created; upserts.len()],
        deletes: vec![ChangeOutcome::Absent; deletes.len()],
    };
    // An anchor key as it is sent: the sides the anchor names.
    let anchor_rows = |key: &AnchorKey| -> Result<Vec<Value>, String> {
        let mut row = converted(&spec.start.key_properties, &key.start)?;
        row.extend(converted(&spec.end.key_properties, &key.end)?);
        Ok(row)
    };
    // The anchor's nodes bound from a list of anchor keys (`d[…]` from position `first`).
    let anchor_nodes = |list: &str, first: usize| match anchor {
        Anchor::Start => {
            (format!("a:{start_label} {}", pattern(&spec.start.key_properties, list, first)), String::new())
        }
        Anchor::End => (String::new(), format!("b:{end_label} {}", pattern(&spec.end.key_properties, list, first))),
        Anchor::Pair => (
            format!("a:{start_label} {}", pattern(&spec.start.key_properties, list, first)),
            format!("b:{end_label} {}", pattern(&spec.end.key_properties, list, first + starts)),
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
        client,
        target,
        &format!("UNWIND $rows AS r MATCH {} RETURN DISTINCT r[0]", anchored(spec, anchor, &read_start, &read_end)),
        delete_rows
            .iter()
            .map(|(i, row)| std::iter::once(Value::Int(*i as i64)).chain(row.iter().cloned()).collect())
            .collect(),
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
        let row = converted(&spec.start.key_properties, &record.start).and_then(|mut row| {
            row.extend(converted(&spec.end.key_properties, &record.end)?);
            row.extend(converted(&spec.properties, &record.properties)?);
            Ok(row)
        });
        match row {
            Ok(row) => upsert_rows.push((i, row)),
            Err(reason) => report.upserts[i] = ChangeOutcome::Rejected(reason),
        }
    }
    let first_property = 1 + starts + ends;
    let connects = match anchor {
        Anchor::Start => "y = b",
        Anchor::End => "y = a",
        Anchor::Pair => "true",
    };
    let found = read(
        client,
        target,
        &format!(
            "UNWIND $rows AS r \
             OPTIONAL MATCH (a:{start_label} {}) OPTIONAL MATCH (b:{end_label} {}) \
             OPTIONAL MATCH {} \
             RETURN r[0], a IS NULL, b IS NULL, count(x), \
             sum(CASE WHEN x IS NOT NULL AND {connects} THEN 1 ELSE 0 END), \
             sum(CASE WHEN x IS NOT NULL AND {connects} AND {} THEN 1 ELSE 0 END)",
            pattern(&spec.start.key_properties, "r", 1),
            pattern(&spec.end.key_properties, "r", 1 + starts),
            anchored(spec, anchor, "a", "b"),
            holds("x", &spec.properties, first_property),
        ),
        upsert_rows
            .iter()
            .map(|(i, row)| std::iter::once(Value::Int(*i as i64)).chain(row.iter().cloned()).collect())
            .collect(),
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
    let mut query = format!(
        "{} OPTIONAL MATCH {} DELETE x WITH count(*) AS _removed ",
        unwind("removals", "d"),
        anchored(spec, anchor, &write_start, &write_end),
    );
    // Relationship properties that differ are set in place (there are none to set when the
    // mapping copies no property: such a relationship is then always unchanged).
    if !spec.properties.is_empty() {
        query.push_str(&format!(
            "{} OPTIONAL MATCH (a:{start_label} {})-[x:{rel_type}]->(b:{end_label} {}) SET {} WITH count(*) AS _updated ",
            unwind("updates", "r"),
            pattern(&spec.start.key_properties, "r", 0),
            pattern(&spec.end.key_properties, "r", starts),
            sets("x", &spec.properties, "r", starts + ends),
        ));
    }
    let properties = if spec.properties.is_empty() {
        String::new()
    } else {
        format!(" {}", pattern(&spec.properties, "r", starts + ends))
    };
    query.push_str(&format!(
        "{} OPTIONAL MATCH (a:{start_label} {}) OPTIONAL MATCH (b:{end_label} {}) \
         FOREACH (_ IN CASE WHEN a IS NULL OR b IS NULL THEN [] ELSE [1] END | CREATE (a)-[x:{rel_type}{properties}]->(b)) \
         WITH count(*) AS _created",
        unwind("creations", "r"),
        pattern(&spec.start.key_properties, "r", 0),
        pattern(&spec.end.key_properties, "r", starts),
    ));
    Ok((
        report,
        WriteParts {
            query,
            params: vec![
                ("removals".into(), list(removals)),
                ("updates".into(), list(in_place)),
                ("creations".into(), list(creations)),
            ],
        },
    ))
}

/// Sends the write exactly once: if the connection fails, the stored state's batch count
/// says whether it committed, and it is sent again only if it did not.
async fn send(client: &Client, target: &str, text: &str, state: &SyncState) -> Result<(), TargetError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.query_text(client.graph(), text, false).await {
            Ok(_) => return Ok(()),
            Err(ClientError::Connection(message)) if attempts <= 5 => {
                let stored =
                    client.retry(|| stored_batches(client, &state.mapping)).await.map_err(|e| failed(target, e))?;
                if stored.is_some_and(|n| n >= state.batches) {
                    return Ok(());
                }
                tracing::debug!("{target}: a sync batch failed before committing ({message}); sending it again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempts)).await;
            }
            Err(error) => return Err(failed(target, error)),
        }
    }
}

/// The committed batch count of a mapping's stored state.
async fn stored_batches(client: &Client, mapping: &str) -> Result<Option<u64>, ClientError> {
    let reply = client
        .query_graph(
            client.graph(),
            &format!("MATCH (s:{SYNC_LABEL} {{mapping: $m}}) RETURN s.state"),
            &[("m".into(), Value::String(mapping.to_owned()))],
            true,
        )
        .await?;
    Ok(reply.rows.first().and_then(|r| r.first()).and_then(|v| match v {
        Value::String(json) => SyncState::from_json(json).ok().map(|s| s.batches),
        _ => None,
    }))
}

/// Every stored sync state.
pub(crate) async fn states(client: &Client, target: &str) -> Result<Vec<SyncState>, TargetError> {
    let reply = client
        .read_query(&format!("MATCH (s:{SYNC_LABEL}) RETURN s.state"), &[])
        .await
        .map_err(|e| failed(target, e))?;
    reply
        .rows
        .into_iter()
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

/// Stores sync states, all in one query.
pub(crate) async fn save_states(client: &Client, target: &str, states: &[SyncState]) -> Result<(), TargetError> {
    let rows: Vec<Vec<Value>> =
        states.iter().map(|s| vec![Value::String(s.mapping.clone()), Value::String(s.to_json())]).collect();
    client
        .idempotent(
            &format!("UNWIND $states AS st MERGE (s:{SYNC_LABEL} {{mapping: st[0]}}) SET s.state = st[1]"),
            &[("states".into(), list(rows))],
        )
        .await
        .map_err(|e| failed(target, e))?;
    Ok(())
}
