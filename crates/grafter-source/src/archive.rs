//! The archive source, `archive:FILE`: a grafter archive (`grafter export`) read like any
//! other source, so that `grafter run` uploads from it with every guarantee of a normal run.
//!
//! Opening the source reads the whole archive once and checks every entity's row count and
//! SHA-256 against the manifest (see `grafter-archive`), so a cut-short, changed or
//! too-new archive is refused before the engine writes anything to a target. The same pass
//! unpacks the entity files into a temporary directory (`TMPDIR`; removed when the source
//! is dropped): each scan then reads its own entity's file, instead of decompressing every
//! entity before it, which would make reading all entities quadratic in their number.
//!
//! A mapping finds its entity by what it reads: `table = "X"` the entity exported from table
//! `X` (or the entity named `X`), `query = "…"` the entity exported from exactly that query.
//! Columns carry the types the manifest records, and values come back with the types they
//! had in the original source. Entities are read in file order and resume by row count (a
//! compressed stream cannot seek: resuming decompresses and skips the rows already loaded).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use grafter_archive::{ArchiveReader, Entity, EntityRead, Extracted};
use grafter_model::{Batch, Column, Cursor, SourceRow, Value};

use crate::blocking::spawn_reader;
use crate::{BatchStream, Read, ScanRequest, Source, SourceError};

/// A grafter archive read as a source.
#[derive(Debug)]
pub struct ArchiveSource {
    extracted: Arc<Extracted>,
}

/// `archive:FILE`: a grafter archive (`grafter export`), verified whole when opened.
pub(crate) const CONNECTOR: crate::connector::Connector =
    crate::connector::Connector { schemes: &["archive"], check_server_url: None, open: open_connector };

fn open_connector<'a>(
    location: &'a crate::Location,
    _: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move {
        let path = location.path()?.to_path_buf();
        // Opening verifies the whole archive: a pass over the file, off the async runtime.
        match tokio::task::spawn_blocking(move || ArchiveSource::open(&path)).await {
            Ok(source) => Ok(Box::new(source?) as Box<dyn Source>),
            Err(failure) => Err(SourceError::Driver {
                source_url: "archive".into(),
                message: format!("the archive reader failed: {failure}"),
            }),
        }
    })
}

impl ArchiveSource {
    /// Opens the archive at `path` and verifies all of it (blocking: one pass over the file).
    pub fn open(path: &Path) -> Result<ArchiveSource, SourceError> {
        if !path.is_file() {
            return Err(SourceError::NotFound {
                what: "archive".into(),
                path: path.display().to_string(),
                hint: "`archive:FILE` names a file written by `grafter export`; the path is relative to grafter.toml"
                    .into(),
            });
        }
        let reader = ArchiveReader::open(path)?;
        let extracted = reader
            .extract(|check| tracing::debug!(entity = %check.name, rows = check.rows, "archive entity intact"))?;
        Ok(ArchiveSource { extracted: Arc::new(extracted) })
    }

    /// The entity `read` refers to.
    fn entity(&self, read: &Read) -> Result<&Entity, SourceError> {
        let manifest = self.extracted.archive().manifest();
        match read {
            Read::Table(name) => manifest
                .entity_for(&EntityRead::Table(name.clone()))
                .or_else(|| manifest.entity(name))
                .ok_or_else(|| SourceError::UnknownTable {
                    table: name.clone(),
                    source_url: self.describe(),
                    suggestion: crate::suggest(name, manifest.entities.iter().map(|e| e.name.as_str())),
                }),
            Read::Query(sql) => {
                manifest.entity_for(&EntityRead::Query(sql.clone())).ok_or_else(|| SourceError::Unsupported {
                    source_url: self.describe(),
                    what: format!(
                        "{read}: an archive answers only the queries it was exported from, written exactly as then \
                         (entities there: {}; `table = \"<entity>\"` reads one by name)",
                        manifest.entity_names()
                    ),
                })
            }
        }
    }

