//! One batch of a mapping's changes, from source rows to the graph: each current row
//! becomes an upsert through the mapping's own transform (exactly what a run would write),
//! each row that is gone — deleted, soft-deleted, or whose reference became NULL — becomes
//! the removal of what it gave. The batch is applied with the mapping's next sync state in
//! one transaction; the state's figures, pending rows and watermark are worked out from the
//! outcomes inside that transaction, and the batch's rejects are written just before it
//! commits, as in a run.
//!
//! A relationship whose node is not in the graph yet (its row was read before the node's
//! row reached the graph) is not rejected at once: it waits in the state's pending list and
//! is read again at the start of every pass, until it applies or waits longer than
//! `[sync] pending_timeout`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use grafter_model::{KeyHash, PendingRow, SourceRow, SyncState, Value};
use grafter_source::Source;
use grafter_target::{
    Anchor, AnchorKey, ChangeOutcome, ChangeReport, ChangeSet, GraphTarget, RecordBatch, RelRecord, Step,
};

use super::report::Counts;
use super::tracked::{Removal, Tracked};
use crate::EngineError;
use crate::records::{Origin, Rejected, RowData, transform};
use crate::rejects::{RejectLine, RejectSink, RowShape};

/// The most rows one mapping keeps waiting for their nodes; beyond, rows are rejected at
/// once rather than let the state grow without bound.
const MAX_PENDING: usize = 10_000;

/// What a batch holds before it is turned into changes.
#[derive(Default)]
pub(crate) struct Incoming {
    /// Current rows of the mapping's read (with the tracked extra columns).
    pub rows: Vec<SourceRow>,
    /// Identities of rows that are no longer in the source.
    pub gone: Vec<Vec<Value>>,
    /// Changes that could not be read (a change-log entry with an unreadable key), with the
    /// columns their rows are shown under.
    pub unreadable: Vec<(Rejected, Arc<RowShape>)>,
    /// The watermark after this batch, when it moves.
    pub watermark: Option<Vec<Value>>,
    /// The cursor value of the newest change, for people to read.
    pub newest: Option<Value>,
    /// Changes read (rows, or change-log entries).
    pub read: u64,
    /// Identities of pending rows this batch reads again.
    pub retried: Vec<Vec<Value>>,
    /// The position of each row's change (by [`identity_text`]), where known: the cursor
    /// value and key, or the change log's time and id.
    pub positions: HashMap<String, Vec<Value>>,
}

/// An identity as text, to find it again whatever type its values came back in.
pub(crate) fn identity_text(identity: &[Value]) -> String {
    identity.iter().map(ToString::to_string).collect::<Vec<_>>().join("\u{1f}")
}

/// What every batch of a sync needs.
pub(crate) struct BatchContext {
    pub target: Arc<dyn GraphTarget>,
    pub rejects: Arc<RejectSink>,
    pub pending_timeout: std::time::Duration,
}

/// One change of the batch, before the target sees it.
enum Change {
    Upsert { record: Upsert, identity: Vec<Value>, origin: Origin },
    Remove { removal: Removal, identity: Vec<Value> },
}

enum Upsert {
    Node(grafter_target::NodeRecord),
    Relationship(RelRecord),
}

