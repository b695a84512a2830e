//! What each store says about itself: its URL schemes, how its URL is checked as it will be
//! read (without connecting), and how it opens — the table `url.rs` and [`crate::open`]
//! read (the sources' `connector.rs` shape). Each store's folder ends with a `STORE`
//! constant, and `lib.rs`'s `stores!` lists it.

use std::path::Path;

use futures::future::BoxFuture;

use crate::error::TargetError;
use crate::target::{Access, GraphTarget};

/// How a store checks a URL of its schemes as it will read it, without connecting;
/// relative paths are taken relative to the second argument (grafter.toml's folder).
pub(crate) type UrlCheck = fn(&str, &Path) -> Result<(), TargetError>;

/// How a store opens from its URL (checked already), connecting to a server at once so that
/// a wrong host or password shows before anything else happens.
pub(crate) type Opener =
    for<'a> fn(&'a str, &'a Path, Access) -> BoxFuture<'a, Result<Box<dyn GraphTarget>, TargetError>>;

/// A store, as the table of stores lists it.
pub(crate) struct Store {
    /// Its schemes; the first names it (and its cargo feature).
    pub schemes: &'static [&'static str],
    /// How its URL is checked.
    pub check: UrlCheck,
    /// How it opens.
    pub open: Opener,
    /// How it holds node keys unique, in words, for `grafter plan`.
    pub key_guard: &'static str,
}

impl Store {
    /// The store's name: its first scheme.
    pub fn name(&self) -> &'static str {
        self.schemes[0]
    }
}
