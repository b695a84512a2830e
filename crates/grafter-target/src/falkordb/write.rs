//! Writing one batch into FalkorDB, together with its checkpoint, exactly once.
//!
//! A batch is written in two queries:
//!
//! 1. a read that finds which records cannot be written (a relationship whose end node is
//!    missing, a key this run has already written) and which update a node or relationship
//!    that was there before the run — so that every record's outcome is known, and its
//!    rejects written, *before* anything commits;
//! 2. one write query: an `UNWIND` over the records left, then the checkpoint update.
//!    FalkorDB runs a query atomically (an error undoes it whole), so the batch and its
//!    checkpoint commit together or not at all.
//!
//! When nothing in the batch exists yet (the usual case of a first load) the write uses
//! `CREATE`, else `MERGE` on the key. Elements written by this run carry a
//! `_grafter_run` property until the run finishes ([`finish_run`]), which is how a resumed
//! run still tells its own elements from older ones. If the connection fails during the
//! write, the checkpoint says whether it committed: the write is repeated only if it did not.
//!
//! [`encode`] does the CPU work (value conversion, the parameter text) beside the writer.

use std::fmt::Write as _;
use std::sync::Arc;

use grafter_model::{KeyHash, Value, key_hash, quote_name};
use rustc_hash::{FxHashMap, FxHashSet};

use super::bookkeeping::{checkpoint_clause, checkpoint_fields, checkpoint_identity};
use super::connection::{Client, ClientError};
use super::literal::{params_prefix, storable, write_literal};
use super::{RUN_PROPERTY, failed};
use crate::records::node_text;
use crate::{BeforeCommit, Checkpoint, Encoded, NodeSpec, RecordBatch, RelSpec, RowOutcome, TargetError, WriteReport};

/// A batch ready to send: the records that can be written, as parameter text.
pub(crate) struct EncodedBatch {
    shape: Shape,
    /// One outcome per record; `None` until the lookup decides.
    outcomes: Vec<Option<RowOutcome>>,
    /// Batch positions of the records in `rows`, in order.
    positions: Vec<usize>,
    /// `[[i, key…], …]`: what the lookup needs.
    lookup_rows: Vec<String>,
    /// `[i, key…, property…]` per record: what the write needs.
    write_rows: Vec<String>,
    /// Readable record descriptions for reject reasons, by batch position.
    described: Vec<String>,
}

enum Shape {
    Nodes(Arc<NodeSpec>),
    Relationships(Arc<RelSpec>),
}

pub(crate) fn list_literal(values: impl IntoIterator<Item = Value>) -> String {
    let mut out = String::new();
    write_literal(&mut out, &Value::List(values.into_iter().collect()));
    out
}

/// Converts values to what FalkorDB keeps; the first that cannot be stored rejects the row.
fn convert_all(names: &[String], values: Vec<Value>) -> Result<Vec<Value>, RowOutcome> {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| storable(value).map_err(|e| RowOutcome::Rejected(format!("property `{name}`: {}", e.0))))
        .collect()
}

