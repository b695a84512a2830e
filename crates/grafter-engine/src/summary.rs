//! What a run reports: [`MappingStats`] per mapping and the [`RunSummary`].

use std::path::PathBuf;

use serde::Serialize;

/// Where a mapping stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingStatus {
    /// Not started yet.
    Pending,
    /// Loading.
    Running,
    /// Read to the end.
    Done,
    /// Stopped before the end (error, reject limit, Ctrl-C).
    Stopped,
    /// Finished by an earlier run with the same definition: nothing was read.
    NothingToDo,
    /// Finished by an earlier attempt of this same (resumed) run; its figures are that
    /// attempt's.
    DoneEarlier,
    /// Counted only (dry run).
    Counted,
}

/// Figures of one mapping. `read = written + rejected` always holds.
#[derive(Debug, Clone, Serialize)]
pub struct MappingStats {
    /// Mapping name.
    pub mapping: String,
    /// What it creates, e.g. `(:Album)-[:ARTIST]->(:Artist)`.
    pub pattern: String,
    /// `node` or `relationship`.
    pub kind: &'static str,
    /// Rows the source will yield, if known.
    pub total: Option<u64>,
    /// Rows read.
    pub read: u64,
    /// Rows written (created + updated).
    pub written: u64,
    /// Elements created.
    pub created: u64,
    /// Elements that existed from before the run and were updated.
    pub updated: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Values translated by remap tables (by this attempt of the run).
    pub remapped: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// Of those, seconds the target spent writing (the rest is reading and transforming, or
    /// waiting for them): tells a store-bound load from a source-bound one.
    pub write_seconds: f64,
    /// Seconds spent transforming rows and encoding records (on worker threads, beside writes).
    pub transform_seconds: f64,
    /// Of the write seconds, those spent storing checkpoints.
    pub checkpoint_seconds: f64,
    /// When the mapping continued an interrupted run: the rows already read before.
    pub resumed_at: Option<u64>,
    /// Status.
    pub status: MappingStatus,
}

impl MappingStats {
    /// Rows read per second by this attempt.
    pub fn rows_per_second(&self) -> f64 {
        let read_now = self.read - self.resumed_at.unwrap_or(0);
        if self.seconds > 0.0 { read_now as f64 / self.seconds } else { 0.0 }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// Where the run stands at the end of this attempt.
    pub status: grafter_model::RunStatus,
    /// Which attempt of the run this was (1, or more after resumes).
    pub attempt: u32,
    /// Source, password redacted.
    pub source: String,
    /// Target, password redacted.
    pub target: String,
    /// One entry per mapping run, in load order.
    pub mappings: Vec<MappingStats>,
    /// Where rejected rows were written, if any were.
    pub reject_file: Option<PathBuf>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether nothing was written (dry run).
    pub dry_run: bool,
    /// Index statements run before loading.
    pub indexes: Vec<String>,
    /// The verification that ended the run, if one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::VerifyReport>,
    /// The archive `--keep-archive` wrote beside the run and checked, if one was asked for
    /// and the run finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_archive: Option<KeptArchive>,
}

/// The copy of the source a run kept (`--keep-archive`), checked after it was written.
#[derive(Debug, Clone, Serialize)]
pub struct KeptArchive {
    /// The archive.
    pub path: PathBuf,
    /// Entities in it.
    pub entities: usize,
    /// Rows in it, over all entities; every entity's row count and SHA-256 were checked.
    pub rows: u64,
}

impl RunSummary {
    /// Rows read over all mappings.
    pub fn read(&self) -> u64 {
        self.mappings.iter().map(|m| m.read).sum()
    }

    /// Rows written over all mappings.
    pub fn written(&self) -> u64 {
        self.mappings.iter().map(|m| m.written).sum()
    }

    /// Rows rejected over all mappings.
    pub fn rejected(&self) -> u64 {
        self.mappings.iter().map(|m| m.rejected).sum()
    }
}
