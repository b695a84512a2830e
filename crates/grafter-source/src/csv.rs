//! The CSV source, `csv:DIR`: a directory holding one CSV file per table.
//!
//! Finding a table's file and the shared parts of a file scan (checking the requested
//! columns, reading the resume cursor, cutting rows into batches) live in `files.rs`,
//! which the NDJSON source uses too; the reader thread and its bounded channel are
//! `blocking.rs`'s. This module is what is particular to CSV: the header row, the
//! `csv` crate's record parser, the null rule, and exact positions.
//!
//! CSV has no types, so every value is a [`Value::String`] or [`Value::Null`]; converting
//! text to numbers or dates is the mapping's job (`int(x)`), never guessed here.
//!
//! Positions are exact: every row carries the line its record starts on, even after quoted
//! fields spanning several lines, blank lines or CRLF line ends, and every batch's cursor
//! carries the byte offset of the next record, so a resumed scan seeks there and yields
//! exactly the rows a fresh scan would have yielded after that point. The `csv` crate only
//! reports where its parser stood before skipping the line ends that precede a record, so
//! the reader keeps the bytes the parser has consumed (a window of them, see `Records`) and
//! finds the record's first byte itself; the same window gives a malformed record's raw text.
//!
//! A quoted field whose closing quote never comes would swallow the rest of the file (the
//! `csv` crate ends such a field silently at the end of the file). The rule here: when the
//! parser reaches the end of the file inside a quoted field, the record that opened it is
//! rejected ("unterminated quoted field starting on line N"), its raw text running to the end
//! of line N, and reading restarts on the line after line N, so the records after it load.
//! That line N is usually the record's first line; a record whose earlier fields span lines
//! properly is cut after the line where the unclosed quote opened. The rejected record's
//! cursor points at the restart, so a resumed scan starts exactly where this one went on.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use async_trait::async_trait;
use grafter_model::{Column, SourceRow, Value};

use crate::blocking::spawn_reader;
use crate::files::{
    Batcher, Resume, TableDir, data_error, io_error, open_at, resolve_columns, resume_point, run_blocking,
};
use crate::{BatchStream, Read, ScanRequest, Source, SourceError};

/// How the CSV files of a directory are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// The byte separating fields (default `,`).
    pub delimiter: u8,
    /// The byte quoting fields that contain delimiters, quotes or line breaks (default `"`).
    /// A quote inside a quoted field is written twice.
    pub quote: u8,
    /// The field text that means NULL, compared after trimming; `None`: no text is NULL.
    /// Default `Some("")`: an empty field is NULL. A quoted empty field (`""`) is empty too,
    /// so it is NULL under the default as well.
    pub null: Option<String>,
    /// Whether to strip ASCII whitespace around every field and header name (default false).
    pub trim: bool,
    /// Whether the first record names the columns (default true). Without a header the
    /// columns are called `column_1`, `column_2`, … and the first record is data.
    pub has_header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', quote: b'"', null: Some(String::new()), trim: false, has_header: true }
    }
}

impl CsvOptions {
    /// `field` with the whitespace around it removed when [`CsvOptions::trim`] asks for it.
    fn trimmed<'a>(&self, field: &'a [u8]) -> &'a [u8] {
        if self.trim { field.trim_ascii() } else { field }
    }

    /// Whether a (trimmed) field is NULL under the null rule.
    fn is_null(&self, field: &[u8]) -> bool {
        self.null.as_deref().is_some_and(|null| field == null.as_bytes())
    }
}

/// A directory of CSV files, one per table (`DIR/<table>.csv`).
#[derive(Debug)]
pub struct CsvSource {
    dir: TableDir,
    options: CsvOptions,
}

impl CsvSource {
    /// Opens the directory `dir`, which must exist; files are opened when a table is read.
    pub fn open(dir: &Path, options: CsvOptions) -> Result<CsvSource, SourceError> {
        Ok(CsvSource { dir: TableDir::open(dir, &["csv"], "csv")?, options })
    }
}

#[async_trait]
impl Source for CsvSource {
    fn describe(&self) -> String {
        self.dir.describe()
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        let path = self.dir.file_for(read)?;
        let options = self.options.clone();
        let header = run_blocking(self.describe(), move || Header::read(&path, &options)).await?;
        Ok(header.names.into_iter().map(Column::untyped).collect())
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        // Files have no key: scans count records. Still check that the table exists.
        self.dir.file_for(read)?;
        Ok(None)
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        crate::refuse_filters(self.describe(), request)?;
        let path = self.dir.file_for(&request.read)?;
        let (dir, options, skip_null) = (self.dir.clone(), self.options.clone(), request.skip_null.clone());
        run_blocking(self.describe(), move || {
            let header = Header::read(&path, &options)?;
            let skip_null = resolve_columns(&dir, &path, &header.names, &skip_null)?;
            let rules = Rules::new(&options, &header, Vec::new(), skip_null);
            let mut records = Records::open_data(&path, &options, &header, Resume::Start)?;
            let mut count = 0;
            while records.next()? {
                if rules.yields(&records) {
                    count += 1;
                }
            }
            Ok(Some(count))
        })
        .await
    }

