//! Writing one batch into FalkorDB, together with its checkpoint, exactly once.
//!
//! A batch is written in two queries (see [`crate::cypher::queries`] for the statements):
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
//! `_grafter_run` property until the run finishes, which is how a resumed run still tells
//! its own elements from older ones. If the connection fails during the write, the
//! checkpoint says whether it committed: the write is repeated only if it did not
//! ([`super::send`]). A re-run over elements the graph held before the run is written by
//! node id once their label's ids are known ([`super::by_id`]), in one statement instead of
//! these two.
//!
//! [`encode`] does the CPU work (value conversion, the parameter text) beside the writer.

use grafter_model::Value;

use super::bulk::BulkState;
use super::by_id;
use super::connection::{Client, failed};
use super::send::{Sent, send};
use super::encoded::{EncodedBatch, Literals};
use super::literal::{list_literal, prefix_with_rows, storable};
use crate::cypher::batch::{PreparedBatch, Shape};
use crate::cypher::bookkeeping::checkpoint_params;
use crate::cypher::queries::{
    KeyLookup, Optimism, UNWIND_ROWS, node_lookup, node_writes, optimistic_relationship_write, plain,
    relationship_lookup, relationship_writes,
};
use crate::encoded::{Encoded, Form};
use crate::{Checkpoint, RecordBatch, TargetError, WriteGate, WriteReport};

impl Literals {
    fn of(prepared: &mut PreparedBatch) -> Literals {
        Literals {
            lookup_rows: std::mem::take(&mut prepared.lookup_rows).into_iter().map(list_literal).collect(),
            write_rows: std::mem::take(&mut prepared.write_rows).into_iter().map(list_literal).collect(),
        }
    }
}

/// Converts a batch for [`write`] (on a worker thread, beside the writer). With `bulk`, the
/// rows stay values: the parameter text is made only if the batch takes the Cypher way.
pub(crate) fn encode(batch: RecordBatch, bulk: bool) -> Encoded {
    let records = batch.len();
    let mut prepared = PreparedBatch::new(batch, &|value| storable(value).map_err(|e| e.0));
    let literals = if bulk { None } else { Some(Literals::of(&mut prepared)) };
    Encoded::new(records, Form::FalkorDb(EncodedBatch { prepared, literals }))
}

