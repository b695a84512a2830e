//! Writing an archive, streaming: [`ArchiveWriter`] hands out one [`EntityWriter`] per
//! entity, which may be filled side by side (a run loads mappings in parallel), each into
//! its own spool file beside the archive, hashing and counting as it goes. Memory stays flat:
//! rows go straight to disk.
//!
//! Why a spool: the manifest comes first in the tar (readers need the format version and the
//! column types before any data), yet counts and checksums are known only at the end; and a
//! tar cannot interleave entities that are written at the same time. So entity files are
//! spooled, and [`ArchiveWriter::finish`] writes the manifest and then copies each spool file
//! into the compressed tar. The archive appears under its name only when complete (it is
//! written to a temporary file in the same directory and renamed), so a crash never leaves a
//! half-written archive that looks whole. The cost is the entities' uncompressed size on disk
//! while writing. Like the spool, the archive is readable by its owner only: it carries the
//! source's data.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::PoisonError;

use grafter_model::Value;
use sha2::{Digest as _, Sha256};

use crate::ArchiveError;
use crate::codec::{to_cell, to_typed_json};
use crate::compression::{Compression, Compressor};
use crate::manifest::{
    Content, DataFormat, Entity, EntityRead, FORMAT_NAME, FORMAT_VERSION, MANIFEST_ENTRY, Manifest, ManifestColumn,
};

/// What an archive is about, for its manifest.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// How entity files are written.
    pub data_format: DataFormat,
    /// What the entities are.
    pub content: Content,
    /// Where they come from: a source URL (its password is redacted here) or a target.
    pub source: String,
}

/// An archive being written. Nothing appears at its path until [`ArchiveWriter::finish`].
#[derive(Debug)]
pub struct ArchiveWriter {
    path: PathBuf,
    compression: Compression,
    options: ArchiveOptions,
    spool: tempfile::TempDir,
    state: Mutex<WriterState>,
}

#[derive(Debug, Default)]
struct WriterState {
    /// Entities handed out so far, in order: their names (unique) and, once finished, their
    /// manifest entries.
    names: Vec<String>,
    finished: Vec<Option<Entity>>,
}

impl ArchiveWriter {
    /// Starts an archive at `path`; its name chooses the compression (`.tar.zst`, `.tar.bz2`).
    pub fn create(path: &Path, options: ArchiveOptions) -> Result<ArchiveWriter, ArchiveError> {
        let compression = Compression::from_name(path)?;
        let dir = parent_dir(path);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".grafter-archive-spool-");
        // The spool holds the source's data: for the owner's eyes only.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let spool =
            builder.tempdir_in(dir).map_err(|source| ArchiveError::Io { path: dir.display().to_string(), source })?;
        let options = ArchiveOptions { source: grafter_model::redact_url(&options.source), ..options };
        Ok(ArchiveWriter { path: path.to_path_buf(), compression, options, spool, state: Mutex::default() })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the entity `name`, read from `read`, with `columns`. Names must be unique.
    pub fn entity(
        &self,
        name: &str,
        read: EntityRead,
        columns: Vec<ManifestColumn>,
    ) -> Result<EntityWriter, ArchiveError> {
        let index = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.names.iter().any(|n| n == name) {
                return Err(self.write_error(name, "an entity of this name was already written".into()));
            }
            state.names.push(name.to_owned());
            state.finished.push(None);
            state.names.len() - 1
        };
        let ext = self.options.data_format.extension();
        let spool_path = self.spool.path().join(format!("{index}.{ext}"));
        let file = File::create(&spool_path)
            .map_err(|source| ArchiveError::Io { path: spool_path.display().to_string(), source })?;
        let hashing = Hashing { inner: BufWriter::with_capacity(256 * 1024, file), hasher: Sha256::new() };
        let sink = match self.options.data_format {
            DataFormat::Csv => {
                let mut writer = csv::WriterBuilder::new().from_writer(hashing);
                writer
                    .write_record(columns.iter().map(|c| c.name.as_str()))
                    .map_err(|e| self.write_error(name, e.to_string()))?;
                Sink::Csv(Box::new(writer))
            }
            DataFormat::Ndjson => Sink::Ndjson(hashing),
        };
        let file_in_archive = format!("data/{index:03}-{}.{ext}", safe_file_name(name));
        Ok(EntityWriter {
            archive: self.path.display().to_string(),
            index,
            entity: Entity {
                name: name.to_owned(),
                file: file_in_archive,
                read,
                columns,
                rows: 0,
                sha256: String::new(),
            },
            spool_path,
            sink,
            cells: Vec::new(),
        })
    }

    /// Takes a finished entity into the archive.
    pub fn add(&self, finished: FinishedEntity) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.finished[finished.index] = Some(finished.entity);
    }

    /// Writes the archive: the manifest, then every finished entity; returns the manifest.
    /// Entities started but never finished are an error (their data would be missing).
    pub fn finish(self) -> Result<Manifest, ArchiveError> {
        let state = self.state.into_inner().unwrap_or_else(PoisonError::into_inner);
        let mut entities = Vec::with_capacity(state.finished.len());
        for (name, finished) in state.names.iter().zip(state.finished) {
            let entity = finished.ok_or_else(|| ArchiveError::Write {
                path: self.path.display().to_string(),
                entity: name.clone(),
                detail: "it was started but never finished".into(),
            })?;
            entities.push(entity);
        }
        let manifest = Manifest {
            format: FORMAT_NAME.to_owned(),
            format_version: FORMAT_VERSION,
            grafter_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            source: self.options.source.clone(),
            content: self.options.content,
            data_format: self.options.data_format,
            entities,
        };
        let io_error = |source| ArchiveError::Io { path: self.path.display().to_string(), source };
        let partial = tempfile::Builder::new()
            .prefix(".grafter-archive-partial-")
            .tempfile_in(parent_dir(&self.path))
            .map_err(io_error)?;
        let file = partial.as_file().try_clone().map_err(io_error)?;
        let compressor =
            Compressor::new(BufWriter::with_capacity(256 * 1024, file), self.compression).map_err(io_error)?;
        let mut tar = tar::Builder::new(compressor);
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest always serialises");
        append(&mut tar, MANIFEST_ENTRY, manifest_bytes.len() as u64, manifest_bytes.as_slice()).map_err(io_error)?;
        let ext = self.options.data_format.extension();
        for (index, entity) in manifest.entities.iter().enumerate() {
            let spool_path = self.spool.path().join(format!("{index}.{ext}"));
            let spool_error = |source| ArchiveError::Io { path: spool_path.display().to_string(), source };
            let spool = File::open(&spool_path).map_err(spool_error)?;
            let size = spool.metadata().map_err(spool_error)?.len();
            append(&mut tar, &entity.file, size, spool).map_err(io_error)?;
        }
        let compressor = tar.into_inner().map_err(io_error)?;
        let buffered = compressor.finish().map_err(io_error)?;
        let file = buffered.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        partial.persist(&self.path).map_err(|e| io_error(e.error))?;
        Ok(manifest)
    }

    fn write_error(&self, entity: &str, detail: String) -> ArchiveError {
        ArchiveError::Write { path: self.path.display().to_string(), entity: entity.to_owned(), detail }
    }
}

