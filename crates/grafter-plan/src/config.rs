//! The grafter.toml file as written: [`Config`] and its sections, parsed strictly.
//!
//! Every struct denies unknown keys, and [`Config::parse`] turns the TOML parser's errors into
//! a [`ConfigError`] that names the file, the line and, for a misspelt key, the nearest valid
//! one. `${VAR}` in the `[source]` and `[target]` URLs is replaced from the environment, so
//! passwords need not be written into the file. Semantic checks (does the label exist, is the
//! key a property) happen in [`crate::Plan::build`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::locate::{self, Location};

/// A whole grafter.toml.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where rows come from.
    pub source: SourceConfig,
    /// Where the graph goes; the embedded store beside the config when omitted.
    #[serde(default)]
    pub target: TargetConfig,
    /// How runs behave.
    #[serde(default)]
    pub run: RunConfig,
    /// Node mappings: rows become nodes.
    #[serde(default)]
    pub nodes: Vec<NodeMapping>,
    /// Relationship mappings: rows become relationships between nodes found by key.
    #[serde(default)]
    pub relationships: Vec<RelationshipMapping>,
    /// Custom checks `grafter verify` runs on the graph.
    #[serde(default)]
    pub checks: Vec<crate::checks::CheckConfig>,
    /// Remap tables (old → new values) that mappings can apply to columns.
    #[serde(default)]
    pub remaps: BTreeMap<String, crate::remap::RemapConfig>,
    /// Cast rules: the graph type of columns by source type or by name.
    #[serde(default)]
    pub casts: Vec<CastConfig>,
    /// What `grafter init --force` applies when it generates this file again.
    #[serde(default)]
    pub init: crate::init::InitConfig,
    /// How `grafter sync` follows changes.
    #[serde(default)]
    pub sync: SyncConfig,
}

/// `[sync]`: how `grafter sync` keeps the graph in step with the source.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Each pass reads again the changes this far before the watermark, so that a row whose
    /// transaction committed late (its timestamp older than rows already read) is not
    /// missed. Applies to date/time cursors and change logs. Default "5s".
    pub overlap: Option<String>,
    /// The same for integer cursors (version numbers): how many cursor values back each pass
    /// starts. Default 0.
    pub overlap_integer: Option<i64>,
    /// Pause between passes of `grafter sync --follow`. Default "5s".
    pub interval: Option<String>,
    /// `grafter sync --until-caught-up` verifies once the lag is under this. Default "10s".
    pub max_lag: Option<String>,
    /// How long a relationship whose node is not in the graph yet is retried before it goes
    /// to the reject file. Default "5m".
    pub pending_timeout: Option<String>,
    /// The columns of change-log tables.
    #[serde(default)]
    pub change_log: ChangeLogConfig,
}

/// `[sync.change_log]`: the layout of change-log tables (one row per change of a row of a
/// synced table, usually written by triggers).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeLogConfig {
    /// A unique, increasing id (a sequence). Default "id".
    pub id: String,
    /// The name of the table whose row changed. Default "table_name".
    pub table: String,
    /// `INSERT`, `UPDATE` or `DELETE` (or `I`, `U`, `D`). Default "operation".
    pub operation: String,
    /// The changed row's primary key: its text for a one-column key, a JSON array for a
    /// composite one. Default "record_key".
    pub key: String,
    /// When the change happened. Default "changed_at".
    pub changed_at: String,
}

impl Default for ChangeLogConfig {
    fn default() -> Self {
        ChangeLogConfig {
            id: "id".into(),
            table: "table_name".into(),
            operation: "operation".into(),
            key: "record_key".into(),
            changed_at: "changed_at".into(),
        }
    }
}

/// `[source]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `sqlite:PATH`, `csv:DIR` or `ndjson:DIR`; relative paths are from the config's directory.
    pub url: String,
    /// Options for `csv:` sources, typed by the CSV connector itself.
    #[serde(default)]
    pub csv: grafter_source::csv::CsvOptions,
    /// How values without an exact graph counterpart are converted.
    #[serde(default)]
    pub types: grafter_model::TypePolicy,
}

