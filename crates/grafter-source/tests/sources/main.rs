//! grafter-source's tests against real files and servers, in one test binary: the
//! conformance suite every connector runs (`conformance`), and each server connector's own
//! (`postgres`, `mysql`). `common` holds the helpers they share: a database of its own per
//! test on each server, a scan request, a whole scan.

mod common;

mod conformance;
mod mysql;
mod postgres;
