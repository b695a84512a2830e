//! Getting mappings ready to run: each is bound against the columns its read really has,
//! given a scan order, and turned into the record shape its target writes. Everything that
//! can be wrong with a config shows up here, before anything is written.

use std::sync::Arc;

use grafter_model::Cursor;
use grafter_plan::{BoundMapping, Mapping, MappingKind, Plan, ReadSpec, bind};
use grafter_source::{Filter, Read, ScanRequest, Source};
use grafter_target::{EndpointSpec, NodeSpec, RelSpec};

use crate::EngineError;

/// What a mapping's records look like to the target.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Node records.
    Node(Arc<NodeSpec>),
    /// Relationship records.
    Relationship(Arc<RelSpec>),
}

/// A mapping ready to run.
#[derive(Debug, Clone)]
pub struct PreparedMapping {
    /// The mapping as planned.
    pub mapping: Mapping,
    /// Bound to its read's columns.
    pub bound: BoundMapping,
    /// The scan to run (from the start; the run sets where to continue). Its columns are the
    /// bound scan columns, then any key column they lack.
    pub request: ScanRequest,
    /// The records it produces.
    pub shape: Shape,
    /// Its remap tables, loaded.
    pub(crate) remap: Arc<crate::remap::Remapper>,
}

pub(crate) fn read_of(mapping: &Mapping) -> Read {
    match &mapping.read {
        ReadSpec::Table(table) => Read::Table(table.clone()),
        ReadSpec::Query(sql) => Read::Query(sql.clone()),
    }
}

/// Binds `mapping` (of `plan`) against the source.
pub(crate) async fn prepare(
    plan: &Plan,
    mapping: &Mapping,
    source: &dyn Source,
    batch_size: usize,
) -> Result<PreparedMapping, EngineError> {
    let read = read_of(mapping);
    let columns = source.columns(&read).await?;
    let bound = bind(mapping, &columns, &plan.casts, &plan.source_options.types)?;
    // A unique key to order by makes the cursor a key: resuming then seeks instead of
    // skipping, and the read can be split into key ranges.
    let order_by = if mapping.order_by.is_empty() {
        source.scan_key(&read).await?.unwrap_or_default()
    } else {
        mapping.order_by.clone()
    };
    // The key is read even when no property needs it: it is how a rejected row is found
    // again (the reject file names it). Extra columns come after the bound ones, whose
    // positions the expressions use.
    let mut columns = bound.scan_columns.clone();
    for key in &order_by {
        if !columns.contains(key) {
            columns.push(key.clone());
        }
    }
    let request = ScanRequest {
        read,
        columns,
        skip_null: bound.skip_null.clone(),
        order_by,
        after: Cursor::Start,
        batch_size,
        range: grafter_source::KeyRange::all(),
        // Rows marked deleted are not part of what the graph must hold.
        filters: mapping.soft_delete.iter().map(|column| Filter::IsNull(column.clone())).collect(),
    };
    let property_names: Vec<String> = bound.properties.iter().map(|p| p.name.clone()).collect();
    let shape = match &mapping.kind {
        MappingKind::Node { label, .. } => Shape::Node(Arc::new(NodeSpec {
            mapping: mapping.name.clone(),
            label: label.clone(),
            properties: property_names,
            key: bound.key.clone(),
        })),
        MappingKind::Relationship { rel_type, start, end, .. } => Shape::Relationship(Arc::new(RelSpec {
            mapping: mapping.name.clone(),
            rel_type: rel_type.clone(),
            start: EndpointSpec { label: start.label.clone(), key_properties: start.key_properties.clone() },
            end: EndpointSpec { label: end.label.clone(), key_properties: end.key_properties.clone() },
            properties: property_names,
            key: bound.key.clone(),
        })),
    };
    let remap = Arc::new(crate::remap::Remapper::load(mapping, &plan.remaps, &bound.scan_columns, source).await?);
    Ok(PreparedMapping { mapping: mapping.clone(), bound, request, shape, remap })
}
