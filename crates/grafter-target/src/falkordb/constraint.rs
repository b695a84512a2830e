//! FalkorDB's uniqueness constraints, which have no Cypher: `GRAPH.CONSTRAINT CREATE|DROP`
//! commands. A constraint needs an index on its property first, and is built in the
//! background: creating one waits until the server reports it working, or says why not
//! (nodes already sharing a value) and drops the failed constraint.

use std::time::{Duration, Instant};

use grafter_model::Value;

use super::connection::{Client, ClientError, failed};
use crate::{Dialect, TargetError};

/// How long a constraint may take to build before grafter gives up waiting.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

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
    for statement in Dialect::FalkorDb.key_index(label, &[property.to_owned()]) {
        match client.idempotent(&statement, &[]).await {
            // The key index a run made is the index the constraint needs.
            Ok(_) => {}
            Err(ClientError::Query(message)) if message.contains("already indexed") => {}
            Err(error) => return Err(failed(target, error)),
        }
    }
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
