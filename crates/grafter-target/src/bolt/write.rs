//! Writing one batch over Bolt, together with its checkpoint, exactly once.
//!
//! Every record's outcome is settled first: a lookup finds end nodes that are missing, keys
//! this run already wrote and elements from before the run (statements from
//! [`crate::cypher::queries`]); then the engine makes the rejects durable (`handover.rs`); then the
//! records go to the graph with the checkpoint. On a first load the lookup is skipped where
//! nothing can need it: a relationship batch is first tried as one statement that writes
//! only if every end is there and no relationship of it exists ([`optimistic`]: Neo4j,
//! ArcadeDB), a node batch of a label new to the graph is created outright and its key
//! constraint refuses a key met before ([`create_only`]: Neo4j); either hands the batch on
//! to the lookup when it wrote nothing. How the last step is made atomic depends on the
//! server:
//!
//! - **Neo4j, ArcadeDB, Memgraph**: lookup and write statements run inside one explicit
//!   transaction (BEGIN … COMMIT). A batch bigger than the byte cap becomes several
//!   `UNWIND` statements in that transaction, each storing the checkpoint again, so the
//!   batch and its checkpoint commit together.
//! - **FalkorDB**: its Bolt port commits every statement on its own (BEGIN and COMMIT are
//!   no-ops), so the write and the checkpoint must be one statement. A batch that fits the
//!   cap is that statement. A bigger one is first *staged*: its rows are written, statement
//!   by statement, as `_GrafterStage` nodes, then one statement turns the staged rows into
//!   the batch's elements, deletes them and stores the checkpoint. A failure while staging
//!   leaves only stage nodes, which the next attempt clears.
//!
//! If the connection fails (or the server reports a transient error) the checkpoint says
//! whether the batch committed; it is sent again only if it did not, a bounded number of
//! times. A record too big for one statement on its own is rejected with the reason.

use grafter_bolt::{BoltError, BoltMap, BoltValue, Connection, Transaction};
use grafter_model::Value;

use super::client::{Client, retryable};
use super::encoded::{BoltBatch, Row};
use super::owned::Ownership;
use super::params::{self, exact_column, from_bolt};
use super::relationship_keys::RelationshipKeys;
use super::server::Server;
use super::statements::{Sizer, Statement, cut};
use crate::cypher::batch::{PreparedBatch, Shape};
use crate::cypher::bookkeeping::{checkpoint_params, lost_batches, naming_owned_label, stored_batches};
use crate::cypher::queries::{
    KeyLookup, Optimism, UNWIND_ROWS, node_lookup, node_writes, optimistic_relationship_write, plain,
    relationship_lookup, relationship_writes,
};
use crate::cypher::retry::{RETRY_WAITS_MS, jitter};
use crate::encoded::{Encoded, Form};
use crate::{Checkpoint, RecordBatch, RowOutcome, TargetError, WriteGate, WriteReport};

/// Label of the nodes a FalkorDB batch is staged in.
pub(crate) const STAGE_LABEL: &str = "_GrafterStage";

/// Converts a batch for [`write`] (on a worker thread, beside the writer).
pub(crate) fn encode(server: Server, batch: RecordBatch) -> Encoded {
    let records = batch.len();
    let mut prepared = PreparedBatch::new(batch, &|value| params::storable(server, value));
    let lookup_rows = std::mem::take(&mut prepared.lookup_rows);
    let write_rows = std::mem::take(&mut prepared.write_rows);
    let mut encoded = BoltBatch { prepared, lookup: Vec::new(), rows: Vec::new() };
    let positions = std::mem::take(&mut encoded.prepared.positions);
    for ((i, lookup), write) in positions.into_iter().zip(lookup_rows).zip(write_rows) {
        match params::row(server, lookup).and_then(|lookup| Ok((lookup, params::row(server, write)?))) {
            Ok((lookup, write)) => {
                encoded.prepared.positions.push(i);
                encoded.lookup.push(lookup);
                encoded.rows.push(write);
            }
            Err(reason) => encoded.prepared.outcomes[i] = Some(RowOutcome::Rejected(reason)),
        }
    }
    Encoded::new(records, Form::Bolt(encoded))
}

/// The lookup of a batch; `owned`: the run owns what it finds (see [`super::owned`]);
/// `keys`: how it finds a keyed relationship.
fn lookup_query(shape: &Shape, exact: &[usize], owned: bool, keys: KeyLookup) -> String {
    let col = exact_column(exact);
    match shape {
        Shape::Nodes(spec) => node_lookup(spec, &col, owned),
        Shape::Relationships(spec) => relationship_lookup(spec, &col, owned, keys),
    }
}

