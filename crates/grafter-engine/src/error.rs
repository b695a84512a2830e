//! [`EngineError`]: why a run could not start or had to stop.

use grafter_plan::PlanError;
use grafter_source::SourceError;
use grafter_target::TargetError;

/// An error that stops a run (rows that cannot be loaded are rejects, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The config does not fit the source (unknown column, bad key, …).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The target failed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `--only` names a mapping the config does not have.
    #[error("no mapping called `{name}`{}\n  mappings: {known}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownMapping {
        /// The name given.
        name: String,
        /// The nearest existing name.
        suggestion: Option<String>,
        /// All mapping names.
        known: String,
    },
    /// `export --only` names an entity the config does not read.
    #[error("no entity or mapping called `{name}`{}\n  entities: {known}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownEntity {
        /// The name given.
        name: String,
        /// The nearest entity name.
        suggestion: Option<String>,
        /// All entity names.
        known: String,
    },
    /// A source row that cannot be read stops an export: the archive would miss it.
    #[error(
        "{read}, line {line}: {reason}\n  hint: an archive is a full copy, so the export stopped; fix the row at the source and export again"
    )]
    ExportRow {
        /// The table or query.
        read: String,
        /// Its line or row number.
        line: u64,
        /// Why it cannot be read.
        reason: String,
    },
    /// A remap table cannot be loaded or does not fit its mapping.
    #[error("remap table `{table}`: {message}")]
    Remap {
        /// The table's name.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// An archive that `grafter import` cannot load.
    #[error("cannot import: {0}")]
    Import(String),
    /// Writing or reading an archive failed.
    #[error(transparent)]
    Archive(#[from] grafter_archive::ArchiveError),
    /// A mapping's key was guessed by `init` and not yet confirmed.
    #[error(
        "{location}: mapping `{mapping}` has a key guessed by `grafter init` (key_guessed = true)\n  hint: check that ({key}) identifies one row of its table, then remove `key_guessed = true`"
    )]
    KeyNotConfirmed {
        /// The mapping.
        mapping: String,
        /// Its key.
        key: String,
        /// Where it is defined.
        location: String,
    },
    /// More rows were rejected than `max_rejects` allows.
    #[error(
        "stopped: {rejected} rows rejected, more than the limit of {limit} (see {reject_file})\n  hint: fix the data or the mapping, or raise --max-rejects; batches already written stay written"
    )]
    TooManyRejects {
        /// Rejected so far.
        rejected: u64,
        /// The limit.
        limit: u64,
        /// Where the rejects are.
        reject_file: String,
    },
    /// The reject file cannot be written.
    #[error("cannot write the reject file {path}: {source}")]
    RejectFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The run lost its lock on the target while working.
    #[error(
        "stopped: {0}\n  hint: another process may be writing to the target; check `grafter lock status`; the run is resumable"
    )]
    LockLost(String),
    /// `grafter lock break` was asked to break a lock whose holder is alive.
    #[error(
        "refusing to break the lock: its holder is alive ({evidence}): {holder}\n  hint: let that run finish, or stop it; `grafter lock break --force` breaks the lock anyway, and the holder's next write is then refused (the lock's fencing token moves on)"
    )]
    HolderAlive {
        /// The holder.
        holder: String,
        /// How grafter knows it is alive.
        evidence: String,
    },
    /// A rollback that cannot be done.
    #[error("cannot roll back: {0}")]
    Rollback(String),
    /// A mapping `grafter sync` cannot follow as configured.
    #[error("{location}: mapping `{mapping}`: {message}\n  hint: {hint}")]
    SyncMapping {
        /// The mapping.
        mapping: String,
        /// Where it is defined.
        location: String,
        /// What stands in the way.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// `grafter sync` was given nothing it can follow.
    #[error(
        "nothing to sync: {0}\n  hint: give a mapping `cursor = \"updated_at\"` (a column every write sets) or `change_log = \"table\"`; see `[sync]` in docs/grafter.reference.toml"
    )]
    NothingToSync(String),
    /// `grafter sync --until-caught-up` gave up.
    #[error(
        "not caught up within {waited}: {reason}\n  hint: the graph stays as far as it got; run `grafter sync` again (or with a longer --timeout)"
    )]
    NotCaughtUp {
        /// How long it tried.
        waited: String,
        /// The last lag or verification seen.
        reason: String,
    },
    /// An internal task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Whether reading again from the last checkpoint may succeed (a dropped connection).
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Source(e) if e.is_transient())
    }

    /// Whether this is the user's to fix in the config or on the command line, found before
    /// anything was written: a mapping that does not fit its source, a name that is not
    /// there, a guessed key nobody confirmed.
    pub fn is_usage(&self) -> bool {
        match self {
            EngineError::Plan(_)
            | EngineError::UnknownMapping { .. }
            | EngineError::UnknownEntity { .. }
            | EngineError::Remap { .. }
            | EngineError::Import(_)
            | EngineError::KeyNotConfirmed { .. }
            | EngineError::SyncMapping { .. }
            | EngineError::NothingToSync(_) => true,
            EngineError::Source(source) => source.is_usage(),
            EngineError::Target(target) => target.is_usage(),
            _ => false,
        }
    }

    /// Whether the command worked and its answer is no (`sync --until-caught-up` did not
    /// catch up in time), as opposed to a failure while working.
    pub fn is_negative_answer(&self) -> bool {
        matches!(self, EngineError::NotCaughtUp { .. })
    }
}
