//! grafter's own records in a server's graph: run history, checkpoints and the lease lock.
//!
//! The same records as on the embedded store (nodes labelled `_Grafter…`, run records and
//! lock holders as JSON), written with Cypher through any [`CypherRunner`]. The lock is
//! taken by a single statement that reads and sets it, so two grafters racing for it
//! cannot both win (FalkorDB runs a statement atomically and one at a time per graph; a
//! Bolt server runs it in one transaction).

use grafter_model::{LockHolder, RunRecord, Value, quote_name};

use super::{CHECKPOINT_LABEL, CypherRunner, LOCK_LABEL, RUN_LABEL, RUN_PROPERTY};
use crate::process_alive;
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
        // To the microsecond: FalkorDB's Bolt port carries doubles with six decimals.
        (
            "seconds",
            Value::Float(if checkpoint.seconds.is_finite() { (checkpoint.seconds * 1e6).round() / 1e6 } else { 0.0 }),
        ),
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

/// Every parameter [`checkpoint_clause`] reads: the identity, `$cp`, and `$fence`, the
/// lock's fencing token when the statement must check it (`None` where the target fences
/// writes itself, as FalkorDB's native protocol does).
pub(crate) fn checkpoint_params(checkpoint: &Checkpoint, fence: Option<i64>) -> Vec<(String, Value)> {
    let mut params = checkpoint_identity(checkpoint);
    params.push(("cp".into(), checkpoint_fields(checkpoint)));
    params.push(("fence".into(), fence.map_or(Value::Null, Value::Int)));
    params
}

/// The checkpoint property naming the label a node batch created unmarked, because the
/// run owns it (every node of it is the run's: see `queries::written_by_run`): how a
/// resumed run knows which labels an earlier attempt owned. (The name is from FalkorDB's
/// bulk loads, the first to write unmarked.)
pub(crate) const OWNED_LABEL: &str = "bulk_label";

/// `params` (from [`checkpoint_params`]) with `label` as the checkpoint's owned label.
pub(crate) fn naming_owned_label(mut params: Vec<(String, Value)>, label: &str) -> Vec<(String, Value)> {
    for (name, value) in &mut params {
        if name == "cp"
            && let Value::Map(fields) = value
        {
            fields.insert(OWNED_LABEL.to_owned(), text(label));
        }
    }
    params
}

/// The labels run `run_id`'s checkpoints name as owned (see [`OWNED_LABEL`]).
pub(crate) async fn owned_labels<R: CypherRunner + ?Sized>(
    runner: &R,
    run_id: &str,
) -> Result<std::collections::HashSet<String>, TargetError> {
    let cypher = format!(
        "MATCH (c:{CHECKPOINT_LABEL} {{run: $run}}) WHERE c.{OWNED_LABEL} IS NOT NULL RETURN DISTINCT c.{OWNED_LABEL}"
    );
    let rows = runner.read(&cypher, &[("run".to_owned(), text(run_id))]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .map(|v| match v {
            Value::String(label) => label,
            other => other.to_string(),
        })
        .collect())
}

/// The Cypher clause that stores a checkpoint given `$cp_run`, `$cp_mapping`,
/// `$cp_partition` and `$cp` (appended to a batch's write, after `WITH … AS written`, so
/// both commit together).
///
/// It first checks the fencing token: when `$fence` is set and the lock's token is no
/// longer it (the lock was taken over or broken), it divides by zero, and the error undoes
/// the whole statement, batch included. Cypher has no `assert`; a division by zero is an
/// error on every server (its `CASE` is evaluated eagerly by FalkorDB, so the zero is made
/// by the condition, not chosen by a branch that would not run).
pub(crate) fn checkpoint_clause() -> String {
    format!(
        "{} MERGE (c:{CHECKPOINT_LABEL} {{run: $cp_run, mapping: $cp_mapping, partition: $cp_partition}}) SET c += $cp",
        fence_guard("written, ")
    )
}

/// The fencing check (see [`checkpoint_clause`]) as a clause that keeps `carried` (the
/// variables before it, each followed by `, `).
fn fence_guard(carried: &str) -> String {
    format!(
        "OPTIONAL MATCH (fence:{LOCK_LABEL} {{name: 'target'}}) \
         WITH {carried}1 / CASE WHEN $fence IS NULL OR fence.token = $fence THEN 1 ELSE 0 END AS current"
    )
}