    /// The soft-delete columns of the request's filters; any other filter is refused (an
    /// archive is read in file order, whole).
    fn deleted_columns(&self, request: &ScanRequest) -> Result<Vec<String>, SourceError> {
        let mut columns = Vec::new();
        for filter in &request.filters {
            match filter {
                crate::Filter::IsNull(column) => columns.push(column.clone()),
                _ => {
                    return Err(SourceError::Unsupported {
                        source_url: self.describe(),
                        what: "reading only the changed rows (grafter sync needs a SQL source)".into(),
                    });
                }
            }
        }
        Ok(columns)
    }

    fn column_positions(&self, entity: &Entity, read: &Read, wanted: &[String]) -> Result<Vec<usize>, SourceError> {
        let names: Vec<&str> = entity.columns.iter().map(|c| c.name.as_str()).collect();
        wanted
            .iter()
            .map(|name| {
                names.iter().position(|have| have == name).ok_or_else(|| SourceError::UnknownColumn {
                    column: name.clone(),
                    read: read.to_string(),
                    source_url: self.describe(),
                    suggestion: crate::suggest(name, names.iter().copied()),
                    available: names.join(", "),
                })
            })
            .collect()
    }
}

#[async_trait]
impl Source for ArchiveSource {
    fn describe(&self) -> String {
        format!("archive:{}", self.extracted.archive().path().display())
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        Ok(self.entity(read)?.columns.iter().map(Column::from).collect())
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        self.entity(read)?;
        Ok(None)
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        self.deleted_columns(request)?;
        let entity = self.entity(&request.read)?;
        Ok((request.skip_null.is_empty() && request.filters.is_empty()).then_some(entity.rows))
    }

    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError> {
        let deleted = self.deleted_columns(&request)?;
        let entity = self.entity(&request.read)?;
        let wanted = self.column_positions(entity, &request.read, &request.columns)?;
        let skip_null = self.column_positions(entity, &request.read, &request.skip_null)?;
        // Soft-deleted rows (a value in a `soft_delete` column) are skipped like rows
        // without a reference.
        let skip_set = self.column_positions(entity, &request.read, &deleted)?;
        if !request.order_by.is_empty() {
            return Err(SourceError::Unsupported {
                source_url: self.describe(),
                what: "ordering a scan by key (archive entities are read in file order and resume by row count)".into(),
            });
        }
        let skip = match request.after {
            Cursor::Start => 0,
            Cursor::Rows { rows, .. } => rows,
            Cursor::Key(_) => {
                return Err(SourceError::Unsupported {
                    source_url: self.describe(),
                    what: "resuming after a key cursor (archive scans resume by row count)".into(),
                });
            }
        };
        let columns: Arc<[Column]> = wanted.iter().map(|&i| Column::from(&entity.columns[i])).collect();
        let name = entity.name.clone();
        let reader = Arc::clone(&self.extracted);
        let batch_size = request.batch_size.max(1);
        Ok(spawn_reader(move |sender| {
            let mut rows = Vec::with_capacity(batch_size.min(16 * 1024));
            let mut consumed = 0;
            let mut open = true;
            let send = |rows: &mut Vec<SourceRow>, consumed: u64| {
                let batch = Batch {
                    columns: columns.clone(),
                    rows: std::mem::take(rows),
                    cursor_after: Cursor::Rows { rows: consumed, byte_offset: None },
                };
                sender.send(Ok(batch))
            };
            reader.read_rows(&name, |row| {
                consumed = row.number;
                if consumed <= skip {
                    return true;
                }
                let source_row = match row.values {
                    Ok(values) => {
                        if skip_null.iter().any(|&i| values[i].is_null())
                            || skip_set.iter().any(|&i| !values[i].is_null())
                        {
                            return true;
                        }
                        SourceRow::Ok {
                            values: wanted.iter().map(|&i| values[i].clone()).collect::<Vec<Value>>(),
                            line: row.line,
                        }
                    }
                    Err(reason) => SourceRow::Malformed { raw: String::new(), reason, line: row.line },
                };
                rows.push(source_row);
                if rows.len() >= batch_size {
                    open = send(&mut rows, consumed);
                }
                open
            })?;
            if open && !rows.is_empty() {
                send(&mut rows, consumed);
            }
            Ok(())
        }))
    }
}
