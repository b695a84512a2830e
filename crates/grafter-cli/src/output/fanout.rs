//! [`Fanout`]: one observer that passes every event on to several (progress display and
//! metrics endpoint at once).

use std::sync::Arc;

use grafter_engine::{MappingStats, Observer};

/// Passes events to each observer in turn.
pub struct Fanout(pub Vec<Arc<dyn Observer>>);

impl Observer for Fanout {
    fn message(&self, text: &str) {
        self.0.iter().for_each(|o| o.message(text));
    }

    fn mapping_started(&self, stats: &MappingStats) {
        self.0.iter().for_each(|o| o.mapping_started(stats));
    }

    fn total_known(&self, stats: &MappingStats) {
        self.0.iter().for_each(|o| o.total_known(stats));
    }

    fn batch_written(&self, stats: &MappingStats) {
        self.0.iter().for_each(|o| o.batch_written(stats));
    }

    fn mapping_finished(&self, stats: &MappingStats) {
        self.0.iter().for_each(|o| o.mapping_finished(stats));
    }
}
