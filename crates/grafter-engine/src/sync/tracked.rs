//! A mapping `grafter sync` follows, checked against the source before anything is written:
//! how its changes are read (a cursor column, or a change-log table), which columns are a
//! row's identity (its key), and how that identity leads back to what the row gave in the
//! graph — its node, or its relationships through an [`Anchor`].
//!
//! Sync reads rows unfiltered (a soft-deleted row and a row whose reference became NULL
//! must be seen, to remove what they gave), with a few columns beyond the mapping's own:
//! the identity, the cursor and the soft-delete column, appended after the scan columns so
//! that the mapping's compiled expressions read the row as in a run.

use grafter_model::{Cursor, LogicalType, Value, key_hash};
use grafter_plan::{ChangeLogConfig, MappingKind, SyncSettings, Tracking};
use grafter_source::{Filter, KeyRange, Read, ScanRequest, Source};
use grafter_target::{Anchor, AnchorKey};

use crate::EngineError;
use crate::prepare::{PreparedMapping, Shape};

/// How a cursor's values step back by the overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorKind {
    /// Dates and timestamps: back by the overlap's duration.
    Temporal,
    /// Integers (version numbers, sequences): back by `overlap_integer`.
    Integer,
}

/// The change log's columns, as requested from the log table, in this order.
pub(crate) struct LogLayout {
    /// The log table.
    pub table: String,
    /// Its columns: id, table name, operation, record key, changed at.
    pub columns: Vec<String>,
    /// How its `changed_at` steps back.
    pub kind: CursorKind,
}

/// A mapping ready to sync.
pub(crate) struct Tracked {
    pub prepared: PreparedMapping,
    pub tracking: Tracking,
    /// Checksum of the mapping and its tracking: a stored state only continues this.
    pub checksum: String,
    /// The row identity: the read's key columns (primary key, or `order_by`).
    pub identity: Vec<String>,
    /// Their logical types, to read keys written as text in a change log.
    pub identity_types: Vec<LogicalType>,
    /// Columns requested: the mapping's scan columns, then the extras.
    pub columns: Vec<String>,
    /// Positions in `columns` of the identity columns.
    pub identity_at: Vec<usize>,
    /// Position of the cursor column (cursor mode).
    pub cursor_at: Option<usize>,
    /// How the cursor (or the change log's time) steps back.
    pub cursor_kind: CursorKind,
    /// Position of the soft-delete column.
    pub deleted_at: Option<usize>,
    /// Positions of columns whose NULL means "no relationship" (a reference).
    pub references_at: Vec<usize>,
    /// How a relationship row's relationships are found.
    pub anchor: Option<Anchor>,
    /// The change log, in change-log mode.
    pub log: Option<LogLayout>,
}

