//! [`SchemaError`]: what can go wrong with migration files or while migrating, naming the
//! file, line or version at fault and saying what to do.

use grafter_target::TargetError;

/// An error of the schema migrations.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A migration file (or the folder) cannot be read or understood.
    #[error("{file}{}: {message}\n  hint: {hint}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        /// The file.
        file: String,
        /// The line at fault, when there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The migrations' dependencies cannot be satisfied (a cycle or a missing version).
    #[error("{message}\n  hint: {hint}")]
    Dependencies {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The history and the files disagree, or the request cannot be done as asked.
    #[error("{message}\n  hint: {hint}")]
    Refused {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A migration failed while applying, reverting or verifying.
    #[error("{version} {what} failed: {message}{}", restored_note(*restored))]
    Failed {
        /// The version (`V0003`).
        version: String,
        /// What was being done: `up`, `down`, `verify`.
        what: String,
        /// The cause.
        message: String,
        /// Whether the target was restored to its state before the migration.
        restored: bool,
    },
    /// The target failed.
    #[error(transparent)]
    Target(#[from] TargetError),
}

fn restored_note(restored: bool) -> &'static str {
    if restored {
        "\n  the target was restored to its state before the migration (marked rolled_back in `grafter schema status`)"
    } else {
        ""
    }
}

impl SchemaError {
    /// Whether this is the user's to fix in the files or the command line (exit code 2),
    /// as opposed to a failure while working.
    pub fn is_usage(&self) -> bool {
        matches!(self, SchemaError::File { .. } | SchemaError::Dependencies { .. } | SchemaError::Refused { .. })
    }

    /// Whether the command worked and its answer is no: `schema roundtrip` found that down
    /// does not undo up (exit code 1), as opposed to a migration that failed to apply.
    pub fn is_negative_answer(&self) -> bool {
        matches!(self, SchemaError::Failed { what, .. } if what == "check")
    }
}
