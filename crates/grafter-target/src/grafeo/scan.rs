//! Reading the embedded graph back for verification: a label's nodes or a type's
//! relationships as rows of values, streamed in batches from a worker thread, and nodes
//! looked up by key.
//!
//! Rows are read straight from the store, column by column for each batch of ids
//! (`get_node_property_batch`), which is several times faster than a Cypher projection and
//! holds only a batch of rows at a time. What the store hands out first is the list of ids
//! of a label (8 bytes a node): grafeo lists a label no other way. Values come back through
//! the same conversion as query results, so they compare with [`GraphReader::stored_form`]
//! values.
//!
//! [`GraphReader::stored_form`]: crate::GraphReader::stored_form

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use grafeo::GrafeoDB;
use grafeo_common::types::{NodeId, PropertyKey, Value as G};
use grafter_model::{KeyHash, Value, key_hash};
use rustc_hash::FxHashSet;
use tokio::sync::mpsc;

use super::convert::{from_grafeo, to_grafeo};
use crate::{EndpointSpec, RowStream, TargetError};

/// Rows per batch handed to the reader.
const BATCH: usize = 10_000;

/// Batches read ahead of the reader.
const AHEAD: usize = 2;

/// Hands batches to the reader; `false` once the reader has gone (stop reading then).
pub(crate) struct Sender(mpsc::Sender<Result<Vec<Vec<Value>>, TargetError>>);

impl Sender {
    fn send(&self, rows: Vec<Vec<Value>>) -> bool {
        self.0.blocking_send(Ok(rows)).is_ok()
    }
}

/// Runs `produce` on a worker thread and streams what it sends.
pub(crate) fn stream<Store: AsRef<GrafeoDB> + Send + Sync + 'static>(
    inner: Arc<Store>,
    produce: impl FnOnce(&GrafeoDB, &Sender) + Send + 'static,
) -> RowStream {
    let (sender, receiver) = mpsc::channel(AHEAD);
    let failures = sender.clone();
    let task = tokio::task::spawn_blocking(move || produce((*inner).as_ref(), &Sender(sender)));
    // A producer that panicked would otherwise look like a graph that simply ended.
    tokio::spawn(async move {
        if let Err(e) = task.await {
            let _ = failures
                .send(Err(TargetError::Store { target: "grafeo".into(), message: format!("reading failed: {e}") }))
                .await;
        }
    });
    Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    }))
}

fn keys(names: &[String]) -> Vec<PropertyKey> {
    names.iter().map(|name| PropertyKey::new(name.as_str())).collect()
}

/// The values of `properties` for each node of `ids`, row by row.
fn node_rows(db: &GrafeoDB, ids: &[NodeId], properties: &[PropertyKey]) -> Vec<Vec<Value>> {
    let store = db.store();
    let columns: Vec<Vec<Option<G>>> = properties.iter().map(|p| store.get_node_property_batch(ids, p)).collect();
    (0..ids.len())
        .map(|row| columns.iter().map(|column| column[row].as_ref().map_or(Value::Null, from_grafeo)).collect())
        .collect()
}

/// Streams the nodes of `label`.
pub(crate) fn nodes(db: &GrafeoDB, label: &str, properties: &[String], sender: &Sender) {
    let properties = keys(properties);
    for ids in db.store().nodes_by_label(label).chunks(BATCH) {
        if !sender.send(node_rows(db, ids, &properties)) {
            return;
        }
    }
}

/// The ids of `label`'s nodes as a set over the store's node numbers: a relationship's ends
/// are tested in constant time, where a binary search over millions of ids missed the cache
/// on every step and made the scan grow faster than the graph.
fn label_members(db: &GrafeoDB, label: &str) -> FixedBitSet {
    db.store().nodes_by_label(label).into_iter().map(bit).collect()
}

/// A node's place in a [`label_members`] set.
fn bit(id: NodeId) -> usize {
    usize::try_from(id.as_u64()).unwrap_or(usize::MAX)
}

