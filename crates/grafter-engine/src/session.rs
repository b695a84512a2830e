//! What every command sets up before it works, in the same order: the plan's mappings
//! selected (`--only`), the source and the target opened, the mappings prepared against the
//! source, the key indexes they need, a new session id, and the target closed after the work
//! even when it failed.
//!
//! `run`, `sync`, `verify`, `export`, the snapshot and admin commands all start here, so no
//! command borrows its set-up from another. This module imports nothing of the engine but
//! its error and [`crate::prepare`].

use std::future::Future;
use std::sync::Arc;

use grafter_plan::{Mapping, MappingKind, Plan};
use grafter_source::Source;
use grafter_target::{Access, GraphTarget, KeyIndex};

use crate::EngineError;
use crate::prepare::{PreparedMapping, prepare};

/// A new run or session id: UTC time and a few random-ish hex digits, readable and sortable.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let salt = (now.timestamp_subsec_nanos() ^ std::process::id().wrapping_mul(0x9e37_79b9)) & 0xffff;
    // Milliseconds keep ids in start order, which is how the newest run is found.
    format!("{}-{salt:04x}", now.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// The mappings `--only` selects, in load order.
pub(crate) fn select<'p>(plan: &'p Plan, only: &[String]) -> Result<Vec<&'p Mapping>, EngineError> {
    for name in only {
        if plan.mapping(name).is_none() {
            let names: Vec<&str> = plan.mappings.iter().map(|m| m.name.as_str()).collect();
            let suggestion = grafter_model::suggest(name, names.iter().copied());
            return Err(EngineError::UnknownMapping { name: name.clone(), suggestion, known: names.join(", ") });
        }
    }
    Ok(plan.mappings.iter().filter(|m| only.is_empty() || only.contains(&m.name)).collect())
}

/// Opens the plan's source.
pub(crate) async fn open_source(plan: &Plan) -> Result<Arc<dyn Source>, EngineError> {
    let base = plan.config_dir();
    Ok(Arc::from(grafter_source::open(&plan.source_url, base, &plan.source_options).await?))
}

/// Opens the plan's target.
pub(crate) async fn open_target(plan: &Plan, access: Access) -> Result<Arc<dyn GraphTarget>, EngineError> {
    let base = plan.config_dir();
    Ok(Arc::from(grafter_target::open(&plan.target_url, base, access).await?))
}

/// Every mapping of `mappings` bound against `source` and ready to run, in their order;
/// stops at the first that does not fit.
pub(crate) async fn prepare_all(
    plan: &Plan,
    mappings: &[&Mapping],
    source: &dyn Source,
    batch_size: usize,
) -> Result<Vec<PreparedMapping>, EngineError> {
    let mut prepared = Vec::with_capacity(mappings.len());
    for mapping in mappings {
        prepared.push(prepare(plan, mapping, source, batch_size).await?);
    }
    Ok(prepared)
}

/// Key indexes for every label the selected mappings create or connect.
pub(crate) fn key_indexes(selected: &[PreparedMapping]) -> Vec<KeyIndex> {
    let mut indexes: Vec<KeyIndex> = Vec::new();
    let mut add = |label: &str, properties: &[String]| {
        if !indexes.iter().any(|i| i.label == label) {
            indexes.push(KeyIndex { label: label.to_owned(), properties: properties.to_vec() });
        }
    };
    for prepared in selected {
        match &prepared.mapping.kind {
            MappingKind::Node { label, key } => add(label, key),
            MappingKind::Relationship { start, end, .. } => {
                add(&start.label, &start.key_properties);
                add(&end.label, &end.key_properties);
            }
        }
    }
    indexes
}

/// Does `work`, then closes `target` whatever the work's outcome: what was committed must
/// reach the file even after a failure. The work's error wins over the close's.
pub(crate) async fn closing<T>(
    target: &Arc<dyn GraphTarget>,
    work: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    let result = work.await;
    let closed = target.close().await;
    let value = result?;
    closed?;
    Ok(value)
}
