//! grafter's own records in the embedded store: run history, checkpoints and the lease lock.
//!
//! Each is a node with a `_Grafter…` label, which user mappings cannot use and the
//! fingerprint leaves out. Run records and lock holders are stored whole as JSON in one
//! property, with the fields a query needs to find them beside it.

use std::collections::HashMap;

use grafeo::GrafeoDB;
use grafeo_common::types::Value as G;
use grafter_model::{LockHolder, RunRecord};

use crate::{Checkpoint, TargetError};

/// Label of grafter's checkpoint nodes. Everything grafter keeps for itself is labelled
/// `_Grafter…`, which user mappings may not use.
pub const CHECKPOINT_LABEL: &str = "_GrafterCheckpoint";

/// Label of run records.
pub(crate) const RUN_LABEL: &str = "_GrafterRun";
/// Label of the lock node.
pub(crate) const LOCK_LABEL: &str = "_GrafterLock";

/// Properties every checkpoint query returns, in this order.
const CHECKPOINT_FIELDS: &str = "c.run, c.mapping, c.partition, c.checksum, c.batches, c.cursor, c.read, c.written, c.rejected, c.finished, c.seconds, c.range";

fn query(db: &GrafeoDB, cypher: &str, params: &[(&str, G)]) -> Result<Vec<Vec<G>>, TargetError> {
    let params: HashMap<String, G> = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    db.session()
        .execute_cypher_with_params(cypher, params)
        .map(|result| result.into_rows())
        .map_err(|e| TargetError::Query { message: e.to_string() })
}

fn text(value: &str) -> G {
    G::String(value.into())
}

fn damaged(what: String) -> TargetError {
    TargetError::Bookkeeping { target: "grafeo".into(), message: what }
}

fn checkpoints_of(rows: Vec<Vec<G>>) -> Result<Vec<Checkpoint>, TargetError> {
    rows.into_iter()
        .map(|row| {
            let fields: Vec<grafter_model::Value> = row.iter().map(super::convert::from_grafeo).collect();
            Checkpoint::from_fields(&fields)
                .ok_or_else(|| damaged(format!("a checkpoint has unexpected fields: {row:?}")))
        })
        .collect()
}

/// The checkpoints of a run.
pub(crate) fn checkpoints(db: &GrafeoDB, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
    let rows = query(
        db,
        &format!("MATCH (c:{CHECKPOINT_LABEL} {{run: $run}}) RETURN {CHECKPOINT_FIELDS}"),
        &[("run", text(run_id))],
    )?;
    checkpoints_of(rows)
}

/// The checkpoints of the newest run that loaded `mapping` with this checksum.
pub(crate) fn latest_checkpoints(db: &GrafeoDB, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError> {
    let rows = query(
        db,
        &format!("MATCH (c:{CHECKPOINT_LABEL} {{mapping: $mapping, checksum: $checksum}}) RETURN {CHECKPOINT_FIELDS}"),
        &[("mapping", text(mapping)), ("checksum", text(checksum))],
    )?;
    let all = checkpoints_of(rows)?;
    // Run ids sort by time; keep every partition of the newest run.
    let Some(newest) = all.iter().map(|c| c.run_id.clone()).max() else { return Ok(Vec::new()) };
    let mut latest: Vec<Checkpoint> = all.into_iter().filter(|c| c.run_id == newest).collect();
    latest.sort_by_key(|c| c.partition);
    Ok(latest)
}

/// Creates or replaces a run record.
pub(crate) fn save_run(db: &GrafeoDB, record: &RunRecord) -> Result<(), TargetError> {
    let json = serde_json::to_string(record).map_err(|e| damaged(e.to_string()))?;
    query(
        db,
        &format!("MERGE (r:{RUN_LABEL} {{id: $id}}) SET r.status = $status, r.record = $record"),
        &[("id", text(&record.id)), ("status", text(&record.status.to_string())), ("record", text(&json))],
    )?;
    Ok(())
}

/// Every run record, oldest first.
pub(crate) fn runs(db: &GrafeoDB) -> Result<Vec<RunRecord>, TargetError> {
    let rows = query(db, &format!("MATCH (r:{RUN_LABEL}) RETURN r.record"), &[])?;
    let mut records = rows
        .into_iter()
        .map(|row| match row.first() {
            Some(G::String(json)) => serde_json::from_str::<RunRecord>(json)
                .map_err(|e| damaged(format!("a run record cannot be read ({e}): {json}"))),
            other => Err(damaged(format!("a run record has no JSON: {other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(records)
}

/// The lock node's holder, if any.
pub(crate) fn lock_holder(db: &GrafeoDB) -> Result<Option<LockHolder>, TargetError> {
    let rows = query(db, &format!("MATCH (l:{LOCK_LABEL}) RETURN l.holder"), &[])?;
    match rows.first().and_then(|row| row.first()) {
        Some(G::String(json)) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| damaged(format!("the lock node cannot be read ({e}): {json}"))),
        _ => Ok(None),
    }
}

/// Writes `holder` as the lock's holder (replacing any).
pub(crate) fn set_lock(db: &GrafeoDB, holder: &LockHolder) -> Result<(), TargetError> {
    let json = serde_json::to_string(holder).map_err(|e| damaged(e.to_string()))?;
    query(
        db,
        &format!("MERGE (l:{LOCK_LABEL} {{name: 'target'}}) SET l.holder = $holder"),
        &[("holder", text(&json))],
    )?;
    Ok(())
}

/// Removes the lock node.
pub(crate) fn clear_lock(db: &GrafeoDB) -> Result<(), TargetError> {
    query(db, &format!("MATCH (l:{LOCK_LABEL}) DELETE l"), &[])?;
    Ok(())
}
