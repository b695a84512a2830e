//! The run's throughput over time, for the chart `grafter verify --html` draws: rows written
//! so far, sampled about once a second from the progress the pipeline already reports.
//!
//! It sits between the pipeline and the caller's [`Observer`] (every batch passes through
//! `batch_written` anyway), so loading itself knows nothing of it. The series stays small
//! however long the run: past [`THROUGHPUT_POINTS`] points, every other point is dropped and
//! the sampling interval doubles. A resumed run continues its earlier attempts' series.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grafter_model::THROUGHPUT_POINTS;

use crate::{MappingStats, Observer};

/// Records throughput and passes every event on.
pub(crate) struct Throughput {
    inner: Arc<dyn Observer>,
    started: Instant,
    state: Mutex<State>,
}

struct State {
    /// Rows written per mapping (cumulative, earlier attempts included).
    written: HashMap<String, u64>,
    points: Vec<(f64, u64)>,
    /// Seconds of earlier attempts: this attempt's points come after theirs.
    offset: f64,
    interval: Duration,
    last: Option<Instant>,
}

impl Throughput {
    /// Wraps `inner`, continuing `earlier` (the series of the run's earlier attempts).
    pub fn new(inner: Arc<dyn Observer>, earlier: Vec<(f64, u64)>) -> Throughput {
        let offset = earlier.last().map_or(0.0, |(seconds, _)| *seconds);
        let mut points = earlier;
        if points.is_empty() {
            points.push((0.0, 0));
        }
        Throughput {
            inner,
            started: Instant::now(),
            state: Mutex::new(State {
                written: HashMap::new(),
                points,
                offset,
                interval: Duration::from_secs(1),
                last: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding it leaves figures that are still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, stats: &MappingStats, force: bool) {
        let mut state = self.state();
        state.written.insert(stats.mapping.clone(), stats.written);
        let now = Instant::now();
        if !force && state.last.is_some_and(|last| now - last < state.interval) {
            return;
        }
        state.last = Some(now);
        let seconds = state.offset + (now - self.started).as_secs_f64();
        let rows = state.written.values().sum();
        if state.points.last().is_some_and(|(_, last)| *last == rows) {
            return;
        }
        state.points.push(((seconds * 100.0).round() / 100.0, rows));
        if state.points.len() > THROUGHPUT_POINTS {
            let last = state.points.pop();
            let thinned: Vec<(f64, u64)> = state.points.iter().step_by(2).copied().chain(last).collect();
            state.points = thinned;
            state.interval *= 2;
        }
    }

    /// The series, ending now.
    pub fn series(&self) -> Vec<(f64, u64)> {
        let mut state = self.state();
        let seconds = state.offset + self.started.elapsed().as_secs_f64();
        let rows = state.written.values().sum();
        let mut points = state.points.clone();
        if points.last().is_none_or(|(_, last)| *last != rows) {
            points.push(((seconds * 100.0).round() / 100.0, rows));
        }
        state.points = points.clone();
        points
    }
}

impl Observer for Throughput {
    fn message(&self, text: &str) {
        self.inner.message(text);
    }

    fn mapping_started(&self, stats: &MappingStats) {
        // Rows written by earlier attempts are already in the series.
        self.state().written.insert(stats.mapping.clone(), stats.written);
        self.inner.mapping_started(stats);
    }

    fn total_known(&self, stats: &MappingStats) {
        self.inner.total_known(stats);
    }

    fn batch_written(&self, stats: &MappingStats) {
        self.record(stats, false);
        self.inner.batch_written(stats);
    }

    fn mapping_finished(&self, stats: &MappingStats) {
        self.record(stats, true);
        self.inner.mapping_finished(stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NullObserver;
    use crate::summary::MappingStatus;

    fn stats(mapping: &str, written: u64) -> MappingStats {
        MappingStats {
            mapping: mapping.into(),
            pattern: String::new(),
            kind: "node",
            total: None,
            read: written,
            written,
            created: written,
            updated: 0,
            rejected: 0,
            remapped: 0,
            seconds: 0.0,
            write_seconds: 0.0,
            transform_seconds: 0.0,
            checkpoint_seconds: 0.0,
            resumed_at: None,
            status: MappingStatus::Running,
        }
    }

    #[test]
    fn rows_add_up_over_mappings_and_batches_within_a_second_are_one_point() {
        let throughput = Throughput::new(Arc::new(NullObserver), Vec::new());
        throughput.batch_written(&stats("a", 10));
        throughput.batch_written(&stats("b", 5));
        throughput.batch_written(&stats("a", 20));
        let series = throughput.series();
        assert_eq!(series.first(), Some(&(0.0, 0)));
        assert_eq!(series.last().map(|p| p.1), Some(25));
        assert_eq!(series.len(), 3, "{series:?}");
    }

    #[test]
    fn a_long_series_is_thinned_and_keeps_its_last_point() {
        let throughput = Throughput::new(Arc::new(NullObserver), Vec::new());
        for i in 0..2_000 {
            throughput.mapping_finished(&stats("a", i));
        }
        let series = throughput.series();
        assert!(series.len() <= THROUGHPUT_POINTS, "{}", series.len());
        assert_eq!(series.last().map(|p| p.1), Some(1_999));
    }

    #[test]
    fn a_resumed_run_continues_its_series() {
        let throughput = Throughput::new(Arc::new(NullObserver), vec![(0.0, 0), (4.0, 100)]);
        throughput.mapping_started(&stats("a", 100));
        throughput.mapping_finished(&stats("a", 150));
        let series = throughput.series();
        assert_eq!(series[..2], [(0.0, 0), (4.0, 100)]);
        assert!(series[2].0 >= 4.0 && series[2].1 == 150, "{series:?}");
    }
}
