//! [`ArchiveError`]: everything that can go wrong writing or reading an archive, each naming
//! the archive (and the entity or entry at fault) and, where one helps, a hint.

/// An error writing or reading an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file could not be created, read or written.
    #[error("archive {path}: {source}")]
    Io {
        /// The archive (or its spool file).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file name does not say how to compress.
    #[error(
        "archive {path}: cannot tell the compression from the name\n  hint: name it *.tar.zst (zstd, the default) or *.tar.bz2 (bzip2)"
    )]
    UnknownExtension {
        /// The archive.
        path: String,
    },
    /// The archive cannot be read to the end: cut short, or bytes changed.
    #[error("archive {path} is damaged: {detail}\n  hint: {hint}")]
    Damaged {
        /// The archive.
        path: String,
        /// What was found.
        detail: String,
        /// What probably happened and what to do.
        hint: String,
    },
    /// The archive was written by a newer grafter, in a format this one does not know.
    #[error(
        "archive {path} has format version {found}, newer than this grafter ({grafter}) reads (up to {supported})\n  hint: read it with the grafter version that wrote it ({written_by}) or newer"
    )]
    NewerFormat {
        /// The archive.
        path: String,
        /// Its format version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
        /// This build's version.
        grafter: &'static str,
        /// The grafter version recorded in the manifest.
        written_by: String,
    },
    /// An entity's contents do not match what the manifest promises.
    #[error(
        "archive {path}: entity `{entity}` ({file}): {detail}\n  hint: the archive was changed or damaged after it was written; write it again from the source"
    )]
    Mismatch {
        /// The archive.
        path: String,
        /// The entity.
        entity: String,
        /// Its file inside the archive.
        file: String,
        /// What differs.
        detail: String,
    },
    /// A request names an entity the archive does not hold.
    #[error("archive {path} has no entity `{entity}`\n  entities there: {available}")]
    UnknownEntity {
        /// The archive.
        path: String,
        /// The entity asked for.
        entity: String,
        /// The entities it holds, comma separated.
        available: String,
    },
    /// A value could not be written (e.g. a row with the wrong number of values).
    #[error("archive {path}: entity `{entity}`: {detail}")]
    Write {
        /// The archive.
        path: String,
        /// The entity.
        entity: String,
        /// What is wrong.
        detail: String,
    },
}
