//! Writing one batch into grafeo: split into new and existing elements by key, create the new
//! ones through the batch API, update the existing ones in place, store the checkpoint — all
//! in one session transaction.

use std::collections::HashMap;

use grafeo::GrafeoDB;
use grafeo::database::BatchEdge;
use grafeo_common::types::{NodeId, PropertyKey, Value as G};
use grafter_model::{KeyHash, Value, key_hash};
use rustc_hash::{FxHashMap, FxHashSet};

use super::bookkeeping::CHECKPOINT_LABEL;
use super::convert::{from_grafeo, to_grafeo};
use super::encoded::{EncodedBatch, EncodedNode, EncodedRel, Properties, properties};
use super::index::{EdgeIdentity, EdgeIndex, NodeIndex, Seen};
use crate::encoded::{Encoded, Form};
use crate::records::node_text;
use crate::{Checkpoint, NodeSpec, RecordBatch, RelSpec, RowOutcome, WriteGate, WriteReport};

/// The loader's memory between batches: lookup tables and where the run's ids begin.
pub(crate) struct WriterState {
    node_run_start: u64,
    edge_run_start: u64,
    /// The checkpoint node of each (run, mapping, partition) already stored, so that later
    /// batches update it in place instead of finding it by query.
    checkpoint_nodes: FxHashMap<(String, String, u32), NodeId>,
    pub(super) nodes: FxHashMap<String, NodeIndex>,
    pub(super) edges: FxHashMap<(String, Vec<String>), EdgeIndex>,
}

impl WriterState {
    /// State for a run starting now.
    pub fn new(db: &GrafeoDB) -> WriterState {
        let (node_run_start, edge_run_start) = next_ids(db);
        WriterState {
            node_run_start,
            edge_run_start,
            checkpoint_nodes: FxHashMap::default(),
            nodes: FxHashMap::default(),
            edges: FxHashMap::default(),
        }
    }

    /// Begins a run: with `marks` from an earlier attempt of the same run, elements that
    /// attempt wrote count as this run's. Returns the marks to keep.
    pub fn begin_run(&mut self, db: &GrafeoDB, marks: Option<&str>) -> Result<String, String> {
        let (first_node, first_edge) = match marks {
            Some(text) => {
                let json: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("run marks {text:?}: {e}"))?;
                let field = |name: &str| json.get(name).and_then(serde_json::Value::as_u64);
                match (field("first_node_id"), field("first_edge_id")) {
                    (Some(node), Some(edge)) => (node, edge),
                    _ => return Err(format!("run marks {text:?} lack first_node_id / first_edge_id")),
                }
            }
            None => next_ids(db),
        };
        *self = WriterState::new(db);
        self.node_run_start = first_node;
        self.edge_run_start = first_edge;
        Ok(serde_json::json!({"first_node_id": first_node, "first_edge_id": first_edge}).to_string())
    }

    pub(super) fn node_index(&mut self, db: &GrafeoDB, label: &str, key: &[String]) -> &mut NodeIndex {
        self.nodes.entry(label.to_owned()).or_insert_with(|| NodeIndex::load(db, label, key))
    }
}

/// The ids grafeo will hand out next: everything at or above them is written later.
fn next_ids(db: &GrafeoDB) -> (u64, u64) {
    (db.store().peek_next_node_id(), db.store().peek_next_edge_id())
}

/// The hash of key values as the store will hold them: temporal values are stored to the
/// microsecond, so they are hashed after the same round trip, or a re-run would not find them.
pub(super) fn stored_key_hash(values: &[Value]) -> KeyHash {
    let temporal = values.iter().any(|v| matches!(v, Value::Time(_) | Value::DateTime(_) | Value::DateTimeTz(_)));
    if temporal {
        let stored: Vec<Value> = values.iter().map(|v| from_grafeo(&to_grafeo(v))).collect();
        key_hash(&stored)
    } else {
        key_hash(values)
    }
}

