//! The runner: applies and reverts migrations on a target in the order refinery and sqlx
//! use — lock → history → dirty check → checksum validation → (per migration) snapshot →
//! apply → verify → record, restoring the snapshot when a step or its verify fails → unlock.
//!
//! It knows targets only through [`GraphTarget`]: statements and history go through
//! `query`, safety through the lease lock and `snapshot`/`restore`. Where a target cannot
//! snapshot, a failed migration is marked `failed` (not `rolled_back`) and the error says the
//! target was left as the failure found it.

use std::time::{Duration, Instant};

use grafter_model::{Fingerprint, LockHolder, Value};
use grafter_target::GraphTarget;

use crate::history::{self, MigrationRecord, MigrationStatus};
use crate::migration::{Kind, Migration, Version};
use crate::plan::{PlannedMigration, plan_statements};
use crate::statement::{Statement, Step};
use crate::{MigrationSet, SchemaError};

/// How to apply or revert.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Stop at this version: `up` applies up to and including it, `down` reverts everything
    /// applied after it.
    pub to: Option<Version>,
    /// Only print what would run, with estimates; change nothing.
    pub dry_run: bool,
    /// Let destructive statements run (`up`).
    pub allow_destructive: bool,
}

/// What `up` or `down` did to one migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// Seconds it took.
    pub seconds: f64,
    /// What changed, label by label and type by type.
    pub affected: Vec<String>,
}

/// What `up` or `down` did or, in a dry run, would do.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// Migrations applied or reverted, in order.
    Done(Vec<Outcome>),
    /// A dry run: what would run.
    Planned(Vec<PlannedMigration>),
}

/// Applies and reverts the migrations of a set on a target, holding its lock.
pub struct Migrator<'a> {
    target: &'a dyn GraphTarget,
    set: &'a MigrationSet,
    holder: LockHolder,
    lease: Duration,
    log: &'a (dyn Fn(&str) + Send + Sync),
    /// What undoes the DDL the migration in progress has run, in the order it ran.
    ddl_undo: Vec<grafter_target::Ddl>,
}

/// The result of one step of a migration: the statement that failed and why.
pub(crate) struct StepFailure {
    message: String,
}