/// Turns `incoming` into changes, applies them with the next state, and updates `state`.
pub(crate) async fn apply(
    context: &BatchContext,
    tracked: &Tracked,
    state: &mut SyncState,
    incoming: Incoming,
) -> Result<Counts, EngineError> {
    let columns = Arc::new(RowShape { columns: tracked.columns.clone(), key: tracked.identity.clone() });
    let mut rejected: Vec<(Rejected, Arc<RowShape>)> = incoming.unreadable;
    let mut changes: Vec<Change> = Vec::new();

    // Rows gone or marked deleted remove what they gave; the others go through the transform.
    let mut current = Vec::with_capacity(incoming.rows.len());
    let mut removals = Vec::new();
    for row in incoming.rows {
        match &row {
            SourceRow::Ok { values, .. } => {
                let marked_deleted = tracked.deleted_at.is_some_and(|at| !values[at].is_null());
                let unreferenced = tracked.references_at.iter().any(|&at| values[at].is_null());
                if marked_deleted || unreferenced {
                    removals.push(row);
                } else {
                    current.push(row);
                }
            }
            SourceRow::Malformed { .. } => current.push(row),
        }
    }
    for row in removals {
        let SourceRow::Ok { values, line } = row else { continue };
        let identity = tracked.identity_of(&values);
        match tracked.removal_of(&values) {
            Ok(removal) => changes.push(Change::Remove { removal, identity }),
            Err(reason) => rejected.push((
                Rejected {
                    origin: Origin { line, row: RowData::Values(values) },
                    reason: format!("cannot tell what this row gave, to remove it: {reason}"),
                },
                Arc::clone(&columns),
            )),
        }
    }
    for identity in incoming.gone {
        let values = tracked.row_of_identity(&identity);
        match tracked.removal_of(&values) {
            Ok(removal) => changes.push(Change::Remove { removal, identity }),
            Err(reason) => rejected.push((
                Rejected {
                    origin: Origin { line: 0, row: RowData::Values(values) },
                    reason: format!("the row is gone, but what it gave cannot be told from its key: {reason}"),
                },
                Arc::clone(&columns),
            )),
        }
    }
    let transformed = transform(
        current,
        &tracked.prepared.bound,
        &tracked.prepared.shape,
        &tracked.prepared.remap,
        context.target.as_ref(),
    );
    rejected.extend(transformed.rejected.into_iter().map(|r| (r, Arc::clone(&columns))));
    let upserts: Vec<Upsert> = match transformed.records {
        RecordBatch::Nodes { records, .. } => records.into_iter().map(Upsert::Node).collect(),
        RecordBatch::Relationships { records, .. } => records.into_iter().map(Upsert::Relationship).collect(),
    };
    for (record, origin) in upserts.into_iter().zip(transformed.origins) {
        let RowData::Values(values) = &origin.row else { continue };
        let identity = tracked.identity_of(values);
        changes.push(Change::Upsert { record, identity, origin });
    }

    // One change per element: the last one read wins.
    let anchor = tracked.anchor;
    let element = |change: &Change| -> KeyHash {
        match change {
            Change::Remove { removal, .. } => removal.identity_hash(),
            Change::Upsert { record: Upsert::Node(node), .. } => {
                let crate::prepare::Shape::Node(spec) = &tracked.prepared.shape else { unreachable!("node records") };
                Removal::Node(spec.key.iter().map(|&i| node.properties[i].clone()).collect()).identity_hash()
            }
            Change::Upsert { record: Upsert::Relationship(rel), .. } => {
                Removal::Relationships(anchor_key(anchor.unwrap_or(Anchor::Pair), rel)).identity_hash()
            }
        }
    };
    let mut last: HashMap<KeyHash, usize> = HashMap::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        last.insert(element(change), i);
    }
    let kept: HashSet<usize> = last.into_values().collect();
    let mut node_upserts = Vec::new();
    let mut rel_upserts = Vec::new();
    let mut upserted: Vec<(Vec<Value>, Origin)> = Vec::new();
    let mut node_deletes = Vec::new();
    let mut rel_deletes = Vec::new();
    let mut removed: Vec<Vec<Value>> = Vec::new();
    for (i, change) in changes.into_iter().enumerate() {
        if !kept.contains(&i) {
            continue;
        }
        match change {
            Change::Upsert { record, identity, origin } => {
                match record {
                    Upsert::Node(node) => node_upserts.push(node),
                    Upsert::Relationship(rel) => rel_upserts.push(rel),
                }
                upserted.push((identity, origin));
            }
            Change::Remove { removal, identity } => {
                match removal {
                    Removal::Node(key) => node_deletes.push(key),
                    Removal::Relationships(anchor) => rel_deletes.push(anchor),
                }
                removed.push(identity);
            }
        }
    }
    let change_set = match &tracked.prepared.shape {
        crate::prepare::Shape::Node(spec) => {
            ChangeSet::Nodes { spec: Arc::clone(spec), upserts: node_upserts, deletes: node_deletes }
        }
        crate::prepare::Shape::Relationship(spec) => ChangeSet::Relationships {
            spec: Arc::clone(spec),
            anchor: anchor.unwrap_or(Anchor::Pair),
            upserts: rel_upserts,
            deletes: rel_deletes,
        },
    };

    let settle = Settle {
        upserted,
        removed,
        rejected,
        retried: incoming.retried,
        positions: incoming.positions,
        watermark: incoming.watermark,
        newest: incoming.newest,
        read: incoming.read,
    };
    // The target settles the outcomes with its transaction open and waits; the state to
    // store with the batch depends on them, and the rejects become durable before the commit.
    let unsettled = || EngineError::Internal("the target applied a sync batch without settling its outcomes".into());
    let Step::Settle(pending) = context.target.change_sync()?.stage_changes(change_set).await? else {
        return Err(unsettled());
    };
    let (next, counts) = match next_state(context, tracked, state.clone(), settle, pending.report()) {
        Ok(settled) => settled,
        Err(reason) => return Err(pending.refuse(reason).await.into()),
    };
    match pending.commit(next.clone()).await? {
        Step::Done(_) => {
            *state = next;
            Ok(counts)
        }
        Step::Settle(again) => Err(again.refuse("a sync batch is settled once".into()).await.into()),
    }
}

