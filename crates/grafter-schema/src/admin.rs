//! The commands around the runner: `status`, `verify`, `repair`, `baseline` and
//! `roundtrip`.

use grafter_model::Fingerprint;

use crate::history::{self, MigrationRecord, MigrationStatus};
use crate::migration::Version;
use crate::runner::{Migrator, Options, Report, short, verify_one};
use crate::statement::{Statement, Step, TransformStep};
use crate::{MigrationSet, SchemaError};
use grafter_model::quote_name;

/// Whether a file still matches what was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumState {
    /// Not applied: nothing to compare.
    NotApplied,
    /// Same as when applied.
    Matches,
    /// Changed since it was applied (`up` refuses until `repair`).
    Changed,
    /// Applied, but its file is gone.
    FileMissing,
}

/// One line of `grafter schema status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusLine {
    /// The version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// `pending` when never run (or reverted / rolled back, then shown as such).
    pub status: String,
    /// The file against the history.
    pub checksum: ChecksumState,
    /// What the history holds.
    pub record: Option<MigrationRecord>,
}

/// Every version, from the files and the history, in application order (history-only
/// versions last).
pub fn status(set: &MigrationSet, records: &[MigrationRecord]) -> Vec<StatusLine> {
    let mut lines: Vec<StatusLine> = set
        .migrations
        .iter()
        .map(|m| {
            let record = records.iter().find(|r| r.version == m.version).cloned();
            let checksum = match &record {
                Some(r) if r.status.is_applied() && r.checksum == m.checksum => ChecksumState::Matches,
                Some(r) if r.status.is_applied() => ChecksumState::Changed,
                _ => ChecksumState::NotApplied,
            };
            let status = record.as_ref().map_or("pending".to_owned(), |r| r.status.to_string());
            StatusLine { version: m.version, description: m.description.clone(), status, checksum, record }
        })
        .collect();
    for record in records.iter().filter(|r| set.get(r.version).is_none()) {
        lines.push(StatusLine {
            version: record.version,
            description: record.description.clone(),
            status: record.status.to_string(),
            checksum: if record.status.is_applied() { ChecksumState::FileMissing } else { ChecksumState::NotApplied },
            record: Some(record.clone()),
        });
    }
    lines
}

/// The verdict of one applied migration's verify queries.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyLine {
    /// The version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// `None` when every query holds, else why not.
    pub failure: Option<String>,
    /// How many verify queries it has.
    pub queries: usize,
}

/// What `repair` changed (or, in a dry run, would change).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Repair {
    /// The version.
    pub version: Version,
    /// What was done, in words (old and new checksum, or the attempt marked resolved).
    pub what: String,
    /// For a changed file: a unified diff from the text as applied to the file now (empty
    /// when the history has no text, as for records written before it kept one).
    pub diff: String,
}

/// What `roundtrip` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Roundtrip {
    /// Versions applied (and then reverted and applied again).
    pub versions: Vec<Version>,
    /// Fingerprint before.
    pub before: String,
    /// After the first `up`.
    pub after_up: String,
    /// After `down` (must equal `before`).
    pub after_down: String,
    /// After `up` again (must equal `after_up`).
    pub after_up_again: String,
}

impl<'a> Migrator<'a> {
    /// Re-runs the verify queries of every applied migration.
    pub async fn verify(&self) -> Result<Vec<VerifyLine>, SchemaError> {
        let records = history::load(self.target()).await?;
        self.validate(&records)?;
        let mut lines = Vec::new();
        for migration in &self.set().migrations {
            let Some(record) = records.iter().find(|r| r.version == migration.version && r.status.is_applied()) else {
                continue;
            };
            lines.push(VerifyLine {
                version: migration.version,
                description: migration.description.clone(),
                failure: verify_one(self.target(), migration, record.finalized).await.err(),
                queries: migration.verify.len(),
            });
        }
        Ok(lines)
    }

