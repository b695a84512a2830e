//! grafter's own records in a FalkorDB graph: run history, checkpoints and the lease lock.
//!
//! The same records as on the embedded store (nodes labelled `_Grafter…`, run records and
//! lock holders as JSON), written with Cypher. FalkorDB runs each query atomically and one
//! at a time per graph, so the lock is taken by a single query that reads and sets it: two
//! grafters racing for it cannot both win.

use grafter_model::{LockHolder, RunRecord, Value};

use super::connection::Client;
use super::{CHECKPOINT_LABEL, LOCK_LABEL, RUN_LABEL, failed};
use crate::{Checkpoint, TargetError};

/// Properties every checkpoint query returns, in this order.
const CHECKPOINT_FIELDS: &str = "c.run, c.mapping, c.partition, c.checksum, c.batches, c.cursor, c.read, c.written, c.rejected, c.finished, c.seconds, c.range";

fn damaged(target: &str, what: String) -> TargetError {
    TargetError::Bookkeeping { target: target.to_owned(), message: what }
}

fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

fn count(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The checkpoint's identity: `{run, mapping, partition}` parameters.
pub(crate) fn checkpoint_identity(checkpoint: &Checkpoint) -> Vec<(String, Value)> {
    vec![
        ("cp_run".into(), text(&checkpoint.run_id)),
        ("cp_mapping".into(), text(&checkpoint.mapping)),
        ("cp_partition".into(), Value::Int(i64::from(checkpoint.partition))),
    ]
}

/// The checkpoint's other fields as one map parameter (`SET c += $cp`).
pub(crate) fn checkpoint_fields(checkpoint: &Checkpoint) -> Value {
    let fields = [
        ("range", text(&checkpoint.range.encode())),
        ("seconds", Value::Float(if checkpoint.seconds.is_finite() { checkpoint.seconds } else { 0.0 })),
        ("checksum", text(&checkpoint.checksum)),
        ("batches", count(checkpoint.batches)),
        ("cursor", text(&checkpoint.cursor.encode())),
        ("read", count(checkpoint.read)),
        ("written", count(checkpoint.written)),
        ("rejected", count(checkpoint.rejected)),
        ("finished", Value::Bool(checkpoint.finished)),
    ];
    Value::Map(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The Cypher clause that stores a checkpoint given `$cp_run`, `$cp_mapping`,
/// `$cp_partition` and `$cp` (appended to a batch's write so both commit together).
pub(crate) fn checkpoint_clause() -> String {
    format!(
        "MERGE (c:{CHECKPOINT_LABEL} {{run: $cp_run, mapping: $cp_mapping, partition: $cp_partition}}) SET c += $cp"
    )
}

async fn checkpoints_where(
    client: &Client,
    target: &str,
    filter: &str,
    params: Vec<(String, Value)>,
) -> Result<Vec<Checkpoint>, TargetError> {
    let reply = client
        .read(&format!("MATCH (c:{CHECKPOINT_LABEL} {filter}) RETURN {CHECKPOINT_FIELDS}"), &params)
        .await
        .map_err(|e| failed(target, e))?;
    reply
        .rows
        .into_iter()
        .map(|row| {
            Checkpoint::from_fields(&row)
                .ok_or_else(|| damaged(target, format!("a checkpoint has unexpected fields: {row:?}")))
        })
        .collect()
}

/// The checkpoints of a run.
pub(crate) async fn checkpoints(client: &Client, target: &str, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
    checkpoints_where(client, target, "{run: $run}", vec![("run".into(), text(run_id))]).await
}

/// The checkpoints of the newest run that loaded `mapping` with this checksum.
pub(crate) async fn latest_checkpoints(
    client: &Client,
    target: &str,
    mapping: &str,
    checksum: &str,
) -> Result<Vec<Checkpoint>, TargetError> {
    let params = vec![("mapping".into(), text(mapping)), ("checksum".into(), text(checksum))];
    let all = checkpoints_where(client, target, "{mapping: $mapping, checksum: $checksum}", params).await?;
    // Run ids sort by time; keep every partition of the newest run.
    let Some(newest) = all.iter().map(|c| c.run_id.clone()).max() else { return Ok(Vec::new()) };
    let mut latest: Vec<Checkpoint> = all.into_iter().filter(|c| c.run_id == newest).collect();
    latest.sort_by_key(|c| c.partition);
    Ok(latest)
}

/// Stores several checkpoints in one query: all or none.
pub(crate) async fn save_checkpoints(
    client: &Client,
    target: &str,
    checkpoints: &[Checkpoint],
) -> Result<(), TargetError> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = checkpoints
        .iter()
        .map(|c| {
            Value::List(vec![
                text(&c.run_id),
                text(&c.mapping),
                Value::Int(i64::from(c.partition)),
                checkpoint_fields(c),
            ])
        })
        .collect();
    let cypher = format!(
        "UNWIND $rows AS r MERGE (c:{CHECKPOINT_LABEL} {{run: r[0], mapping: r[1], partition: r[2]}}) SET c += r[3]"
    );
    client.idempotent(&cypher, &[("rows".into(), Value::List(rows))]).await.map_err(|e| failed(target, e))?;
    Ok(())
}

/// Creates or replaces a run record.
pub(crate) async fn save_run(client: &Client, target: &str, record: &RunRecord) -> Result<(), TargetError> {
    let json = serde_json::to_string(record).map_err(|e| damaged(target, e.to_string()))?;
    let params = vec![
        ("id".into(), text(&record.id)),
        ("status".into(), text(&record.status.to_string())),
        ("record".into(), text(&json)),
    ];
    client
        .idempotent(&format!("MERGE (r:{RUN_LABEL} {{id: $id}}) SET r.status = $status, r.record = $record"), &params)
        .await
        .map_err(|e| failed(target, e))?;
    Ok(())
}

/// Every run record, oldest first.
pub(crate) async fn runs(client: &Client, target: &str) -> Result<Vec<RunRecord>, TargetError> {
    let reply =
        client.read(&format!("MATCH (r:{RUN_LABEL}) RETURN r.record"), &[]).await.map_err(|e| failed(target, e))?;
    let mut records = reply
        .rows
        .into_iter()
        .map(|row| match row.first() {
            Some(Value::String(json)) => serde_json::from_str::<RunRecord>(json)
                .map_err(|e| damaged(target, format!("a run record cannot be read ({e}): {json}"))),
            other => Err(damaged(target, format!("a run record has no JSON: {other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(records)
}

/// Who holds a lock: the same process that took it (host, pid and when).
fn owner(holder: &LockHolder) -> String {
    format!("{}/{}/{}", holder.host, holder.pid, holder.acquired_at)
}

fn expires_epoch(holder: &LockHolder) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&holder.expires_at).map_or(0, |t| t.timestamp())
}

fn holder_from(target: &str, value: Option<&Value>) -> Result<Option<LockHolder>, TargetError> {
    match value {
        Some(Value::String(json)) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| damaged(target, format!("the lock node cannot be read ({e}): {json}"))),
        _ => Ok(None),
    }
}

fn lock_params(holder: &LockHolder, target: &str) -> Result<Vec<(String, Value)>, TargetError> {
    let json = serde_json::to_string(holder).map_err(|e| damaged(target, e.to_string()))?;
    Ok(vec![
        ("holder".into(), text(&json)),
        ("owner".into(), text(&owner(holder))),
        ("expires".into(), Value::Int(expires_epoch(holder))),
        ("now".into(), Value::Int(chrono::Utc::now().timestamp())),
    ])
}

/// Takes the lock for `holder` unless another live holder has it; one atomic query.
/// `Ok(Err(current))` when refused.
pub(crate) async fn acquire_lock(
    client: &Client,
    target: &str,
    holder: &LockHolder,
) -> Result<Result<Option<LockHolder>, LockHolder>, TargetError> {
    let cypher = format!(
        "MERGE (l:{LOCK_LABEL} {{name: 'target'}}) \
         WITH l, l.holder AS previous, (l.holder IS NULL OR l.expires < $now OR l.owner = $owner) AS free \
         SET l.holder = CASE WHEN free THEN $holder ELSE l.holder END, \
             l.owner = CASE WHEN free THEN $owner ELSE l.owner END, \
             l.expires = CASE WHEN free THEN $expires ELSE l.expires END \
         RETURN previous, free"
    );
    let reply = client.idempotent(&cypher, &lock_params(holder, target)?).await.map_err(|e| failed(target, e))?;
    let row = reply.rows.first().ok_or_else(|| damaged(target, "taking the lock returned nothing".into()))?;
    let previous = holder_from(target, row.first())?;
    if matches!(row.get(1), Some(Value::Bool(true))) {
        Ok(Ok(previous.filter(|p| owner(p) != owner(holder))))
    } else {
        Ok(Err(previous.ok_or_else(|| damaged(target, "the lock is held by nobody yet was refused".into()))?))
    }
}

/// Extends the lease if the lock is still `holder`'s; else says who has it (`None`: nobody).
pub(crate) async fn renew_lock(
    client: &Client,
    target: &str,
    holder: &LockHolder,
) -> Result<Result<(), Option<LockHolder>>, TargetError> {
    let cypher = format!(
        "OPTIONAL MATCH (l:{LOCK_LABEL} {{name: 'target'}}) \
         WITH l, l.owner = $owner AS mine \
         SET l.holder = CASE WHEN mine THEN $holder ELSE l.holder END, \
             l.expires = CASE WHEN mine THEN $expires ELSE l.expires END \
         RETURN mine, l.holder"
    );
    let reply = client.idempotent(&cypher, &lock_params(holder, target)?).await.map_err(|e| failed(target, e))?;
    let row = reply.rows.first().cloned().unwrap_or_default();
    if matches!(row.first(), Some(Value::Bool(true))) {
        return Ok(Ok(()));
    }
    Ok(Err(holder_from(target, row.get(1))?))
}

/// Releases the lock if `holder` still has it.
pub(crate) async fn release_lock(client: &Client, target: &str, holder: &LockHolder) -> Result<(), TargetError> {
    client
        .idempotent(
            &format!("MATCH (l:{LOCK_LABEL} {{name: 'target'}}) WHERE l.owner = $owner DELETE l"),
            &[("owner".into(), text(&owner(holder)))],
        )
        .await
        .map_err(|e| failed(target, e))?;
    Ok(())
}

/// The lock's holder, if any.
pub(crate) async fn lock_holder(client: &Client, target: &str) -> Result<Option<LockHolder>, TargetError> {
    let reply =
        client.read(&format!("MATCH (l:{LOCK_LABEL}) RETURN l.holder"), &[]).await.map_err(|e| failed(target, e))?;
    holder_from(target, reply.rows.first().and_then(|row| row.first()))
}

/// Removes the lock whoever holds it; returns who did.
pub(crate) async fn break_lock(client: &Client, target: &str) -> Result<Option<LockHolder>, TargetError> {
    let reply = client
        .idempotent(&format!("MATCH (l:{LOCK_LABEL}) WITH l, l.holder AS holder DELETE l RETURN holder"), &[])
        .await
        .map_err(|e| failed(target, e))?;
    holder_from(target, reply.rows.first().and_then(|row| row.first()))
}
