//! Running the custom checks of grafter.toml (`[[checks]]`): each Cypher query on the graph,
//! its result held against what the check expects — zero, every row valid, or the rows of a
//! SQL query on the source.
//!
//! Rows are compared as multisets, values after normalising what the two sides spell
//! differently: an integral float is an integer (SQLite's `avg`, Cypher's arithmetic), a
//! boolean is 1 or 0 (SQLite has no boolean), dates and times are their ISO 8601 text.
//! Strings are compared exactly: a number and its text are different values. A query that
//! fails is a failed check (with the error), not an error of the verification.

use std::collections::BTreeMap;

use grafter_model::Value;
use grafter_plan::{Check, Expectation};
use grafter_source::Source;
use grafter_target::GraphTarget;

use super::report::CheckReport;

/// Rows of evidence a report keeps per check.
const EVIDENCE_ROWS: usize = 20;

/// Runs every check.
pub(crate) async fn run(checks: &[Check], target: &dyn GraphTarget, source: &dyn Source) -> Vec<CheckReport> {
    let mut reports = Vec::with_capacity(checks.len());
    for check in checks {
        reports.push(run_one(check, target, source).await);
    }
    reports
}

async fn run_one(check: &Check, target: &dyn GraphTarget, source: &dyn Source) -> CheckReport {
    let mut report = CheckReport {
        name: check.name.clone(),
        description: check.description.clone(),
        cypher: check.cypher.clone(),
        passed: false,
        reason: None,
        columns: Vec::new(),
        rows: Vec::new(),
    };
    // A check only reads: the target refuses one that would write (it fails, changing nothing).
    let result = match target.read_query(&check.cypher, Vec::new()).await {
        Ok(result) => result,
        Err(error) => {
            report.reason = Some(format!("the Cypher query failed: {error}"));
            return report;
        }
    };
    report.columns = result.columns.clone();
    report.rows = result.rows.iter().take(EVIDENCE_ROWS).map(|row| row.iter().map(Value::to_json).collect()).collect();
    report.reason = match &check.expect {
        Expectation::Zero => zero(&result.rows),
        Expectation::Valid => valid(&result.columns, &result.rows),
        Expectation::EqualsSql(sql) => match source.query_rows(sql).await {
            Ok(source_rows) => equal_rows(&result.rows, &source_rows.rows),
            Err(error) => Some(format!("the SQL query failed: {error}")),
        },
    };
    report.passed = report.reason.is_none();
    report
}

/// `None` when the rows are a single 0 or nothing; else why not.
fn zero(rows: &[Vec<Value>]) -> Option<String> {
    match rows {
        [] => None,
        [row] if row.len() == 1 && normalise(&row[0]) == Value::Int(0) => None,
        [row] if row.len() == 1 => Some(format!("expected 0, got {}", row[0])),
        _ => Some(format!("expected a single 0, got {} rows of {} columns", rows.len(), rows[0].len())),
    }
}

/// `None` when every row's `valid` column is true; else why not.
fn valid(columns: &[String], rows: &[Vec<Value>]) -> Option<String> {
    let Some(position) = columns.iter().position(|c| c == "valid") else {
        return Some(format!("the query has no column `valid` (columns: {})", columns.join(", ")));
    };
    let invalid = rows.iter().filter(|row| row.get(position) != Some(&Value::Bool(true))).count();
    (invalid > 0).then(|| format!("{invalid} of {} rows are not valid", rows.len()))
}

/// A value in the form both sides agree on (see the module's note).
fn normalise(value: &Value) -> Value {
    match value {
        Value::Bool(b) => Value::Int(i64::from(*b)),
        // Within ±2^53 every integer is exact as a float.
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 => Value::Int(*x as i64),
        Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::DateTimeTz(_) | Value::Duration(_) => {
            Value::String(value.to_string())
        }
        Value::List(items) => Value::List(items.iter().map(normalise).collect()),
        Value::Map(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

/// `None` when the two row sets are equal as multisets; else how they differ.
fn equal_rows(graph: &[Vec<Value>], source: &[Vec<Value>]) -> Option<String> {
    let width = |rows: &[Vec<Value>]| rows.first().map(Vec::len);
    if let (Some(g), Some(s)) = (width(graph), width(source))
        && g != s
    {
        return Some(format!("the graph's rows have {g} columns, the source's {s}"));
    }
    // Row text (JSON of the normalised values) → (in the graph, in the source).
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let text =
        |row: &Vec<Value>| serde_json::Value::Array(row.iter().map(|v| normalise(v).to_json()).collect()).to_string();
    for row in graph {
        counts.entry(text(row)).or_default().0 += 1;
    }
    for row in source {
        counts.entry(text(row)).or_default().1 += 1;
    }
    let only = |pick: fn(&(u64, u64)) -> bool| -> Vec<String> {
        counts.iter().filter(|(_, c)| pick(c)).map(|(row, _)| row.clone()).collect()
    };
    let graph_only = only(|(g, s)| g > s);
    let source_only = only(|(g, s)| s > g);
    if graph_only.is_empty() && source_only.is_empty() {
        return None;
    }
    let sample = |rows: &[String]| {
        let shown: Vec<&str> = rows.iter().take(5).map(String::as_str).collect();
        let more = if rows.len() > 5 { format!(" and {} more", rows.len() - 5) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    let mut parts = Vec::new();
    if !graph_only.is_empty() {
        parts.push(format!("only in the graph: {}", sample(&graph_only)));
    }
    if !source_only.is_empty() {
        parts.push(format!("only in the source: {}", sample(&source_only)));
    }
    let rows = |n: usize| if n == 1 { "1 row".to_owned() } else { format!("{n} rows") };
    Some(format!("{} in the graph, {} in the source; {}", rows(graph.len()), rows(source.len()), parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_accepts_nothing_or_a_single_zero() {
        assert_eq!(zero(&[]), None);
        assert_eq!(zero(&[vec![Value::Int(0)]]), None);
        assert_eq!(zero(&[vec![Value::Float(0.0)]]), None);
        assert_eq!(zero(&[vec![Value::Int(3)]]).as_deref(), Some("expected 0, got 3"));
    }

    #[test]
    fn valid_needs_every_row_true() {
        let columns = vec!["id".to_owned(), "valid".to_owned()];
        assert_eq!(valid(&columns, &[vec![Value::Int(1), Value::Bool(true)]]), None);
        let rows = [vec![Value::Int(1), Value::Bool(true)], vec![Value::Int(2), Value::Null]];
        assert_eq!(valid(&columns, &rows).as_deref(), Some("1 of 2 rows are not valid"));
        assert!(valid(&["n".to_owned()], &[]).unwrap().contains("no column `valid`"));
    }

    #[test]
    fn rows_compare_as_multisets_after_normalising() {
        let graph = [vec![Value::from("a"), Value::Bool(true)], vec![Value::from("b"), Value::Float(2.0)]];
        let source = [vec![Value::from("b"), Value::Int(2)], vec![Value::from("a"), Value::Int(1)]];
        assert_eq!(equal_rows(&graph, &source), None);
        let reason = equal_rows(&graph, &source[..1]).unwrap();
        assert!(reason.contains(r#"only in the graph: ["a",1]"#), "{reason}");
        // A number and its text are different values; a repeated row counts twice.
        assert!(equal_rows(&[vec![Value::Int(5)]], &[vec![Value::from("5")]]).is_some());
        assert!(equal_rows(&[vec![Value::Int(5)], vec![Value::Int(5)]], &[vec![Value::Int(5)]]).is_some());
    }
}
