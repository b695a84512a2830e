//! The NDJSON source, `ndjson:DIR`: a directory holding one newline-delimited JSON file per
//! table (`.ndjson` or `.jsonl`), one JSON object per line.
//!
//! Finding a table's file and the shared parts of a file scan (checking the requested
//! columns, reading the resume cursor, cutting rows into batches) live in `files.rs`,
//! which the CSV source uses too; the reader thread and its bounded channel are
//! `blocking.rs`'s. This module is what is particular to NDJSON: lines, JSON values,
//! and the columns of a file whose lines need not share their keys.
//!
//! A file's columns are the union of the top-level keys of all its lines, in first-seen
//! order, so that a field appearing only late in a file is not silently dropped; a line
//! without a field gives NULL. Collecting them is a pass over the whole file, kept cheap by
//! reading only the keys of lines whose keys are all known already, and its result is
//! remembered per file (until the file changes) because `scan` needs it again.
//!
//! Values keep their JSON types (`json.rs`): integers become integers, numbers with a
//! fraction or exponent floats, objects maps and arrays lists; nothing changes silently. A
//! key twice in one object, an integer outside the signed 64-bit range (unless
//! `[source.types] unsigned_overflow = "string"` keeps its digits) make the line a rejected
//! row naming the key, and a number with more digits than a float holds follows
//! `[source.types] decimal` (its exact text by default). A line that is not a JSON object
//! is a malformed row, never dropped; a blank line is no row at all. Rows carry their
//! physical line number and cursors the byte offset of the next line.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use grafter_model::{Column, SourceRow, TypePolicy, UnsignedOverflow, Value};

use crate::blocking::spawn_reader;
use crate::files::{Batcher, Resume, TableDir, io_error, open_at, resolve_columns, resume_point, run_blocking};
use crate::json::{JsonError, Object};
use crate::{BatchStream, Read, ScanRequest, Source, SourceError};

/// A directory of NDJSON files, one per table (`DIR/<table>.ndjson` or `.jsonl`).
#[derive(Debug)]
pub struct NdjsonSource {
    dir: TableDir,
    /// Each file's columns as last collected, with the file's size and modification time
    /// then: `columns` and `scan` both need them, and collecting is a pass over the file.
    keys: Mutex<HashMap<PathBuf, KnownKeys>>,
    /// How numbers JSON has and a graph does not are read.
    types: TypePolicy,
}

#[derive(Debug, Clone)]
struct KnownKeys {
    stamp: Stamp,
    names: Arc<[String]>,
}

/// What identifies a version of a file: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

/// `ndjson:DIR` (also `jsonl:`): a folder of `.ndjson` / `.jsonl` files, one per table.
pub(crate) const CONNECTOR: crate::connector::Connector =
    crate::connector::Connector { schemes: &["ndjson", "jsonl"], check_server_url: None, open: open_connector };

fn open_connector<'a>(
    location: &'a crate::Location,
    options: &'a crate::SourceOptions,
) -> futures::future::BoxFuture<'a, Result<Box<dyn Source>, SourceError>> {
    Box::pin(async move { Ok(Box::new(NdjsonSource::open(location.path()?, options.types)?) as Box<dyn Source>) })
}

impl NdjsonSource {
    /// Opens the directory `dir`, which must exist; files are opened when a table is read.
    /// `types` decides what becomes of integers outside the 64-bit range and of numbers with
    /// more digits than a float holds.
    pub fn open(dir: &Path, types: TypePolicy) -> Result<NdjsonSource, SourceError> {
        Ok(NdjsonSource { dir: TableDir::open(dir, &["ndjson", "jsonl"], "ndjson")?, keys: Mutex::default(), types })
    }

    /// The columns of the file at `path`: the union of its lines' top-level keys.
    async fn keys(&self, path: &Path) -> Result<Arc<[String]>, SourceError> {
        // Taken before reading, so a change during the pass makes the next call read again.
        let metadata = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        let stamp = (metadata.len(), metadata.modified().ok());
        let cached = self.keys.lock().unwrap_or_else(PoisonError::into_inner).get(path).cloned();
        if let Some(known) = cached.filter(|known| known.stamp == stamp) {
            return Ok(known.names);
        }
        let owned = path.to_path_buf();
        let names: Arc<[String]> = run_blocking(self.describe(), move || collect_keys(&owned)).await?.into();
        let known = KnownKeys { stamp, names: names.clone() };
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).insert(path.to_path_buf(), known);
        Ok(names)
    }
}