/// Converts a batch to grafeo's types (on a worker thread, beside the writer).
pub(crate) fn encode(batch: RecordBatch) -> Encoded {
    match batch {
        RecordBatch::Nodes { spec, records } => {
            let names: Vec<PropertyKey> = spec.properties.iter().map(|p| PropertyKey::new(p.as_str())).collect();
            let rows: Vec<EncodedNode> = records
                .into_iter()
                .map(|record| {
                    let key_values: Vec<Value> = spec.key.iter().map(|&i| record.properties[i].clone()).collect();
                    EncodedNode {
                        key: stored_key_hash(&key_values),
                        key_values,
                        properties: properties(&names, &record.properties),
                    }
                })
                .collect();
            Encoded::new(rows.len(), Form::Grafeo(EncodedBatch::Nodes { spec, rows }))
        }
        RecordBatch::Relationships { spec, records } => {
            let names: Vec<PropertyKey> = spec.properties.iter().map(|p| PropertyKey::new(p.as_str())).collect();
            let rows: Vec<EncodedRel> = records
                .into_iter()
                .map(|record| {
                    let key_values: Vec<Value> = spec.key.iter().map(|&i| record.properties[i].clone()).collect();
                    let Properties { set, unset } = properties(&names, &record.properties);
                    EncodedRel {
                        start: stored_key_hash(&record.start),
                        end: stored_key_hash(&record.end),
                        key: stored_key_hash(&key_values),
                        edge: BatchEdge {
                            src: NodeId(0),
                            dst: NodeId(0),
                            edge_type: spec.rel_type.clone(),
                            properties: set,
                        },
                        unset,
                        start_values: record.start,
                        end_values: record.end,
                    }
                })
                .collect();
            Encoded::new(rows.len(), Form::Grafeo(EncodedBatch::Relationships { spec, rows }))
        }
    }
}

/// Writes an encoded batch and the checkpoint in one transaction. The error is the store's
/// message; per-row problems are outcomes, not errors.
pub(crate) fn write(
    db: &GrafeoDB,
    state: &mut WriterState,
    encoded: Encoded,
    checkpoint: &Checkpoint,
    mut gate: WriteGate,
) -> Result<WriteReport, String> {
    let Form::Grafeo(batch) = encoded.form else { return Err(Encoded::MISMATCH.into()) };
    let mut session = db.session();
    session.begin_transaction().map_err(|e| e.to_string())?;
    let outcome = match batch {
        EncodedBatch::Nodes { spec, rows } => write_nodes(db, &mut session, state, &spec, rows),
        EncodedBatch::Relationships { spec, rows } => write_relationships(db, &mut session, state, &spec, rows),
    }
    .and_then(|(mut report, apply)| {
        let started = std::time::Instant::now();
        let checkpoint_node = store_checkpoint(&session, state, &checkpoint.with_outcomes(&report))?;
        report.checkpoint_seconds = started.elapsed().as_secs_f64();
        gate.settle_blocking(&report)?;
        Ok((report, apply, checkpoint_node))
    });
    match outcome {
        Ok((report, apply, checkpoint_node)) => {
            session.commit().map_err(|e| e.to_string())?;
            // Only committed writes enter the lookup tables.
            apply(state);
            if let Some((key, id)) = checkpoint_node {
                state.checkpoint_nodes.insert(key, id);
            }
            Ok(report)
        }
        Err(message) => {
            let _ = session.rollback();
            Err(message)
        }
    }
}

/// Stores several checkpoints in one transaction.
pub(crate) fn save_checkpoints(
    db: &GrafeoDB,
    state: &mut WriterState,
    checkpoints: &[Checkpoint],
) -> Result<(), String> {
    let mut session = db.session();
    session.begin_transaction().map_err(|e| e.to_string())?;
    let mut nodes = Vec::with_capacity(checkpoints.len());
    for checkpoint in checkpoints {
        match store_checkpoint(&session, state, checkpoint) {
            Ok(node) => nodes.extend(node),
            Err(message) => {
                let _ = session.rollback();
                return Err(message);
            }
        }
    }
    session.commit().map_err(|e| e.to_string())?;
    state.checkpoint_nodes.extend(nodes);
    Ok(())
}

/// Updates to the lookup tables, applied once the transaction has committed.
type Apply = Box<dyn FnOnce(&mut WriterState)>;

