//! Loading what the graph does not hold yet through FalkorDB's bulk-insert command
//! (`GRAPH.BULK`), the binary protocol `falkordb-bulk-loader` speaks.
//!
//! A Cypher write pays, for every relationship, two key lookups through the index inside
//! the server's single writer; `GRAPH.BULK` takes nodes as packed property values and
//! relationships as pairs of node ids, and is several times faster for both. It cannot
//! look anything up, so grafter must know each end node's id. It does when the run itself
//! created every node of the end's label: a label with no node when the run first writes
//! it is loaded in bulk, and grafter remembers each key's node id ([`IdTable`]: next to
//! nothing for integer keys read in order, about 50 bytes a key otherwise). A relationship
//! mapping goes in bulk when both its end labels did; anything else takes the Cypher way of
//! [`super::write`]. A resumed run rebuilds the tables of the labels the run created whole
//! (its checkpoints name them) and of the relationships between them from the graph, and
//! goes on in bulk ([`read_ids`], [`read_relationships`]): a few seconds' reading instead
//! of loading the rest of the run the Cypher way, several times slower.
//!
//! **Ids.** The server gives a new node the id of a deleted one if it has any, else the
//! next one; grafter predicts the ids of a batch's nodes, then checks
//! the prediction on the first node and on the batch's checkpoint (the last node the
//! command creates). A wrong guess (the graph reused the id of a deleted node) is repaired
//! by looking the batch's ids up by key, and the next batch is predicted from there.
//!
//! **Exactly once.** The command creates the batch's elements and a new
//! `_GrafterCheckpoint` node with the batch's checkpoint, and the server runs it whole
//! (it holds the graph's write lock throughout, and replicates or logs it only once done):
//! the batch and its checkpoint commit together. Readers of checkpoints take the newest
//! node: the most batches, and of two with as many the finished one (a partition's last
//! checkpoint carries no rows). [`collapse_checkpoints`] keeps only that one when the run
//! ends.
//!
//! **Marks.** Elements written in bulk carry no `_grafter_run` mark (removing marks from a
//! million elements when the run ends costs as much as writing them): the label they
//! belong to was new, so every element of it is this run's. Each node batch's checkpoint
//! names its label (`bulk_label`), so a resumed run knows it too and its lookups take any
//! element found there as its own ([`BulkState::owned`]).
//!
//! **Duplicates** are found here, not by the server: a node key or a relationship (its two
//! ends and key) met before in the run is rejected with the same reason as on the Cypher
//! way. Relationships are remembered by a 128-bit hash of their identity (16 bytes, about
//! 30 with the set's slack); all tables together stop taking new labels at
//! `MAX_REMEMBERED` entries, after which the Cypher way loads them.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use grafter_model::{KeyHash, Value, key_hash, quote_name};
use rustc_hash::FxHashSet;

use super::connection::{Client, failed};
use super::ids::IdTable;
use super::index::create_index;
use super::literal::reported_form;
use super::send::exactly_once;
use crate::cypher::{CHECKPOINT_LABEL, scan};
use crate::cypher::batch::{PreparedBatch, Shape, duplicate_node, duplicate_relationship};
use crate::cypher::bookkeeping::{OWNED_LABEL, checkpoint_fields, owned_labels};
use crate::{Checkpoint, KeyIndex, NodeSpec, RelSpec, RowOutcome, TargetError, WriteGate, WriteReport};

/// Elements (node ids and relationship identities) the tables may hold before bulk loading
/// stops taking new labels: about 1 GiB.
const MAX_REMEMBERED: usize = 24_000_000;

/// Type tags of the bulk format's values.
const TAG_NULL: u8 = 0;
const TAG_BOOL: u8 = 1;
const TAG_DOUBLE: u8 = 2;
const TAG_STRING: u8 = 3;
const TAG_LONG: u8 = 4;
const TAG_ARRAY: u8 = 5;

/// A label's standing for bulk loading in this run.
enum LabelIds {
    /// Every node of the label was created by this run in bulk: its key → node id, and the
    /// key property names those keys are made of.
    Complete { key_names: Vec<String>, ids: IdTable },
    /// The label held nodes before the run, and its batches met only existing elements
    /// (see [`BulkState::learn_existing`]): the ids of its nodes by key, read back once, for
    /// writing them again by id ([`super::by_id`]). Not in bulk.
    Existing { key_names: Vec<String>, ids: IdTable },
    /// The label held nodes before, or some went the Cypher way: not in bulk.
    Unavailable,
}

