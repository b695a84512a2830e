//! The embedded target (`grafeo:PATH`): a graph in one file beside the config, no server.
//!
//! grafeo locks its file for the process that opens it, so a second grafter cannot open a
//! store in use; [`holder`] leaves a note beside the file saying who has it, which turns the
//! store's bare "locked" into "in use by pid … since …". Writes go through a session
//! transaction each: the batch (grafeo's batch API, its fastest path) and the mapping's
//! checkpoint commit together. The loader's lookup tables live in [`index`], the write
//! itself in [`write`], value conversion in [`convert`], reading back for verification in
//! [`scan`].

mod bookkeeping;
mod census;
mod convert;
pub(crate) mod encoded;
mod fingerprint;
mod holder;
mod index;
mod scan;
mod snapshot;
mod sync;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::future::BoxFuture;
use grafeo::GrafeoDB;
use grafter_model::{Fingerprint, LockHolder, RunRecord, SyncState, Value, quote_name};

use crate::store::Store;
use crate::{
    Access, ChangeGate, ChangeReport, ChangeSet, ChangeSync, Checkpoint, Encoded, EndpointSpec, GraphLoader,
    GraphReader, GraphTarget, KeyIndex, LeaseLock, QueryResult, RecordBatch, RowStream, RunLedger, RunRecords,
    Snapshots, TargetError, WriteGate, WriteReport,
};

/// The embedded store in the table of stores: `grafeo:PATH`, relative to grafter.toml's folder.
pub(crate) const STORE: Store = Store {
    schemes: &["grafeo"],
    check: check_url,
    open: open_url,
    key_guard: "an index per label's key (the embedded store has no uniqueness constraints; one writer at a time \
                holds its file, and verify finds duplicate keys)",
};

/// The part of `url` after its scheme, without a leading `//`: the store's path.
fn path_part(url: &str) -> &str {
    let rest = url.split_once(':').map_or(url, |(_, rest)| rest);
    rest.strip_prefix("//").unwrap_or(rest)
}

fn check_url(url: &str, _: &Path) -> Result<(), TargetError> {
    if path_part(url).is_empty() {
        return Err(TargetError::BadUrl {
            url: grafter_model::redact_url(url),
            reason: "the path is empty".into(),
            hint: "write grafeo:PATH, or leave [target] url out to use a file beside grafter.toml".into(),
        });
    }
    Ok(())
}

fn open_url<'a>(url: &'a str, base_dir: &'a Path, access: Access) -> BoxFuture<'a, Result<Box<dyn GraphTarget>, TargetError>> {
    Box::pin(async move {
        let target: Box<dyn GraphTarget> = Box::new(GrafeoTarget::open(&base_dir.join(path_part(url)), access).await?);
        Ok(target)
    })
}

/// The embedded graph store.
pub struct GrafeoTarget {
    inner: Arc<Inner>,
}

struct Inner {
    db: GrafeoDB,
    path: PathBuf,
    /// Lookup tables and run marks; one writer at a time.
    state: Mutex<write::WriterState>,
    /// Holder note to remove on close.
    holder: holder::HolderNote,
}

/// The store's handle is what its reading streams keep alive.
impl AsRef<GrafeoDB> for Inner {
    fn as_ref(&self) -> &GrafeoDB {
        &self.db
    }
}

