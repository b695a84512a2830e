//! Graph archives: `grafter export --graph` dumps the target graph — per label its nodes
//! with every property, per relationship type and pair of labels its relationships with
//! their ends' keys and properties — into an archive (`grafter-archive`, content `graph`);
//! `grafter import` loads one into any target.
//!
//! Labels, their keys and the relationship types come from the plan (the mappings that built
//! the graph); properties are found in the graph itself. An import is an ordinary run: the
//! archive becomes the source (`archive:FILE`) of a plan made from its manifest — one node
//! mapping per label, one relationship mapping per type and pair of labels — so it has every
//! guarantee of a run (checkpoints and resume, rejects, history, verification).
//!
//! Limits: a node with several labels is dumped once per label; parallel relationships of
//! one type between the same two nodes become one (grafter finds relationships by their
//! ends); property names must be plain identifiers to be used as relationship-end keys.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use futures::StreamExt as _;
use grafter_archive::{ArchiveOptions, ArchiveReader, ArchiveWriter, Content, EntityRead, GraphEnd, ManifestColumn};
use grafter_model::{LogicalType, Value, ValueKind, quote_name};
use grafter_plan::{Config, MappingKind, Plan};
use grafter_target::{Access, EndpointSpec, GraphTarget, RowStream};

use crate::EngineError;
use crate::export::{ExportOptions, ExportSummary, ExportedEntity};
use crate::session::{closing, open_target};

/// Writes the target graph of `plan` into the archive `options` describe.
pub async fn export_graph(plan: &Plan, options: &ExportOptions) -> Result<ExportSummary, EngineError> {
    let started = Instant::now();
    let target = open_target(plan, Access::Read).await?;
    let mut summary = closing(&target, write_graph(plan, target.as_ref(), options)).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A relationship type with its start and end.
type RelShape = (String, GraphEnd, GraphEnd);

/// The labels (with keys) and relationship shapes the plan's mappings create.
fn graph_shape(plan: &Plan) -> (BTreeMap<String, Vec<String>>, Vec<RelShape>) {
    let mut labels = BTreeMap::new();
    let mut relationships = Vec::new();
    for mapping in &plan.mappings {
        match &mapping.kind {
            MappingKind::Node { label, key } => {
                labels.entry(label.clone()).or_insert_with(|| key.clone());
            }
            MappingKind::Relationship { rel_type, start, end, .. } => {
                let end_of =
                    |e: &grafter_plan::EndpointSpec| GraphEnd { label: e.label.clone(), key: e.key_properties.clone() };
                let shape = (rel_type.clone(), end_of(start), end_of(end));
                if !relationships.contains(&shape) {
                    relationships.push(shape);
                }
            }
        }
    }
    (labels, relationships)
}

async fn write_graph(
    plan: &Plan,
    target: &dyn GraphTarget,
    options: &ExportOptions,
) -> Result<ExportSummary, EngineError> {
    let archive_options =
        ArchiveOptions { data_format: options.data_format, content: Content::Graph, source: target.describe() };
    let writer = ArchiveWriter::create(&options.output, archive_options)?;
    let wanted = |name: &str| options.only.is_empty() || options.only.iter().any(|n| n == name);
    let (labels, relationships) = graph_shape(plan);
    let mut exported = Vec::new();
    for (label, key) in labels {
        if !wanted(&label) {
            continue;
        }
        let mut properties =
            property_names(target, &format!("MATCH (n:{}) UNWIND keys(n) AS k RETURN DISTINCT k", quote_name(&label)))
                .await?;
        // A label without nodes shows no properties: its key still makes its entity one an
        // import can map.
        for name in &key {
            if let Err(at) = properties.binary_search(name) {
                properties.insert(at, name.clone());
            }
        }
        let stream = target.reader().scan_nodes(&label, &properties).await?;
        let read = EntityRead::Nodes(GraphEnd { label: label.clone(), key });
        let rows = write_entity(&writer, &label, read, properties, stream).await?;
        exported.push(ExportedEntity { name: label.clone(), read: format!("nodes :{label}"), rows });
    }
    for (rel_type, start, end) in relationships {
        let name = format!("{}_{rel_type}_{}", start.label, end.label);
        if !wanted(&name) {
            continue;
        }
        let pattern =
            format!("(:{})-[r:{}]->(:{})", quote_name(&start.label), quote_name(&rel_type), quote_name(&end.label));
        let properties =
            property_names(target, &format!("MATCH {pattern} UNWIND keys(r) AS k RETURN DISTINCT k")).await?;
        let spec = |e: &GraphEnd| EndpointSpec { label: e.label.clone(), key_properties: e.key.clone() };
        let stream = target.reader().scan_relationships(&rel_type, &spec(&start), &spec(&end), &properties).await?;
        let columns: Vec<String> = start
            .key
            .iter()
            .map(|k| format!("_start_{k}"))
            .chain(end.key.iter().map(|k| format!("_end_{k}")))
            .chain(properties)
            .collect();
        let read_text = format!("(:{})-[:{rel_type}]->(:{})", start.label, end.label);
        let read = EntityRead::Relationships { rel_type, start, end };
        let rows = write_entity(&writer, &name, read, columns, stream).await?;
        exported.push(ExportedEntity { name, read: read_text, rows });
    }
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|e| EngineError::Internal(format!("archive writer failed: {e}")))??;
    let bytes = std::fs::metadata(&options.output).map(|m| m.len()).unwrap_or(0);
    Ok(ExportSummary { archive: options.output.clone(), bytes, entities: exported, seconds: 0.0 })
}