/// What a run knows for bulk loading: the tables of node ids and relationships written.
pub(crate) struct BulkState {
    /// Labels this run created whole, in bulk, unmarked (see [`BulkState::owned`]); `None`
    /// until read back from the run's checkpoints (a resumed run).
    owned: Option<HashSet<String>>,
    /// Whether this process wrote marked elements (the Cypher way), or resumed a run that
    /// may have: the marks must be removed when the run finishes.
    pub marked: bool,
    labels: HashMap<String, LabelIds>,
    /// Per relationship type, the identities (ends and key) written by this run.
    relationships: HashMap<String, FxHashSet<KeyHash>>,
    /// The id the server will give the next node, when known.
    next_id: Option<u64>,
    /// Entries held by all tables.
    remembered: usize,
    /// Whether the next call for key indexes is the one before the load, which leaves out
    /// those of labels new to the graph.
    defer_indexes: bool,
    /// The key indexes left out, created after the load (or at the first lookup by key).
    deferred: Vec<KeyIndex>,
    /// Whether each label asked about held no node when first asked (the run holds the
    /// graph's lock: only the run changes that).
    empty_at_start: HashMap<String, bool>,
    /// Whether this run resumes an earlier attempt, whose bulk tables are rebuilt from the
    /// graph when first needed.
    resumed: bool,
    /// Relationship types whose identities could not be rebuilt exactly: the Cypher way.
    unrebuilt: HashSet<String>,
    /// Labels whose ids are not to be read back for writing by id: keyed differently by
    /// two mappings, or tried once (keys that repeat or do not read back exactly). (Which
    /// labels and types failed a write by id is the client's `not_by_id`.)
    ids_not_to_read: HashSet<String>,
    /// Per label that held nodes before the run, the records of batches that met only
    /// existing elements so far (see [`BulkState::learn_existing`]).
    met_existing: HashMap<String, usize>,
}

impl BulkState {
    /// The state of a run starting, in bulk where `enabled`: a first attempt with empty
    /// tables; a resumed one learns from the graph which labels the run created whole, and
    /// their ids.
    pub(crate) fn new(enabled: bool, resumed: bool) -> BulkState {
        BulkState {
            owned: if resumed { None } else { Some(HashSet::new()) },
            marked: resumed,
            labels: HashMap::new(),
            relationships: HashMap::new(),
            next_id: None,
            remembered: 0,
            defer_indexes: enabled && !resumed,
            deferred: Vec::new(),
            empty_at_start: HashMap::new(),
            resumed,
            unrebuilt: HashSet::new(),
            ids_not_to_read: HashSet::new(),
            met_existing: HashMap::new(),
        }
    }

    /// Whether `label` held no node before this run wrote any (asked of the server once).
    async fn empty_at_start(&mut self, client: &Client, label: &str) -> Result<bool, TargetError> {
        if let Some(&empty) = self.empty_at_start.get(label) {
            return Ok(empty);
        }
        let empty = crate::cypher::scan::count_nodes(client, label).await? == 0;
        self.empty_at_start.insert(label.to_owned(), empty);
        Ok(empty)
    }

    /// Ends the call for key indexes before the load: the next one creates them all.
    pub(crate) fn indexes_asked(&mut self) {
        self.defer_indexes = false;
    }

    /// Whether `index` is left for after the load: asked before a first attempt's load, of
    /// a label new to the graph. Asked again after the load, it is not.
    pub(crate) async fn defers(&mut self, client: &Client, index: &KeyIndex) -> Result<bool, TargetError> {
        if !self.defer_indexes {
            self.deferred.clear();
            return Ok(false);
        }
        if self.deferred.contains(index) {
            return Ok(true);
        }
        if self.empty_at_start(client, &index.label).await? {
            self.deferred.push(index.clone());
            return Ok(true);
        }
        Ok(false)
    }

    /// Whether every element the Cypher way's lookup of `shape` can find was written by
    /// this run, unmarked, in bulk: nodes of a label this run created whole, or
    /// relationships between two such labels.
    pub(crate) async fn owned(&mut self, client: &Client, run_id: &str, shape: &Shape) -> Result<bool, TargetError> {
        let owned = self.owned_labels(client, run_id).await?;
        Ok(match shape {
            Shape::Nodes(spec) => owned.contains(&spec.label),
            Shape::Relationships(spec) => owned.contains(&spec.start.label) && owned.contains(&spec.end.label),
        })
    }

    /// The labels this run created whole, read from its checkpoints the first time a resumed
    /// run asks.
    async fn owned_labels(&mut self, client: &Client, run_id: &str) -> Result<&HashSet<String>, TargetError> {
        if self.owned.is_none() {
            self.owned = Some(owned_labels(client, run_id).await?);
        }
        Ok(self.owned.get_or_insert_with(HashSet::new))
    }