    async fn scan(&self, request: ScanRequest) -> Result<BatchStream, SourceError> {
        crate::refuse_filters(self.describe(), &request)?;
        let path = self.dir.file_for(&request.read)?;
        let resume = resume_point(&self.dir, &request)?;
        let header = {
            let (path, options) = (path.clone(), self.options.clone());
            run_blocking(self.describe(), move || Header::read(&path, &options)).await?
        };
        // Checked before the stream starts, so a typo fails the scan at once.
        let wanted = resolve_columns(&self.dir, &path, &header.names, &request.columns)?;
        let skip_null = resolve_columns(&self.dir, &path, &header.names, &request.skip_null)?;
        let columns: Arc<[Column]> = request.columns.iter().map(|name| Column::untyped(name.as_str())).collect();
        let options = self.options.clone();
        let batch_size = request.batch_size;
        Ok(spawn_reader(move |sender| {
            let rules = Rules::new(&options, &header, wanted, skip_null);
            let records = Records::open_data(&path, &options, &header, resume)?;
            scan_records(records, &rules, resume, Batcher::new(sender, columns, batch_size))
        }))
    }
}

/// Reads records after `resume` and sends their rows. Returns early, without error, when the
/// stream was dropped.
fn scan_records(
    mut records: Records,
    rules: &Rules<'_>,
    resume: Resume,
    mut batcher: Batcher<'_>,
) -> Result<(), SourceError> {
    let (mut consumed, mut skip) = match resume {
        Resume::Start => (0, 0),
        Resume::Skip(rows) => (0, rows),
        Resume::Seek { rows, .. } => (rows, 0),
    };
    while records.next()? {
        // Every record counts, yielded or not, so that the cursor's count means the same
        // thing whatever the request's skip_null.
        consumed += 1;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if let Some(row) = rules.row(&records)
            && batcher.push(row, consumed, records.next_offset()).is_err()
        {
            return Ok(());
        }
    }
    // A dropped stream at the very end needs no report either.
    let _ = batcher.flush(consumed, records.next_offset());
    Ok(())
}

/// A file's columns and where its data starts.
#[derive(Debug, Clone)]
struct Header {
    /// Column names: the header row, or `column_1`, … without one.
    names: Vec<String>,
    /// Byte offset of the first data record (after a BOM and the header row).
    data_start: u64,
    /// Line number at `data_start`.
    data_line: u64,
    /// How the expected field count was learnt, for the wrong-count message.
    width_from: &'static str,
}

impl Header {
    /// Reads the header row of `path` (or, without one, counts the first record's fields).
    /// Empty, duplicate or undecodable names are errors naming the line and column.
    fn read(path: &Path, options: &CsvOptions) -> Result<Header, SourceError> {
        let mut records = Records::open_start(path, options)?;
        let found = records.next()?;
        if let Some(open) = &records.unterminated {
            // The first record sets the columns: cut short, it would set the wrong ones.
            let what = if options.has_header { "the header row" } else { "the first record" };
            return Err(data_error(
                path,
                format!(
                    "line {}: {what} has an unterminated quoted field starting on line {} (its closing quote never comes)",
                    records.line, open.quote_line
                ),
            ));
        }
        if !options.has_header {
            let width = if found { records.record.len() } else { 0 };
            return Ok(Header {
                names: (1..=width).map(|i| format!("column_{i}")).collect(),
                data_start: records.base,
                data_line: 1,
                width_from: "as the first record",
            });
        }
        if !found {
            return Err(data_error(path, "the file is empty, but a header row naming the columns was expected".into()));
        }
        let line = records.line;
        let mut names: Vec<String> = Vec::with_capacity(records.record.len());
        for (index, field) in records.record.iter().enumerate() {
            let column = index + 1;
            let name = std::str::from_utf8(options.trimmed(field)).map_err(|e| {
                data_error(
                    path,
                    format!(
                        "line {line}, column {column}: the header name is not valid UTF-8 (at byte {})",
                        e.valid_up_to()
                    ),
                )
            })?;
            if name.is_empty() {
                return Err(data_error(
                    path,
                    format!("line {line}, column {column}: the header gives this column no name"),
                ));
            }
            if let Some(first) = names.iter().position(|seen| seen == name) {
                return Err(data_error(
                    path,
                    format!(
                        "line {line}, column {column}: the header repeats `{name}` (already column {}); names must be unique",
                        first + 1
                    ),
                ));
            }
            names.push(name.to_owned());
        }
        Ok(Header {
            names,
            data_start: records.next_offset(),
            data_line: records.next_line(),
            width_from: "as the header",
        })
    }
}

/// What a scan or count does with each record: which fields to deliver, which NULLs skip it.
struct Rules<'a> {
    options: &'a CsvOptions,
    names: &'a [String],
    width_from: &'static str,
    /// Positions of the requested columns, in request order.
    wanted: Vec<usize>,
    /// Positions of the columns whose NULL skips a record.
    skip_null: Vec<usize>,
}

