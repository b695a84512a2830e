//! Dry runs: every statement that would run, classified additive or destructive, with an
//! estimate of what it touches from a counting query on the live target.

use grafter_model::Value;
use grafter_target::GraphTarget;

use crate::SchemaError;
use crate::migration::{Migration, Version};
use crate::runner::location;
use crate::statement::estimate_query;

/// A statement as a dry run shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedStatement {
    /// Where it is (`file:line`).
    pub location: String,
    /// The Cypher.
    pub text: String,
    /// Whether it deletes or removes something.
    pub destructive: bool,
    /// Rows its reading part matches now — the nodes or relationships it would change —
    /// when it has a reading part; or why it could not be counted.
    pub estimate: Estimate,
}

/// What a counting query said.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimate {
    /// This many matches.
    Matches(u64),
    /// Nothing to count (index DDL, a bare `CREATE`).
    NotCounted,
    /// The counting query failed (the statement may depend on an earlier one).
    Unknown(String),
}

/// A migration as a dry run shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedMigration {
    /// The version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// `up` or `down`.
    pub direction: String,
    /// Its statements, in order.
    pub statements: Vec<PlannedStatement>,
}

/// Plans `up` (or `down`) statements of `migrations`, counting on the live target.
pub async fn plan_statements(
    target: &dyn GraphTarget,
    migrations: &[&Migration],
    up: bool,
) -> Result<Vec<PlannedMigration>, SchemaError> {
    let mut planned = Vec::new();
    for migration in migrations {
        let statements = if up { &migration.up } else { &migration.down };
        let mut shown = Vec::new();
        for statement in statements {
            let estimate = match estimate_query(&statement.text) {
                None => Estimate::NotCounted,
                Some(query) => match target.read_query(&query, estimate_params(statement)).await {
                    Ok(result) => match result.rows.first().and_then(|r| r.first()) {
                        Some(Value::Int(n)) => Estimate::Matches(u64::try_from(*n).unwrap_or(0)),
                        other => Estimate::Unknown(format!("the count came back as {other:?}")),
                    },
                    Err(e) => Estimate::Unknown(e.to_string()),
                },
            };
            shown.push(PlannedStatement {
                // The text follows in full: a generated statement is named by its file alone.
                location: if statement.line == 0 {
                    format!("{} (generated)", migration.path.display())
                } else {
                    location(migration, statement)
                },
                text: statement.text.clone(),
                destructive: statement.is_destructive(),
                estimate,
            });
        }
        planned.push(PlannedMigration {
            version: migration.version,
            description: migration.description.clone(),
            direction: if up { "up" } else { "down" }.into(),
            statements: shown,
        });
    }
    Ok(planned)
}

/// The statement's parameters for its counting query; a batched statement's `$batch` is
/// lifted so that the count covers everything it will change, not one batch.
fn estimate_params(statement: &crate::statement::Statement) -> Vec<(String, Value)> {
    let mut params = statement.params.clone();
    if statement.text.contains("$batch") {
        params.push(("batch".into(), Value::Int(1 << 40)));
    }
    params
}