impl<'a> Migrator<'a> {
    /// A migrator that locks the target as `holder` (leased for `lease`, renewed after every
    /// statement) and reports progress to `log`.
    pub fn new(
        target: &'a dyn GraphTarget,
        set: &'a MigrationSet,
        holder: LockHolder,
        lease: Duration,
        log: &'a (dyn Fn(&str) + Send + Sync),
    ) -> Migrator<'a> {
        Migrator { target, set, holder, lease, log, ddl_undo: Vec::new() }
    }

    /// The target.
    pub fn target(&self) -> &'a dyn GraphTarget {
        self.target
    }

    /// The migration set.
    pub fn set(&self) -> &'a MigrationSet {
        self.set
    }

    /// Runs `work` holding the target's lock; releases it whatever happens.
    pub(crate) async fn locked<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut Migrator<'a>) -> Result<T, SchemaError>,
    ) -> Result<T, SchemaError> {
        if let Some(previous) = self.target.ledger().acquire_lock(&self.holder).await? {
            (self.log)(&format!("took over a lock left behind: {previous}"));
        }
        let result = work(self).await;
        let released = self.target.ledger().release_lock(&self.holder).await;
        let value = result?;
        released?;
        Ok(value)
    }

    /// Extends the lease (after each statement: a long migration keeps its lock).
    async fn renew(&mut self) -> Result<(), SchemaError> {
        let now = chrono::Utc::now();
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        self.holder.renewed_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.holder.expires_at = (now + lease).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Ok(self.target.ledger().renew_lock(&self.holder).await?)
    }

    /// Takes the lock again after a restore brought back a snapshot's lock node (whose holder
    /// may be a process that is gone). This process held the lock right up to the restore,
    /// so the restored one is stale whoever it names: on a server, where the lock lives in
    /// the graph, it may be a killed process's, unexpired.
    pub(crate) async fn retake_lock(&mut self) -> Result<(), SchemaError> {
        self.target.ledger().break_lock().await?;
        self.target.ledger().acquire_lock(&self.holder).await?;
        Ok(())
    }

    /// Who is migrating (the lock holder's user).
    pub(crate) fn operator(&self) -> &str {
        &self.holder.user
    }

    /// A fresh record for `migration`, started now by this operator.
    pub(crate) fn new_record(&self, migration: &Migration, status: MigrationStatus) -> MigrationRecord {
        MigrationRecord {
            version: migration.version,
            description: migration.description.clone(),
            checksum: migration.checksum.clone(),
            status,
            operator: self.holder.user.clone(),
            host: self.holder.host.clone(),
            started_at: grafter_model::now(),
            finished_at: None,
            seconds: 0.0,
            affected: Vec::new(),
            source: Some(migration.source.clone()),
            error: None,
            events: Vec::new(),
            finalized: false,
            snapshot: None,
        }
    }

    /// Applies the pending migrations (up to `options.to`).
    pub async fn up(&mut self, options: &Options) -> Result<Report, SchemaError> {
        self.migrate(options, true).await
    }

    /// Reverts applied migrations: the last one, or everything applied after `options.to`.
    pub async fn down(&mut self, options: &Options) -> Result<Report, SchemaError> {
        self.migrate(options, false).await
    }

    /// The migrations `up` (or `down`) works on, in order.
    fn select(
        &self,
        records: &[MigrationRecord],
        options: &Options,
        up: bool,
    ) -> Result<Vec<&'a Migration>, SchemaError> {
        if up { self.pending(records, options.to) } else { self.to_revert(records, options.to) }
    }

    async fn migrate(&mut self, options: &Options, up: bool) -> Result<Report, SchemaError> {
        if options.dry_run {
            let records = history::load(self.target).await?;
            let selected = self.select(&records, options, up)?;
            return Ok(Report::Planned(plan_statements(self.target, &selected, up).await?));
        }
        let options = options.clone();
        self.locked(async move |this| {
            let records = history::load(this.target).await?;
            let selected = this.select(&records, &options, up)?;
            if up && !options.allow_destructive {
                refuse_destructive(&selected)?;
            }
            let mut outcomes = Vec::new();
            for migration in selected {
                let record = records.iter().find(|r| r.version == migration.version).cloned();
                outcomes.push(if up {
                    this.apply(migration, record).await?
                } else {
                    this.revert(migration, record.expect("only applied migrations are reverted")).await?
                });
            }
            Ok(Report::Done(outcomes))
        })
        .await
    }

    /// Checks the history against the files: nothing half done, every applied migration's
    /// file present and unchanged.
    pub(crate) fn validate(&self, records: &[MigrationRecord]) -> Result<(), SchemaError> {
        if let Some(dirty) = records.iter().find(|r| r.status.is_dirty()) {
            return Err(SchemaError::Refused {
                message: format!(
                    "{} {} is {} from an earlier attempt{}; the target may be half migrated",
                    dirty.version,
                    dirty.description,
                    dirty.status,
                    dirty.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                ),
                hint: "`grafter schema repair` restores the snapshot taken before it (or, without one, marks the attempt resolved once you have put the graph right)"
                    .into(),
            });
        }
        for record in records.iter().filter(|r| r.status.is_applied()) {
            let Some(migration) = self.set.get(record.version) else {
                return Err(SchemaError::Refused {
                    message: format!(
                        "{} {} is applied in the target but has no file in {}",
                        record.version,
                        record.description,
                        self.set.dir.display()
                    ),
                    hint: "restore the migration file (applied migrations stay in the folder)".into(),
                });
            };
            if migration.checksum != record.checksum {
                return Err(SchemaError::Refused {
                    message: format!(
                        "{} was changed after it was applied: checksum {} when applied, {} now",
                        migration.path.display(),
                        short(&record.checksum),
                        short(&migration.checksum)
                    ),
                    hint: "undo the change (write a new migration instead), or accept it on purpose with `grafter schema repair`".into(),
                });
            }
        }
        Ok(())
    }

    /// The migrations `up` would apply, in order.
    fn pending(&self, records: &[MigrationRecord], to: Option<Version>) -> Result<Vec<&'a Migration>, SchemaError> {
        self.validate(records)?;
        if let Some(to) = to {
            self.known(to)?;
        }
        let applied = |m: &Migration| records.iter().any(|r| r.version == m.version && r.status.is_applied());
        let mut pending = Vec::new();
        for migration in &self.set.migrations {
            if !applied(migration) {
                pending.push(migration);
            }
            if Some(migration.version) == to {
                break;
            }
        }
        Ok(pending)
    }

    /// The migrations `down` would revert, in order (newest first).
    fn to_revert(&self, records: &[MigrationRecord], to: Option<Version>) -> Result<Vec<&'a Migration>, SchemaError> {
        self.validate(records)?;
        if let Some(to) = to.filter(|v| v.0 != 0) {
            self.known(to)?;
        }
        let applied: Vec<&Migration> = self
            .set
            .migrations
            .iter()
            .filter(|m| records.iter().any(|r| r.version == m.version && r.status.is_applied()))
            .collect();
        let revert: Vec<&Migration> = match to {
            None => applied.last().copied().into_iter().collect(),
            Some(to) => {
                let keep = applied.iter().position(|m| m.version == to).map_or(0, |i| i + 1);
                applied[keep..].iter().rev().copied().collect()
            }
        };
        let finalized = |m: &Migration| records.iter().any(|r| r.version == m.version && r.finalized);
        if let Some(done) = revert.iter().find(|m| finalized(m)) {
            return Err(SchemaError::Refused {
                message: format!(
                    "{} {} was finalised (the old values its transforms kept are gone): it cannot be reverted",
                    done.version, done.description
                ),
                hint: "write a new migration that puts back what you need instead".into(),
            });
        }
        if let Some(one_way) = revert.iter().find(|m| m.down.is_empty()) {
            let (why, hint) = match one_way.kind {
                Kind::Cypher => (
                    "has no `// down` section",
                    "write its `// down` statements (changing an applied file needs `grafter schema repair`)",
                ),
                Kind::Toml => (
                    "has a one-way refactoring (remove_property or merge_duplicate_nodes)",
                    "write a new migration that puts back what you need instead",
                ),
            };
            return Err(SchemaError::Refused {
                message: format!("{} {why}: it cannot be reverted", one_way.path.display()),
                hint: hint.into(),
            });
        }
        Ok(revert)
    }

    fn known(&self, version: Version) -> Result<(), SchemaError> {
        if self.set.get(version).is_some() {
            return Ok(());
        }
        Err(SchemaError::Refused {
            message: format!("no migration {version} in {}", self.set.dir.display()),
            hint: "see the versions with `grafter schema status`".into(),
        })
    }

    /// Applies one migration: snapshot, statements, verify, record; restore on failure.
    async fn apply(
        &mut self,
        migration: &'a Migration,
        previous: Option<MigrationRecord>,
    ) -> Result<Outcome, SchemaError> {
        (self.log)(&format!("applying {} {}", migration.version, migration.description));
        let started = Instant::now();
        let mut record = self.new_record(migration, MigrationStatus::InProgress);
        record.events = previous.map(|p| p.events).unwrap_or_default();
        let guard = Guard::take(self.target, &format!("schema-{}-up", migration.version)).await?;
        self.ddl_undo.clear();
        record.snapshot = guard.snapshot.clone();
        history::save(self.target, &record).await?;
        let mut result = self.run_statements(migration, &migration.up).await;
        if result.is_ok() {
            record.status = MigrationStatus::Validating;
            history::save(self.target, &record).await?;
            result = verify_migration(self.target, migration, false).await;
        }
        record.seconds = started.elapsed().as_secs_f64();
        record.finished_at = Some(grafter_model::now());
        match result {
            Ok(()) => {
                record.affected = guard.changes(self.target).await?;
                record.status = MigrationStatus::Completed;
                record.snapshot = None;
                record.event(format!("applied by {}@{}", record.operator, record.host));
                history::save(self.target, &record).await?;
                guard.release(self.target).await;
                (self.log)(&format!("applied {} in {:.2}s", migration.version, record.seconds));
                Ok(Outcome {
                    version: migration.version,
                    description: migration.description.clone(),
                    seconds: record.seconds,
                    affected: record.affected,
                })
            }
            Err(failure) => {
                self.undo_ddl().await;
                let restored = guard.restore(self.target).await;
                self.renew().await?;
                record.snapshot = None;
                record.error = Some(failure.message.clone());
                record.status = if restored.is_ok() { MigrationStatus::RolledBack } else { MigrationStatus::Failed };
                record.event(match &restored {
                    Ok(()) => format!("failed, target restored: {}", failure.message),
                    Err(why) => format!("failed, target NOT restored ({why}): {}", failure.message),
                });
                history::save(self.target, &record).await?;
                Err(SchemaError::Failed {
                    version: migration.version.to_string(),
                    what: "up".into(),
                    message: match restored {
                        Ok(()) => failure.message,
                        Err(why) => format!("{}\n  the target was NOT restored: {why}", failure.message),
                    },
                    restored: record.status == MigrationStatus::RolledBack,
                })
            }
        }
    }

    /// Reverts one migration: snapshot, down statements, record; restore on failure.
    async fn revert(&mut self, migration: &'a Migration, mut record: MigrationRecord) -> Result<Outcome, SchemaError> {
        (self.log)(&format!("reverting {} {}", migration.version, migration.description));
        let started = Instant::now();
        let guard = Guard::take(self.target, &format!("schema-{}-down", migration.version)).await?;
        self.ddl_undo.clear();
        match self.run_statements(migration, &migration.down).await {
            Ok(()) => {
                let affected = guard.changes(self.target).await?;
                let seconds = started.elapsed().as_secs_f64();
                record.status = MigrationStatus::Reverted;
                record.started_at = grafter_model::now();
                record.finished_at = Some(grafter_model::now());
                record.seconds = seconds;
                record.affected = affected.clone();
                record.operator = self.holder.user.clone();
                record.host = self.holder.host.clone();
                record.event(format!("reverted by {}@{}", record.operator, record.host));
                history::save(self.target, &record).await?;
                guard.release(self.target).await;
                (self.log)(&format!("reverted {} in {seconds:.2}s", migration.version));
                Ok(Outcome {
                    version: migration.version,
                    description: migration.description.clone(),
                    seconds,
                    affected,
                })
            }
            Err(failure) => {
                self.undo_ddl().await;
                let restored = guard.restore(self.target).await;
                self.renew().await?;
                record.event(match &restored {
                    Ok(()) => format!("down failed, target restored: {}", failure.message),
                    Err(why) => format!("down failed, target NOT restored ({why}): {}", failure.message),
                });
                if restored.is_err() {
                    record.status = MigrationStatus::Failed;
                    record.error = Some(failure.message.clone());
                }
                history::save(self.target, &record).await?;
                Err(SchemaError::Failed {
                    version: migration.version.to_string(),
                    what: "down".into(),
                    message: failure.message,
                    restored: restored.is_ok(),
                })
            }
        }
    }

    /// Repeats a batched statement (see [`Statement::batched`]) until it changes nothing,
    /// renewing the lock and reporting progress after each batch.
    async fn run_batched(
        &mut self,
        migration: &Migration,
        statement: &Statement,
        batched: &str,
    ) -> Result<u64, String> {
        let size = migration.batch_size.unwrap_or(crate::transform::DEFAULT_BATCH_SIZE).max(1);
        let mut params = statement.params.clone();
        params.push(("batch".into(), Value::Int(i64::try_from(size).unwrap_or(i64::MAX))));
        let mut total = 0i64;
        // Each element changes once: a statement that has changed more elements than the
        // graph holds is changing the same ones again (its change did not make them stop
        // matching, as when a server ignores part of it), and would never end.
        let mut elements = None;
        loop {
            let result = self.target.query(batched, params.clone()).await.map_err(|e| e.to_string())?;
            let done = match result.rows.first().and_then(|row| row.first()) {
                Some(Value::Int(n)) => *n,
                other => {
                    return Err(format!(
                        "a statement that reads $batch must return how many elements it changed (`RETURN count(*) AS done`), got {other:?}"
                    ));
                }
            };
            if done == 0 {
                return Ok(u64::try_from(total).unwrap_or(0));
            }
            total += done;
            if elements.is_none() {
                elements = Some(self.elements().await.map_err(|e| e.to_string())?);
            }
            if let Some(elements) = elements.filter(|&elements| total > elements) {
                return Err(format!(
                    "its batches changed {total} elements, more than the graph holds ({elements} nodes and relationships): \
                     what it changes still matches it afterwards, so it would never end (the server kept a batch's \
                     matches as they were?); stopped"
                ));
            }
            (self.log)(&format!("{}: {total} changed", location(migration, statement)));
            self.renew().await.map_err(|e| e.to_string())?;
        }
    }

    /// How many nodes and relationships the graph holds.
    async fn elements(&self) -> Result<i64, grafter_target::TargetError> {
        let mut elements = 0;
        for cypher in ["MATCH (n) RETURN count(n) AS n", "MATCH ()-[r]->() RETURN count(r) AS n"] {
            let result = self.target.read_query(cypher, Vec::new()).await?;
            if let Some(Value::Int(n)) = result.rows.first().and_then(|row| row.first()) {
                elements += n;
            }
        }
        Ok(elements)
    }

    /// Runs a batched statement to the end; returns how many elements it changed.
    pub(crate) async fn repeat(&mut self, migration: &Migration, statement: &Statement) -> Result<u64, SchemaError> {
        let batched = statement.batched.as_deref().expect("a batched statement");
        self.run_batched(migration, statement, batched).await.map_err(|message| SchemaError::Failed {
            version: migration.version.to_string(),
            what: "finalize".into(),
            message,
            restored: false,
        })
    }

    /// Undoes the DDL the failed migration ran, newest first. Best effort: the snapshot
    /// restored next is the proof (its fingerprint), this only keeps the catalog in step.
    async fn undo_ddl(&mut self) {
        for ddl in std::mem::take(&mut self.ddl_undo).iter().rev() {
            if let Err(e) = self.target.run_ddl(ddl).await {
                (self.log)(&format!("undoing `{ddl}` failed: {e}"));
            }
        }
    }

    /// Runs statements one by one, renewing the lock after each.
    async fn run_statements(&mut self, migration: &Migration, statements: &[Statement]) -> Result<(), StepFailure> {
        for statement in statements {
            let batch_size = migration.batch_size.unwrap_or(crate::transform::DEFAULT_BATCH_SIZE);
            let log = self.log;
            let result = match &statement.step {
                Some(Step::Transform(step)) => {
                    let mut progress = |done: u64| log(&format!("{}: {done} nodes transformed", migration.version));
                    crate::transform::run(self.target, step, batch_size, &mut progress).await.map(|_| ())
                }
                Some(Step::Merge(step)) => {
                    let mut progress = |done: u64| log(&format!("{}: {done} duplicates merged", migration.version));
                    crate::merge::run(self.target, step, batch_size, &mut progress).await.map(|_| ())
                }
                Some(Step::Ddl { run, undo }) => {
                    let done = self.target.run_ddl(run).await.map_err(|e| e.to_string());
                    if done.is_ok() {
                        self.ddl_undo.extend(undo.iter().cloned());
                    }
                    done
                }
                None => match &statement.batched {
                    Some(batched) => self.run_batched(migration, statement, batched).await.map(|_| ()),
                    None => self
                        .target
                        .query(&statement.text, statement.params.clone())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                },
            };
            if let Err(e) = result {
                return Err(StepFailure { message: format!("{}: {e}", location(migration, statement)) });
            }
            crate::fault::statement_done();
            if let Err(e) = self.renew().await {
                return Err(StepFailure { message: e.to_string() });
            }
        }
        Ok(())
    }
}

