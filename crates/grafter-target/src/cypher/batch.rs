//! A [`RecordBatch`] made ready for a server: values converted to what the store keeps,
//! duplicates within the batch rejected, rows laid out for [`super::queries`], and the
//! lookup's answers turned into each record's outcome.
//!
//! Every record ends with one [`RowOutcome`]: rejected here (a value the store cannot keep,
//! a key met twice in the batch), rejected or marked as an update by the lookup (an end
//! node missing, a key this run already wrote, an element from before the run), or created.

use std::sync::Arc;

use grafter_model::{KeyHash, Value, key_hash};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::records::node_text;
use crate::{NodeSpec, RecordBatch, RelSpec, RowOutcome, WriteReport};

/// The mapping a batch belongs to.
#[derive(Clone)]
pub(crate) enum Shape {
    /// Nodes.
    Nodes(Arc<NodeSpec>),
    /// Relationships.
    Relationships(Arc<RelSpec>),
}

impl Shape {
    /// The mapping `batch` belongs to.
    pub(crate) fn of(batch: &RecordBatch) -> Shape {
        match batch {
            RecordBatch::Nodes { spec, .. } => Shape::Nodes(Arc::clone(spec)),
            RecordBatch::Relationships { spec, .. } => Shape::Relationships(Arc::clone(spec)),
        }
    }
}

/// A batch ready for the lookup and the write.
pub(crate) struct PreparedBatch {
    pub shape: Shape,
    /// One outcome per record; `None` until the lookup decides.
    pub outcomes: Vec<Option<RowOutcome>>,
    /// Batch positions of the records in `lookup_rows` and `write_rows`, in order.
    pub positions: Vec<usize>,
    /// `[i, key…]` per record: what the lookup needs.
    pub lookup_rows: Vec<Vec<Value>>,
    /// `[i, key…, property…]` per record: what the write needs.
    pub write_rows: Vec<Vec<Value>>,
    /// Readable record descriptions for reject reasons, by batch position.
    pub described: Vec<String>,
}

/// Converts values with `storable`; the first that cannot be stored rejects the row.
fn convert_all(
    names: &[String],
    values: Vec<Value>,
    storable: &dyn Fn(Value) -> Result<Value, String>,
) -> Result<Vec<Value>, RowOutcome> {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| storable(value).map_err(|e| RowOutcome::Rejected(format!("property `{name}`: {e}"))))
        .collect()
}

pub(crate) fn duplicate_relationship(described: &str, spec: &RelSpec) -> RowOutcome {
    RowOutcome::Rejected(format!(
        "duplicate relationship: {described} was already written by this run{}",
        if spec.key.is_empty() { " (give the mapping a `key` if parallel relationships are intended)" } else { "" }
    ))
}

pub(crate) fn duplicate_node(described: &str) -> RowOutcome {
    RowOutcome::Rejected(format!("duplicate key: {described} was already written by this run"))
}