/// The distinct property names a `RETURN DISTINCT k` query lists, sorted, grafter's own
/// bookkeeping left out.
async fn property_names(target: &dyn GraphTarget, cypher: &str) -> Result<Vec<String>, EngineError> {
    let result = target.read_query(cypher, Vec::new()).await?;
    let mut names: Vec<String> = result
        .rows
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .filter_map(|value| match value {
            Value::String(name) if !name.to_lowercase().starts_with("_grafter") => Some(name),
            _ => None,
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Writes one entity from a stream of rows; column types come from the first non-empty
/// batch's values (paged scans give empty pages where ids of other labels lie; any value of
/// another type is still written exactly, tagged).
async fn write_entity(
    writer: &ArchiveWriter,
    name: &str,
    read: EntityRead,
    columns: Vec<String>,
    stream: RowStream,
) -> Result<u64, EngineError> {
    // A label or type without elements ends the stream before any row: fused, it may be
    // asked again (a stream polled after its end may panic).
    let mut stream = stream.fuse();
    let mut first = Vec::new();
    while first.is_empty() {
        match stream.next().await {
            Some(batch) => first = batch?,
            None => break,
        }
    }
    let types = columns.iter().enumerate().map(|(i, _)| {
        first.iter().map(|row| &row[i]).find(|v| !v.is_null()).map_or(LogicalType::Any, |v| logical_type(v.kind()))
    });
    let manifest_columns = columns
        .iter()
        .zip(types)
        .map(|(name, logical_type)| ManifestColumn { name: name.clone(), logical_type, declared: None, nullable: None })
        .collect();
    let mut out = writer.entity(name, read, manifest_columns)?;
    for row in &first {
        out.write_row(row)?;
    }
    while let Some(batch) = stream.next().await {
        for row in batch? {
            out.write_row(&row)?;
        }
    }
    let finished = out.finish()?;
    let rows = finished.rows();
    writer.add(finished);
    Ok(rows)
}

fn logical_type(kind: ValueKind) -> LogicalType {
    match kind {
        ValueKind::Bool => LogicalType::Bool,
        ValueKind::Int => LogicalType::Int,
        ValueKind::Float => LogicalType::Float,
        ValueKind::String => LogicalType::String,
        ValueKind::Bytes => LogicalType::Bytes,
        ValueKind::Date => LogicalType::Date,
        ValueKind::Time => LogicalType::Time,
        ValueKind::DateTime => LogicalType::DateTime,
        ValueKind::DateTimeTz => LogicalType::DateTimeTz,
        ValueKind::Duration | ValueKind::List | ValueKind::Map => LogicalType::Json,
        ValueKind::Null => LogicalType::Any,
    }
}

/// The plan that loads the graph archive at `archive` into `plan`'s target: one mapping per
/// entity, reading it from `archive:FILE`. Run it with [`crate::run`].
pub fn import_plan(plan: &Plan, archive: &Path) -> Result<Plan, EngineError> {
    let reader = ArchiveReader::open(archive)?;
    let manifest = reader.manifest();
    if manifest.content != Content::Graph {
        return Err(EngineError::Import(format!(
            "{} holds source rows, not a graph dump\n  hint: upload it with `url = \"archive:{}\"` under [source] and `grafter run`",
            archive.display(),
            archive.display()
        )));
    }
    let archive = std::path::absolute(archive).unwrap_or_else(|_| archive.to_path_buf());
    let quote = |text: &str| serde_json::to_string(text).expect("a string serialises");
    let list = |items: &[String]| format!("[{}]", items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", "));
    // The batch size only if the user chose one: unset, the target may take bigger batches.
    let batch_size =
        if plan.run.batch_size_chosen { format!("batch_size = {}\n", plan.run.batch_size) } else { String::new() };
    let mut text = format!(
        "[source]\nurl = {}\n\n[target]\nurl = {}\n\n[run]\n{batch_size}reject_file = {}\n",
        quote(&format!("archive:{}", archive.display())),
        quote(&plan.target_url),
        quote(&plan.run.reject_file.display().to_string())
    );
    for entity in &manifest.entities {
        let columns: Vec<String> = entity.columns.iter().map(|c| c.name.clone()).collect();
        match &entity.read {
            EntityRead::Nodes(node) => {
                text.push_str(&format!(
                    "\n[[nodes]]\nname = {}\nlabel = {}\ntable = {}\nkey = {}\n",
                    quote(&entity.name),
                    quote(&node.label),
                    quote(&entity.name),
                    list(&node.key)
                ));
            }
            EntityRead::Relationships { rel_type, start, end } => {
                let ends = start.key.len() + end.key.len();
                let start_key: Vec<String> = start.key.iter().map(|k| format!("_start_{k}")).collect();
                let end_key: Vec<String> = end.key.iter().map(|k| format!("_end_{k}")).collect();
                text.push_str(&format!(
                    "\n[[relationships]]\nname = {}\ntype = {}\ntable = {}\nstart = {{ label = {}, key = {} }}\nend = {{ label = {}, key = {} }}\ncolumns = {}\n",
                    quote(&entity.name),
                    quote(rel_type),
                    quote(&entity.name),
                    quote(&start.label),
                    list(&start_key),
                    quote(&end.label),
                    list(&end_key),
                    list(&columns[ends.min(columns.len())..])
                ));
            }
            EntityRead::Table(_) | EntityRead::Query(_) => {
                return Err(EngineError::Import(format!("entity `{}` is not part of a graph dump", entity.name)));
            }
        }
    }
    let file = format!("{} (import)", archive.display());
    let config = Config::parse(&text, &file, |_| None)?;
    Ok(Plan::build(&config, &plan.config_path, &text)?)
}
