//! The migration history kept in the target: one `_GrafterMigration` node per version,
//! holding its [`MigrationRecord`] as JSON. Labels starting with `_Grafter` are grafter's
//! bookkeeping, which every target leaves out of fingerprints, so the history never changes
//! what `roundtrip` or a restore compares.
//!
//! It goes through plain parameterised Cypher ([`GraphTarget::query`]), so it works on
//! every target.

use std::fmt;

use grafter_model::{RunEvent, Value};
use grafter_target::{GraphTarget, TargetError};

use crate::migration::Version;

/// Label of the history nodes.
pub const MIGRATION_LABEL: &str = "_GrafterMigration";

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Recorded, not started.
    Pending,
    /// Its statements are running.
    InProgress,
    /// Its verify queries are running.
    Validating,
    /// Applied and verified.
    Completed,
    /// Failed and the target could not be restored: look before going on.
    Failed,
    /// Failed, and the target was restored to its state before it.
    RolledBack,
    /// Applied once, then reverted by `down`.
    Reverted,
    /// Adopted by `baseline`: the graph already had it, nothing ran.
    Baseline,
}

impl MigrationStatus {
    /// Whether the migration counts as applied.
    pub fn is_applied(self) -> bool {
        matches!(self, MigrationStatus::Completed | MigrationStatus::Baseline)
    }

    /// Whether a previous attempt stopped half-way and left the target in doubt.
    pub fn is_dirty(self) -> bool {
        matches!(self, MigrationStatus::InProgress | MigrationStatus::Validating | MigrationStatus::Failed)
    }
}

impl fmt::Display for MigrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&text)
    }
}

/// What the history says about one version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MigrationRecord {
    /// The version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// Checksum of the file as applied (or as accepted by `repair`).
    pub checksum: String,
    /// Where it stands.
    pub status: MigrationStatus,
    /// Who ran it (user).
    pub operator: String,
    /// On which host.
    pub host: String,
    /// When the last action on it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// What it changed, label by label and type by type (from fingerprints before and after).
    pub affected: Vec<String>,
    /// The file's text (normalised) as applied or accepted: `repair` shows the difference.
    #[serde(default)]
    pub source: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// What happened to it over time: applied, reverted, repaired, restored….
    pub events: Vec<RunEvent>,
    /// The snapshot taken before the last attempt (while it runs): `repair` restores it
    /// when the attempt was interrupted.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// Whether `finalize` removed the old values its transforms kept: it can no longer be
    /// reverted.
    #[serde(default)]
    pub finalized: bool,
}

impl MigrationRecord {
    /// Adds an event now.
    pub fn event(&mut self, what: impl Into<String>) {
        self.events.push(RunEvent { at: grafter_model::now(), what: what.into() });
    }
}

fn damaged(target: &dyn GraphTarget, message: String) -> TargetError {
    TargetError::Bookkeeping { target: target.describe(), message }
}

/// Every record in the target, by version.
pub async fn load(target: &dyn GraphTarget) -> Result<Vec<MigrationRecord>, TargetError> {
    let result = target.query(&format!("MATCH (m:{MIGRATION_LABEL}) RETURN m.record AS record"), Vec::new()).await?;
    let mut records = result
        .rows
        .into_iter()
        .map(|row| match row.first() {
            Some(Value::String(json)) => serde_json::from_str::<MigrationRecord>(json)
                .map_err(|e| damaged(target, format!("a migration record cannot be read ({e}): {json}"))),
            other => Err(damaged(target, format!("a migration record has no JSON: {other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by_key(|r| r.version);
    Ok(records)
}

/// Creates or replaces the record of its version.
pub async fn save(target: &dyn GraphTarget, record: &MigrationRecord) -> Result<(), TargetError> {
    let json = serde_json::to_string(record).map_err(|e| damaged(target, e.to_string()))?;
    target
        .query(
            &format!("MERGE (m:{MIGRATION_LABEL} {{version: $version}}) SET m.status = $status, m.record = $record"),
            vec![
                ("version".into(), Value::Int(i64::from(record.version.0))),
                ("status".into(), Value::String(record.status.to_string())),
                ("record".into(), Value::String(json)),
            ],
        )
        .await?;
    Ok(())
}