/// Converts a batch for [`write`] (on a worker thread, beside the writer).
pub(crate) fn encode(batch: RecordBatch) -> Encoded {
    let records = batch.len();
    let mut encoded = EncodedBatch {
        shape: match &batch {
            RecordBatch::Nodes { spec, .. } => Shape::Nodes(Arc::clone(spec)),
            RecordBatch::Relationships { spec, .. } => Shape::Relationships(Arc::clone(spec)),
        },
        outcomes: Vec::with_capacity(records),
        positions: Vec::with_capacity(records),
        lookup_rows: Vec::with_capacity(records),
        write_rows: Vec::with_capacity(records),
        described: Vec::with_capacity(records),
    };
    let mut seen: FxHashSet<KeyHash> = FxHashSet::with_capacity_and_hasher(records, Default::default());
    match batch {
        RecordBatch::Nodes { spec, records } => {
            let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
            for (i, record) in records.into_iter().enumerate() {
                let key_values: Vec<Value> = spec.key.iter().map(|&k| record.properties[k].clone()).collect();
                encoded.described.push(node_text(&spec.label, &key_names, &key_values));
                let values = match convert_all(&spec.properties, record.properties) {
                    Ok(values) => values,
                    Err(rejected) => {
                        encoded.outcomes.push(Some(rejected));
                        continue;
                    }
                };
                let key: Vec<Value> = spec.key.iter().map(|&k| values[k].clone()).collect();
                if !seen.insert(key_hash(&key)) {
                    encoded.outcomes.push(Some(RowOutcome::Rejected(format!(
                        "duplicate key: {} was already written by this run",
                        encoded.described[i]
                    ))));
                    continue;
                }
                encoded.outcomes.push(None);
                encoded.positions.push(i);
                let index = Value::Int(i as i64);
                encoded.lookup_rows.push(list_literal(std::iter::once(index.clone()).chain(key)));
                encoded.write_rows.push(list_literal(std::iter::once(index).chain(values)));
            }
        }
        RecordBatch::Relationships { spec, records } => {
            for (i, record) in records.into_iter().enumerate() {
                encoded.described.push(format!(
                    "{}-[:{}]->{}",
                    node_text(&spec.start.label, &spec.start.key_properties, &record.start),
                    spec.rel_type,
                    node_text(&spec.end.label, &spec.end.key_properties, &record.end)
                ));
                let converted = convert_all(&spec.start.key_properties, record.start).and_then(|start| {
                    let end = convert_all(&spec.end.key_properties, record.end)?;
                    Ok((start, end, convert_all(&spec.properties, record.properties)?))
                });
                let (start, end, values) = match converted {
                    Ok(converted) => converted,
                    Err(rejected) => {
                        encoded.outcomes.push(Some(rejected));
                        continue;
                    }
                };
                if let Some(&k) = spec.key.iter().find(|&&k| values[k].is_null()) {
                    encoded.outcomes.push(Some(RowOutcome::Rejected(format!(
                        "relationship key property `{}` is NULL",
                        spec.properties[k]
                    ))));
                    continue;
                }
                let key: Vec<Value> = spec.key.iter().map(|&k| values[k].clone()).collect();
                let identity =
                    key_hash(&[Value::List(start.clone()), Value::List(end.clone()), Value::List(key.clone())]);
                if !seen.insert(identity) {
                    encoded.outcomes.push(Some(RowOutcome::Rejected(format!(
                        "duplicate relationship: {} was already written by this run{}",
                        encoded.described[i],
                        if spec.key.is_empty() {
                            " (give the mapping a `key` if parallel relationships are intended)"
                        } else {
                            ""
                        }
                    ))));
                    continue;
                }
                encoded.outcomes.push(None);
                encoded.positions.push(i);
                let index = Value::Int(i as i64);
                let ends = std::iter::once(index.clone()).chain(start.iter().cloned()).chain(end.iter().cloned());
                encoded.lookup_rows.push(list_literal(ends.chain(key)));
                encoded.write_rows.push(list_literal(std::iter::once(index).chain(start).chain(end).chain(values)));
            }
        }
    }
    Encoded::new(records, encoded)
}

