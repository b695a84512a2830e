//! The reject file: one JSON line per row that could not be loaded, with the run, the
//! mapping, the batch, where the row came from, the row itself and the reason. Nothing is
//! dropped without a line here.
//!
//! Where the row came from is what a person looks it up by: for a read with a key (a SQL
//! table with a primary key, or `order_by`), `"key"`, the row's key columns and values; for
//! other reads, `"line"`: a file's line where the record starts (CSV, NDJSON), or the row's
//! number in the read (1-based, the same after a resume) for a SQL query or a table without
//! a key. A keyed read's row numbers would mislead: they start again with each partition
//! of a parallel read and after each resume.
//!
//! Lines of a batch are written and flushed before that batch commits. A crash can
//! therefore leave lines of a batch that never committed; when the run resumes,
//! [`RejectSink::resume`] drops every line of a batch beyond its mapping's checkpoint, and the
//! batch, read again, writes them again. So the file ends up exactly as one clean run would
//! have left it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::json;

use crate::EngineError;
use crate::records::Origin;

/// Where `grafter sync` writes its rejects: beside the run's reject file, `.sync` before
/// its extension (`grafter.rejects.ndjson` → `grafter.rejects.sync.ndjson`).
pub fn sync_reject_file(plan: &grafter_plan::Plan) -> std::path::PathBuf {
    let path = &plan.run.reject_file;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("grafter.rejects");
    let extension = path.extension().and_then(|s| s.to_str()).unwrap_or("ndjson");
    path.with_file_name(format!("{stem}.sync.{extension}"))
}

/// How the rows of a read are shown in reject lines: the names of their values, and those
/// that identify a row in its read (its key; empty when it has none).
#[derive(Debug, Clone, Default)]
pub(crate) struct RowShape {
    pub columns: Vec<String>,
    pub key: Vec<String>,
}

impl RowShape {
    /// The row's key as an object of column → value, when the read has a key and the row
    /// shows every key column.
    fn key_of(&self, row: &serde_json::Value) -> Option<serde_json::Value> {
        if self.key.is_empty() {
            return None;
        }
        let object = row.as_object()?;
        let pairs = self.key.iter().map(|column| Some((column.clone(), object.get(column)?.clone())));
        pairs.collect::<Option<serde_json::Map<_, _>>>().map(serde_json::Value::Object)
    }
}

/// One rejected row, ready to be written.
pub(crate) struct RejectLine<'a> {
    pub mapping: &'a str,
    pub partition: u32,
    pub batch: u64,
    pub shape: &'a RowShape,
    pub origin: &'a Origin,
    pub reason: &'a str,
}

/// Writes the rejects of a run; the file is created at the first reject, so a clean run
/// leaves none behind.
pub(crate) struct RejectSink {
    path: PathBuf,
    run_id: String,
    file: Mutex<Option<BufWriter<File>>>,
}

impl RejectSink {
    fn io(&self, source: std::io::Error) -> EngineError {
        EngineError::RejectFile { path: self.path.display().to_string(), source }
    }

    /// A sink for a new run: an old file (from an earlier run) is removed now, so the file
    /// only ever describes the latest run.
    pub fn new(path: &Path, run_id: &str) -> Result<RejectSink, EngineError> {
        let sink = RejectSink { path: path.to_path_buf(), run_id: run_id.to_owned(), file: Mutex::new(None) };
        match std::fs::remove_file(path) {
            Ok(()) => Ok(sink),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(sink),
            Err(e) => Err(sink.io(e)),
        }
    }

    /// A sink continuing run `run_id`: keeps the lines of batches that committed
    /// (`committed[(mapping, partition)]` batches each) and appends after them.
    pub fn resume(
        path: &Path,
        run_id: &str,
        committed: &HashMap<(String, u32), u64>,
    ) -> Result<RejectSink, EngineError> {
        RejectSink::keeping(path, run_id, |line| {
            let mapping = line["mapping"].as_str().unwrap_or_default().to_owned();
            let partition = line["partition"].as_u64().unwrap_or(0) as u32;
            let batch = line["batch"].as_u64().unwrap_or(u64::MAX);
            line["run"].as_str() == Some(run_id)
                && committed.get(&(mapping, partition)).is_some_and(|&done| batch <= done)
        })
    }

    /// A sink for `grafter sync` session `session`, appending to the sync reject file: keeps
    /// every line of a batch that committed (`committed[mapping]` batches each, counted over
    /// all sessions) and drops those of a batch a crash stopped before its commit, which the
    /// next pass reads and rejects again.
    pub fn sync(path: &Path, session: &str, committed: &HashMap<String, u64>) -> Result<RejectSink, EngineError> {
        RejectSink::keeping(path, session, |line| {
            let mapping = line["mapping"].as_str().unwrap_or_default();
            let batch = line["batch"].as_u64().unwrap_or(u64::MAX);
            committed.get(mapping).is_some_and(|&done| batch <= done)
        })
    }

