//! FalkorDB's uniqueness constraints, which have no Cypher: `GRAPH.CONSTRAINT CREATE|DROP`
//! commands. A constraint needs an index on its property first, and is built in the
//! background: creating one waits until the server reports it working, or says why not
//! (nodes already sharing a value) and drops the failed constraint.

use std::time::{Duration, Instant};

use grafter_model::Value;

use super::connection::{Client, failed};
use super::index::{BUILD_TIMEOUT, create_index};
use crate::{KeyIndex, TargetError};

fn command(create: bool, graph: &str, label: &str, property: &str) -> redis::Cmd {
    let mut command = redis::cmd("GRAPH.CONSTRAINT");
    command.arg(if create { "CREATE" } else { "DROP" }).arg(graph).arg("UNIQUE").arg("NODE").arg(label);
    command.arg("PROPERTIES").arg(1).arg(property);
    command
}

/// The constraint's status (`PENDING`, `OPERATIONAL`, `FAILED`), `None` when there is none.
async fn status(client: &Client, target: &str, label: &str, property: &str) -> Result<Option<String>, TargetError> {
    let params = [("label".to_owned(), Value::from(label)), ("property".to_owned(), Value::from(property))];
    let reply = client
        .read_query(
            "CALL db.constraints() YIELD type, label, properties, status WHERE type = 'UNIQUE' AND label = $label AND properties = [$property] RETURN status",
            &params,
        )
        .await
        .map_err(|e| failed(target, e))?;
    Ok(reply.rows.into_iter().next().and_then(|row| row.into_iter().next()).map(|v| v.to_string()))
}

/// Creates the uniqueness constraint on `label`.`property` (and the index it needs) and
/// waits until it holds.
pub(super) async fn create_unique(
    client: &Client,
    target: &str,
    label: &str,
    property: &str,
) -> Result<(), TargetError> {
    // The key index a run made is the index the constraint needs.
    create_index(client, target, &KeyIndex { label: label.to_owned(), properties: vec![property.to_owned()] }).await?;
    client.command(command(true, client.graph(), label, property)).await.map_err(|e| failed(target, e))?;
    let started = Instant::now();
    let mut wait = Duration::from_millis(5);
    loop {
        match status(client, target, label, property).await?.as_deref() {
            Some("OPERATIONAL") => return Ok(()),
            Some("FAILED") => {
                // A failed constraint stays listed: drop it, so that the graph is as before.
                let _ = client.command(command(false, client.graph(), label, property)).await;
                return Err(TargetError::Query {
                    message: format!(
                        "the unique constraint on :{label}({property}) cannot hold: some {label} nodes share a {property}\n  hint: find them with MATCH (n:`{label}`) WITH n.`{property}` AS value, count(*) AS nodes WHERE nodes > 1 RETURN value, nodes (merge_duplicate_nodes merges them)"
                    ),
                });
            }
            None => {
                return Err(TargetError::Query {
                    message: format!("the unique constraint on :{label}({property}) was created but is not listed"),
                });
            }
            Some(_) if started.elapsed() > BUILD_TIMEOUT => {
                return Err(TargetError::Query {
                    message: format!(
                        "the unique constraint on :{label}({property}) was still being built after {}s",
                        BUILD_TIMEOUT.as_secs()
                    ),
                });
            }
            Some(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// Drops the uniqueness constraint on `label`.`property` (the index stays).
pub(super) async fn drop_unique(client: &Client, target: &str, label: &str, property: &str) -> Result<(), TargetError> {
    client.command(command(false, client.graph(), label, property)).await.map_err(|e| failed(target, e))?;
    Ok(())
}
