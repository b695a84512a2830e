//! Snapshots for rollback over Bolt: a copy of the graph kept in the same database, made
//! and restored by Cypher that runs inside the server.
//!
//! A Bolt server offers one database to write in (Neo4j Community and Memgraph have no
//! second one to copy into; FalkorDB's Bolt port names graphs in a way of its own), so the
//! copy lives beside the graph: every node becomes a `_GrafterSnapshotNode` with the same
//! properties plus its id and labels, every relationship a `_GrafterSnapshotRel` node with
//! its properties, ends and type, and a `_GrafterSnapshot` node says the copy is complete.
//! Values never leave the server (`SET s = properties(n)`), so every double comes back bit
//! for bit and nothing is limited by a message's size. Statements run page by page over
//! ids. `_Grafter…` labels keep the copy out of fingerprints and scans; the lock, stage nodes
//! and other snapshots are not copied, and restoring leaves the lock as it is.
//!
//! Restoring deletes the graph (but the lock and snapshots), recreates the nodes with their
//! labels, finds each relationship's ends by the old id under a temporary indexed label,
//! then removes that label and index.

use grafter_model::{Fingerprint, Value, quote_name};

use super::client::Client;
use crate::cypher::scan::{PAGE, fingerprint_whole, max_id, page_params};
use crate::cypher::{CypherRunner, LOCK_LABEL, first_count};
use crate::{Ddl, PropertySchema, SchemaKind, TargetError};

/// The node saying a snapshot is complete.
const HEADER: &str = "_GrafterSnapshot";
/// A copied node.
const NODE: &str = "_GrafterSnapshotNode";
/// A copied relationship.
const REL: &str = "_GrafterSnapshotRel";
/// The temporary label of restored nodes, until their relationships are back.
const RESTORED: &str = "_GrafterRestored";
/// Its indexed property: the id the node had when copied.
const RESTORED_ID: &str = "_grafter_restore_id";
/// Elements deleted or unlabelled per statement.
const STEP: i64 = 10_000;

/// Labels whose nodes a snapshot leaves out.
fn not_copied() -> Value {
    let labels = [LOCK_LABEL, HEADER, NODE, REL, super::write::STAGE_LABEL];
    Value::List(labels.iter().map(|&l| Value::from(l)).collect())
}

fn snap(name: &str) -> (String, Value) {
    ("snap".to_owned(), Value::from(name))
}

/// Runs `cypher` (which returns a count) until it counts 0.
async fn repeat(client: &Client, cypher: &str, params: &[(String, Value)]) -> Result<(), TargetError> {
    while first_count(&client.write(cypher, params).await?) > 0 {}
    Ok(())
}

/// Runs `body` for every match of `pattern` (binding `carried`) that meets `condition`. On
/// Neo4j (and servers that say they are) it is one statement whose rows commit in batches of
/// their own transactions (`CALL { … } IN TRANSACTIONS`), which needs no id space; elsewhere
/// (FalkorDB, Memgraph, whose ids are dense) one statement per page of the ids of `id_var`,
/// a node: FalkorDB seeks a range of node ids, where it would scan every relationship to
/// filter on theirs.
async fn for_each(
    client: &Client,
    pattern: &str,
    carried: &str,
    id_var: &str,
    condition: &str,
    body: &str,
    params: &[(String, Value)],
) -> Result<(), TargetError> {
    if client.server().speaks_neo4j() {
        let cypher = format!(
            "MATCH {pattern} WHERE {condition} CALL {{ WITH {carried} {body} }} IN TRANSACTIONS OF {STEP} ROWS"
        );
        client.write(&cypher, params).await?;
        return Ok(());
    }
    let cypher = format!("MATCH {pattern} WHERE id({id_var}) >= $from AND id({id_var}) < $to AND {condition} {body}");
    paged(client, &cypher, max_id(client).await?, params).await
}

