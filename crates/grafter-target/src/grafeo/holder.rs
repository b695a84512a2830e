//! A note beside the store file saying which process has it open.
//!
//! grafeo locks its file while open, and its error says only "locked". The note
//! (`<store>.lock`, JSON: pid, host, user, command, since) lets a reading command say who
//! holds the store. It is advice, not the lock itself: the file lock decides.

use std::path::{Path, PathBuf};

/// The note this process wrote; removed on close.
pub(crate) struct HolderNote {
    path: PathBuf,
}

fn note_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl HolderNote {
    /// Writes the note for the current process. Failing to write it only makes messages
    /// vaguer, so errors are logged, not returned.
    pub fn write(store: &Path) -> HolderNote {
        let path = note_path(store);
        let note = serde_json::json!({
            "pid": std::process::id(),
            "host": grafter_model::identity::host(),
            "user": grafter_model::identity::user(),
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "since": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if let Err(e) = std::fs::write(&path, note.to_string()) {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
        HolderNote { path }
    }

    /// Removes the note.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who holds `store`, from its note, in words.
pub(crate) fn read(store: &Path) -> Option<String> {
    let text = std::fs::read_to_string(note_path(store)).ok()?;
    let note: serde_json::Value = serde_json::from_str(&text).ok()?;
    let field = |name: &str| note.get(name).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    Some(format!(
        "pid {} on {} (user {}, since {}): {}",
        field("pid")?,
        field("host").unwrap_or_default(),
        field("user").unwrap_or_default(),
        field("since").unwrap_or_default(),
        field("command").unwrap_or_default()
    ))
}
