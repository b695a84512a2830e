//! Transforming a property's values with an expression of the transform language
//! (`transform_property`), in batches.
//!
//! grafter computes the new values itself, exactly as `grafter run` would: it reads a batch
//! of nodes not transformed yet, evaluates the expression on each, and writes the batch back
//! in one statement that also keeps the old value in `<property>_old`. The `_old` property
//! is the cursor: a node that has it is done, so a transform stopped half-way (killed, lock
//! lost) continues where it stopped, and never transforms a node twice.

use std::collections::BTreeMap;

use grafter_model::{Value, quote_name};
use grafter_target::GraphTarget;

use crate::statement::TransformStep;

/// Rows per batch unless the migration says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 10_000;

/// The property that keeps the value from before the transform.
pub fn old_property(property: &str) -> String {
    format!("{property}_old")
}

/// Transforms every node still to do, `batch_size` at a time; calls `progress` with the
/// running total after each batch. Returns the number of nodes transformed.
pub async fn run(
    target: &dyn GraphTarget,
    step: &TransformStep,
    batch_size: usize,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, String> {
    let expression =
        grafter_plan::transform::parse(&step.expression).map_err(|e| format!("`{}`: {e}", step.expression))?;
    let columns = expression.columns();
    let compiled = expression.bind(&columns).map_err(|e| format!("`{}`: {e}", step.expression))?;
    let label = quote_name(&step.label);
    let property = quote_name(&step.property);
    let old = quote_name(&old_property(&step.property));
    let reads: Vec<String> = columns.iter().map(|c| format!("n.{}", quote_name(c))).collect();
    let select = format!(
        "MATCH (n:{label}) WHERE n.{property} IS NOT NULL AND n.{old} IS NULL RETURN id(n) AS id{}{} LIMIT $batch",
        if reads.is_empty() { "" } else { ", " },
        reads.join(", ")
    );
    let write = format!(
        "UNWIND $rows AS row MATCH (n:{label}) WHERE id(n) = row.id SET n.{old} = n.{property}, n.{property} = row.value RETURN count(n) AS written"
    );
    let batch = i64::try_from(batch_size.max(1)).unwrap_or(i64::MAX);
    let mut done = 0u64;
    loop {
        let result =
            target.query(&select, vec![("batch".into(), Value::Int(batch))]).await.map_err(|e| e.to_string())?;
        if result.rows.is_empty() {
            return Ok(done);
        }
        let mut rows = Vec::with_capacity(result.rows.len());
        for row in &result.rows {
            let (id, values) = row.split_first().ok_or("the read returned an empty row")?;
            let value = compiled
                .eval(values)
                .map_err(|e| format!("`{}` on the :{} node with id {id:?}: {e}", step.expression, step.label))?;
            rows.push(Value::Map(BTreeMap::from([("id".to_owned(), id.clone()), ("value".to_owned(), value)])));
        }
        let count = rows.len() as u64;
        let written =
            target.query(&write, vec![("rows".into(), Value::List(rows))]).await.map_err(|e| e.to_string())?;
        // Nothing written would read the same batch again, forever.
        if written.rows.first().and_then(|r| r.first()) != Some(&Value::Int(count as i64)) {
            return Err(format!("writing a batch of {count} transformed nodes wrote {:?}", written.rows));
        }
        done += count;
        progress(done);
    }
}