/// `cypher` (a statement that may begin with `MERGE`, `MATCH` or `UNWIND`) behind the
/// fencing check (see [`checkpoint_clause`]), which reads `$fence`.
pub(crate) fn fenced(cypher: &str) -> String {
    format!("{} {cypher}", fence_guard(""))
}

/// Runs a bookkeeping write (a statement that may begin with `MERGE`, `MATCH` or `UNWIND`)
/// behind the fencing check, with the runner's token.
pub(crate) async fn fenced_write<R: CypherRunner + ?Sized>(
    runner: &R,
    cypher: &str,
    params: &[(String, Value)],
) -> Result<Vec<Vec<Value>>, TargetError> {
    let mut params = params.to_vec();
    params.push(("fence".into(), runner.fence().map_or(Value::Null, Value::Int)));
    runner.write(&fenced(cypher), &params).await
}

/// Whether a write failed because its fencing check refused it (see [`checkpoint_clause`]):
/// FalkorDB says "Division by zero", Neo4j "/ by zero".
pub(crate) fn refused_by_fence(message: &str) -> bool {
    message.contains("by zero")
}

/// The `batches` count stored in a checkpoint's node, if the node exists: after a
/// connection failed during a write, whether that write committed.
pub(crate) async fn stored_batches<R: CypherRunner + ?Sized>(
    runner: &R,
    checkpoint: &Checkpoint,
) -> Result<Option<u64>, TargetError> {
    let rows = runner
        .read(
            &format!(
                "MATCH (c:{CHECKPOINT_LABEL} {{run: $cp_run, mapping: $cp_mapping, partition: $cp_partition}}) RETURN max(c.batches)"
            ),
            &checkpoint_identity(checkpoint),
        )
        .await?;
    Ok(rows.first().and_then(|r| r.first()).and_then(|v| match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }))
}

/// The error for a graph that no longer holds batches a run committed.
pub(crate) fn lost_batches(target: &str, message: &str, found: Option<u64>, stored: &Checkpoint) -> TargetError {
    TargetError::Write {
        target: target.to_owned(),
        message: format!(
            "the connection failed ({message}) and the graph no longer holds the run's earlier batches (checkpoint at {found:?}, expected {}): was the server restarted without persistence? Start again with `grafter run --fresh`",
            stored.batches - 1
        ),
    }
}

async fn checkpoints_where<R: CypherRunner + ?Sized>(
    runner: &R,
    filter: &str,
    params: Vec<(String, Value)>,
) -> Result<Vec<Checkpoint>, TargetError> {
    let rows =
        runner.read(&format!("MATCH (c:{CHECKPOINT_LABEL} {filter}) RETURN {CHECKPOINT_FIELDS}"), &params).await?;
    let mut found: Vec<Checkpoint> = rows
        .into_iter()
        .map(|row| {
            Checkpoint::from_fields(&row)
                .ok_or_else(|| damaged(runner.target(), format!("a checkpoint has unexpected fields: {row:?}")))
        })
        .collect::<Result<_, _>>()?;
    // A bulk write (FalkorDB) adds a checkpoint node per batch: the newest is the
    // checkpoint (see [`newest_first`]).
    found.sort_by(|a, b| {
        (&a.run_id, &a.mapping, a.partition).cmp(&(&b.run_id, &b.mapping, b.partition)).then(newest_first(a, b))
    });
    found.dedup_by(|later, kept| {
        (&later.run_id, &later.mapping, later.partition) == (&kept.run_id, &kept.mapping, kept.partition)
    });
    Ok(found)
}

/// Orders two checkpoint nodes of one partition newest first: the one with more batches;
/// of two with as many, the finished one (the partition's last, which carries no rows).
pub(crate) fn newest_first(a: &Checkpoint, b: &Checkpoint) -> std::cmp::Ordering {
    (b.batches, b.finished).cmp(&(a.batches, a.finished))
}

/// The checkpoints of a run.
pub(crate) async fn checkpoints<R: CypherRunner + ?Sized>(
    runner: &R,
    run_id: &str,
) -> Result<Vec<Checkpoint>, TargetError> {
    checkpoints_where(runner, "{run: $run}", vec![("run".into(), text(run_id))]).await
}

