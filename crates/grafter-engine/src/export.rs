//! `grafter export`: what the mappings read from the source, written into an archive
//! (`grafter-archive`) that `archive:FILE` reads back as a source.
//!
//! An entity is one read: a table once however many mappings read it (named after the
//! table), a query per mapping (named after the mapping). Every column of the read is kept,
//! not only those the mappings use, so the archive is a full copy of what it holds; keyed
//! tables are read in key order. A source row that cannot be read stops the export with
//! its line: an archive is a copy, and a copy with holes would lose rows silently.

use std::path::PathBuf;
use std::time::Instant;

use futures::StreamExt as _;
use grafter_archive::{ArchiveOptions, ArchiveWriter, Content, DataFormat, EntityRead, ManifestColumn};
use grafter_model::{Cursor, SourceRow};
use grafter_plan::{Plan, ReadSpec};
use grafter_source::{KeyRange, Read, ScanRequest};

use crate::EngineError;
use crate::session::open_source;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The archive to write (`.tar.zst` or `.tar.bz2`).
    pub output: PathBuf,
    /// Only these entities (entity or mapping names); empty: all.
    pub only: Vec<String>,
    /// How entity files are written.
    pub data_format: DataFormat,
}

/// What was exported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    /// The archive written.
    pub archive: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Every entity, in archive order.
    pub entities: Vec<ExportedEntity>,
    /// Wall time.
    pub seconds: f64,
}

/// One entity exported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportedEntity {
    /// Its name.
    pub name: String,
    /// What was read, for people.
    pub read: String,
    /// Rows written.
    pub rows: u64,
}

/// One entity to export: its name, its read, and the mappings that read it.
struct Planned {
    name: String,
    read: Read,
    mappings: Vec<String>,
}

/// The plan's reads as entities, in mapping order, without repeats.
fn entities(plan: &Plan) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    for mapping in &plan.mappings {
        let (name, read) = match &mapping.read {
            ReadSpec::Table(table) => (table.clone(), Read::Table(table.clone())),
            ReadSpec::Query(sql) => (mapping.name.clone(), Read::Query(sql.clone())),
        };
        match out.iter_mut().find(|e| e.read == read) {
            Some(entity) => entity.mappings.push(mapping.name.clone()),
            None => out.push(Planned { name, read, mappings: vec![mapping.name.clone()] }),
        }
    }
    out
}

/// Writes the archive `options` describe from `plan`'s source.
pub async fn export(plan: &Plan, options: &ExportOptions) -> Result<ExportSummary, EngineError> {
    let started = Instant::now();
    let mut planned = entities(plan);
    if !options.only.is_empty() {
        for name in &options.only {
            if !planned.iter().any(|e| &e.name == name || e.mappings.contains(name)) {
                let known: Vec<&str> = planned.iter().map(|e| e.name.as_str()).collect();
                return Err(EngineError::UnknownEntity {
                    name: name.clone(),
                    suggestion: grafter_model::suggest(name, known.iter().copied()),
                    known: known.join(", "),
                });
            }
        }
        planned.retain(|e| options.only.iter().any(|n| n == &e.name || e.mappings.contains(n)));
    }
    let source = open_source(plan).await?;
    let archive_options =
        ArchiveOptions { data_format: options.data_format, content: Content::Source, source: source.describe() };
    let writer = ArchiveWriter::create(&options.output, archive_options)?;
    let mut exported = Vec::with_capacity(planned.len());
    for entity in &planned {
        let columns = source.columns(&entity.read).await?;
        let order_by = source.scan_key(&entity.read).await?.unwrap_or_default();
        let request = ScanRequest {
            read: entity.read.clone(),
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            skip_null: Vec::new(),
            order_by,
            after: Cursor::Start,
            batch_size: plan.run.batch_size,
            range: KeyRange::all(),
            filters: Vec::new(),
        };
        let entity_read = match &entity.read {
            Read::Table(table) => EntityRead::Table(table.clone()),
            Read::Query(sql) => EntityRead::Query(sql.clone()),
        };
        let mut out = writer.entity(&entity.name, entity_read, columns.iter().map(ManifestColumn::from).collect())?;
        let mut batches = source.scan(request).await?;
        while let Some(batch) = batches.next().await {
            for row in batch?.rows {
                match row {
                    SourceRow::Ok { values, .. } => out.write_row(&values)?,
                    SourceRow::Malformed { reason, line, .. } => {
                        return Err(EngineError::ExportRow { read: entity.read.to_string(), line, reason });
                    }
                }
            }
        }
        let finished = out.finish()?;
        exported.push(ExportedEntity {
            name: entity.name.clone(),
            read: entity.read.to_string(),
            rows: finished.rows(),
        });
        writer.add(finished);
    }
    // Compressing everything is the long part: off the async runtime.
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|e| EngineError::Internal(format!("archive writer failed: {e}")))??;
    let bytes = std::fs::metadata(&options.output).map(|m| m.len()).unwrap_or(0);
    Ok(ExportSummary {
        archive: options.output.clone(),
        bytes,
        entities: exported,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_read_by_several_mappings_is_one_entity() {
        let text = r#"
            [source]
            url = "sqlite:x.db"
            [[nodes]]
            label = "Customer"
            table = "customers"
            key = "id"
            [[nodes]]
            name = "countries"
            label = "Country"
            query = "SELECT DISTINCT country AS name FROM customers"
            key = "name"
            [[relationships]]
            name = "lives_in"
            type = "LIVES_IN"
            table = "customers"
            start = { label = "Customer", key = "id" }
            end = { label = "Country", key = "country" }
        "#;
        let config = grafter_plan::Config::parse(text, "grafter.toml", |_| None).unwrap();
        let plan = Plan::build(&config, std::path::Path::new("grafter.toml"), text).unwrap();
        let names: Vec<(String, usize)> = entities(&plan).into_iter().map(|e| (e.name, e.mappings.len())).collect();
        assert_eq!(names, [("customers".to_owned(), 2), ("countries".to_owned(), 1)]);
    }
}