    /// Whether `batch` goes in bulk: its label new to the graph (nodes), or both end labels
    /// loaded in bulk by this run with the keys the relationship names (relationships).
    /// Asked only of batches encoded for bulk: in a run without `?bulk=off`, first or resumed.
    pub(crate) async fn takes(
        &mut self,
        client: &Client,
        target: &str,
        run_id: &str,
        shape: &Shape,
    ) -> Result<bool, TargetError> {
        let takes = self.decide(client, target, run_id, shape).await?;
        if !takes {
            // The Cypher way finds nodes by key: the indexes left for after the load are
            // needed now.
            let labels: Vec<&str> = match shape {
                Shape::Nodes(spec) => vec![spec.label.as_str()],
                Shape::Relationships(spec) => vec![spec.start.label.as_str(), spec.end.label.as_str()],
            };
            let (now, later): (Vec<KeyIndex>, Vec<KeyIndex>) = std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|index| labels.contains(&index.label.as_str()));
            self.deferred = later;
            for index in &now {
                create_index(client, target, index).await?;
            }
        }
        Ok(takes)
    }

    async fn decide(&mut self, client: &Client, target: &str, run_id: &str, shape: &Shape) -> Result<bool, TargetError> {
        match shape {
            Shape::Nodes(spec) => {
                if !self.labels.contains_key(&spec.label) {
                    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
                    self.learn_label(client, target, run_id, &spec.label, key_names).await?;
                }
                let same_key = match self.labels.get(&spec.label) {
                    Some(LabelIds::Complete { key_names, .. }) => {
                        key_names.iter().map(String::as_str).eq(spec.key_names())
                    }
                    _ => return Ok(false),
                };
                if !same_key {
                    // Another mapping keys this label differently: relationships would look
                    // its nodes up by a key the table does not hold.
                    self.give_up(&spec.label);
                }
                Ok(same_key)
            }
            Shape::Relationships(spec) => {
                if self.resumed {
                    // Ends whose node mappings the earlier attempt finished: their ids are
                    // read back, as when it is their nodes that go on.
                    for end in [&spec.start, &spec.end] {
                        if !self.labels.contains_key(&end.label) {
                            self.learn_label(client, target, run_id, &end.label, end.key_properties.clone()).await?;
                        }
                    }
                }
                let complete = |label: &str, names: &[String]| matches!(self.labels.get(label), Some(LabelIds::Complete { key_names, .. }) if key_names == names);
                let mut takes = complete(&spec.start.label, &spec.start.key_properties)
                    && complete(&spec.end.label, &spec.end.key_properties)
                    && self.remembered < MAX_REMEMBERED
                    && !self.unrebuilt.contains(&spec.rel_type);
                if takes && self.resumed && !self.relationships.contains_key(&spec.rel_type) {
                    // What the earlier attempt wrote of the type, so that duplicates are
                    // judged as one clean run would.
                    match read_relationships(client, spec).await? {
                        Some(written) => {
                            tracing::debug!(
                                "{target}: read back {} `{}` relationships the earlier attempt loaded: the type goes on in bulk",
                                written.len(),
                                spec.rel_type
                            );
                            self.remembered += written.len();
                            self.relationships.insert(spec.rel_type.clone(), written);
                        }
                        None => {
                            self.unrebuilt.insert(spec.rel_type.clone());
                            takes = false;
                        }
                    }
                }
                if takes && !self.relationships.contains_key(&spec.rel_type) {
                    tracing::debug!(
                        "{target}: both ends of `{}` were loaded in bulk by this run: its relationships load in bulk",
                        spec.rel_type
                    );
                }
                Ok(takes)
            }
        }
    }

    /// Decides, the first time this process meets `label`, whether its nodes are all in
    /// the id table from here on: new to the graph (they load in bulk), created whole by the
    /// earlier attempt of a resumed run (their ids are read back), or neither.
    async fn learn_label(
        &mut self,
        client: &Client,
        target: &str,
        run_id: &str,
        label: &str,
        key_names: Vec<String>,
    ) -> Result<(), TargetError> {
        // The earlier attempt's labels first, before this run adds one of its own.
        let created_earlier = self.owned_labels(client, run_id).await?.contains(label);
        let standing = if self.remembered >= MAX_REMEMBERED {
            LabelIds::Unavailable
        } else if self.empty_at_start(client, label).await? {
            tracing::debug!("{target}: label `{label}` is new to the graph: its nodes load in bulk");
            LabelIds::Complete { key_names, ids: IdTable::default() }
        } else if self.resumed && created_earlier {
            match read_ids(client, label, &key_names).await? {
                Some((ids, nodes)) => {
                    tracing::debug!(
                        "{target}: read back the ids of {nodes} `{label}` nodes the earlier attempt loaded: the label goes on in bulk"
                    );
                    self.remembered += ids.entries();
                    LabelIds::Complete { key_names, ids }
                }
                None => LabelIds::Unavailable,
            }
        } else {
            LabelIds::Unavailable
        };
        if matches!(standing, LabelIds::Complete { .. }) {
            self.owned.get_or_insert_with(HashSet::new).insert(label.to_owned());
        }
        self.labels.insert(label.to_owned(), standing);
        Ok(())
    }

    /// Takes a label out of bulk loading: its nodes are no longer all in the table.
    fn give_up(&mut self, label: &str) {
        if let Some(LabelIds::Complete { ids, .. } | LabelIds::Existing { ids, .. }) = self.labels.get(label) {
            self.remembered -= ids.entries();
        }
        self.labels.insert(label.to_owned(), LabelIds::Unavailable);
        self.ids_not_to_read.insert(label.to_owned());
    }

    /// Reads back, once, the ids of the nodes of `label` (keyed by `key_names`), which held
    /// nodes before the run, when its batches keep meeting only existing elements (`met`
    /// records more): the batches after are written by id ([`super::by_id`]). Reading costs
    /// about a fifteenth of writing a record the lookup way, so it waits until the records
    /// met are at least a thirty-second of the label's nodes: a short run into a big label
    /// does not read it all. Nothing is read for a label in bulk, keyed otherwise by another
    /// mapping, already read or tried, or too big for the tables.
    pub(crate) async fn learn_existing(
        &mut self,
        client: &Client,
        target: &str,
        label: &str,
        key_names: &[String],
        met: usize,
    ) -> Result<(), TargetError> {
        if self.ids_not_to_read.contains(label)
            || matches!(self.labels.get(label), Some(LabelIds::Complete { .. } | LabelIds::Existing { .. }))
        {
            return Ok(());
        }
        let seen = self.met_existing.entry(label.to_owned()).or_default();
        *seen += met;
        let seen = *seen;
        let nodes = crate::cypher::scan::count_nodes(client, label).await? as usize;
        if seen.saturating_mul(32) < nodes {
            return Ok(());
        }
        self.ids_not_to_read.insert(label.to_owned());
        if self.remembered.saturating_add(nodes) > MAX_REMEMBERED {
            return Ok(());
        }
        if let Some((ids, nodes)) = read_ids(client, label, key_names).await? {
            tracing::debug!("{target}: read the ids of the {nodes} `{label}` nodes the graph held: its batches are written by id");
            self.remembered += ids.entries();
            self.labels.insert(label.to_owned(), LabelIds::Existing { key_names: key_names.to_vec(), ids });
        }
        Ok(())
    }

    /// The node ids that write `prepared` by id ([`super::by_id`]), one per batch position (a
    /// node's id, or a relationship's `[start, end]`), when every record to write has them.
    pub(crate) fn ids_for(&self, prepared: &PreparedBatch) -> Option<Value> {
        if prepared.positions.is_empty() {
            return None;
        }
        // A relationship's ends may be in either table: created in bulk by this run, or held before.
        let table = |label: &str, names: &[String]| match self.labels.get(label) {
            Some(LabelIds::Existing { key_names, ids } | LabelIds::Complete { key_names, ids }) if key_names == names => {
                Some(ids)
            }
            _ => None,
        };
        let mut list = vec![Value::Null; prepared.outcomes.len()];
        match &prepared.shape {
            Shape::Nodes(spec) => {
                let ids = match self.labels.get(&spec.label) {
                    Some(LabelIds::Existing { key_names, ids }) if key_names.iter().map(String::as_str).eq(spec.key_names()) => ids,
                    _ => return None,
                };
                for (n, &position) in prepared.positions.iter().enumerate() {
                    list[position] = Value::Int(ids.get(&prepared.lookup_rows[n][1..])? as i64);
                }
            }
            Shape::Relationships(spec) => {
                let starts = table(&spec.start.label, &spec.start.key_properties)?;
                let ends = table(&spec.end.label, &spec.end.key_properties)?;
                let split = 1 + spec.start.key_properties.len();
                let stop = split + spec.end.key_properties.len();
                for (n, &position) in prepared.positions.iter().enumerate() {
                    let row = &prepared.lookup_rows[n];
                    let start = starts.get(&row[1..split])? as i64;
                    let end = ends.get(&row[split..stop])? as i64;
                    list[position] = Value::List(vec![Value::Int(start), Value::Int(end)]);
                }
            }
        }
        Some(Value::List(list))
    }

    /// Writes `prepared` (which [`BulkState::takes`]) and its checkpoint in one command.
    pub(crate) async fn write(
        &mut self,
        client: &Client,
        target: &str,
        prepared: &mut PreparedBatch,
        rows: &[Vec<Value>],
        checkpoint: &Checkpoint,
        mut gate: WriteGate,
    ) -> Result<WriteReport, TargetError> {
        let fail = |message| TargetError::Write { target: target.to_owned(), message };
        let shape = prepared.shape.clone();
        // Outcomes first: duplicates and missing ends, found in this run's tables.
        let (keep, ends) = match &shape {
            Shape::Nodes(spec) => (self.node_outcomes(spec, prepared, rows), Vec::new()),
            Shape::Relationships(spec) => self.relationship_outcomes(spec, prepared, rows),
        };
        let report = prepared.report();
        gate.settle(&report).await.map_err(fail)?;
        let stored = checkpoint.with_outcomes(&report);
        let base = match self.next_id {
            Some(id) => id,
            None => next_node_id(client, target).await?,
        };

        let mut blobs = Vec::new();
        let (nodes, edges) = match &shape {
            Shape::Nodes(spec) => {
                if !keep.is_empty() {
                    blobs.push(node_blob(spec, keep.iter().map(|&n| &rows[n][1..])));
                }
                (keep.len() + 1, 0)
            }
            Shape::Relationships(_) => (1, keep.len()),
        };
        let bulk_label = match &shape {
            Shape::Nodes(spec) => Some(spec.label.as_str()),
            Shape::Relationships(_) => None,
        };
        blobs.push(checkpoint_blob(&stored, bulk_label));
        let node_tokens = blobs.len();
        if let Shape::Relationships(spec) = &shape
            && !keep.is_empty()
        {
            blobs.push(relationship_blob(spec, keep.iter().zip(ends).map(|(&n, ends)| (ends, &rows[n]))));
        }
        let mut command = redis::cmd("GRAPH.BULK");
        command.arg(client.graph()).arg(nodes).arg(edges).arg(node_tokens).arg(blobs.len() - node_tokens);
        for blob in &blobs {
            command.arg(blob.as_slice());
        }
        exactly_once(client, target, &stored, || client.command(command.clone())).await?;

        // Where did the nodes go? The checkpoint node was created last.
        let checkpoint_id = base + nodes as u64 - 1;
        let first = match &shape {
            Shape::Nodes(spec) if !keep.is_empty() => Some((spec.as_ref(), &rows[keep[0]])),
            _ => None,
        };
        if predicted(client, target, &stored, checkpoint_id, base, first).await? {
            if let Shape::Nodes(spec) = &shape {
                self.remember_nodes(spec, keep.iter().enumerate().map(|(i, &n)| (&rows[n], base + i as u64)));
            }
            self.next_id = Some(checkpoint_id + 1);
        } else {
            let mut highest = checkpoint_node_id(client, target, &stored).await?;
            // Another writer took ids since the last batch (the run's own records, written
            // beside the load): the command's nodes are then still the ids right before its
            // checkpoint, unless the graph reused deleted ids among them.
            let shifted = (highest + 1).checked_sub(nodes as u64);
            if let Some(base) = shifted
                && predicted(client, target, &stored, highest, base, first).await?
            {
                tracing::debug!(
                    "{target}: node ids were {} past where predicted (another writer took ids since the last batch)",
                    highest.abs_diff(checkpoint_id)
                );
                if let Shape::Nodes(spec) = &shape {
                    self.remember_nodes(spec, keep.iter().enumerate().map(|(i, &n)| (&rows[n], base + i as u64)));
                }
                self.next_id = Some(highest + 1);
                return Ok(report);
            }
            tracing::debug!(
                "{target}: node ids were not where predicted (the graph reused deleted ones); looking them up"
            );
            if let Shape::Nodes(spec) = &shape {
                // Looking up by key wants the key's index now.
                let (now, later): (Vec<KeyIndex>, Vec<KeyIndex>) =
                    std::mem::take(&mut self.deferred).into_iter().partition(|index| index.label == spec.label);
                self.deferred = later;
                for index in &now {
                    create_index(client, target, index).await?;
                }
                let found = node_ids(client, target, spec, keep.iter().map(|&n| &rows[n])).await?;
                if found.len() != keep.len() {
                    return Err(fail(format!(
                        "after a bulk write of {} {} nodes, {} are found by key",
                        keep.len(),
                        spec.label,
                        found.len()
                    )));
                }
                highest = found.iter().copied().chain(std::iter::once(highest)).max().unwrap_or(highest);
                self.remember_nodes(spec, keep.iter().map(|&n| &rows[n]).zip(found));
            }
            self.next_id = Some(highest + 1);
        }
        Ok(report)
    }

    /// Rejects keys this run wrote before; returns the indexes (into `rows`) to write.
    fn node_outcomes(&mut self, spec: &NodeSpec, prepared: &mut PreparedBatch, rows: &[Vec<Value>]) -> Vec<usize> {
        let Some(LabelIds::Complete { ids, .. }) = self.labels.get(&spec.label) else { return Vec::new() };
        let mut keep = Vec::with_capacity(rows.len());
        for (n, row) in rows.iter().enumerate() {
            let position = prepared.positions[n];
            if ids.get(&node_key(spec, row)).is_some() {
                prepared.outcomes[position] = Some(duplicate_node(&prepared.described[position]));
            } else {
                keep.push(n);
            }
        }
        keep
    }

    /// Rejects relationships whose end is missing or which this run wrote before; returns
    /// the indexes (into `rows`) to write, and their start and end node ids.
    fn relationship_outcomes(
        &mut self,
        spec: &RelSpec,
        prepared: &mut PreparedBatch,
        rows: &[Vec<Value>],
    ) -> (Vec<usize>, Vec<(u64, u64)>) {
        let mut keep = Vec::with_capacity(rows.len());
        let mut kept_ends = Vec::with_capacity(rows.len());
        let mut written = std::mem::take(self.relationships.entry(spec.rel_type.clone()).or_default());
        let (starts, ends) = (spec.start.key_properties.len(), spec.end.key_properties.len());
        for (n, row) in rows.iter().enumerate() {
            let position = prepared.positions[n];
            let described = &prepared.described[position];
            let start = self.node_id(&spec.start.label, &row[1..1 + starts]);
            let end = self.node_id(&spec.end.label, &row[1 + starts..1 + starts + ends]);
            let outcome = match (start, end) {
                (None, _) => RowOutcome::Rejected(format!("start node of {described} not found")),
                (_, None) => RowOutcome::Rejected(format!("end node of {described} not found")),
                (Some(start), Some(end)) => {
                    let key: Vec<Value> = spec.key.iter().map(|&k| row[1 + starts + ends + k].clone()).collect();
                    let identity = key_hash(&[Value::Int(start as i64), Value::Int(end as i64), Value::List(key)]);
                    if written.insert(identity) {
                        self.remembered += 1;
                        keep.push(n);
                        kept_ends.push((start, end));
                        continue;
                    }
                    duplicate_relationship(described, spec)
                }
            };
            prepared.outcomes[position] = Some(outcome);
        }
        self.relationships.insert(spec.rel_type.clone(), written);
        (keep, kept_ends)
    }

    fn node_id(&self, label: &str, key: &[Value]) -> Option<u64> {
        match self.labels.get(label) {
            Some(LabelIds::Complete { ids, .. }) => ids.get(key),
            _ => None,
        }
    }

    fn remember_nodes<'a>(&mut self, spec: &NodeSpec, nodes: impl Iterator<Item = (&'a Vec<Value>, u64)>) {
        if let Some(LabelIds::Complete { ids, .. }) = self.labels.get_mut(&spec.label) {
            let before = ids.entries();
            for (row, id) in nodes {
                ids.insert(&node_key(spec, row), id);
            }
            self.remembered += ids.entries() - before;
        }
    }
}

