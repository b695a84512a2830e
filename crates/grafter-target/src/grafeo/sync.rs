//! Applying `grafter sync`'s changes to the embedded store: upserts that leave exactly the
//! record's properties, deletes that take a node's relationships along, relationships
//! replaced by their anchor — and the mapping's sync state, all in one session transaction.
//!
//! The loader's lookup tables ([`super::index`]) find nodes by key and are kept true as
//! changes commit: a node or relationship removed here is forgotten by them, one created is
//! remembered. A change the graph already holds (read again in the overlap window) is
//! reported unchanged and not written.

use std::collections::HashMap;

use grafeo::GrafeoDB;
use grafeo::session::Session;
use grafeo_common::types::{EdgeId, NodeId, PropertyKey, PropertyMap, Value as G};
use grafter_model::{KeyHash, SyncState, Value, key_hash};

use super::convert::{from_grafeo, to_grafeo};
use super::encoded::{Properties, properties};
use super::index::EdgeIndex;
use super::write::{WriterState, stored_key_hash};
use crate::records::node_text;
use crate::{Anchor, AnchorKey, ChangeGate, ChangeOutcome, ChangeReport, ChangeSet, NodeSpec, RelRecord, RelSpec};

/// Label of the nodes holding sync states.
pub(crate) const SYNC_LABEL: &str = "_GrafterSync";

/// Lookup-table updates to make once the transaction has committed.
#[derive(Default)]
struct IndexChanges {
    nodes_created: Vec<(String, KeyHash, NodeId)>,
    nodes_deleted: Vec<(String, KeyHash, NodeId)>,
    edges_created: Vec<EdgeFacts>,
    edges_deleted: Vec<EdgeFacts>,
}

/// What the lookup tables need to know of a relationship.
struct EdgeFacts {
    id: EdgeId,
    rel_type: String,
    src: NodeId,
    dst: NodeId,
    properties: HashMap<PropertyKey, G>,
}

impl IndexChanges {
    fn apply(self, state: &mut WriterState) {
        for (label, key, id) in self.nodes_deleted {
            if let Some(index) = state.nodes.get_mut(&label) {
                index.remove(key, id);
            }
        }
        for (label, key, id) in self.nodes_created {
            if let Some(index) = state.nodes.get_mut(&label) {
                index.commit([(key, id)], []);
            }
        }
        for edge in self.edges_deleted {
            for_each_edge_index(state, &edge, |index, identity| index.remove(&identity, edge.id));
        }
        for edge in self.edges_created {
            for_each_edge_index(state, &edge, |index, identity| index.insert(identity, edge.id));
        }
    }
}

/// Calls `change` on every loaded relationship index of the edge's type, with the edge's
/// identity as that index sees it (its key properties differ from index to index).
fn for_each_edge_index(
    state: &mut WriterState,
    edge: &EdgeFacts,
    mut change: impl FnMut(&mut EdgeIndex, super::index::EdgeIdentity),
) {
    for ((rel_type, key_names), index) in &mut state.edges {
        if *rel_type != edge.rel_type {
            continue;
        }
        let values: Vec<Value> = key_names
            .iter()
            .map(|k| edge.properties.get(&PropertyKey::new(k.as_str())).map_or(Value::Null, from_grafeo))
            .collect();
        change(index, (edge.src, edge.dst, key_hash(&values)));
    }
}

/// Applies `changes` and stores the state `commit` returns, in one transaction.
pub(crate) fn apply(
    db: &GrafeoDB,
    state: &mut WriterState,
    changes: ChangeSet,
    mut gate: ChangeGate,
) -> Result<ChangeReport, String> {
    let mut session = db.session();
    session.begin_transaction().map_err(|e| e.to_string())?;
    let mut index_changes = IndexChanges::default();
    let outcome = match changes {
        ChangeSet::Nodes { spec, upserts, deletes } => {
            apply_nodes(db, &session, state, &spec, upserts, &deletes, &mut index_changes)
        }
        ChangeSet::Relationships { spec, anchor, upserts, deletes } => {
            apply_relationships(db, &session, state, &spec, anchor, &upserts, &deletes, &mut index_changes)
        }
    }
    .and_then(|report| {
        let sync_state = gate.settle_blocking(&report)?;
        store_state(&session, &sync_state)?;
        Ok(report)
    });
    match outcome {
        Ok(report) => {
            session.commit().map_err(|e| e.to_string())?;
            index_changes.apply(state);
            Ok(report)
        }
        Err(message) => {
            let _ = session.rollback();
            Err(message)
        }
    }
}

