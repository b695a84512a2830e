//! Checks generated databases with SQL: the invariants Placement itself relies on, the
//! bookkeeping of [`PlacementStats`], determinism and the refusal to overwrite.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::build::ts;
use super::schema::Table;
use super::*;

/// Five compute nodes, with a few more ironic nodes than the proportional default so that
/// every kind of provider and allocation shows up.
fn small_options() -> PlacementOptions {
    PlacementOptions { seed: 1, baremetal_nodes: 3, ..PlacementOptions::with_compute_nodes(5) }
}

fn open(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open generated database")
}

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |row| row.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of every table, in rowid order, as text.
fn dump(path: &Path) -> Vec<String> {
    let db = open(path);
    let mut out = Vec::new();
    for table in Table::ALL {
        let mut statement = db.prepare(&format!("SELECT * FROM {} ORDER BY rowid", table.name())).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<Value> = (0..columns).map(|i| row.get(i).unwrap()).collect();
            out.push(format!("{}: {values:?}", table.name()));
        }
    }
    out
}

fn generate_small(dir: &Path, options: &PlacementOptions) -> (std::path::PathBuf, PlacementStats) {
    let path = dir.join("placement.sqlite");
    let stats = generate(&path, options).expect("generate");
    (path, stats)
}

#[test]
fn provider_trees_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = generate_small(dir.path(), &small_options());
    let db = open(&path);
    // Roots point at themselves and have no parent.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NULL AND root_provider_id <> id"
        ),
        0
    );
    // Every child's parent exists and shares the child's root.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM resource_providers c LEFT JOIN resource_providers p ON p.id = c.parent_provider_id
             WHERE c.parent_provider_id IS NOT NULL AND (p.id IS NULL OR p.root_provider_id <> c.root_provider_id)"
        ),
        0
    );
    // ...and the root reached by walking up the parents is the declared root.
    assert_eq!(
        count(
            &db,
            "WITH RECURSIVE up(start, id, parent) AS (
                 SELECT id, id, parent_provider_id FROM resource_providers
                 UNION ALL
                 SELECT up.start, p.id, p.parent_provider_id FROM up JOIN resource_providers p ON p.id = up.parent)
             SELECT count(*) FROM up JOIN resource_providers rp ON rp.id = up.start
             WHERE up.parent IS NULL AND up.id <> rp.root_provider_id"
        ),
        0
    );
    // Three levels: root → NUMA → PF.
    assert!(
        count(
            &db,
            "SELECT count(*) FROM resource_providers pf JOIN resource_providers numa ON numa.id = pf.parent_provider_id
             WHERE numa.parent_provider_id IS NOT NULL AND pf.name LIKE '%_NIC1_PF%'"
        ) > 0
    );
    // Empty roots exist, ironic nodes are childless roots, shared storage shares via aggregate.
    assert!(
        count(
            &db,
            "SELECT count(*) FROM resource_providers r WHERE r.parent_provider_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM resource_providers c WHERE c.parent_provider_id = r.id)
             AND NOT EXISTS (SELECT 1 FROM inventories i WHERE i.resource_provider_id = r.id)"
        ) >= 1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inventories i JOIN resource_providers r ON r.id = i.resource_provider_id
             WHERE i.resource_class_id >= 10000
             AND (r.parent_provider_id IS NOT NULL OR r.name <> r.uuid
                  OR EXISTS (SELECT 1 FROM resource_providers c WHERE c.parent_provider_id = r.id))"
        ),
        0
    );
    assert!(
        count(
            &db,
            "SELECT count(*) FROM resource_provider_traits rt JOIN traits t ON t.id = rt.trait_id
             JOIN resource_provider_aggregates ra ON ra.resource_provider_id = rt.resource_provider_id
             WHERE t.name = 'MISC_SHARES_VIA_AGGREGATE'"
        ) >= 1
    );
    assert!(count(&db, "SELECT min(generation) FROM resource_providers") >= 0);
    // Declared references hold.
    assert_eq!(count(&db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM pragma_foreign_key_list('resource_providers')"), 2);
    assert_eq!(db.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
}

/// The rules Placement enforces when it writes allocations.
fn assert_allocations_fit(db: &Connection) {
    // Every allocation has an inventory (same provider and class) and a consumer.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM allocations a LEFT JOIN inventories i
               ON i.resource_provider_id = a.resource_provider_id AND i.resource_class_id = a.resource_class_id
             WHERE i.id IS NULL"
        ),
        0
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM allocations a LEFT JOIN consumers c ON c.uuid = a.consumer_id WHERE c.id IS NULL"
        ),
        0
    );
    // Each unit booked obeys min_unit, max_unit and step_size.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM allocations a JOIN inventories i
               ON i.resource_provider_id = a.resource_provider_id AND i.resource_class_id = a.resource_class_id
             WHERE a.used > i.max_unit OR a.used < i.min_unit OR a.used % i.step_size <> 0"
        ),
        0
    );
    // Usage never exceeds capacity.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM inventories i JOIN
               (SELECT resource_provider_id, resource_class_id, sum(used) AS used FROM allocations
                GROUP BY resource_provider_id, resource_class_id) u
               ON u.resource_provider_id = i.resource_provider_id AND u.resource_class_id = i.resource_class_id
             WHERE u.used > (i.total - i.reserved) * i.allocation_ratio"
        ),
        0
    );
    // One row per (provider, consumer, class); consumers span several providers.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM (SELECT 1 FROM allocations
             GROUP BY resource_provider_id, consumer_id, resource_class_id HAVING count(*) > 1)"
        ),
        0
    );
}