/// Whether a key value reads back from FalkorDB exactly as it was written, so that a table
/// rebuilt from the graph finds what the rows name (doubles come back rounded, and temporal
/// values as FalkorDB's own).
fn reads_back_exactly(value: &Value) -> bool {
    matches!(value, Value::Int(_) | Value::String(_) | Value::Bool(_) | Value::Null)
}

/// The id of every node of `label` by its key (`key_names`), read back from the graph page
/// by page: a resumed run's table of a label the run created whole. `None` when a key does
/// not read back exactly as written ([`reads_back_exactly`]). With the table, how many nodes.
async fn read_ids(client: &Client, label: &str, key_names: &[String]) -> Result<Option<(IdTable, u64)>, TargetError> {
    let keys: Vec<String> = key_names.iter().map(|k| format!("n.{}", quote_name(k))).collect();
    let cypher = format!(
        "MATCH (n:{}) WHERE id(n) >= $from AND id(n) < $to RETURN id(n), {}",
        quote_name(label),
        keys.join(", ")
    );
    let (mut table, mut nodes) = (IdTable::default(), 0);
    let whole = scan::each_page(client, &cypher, |rows| {
        for row in rows {
            let mut row = row.into_iter();
            let Some(Value::Int(id)) = row.next() else { return ControlFlow::Break(()) };
            let key: Vec<Value> = row.collect();
            if !key.iter().all(reads_back_exactly) || table.get(&key).is_some() {
                return ControlFlow::Break(());
            }
            table.insert(&key, id as u64);
            nodes += 1;
        }
        ControlFlow::Continue(())
    })
    .await?;
    Ok(whole.then_some((table, nodes)))
}