    /// A sink appending to `path` after keeping only the lines `keep` accepts.
    fn keeping(
        path: &Path,
        run_id: &str,
        keep: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<RejectSink, EngineError> {
        let sink = RejectSink { path: path.to_path_buf(), run_id: run_id.to_owned(), file: Mutex::new(None) };
        let existing = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(sink),
            Err(e) => return Err(sink.io(e)),
        };
        let temporary = path.with_extension("ndjson.resume");
        {
            let mut kept = BufWriter::new(File::create(&temporary).map_err(|e| sink.io(e))?);
            for line in BufReader::new(existing).lines() {
                let line = line.map_err(|e| sink.io(e))?;
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                if keep(&value) {
                    writeln!(kept, "{line}").map_err(|e| sink.io(e))?;
                }
            }
            kept.flush().map_err(|e| sink.io(e))?;
        }
        std::fs::rename(&temporary, path).map_err(|e| sink.io(e))?;
        Ok(sink)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the lines of one batch and flushes them to disk, before the batch commits.
    pub fn write_batch(&self, lines: &[RejectLine<'_>]) -> Result<(), EngineError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut file = self.file.lock().expect("reject file lock");
        if file.is_none() {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| self.io(e))?;
            }
            let opened = OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| self.io(e))?;
            *file = Some(BufWriter::new(opened));
        }
        let writer = file.as_mut().expect("opened above");
        for line in lines {
            let row = line.origin.row.to_json(&line.shape.columns);
            let (position, at) = match line.shape.key_of(&row) {
                Some(key) => ("key", key),
                None => ("line", json!(line.origin.line)),
            };
            let value = json!({
                "run": self.run_id,
                "mapping": line.mapping,
                "partition": line.partition,
                "batch": line.batch,
                position: at,
                "reason": line.reason,
                "row": row,
            });
            writeln!(writer, "{value}").map_err(|e| self.io(e))?;
        }
        writer.flush().map_err(|e| self.io(e))?;
        writer.get_ref().sync_data().map_err(|e| self.io(e))
    }

    /// Whether the file exists (anything was ever written for this run).
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RowData;

    fn origin(line: u64) -> Origin {
        Origin { line, row: RowData::Raw(format!("row {line}")) }
    }

    #[test]
    fn resume_keeps_only_committed_batches_of_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.ndjson");
        let sink = RejectSink::new(&path, "r1").unwrap();
        let write = |mapping: &str, batch: u64, line: u64| {
            sink.write_batch(&[RejectLine {
                mapping,
                partition: 0,
                batch,
                shape: &RowShape::default(),
                origin: &origin(line),
                reason: "bad",
            }])
            .unwrap();
        };
        write("a", 1, 10);
        write("a", 2, 20);
        write("b", 1, 30);
        drop(sink);
        let committed = HashMap::from([(("a".to_owned(), 0), 1), (("b".to_owned(), 0), 1)]);
        RejectSink::resume(&path, "r1", &committed).unwrap();
        let lines: Vec<u64> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, vec![10, 30]);
    }

    #[test]
    fn a_keyed_reads_rows_are_placed_by_their_key_and_others_by_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.ndjson");
        let sink = RejectSink::new(&path, "r1").unwrap();
        let keyed = RowShape { columns: vec!["name".into(), "id".into()], key: vec!["id".into()] };
        let unkeyed = RowShape { columns: keyed.columns.clone(), key: Vec::new() };
        let values = Origin {
            line: 1,
            row: RowData::Values(vec![grafter_model::Value::from("x"), grafter_model::Value::Int(7)]),
        };
        let raw = Origin { line: 1, row: RowData::Raw(r#"{"name": "y", "id": 8}"#.into()) };
        let line = |shape, origin| RejectLine { mapping: "m", partition: 2, batch: 1, shape, origin, reason: "bad" };
        sink.write_batch(&[line(&keyed, &values), line(&keyed, &raw), line(&unkeyed, &values)]).unwrap();
        let written: Vec<serde_json::Value> =
            std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(written[0]["key"], json!({"id": 7}));
        assert_eq!(written[1]["key"], json!({"id": 8}));
        assert!(written[0].get("line").is_none() && written[1].get("line").is_none());
        assert_eq!((written[2]["line"].as_u64(), written[2].get("key")), (Some(1), None));
        assert_eq!(written[0]["partition"], 2);
    }
}
