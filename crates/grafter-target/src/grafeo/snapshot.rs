//! Snapshots for rollback: before a run, a copy of the whole store in
//! `<store>.snapshots/<run id>.grafeo`; restoring replaces the graph with that copy in place
//! and makes it durable at once.
//!
//! The copy is grafeo's own consistent export (`save`), so it is taken while the store is
//! open. Restoring goes through `restore_snapshot` and then a WAL checkpoint: until the
//! checkpoint the file on disk still holds the state before the rollback, so a crash in
//! between leaves the graph as it was — never half restored.

use std::path::{Path, PathBuf};

use grafeo::GrafeoDB;

use crate::TargetError;

/// The directory of a store's snapshots.
pub(crate) fn directory(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".snapshots");
    PathBuf::from(name)
}

fn failure(store: &Path, what: &str, e: impl std::fmt::Display) -> TargetError {
    TargetError::Store { target: format!("grafeo:{}", store.display()), message: format!("{what}: {e}") }
}

/// Saves a snapshot of `db` for `run_id`; returns its path.
pub(crate) fn take(db: &GrafeoDB, store: &Path, run_id: &str) -> Result<PathBuf, TargetError> {
    let dir = directory(store);
    std::fs::create_dir_all(&dir).map_err(|e| failure(store, &format!("cannot create {}", dir.display()), e))?;
    let path = dir.join(format!("{run_id}.grafeo"));
    let _ = std::fs::remove_file(&path);
    db.save(&path).map_err(|e| failure(store, "taking the snapshot failed", e))?;
    Ok(path)
}

/// Opens a snapshot file as a database of its own.
pub(crate) fn open(store: &Path, path: &Path) -> Result<GrafeoDB, TargetError> {
    if !path.is_file() {
        return Err(TargetError::NotFound {
            path: path.display().to_string(),
            hint: "the snapshot taken before that run is gone; it cannot be rolled back".into(),
        });
    }
    GrafeoDB::open(path).map_err(|e| failure(store, "opening the snapshot failed", e))
}

/// Replaces the graph in `db` with the snapshot at `path`, durably.
pub(crate) fn restore(db: &GrafeoDB, store: &Path, path: &Path) -> Result<(), TargetError> {
    let bytes = {
        let snapshot = open(store, path)?;
        let bytes = snapshot.export_snapshot().map_err(|e| failure(store, "reading the snapshot failed", e));
        let _ = snapshot.close();
        bytes?
    };
    db.restore_snapshot(&bytes).map_err(|e| failure(store, "restoring the snapshot failed", e))?;
    db.wal_checkpoint().map_err(|e| failure(store, "writing the restored graph failed", e))
}

/// Deletes a snapshot file.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
