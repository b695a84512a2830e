//! What the engine hands a target and what it gets back: [`RecordBatch`]es of node and
//! relationship records, [`WriteReport`]s, [`Checkpoint`]s and
//! [`QueryResult`]s.

use std::sync::Arc;

use grafter_model::{Cursor, KeyRange, Value};

/// The shape of a node mapping's records.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// The mapping's name (for messages).
    pub mapping: String,
    /// The label.
    pub label: String,
    /// Property names; each record holds one value per name (NULL: not set).
    pub properties: Vec<String>,
    /// Positions in `properties` of the key.
    pub key: Vec<usize>,
}

impl NodeSpec {
    /// The key property names, in key order.
    pub fn key_names(&self) -> Vec<&str> {
        self.key.iter().map(|&i| self.properties[i].as_str()).collect()
    }
}

/// How a relationship's endpoint is found: the node with `label` whose key properties equal
/// the record's values.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    /// The label.
    pub label: String,
    /// That label's key properties, in key order.
    pub key_properties: Vec<String>,
}

/// The shape of a relationship mapping's records.
#[derive(Debug, Clone, PartialEq)]
pub struct RelSpec {
    /// The mapping's name (for messages).
    pub mapping: String,
    /// The relationship type.
    pub rel_type: String,
    /// The start node.
    pub start: EndpointSpec,
    /// The end node.
    pub end: EndpointSpec,
    /// Property names.
    pub properties: Vec<String>,
    /// Positions in `properties` of the key telling apart parallel relationships.
    pub key: Vec<usize>,
}

/// One node: a value per property of its [`NodeSpec`] (the key values are never NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    /// Values aligned with [`NodeSpec::properties`].
    pub properties: Vec<Value>,
}

/// One relationship: the endpoint keys and a value per property.
#[derive(Debug, Clone, PartialEq)]
pub struct RelRecord {
    /// The start node's key values.
    pub start: Vec<Value>,
    /// The end node's key values.
    pub end: Vec<Value>,
    /// Values aligned with [`RelSpec::properties`].
    pub properties: Vec<Value>,
}

/// A batch of records of one mapping.
#[derive(Debug, Clone)]
pub enum RecordBatch {
    /// Nodes.
    Nodes {
        /// Their shape.
        spec: Arc<NodeSpec>,
        /// The records.
        records: Vec<NodeRecord>,
    },
    /// Relationships.
    Relationships {
        /// Their shape.
        spec: Arc<RelSpec>,
        /// The records.
        records: Vec<RelRecord>,
    },
}

impl RecordBatch {
    /// Number of records.
    pub fn len(&self) -> usize {
        match self {
            RecordBatch::Nodes { records, .. } => records.len(),
            RecordBatch::Relationships { records, .. } => records.len(),
        }
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Created anew.
    Created,
    /// It existed from before this run and was updated.
    Updated,
    /// Not written, for this reason.
    Rejected(String),
}

/// What a write did, record by record (in batch order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteReport {
    /// One outcome per record of the batch.
    pub outcomes: Vec<RowOutcome>,
    /// Seconds spent storing the checkpoint inside the transaction (what checkpointing
    /// itself costs).
    pub checkpoint_seconds: f64,
}

impl WriteReport {
    /// Records created or updated.
    pub fn written(&self) -> u64 {
        self.outcomes.iter().filter(|o| !matches!(o, RowOutcome::Rejected(_))).count() as u64
    }

    /// Records created.
    pub fn created(&self) -> u64 {
        self.outcomes.iter().filter(|o| matches!(o, RowOutcome::Created)).count() as u64
    }
}

/// How far a mapping (or one partition of it) has come in a run, stored with each batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The run.
    pub run_id: String,
    /// The mapping.
    pub mapping: String,
    /// The key-range partition (0 when the mapping is read whole).
    pub partition: u32,
    /// The partition's key range (the whole read when not split): stored with the first
    /// checkpoint, so a resume reads exactly the same partitions.
    pub range: KeyRange,
    /// Checksum of the mapping's definition: a checkpoint only resumes the same mapping.
    pub checksum: String,
    /// Batches committed so far, this one included (rejects are tagged with it).
    pub batches: u64,
    /// Where the scan continues.
    pub cursor: Cursor,
    /// Rows read so far, this batch included.
    pub read: u64,
    /// Rows written so far, not counting this batch's writes (only the target knows those:
    /// it adds them before storing, see [`Checkpoint::with_outcomes`]).
    pub written: u64,
    /// Rows rejected so far, including this batch's rejects found before the write but not
    /// those the write itself finds (the target adds them).
    pub rejected: u64,
    /// Whether the scan reached the end.
    pub finished: bool,
    /// Seconds spent on the mapping so far, over all attempts.
    pub seconds: f64,
}

