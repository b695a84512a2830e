//! The commands around runs: `history`, `fingerprint`, `lock status` / `lock break` and
//! `rollback`. Each opens the plan's target, does one thing, and closes it.

use std::sync::Arc;

use grafter_model::{Fingerprint, LockHolder, RunKind, RunRecord, RunStatus, now};
use grafter_plan::Plan;
use grafter_target::{Access, GraphTarget};

use crate::lease::{DEFAULT_LEASE, Lease, holder};
use crate::session::{closing, open_target};
use crate::{EngineError, identity};

/// Runs `work` on the plan's target and closes it whatever happens.
async fn with_target<T, F, Fut>(plan: &Plan, access: Access, work: F) -> Result<T, EngineError>
where
    F: FnOnce(Arc<dyn GraphTarget>) -> Fut,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let target = open_target(plan, access).await?;
    closing(&target, work(Arc::clone(&target))).await
}

/// Every run recorded in the target, oldest first.
pub async fn history(plan: &Plan) -> Result<Vec<RunRecord>, EngineError> {
    with_target(plan, Access::Read, |target| async move { Ok(target.ledger().runs().await?) }).await
}

/// The target's fingerprint.
pub async fn fingerprint(plan: &Plan) -> Result<Fingerprint, EngineError> {
    with_target(plan, Access::Read, |target| async move { Ok(target.reader().fingerprint().await?) }).await
}

/// The state of a target's lock.
#[derive(Debug, Clone)]
pub enum LockState {
    /// Held, lease running.
    Held(LockHolder),
    /// The lease ran out: the next run takes it over.
    Expired(LockHolder),
    /// Its holder's process is gone (same host, no such process): the next run takes it over.
    Abandoned(LockHolder),
}

/// Whether a lock holder still counts, and how grafter knows.
fn lock_state(holder: LockHolder) -> (LockState, String) {
    let now = chrono::Utc::now();
    if holder.is_expired(now) {
        let evidence = format!("its lease ran out at {}", holder.expires_at);
        (LockState::Expired(holder), evidence)
    } else if holder.host == identity::host() {
        if grafter_target::process_alive(holder.pid) {
            let evidence = format!("process {} runs on this host ({})", holder.pid, holder.host);
            (LockState::Held(holder), evidence)
        } else {
            let evidence = format!("no process {} runs on this host ({})", holder.pid, holder.host);
            (LockState::Abandoned(holder), evidence)
        }
    } else {
        // Another host's processes cannot be seen from here: a holder that renews its lease
        // is alive as far as anyone can tell (one that died stops renewing).
        let evidence = format!(
            "host {} renewed its lease at {}, and it runs until {}",
            holder.host, holder.renewed_at, holder.expires_at
        );
        (LockState::Held(holder), evidence)
    }
}

/// Who holds the target's lock, if anyone, and whether that still counts.
pub async fn lock_status(plan: &Plan) -> Result<Option<LockState>, EngineError> {
    with_target(plan, Access::Read, |target| async move {
        Ok(target.ledger().lock_holder().await?.map(|holder| lock_state(holder).0))
    })
    .await
}

/// Removes the lock, and records who broke it in the run it belonged to. A holder that is
/// alive (a process on this host, or a lease another host keeps renewing) is refused unless
/// `force`: its next write is then refused by the target (the fencing token moved on).
pub async fn break_lock(plan: &Plan, force: bool) -> Result<Option<LockHolder>, EngineError> {
    with_target(plan, Access::Write, |target| async move {
        if let Some(current) = target.ledger().lock_holder().await?
            && !force
            && let (LockState::Held(holder), evidence) = lock_state(current)
        {
            return Err(EngineError::HolderAlive { holder: holder.to_string(), evidence });
        }
        let Some(broken) = target.ledger().break_lock().await? else { return Ok(None) };
        let forced = if force { " with --force" } else { "" };
        let note = format!("lock broken{forced} by {}@{} (it was held {broken})", identity::user(), identity::host());
        let runs = target.ledger().runs().await?;
        let run = broken.run_id.as_ref().and_then(|id| runs.iter().find(|r| &r.id == id)).or_else(|| runs.last());
        if let Some(run) = run {
            let mut run = run.clone();
            run.events.push(grafter_model::RunEvent { at: now(), what: note });
            target.ledger().save_run(&run).await?;
        }
        Ok(Some(broken))
    })
    .await
}

/// Which run to roll back.
#[derive(Debug, Clone)]
pub enum RollbackTarget {
    /// The newest run not rolled back yet.
    Last,
    /// A run by id.
    Run(String),
}

/// What a rollback did (or, in a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RollbackReport {
    /// The run.
    pub run_id: String,
    /// Changes the rollback undoes, label by label and type by type.
    pub changes: Vec<String>,
    /// Fingerprint before the run (the state rolled back to).
    pub fingerprint_before: String,
    /// Fingerprint now: after the rollback, or, in a dry run, the current one.
    pub fingerprint_now: String,
    /// Whether anything was changed.
    pub dry_run: bool,
}

