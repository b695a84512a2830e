//! The embedded graph by shape ([`Census`]) and the properties elements carry beyond a
//! known set, read straight from the store: label lists, adjacency and property columns,
//! never a Cypher projection nor an element's whole record.
//!
//! Every node's label set is worked out from the per-label id lists the store keeps (each
//! list walked once, a node's set interned as a small number). Relationships are then
//! walked once, from every node's incoming adjacency list (which holds no properties): each
//! is classified by its type and its ends' sets, and the ones a question asks about are
//! looked up, batch by batch, in the property columns they might hold but the question
//! does not know. Node questions read such columns over their label's ids. A clean graph's
//! lookups all miss: no value is copied. (One thread: two contend for the store's locks
//! and gain nothing.)

use std::sync::Arc;

use grafeo::GrafeoDB;
use grafeo_common::types::{EdgeId, NodeId, PropertyKey};
use grafter_model::is_bookkeeping_label;
use rustc_hash::FxHashMap;

use crate::census::{Census, Elements, KnownProperties, PropertyCount, property_counts};

/// Ids looked up per batch.
const BATCH: usize = 10_000;

/// Every node's label set, as an index into `sets`.
struct LabelSets {
    /// The label sets met, each sorted; `sets[0]` is the empty one.
    sets: Vec<Vec<Arc<str>>>,
    /// Whether a set holds a bookkeeping label.
    bookkeeping: Vec<bool>,
    /// Per node id, its set (`0` for a node without labels, or an id that is no node).
    of_node: Vec<u32>,
}

impl LabelSets {
    fn read(db: &GrafeoDB) -> LabelSets {
        let store = db.store();
        let mut labels = store.all_labels();
        labels.sort();
        let mut sets: Vec<Vec<Arc<str>>> = vec![Vec::new()];
        let mut of_node: Vec<u32> = Vec::new();
        // (set, label added) → the set with it: labels are added in sorted order, so each
        // set stays sorted and one set has one number.
        let mut next: FxHashMap<(u32, usize), u32> = FxHashMap::default();
        let mut numbered: FxHashMap<Vec<Arc<str>>, u32> = FxHashMap::default();
        numbered.insert(Vec::new(), 0);
        let labels: Vec<Arc<str>> = labels.into_iter().map(Arc::from).collect();
        for (index, label) in labels.iter().enumerate() {
            for id in store.nodes_by_label(label) {
                let at = usize::try_from(id.as_u64()).unwrap_or(usize::MAX);
                if at >= of_node.len() {
                    of_node.resize(at.saturating_add(1), 0);
                }
                let from = of_node[at];
                of_node[at] = *next.entry((from, index)).or_insert_with(|| {
                    let mut set = sets[from as usize].clone();
                    set.push(Arc::clone(label));
                    *numbered.entry(set.clone()).or_insert_with(|| {
                        sets.push(set);
                        u32::try_from(sets.len() - 1).unwrap_or(u32::MAX)
                    })
                });
            }
        }
        let bookkeeping = sets.iter().map(|set| set.iter().any(|l| is_bookkeeping_label(l))).collect();
        LabelSets { sets, bookkeeping, of_node }
    }

    fn of(&self, id: NodeId) -> u32 {
        usize::try_from(id.as_u64()).ok().and_then(|at| self.of_node.get(at)).copied().unwrap_or(0)
    }

    fn names(&self, set: u32) -> Vec<String> {
        self.sets[set as usize].iter().map(|l| l.to_string()).collect()
    }

    /// Per set, whether it holds `label`.
    fn holding(&self, label: &str) -> Vec<bool> {
        self.sets.iter().map(|set| set.iter().any(|l| &**l == label)).collect()
    }
}

/// A relationship question, prepared for the walk.
struct RelationshipQuestion {
    /// Its index among the questions.
    index: usize,
    /// The type's index in the store's list of types.
    rel_type: usize,
    /// Per label set, whether a start (end) node with it is asked about.
    starts: Vec<bool>,
    ends: Vec<bool>,
    /// The edge columns the question does not know.
    candidates: Vec<PropertyKey>,
}