impl Checkpoint {
    /// A checkpoint from its stored fields, in the order `run, mapping, partition, checksum,
    /// batches, cursor, read, written, rejected, finished, seconds, range`; `None` when one
    /// is missing or of the wrong type (damaged bookkeeping).
    pub fn from_fields(row: &[Value]) -> Option<Checkpoint> {
        let string = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let number = |v: &Value| match v {
            Value::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        };
        Some(Checkpoint {
            run_id: string(row.first()?)?,
            mapping: string(row.get(1)?)?,
            partition: u32::try_from(number(row.get(2)?)?).ok()?,
            checksum: string(row.get(3)?)?,
            batches: number(row.get(4)?)?,
            cursor: Cursor::decode(&string(row.get(5)?)?).ok()?,
            read: number(row.get(6)?)?,
            written: number(row.get(7)?)?,
            rejected: number(row.get(8)?)?,
            finished: matches!(row.get(9)?, Value::Bool(true)),
            seconds: match row.get(10)? {
                Value::Float(x) => *x,
                Value::Int(i) => *i as f64,
                _ => 0.0,
            },
            range: match row.get(11)? {
                Value::String(text) => KeyRange::decode(text).ok()?,
                _ => KeyRange::all(),
            },
        })
    }

    /// The checkpoint as stored: the batch's write outcomes added to its counts, so that
    /// `read = written + rejected` holds in the stored figures too.
    pub fn with_outcomes(&self, report: &WriteReport) -> Checkpoint {
        let written = report.written();
        let rejected = report.outcomes.len() as u64 - written;
        Checkpoint { written: self.written + written, rejected: self.rejected + rejected, ..self.clone() }
    }
}

/// How the relationships one source row gave are found again, for `grafter sync` to replace
/// or remove them: the row's key is a node's key (or both nodes' keys together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The row's key is the start node's: its relationships are those of the mapping's type
    /// from that node to a node of the end label (a foreign key: at most one).
    Start,
    /// The row's key is the end node's: those of the type into that node from a node of the
    /// start label.
    End,
    /// The row's key is both nodes' keys: those of the type between the two (a join table).
    Pair,
}

/// What a deleted (or reference-less) row leaves to remove: the anchored node's key values
/// (both nodes' for [`Anchor::Pair`]; the side the anchor does not name is empty).
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorKey {
    /// The start node's key values ([`Anchor::Start`], [`Anchor::Pair`]).
    pub start: Vec<Value>,
    /// The end node's key values ([`Anchor::End`], [`Anchor::Pair`]).
    pub end: Vec<Value>,
}

/// One mapping's changes, applied by [`crate::ChangeSync::apply_changes`] in one
/// transaction with the mapping's sync state. Every key (anchor) appears at most once.
#[derive(Debug, Clone)]
pub enum ChangeSet {
    /// Nodes.
    Nodes {
        /// Their shape.
        spec: Arc<NodeSpec>,
        /// Nodes to create, or to update to exactly these properties.
        upserts: Vec<NodeRecord>,
        /// Keys of nodes to remove, with every relationship they have.
        deletes: Vec<Vec<Value>>,
    },
    /// Relationships.
    Relationships {
        /// Their shape.
        spec: Arc<RelSpec>,
        /// How a row's relationships are found.
        anchor: Anchor,
        /// Each replaces whatever its anchor holds: the graph ends with exactly this
        /// relationship there.
        upserts: Vec<RelRecord>,
        /// Anchors whose relationships are removed.
        deletes: Vec<AnchorKey>,
    },
}

impl ChangeSet {
    /// Number of changes.
    pub fn len(&self) -> usize {
        match self {
            ChangeSet::Nodes { upserts, deletes, .. } => upserts.len() + deletes.len(),
            ChangeSet::Relationships { upserts, deletes, .. } => upserts.len() + deletes.len(),
        }
    }

    /// Whether there are no changes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The element was not there and was created.
    Created,
    /// The element was there and was changed to the record.
    Updated,
    /// The graph already held exactly this (a change read again).
    Unchanged,
    /// Something was removed (a node with its relationships, or a row's relationships).
    Deleted,
    /// There was nothing to remove.
    Absent,
    /// A node the relationship connects is not in the graph (yet): nothing was written.
    Missing(String),
    /// The target cannot store the record, for this reason.
    Rejected(String),
}

/// What [`crate::ChangeSync::apply_changes`] did, change by change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeReport {
    /// One outcome per upsert, in order.
    pub upserts: Vec<ChangeOutcome>,
    /// One outcome per delete, in order.
    pub deletes: Vec<ChangeOutcome>,
}

impl ChangeReport {
    /// Outcomes of this kind.
    pub fn count(&self, matches: impl Fn(&ChangeOutcome) -> bool) -> u64 {
        self.upserts.iter().chain(&self.deletes).filter(|o| matches(o)).count() as u64
    }
}

/// The rows a query returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Value>>,
}

/// `(:Label {a: 1, b: "x"})`: a node named by its key, for reject reasons and messages.
pub(crate) fn node_text(label: &str, names: &[String], values: &[Value]) -> String {
    let pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(name, value)| match value {
            Value::String(s) => format!("{name}: {s:?}"),
            other => format!("{name}: {other}"),
        })
        .collect();
    format!("(:{label} {{{}}})", pairs.join(", "))
}
