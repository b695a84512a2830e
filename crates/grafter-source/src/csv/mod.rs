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
//! exactly the rows a fresh scan would have yielded after that point. How the positions are
//! found is `records.rs`'s.
//!
//! A quoted field whose closing quote never comes would swallow the rest of the file (the
//! `csv` crate ends such a field silently at the end of the file). The rule here: when the
//! parser reaches the end of the file inside a quoted field, the record that opened it is
//! rejected ("unterminated quoted field starting on line N"), its raw text running to the end
//! of line N, and reading restarts on the line after line N, so the records after it load.
//! That line N is usually the record's first line; a record whose earlier fields span lines
//! properly is cut after the line where the unclosed quote opened. The rejected record's
//! cursor points at the restart, so a resumed scan starts exactly where this one went on.

mod options;
mod records;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use grafter_model::{Column, SourceRow, Value};
pub use options::CsvOptions;
use records::Records;

use crate::blocking::spawn_reader;
use crate::files::{Batcher, Resume, TableDir, data_error, resolve_columns, resume_point, run_blocking};
use crate::{BatchStream, Read, ScanRequest, Source, SourceError};

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

/// `csv:DIR`: a folder of `.csv` files, one per table (options in `[source.csv]`).
pub(crate) const CONNECTOR: crate::connector::Connector =
    crate::connector::Connector { schemes: &["csv"], check_server_url: None, open: open_connector };

fn open_connector<'a>(
    location: &'a crate::Location,
    options: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move { Ok(Box::new(CsvSource::open(location.path()?, options.csv.clone())?) as Box<dyn Source>) })
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