    /// Accepts changed files of applied migrations (their new checksum is recorded) and marks
    /// attempts left half done as resolved. Each change is an event in the history.
    pub async fn repair(&mut self, dry_run: bool) -> Result<Vec<Repair>, SchemaError> {
        self.locked(async move |this| {
            let mut records = history::load(this.target()).await?;
            // A restore brings the history back to the snapshot's time: restore first, then
            // record the rest.
            records.sort_by_key(|r| !(r.status.is_dirty() && r.snapshot.is_some()));
            let mut repairs = Vec::new();
            for mut record in records {
                let mut diff = String::new();
                let what = if let Some(snapshot) = record.snapshot.clone().filter(|_| record.status.is_dirty()) {
                    // An attempt interrupted half-way (killed, lock lost): its snapshot is the
                    // state before it.
                    let was = record.status;
                    if !dry_run {
                        this.target().require_snapshots()?.restore_snapshot(&snapshot).await?;
                        this.retake_lock().await?;
                        let _ = this.target().require_snapshots()?.drop_snapshot(&snapshot).await;
                    }
                    record.status = MigrationStatus::RolledBack;
                    record.snapshot = None;
                    format!("was {was}: the target is restored from the snapshot taken before it (rolled_back)")
                } else if record.status.is_dirty() {
                    let was = record.status;
                    record.status = MigrationStatus::Pending;
                    format!("was {was}: marked resolved (pending again); grafter did not restore the target for it")
                } else if let Some(migration) = this
                    .set()
                    .get(record.version)
                    .filter(|m| record.status.is_applied() && m.checksum != record.checksum)
                {
                    let what = format!(
                        "checksum {} → {} ({} accepted as changed)",
                        short(&record.checksum),
                        short(&migration.checksum),
                        migration.path.display()
                    );
                    if let Some(applied) = &record.source {
                        diff = similar::TextDiff::from_lines(applied.as_str(), migration.source.as_str())
                            .unified_diff()
                            .context_radius(2)
                            .header("as applied", "now")
                            .to_string();
                    }
                    record.checksum = migration.checksum.clone();
                    record.source = Some(migration.source.clone());
                    what
                } else {
                    continue;
                };
                if !dry_run {
                    record.event(format!("repaired by {}: {what}", this.operator()));
                    history::save(this.target(), &record).await?;
                }
                repairs.push(Repair { version: record.version, what, diff });
            }
            Ok(repairs)
        })
        .await
    }

    /// Removes the old values (`<property>_old`) an applied migration's transforms kept, in
    /// batches; from then on it cannot be reverted. Returns the properties cleared, each with
    /// the number of nodes.
    pub async fn finalize(&mut self, version: Version) -> Result<Vec<(String, u64)>, SchemaError> {
        self.locked(async move |this| {
            let records = history::load(this.target()).await?;
            this.validate(&records)?;
            let migration = this.set().get(version).ok_or_else(|| SchemaError::Refused {
                message: format!("no migration {version} in {}", this.set().dir.display()),
                hint: "see the versions with `grafter schema status`".into(),
            })?;
            let Some(mut record) = records.into_iter().find(|r| r.version == version && r.status.is_applied()) else {
                return Err(SchemaError::Refused {
                    message: format!("{version} is not applied: there is nothing to finalise"),
                    hint: "apply it first with `grafter schema up`".into(),
                });
            };
            let transforms: Vec<&TransformStep> = migration
                .up
                .iter()
                .filter_map(|s| match &s.step {
                    Some(Step::Transform(step)) => Some(step),
                    _ => None,
                })
                .collect();
            if transforms.is_empty() {
                return Err(SchemaError::Refused {
                    message: format!("{} keeps no old values: it has no transform_property", migration.path.display()),
                    hint: "only migrations with transform_property are finalised".into(),
                });
            }
            let mut cleared = Vec::new();
            for step in transforms {
                let old = crate::transform::old_property(&step.property);
                let statement = Statement::batchable(
                    &format!("MATCH (n:{}) WHERE n.{} IS NOT NULL", quote_name(&step.label), quote_name(&old)),
                    "n",
                    &format!("SET n.{} = null", quote_name(&old)),
                );
                let count = this.repeat(migration, &statement).await?;
                cleared.push((format!(":{}.{old}", step.label), count));
            }
            record.finalized = true;
            let what: Vec<String> = cleared.iter().map(|(p, n)| format!("{p} removed from {n} nodes")).collect();
            record.event(format!("finalised by {}: {}", this.operator(), what.join(", ")));
            history::save(this.target(), &record).await?;
            Ok(cleared)
        })
        .await
    }