/// Relationships of `rel_type` between nodes of the endpoints' labels, as (start, end) ids
/// and the properties asked for, batch by batch.
fn relationships_between(
    db: &GrafeoDB,
    rel_type: &str,
    start_label: &str,
    end_label: &str,
    properties: &[PropertyKey],
    mut each_batch: impl FnMut(Vec<(NodeId, NodeId)>, Vec<Vec<Value>>) -> bool,
) {
    let starts = label_members(db, start_label);
    let ends = if end_label == start_label { None } else { Some(label_members(db, end_label)) };
    let ends = ends.as_ref().unwrap_or(&starts);
    let mut endpoints = Vec::with_capacity(BATCH);
    let mut values = Vec::with_capacity(BATCH);
    for edge in db.store().edges_with_type(rel_type) {
        if !starts.contains(bit(edge.src)) || !ends.contains(bit(edge.dst)) {
            continue;
        }
        endpoints.push((edge.src, edge.dst));
        values.push(properties.iter().map(|p| edge.properties.get(p).map_or(Value::Null, from_grafeo)).collect());
        if endpoints.len() == BATCH
            && !each_batch(std::mem::replace(&mut endpoints, Vec::with_capacity(BATCH)), std::mem::take(&mut values))
        {
            return;
        }
    }
    if !endpoints.is_empty() {
        each_batch(endpoints, values);
    }
}

/// Streams the relationships of `rel_type` from `start` to `end` nodes: start key, end key,
/// properties.
pub(crate) fn relationships(
    db: &GrafeoDB,
    rel_type: &str,
    start: &EndpointSpec,
    end: &EndpointSpec,
    properties: &[String],
    sender: &Sender,
) {
    let (start_keys, end_keys) = (keys(&start.key_properties), keys(&end.key_properties));
    relationships_between(db, rel_type, &start.label, &end.label, &keys(properties), |endpoints, values| {
        let (sources, targets): (Vec<NodeId>, Vec<NodeId>) = endpoints.into_iter().unzip();
        let start_rows = node_rows(db, &sources, &start_keys);
        let end_rows = node_rows(db, &targets, &end_keys);
        let rows = start_rows
            .into_iter()
            .zip(end_rows)
            .zip(values)
            .map(|((mut row, end), properties)| {
                row.extend(end);
                row.extend(properties);
                row
            })
            .collect();
        sender.send(rows)
    });
}

/// Counts the relationships of `rel_type` from `start_label` to `end_label` nodes.
pub(crate) fn count_relationships(db: &GrafeoDB, rel_type: &str, start_label: &str, end_label: &str) -> u64 {
    let mut count = 0;
    relationships_between(db, rel_type, start_label, end_label, &[], |endpoints, _| {
        count += endpoints.len() as u64;
        true
    });
    count
}