/// The identities (ends' node ids and key) of every relationship of `spec`'s type between
/// its labels, read back from the graph, paged by the start nodes' ids. `None` when a key
/// does not read back exactly as written.
async fn read_relationships(client: &Client, spec: &RelSpec) -> Result<Option<FxHashSet<KeyHash>>, TargetError> {
    let mut returned = vec!["id(a)".to_owned(), "id(b)".to_owned()];
    returned.extend(spec.key.iter().map(|&k| format!("x.{}", quote_name(&spec.properties[k]))));
    let cypher = format!(
        "MATCH (a:{}) WHERE id(a) >= $from AND id(a) < $to MATCH (a)-[x:{}]->(b:{}) RETURN {}",
        quote_name(&spec.start.label),
        quote_name(&spec.rel_type),
        quote_name(&spec.end.label),
        returned.join(", ")
    );
    let mut written = FxHashSet::default();
    let whole = scan::each_page(client, &cypher, |rows| {
        for row in rows {
            let mut row = row.into_iter();
            let (Some(Value::Int(start)), Some(Value::Int(end))) = (row.next(), row.next()) else {
                return ControlFlow::Break(());
            };
            let key: Vec<Value> = row.collect();
            if !key.iter().all(reads_back_exactly) {
                return ControlFlow::Break(());
            }
            written.insert(key_hash(&[Value::Int(start), Value::Int(end), Value::List(key)]));
        }
        ControlFlow::Continue(())
    })
    .await?;
    Ok(whole.then_some(written))
}

