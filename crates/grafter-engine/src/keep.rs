//! `grafter run --keep-archive FILE`: while the run loads, a complete copy of what the
//! mappings read is written to an archive beside it, and checked (every entity's row count
//! and SHA-256) once both are done — the verified copy an old system leaves behind.
//!
//! The copy is a second, complete read of the source ([`crate::export`]), not a tee of the
//! load's reads: a resumed run does not read again what it committed before, and the copy
//! must hold everything. A run that does not finish leaves no copy: the writer is stopped
//! (also when the run fails before it starts loading, since dropping [`Keeping`] stops it).

use std::path::PathBuf;

use grafter_archive::DataFormat;
use grafter_plan::Plan;
use tokio::task::JoinHandle;

use crate::EngineError;
use crate::export::{ExportOptions, ExportSummary, export};
use crate::summary::KeptArchive;

/// The archive being written beside a run.
pub(crate) struct Keeping {
    writer: Option<JoinHandle<Result<ExportSummary, EngineError>>>,
}

impl Keeping {
    /// Starts writing `output` with what the mappings `only` selects (empty: all) read.
    pub(crate) fn start(plan: &Plan, output: PathBuf, only: &[String]) -> Keeping {
        let (plan, options) =
            (plan.clone(), ExportOptions { output, only: only.to_vec(), data_format: DataFormat::Csv });
        Keeping { writer: Some(tokio::spawn(async move { export(&plan, &options).await })) }
    }

    /// Waits for the copy and checks it: every entity's row count and checksum.
    pub(crate) async fn finish(mut self) -> Result<KeptArchive, EngineError> {
        let writer = self.writer.take().ok_or_else(|| EngineError::Internal("the archive was already kept".into()))?;
        let exported = writer.await.map_err(|e| EngineError::Internal(format!("the archive writer failed: {e}")))??;
        let path = exported.archive.clone();
        let checks = tokio::task::spawn_blocking(move || {
            grafter_archive::ArchiveReader::open(&path).and_then(|reader| reader.verify(|_| {}))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("the archive check failed: {e}")))??;
        Ok(KeptArchive {
            path: exported.archive,
            entities: checks.len(),
            rows: checks.iter().map(|check| check.rows).sum(),
        })
    }
}

impl Drop for Keeping {
    /// A copy nobody waits for is stopped: it would be incomplete.
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }
}