impl PreparedBatch {
    /// Lays out `batch`, converting every value with `storable` (the store's rules; an
    /// error rejects the record with the reason).
    pub(crate) fn new(batch: RecordBatch, storable: &dyn Fn(Value) -> Result<Value, String>) -> PreparedBatch {
        let records = batch.len();
        let mut prepared = PreparedBatch {
            shape: Shape::of(&batch),
            outcomes: Vec::with_capacity(records),
            positions: Vec::with_capacity(records),
            lookup_rows: Vec::with_capacity(records),
            write_rows: Vec::with_capacity(records),
            described: Vec::with_capacity(records),
        };
        let mut seen: FxHashSet<KeyHash> = FxHashSet::with_capacity_and_hasher(records, Default::default());
        match batch {
            RecordBatch::Nodes { spec, records } => {
                let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
                for (i, record) in records.into_iter().enumerate() {
                    let key_values: Vec<Value> = spec.key.iter().map(|&k| record.properties[k].clone()).collect();
                    prepared.described.push(node_text(&spec.label, &key_names, &key_values));
                    let values = match convert_all(&spec.properties, record.properties, storable) {
                        Ok(values) => values,
                        Err(rejected) => {
                            prepared.outcomes.push(Some(rejected));
                            continue;
                        }
                    };
                    let key: Vec<Value> = spec.key.iter().map(|&k| values[k].clone()).collect();
                    if !seen.insert(key_hash(&key)) {
                        prepared.outcomes.push(Some(duplicate_node(&prepared.described[i])));
                        continue;
                    }
                    let index = Value::Int(i as i64);
                    prepared.push(i, std::iter::once(index.clone()).chain(key).collect(), {
                        std::iter::once(index).chain(values).collect()
                    });
                }
            }
            RecordBatch::Relationships { spec, records } => {
                for (i, record) in records.into_iter().enumerate() {
                    prepared.described.push(format!(
                        "{}-[:{}]->{}",
                        node_text(&spec.start.label, &spec.start.key_properties, &record.start),
                        spec.rel_type,
                        node_text(&spec.end.label, &spec.end.key_properties, &record.end)
                    ));
                    let converted = convert_all(&spec.start.key_properties, record.start, storable).and_then(|start| {
                        let end = convert_all(&spec.end.key_properties, record.end, storable)?;
                        Ok((start, end, convert_all(&spec.properties, record.properties, storable)?))
                    });
                    let (start, end, values) = match converted {
                        Ok(converted) => converted,
                        Err(rejected) => {
                            prepared.outcomes.push(Some(rejected));
                            continue;
                        }
                    };
                    if let Some(&k) = spec.key.iter().find(|&&k| values[k].is_null()) {
                        prepared.outcomes.push(Some(RowOutcome::Rejected(format!(
                            "relationship key property `{}` is NULL",
                            spec.properties[k]
                        ))));
                        continue;
                    }
                    let key: Vec<Value> = spec.key.iter().map(|&k| values[k].clone()).collect();
                    let identity =
                        key_hash(&[Value::List(start.clone()), Value::List(end.clone()), Value::List(key.clone())]);
                    if !seen.insert(identity) {
                        prepared.outcomes.push(Some(duplicate_relationship(&prepared.described[i], &spec)));
                        continue;
                    }
                    let index = Value::Int(i as i64);
                    let ends = std::iter::once(index.clone()).chain(start.iter().cloned()).chain(end.iter().cloned());
                    let lookup = ends.chain(key).collect();
                    prepared.push(i, lookup, std::iter::once(index).chain(start).chain(end).chain(values).collect());
                }
            }
        }
        prepared
    }

    fn push(&mut self, i: usize, lookup: Vec<Value>, write: Vec<Value>) {
        self.outcomes.push(None);
        self.positions.push(i);
        self.lookup_rows.push(lookup);
        self.write_rows.push(write);
    }

    /// Settles outcomes from the lookup's rows (see [`super::queries`]); returns how many
    /// records update an element that was there before the run.
    pub(crate) fn decide(&mut self, rows: Vec<Vec<Value>>) -> usize {
        let mut decided: FxHashMap<usize, RowOutcome> = FxHashMap::default();
        for row in rows {
            let Some(Value::Int(i)) = row.first() else { continue };
            let Some(described) = usize::try_from(*i).ok().and_then(|i| self.described.get(i)) else { continue };
            let flag = |n: usize| matches!(row.get(n), Some(Value::Bool(true)));
            let outcome = match &self.shape {
                Shape::Nodes(_) if flag(1) => duplicate_node(described),
                Shape::Relationships(_) if flag(1) => {
                    RowOutcome::Rejected(format!("start node of {described} not found"))
                }
                Shape::Relationships(_) if flag(2) => {
                    RowOutcome::Rejected(format!("end node of {described} not found"))
                }
                Shape::Relationships(spec) if flag(3) => duplicate_relationship(described, spec),
                _ => RowOutcome::Updated,
            };
            // A rejection wins over an update (several rows for one record: parallel matches).
            let entry = decided.entry(*i as usize).or_insert_with(|| outcome.clone());
            if matches!(outcome, RowOutcome::Rejected(_)) {
                *entry = outcome;
            }
        }
        let mut existing = 0;
        for (i, outcome) in decided {
            if matches!(outcome, RowOutcome::Updated) {
                existing += 1;
            }
            self.outcomes[i] = Some(outcome);
        }
        existing
    }

    /// Forgets what a lookup decided (a write tried again looks up again).
    pub(crate) fn reset_decisions(&mut self) {
        for &i in &self.positions {
            self.outcomes[i] = None;
        }
    }

    /// The report as things stand: every record not rejected or updated is created.
    pub(crate) fn report(&self) -> WriteReport {
        let outcomes = self.outcomes.iter().map(|o| o.clone().unwrap_or(RowOutcome::Created)).collect();
        WriteReport { outcomes, checkpoint_seconds: 0.0 }
    }

    /// Indexes (into `write_rows`) of the records `report` does not reject.
    pub(crate) fn to_write(&self, report: &WriteReport) -> Vec<usize> {
        (0..self.positions.len())
            .filter(|&n| !matches!(report.outcomes[self.positions[n]], RowOutcome::Rejected(_)))
            .collect()
    }
}