/// `[target]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `grafeo:PATH` (the embedded store). Default: `grafeo:<config name>.grafeo` beside the config.
    pub url: Option<String>,
}

/// `[run]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Rows per batch (one transaction each). Default 10000; left unset, a store that
    /// writes faster in bigger batches may take more (see the reference config).
    pub batch_size: Option<usize>,
    /// Stop the run when more rows than this have been rejected. Default: no limit.
    pub max_rejects: Option<u64>,
    /// Where rejected rows are written (NDJSON). Default: `<config name>.rejects.ndjson` beside the config.
    pub reject_file: Option<String>,
    /// How many runs keep the snapshot taken before them, newest first (rollback needs it);
    /// older snapshots are removed when a run starts. Default 2, at least 1.
    pub keep_snapshots: Option<usize>,
}

/// One or several names: `key = "id"` or `key = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single name.
    One(String),
    /// A list of names.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The names as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// One `[[casts]]` entry as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CastConfig {
    /// A source type: as declared (`numeric`, `tinyint`, `character varying`; precision and
    /// length ignored) or grafter's logical name (`decimal`, `time`, `duration`, `json`, …).
    #[serde(rename = "type")]
    pub source_type: Option<String>,
    /// A column: `table.column` (for a mapping reading a query, `mapping.column`).
    pub column: Option<String>,
    /// The graph type: `int`, `float`, `bool`, `string`, `date`, `datetime` or `json`.
    pub to: String,
}

/// `[[nodes]]`: each row of a table or query becomes one node.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeMapping {
    /// The mapping's name (for `--only`, summaries, rejects). Default: the table's name, or the label.
    pub name: Option<String>,
    /// The node label.
    pub label: String,
    /// Read this table (or file, for file sources). Exactly one of `table` and `query`.
    pub table: Option<String>,
    /// Read the rows of this SQL query.
    pub query: Option<String>,
    /// The property (or properties) that identify a node of this label.
    pub key: OneOrMany,
    /// Source columns copied as properties. Default: all columns.
    pub columns: Option<Vec<String>>,
    /// Source columns not copied.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Property names for copied columns: `{ column = "property" }`.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Computed properties: `{ property = "expression" }` (see the transform language).
    #[serde(default)]
    pub transform: BTreeMap<String, String>,
    /// Why this mapping exists; shown by `grafter plan` (`grafter init` fills it in).
    pub description: Option<String>,
    /// Unique column(s) that order the read: resuming seeks by them and parallel reads split
    /// on them. Default: the table's primary key; a query has none unless given here.
    #[serde(default)]
    pub order_by: Vec<String>,
    /// Set by `grafter init` when the table has no primary key and the key was guessed: runs
    /// refuse the mapping until a person has checked the key and removed this line.
    #[serde(default)]
    pub key_guessed: bool,
    /// Remap tables applied to columns before the transforms: `[{ table, columns, missing }]`.
    #[serde(default)]
    pub remap: Vec<crate::remap::RemapUse>,
    /// Mappings that must finish before this one starts (beyond the automatic order).
    #[serde(default)]
    pub after: Vec<String>,
    /// A column set when a row is deleted (soft delete): such rows are not loaded, and
    /// `grafter sync` removes their node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<String>,
    /// Sync: a column whose value grows at every change of a row (a timestamp set on every
    /// write, or a version number); `grafter sync` upserts the rows changed since its watermark.
    /// Not part of the mapping's checksum: adding it does not make a run load again.
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
    /// Sync: a change-log table listing every INSERT, UPDATE and DELETE of this mapping's
    /// table (layout in `[sync.change_log]`); drives inserts, updates and deletes.
    #[serde(default, skip_serializing)]
    pub change_log: Option<String>,
}