/// What the walk found.
#[derive(Default)]
struct Walked {
    /// (type, start set, end set) → relationships.
    shapes: FxHashMap<(usize, u32, u32), u64>,
    /// Per relationship question, the relationships it asks about.
    asked: Vec<Vec<EdgeId>>,
}

/// The whole store by shape, bookkeeping left out, and the answers to `questions`.
pub(crate) fn census(db: &GrafeoDB, questions: &[KnownProperties]) -> Census {
    let store = db.store();
    let sets = LabelSets::read(db);
    let nodes = store.node_ids();
    let mut per_set = vec![0u64; sets.sets.len()];
    for &id in &nodes {
        per_set[sets.of(id) as usize] += 1;
    }
    let types = store.all_edge_types();
    let unknown = |known: &[String], keys: Vec<String>| -> Vec<PropertyKey> {
        keys.into_iter().filter(|k| !known.contains(k)).map(|k| PropertyKey::new(k.as_str())).collect()
    };
    // Node and edge columns share one list of names: keep those with a column of the kind.
    let names = store.all_property_keys();
    let mut beyond: Vec<Vec<PropertyCount>> = vec![Vec::new(); questions.len()];
    let mut asked = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        match &question.elements {
            Elements::Nodes { label } => {
                let candidates: Vec<PropertyKey> = unknown(&question.properties, names.clone())
                    .into_iter()
                    .filter(|k| store.node_property_zone_map(k).is_some())
                    .collect();
                beyond[index] = node_properties(db, label, &candidates);
            }
            Elements::Relationships { rel_type, start, end } => {
                let Some(type_index) = types.iter().position(|t| t == rel_type) else { continue };
                let candidates: Vec<PropertyKey> = unknown(&question.properties, names.clone())
                    .into_iter()
                    .filter(|k| store.edge_property_zone_map(k).is_some())
                    .collect();
                if !candidates.is_empty() {
                    asked.push(RelationshipQuestion {
                        index,
                        rel_type: type_index,
                        starts: sets.holding(start),
                        ends: sets.holding(end),
                        candidates,
                    });
                }
            }
        }
    }

    let walked = walk(db, &sets, &nodes, &types, &asked);
    for (question, edges) in asked.iter().zip(&walked.asked) {
        beyond[question.index] = relationship_properties(db, edges, &question.candidates);
    }
    Census::from_counts(
        per_set
            .iter()
            .enumerate()
            .filter(|(set, n)| **n > 0 && !sets.bookkeeping[*set])
            .map(|(set, n)| (sets.names(set as u32), *n)),
        walked
            .shapes
            .into_iter()
            .map(|((rel_type, start, end), n)| ((types[rel_type].clone(), sets.names(start), sets.names(end)), n)),
        beyond,
    )
}

/// How many of `label`'s nodes carry each of `candidates`, column by column.
fn node_properties(db: &GrafeoDB, label: &str, candidates: &[PropertyKey]) -> Vec<PropertyCount> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let store = db.store();
    let mut counts = vec![0u64; candidates.len()];
    for ids in store.nodes_by_label(label).chunks(BATCH) {
        for (key, count) in candidates.iter().zip(&mut counts) {
            *count += store.get_node_property_batch(ids, key).iter().filter(|v| v.is_some()).count() as u64;
        }
    }
    property_counts(candidates.iter().zip(counts).map(|(key, n)| (key.as_str().to_owned(), n)))
}

/// Walks every relationship once: its shape, and the questions it falls under.
fn walk(db: &GrafeoDB, sets: &LabelSets, nodes: &[NodeId], types: &[String], asked: &[RelationshipQuestion]) -> Walked {
    let store = db.store();
    let mut walked = Walked { asked: vec![Vec::new(); asked.len()], ..Walked::default() };
    let mut classify = |src: NodeId, dst: NodeId, edge: EdgeId| {
        let (start, end) = (sets.of(src), sets.of(dst));
        if sets.bookkeeping[start as usize] || sets.bookkeeping[end as usize] {
            return;
        }
        let Some(rel_type) = store.edge_type(edge) else { return };
        // Types are few: found in the list rather than hashed or copied.
        let Some(rel_type) = types.iter().position(|t| t.as_str() == rel_type.as_str()) else { return };
        *walked.shapes.entry((rel_type, start, end)).or_default() += 1;
        for (question, edges) in asked.iter().zip(&mut walked.asked) {
            if question.rel_type == rel_type && question.starts[start as usize] && question.ends[end as usize] {
                edges.push(edge);
            }
        }
    };
    if store.has_backward_adjacency() {
        // Incoming adjacency lists name each edge once, without reading its properties.
        for &dst in nodes {
            for (src, edge) in store.edges_to(dst) {
                classify(src, dst, edge);
            }
        }
    } else {
        for edge in store.all_edges() {
            classify(edge.src, edge.dst, edge.id);
        }
    }
    walked
}

