//! [`Plan`]: a checked [`Config`] with its load order worked out and explained.
//!
//! Building a plan resolves defaults (mapping names, the embedded target's path), checks
//! every name, key and expression that can be checked without reading the source, and orders
//! the mappings: node mappings before the relationship mappings that connect them, `after`
//! constraints honoured, and mappings with no order between them grouped into stages that
//! may run at the same time. Every mapping carries the reasons for its position, which is
//! what `grafter plan` prints. Checks that need the source's columns happen in
//! [`crate::bind`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use grafter_model::{NameKind, check_name, usable_name};

use crate::config::{Config, Endpoint, NodeMapping, NullReference, RelationshipMapping};
use crate::locate::{self, Location};
use crate::transform::{self, Expr};

/// Default rows per batch: big enough that per-transaction costs vanish, small enough that
/// a batch of wide rows stays a few megabytes.
pub const DEFAULT_BATCH_SIZE: usize = 10_000;

/// What a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadSpec {
    /// A table (or file).
    Table(String),
    /// A SQL query.
    Query(String),
}

/// Which source columns become which properties.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertySpec {
    /// Columns copied; `None` means every column of the read.
    pub columns: Option<Vec<String>>,
    /// Columns not copied.
    pub exclude: Vec<String>,
    /// Property names for copied columns.
    pub rename: BTreeMap<String, String>,
    /// Computed properties, parsed.
    pub transform: Vec<(String, Expr)>,
}

/// A node found by key: the label, the key properties of that label, and the expression
/// giving each key value from the row.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    /// The node's label.
    pub label: String,
    /// That label's key properties (from its node mapping), in order.
    pub key_properties: Vec<String>,
    /// One expression per key property.
    pub key: Vec<Expr>,
}

/// What a mapping creates.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingKind {
    /// Nodes with `label`, identified by the `key` properties.
    Node {
        /// The label.
        label: String,
        /// Key properties, in order.
        key: Vec<String>,
    },
    /// Relationships of `rel_type` from `start` to `end`.
    Relationship {
        /// The type.
        rel_type: String,
        /// The start node.
        start: EndpointSpec,
        /// The end node.
        end: EndpointSpec,
        /// Properties telling apart parallel relationships.
        key: Vec<String>,
        /// Whether the relationships form a hierarchy.
        hierarchy: bool,
        /// What a NULL endpoint key means.
        null_reference: NullReference,
    },
}

/// One mapping, checked and placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Unique name.
    pub name: String,
    /// What it creates.
    pub kind: MappingKind,
    /// What it reads.
    pub read: ReadSpec,
    /// Which properties it writes.
    pub properties: PropertySpec,
    /// The config's description, if any.
    pub description: Option<String>,
    /// Whether `init` guessed the key (the run refuses the mapping until confirmed).
    pub key_guessed: bool,
    /// Unique columns ordering the read, when the config names them.
    pub order_by: Vec<String>,
    /// Mappings that must finish first.
    pub depends_on: Vec<String>,
    /// Why it sits where it does in the load order.
    pub order_reasons: Vec<String>,
    /// 1-based stage number: mappings of one stage may run at the same time.
    pub stage: usize,
    /// Where it is defined.
    pub location: Location,
    /// SHA-256 (hex) of its definition and the source URL: a checkpoint only resumes a
    /// mapping that still reads the same source the same way.
    pub checksum: String,
    /// Remap tables applied to its columns before the transforms (each names a table of
    /// [`Plan::remaps`]).
    pub remap: Vec<crate::remap::RemapUse>,
    /// The column that marks a row deleted (soft delete): such rows are not loaded.
    pub soft_delete: Option<String>,
    /// How `grafter sync` finds the mapping's changes, if it follows them.
    pub tracking: Option<Tracking>,
}

/// How `grafter sync` finds a mapping's changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    /// Rows whose (cursor column, key) is past the watermark changed.
    Cursor(String),
    /// A change-log table lists the changed rows' keys.
    ChangeLog(String),
}

impl std::fmt::Display for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tracking::Cursor(column) => write!(f, "cursor `{column}`"),
            Tracking::ChangeLog(table) => write!(f, "change log `{table}`"),
        }
    }
}

