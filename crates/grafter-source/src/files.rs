//! What the directory-based sources (CSV, NDJSON) share: a directory whose files are the
//! tables, found by name with the right extension, and helpful errors when one is missing;
//! plus the parts of a file scan that do not depend on the format: checking the requested
//! columns, understanding the resume cursor, finding the line a byte offset falls on, and
//! cutting rows into batches (sent through [`crate::blocking`]).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use grafter_model::{Batch, Column, Cursor, SourceRow};

use crate::blocking::BatchSender;
use crate::{Read, ScanRequest, SourceError};

/// A directory of data files, one per table, with the extensions a format accepts.
#[derive(Debug, Clone)]
pub(crate) struct TableDir {
    /// The directory.
    pub dir: PathBuf,
    /// Accepted extensions without the dot, preferred first (`["csv"]`, `["ndjson", "jsonl"]`).
    pub extensions: &'static [&'static str],
    /// The URL scheme, for messages (`csv`, `ndjson`).
    pub scheme: &'static str,
}

impl TableDir {
    /// Opens a table directory; it must exist.
    pub fn open(
        dir: &Path,
        extensions: &'static [&'static str],
        scheme: &'static str,
    ) -> Result<TableDir, SourceError> {
        if !dir.is_dir() {
            return Err(SourceError::NotFound {
                what: format!("{} directory", scheme.to_uppercase()),
                path: dir.display().to_string(),
                hint: format!(
                    "`{scheme}:DIR` names a directory holding one .{} file per table; the path is relative to grafter.toml",
                    extensions[0]
                ),
            });
        }
        Ok(TableDir { dir: dir.to_path_buf(), extensions, scheme })
    }

    /// `scheme:DIR`, for messages.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.scheme, self.dir.display())
    }

    /// The file holding `read`: `DIR/<name>.<ext>` for the first extension that exists, or
    /// `DIR/<name>` when the name already carries an extension. Queries are refused.
    pub fn file_for(&self, read: &Read) -> Result<PathBuf, SourceError> {
        let name = match read {
            Read::Table(name) => name,
            Read::Query(_) => {
                return Err(SourceError::Unsupported {
                    source_url: self.describe(),
                    what: "SQL queries (a file source reads whole files: use `table = \"<file name>\"`)".into(),
                });
            }
        };
        let exact = self.dir.join(name);
        if exact.is_file() {
            return Ok(exact);
        }
        for ext in self.extensions {
            let candidate = self.dir.join(format!("{name}.{ext}"));
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        let tables = self.tables();
        Err(SourceError::UnknownTable {
            table: name.clone(),
            source_url: self.describe(),
            suggestion: crate::suggest(name, tables.iter().map(String::as_str)),
        })
    }

    /// Table names: the stems of the directory's files with an accepted extension, sorted.
    pub fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let ext = path.extension()?.to_str()?;
                self.extensions.contains(&ext).then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Maps an I/O error on `path` into a [`SourceError`].
pub(crate) fn io_error(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Io { path: path.display().to_string(), source }
}

/// An error about the content of `path` (a bad header, a cursor that does not fit the file).
/// Reported as invalid data so that the message starts with the file's path.
pub(crate) fn data_error(path: &Path, message: String) -> SourceError {
    io_error(path, std::io::Error::new(std::io::ErrorKind::InvalidData, message))
}

/// Runs a synchronous file pass (reading a header, collecting keys, counting) off the async
/// runtime, so that a pass over a large file does not stall other tasks.
pub(crate) async fn run_blocking<T, F>(source_url: String, pass: F) -> Result<T, SourceError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, SourceError> + Send + 'static,
{
    match tokio::task::spawn_blocking(pass).await {
        Ok(result) => result,
        Err(error) => Err(SourceError::Driver { source_url, message: format!("file reader failed: {error}") }),
    }
}

/// The position of each `wanted` column among `available` (a file's columns), or the error
/// naming the first one that does not exist, with the nearest name and the whole list.
pub(crate) fn resolve_columns(
    dir: &TableDir,
    file: &Path,
    available: &[String],
    wanted: &[String],
) -> Result<Vec<usize>, SourceError> {
    wanted
        .iter()
        .map(|name| {
            available.iter().position(|have| have == name).ok_or_else(|| SourceError::UnknownColumn {
                column: name.clone(),
                read: format!("file `{}`", file_name(file)),
                source_url: dir.describe(),
                suggestion: crate::suggest(name, available.iter().map(String::as_str)),
                available: available.join(", "),
            })
        })
        .collect()
}

/// The file's name without its directory, for messages.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

/// Where a file scan starts, from the request's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// At the first record.
    Start,
    /// Read from the first record but skip this many (a cursor without a byte offset).
    Skip(u64),
    /// Seek to `offset`, where record number `rows + 1` starts.
    Seek {
        /// Records consumed before `offset`.
        rows: u64,
        /// Byte offset in the file.
        offset: u64,
    },
}