/// How many of `edges` carry each of `candidates`, the columns resolved once per batch.
fn relationship_properties(db: &GrafeoDB, edges: &[EdgeId], candidates: &[PropertyKey]) -> Vec<PropertyCount> {
    let store = db.store();
    let mut counts: FxHashMap<&PropertyKey, u64> = FxHashMap::default();
    for batch in edges.chunks(BATCH) {
        for properties in store.get_edges_properties_selective_batch(batch, candidates) {
            for key in properties.keys() {
                if let Some(candidate) = candidates.iter().find(|c| *c == key) {
                    *counts.entry(candidate).or_default() += 1;
                }
            }
        }
    }
    property_counts(counts.into_iter().map(|(key, n)| (key.as_str().to_owned(), n)))
}

#[cfg(test)]
mod tests {
    use crate::census::{LabelSet, PropertyCount, RelationshipShape};
    use crate::grafeo::GrafeoTarget;
    use crate::{Access, Elements, GraphReader, GraphTarget, KnownProperties};

    fn names(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|l| (*l).to_owned()).collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_census_counts_label_sets_and_shapes_without_bookkeeping_or_deleted_edges() {
        let dir = tempfile::tempdir().unwrap();
        let target = GrafeoTarget::open(&dir.path().join("g.grafeo"), Access::Write).await.unwrap();
        target
            .query(
                "CREATE (a:Person {id: 1, name: 'Ada', nick: 'A'}), (b:Person:Admin {id: 2}), (c:City {code: 'LDN'}), \
                 (k:_GrafterCheckpoint {mapping: 'm'}), (:Thing), \
                 (a)-[:LIVES_IN {since: 1999}]->(c), (b)-[:LIVES_IN]->(c), (a)-[:KNOWS]->(b), (a)-[:KNOWS]->(c), \
                 (a)-[:NOTED]->(k)",
                Vec::new(),
            )
            .await
            .unwrap();
        target.query("MATCH (:Person {id: 1})-[x:KNOWS]->(:City) DELETE x", Vec::new()).await.unwrap();

        let people = Elements::Nodes { label: "Person".into() };
        let lives_in =
            Elements::Relationships { rel_type: "LIVES_IN".into(), start: "Person".into(), end: "City".into() };
        let ask = |elements: &Elements, known: &[&str]| KnownProperties {
            elements: elements.clone(),
            properties: names(known),
        };
        let questions = [
            ask(&people, &["id"]),
            ask(&people, &["id", "name", "nick"]),
            ask(&lives_in, &[]),
            ask(&lives_in, &["since"]),
        ];
        let census = target.census(&questions, crate::CensusPart::Whole).await.unwrap();
        let set = |labels: &[&str], nodes| LabelSet { labels: names(labels), nodes };
        assert_eq!(
            census.nodes,
            [set(&["Admin", "Person"], 1), set(&["City"], 1), set(&["Person"], 1), set(&["Thing"], 1)]
        );
        let shape = |rel_type: &str, start: &[&str], end: &[&str]| RelationshipShape {
            rel_type: rel_type.into(),
            start: names(start),
            end: names(end),
            relationships: 1,
        };
        assert_eq!(
            census.relationships,
            [
                shape("KNOWS", &["Person"], &["Admin", "Person"]),
                shape("LIVES_IN", &["Admin", "Person"], &["City"]),
                shape("LIVES_IN", &["Person"], &["City"]),
            ]
        );

        let count = |name: &str, elements| PropertyCount { name: name.into(), elements };
        assert_eq!(census.beyond, [vec![count("name", 1), count("nick", 1)], vec![], vec![count("since", 1)], vec![]]);
    }
}