/// The checkpoints of the newest run that loaded `mapping` with this checksum.
pub(crate) async fn latest_checkpoints<R: CypherRunner + ?Sized>(
    runner: &R,
    mapping: &str,
    checksum: &str,
) -> Result<Vec<Checkpoint>, TargetError> {
    let params = vec![("mapping".into(), text(mapping)), ("checksum".into(), text(checksum))];
    let all = checkpoints_where(runner, "{mapping: $mapping, checksum: $checksum}", params).await?;
    // Run ids sort by time; keep every partition of the newest run.
    let Some(newest) = all.iter().map(|c| c.run_id.clone()).max() else { return Ok(Vec::new()) };
    let mut latest: Vec<Checkpoint> = all.into_iter().filter(|c| c.run_id == newest).collect();
    latest.sort_by_key(|c| c.partition);
    Ok(latest)
}

/// Stores several checkpoints in one statement: all or none.
pub(crate) async fn save_checkpoints<R: CypherRunner + ?Sized>(
    runner: &R,
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
    fenced_write(runner, &cypher, &[("rows".into(), Value::List(rows))]).await?;
    Ok(())
}

/// Creates or replaces a run record. A record whose text is longer than `max_text` bytes
/// (servers that limit a statement's size) is written in parts beside the old one, then
/// swapped in by one statement, so a record is never seen half written.
pub(crate) async fn save_run<R: CypherRunner + ?Sized>(
    runner: &R,
    record: &RunRecord,
    max_text: Option<usize>,
) -> Result<(), TargetError> {
    let json = serde_json::to_string(record).map_err(|e| damaged(runner.target(), e.to_string()))?;
    let id = ("id".to_owned(), text(&record.id));
    let status = ("status".to_owned(), text(&record.status.to_string()));
    let parts = split_text(&json, max_text.unwrap_or(usize::MAX));
    if let [whole] = parts.as_slice() {
        let params = [id, status, ("record".to_owned(), text(whole))];
        let cypher = format!("MERGE (r:{RUN_LABEL} {{id: $id}}) SET r.status = $status, r.record = $record");
        fenced_write(runner, &cypher, &params).await?;
        return Ok(());
    }
    for (i, part) in parts.iter().enumerate() {
        let params = [id.clone(), ("part".to_owned(), text(part))];
        let set = if i == 0 { "r.record_next = $part" } else { "r.record_next = r.record_next + $part" };
        fenced_write(runner, &format!("MERGE (r:{RUN_LABEL} {{id: $id}}) SET {set}"), &params).await?;
    }
    let swap = format!(
        "MATCH (r:{RUN_LABEL} {{id: $id}}) SET r.status = $status, r.record = r.record_next, r.record_next = null"
    );
    fenced_write(runner, &swap, &[id, status]).await?;
    Ok(())
}

/// `text` in pieces of at most `max` bytes, cut between characters.
fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max.max(1);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // A character longer than `max`: it goes whole.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