/// Interprets `request.after` for a file source. Files are read in file order and counted,
/// so key ordering and key cursors are refused rather than silently ignored.
pub(crate) fn resume_point(dir: &TableDir, request: &ScanRequest) -> Result<Resume, SourceError> {
    if !request.order_by.is_empty() {
        return Err(SourceError::Unsupported {
            source_url: dir.describe(),
            what: "ordering a scan by key (files are read in file order and resume by row count)".into(),
        });
    }
    match request.after {
        Cursor::Start | Cursor::Rows { rows: 0, byte_offset: None } => Ok(Resume::Start),
        Cursor::Rows { rows, byte_offset: None } => Ok(Resume::Skip(rows)),
        Cursor::Rows { rows, byte_offset: Some(offset) } => Ok(Resume::Seek { rows, offset }),
        Cursor::Key(_) => Err(SourceError::Unsupported {
            source_url: dir.describe(),
            what: "resuming after a key cursor (file scans resume by row count)".into(),
        }),
    }
}

/// Opens `path` positioned at `offset` and returns it with the 1-based line number there.
///
/// Cursors store byte offsets, not line numbers, so the line is recovered by counting the
/// newlines before `offset` (once per resume; this runs at several GB/s). An offset past the
/// end of the file, or not at the start of a line, means the file changed since the cursor
/// was stored: that is an error, not a silent restart.
pub(crate) fn open_at(path: &Path, offset: u64) -> Result<(std::fs::File, u64), SourceError> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    if offset > len {
        return Err(data_error(
            path,
            format!(
                "the resume cursor points at byte {offset}, past the end of the file ({len} bytes); \
                 was the file replaced since the last run?"
            ),
        ));
    }
    let mut newlines = 0u64;
    let mut last = None;
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = offset;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[..n].last().copied();
        left -= n as u64;
    }
    // A record starts after a line end (CSV may stop between the CR and LF of a CRLF), or the
    // cursor is at the very end of a file whose last record has no line end.
    if !(offset == 0 || offset == len || matches!(last, Some(b'\n' | b'\r'))) {
        return Err(data_error(
            path,
            format!(
                "the resume cursor points at byte {offset}, which is not the start of a line; \
                 was the file changed since the last run?"
            ),
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(|e| io_error(path, e))?;
    Ok((file, newlines + 1))
}

/// Cuts a file scan's rows into batches and sends each one with the cursor after it.
pub(crate) struct Batcher<'a> {
    sender: &'a BatchSender,
    columns: Arc<[Column]>,
    size: usize,
    rows: Vec<SourceRow>,
}

/// The stream was dropped: the reader should stop.
#[derive(Debug)]
pub(crate) struct Closed;

impl<'a> Batcher<'a> {
    /// A batcher sending batches of at most `size` rows with `columns`.
    pub fn new(sender: &'a BatchSender, columns: Arc<[Column]>, size: usize) -> Batcher<'a> {
        let size = size.max(1);
        // A huge batch size must not reserve memory for rows that may never come.
        Batcher { sender, columns, size, rows: Vec::with_capacity(size.min(16 * 1024)) }
    }

    /// Adds a row. `rows` and `next_offset` describe the position after it: records consumed
    /// so far and the byte offset of the next record; they become the batch's cursor when
    /// this row fills it.
    pub fn push(&mut self, row: SourceRow, rows: u64, next_offset: u64) -> Result<(), Closed> {
        self.rows.push(row);
        if self.rows.len() >= self.size { self.flush(rows, next_offset) } else { Ok(()) }
    }

    /// Sends the rows gathered so far, if any, with the cursor after them.
    pub fn flush(&mut self, rows: u64, next_offset: u64) -> Result<(), Closed> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = Batch {
            columns: self.columns.clone(),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(self.size.min(16 * 1024))),
            cursor_after: Cursor::Rows { rows, byte_offset: Some(next_offset) },
        };
        if self.sender.send(Ok(batch)) { Ok(()) } else { Err(Closed) }
    }
}
