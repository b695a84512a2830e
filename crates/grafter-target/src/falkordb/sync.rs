//! Applying `grafter sync`'s changes on FalkorDB, with the mapping's sync state, exactly once.
//!
//! As for a run's batches ([`super::write`]), two queries: a read that settles every
//! change's outcome, then one write query that holds the removals, the updates in place, the
//! creations and the state (the statements are [`crate::cypher::sync`]'s, shared with the
//! Bolt target; the values travel as FalkorDB literals). FalkorDB runs a query atomically,
//! so the changes and the state commit together or not at all. If the connection fails
//! during the write, the stored state's batch count says whether it committed.

use async_trait::async_trait;
use grafter_model::{SyncState, Value};

use super::connection::{Client, ClientError, failed};
use super::literal::{params_prefix, storable};
use crate::cypher::sync::{ChangeReader, combined, settle, state_clause, state_params, stored_batches};
use crate::{ChangeGate, ChangeReport, ChangeSet, TargetError};

/// Reads on the target's graph, retried while the connection fails.
struct Reader<'a> {
    client: &'a Client,
    target: &'a str,
}

#[async_trait]
impl ChangeReader for Reader<'_> {
    async fn read_rows(&mut self, cypher: &str, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, TargetError> {
        let params = [("rows".to_owned(), Value::List(rows.into_iter().map(Value::List).collect()))];
        Ok(self.client.read_query(cypher, &params).await.map_err(|e| failed(self.target, e))?.rows)
    }
}

/// Applies `changes` and stores the state `commit` returns; see the module documentation.
pub(crate) async fn apply(
    client: &Client,
    target: &str,
    changes: ChangeSet,
    mut gate: ChangeGate,
) -> Result<ChangeReport, TargetError> {
    let convert = |value: Value| storable(value).map_err(|e| e.0);
    let (report, parts) = settle(&changes, &convert, &mut Reader { client, target }).await?;
    let state =
        gate.settle(&report).await.map_err(|message| TargetError::Write { target: target.to_owned(), message })?;
    let (query, mut params) = combined(parts);
    params.extend(state_params(&state));
    let text = format!("{}{query} {}", params_prefix(&params), state_clause());
    send(client, target, &text, &state).await?;
    Ok(report)
}

/// Sends the write exactly once: if the connection fails, the stored state's batch count
/// says whether it committed, and it is sent again only if it did not.
async fn send(client: &Client, target: &str, text: &str, state: &SyncState) -> Result<(), TargetError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.query_text(client.graph(), text, false).await {
            Ok(_) => return Ok(()),
            Err(ClientError::Connection(message)) if attempts <= 5 => {
                if stored_batches(client, &state.mapping).await?.is_some_and(|n| n >= state.batches) {
                    return Ok(());
                }
                tracing::debug!("{target}: a sync batch failed before committing ({message}); sending it again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempts)).await;
            }
            Err(error) => return Err(failed(target, error)),
        }
    }
}
