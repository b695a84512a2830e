//! Merging duplicate nodes (`merge_duplicate_nodes`): nodes of a label that share a key
//! become one.
//!
//! Per group of duplicates the node with the lowest id survives; it keeps its own
//! properties and gains those only the others have; every relationship of the others is
//! copied to it (type and properties; one between two duplicates becomes a loop on the
//! survivor); then the others are deleted. Groups are found `batch_size` at a time until none
//! is left. Relationship types come from the data, so each is checked as a name and
//! backtick-quoted; values travel as parameters. There is no inverse: the migration is
//! one-way and destructive, and a failure is undone by the snapshot.

use std::collections::BTreeMap;

use grafter_model::{NameKind, Value, check_name, quote_name};
use grafter_target::GraphTarget;

/// Which duplicates to merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeStep {
    /// The label (unquoted).
    pub label: String,
    /// The properties that make two nodes duplicates when all are equal (and set).
    pub key: Vec<String>,
}

async fn query(target: &dyn GraphTarget, cypher: &str, params: &[(&str, Value)]) -> Result<Vec<Vec<Value>>, String> {
    let params = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    target.query(cypher, params).await.map(|r| r.rows).map_err(|e| format!("{e} (in `{cypher}`)"))
}

fn id_of(value: &Value) -> Result<i64, String> {
    match value {
        Value::Int(id) => Ok(*id),
        other => Err(format!("a node id came back as {other:?}")),
    }
}

/// The query listing groups of duplicates (their node ids), at most `$batch` groups.
pub fn groups_query(step: &MergeStep) -> String {
    let label = quote_name(&step.label);
    let keys: Vec<String> = step.key.iter().map(|k| quote_name(k)).collect();
    let set: Vec<String> = keys.iter().map(|k| format!("n.{k} IS NOT NULL")).collect();
    let group: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("n.{k} AS k{i}")).collect();
    format!(
        "MATCH (n:{label}) WHERE {} WITH {}, collect(id(n)) AS ids WHERE size(ids) > 1 RETURN ids LIMIT $batch",
        set.join(" AND "),
        group.join(", ")
    )
}

/// Merges every group of duplicates; calls `progress` with the running number of nodes
/// merged away. Returns that number.
pub async fn run(
    target: &dyn GraphTarget,
    step: &MergeStep,
    batch_size: usize,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, String> {
    let groups = groups_query(step);
    let batch = Value::Int(i64::try_from(batch_size.max(1)).unwrap_or(i64::MAX));
    let mut merged = 0u64;
    loop {
        let rows = query(target, &groups, &[("batch", batch.clone())]).await?;
        if rows.is_empty() {
            return Ok(merged);
        }
        let before = merged;
        for row in rows {
            let Some(Value::List(ids)) = row.first() else { return Err(format!("a group came back as {row:?}")) };
            let mut ids = ids.iter().map(id_of).collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            let (survivor, others) = ids.split_first().ok_or("an empty group")?;
            for &duplicate in others {
                merge_one(target, *survivor, duplicate, &ids).await?;
                merged += 1;
            }
        }
        if merged == before {
            return Err("a batch of duplicates merged nothing".into());
        }
        progress(merged);
    }
}

/// Moves `duplicate`'s missing properties and its relationships to `survivor`, then deletes it.
async fn merge_one(target: &dyn GraphTarget, survivor: i64, duplicate: i64, group: &[i64]) -> Result<(), String> {
    let (s, d) = (Value::Int(survivor), Value::Int(duplicate));
    let properties = |id: &Value| {
        let id = id.clone();
        async move {
            let rows = query(target, "MATCH (n) WHERE id(n) = $id RETURN properties(n)", &[("id", id)]).await?;
            match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
                Some(Value::Map(map)) => Ok(map),
                other => Err(format!("the properties of a duplicate came back as {other:?}")),
            }
        }
    };
    let kept = properties(&s).await?;
    let missing: BTreeMap<String, Value> =
        properties(&d).await?.into_iter().filter(|(k, _)| !kept.contains_key(k)).collect();
    if !missing.is_empty() {
        query(
            target,
            "MATCH (s) WHERE id(s) = $s SET s += $props",
            &[("s", s.clone()), ("props", Value::Map(missing))],
        )
        .await?;
    }
    let outgoing = "MATCH (d)-[r]->(o) WHERE id(d) = $d RETURN type(r), properties(r), id(o)";
    let incoming = "MATCH (o)-[r]->(d) WHERE id(d) = $d RETURN type(r), properties(r), id(o)";
    for (pattern, out) in [(outgoing, true), (incoming, false)] {
        for row in query(target, pattern, &[("d", d.clone())]).await? {
            let [Value::String(rel_type), props, other] = row.as_slice() else {
                return Err(format!("a relationship came back as {row:?}"));
            };
            let other = id_of(other)?;
            // A loop on the duplicate shows up both ways: copy it once.
            if !out && other == duplicate {
                continue;
            }
            let other = if group.contains(&other) { survivor } else { other };
            check_name(NameKind::RelationshipType, rel_type).map_err(|e| e.to_string())?;
            let arrow = if out { "(s)-[r:{t}]->(o)" } else { "(o)-[r:{t}]->(s)" }.replace("{t}", &quote_name(rel_type));
            query(
                target,
                &format!("MATCH (s), (o) WHERE id(s) = $s AND id(o) = $o CREATE {arrow} SET r += $props"),
                &[("s", s.clone()), ("o", Value::Int(other)), ("props", props.clone())],
            )
            .await?;
        }
    }
    query(target, "MATCH (d) WHERE id(d) = $d DETACH DELETE d", &[("d", d)]).await?;
    Ok(())
}