/// Copies the graph into snapshot `name` (replacing one of that name).
pub(crate) async fn take(client: &Client, name: &str) -> Result<(), TargetError> {
    drop(client, name).await?;
    let params = [snap(name), ("skip".to_owned(), not_copied())];
    for_each(
        client,
        "(n)",
        "n",
        "n",
        "NOT any(l IN labels(n) WHERE l IN $skip)",
        &format!(
            "CREATE (s:{NODE}) SET s = properties(n), s._grafter_snapshot = $snap, s._grafter_snapshot_id = id(n), \
             s._grafter_snapshot_labels = labels(n)"
        ),
        &params,
    )
    .await?;
    for_each(
        client,
        "(a)-[x]->(b)",
        "a, x, b",
        "a",
        "NOT any(l IN labels(a) + labels(b) WHERE l IN $skip)",
        &format!(
            "CREATE (s:{REL}) SET s = properties(x), s._grafter_snapshot = $snap, s._grafter_snapshot_start = id(a), \
             s._grafter_snapshot_end = id(b), s._grafter_snapshot_type = type(x)"
        ),
        &params,
    )
    .await?;
    client.write(&format!("CREATE (:{HEADER} {{name: $snap, complete: true}})"), &[snap(name)]).await?;
    Ok(())
}

/// Whether snapshot `name` is there, whole.
async fn complete(client: &Client, name: &str) -> Result<bool, TargetError> {
    let rows = client
        .read(&format!("MATCH (h:{HEADER} {{name: $snap, complete: true}}) RETURN count(h)"), &[snap(name)])
        .await?;
    Ok(first_count(&rows) > 0)
}

/// The distinct values of `field` on snapshot `name`'s `label` nodes.
async fn distinct(client: &Client, label: &str, field: &str, name: &str) -> Result<Vec<Value>, TargetError> {
    let cypher = format!("MATCH (s:{label} {{_grafter_snapshot: $snap}}) RETURN DISTINCT s.{field}");
    Ok(client.read(&cypher, &[snap(name)]).await?.into_iter().filter_map(|row| row.into_iter().next()).collect())
}

/// The temporary index on restored nodes' old ids, for the server's dialect.
fn restored_index() -> PropertySchema {
    PropertySchema {
        kind: SchemaKind::Index,
        name: "grafter_restored_id".into(),
        label: RESTORED.into(),
        property: RESTORED_ID.into(),
    }
}

