//! The null target (`null:`): accepts every record and keeps nothing but its bookkeeping,
//! in memory. It measures a source and the transform on their own (`grafter run` into
//! `null:` is pure extraction), and lets a config be exercised end to end without a store.
//! Nothing survives the process, so resume and rollback have nothing to work with, and
//! reading back finds an empty graph (it says so: [`GraphTarget::keeps_graph`]).

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::future::BoxFuture;
use grafter_model::{Fingerprint, FingerprintBuilder, LockHolder, RunRecord, Value};

use crate::encoded::Form;
use crate::store::Store;
use crate::Access;
use crate::{
    Checkpoint, Encoded, EndpointSpec, GraphLoader, GraphReader, GraphTarget, KeyIndex, LeaseLock, QueryResult,
    RecordBatch, RowOutcome, RowStream, RunLedger, RunRecords, TargetError, WriteGate, WriteReport,
};

/// The null target in the table of stores: `null:`.
pub(crate) const STORE: Store =
    Store { schemes: &["null"], check: |_, _| Ok(()), open: open_url, key_guard: "nothing (the graph is discarded)" };

fn open_url<'a>(_: &'a str, _: &'a Path, _: Access) -> BoxFuture<'a, Result<Box<dyn GraphTarget>, TargetError>> {
    Box::pin(async { Ok(Box::new(NullTarget::default()) as Box<dyn GraphTarget>) })
}

/// A target that discards records.
#[derive(Default)]
pub struct NullTarget {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    checkpoints: Vec<Checkpoint>,
    runs: Vec<RunRecord>,
    lock: Option<LockHolder>,
}

impl NullTarget {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("null target state")
    }

    fn keep(&self, checkpoint: Checkpoint) {
        let mut state = self.state();
        state.checkpoints.retain(|c| {
            !(c.run_id == checkpoint.run_id && c.mapping == checkpoint.mapping && c.partition == checkpoint.partition)
        });
        state.checkpoints.push(checkpoint);
    }
}

#[async_trait]
impl GraphTarget for NullTarget {
    fn describe(&self) -> String {
        "null:".into()
    }

    fn loader(&self) -> &dyn GraphLoader {
        self
    }

    fn reader(&self) -> &dyn GraphReader {
        self
    }

    fn ledger(&self) -> &dyn RunLedger {
        self
    }

    fn keeps_graph(&self) -> bool {
        false
    }

    async fn query(&self, _: &str, _: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        Err(TargetError::Unsupported { target: self.describe(), what: "queries (it keeps no graph)".into() })
    }

    async fn close(&self) -> Result<(), TargetError> {
        Ok(())
    }
}

#[async_trait]
impl GraphLoader for NullTarget {
    async fn begin_run(&self, marks: Option<&str>) -> Result<String, TargetError> {
        Ok(marks.unwrap_or("{}").to_owned())
    }

    async fn ensure_indexes(&self, _: &[KeyIndex]) -> Result<Vec<String>, TargetError> {
        Ok(Vec::new())
    }

    fn encode(&self, batch: RecordBatch) -> Result<Encoded, TargetError> {
        Ok(Encoded::new(batch.len(), Form::Null))
    }

    async fn write(
        &self,
        encoded: Encoded,
        checkpoint: &Checkpoint,
        mut gate: WriteGate,
    ) -> Result<WriteReport, TargetError> {
        let report = WriteReport { outcomes: vec![RowOutcome::Created; encoded.records()], checkpoint_seconds: 0.0 };
        gate.settle(&report).await.map_err(|message| TargetError::Write { target: self.describe(), message })?;
        self.keep(checkpoint.with_outcomes(&report));
        Ok(report)
    }
}

#[async_trait]
impl GraphReader for NullTarget {
    async fn fingerprint(&self) -> Result<Fingerprint, TargetError> {
        Ok(FingerprintBuilder::new().finish())
    }

    async fn scan_nodes(&self, _: &str, _: &[String]) -> Result<RowStream, TargetError> {
        Ok(Box::pin(futures::stream::empty()))
    }

    async fn scan_relationships(
        &self,
        _: &str,
        _: &EndpointSpec,
        _: &EndpointSpec,
        _: &[String],
    ) -> Result<RowStream, TargetError> {
        Ok(Box::pin(futures::stream::empty()))
    }

    async fn count_nodes(&self, _: &str) -> Result<u64, TargetError> {
        Ok(0)
    }

    async fn census(
        &self,
        questions: &[crate::KnownProperties],
        _: crate::CensusPart,
    ) -> Result<crate::Census, TargetError> {
        Ok(crate::Census { beyond: vec![Vec::new(); questions.len()], ..crate::Census::default() })
    }

    async fn count_relationships(&self, _: &str, _: &str, _: &str) -> Result<u64, TargetError> {
        Ok(0)
    }

    async fn lookup_nodes(
        &self,
        _: &str,
        _: &[String],
        _: &[Vec<Value>],
        _: &[String],
    ) -> Result<Vec<Vec<Value>>, TargetError> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl RunRecords for NullTarget {
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<(), TargetError> {
        checkpoints.iter().cloned().for_each(|c| self.keep(c));
        Ok(())
    }

    async fn checkpoints(&self, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
        Ok(self.state().checkpoints.iter().filter(|c| c.run_id == run_id).cloned().collect())
    }

    async fn latest_checkpoints(&self, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError> {
        let state = self.state();
        let own = state.checkpoints.iter().filter(|c| c.mapping == mapping && c.checksum == checksum);
        let Some(newest) = own.clone().map(|c| c.run_id.clone()).max() else { return Ok(Vec::new()) };
        Ok(own.filter(|c| c.run_id == newest).cloned().collect())
    }

    async fn save_run(&self, record: &RunRecord) -> Result<(), TargetError> {
        let mut state = self.state();
        state.runs.retain(|r| r.id != record.id);
        state.runs.push(record.clone());
        Ok(())
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, TargetError> {
        Ok(self.state().runs.clone())
    }
}

#[async_trait]
impl LeaseLock for NullTarget {
    async fn acquire_lock(&self, holder: &LockHolder) -> Result<Option<LockHolder>, TargetError> {
        Ok(self.state().lock.replace(holder.clone()))
    }

    async fn renew_lock(&self, _: &LockHolder) -> Result<(), TargetError> {
        Ok(())
    }

    async fn release_lock(&self, _: &LockHolder) -> Result<(), TargetError> {
        self.state().lock = None;
        Ok(())
    }

    async fn lock_holder(&self) -> Result<Option<LockHolder>, TargetError> {
        Ok(self.state().lock.clone())
    }

    async fn break_lock(&self) -> Result<Option<LockHolder>, TargetError> {
        Ok(self.state().lock.take())
    }
}
