//! Source rows to records: every property expression evaluated, keys checked, and each row
//! either a record for the target or a reject with its reason. Runs on a worker thread.

use grafter_model::{SourceRow, Value};
use grafter_plan::BoundMapping;
use grafter_target::{GraphTarget, NodeRecord, RecordBatch, RelRecord};

use crate::prepare::Shape;
use crate::remap::Remapper;

/// Where a record came from, kept until the write says whether it was rejected. The row
/// stays as values: turning it into JSON is only worth it for the few that are rejected.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// Row or line number.
    pub line: u64,
    /// The scanned values, or the raw text of a malformed record.
    pub row: RowData,
}

/// A row as scanned.
#[derive(Debug, Clone)]
pub(crate) enum RowData {
    /// Values aligned with the mapping's scan columns.
    Values(Vec<Value>),
    /// A record the source could not decode.
    Raw(String),
}

impl RowData {
    /// The row as JSON: an object of column → value, or the raw text.
    pub fn to_json(&self, columns: &[String]) -> serde_json::Value {
        match self {
            RowData::Values(values) => {
                serde_json::Value::Object(columns.iter().zip(values).map(|(c, v)| (c.clone(), v.to_json())).collect())
            }
            // Sources that could decode the row but not a value in it pass the row as a JSON
            // object text: show it as the object it is.
            RowData::Raw(raw) => match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(object @ serde_json::Value::Object(_)) => object,
                _ => serde_json::Value::String(raw.clone()),
            },
        }
    }
}

/// A rejected row.
#[derive(Debug, Clone)]
pub(crate) struct Rejected {
    pub origin: Origin,
    pub reason: String,
}

/// The records of one batch, their origins (same order), and the rows rejected on the way.
pub(crate) struct Transformed {
    pub records: RecordBatch,
    pub origins: Vec<Origin>,
    pub rejected: Vec<Rejected>,
    /// Values translated by remap tables.
    pub remapped: u64,
}

/// Transforms one batch of rows, remap tables first. A row with a property value `target`
/// cannot store is rejected here with the target's reason, so that the loader, sync and
/// verify (which recomputes what the graph must hold through this same function) agree on
/// every such row, and no write ever fails on one.
pub(crate) fn transform(
    rows: Vec<SourceRow>,
    bound: &BoundMapping,
    shape: &Shape,
    remap: &Remapper,
    target: &dyn GraphTarget,
) -> Transformed {
    let mut remapped = 0;
    let mut node_records = Vec::new();
    let mut rel_records = Vec::new();
    let mut origins = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for row in rows {
        let (mut values, line) = match row {
            SourceRow::Ok { values, line } => (values, line),
            SourceRow::Malformed { raw, reason, line } => {
                rejected.push(Rejected { origin: Origin { line, row: RowData::Raw(raw) }, reason });
                continue;
            }
        };
        // A failed remap leaves the row as read, which is what the reject file shows.
        if !remap.is_empty() {
            match remap.apply(&mut values) {
                Ok(n) => remapped += n,
                Err(reason) => {
                    rejected.push(Rejected { origin: Origin { line, row: RowData::Values(values) }, reason });
                    continue;
                }
            }
        }
        let reject = |reason: String, rejected: &mut Vec<Rejected>| {
            rejected.push(Rejected { origin: Origin { line, row: RowData::Values(values.clone()) }, reason });
        };
        let mut properties = Vec::with_capacity(bound.properties.len());
        let mut failure = None;
        for property in &bound.properties {
            match property.expr.eval(&values) {
                Ok(value) => {
                    if let Some(reason) = target.loader().refuses(&value) {
                        failure = Some(format!("property `{}`: {reason}", property.name));
                        break;
                    }
                    properties.push(value);
                }
                Err(e) => {
                    failure = Some(format!("property `{}`: {e}", property.name));
                    break;
                }
            }
        }
        if let Some(reason) = failure {
            reject(reason, &mut rejected);
            continue;
        }
        match shape {
            Shape::Node(spec) => {
                if let Some(&null_key) = bound.key.iter().find(|&&i| properties[i].is_null()) {
                    reject(format!("key property `{}` is null", spec.properties[null_key]), &mut rejected);
                    continue;
                }
                node_records.push(NodeRecord { properties });
            }
            Shape::Relationship(spec) => {
                if let Some(&null_key) = bound.key.iter().find(|&&i| properties[i].is_null()) {
                    reject(format!("relationship key property `{}` is null", spec.properties[null_key]), &mut rejected);
                    continue;
                }
                let endpoint = |exprs: &[grafter_plan::transform::Compiled], which: &str, label: &str| {
                    let mut key = Vec::with_capacity(exprs.len());
                    for expr in exprs {
                        match expr.eval(&values) {
                            Ok(Value::Null) => return Err(format!("{which} node key is null (no {label} to connect)")),
                            Ok(value) => key.push(value),
                            Err(e) => return Err(format!("{which} node key: {e}")),
                        }
                    }
                    Ok(key)
                };
                let start = endpoint(&bound.start_key, "start", &spec.start.label);
                let end = endpoint(&bound.end_key, "end", &spec.end.label);
                match (start, end) {
                    (Ok(start), Ok(end)) => rel_records.push(RelRecord { start, end, properties }),
                    (Err(reason), _) | (_, Err(reason)) => {
                        reject(reason, &mut rejected);
                        continue;
                    }
                }
            }
        }
        origins.push(Origin { line, row: RowData::Values(values) });
    }
    let records = match shape {
        Shape::Node(spec) => RecordBatch::Nodes { spec: spec.clone(), records: node_records },
        Shape::Relationship(spec) => RecordBatch::Relationships { spec: spec.clone(), records: rel_records },
    };
    Transformed { records, origins, rejected, remapped }
}
