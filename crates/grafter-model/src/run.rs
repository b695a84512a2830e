//! The records a target keeps about runs and locks: [`RunRecord`] (the audit trail),
//! [`MappingRecord`] (per-mapping figures) and [`LockHolder`] (who holds a target).
//!
//! They are plain data with a JSON form; the target stores them beside the graph so they
//! commit with it and travel with it.

use serde::{Deserialize, Serialize};

/// Where a run stands. It moves pending → in_progress → validating → completed, or ends as
/// failed, interrupted or rolled_back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Recorded, not started.
    Pending,
    /// Loading.
    InProgress,
    /// Loaded; checks running.
    Validating,
    /// Loaded and checked.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped by the operator (Ctrl-C, SIGTERM) or a crash seen afterwards.
    Interrupted,
    /// Undone by `grafter rollback`.
    RolledBack,
}

impl RunStatus {
    /// Whether a later `grafter run` may continue this run.
    pub fn is_resumable(self) -> bool {
        matches!(self, RunStatus::InProgress | RunStatus::Failed | RunStatus::Interrupted | RunStatus::Pending)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&text)
    }
}

/// Figures of one mapping within a run (cumulative over the run's attempts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MappingRecord {
    /// The mapping.
    pub name: String,
    /// Rows read.
    pub read: u64,
    /// Rows written.
    pub written: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Seconds spent (over all attempts).
    pub seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
    /// Rejected / read.
    pub error_rate: f64,
    /// `done`, `nothing to do`, `stopped`, `pending`.
    pub status: String,
}

/// One status change or notable event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What happened.
    pub what: String,
}

/// What a recorded run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `grafter run` (or `import`): a load, with a snapshot to roll back to.
    #[default]
    Load,
    /// `grafter sync`: a session of incremental passes (no snapshot).
    Sync,
}

impl RunKind {
    /// Whether this is a load (the default, left out of the stored record).
    pub fn is_load(&self) -> bool {
        *self == RunKind::Load
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunKind::Load => "run",
            RunKind::Sync => "sync",
        })
    }
}

/// Everything recorded about a run: the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: String,
    /// A load or a sync session.
    #[serde(default, skip_serializing_if = "RunKind::is_load")]
    pub kind: RunKind,
    /// Where it stands.
    pub status: RunStatus,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it last ended, if it did.
    pub ended_at: Option<String>,
    /// Who ran it.
    pub operator: String,
    /// On which host.
    pub host: String,
    /// grafter's version.
    pub grafter_version: String,
    /// The config file.
    pub config_path: String,
    /// SHA-256 of the config file's text.
    pub config_checksum: String,
    /// The source, password redacted.
    pub source: String,
    /// The target, password redacted.
    pub target: String,
    /// `--only` selection (empty: all mappings).
    pub only: Vec<String>,
    /// Attempts so far (1 + resumes).
    pub attempts: u32,
    /// Per-mapping figures.
    pub mappings: Vec<MappingRecord>,
    /// The error that stopped it, if any.
    pub error: Option<String>,
    /// Fingerprint of the target before the run (its overall digest, hex): what a rollback
    /// must come back to.
    pub fingerprint_before: Option<String>,
    /// Whether a snapshot for rollback was taken, and what it is (target-specific).
    pub snapshot: Option<String>,
    /// Target-specific marks needed to resume exactly (e.g. the first ids the run used).
    pub marks: Option<String>,
    /// Status changes and events, oldest first.
    pub events: Vec<RunEvent>,
    /// The verification that ended the run, if one ran (`grafter run --no-verify` skips it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationSummary>,
    /// Throughput over time: `(seconds since the run started, rows written so far)`, sampled
    /// about once a second and thinned to at most [`THROUGHPUT_POINTS`] points, over all
    /// attempts. Records from before it was kept have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throughput: Vec<(f64, u64)>,
}

/// The most points a run's throughput series keeps.
pub const THROUGHPUT_POINTS: usize = 600;

/// What a run's verification found, in brief (the full report is `grafter verify`'s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerificationSummary {
    /// Whether everything held.
    pub passed: bool,
    /// `full`, or `sample of N`.
    pub mode: String,
    /// Findings in all.
    pub findings: u64,
    /// Findings per kind (`missing`, `property_differs`, `count_mismatch`, …).
    pub by_kind: std::collections::BTreeMap<String, u64>,
    /// Seconds the verification took.
    pub seconds: f64,
    /// Rows the source gives the verified mappings (records from before it was kept: 0).
    #[serde(default)]
    pub source_rows: u64,
    /// Of those, rows the loader rejects: not in the graph, but in the reject file.
    #[serde(default)]
    pub rejected_rows: u64,
}

impl std::fmt::Display for VerificationSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.passed {
            write!(f, "passed ({}, {:.1}s)", self.mode, self.seconds)?;
        } else {
            let kinds: Vec<String> = self.by_kind.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
            write!(
                f,
                "FAILED: {} findings ({}; {}, {:.1}s)",
                self.findings,
                kinds.join(", "),
                self.mode,
                self.seconds
            )?;
        }
        if self.rejected_rows > 0 {
            write!(f, " — {} of {} rows rejected, not in the graph", self.rejected_rows, self.source_rows)?;
        }
        Ok(())
    }
}

impl RunRecord {
    /// Sets the status and records the change now.
    pub fn set_status(&mut self, status: RunStatus, note: Option<&str>) {
        self.status = status;
        let what = match note {
            Some(note) => format!("{status}: {note}"),
            None => status.to_string(),
        };
        self.events.push(RunEvent { at: now(), what });
    }
}

/// The current time as RFC 3339 UTC text, to the second.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Who holds (or held) a target's lease lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    /// What the lock is held for: `run`, `schema`, ….
    pub purpose: String,
    /// The run (or migration) id, if any.
    pub run_id: Option<String>,
    /// Host of the holding process.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Its user.
    pub user: String,
    /// When it was acquired (RFC 3339, UTC).
    pub acquired_at: String,
    /// When the lease ends unless renewed (RFC 3339, UTC).
    pub expires_at: String,
    /// Last renewal.
    pub renewed_at: String,
}

impl LockHolder {
    /// Whether the lease has run out at `now`.
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        chrono::DateTime::parse_from_rfc3339(&self.expires_at).map_or(true, |expires| expires < now)
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by pid {} on {} (user {}), since {}",
            self.purpose, self.pid, self.host, self.user, self.acquired_at
        )?;
        if let Some(run) = &self.run_id {
            write!(f, ", run {run}")?;
        }
        write!(f, "; lease until {}", self.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_snake_case() {
        assert_eq!(RunStatus::RolledBack.to_string(), "rolled_back");
        assert_eq!(RunStatus::InProgress.to_string(), "in_progress");
    }

    #[test]
    fn an_unreadable_expiry_counts_as_expired() {
        let holder = LockHolder {
            purpose: "run".into(),
            run_id: None,
            host: "h".into(),
            pid: 1,
            user: "u".into(),
            acquired_at: now(),
            expires_at: "garbage".into(),
            renewed_at: now(),
        };
        assert!(holder.is_expired(chrono::Utc::now()));
    }
}