impl<'a> Rules<'a> {
    fn new(options: &'a CsvOptions, header: &'a Header, wanted: Vec<usize>, skip_null: Vec<usize>) -> Rules<'a> {
        Rules { options, names: &header.names, width_from: header.width_from, wanted, skip_null }
    }

    /// Whether the current record is skipped for a NULL in a skip_null column. A malformed
    /// record (an unterminated quote, the wrong number of fields) is never skipped: it is
    /// reported.
    fn skips(&self, records: &Records) -> bool {
        let record = &records.record;
        records.unterminated.is_none()
            && record.len() == self.names.len()
            && self.skip_null.iter().any(|&i| self.options.is_null(self.options.trimmed(record.get(i).unwrap_or(b""))))
    }

    /// Whether the current record becomes a row (good or malformed): what `count` counts.
    /// Decides exactly as [`Rules::row`] does, without decoding anything.
    fn yields(&self, records: &Records) -> bool {
        !self.skips(records)
    }

    /// The row the current record becomes, or `None` when skip_null skips it.
    fn row(&self, records: &Records) -> Option<SourceRow> {
        let (record, line) = (&records.record, records.line);
        if let Some(open) = &records.unterminated {
            let reason = format!(
                "unterminated quoted field starting on line {}: its closing quote never comes, so the record \
                 ends with that line and reading goes on with the next one",
                open.quote_line
            );
            return Some(SourceRow::Malformed { raw: records.raw(), reason, line });
        }
        if record.len() != self.names.len() {
            let reason = format!("expected {} fields ({}), found {}", self.names.len(), self.width_from, record.len());
            return Some(SourceRow::Malformed { raw: records.raw(), reason, line });
        }
        if self.skips(records) {
            return None;
        }
        let mut values = Vec::with_capacity(self.wanted.len());
        for &i in &self.wanted {
            let field = self.options.trimmed(record.get(i).unwrap_or(b""));
            if self.options.is_null(field) {
                values.push(Value::Null);
                continue;
            }
            match std::str::from_utf8(field) {
                Ok(text) => values.push(Value::String(text.to_owned())),
                Err(e) => {
                    let reason = format!("column {:?}: invalid UTF-8 at byte {}", self.names[i], e.valid_up_to());
                    return Some(SourceRow::Malformed { raw: records.raw(), reason, line });
                }
            }
        }
        Some(SourceRow::Ok { values, line })
    }
}

/// Bytes below this many that the parser has finished with are kept rather than dropped:
/// dropping moves the parser's read-ahead to the front, so it is done rarely.
const KEEP_UP_TO: usize = 1 << 20;

/// The bytes the CSV parser has read and the reader may still need: from (at most
/// [`KEEP_UP_TO`] before) the start of the current record to the end of the read-ahead.
#[derive(Debug, Default)]
struct Window {
    bytes: Vec<u8>,
    /// Stream offset of `bytes[0]`.
    start: u64,
}

impl Window {
    /// The bytes between two stream offsets (empty if the window does not hold them, which
    /// cannot happen while [`Records`] drops only bytes before the current record).
    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let index = |at: u64| usize::try_from(at.saturating_sub(self.start)).unwrap_or(usize::MAX);
        self.bytes.get(index(from)..index(to)).unwrap_or(&[])
    }
}

/// The file as the parser reads it, copying what it reads into the shared [`Window`].
struct Tee {
    file: File,
    window: Rc<RefCell<Window>>,
}

impl io::Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.window.borrow_mut().bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A CSV file read record by record, knowing each record's line and the offset after it.
///
/// The parser reads a "stream": the file from `base` on. Offsets in the stream plus `base`
/// are file offsets; the parser counts lines from 1 at the stream's start, which is line
/// `base_line` of the file.
struct Records {
    path: PathBuf,
    options: CsvOptions,
    reader: csv::Reader<Tee>,
    window: Rc<RefCell<Window>>,
    /// The current record.
    record: csv::ByteRecord,
    /// Line the current record starts on.
    line: u64,
    /// Stream offset of the current record's first byte.
    raw_start: u64,
    base: u64,
    base_line: u64,
    /// The file's length when it was opened: a record ending there may have ended inside
    /// a quoted field.
    file_len: u64,
    /// Set when the current record holds a quoted field the file never closes.
    unterminated: Option<Unterminated>,
}

/// A record whose quoted field is still open at the end of the file: it ends with the line
/// the field opened on, and reading restarts after that line.
#[derive(Debug, Clone, Copy)]
struct Unterminated {
    /// Line of the opening quote.
    quote_line: u64,
    /// Stream offset where the record's raw text ends (before the line end).
    raw_end: u64,
    /// File offset of the line after the opening quote's line, and that line's number.
    restart: u64,
    restart_line: u64,
}