    /// Marks every migration up to and including `version` as applied without running it:
    /// the graph already has them. Only on a target without migration history.
    pub async fn baseline(&mut self, version: Version) -> Result<Vec<Version>, SchemaError> {
        self.locked(async move |this| {
            let records = history::load(this.target()).await?;
            if let Some(record) = records.iter().find(|r| r.status.is_applied() || r.status.is_dirty()) {
                return Err(SchemaError::Refused {
                    message: format!(
                        "the target already has migration history ({} is {})",
                        record.version, record.status
                    ),
                    hint: "baseline adopts a graph that has none; see `grafter schema status`".into(),
                });
            }
            let Some(position) = this.set().migrations.iter().position(|m| m.version == version) else {
                return Err(SchemaError::Refused {
                    message: format!("no migration {version} in {}", this.set().dir.display()),
                    hint: "baseline names the newest migration the graph already has; see `grafter schema status`"
                        .into(),
                });
            };
            let mut adopted = Vec::new();
            for migration in &this.set().migrations[..=position] {
                let mut record = this.new_record(migration, MigrationStatus::Baseline);
                record.finished_at = Some(grafter_model::now());
                record.event(format!("baseline {version} by {}: adopted without running", this.operator()));
                history::save(this.target(), &record).await?;
                adopted.push(migration.version);
            }
            Ok(adopted)
        })
        .await
    }

    /// Applies every pending migration, reverts them all, applies them again, and checks
    /// that the graph after `down` equals the one before and the second `up` equals the
    /// first.
    pub async fn roundtrip(&mut self, allow_destructive: bool) -> Result<Roundtrip, SchemaError> {
        let before = self.target().reader().fingerprint().await?;
        let records = history::load(self.target()).await?;
        let start = self
            .set()
            .migrations
            .iter()
            .filter(|m| records.iter().any(|r| r.version == m.version && r.status.is_applied()))
            .map(|m| m.version)
            .next_back()
            .unwrap_or(Version(0));
        let up = Options { allow_destructive, ..Options::default() };
        let Report::Done(applied) = self.up(&up).await? else { unreachable!("not a dry run") };
        let versions: Vec<Version> = applied.iter().map(|o| o.version).collect();
        if versions.is_empty() {
            return Err(SchemaError::Refused {
                message: "no pending migrations: a roundtrip needs some to apply".into(),
                hint: "revert the ones to test first (`grafter schema down --to V`)".into(),
            });
        }
        let after_up = self.target().reader().fingerprint().await?;
        self.down(&Options { to: Some(start), ..Options::default() }).await?;
        let after_down = self.target().reader().fingerprint().await?;
        if after_down != before {
            return Err(mismatch("down did not bring the graph back to its state before up", &after_down, &before));
        }
        self.up(&up).await?;
        let after_up_again = self.target().reader().fingerprint().await?;
        if after_up_again != after_up {
            return Err(mismatch("the second up gave a different graph from the first", &after_up_again, &after_up));
        }
        Ok(Roundtrip {
            versions,
            before: before.overall_hex(),
            after_up: after_up.overall_hex(),
            after_down: after_down.overall_hex(),
            after_up_again: after_up_again.overall_hex(),
        })
    }
}

fn mismatch(what: &str, now: &Fingerprint, expected: &Fingerprint) -> SchemaError {
    SchemaError::Failed {
        version: "roundtrip".into(),
        what: "check".into(),
        message: format!("{what}: {}", now.differences_from(expected).join("; ")),
        restored: false,
    }
}