/// The anchor key a relationship record fills.
fn anchor_key(anchor: Anchor, record: &RelRecord) -> AnchorKey {
    match anchor {
        Anchor::Start => AnchorKey { start: record.start.clone(), end: Vec::new() },
        Anchor::End => AnchorKey { start: Vec::new(), end: record.end.clone() },
        Anchor::Pair => AnchorKey { start: record.start.clone(), end: record.end.clone() },
    }
}

/// What [`next_state`] settles once the outcomes are known.
struct Settle {
    upserted: Vec<(Vec<Value>, Origin)>,
    removed: Vec<Vec<Value>>,
    rejected: Vec<(Rejected, Arc<RowShape>)>,
    retried: Vec<Vec<Value>>,
    positions: HashMap<String, Vec<Value>>,
    watermark: Option<Vec<Value>>,
    newest: Option<Value>,
    read: u64,
}

/// Once the target has settled a batch's outcomes (`report`), before it commits: counts the
/// outcomes, moves rows into and out of the pending list, makes the rejects durable, and
/// returns the state to store with the batch.
fn next_state(
    context: &BatchContext,
    tracked: &Tracked,
    mut state: SyncState,
    settle: Settle,
    report: &ChangeReport,
) -> Result<(SyncState, Counts), String> {
    let sink = &context.rejects;
    let timeout = chrono::Duration::from_std(context.pending_timeout).unwrap_or(chrono::Duration::minutes(5));
    let columns = Arc::new(RowShape { columns: tracked.columns.clone(), key: tracked.identity.clone() });
    let mapping = tracked.name().to_owned();
    let now = chrono::Utc::now();
    let stamp = grafter_model::now();
    let text = |identity: &[Value]| identity_text(identity);
    let mut counts = Counts { read: settle.read, ..Counts::default() };
    let mut lines: Vec<(Origin, String, Arc<RowShape>)> = Vec::new();
    for (rejected, columns) in settle.rejected {
        lines.push((rejected.origin, rejected.reason, columns));
    }
    // Pending rows: those this batch settles leave the list; those still waiting keep
    // the time they started waiting (and their change's position, when this read has none).
    let earlier: HashMap<String, PendingRow> =
        state.pending.iter().filter_map(|p| Some((text(&p.key_values().ok()?), p.clone()))).collect();
    let given_up: HashMap<String, Vec<Value>> = state
        .given_up
        .iter()
        .filter_map(|p| Some((text(&p.key_values().ok()?), p.position_values().unwrap_or_default())))
        .collect();
    let mut settled: HashSet<String> = settle.retried.iter().map(|id| text(id)).collect();
    settled.extend(settle.removed.iter().map(|id| text(id)));
    settled.extend(settle.upserted.iter().map(|(id, _)| text(id)));
    let mut waiting: Vec<PendingRow> = Vec::new();
    for (outcome, (identity, origin)) in report.upserts.iter().zip(settle.upserted) {
        match outcome {
            ChangeOutcome::Created => counts.created += 1,
            ChangeOutcome::Updated => counts.updated += 1,
            ChangeOutcome::Unchanged | ChangeOutcome::Absent => counts.unchanged += 1,
            ChangeOutcome::Deleted => counts.deleted += 1,
            ChangeOutcome::Rejected(reason) => lines.push((origin, reason.clone(), Arc::clone(&columns))),
            ChangeOutcome::Missing(reason) => {
                let key = text(&identity);
                let position = settle
                    .positions
                    .get(&key)
                    .cloned()
                    .or_else(|| earlier.get(&key).and_then(PendingRow::position_values));
                // The same change, read again after it was rejected for waiting too long.
                let already_rejected = given_up.get(&key).is_some_and(|rejected_at| match &position {
                    Some(position) => !newer(position, rejected_at),
                    None => true,
                });
                if already_rejected {
                    counts.unchanged += 1;
                    continue;
                }
                let first = earlier.get(&key).map_or_else(|| stamp.clone(), |p| p.since.clone());
                let waited_out =
                    chrono::DateTime::parse_from_rfc3339(&first).is_ok_and(|t| now.signed_duration_since(t) > timeout);
                if waited_out || state.pending.len() + waiting.len() >= MAX_PENDING {
                    let why = if waited_out {
                        format!("{reason} (waited since {first})")
                    } else {
                        format!("{reason} ({MAX_PENDING} rows already wait)")
                    };
                    lines.push((origin, why, Arc::clone(&columns)));
                    state.given_up.retain(|p| p.key_values().map(|k| text(&k) != key).unwrap_or(false));
                    state.given_up.push(PendingRow::new(&identity, stamp.clone(), reason.clone(), position.as_deref()));
                } else {
                    waiting.push(PendingRow::new(&identity, first, reason.clone(), position.as_deref()));
                }
            }
        }
    }
    for outcome in &report.deletes {
        match outcome {
            ChangeOutcome::Deleted => counts.deleted += 1,
            ChangeOutcome::Rejected(reason) => {
                return Err(format!("the target refused a removal: {reason}"));
            }
            _ => counts.unchanged += 1,
        }
    }
    counts.rejected = lines.len() as u64;
    state.pending.retain(|p| p.key_values().map(|k| !settled.contains(&text(&k))).unwrap_or(false));
    state.pending.extend(waiting);
    counts.waiting = state.pending.len() as u64;
    state.created += counts.created;
    state.updated += counts.updated;
    state.deleted += counts.deleted;
    state.unchanged += counts.unchanged;
    state.rejected += counts.rejected;
    state.batches += 1;
    if let Some(watermark) = settle.watermark {
        state.watermark = grafter_model::Cursor::Key(watermark).encode();
    }
    if let Some(newest) = settle.newest {
        state.newest_change = Some(newest.to_string());
    }
    state.updated_at = stamp;
    let reject_lines: Vec<RejectLine<'_>> = lines
        .iter()
        .map(|(origin, reason, shape)| RejectLine {
            mapping: &mapping,
            partition: 0,
            batch: state.batches,
            shape,
            origin,
            reason,
        })
        .collect();
    sink.write_batch(&reject_lines).map_err(|e| e.to_string())?;
    crate::fault::pass(crate::fault::Point::BeforeCommit);
    Ok((state, counts))
}

