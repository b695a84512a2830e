//! The conformance suite every source connector runs (house rule 9): the same five people —
//! a key, a name, a score that is sometimes NULL — stored the connector's way (a SQLite
//! file, a CSV file, an NDJSON file, a PostgreSQL table, a MySQL/MariaDB table), opened by
//! URL through `grafter_source::open` as grafter opens a source, and asked the same things:
//! its columns, its key, its count, every row in order, a scan resumed after each batch, and
//! what it says about a column or a table that is not there.
//!
//! Values are compared as people read them (`Value`'s display), since a CSV file holds text
//! where a database holds numbers: the rows must say the same.

use std::path::Path;

use grafter_model::Value;
use grafter_source::{Read, Source, SourceError, SourceOptions};

use crate::common::{request, scan_all, table, values};

/// The rows every connector holds, in key order: id, name, score.
const PEOPLE: [(i64, &str, Option<f64>); 5] =
    [(1, "Ada", Some(9.5)), (2, "Bob", None), (3, "Cy", Some(7.25)), (4, "Dee", Some(0.5)), (5, "Eve", None)];

/// A connector opened on the people, and what keeps its data alive.
struct Fixture {
    source: Box<dyn Source>,
    /// Whether the connector knows the table's key (databases) or reads in file order.
    keyed: bool,
    _keep: Box<dyn std::any::Any>,
}

async fn open(url: &str, base: &Path) -> Box<dyn Source> {
    grafter_source::open(url, base, &SourceOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", grafter_model::redact_url(url)))
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = rusqlite::Connection::open(dir.path().join("people.sqlite")).expect("sqlite file");
    db.execute_batch("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL)").expect("table");
    for (id, name, score) in PEOPLE {
        db.execute("INSERT INTO people VALUES (?1, ?2, ?3)", rusqlite::params![id, name, score]).expect("row");
    }
    drop(db);
    Fixture { source: open("sqlite:people.sqlite", dir.path()).await, keyed: true, _keep: Box::new(dir) }
}

async fn csv() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("id,name,score\n");
    for (id, name, score) in PEOPLE {
        text.push_str(&format!("{id},{name},{}\n", score.map(|s| s.to_string()).unwrap_or_default()));
    }
    std::fs::create_dir(dir.path().join("data")).expect("data dir");
    std::fs::write(dir.path().join("data/people.csv"), text).expect("csv file");
    Fixture { source: open("csv:data", dir.path()).await, keyed: false, _keep: Box::new(dir) }
}

async fn ndjson() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for (id, name, score) in PEOPLE {
        let score = score.map_or("null".to_owned(), |s| s.to_string());
        text.push_str(&format!("{{\"id\": {id}, \"name\": \"{name}\", \"score\": {score}}}\n"));
    }
    std::fs::create_dir(dir.path().join("data")).expect("data dir");
    std::fs::write(dir.path().join("data/people.ndjson"), text).expect("ndjson file");
    Fixture { source: open("ndjson:data", dir.path()).await, keyed: false, _keep: Box::new(dir) }
}

/// The people as SQL the servers take.
fn people_sql() -> String {
    let rows: Vec<String> = PEOPLE
        .iter()
        .map(|(id, name, score)| format!("({id}, '{name}', {})", score.map_or("NULL".to_owned(), |s| s.to_string())))
        .collect();
    format!("INSERT INTO people VALUES {}", rows.join(", "))
}

async fn postgres() -> Fixture {
    let db = crate::common::postgres::TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL, score double precision); {}",
            people_sql()
        ))
        .await
        .expect("people");
    Fixture { source: open(&db.url(), Path::new(".")).await, keyed: true, _keep: Box::new(db) }
}

async fn mysql() -> Fixture {
    let db = crate::common::mysql::TestDb::new().await;
    db.exec(&format!(
        "CREATE TABLE people (id bigint PRIMARY KEY, name varchar(50) NOT NULL, score double); {}",
        people_sql()
    ))
    .await;
    Fixture { source: open(&db.url(), Path::new(".")).await, keyed: true, _keep: Box::new(db) }
}

/// The people as people read them.
fn expected() -> Vec<Vec<String>> {
    PEOPLE
        .iter()
        .map(|(id, name, score)| {
            vec![id.to_string(), (*name).to_owned(), score.map_or(Value::Null.to_string(), |s| s.to_string())]
        })
        .collect()
}

fn as_text(rows: &[Vec<Value>]) -> Vec<Vec<String>> {
    rows.iter().map(|row| row.iter().map(ToString::to_string).collect()).collect()
}

