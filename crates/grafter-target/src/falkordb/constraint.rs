//! FalkorDB's uniqueness constraints, which have no Cypher: `GRAPH.CONSTRAINT CREATE|DROP`
//! commands. A constraint needs an index on its properties first, and is built in the
//! background: creating one waits until the server reports it working, or says why not
//! (nodes already sharing a value) and drops the failed constraint. Schema migrations create
//! them on one property; runs on each label's key ([`ensure_key_unique`]).

use std::time::{Duration, Instant};

use grafter_model::Value;

use super::connection::{Client, failed};
use super::index::{BUILD_TIMEOUT, create_index};
use crate::{KeyIndex, TargetError};

fn command(create: bool, graph: &str, key: &KeyIndex) -> redis::Cmd {
    let mut command = redis::cmd("GRAPH.CONSTRAINT");
    command.arg(if create { "CREATE" } else { "DROP" }).arg(graph).arg("UNIQUE").arg("NODE").arg(&key.label);
    command.arg("PROPERTIES").arg(key.properties.len());
    for property in &key.properties {
        command.arg(property);
    }
    command
}

/// The statement [`command`] sends, as a person reads it (for the run summary).
fn shown(key: &KeyIndex) -> String {
    format!("GRAPH.CONSTRAINT CREATE <graph> UNIQUE NODE {} PROPERTIES {} {}", key.label, key.properties.len(), key.properties.join(" "))
}

/// The constraint's status (`PENDING`, `OPERATIONAL`, `FAILED`), `None` when there is none.
async fn status(client: &Client, target: &str, key: &KeyIndex) -> Result<Option<String>, TargetError> {
    let properties = Value::List(key.properties.iter().map(|p| Value::from(p.as_str())).collect());
    let params = [("label".to_owned(), Value::from(key.label.as_str())), ("properties".to_owned(), properties)];
    let reply = client
        .read_query(
            "CALL db.constraints() YIELD type, label, properties, entitytype, status WHERE type = 'UNIQUE' AND entitytype = 'NODE' AND label = $label AND properties = $properties RETURN status",
            &params,
        )
        .await
        .map_err(|e| failed(target, e))?;
    Ok(reply.rows.into_iter().next().and_then(|row| row.into_iter().next()).map(|v| v.to_string()))
}

/// The node keys under a uniqueness constraint that works or is being built: (label,
/// properties, working) rows. A failed one is not listed: it holds nothing.
pub(super) const LISTED: &str = "CALL db.constraints() YIELD type, label, properties, entitytype, status WHERE type = 'UNIQUE' AND entitytype = 'NODE' AND status <> 'FAILED' RETURN label, properties, status = 'OPERATIONAL'";

/// How long a run waits for a key's new constraint to hold before it leaves the server to
/// finish building it: FalkorDB builds over the nodes there in the background, 21 s for a
/// label of 1M nodes (its index: 3.4 s), and what the constraint guards against — a second
/// writer — cannot happen while the run holds the graph's lock. Small labels are done within.
const KEY_CONSTRAINT_WAIT: Duration = Duration::from_secs(2);

/// Creates the uniqueness constraint on `key` (and the index it needs) unless it holds
/// already, and waits until it holds.
pub(super) async fn create_unique(client: &Client, target: &str, key: &KeyIndex) -> Result<(), TargetError> {
    // The key index a run made is the index the constraint needs.
    create_index(client, target, key).await?;
    let (label, properties) = (&key.label, key.properties.join(", "));
    if status(client, target, key).await?.is_none() {
        client.command(command(true, client.graph(), key)).await.map_err(|e| failed(target, e))?;
    }
    let started = Instant::now();
    let mut wait = Duration::from_millis(5);
    loop {
        match status(client, target, key).await?.as_deref() {
            Some("OPERATIONAL") => return Ok(()),
            Some("FAILED") => {
                // A failed constraint stays listed: drop it, so that the graph is as before.
                let _ = client.command(command(false, client.graph(), key)).await;
                let found = key.properties.iter().map(|p| format!("n.`{p}`")).collect::<Vec<_>>().join(", ");
                return Err(TargetError::Query {
                    message: format!(
                        "the unique constraint on :{label}({properties}) cannot hold: some {label} nodes share a value of ({properties})\n  hint: find them with MATCH (n:`{label}`) WITH [{found}] AS value, count(*) AS nodes WHERE nodes > 1 RETURN value, nodes (merge_duplicate_nodes merges them)"
                    ),
                });
            }
            None => {
                return Err(TargetError::Query {
                    message: format!("the unique constraint on :{label}({properties}) was created but is not listed"),
                });
            }
            Some(_) if started.elapsed() > BUILD_TIMEOUT => {
                return Err(TargetError::Query {
                    message: format!(
                        "the unique constraint on :{label}({properties}) was still being built after {}s",
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

/// Makes `key` its label's key with a uniqueness constraint, as Neo4j's key constraints do,
/// so that a second writer's duplicate is refused by the server itself (its index is there
/// already). Returns the statement when it created one. The server builds it in the
/// background; a run waits [`KEY_CONSTRAINT_WAIT`] at most, and verify tells one still being
/// built. One that failed (nodes sharing a key, loaded before or by someone else) is
/// dropped with a warning, leaving the label its index: verify reports the duplicates.
pub(super) async fn ensure_key_unique(
    client: &Client,
    target: &str,
    key: &KeyIndex,
) -> Result<Option<String>, TargetError> {
    let created = match status(client, target, key).await?.as_deref() {
        Some("FAILED") => return Ok(drop_failed(client, target, key).await),
        Some(_) => false,
        None => {
            client.command(command(true, client.graph(), key)).await.map_err(|e| failed(target, e))?;
            true
        }
    };
    let started = Instant::now();
    let mut wait = Duration::from_millis(5);
    while started.elapsed() < KEY_CONSTRAINT_WAIT {
        match status(client, target, key).await?.as_deref() {
            Some("OPERATIONAL") | None => break,
            Some("FAILED") => return Ok(drop_failed(client, target, key).await),
            Some(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(200));
            }
        }
    }
    Ok(created.then(|| shown(key)))
}

/// Drops a key's constraint the server could not build (nodes share a key), which stays
/// listed otherwise, and warns: the label keeps its index, and verify names the duplicates.
async fn drop_failed(client: &Client, target: &str, key: &KeyIndex) -> Option<String> {
    let _ = client.command(command(false, client.graph(), key)).await;
    tracing::warn!(
        "{target}: no uniqueness constraint on the key of :{} ({}), an index instead: some of its nodes share a key \
         (verify names them)",
        key.label,
        key.properties.join(", ")
    );
    None
}

/// Drops the uniqueness constraint on `key` (the index stays).
pub(super) async fn drop_unique(client: &Client, target: &str, key: &KeyIndex) -> Result<(), TargetError> {
    client.command(command(false, client.graph(), key)).await.map_err(|e| failed(target, e))?;
    Ok(())
}