/// (MERGE, CREATE) writes from the rows `source` yields; unmarked if `owned`; `keys`: how
/// they find a keyed relationship.
fn write_queries(
    shape: &Shape,
    source: &str,
    col: &dyn Fn(usize) -> String,
    owned: bool,
    keys: KeyLookup,
) -> (String, String) {
    match shape {
        Shape::Nodes(spec) => node_writes(spec, source, col, owned),
        Shape::Relationships(spec) => relationship_writes(spec, source, col, owned, keys),
    }
}

/// The parameters every write of a batch takes: the run, and the checkpoint `stored`, which
/// names the label of an owned node batch (see [`super::owned`]).
fn write_params(
    run_id: &str,
    stored: &Checkpoint,
    shape: &Shape,
    owned: bool,
    fence: Option<i64>,
) -> Vec<(String, Value)> {
    let mut params = vec![("run".to_owned(), Value::from(run_id))];
    params.extend(checkpoint_params(stored, fence));
    match shape {
        Shape::Nodes(spec) if owned => naming_owned_label(params, &spec.label),
        _ => params,
    }
}

/// Positions per write row: the index, then every value.
fn row_width(shape: &Shape) -> usize {
    match shape {
        Shape::Nodes(spec) => 1 + spec.properties.len(),
        Shape::Relationships(spec) => {
            1 + spec.start.key_properties.len() + spec.end.key_properties.len() + spec.properties.len()
        }
    }
}

/// Stores rows as stage nodes of batch `$stage`, position `i` as property `p<i>`.
fn stage_query(width: usize, exact: &[usize]) -> String {
    let col = exact_column(exact);
    let sets: Vec<String> = (0..width).map(|i| format!("s.p{i} = {}", col(i))).collect();
    format!("{UNWIND_ROWS} CREATE (s:{STAGE_LABEL}) SET s.batch = $stage, {}", sets.join(", "))
}

/// The rows of batch `$stage`, taken from its stage nodes (which are deleted).
fn staged_rows(width: usize) -> String {
    let positions: Vec<String> = (0..width).map(|i| format!("s.p{i}")).collect();
    format!("MATCH (s:{STAGE_LABEL} {{batch: $stage}}) WITH s, [{}] AS r DELETE s WITH r", positions.join(", "))
}

/// Where a statement runs: inside the batch's transaction, or on its own.
enum Session<'c> {
    Tx(Transaction<'c>),
    Auto(&'c mut Connection),
}

impl Session<'_> {
    async fn run(&mut self, client: &Client, query: &str, params: BoltMap) -> Result<Vec<Vec<BoltValue>>, BoltError> {
        match self {
            Session::Tx(tx) => {
                let result = tx.execute(query, params).await?;
                Ok(result.records.into_iter().map(|record| record.into_values()).collect())
            }
            Session::Auto(conn) => client.run_auto(conn, query, params).await,
        }
    }
}

/// Why an attempt did not write the batch.
enum Failure {
    /// For good.
    Final(TargetError),
    /// The batch, written without a lookup, met something that needs one (a key already in
    /// the graph, which the server's uniqueness constraint refused; an end missing or a
    /// relationship there already): rolled back, nothing was written.
    NeedsLookup,
    /// The connection failed or the server reported a transient error; `report` is the
    /// batch's report if the write had begun (it may then have committed).
    Lost { error: Box<BoltError>, report: Option<WriteReport> },
}

fn lost(report: Option<&WriteReport>) -> impl Fn(BoltError) -> Failure + use<> {
    let report = report.cloned();
    move |error| Failure::Lost { error: Box::new(error), report: report.clone() }
}

