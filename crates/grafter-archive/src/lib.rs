//! grafter's portable archive: one file that carries data between installations (across an
//! air gap, as a backup, or as the copy an old system leaves behind).
//!
//! An archive is a tar, compressed with zstd (`.tar.zst`, the default) or bzip2
//! (`.tar.bz2`). Its first entry is `manifest.json` ([`Manifest`]): the format version, the
//! grafter version that wrote it, when, from which source (password redacted), and per
//! entity its columns with their types, its row count and the SHA-256 of its file. Then one
//! file per entity, CSV or NDJSON ([`DataFormat`]), whose text keeps every value's exact type
//! (`codec.rs`).
//!
//! Both sides stream: [`ArchiveWriter`] spools entity files to disk and assembles the tar at
//! the end (`writer.rs` explains why); [`ArchiveReader`] reads one row at a time, and
//! [`ArchiveReader::verify`] checks every row count and checksum before a caller trusts the
//! archive. This crate knows nothing of sources, targets or plans: `grafter-source` reads
//! archives as a source (`archive:FILE`), the CLI writes them.

mod codec;
mod compression;
mod error;
mod manifest;
mod reader;
mod writer;

pub use codec::{from_typed_json, to_typed_json};
pub use compression::Compression;
pub use error::ArchiveError;
pub use manifest::{
    Content, DataFormat, Entity, EntityRead, FORMAT_NAME, FORMAT_VERSION, GraphEnd, MANIFEST_ENTRY, Manifest,
    ManifestColumn,
};
pub use reader::{ArchiveReader, ArchiveRow, EntityCheck, Extracted};
pub use writer::{ArchiveOptions, ArchiveWriter, EntityWriter, FinishedEntity};