#[test]
fn allocations_fit_their_inventories() {
    let dir = tempfile::tempdir().unwrap();
    let (path, stats) = generate_small(dir.path(), &small_options());
    let db = open(&path);
    assert!(count(&db, "SELECT count(*) FROM allocations") > 100, "{stats:?}");
    assert_allocations_fit(&db);
    assert!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT consumer_id FROM allocations GROUP BY consumer_id
             HAVING count(DISTINCT resource_provider_id) > 1)"
        ) > 0
    );
    // Consumers have allocations, projects and users; inventories are sane.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consumers c WHERE NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = c.uuid)"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consumers c WHERE c.project_id NOT IN (SELECT id FROM projects)
             OR c.user_id NOT IN (SELECT id FROM users)"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inventories WHERE max_unit > total OR reserved > total OR allocation_ratio <= 0"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM projects WHERE length(external_id) <> 32"), 0);
}

#[test]
fn full_hosts_turn_consumers_away() {
    let dir = tempfile::tempdir().unwrap();
    let options = PlacementOptions { consumers_per_node: 300, ..small_options() };
    let (path, stats) = generate_small(dir.path(), &options);
    assert!(stats.unplaced_consumers > 0, "{stats:?}");
    assert_allocations_fit(&open(&path));
}

#[test]
fn resource_classes_follow_placement() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = generate_small(dir.path(), &small_options());
    let db = open(&path);
    let mut statement = db.prepare("SELECT id, name FROM resource_classes WHERE id < 10000 ORDER BY id").unwrap();
    let standard: Vec<(i64, String)> =
        statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let expected: Vec<(i64, String)> =
        STANDARD_RESOURCE_CLASSES.iter().enumerate().map(|(i, n)| (i as i64, n.to_string())).collect();
    assert_eq!(standard, expected);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM resource_classes WHERE id >= 10000 AND name NOT LIKE 'CUSTOM\\_%' ESCAPE '\\'"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT min(id) FROM resource_classes WHERE name LIKE 'CUSTOM%'"),
        MIN_CUSTOM_RESOURCE_CLASS_ID
    );

    // Without the sync, only custom classes are stored, and allocations still use both kinds.
    let dir = tempfile::tempdir().unwrap();
    let options = PlacementOptions { sync_standard_resource_classes: false, ..small_options() };
    let (path, _) = generate_small(dir.path(), &options);
    let db = open(&path);
    assert_eq!(
        count(&db, "SELECT count(*) FROM resource_classes WHERE id < 10000 OR name NOT LIKE 'CUSTOM\\_%' ESCAPE '\\'"),
        0
    );
    assert!(count(&db, "SELECT count(*) FROM resource_classes") > 0);
    assert!(count(&db, "SELECT count(*) FROM allocations WHERE resource_class_id < 10000") > 0);
    assert!(count(&db, "SELECT count(*) FROM allocations WHERE resource_class_id >= 10000") > 0);
}

