//! The run records of every Cypher server, written once: a server target says which
//! [`CypherRunner`] carries its statements ([`CypherRecords`]) and gets [`RunRecords`] —
//! checkpoints and run history as `_Grafter…` nodes ([`super::bookkeeping`]) — from the
//! blanket implementation here. The lease lock stays each server's own: FalkorDB locks with
//! its own commands, the Bolt servers with a fenced Cypher node.

use async_trait::async_trait;
use grafter_model::RunRecord;

use super::CypherRunner;
use super::bookkeeping;
use crate::{Checkpoint, RunRecords, TargetError};

/// A store whose run records are Cypher nodes.
pub(crate) trait CypherRecords: Send + Sync {
    /// What carries the statements.
    fn runner(&self) -> &dyn CypherRunner;

    /// The most text one statement may carry of a run record, which is then saved in parts
    /// (FalkorDB's Bolt port takes statements of a few KB); `None`: no limit.
    fn record_text_limit(&self) -> Option<usize> {
        None
    }
}

#[async_trait]
impl<T: CypherRecords> RunRecords for T {
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<(), TargetError> {
        bookkeeping::save_checkpoints(self.runner(), checkpoints).await
    }

    async fn checkpoints(&self, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
        bookkeeping::checkpoints(self.runner(), run_id).await
    }

    async fn latest_checkpoints(&self, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError> {
        bookkeeping::latest_checkpoints(self.runner(), mapping, checksum).await
    }

    async fn save_run(&self, record: &RunRecord) -> Result<(), TargetError> {
        bookkeeping::save_run(self.runner(), record, self.record_text_limit()).await
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, TargetError> {
        bookkeeping::runs(self.runner()).await
    }
}
