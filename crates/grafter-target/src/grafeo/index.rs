//! The lookup tables that make loading idempotent and fast: which node has a given key, and
//! which relationship already joins two nodes.
//!
//! They are built from the store the first time a label or type is touched (so a run against
//! a graph that already holds data finds it) and kept up to date as batches commit. The
//! store's own indexes serve queries; these serve the loader, which needs millions of
//! lookups a second and, for relationships, a lookup the store has no index for.
//!
//! Whether an element was written by the current run is told by its id: grafeo hands out
//! ids in increasing order, so everything at or above the high-water mark taken when the run
//! began is the run's own. Elements from before the run that the run updated are remembered
//! in `updated`. A key met twice in one run is a duplicate and is rejected, as one clean run
//! would do.

use grafeo::GrafeoDB;
use grafeo_common::types::{EdgeId, NodeId, PropertyKey};
use grafter_model::{KeyHash, Value, key_hash};
use rustc_hash::{FxHashMap, FxHashSet};

use super::convert::from_grafeo;

/// Where a key stands in the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen<Id> {
    /// Not in the graph.
    New,
    /// In the graph from before this run, not yet touched by it.
    Existing(Id),
    /// Already written by this run.
    WrittenThisRun,
}

/// Key → node for one label.
#[derive(Debug, Default)]
pub(crate) struct NodeIndex {
    by_key: FxHashMap<KeyHash, NodeId>,
    updated: FxHashSet<NodeId>,
}

impl NodeIndex {
    /// Builds the index of `label`'s nodes already in the store, keyed by `key` properties.
    pub fn load(db: &GrafeoDB, label: &str, key: &[String]) -> NodeIndex {
        let store = db.store();
        if !store.all_labels().iter().any(|l| l == label) {
            return NodeIndex::default();
        }
        let ids = store.nodes_by_label(label);
        let columns: Vec<Vec<Option<grafeo_common::types::Value>>> =
            key.iter().map(|k| store.get_node_property_batch(&ids, &PropertyKey::new(k.as_str()))).collect();
        let mut by_key = FxHashMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (row, id) in ids.iter().enumerate() {
            let values: Vec<Value> =
                columns.iter().map(|column| column[row].as_ref().map_or(Value::Null, from_grafeo)).collect();
            // A node from elsewhere may lack a key property; it can never match a record.
            if values.iter().any(Value::is_null) {
                continue;
            }
            by_key.entry(key_hash(&values)).or_insert(*id);
        }
        NodeIndex { by_key, updated: FxHashSet::default() }
    }

    /// The node with this key, if any.
    pub fn get(&self, key: KeyHash) -> Option<NodeId> {
        self.by_key.get(&key).copied()
    }

    /// Where `key` stands, given the run's first node id.
    pub fn seen(&self, key: KeyHash, run_start: u64) -> Seen<NodeId> {
        match self.by_key.get(&key) {
            None => Seen::New,
            Some(id) if id.as_u64() >= run_start || self.updated.contains(id) => Seen::WrittenThisRun,
            Some(id) => Seen::Existing(*id),
        }
    }

    /// Forgets a node that was deleted (if the key still names it).
    pub fn remove(&mut self, key: KeyHash, id: NodeId) {
        if self.by_key.get(&key) == Some(&id) {
            self.by_key.remove(&key);
        }
    }

    /// Records committed writes.
    pub fn commit(
        &mut self,
        created: impl IntoIterator<Item = (KeyHash, NodeId)>,
        updated: impl IntoIterator<Item = NodeId>,
    ) {
        self.by_key.extend(created);
        self.updated.extend(updated);
    }
}

/// Identity of a relationship: its endpoints and the hash of its key properties.
pub(crate) type EdgeIdentity = (NodeId, NodeId, KeyHash);

/// (start, end, key) → relationship, for one type and key.
#[derive(Debug, Default)]
pub(crate) struct EdgeIndex {
    by_identity: FxHashMap<EdgeIdentity, EdgeId>,
    updated: FxHashSet<EdgeId>,
}

impl EdgeIndex {
    /// Builds the index of `rel_type` relationships already in the store.
    pub fn load(db: &GrafeoDB, rel_type: &str, key: &[String]) -> EdgeIndex {
        // Listing a type's edges walks every edge in the store; a type the store has never
        // seen (the usual first load) needs no walk.
        if !db.store().all_edge_types().iter().any(|t| t == rel_type) {
            return EdgeIndex::default();
        }
        let keys: Vec<PropertyKey> = key.iter().map(|k| PropertyKey::new(k.as_str())).collect();
        let mut by_identity = FxHashMap::default();
        for edge in db.store().edges_with_type(rel_type) {
            let values: Vec<Value> =
                keys.iter().map(|k| edge.properties.get(k).map_or(Value::Null, from_grafeo)).collect();
            by_identity.entry((edge.src, edge.dst, key_hash(&values))).or_insert(edge.id);
        }
        EdgeIndex { by_identity, updated: FxHashSet::default() }
    }

    /// Forgets a relationship that was deleted.
    pub fn remove(&mut self, identity: &EdgeIdentity, id: EdgeId) {
        if self.by_identity.get(identity) == Some(&id) {
            self.by_identity.remove(identity);
        }
    }

    /// Remembers a relationship created outside a run (by sync).
    pub fn insert(&mut self, identity: EdgeIdentity, id: EdgeId) {
        self.by_identity.entry(identity).or_insert(id);
    }

    /// Where this relationship stands, given the run's first edge id.
    pub fn seen(&self, identity: &EdgeIdentity, run_start: u64) -> Seen<EdgeId> {
        match self.by_identity.get(identity) {
            None => Seen::New,
            Some(id) if id.as_u64() >= run_start || self.updated.contains(id) => Seen::WrittenThisRun,
            Some(id) => Seen::Existing(*id),
        }
    }

    /// Records committed writes.
    pub fn commit(
        &mut self,
        created: impl IntoIterator<Item = (EdgeIdentity, EdgeId)>,
        updated: impl IntoIterator<Item = EdgeId>,
    ) {
        self.by_identity.extend(created);
        self.updated.extend(updated);
    }
}
