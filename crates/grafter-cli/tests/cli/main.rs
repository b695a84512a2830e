//! grafter's end-to-end tests: every command run as a user runs it, through the binary,
//! against real files and servers. One test binary (house rule 9): it links the dependency
//! tree once, not once per file.
//!
//! Each module is a room of behaviour (`sync`, `verify`, `guards`, …); `common` holds the
//! helpers they share (projects, servers, readers of what grafter leaves behind). Pick a room
//! with a filter: `./scripts/test --test cli sync::`.

#[macro_use]
mod common;

mod archives;
mod bad_inputs;
mod bolt;
mod chinook;
mod conformance;
mod falkordb;
mod file_sources;
mod guards;
mod outputs;
mod placement;
mod query;
mod reference_config;
mod remap;
mod run_safety;
mod schema;
mod scripts;
mod secrets;
mod snapshots;
mod sql_servers;
mod sync;
mod verify;