/// The nodes of `label` whose key is one of `wanted`: the values of `properties` for each.
pub(crate) fn lookup_nodes(
    db: &GrafeoDB,
    label: &str,
    key_properties: &[String],
    wanted: &[Vec<Value>],
    properties: &[String],
) -> Vec<Vec<Value>> {
    let store = db.store();
    let wanted_hashes: FxHashSet<KeyHash> = wanted.iter().map(key_hash).collect();
    let key_columns = keys(key_properties);
    let matches = |ids: &[NodeId]| -> Vec<NodeId> {
        let found = node_rows(db, ids, &key_columns);
        ids.iter().zip(found).filter(|(_, key)| wanted_hashes.contains(&key_hash(key))).map(|(id, _)| *id).collect()
    };
    let ids: Vec<NodeId> = match key_properties.first() {
        // The key's index (grafter creates one per key property after loading) finds each
        // key at once; the label and the rest of the key are checked on what it finds.
        Some(first) if store.has_property_index(first) => {
            let mut candidates: Vec<NodeId> = wanted
                .iter()
                .filter_map(|key| key.first())
                .flat_map(|value| store.find_nodes_by_property(first, &to_grafeo(value)))
                .filter(|id| store.get_node(*id).is_some_and(|node| node.has_label(label)))
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            matches(&candidates)
        }
        // Without an index, one pass over the label beats a scan of the store per key.
        _ => store.nodes_by_label(label).chunks(BATCH).flat_map(matches).collect(),
    };
    node_rows(db, &ids, &keys(properties))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;
    use grafter_model::Value;

    use crate::grafeo::GrafeoTarget;
    use crate::{Access, EndpointSpec, GraphLoader, GraphReader, GraphTarget};

    async fn target(dir: &tempfile::TempDir) -> GrafeoTarget {
        let target = GrafeoTarget::open(&dir.path().join("g.grafeo"), Access::Write).await.unwrap();
        target
            .query(
                "CREATE (a:Person {id: 1, name: 'Ada'}), (b:Person {id: 2}), (c:City {code: 'LDN'}), \
                 (a)-[:LIVES_IN {since: 1999}]->(c), (b)-[:LIVES_IN]->(c), (a)-[:KNOWS]->(b)",
                Vec::new(),
            )
            .await
            .unwrap();
        target
    }

    async fn all(mut stream: crate::RowStream) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        while let Some(batch) = stream.next().await {
            rows.extend(batch.unwrap());
        }
        rows.sort_by_key(|row| format!("{row:?}"));
        rows
    }

    fn endpoint(label: &str, key: &str) -> EndpointSpec {
        EndpointSpec { label: label.into(), key_properties: vec![key.into()] }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn nodes_come_back_with_unset_properties_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let rows = all(target.scan_nodes("Person", &["id".into(), "name".into()]).await.unwrap()).await;
        assert_eq!(rows, [vec![Value::Int(1), Value::from("Ada")], vec![Value::Int(2), Value::Null]]);
        assert_eq!(target.count_nodes("Person").await.unwrap(), 2);
        assert_eq!(target.count_nodes("Nobody").await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn relationships_come_back_with_endpoint_keys_between_the_labels_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let (person, city) = (endpoint("Person", "id"), endpoint("City", "code"));
        let rows = all(target.scan_relationships("LIVES_IN", &person, &city, &["since".into()]).await.unwrap()).await;
        assert_eq!(
            rows,
            [
                vec![Value::Int(1), Value::from("LDN"), Value::Int(1999)],
                vec![Value::Int(2), Value::from("LDN"), Value::Null]
            ]
        );
        // KNOWS joins two people: none of them from a Person to a City.
        assert!(all(target.scan_relationships("KNOWS", &person, &city, &[]).await.unwrap()).await.is_empty());
        assert_eq!(target.count_relationships("KNOWS", "Person", "Person").await.unwrap(), 1);
        assert_eq!(target.count_relationships("LIVES_IN", "Person", "City").await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lookup_finds_nodes_by_key_with_and_without_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let target = target(&dir).await;
        let wanted = [vec![Value::Int(2)], vec![Value::Int(7)]];
        let properties = ["id".to_owned(), "name".to_owned()];
        let found = target.lookup_nodes("Person", &["id".into()], &wanted, &properties).await.unwrap();
        assert_eq!(found, [vec![Value::Int(2), Value::Null]]);
        target
            .ensure_indexes(&[crate::KeyIndex { label: "Person".into(), properties: vec!["id".into()] }])
            .await
            .unwrap();
        let found = target.lookup_nodes("Person", &["id".into()], &wanted, &properties).await.unwrap();
        assert_eq!(found, [vec![Value::Int(2), Value::Null]]);
        // A City with the same key value is not a Person.
        let found = target.lookup_nodes("City", &["code".into()], &[vec![Value::from("LDN")]], &[]).await.unwrap();
        assert_eq!(found.len(), 1);
    }
}