fn write_nodes(
    db: &GrafeoDB,
    session: &mut grafeo::session::Session,
    state: &mut WriterState,
    spec: &NodeSpec,
    rows: Vec<EncodedNode>,
) -> Result<(WriteReport, Apply), String> {
    let run_start = state.node_run_start;
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    let index = state.node_index(db, &spec.label, &key_names);
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut in_batch: FxHashSet<KeyHash> = FxHashSet::with_capacity_and_hasher(rows.len(), Default::default());
    let mut creates = Vec::with_capacity(rows.len());
    let mut created_keys = Vec::with_capacity(rows.len());
    let mut updated: Vec<NodeId> = Vec::new();
    for row in rows {
        let duplicate = || {
            RowOutcome::Rejected(format!(
                "duplicate key: {} was already written by this run",
                node_text(&spec.label, &key_names, &row.key_values)
            ))
        };
        if !in_batch.insert(row.key) {
            outcomes.push(duplicate());
            continue;
        }
        match index.seen(row.key, run_start) {
            Seen::New => {
                created_keys.push(row.key);
                creates.push(row.properties.set);
                outcomes.push(RowOutcome::Created);
            }
            Seen::WrittenThisRun => outcomes.push(duplicate()),
            Seen::Existing(id) => {
                for (name, value) in row.properties.set {
                    session.set_node_property(id, name.as_str(), value).map_err(|e| e.to_string())?;
                }
                for name in row.properties.unset {
                    session.remove_node_property(id, name.as_str()).map_err(|e| e.to_string())?;
                }
                updated.push(id);
                outcomes.push(RowOutcome::Updated);
            }
        }
    }
    let ids = if creates.is_empty() {
        Vec::new()
    } else {
        session.batch_create_nodes_with_props(&spec.label, creates).map_err(|e| e.to_string())?
    };
    let label = spec.label.clone();
    let apply: Apply = Box::new(move |state: &mut WriterState| {
        if let Some(index) = state.nodes.get_mut(&label) {
            index.commit(created_keys.into_iter().zip(ids), updated);
        }
    });
    Ok((WriteReport { outcomes, checkpoint_seconds: 0.0 }, apply))
}

fn write_relationships(
    db: &GrafeoDB,
    session: &mut grafeo::session::Session,
    state: &mut WriterState,
    spec: &RelSpec,
    rows: Vec<EncodedRel>,
) -> Result<(WriteReport, Apply), String> {
    let run_start = state.edge_run_start;
    state.node_index(db, &spec.start.label, &spec.start.key_properties);
    state.node_index(db, &spec.end.label, &spec.end.key_properties);
    let key_names: Vec<String> = spec.key.iter().map(|&i| spec.properties[i].clone()).collect();
    let edge_key = (spec.rel_type.clone(), key_names.clone());
    if !state.edges.contains_key(&edge_key) {
        let loaded = EdgeIndex::load(db, &spec.rel_type, &key_names);
        state.edges.insert(edge_key.clone(), loaded);
    }
    let starts = &state.nodes[&spec.start.label];
    let ends = &state.nodes[&spec.end.label];
    let edges = &state.edges[&edge_key];

    let mut outcomes = Vec::with_capacity(rows.len());
    let mut in_batch: FxHashSet<EdgeIdentity> = FxHashSet::with_capacity_and_hasher(rows.len(), Default::default());
    let mut creates = Vec::with_capacity(rows.len());
    let mut created_identities = Vec::with_capacity(rows.len());
    let mut updated = Vec::new();
    for row in rows {
        let Some(start) = starts.get(row.start) else {
            outcomes.push(RowOutcome::Rejected(format!(
                "start node {} not found",
                node_text(&spec.start.label, &spec.start.key_properties, &row.start_values)
            )));
            continue;
        };
        let Some(end) = ends.get(row.end) else {
            outcomes.push(RowOutcome::Rejected(format!(
                "end node {} not found",
                node_text(&spec.end.label, &spec.end.key_properties, &row.end_values)
            )));
            continue;
        };
        let identity = (start, end, row.key);
        let duplicate = || {
            RowOutcome::Rejected(format!(
                "duplicate relationship: {}-[:{}]->{} was already written by this run{}",
                node_text(&spec.start.label, &spec.start.key_properties, &row.start_values),
                spec.rel_type,
                node_text(&spec.end.label, &spec.end.key_properties, &row.end_values),
                if key_names.is_empty() {
                    " (give the mapping a `key` if parallel relationships are intended)"
                } else {
                    ""
                }
            ))
        };
        if !in_batch.insert(identity) {
            outcomes.push(duplicate());
            continue;
        }
        match edges.seen(&identity, run_start) {
            Seen::New => {
                let mut edge = row.edge;
                edge.src = start;
                edge.dst = end;
                creates.push(edge);
                created_identities.push(identity);
                outcomes.push(RowOutcome::Created);
            }
            Seen::WrittenThisRun => outcomes.push(duplicate()),
            Seen::Existing(id) => {
                for (name, value) in row.edge.properties {
                    session.set_edge_property(id, name.as_str(), value).map_err(|e| e.to_string())?;
                }
                for name in row.unset {
                    session.remove_edge_property(id, name.as_str()).map_err(|e| e.to_string())?;
                }
                updated.push(id);
                outcomes.push(RowOutcome::Updated);
            }
        }
    }
    let ids =
        if creates.is_empty() { Vec::new() } else { session.batch_create_edges(creates).map_err(|e| e.to_string())? };
    let apply: Apply = Box::new(move |state: &mut WriterState| {
        if let Some(index) = state.edges.get_mut(&edge_key) {
            index.commit(created_identities.into_iter().zip(ids), updated);
        }
    });
    Ok((WriteReport { outcomes, checkpoint_seconds: 0.0 }, apply))
}