/// Writes an encoded batch and its checkpoint; see the module documentation.
pub(crate) async fn write(
    client: &Client,
    target: &str,
    run_id: &str,
    encoded: Encoded,
    checkpoint: &Checkpoint,
    bulk: &tokio::sync::Mutex<BulkState>,
    mut gate: WriteGate,
) -> Result<WriteReport, TargetError> {
    let Form::FalkorDb(EncodedBatch { mut prepared, literals }) = encoded.form else {
        return Err(TargetError::Write { target: target.to_owned(), message: Encoded::MISMATCH.into() });
    };
    let name = match &prepared.shape {
        Shape::Nodes(spec) => format!("(:{})", spec.label),
        Shape::Relationships(spec) => format!("[:{}]", spec.rel_type),
    };
    // Rows still values (not `?bulk=off`): the batch may be written in bulk, or by id.
    let rows_are_values = literals.is_none();
    let (owned, ids) = {
        let mut state = bulk.lock().await;
        if rows_are_values && state.takes(client, target, run_id, &prepared.shape).await? {
            let rows = std::mem::take(&mut prepared.write_rows);
            return state.write(client, target, &mut prepared, &rows, checkpoint, gate).await;
        }
        // The Cypher way: what it writes is marked, and the marks go when the run finishes.
        state.marked = true;
        let owned = state.owned(client, run_id, &prepared.shape).await?;
        // Elements of this run's own (unmarked) labels are never written again by id: found,
        // they are duplicates.
        let by_id = rows_are_values && !owned && !client.not_by_id.contains(&name);
        (owned, if by_id { state.ids_for(&prepared) } else { None })
    };
    let Literals { lookup_rows, write_rows } = literals.unwrap_or_else(|| Literals::of(&mut prepared));
    let fail = |message| TargetError::Write { target: target.to_owned(), message };

    // A batch over elements the graph held before the run, whose node ids are known: one
    // statement, tried until it fails once for the label or type (see `by_id`).
    if let Some(ids) = ids {
        let written = by_id::write(client, target, &mut prepared, &write_rows, ids, checkpoint, &mut gate);
        if let Some(report) = written.await? {
            if client.written_by_id.insert(&name) {
                tracing::debug!("{target}: batches of {name} are written by node id");
            }
            return Ok(report);
        }
        tracing::debug!("{target}: a batch of {name} needs a closer look than writing by id: the lookup way from here on");
        client.not_by_id.insert(&name);
    }
    let (lookup, (merge, create)) = match &prepared.shape {
        Shape::Nodes(spec) => (node_lookup(spec, &plain, owned), node_writes(spec, UNWIND_ROWS, &plain, false)),
        Shape::Relationships(spec) => (
            relationship_lookup(spec, &plain, owned, KeyLookup::FromEnds),
            relationship_writes(spec, UNWIND_ROWS, &plain, false, KeyLookup::FromEnds),
        ),
    };
    let run = vec![("run".to_owned(), Value::String(run_id.to_owned()))];

    // 0. Relationships: one query, when every record can be written as it is — tried until
    // it fails once for the relationship type (a re-run over existing relationships would
    // pay for a query that never writes, batch after batch).
    if let Shape::Relationships(spec) = &prepared.shape
        && !prepared.positions.is_empty()
        && !client.pessimistic.contains(&spec.rel_type)
    {
        let report = prepared.report();
        gate.settle(&report).await.map_err(fail)?;
        let stored = checkpoint.with_outcomes(&report);
        let mut params = run.clone();
        params.extend(checkpoint_params(&stored, None));
        params.push(("n".into(), Value::Int(prepared.positions.len() as i64)));
        let rows: Vec<&String> = write_rows.iter().collect();
        let text = format!(
            "{}{}",
            prefix_with_rows(&params, &rows),
            optimistic_relationship_write(spec, &plain, false, KeyLookup::FromEnds, Optimism::AllOrNothing)
        );
        match send(client, target, &text, &stored).await? {
            Sent::CommittedUnseen => return Ok(report),
            Sent::Rows(rows) if !rows.is_empty() => return Ok(report),
            // Something in the batch needs a closer look: nothing was written.
            Sent::Rows(_) => {
                client.pessimistic.insert(&spec.rel_type);
            }
        }
    }

    // 1. Outcomes, before anything commits.
    let mut existing = 0usize;
    if !prepared.positions.is_empty() {
        let all: Vec<&String> = lookup_rows.iter().collect();
        let text = format!("{}{lookup}", prefix_with_rows(&run, &all));
        let reply =
            client.retry(|| client.query_text(client.graph(), &text, true)).await.map_err(|e| failed(target, e))?;
        existing = prepared.decide(reply.rows);
    }
    let report = prepared.report();
    gate.settle(&report).await.map_err(fail)?;

    // 2. The write and the checkpoint, in one query.
    let rows: Vec<&String> = prepared.to_write(&report).into_iter().map(|n| &write_rows[n]).collect();
    let stored = checkpoint.with_outcomes(&report);
    let mut params = run;
    params.extend(checkpoint_params(&stored, None));
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
    if rows_are_values && existing > 0 && existing == prepared.positions.len() {
        // Every record met an element from before the run: the graph holds this mapping's
        // data, and the batches after this one may be written by id (see `learn_existing`).
        let mut state = bulk.lock().await;
        match &prepared.shape {
            Shape::Nodes(spec) => {
                let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
                state.learn_existing(client, target, &spec.label, &key_names, existing).await?;
            }
            Shape::Relationships(spec) => {
                state.learn_existing(client, target, &spec.start.label, &spec.start.key_properties, existing).await?;
                if spec.end.label != spec.start.label {
                    state.learn_existing(client, target, &spec.end.label, &spec.end.key_properties, existing).await?;
                }
            }
        }
    }
    Ok(report)
}