/// Appends one regular file entry to the tar.
fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, size: u64, data: impl io::Read) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0));
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// An entity name made safe as a file name (the manifest keeps the real name).
fn safe_file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// One entity being written to its spool file.
#[derive(Debug)]
pub struct EntityWriter {
    archive: String,
    index: usize,
    entity: Entity,
    spool_path: PathBuf,
    sink: Sink,
    /// Reused for each CSV row.
    cells: Vec<String>,
}

#[derive(Debug)]
enum Sink {
    Csv(Box<csv::Writer<Hashing<BufWriter<File>>>>),
    Ndjson(Hashing<BufWriter<File>>),
}

/// A finished entity, ready for [`ArchiveWriter::add`].
#[derive(Debug)]
pub struct FinishedEntity {
    index: usize,
    entity: Entity,
}

impl FinishedEntity {
    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.entity.rows
    }
}

impl EntityWriter {
    /// The entity's name.
    pub fn name(&self) -> &str {
        &self.entity.name
    }

    /// Writes one row: one value per column, in column order.
    pub fn write_row(&mut self, values: &[Value]) -> Result<(), ArchiveError> {
        let columns = &self.entity.columns;
        if values.len() != columns.len() {
            let detail = format!("a row has {} values for {} columns", values.len(), columns.len());
            return Err(ArchiveError::Write { path: self.archive.clone(), entity: self.entity.name.clone(), detail });
        }
        let result = match &mut self.sink {
            Sink::Csv(writer) => {
                self.cells.clear();
                self.cells.extend(values.iter().zip(columns).map(|(v, c)| to_cell(v, c.logical_type)));
                writer.write_record(&self.cells).map_err(io::Error::from)
            }
            Sink::Ndjson(writer) => {
                let object: serde_json::Map<String, serde_json::Value> =
                    columns.iter().zip(values).map(|(c, v)| (c.name.clone(), to_typed_json(v))).collect();
                serde_json::to_writer(&mut *writer, &object)
                    .map_err(io::Error::from)
                    .and_then(|()| writer.write_all(b"\n"))
            }
        };
        result.map_err(|source| ArchiveError::Io { path: self.spool_path.display().to_string(), source })?;
        self.entity.rows += 1;
        Ok(())
    }

    /// Flushes the spool file and seals the entity's count and checksum.
    pub fn finish(self) -> Result<FinishedEntity, ArchiveError> {
        let spool_error = |source| ArchiveError::Io { path: self.spool_path.display().to_string(), source };
        let mut hashing = match self.sink {
            Sink::Csv(writer) => writer.into_inner().map_err(|e| spool_error(io::Error::other(e.to_string())))?,
            Sink::Ndjson(writer) => writer,
        };
        hashing.inner.flush().map_err(spool_error)?;
        let mut entity = self.entity;
        entity.sha256 = hex(&hashing.hasher.finalize());
        Ok(FinishedEntity { index: self.index, entity })
    }
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes what passes through it.
#[derive(Debug)]
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