/// The key the connector scans the people by: the table's primary key, or none (file order).
async fn order_by(fixture: &Fixture) -> Vec<String> {
    fixture.source.scan_key(&table("people")).await.expect("scan key").unwrap_or_default()
}

async fn columns_are_the_tables_in_order(fixture: Fixture) {
    let columns = fixture.source.columns(&table("people")).await.expect("columns");
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "score"], "{}", fixture.source.describe());
}

async fn a_database_names_its_key_and_a_file_reads_in_its_own_order(fixture: Fixture) {
    let key = fixture.source.scan_key(&table("people")).await.expect("scan key");
    if fixture.keyed {
        assert_eq!(key, Some(vec!["id".to_owned()]), "{}", fixture.source.describe());
    } else {
        assert_eq!(key, None, "{}", fixture.source.describe());
    }
}

async fn a_scan_reads_every_row_once_in_order_and_the_count_agrees(fixture: Fixture) {
    let order_by = order_by(&fixture).await;
    let order: Vec<&str> = order_by.iter().map(String::as_str).collect();
    let scan = request(table("people"), &["id", "name", "score"], &order, 1_000);
    let (rows, _) = scan_all(fixture.source.as_ref(), scan.clone()).await;
    assert_eq!(as_text(&values(&rows)), expected(), "{}", fixture.source.describe());
    assert_eq!(fixture.source.count(&scan).await.expect("count"), Some(PEOPLE.len() as u64));
}

async fn a_scan_resumed_after_any_batch_reads_exactly_the_rest(fixture: Fixture) {
    let order_by = order_by(&fixture).await;
    let order: Vec<&str> = order_by.iter().map(String::as_str).collect();
    let scan = request(table("people"), &["id", "name", "score"], &order, 2);
    let (rows, cursors) = scan_all(fixture.source.as_ref(), scan.clone()).await;
    let all = as_text(&values(&rows));
    assert_eq!(all, expected(), "{}", fixture.source.describe());
    for (batch, cursor) in cursors.iter().enumerate() {
        let resumed = grafter_source::ScanRequest { after: cursor.clone(), ..scan.clone() };
        let (rest, _) = scan_all(fixture.source.as_ref(), resumed).await;
        let read_before = ((batch + 1) * 2).min(all.len());
        assert_eq!(
            as_text(&values(&rest)),
            all[read_before..],
            "{}: resumed after batch {} ({cursor:?})",
            fixture.source.describe(),
            batch + 1
        );
    }
}

async fn a_column_that_is_not_there_is_named_with_the_nearest(fixture: Fixture) {
    let order_by = order_by(&fixture).await;
    let order: Vec<&str> = order_by.iter().map(String::as_str).collect();
    let scan = request(table("people"), &["id", "nmae"], &order, 10);
    let error = match fixture.source.scan(scan).await {
        Ok(_) => panic!("{}: a scan of a column that is not there started", fixture.source.describe()),
        Err(error) => error,
    };
    assert!(matches!(error, SourceError::UnknownColumn { .. }), "{}: {error:?}", fixture.source.describe());
    let text = error.to_string();
    assert!(text.contains("nmae") && text.contains("`name`"), "{}: {text}", fixture.source.describe());
}

async fn a_table_that_is_not_there_is_named(fixture: Fixture) {
    let error = fixture.source.columns(&Read::Table("peple".into())).await.expect_err("no such table");
    assert!(error.is_usage(), "{}: {error:?}", fixture.source.describe());
    assert!(error.to_string().contains("peple"), "{}: {error}", fixture.source.describe());
}

/// Every check on every connector: a module per connector, a test per check.
macro_rules! on_every_source {
    ($($connector:ident),* $(,)?) => {$(
        mod $connector {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn columns_are_the_tables_in_order() {
                super::columns_are_the_tables_in_order(super::$connector().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_database_names_its_key_and_a_file_reads_in_its_own_order() {
                super::a_database_names_its_key_and_a_file_reads_in_its_own_order(super::$connector().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_scan_reads_every_row_once_in_order_and_the_count_agrees() {
                super::a_scan_reads_every_row_once_in_order_and_the_count_agrees(super::$connector().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_scan_resumed_after_any_batch_reads_exactly_the_rest() {
                super::a_scan_resumed_after_any_batch_reads_exactly_the_rest(super::$connector().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_column_that_is_not_there_is_named_with_the_nearest() {
                super::a_column_that_is_not_there_is_named_with_the_nearest(super::$connector().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_table_that_is_not_there_is_named() {
                super::a_table_that_is_not_there_is_named(super::$connector().await).await;
            }
        }
    )*};
}

on_every_source!(sqlite, csv, ndjson, postgres, mysql);