/// Returns the target to its state before a run, proven by the fingerprint taken then.
pub async fn rollback(plan: &Plan, which: RollbackTarget, dry_run: bool) -> Result<RollbackReport, EngineError> {
    with_target(plan, Access::Write, |target| async move {
        let (lease, _) = Lease::acquire(
            Arc::clone(&target),
            holder("rollback", None, DEFAULT_LEASE),
            DEFAULT_LEASE,
            crate::interrupt::StopRequest::default(),
        )
        .await?;
        let result = rollback_locked(&target, which, dry_run).await;
        let released = lease.release().await;
        let report = result?;
        released?;
        Ok(report)
    })
    .await
}

fn refuse(message: String) -> EngineError {
    EngineError::Rollback(message)
}

async fn rollback_locked(
    target: &Arc<dyn GraphTarget>,
    which: RollbackTarget,
    dry_run: bool,
) -> Result<RollbackReport, EngineError> {
    let runs = target.ledger().runs().await?;
    let live: Vec<&RunRecord> = runs.iter().filter(|r| r.status != RunStatus::RolledBack).collect();
    // Sync sessions take no snapshot: a rollback returns to the state before a load, which
    // undoes the sync sessions after it too.
    let loads: Vec<&RunRecord> = live.iter().copied().filter(|r| r.kind == RunKind::Load).collect();
    let run = match &which {
        RollbackTarget::Last => {
            loads.last().copied().ok_or_else(|| refuse("no run to roll back: the target has no run history".into()))?
        }
        RollbackTarget::Run(id) => runs.iter().find(|r| &r.id == id).ok_or_else(|| {
            let known: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
            refuse(format!("no run `{id}` in the target's history (runs: {})", known.join(", ")))
        })?,
    };
    if run.kind == RunKind::Sync {
        let before = loads.iter().rev().find(|r| r.id < run.id);
        return Err(refuse(format!(
            "{} is a sync session, which takes no snapshot{}",
            run.id,
            match before {
                Some(load) => format!(
                    "; `grafter rollback {}` returns to the state before the load it followed, undoing the syncs after it too",
                    load.id
                ),
                None => String::new(),
            }
        )));
    }
    if run.status == RunStatus::RolledBack {
        return Err(refuse(format!("run {} is already rolled back", run.id)));
    }
    if let Some(later) = loads.iter().find(|r| r.id > run.id) {
        return Err(refuse(format!(
            "run {} came after run {}: roll it back first (rolling back restores the state before a run, which would undo later runs too)",
            later.id, run.id
        )));
    }
    let (Some(snapshot), Some(before)) = (&run.snapshot, &run.fingerprint_before) else {
        return Err(refuse(format!(
            "no snapshot was taken before run {} (it was started with snapshots off, or the target cannot take them)",
            run.id
        )));
    };
    let current = target.reader().fingerprint().await?;
    let changes = match target.require_snapshots()?.snapshot_fingerprint(snapshot).await? {
        // Going from now back to the snapshot: exactly these labels and types change.
        Some(then) => {
            let changes = then.differences_from(&current);
            if changes.is_empty() {
                vec!["nothing: the graph is already as it was before the run".into()]
            } else {
                changes
            }
        }
        None => describe_changes(&current, run),
    };
    if dry_run {
        return Ok(RollbackReport {
            run_id: run.id.clone(),
            changes,
            fingerprint_before: before.clone(),
            fingerprint_now: current.overall_hex(),
            dry_run: true,
        });
    }

    target.require_snapshots()?.restore_snapshot(snapshot).await?;
    let restored = target.reader().fingerprint().await?;
    let mut history = runs.clone();
    for record in &mut history {
        if record.kind == RunKind::Sync && record.id > run.id && record.status != RunStatus::RolledBack {
            let note = format!("undone by rolling back run {}", run.id);
            record.set_status(RunStatus::RolledBack, Some(&note));
        }
        if record.id == run.id {
            record.ended_at = Some(now());
            let note = format!("rolled back by {}@{}", identity::user(), identity::host());
            record.set_status(RunStatus::RolledBack, Some(&note));
            if restored.overall_hex() != *before {
                record.events.push(grafter_model::RunEvent {
                    at: now(),
                    what: format!(
                        "WARNING: fingerprint after rollback {} differs from before the run {before}",
                        restored.overall_hex()
                    ),
                });
            }
        }
    }
    // The snapshot predates the run, so its history does too: put the full history back.
    for record in &history {
        target.ledger().save_run(record).await?;
    }
    if restored.overall_hex() != *before {
        return Err(refuse(format!(
            "the graph was restored from the snapshot of run {}, but its fingerprint {} differs from the one recorded before the run ({before})",
            run.id,
            restored.overall_hex()
        )));
    }
    target.require_snapshots()?.drop_snapshot(snapshot).await?;
    Ok(RollbackReport {
        run_id: run.id.clone(),
        changes,
        fingerprint_before: before.clone(),
        fingerprint_now: restored.overall_hex(),
        dry_run: false,
    })
}

/// What rolling back `run` changes, from the run's figures and the current graph.
fn describe_changes(current: &Fingerprint, run: &RunRecord) -> Vec<String> {
    let mut changes: Vec<String> = run
        .mappings
        .iter()
        .filter(|m| m.written > 0)
        .map(|m| format!("undo mapping `{}`: {} rows it wrote (created or updated)", m.name, m.written))
        .collect();
    changes.push(format!(
        "restore the graph as it was before run {} ({}); it now holds {} nodes and {} relationships",
        run.id,
        run.started_at,
        current.node_count(),
        current.relationship_count()
    ));
    changes
}
