//! `grafter plan`'s look at the source: every mapping bound against the columns its read
//! really has, and the source's catalog when some mapping reads a table, for the warnings
//! that need it.

use std::collections::BTreeMap;

use grafter_model::Catalog;
use grafter_plan::{BoundMapping, Plan, ReadSpec};

use crate::EngineError;
use crate::prepare::prepare;
use crate::session::open_source;

/// What `grafter plan` learns from the source.
#[derive(Debug, Clone)]
pub struct PlanDescription {
    /// Every mapping bound against its read's columns, by name.
    pub bound: BTreeMap<String, BoundMapping>,
    /// The source's tables, when it can describe them (SQL sources), for the warnings that
    /// need them (table inheritance).
    pub catalog: Option<Catalog>,
}

/// Binds every mapping of `plan` against its source, for `grafter plan` to show exact
/// properties, and reads the source's catalog when some mapping reads a table. Stops at the
/// first mapping that does not fit.
pub async fn describe_plan(plan: &Plan) -> Result<PlanDescription, EngineError> {
    let source = open_source(plan).await?;
    let source = source.as_ref();
    let mut bound = BTreeMap::new();
    for mapping in &plan.mappings {
        let prepared = prepare(plan, mapping, source, plan.run.batch_size).await?;
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
    Ok(PlanDescription { bound, catalog })
}