impl Mapping {
    /// The name cast rules know its read by: the table, or for a query the mapping's name.
    pub fn read_name(&self) -> &str {
        match &self.read {
            ReadSpec::Table(table) => table,
            ReadSpec::Query(_) => &self.name,
        }
    }

    /// Whether this is a node mapping.
    pub fn is_node(&self) -> bool {
        matches!(self.kind, MappingKind::Node { .. })
    }

    /// `(:Label)` or `(:A)-[:TYPE]->(:B)`, for display.
    pub fn pattern(&self) -> String {
        match &self.kind {
            MappingKind::Node { label, .. } => format!("(:{label})"),
            MappingKind::Relationship { rel_type, start, end, .. } => {
                format!("(:{})-[:{rel_type}]->(:{})", start.label, end.label)
            }
        }
    }
}

/// Run settings with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Rows per batch.
    pub batch_size: usize,
    /// Whether grafter.toml sets `batch_size` (else the default, which a target may raise
    /// for a faster way of writing: see `GraphLoader::batch_rows`).
    pub batch_size_chosen: bool,
    /// Reject limit, if any.
    pub max_rejects: Option<u64>,
    /// Reject file path.
    pub reject_file: PathBuf,
    /// How many runs keep their snapshot (the newest ones).
    pub keep_snapshots: usize,
}

/// Runs whose snapshot is kept when `[run] keep_snapshots` is not set: the newest run can be
/// rolled back, and then the one before it.
pub const DEFAULT_KEEP_SNAPSHOTS: usize = 2;

/// `[sync]` with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    /// How far before the watermark each pass starts reading (date/time cursors, change logs).
    pub overlap: std::time::Duration,
    /// How many values before the watermark each pass starts reading (integer cursors).
    pub overlap_integer: i64,
    /// Pause between passes of `--follow`.
    pub interval: std::time::Duration,
    /// Lag under which `--until-caught-up` verifies.
    pub max_lag: std::time::Duration,
    /// How long a row waiting for its node is retried.
    pub pending_timeout: std::time::Duration,
    /// The change-log tables' columns.
    pub change_log: crate::config::ChangeLogConfig,
}

/// A checked, ordered, explained plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The config file's path, as given.
    pub config_path: PathBuf,
    /// The source URL (interpolated).
    pub source_url: String,
    /// The target URL (interpolated). Omitted in the config, it is `grafeo:<config name>.grafeo`:
    /// like every relative path of the config, resolved against [`Plan::config_dir`] when
    /// the target is opened, and only then.
    pub target_url: String,
    /// Run settings.
    pub run: RunSettings,
    /// Mappings in load order.
    pub mappings: Vec<Mapping>,
    /// What the source connectors are told besides the URL (`[source.csv]`, `[source.types]`),
    /// typed by the connectors themselves.
    pub source_options: grafter_source::SourceOptions,
    /// SHA-256 (hex) of the config file's text, for the audit trail.
    pub config_checksum: String,
    /// Custom checks for `grafter verify`, in file order.
    pub checks: Vec<crate::checks::Check>,
    /// Remap tables by name.
    pub remaps: BTreeMap<String, crate::remap::RemapTable>,
    /// How `grafter sync` follows changes.
    pub sync: SyncSettings,
    /// Cast rules (`[[casts]]`), in file order.
    pub casts: Vec<crate::casts::CastRule>,
}

/// SHA-256 of `parts`, as hex.
fn sha256_hex(parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the mappings read, as cast rules name it: a table's name, or a query mapping's name.
fn reads_of(mappings: &[Mapping]) -> Vec<String> {
    let mut reads: Vec<String> = Vec::new();
    for mapping in mappings {
        let read = mapping.read_name().to_owned();
        if !reads.contains(&read) {
            reads.push(read);
        }
    }
    reads
}

/// A config that parses but cannot be planned.
pub type PlanError = crate::config::ConfigError;

impl Plan {
    /// Checks `config` (read from `config_path`, whose text is `text`) and orders it.
    pub fn build(config: &Config, config_path: &Path, text: &str) -> Result<Plan, PlanError> {
        Builder { config, text, file: config_path.display().to_string() }.build(config_path)
    }

    /// The config file's folder: relative paths in the config (source and target URLs, reject
    /// file, remap files) are relative to it, whatever the working directory.
    pub fn config_dir(&self) -> &Path {
        self.config_path.parent().unwrap_or(Path::new(""))
    }

    /// The mapping called `name`.
    pub fn mapping(&self, name: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.name == name)
    }

    /// Number of stages.
    pub fn stage_count(&self) -> usize {
        self.mappings.iter().map(|m| m.stage).max().unwrap_or(0)
    }
}

