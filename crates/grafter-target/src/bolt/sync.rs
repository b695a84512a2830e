//! Applying `grafter sync`'s changes over Bolt, with the mapping's sync state, exactly once,
//! on servers whose transactions are real (Neo4j, Memgraph, ArcadeDB).
//!
//! Everything happens in one explicit transaction (BEGIN … COMMIT): the reads that settle
//! every change's outcome, then the outcomes settled with the engine (`handover.rs`: it
//! writes the rejects and answers with the state to store), each part of the write (removals, updates in place, creations:
//! [`crate::cypher::sync`]'s statements, shared with the FalkorDB target, each cut to the
//! byte cap), and last the state, behind the lock's fencing check: if the lock was taken
//! over or broken since this process took it, the server refuses that statement and the
//! whole transaction is undone ([`crate::TargetError::LockLost`]).
//!
//! If the connection fails (or the server reports a transient error) before the outcomes were
//! settled, the batch starts again; after that, the stored state's batch count says whether the
//! transaction committed (the failure may have come during COMMIT), and if it did not, the
//! settled write is sent again in a new transaction — the lock keeps anyone else from
//! changing what was read meanwhile.
//!
//! FalkorDB's Bolt port has no transactions (BEGIN and COMMIT do nothing, every statement
//! commits on its own) and takes statements of at most 4 KB, so changes and their state
//! cannot commit together there: the target refuses sync on it ([`refusal`]).

use async_trait::async_trait;
use grafter_bolt::{BoltError, BoltMap, BoltValue, Connection, Transaction};
use grafter_model::{SyncState, Value};

use super::client::{Client, retryable};
use super::params::{self, from_bolt};
use super::server::Server;
use super::statements::cut;
use crate::cypher::CypherRunner;
use crate::cypher::bookkeeping::{fenced, refused_by_fence};
use crate::cypher::retry::{RETRY_WAITS_MS, jitter};
use crate::cypher::sync::{ChangeReader, Part, settle, state_clause, state_params, stored_batches};
use crate::{ChangeGate, ChangeReport, ChangeSet, TargetError};

/// Why sync is refused on `server`, if it is.
pub(crate) fn refusal(server: Server) -> Option<String> {
    (!server.has_transactions()).then(|| {
        "incremental sync over FalkorDB's Bolt port: it commits every statement on its own (BEGIN and COMMIT do nothing) and takes at most 4,095 bytes a statement, so a batch of changes and its sync state cannot commit together\n  hint: sync this graph through FalkorDB's own protocol: [target] url = \"falkordb://HOST:6379/GRAPH\" (the same graph, its port 6379 by default)".to_owned()
    })
}

/// A batch settled and ready to write: its report, the parts, and the state to store.
struct Settled {
    report: ChangeReport,
    parts: Vec<Part>,
    state: SyncState,
}

/// Why an attempt did not commit.
enum Failure {
    /// For good.
    Final(TargetError),
    /// The connection failed or the server refused; retried if [`retryable`].
    Lost(BoltError),
}

/// Applies `changes` and stores the state `commit` returns; see the module documentation.
pub(crate) async fn apply(
    client: &Client,
    changes: ChangeSet,
    mut gate: ChangeGate,
) -> Result<ChangeReport, TargetError> {
    let mut settled: Option<Settled> = None;
    let mut waits = RETRY_WAITS_MS.iter();
    loop {
        let result = match client.acquire().await {
            Ok(mut conn) => {
                let result = in_transaction(client, &mut conn, &changes, &mut gate, &mut settled).await;
                let lost = match &result {
                    Err(Failure::Lost(error)) => Some(error),
                    _ => None,
                };
                client.release(conn, lost).await;
                result
            }
            Err(error) => Err(Failure::Lost(error)),
        };
        let error = match result {
            Ok(report) => return Ok(report),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Lost(error)) => error,
        };
        if client.fence().is_some() && refused_by_fence(&error.to_string()) {
            return Err(client.fenced_off());
        }
        if !retryable(&error) {
            return Err(client.failed(error));
        }
        // Did the transaction commit before the failure? The stored state says.
        if let Some(settled) = &settled
            && stored_batches(client, &settled.state.mapping).await?.is_some_and(|n| n >= settled.state.batches)
        {
            return Ok(settled.report.clone());
        }
        let Some(&wait) = waits.next() else { return Err(client.gave_up(error)) };
        tracing::debug!("{}: a batch of changes failed before committing ({error}); sending it again", client.target());
        tokio::time::sleep(std::time::Duration::from_millis(jitter(wait))).await;
    }
}