/// The key of a node row `[i, property…]`, as relationships look it up.
fn node_key(spec: &NodeSpec, row: &[Value]) -> Vec<Value> {
    spec.key.iter().map(|&k| row[1 + k].clone()).collect()
}

/// The id the next node is likely to get: one past the highest in use.
async fn next_node_id(client: &Client, target: &str) -> Result<u64, TargetError> {
    let reply = client.read_query("MATCH (n) RETURN max(id(n))", &[]).await.map_err(|e| failed(target, e))?;
    Ok(match reply.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => u64::try_from(*n).map_or(0, |n| n + 1),
        _ => 0,
    })
}

/// Whether the batch's nodes are where they were predicted: the checkpoint node at
/// `checkpoint_id`, and `first` (a node spec and its row) at `base`.
async fn predicted(
    client: &Client,
    target: &str,
    stored: &Checkpoint,
    checkpoint_id: u64,
    base: u64,
    first: Option<(&NodeSpec, &Vec<Value>)>,
) -> Result<bool, TargetError> {
    let ids = [("c".to_owned(), Value::Int(checkpoint_id as i64)), ("a".to_owned(), Value::Int(base as i64))];
    let reply = client
        .read_query(
            &format!("MATCH (c:{CHECKPOINT_LABEL}) WHERE id(c) = $c RETURN c.run, c.mapping, c.partition, c.batches"),
            &ids,
        )
        .await
        .map_err(|e| failed(target, e))?;
    let expected = vec![
        Value::String(stored.run_id.clone()),
        Value::String(stored.mapping.clone()),
        Value::Int(i64::from(stored.partition)),
        Value::Int(stored.batches as i64),
    ];
    if reply.rows.first() != Some(&expected) {
        return Ok(false);
    }
    let Some((spec, row)) = first else { return Ok(true) };
    let keys: Vec<String> =
        spec.key_names().iter().map(|name| format!("a.{}", grafter_model::quote_name(name))).collect();
    let reply = client
        .read_query(
            &format!(
                "MATCH (a:{}) WHERE id(a) = $a RETURN {}",
                grafter_model::quote_name(&spec.label),
                keys.join(", ")
            ),
            &ids,
        )
        .await
        .map_err(|e| failed(target, e))?;
    let expected: Vec<Value> = spec.key.iter().map(|&k| reported_form(row[1 + k].clone())).collect();
    Ok(reply.rows.first() == Some(&expected))
}