/// The UTF-8 byte order mark some tools write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Records {
    /// Reads `path` from its start, stepping over a UTF-8 byte order mark.
    fn open_start(path: &Path, options: &CsvOptions) -> Result<Records, SourceError> {
        let mut file = File::open(path).map_err(|e| io_error(path, e))?;
        let mut head = Vec::with_capacity(BOM.len());
        (&mut file).take(BOM.len() as u64).read_to_end(&mut head).map_err(|e| io_error(path, e))?;
        let base = if head == BOM { BOM.len() as u64 } else { 0 };
        file.seek(SeekFrom::Start(base)).map_err(|e| io_error(path, e))?;
        Records::new(path, options, file, base, 1)
    }

    /// Reads `path`'s data records: from the first one, or from a resume cursor's offset.
    fn open_data(path: &Path, options: &CsvOptions, header: &Header, resume: Resume) -> Result<Records, SourceError> {
        match resume {
            // An offset inside the header (a cursor taken before any record) means the start.
            Resume::Seek { offset, .. } if offset > header.data_start => {
                let (file, line) = open_at(path, offset)?;
                Records::new(path, options, file, offset, line)
            }
            _ => {
                let mut file = File::open(path).map_err(|e| io_error(path, e))?;
                file.seek(SeekFrom::Start(header.data_start)).map_err(|e| io_error(path, e))?;
                Records::new(path, options, file, header.data_start, header.data_line)
            }
        }
    }

    fn new(path: &Path, options: &CsvOptions, file: File, base: u64, base_line: u64) -> Result<Records, SourceError> {
        let file_len = file.metadata().map_err(|e| io_error(path, e))?.len();
        let window = Rc::new(RefCell::new(Window::default()));
        let reader = csv::ReaderBuilder::new()
            // The header is read as an ordinary record (see Header::read), and records of the
            // wrong length are reported by the scan rather than refused by the parser.
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .quote(options.quote)
            .buffer_capacity(64 * 1024)
            .from_reader(Tee { file, window: window.clone() });
        Ok(Records {
            path: path.to_path_buf(),
            options: options.clone(),
            reader,
            window,
            record: csv::ByteRecord::new(),
            line: base_line,
            raw_start: 0,
            base,
            base_line,
            file_len,
            unterminated: None,
        })
    }

    /// Reads the next record into `self.record`; false at the end of the file.
    fn next(&mut self) -> Result<bool, SourceError> {
        if let Some(open) = self.unterminated.take() {
            // The parser went to the end of the file inside the quoted field: start a new
            // one on the line after the line the field opened on.
            let (file, _) = open_at(&self.path, open.restart)?;
            *self = Records::new(&self.path, &self.options, file, open.restart, open.restart_line)?;
        }
        let before = self.reader.position().clone();
        {
            let window = &mut *self.window.borrow_mut();
            let done = usize::try_from(before.byte() - window.start).unwrap_or(usize::MAX);
            if done >= KEEP_UP_TO {
                window.bytes.drain(..done.min(window.bytes.len()));
                window.start = before.byte();
            }
        }
        if !self.reader.read_byte_record(&mut self.record).map_err(|e| self.csv_error(e))? {
            return Ok(false);
        }
        // The parser skips line ends (blank lines, the LF of a CRLF) before a record but
        // reports its position before them; the record starts after them.
        let window = self.window.borrow();
        let text = window.slice(before.byte(), self.reader.position().byte());
        let lead = text.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
        let newlines = text[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
        self.line = self.base_line - 1 + before.line() + newlines;
        self.raw_start = before.byte() + lead as u64;
        let end = self.reader.position().byte();
        if self.base + end >= self.file_len
            && let Some(quote) = unclosed_quote(&text[lead..], self.options.delimiter, self.options.quote)
        {
            let from_quote = &text[lead + quote..];
            let quote_line = self.line + text[lead..lead + quote].iter().filter(|&&b| b == b'\n').count() as u64;
            let (raw_end, restart, restart_line) = match from_quote.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(at) => {
                    let crlf = from_quote[at] == b'\r' && from_quote.get(at + 1) == Some(&b'\n');
                    let after = at + if crlf { 2 } else { 1 };
                    let newline = u64::from(crlf || from_quote[at] == b'\n');
                    (
                        self.raw_start + (quote + at) as u64,
                        self.raw_start + (quote + after) as u64,
                        quote_line + newline,
                    )
                }
                None => (end, end, quote_line),
            };
            self.unterminated = Some(Unterminated { quote_line, raw_end, restart: self.base + restart, restart_line });
        }
        Ok(true)
    }

    /// File offset where the next record starts (possibly at the line end it is preceded by).
    fn next_offset(&self) -> u64 {
        match &self.unterminated {
            Some(open) => open.restart,
            None => self.base + self.reader.position().byte(),
        }
    }

    /// Line number at [`Records::next_offset`].
    fn next_line(&self) -> u64 {
        match &self.unterminated {
            Some(open) => open.restart_line,
            None => self.base_line - 1 + self.reader.position().line(),
        }
    }

    /// The current record's text as written in the file, without its line end, for reject
    /// files; invalid UTF-8 is replaced. A record with an unterminated quote ends with the
    /// line its quote opened on.
    fn raw(&self) -> String {
        let window = self.window.borrow();
        let end = self.unterminated.map_or_else(|| self.reader.position().byte(), |open| open.raw_end);
        let text = window.slice(self.raw_start, end);
        let end = text.len() - text.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
        String::from_utf8_lossy(&text[..end]).into_owned()
    }

    fn csv_error(&self, error: csv::Error) -> SourceError {
        let message = error.to_string();
        match error.into_kind() {
            csv::ErrorKind::Io(error) => io_error(&self.path, error),
            // Not expected: the parser is flexible and reads bytes, so only I/O can fail.
            _ => data_error(&self.path, format!("line {}: {message}", self.line)),
        }
    }
}

