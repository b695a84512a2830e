//! Generates realistic OpenStack Placement databases (SQLite) for the bundled `placement`
//! example, the tests and the benchmarks (the `placement-generator` binary, or
//! [`generate`] from a test). Not part of the grafter binary, which users run on their own
//! databases.
//!
//! The schema is Placement's own (`placement/db/sqlalchemy/models.py` at Alembic head
//! `a082b8bb98d0`, see [`schema`]), so a mapping that works on a generated database works on a
//! real one. The content models a mid-size cloud: compute nodes as provider trees (root →
//! NUMA cells → SR-IOV physical functions), shared-storage pools joined through aggregates,
//! ironic nodes with custom resource classes, a few empty roots, and instances whose
//! allocations span several providers of one tree. Every allocation fits its inventory, so the
//! data passes Placement's own capacity rule and grafter's verifier can check it.
//!
//! Generation is deterministic for a seed and runs in one transaction with journaling off: a
//! million rows take a few seconds.

mod build;
mod catalog;
mod schema;
#[cfg(test)]
mod tests;

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

#[cfg(test)]
use catalog::MIN_CUSTOM_RESOURCE_CLASS_ID;
/// The standard resource classes, a class's index its id: what a mapping of a database that
/// does not store them must add (the tests check the graph against it).
pub use catalog::STANDARD_RESOURCE_CLASSES;
use schema::Table;

/// What to generate. [`PlacementOptions::with_compute_nodes`] scales the other host counts
/// with the number of compute nodes; [`PlacementOptions::for_total_rows`] aims at a row count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementOptions {
    /// Compute nodes; each becomes a provider tree (root, 1–2 NUMA cells, and on some nodes
    /// two SR-IOV physical functions).
    pub compute_nodes: u32,
    /// Seed of the random generator: the same options give the same rows.
    pub seed: u64,
    /// Average number of instances per compute node (each node gets ½..=1½× this many, fewer
    /// if it runs out of room). Each instance is one consumer with about three allocations.
    pub consumers_per_node: u32,
    /// Ironic nodes: childless roots with one unit of a `CUSTOM_BAREMETAL_*` class; most are
    /// deployed (one consumer each).
    pub baremetal_nodes: u32,
    /// Shared-storage pools: roots with DISK_GB and `MISC_SHARES_VIA_AGGREGATE`, each in its
    /// own aggregate with the compute nodes that keep their disks there.
    pub shared_storage_providers: u32,
    /// Roots with no children, inventory, traits or aggregates (decommissioned hosts that a
    /// runbook check should report).
    pub empty_roots: u32,
    /// Store the standard resource classes in `resource_classes` (ids 0.. as in
    /// [`STANDARD_RESOURCE_CLASSES`]), as Placement does since it syncs them at start-up.
    /// `false` mimics an older database where only custom classes are stored.
    pub sync_standard_resource_classes: bool,
    /// Declare `resource_providers.root_provider_id` and `parent_provider_id` as foreign keys
    /// to `resource_providers.id`, as Placement's schema does. `false` leaves them plain
    /// integers, to exercise mappings that must name the reference themselves.
    pub declare_provider_foreign_keys: bool,
}

impl Default for PlacementOptions {
    fn default() -> Self {
        Self::with_compute_nodes(20)
    }
}

impl PlacementOptions {
    /// Options for `compute_nodes` nodes with the other hosts in proportion: one ironic node
    /// per ten compute nodes, one shared-storage pool per forty, one empty root per hundred
    /// (at least one of each), 20 instances per node, seed 0.
    pub fn with_compute_nodes(compute_nodes: u32) -> Self {
        PlacementOptions {
            compute_nodes,
            seed: 0,
            consumers_per_node: 20,
            baremetal_nodes: (compute_nodes / 10).max(1),
            shared_storage_providers: compute_nodes.div_ceil(40).max(1),
            empty_roots: (compute_nodes / 100).max(1),
            sync_standard_resource_classes: true,
            declare_provider_foreign_keys: true,
        }
    }