/// The id of the checkpoint node a bulk write created.
async fn checkpoint_node_id(client: &Client, target: &str, stored: &Checkpoint) -> Result<u64, TargetError> {
    let params = [
        ("run".to_owned(), Value::String(stored.run_id.clone())),
        ("mapping".to_owned(), Value::String(stored.mapping.clone())),
        ("partition".to_owned(), Value::Int(i64::from(stored.partition))),
        ("batches".to_owned(), Value::Int(stored.batches as i64)),
    ];
    let reply = client
        .read_query(
            &format!(
                "MATCH (c:{CHECKPOINT_LABEL} {{run: $run, mapping: $mapping, partition: $partition, batches: $batches}}) RETURN max(id(c))"
            ),
            &params,
        )
        .await
        .map_err(|e| failed(target, e))?;
    match reply.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) if *n >= 0 => Ok(*n as u64),
        _ => Err(TargetError::Write {
            target: target.to_owned(),
            message: format!(
                "the checkpoint of batch {} of `{}` is not in the graph after its write",
                stored.batches, stored.mapping
            ),
        }),
    }
}

/// The ids of the nodes this run wrote for `rows`, in their order, by key.
async fn node_ids<'a>(
    client: &Client,
    target: &str,
    spec: &NodeSpec,
    rows: impl Iterator<Item = &'a Vec<Value>>,
) -> Result<Vec<u64>, TargetError> {
    let keys: Vec<Value> = rows
        .enumerate()
        .map(|(i, row)| {
            Value::List(
                std::iter::once(Value::Int(i as i64)).chain(spec.key.iter().map(|&k| row[1 + k].clone())).collect(),
            )
        })
        .collect();
    let pattern: Vec<String> = spec
        .key_names()
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{}: r[{}]", grafter_model::quote_name(name), i + 1))
        .collect();
    // Every node of the label is this run's: the key finds the one just written.
    let cypher = format!(
        "UNWIND $rows AS r MATCH (o:{} {{{}}}) RETURN r[0], id(o)",
        grafter_model::quote_name(&spec.label),
        pattern.join(", ")
    );
    let params = [("rows".to_owned(), Value::List(keys))];
    let reply = client.read_query(&cypher, &params).await.map_err(|e| failed(target, e))?;
    let mut found: Vec<(i64, u64)> = reply
        .rows
        .into_iter()
        .filter_map(|row| match (row.first(), row.get(1)) {
            (Some(Value::Int(i)), Some(Value::Int(id))) => Some((*i, *id as u64)),
            _ => None,
        })
        .collect();
    found.sort_unstable();
    found.dedup_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

/// Keeps, of each checkpoint of `run_id`, only the newest node (bulk writes add one per
/// batch), as `bookkeeping::newest_first` orders them: the most batches, then finished.
pub(crate) async fn collapse_checkpoints(client: &Client, target: &str, run_id: &str) -> Result<(), TargetError> {
    let cypher = format!(
        "MATCH (c:{CHECKPOINT_LABEL} {{run: $run}}) \
         WITH c ORDER BY c.batches DESC, CASE WHEN c.finished THEN 1 ELSE 0 END DESC \
         WITH c.mapping AS m, c.partition AS p, collect(c) AS cs WHERE size(cs) > 1 \
         UNWIND cs[1..] AS old DELETE old"
    );
    client
        .idempotent(&cypher, &[("run".to_owned(), Value::String(run_id.to_owned()))])
        .await
        .map_err(|e| failed(target, e))?;
    Ok(())
}

// ------------------------------------------------------------------ the binary format

fn push_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(name.as_bytes());
    out.push(0);
}