/// Where the quoted field still open at the end of `text` opened, as an offset into `text`:
/// `text` is one record as the parser read it (from its first byte to the end of the file),
/// and the states are the `csv` parser's own (a quote opens a field only at its start, a
/// doubled quote inside one is a quote, a line end outside one ends the record). `None` when
/// the record ended, or its last field closed, before the end of the text.
fn unclosed_quote(text: &[u8], delimiter: u8, quote: u8) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut opened = 0;
    for (at, &byte) in text.iter().enumerate() {
        state = match state {
            State::FieldStart if byte == quote => {
                opened = at;
                State::Quoted
            }
            State::Quoted if byte == quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if byte == quote => State::Quoted,
            _ if byte == delimiter => State::FieldStart,
            _ if byte == b'\n' || byte == b'\r' => return None,
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some(opened)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use grafter_model::{Batch, Cursor};

    /// A directory holding `name` with `content`.
    fn dir_with(name: &str, content: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), content).unwrap();
        dir
    }

    fn source(dir: &tempfile::TempDir) -> CsvSource {
        CsvSource::open(dir.path(), CsvOptions::default()).unwrap()
    }

    fn request(table: &str, columns: &[&str]) -> ScanRequest {
        ScanRequest {
            read: Read::Table(table.into()),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            skip_null: Vec::new(),
            order_by: Vec::new(),
            after: Cursor::Start,
            batch_size: 1000,
            range: crate::KeyRange::all(),
            filters: Vec::new(),
        }
    }

    async fn batches(source: &CsvSource, request: ScanRequest) -> Vec<Batch> {
        let stream = source.scan(request).await.unwrap();
        stream.map(|batch| batch.unwrap()).collect().await
    }

    async fn scan_rows(source: &CsvSource, request: ScanRequest) -> Vec<SourceRow> {
        batches(source, request).await.into_iter().flat_map(|b| b.rows).collect()
    }

    fn ok(values: &[Option<&str>], line: u64) -> SourceRow {
        let values = values.iter().map(|v| v.map_or(Value::Null, Value::from)).collect();
        SourceRow::Ok { values, line }
    }

    const PEOPLE: &str = "id,name,city\n1,Ada,London\n2,,Paris\n3,Grace,\n";

    #[tokio::test]
    async fn columns_are_the_header_untyped() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let columns = source(&dir).columns(&Read::Table("people".into())).await.unwrap();
        assert_eq!(columns, vec![Column::untyped("id"), Column::untyped("name"), Column::untyped("city")]);
    }

    #[tokio::test]
    async fn header_errors_name_file_line_and_column() {
        let dir = dir_with("dup.csv", b"id,name,id\n1,a,2\n");
        std::fs::write(dir.path().join("empty_name.csv"), "id,,x\n").unwrap();
        let source = source(&dir);
        let err = source.columns(&Read::Table("dup".into())).await.unwrap_err().to_string();
        assert!(err.contains("dup.csv") && err.contains("line 1, column 3") && err.contains("`id`"), "{err}");
        assert!(err.contains("column 1"), "{err}");
        let err = source.columns(&Read::Table("empty_name".into())).await.unwrap_err().to_string();
        assert!(err.contains("empty_name.csv") && err.contains("line 1, column 2") && err.contains("no name"), "{err}");
    }

    #[tokio::test]
    async fn full_scan_in_requested_order_with_nulls_and_lines() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let rows = scan_rows(&source(&dir), request("people", &["city", "id", "name"])).await;
        assert_eq!(
            rows,
            vec![
                ok(&[Some("London"), Some("1"), Some("Ada")], 2),
                ok(&[Some("Paris"), Some("2"), None], 3),
                ok(&[None, Some("3"), Some("Grace")], 4),
            ]
        );
    }

    #[tokio::test]
    async fn batches_respect_the_size_and_carry_cursors() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let mut req = request("people", &["id"]);
        req.batch_size = 2;
        let batches = batches(&source(&dir), req).await;
        assert_eq!(batches.iter().map(|b| b.rows.len()).collect::<Vec<_>>(), vec![2, 1]);
        let second_record_end = "id,name,city\n1,Ada,London\n2,,Paris\n".len() as u64;
        assert_eq!(batches[0].cursor_after, Cursor::Rows { rows: 2, byte_offset: Some(second_record_end) });
        assert_eq!(batches[1].cursor_after, Cursor::Rows { rows: 3, byte_offset: Some(PEOPLE.len() as u64) });
        assert_eq!(&*batches[0].columns, &[Column::untyped("id")]);
    }

    #[tokio::test]
    async fn skip_null_skips_rows_but_advances_the_cursor() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let source = source(&dir);
        let mut req = request("people", &["id"]);
        req.skip_null = vec!["name".into()];
        let batches = batches(&source, req.clone()).await;
        let rows: Vec<_> = batches.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(rows, vec![ok(&[Some("1")], 2), ok(&[Some("3")], 4)]);
        assert_eq!(
            batches.last().unwrap().cursor_after,
            Cursor::Rows { rows: 3, byte_offset: Some(PEOPLE.len() as u64) }
        );
        assert_eq!(source.count(&req).await.unwrap(), Some(2));
        assert_eq!(source.count(&request("people", &[])).await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn wrong_field_count_is_malformed_and_later_rows_arrive() {
        let dir = dir_with("t.csv", b"a,b,c,d\n1,2,3,4\n1,2,3,4,5\n6,7,8,9\n");
        let source = source(&dir);
        let rows = scan_rows(&source, request("t", &["a"])).await;
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            SourceRow::Malformed {
                raw: "1,2,3,4,5".into(),
                reason: "expected 4 fields (as the header), found 5".into(),
                line: 3
            }
        );
        assert_eq!(rows[2], ok(&[Some("6")], 4));
        // Malformed records are yielded, so they are counted, even when skip_null is set.
        let mut req = request("t", &["a"]);
        req.skip_null = vec!["d".into()];
        assert_eq!(source.count(&req).await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn invalid_utf8_names_the_column() {
        let dir = dir_with("t.csv", b"id,Name\n1,Ad\xFFa\n2,Bob\n");
        let rows = scan_rows(&source(&dir), request("t", &["id", "Name"])).await;
        assert_eq!(
            rows[0],
            SourceRow::Malformed {
                raw: "1,Ad\u{FFFD}a".into(),
                reason: "column \"Name\": invalid UTF-8 at byte 2".into(),
                line: 2
            }
        );
        assert_eq!(rows[1], ok(&[Some("2"), Some("Bob")], 3));
    }

    #[tokio::test]
    async fn a_byte_order_mark_is_not_part_of_the_first_name() {
        let dir = dir_with("t.csv", b"\xEF\xBB\xBFid,name\n1,x\n");
        let source = source(&dir);
        let columns = source.columns(&Read::Table("t".into())).await.unwrap();
        assert_eq!(columns[0].name, "id");
        assert_eq!(scan_rows(&source, request("t", &["id"])).await, vec![ok(&[Some("1")], 2)]);
    }

    /// Quoted line breaks, CRLF, blank lines and a last record without a line end.
    const AWKWARD: &[u8] =
        b"id,note\r\n1,\"two\r\nlines\"\r\n\r\n2,plain\r\n3,\"a \"\"quoted\"\"\nword\"\n\n\n4,x\n5,\"\n\n\"\r\n6,last";

    #[tokio::test]
    async fn quoted_line_breaks_keep_line_numbers_right() {
        let dir = dir_with("t.csv", AWKWARD);
        let rows = scan_rows(&source(&dir), request("t", &["id", "note"])).await;
        assert_eq!(
            rows,
            vec![
                ok(&[Some("1"), Some("two\r\nlines")], 2),
                ok(&[Some("2"), Some("plain")], 5),
                ok(&[Some("3"), Some("a \"quoted\"\nword")], 6),
                ok(&[Some("4"), Some("x")], 10),
                ok(&[Some("5"), Some("\n\n")], 11),
                ok(&[Some("6"), Some("last")], 14),
            ]
        );
    }

    #[tokio::test]
    async fn resuming_from_any_cursor_yields_the_tail_of_a_full_scan() {
        let dir = dir_with("t.csv", AWKWARD);
        let source = source(&dir);
        let mut req = request("t", &["note", "id"]);
        req.batch_size = 1;
        let full = batches(&source, req.clone()).await;
        let all: Vec<SourceRow> = full.iter().flat_map(|b| b.rows.clone()).collect();
        for (i, batch) in full.iter().enumerate() {
            let Cursor::Rows { rows, byte_offset } = batch.cursor_after else { panic!("a file cursor counts rows") };
            for after in [Cursor::Rows { rows, byte_offset: None }, Cursor::Rows { rows, byte_offset }] {
                let mut resumed = req.clone();
                resumed.after = after.clone();
                resumed.batch_size = 2;
                let tail = batches(&source, resumed).await;
                let tail_rows: Vec<SourceRow> = tail.iter().flat_map(|b| b.rows.clone()).collect();
                assert_eq!(tail_rows, all[i + 1..], "resumed after {after:?}");
                if let Some(last) = tail.last() {
                    assert_eq!(last.cursor_after, full.last().unwrap().cursor_after);
                }
            }
        }
    }

    #[tokio::test]
    async fn resuming_with_skip_null_and_malformed_rows() {
        let dir = dir_with("t.csv", b"a,b\n1,\n2,x\n3\n4,y\n5,\n6,z\n");
        let source = source(&dir);
        let mut req = request("t", &["a"]);
        req.skip_null = vec!["b".into()];
        req.batch_size = 1;
        let full = batches(&source, req.clone()).await;
        let all: Vec<SourceRow> = full.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(all.iter().map(SourceRow::line).collect::<Vec<_>>(), vec![3, 4, 5, 7]);
        for (i, batch) in full.iter().enumerate() {
            let mut resumed = req.clone();
            resumed.after = batch.cursor_after.clone();
            assert_eq!(scan_rows(&source, resumed).await, all[i + 1..]);
        }
    }

    fn unterminated(raw: &str, quote_line: u64, line: u64) -> SourceRow {
        let reason = format!(
            "unterminated quoted field starting on line {quote_line}: its closing quote never comes, so the \
             record ends with that line and reading goes on with the next one"
        );
        SourceRow::Malformed { raw: raw.into(), reason, line }
    }

    #[tokio::test]
    async fn an_unterminated_quote_rejects_its_record_and_later_rows_load() {
        let dir = dir_with("t.csv", b"id,name\n1,a\n2,\"b\n3,c\n4,d\n5,e\n");
        let source = source(&dir);
        let rows = scan_rows(&source, request("t", &["id", "name"])).await;
        assert_eq!(
            rows,
            vec![
                ok(&[Some("1"), Some("a")], 2),
                unterminated("2,\"b", 3, 3),
                ok(&[Some("3"), Some("c")], 4),
                ok(&[Some("4"), Some("d")], 5),
                ok(&[Some("5"), Some("e")], 6),
            ]
        );
        assert_eq!(source.count(&request("t", &["id"])).await.unwrap(), Some(5));
        // A rejected record is never skipped for a NULL, in the scan as in the count.
        let mut req = request("t", &["id"]);
        req.skip_null = vec!["name".into()];
        assert_eq!(scan_rows(&source, req.clone()).await.len(), 5);
        assert_eq!(source.count(&req).await.unwrap(), Some(5));
    }

    #[tokio::test]
    async fn an_unterminated_quote_after_a_closed_multiline_field_cuts_the_record_at_its_own_line() {
        let dir = dir_with("t.csv", b"id,note,x\n1,\"a\nb\",\"open\n2,y,z\n");
        let rows = scan_rows(&source(&dir), request("t", &["id", "x"])).await;
        assert_eq!(rows, vec![unterminated("1,\"a\nb\",\"open", 3, 2), ok(&[Some("2"), Some("z")], 4)]);
    }

    #[tokio::test]
    async fn an_unterminated_quote_on_the_last_line_rejects_that_line_alone() {
        const TEXT: &[u8] = b"id,name\n1,a\n2,\"b";
        let dir = dir_with("t.csv", TEXT);
        let source = source(&dir);
        let mut req = request("t", &["id"]);
        req.batch_size = 1;
        let full = batches(&source, req).await;
        let rows: Vec<SourceRow> = full.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(rows, vec![ok(&[Some("1")], 2), unterminated("2,\"b", 3, 3)]);
        assert_eq!(full[1].cursor_after, Cursor::Rows { rows: 2, byte_offset: Some(TEXT.len() as u64) });
    }

    #[tokio::test]
    async fn an_unterminated_quote_in_the_header_is_an_error_naming_its_line() {
        let dir = dir_with("t.csv", b"id,\"name\n1,a\n");
        let err = source(&dir).columns(&Read::Table("t".into())).await.unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("line 1") && err.contains("unterminated quoted field"), "{err}");
    }

    /// An unterminated quote, CRLF line ends, a last line without a line end.
    const UNCLOSED: &[u8] = b"id,note\r\n1,\"ok\"\r\n2,\"open\r\n3,x\r\n4,y\n5,last";

    #[tokio::test]
    async fn resuming_from_any_cursor_around_unterminated_quotes_yields_the_tail_of_a_full_scan() {
        let dir = dir_with("t.csv", UNCLOSED);
        let source = source(&dir);
        let mut req = request("t", &["note", "id"]);
        req.batch_size = 1;
        let full = batches(&source, req.clone()).await;
        let all: Vec<SourceRow> = full.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(
            all,
            vec![
                ok(&[Some("ok"), Some("1")], 2),
                unterminated("2,\"open", 3, 3),
                ok(&[Some("x"), Some("3")], 4),
                ok(&[Some("y"), Some("4")], 5),
                ok(&[Some("last"), Some("5")], 6),
            ]
        );
        // The cursor after the first rejected record points at the line after it.
        let restart = "id,note\r\n1,\"ok\"\r\n2,\"open\r\n".len() as u64;
        assert_eq!(full[1].cursor_after, Cursor::Rows { rows: 2, byte_offset: Some(restart) });
        for (i, batch) in full.iter().enumerate() {
            let Cursor::Rows { rows, byte_offset } = batch.cursor_after else { panic!("a file cursor counts rows") };
            for after in [Cursor::Rows { rows, byte_offset: None }, Cursor::Rows { rows, byte_offset }] {
                let mut resumed = req.clone();
                resumed.after = after.clone();
                resumed.batch_size = 2;
                let tail = batches(&source, resumed).await;
                let tail_rows: Vec<SourceRow> = tail.iter().flat_map(|b| b.rows.clone()).collect();
                assert_eq!(tail_rows, all[i + 1..], "resumed after {after:?}");
                if let Some(last) = tail.last() {
                    assert_eq!(last.cursor_after, full.last().unwrap().cursor_after);
                }
            }
        }
    }

    #[test]
    fn unclosed_quotes_follow_the_parser_states() {
        assert_eq!(unclosed_quote(b"1,\"b\n3,c\n", b',', b'"'), Some(2));
        // Closed, doubled and mid-field quotes open nothing; a line end outside a quote ends it.
        assert_eq!(unclosed_quote(b"1,\"a \"\"b\"\"\",x\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1,a\"b\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1,\"a\"x\"y\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1;'a;b", b';', b'\''), Some(2));
        assert_eq!(unclosed_quote(b"1,\"a\"\"", b',', b'"'), Some(2));
    }

    #[tokio::test]
    async fn a_cursor_past_the_end_is_an_error() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let mut req = request("people", &["id"]);
        req.after = Cursor::Rows { rows: 9, byte_offset: Some(10_000) };
        let mut stream = source(&dir).scan(req).await.unwrap();
        let err = stream.next().await.unwrap().unwrap_err().to_string();
        assert!(err.contains("people.csv") && err.contains("past the end"), "{err}");
    }

    #[tokio::test]
    async fn unknown_columns_and_tables_suggest_the_nearest() {
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let source = source(&dir);
        let Err(err) = source.scan(request("people", &["id", "nmae"])).await else { panic!("nmae is not a column") };
        let text = err.to_string();
        assert!(text.contains("`nmae`") && text.contains("people.csv"), "{text}");
        assert!(text.contains("did you mean column `name`?"), "{text}");
        assert!(text.contains("columns there: id, name, city"), "{text}");
        let err = source.columns(&Read::Table("peple".into())).await.unwrap_err().to_string();
        assert!(err.contains("`peple`") && err.contains("did you mean table `people`?"), "{err}");
        let err = source.columns(&Read::Query("select 1".into())).await.unwrap_err().to_string();
        assert!(err.contains("does not support SQL queries"), "{err}");
        let mut keyed = request("people", &["id"]);
        keyed.after = Cursor::Key(vec![Value::Int(1)]);
        assert!(source.scan(keyed).await.is_err());
        assert_eq!(source.scan_key(&Read::Table("people".into())).await.unwrap(), None);
    }

    #[tokio::test]
    async fn options_change_delimiter_null_trim_and_header() {
        let dir = dir_with("t.csv", b"1; NULL ;  x\n2;;y \n");
        let options = CsvOptions {
            delimiter: b';',
            null: Some("NULL".into()),
            trim: true,
            has_header: false,
            ..CsvOptions::default()
        };
        let source = CsvSource::open(dir.path(), options).unwrap();
        let names: Vec<_> =
            source.columns(&Read::Table("t".into())).await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["column_1", "column_2", "column_3"]);
        let rows = scan_rows(&source, request("t", &["column_2", "column_3"])).await;
        assert_eq!(rows, vec![ok(&[None, Some("x")], 1), ok(&[Some(""), Some("y")], 2)]);

        let no_nulls = CsvOptions { null: None, ..CsvOptions::default() };
        let dir = dir_with("people.csv", PEOPLE.as_bytes());
        let source = CsvSource::open(dir.path(), no_nulls).unwrap();
        let rows = scan_rows(&source, request("people", &["name"])).await;
        assert_eq!(rows[1], ok(&[Some("")], 3));
    }

    #[tokio::test]
    async fn an_empty_file_has_no_header() {
        let dir = dir_with("t.csv", b"");
        let err = source(&dir).columns(&Read::Table("t".into())).await.unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("empty"), "{err}");
    }

    #[tokio::test]
    async fn dropping_the_stream_stops_the_reader() {
        let mut text = String::from("id\n");
        for i in 0..50_000 {
            text.push_str(&format!("{i}\n"));
        }
        let dir = dir_with("t.csv", text.as_bytes());
        let mut req = request("t", &["id"]);
        req.batch_size = 10;
        let mut stream = source(&dir).scan(req).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().rows.len(), 10);
        // The reader is blocked on the full channel; dropping the stream must release it, or
        // the runtime's shutdown at the end of this test would wait forever.
        drop(stream);
    }

    #[tokio::test]
    async fn a_big_file_arrives_whole() {
        const ROWS: usize = 200_000;
        let mut text = String::from("id,name,score,note\n");
        for i in 0..ROWS {
            text.push_str(&format!("{i},name {i},{}.5,\"note, with comma\"\n", i % 100));
        }
        let dir = dir_with("big.csv", text.as_bytes());
        let source = source(&dir);
        let mut req = request("big", &["id", "note"]);
        req.batch_size = 4096;
        assert_eq!(source.count(&req).await.unwrap(), Some(ROWS as u64));
        let mut stream = source.scan(req).await.unwrap();
        let mut seen = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            assert!(batch.rows.len() <= 4096);
            for row in &batch.rows {
                let SourceRow::Ok { values, line } = row else { panic!("malformed row {row:?}") };
                assert_eq!(*line, seen + 2);
                assert_eq!(values[0], Value::String(seen.to_string()));
                seen += 1;
            }
        }
        assert_eq!(seen, ROWS as u64);
    }
}