fn failed(e: grafeo_common::utils::error::Error) -> String {
    e.to_string()
}

/// Whether the element's stored properties already are exactly the record's (for the
/// mapped names: set ones equal, NULL ones absent).
fn holds(stored: &PropertyMap, wanted: &Properties) -> bool {
    wanted.set.iter().all(|(name, value)| stored.get(name) == Some(value))
        && wanted.unset.iter().all(|name| stored.get(name).is_none())
}

/// Deletes a node with its relationships.
fn delete_node(session: &Session, id: NodeId, changes: &mut IndexChanges) -> Result<(), String> {
    let mut edges: Vec<EdgeId> = session
        .get_neighbors_outgoing(id)
        .into_iter()
        .chain(session.get_neighbors_incoming(id))
        .map(|(_, edge)| edge)
        .collect();
    // A relationship from the node to itself is listed both ways.
    edges.sort_unstable();
    edges.dedup();
    for edge in edges {
        delete_edge(session, edge, changes)?;
    }
    session.delete_node(id).map_err(failed)?;
    Ok(())
}

fn delete_edge(session: &Session, id: EdgeId, changes: &mut IndexChanges) -> Result<(), String> {
    if let Some(edge) = session.get_edge(id) {
        changes.edges_deleted.push(EdgeFacts {
            id,
            rel_type: edge.edge_type.to_string(),
            src: edge.src,
            dst: edge.dst,
            properties: edge.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
    }
    session.delete_edge(id).map_err(failed)?;
    Ok(())
}

fn apply_nodes(
    db: &GrafeoDB,
    session: &Session,
    state: &mut WriterState,
    spec: &NodeSpec,
    upserts: Vec<crate::NodeRecord>,
    deletes: &[Vec<Value>],
    changes: &mut IndexChanges,
) -> Result<ChangeReport, String> {
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    let index = state.node_index(db, &spec.label, &key_names);
    let names: Vec<PropertyKey> = spec.properties.iter().map(|p| PropertyKey::new(p.as_str())).collect();
    let mut report = ChangeReport::default();
    for key in deletes {
        let hash = stored_key_hash(key);
        report.deletes.push(match index.get(hash) {
            Some(id) if session.node_exists(id) => {
                delete_node(session, id, changes)?;
                changes.nodes_deleted.push((spec.label.clone(), hash, id));
                ChangeOutcome::Deleted
            }
            _ => ChangeOutcome::Absent,
        });
    }
    for record in upserts {
        let key: Vec<Value> = spec.key.iter().map(|&i| record.properties[i].clone()).collect();
        let hash = stored_key_hash(&key);
        let wanted = properties(&names, &record.properties);
        let existing = index.get(hash).and_then(|id| session.get_node(id));
        report.upserts.push(match existing {
            Some(node) if holds(&node.properties, &wanted) => ChangeOutcome::Unchanged,
            Some(node) => {
                for (name, value) in wanted.set {
                    session.set_node_property(node.id, name.as_str(), value).map_err(failed)?;
                }
                for name in wanted.unset {
                    session.remove_node_property(node.id, name.as_str()).map_err(failed)?;
                }
                ChangeOutcome::Updated
            }
            None => {
                let id = session.create_node_with_props(&[spec.label.as_str()], wanted.set).map_err(failed)?;
                changes.nodes_created.push((spec.label.clone(), hash, id));
                ChangeOutcome::Created
            }
        });
    }
    Ok(report)
}

/// The relationships an anchor holds: of the mapping's type, from `start` to a node of the
/// end label (start anchor), into `end` from a node of the start label (end anchor), or
/// from `start` to `end` (pair).
fn anchored(
    session: &Session,
    spec: &RelSpec,
    anchor: Anchor,
    start: Option<NodeId>,
    end: Option<NodeId>,
) -> Vec<EdgeId> {
    let of_type = |edge: EdgeId| session.get_edge(edge).filter(|e| e.edge_type.as_str() == spec.rel_type);
    let labelled = |node: NodeId, label: &str| session.get_node(node).is_some_and(|n| n.has_label(label));
    match (anchor, start, end) {
        (Anchor::Start, Some(start), _) => session
            .get_neighbors_outgoing(start)
            .into_iter()
            .filter(|(other, edge)| of_type(*edge).is_some() && labelled(*other, &spec.end.label))
            .map(|(_, edge)| edge)
            .collect(),
        (Anchor::End, _, Some(end)) => session
            .get_neighbors_incoming(end)
            .into_iter()
            .filter(|(other, edge)| of_type(*edge).is_some() && labelled(*other, &spec.start.label))
            .map(|(_, edge)| edge)
            .collect(),
        (Anchor::Pair, Some(start), Some(end)) => session
            .get_neighbors_outgoing(start)
            .into_iter()
            .filter(|(other, edge)| *other == end && of_type(*edge).is_some())
            .map(|(_, edge)| edge)
            .collect(),
        _ => Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_relationships(
    db: &GrafeoDB,
    session: &Session,
    state: &mut WriterState,
    spec: &RelSpec,
    anchor: Anchor,
    upserts: &[RelRecord],
    deletes: &[AnchorKey],
    changes: &mut IndexChanges,
) -> Result<ChangeReport, String> {
    state.node_index(db, &spec.start.label, &spec.start.key_properties);
    state.node_index(db, &spec.end.label, &spec.end.key_properties);
    let starts = &state.nodes[&spec.start.label];
    let ends = &state.nodes[&spec.end.label];
    let find = |index: &super::index::NodeIndex, key: &[Value]| {
        if key.is_empty() { None } else { index.get(stored_key_hash(key)).filter(|id| session.node_exists(*id)) }
    };
    let names: Vec<PropertyKey> = spec.properties.iter().map(|p| PropertyKey::new(p.as_str())).collect();
    let mut report = ChangeReport::default();
    for key in deletes {
        let edges = anchored(session, spec, anchor, find(starts, &key.start), find(ends, &key.end));
        report.deletes.push(if edges.is_empty() { ChangeOutcome::Absent } else { ChangeOutcome::Deleted });
        for edge in edges {
            delete_edge(session, edge, changes)?;
        }
    }
    for record in upserts {
        let (start, end) = (find(starts, &record.start), find(ends, &record.end));
        let (Some(start), Some(end)) = (start, end) else {
            // The row no longer gives what its anchor holds (it points at a node that is not
            // there yet): that goes now, the new relationship once the node is there.
            for edge in anchored(session, spec, anchor, start, end) {
                delete_edge(session, edge, changes)?;
            }
            report.upserts.push(ChangeOutcome::Missing(match start {
                None => format!(
                    "start node {} not found",
                    node_text(&spec.start.label, &spec.start.key_properties, &record.start)
                ),
                Some(_) => {
                    format!("end node {} not found", node_text(&spec.end.label, &spec.end.key_properties, &record.end))
                }
            }));
            continue;
        };
        let wanted = properties(&names, &record.properties);
        let existing = anchored(session, spec, anchor, Some(start), Some(end));
        let same_ends = |edge: &EdgeId| session.get_edge(*edge).is_some_and(|e| e.src == start && e.dst == end);
        if let [only] = existing.as_slice()
            && same_ends(only)
        {
            let edge = session.get_edge(*only).ok_or("a relationship vanished inside the transaction")?;
            if holds(&edge.properties, &wanted) {
                report.upserts.push(ChangeOutcome::Unchanged);
                continue;
            }
            // Its identity in the lookup tables may change with its key properties.
            changes.edges_deleted.push(EdgeFacts {
                id: *only,
                rel_type: spec.rel_type.clone(),
                src: start,
                dst: end,
                properties: edge.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
            let mut after: HashMap<PropertyKey, G> =
                edge.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (name, value) in &wanted.set {
                session.set_edge_property(*only, name.as_str(), value.clone()).map_err(failed)?;
                after.insert(name.clone(), value.clone());
            }
            for name in &wanted.unset {
                session.remove_edge_property(*only, name.as_str()).map_err(failed)?;
                after.remove(name);
            }
            changes.edges_created.push(EdgeFacts {
                id: *only,
                rel_type: spec.rel_type.clone(),
                src: start,
                dst: end,
                properties: after,
            });
            report.upserts.push(ChangeOutcome::Updated);
            continue;
        }
        let replaced = !existing.is_empty();
        for edge in existing {
            delete_edge(session, edge, changes)?;
        }
        let id = session.create_edge_with_props(start, end, &spec.rel_type, wanted.set.clone()).map_err(failed)?;
        changes.edges_created.push(EdgeFacts {
            id,
            rel_type: spec.rel_type.clone(),
            src: start,
            dst: end,
            properties: wanted.set,
        });
        report.upserts.push(if replaced { ChangeOutcome::Updated } else { ChangeOutcome::Created });
    }
    Ok(report)
}

/// Stores a mapping's sync state inside the open transaction.
fn store_state(session: &Session, sync_state: &SyncState) -> Result<(), String> {
    let params: HashMap<String, G> = [
        ("mapping".to_owned(), to_grafeo(&Value::String(sync_state.mapping.clone()))),
        ("state".to_owned(), to_grafeo(&Value::String(sync_state.to_json()))),
    ]
    .into_iter()
    .collect();
    session
        .execute_cypher_with_params(
            &format!("MERGE (s:{SYNC_LABEL} {{mapping: $mapping}}) SET s.state = $state"),
            params,
        )
        .map_err(|e| format!("storing the sync state failed: {e}"))?;
    Ok(())
}

/// Stores several sync states in one transaction.
pub(crate) fn save_states(db: &GrafeoDB, states: &[SyncState]) -> Result<(), String> {
    let mut session = db.session();
    session.begin_transaction().map_err(|e| e.to_string())?;
    for sync_state in states {
        if let Err(message) = store_state(&session, sync_state) {
            let _ = session.rollback();
            return Err(message);
        }
    }
    session.commit().map_err(|e| e.to_string())
}

/// Every stored sync state.
pub(crate) fn states(db: &GrafeoDB) -> Result<Vec<SyncState>, String> {
    let result =
        db.session().execute_cypher(&format!("MATCH (s:{SYNC_LABEL}) RETURN s.state")).map_err(|e| e.to_string())?;
    result
        .into_rows()
        .into_iter()
        .map(|row| match row.first() {
            Some(G::String(json)) => {
                SyncState::from_json(json).map_err(|e| format!("a sync state cannot be read ({e}): {json}"))
            }
            other => Err(format!("a sync state node has no state: {other:?}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use grafter_model::{Cursor, SyncState, Value};

    use crate::grafeo::GrafeoTarget;
    use crate::{
        Access, Anchor, AnchorKey, ChangeOutcome, ChangeReport, ChangeSet, ChangeSync, EndpointSpec, GraphTarget,
        NodeRecord, NodeSpec, RelRecord, RelSpec, TargetError,
    };

    async fn target(dir: &tempfile::TempDir) -> GrafeoTarget {
        let target = GrafeoTarget::open(&dir.path().join("g.grafeo"), Access::Write).await.unwrap();
        target
            .query(
                "CREATE (a:Person {id: 1, name: 'Ada'}), (b:Person {id: 2}), (l:City {code: 'LDN'}), (p:City {code: 'PAR'}), \
                 (a)-[:LIVES_IN]->(l), (b)-[:LIVES_IN]->(l)",
                Vec::new(),
            )
            .await
            .unwrap();
        target
    }

    fn people() -> Arc<NodeSpec> {
        Arc::new(NodeSpec {
            mapping: "people".into(),
            label: "Person".into(),
            properties: vec!["id".into(), "name".into()],
            key: vec![0],
        })
    }

    fn lives_in() -> Arc<RelSpec> {
        Arc::new(RelSpec {
            mapping: "lives_in".into(),
            rel_type: "LIVES_IN".into(),
            start: EndpointSpec { label: "Person".into(), key_properties: vec!["id".into()] },
            end: EndpointSpec { label: "City".into(), key_properties: vec!["code".into()] },
            properties: Vec::new(),
            key: Vec::new(),
        })
    }

    fn person(id: i64, name: Option<&str>) -> NodeRecord {
        NodeRecord { properties: vec![Value::Int(id), name.map_or(Value::Null, Value::from)] }
    }

    fn lives(id: i64, city: &str) -> RelRecord {
        RelRecord { start: vec![Value::Int(id)], end: vec![Value::from(city)], properties: Vec::new() }
    }

    fn state(mapping: &str, batches: u64) -> SyncState {
        let mut state = SyncState::new(mapping, "sum", &Cursor::Key(vec![Value::Int(batches as i64)]), "test");
        state.batches = batches;
        state
    }

    /// Applies `changes` through the handover, answering with `answer` once settled.
    async fn apply(
        target: &GrafeoTarget,
        changes: ChangeSet,
        answer: Result<SyncState, String>,
    ) -> Result<ChangeReport, TargetError> {
        let sync: &dyn ChangeSync = target;
        let mut answer = Some(answer);
        sync.stage_changes(changes).await?.answer_with(|_| answer.take().expect("settled once")).await
    }

    async fn rows(target: &GrafeoTarget, cypher: &str) -> Vec<Vec<Value>> {
        target.query(cypher, Vec::new()).await.unwrap().rows
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn node_upserts_leave_exactly_the_record_and_deletes_take_relationships_along() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let changes = ChangeSet::Nodes {
            spec: people(),
            upserts: vec![person(1, Some("Ada")), person(2, Some("Bob")), person(3, None)],
            deletes: vec![vec![Value::Int(7)]],
        };
        let report = apply(&target, changes, Ok(state("people", 1))).await.unwrap();
        assert_eq!(report.upserts, [ChangeOutcome::Unchanged, ChangeOutcome::Updated, ChangeOutcome::Created]);
        assert_eq!(report.deletes, [ChangeOutcome::Absent]);
        let names = rows(&target, "MATCH (p:Person) RETURN p.id, p.name ORDER BY p.id").await;
        assert_eq!(
            names,
            [
                vec![Value::Int(1), Value::from("Ada")],
                vec![Value::Int(2), Value::from("Bob")],
                vec![Value::Int(3), Value::Null]
            ]
        );
        // A NULL removes the property an earlier version had.
        let changes =
            ChangeSet::Nodes { spec: people(), upserts: vec![person(1, None)], deletes: vec![vec![Value::Int(2)]] };
        let report = apply(&target, changes, Ok(state("people", 2))).await.unwrap();
        assert_eq!(
            (report.upserts[0].clone(), report.deletes[0].clone()),
            (ChangeOutcome::Updated, ChangeOutcome::Deleted)
        );
        assert_eq!(rows(&target, "MATCH (p:Person {id: 1}) RETURN p.name").await, [vec![Value::Null]]);
        assert_eq!(rows(&target, "MATCH (:Person)-[r:LIVES_IN]->() RETURN count(r)").await, [vec![Value::Int(1)]]);
        let states = target.sync_states().await.unwrap();
        assert_eq!((states.len(), states[0].batches), (1, 2), "the state is stored with the changes");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_rows_relationship_replaces_the_one_its_anchor_held() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let changes = ChangeSet::Relationships {
            spec: lives_in(),
            anchor: Anchor::Start,
            upserts: vec![lives(1, "PAR"), lives(2, "LDN"), lives(9, "LDN")],
            deletes: Vec::new(),
        };
        let report = apply(&target, changes, Ok(state("lives_in", 1))).await.unwrap();
        assert_eq!(report.upserts[..2], [ChangeOutcome::Updated, ChangeOutcome::Unchanged]);
        assert_eq!(report.upserts[2], ChangeOutcome::Missing("start node (:Person {id: 9}) not found".into()));
        let homes = "MATCH (p:Person)-[:LIVES_IN]->(c:City) RETURN p.id, c.code ORDER BY p.id";
        assert_eq!(
            rows(&target, homes).await,
            [vec![Value::Int(1), Value::from("PAR")], vec![Value::Int(2), Value::from("LDN")]]
        );
        // A move to a city not in the graph yet: the old relationship goes at once.
        let changes = ChangeSet::Relationships {
            spec: lives_in(),
            anchor: Anchor::Start,
            upserts: vec![lives(2, "NYC")],
            deletes: vec![AnchorKey { start: vec![Value::Int(1)], end: Vec::new() }],
        };
        let report = apply(&target, changes, Ok(state("lives_in", 2))).await.unwrap();
        assert!(matches!(report.upserts[0], ChangeOutcome::Missing(_)));
        assert_eq!(report.deletes, [ChangeOutcome::Deleted]);
        assert!(rows(&target, homes).await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failing_commit_hook_leaves_the_graph_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let changes = ChangeSet::Nodes {
            spec: people(),
            upserts: vec![person(5, Some("Eve"))],
            deletes: vec![vec![Value::Int(1)]],
        };
        let error = apply(&target, changes, Err("the reject file cannot be written".into())).await.unwrap_err();
        assert!(error.to_string().contains("the reject file cannot be written"), "{error}");
        assert_eq!(rows(&target, "MATCH (p:Person) RETURN count(p)").await, [vec![Value::Int(2)]]);
        assert!(target.sync_states().await.unwrap().is_empty());
    }
}
