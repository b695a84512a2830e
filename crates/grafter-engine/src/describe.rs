//! `grafter plan`'s look at the source: every mapping bound against the columns its read
//! really has, and the source's catalog when some mapping reads a table, for the warnings
//! that need it; for the model page, the rows each mapping reads ([`ModelCounts`], asked with the same look) and, once
//! a run has loaded the target, what the graph holds.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use grafter_model::Catalog;
use grafter_plan::{BoundMapping, MappingKind, Plan, ReadSpec};
use grafter_target::Access;

use crate::EngineError;
use crate::prepare::prepare;
use crate::session::{open_source, open_target};

/// What `grafter plan` learns from the source.
#[derive(Debug, Clone)]
pub struct PlanDescription {
    /// Every mapping bound against its read's columns, by name.
    pub bound: BTreeMap<String, BoundMapping>,
    /// The source's tables, when it can describe them (SQL sources), for the warnings that
    /// need them (table inheritance).
    pub catalog: Option<Catalog>,
    /// The model page's figures, when asked for.
    pub counts: Option<ModelCounts>,
}

/// Binds every mapping of `plan` against its source, for `grafter plan` to show exact
/// properties, and reads the source's catalog when some mapping reads a table; with
/// `counting`, also the rows each mapping reads and, when the target can be read (opened
/// read-only: counting writes nothing), what it holds. Stops at the first mapping that does
/// not fit.
pub async fn describe_plan(plan: &Plan, counting: bool) -> Result<PlanDescription, EngineError> {
    let source = open_source(plan).await?;
    let source = source.as_ref();
    let mut bound = BTreeMap::new();
    let mut expected = BTreeMap::new();
    for mapping in &plan.mappings {
        let prepared = prepare(plan, mapping, source, plan.run.batch_size).await?;
        if counting {
            expected.insert(mapping.name.clone(), source.count(&prepared.request).await?);
        }
        bound.insert(mapping.name.clone(), prepared.bound);
    }
    let reads_tables = plan.mappings.iter().any(|m| matches!(m.read, ReadSpec::Table(_)));
    let catalog = if reads_tables {
        match source.introspect().await {
            Ok(catalog) => Some(catalog),
            // File sources have no catalog to ask.
            Err(grafter_source::SourceError::Unsupported { .. }) => None,
            Err(error) => return Err(error.into()),
        }
    } else {
        None
    };
    let counts = if counting {
        let actual = match open_target(plan, Access::Read).await {
            Ok(target) => actual_counts(plan, target.as_ref()).await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        Some(ModelCounts { expected, actual })
    } else {
        None
    };
    Ok(PlanDescription { bound, catalog, counts })
}

/// The figures `grafter plan --html` shows beside the model.
#[derive(Debug, Clone)]
pub struct ModelCounts {
    /// Rows each mapping reads from the source (by mapping name); `None` where the source
    /// cannot count without reading.
    pub expected: BTreeMap<String, Option<u64>>,
    /// What the target holds, or why it could not be read (nothing loaded yet, a server
    /// down): never an error of the plan's own.
    pub actual: Result<ActualCounts, String>,
}

/// Elements in the target graph.
#[derive(Debug, Clone, Default)]
pub struct ActualCounts {
    /// Nodes per label.
    pub nodes: BTreeMap<String, u64>,
    /// Relationships per (type, start label, end label).
    pub relationships: BTreeMap<(String, String, String), u64>,
}

async fn actual_counts(plan: &Plan, target: &dyn grafter_target::GraphTarget) -> Result<ActualCounts, EngineError> {
    let mut counts = ActualCounts::default();
    for mapping in &plan.mappings {
        match &mapping.kind {
            MappingKind::Node { label, .. } => {
                if let Entry::Vacant(slot) = counts.nodes.entry(label.clone()) {
                    slot.insert(target.reader().count_nodes(label).await?);
                }
            }
            MappingKind::Relationship { rel_type, start, end, .. } => {
                let pattern = (rel_type.clone(), start.label.clone(), end.label.clone());
                if let Entry::Vacant(slot) = counts.relationships.entry(pattern) {
                    slot.insert(target.reader().count_relationships(rel_type, &start.label, &end.label).await?);
                }
            }
        }
    }
    Ok(counts)
}
