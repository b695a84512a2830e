//! `manifest.json`, the archive's first entry: what wrote the archive, from where, and per
//! entity its columns with their types, its row count and the SHA-256 of its file.
//!
//! The manifest comes first so that a reader knows the format version and every column's
//! type before it meets any data; the writer can put it first because it spools the entity
//! files (see `writer.rs`) and knows their counts and checksums before the tar begins.

use grafter_model::{Column, LogicalType};
use serde::{Deserialize, Serialize};

/// The name of the manifest entry.
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// What the `format` field says, so that other JSON files are not taken for a manifest.
pub const FORMAT_NAME: &str = "grafter-archive";

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The archive's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// The grafter version that wrote the archive.
    pub grafter_version: String,
    /// When it was written (RFC 3339, UTC).
    pub created_at: String,
    /// What was archived: the source URL with any password redacted, or the graph target.
    pub source: String,
    /// What the entities are.
    pub content: Content,
    /// How entity files are written.
    pub data_format: DataFormat,
    /// The entities, in the order their files follow the manifest.
    pub entities: Vec<Entity>,
}

/// What an archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Rows of source tables and queries (`grafter export`, `run --keep-archive`).
    Source,
    /// Nodes and relationships of a graph (`grafter export --graph`).
    Graph,
}

/// How entity files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// CSV with a header row (see `codec.rs` for the cells).
    Csv,
    /// One JSON object per line, values in typed JSON.
    Ndjson,
}

impl DataFormat {
    /// The entity files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Ndjson => "ndjson",
        }
    }
}

/// One entity: a table, a query's result, or a label's nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Its name (a table's name; for a query, the mapping's name).
    pub name: String,
    /// Its file inside the archive.
    pub file: String,
    /// What was read to produce it, so that a config reading the same table or query from
    /// the archive finds it.
    pub read: EntityRead,
    /// Its columns, in file order.
    pub columns: Vec<ManifestColumn>,
    /// Rows in the file.
    pub rows: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// What an entity was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityRead {
    /// A table, by name.
    Table(String),
    /// A SQL query, as written in the config.
    Query(String),
    /// The nodes of a label (graph archives); their columns are their properties.
    Nodes(GraphEnd),
    /// The relationships of a type between two labels (graph archives); their columns are
    /// the start node's key (`_start_<property>`), the end node's (`_end_<property>`), then
    /// the relationship's properties.
    Relationships {
        /// The relationship type.
        rel_type: String,
        /// The start nodes' label and key.
        start: GraphEnd,
        /// The end nodes' label and key.
        end: GraphEnd,
    },
}

/// A label and the properties identifying its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GraphEnd {
    /// The label.
    pub label: String,
    /// Its key properties, in key order.
    pub key: Vec<String>,
}

/// One column of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestColumn {
    /// Its name.
    pub name: String,
    /// Its type; decides how its CSV cells are read.
    #[serde(rename = "type")]
    pub logical_type: LogicalType,
    /// The type the source declared, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// Whether the source allows NULL there, if it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
}

impl From<&Column> for ManifestColumn {
    fn from(column: &Column) -> Self {
        ManifestColumn {
            name: column.name.clone(),
            logical_type: column.logical_type,
            declared: column.declared_type.clone(),
            nullable: column.nullable,
        }
    }
}

impl From<&ManifestColumn> for Column {
    fn from(column: &ManifestColumn) -> Self {
        Column {
            name: column.name.clone(),
            logical_type: column.logical_type,
            declared_type: column.declared.clone(),
            nullable: column.nullable,
        }
    }
}

impl Manifest {
    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The entity produced by `read`.
    pub fn entity_for(&self, read: &EntityRead) -> Option<&Entity> {
        self.entities.iter().find(|e| &e.read == read)
    }

    /// Entity names, comma separated, for messages.
    pub fn entity_names(&self) -> String {
        self.entities.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}