impl BoltBatch {
    /// Rejects the records that do not fit in a statement on their own, whatever form the
    /// statement takes.
    fn reject_oversized(&mut self, client: &Client, run_id: &str, checkpoint: &Checkpoint) -> Result<(), TargetError> {
        let shape = self.prepared.shape.clone();
        let width = row_width(&shape);
        let every: Vec<usize> = (0..width).collect();
        let all_exact = exact_column(&every);
        // Marked statements are the longer.
        let (merge, create) = write_queries(&shape, UNWIND_ROWS, &all_exact, false, KeyLookup::ByIndex);
        let (staged_merge, staged_create) =
            write_queries(&shape, &staged_rows(width), &plain, false, KeyLookup::ByIndex);
        let longest = [merge, create, staged_merge, staged_create, stage_query(width, &every)]
            .into_iter()
            .max_by_key(String::len)
            .unwrap_or_default();
        // The checkpoint with counts as long as they can get.
        let worst = Checkpoint { written: u64::MAX / 2, rejected: u64::MAX / 2, ..checkpoint.clone() };
        let mut fixed = write_params(run_id, &worst, &shape, true, client.fence());
        fixed.push(("stage".to_owned(), Value::from(run_id)));
        let fixed = client.parameters(&fixed)?;
        let extra = client.run_extra();
        let failed = |e: BoltError| TargetError::Write { target: client_target(client), message: e.to_string() };
        let write_sizer = Sizer::new(client, &longest, "rows", &fixed, &extra).map_err(failed)?;
        let lookup_sizer =
            Sizer::new(client, &lookup_query(&shape, &every, false, KeyLookup::ByIndex), "rows", &fixed, &extra)
                .map_err(failed)?;
        let mut keep = Vec::with_capacity(self.rows.len());
        for (lookup, row) in self.lookup.iter().zip(&self.rows) {
            keep.push(
                write_sizer.fit(std::slice::from_ref(&row.0)).map_err(failed)? == 1
                    && lookup_sizer.fit(std::slice::from_ref(&lookup.0)).map_err(failed)? == 1,
            );
        }
        if keep.iter().all(|&k| k) {
            return Ok(());
        }
        let reason = format!(
            "the record does not fit in one statement of at most {} bytes (the target URL's max_message_bytes; FalkorDB's Bolt port takes at most 4,095 bytes of text): load such records through falkordb://",
            client.cap()
        );
        let mut keep = keep.into_iter();
        let positions = std::mem::take(&mut self.prepared.positions);
        let (mut lookup, mut rows) =
            (std::mem::take(&mut self.lookup).into_iter(), std::mem::take(&mut self.rows).into_iter());
        for i in positions {
            let (Some(fits), Some(l), Some(r)) = (keep.next(), lookup.next(), rows.next()) else { break };
            if fits {
                self.prepared.positions.push(i);
                self.lookup.push(l);
                self.rows.push(r);
            } else {
                self.prepared.outcomes[i] = Some(RowOutcome::Rejected(reason.clone()));
            }
        }
        Ok(())
    }
}

/// What each step of a batch's write needs besides the batch.
struct Job<'a> {
    client: &'a Client,
    /// The run's owned labels and the keys the server keeps unique.
    ownership: &'a Ownership,
    run_id: &'a str,
    checkpoint: &'a Checkpoint,
    /// The run owns what the batch writes and finds (see [`super::owned`]).
    owned: bool,
    /// How the batch's statements find a keyed relationship.
    keys: KeyLookup,
}

impl Job<'_> {
    /// The parameters every write of the batch takes (see [`write_params`]), with the
    /// checkpoint after `report`.
    fn write_params(&self, shape: &Shape, report: &WriteReport) -> Vec<(String, Value)> {
        write_params(self.run_id, &self.checkpoint.with_outcomes(report), shape, self.owned, self.client.fence())
    }
}

fn client_target(client: &Client) -> String {
    crate::cypher::CypherRunner::target(client).to_owned()
}

/// A failure for good while writing to `client`'s target.
fn for_good(client: &Client, message: impl std::fmt::Display) -> Failure {
    Failure::Final(TargetError::Write { target: client_target(client), message: message.to_string() })
}

/// A batch to be written without a lookup, every record as created: its report, the
/// parameters its statements share (the checkpoint's, and `extra`), and its rows cut into
/// statements of `query`.
fn as_created(
    job: &Job<'_>,
    batch: &BoltBatch,
    extra: Vec<(String, Value)>,
    query: &dyn Fn(&[usize]) -> String,
) -> Result<(WriteReport, BoltMap, Vec<Statement>), Failure> {
    let report = batch.prepared.report();
    let mut params = job.write_params(&batch.prepared.shape, &report);
    params.extend(extra);
    let fixed = job.client.parameters(&params).map_err(Failure::Final)?;
    let rows: Vec<&Row> = batch.rows.iter().collect();
    let statements = cut(job.client, &rows, &fixed, &[], query).map_err(|e| for_good(job.client, e))?;
    Ok((report, fixed, statements))
}