/// `[[relationships]]`: each row becomes one relationship between two nodes found by key.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelationshipMapping {
    /// The mapping's name. Default: the table's name, or the type.
    pub name: Option<String>,
    /// The relationship type.
    #[serde(rename = "type")]
    pub rel_type: String,
    /// Read this table (or file). Exactly one of `table` and `query`.
    pub table: Option<String>,
    /// Read the rows of this SQL query.
    pub query: Option<String>,
    /// The start node.
    pub start: Endpoint,
    /// The end node.
    pub end: Endpoint,
    /// Properties that tell apart several relationships of this type between the same two
    /// nodes. Default: none (at most one such relationship per pair).
    #[serde(default)]
    pub key: Vec<String>,
    /// Source columns copied as properties. Default: none.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Property names for copied columns: `{ column = "property" }`.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Computed properties: `{ property = "expression" }`.
    #[serde(default)]
    pub transform: BTreeMap<String, String>,
    /// Unique column(s) that order the read: resuming seeks by them and parallel reads split
    /// on them. Default: the table's primary key; a query has none unless given here.
    #[serde(default)]
    pub order_by: Vec<String>,
    /// The relationship forms a hierarchy (each node has at most one parent, no cycles); set by
    /// `grafter init` for self-referencing foreign keys.
    #[serde(default)]
    pub hierarchy: bool,
    /// What a row whose start or end key column is NULL means: `skip` (default) — no
    /// relationship, the row is not read, as for a nullable foreign key; `reject` — a broken
    /// reference, the row goes to the reject file (use it when the read joins to find keys).
    #[serde(default)]
    pub null_reference: NullReference,
    /// Why this mapping exists; shown by `grafter plan`.
    pub description: Option<String>,
    /// Remap tables applied to columns before the transforms: `[{ table, columns, missing }]`.
    #[serde(default)]
    pub remap: Vec<crate::remap::RemapUse>,
    /// Mappings that must finish before this one starts (beyond the automatic order).
    #[serde(default)]
    pub after: Vec<String>,
    /// A column set when a row is deleted (soft delete): such rows give no relationship,
    /// and `grafter sync` removes the one they gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<String>,
    /// Sync: a column whose value grows at every change of a row (see `[[nodes]]`).
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
    /// Sync: a change-log table of this mapping's table (see `[[nodes]]`).
    #[serde(default, skip_serializing)]
    pub change_log: Option<String>,
}

/// What a NULL in a relationship's endpoint key means.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NullReference {
    /// No relationship: the row is not read.
    #[default]
    Skip,
    /// A broken reference: the row is rejected with the reason.
    Reject,
}

/// `start = { label = "…", key = ["column", …] }`: the node with this label whose key equals
/// these values of the row (source columns, or expressions over them), in key order.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The node's label; a node mapping in this file must create it.
    pub label: String,
    /// One expression per key property of that label, usually a column name.
    pub key: OneOrMany,
}

/// A grafter.toml that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct ConfigError {
    /// File and line.
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ConfigError {
    /// An error about `key` of `[section]` in `file` (whose text is `text`): at the key's line
    /// when it is written there, else at the file.
    pub fn at_key(
        file: &str,
        text: &str,
        section: &str,
        key: &str,
        message: String,
        hint: Option<String>,
    ) -> ConfigError {
        let location =
            locate::key_line(text, section, key).map_or(Location::file(file), |line| Location::line(file, line));
        ConfigError { location, message, hint }
    }
}

impl Config {
    /// Parses grafter.toml text. `file` names it in errors; `env` looks up `${VAR}`s.
    pub fn parse(text: &str, file: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| from_toml_error(&e, text, file))?;
        let locate_key =
            |section: &str, key: &str| locate::key_line(text, section, key).map(|line| Location::line(file, line));
        config.source.url = interpolate(&config.source.url, &env).map_err(|(message, hint)| ConfigError {
            location: locate_key("source", "url").unwrap_or(Location::file(file)),
            message,
            hint,
        })?;
        if let Some(url) = &config.target.url {
            config.target.url = Some(interpolate(url, &env).map_err(|(message, hint)| ConfigError {
                location: locate_key("target", "url").unwrap_or(Location::file(file)),
                message,
                hint,
            })?);
        }
        Ok(config)
    }
}