impl GrafeoTarget {
    /// Opens (for [`Access::Write`], creating) the store at `path`.
    pub async fn open(path: &Path, access: Access) -> Result<GrafeoTarget, TargetError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || GrafeoTarget::open_blocking(&path, access))
            .await
            .map_err(|e| TargetError::Store { target: "grafeo".into(), message: e.to_string() })?
    }

    fn open_blocking(path: &Path, access: Access) -> Result<GrafeoTarget, TargetError> {
        let describe = format!("grafeo:{}", path.display());
        if access == Access::Read && !path.exists() {
            return Err(TargetError::NotFound {
                path: path.display().to_string(),
                hint: "nothing has been loaded yet: run `grafter run` first, or check `[target] url`".into(),
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| TargetError::Store {
                target: describe.clone(),
                message: format!("cannot create {}: {e}", parent.display()),
            })?;
        }
        // A reading command opens read-only when the store was closed cleanly: nothing to
        // replay, and a read-only close rewrites nothing (a read-write close writes the whole
        // file). After a crash the write-ahead log is still beside the file, and only a
        // read-write open replays it: without that, a reader would see the graph as it was
        // before the last committed batches.
        let read_only = access == Access::Read && !wal_directory(path).exists();
        let open = || if read_only { GrafeoDB::open_read_only(path) } else { GrafeoDB::open(path) };
        // Two processes creating a new store at once: the one that loses the race finds files
        // the other is making ("File exists"), or a file the other has not finished writing
        // (a short read: "failed to fill whole buffer", seen once in 100 double starts). Once
        // they are made, the store is locked by the other process, which the next try reports
        // as such; a file that stays short is reported as it is.
        let mut opened = open();
        for _ in 0..5 {
            match &opened {
                Err(e) if e.to_string().contains("exists") || e.to_string().contains("failed to fill whole buffer") => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    opened = open();
                }
                _ => break,
            }
        }
        let db = opened.map_err(|e| {
            let message = e.to_string();
            // grafeo's words for "another process has it": its lock on the file, or (two
            // processes creating a new store at once) the file the other one just made.
            if message.contains("locked") || message.contains("open by another process") {
                TargetError::InUse {
                    path: path.display().to_string(),
                    holder: holder::read(path),
                    hint: "wait for it to finish; if that process is gone, the store is free again once it has exited"
                        .into(),
                }
            } else {
                TargetError::Store { target: describe.clone(), message }
            }
        })?;
        // Readers leave a note too: while one holds the store, a writer is refused, and the
        // note must name the reader rather than whoever held the store last.
        let holder = holder::HolderNote::write(path);
        let state = Mutex::new(write::WriterState::new(&db));
        Ok(GrafeoTarget { inner: Arc::new(Inner { db, path: path.to_path_buf(), state, holder }) })
    }

    /// The open database, for code in this crate that needs more than the trait offers.
    pub fn database(&self) -> &GrafeoDB {
        &self.inner.db
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, TargetError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, TargetError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| TargetError::Store { target: self.describe(), message: format!("store thread failed: {e}") })?
    }
}

impl Inner {
    fn describe(&self) -> String {
        format!("grafeo:{}", self.path.display())
    }

    fn run_query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        self.run_query_in(self.db.session(), cypher, params)
    }

    /// Runs a query in a read-only session: grafeo refuses any plan that would write.
    fn run_read_query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        if let Some(clause) = crate::writing_clause(cypher) {
            // grafeo would refuse it too ("read-only transaction"); name the clause instead.
            return Err(TargetError::WriteRefused { target: self.describe(), reason: format!("it holds `{clause}`") });
        }
        self.run_query_in(self.db.session_with_role(grafeo::Role::ReadOnly), cypher, params).map_err(
            |error| match error {
                TargetError::Query { message }
                    if message.to_lowercase().contains("read-only")
                        || message.to_lowercase().contains("permission") =>
                {
                    TargetError::WriteRefused { target: self.describe(), reason: format!("grafeo: {message}") }
                }
                other => other,
            },
        )
    }

    fn run_query_in(
        &self,
        session: grafeo::Session,
        cypher: &str,
        params: Vec<(String, Value)>,
    ) -> Result<QueryResult, TargetError> {
        let params: HashMap<String, grafeo_common::types::Value> =
            params.into_iter().map(|(name, value)| (name, convert::to_grafeo(&value))).collect();
        let result = session
            .execute_cypher_with_params(cypher, params)
            .map_err(|e| TargetError::Query { message: e.to_string() })?;
        Ok(QueryResult {
            columns: result.columns.clone(),
            rows: result.rows().iter().map(|row| row.iter().map(convert::from_grafeo).collect()).collect(),
        })
    }
}

#[async_trait]
impl GraphTarget for GrafeoTarget {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn loader(&self) -> &dyn GraphLoader {
        self
    }

    fn reader(&self) -> &dyn GraphReader {
        self
    }

    fn ledger(&self) -> &dyn RunLedger {
        self
    }

    fn snapshots(&self) -> Option<&dyn Snapshots> {
        Some(self)
    }

    fn change_sync(&self) -> Result<&dyn ChangeSync, TargetError> {
        Ok(self)
    }

