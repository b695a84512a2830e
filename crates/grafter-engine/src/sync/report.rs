//! What `grafter sync` reports: a batch's figures, a pass, a mapping's standing and the
//! session's summary. A leaf: the observer and the CLI read these without knowing how a sync
//! works.

use crate::verify::VerifyReport;

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Changes read.
    pub read: u64,
    /// Elements created.
    pub created: u64,
    /// Elements updated.
    pub updated: u64,
    /// Elements deleted (nodes, or a row's relationships).
    pub deleted: u64,
    /// Changes the graph already held.
    pub unchanged: u64,
    /// Rows sent to the reject file.
    pub rejected: u64,
    /// Rows waiting for their nodes after the batch.
    pub waiting: u64,
}

impl Counts {
    /// Adds another batch's figures (`waiting` is a level, not a sum: the latest counts).
    pub fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.waiting = other.waiting;
    }

    /// Changes applied: created, updated or deleted.
    pub fn applied(&self) -> u64 {
        self.created + self.updated + self.deleted
    }
}

/// One pass, as reported after it ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PassReport {
    /// The pass's number in the session (from 1).
    pub pass: u64,
    /// Per mapping, what the pass did.
    pub mappings: Vec<(String, Counts)>,
    /// How long it took.
    pub seconds: f64,
    /// Whether it read every change (not stopped half-way).
    pub complete: bool,
    /// Seconds since the last complete pass began: every change committed before then
    /// (within the overlap) is in the graph.
    pub lag_seconds: f64,
    /// The newest change applied so far, per the mappings' cursor values.
    pub newest_change: Option<String>,
}

impl PassReport {
    /// The pass's figures over all mappings.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for (_, counts) in &self.mappings {
            total.add(counts);
        }
        total.waiting = self.mappings.iter().map(|(_, c)| c.waiting).sum();
        total
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncEnd {
    /// One pass was asked for, and done.
    OnePass,
    /// Stopped by Ctrl-C / SIGTERM (or a lost lock) after a batch.
    Stopped,
    /// The lag was small and the verification passed (`--until-caught-up`).
    CaughtUp,
}

/// A mapping's standing at the end of a session.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MappingSync {
    /// The mapping.
    pub mapping: String,
    /// How its changes are found.
    pub tracking: String,
    /// What the session did for it.
    pub session: Counts,
    /// What every sync of it did, from its first watermark on (committed batches only, so
    /// a crash never counts a change twice).
    pub since_first: Counts,
    /// Its watermark now, as text.
    pub watermark: String,
    /// The newest change applied, for people to read.
    pub newest_change: Option<String>,
    /// Rows waiting for their nodes.
    pub waiting: u64,
}

/// What a sync session did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncSummary {
    /// The session's id (its history record).
    pub session: String,
    /// Passes run.
    pub passes: u64,
    /// Per mapping.
    pub mappings: Vec<MappingSync>,
    /// Why it ended.
    pub end: SyncEnd,
    /// The lag after the last complete pass.
    pub lag_seconds: Option<f64>,
    /// The verification that ended an `--until-caught-up` session.
    #[serde(skip)]
    pub verification: Option<VerifyReport>,
    /// The sync reject file, if anything was ever rejected there.
    pub reject_file: Option<std::path::PathBuf>,
    /// Seconds the session took.
    pub seconds: f64,
}