/// Writes an encoded batch and its checkpoint; see the module documentation.
pub(crate) async fn write(
    client: &Client,
    (ownership, relationship_keys): (&Ownership, &RelationshipKeys),
    run_id: &str,
    encoded: Encoded,
    checkpoint: &Checkpoint,
    mut gate: WriteGate,
) -> Result<WriteReport, TargetError> {
    let Form::Bolt(mut batch) = encoded.form else {
        return Err(TargetError::Write { target: client_target(client), message: Encoded::MISMATCH.into() });
    };
    batch.reject_oversized(client, run_id, checkpoint)?;
    // Asked before the batch's turn: the question may need a statement of its own.
    let owned = ownership.owns(client, run_id, &batch.prepared.shape).await?;
    let keys = relationship_keys.lookup(client, &batch.prepared.shape).await?;
    let job = Job { client, ownership, run_id, checkpoint, owned, keys };
    let mut waits = RETRY_WAITS_MS.iter();
    loop {
        batch.prepared.reset_decisions();
        let attempt = async {
            let _turn = client.batch_turn(matches!(batch.prepared.shape, Shape::Relationships(_))).await;
            let mut conn = client.acquire().await.map_err(lost(None))?;
            let result = if client.server().has_transactions() {
                in_transaction(&job, &mut conn, &mut batch, &mut gate).await
            } else {
                let mut session = Session::Auto(&mut conn);
                write_batch(&job, &mut session, &mut batch, &mut gate).await
            };
            let error = match &result {
                Err(Failure::Lost { error, .. }) => Some(error.as_ref()),
                _ => None,
            };
            client.release(conn, error).await;
            result
        };
        match attempt.await {
            Ok(report) => return Ok(report),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::NeedsLookup) => {
                // Rolled back; the lookup way settles each record, with its reason.
                match &batch.prepared.shape {
                    Shape::Nodes(spec) => client.pessimistic_labels.insert(&spec.label),
                    Shape::Relationships(spec) => client.pessimistic.insert(&spec.rel_type),
                };
            }
            Err(Failure::Lost { error, report }) if retryable(&error) => {
                // Did the batch commit before the failure? Its checkpoint says.
                if let Some(report) = report {
                    let stored = checkpoint.with_outcomes(&report);
                    match stored_batches(client, &stored).await? {
                        Some(n) if n >= stored.batches => return Ok(report),
                        Some(n) if n + 1 == stored.batches => {}
                        None if stored.batches <= 1 => {}
                        other => return Err(lost_batches(&client_target(client), &error.to_string(), other, &stored)),
                    }
                }
                let Some(&wait) = waits.next() else { return Err(client.gave_up(*error)) };
                tracing::debug!(
                    "{}: a batch failed before committing ({error}); sending it again",
                    client_target(client)
                );
                tokio::time::sleep(std::time::Duration::from_millis(jitter(wait))).await;
            }
            Err(Failure::Lost { error, .. })
                if crate::cypher::bookkeeping::refused_by_fence(&error.to_string()) && client.fence().is_some() =>
            {
                tracing::debug!("{}: a batch was refused by the fencing check: {error}", client_target(client));
                return Err(client.fenced_off());
            }
            Err(Failure::Lost { error, .. }) => return Err(client.failed(*error)),
        }
    }
}

/// The batch in one explicit transaction.
async fn in_transaction(
    job: &Job<'_>,
    conn: &mut Connection,
    batch: &mut BoltBatch,
    gate: &mut WriteGate,
) -> Result<WriteReport, Failure> {
    let tx = conn.begin_with(job.client.tx_extra()).await.map_err(lost(None))?;
    let mut session = Session::Tx(tx);
    let report = write_batch(job, &mut session, batch, gate).await?;
    if let Session::Tx(tx) = session {
        tx.commit().await.map_err(lost(Some(&report)))?;
    }
    Ok(report)
}

