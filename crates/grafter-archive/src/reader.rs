//! Reading an archive, streaming: [`ArchiveReader::open`] reads the manifest (the first
//! entry) and checks the format version; [`ArchiveReader::verify`] reads everything once,
//! decoding every row and checking every entity's row count and SHA-256 against the
//! manifest; [`ArchiveReader::read_rows`] streams one entity's rows.
//!
//! The tar is compressed as a whole, so reaching an entity means decompressing the entries
//! before it; memory stays flat (one row at a time), time is one pass per read.
//! Every failure names the archive and says whether it was cut short, changed, or written by
//! a newer grafter; callers that load data verify first, so a damaged archive is refused
//! before anything is written anywhere.

use std::collections::HashSet;
use std::io::{self, BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};

use grafter_model::Value;
use sha2::{Digest as _, Sha256};

use crate::ArchiveError;
use crate::codec::{from_cell, from_typed_json};
use crate::compression::open_decompressed;
use crate::manifest::{DataFormat, Entity, FORMAT_NAME, FORMAT_VERSION, MANIFEST_ENTRY, Manifest};
use crate::writer::hex;

/// A manifest bigger than this is not a manifest.
const MANIFEST_LIMIT: u64 = 64 * 1024 * 1024;

/// One row of an entity as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveRow {
    /// Its number in the entity (1-based).
    pub number: u64,
    /// The line of the entity file where it starts.
    pub line: u64,
    /// Its values in column order, or why they could not be read.
    pub values: Result<Vec<Value>, String>,
}

/// An entity found intact by [`ArchiveReader::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityCheck {
    /// The entity.
    pub name: String,
    /// Rows read (equal to the manifest's).
    pub rows: u64,
    /// The SHA-256 found (equal to the manifest's).
    pub sha256: String,
}

/// An archive opened for reading.
#[derive(Debug, Clone)]
pub struct ArchiveReader {
    path: PathBuf,
    manifest: Manifest,
}