impl Tracked {
    /// Checks `prepared` for sync against the source.
    pub async fn new(
        prepared: PreparedMapping,
        source: &dyn Source,
        settings: &SyncSettings,
    ) -> Result<Tracked, EngineError> {
        let mapping = &prepared.mapping;
        let fail = |message: String, hint: String| EngineError::SyncMapping {
            mapping: mapping.name.clone(),
            location: mapping.location.to_string(),
            message,
            hint,
        };
        let tracking = mapping.tracking.clone().ok_or_else(|| {
            fail("it has no change tracking".into(), "give it `cursor = \"…\"` or `change_log = \"…\"`".into())
        })?;
        // The identity comes from the read's key, found as the run finds its scan order.
        let identity = prepared.request.order_by.clone();
        if identity.is_empty() {
            return Err(fail(
                "its read has no key, so a changed row cannot be told from the others".into(),
                "map a table with a primary key, or set `order_by` to the column(s) that identify a row".into(),
            ));
        }
        let read = prepared.request.read.clone();
        let available = source.columns(&read).await?;
        let type_of = |name: &str| available.iter().find(|c| c.name == name).map(|c| c.logical_type);
        let identity_types: Vec<LogicalType> =
            identity.iter().map(|c| type_of(c).unwrap_or(LogicalType::Any)).collect();

        let mut columns = prepared.bound.scan_columns.clone();
        let mut position = |name: &str| match columns.iter().position(|c| c == name) {
            Some(at) => at,
            None => {
                columns.push(name.to_owned());
                columns.len() - 1
            }
        };
        let identity_at: Vec<usize> = identity.iter().map(|c| position(c)).collect();
        let deleted_at = mapping.soft_delete.as_deref().map(&mut position);
        let (cursor_at, cursor_kind, log) = match &tracking {
            Tracking::Cursor(column) => {
                let kind = match type_of(column) {
                    None => {
                        return Err(fail(
                            format!("cursor `{column}` is not a column of {read}"),
                            format!(
                                "columns: {}",
                                available.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                    Some(kind) => cursor_kind(kind).ok_or_else(|| {
                        fail(
                            format!("cursor `{column}` is a {} column", type_name(kind)),
                            "a cursor is a timestamp, date or integer column that every write sets to a greater value (e.g. `updated_at … DEFAULT now()` kept by the application or a trigger)".into(),
                        )
                    })?,
                };
                (Some(position(column)), kind, None)
            }
            Tracking::ChangeLog(table) => {
                let layout = log_layout(table, &settings.change_log, source)
                    .await
                    .map_err(|(message, hint)| fail(message, hint))?;
                (None, layout.kind, Some(layout))
            }
        };
        let references_at: Vec<usize> = prepared.bound.skip_null.iter().map(|c| position(c)).collect();
        let anchor = match &prepared.mapping.kind {
            MappingKind::Node { .. } => None,
            MappingKind::Relationship { .. } => Some(anchor_of(&prepared, &identity).map_err(|(m, h)| fail(m, h))?),
        };
        if log.is_some() {
            // A deleted row is known by its key alone: what it gave must follow from the key.
            deletes_follow_from_identity(&prepared, &identity, anchor).map_err(|(m, h)| fail(m, h))?;
        }
        let checksum = format!(
            "{}|{tracking}|{}|{}",
            mapping.checksum,
            identity.join(","),
            mapping.soft_delete.as_deref().unwrap_or("")
        );
        Ok(Tracked {
            prepared,
            tracking,
            checksum,
            identity,
            identity_types,
            columns,
            identity_at,
            cursor_at,
            cursor_kind,
            deleted_at,
            references_at,
            anchor,
            log,
        })
    }

    /// The mapping's name.
    pub fn name(&self) -> &str {
        &self.prepared.mapping.name
    }

    /// The key of a watermark: the cursor column then the identity (cursor mode), or the
    /// log's time and id (change-log mode).
    pub fn watermark_key(&self) -> (Read, Vec<String>) {
        match &self.log {
            Some(log) => (Read::Table(log.table.clone()), vec![log.columns[4].clone(), log.columns[0].clone()]),
            None => {
                let cursor = self.columns[self.cursor_at.expect("cursor mode has a cursor")].clone();
                let mut key = vec![cursor];
                key.extend(self.identity.iter().cloned());
                (self.prepared.request.read.clone(), key)
            }
        }
    }

    /// A request reading the changes after `watermark`: from the watermark itself when there
    /// is no overlap (keyset, exact), else from `overlap` before its cursor value.
    pub fn changes_request(&self, watermark: &Cursor, settings: &SyncSettings, batch_size: usize) -> ScanRequest {
        let (read, order_by) = self.watermark_key();
        let (columns, mut filters) = match &self.log {
            Some(log) => (
                log.columns.clone(),
                vec![Filter::OneOf(
                    log.columns[1].clone(),
                    self.table_names().into_iter().map(Value::String).collect(),
                )],
            ),
            None => (self.columns.clone(), Vec::new()),
        };
        let mut after = Cursor::Start;
        if let Cursor::Key(values) = watermark {
            match crate::sync::watermark::step_back(&values[0], self.cursor_kind, settings) {
                None => after = watermark.clone(),
                Some(from) => filters.push(Filter::AtLeast(order_by[0].clone(), from)),
            }
        }
        ScanRequest {
            read,
            columns,
            skip_null: Vec::new(),
            order_by,
            after,
            batch_size,
            range: KeyRange::all(),
            filters,
        }
    }

    /// A request reading every row of the mapping's read, in key order.
    pub fn table_request(&self, batch_size: usize) -> ScanRequest {
        ScanRequest {
            read: self.prepared.request.read.clone(),
            columns: self.columns.clone(),
            skip_null: Vec::new(),
            order_by: self.identity.clone(),
            after: Cursor::Start,
            batch_size,
            range: KeyRange::all(),
            filters: Vec::new(),
        }
    }

    /// A request reading the mapping's rows whose identity is one of `keys`.
    pub fn rows_request(&self, keys: Vec<Vec<Value>>) -> ScanRequest {
        let batch_size = keys.len().max(1);
        ScanRequest { filters: vec![Filter::KeyIn(keys)], ..self.table_request(batch_size) }
    }

    /// The names change-log entries may give the mapping's table: as the mapping writes
    /// it, and without its schema (what a trigger's `TG_TABLE_NAME` gives).
    pub fn table_names(&self) -> Vec<String> {
        let Read::Table(table) = &self.prepared.request.read else { return Vec::new() };
        let mut names = vec![table.clone()];
        if let Some((_, bare)) = table.rsplit_once('.') {
            names.push(bare.to_owned());
        }
        names
    }

    /// A row's identity.
    pub fn identity_of(&self, values: &[Value]) -> Vec<Value> {
        self.identity_at.iter().map(|&i| values.get(i).cloned().unwrap_or(Value::Null)).collect()
    }

    /// A row holding only `identity` (everything else NULL): what a deleted row is known by.
    pub fn row_of_identity(&self, identity: &[Value]) -> Vec<Value> {
        let mut values = vec![Value::Null; self.columns.len()];
        for (&at, value) in self.identity_at.iter().zip(identity) {
            values[at] = value.clone();
        }
        values
    }

    /// What a row (a full one, or one of [`Tracked::row_of_identity`]) gave in the graph,
    /// to remove: its node's key, or its relationships' anchor.
    pub fn removal_of(&self, values: &[Value]) -> Result<Removal, String> {
        let mut values = values.to_vec();
        if !self.prepared.remap.is_empty() {
            self.prepared.remap.apply(&mut values)?;
        }
        let bound = &self.prepared.bound;
        let eval_all = |exprs: &mut dyn Iterator<Item = &grafter_plan::transform::Compiled>, what: &str| {
            exprs
                .map(|expr| match expr.eval(&values) {
                    Ok(Value::Null) => Err(format!("{what} is null")),
                    Ok(value) => Ok(value),
                    Err(e) => Err(format!("{what}: {e}")),
                })
                .collect::<Result<Vec<Value>, String>>()
        };
        match (&self.prepared.shape, self.anchor) {
            (Shape::Node(_), _) => {
                let key = eval_all(&mut bound.key.iter().map(|&i| &bound.properties[i].expr), "the node key")?;
                Ok(Removal::Node(key))
            }
            (Shape::Relationship(_), Some(anchor)) => {
                let start = if matches!(anchor, Anchor::Start | Anchor::Pair) {
                    eval_all(&mut bound.start_key.iter(), "the start node key")?
                } else {
                    Vec::new()
                };
                let end = if matches!(anchor, Anchor::End | Anchor::Pair) {
                    eval_all(&mut bound.end_key.iter(), "the end node key")?
                } else {
                    Vec::new()
                };
                Ok(Removal::Relationships(AnchorKey { start, end }))
            }
            (Shape::Relationship(_), None) => Err("a relationship mapping without an anchor".into()),
        }
    }
}

/// What a removed row gave: a node (by key) or the relationships at an anchor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Removal {
    /// The node with this key.
    Node(Vec<Value>),
    /// The relationships at this anchor.
    Relationships(AnchorKey),
}

impl Removal {
    /// A hash telling removals (and upserts) of one element apart from the others.
    pub fn identity_hash(&self) -> grafter_model::KeyHash {
        match self {
            Removal::Node(key) => key_hash(key),
            Removal::Relationships(anchor) => {
                let mut all = anchor.start.clone();
                all.push(Value::Null);
                all.extend(anchor.end.iter().cloned());
                key_hash(&all)
            }
        }
    }
}

/// A logical type's name as grafter writes it (`string`, `decimal`, …).
fn type_name(kind: LogicalType) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{kind:?}"))
}

/// How a cursor column of this type steps back, if it can be one.
fn cursor_kind(kind: LogicalType) -> Option<CursorKind> {
    match kind {
        LogicalType::Date | LogicalType::DateTime | LogicalType::DateTimeTz => Some(CursorKind::Temporal),
        LogicalType::Int => Some(CursorKind::Integer),
        _ => None,
    }
}

/// The change log's columns, checked to exist, and how its time steps back.
async fn log_layout(table: &str, layout: &ChangeLogConfig, source: &dyn Source) -> Result<LogLayout, (String, String)> {
    let read = Read::Table(table.to_owned());
    let available = source.columns(&read).await.map_err(|e| {
        (format!("change log `{table}`: {e}"), "create the change-log table, or name it in `change_log`".into())
    })?;
    let columns = vec![
        layout.id.clone(),
        layout.table.clone(),
        layout.operation.clone(),
        layout.key.clone(),
        layout.changed_at.clone(),
    ];
    let names: Vec<&str> = available.iter().map(|c| c.name.as_str()).collect();
    for (column, role) in columns.iter().zip(["id", "table", "operation", "key", "changed_at"]) {
        if !names.contains(&column.as_str()) {
            return Err((
                format!("change log `{table}` has no column `{column}` (its `{role}`)"),
                format!("its columns: {}; name yours in [sync.change_log] {role} = \"…\"", names.join(", ")),
            ));
        }
    }
    let changed_at = available.iter().find(|c| c.name == layout.changed_at).map(|c| c.logical_type);
    let kind = changed_at.and_then(cursor_kind).ok_or_else(|| {
        (
            format!("change log `{table}`: `{}` is not a timestamp, date or integer column", layout.changed_at),
            "the change log orders changes by when they happened".into(),
        )
    })?;
    Ok(LogLayout { table: table.to_owned(), columns, kind })
}

/// The anchor of a relationship mapping whose rows are identified by `identity`: the
/// endpoint (or both) whose key is exactly the identity, each key value a bare column.
fn anchor_of(prepared: &PreparedMapping, identity: &[String]) -> Result<Anchor, (String, String)> {
    let bound = &prepared.bound;
    let bare = |exprs: &[grafter_plan::transform::Compiled]| -> Option<Vec<String>> {
        exprs.iter().map(|e| e.as_column().map(|i| bound.scan_columns[i].clone())).collect()
    };
    let same = |mut a: Vec<String>, b: &[String]| {
        let mut b = b.to_vec();
        a.sort();
        a.dedup();
        b.sort();
        a == b
    };
    let start = bare(&bound.start_key);
    let end = bare(&bound.end_key);
    if let Some(start) = &start
        && same(start.clone(), identity)
    {
        return Ok(Anchor::Start);
    }
    if let Some(end) = &end
        && same(end.clone(), identity)
    {
        return Ok(Anchor::End);
    }
    if let (Some(start), Some(end)) = (&start, &end) {
        let both: Vec<String> = start.iter().chain(end).cloned().collect();
        if same(both, identity) && start.len() + end.len() == identity.len() {
            return Ok(Anchor::Pair);
        }
    }
    Err((
        format!(
            "its rows are identified by ({}), which is neither its start node's key, nor its end node's, nor both together, so the relationship a changed row gave cannot be found again",
            identity.join(", ")
        ),
        "sync relationships read from a table whose key is a node's key (a foreign key column of that node's table) or both nodes' keys (a join table); or set `order_by` to such columns".into(),
    ))
}

/// Checks that a deleted row, known only by its identity, still tells what to remove: the
/// node key (or anchored keys) must be computed from identity columns alone.
fn deletes_follow_from_identity(
    prepared: &PreparedMapping,
    identity: &[String],
    anchor: Option<Anchor>,
) -> Result<(), (String, String)> {
    let bound = &prepared.bound;
    let reads_only_identity = |expr: &grafter_plan::transform::Compiled| {
        expr.column_indexes().iter().all(|&i| identity.contains(&bound.scan_columns[i]))
    };
    let ok = match anchor {
        None => bound.key.iter().all(|&i| reads_only_identity(&bound.properties[i].expr)),
        // Anchors are bare identity columns by construction.
        Some(_) => true,
    };
    if ok {
        Ok(())
    } else {
        Err((
            format!(
                "its node key is computed from columns other than the row's key ({}), so the node of a deleted row cannot be found from the change log",
                identity.join(", ")
            ),
            "key the label by the table's key columns, or track it with `cursor` and `soft_delete` instead".into(),
        ))
    }
}
