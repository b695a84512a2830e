//! The snapshots kept for rollback: which runs can still be rolled back, and removing the
//! snapshots that only older runs had (`[run] keep_snapshots`, `grafter snapshots`).
//!
//! A snapshot is a full copy of the graph taken before a run (a file beside the embedded
//! store, a graph on a FalkorDB server, nodes in a Bolt database): left alone, one per run
//! piles up. Rollback only ever restores the newest run still standing, then the one before
//! it, so only the newest few are worth keeping; a run starts by removing the snapshots
//! beyond `keep_snapshots`, and the run's history says so.

use std::sync::Arc;

use grafter_model::{RunKind, RunRecord, RunStatus, now};
use grafter_plan::Plan;
use grafter_target::{Access, GraphTarget};

use crate::EngineError;
use crate::lease::{DEFAULT_LEASE, Lease, holder};
use crate::session::{closing, open_target};

/// Whether a run can be rolled back now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Rollback {
    /// Yes: it is the newest load standing and its snapshot is kept.
    Possible,
    /// Its snapshot is kept, but a later load stands: roll that one back first.
    After(String),
    /// It has no snapshot (taken with `--no-snapshot`, removed by retention, or the target
    /// cannot take one).
    NoSnapshot,
    /// Already rolled back.
    RolledBack,
    /// A sync session: it takes no snapshot; rolling back the load before it undoes it.
    Sync,
}

impl std::fmt::Display for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rollback::Possible => f.write_str("yes"),
            Rollback::After(later) => write!(f, "after {later}"),
            Rollback::NoSnapshot => f.write_str("no snapshot"),
            Rollback::RolledBack => f.write_str("rolled back"),
            Rollback::Sync => f.write_str("with its load"),
        }
    }
}

/// For each run (in the order given), whether it can be rolled back now.
pub fn rollback_states(runs: &[RunRecord]) -> Vec<Rollback> {
    let standing = |r: &&RunRecord| r.kind == RunKind::Load && r.status != RunStatus::RolledBack;
    runs.iter()
        .map(|run| {
            if run.kind == RunKind::Sync {
                return Rollback::Sync;
            }
            if run.status == RunStatus::RolledBack {
                return Rollback::RolledBack;
            }
            if run.snapshot.is_none() || run.fingerprint_before.is_none() {
                return Rollback::NoSnapshot;
            }
            match runs.iter().filter(standing).filter(|r| r.id > run.id).map(|r| &r.id).max() {
                Some(later) => Rollback::After(later.clone()),
                None => Rollback::Possible,
            }
        })
        .collect()
}

/// A run with a snapshot, and whether it can be rolled back.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotEntry {
    /// The run.
    pub run_id: String,
    /// Its status.
    pub status: RunStatus,
    /// When it started.
    pub started_at: String,
    /// The snapshot, as the target describes it.
    pub snapshot: String,
    /// Whether it can be rolled back now.
    pub rollback: Rollback,
}

/// The runs whose snapshot is kept, oldest first.
pub async fn list_snapshots(plan: &Plan) -> Result<Vec<SnapshotEntry>, EngineError> {
    let target = open_target(plan, Access::Read).await?;
    let runs = closing(&target, async { Ok(target.ledger().runs().await?) }).await?;
    let states = rollback_states(&runs);
    Ok(runs
        .iter()
        .zip(states)
        .filter(|(run, _)| run.status != RunStatus::RolledBack)
        .filter_map(|(run, rollback)| {
            let snapshot = run.snapshot.clone()?;
            Some(SnapshotEntry {
                run_id: run.id.clone(),
                status: run.status,
                started_at: run.started_at.clone(),
                snapshot,
                rollback,
            })
        })
        .collect())
}

/// Removes the snapshots of all but the newest `keep` runs that have one (under the
/// target's lock); returns the runs whose snapshot went (or, `dry_run`, would go).
pub async fn prune_snapshots(plan: &Plan, keep: usize, dry_run: bool) -> Result<Vec<String>, EngineError> {
    let target = open_target(plan, if dry_run { Access::Read } else { Access::Write }).await?;
    closing(&target, async {
        if dry_run {
            return Ok(beyond(&target.ledger().runs().await?, keep).into_iter().map(|r| r.id).collect());
        }
        let (lease, _) = Lease::acquire(
            Arc::clone(&target),
            holder("snapshots prune", None, DEFAULT_LEASE),
            DEFAULT_LEASE,
            crate::interrupt::StopRequest::default(),
        )
        .await?;
        let pruned = prune(target.as_ref(), keep).await;
        let released = lease.release().await;
        let pruned = pruned?;
        released?;
        Ok(pruned)
    })
    .await
}

/// The runs with a snapshot beyond the newest `keep` of them.
fn beyond(runs: &[RunRecord], keep: usize) -> Vec<RunRecord> {
    // A rolled-back run's snapshot went with the rollback.
    let mut with_snapshot: Vec<&RunRecord> =
        runs.iter().filter(|r| r.snapshot.is_some() && r.status != RunStatus::RolledBack).collect();
    with_snapshot.sort_by(|a, b| b.id.cmp(&a.id));
    with_snapshot.into_iter().skip(keep.max(1)).cloned().collect()
}

/// Removes the snapshots beyond the newest `keep` (the caller holds the lock), recording it
/// in each run's history; returns those runs.
pub(crate) async fn prune(target: &dyn GraphTarget, keep: usize) -> Result<Vec<String>, EngineError> {
    let mut pruned = Vec::new();
    for mut run in beyond(&target.ledger().runs().await?, keep) {
        let Some(snapshot) = run.snapshot.take() else { continue };
        target.require_snapshots()?.drop_snapshot(&snapshot).await?;
        run.events.push(grafter_model::RunEvent {
            at: now(),
            what: format!(
                "snapshot removed: only the newest {keep} are kept ([run] keep_snapshots); this run can no longer be rolled back"
            ),
        });
        target.ledger().save_run(&run).await?;
        pruned.push(run.id);
    }
    Ok(pruned)
}
