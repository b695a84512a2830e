//! [`TargetError`]: what can go wrong with a graph target, naming the store and the cause.

/// An error of a graph target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL cannot be understood.
    #[error("target URL {url:?}: {reason}\n  hint: {hint}")]
    BadUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong.
        reason: String,
        /// How to fix it.
        hint: String,
    },
    /// A store that must exist does not.
    #[error("graph store not found: {path}\n  hint: {hint}")]
    NotFound {
        /// Where it was looked for.
        path: String,
        /// How to fix it.
        hint: String,
    },
    /// Another process has the store open.
    #[error("graph store {path} is in use{}\n  hint: {hint}", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    InUse {
        /// The store.
        path: String,
        /// Who holds it, as far as known (run id, host, pid, since).
        holder: Option<String>,
        /// What to do.
        hint: String,
    },
    /// A Cypher query failed; `message` is the store's own.
    #[error("query failed: {message}")]
    Query {
        /// The store's message.
        message: String,
    },
    /// A query that may only read (a check, a verify query, `grafter query` without
    /// `--write`) would change the graph; it was refused and changed nothing.
    #[error(
        "{target} refused a query that would change the graph ({reason})\n  hint: checks, verify queries and `grafter query` only read; change the graph on purpose with `grafter query --write` or a schema migration"
    )]
    WriteRefused {
        /// The target, described.
        target: String,
        /// What gave the write away: the clause, or the store's own message.
        reason: String,
    },
    /// A write failed as a whole (not one row: those are rejected).
    #[error("writing to {target} failed: {message}")]
    Write {
        /// The target, described.
        target: String,
        /// The store's message.
        message: String,
    },
    /// Stored bookkeeping cannot be read.
    #[error("grafter's bookkeeping in {target} is damaged: {message}")]
    Bookkeeping {
        /// The target, described.
        target: String,
        /// What is wrong.
        message: String,
    },
    /// The target's lease lock is held by someone else.
    #[error(
        "{target} is locked: {holder}\n  hint: wait for that run to finish; if its process is gone, the lock expires at the end of its lease, or remove it with `grafter lock break`"
    )]
    Locked {
        /// The target, described.
        target: String,
        /// Who holds it.
        holder: Box<grafter_model::LockHolder>,
    },
    /// The lock was lost while working (broken by someone, or expired unrenewed).
    #[error("{target}: this process no longer holds the lock ({reason})")]
    LockLost {
        /// The target, described.
        target: String,
        /// What happened.
        reason: String,
    },
    /// The target cannot do this.
    #[error("{target} does not support {what}")]
    Unsupported {
        /// The target, described.
        target: String,
        /// What was asked.
        what: String,
    },
    /// A store that was not compiled in.
    #[error("target scheme `{scheme}:` is not built into this grafter (cargo feature `{scheme}`)")]
    NotBuiltIn {
        /// The scheme.
        scheme: String,
    },
    /// Anything else the store reported.
    #[error("{target}: {message}")]
    Store {
        /// The target, described.
        target: String,
        /// The store's message.
        message: String,
    },
}

impl TargetError {
    /// Whether this is the user's to fix in the config or on the command line, before the
    /// store is changed: a URL that cannot work, a store that is not there yet, a query that
    /// would write without `--write`, something this target cannot do at all.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TargetError::BadUrl { .. }
                | TargetError::NotFound { .. }
                | TargetError::WriteRefused { .. }
                | TargetError::Unsupported { .. }
                | TargetError::NotBuiltIn { .. }
        )
    }
}
