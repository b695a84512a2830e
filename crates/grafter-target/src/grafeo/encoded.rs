//! A batch in grafeo's own types ([`EncodedBatch`]), made by `write::encode` on a worker
//! thread and carried to the writer in [`crate::Encoded`]. A leaf: it names values, never
//! the writer.

use std::collections::HashMap;
use std::sync::Arc;

use grafeo::database::BatchEdge;
use grafeo_common::types::{PropertyKey, Value as G};
use grafter_model::{KeyHash, Value};

use super::convert::to_grafeo;
use crate::records::{NodeSpec, RelSpec};

/// A property set in grafeo's types, and the mapped properties that are NULL (removed from an
/// existing element, so that it ends up exactly as a fresh load would leave it).
pub(crate) struct Properties {
    pub set: HashMap<PropertyKey, G>,
    pub unset: Vec<PropertyKey>,
}

pub(crate) fn properties(names: &[PropertyKey], values: &[Value]) -> Properties {
    let mut set = HashMap::with_capacity(values.len());
    let mut unset = Vec::new();
    for (name, value) in names.iter().zip(values) {
        if value.is_null() {
            unset.push(name.clone());
        } else {
            set.insert(name.clone(), to_grafeo(value));
        }
    }
    Properties { set, unset }
}

/// A node record in grafeo's types.
pub(crate) struct EncodedNode {
    pub key: KeyHash,
    pub key_values: Vec<Value>,
    pub properties: Properties,
}

/// A relationship record in grafeo's types.
pub(crate) struct EncodedRel {
    pub start: KeyHash,
    pub end: KeyHash,
    pub key: KeyHash,
    pub start_values: Vec<Value>,
    pub end_values: Vec<Value>,
    /// The store's record, built here off the writer; its endpoints are filled in by the
    /// writer, which alone knows the node ids.
    pub edge: BatchEdge,
    /// Mapped properties that are NULL (removed from an existing relationship).
    pub unset: Vec<PropertyKey>,
}

/// A batch in grafeo's types, made beside the writer.
pub(crate) enum EncodedBatch {
    Nodes { spec: Arc<NodeSpec>, rows: Vec<EncodedNode> },
    Relationships { spec: Arc<RelSpec>, rows: Vec<EncodedRel> },
}
