//! The vocabulary every other grafter crate speaks.
//!
//! A [`Value`] is one cell of data on its way from a source to a graph. Sources produce
//! [`Batch`]es of rows described by [`Column`]s; the plan turns rows into node and
//! relationship records; targets store them. Keys identify nodes across that walk
//! ([`KeyHash`]), and a [`Cursor`] says how far a scan has come, so a run can resume.
//!
//! This crate does no I/O and depends on no other grafter crate: it is the floor the
//! house stands on (see `DESIGN.md`).

mod batch;
mod catalog;
mod cursor;
mod digest;
mod fingerprint;
pub mod identity;
mod key;
mod names;
mod redact;
mod run;
mod suggest;
mod sync;
mod types;
mod value;

pub use batch::{Batch, Column, LogicalType, SourceRow};
pub use catalog::{Catalog, ForeignKey, Partition, Table};
pub use cursor::{Cursor, CursorError, KeyRange};
pub use digest::{RowDigest, combine_hashes};
pub use fingerprint::{Fingerprint, FingerprintBuilder, Tally, is_bookkeeping_label};
pub use key::{KeyHash, key_hash};
pub use names::{NameError, NameKind, check_name, is_reserved_name, quote_name, usable_name};
pub use redact::{CredentialsError, Secrets, ServerUrl, hide_password, is_password_parameter, redact_url};
pub use run::{
    LockHolder, MappingRecord, RunEvent, RunKind, RunRecord, RunStatus, THROUGHPUT_POINTS, VerificationSummary, now,
};
pub use suggest::suggest;
pub use sync::{PendingRow, SyncState};
pub use types::{
    Arrival, BytesPolicy, DecimalPolicy, JsonPolicy, TypePolicy, UnsignedOverflow, ZeroDatePolicy, arrival,
};
pub use value::{Duration, Value, ValueKind};
