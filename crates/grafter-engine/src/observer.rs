//! [`Observer`]: how the engine reports progress, so the CLI can draw bars or print lines
//! without the engine knowing about terminals.

use crate::MappingStats;

/// Receives progress as a run goes. Called from several tasks at once.
pub trait Observer: Send + Sync {
    /// A note for the log (indexes created, stage started, …).
    fn message(&self, text: &str);
    /// A mapping starts; `total` is the number of rows it will read, if known.
    fn mapping_started(&self, stats: &MappingStats);
    /// The number of rows a mapping will read became known (`stats.total`).
    fn total_known(&self, stats: &MappingStats);
    /// A batch of a mapping was written.
    fn batch_written(&self, stats: &MappingStats);
    /// A mapping finished (or stopped: see its status).
    fn mapping_finished(&self, stats: &MappingStats);
    /// A pass of `grafter sync` ended.
    fn sync_pass(&self, report: &crate::sync::report::PassReport) {
        let _ = report;
    }
}

/// An observer that ignores everything (tests, library use).
pub struct NullObserver;

impl Observer for NullObserver {
    fn message(&self, _: &str) {}
    fn mapping_started(&self, _: &MappingStats) {}
    fn total_known(&self, _: &MappingStats) {}
    fn batch_written(&self, _: &MappingStats) {}
    fn mapping_finished(&self, _: &MappingStats) {}
}
