//! Recording runs in the target: a new run's record (fingerprint and snapshot taken before
//! anything is written) and its per-mapping figures, rebuilt from the checkpoints.

use std::sync::Arc;

use grafter_model::{MappingRecord, RunRecord, RunStatus, now, redact_url};
use grafter_plan::{MappingKind, Plan};
use grafter_target::{Checkpoint, GraphTarget};

use crate::prepare::PreparedMapping;
use crate::session::new_run_id;
use crate::{EngineError, MappingStats, MappingStatus, Observer, identity};

/// A new record of kind `kind` for `plan`, started now, its mappings pending.
pub(crate) fn blank_record(
    plan: &Plan,
    id: String,
    kind: grafter_model::RunKind,
    source: &str,
    only: &[String],
    mappings: &[String],
) -> RunRecord {
    RunRecord {
        id,
        kind,
        status: RunStatus::Pending,
        started_at: now(),
        ended_at: None,
        operator: identity::user(),
        host: identity::host(),
        grafter_version: identity::version().to_owned(),
        config_path: plan.config_path.display().to_string(),
        config_checksum: plan.config_checksum.clone(),
        source: redact_url(source),
        target: redact_url(&plan.target_url),
        only: only.to_vec(),
        attempts: 1,
        mappings: mappings
            .iter()
            .map(|name| MappingRecord { name: name.clone(), status: "pending".into(), ..MappingRecord::default() })
            .collect(),
        error: None,
        fingerprint_before: None,
        snapshot: None,
        marks: None,
        events: Vec::new(),
        verification: None,
        throughput: Vec::new(),
    }
}

/// The error that stopped a run, as its record keeps it: without the passwords of the plan's
/// URLs, which a driver's or a server's message may quote.
pub(crate) fn error_text(plan: &Plan, error: &dyn std::fmt::Display) -> String {
    grafter_model::Secrets::of([plan.source_url.as_str(), plan.target_url.as_str()]).hide(&error.to_string())
}

/// What a new run's record needs to know of the run's options.
pub(crate) struct NewRun<'a> {
    /// The mappings `--only` selected (empty: all).
    pub only: &'a [String],
    /// `--fresh`: earlier checkpoints are ignored.
    pub fresh: bool,
    /// Whether to take a snapshot for `grafter rollback`.
    pub snapshot: bool,
}

/// Records a new run: its fingerprint and snapshot before anything is written.
pub(crate) async fn new_record(
    plan: &Plan,
    options: NewRun<'_>,
    source: String,
    target: &Arc<dyn GraphTarget>,
    observer: &Arc<dyn Observer>,
    prepared: &[PreparedMapping],
) -> Result<RunRecord, EngineError> {
    let id = new_run_id();
    if options.fresh {
        warn_of_what_fresh_rewrites(target.reader(), observer.as_ref(), prepared).await?;
    }
    // The fingerprint before the run is what a rollback proves its restore against, so it is
    // read (the whole graph) only when there is a snapshot to roll back to: on a graph that
    // already holds millions of elements it costs as long as a verification.
    let (snapshot, before) = match (options.snapshot, target.snapshots()) {
        (true, Some(snapshots)) => {
            let before = target.reader().fingerprint().await?;
            (Some(snapshots.take_snapshot(&id).await?), Some(before.overall_hex()))
        }
        _ => (None, None),
    };
    let marks = target.loader().begin_run(None).await?;
    let names: Vec<String> = prepared.iter().map(|p| p.mapping.name.clone()).collect();
    let mut record = blank_record(plan, id, grafter_model::RunKind::Load, &source, options.only, &names);
    record.fingerprint_before = before;
    record.snapshot = snapshot;
    record.marks = Some(marks);
    record.set_status(RunStatus::Pending, None);
    record.set_status(RunStatus::InProgress, None);
    Ok(record)
}

