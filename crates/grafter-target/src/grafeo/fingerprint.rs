//! The fingerprint of the embedded graph: every node and relationship read straight from
//! the store and folded into a [`FingerprintBuilder`].

use grafeo::GrafeoDB;
use grafter_model::{Fingerprint, FingerprintBuilder, Value};
use rustc_hash::FxHashMap;

use super::convert::from_grafeo;

/// Fingerprints the whole store (grafter's bookkeeping left out).
pub(crate) fn fingerprint(db: &GrafeoDB) -> Fingerprint {
    let store = db.store();
    let mut builder = FingerprintBuilder::new();
    let mut digests: FxHashMap<u64, u128> = FxHashMap::default();
    for node in store.all_nodes() {
        let labels: Vec<&str> = node.labels.iter().map(|l| l.as_str()).collect();
        let values: Vec<(String, Value)> =
            node.properties.iter().map(|(k, v)| (k.as_str().to_owned(), from_grafeo(v))).collect();
        let properties: Vec<(&str, &Value)> = values.iter().map(|(k, v)| (k.as_str(), v)).collect();
        if let Some(digest) = builder.add_node(&labels, &properties) {
            digests.insert(node.id.as_u64(), digest);
        }
    }
    for edge in store.all_edges() {
        let (Some(&start), Some(&end)) = (digests.get(&edge.src.as_u64()), digests.get(&edge.dst.as_u64())) else {
            // An endpoint is bookkeeping: so is the relationship.
            continue;
        };
        let values: Vec<(String, Value)> =
            edge.properties.iter().map(|(k, v)| (k.as_str().to_owned(), from_grafeo(v))).collect();
        let properties: Vec<(&str, &Value)> = values.iter().map(|(k, v)| (k.as_str(), v)).collect();
        builder.add_relationship(edge.edge_type.as_str(), start, end, &properties);
    }
    builder.finish()
}