/// `file:line` of a statement (the file alone for generated ones).
pub(crate) fn location(migration: &Migration, statement: &Statement) -> String {
    if statement.line == 0 {
        format!("{} `{}`", migration.path.display(), statement.text)
    } else {
        format!("{}:{}", migration.path.display(), statement.line)
    }
}

/// Runs a migration's verify queries; the first that does not hold fails it. Once
/// `finalized`, the checks that a transform kept its old values are left out.
pub(crate) async fn verify_migration(
    target: &dyn GraphTarget,
    migration: &Migration,
    finalized: bool,
) -> Result<(), StepFailure> {
    for statement in migration.verify.iter().filter(|s| !(finalized && matches!(s.step, Some(Step::Transform(_))))) {
        let at = location(migration, statement);
        // A verify query only reads: the target refuses one that would write.
        let result = target
            .read_query(&statement.text, statement.params.clone())
            .await
            .map_err(|e| StepFailure { message: format!("verify {at}: {e}") })?;
        let holds = match result.columns.iter().position(|c| c == "valid") {
            Some(column) => {
                !result.rows.is_empty() && result.rows.iter().all(|row| row.get(column) == Some(&Value::Bool(true)))
            }
            None => result.rows.is_empty(),
        };
        if !holds {
            let shown: Vec<String> = result.rows.iter().take(3).map(|row| format!("{row:?}")).collect();
            return Err(StepFailure {
                message: format!(
                    "verify {at} does not hold: {} row(s){}{}",
                    result.rows.len(),
                    if shown.is_empty() { String::new() } else { format!(", e.g. {}", shown.join(", ")) },
                    if result.columns.iter().any(|c| c == "valid") {
                        " (`valid` must be true in every row)"
                    } else {
                        " (must return no rows)"
                    }
                ),
            });
        }
    }
    Ok(())
}

