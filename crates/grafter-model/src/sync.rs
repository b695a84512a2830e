//! [`SyncState`]: where the incremental sync of one mapping stands — its watermark, the rows
//! waiting for a node that is not there yet, and its running figures.
//!
//! A target stores one state per mapping beside the graph and replaces it in the same
//! transaction as each batch of changes it covers, so after a crash the watermark never
//! claims more (or less) than the graph holds. The state is plain data with a JSON form;
//! key values travel in [`Cursor`]'s typed text, so they come back with their types.

use serde::{Deserialize, Serialize};

use crate::{Cursor, CursorError, Value};

/// The sync state of one mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The mapping.
    pub mapping: String,
    /// Checksum of the mapping's definition and its change tracking: a state only continues
    /// the tracking it was made by (another cursor column starts over).
    pub checksum: String,
    /// The position of the last change applied, as [`Cursor::encode`] text: a
    /// [`Cursor::Key`] of the cursor value followed by the row's key values (cursor mode) or
    /// of the change log's time and id (change-log mode); [`Cursor::Start`] before the first.
    pub watermark: String,
    /// Who set the first watermark: the id of the load run that read the source (the
    /// watermark is the newest change seen when it began), or `sync` (from the start).
    pub origin: String,
    /// Change-log mode: the table is still to be read whole before the log is followed. A
    /// state that starts from nothing (no load set its watermark, or the tracking changed)
    /// needs it, since the log holds nothing of what changed before; cleared once the whole
    /// read is applied, the watermark then being the log's end as it began.
    #[serde(default)]
    pub reads_table_first: bool,
    /// Rows read but not yet applied because a node they connect is not in the graph yet:
    /// read again at every pass until they apply or time out into the reject file.
    #[serde(default)]
    pub pending: Vec<PendingRow>,
    /// Rows rejected after waiting too long, with the position of the change that was
    /// rejected: read again (the overlap window), that same change does not wait again.
    /// Dropped once the window has moved past them.
    #[serde(default)]
    pub given_up: Vec<PendingRow>,
    /// Passes that ran to the end of the changes.
    #[serde(default)]
    pub passes: u64,
    /// Batches of changes committed (reject lines carry it, so lines of a batch that never
    /// committed can be told).
    #[serde(default)]
    pub batches: u64,
    /// Elements created, over all passes.
    #[serde(default)]
    pub created: u64,
    /// Elements updated in place.
    #[serde(default)]
    pub updated: u64,
    /// Elements deleted.
    #[serde(default)]
    pub deleted: u64,
    /// Changes read again (the overlap window) and found already applied.
    #[serde(default)]
    pub unchanged: u64,
    /// Rows sent to the reject file.
    #[serde(default)]
    pub rejected: u64,
    /// When (RFC 3339, UTC, on grafter's clock) the last pass that read every change began:
    /// every change committed before then, within the overlap, is in the graph.
    #[serde(default)]
    pub caught_up_at: Option<String>,
    /// The cursor value of the newest change applied, for people to read.
    #[serde(default)]
    pub newest_change: Option<String>,
    /// When the state was last stored (RFC 3339, UTC).
    pub updated_at: String,
}

/// A row waiting for the node it connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRow {
    /// The row's key values, as [`Cursor::encode`] text of a [`Cursor::Key`].
    pub key: String,
    /// When it was first found waiting (RFC 3339, UTC).
    pub since: String,
    /// Why it waits.
    pub reason: String,
    /// The position of the change it comes from (the cursor value and key, or the change
    /// log's time and id), as [`Cursor::encode`] text, when known.
    #[serde(default)]
    pub position: Option<String>,
}

impl PendingRow {
    /// A waiting row with these key values.
    pub fn new(key: &[Value], since: String, reason: String, position: Option<&[Value]>) -> PendingRow {
        PendingRow {
            key: Cursor::Key(key.to_vec()).encode(),
            since,
            reason,
            position: position.map(|p| Cursor::Key(p.to_vec()).encode()),
        }
    }

    /// The position of the change it comes from, when known.
    pub fn position_values(&self) -> Option<Vec<Value>> {
        match Cursor::decode(self.position.as_deref()?).ok()? {
            Cursor::Key(values) => Some(values),
            _ => None,
        }
    }

    /// The row's key values.
    pub fn key_values(&self) -> Result<Vec<Value>, CursorError> {
        match Cursor::decode(&self.key)? {
            Cursor::Key(values) => Ok(values),
            _ => Ok(Vec::new()),
        }
    }
}

impl SyncState {
    /// A state before any change was applied, with the watermark at `watermark`.
    pub fn new(mapping: &str, checksum: &str, watermark: &Cursor, origin: &str) -> SyncState {
        SyncState {
            mapping: mapping.to_owned(),
            checksum: checksum.to_owned(),
            watermark: watermark.encode(),
            origin: origin.to_owned(),
            reads_table_first: false,
            pending: Vec::new(),
            given_up: Vec::new(),
            passes: 0,
            batches: 0,
            created: 0,
            updated: 0,
            deleted: 0,
            unchanged: 0,
            rejected: 0,
            caught_up_at: None,
            newest_change: None,
            updated_at: crate::now(),
        }
    }

    /// The watermark as a cursor.
    pub fn watermark(&self) -> Result<Cursor, CursorError> {
        Cursor::decode(&self.watermark)
    }

    /// Changes applied (created, updated or deleted) over all passes.
    pub fn applied(&self) -> u64 {
        self.created + self.updated + self.deleted
    }

    /// The state as JSON text, as targets store it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A state from its stored JSON text.
    pub fn from_json(text: &str) -> Result<SyncState, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_through_its_stored_text_with_typed_keys() {
        let watermark = Cursor::Key(vec![
            Value::DateTime(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_micro_opt(9, 5, 1, 250).unwrap(),
            ),
            Value::Int(42),
        ]);
        let mut state = SyncState::new("customers", "abc", &watermark, "20260301T090000.000Z-0001");
        state.pending.push(PendingRow::new(
            &[Value::String("x'y".into())],
            crate::now(),
            "end node missing".into(),
            Some(&[Value::Int(7)]),
        ));
        state.created = 3;
        let back = SyncState::from_json(&state.to_json()).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.watermark().unwrap(), watermark);
        assert_eq!(back.pending[0].key_values().unwrap(), vec![Value::String("x'y".into())]);
        assert_eq!(back.pending[0].position_values(), Some(vec![Value::Int(7)]));
        assert_eq!(back.applied(), 3);
    }
}
