//! Remap tables applied: each mapping's `remap` uses are loaded (a CSV file, or a query
//! against the source) into an old → new lookup and applied to the row's values before the
//! transforms, so keys, properties and relationship ends all see the new IDs. The plan side
//! (config, policy) is `grafter_plan::RemapUse`.
//!
//! Values are matched by their text (`42` in a CSV file matches the integer 42 in a row).
//! A new value from a CSV file takes the old value's type when its text is one of that type
//! (an integer ID stays an integer); from a query it keeps the query's type.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use grafter_model::Value;
use grafter_plan::{Mapping, MissingPolicy, RemapFrom, RemapTable};
use grafter_source::Source;

use crate::EngineError;

/// One remap table, loaded.
#[derive(Debug)]
struct Lookup {
    name: String,
    /// Where it came from, for messages.
    origin: String,
    pairs: HashMap<String, Value>,
}

/// One column translated through one table.
#[derive(Debug)]
struct Rule {
    column: usize,
    column_name: String,
    lookup: Arc<Lookup>,
    missing: MissingPolicy,
}

/// A mapping's remap rules; empty for most mappings.
#[derive(Debug, Default)]
pub(crate) struct Remapper {
    rules: Vec<Rule>,
}

impl Remapper {
    /// Loads the tables `mapping` uses and binds its columns to positions in `scan_columns`.
    pub(crate) async fn load(
        mapping: &Mapping,
        tables: &BTreeMap<String, RemapTable>,
        scan_columns: &[String],
        source: &dyn Source,
    ) -> Result<Remapper, EngineError> {
        let mut loaded: HashMap<String, Arc<Lookup>> = HashMap::new();
        let mut rules = Vec::new();
        for used in &mapping.remap {
            let table = tables.get(&used.table).ok_or_else(|| remap_error(&used.table, "it is not declared".into()))?;
            let lookup = match loaded.get(&table.name) {
                Some(lookup) => Arc::clone(lookup),
                None => {
                    let lookup = Arc::new(load_table(table, source).await?);
                    loaded.insert(table.name.clone(), Arc::clone(&lookup));
                    lookup
                }
            };
            for name in &used.columns {
                let column = scan_columns.iter().position(|c| c == name).ok_or_else(|| {
                    remap_error(
                        &table.name,
                        format!(
                            "mapping `{}` remaps column `{name}`, which it does not read (it reads: {})",
                            mapping.name,
                            scan_columns.join(", ")
                        ),
                    )
                })?;
                rules.push(Rule {
                    column,
                    column_name: name.clone(),
                    lookup: Arc::clone(&lookup),
                    missing: used.missing,
                });
            }
        }
        Ok(Remapper { rules })
    }

    /// Translates `values` in place; returns how many values were remapped, or why the row is
    /// rejected (a value without an entry under `missing = "reject"`), leaving the row as read.
    pub(crate) fn apply(&self, values: &mut [Value]) -> Result<u64, String> {
        let mut replacements = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let value = &values[rule.column];
            if value.is_null() {
                continue;
            }
            match rule.lookup.pairs.get(&value.to_string()) {
                Some(new) => replacements.push((rule.column, typed_like(new, value))),
                None if rule.missing == MissingPolicy::Keep => {}
                None => {
                    return Err(format!(
                        "column `{}`: {value} has no entry in remap table `{}` ({}); the mapping's policy is missing = \"reject\" (\"keep\" keeps such values)",
                        rule.column_name, rule.lookup.name, rule.lookup.origin
                    ));
                }
            }
        }
        let remapped = replacements.len() as u64;
        for (column, new) in replacements {
            values[column] = new;
        }
        Ok(remapped)
    }

    /// Whether there is anything to apply.
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// `new` with the type of `old` when `new` is text of that type (CSV tables give text).
fn typed_like(new: &Value, old: &Value) -> Value {
    match (new, old) {
        (Value::String(text), Value::Int(_)) => text.trim().parse().map_or_else(|_| new.clone(), Value::Int),
        _ => new.clone(),
    }
}

fn remap_error(table: &str, message: String) -> EngineError {
    EngineError::Remap { table: table.to_owned(), message }
}

/// Reads a remap table's pairs. An old value listed twice is an error: which new value would
/// be meant?
async fn load_table(table: &RemapTable, source: &dyn Source) -> Result<Lookup, EngineError> {
    let (origin, columns, rows) = match &table.from {
        RemapFrom::File(path) => {
            let origin = path.display().to_string();
            let read = |e: csv::Error| remap_error(&table.name, format!("{origin}: {e}"));
            let mut reader = csv::Reader::from_path(path).map_err(read)?;
            let columns: Vec<String> = reader.headers().map_err(read)?.iter().map(str::to_owned).collect();
            let mut rows = Vec::new();
            for record in reader.records() {
                rows.push(record.map_err(read)?.iter().map(|cell| Value::String(cell.to_owned())).collect());
            }
            (origin, columns, rows)
        }
        RemapFrom::Query(sql) => {
            let result = source.query_rows(sql).await?;
            ("its query".to_owned(), result.columns, result.rows)
        }
    };
    let position = |wanted: &str| {
        columns.iter().position(|c| c == wanted).ok_or_else(|| {
            remap_error(&table.name, format!("{origin} has no column `{wanted}` (columns: {})", columns.join(", ")))
        })
    };
    let (old, new) = (position(&table.old)?, position(&table.new)?);
    let mut pairs = HashMap::with_capacity(rows.len());
    for row in rows {
        let key = row[old].to_string();
        if pairs.insert(key.clone(), row[new].clone()).is_some() {
            return Err(remap_error(&table.name, format!("{origin}: old value {key} is listed twice")));
        }
    }
    Ok(Lookup { name: table.name.clone(), origin, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remapper(missing: MissingPolicy) -> Remapper {
        let pairs = HashMap::from([("1".to_owned(), Value::from("100")), ("2".to_owned(), Value::from("u-200"))]);
        let lookup = Arc::new(Lookup { name: "users".into(), origin: "users.csv".into(), pairs });
        Remapper { rules: vec![Rule { column: 1, column_name: "user_id".into(), lookup, missing }] }
    }

    #[test]
    fn values_are_translated_keeping_integer_ids_integers() {
        let mut row = vec![Value::from("k"), Value::Int(1)];
        assert_eq!(remapper(MissingPolicy::Reject).apply(&mut row), Ok(1));
        assert_eq!(row[1], Value::Int(100));
        let mut row = vec![Value::from("k"), Value::Int(2)];
        remapper(MissingPolicy::Reject).apply(&mut row).unwrap();
        assert_eq!(row[1], Value::from("u-200"), "a new ID that is no integer stays text");
    }

    #[test]
    fn a_missing_value_is_rejected_or_kept_by_policy_and_null_is_left_alone() {
        let mut row = vec![Value::from("k"), Value::Int(3)];
        let reason = remapper(MissingPolicy::Reject).apply(&mut row).unwrap_err();
        assert!(reason.contains("column `user_id`: 3 has no entry in remap table `users` (users.csv)"), "{reason}");
        assert_eq!(remapper(MissingPolicy::Keep).apply(&mut row), Ok(0));
        assert_eq!(row[1], Value::Int(3));
        let mut row = vec![Value::from("k"), Value::Null];
        assert_eq!(remapper(MissingPolicy::Reject).apply(&mut row), Ok(0));
    }
}