/// Verifies an applied migration; `Err` with the reason when it does not hold.
pub async fn verify_one(target: &dyn GraphTarget, migration: &Migration, finalized: bool) -> Result<(), String> {
    verify_migration(target, migration, finalized).await.map_err(|f| f.message)
}

/// Refuses destructive statements, listing every one.
fn refuse_destructive(pending: &[&Migration]) -> Result<(), SchemaError> {
    let found: Vec<String> = pending
        .iter()
        .flat_map(|m| {
            m.up.iter()
                .filter(|s| s.is_destructive())
                .map(move |s| format!("  {}: {}", location(m, s), first_line(&s.text)))
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(SchemaError::Refused {
        message: format!("destructive statements (they delete or remove data):\n{}", found.join("\n")),
        hint: "see what they touch with `grafter schema up --dry-run`; run them with `--allow-destructive`".into(),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The first 12 hex digits of a checksum, as shown to people.
pub fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

/// What a migration needs to be undone if it fails: the fingerprint before it and a
/// snapshot, when the target can take one.
struct Guard {
    before: Fingerprint,
    pub(crate) snapshot: Option<String>,
}

impl Guard {
    async fn take(target: &dyn GraphTarget, name: &str) -> Result<Guard, SchemaError> {
        let before = target.reader().fingerprint().await?;
        let snapshot = match target.snapshots() {
            Some(snapshots) => Some(snapshots.take_snapshot(name).await?),
            None => None,
        };
        Ok(Guard { before, snapshot })
    }

    /// What changed since the guard was taken.
    async fn changes(&self, target: &dyn GraphTarget) -> Result<Vec<String>, SchemaError> {
        Ok(target.reader().fingerprint().await?.differences_from(&self.before))
    }

    /// Restores the snapshot and proves it with the fingerprint.
    async fn restore(self, target: &dyn GraphTarget) -> Result<(), String> {
        let Some(snapshot) = &self.snapshot else {
            return Err(format!("{} cannot take snapshots; it was left as the failure found it", target.describe()));
        };
        // On failure the snapshot stays, and the message says where: it is the way back.
        let kept = |e: String| format!("{e} (the snapshot taken before the migration is kept: {snapshot})");
        let snapshots = target.require_snapshots().map_err(|e| kept(e.to_string()))?;
        snapshots.restore_snapshot(snapshot).await.map_err(|e| kept(e.to_string()))?;
        let now = target.reader().fingerprint().await.map_err(|e| kept(e.to_string()))?;
        if now != self.before {
            return Err(kept(format!(
                "the restored graph differs from the one before: {}",
                now.differences_from(&self.before).join("; ")
            )));
        }
        let _ = snapshots.drop_snapshot(snapshot).await;
        Ok(())
    }

    async fn release(self, target: &dyn GraphTarget) {
        if let (Some(snapshot), Some(snapshots)) = (&self.snapshot, target.snapshots()) {
            let _ = snapshots.drop_snapshot(snapshot).await;
        }
    }
}