/// Lookup, the outcomes settled with the engine, then the write and the checkpoint (see the module docs).
async fn write_batch(
    job: &Job<'_>,
    session: &mut Session<'_>,
    batch: &mut BoltBatch,
    gate: &mut WriteGate,
) -> Result<WriteReport, Failure> {
    let Job { client, run_id, owned, .. } = *job;
    let parameters = |params: &[(String, Value)]| client.parameters(params).map_err(Failure::Final);
    let cutting = |e: BoltError| for_good(client, e);
    // Inside a transaction RUN carries no `extra`; on its own it names the graph.
    let extra = if matches!(session, Session::Tx(_)) { Vec::new() } else { client.run_extra() };
    let run = parameters(&[("run".to_owned(), Value::from(run_id))])?;
    let shape = batch.prepared.shape.clone();

    // 0. A first load: one statement, if it can write the batch as it is.
    if let Some(report) = create_only(job, session, batch, gate).await? {
        return Ok(report);
    }
    if let Some(report) = optimistic(job, session, batch, gate).await? {
        return Ok(report);
    }

    // 1. Outcomes, before anything commits.
    let mut existing = 0;
    if !batch.lookup.is_empty() {
        let rows: Vec<&Row> = batch.lookup.iter().collect();
        let mut found = Vec::new();
        for statement in
            cut(client, &rows, &run, &extra, &|exact| lookup_query(&shape, exact, owned, job.keys)).map_err(cutting)?
        {
            let mut params = run.clone();
            params.insert("rows".into(), BoltValue::List(statement.rows));
            let answer = session.run(client, &statement.query, params).await.map_err(lost(None))?;
            found.extend(answer.into_iter().map(|row| row.into_iter().map(from_bolt).collect()));
        }
        existing = batch.prepared.decide(found);
    }
    let report = batch.prepared.report();
    gate.settle(&report).await.map_err(|message| for_good(client, message))?;

    // 2. The records and the checkpoint.
    let stored = job.checkpoint.with_outcomes(&report);
    let fixed = parameters(&job.write_params(&shape, &report))?;
    let rows: Vec<&Row> = batch.prepared.to_write(&report).into_iter().map(|n| &batch.rows[n]).collect();
    let choose = |pair: (String, String)| if existing == 0 { pair.1 } else { pair.0 };
    let statements = cut(client, &rows, &fixed, &extra, &|exact| {
        choose(write_queries(&shape, UNWIND_ROWS, &exact_column(exact), owned, job.keys))
    })
    .map_err(cutting)?;
    let writing = lost(Some(&report));
    if statements.len() == 1 || client.server().has_transactions() {
        for statement in statements {
            let mut params = fixed.clone();
            params.insert("rows".into(), BoltValue::List(statement.rows));
            session.run(client, &statement.query, params).await.map_err(&writing)?;
        }
        return Ok(report);
    }

    // FalkorDB, too big for one statement: staged, then applied in one.
    let stage = parameters(&[(
        "stage".to_owned(),
        Value::String(format!("{}/{}/{}/{}", stored.run_id, stored.mapping, stored.partition, stored.batches)),
    )])?;
    let clear = format!("MATCH (s:{STAGE_LABEL} {{batch: $stage}}) DELETE s");
    session.run(client, &clear, stage.clone()).await.map_err(&writing)?;
    let width = row_width(&shape);
    for statement in cut(client, &rows, &stage, &extra, &|exact| stage_query(width, exact)).map_err(cutting)? {
        let mut params = stage.clone();
        params.insert("rows".into(), BoltValue::List(statement.rows));
        session.run(client, &statement.query, params).await.map_err(&writing)?;
    }
    let apply = choose(write_queries(&shape, &staged_rows(width), &plain, owned, job.keys));
    let mut params = fixed;
    params.extend(stage);
    client.check_size(&apply, &params).map_err(Failure::Final)?;
    session.run(client, &apply, params).await.map_err(&writing)?;
    Ok(report)
}

