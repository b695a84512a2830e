//! Deciding, mapping by mapping, what a `grafter run` does: start, resume after a
//! checkpoint, count as done by an earlier attempt of the run it resumes, or nothing.
//!
//! The rule: each mapping's newest checkpoint for its current definition decides. A run
//! that is not completed is continued, even when only its validation is left — the newest
//! such run among those checkpoints; its unfinished mappings resume after their cursors,
//! its finished ones count as done earlier. A finished checkpoint of a completed run means
//! nothing to do. `--fresh` ignores checkpoints altogether.

use std::collections::HashMap;

use grafter_model::{RunRecord, RunStatus};
use grafter_target::{Checkpoint, GraphTarget};

use crate::EngineError;
use crate::prepare::PreparedMapping;

/// What a mapping does in this attempt.
#[derive(Debug, Clone)]
pub(crate) enum Decision {
    /// Load from the start.
    Start,
    /// Continue from these checkpoints, one per partition (finished partitions stay done).
    Resume(Vec<Checkpoint>),
    /// Finished by an earlier attempt of the run being resumed (its partitions' checkpoints).
    DoneEarlier(Vec<Checkpoint>),
    /// Finished by an earlier, completed run (its id).
    NothingToDo(String),
}

/// The decisions for all selected mappings, and the run they continue, if any.
pub(crate) struct ResumePlan {
    /// One decision per prepared mapping, in the same order.
    pub decisions: Vec<Decision>,
    /// The unfinished run this attempt continues.
    pub open_run: Option<RunRecord>,
}

/// Decides for every prepared mapping.
pub(crate) async fn decide(
    target: &dyn GraphTarget,
    prepared: &[PreparedMapping],
    fresh: bool,
) -> Result<ResumePlan, EngineError> {
    // Per mapping, the checkpoints (one per partition) of the newest run that has any.
    let mut latest: Vec<Vec<Checkpoint>> = Vec::with_capacity(prepared.len());
    for mapping in prepared {
        latest.push(if fresh {
            Vec::new()
        } else {
            target.ledger().latest_checkpoints(&mapping.mapping.name, &mapping.mapping.checksum).await?
        });
    }
    let runs = target.ledger().runs().await?;
    let open_run: Option<RunRecord> = latest
        .iter()
        .flatten()
        .filter_map(|c| runs.iter().find(|r| r.id == c.run_id))
        .filter(|r| r.status.is_resumable() || r.status == RunStatus::Validating)
        .max_by(|a, b| a.id.cmp(&b.id))
        .cloned();
    let decisions = latest
        .into_iter()
        .map(|checkpoints| {
            let Some(first) = checkpoints.first() else { return Decision::Start };
            let run_id = first.run_id.clone();
            let finished = checkpoints.iter().all(|c| c.finished);
            let in_open_run = open_run.as_ref().is_some_and(|r| r.id == run_id);
            match (finished, in_open_run, open_run.is_some()) {
                (true, true, _) => Decision::DoneEarlier(checkpoints),
                (true, false, _) => Decision::NothingToDo(run_id),
                // Unfinished partitions continue in the open run (their own run, normally).
                (false, _, true) => Decision::Resume(checkpoints),
                // Unfinished, but the run is gone or not resumable: start over.
                (false, _, false) => Decision::Start,
            }
        })
        .collect();
    Ok(ResumePlan { decisions, open_run })
}

impl ResumePlan {
    /// When nothing is left to do at all, the newest run that finished the mappings.
    pub fn all_done_by(&self) -> Option<String> {
        if self.open_run.is_some() {
            return None;
        }
        let mut newest: Option<&String> = None;
        for decision in &self.decisions {
            let Decision::NothingToDo(run) = decision else { return None };
            newest = newest.max(Some(run));
        }
        newest.cloned()
    }

    /// Batches each (mapping, partition) of `run_id` committed, for trimming the reject file.
    pub fn committed_batches(&self, run_id: &str) -> HashMap<(String, u32), u64> {
        self.decisions
            .iter()
            .filter_map(|d| match d {
                Decision::Resume(checkpoints) | Decision::DoneEarlier(checkpoints) => Some(checkpoints),
                _ => None,
            })
            .flatten()
            .filter(|c| c.run_id == run_id)
            .map(|c| ((c.mapping.clone(), c.partition), c.batches))
            .collect()
    }
}