#[async_trait]
impl Source for NdjsonSource {
    fn describe(&self) -> String {
        self.dir.describe()
    }

    async fn columns(&self, read: &Read) -> Result<Vec<Column>, SourceError> {
        let path = self.dir.file_for(read)?;
        Ok(self.keys(&path).await?.iter().map(|name| Column::untyped(name.as_str())).collect())
    }

    async fn scan_key(&self, read: &Read) -> Result<Option<Vec<String>>, SourceError> {
        // Files have no key: scans count records. Still check that the table exists.
        self.dir.file_for(read)?;
        Ok(None)
    }

    async fn count(&self, request: &ScanRequest) -> Result<Option<u64>, SourceError> {
        crate::refuse_filters(self.describe(), request)?;
        let path = self.dir.file_for(&request.read)?;
        if !request.skip_null.is_empty() {
            resolve_columns(&self.dir, &path, &self.keys(&path).await?, &request.skip_null)?;
        }
        let rules = Rules::new(Vec::new(), request.skip_null.clone(), self.types);
        run_blocking(self.describe(), move || {
            let mut lines = Lines::open(&path, Resume::Start)?;
            let mut count = 0;
            while lines.next()?.is_some() {
                // Without skip_null every non-blank line is a row (good or malformed), so
                // there is nothing to parse.
                if rules.skip_null.is_empty() || rules.yields(lines.text()) {
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
        // Checked before the stream starts, so a typo fails the scan at once.
        let keys = self.keys(&path).await?;
        resolve_columns(&self.dir, &path, &keys, &request.columns)?;
        resolve_columns(&self.dir, &path, &keys, &request.skip_null)?;
        let columns: Arc<[Column]> = request.columns.iter().map(|name| Column::untyped(name.as_str())).collect();
        let rules = Rules::new(request.columns, request.skip_null, self.types);
        let batch_size = request.batch_size;
        Ok(spawn_reader(move |sender| {
            let lines = Lines::open(&path, resume)?;
            scan_lines(lines, &rules, resume, Batcher::new(sender, columns, batch_size))
        }))
    }
}

/// Reads lines after `resume` and sends their rows. Returns early, without error, when the
/// stream was dropped.
fn scan_lines(mut lines: Lines, rules: &Rules, resume: Resume, mut batcher: Batcher<'_>) -> Result<(), SourceError> {
    let (mut consumed, mut skip) = match resume {
        Resume::Start => (0, 0),
        Resume::Skip(rows) => (0, rows),
        Resume::Seek { rows, .. } => (rows, 0),
    };
    while let Some(line) = lines.next()? {
        // Every record counts, yielded or not, so that the cursor's count means the same
        // thing whatever the request's skip_null.
        consumed += 1;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if let Some(row) = rules.row(lines.text(), line)
            && batcher.push(row, consumed, lines.offset).is_err()
        {
            return Ok(());
        }
    }
    // A dropped stream at the very end needs no report either.
    let _ = batcher.flush(consumed, lines.offset);
    Ok(())
}

/// What a scan or count does with each line: which fields to deliver, which NULLs skip it.
struct Rules {
    /// Requested columns, in request order.
    wanted: Vec<String>,
    /// For a column requested twice, the position of its first request (a JSON field can be
    /// taken out of its object only once).
    repeat_of: Vec<Option<usize>>,
    /// Columns whose NULL (or absence) skips a line.
    skip_null: Vec<String>,
    policy: TypePolicy,
}

impl Rules {
    fn new(wanted: Vec<String>, skip_null: Vec<String>, policy: TypePolicy) -> Rules {
        let repeat_of = wanted.iter().enumerate().map(|(i, name)| wanted[..i].iter().position(|n| n == name)).collect();
        Rules { wanted, repeat_of, skip_null, policy }
    }

    fn skips(&self, object: &Object) -> bool {
        self.skip_null.iter().any(|name| object.get(name).is_none_or(Value::is_null))
    }

    /// Whether the line becomes a row (good or malformed): what `count` counts.
    fn yields(&self, text: &[u8]) -> bool {
        parse_object(text, &self.policy).map_or(true, |object| !self.skips(&object))
    }

    /// The row a line becomes, or `None` when skip_null skips it.
    fn row(&self, text: &[u8], line: u64) -> Option<SourceRow> {
        let mut object = match parse_object(text, &self.policy) {
            Ok(object) => object,
            Err(reason) => {
                return Some(SourceRow::Malformed { raw: String::from_utf8_lossy(text).into_owned(), reason, line });
            }
        };
        if self.skips(&object) {
            return None;
        }
        let mut values: Vec<Value> = Vec::with_capacity(self.wanted.len());
        for (name, repeat_of) in self.wanted.iter().zip(&self.repeat_of) {
            let value = match repeat_of {
                Some(first) => values.get(*first).cloned().unwrap_or(Value::Null),
                // Taking the value out of the object moves it instead of copying it.
                None => object.swap_remove(name).unwrap_or(Value::Null),
            };
            values.push(value);
        }
        Some(SourceRow::Ok { values, line })
    }
}

/// Parses one line as a JSON object under `policy`; the error says why it is not one, or
/// which key holds what cannot be read unchanged.
fn parse_object(text: &[u8], policy: &TypePolicy) -> Result<Object, String> {
    let text =
        std::str::from_utf8(text).map_err(|e| format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()))?;
    crate::json::parse_object(text, policy).map_err(|error| match error {
        JsonError::NotAnObject(kind) => format!("expected a JSON object, found {kind}"),
        JsonError::Refused(reason) => reason,
        JsonError::Syntax(error) => {
            // serde_json counts lines and columns within the text it was given, which is one
            // line: "line 1" would mislead next to the file's line number, so keep the column.
            let message = error.to_string();
            let position = format!(" at line {} column {}", error.line(), error.column());
            let message = message.strip_suffix(&position).unwrap_or(&message);
            format!("invalid JSON: {message} (at column {})", error.column())
        }
    })
}

/// The policy under which a line's keys are collected: every number is accepted, so that
/// only lines that are not JSON objects (or repeat a key) add no columns. A number the scan
/// refuses makes its row a reject, not its keys unknown.
const ANY_NUMBER: TypePolicy = TypePolicy {
    unsigned_overflow: UnsignedOverflow::String,
    decimal: grafter_model::DecimalPolicy::Float,
    json: grafter_model::JsonPolicy::Map,
    bytes: grafter_model::BytesPolicy::Base64,
    zero_date: grafter_model::ZeroDatePolicy::Null,
};

/// The union of the top-level keys of every line of `path` that is a JSON object, in
/// first-seen order. Malformed lines contribute nothing (the scan reports them).
fn collect_keys(path: &Path) -> Result<Vec<String>, SourceError> {
    let mut lines = Lines::open(path, Resume::Start)?;
    let mut known: HashSet<String> = HashSet::new();
    let mut order = Vec::new();
    let mut spans = Vec::new();
    while lines.next()?.is_some() {
        let text = lines.text();
        // Most lines repeat keys already seen: finding that out needs only the keys, not a
        // full parse. Any doubt (a new key, an escaped key, a line the quick look cannot
        // follow) is settled by parsing, so only valid objects ever add keys.
        let all_known = quick_keys(text, &mut spans)
            && spans.iter().all(|span| std::str::from_utf8(&text[span.clone()]).is_ok_and(|key| known.contains(key)));
        if all_known {
            continue;
        }
        if let Ok(object) = parse_object(text, &ANY_NUMBER) {
            for key in object.keys() {
                if known.insert(key.clone()) {
                    order.push(key.clone());
                }
            }
        }
    }
    Ok(order)
}

/// Finds the top-level keys of a line holding a JSON object, as byte ranges of `text`,
/// without parsing the values. Returns false when the line is not a simple object: not an
/// object, a key with escapes, or anything it cannot follow. It does not validate: on an
/// invalid line it may return true, which is harmless because such a line is parsed anyway
/// whenever its keys would matter.
fn quick_keys(text: &[u8], spans: &mut Vec<Range<usize>>) -> bool {
    spans.clear();
    let mut i = skip_space(text, 0);
    if text.get(i) != Some(&b'{') {
        return false;
    }
    i = skip_space(text, i + 1);
    if text.get(i) == Some(&b'}') {
        return skip_space(text, i + 1) == text.len();
    }
    loop {
        if text.get(i) != Some(&b'"') {
            return false;
        }
        let Some(end) = string_end(text, i) else { return false };
        let key = i + 1..end - 1;
        if text[key.clone()].contains(&b'\\') {
            return false;
        }
        spans.push(key);
        i = skip_space(text, end);
        if text.get(i) != Some(&b':') {
            return false;
        }
        let Some(after) = value_end(text, skip_space(text, i + 1)) else { return false };
        i = skip_space(text, after);
        match text.get(i) {
            Some(b',') => i = skip_space(text, i + 1),
            Some(b'}') => return skip_space(text, i + 1) == text.len(),
            _ => return false,
        }
    }
}

fn skip_space(text: &[u8], mut i: usize) -> usize {
    while text.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// Index after the closing quote of the string opening at `text[start]`.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match text.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Index after the JSON value starting at `text[start]`.
fn value_end(text: &[u8], start: usize) -> Option<usize> {
    match text.get(start)? {
        b'"' => string_end(text, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match text.get(i)? {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = start;
            while text.get(i).is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')) {
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// An NDJSON file read line by line, skipping blank lines, knowing each line's number and
/// the byte offset after it.
struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    /// The last line read, with its line end.
    buf: Vec<u8>,
    /// The part of `buf` that is the record (no line end, no byte order mark).
    text: Range<usize>,
    /// File offset of the next line.
    offset: u64,
    /// Number of the next line.
    line: u64,
}

/// The UTF-8 byte order mark some tools write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Lines {
    /// Opens `path` at the start, or at a resume cursor's offset.
    fn open(path: &Path, resume: Resume) -> Result<Lines, SourceError> {
        let (file, offset, line) = match resume {
            Resume::Seek { offset, .. } => {
                let (file, line) = open_at(path, offset)?;
                (file, offset, line)
            }
            Resume::Start | Resume::Skip(_) => (File::open(path).map_err(|e| io_error(path, e))?, 0, 1),
        };
        Ok(Lines {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(64 * 1024, file),
            buf: Vec::with_capacity(1024),
            text: 0..0,
            offset,
            line,
        })
    }

    /// Reads up to the next non-blank line and returns its number; `None` at the end.
    fn next(&mut self) -> Result<Option<u64>, SourceError> {
        loop {
            self.buf.clear();
            let at_start = self.offset == 0;
            let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|e| io_error(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            let number = self.line;
            self.line += 1;
            self.offset += n as u64;
            let mut end = self.buf.len();
            if self.buf[..end].ends_with(b"\n") {
                end -= 1;
            }
            if self.buf[..end].ends_with(b"\r") {
                end -= 1;
            }
            let start = if at_start && self.buf[..end].starts_with(BOM) { BOM.len() } else { 0 };
            self.text = start..end;
            if !self.text().iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                return Ok(Some(number));
            }
        }
    }

    /// The current line, without its line end.
    fn text(&self) -> &[u8] {
        &self.buf[self.text.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use grafter_model::{Batch, Cursor};
    use serde_json::Value as Json;

    fn dir_with(name: &str, content: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), content).unwrap();
        dir
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

    async fn batches(source: &NdjsonSource, request: ScanRequest) -> Vec<Batch> {
        source.scan(request).await.unwrap().map(|batch| batch.unwrap()).collect().await
    }

    async fn scan_rows(source: &NdjsonSource, request: ScanRequest) -> Vec<SourceRow> {
        batches(source, request).await.into_iter().flat_map(|b| b.rows).collect()
    }

    fn names(columns: Vec<Column>) -> Vec<String> {
        columns.into_iter().map(|c| c.name).collect()
    }

    const EVENTS: &str = concat!(
        r#"{"id": 1, "kind": "click", "score": 1.5}"#,
        "\n",
        r#"{"id": 2, "kind": null, "tags": ["a", "b"]}"#,
        "\n\n",
        r#"{"kind": "view", "id": 3, "meta": {"x": 1}}"#,
        "\n",
    );

    #[tokio::test]
    async fn columns_are_the_union_of_keys_in_first_seen_order() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let columns = source.columns(&Read::Table("events".into())).await.unwrap();
        assert_eq!(names(columns), ["id", "kind", "score", "tags", "meta"]);
    }

    #[tokio::test]
    async fn escaped_and_late_keys_are_found_and_malformed_lines_add_none() {
        let text = concat!(
            r#"{"a": "x\"}", "b": [1, {"c": "]"}]}"#,
            "\n",
            r#"{"a\"q": 1, "b": 2}"#,
            "\n",
            r#"{"zz": tru}"#,
            "\n",
            r#"{"b": 1, "a": {"nested": 1}, "late": true}"#,
            "\n",
        );
        let dir = dir_with("t.jsonl", text.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let columns = source.columns(&Read::Table("t".into())).await.unwrap();
        assert_eq!(names(columns), ["a", "b", "a\"q", "late"]);
    }

    #[test]
    fn quick_keys_agree_with_the_parser() {
        let lines = [
            r#"{}"#,
            r#"  { "a" : 1 , "b":"x,}" ,"c":[{"d":"]"}],"e":{"f":[1,2]},"g":-1.5e3,"h":null}  "#,
            r#"{"a":"\\","b":"\""}"#,
        ];
        let mut spans = Vec::new();
        for line in lines {
            assert!(quick_keys(line.as_bytes(), &mut spans), "{line}");
            let quick: Vec<&str> = spans.iter().map(|s| &line[s.clone()]).collect();
            let parsed: serde_json::Map<String, Json> = serde_json::from_str(line).unwrap();
            assert_eq!(quick, parsed.keys().map(String::as_str).collect::<Vec<_>>(), "{line}");
        }
        for line in [r#"[1]"#, r#"{"a":1"#, r#"{"a" 1}"#, r#"{"a\n":1}"#, r#"{"a":1} x"#] {
            assert!(!quick_keys(line.as_bytes(), &mut spans), "{line}");
        }
    }

    #[tokio::test]
    async fn values_keep_their_json_types_and_missing_fields_are_null() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let rows = scan_rows(&source, request("events", &["score", "id", "tags", "meta", "kind"])).await;
        let meta = Value::Map([("x".to_owned(), Value::Int(1))].into_iter().collect());
        assert_eq!(
            rows,
            vec![
                SourceRow::Ok {
                    values: vec![Value::Float(1.5), Value::Int(1), Value::Null, Value::Null, Value::from("click")],
                    line: 1
                },
                SourceRow::Ok {
                    values: vec![
                        Value::Null,
                        Value::Int(2),
                        Value::List(vec![Value::from("a"), Value::from("b")]),
                        Value::Null,
                        Value::Null
                    ],
                    line: 2
                },
                SourceRow::Ok {
                    values: vec![Value::Null, Value::Int(3), Value::Null, meta, Value::from("view")],
                    line: 4
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_column_requested_twice_is_delivered_twice() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let rows = scan_rows(&source, request("events", &["id", "id"])).await;
        assert_eq!(rows[0], SourceRow::Ok { values: vec![Value::Int(1), Value::Int(1)], line: 1 });
    }

    #[tokio::test]
    async fn blank_lines_crlf_and_bom_keep_line_numbers() {
        let text = b"\xEF\xBB\xBF{\"id\":1}\r\n\r\n   \n{\"id\":2}\r\n\n{\"id\":3}";
        let dir = dir_with("t.ndjson", text);
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let rows = scan_rows(&source, request("t", &["id"])).await;
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], SourceRow::Ok { values: vec![Value::Int(1)], line: 1 });
        assert_eq!(rows[1], SourceRow::Ok { values: vec![Value::Int(2)], line: 4 });
        assert_eq!(rows[2], SourceRow::Ok { values: vec![Value::Int(3)], line: 6 });
        assert_eq!(source.count(&request("t", &["id"])).await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn malformed_lines_are_rows_with_reasons_and_later_rows_arrive() {
        let text = b"{\"id\":1}\n{\"id\": 2,}\n[1,2]\n{\"id\":\"\xFF\"}\n{\"id\":5}\n";
        let dir = dir_with("t.ndjson", text);
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let rows = scan_rows(&source, request("t", &["id"])).await;
        assert_eq!(rows.len(), 5);
        let SourceRow::Malformed { raw, reason, line: 2 } = &rows[1] else { panic!("{:?}", rows[1]) };
        assert_eq!(raw, "{\"id\": 2,}");
        assert!(reason.starts_with("invalid JSON: trailing comma") && reason.ends_with("(at column 10)"), "{reason}");
        assert_eq!(
            rows[2],
            SourceRow::Malformed {
                raw: "[1,2]".into(),
                reason: "expected a JSON object, found an array".into(),
                line: 3
            }
        );
        assert_eq!(
            rows[3],
            SourceRow::Malformed {
                raw: "{\"id\":\"\u{FFFD}\"}".into(),
                reason: "invalid UTF-8 at byte 7 of the line".into(),
                line: 4
            }
        );
        assert_eq!(rows[4], SourceRow::Ok { values: vec![Value::Int(5)], line: 5 });
    }

    /// Integers beyond i64 (two beyond u64), one at the edge, and a key given twice.
    const NUMBERS: &str = concat!(
        r#"{"id": 1, "n": 18446744073709551616}"#,
        "\n",
        r#"{"id": 2, "n": 12345678901234567890123}"#,
        "\n",
        r#"{"id": 3, "n": 9223372036854775807}"#,
        "\n",
        r#"{"id": 4, "n": 1, "id": 5}"#,
        "\n",
    );

    fn too_big(digits: &str) -> String {
        format!(
            "key `n`: the integer {digits} does not fit a signed 64-bit integer (set `unsigned_overflow = \"string\"` \
             in [source.types] to keep its digits as text)"
        )
    }

    #[tokio::test]
    async fn integers_beyond_64_bits_are_rejected_naming_the_key_and_a_repeated_key_rejects_the_line() {
        let dir = dir_with("t.ndjson", NUMBERS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let rows = scan_rows(&source, request("t", &["id", "n"])).await;
        let lines: Vec<&str> = NUMBERS.lines().collect();
        let repeated = "the key `id` appears twice in one object (keeping either value would drop the other)";
        assert_eq!(
            rows,
            vec![
                SourceRow::Malformed { raw: lines[0].into(), reason: too_big("18446744073709551616"), line: 1 },
                SourceRow::Malformed { raw: lines[1].into(), reason: too_big("12345678901234567890123"), line: 2 },
                SourceRow::Ok { values: vec![Value::Int(3), Value::Int(i64::MAX)], line: 3 },
                SourceRow::Malformed { raw: lines[3].into(), reason: repeated.into(), line: 4 },
            ]
        );
        let mut req = request("t", &["id"]);
        req.skip_null = vec!["n".into()];
        assert_eq!(source.count(&req).await.unwrap(), Some(4), "rejected lines are rows, never skipped");
    }

    #[tokio::test]
    async fn unsigned_overflow_string_keeps_the_exact_digits() {
        let dir = dir_with("t.ndjson", NUMBERS.as_bytes());
        let policy = TypePolicy { unsigned_overflow: UnsignedOverflow::String, ..TypePolicy::default() };
        let source = NdjsonSource::open(dir.path(), policy).unwrap();
        let rows = scan_rows(&source, request("t", &["n"])).await;
        assert_eq!(rows[0], SourceRow::Ok { values: vec![Value::from("18446744073709551616")], line: 1 });
        assert_eq!(rows[1], SourceRow::Ok { values: vec![Value::from("12345678901234567890123")], line: 2 });
        assert!(matches!(rows[3], SourceRow::Malformed { line: 4, .. }), "a repeated key is never kept: {:?}", rows[3]);
    }

    #[tokio::test]
    async fn skip_null_skips_null_and_missing_fields_and_count_agrees() {
        let dir = dir_with("events.ndjson", format!("{EVENTS}not json\n").as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let mut req = request("events", &["id"]);
        req.skip_null = vec!["kind".into()];
        let batches = batches(&source, req.clone()).await;
        let rows: Vec<_> = batches.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(rows.iter().map(SourceRow::line).collect::<Vec<_>>(), [1, 4, 5]);
        assert!(matches!(rows[2], SourceRow::Malformed { .. }));
        assert_eq!(source.count(&req).await.unwrap(), Some(3));
        req.skip_null = vec!["score".into()];
        assert_eq!(source.count(&req).await.unwrap(), Some(2));
        assert_eq!(source.count(&request("events", &[])).await.unwrap(), Some(4));
        let len = EVENTS.len() as u64 + "not json\n".len() as u64;
        assert_eq!(batches.last().unwrap().cursor_after, Cursor::Rows { rows: 4, byte_offset: Some(len) });
    }

    #[tokio::test]
    async fn batches_respect_the_size_and_carry_cursors() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let mut req = request("events", &["id"]);
        req.batch_size = 2;
        let batches = batches(&source, req).await;
        assert_eq!(batches.iter().map(|b| b.rows.len()).collect::<Vec<_>>(), [2, 1]);
        let two_lines = EVENTS.find("\n\n").unwrap() as u64 + 1;
        assert_eq!(batches[0].cursor_after, Cursor::Rows { rows: 2, byte_offset: Some(two_lines) });
        assert_eq!(batches[1].cursor_after, Cursor::Rows { rows: 3, byte_offset: Some(EVENTS.len() as u64) });
    }

    #[tokio::test]
    async fn resuming_from_any_cursor_yields_the_tail_of_a_full_scan() {
        let text = format!("{EVENTS}\r\n{{\"id\": 4}}\r\nbad\n\n{{\"id\": 6, \"kind\": \"x\"}}");
        let dir = dir_with("t.ndjson", text.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let mut req = request("t", &["kind", "id"]);
        req.batch_size = 1;
        let full = batches(&source, req.clone()).await;
        let all: Vec<SourceRow> = full.iter().flat_map(|b| b.rows.clone()).collect();
        assert_eq!(all.len(), 6);
        for (i, batch) in full.iter().enumerate() {
            let Cursor::Rows { rows, byte_offset } = batch.cursor_after else { panic!("a file cursor counts rows") };
            for after in [Cursor::Rows { rows, byte_offset: None }, Cursor::Rows { rows, byte_offset }] {
                let mut resumed = req.clone();
                resumed.after = after.clone();
                resumed.batch_size = 4;
                assert_eq!(scan_rows(&source, resumed).await, all[i + 1..], "resumed after {after:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_cursor_inside_a_line_is_an_error() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let mut req = request("events", &["id"]);
        req.after = Cursor::Rows { rows: 1, byte_offset: Some(5) };
        let mut stream = source.scan(req).await.unwrap();
        let err = stream.next().await.unwrap().unwrap_err().to_string();
        assert!(err.contains("events.ndjson") && err.contains("not the start of a line"), "{err}");
    }

    #[tokio::test]
    async fn unknown_columns_and_tables_suggest_the_nearest() {
        let dir = dir_with("events.ndjson", EVENTS.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let Err(err) = source.scan(request("events", &["kinds"])).await else { panic!("kinds is not a column") };
        let text = err.to_string();
        assert!(text.contains("`kinds`") && text.contains("events.ndjson"), "{text}");
        assert!(text.contains("did you mean column `kind`?"), "{text}");
        assert!(text.contains("columns there: id, kind, score, tags, meta"), "{text}");
        let err = source.columns(&Read::Table("event".into())).await.unwrap_err().to_string();
        assert!(err.contains("did you mean table `events`?"), "{err}");
        let mut req = request("events", &["id"]);
        req.skip_null = vec!["scor".into()];
        assert!(source.count(&req).await.unwrap_err().to_string().contains("did you mean column `score`?"));
    }

    #[tokio::test]
    async fn a_changed_file_is_read_again_for_its_columns() {
        let dir = dir_with("t.ndjson", b"{\"a\":1}\n");
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        assert_eq!(names(source.columns(&Read::Table("t".into())).await.unwrap()), ["a"]);
        std::fs::write(dir.path().join("t.ndjson"), b"{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(names(source.columns(&Read::Table("t".into())).await.unwrap()), ["a", "b"]);
    }

    #[tokio::test]
    async fn a_big_file_arrives_whole() {
        const ROWS: u64 = 200_000;
        let mut text = String::new();
        for i in 0..ROWS {
            text.push_str(&format!(
                "{{\"id\":{i},\"name\":\"name {i}\",\"score\":{}.5,\"tags\":[\"a\",\"b\"]}}\n",
                i % 100
            ));
        }
        let dir = dir_with("big.ndjson", text.as_bytes());
        let source = NdjsonSource::open(dir.path(), TypePolicy::default()).unwrap();
        let mut req = request("big", &["id", "score"]);
        req.batch_size = 4096;
        assert_eq!(source.count(&req).await.unwrap(), Some(ROWS));
        let mut stream = source.scan(req).await.unwrap();
        let mut seen = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            assert!(batch.rows.len() <= 4096);
            for row in &batch.rows {
                let SourceRow::Ok { values, line } = row else { panic!("malformed row {row:?}") };
                assert_eq!((*line, &values[0]), (seen + 1, &Value::Int(seen as i64)));
                seen += 1;
            }
        }
        assert_eq!(seen, ROWS);
    }
}