/// A relationship batch as one statement that matches each record's ends once and writes
/// the batch with its checkpoint only if every end is there once and no relationship of the
/// batch exists yet (`queries::optimistic_relationship_write`). When something needs a
/// closer look it wrote nothing, and the batch takes the lookup-then-write way: in the same
/// transaction (`None`, where the statement gathers the batch: Neo4j), or in a new one once
/// this one is rolled back ([`Failure::NeedsLookup`], where the statement counts what it
/// wrote: ArcadeDB). On a first load that saves the lookup, which matched every end a second
/// time. Tried until it finds something to look at closer once for the relationship type
/// (`NameSet`).
async fn optimistic(
    job: &Job<'_>,
    session: &mut Session<'_>,
    batch: &BoltBatch,
    gate: &mut WriteGate,
) -> Result<Option<WriteReport>, Failure> {
    let client = job.client;
    let Shape::Relationships(spec) = &batch.prepared.shape else { return Ok(None) };
    let Some(optimism) = client.server().writes_relationships_optimistically() else { return Ok(None) };
    if !matches!(session, Session::Tx(_)) || batch.rows.is_empty() || client.pessimistic.contains(&spec.rel_type) {
        return Ok(None);
    }
    let count = vec![("n".to_owned(), Value::Int(batch.rows.len() as i64))];
    let (report, fixed, mut statements) = as_created(job, batch, count, &|exact| {
        optimistic_relationship_write(spec, &exact_column(exact), job.owned, job.keys, optimism)
    })?;
    // All or nothing needs the whole batch in one statement.
    if statements.len() != 1 {
        return Ok(None);
    }
    let statement = statements.remove(0);
    gate.settle(&report).await.map_err(|message| for_good(client, message))?;
    let mut params = fixed;
    params.insert("rows".into(), BoltValue::List(statement.rows));
    let written = session.run(client, &statement.query, params).await.map_err(lost(Some(&report)))?;
    match optimism {
        Optimism::AllOrNothing if written.is_empty() => {
            client.pessimistic.insert(&spec.rel_type);
            Ok(None)
        }
        Optimism::RolledBackIfShort
            if written.first().and_then(|row| row.first()).and_then(BoltValue::as_int)
                != Some(batch.rows.len() as i64) =>
        {
            Err(Failure::NeedsLookup)
        }
        _ => Ok(Some(report)),
    }
}

/// A node batch of an owned label whose key the server keeps unique, written with `CREATE`
/// alone, without a lookup (see [`super::owned`]): on a first load the lookup finds nothing,
/// and the server's constraint refuses a key met before ([`Failure::NeedsLookup`], and the
/// batch takes the lookup-then-write way). `None` when that does not apply.
async fn create_only(
    job: &Job<'_>,
    session: &mut Session<'_>,
    batch: &BoltBatch,
    gate: &mut WriteGate,
) -> Result<Option<WriteReport>, Failure> {
    let client = job.client;
    let Shape::Nodes(spec) = &batch.prepared.shape else { return Ok(None) };
    if !job.owned
        || !matches!(session, Session::Tx(_))
        || !client.server().names_refused_keys()
        || batch.rows.is_empty()
        || client.pessimistic_labels.contains(&spec.label)
        || !job.ownership.is_unique(&spec.label, spec.key_names()).await
    {
        return Ok(None);
    }
    let (report, fixed, statements) =
        as_created(job, batch, Vec::new(), &|exact| node_writes(spec, UNWIND_ROWS, &exact_column(exact), true).1)?;
    gate.settle(&report).await.map_err(|message| for_good(client, message))?;
    for statement in statements {
        let mut params = fixed.clone();
        params.insert("rows".into(), BoltValue::List(statement.rows));
        match session.run(client, &statement.query, params).await {
            Ok(_) => {}
            Err(error) if refused_key(&error) => return Err(Failure::NeedsLookup),
            Err(error) => return Err(lost(Some(&report))(error)),
        }
    }
    Ok(Some(report))
}

/// Whether the server refused a key its uniqueness constraint already holds.
fn refused_key(error: &BoltError) -> bool {
    error.server_error().is_some_and(|e| e.code == "Neo.ClientError.Schema.ConstraintValidationFailed")
}

/// Removes the stage nodes of `run_id` a failed attempt left.
pub(crate) fn clear_stages() -> String {
    format!("MATCH (s:{STAGE_LABEL}) WHERE s.batch STARTS WITH $prefix WITH s LIMIT 100000 DELETE s RETURN count(s)")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn staged_rows_come_back_in_their_positions() {
        assert_eq!(
            stage_query(3, &[2]),
            "UNWIND $rows AS r CREATE (s:_GrafterStage) SET s.batch = $stage, s.p0 = r[0], s.p1 = r[1], s.p2 = (r[2][0] * 2.0 ^ r[2][1])"
        );
        assert_eq!(
            staged_rows(3),
            "MATCH (s:_GrafterStage {batch: $stage}) WITH s, [s.p0, s.p1, s.p2] AS r DELETE s WITH r"
        );
    }

    #[test]
    fn shapes_know_their_row_width() {
        let spec = Arc::new(crate::NodeSpec {
            mapping: "m".into(),
            label: "L".into(),
            properties: vec!["a".into(), "b".into()],
            key: vec![0],
        });
        assert_eq!(row_width(&Shape::Nodes(spec)), 3);
    }
}