/// One attempt: settle (unless an earlier attempt did), write, store the state, commit.
async fn in_transaction(
    client: &Client,
    conn: &mut Connection,
    changes: &ChangeSet,
    gate: &mut ChangeGate,
    settled: &mut Option<Settled>,
) -> Result<ChangeReport, Failure> {
    let mut tx = conn.begin_with(client.tx_extra()).await.map_err(Failure::Lost)?;
    if settled.is_none() {
        let server = client.server();
        let convert = move |value: Value| params::storable(server, value);
        let mut reader = InTransaction { client, tx: &mut tx, lost: None };
        let (report, parts) = match settle(changes, &convert, &mut reader).await {
            Ok(done) => done,
            Err(error) => return Err(reader.lost.map_or(Failure::Final(error), Failure::Lost)),
        };
        // Settled once: a retry after a lost connection sends what was settled again.
        let state = gate
            .settle(&report)
            .await
            .map_err(|message| Failure::Final(TargetError::Write { target: client.target().to_owned(), message }))?;
        *settled = Some(Settled { report, parts, state });
    }
    let Some(Settled { report, parts, state }) = settled.as_ref() else { unreachable!("settled above") };
    for part in parts.iter().filter(|part| !part.rows.is_empty()) {
        run_over_rows(client, &mut tx, &part.statement(), part.rows.clone()).await?;
    }
    let mut params = state_params(state);
    params.push(("fence".into(), client.fence().map_or(Value::Null, Value::Int)));
    let params = client.parameters(&params).map_err(Failure::Final)?;
    tx.execute(&fenced(&state_clause()), params).await.map_err(Failure::Lost)?;
    tx.commit().await.map_err(Failure::Lost)?;
    Ok(report.clone())
}

/// Runs `query` over the list `$rows`, in as many statements as the byte cap needs; every
/// row it returns.
async fn run_over_rows(
    client: &Client,
    tx: &mut Transaction<'_>,
    query: &str,
    rows: Vec<Vec<Value>>,
) -> Result<Vec<Vec<Value>>, Failure> {
    let rows = rows
        .into_iter()
        .map(|row| params::parameter(client.server(), Value::List(row)).map(|row| (row, Vec::new())))
        .collect::<Result<Vec<(BoltValue, Vec<usize>)>, String>>()
        .map_err(|message| Failure::Final(TargetError::Query { message }))?;
    let refs: Vec<&(BoltValue, Vec<usize>)> = rows.iter().collect();
    let statements = cut(client, &refs, &BoltMap::new(), &[], &|_| query.to_owned()).map_err(|e| {
        Failure::Final(TargetError::Write { target: client.target().to_owned(), message: e.to_string() })
    })?;
    let mut found = Vec::new();
    for statement in statements {
        let params = BoltMap::from([("rows".to_owned(), BoltValue::List(statement.rows))]);
        let result = tx.execute(&statement.query, params).await.map_err(Failure::Lost)?;
        found
            .extend(result.records.into_iter().map(|record| record.into_values().into_iter().map(from_bolt).collect()));
    }
    Ok(found)
}

/// Reads inside the batch's transaction. A failure of the connection is kept, so that the
/// attempt is retried rather than failed.
struct InTransaction<'t, 'c> {
    client: &'t Client,
    tx: &'t mut Transaction<'c>,
    lost: Option<BoltError>,
}

#[async_trait]
impl ChangeReader for InTransaction<'_, '_> {
    async fn read_rows(&mut self, cypher: &str, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, TargetError> {
        match run_over_rows(self.client, self.tx, cypher, rows).await {
            Ok(rows) => Ok(rows),
            Err(Failure::Final(error)) => Err(error),
            Err(Failure::Lost(error)) => {
                let failed = TargetError::Query { message: error.to_string() };
                self.lost = Some(error);
                Err(failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_falkordbs_bolt_port_is_refused_and_it_is_told_what_to_use() {
        let why = refusal(Server::FalkorDb).expect("refused");
        assert!(why.contains("cannot commit together") && why.contains("falkordb://"), "{why}");
        for server in [Server::Neo4j, Server::ArcadeDb, Server::Memgraph] {
            assert_eq!(refusal(server), None, "{server:?}");
        }
    }
}