struct Builder<'a> {
    config: &'a Config,
    text: &'a str,
    file: String,
}

/// A mapping's place in the file: which array and which entry.
#[derive(Clone, Copy)]
struct Entry {
    array: &'static str,
    index: usize,
}

impl Builder<'_> {
    fn error(&self, entry: Entry, key: Option<&str>, message: String, hint: Option<String>) -> PlanError {
        let line = key
            .and_then(|key| locate::array_key_line(self.text, entry.array, entry.index, key))
            .or_else(|| locate::array_entry_line(self.text, entry.array, entry.index));
        let location = match line {
            Some(line) => Location::line(&self.file, line),
            None => Location::file(&self.file),
        };
        PlanError { location, message, hint }
    }

    fn build(&self, config_path: &Path) -> Result<Plan, PlanError> {
        let config_dir = config_path.parent().unwrap_or(Path::new("."));
        let stem = config_path.file_stem().and_then(|s| s.to_str()).unwrap_or("grafter");
        if self.config.nodes.is_empty() && self.config.relationships.is_empty() {
            return Err(PlanError {
                location: Location::file(&self.file),
                message: "the file has no mappings".into(),
                hint: Some(
                    "add [[nodes]] and [[relationships]] sections, or start from `grafter init --from URL`".into(),
                ),
            });
        }

        let mut mappings = Vec::new();
        // Label → (key properties, mapping names creating it), for endpoints and ordering.
        let mut labels: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (index, node) in self.config.nodes.iter().enumerate() {
            let entry = Entry { array: "nodes", index };
            let mapping = self.node(node, entry)?;
            let MappingKind::Node { label, key } = &mapping.kind else { unreachable!("node() builds nodes") };
            match labels.get_mut(label) {
                Some((existing_key, creators)) => {
                    if existing_key != key {
                        return Err(self.error(
                            entry,
                            Some("key"),
                            format!(
                                "label `{label}` is keyed by ({}) here but by ({}) in mapping `{}`",
                                key.join(", "),
                                existing_key.join(", "),
                                creators[0]
                            ),
                            Some("all mappings creating one label must use the same key properties".into()),
                        ));
                    }
                    creators.push(mapping.name.clone());
                }
                None => {
                    labels.insert(label.clone(), (key.clone(), vec![mapping.name.clone()]));
                }
            }
            mappings.push(mapping);
        }
        for (index, relationship) in self.config.relationships.iter().enumerate() {
            let entry = Entry { array: "relationships", index };
            mappings.push(self.relationship(relationship, entry, &labels)?);
        }
        self.check_unique_names(&mappings)?;
        self.order(&mut mappings, &labels)?;

        let run = &self.config.run;
        let reject_file = match &run.reject_file {
            Some(path) => config_dir.join(path),
            None => config_dir.join(format!("{stem}.rejects.ndjson")),
        };
        let target_url = match &self.config.target.url {
            Some(url) => url.clone(),
            // Relative, like a URL the user writes: opening the target resolves it against
            // the config's folder (resolving it here too put the store in `dir/dir/`).
            None => format!("grafeo:{stem}.grafeo"),
        };
        if run.batch_size == Some(0) {
            return Err(PlanError {
                location: locate::key_line(self.text, "run", "batch_size")
                    .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
                message: "batch_size must be at least 1".into(),
                hint: None,
            });
        }
        if run.keep_snapshots == Some(0) {
            return Err(PlanError {
                location: locate::key_line(self.text, "run", "keep_snapshots")
                    .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
                message: "keep_snapshots must be at least 1: the newest run's snapshot is what rollback needs".into(),
                hint: Some("to take no snapshots at all, run with `grafter run --no-snapshot`".into()),
            });
        }
        let casts = crate::casts::build(&self.config.casts, self.text, &self.file, &reads_of(&mappings))?;
        self.config.init.relationships.check().map_err(|message| PlanError {
            location: locate::key_line(self.text, "init.relationships", "type")
                .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
            message,
            hint: Some("`grafter init --force` applies this section when it generates the file again".into()),
        })?;
        Ok(Plan {
            config_path: config_path.to_path_buf(),
            source_url: self.config.source.url.clone(),
            target_url,
            run: RunSettings {
                batch_size: run.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
                batch_size_chosen: run.batch_size.is_some(),
                max_rejects: run.max_rejects,
                reject_file,
                keep_snapshots: run.keep_snapshots.unwrap_or(DEFAULT_KEEP_SNAPSHOTS),
            },
            mappings,
            source_options: grafter_source::SourceOptions {
                csv: self.config.source.csv.clone(),
                types: self.config.source.types,
            },
            config_checksum: {
                use sha2::Digest as _;
                sha2::Sha256::digest(self.text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
            },
            checks: crate::checks::build(&self.config.checks, self.text, &self.file)?,
            remaps: self.remap_tables(config_dir)?,
            sync: self.sync_settings()?,
            casts,
        })
    }

    fn read_spec(&self, table: &Option<String>, query: &Option<String>, entry: Entry) -> Result<ReadSpec, PlanError> {
        match (table, query) {
            (Some(table), None) => Ok(ReadSpec::Table(table.clone())),
            (None, Some(query)) => Ok(ReadSpec::Query(query.clone())),
            (Some(_), Some(_)) => Err(self.error(
                entry,
                Some("query"),
                "both `table` and `query` are set".into(),
                Some("a mapping reads either a table or a query: keep one".into()),
            )),
            (None, None) => Err(self.error(
                entry,
                None,
                "neither `table` nor `query` is set".into(),
                Some("add `table = \"name\"` or `query = \"SELECT …\"`".into()),
            )),
        }
    }

    /// Checks a name the config gives (`key` is the config key it stands at, for the line).
    fn check_name(&self, kind: NameKind, name: &str, entry: Entry, key: &str) -> Result<(), PlanError> {
        check_name(kind, name).map_err(|e| {
            let instead = usable_name(name);
            let hint = match kind {
                NameKind::Label => format!("choose another label, e.g. `{instead}`"),
                NameKind::RelationshipType => format!("choose another type, e.g. `{instead}`"),
                NameKind::Property => format!(
                    "name the property differently, e.g. `{instead}` (a column keeps its own name in the source: \
                     `rename` it or compute the property with a transform)"
                ),
            };
            self.error(entry, Some(key), e.to_string(), Some(hint))
        })
    }

    fn properties(
        &self,
        columns: Option<Vec<String>>,
        exclude: &[String],
        rename: &BTreeMap<String, String>,
        transform: &BTreeMap<String, String>,
        entry: Entry,
    ) -> Result<PropertySpec, PlanError> {
        for property in rename.values() {
            self.check_name(NameKind::Property, property, entry, "rename")?;
        }
        let mut parsed = Vec::new();
        for (property, text) in transform {
            self.check_name(NameKind::Property, property, entry, property)?;
            let expr = transform::parse(text).map_err(|e| {
                self.error(
                    entry,
                    Some(property),
                    format!("transform of property `{property}`: {}", e.render(text)),
                    e.hint.clone(),
                )
            })?;
            parsed.push((property.clone(), expr));
        }
        Ok(PropertySpec { columns, exclude: exclude.to_vec(), rename: rename.clone(), transform: parsed })
    }

    fn node(&self, node: &NodeMapping, entry: Entry) -> Result<Mapping, PlanError> {
        self.check_name(NameKind::Label, &node.label, entry, "label")?;
        let read = self.read_spec(&node.table, &node.query, entry)?;
        let tracking = self.tracking(&node.cursor, &node.change_log, &read, entry)?;
        let key = node.key.to_vec();
        if key.is_empty() {
            return Err(self.error(
                entry,
                Some("key"),
                "the key is empty".into(),
                Some("name the property (or properties) that identify a node".into()),
            ));
        }
        for property in &key {
            self.check_name(NameKind::Property, property, entry, "key")?;
        }
        let name = node.name.clone().unwrap_or_else(|| match &read {
            ReadSpec::Table(table) => table.clone(),
            ReadSpec::Query(_) => node.label.clone(),
        });
        Ok(Mapping {
            properties: self.properties(node.columns.clone(), &node.exclude, &node.rename, &node.transform, entry)?,
            name,
            kind: MappingKind::Node { label: node.label.clone(), key },
            read,
            description: node.description.clone(),
            key_guessed: node.key_guessed,
            order_by: node.order_by.clone(),
            depends_on: node.after.clone(),
            order_reasons: Vec::new(),
            stage: 0,
            location: self.location(entry),
            checksum: self.checksum(node),
            remap: self.remap_uses(&node.remap, entry)?,
            soft_delete: self.soft_delete(&node.soft_delete, entry)?,
            tracking,
        })
    }

    /// Checksum of a mapping's definition as written (whitespace and comments aside) and of
    /// the source it reads, named without its password: the checksum is stored in the graph
    /// (a hash of a password is still its secret, open to guessing), and a password changed
    /// between two attempts of a run must not make the second start over.
    fn checksum(&self, definition: &impl serde::Serialize) -> String {
        let json = serde_json::to_string(definition).unwrap_or_default();
        let source = grafter_model::redact_url(&self.config.source.url);
        if self.config.casts.is_empty() {
            sha256_hex(&[&source, &json])
        } else {
            // Cast rules change what a mapping writes: a run whose rules changed starts over.
            // Without rules the checksum is what it always was, so graphs loaded before rules
            // existed still resume.
            let casts = serde_json::to_string(&self.config.casts).unwrap_or_default();
            sha256_hex(&[&source, &json, &casts])
        }
    }

    fn location(&self, entry: Entry) -> Location {
        match locate::array_entry_line(self.text, entry.array, entry.index) {
            Some(line) => Location::line(&self.file, line),
            None => Location::file(&self.file),
        }
    }

    fn endpoint(
        &self,
        endpoint: &Endpoint,
        which: &str,
        entry: Entry,
        labels: &BTreeMap<String, (Vec<String>, Vec<String>)>,
    ) -> Result<EndpointSpec, PlanError> {
        let Some((key_properties, _)) = labels.get(&endpoint.label) else {
            let known: Vec<&str> = labels.keys().map(String::as_str).collect();
            let near = crate::suggest(&endpoint.label, known.iter().copied());
            return Err(self.error(
                entry,
                Some(which),
                format!("{which} label `{}` is not created by any [[nodes]] mapping in this file", endpoint.label),
                Some(match near {
                    Some(l) => format!("did you mean `{l}`?"),
                    None => format!("labels created here: {}", known.join(", ")),
                }),
            ));
        };
        let exprs = endpoint.key.to_vec();
        if exprs.len() != key_properties.len() {
            return Err(self.error(
                entry,
                Some(which),
                format!(
                    "{which} key has {} value(s) but `{}` is keyed by {} propert{} ({})",
                    exprs.len(),
                    endpoint.label,
                    key_properties.len(),
                    if key_properties.len() == 1 { "y" } else { "ies" },
                    key_properties.join(", ")
                ),
                Some("give one column (or expression) per key property, in the same order".into()),
            ));
        }
        let key = exprs
            .iter()
            .map(|text| {
                transform::parse(text).map_err(|e| {
                    self.error(entry, Some(which), format!("{which} key: {}", e.render(text)), e.hint.clone())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EndpointSpec { label: endpoint.label.clone(), key_properties: key_properties.clone(), key })
    }

    fn relationship(
        &self,
        relationship: &RelationshipMapping,
        entry: Entry,
        labels: &BTreeMap<String, (Vec<String>, Vec<String>)>,
    ) -> Result<Mapping, PlanError> {
        self.check_name(NameKind::RelationshipType, &relationship.rel_type, entry, "type")?;
        let read = self.read_spec(&relationship.table, &relationship.query, entry)?;
        let tracking = self.tracking(&relationship.cursor, &relationship.change_log, &read, entry)?;
        let start = self.endpoint(&relationship.start, "start", entry, labels)?;
        let end = self.endpoint(&relationship.end, "end", entry, labels)?;
        for property in &relationship.key {
            self.check_name(NameKind::Property, property, entry, "key")?;
        }
        if relationship.hierarchy && start.label != end.label {
            return Err(self.error(
                entry,
                Some("hierarchy"),
                format!(
                    "a hierarchy connects nodes of one label, but this goes from `{}` to `{}`",
                    start.label, end.label
                ),
                None,
            ));
        }
        let name = relationship.name.clone().unwrap_or_else(|| match &read {
            ReadSpec::Table(table) => table.clone(),
            ReadSpec::Query(_) => relationship.rel_type.clone(),
        });
        let properties = self.properties(
            Some(relationship.columns.clone()),
            &[],
            &relationship.rename,
            &relationship.transform,
            entry,
        )?;
        Ok(Mapping {
            name,
            kind: MappingKind::Relationship {
                rel_type: relationship.rel_type.clone(),
                start,
                end,
                key: relationship.key.clone(),
                hierarchy: relationship.hierarchy,
                null_reference: relationship.null_reference,
            },
            read,
            properties,
            description: relationship.description.clone(),
            key_guessed: false,
            order_by: relationship.order_by.clone(),
            depends_on: relationship.after.clone(),
            order_reasons: Vec::new(),
            stage: 0,
            location: self.location(entry),
            checksum: self.checksum(relationship),
            remap: self.remap_uses(&relationship.remap, entry)?,
            soft_delete: self.soft_delete(&relationship.soft_delete, entry)?,
            tracking,
        })
    }

    /// A mapping's soft-delete column, if it names one.
    fn soft_delete(&self, column: &Option<String>, entry: Entry) -> Result<Option<String>, PlanError> {
        match column {
            Some(column) if column.trim().is_empty() => Err(self.error(
                entry,
                Some("soft_delete"),
                "`soft_delete` names no column".into(),
                Some("name the column that is set when a row is deleted, e.g. `soft_delete = \"deleted_at\"`".into()),
            )),
            other => Ok(other.clone()),
        }
    }

    /// A mapping's change tracking: at most one of `cursor` and `change_log`; a change log
    /// lists rows of a table, so it needs a mapping that reads one.
    fn tracking(
        &self,
        cursor: &Option<String>,
        change_log: &Option<String>,
        read: &ReadSpec,
        entry: Entry,
    ) -> Result<Option<Tracking>, PlanError> {
        let named = |key: &str, value: &str| {
            if value.trim().is_empty() {
                Err(self.error(entry, Some(key), format!("`{key}` names nothing"), None))
            } else {
                Ok(())
            }
        };
        match (cursor, change_log) {
            (Some(_), Some(_)) => Err(self.error(
                entry,
                Some("change_log"),
                "both `cursor` and `change_log` are set".into(),
                Some("a mapping's changes are found one way: a cursor column, or a change-log table".into()),
            )),
            (Some(column), None) => {
                named("cursor", column)?;
                Ok(Some(Tracking::Cursor(column.clone())))
            }
            (None, Some(table)) => {
                named("change_log", table)?;
                if let ReadSpec::Query(_) = read {
                    return Err(self.error(
                        entry,
                        Some("change_log"),
                        "a change log lists rows of a table, but this mapping reads a query".into(),
                        Some("use `cursor = \"…\"` with a column the query returns, or map the table itself".into()),
                    ));
                }
                Ok(Some(Tracking::ChangeLog(table.clone())))
            }
            (None, None) => Ok(None),
        }
    }

    /// `[sync]` with its defaults, every duration parsed.
    fn sync_settings(&self) -> Result<SyncSettings, PlanError> {
        let sync = &self.config.sync;
        let duration = |key: &str, text: &Option<String>, default: &str| -> Result<std::time::Duration, PlanError> {
            let text = text.as_deref().unwrap_or(default);
            humantime::parse_duration(text).map_err(|e| PlanError {
                location: locate::key_line(self.text, "sync", key)
                    .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
                message: format!("[sync] {key} = {text:?} is not a duration: {e}"),
                hint: Some("write it like \"5s\", \"500ms\" or \"2m\"".into()),
            })
        };
        let overlap_integer = sync.overlap_integer.unwrap_or(0);
        if overlap_integer < 0 {
            return Err(PlanError {
                location: locate::key_line(self.text, "sync", "overlap_integer")
                    .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
                message: format!("[sync] overlap_integer = {overlap_integer} is negative"),
                hint: Some("0 or more cursor values to read again at each pass".into()),
            });
        }
        Ok(SyncSettings {
            overlap: duration("overlap", &sync.overlap, "5s")?,
            overlap_integer,
            interval: duration("interval", &sync.interval, "5s")?,
            max_lag: duration("max_lag", &sync.max_lag, "10s")?,
            pending_timeout: duration("pending_timeout", &sync.pending_timeout, "5m")?,
            change_log: sync.change_log.clone(),
        })
    }

    /// A mapping's remap uses, each naming a declared table and at least one column.
    fn remap_uses(
        &self,
        uses: &[crate::remap::RemapUse],
        entry: Entry,
    ) -> Result<Vec<crate::remap::RemapUse>, PlanError> {
        for used in uses {
            if !self.config.remaps.contains_key(&used.table) {
                let declared: Vec<&str> = self.config.remaps.keys().map(String::as_str).collect();
                let hint = match crate::suggest(&used.table, declared.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`? Declared: {}", declared.join(", ")),
                    None => format!(
                        "declare it as [remaps.{}] with `file = \"…csv\"` or `query = \"SELECT …\"`",
                        used.table
                    ),
                };
                return Err(self.error(
                    entry,
                    Some("remap"),
                    format!("remap table `{}` is not declared", used.table),
                    Some(hint),
                ));
            }
            if used.columns.is_empty() {
                return Err(self.error(
                    entry,
                    Some("remap"),
                    format!("remap table `{}` is applied to no column", used.table),
                    Some("name the source columns to translate: `columns = [\"user_id\"]`".into()),
                ));
            }
        }
        Ok(uses.to_vec())
    }

    /// The declared remap tables, each with exactly one of `file` and `query`.
    fn remap_tables(&self, config_dir: &Path) -> Result<BTreeMap<String, crate::remap::RemapTable>, PlanError> {
        use crate::remap::{RemapFrom, RemapTable};
        let mut tables = BTreeMap::new();
        for (name, table) in &self.config.remaps {
            let from = match (&table.file, &table.query) {
                (Some(file), None) => RemapFrom::File(config_dir.join(file)),
                (None, Some(query)) => RemapFrom::Query(query.clone()),
                _ => {
                    return Err(PlanError {
                        location: locate::key_line(self.text, &format!("remaps.{name}"), "file")
                            .or_else(|| locate::key_line(self.text, &format!("remaps.{name}"), "query"))
                            .map_or(Location::file(&self.file), |line| Location::line(&self.file, line)),
                        message: format!("remap table `{name}` needs exactly one of `file` and `query`"),
                        hint: Some(
                            "`file = \"ids.csv\"` (a CSV with a header) or `query = \"SELECT old, new FROM …\"`".into(),
                        ),
                    });
                }
            };
            tables.insert(
                name.clone(),
                RemapTable { name: name.clone(), from, old: table.old.clone(), new: table.new.clone() },
            );
        }
        Ok(tables)
    }

    fn check_unique_names(&self, mappings: &[Mapping]) -> Result<(), PlanError> {
        let mut seen: BTreeMap<&str, &Mapping> = BTreeMap::new();
        for mapping in mappings {
            if let Some(first) = seen.insert(&mapping.name, mapping) {
                return Err(PlanError {
                    location: mapping.location.clone(),
                    message: format!("two mappings are called `{}` (the first at {})", mapping.name, first.location),
                    hint: Some("give one of them a `name = \"…\"` of its own (names default to the table's)".into()),
                });
            }
        }
        Ok(())
    }

    /// Adds the automatic dependencies, checks `after` references, sorts topologically
    /// (stable: file order among equals) and numbers the stages.
    fn order(
        &self,
        mappings: &mut Vec<Mapping>,
        labels: &BTreeMap<String, (Vec<String>, Vec<String>)>,
    ) -> Result<(), PlanError> {
        let names: BTreeSet<String> = mappings.iter().map(|m| m.name.clone()).collect();
        for mapping in mappings.iter_mut() {
            for after in &mapping.depends_on {
                if !names.contains(after) {
                    let near = crate::suggest(after, names.iter().map(String::as_str));
                    return Err(PlanError {
                        location: mapping.location.clone(),
                        message: format!("mapping `{}` is to run after `{after}`, which does not exist", mapping.name),
                        hint: near.map(|n| format!("did you mean `{n}`?")),
                    });
                }
                mapping.order_reasons.push(format!("after `{after}`, as its `after` setting asks"));
            }
            if let MappingKind::Relationship { rel_type, start, end, .. } = &mapping.kind {
                let mut endpoint_labels = vec![(&start.label, "start")];
                if end.label == start.label {
                    endpoint_labels[0].1 = "start and end";
                } else {
                    endpoint_labels.push((&end.label, "end"));
                }
                for (label, role) in endpoint_labels {
                    let creators = &labels[label].1;
                    for creator in creators {
                        if !mapping.depends_on.contains(creator) {
                            mapping.depends_on.push(creator.clone());
                        }
                    }
                    mapping.order_reasons.push(format!(
                        "after {}: it creates the {label} nodes at the {role} of each {rel_type} (nodes before the relationships that connect them)",
                        creators.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
            } else if mapping.depends_on.is_empty() {
                mapping.order_reasons.push("first: a node mapping that needs nothing loaded before it".into());
            }
        }

        // Kahn's algorithm over file order, assigning each mapping the stage after its latest dependency.
        let mut ordered: Vec<Mapping> = Vec::with_capacity(mappings.len());
        let mut stage_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut pending: Vec<Mapping> = std::mem::take(mappings);
        while !pending.is_empty() {
            let ready = pending.iter().position(|m| m.depends_on.iter().all(|d| stage_of.contains_key(d)));
            let Some(index) = ready else {
                let stuck: Vec<String> = pending.iter().map(|m| format!("`{}`", m.name)).collect();
                return Err(PlanError {
                    location: pending[0].location.clone(),
                    message: format!("the load order has a cycle among {}", stuck.join(", ")),
                    hint: Some("check the `after` settings of these mappings".into()),
                });
            };
            let mut mapping = pending.remove(index);
            mapping.stage = mapping.depends_on.iter().map(|d| stage_of[d]).max().unwrap_or(0) + 1;
            stage_of.insert(mapping.name.clone(), mapping.stage);
            ordered.push(mapping);
        }
        // Stage order first, file order within a stage.
        ordered.sort_by_key(|m| m.stage);
        *mappings = ordered;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping_checksum(source_url: &str) -> String {
        let text = format!(
            "[source]\nurl = \"{source_url}\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n"
        );
        let config = Config::parse(&text, "grafter.toml", |_| None).expect("parses");
        let plan = Plan::build(&config, Path::new("grafter.toml"), &text).expect("plans");
        plan.mappings[0].checksum.clone()
    }

    /// The mapping checksum, stored in the graph, was a hash of the source URL with its
    /// password: open to guessing, and a password changed between two attempts of a run made
    /// the second start over.
    #[test]
    fn a_mapping_checksum_does_not_depend_on_the_source_password() {
        let first = mapping_checksum("postgres://app:first-secret@db:5432/shop");
        assert_eq!(first, mapping_checksum("postgres://app:Another/p@ss@db:5432/shop"));
        assert_ne!(
            first,
            mapping_checksum("postgres://app:first-secret@db:5432/other_shop"),
            "the source still counts"
        );
    }
}