impl ArchiveReader {
    /// Opens `path` and reads its manifest. A newer format version is refused here, before
    /// anything else is read.
    pub fn open(path: &Path) -> Result<ArchiveReader, ArchiveError> {
        let mut reader = ArchiveReader { path: path.to_path_buf(), manifest: placeholder_manifest() };
        let decompressed = open_decompressed(path)?;
        let mut tar = tar::Archive::new(decompressed);
        let mut entries = tar.entries().map_err(|e| reader.damaged(&e))?;
        let mut first = match entries.next() {
            Some(entry) => entry.map_err(|e| reader.damaged(&e))?,
            None => return Err(reader.not_an_archive("it holds no entries")),
        };
        let name = entry_name(&first);
        if name != MANIFEST_ENTRY {
            return Err(reader.not_an_archive(&format!("its first entry is `{name}`, not `{MANIFEST_ENTRY}`")));
        }
        let mut text = Vec::new();
        (&mut first).take(MANIFEST_LIMIT).read_to_end(&mut text).map_err(|e| reader.damaged(&e))?;
        reader.manifest = reader.parse_manifest(&text)?;
        Ok(reader)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse_manifest(&self, text: &[u8]) -> Result<Manifest, ArchiveError> {
        let json: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| self.not_an_archive(&format!("`{MANIFEST_ENTRY}` is not JSON: {e}")))?;
        if json.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(
                self.not_an_archive(&format!("`{MANIFEST_ENTRY}` does not say `\"format\": \"{FORMAT_NAME}\"`"))
            );
        }
        // Checked before the rest is understood: a newer format may have changed it.
        let version = json.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(ArchiveError::NewerFormat {
                path: self.path.display().to_string(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
                grafter: env!("CARGO_PKG_VERSION"),
                written_by: json.get("grafter_version").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned(),
            });
        }
        serde_json::from_value(json).map_err(|e| self.not_an_archive(&format!("`{MANIFEST_ENTRY}` is not valid: {e}")))
    }

    /// Reads the whole archive, checking that every entity the manifest lists is there once,
    /// with every row readable, the row count and the SHA-256 the manifest says, and that
    /// nothing else is there. `on_entity` hears of each entity found intact.
    pub fn verify(&self, on_entity: impl FnMut(&EntityCheck)) -> Result<Vec<EntityCheck>, ArchiveError> {
        self.verify_into(None, on_entity)
    }

    /// Verifies the archive as [`ArchiveReader::verify`] does and, in the same pass, unpacks
    /// every entity file into a temporary directory (under the system's temporary directory,
    /// `TMPDIR`), so that each entity can then be read on its own without decompressing the
    /// entities before it. Costs the entities' uncompressed size on disk until dropped.
    pub fn extract(&self, on_entity: impl FnMut(&EntityCheck)) -> Result<Extracted, ArchiveError> {
        remove_orphaned_unpack_dirs();
        let mut builder = tempfile::Builder::new();
        let prefix = format!("{UNPACK_PREFIX}{}-", std::process::id());
        builder.prefix(&prefix);
        // The files are the source's data: for the owner's eyes only.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder
            .tempdir()
            .map_err(|source| ArchiveError::Io { path: std::env::temp_dir().display().to_string(), source })?;
        self.verify_into(Some(dir.path()), on_entity)?;
        Ok(Extracted { reader: self.clone(), dir })
    }

    /// `verify`, copying each entity file to `unpack/<index>` when given.
    fn verify_into(
        &self,
        unpack: Option<&Path>,
        mut on_entity: impl FnMut(&EntityCheck),
    ) -> Result<Vec<EntityCheck>, ArchiveError> {
        let mut seen = HashSet::new();
        let mut checks = Vec::with_capacity(self.manifest.entities.len());
        self.each_entry(|name, data| {
            let Some(entity) = self.manifest.entities.iter().find(|e| e.file == name) else {
                return Err(self.not_an_archive(&format!("it holds `{name}`, which the manifest does not list")));
            };
            if !seen.insert(name.to_owned()) {
                return Err(self.mismatch(entity, "its file appears twice".into()));
            }
            let mut copy = match unpack {
                Some(dir) => {
                    let path = dir.join(self.index_of(entity).to_string());
                    let file = std::fs::File::create(&path)
                        .map_err(|source| ArchiveError::Io { path: path.display().to_string(), source })?;
                    Some(io::BufWriter::with_capacity(256 * 1024, file))
                }
                None => None,
            };
            let mut tee = Tee { inner: data, copy: copy.as_mut() };
            let mut rows = 0u64;
            let mut bad_row = None;
            let sha256 = self.rows_of(entity, &mut tee, &mut |row| {
                rows += 1;
                if let Err(reason) = &row.values {
                    bad_row = Some(format!("row {} (line {}) cannot be read: {reason}", row.number, row.line));
                    return false;
                }
                true
            })?;
            if let Some(detail) = bad_row {
                return Err(self.mismatch(entity, detail));
            }
            let sha256 = sha256.expect("read to the end");
            if rows != entity.rows {
                return Err(
                    self.mismatch(entity, format!("the manifest says {} rows, the file has {rows}", entity.rows))
                );
            }
            if sha256 != entity.sha256 {
                return Err(
                    self.mismatch(entity, format!("its SHA-256 is {sha256}, the manifest says {}", entity.sha256))
                );
            }
            if let Some(copy) = copy {
                copy.into_inner().map_err(|e| self.damaged(e.error()))?;
            }
            let check = EntityCheck { name: entity.name.clone(), rows, sha256 };
            on_entity(&check);
            checks.push(check);
            Ok(true)
        })?;
        if let Some(missing) = self.manifest.entities.iter().find(|e| !seen.contains(&e.file)) {
            return Err(ArchiveError::Damaged {
                path: self.path.display().to_string(),
                detail: format!("entity `{}` ({}) is missing", missing.name, missing.file),
                hint: cut_short_hint(),
            });
        }
        Ok(checks)
    }

    /// Streams the rows of the entity `name` to `visit` until it returns `false`.
    pub fn read_rows(&self, name: &str, mut visit: impl FnMut(ArchiveRow) -> bool) -> Result<(), ArchiveError> {
        let entity = self.entity(name)?;
        let mut found = false;
        self.each_entry(|file, data| {
            if file != entity.file {
                return Ok(true);
            }
            found = true;
            self.rows_of(entity, data, &mut visit)?;
            Ok(false)
        })?;
        if found {
            Ok(())
        } else {
            Err(ArchiveError::Damaged {
                path: self.path.display().to_string(),
                detail: format!("entity `{}` ({}) is missing", entity.name, entity.file),
                hint: cut_short_hint(),
            })
        }
    }

    fn index_of(&self, entity: &Entity) -> usize {
        self.manifest.entities.iter().position(|e| e.file == entity.file).unwrap_or(0)
    }

    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Result<&Entity, ArchiveError> {
        self.manifest.entity(name).ok_or_else(|| ArchiveError::UnknownEntity {
            path: self.path.display().to_string(),
            entity: name.to_owned(),
            available: self.manifest.entity_names(),
        })
    }

    /// Calls `each` with every entry after the manifest, until it returns `false`.
    fn each_entry(
        &self,
        mut each: impl FnMut(&str, &mut dyn Read) -> Result<bool, ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let mut tar = tar::Archive::new(open_decompressed(&self.path)?);
        let mut entries = tar.entries().map_err(|e| self.damaged(&e))?;
        // The manifest, read by `open`.
        entries.next().transpose().map_err(|e| self.damaged(&e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.damaged(&e))?;
            let name = entry_name(&entry);
            if !each(&name, &mut entry)? {
                break;
            }
        }
        Ok(())
    }

    /// Decodes the rows of `entity` from `data`, hashing the bytes. Returns the SHA-256 of
    /// the whole file when it was read to the end (`visit` never said stop).
    fn rows_of(
        &self,
        entity: &Entity,
        data: &mut dyn Read,
        visit: &mut dyn FnMut(ArchiveRow) -> bool,
    ) -> Result<Option<String>, ArchiveError> {
        let mut hashing = HashingReader { inner: data, hasher: Sha256::new() };
        let finished = match self.manifest.data_format {
            DataFormat::Csv => self.csv_rows(entity, &mut hashing, visit)?,
            DataFormat::Ndjson => self.ndjson_rows(entity, &mut hashing, visit)?,
        };
        if !finished {
            return Ok(None);
        }
        io::copy(&mut hashing, &mut io::sink()).map_err(|e| self.damaged(&e))?;
        Ok(Some(hex(&hashing.hasher.finalize())))
    }

    fn csv_rows(
        &self,
        entity: &Entity,
        data: &mut dyn Read,
        visit: &mut dyn FnMut(ArchiveRow) -> bool,
    ) -> Result<bool, ArchiveError> {
        let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(data);
        let header = csv.headers().map_err(|e| self.csv_error(entity, e))?;
        let names: Vec<&str> = entity.columns.iter().map(|c| c.name.as_str()).collect();
        if header.iter().collect::<Vec<_>>() != names {
            let detail = format!(
                "its header is `{}`, the manifest lists `{}`",
                header.iter().collect::<Vec<_>>().join(","),
                names.join(",")
            );
            return Err(self.mismatch(entity, detail));
        }
        let mut record = csv::StringRecord::new();
        let mut number = 0;
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => return Ok(true),
                Ok(true) => {}
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(self.csv_error(entity, e)),
                Err(e) => {
                    number += 1;
                    let line = e.position().map_or(0, csv::Position::line);
                    if !visit(ArchiveRow { number, line, values: Err(e.to_string()) }) {
                        return Ok(false);
                    }
                    continue;
                }
            }
            number += 1;
            let line = record.position().map_or(0, csv::Position::line);
            let values = if record.len() == entity.columns.len() {
                record
                    .iter()
                    .zip(&entity.columns)
                    .map(|(cell, column)| {
                        from_cell(cell, column.logical_type).map_err(|e| format!("column `{}`: {e}", column.name))
                    })
                    .collect()
            } else {
                Err(format!("{} fields for {} columns", record.len(), entity.columns.len()))
            };
            if !visit(ArchiveRow { number, line, values }) {
                return Ok(false);
            }
        }
    }

    fn ndjson_rows(
        &self,
        entity: &Entity,
        data: &mut dyn Read,
        visit: &mut dyn FnMut(ArchiveRow) -> bool,
    ) -> Result<bool, ArchiveError> {
        let mut lines = BufReader::with_capacity(256 * 1024, data);
        let mut text = String::new();
        let mut number = 0;
        loop {
            text.clear();
            if lines.read_line(&mut text).map_err(|e| self.damaged(&e))? == 0 {
                return Ok(true);
            }
            number += 1;
            let values = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
                .map_err(|e| format!("not a JSON object: {e}"))
                .and_then(|mut object| {
                    entity
                        .columns
                        .iter()
                        .map(|column| match object.remove(&column.name) {
                            Some(json) => from_typed_json(&json).map_err(|e| format!("column `{}`: {e}", column.name)),
                            None => Err(format!("column `{}` is missing", column.name)),
                        })
                        .collect()
                });
            if !visit(ArchiveRow { number, line: number, values }) {
                return Ok(false);
            }
        }
    }

    fn csv_error(&self, entity: &Entity, error: csv::Error) -> ArchiveError {
        match error.into_kind() {
            csv::ErrorKind::Io(e) => self.damaged(&e),
            other => self.mismatch(entity, format!("{other:?}")),
        }
    }

    fn damaged(&self, error: &io::Error) -> ArchiveError {
        ArchiveError::Damaged {
            path: self.path.display().to_string(),
            detail: error.to_string(),
            hint: cut_short_hint(),
        }
    }

    fn not_an_archive(&self, detail: &str) -> ArchiveError {
        ArchiveError::Damaged {
            path: self.path.display().to_string(),
            detail: format!("not a grafter archive: {detail}"),
            hint: "grafter archives are written by `grafter export`; if this one was, it was changed since".into(),
        }
    }

    fn mismatch(&self, entity: &Entity, detail: String) -> ArchiveError {
        ArchiveError::Mismatch {
            path: self.path.display().to_string(),
            entity: entity.name.clone(),
            file: entity.file.clone(),
            detail,
        }
    }
}