    async fn query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        let cypher = cypher.to_owned();
        self.blocking(move |inner| inner.run_query(&cypher, params)).await
    }

    async fn read_query(&self, cypher: &str, params: Vec<(String, Value)>) -> Result<QueryResult, TargetError> {
        let cypher = cypher.to_owned();
        self.blocking(move |inner| inner.run_read_query(&cypher, params)).await
    }

    async fn close(&self) -> Result<(), TargetError> {
        self.blocking(|inner| {
            let result =
                inner.db.close().map_err(|e| TargetError::Store { target: inner.describe(), message: e.to_string() });
            inner.holder.remove();
            result
        })
        .await
    }
}

#[async_trait]
impl GraphLoader for GrafeoTarget {
    async fn ensure_indexes(&self, indexes: &[KeyIndex]) -> Result<Vec<String>, TargetError> {
        let indexes = indexes.to_vec();
        self.blocking(move |inner| {
            let mut statements = Vec::new();
            for index in &indexes {
                for property in &index.properties {
                    // grafeo wants a name; derive a stable one so re-running finds the same index.
                    let name = format!("grafter_{}_{}", sanitize(&index.label), sanitize(property));
                    let statement = format!(
                        "CREATE INDEX {} FOR (n:{}) ON (n.{})",
                        quote_name(&name),
                        quote_name(&index.label),
                        quote_name(property)
                    );
                    inner.run_query(&statement, Vec::new())?;
                    statements.push(statement);
                }
            }
            Ok(statements)
        })
        .await
    }

    fn encode(&self, batch: RecordBatch) -> Result<Encoded, TargetError> {
        Ok(write::encode(batch))
    }

    async fn begin_run(&self, marks: Option<&str>) -> Result<String, TargetError> {
        let marks = marks.map(str::to_owned);
        self.blocking(move |inner| {
            let mut state = inner.state.lock().expect("writer state lock");
            state
                .begin_run(&inner.db, marks.as_deref())
                .map_err(|message| TargetError::Bookkeeping { target: inner.describe(), message })
        })
        .await
    }

    async fn write(
        &self,
        encoded: Encoded,
        checkpoint: &Checkpoint,
        gate: WriteGate,
    ) -> Result<WriteReport, TargetError> {
        let checkpoint = checkpoint.clone();
        self.blocking(move |inner| {
            let mut state = inner.state.lock().expect("writer state lock");
            write::write(&inner.db, &mut state, encoded, &checkpoint, gate)
                .map_err(|message| TargetError::Write { target: inner.describe(), message })
        })
        .await
    }

    /// grafeo refuses a property value over its size limit (16 MiB by default), and the
    /// whole transaction with it: such a row is rejected instead.
    fn refuses(&self, value: &Value) -> Option<String> {
        let limit = self.inner.db.config().max_property_size?;
        // Exactly as grafeo measures it, but only when the value comes near the limit:
        // converting every value would cost the load.
        if rough_size(value) < limit / 2 {
            return None;
        }
        let size = convert::to_grafeo(value).estimated_size_bytes();
        (size > limit).then(|| {
            format!(
                "the value takes {size} bytes; the embedded store (grafeo) keeps at most {} per property",
                if limit % (1024 * 1024) == 0 {
                    format!("{} MiB", limit / (1024 * 1024))
                } else {
                    format!("{limit} bytes")
                }
            )
        })
    }
}

#[async_trait]
impl GraphReader for GrafeoTarget {
    async fn fingerprint(&self) -> Result<Fingerprint, TargetError> {
        self.blocking(|inner| Ok(fingerprint::fingerprint(&inner.db))).await
    }

    fn stored_form(&self, value: Value) -> Value {
        match value {
            // Timestamps finer than a millisecond are stored as text: compare what comes back.
            Value::Time(_) | Value::DateTime(_) | Value::DateTimeTz(_) => {
                convert::from_grafeo(&convert::to_grafeo(&value))
            }
            Value::List(_) | Value::Map(_) => convert::from_grafeo(&convert::to_grafeo(&value)),
            other => other,
        }
    }

    async fn scan_nodes(&self, label: &str, properties: &[String]) -> Result<RowStream, TargetError> {
        let (label, properties) = (label.to_owned(), properties.to_vec());
        Ok(scan::stream(Arc::clone(&self.inner), move |db, sender| scan::nodes(db, &label, &properties, sender)))
    }