    /// Options whose database has about `rows` rows over all tables (within a few percent),
    /// otherwise as [`PlacementOptions::with_compute_nodes`]. The rows per compute node are
    /// measured by generating two small samples without writing them, so the estimate follows
    /// the generator if its proportions change.
    pub fn for_total_rows(rows: u64) -> Self {
        const SMALL: u32 = 50;
        const LARGE: u32 = 1_050;
        let small = count_rows(&Self::with_compute_nodes(SMALL)) as f64;
        let large = count_rows(&Self::with_compute_nodes(LARGE)) as f64;
        let per_node = (large - small) / f64::from(LARGE - SMALL);
        let fixed = small - per_node * f64::from(SMALL);
        let nodes = ((rows as f64 - fixed) / per_node).round().clamp(1.0, f64::from(u32::MAX));
        Self::with_compute_nodes(nodes as u32)
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementStats {
    /// Rows per table, in load order, every table listed (also empty ones).
    pub rows_per_table: Vec<(String, u64)>,
    /// Instances that found no room left on their compute node and were left out.
    pub unplaced_consumers: u64,
}

impl PlacementStats {
    /// Rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows_per_table.iter().map(|(_, rows)| rows).sum()
    }

    /// Rows of one table, `None` for a table the database does not have.
    #[cfg(test)]
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.rows_per_table.iter().find(|(name, _)| name == table).map(|(_, rows)| *rows)
    }

    fn from_outcome(outcome: &build::Outcome) -> Self {
        PlacementStats {
            rows_per_table: Table::ALL.iter().map(|t| (t.name().to_owned(), outcome.counts[*t as usize])).collect(),
            unplaced_consumers: outcome.unplaced_consumers,
        }
    }
}

/// Why a database could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The target file is already there; it is never overwritten.
    #[error("{} already exists; delete it or choose another path", path.display())]
    AlreadyExists {
        /// The path asked for.
        path: PathBuf,
    },
    /// The target file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Io {
        /// The path asked for.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// SQLite failed while writing.
    #[error("cannot write the Placement database {}: {source}", path.display())]
    Sqlite {
        /// The path asked for.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
}

/// Writes a new Placement database at `path`, which must not exist yet. On failure the
/// partly written file is removed again.
pub fn generate(path: &Path, options: &PlacementOptions) -> Result<PlacementStats, GenerateError> {
    // `create_new` claims the path atomically: an existing file is never touched.
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(GenerateError::AlreadyExists { path: path.to_owned() });
        }
        Err(source) => return Err(GenerateError::Io { path: path.to_owned(), source }),
    }
    let result =
        write_database(path, options).map_err(|source| GenerateError::Sqlite { path: path.to_owned(), source });
    if result.is_err() {
        // We created the file, so it is ours to remove; a half-written database would only
        // make the next attempt fail with "already exists".
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Creates the schema, loads every row through prepared statements in one transaction, then
/// builds the secondary indexes.
fn write_database(path: &Path, options: &PlacementOptions) -> rusqlite::Result<PlacementStats> {
    let mut connection = Connection::open(path)?;
    // The file is new and only ours until we return: a crash leaves a file we would delete
    // anyway, so journaling and syncing buy nothing here. `threads` lets CREATE INDEX sort
    // with a helper thread.
    connection.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -131072; PRAGMA threads = 2;",
    )?;
    let transaction = connection.transaction()?;
    transaction.execute_batch(&schema::create_tables(options.declare_provider_foreign_keys))?;
    let outcome = {
        let mut sink = SqliteSink::new(&transaction)?;
        build::run(options, &mut sink)?
    };
    transaction.execute_batch(schema::CREATE_INDEXES)?;
    transaction.commit()?;
    // Hand over a database in SQLite's default journal mode.
    connection.execute_batch("PRAGMA journal_mode = DELETE;")?;
    connection.close().map_err(|(_, e)| e)?;
    Ok(PlacementStats::from_outcome(&outcome))
}

/// Rows a database generated with `options` would have, without writing it.
fn count_rows(options: &PlacementOptions) -> u64 {
    let outcome = build::run(options, &mut build::CountingSink).expect("the counting sink never fails");
    outcome.counts.iter().sum()
}

/// Writes rows through one prepared INSERT per table.
struct SqliteSink<'c> {
    statements: Vec<rusqlite::Statement<'c>>,
}

impl<'c> SqliteSink<'c> {
    fn new(connection: &'c Connection) -> rusqlite::Result<Self> {
        let statements = Table::ALL.iter().map(|t| connection.prepare(t.insert_sql())).collect::<Result<_, _>>()?;
        Ok(SqliteSink { statements })
    }
}

impl build::Sink for SqliteSink<'_> {
    fn insert(&mut self, table: Table, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
        self.statements[table as usize].execute(params)?;
        Ok(())
    }
}