fn cut_short_hint() -> String {
    "it was cut short or its bytes changed (an interrupted copy or transfer?); copy it again, or write it again with `grafter export`".into()
}

fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

fn placeholder_manifest() -> Manifest {
    Manifest {
        format: FORMAT_NAME.to_owned(),
        format_version: FORMAT_VERSION,
        grafter_version: String::new(),
        created_at: String::new(),
        source: String::new(),
        content: crate::manifest::Content::Source,
        data_format: DataFormat::Csv,
        entities: Vec::new(),
    }
}

/// How unpack directories begin, followed by the pid of the process that made them.
const UNPACK_PREFIX: &str = "grafter-archive-";

/// Removes the unpack directories of processes that are gone (a run killed before it could
/// clean up), so that crashes do not fill the temporary directory. Linux only: elsewhere
/// there is no cheap check whether a pid is alive, and they stay.
fn remove_orphaned_unpack_dirs() {
    #[cfg(target_os = "linux")]
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(UNPACK_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            // Another process may be removing it too; what is left is tried again next time.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// An archive verified and unpacked by [`ArchiveReader::extract`]: entities are read from
/// their own files. The files are removed when this is dropped.
#[derive(Debug)]
pub struct Extracted {
    reader: ArchiveReader,
    dir: tempfile::TempDir,
}

impl Extracted {
    /// The archive.
    pub fn archive(&self) -> &ArchiveReader {
        &self.reader
    }

    /// Where the entity files were unpacked (removed when this is dropped).
    pub fn unpacked_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Streams the rows of the entity `name` to `visit` until it returns `false`.
    pub fn read_rows(&self, name: &str, mut visit: impl FnMut(ArchiveRow) -> bool) -> Result<(), ArchiveError> {
        let entity = self.reader.entity(name)?;
        let path = self.dir.path().join(self.reader.index_of(entity).to_string());
        let file = std::fs::File::open(&path)
            .map_err(|source| ArchiveError::Io { path: path.display().to_string(), source })?;
        self.reader.rows_of(entity, &mut BufReader::with_capacity(256 * 1024, file), &mut visit)?;
        Ok(())
    }
}

/// A reader that also writes what it reads to `copy`, when there is one.
struct Tee<'a, R> {
    inner: R,
    copy: Option<&'a mut io::BufWriter<std::fs::File>>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(copy) = &mut self.copy {
            io::Write::write_all(copy, &buf[..n])?;
        }
        Ok(n)
    }
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