    async fn scan_relationships(
        &self,
        rel_type: &str,
        start: &EndpointSpec,
        end: &EndpointSpec,
        properties: &[String],
    ) -> Result<RowStream, TargetError> {
        let (rel_type, start, end, properties) = (rel_type.to_owned(), start.clone(), end.clone(), properties.to_vec());
        Ok(scan::stream(Arc::clone(&self.inner), move |db, sender| {
            scan::relationships(db, &rel_type, &start, &end, &properties, sender);
        }))
    }

    async fn count_nodes(&self, label: &str) -> Result<u64, TargetError> {
        let label = label.to_owned();
        self.blocking(move |inner| Ok(inner.db.store().nodes_by_label_count(&label) as u64)).await
    }

    async fn count_relationships(
        &self,
        rel_type: &str,
        start_label: &str,
        end_label: &str,
    ) -> Result<u64, TargetError> {
        let (rel_type, start_label, end_label) = (rel_type.to_owned(), start_label.to_owned(), end_label.to_owned());
        self.blocking(move |inner| Ok(scan::count_relationships(&inner.db, &rel_type, &start_label, &end_label))).await
    }

    async fn lookup_nodes(
        &self,
        label: &str,
        key_properties: &[String],
        keys: &[Vec<Value>],
        properties: &[String],
    ) -> Result<Vec<Vec<Value>>, TargetError> {
        let (label, key_properties, keys, properties) =
            (label.to_owned(), key_properties.to_vec(), keys.to_vec(), properties.to_vec());
        self.blocking(move |inner| Ok(scan::lookup_nodes(&inner.db, &label, &key_properties, &keys, &properties))).await
    }

    /// The whole census whatever `part`: one pass over the store counts both halves.
    async fn census(
        &self,
        questions: &[crate::KnownProperties],
        _: crate::CensusPart,
    ) -> Result<crate::Census, TargetError> {
        let questions = questions.to_vec();
        self.blocking(move |inner| Ok(census::census(&inner.db, &questions))).await
    }
}

#[async_trait]
impl RunRecords for GrafeoTarget {
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<(), TargetError> {
        let checkpoints = checkpoints.to_vec();
        self.blocking(move |inner| {
            let mut state = inner.state.lock().expect("writer state lock");
            write::save_checkpoints(&inner.db, &mut state, &checkpoints)
                .map_err(|message| TargetError::Write { target: inner.describe(), message })
        })
        .await
    }

    async fn checkpoints(&self, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
        let run_id = run_id.to_owned();
        self.blocking(move |inner| bookkeeping::checkpoints(&inner.db, &run_id)).await
    }

    async fn latest_checkpoints(&self, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError> {
        let (mapping, checksum) = (mapping.to_owned(), checksum.to_owned());
        self.blocking(move |inner| bookkeeping::latest_checkpoints(&inner.db, &mapping, &checksum)).await
    }

    async fn save_run(&self, record: &RunRecord) -> Result<(), TargetError> {
        let record = record.clone();
        self.blocking(move |inner| bookkeeping::save_run(&inner.db, &record)).await
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, TargetError> {
        self.blocking(|inner| bookkeeping::runs(&inner.db)).await
    }
}

#[async_trait]
impl LeaseLock for GrafeoTarget {
    async fn acquire_lock(&self, holder: &LockHolder) -> Result<Option<LockHolder>, TargetError> {
        let holder = holder.clone();
        self.blocking(move |inner| {
            // This process holds the store's file lock, so no other process can be using the
            // store: a lock node found now was left by a process that is gone (crashed or
            // killed), whatever its lease says.
            let previous = bookkeeping::lock_holder(&inner.db)?;
            bookkeeping::set_lock(&inner.db, &holder)?;
            Ok(previous
                .filter(|p| !(p.pid == holder.pid && p.host == holder.host && p.acquired_at == holder.acquired_at)))
        })
        .await
    }

    async fn renew_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        let holder = holder.clone();
        self.blocking(move |inner| match bookkeeping::lock_holder(&inner.db)? {
            Some(current)
                if current.pid == holder.pid
                    && current.host == holder.host
                    && current.acquired_at == holder.acquired_at =>
            {
                bookkeeping::set_lock(&inner.db, &holder)
            }
            Some(other) => {
                Err(TargetError::LockLost { target: inner.describe(), reason: format!("now held by {other}") })
            }
            None => Err(TargetError::LockLost { target: inner.describe(), reason: "the lock was broken".into() }),
        })
        .await
    }

    async fn release_lock(&self, holder: &LockHolder) -> Result<(), TargetError> {
        let holder = holder.clone();
        self.blocking(move |inner| match bookkeeping::lock_holder(&inner.db)? {
            Some(current) if current.pid == holder.pid && current.host == holder.host => {
                bookkeeping::clear_lock(&inner.db)
            }
            _ => Ok(()),
        })
        .await
    }

    async fn lock_holder(&self) -> Result<Option<LockHolder>, TargetError> {
        self.blocking(|inner| bookkeeping::lock_holder(&inner.db)).await
    }

    async fn break_lock(&self) -> Result<Option<LockHolder>, TargetError> {
        self.blocking(|inner| {
            let previous = bookkeeping::lock_holder(&inner.db)?;
            bookkeeping::clear_lock(&inner.db)?;
            Ok(previous)
        })
        .await
    }
}

#[async_trait]
impl Snapshots for GrafeoTarget {
    async fn take_snapshot(&self, run_id: &str) -> Result<String, TargetError> {
        let run_id = run_id.to_owned();
        self.blocking(move |inner| {
            snapshot::take(&inner.db, &inner.path, &run_id).map(|path| path.display().to_string())
        })
        .await
    }

