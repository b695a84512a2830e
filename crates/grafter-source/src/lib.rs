//! Sources: where rows come from.
//!
//! A [`Source`] is opened from a URL ([`open`]) and answers four questions for the engine:
//! which columns a read has ([`Source::columns`]), which unique key orders a table
//! ([`Source::scan_key`]), how many rows a read will yield ([`Source::count`]), and — the main
//! job — the rows themselves as a stream of [`Batch`]es starting after a [`Cursor`]
//! ([`Source::scan`]). SQL sources can also describe their schema ([`Source::introspect`]) for
//! `grafter init`.
//!
//! Each connector is one module behind one cargo feature; nothing outside this crate knows
//! which connectors exist except through [`open`]. Sources never see targets: the engine
//! joins the two.

use std::path::Path;

pub use grafter_model::KeyRange;

#[cfg(any(feature = "sqlite", feature = "csv", feature = "ndjson", feature = "archive"))]
mod blocking;
mod connector;
mod error;
#[cfg(any(feature = "csv", feature = "ndjson"))]
mod files;
#[cfg(feature = "ndjson")]
mod json;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod json_column;
mod source;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
mod url;

/// Declares the connectors (each behind its cargo feature) and the table `parse_url` and
/// [`open`] read. Adding a source: its folder, its feature in Cargo.toml, one line here.
macro_rules! connectors {
    ($($module:ident => $feature:literal),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            pub mod $module;
        )*
        /// The connectors this build has.
        const CONNECTORS: &[&connector::Connector] = &[$(
            #[cfg(feature = $feature)]
            &$module::CONNECTOR,
        )*];
        /// Every connector's name, built in or not, for the error on one this build lacks.
        const CONNECTOR_FEATURES: &[&str] = &[$($feature),*];
    };
}

connectors! {
    archive => "archive",
    csv => "csv",
    mysql => "mysql",
    ndjson => "ndjson",
    postgres => "postgres",
    sqlite => "sqlite",
}

pub use connector::{Location, SourceOptions};
pub use error::SourceError;
pub(crate) use grafter_model::suggest;
#[cfg(any(feature = "csv", feature = "ndjson"))]
pub(crate) use source::refuse_filters;
pub use source::{BatchStream, Filter, QueryRows, Read, ScanRequest, Source};
pub use url::{SourceUrl, parse_url};

/// Opens the source a URL names (connecting to servers, so that a wrong host or password
/// shows at once). Relative paths are resolved against `base_dir` (the directory of
/// grafter.toml).
pub async fn open(url: &str, base_dir: &Path, options: &SourceOptions) -> Result<Box<dyn Source>, SourceError> {
    let parsed = parse_url(url, base_dir)?;
    let connector =
        url::connector(parsed.scheme).ok_or(SourceError::NotBuiltIn { scheme: parsed.scheme.to_owned() })?;
    (connector.open)(&parsed.location, options).await
}
