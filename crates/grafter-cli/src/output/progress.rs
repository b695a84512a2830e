//! Progress on stderr while a run loads: one bar per mapping (rows, rows/s, ETA) on a
//! terminal; plain, timestamped lines when stderr is not a terminal or with `--quiet`.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use grafter_engine::{MappingStats, MappingStatus, Observer};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Plain lines are written at most this often per mapping.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Shows a run's progress.
pub enum Progress {
    /// Bars on a terminal.
    Bars { multi: MultiProgress, bars: Mutex<HashMap<String, ProgressBar>> },
    /// Log lines.
    Lines { last: Mutex<HashMap<String, Instant>> },
}

impl Progress {
    /// Whether this shows bars (which want row counts for an ETA).
    pub fn shows_bars(&self) -> bool {
        matches!(self, Progress::Bars { .. })
    }

    /// Bars when stderr is a terminal and not `quiet`, lines otherwise.
    pub fn new(quiet: bool) -> Progress {
        if !quiet && std::io::stderr().is_terminal() {
            Progress::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8)),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Progress::Lines { last: Mutex::new(HashMap::new()) }
        }
    }
}

/// A bar once the row count is known: position, rate and ETA.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:<28} [{bar:30}] {pos:>9}/{len:<9} {per_sec:>12} ETA {eta:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Before the row count is known: position and rate.
fn counting_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:<28} {spinner} {pos:>9} rows {per_sec:>12} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn line(text: &str) {
    eprintln!("{} {text}", chrono::Local::now().format("%H:%M:%S"));
}

fn describe(stats: &MappingStats) -> String {
    let of = stats.total.map(|t| format!("/{t}")).unwrap_or_default();
    format!(
        "{}: {}{of} rows read, {} written, {} rejected, {:.0} rows/s",
        stats.mapping,
        stats.read,
        stats.written,
        stats.rejected,
        stats.rows_per_second()
    )
}

impl Observer for Progress {
    fn message(&self, text: &str) {
        match self {
            Progress::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
            Progress::Lines { .. } => line(text),
        }
    }

    fn mapping_started(&self, stats: &MappingStats) {
        match self {
            Progress::Bars { multi, bars } => {
                let bar = multi
                    .add(ProgressBar::new_spinner().with_style(counting_style()).with_prefix(stats.mapping.clone()));
                bars.lock().expect("bars").insert(stats.mapping.clone(), bar);
            }
            Progress::Lines { last } => {
                last.lock().expect("lines").insert(stats.mapping.clone(), Instant::now());
                line(&format!("{}: started {}", stats.mapping, stats.pattern));
            }
        }
    }

    fn total_known(&self, stats: &MappingStats) {
        if let (Progress::Bars { bars, .. }, Some(total)) = (self, stats.total)
            && let Some(bar) = bars.lock().expect("bars").get(&stats.mapping)
        {
            bar.set_length(total);
            bar.set_style(bar_style());
        }
    }

    fn batch_written(&self, stats: &MappingStats) {
        match self {
            Progress::Bars { bars, .. } => {
                if let Some(bar) = bars.lock().expect("bars").get(&stats.mapping) {
                    bar.set_position(stats.read);
                    if stats.rejected > 0 {
                        bar.set_message(format!("{} rejected", stats.rejected));
                    }
                }
            }
            Progress::Lines { last } => {
                let mut last = last.lock().expect("lines");
                let due = last.get(&stats.mapping).is_none_or(|at| at.elapsed() >= LINE_INTERVAL);
                if due {
                    last.insert(stats.mapping.clone(), Instant::now());
                    line(&describe(stats));
                }
            }
        }
    }

    fn mapping_finished(&self, stats: &MappingStats) {
        if stats.status == MappingStatus::NothingToDo {
            // The engine's message already said so, with the run that finished it.
            return;
        }
        let verdict = match stats.status {
            MappingStatus::Done => "done",
            MappingStatus::DoneEarlier => "done by an earlier attempt",
            MappingStatus::Stopped => "stopped",
            MappingStatus::Counted => "counted",
            MappingStatus::Pending | MappingStatus::Running | MappingStatus::NothingToDo => "finished",
        };
        match self {
            Progress::Bars { bars, .. } => {
                if let Some(bar) = bars.lock().expect("bars").get(&stats.mapping) {
                    bar.set_position(stats.read);
                    bar.finish_with_message(format!("{verdict}, {} rejected", stats.rejected));
                }
            }
            Progress::Lines { .. } => {
                if stats.status == MappingStatus::Counted {
                    let rows = stats.total.map_or_else(|| "unknown".into(), |t| t.to_string());
                    line(&format!("{}: {rows} rows to read", stats.mapping));
                } else {
                    line(&format!("{} — {verdict} in {:.2}s", describe(stats), stats.seconds));
                }
            }
        }
    }
}