/// Every run record, oldest first.
pub(crate) async fn runs<R: CypherRunner + ?Sized>(runner: &R) -> Result<Vec<RunRecord>, TargetError> {
    let rows = runner.read(&format!("MATCH (r:{RUN_LABEL}) RETURN r.record"), &[]).await?;
    let mut records = rows
        .into_iter()
        .map(|row| match row.first() {
            Some(Value::String(json)) => serde_json::from_str::<RunRecord>(json)
                .map_err(|e| damaged(runner.target(), format!("a run record cannot be read ({e}): {json}"))),
            other => Err(damaged(runner.target(), format!("a run record has no JSON: {other:?}"))),
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

/// Takes the lock for `holder` unless another live holder has it (or `dead_owner`, known to
/// be gone, has it); one statement, atomic where the lock node's label is known to the
/// server before it is planned (see [`acquire_lock`]). Taking it moves the fencing token on.
/// `Ok(Ok((previous, token)))` when taken, `Ok(Err(current))` when refused.
async fn try_lock<R: CypherRunner + ?Sized>(
    runner: &R,
    holder: &LockHolder,
    dead_owner: Option<&str>,
) -> Result<Result<(Option<LockHolder>, i64), LockHolder>, TargetError> {
    let cypher = format!(
        "MERGE (l:{LOCK_LABEL} {{name: 'target'}}) \
         WITH l, l.holder AS previous, \
              (l.holder IS NULL OR l.expires < $now OR l.owner = $owner OR l.owner = $dead) AS free \
         SET l.holder = CASE WHEN free THEN $holder ELSE l.holder END, \
             l.owner = CASE WHEN free THEN $owner ELSE l.owner END, \
             l.expires = CASE WHEN free THEN $expires ELSE l.expires END, \
             l.token = CASE WHEN free THEN coalesce(l.token, 0) + 1 ELSE l.token END \
         RETURN previous, free, l.token"
    );
    let target = runner.target();
    let mut params = lock_params(holder, target)?;
    params.push(("dead".into(), dead_owner.map_or(Value::Null, text)));
    let rows = runner.write(&cypher, &params).await?;
    let row = rows.first().ok_or_else(|| damaged(target, "taking the lock returned nothing".into()))?;
    let previous = holder_from(target, row.first())?;
    tracing::debug!("{target}: taking the lock: free {:?}, token {:?}, {} row(s)", row.get(1), row.get(2), rows.len());
    if matches!(row.get(1), Some(Value::Bool(true))) {
        let Some(Value::Int(token)) = row.get(2) else {
            return Err(damaged(target, format!("taking the lock returned no token: {row:?}")));
        };
        Ok(Ok((previous.filter(|p| owner(p) != owner(holder)), *token)))
    } else {
        Ok(Err(previous.ok_or_else(|| damaged(target, "the lock is held by nobody yet was refused".into()))?))
    }
}

/// Takes the lock for `holder`, see [`crate::LeaseLock::acquire_lock`]; returns the holder
/// it took over and the fencing token every write then carries. A holder on this host whose
/// process is gone (killed, or failed without reaching the server to release) cannot be
/// using the lock: it is taken over now rather than after its lease.
///
/// The caller makes sure the server knows the lock's label before this runs (a uniqueness
/// constraint or an index on it): FalkorDB plans a `MERGE` on a label it does not know yet
/// as a scan that finds nothing, so two runs starting together on a new graph would both
/// create the lock node and both take it.
pub(crate) async fn acquire_lock<R: CypherRunner + ?Sized>(
    runner: &R,
    holder: &LockHolder,
) -> Result<(Option<LockHolder>, i64), TargetError> {
    let locked =
        |current: LockHolder| TargetError::Locked { target: runner.target().to_owned(), holder: Box::new(current) };
    match try_lock(runner, holder, None).await? {
        Ok(taken) => Ok(taken),
        Err(current) if current.host == holder.host && !process_alive(current.pid) => {
            match try_lock(runner, holder, Some(&owner(&current))).await? {
                Ok((_, token)) => Ok((Some(current), token)),
                Err(other) => Err(locked(other)),
            }
        }
        Err(current) => Err(locked(current)),
    }
}

/// Extends the lease if the lock is still `holder`'s, with `token`; else says who has it.
pub(crate) async fn renew_lock<R: CypherRunner + ?Sized>(
    runner: &R,
    holder: &LockHolder,
    token: i64,
) -> Result<(), TargetError> {
    let cypher = format!(
        "OPTIONAL MATCH (l:{LOCK_LABEL} {{name: 'target'}}) \
         WITH l, (l.owner = $owner AND l.token = $token) AS mine \
         SET l.holder = CASE WHEN mine THEN $holder ELSE l.holder END, \
             l.expires = CASE WHEN mine THEN $expires ELSE l.expires END \
         RETURN mine, l.holder"
    );
    let target = runner.target();
    let mut params = lock_params(holder, target)?;
    params.push(("token".into(), Value::Int(token)));
    let rows = runner.write(&cypher, &params).await?;
    let row = rows.first().cloned().unwrap_or_default();
    if matches!(row.first(), Some(Value::Bool(true))) {
        return Ok(());
    }
    let reason = match holder_from(target, row.get(1))? {
        Some(other) => format!("now held by {other}"),
        None => "the lock was broken".into(),
    };
    Err(TargetError::LockLost { target: target.to_owned(), reason })
}

/// Releases the lock if `holder` still has it. The node stays, with its token: the next
/// holder's token follows it.
pub(crate) async fn release_lock<R: CypherRunner + ?Sized>(runner: &R, holder: &LockHolder) -> Result<(), TargetError> {
    runner
        .write(
            &format!(
                "MATCH (l:{LOCK_LABEL} {{name: 'target'}}) WHERE l.owner = $owner \
                 SET l.holder = NULL, l.owner = NULL, l.expires = NULL"
            ),
            &[("owner".into(), text(&owner(holder)))],
        )
        .await?;
    Ok(())
}

/// The lock's holder, if any.
pub(crate) async fn lock_holder<R: CypherRunner + ?Sized>(runner: &R) -> Result<Option<LockHolder>, TargetError> {
    let rows = runner.read(&format!("MATCH (l:{LOCK_LABEL}) RETURN l.holder"), &[]).await?;
    holder_from(runner.target(), rows.iter().filter_map(|row| row.first()).find(|v| !v.is_null()))
}

/// After taking the lock with `token`: reads it back, and refuses the run as locked when
/// another holder's token has moved past it since (for a server whose `MERGE` can let two
/// runs started together both find the lock free: see the Bolt target's `acquire_lock`).
/// The run has written nothing yet, so losing here is a plain refusal.
pub(crate) async fn confirm_lock<R: CypherRunner + ?Sized>(runner: &R, token: i64) -> Result<(), TargetError> {
    let target = runner.target();
    let rows = runner.read(&format!("MATCH (l:{LOCK_LABEL} {{name: 'target'}}) RETURN l.token, l.holder"), &[]).await?;
    if let [row] = rows.as_slice()
        && row.first() == Some(&Value::Int(token))
    {
        return Ok(());
    }
    let current = rows.iter().find_map(|row| holder_from(target, row.get(1)).transpose()).transpose()?;
    Err(match current {
        Some(holder) => TargetError::Locked { target: target.to_owned(), holder: Box::new(holder) },
        None => TargetError::LockLost {
            target: target.to_owned(),
            reason: format!(
                "another process took the lock at the same moment as this one (fencing token {token} is no longer current)"
            ),
        },
    })
}

/// Removes the lock whoever holds it and moves the fencing token on, so that the holder's
/// next write is refused; returns who held it.
pub(crate) async fn break_lock<R: CypherRunner + ?Sized>(runner: &R) -> Result<Option<LockHolder>, TargetError> {
    let rows = runner
        .write(
            &format!(
                "MATCH (l:{LOCK_LABEL}) WITH l, l.holder AS holder \
                 SET l.holder = NULL, l.owner = NULL, l.expires = NULL, l.token = coalesce(l.token, 0) + 1 \
                 RETURN holder"
            ),
            &[],
        )
        .await?;
    holder_from(runner.target(), rows.iter().filter_map(|row| row.first()).find(|v| !v.is_null()))
}

/// The statements that remove the run marks from nodes and from relationships, `step`
/// elements at a time; each returns how many it unmarked.
pub(crate) fn unmark_statements(step: u64) -> [String; 2] {
    let run = quote_name(RUN_PROPERTY);
    ["MATCH (e) WHERE e.", "MATCH ()-[e]->() WHERE e."]
        .map(|element| format!("{element}{run} IS NOT NULL WITH e LIMIT {step} SET e.{run} = NULL RETURN count(e)"))
}

/// Removes the run's marks from the elements it wrote, `step` at a time. Returns how many
/// elements were unmarked.
pub(crate) async fn unmark<R: CypherRunner + ?Sized>(runner: &R, run_id: &str, step: u64) -> Result<u64, TargetError> {
    let mut total = 0;
    for statement in unmark_statements(step) {
        loop {
            let rows = runner.write(&statement, &[("run".into(), Value::String(run_id.to_owned()))]).await?;
            let n = super::first_count(&rows);
            total += n;
            // Fewer than a step: none is left (another pass would scan every element again).
            if n < step {
                break;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_between_characters_and_comes_back_whole() {
        let text = "ab😀cd".repeat(50);
        for max in [1, 3, 4, 5, 17, 1000] {
            let parts = split_text(&text, max);
            assert_eq!(parts.concat(), text, "max {max}");
            assert!(parts.iter().all(|p| p.len() <= max.max(4)), "max {max}: {parts:?}");
        }
        assert_eq!(split_text("short", 100), ["short"]);
    }
}