/// Whether position `a` lies after `b`: compared value by value (cursor or log time first),
/// as the source orders them.
fn newer(a: &[Value], b: &[Value]) -> bool {
    for (x, y) in a.iter().zip(b) {
        let order = super::watermark::compare(x, y).unwrap_or_else(|| x.to_string().cmp(&y.to_string()));
        match order {
            std::cmp::Ordering::Equal => continue,
            other => return other == std::cmp::Ordering::Greater,
        }
    }
    false
}

/// Reads the rows of `identities` from the source: the rows found, and the identities of
/// rows that are not there (any more).
pub(crate) async fn fetch(
    source: &dyn Source,
    tracked: &Tracked,
    identities: Vec<Vec<Value>>,
) -> Result<(Vec<SourceRow>, Vec<Vec<Value>>), EngineError> {
    use futures::StreamExt as _;
    if identities.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // The source's text of each key value: a key read back may come in another type than the
    // one parsed from a change log (an integer for "42"), never with another text.
    let text = |identity: &[Value]| identity_text(identity);
    let mut stream = source.scan(tracked.rows_request(identities.clone())).await?;
    let mut rows = Vec::new();
    let mut found: HashSet<String> = HashSet::new();
    while let Some(batch) = stream.next().await {
        for row in batch?.rows {
            if let SourceRow::Ok { values, .. } = &row {
                found.insert(text(&tracked.identity_of(values)));
            }
            rows.push(row);
        }
    }
    let gone = identities.into_iter().filter(|id| !found.contains(&text(id))).collect();
    Ok((rows, gone))
}