    async fn restore_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        let snapshot = PathBuf::from(snapshot);
        self.blocking(move |inner| {
            // The lock is not the snapshot's to bring back: the snapshot was taken under the
            // lock of the run it precedes, and restoring that would leave the store locked by
            // a run long gone (the next run then reported a takeover). It stays as it is now.
            let holder = bookkeeping::lock_holder(&inner.db)?;
            snapshot::restore(&inner.db, &inner.path, &snapshot)?;
            bookkeeping::clear_lock(&inner.db)?;
            if let Some(holder) = holder {
                bookkeeping::set_lock(&inner.db, &holder)?;
            }
            // The lookup tables described the graph that is gone.
            *inner.state.lock().expect("writer state lock") = write::WriterState::new(&inner.db);
            Ok(())
        })
        .await
    }

    async fn snapshot_fingerprint(&self, snapshot: &str) -> Result<Option<Fingerprint>, TargetError> {
        let snapshot = PathBuf::from(snapshot);
        self.blocking(move |inner| {
            let db = snapshot::open(&inner.path, &snapshot)?;
            let fingerprint = fingerprint::fingerprint(&db);
            let _ = db.close();
            Ok(Some(fingerprint))
        })
        .await
    }

    async fn drop_snapshot(&self, snapshot: &str) -> Result<(), TargetError> {
        snapshot::remove(Path::new(snapshot));
        Ok(())
    }
}

#[async_trait]
impl ChangeSync for GrafeoTarget {
    async fn apply_changes(&self, changes: ChangeSet, gate: ChangeGate) -> Result<ChangeReport, TargetError> {
        self.blocking(move |inner| {
            let mut state = inner.state.lock().expect("writer state lock");
            sync::apply(&inner.db, &mut state, changes, gate)
                .map_err(|message| TargetError::Write { target: inner.describe(), message })
        })
        .await
    }

    async fn sync_states(&self) -> Result<Vec<SyncState>, TargetError> {
        self.blocking(|inner| {
            sync::states(&inner.db).map_err(|message| TargetError::Bookkeeping { target: inner.describe(), message })
        })
        .await
    }

    async fn save_sync_states(&self, states: &[SyncState]) -> Result<(), TargetError> {
        let states = states.to_vec();
        self.blocking(move |inner| {
            sync::save_states(&inner.db, &states)
                .map_err(|message| TargetError::Write { target: inner.describe(), message })
        })
        .await
    }
}

/// The bytes a value's text and binary data take, roughly (never less than grafeo counts by
/// more than a few bytes an element): enough to tell values far under its size limit.
fn rough_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(items) => items.iter().map(|v| 16 + rough_size(v)).sum(),
        Value::Map(entries) => entries.iter().map(|(k, v)| 16 + k.len() + rough_size(v)).sum(),
        _ => 16,
    }
}

/// Where grafeo keeps a store's write-ahead log while it is open (and after a crash).
fn wal_directory(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".wal");
    PathBuf::from(name)
}

/// Letters, digits and underscores only, for derived index names.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}