/// Runs DDL, taking "already there" / "not there" as done.
async fn ddl(client: &Client, steps: Vec<Ddl>) -> Result<(), TargetError> {
    for step in steps {
        if let Ddl::Cypher(text) = step {
            match client.write(&text, &[]).await {
                Ok(_) => {}
                Err(TargetError::Query { message })
                    if message.contains("already")
                        || message.contains("not exist")
                        || message.contains("Unable to drop") => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Brings the graph back to snapshot `name`.
pub(crate) async fn restore(client: &Client, name: &str) -> Result<(), TargetError> {
    if !complete(client, name).await? {
        return Err(TargetError::Store {
            target: client.target().to_owned(),
            message: format!("snapshot {name} is not in the graph, or was not finished: nothing was changed"),
        });
    }
    let keep =
        ("keep".to_owned(), Value::List([LOCK_LABEL, HEADER, NODE, REL].iter().map(|&l| Value::from(l)).collect()));
    repeat(
        client,
        &format!("MATCH (n) WHERE NOT any(l IN labels(n) WHERE l IN $keep) WITH n LIMIT {STEP} DETACH DELETE n RETURN count(n)"),
        &[keep],
    )
    .await?;
    let dialect = client.server().dialect();
    ddl(client, dialect.create(&restored_index())).await?;

    let label_sets = distinct(client, NODE, "_grafter_snapshot_labels", name).await?;
    let types = distinct(client, REL, "_grafter_snapshot_type", name).await?;
    for labels in &label_sets {
        let Value::List(labels) = labels else { continue };
        let quoted: String = labels.iter().map(|l| format!(":{}", quote_name(&l.to_string()))).collect();
        for_each(
            client,
            &format!("(s:{NODE})"),
            "s",
            "s",
            "s._grafter_snapshot = $snap AND s._grafter_snapshot_labels = $labels",
            &format!(
                "CREATE (n{quoted}:{RESTORED}) SET n = properties(s), n.{RESTORED_ID} = s._grafter_snapshot_id, \
                 n._grafter_snapshot = null, n._grafter_snapshot_id = null, n._grafter_snapshot_labels = null"
            ),
            &[snap(name), ("labels".to_owned(), Value::List(labels.clone()))],
        )
        .await?;
    }
    for rel_type in &types {
        for_each(
            client,
            &format!("(s:{REL})"),
            "s",
            "s",
            "s._grafter_snapshot = $snap AND s._grafter_snapshot_type = $type",
            &format!(
                "MATCH (a:{RESTORED} {{{RESTORED_ID}: s._grafter_snapshot_start}}) MATCH (b:{RESTORED} {{{RESTORED_ID}: s._grafter_snapshot_end}}) \
                 CREATE (a)-[x:{}]->(b) SET x = properties(s), x._grafter_snapshot = null, \
                 x._grafter_snapshot_start = null, x._grafter_snapshot_end = null, x._grafter_snapshot_type = null",
                quote_name(&rel_type.to_string())
            ),
            &[snap(name), ("type".to_owned(), rel_type.clone())],
        )
        .await?;
    }
    repeat(
        client,
        &format!(
            "MATCH (n:{RESTORED}) WITH n LIMIT {STEP} REMOVE n:{RESTORED} SET n.{RESTORED_ID} = null RETURN count(n)"
        ),
        &[],
    )
    .await?;
    ddl(client, dialect.drop(&restored_index())).await
}

/// Runs `cypher` once per page of node ids up to `max`.
async fn paged(client: &Client, cypher: &str, max: i64, params: &[(String, Value)]) -> Result<(), TargetError> {
    let mut from = 0;
    while from <= max {
        let mut page = page_params(from).to_vec();
        page.extend_from_slice(params);
        client.write(cypher, &page).await?;
        from += PAGE;
    }
    Ok(())
}

/// The fingerprint of the graph snapshot `name` holds, read from the copy.
pub(crate) async fn fingerprint(
    client: &std::sync::Arc<Client>,
    name: &str,
) -> Result<Option<Fingerprint>, TargetError> {
    if !complete(client, name).await? {
        return Ok(None);
    }
    let nodes = format!(
        "MATCH (s:{NODE}) WHERE s._grafter_snapshot = $snap {{filter}} \
         RETURN s._grafter_snapshot_id, s._grafter_snapshot_labels, properties(s)"
    );
    let relationships = format!(
        "MATCH (s:{REL}) WHERE s._grafter_snapshot = $snap {{filter}} \
         RETURN s._grafter_snapshot_start, s._grafter_snapshot_end, s._grafter_snapshot_type, properties(s)"
    );
    let filter = "AND id(s) >= $from AND id(s) < $to";
    let runner: std::sync::Arc<dyn crate::cypher::CypherRunner> = client.clone();
    fingerprint_whole(runner, (&nodes, filter), (&relationships, filter), vec![snap(name)]).await.map(Some)
}

/// Removes snapshot `name`.
pub(crate) async fn drop(client: &Client, name: &str) -> Result<(), TargetError> {
    client.write(&format!("MATCH (h:{HEADER} {{name: $snap}}) DELETE h"), &[snap(name)]).await?;
    for label in [NODE, REL] {
        let cypher =
            format!("MATCH (s:{label} {{_grafter_snapshot: $snap}}) WITH s LIMIT {STEP} DELETE s RETURN count(s)");
        repeat(client, &cypher, &[snap(name)]).await?;
    }
    Ok(())
}
