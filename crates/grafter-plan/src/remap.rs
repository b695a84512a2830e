//! ID remapping: a mapping can translate the values of some columns through a remap table
//! (old → new) before its transforms run, for moves between installations whose IDs differ
//! (users migrated to a new identity backend get new IDs; the keypairs and quotas that name
//! them must follow).
//!
//! A remap table is declared once under `[remaps.NAME]` — a CSV file with a header, or a SQL
//! query against the source — and used by any mapping with
//! `remap = [{ table = "NAME", columns = ["user_id"], missing = "reject" }]`. A value without
//! an entry is rejected with the reason (`missing = "reject"`, the default) or kept as it is
//! (`missing = "keep"`); NULL is never looked up. This module holds the config and its
//! checked form; the engine loads the tables and applies them.

use std::path::PathBuf;

use serde::Deserialize;

/// `[remaps.NAME]`: where a remap table's old → new pairs come from.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemapConfig {
    /// A CSV file (with a header row), relative to the config file. Exactly one of `file`
    /// and `query`.
    pub file: Option<String>,
    /// A SQL query run against `[source]`.
    pub query: Option<String>,
    /// The column holding old values (default `old`).
    #[serde(default = "default_old")]
    pub old: String,
    /// The column holding new values (default `new`).
    #[serde(default = "default_new")]
    pub new: String,
}

fn default_old() -> String {
    "old".into()
}

fn default_new() -> String {
    "new".into()
}

/// One use of a remap table by a mapping.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemapUse {
    /// The remap table's name (`[remaps.NAME]`).
    pub table: String,
    /// Source columns whose values are translated.
    pub columns: Vec<String>,
    /// What a value without an entry does.
    #[serde(default)]
    pub missing: MissingPolicy,
}

/// What a value that the remap table does not list does.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// The row is rejected, with the column, the value and the table named (default).
    #[default]
    Reject,
    /// The value is kept unchanged.
    Keep,
}

/// A checked remap table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapTable {
    /// Its name.
    pub name: String,
    /// Where its pairs come from.
    pub from: RemapFrom,
    /// The column of old values.
    pub old: String,
    /// The column of new values.
    pub new: String,
}

/// Where a remap table's pairs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemapFrom {
    /// A CSV file (path resolved against the config's directory).
    File(PathBuf),
    /// A SQL query against the source.
    Query(String),
}