/// `{`a`: r[1], `b`: r[2]}`: a pattern's properties taken from row positions.
fn pattern(names: &[String], first: usize) -> String {
    let pairs: Vec<String> =
        names.iter().enumerate().map(|(i, name)| format!("{}: r[{}]", quote_name(name), first + i)).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// `v.`a` = r[first], v.`b` = r[first + 1], …, v.`_grafter_run` = $run`: every property
/// from its row position, and the run's mark.
fn marked_sets(variable: &str, names: &[String], first: usize) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{variable}.{} = r[{}]", quote_name(name), first + i))
        .chain(std::iter::once(format!("{variable}.{} = $run", quote_name(RUN_PROPERTY))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The queries of a node mapping: (lookup, write with MERGE, write with CREATE).
fn node_queries(spec: &NodeSpec) -> (String, String, String) {
    let label = quote_name(&spec.label);
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    let run = quote_name(RUN_PROPERTY);
    let lookup = format!("UNWIND $rows AS r MATCH (o:{label} {}) RETURN r[0], o.{run} = $run", pattern(&key_names, 1));
    let mut merge_key = Vec::new();
    let mut sets = Vec::new();
    for (i, name) in spec.properties.iter().enumerate() {
        if spec.key.contains(&i) {
            merge_key.push(format!("{}: r[{}]", quote_name(name), i + 1));
        } else {
            sets.push(format!("n.{} = r[{}]", quote_name(name), i + 1));
        }
    }
    sets.push(format!("n.{run} = $run"));
    let tail = format!("WITH count(n) AS written {} RETURN written", checkpoint_clause());
    let merge =
        format!("UNWIND $rows AS r MERGE (n:{label} {{{}}}) SET {} {tail}", merge_key.join(", "), sets.join(", "));
    let create = format!("UNWIND $rows AS r CREATE (n:{label}) SET {} {tail}", marked_sets("n", &spec.properties, 1));
    (lookup, merge, create)
}

/// The queries of a relationship mapping: (lookup, write with MERGE, write with CREATE).
fn relationship_queries(spec: &RelSpec) -> (String, String, String) {
    let (start_label, end_label, rel_type) =
        (quote_name(&spec.start.label), quote_name(&spec.end.label), quote_name(&spec.rel_type));
    let run = quote_name(RUN_PROPERTY);
    let starts = spec.start.key_properties.len();
    let ends = spec.end.key_properties.len();
    let start_pattern = pattern(&spec.start.key_properties, 1);
    let end_pattern = pattern(&spec.end.key_properties, 1 + starts);
    let key_names: Vec<String> = spec.key.iter().map(|&k| spec.properties[k].clone()).collect();
    let lookup_key =
        if key_names.is_empty() { String::new() } else { format!(" {}", pattern(&key_names, 1 + starts + ends)) };
    let lookup = format!(
        "UNWIND $rows AS r \
         OPTIONAL MATCH (a:{start_label} {start_pattern}) \
         OPTIONAL MATCH (b:{end_label} {end_pattern}) \
         OPTIONAL MATCH (a)-[x:{rel_type}{lookup_key}]->(b) \
         WITH r, a, b, x WHERE a IS NULL OR b IS NULL OR x IS NOT NULL \
         RETURN r[0], a IS NULL, b IS NULL, x.{run} = $run"
    );
    let first_property = 1 + starts + ends;
    let mut merge_key = Vec::new();
    let mut sets = Vec::new();
    for (i, name) in spec.properties.iter().enumerate() {
        if spec.key.contains(&i) {
            merge_key.push(format!("{}: r[{}]", quote_name(name), first_property + i));
        } else {
            sets.push(format!("x.{} = r[{}]", quote_name(name), first_property + i));
        }
    }
    sets.push(format!("x.{run} = $run"));
    let matched = format!("UNWIND $rows AS r MATCH (a:{start_label} {start_pattern}), (b:{end_label} {end_pattern})");
    let tail = format!("WITH count(x) AS written {} RETURN written", checkpoint_clause());
    let merge_pattern = if merge_key.is_empty() { String::new() } else { format!(" {{{}}}", merge_key.join(", ")) };
    let merge = format!("{matched} MERGE (a)-[x:{rel_type}{merge_pattern}]->(b) SET {} {tail}", sets.join(", "));
    let create = format!(
        "{matched} CREATE (a)-[x:{rel_type}]->(b) SET {} {tail}",
        marked_sets("x", &spec.properties, first_property)
    );
    (lookup, merge, create)
}

/// The one-query write of a relationship batch for when nothing can go wrong: every end is
/// found once and no relationship of the batch exists yet. It writes (and stores the
/// checkpoint) only then — else it changes nothing and returns no row, and the batch takes
/// the lookup-then-write way. On a first load this halves the server's work: the ends are
/// looked up once instead of twice.
fn optimistic_relationship_query(spec: &RelSpec) -> String {
    let (start_label, end_label, rel_type) =
        (quote_name(&spec.start.label), quote_name(&spec.end.label), quote_name(&spec.rel_type));
    let starts = spec.start.key_properties.len();
    let ends = spec.end.key_properties.len();
    let first_property = 1 + starts + ends;
    let key_names: Vec<String> = spec.key.iter().map(|&k| spec.properties[k].clone()).collect();
    let key_positions: Vec<String> = spec
        .key
        .iter()
        .zip(&key_names)
        .map(|(&k, name)| format!("{}: r[{}]", quote_name(name), first_property + k))
        .collect();
    let key = if key_positions.is_empty() { String::new() } else { format!(" {{{}}}", key_positions.join(", ")) };
    format!(
        "UNWIND $rows AS r \
         MATCH (a:{start_label} {}) MATCH (b:{end_label} {}) \
         WHERE NOT (a)-[:{rel_type}{key}]->(b) \
         WITH collect([a, b, r]) AS found WHERE size(found) = $n \
         UNWIND found AS f WITH f[0] AS a, f[1] AS b, f[2] AS r \
         CREATE (a)-[x:{rel_type}]->(b) SET {} \
         WITH count(x) AS written WHERE written = $n {} RETURN written",
        pattern(&spec.start.key_properties, 1),
        pattern(&spec.end.key_properties, 1 + starts),
        marked_sets("x", &spec.properties, first_property),
        checkpoint_clause()
    )
}

/// What sending a write found.
enum Sent {
    /// It ran; its rows.
    Rows(Vec<Vec<Value>>),
    /// The connection failed after the write committed (its checkpoint is there).
    CommittedUnseen,
}

/// Sends a write carrying checkpoint `stored`, exactly once: if the connection fails, the
/// checkpoint says whether it committed, and it is sent again only if it did not.
async fn send(client: &Client, target: &str, text: &str, stored: &Checkpoint) -> Result<Sent, TargetError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.query_text(client.graph(), text, false).await {
            Ok(reply) => return Ok(Sent::Rows(reply.rows)),
            Err(ClientError::Connection(message)) if attempts <= 5 => {
                // Did the batch commit before the connection failed? Its checkpoint says.
                let committed = client.retry(|| stored_batches(client, stored)).await.map_err(|e| failed(target, e))?;
                match committed {
                    Some(n) if n >= stored.batches => return Ok(Sent::CommittedUnseen),
                    Some(n) if n + 1 == stored.batches => {}
                    None if stored.batches <= 1 => {}
                    other => {
                        return Err(TargetError::Write {
                            target: target.to_owned(),
                            message: format!(
                                "the connection failed ({message}) and the graph no longer holds the run's earlier batches (checkpoint at {other:?}, expected {}): was the server restarted without persistence? Start again with `grafter run --fresh`",
                                stored.batches - 1
                            ),
                        });
                    }
                }
                tracing::debug!("{target}: write failed before committing ({message}); sending it again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempts)).await;
            }
            Err(error) => return Err(failed(target, error)),
        }
    }
}

/// `CYPHER name=literal … rows=[…] ` with the rows given as ready-made literals.
pub(crate) fn prefix_with_rows(params: &[(String, Value)], rows: &[&String]) -> String {
    let mut text = params_prefix(params);
    if text.is_empty() {
        text.push_str("CYPHER ");
    }
    let size: usize = rows.iter().map(|r| r.len() + 1).sum();
    text.reserve(size + 16);
    text.push_str("rows=[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(row);
    }
    text.push_str("] ");
    text
}

/// Writes an encoded batch and its checkpoint; see the module documentation.
pub(crate) async fn write(
    client: &Client,
    target: &str,
    run_id: &str,
    encoded: Encoded,
    checkpoint: &Checkpoint,
    mut before_commit: BeforeCommit,
) -> Result<WriteReport, TargetError> {
    let mut batch = encoded.downcast::<EncodedBatch>().ok_or_else(|| TargetError::Write {
        target: target.to_owned(),
        message: "the batch was encoded by another kind of target".into(),
    })?;
    let (lookup, merge, create) = match &batch.shape {
        Shape::Nodes(spec) => node_queries(spec),
        Shape::Relationships(spec) => relationship_queries(spec),
    };
    let run = vec![("run".to_owned(), Value::String(run_id.to_owned()))];

    // 0. Relationships: one query, when every record can be written as it is — tried until
    // it fails once for the relationship type (a re-run over existing relationships would
    // pay for a query that never writes, batch after batch).
    if let Shape::Relationships(spec) = &batch.shape
        && !batch.positions.is_empty()
        && !client.optimism_failed(&spec.rel_type)
    {
        let outcomes: Vec<RowOutcome> =
            batch.outcomes.iter().map(|o| o.clone().unwrap_or(RowOutcome::Created)).collect();
        let report = WriteReport { outcomes, checkpoint_seconds: 0.0 };
        before_commit(&report).map_err(|message| TargetError::Write { target: target.to_owned(), message })?;
        let stored = checkpoint.with_outcomes(&report);
        let mut params = run.clone();
        params.extend(checkpoint_identity(&stored));
        params.push(("cp".into(), checkpoint_fields(&stored)));
        params.push(("n".into(), Value::Int(batch.positions.len() as i64)));
        let rows: Vec<&String> = batch.write_rows.iter().collect();
        let text = format!("{}{}", prefix_with_rows(&params, &rows), optimistic_relationship_query(spec));
        match send(client, target, &text, &stored).await? {
            Sent::CommittedUnseen => return Ok(report),
            Sent::Rows(rows) if !rows.is_empty() => return Ok(report),
            // Something in the batch needs a closer look: nothing was written.
            Sent::Rows(_) => client.set_optimism_failed(&spec.rel_type),
        }
    }

    // 1. Outcomes, before anything commits.
    let mut existing = 0usize;
    if !batch.positions.is_empty() {
        let all: Vec<&String> = batch.lookup_rows.iter().collect();
        let text = format!("{}{lookup}", prefix_with_rows(&run, &all));
        let reply =
            client.retry(|| client.query_text(client.graph(), &text, true)).await.map_err(|e| failed(target, e))?;
        let mut decided: FxHashMap<usize, RowOutcome> = FxHashMap::default();
        for row in reply.rows {
            let Some(Value::Int(i)) = row.first() else { continue };
            let i = *i as usize;
            let outcome = match &batch.shape {
                Shape::Nodes(_) => {
                    if matches!(row.get(1), Some(Value::Bool(true))) {
                        RowOutcome::Rejected(format!(
                            "duplicate key: {} was already written by this run",
                            batch.described[i]
                        ))
                    } else {
                        RowOutcome::Updated
                    }
                }
                Shape::Relationships(spec) => {
                    if matches!(row.get(1), Some(Value::Bool(true))) {
                        RowOutcome::Rejected(format!("start node of {} not found", batch.described[i]))
                    } else if matches!(row.get(2), Some(Value::Bool(true))) {
                        RowOutcome::Rejected(format!("end node of {} not found", batch.described[i]))
                    } else if matches!(row.get(3), Some(Value::Bool(true))) {
                        RowOutcome::Rejected(format!(
                            "duplicate relationship: {} was already written by this run{}",
                            batch.described[i],
                            if spec.key.is_empty() {
                                " (give the mapping a `key` if parallel relationships are intended)"
                            } else {
                                ""
                            }
                        ))
                    } else {
                        RowOutcome::Updated
                    }
                }
            };
            // A rejection wins over an update (several rows for one record: parallel matches).
            let entry = decided.entry(i).or_insert_with(|| outcome.clone());
            if matches!(outcome, RowOutcome::Rejected(_)) {
                *entry = outcome;
            }
        }
        for (i, outcome) in decided {
            if matches!(outcome, RowOutcome::Updated) {
                existing += 1;
            }
            batch.outcomes[i] = Some(outcome);
        }
    }
    let outcomes: Vec<RowOutcome> = batch.outcomes.iter().map(|o| o.clone().unwrap_or(RowOutcome::Created)).collect();
    let report = WriteReport { outcomes, checkpoint_seconds: 0.0 };
    before_commit(&report).map_err(|message| TargetError::Write { target: target.to_owned(), message })?;

    // 2. The write and the checkpoint, in one query.
    let rows: Vec<&String> = batch
        .positions
        .iter()
        .zip(&batch.write_rows)
        .filter(|(i, _)| !matches!(report.outcomes[**i], RowOutcome::Rejected(_)))
        .map(|(_, row)| row)
        .collect();
    let stored = checkpoint.with_outcomes(&report);
    let mut params = run;
    params.extend(checkpoint_identity(&stored));
    params.push(("cp".into(), checkpoint_fields(&stored)));
    let query = if existing == 0 { create } else { merge };
    let text = format!("{}{query}", prefix_with_rows(&params, &rows));
    match send(client, target, &text, &stored).await? {
        Sent::Rows(reply) => {
            let written = reply.first().and_then(|r| r.first()).cloned();
            if written != Some(Value::Int(rows.len() as i64)) {
                tracing::warn!(
                    "{target}: a batch of {} records wrote {written:?} (the graph changed during the write?)",
                    rows.len()
                );
            }
        }
        Sent::CommittedUnseen => {}
    }
    Ok(report)
}

/// The `batches` count stored in a checkpoint's node, if the node exists.
async fn stored_batches(client: &Client, checkpoint: &Checkpoint) -> Result<Option<u64>, ClientError> {
    let reply = client
        .query_graph(
            client.graph(),
            &format!(
                "MATCH (c:{} {{run: $cp_run, mapping: $cp_mapping, partition: $cp_partition}}) RETURN c.batches",
                super::CHECKPOINT_LABEL
            ),
            &checkpoint_identity(checkpoint),
            true,
        )
        .await?;
    Ok(reply.rows.first().and_then(|r| r.first()).and_then(|v| match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }))
}

/// Removes the run's marks from the elements it wrote, in bounded steps. Returns how many
/// elements were unmarked.
pub(crate) async fn finish_run(client: &Client, target: &str, run_id: &str) -> Result<u64, TargetError> {
    let run = quote_name(RUN_PROPERTY);
    let mut total = 0;
    for element in ["MATCH (e) WHERE e.", "MATCH ()-[e]->() WHERE e."] {
        loop {
            let mut cypher = String::from(element);
            let _ = write!(cypher, "{run} IS NOT NULL WITH e LIMIT 1000000 SET e.{run} = NULL RETURN count(e)");
            let reply = client
                .idempotent(&cypher, &[("run".into(), Value::String(run_id.to_owned()))])
                .await
                .map_err(|e| failed(target, e))?;
            let n = match reply.rows.first().and_then(|r| r.first()) {
                Some(Value::Int(n)) => *n as u64,
                _ => 0,
            };
            total += n;
            if n == 0 {
                break;
            }
        }
    }
    Ok(total)
}
