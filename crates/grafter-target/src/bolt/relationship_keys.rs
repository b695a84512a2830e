//! Indexes on relationship keys, and whether a batch's statements find keyed relationships
//! through them ([`KeyLookup`]).
//!
//! A mapping with a relationship `key` allows several relationships between the same two
//! nodes, told apart by the key: payments between two accounts, allocations against one
//! provider. Finding one by expanding from its ends costs as much as there are relationships
//! between them, so a load of many between few nodes grows with the square of its size (200,000
//! keyed relationships among five nodes loaded at about 1,000 a second). On Neo4j, grafter
//! gives the type's key a range index before the first batch of the type and looks
//! relationships up through it. Made once per process and type, while no batch of the type
//! is open (the first batch of each partition waits for it); a server that refuses it leaves
//! the lookups expanding from the ends, with a warning.

use std::collections::HashMap;

use crate::cypher::CypherRunner;
use crate::cypher::batch::Shape;
use crate::cypher::queries::KeyLookup;
use crate::{RelSpec, TargetError};

use super::client::Client;

/// Per relationship type and key, how its relationships are found.
#[derive(Default)]
pub(crate) struct RelationshipKeys(tokio::sync::Mutex<HashMap<(String, Vec<String>), KeyLookup>>);

impl RelationshipKeys {
    /// How the statements of a batch of `shape` find a relationship by its key; the first
    /// batch of a keyed type makes the index it is found through, where the server has them.
    pub(crate) async fn lookup(&self, client: &Client, shape: &Shape) -> Result<KeyLookup, TargetError> {
        let Shape::Relationships(spec) = shape else { return Ok(KeyLookup::FromEnds) };
        let properties: Vec<String> = spec.key.iter().map(|&k| spec.properties[k].clone()).collect();
        if properties.is_empty() || !client.server().indexes_relationship_keys() {
            return Ok(KeyLookup::FromEnds);
        }
        let mut known = self.0.lock().await;
        if let Some(&lookup) = known.get(&(spec.rel_type.clone(), properties.clone())) {
            return Ok(lookup);
        }
        let lookup = make_index(client, spec, &properties).await?;
        known.insert((spec.rel_type.clone(), properties), lookup);
        Ok(lookup)
    }
}

/// Creates the index on `spec`'s key and waits until the server uses it.
async fn make_index(client: &Client, spec: &RelSpec, properties: &[String]) -> Result<KeyLookup, TargetError> {
    let Some(create) = client.server().dialect().relationship_key_index(&spec.rel_type, properties) else {
        return Ok(KeyLookup::FromEnds);
    };
    if let Err(error) = client.write(&create, &[]).await {
        tracing::warn!(
            "{}: no index on the key of :{} ({}); relationships are found from their ends: {error}",
            client.target(),
            spec.rel_type,
            properties.join(", ")
        );
        return Ok(KeyLookup::FromEnds);
    }
    // Built in the background over what the type holds already; planned only once online.
    client.write("CALL db.awaitIndexes(3600)", &[]).await?;
    tracing::info!("{}: index on the key of :{} ({}) in place", client.target(), spec.rel_type, properties.join(", "));
    Ok(KeyLookup::ByIndex)
}