/// Replaces `${NAME}` with the environment variable's value. `$${` writes a literal `${`.
fn interpolate(text: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, (String, Option<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(("unclosed `${` in URL".into(), Some("write ${NAME} to use an environment variable".into())));
        };
        let name = &rest[start + 2..start + end];
        match env(name) {
            Some(value) => out.push_str(&value),
            None => {
                return Err((
                    format!("environment variable `{name}` is not set"),
                    Some(format!("export {name}=… before running grafter, or write the value into the file")),
                ));
            }
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Turns a TOML/serde error into a [`ConfigError`] with a line and, for unknown keys and
/// variants, the nearest valid name.
fn from_toml_error(error: &toml::de::Error, text: &str, file: &str) -> ConfigError {
    let location = match error.span() {
        Some(span) => Location::at_offset(file, text, span.start),
        None => Location::file(file),
    };
    let message = error.message().trim().to_owned();
    let hint = nearest_hint(&message);
    // serde says "unknown field"; in a TOML file it is a key.
    let message = message.replacen("unknown field", "unknown key", 1);
    ConfigError { location, message, hint }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant"), the
/// nearest expected name.
fn nearest_hint(message: &str) -> Option<String> {
    let unknown = message.split('`').nth(1)?;
    let (_, expected) = message.split_once("expected")?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    // Optimal string alignment counts a swapped pair of letters ("lable") as one edit.
    let distance = |c: &str| strsim::osa_distance(&unknown.to_lowercase(), &c.to_lowercase());
    let best = candidates.iter().map(|c| distance(c)).min()?;
    let nearest: Vec<String> = candidates.iter().filter(|c| distance(c) == best).map(|c| format!("`{c}`")).collect();
    // When nothing is close, serde's own message already lists the valid keys.
    (best <= (unknown.len() / 2).max(2)).then(|| format!("did you mean {}?", nearest.join(" or ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const MINIMAL: &str = r#"
[source]
url = "sqlite:shop.db"

[[nodes]]
label = "Customer"
table = "customers"
key = "id"
"#;

    #[test]
    fn minimal_config_parses_with_defaults() {
        let config = Config::parse(MINIMAL, "grafter.toml", no_env).unwrap();
        assert_eq!(config.source.url, "sqlite:shop.db");
        assert_eq!(config.target.url, None);
        assert_eq!(config.nodes[0].key, OneOrMany::One("id".into()));
        assert!(config.relationships.is_empty());
    }

    #[test]
    fn misspelt_key_names_line_and_nearest_key() {
        let text = MINIMAL.replace("label = ", "lable = ");
        let err = Config::parse(&text, "shop/grafter.toml", no_env).unwrap_err();
        assert_eq!(err.location.to_string(), "shop/grafter.toml:6");
        assert!(err.message.starts_with("unknown key `lable`"), "{}", err.message);
        assert_eq!(err.hint.as_deref(), Some("did you mean `label` or `table`?"));
    }

    #[test]
    fn missing_required_key_is_reported() {
        let text = MINIMAL.replace("key = \"id\"\n", "");
        let err = Config::parse(&text, "grafter.toml", no_env).unwrap_err();
        assert!(err.message.contains("missing field `key`"), "{}", err.message);
    }

    #[test]
    fn env_vars_are_interpolated_in_urls() {
        let text = MINIMAL.replace("sqlite:shop.db", "sqlite:${DATA_DIR}/shop.db");
        let env = |name: &str| (name == "DATA_DIR").then(|| "/srv".to_owned());
        let config = Config::parse(&text, "grafter.toml", env).unwrap();
        assert_eq!(config.source.url, "sqlite:/srv/shop.db");
    }

    #[test]
    fn missing_env_var_names_it_and_the_line() {
        let text = MINIMAL.replace("sqlite:shop.db", "sqlite:${NOPE}");
        let err = Config::parse(&text, "grafter.toml", no_env).unwrap_err();
        assert_eq!(err.to_string().lines().next().unwrap(), "grafter.toml:3: environment variable `NOPE` is not set");
    }

    #[test]
    fn dollar_dollar_escapes_interpolation() {
        assert_eq!(interpolate("a$${B}c", &no_env).unwrap(), "a${B}c");
    }
}