/// A checkpoint node's identity, and the node.
type CheckpointNode = ((String, String, u32), NodeId);

/// Stores the mapping's checkpoint inside the open transaction: updates its node in place
/// when this run already has one, else finds or creates it. Returns a node created or found
/// now, to remember once the transaction has committed.
fn store_checkpoint(
    session: &grafeo::session::Session,
    state: &WriterState,
    checkpoint: &Checkpoint,
) -> Result<Option<CheckpointNode>, String> {
    let count = |n: u64| G::Int64(i64::try_from(n).unwrap_or(i64::MAX));
    let fields: [(&str, G); 9] = [
        ("range", G::String(checkpoint.range.encode().into())),
        ("seconds", G::Float64(checkpoint.seconds)),
        ("checksum", G::String(checkpoint.checksum.as_str().into())),
        ("batches", count(checkpoint.batches)),
        ("cursor", G::String(checkpoint.cursor.encode().into())),
        ("read", count(checkpoint.read)),
        ("written", count(checkpoint.written)),
        ("rejected", count(checkpoint.rejected)),
        ("finished", G::Bool(checkpoint.finished)),
    ];
    let key = (checkpoint.run_id.clone(), checkpoint.mapping.clone(), checkpoint.partition);
    let fail = |e: grafeo_common::utils::error::Error| format!("storing the checkpoint failed: {e}");
    if let Some(&id) = state.checkpoint_nodes.get(&key) {
        for (name, value) in fields {
            session.set_node_property(id, name, value).map_err(fail)?;
        }
        return Ok(None);
    }
    let identity: [(&str, G); 3] = [
        ("run", G::String(checkpoint.run_id.as_str().into())),
        ("mapping", G::String(checkpoint.mapping.as_str().into())),
        ("partition", G::Int64(i64::from(checkpoint.partition))),
    ];
    // A resumed run finds the node an earlier attempt stored.
    let found = session
        .execute_cypher_with_params(
            &format!(
                "MATCH (c:{CHECKPOINT_LABEL} {{run: $run, mapping: $mapping, partition: $partition}}) RETURN id(c)"
            ),
            identity.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<HashMap<_, _>>(),
        )
        .map_err(fail)?;
    let existing = found.rows().first().and_then(|row| match row.first() {
        Some(G::Int64(id)) => u64::try_from(*id).ok().map(NodeId),
        _ => None,
    });
    let id = match existing {
        Some(id) => {
            for (name, value) in fields {
                session.set_node_property(id, name, value).map_err(fail)?;
            }
            id
        }
        None => {
            session.create_node_with_props(&[CHECKPOINT_LABEL], identity.into_iter().chain(fields)).map_err(fail)?
        }
    };
    Ok(Some((key, id)))
}