/// Tells a `--fresh` run over elements of its labels and types that they are written again
/// by key, not duplicated, and that those whose rows are gone stay. Counted per mapped label
/// and type, which every target answers without reading the graph through.
async fn warn_of_what_fresh_rewrites(
    reader: &dyn grafter_target::GraphReader,
    observer: &dyn Observer,
    prepared: &[PreparedMapping],
) -> Result<(), EngineError> {
    let mut asked = Vec::new();
    let mut held = Vec::new();
    for p in prepared {
        let shown = match &p.mapping.kind {
            MappingKind::Node { label, .. } => format!(":{label}"),
            MappingKind::Relationship { .. } => p.mapping.pattern(),
        };
        // Two mappings of one label (or type between the same labels) are counted once.
        if asked.contains(&shown) {
            continue;
        }
        let count = match &p.mapping.kind {
            MappingKind::Node { label, .. } => reader.count_nodes(label).await?,
            MappingKind::Relationship { rel_type, start, end, .. } => {
                reader.count_relationships(rel_type, &start.label, &end.label).await?
            }
        };
        if count > 0 {
            held.push(format!("{count} {shown}"));
        }
        asked.push(shown);
    }
    if !held.is_empty() {
        observer.message(&format!(
            "--fresh: starting over, ignoring earlier checkpoints. The target already holds {}. \
             Every row is written again by key: existing elements with the same keys are updated in place, not duplicated; \
             elements whose rows are gone from the source stay (roll back earlier runs first to remove them).",
            held.join(", ")
        ));
    }
    Ok(())
}

/// Prepares `record` for another attempt.
pub(crate) async fn resume_record(
    mut record: RunRecord,
    target: &dyn GraphTarget,
    observer: &dyn Observer,
) -> Result<RunRecord, EngineError> {
    record.attempts += 1;
    record.error = None;
    record.ended_at = None;
    let note = format!("resumed by {}@{} (attempt {})", identity::user(), identity::host(), record.attempts);
    record.set_status(RunStatus::InProgress, Some(&note));
    target.loader().begin_run(record.marks.as_deref()).await?;
    observer.message(&format!("resuming run {} (attempt {})", record.id, record.attempts));
    Ok(record)
}

/// The run's per-mapping figures, from its checkpoints: they commit with the data, so
/// they are exact over every attempt, killed ones included. Mappings this run did not load
/// (finished by earlier runs) are listed as such.
pub(crate) async fn mapping_records(
    target: &dyn GraphTarget,
    run_id: &str,
    prepared: &[PreparedMapping],
    stats: &[MappingStats],
) -> Result<Vec<MappingRecord>, EngineError> {
    let checkpoints = target.ledger().checkpoints(run_id).await?;
    let mut records = Vec::with_capacity(prepared.len());
    for mapping in prepared {
        let name = &mapping.mapping.name;
        let own: Vec<&Checkpoint> = checkpoints.iter().filter(|c| &c.mapping == name).collect();
        let status = stats.iter().find(|s| &s.mapping == name).map(|s| s.status);
        let mut record = MappingRecord { name: name.clone(), ..MappingRecord::default() };
        if own.is_empty() {
            record.status = match status {
                Some(MappingStatus::NothingToDo) => "nothing to do",
                _ => "pending",
            }
            .into();
        } else {
            record.read = own.iter().map(|c| c.read).sum();
            record.written = own.iter().map(|c| c.written).sum();
            record.rejected = own.iter().map(|c| c.rejected).sum();
            record.seconds = own.iter().map(|c| c.seconds).fold(0.0, f64::max);
            record.rows_per_second = if record.seconds > 0.0 { record.read as f64 / record.seconds } else { 0.0 };
            record.error_rate = if record.read > 0 { record.rejected as f64 / record.read as f64 } else { 0.0 };
            record.status = if own.iter().all(|c| c.finished) { "done" } else { "stopped" }.into();
        }
        records.push(record);
    }
    Ok(records)
}