/// A token's header: the label (or type), then its property names.
fn header<'a>(name: &str, properties: impl ExactSizeIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    push_name(&mut out, name);
    out.extend_from_slice(&(properties.len() as u32).to_le_bytes());
    for property in properties {
        push_name(&mut out, property);
    }
    out
}

/// Appends one value in the bulk format. Values have gone through `storable`: booleans,
/// integers, doubles, strings without NUL and lists of those; anything else is written as
/// its text, as `storable` would have.
fn push_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(b) => {
            out.push(TAG_BOOL);
            out.push(u8::from(*b));
        }
        Value::Float(x) => {
            out.push(TAG_DOUBLE);
            out.extend_from_slice(&x.to_le_bytes());
        }
        Value::Int(i) => {
            out.push(TAG_LONG);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::String(s) => {
            out.push(TAG_STRING);
            push_name(out, s);
        }
        Value::List(items) => {
            out.push(TAG_ARRAY);
            out.extend_from_slice(&(items.len() as i64).to_le_bytes());
            for item in items {
                push_value(out, item);
            }
        }
        other => {
            out.push(TAG_STRING);
            push_name(out, &other.to_string());
        }
    }
}

fn node_blob<'a>(spec: &NodeSpec, rows: impl Iterator<Item = &'a [Value]>) -> Vec<u8> {
    let mut out = header(&spec.label, spec.properties.iter().map(String::as_str));
    for row in rows {
        for value in row {
            push_value(&mut out, value);
        }
    }
    out
}

fn relationship_blob<'a>(spec: &RelSpec, rows: impl Iterator<Item = ((u64, u64), &'a Vec<Value>)>) -> Vec<u8> {
    let mut out = header(&spec.rel_type, spec.properties.iter().map(String::as_str));
    let first_property = 1 + spec.start.key_properties.len() + spec.end.key_properties.len();
    for ((start, end), row) in rows {
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
        for value in &row[first_property..] {
            push_value(&mut out, value);
        }
    }
    out
}

/// The batch's checkpoint as one `_GrafterCheckpoint` node; for a node batch, with the
/// label it created (`bulk_label`).
fn checkpoint_blob(stored: &Checkpoint, bulk_label: Option<&str>) -> Vec<u8> {
    let Value::Map(fields) = checkpoint_fields(stored) else { unreachable!("checkpoint fields are a map") };
    let mut identity = vec![
        ("run", Value::String(stored.run_id.clone())),
        ("mapping", Value::String(stored.mapping.clone())),
        ("partition", Value::Int(i64::from(stored.partition))),
    ];
    if let Some(label) = bulk_label {
        identity.push((OWNED_LABEL, Value::String(label.to_owned())));
    }
    let all: Vec<(&str, &Value)> =
        identity.iter().map(|(k, v)| (*k, v)).chain(fields.iter().map(|(k, v)| (k.as_str(), v))).collect();
    let mut out = header(CHECKPOINT_LABEL, all.iter().map(|(k, _)| *k));
    for (_, value) in all {
        push_value(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_packed_as_the_server_reads_them() {
        let mut out = Vec::new();
        for value in [
            Value::Null,
            Value::Bool(true),
            Value::Int(-2),
            Value::Float(0.5),
            Value::String("é".into()),
            Value::List(vec![Value::Int(1)]),
        ] {
            push_value(&mut out, &value);
        }
        let mut expected = vec![TAG_NULL, TAG_BOOL, 1, TAG_LONG];
        expected.extend_from_slice(&(-2i64).to_le_bytes());
        expected.push(TAG_DOUBLE);
        expected.extend_from_slice(&0.5f64.to_le_bytes());
        expected.extend_from_slice(&[TAG_STRING, 0xc3, 0xa9, 0, TAG_ARRAY]);
        expected.extend_from_slice(&1i64.to_le_bytes());
        expected.push(TAG_LONG);
        expected.extend_from_slice(&1i64.to_le_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn a_header_names_the_label_then_counts_and_names_the_properties() {
        let out = header("Person", ["id", "name"].into_iter());
        assert_eq!(out, b"Person\0\x02\0\0\0id\0name\0");
    }
}