#[test]
fn provider_foreign_keys_can_be_left_undeclared() {
    let dir = tempfile::tempdir().unwrap();
    let options = PlacementOptions { declare_provider_foreign_keys: false, ..small_options() };
    let (path, _) = generate_small(dir.path(), &options);
    let db = open(&path);
    assert_eq!(count(&db, "SELECT count(*) FROM pragma_foreign_key_list('resource_providers')"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM pragma_foreign_key_list('resource_provider_traits')"), 2);
}

#[test]
fn stats_match_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (path, stats) = generate_small(dir.path(), &small_options());
    let db = open(&path);
    assert_eq!(stats.rows_per_table.len(), Table::ALL.len());
    for (table, rows) in &stats.rows_per_table {
        assert_eq!(count(&db, &format!("SELECT count(*) FROM {table}")) as u64, *rows, "{table}");
    }
    let tables = count(&db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    assert_eq!(tables as usize, Table::ALL.len());
    assert_eq!(stats.rows("resource_providers"), Some(count(&db, "SELECT count(*) FROM resource_providers") as u64));
    assert_eq!(stats.rows("no_such_table"), None);
    assert_eq!(stats.total_rows(), stats.rows_per_table.iter().map(|(_, n)| n).sum::<u64>());
    // Timestamps are SQLAlchemy's text form.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM allocations WHERE created_at NOT GLOB '20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]'"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM resource_providers WHERE updated_at < created_at"), 0);
}

#[test]
fn same_seed_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_options();
    let first = generate(&dir.path().join("a.sqlite"), &options).unwrap();
    let second = generate(&dir.path().join("b.sqlite"), &options).unwrap();
    assert_eq!(first, second);
    let a = dump(&dir.path().join("a.sqlite"));
    assert_eq!(a, dump(&dir.path().join("b.sqlite")));
    generate(&dir.path().join("c.sqlite"), &PlacementOptions { seed: 2, ..options }).unwrap();
    assert_ne!(a, dump(&dir.path().join("c.sqlite")));
}

#[test]
fn refuses_an_existing_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("placement.sqlite");
    std::fs::write(&path, b"precious").unwrap();
    let error = generate(&path, &small_options()).unwrap_err();
    assert!(matches!(error, GenerateError::AlreadyExists { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()) && message.contains("delete it or choose another path"));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("placement.sqlite");
    let error = generate(&path, &small_options()).unwrap_err();
    assert!(matches!(error, GenerateError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("missing"));
}

#[test]
fn timestamps_are_utc_civil_dates() {
    assert_eq!(ts(0), "1970-01-01 00:00:00");
    assert_eq!(ts(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(ts(1_640_995_200), "2022-01-01 00:00:00");
    assert_eq!(ts(1_717_199_999), "2024-05-31 23:59:59");
}

/// Generates the benchmark's million-row database; a few seconds in a debug build.
#[test]
fn for_total_rows_hits_a_million() {
    let options = PlacementOptions::for_total_rows(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("placement.sqlite");
    let stats = generate(&path, &options).unwrap();
    let total = stats.total_rows();
    assert!((900_000..=1_100_000).contains(&total), "{total} rows from {options:?}");
    let db = open(&path);
    let counted: i64 = stats.rows_per_table.iter().map(|(t, _)| count(&db, &format!("SELECT count(*) FROM {t}"))).sum();
    assert_eq!(counted as u64, total);
}

/// The example's config spells out the standard classes (they live in code, not in the
/// database): the list there must be the generator's, id for id.
#[test]
fn the_example_config_lists_the_standard_classes_with_their_ids() {
    let config =
        std::fs::read_to_string(package_dir().join("../grafter.toml")).expect("examples/placement/grafter.toml");
    for (id, name) in STANDARD_RESOURCE_CLASSES.iter().enumerate() {
        assert!(config.contains(&format!("({id}, '{name}')")), "the example config lacks ({id}, '{name}')");
    }
    assert!(
        !config.contains(&format!("({}, '", STANDARD_RESOURCE_CLASSES.len())),
        "the example config lists a standard class the generator does not know"
    );
}

/// This package's directory, read when the test runs (cargo sets it then too): a test binary
/// built from another checkout of the repository still finds this checkout's files.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
