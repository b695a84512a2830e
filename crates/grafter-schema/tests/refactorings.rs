//! The declarative refactorings: each does what it says, its generated verify holds, and
//! its inverse gives back exactly the graph from before (same fingerprint) — on the
//! embedded target, and the ones whose Cypher differs by server (index and constraint DDL)
//! on FalkorDB too, which must accept what its dialect generates.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use grafter_model::{LockHolder, Value};
use grafter_schema::{MigrationSet, Migrator, Options, Report, SchemaError};
use grafter_target::grafeo::GrafeoTarget;
use grafter_target::{Access, GraphTarget};

fn holder() -> LockHolder {
    let now = chrono::Utc::now();
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    LockHolder {
        purpose: "schema".into(),
        run_id: None,
        host: "test-host".into(),
        pid: std::process::id(),
        user: "tester".into(),
        acquired_at: stamp(now),
        expires_at: stamp(now + chrono::Duration::seconds(60)),
        renewed_at: stamp(now),
    }
}

/// A fresh, empty graph of no other test on the test FalkorDB server (`FALKORDB_URL`, by
/// default the one `scripts/falkordb start` runs). A server that does not answer fails the
/// test.
async fn falkordb() -> Box<dyn GraphTarget> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = std::env::var("FALKORDB_URL").unwrap_or_else(|_| "falkordb://127.0.0.1:6380".to_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let url = format!("{}/schema_refactorings_{}_{n}", server.trim_end_matches('/'), std::process::id());
    let target = grafter_target::open(&url, Path::new("."), Access::Write)
        .await
        .unwrap_or_else(|e| panic!("FalkorDB at {server} (start it with scripts/falkordb start): {e}"));
    target.query("MATCH (n) DETACH DELETE n", Vec::new()).await.expect("an empty graph");
    target
}

/// The embedded store in `dir`, or a graph on FalkorDB.
async fn open(on_falkordb: bool, dir: &tempfile::TempDir) -> Box<dyn GraphTarget> {
    if on_falkordb {
        falkordb().await
    } else {
        Box::new(GrafeoTarget::open(&dir.path().join("graph.grafeo"), Access::Write).await.expect("open the store"))
    }
}

/// Two people living in Oslo and one living nowhere.
async fn graph_on(on_falkordb: bool, dir: &tempfile::TempDir) -> Box<dyn GraphTarget> {
    let target = open(on_falkordb, dir).await;
    for statement in [
        "CREATE (:Person {name: 'ann', full: 'Ann Lee', ratio: 1.5})-[:LIVES_IN {since: 2001}]->(:City {name: 'Oslo'})",
        "CREATE (:Person {name: 'bob', full: 'Bob Ray', ratio: 2.25})",
        "CREATE (:Person {name: 'cid', ratio: 3.5})",
        "MATCH (p:Person {name: 'bob'}), (c:City {name: 'Oslo'}) CREATE (p)-[:LIVES_IN {since: 2010}]->(c)",
    ] {
        target.query(statement, Vec::new()).await.expect(statement);
    }
    target
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) {
    let folder = dir.path().join("migrations");
    std::fs::create_dir_all(&folder).expect("migrations/");
    std::fs::write(folder.join(name), text).expect("write the migration");
}

async fn int(target: &dyn GraphTarget, cypher: &str) -> i64 {
    match target.query(cypher, Vec::new()).await.expect(cypher).rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n,
        other => panic!("{cypher} returned {other:?}"),
    }
}

const EVERY_REVERSIBLE_REFACTORING: &str = r#"
batch_size = 1

[[refactor]]
op = "add_property"
label = "Person"
property = "status"
default = "active"

[[refactor]]
op = "rename_property"
label = "Person"
from = "full"
to = "full_name"

[[refactor]]
op = "rename_label"
from = "Person"
to = "Customer"

[[refactor]]
op = "add_label"
label = "Customer"
add = "Party"

[[refactor]]
op = "change_relationship_type"
from = "LIVES_IN"
to = "RESIDES_IN"
start = "Customer"
end = "City"
properties = ["since"]

[[refactor]]
op = "create_index"
name = "customer_name"
label = "Customer"
property = "name"

[[refactor]]
op = "create_unique_constraint"
name = "city_name_unique"
label = "City"
property = "name"

[[refactor]]
op = "transform_property"
label = "Customer"
property = "ratio"
expression = "round(ratio)"
"#;

async fn every_reversible_refactoring_applies_verifies_and_inverts_exactly(on_falkordb: bool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = graph_on(on_falkordb, &dir).await;
    write(&dir, "V0001__everything.toml", EVERY_REVERSIBLE_REFACTORING);
    let set = MigrationSet::load(&dir.path().join("migrations"), target.dialect()).expect("the migration compiles");
    let lines = Mutex::new(Vec::<String>::new());
    let log = |line: &str| lines.lock().expect("log").push(line.to_owned());
    let mut migrator = Migrator::new(target.as_ref(), &set, holder(), Duration::from_secs(60), &log);
    let before = target.reader().fingerprint().await.expect("fingerprint");

    let up = Options { allow_destructive: true, ..Options::default() };
    let Report::Done(done) = migrator.up(&up).await.expect("up") else { panic!("not a dry run") };
    assert_eq!(done.len(), 1);
    let t: &dyn GraphTarget = target.as_ref();
    assert_eq!(int(t, "MATCH (n:Person) RETURN count(n) AS n").await, 0);
    assert_eq!(int(t, "MATCH (n:Customer:Party {status: 'active'}) RETURN count(n) AS n").await, 3);
    assert_eq!(int(t, "MATCH (n:Customer) WHERE n.full IS NOT NULL RETURN count(n) AS n").await, 0);
    assert_eq!(int(t, "MATCH (n:Customer {full_name: 'Ann Lee'}) RETURN count(n) AS n").await, 1);
    assert_eq!(int(t, "MATCH (:Customer)-[r:RESIDES_IN]->(:City) RETURN toInteger(sum(r.since)) AS n").await, 4011);
    assert_eq!(int(t, "MATCH ()-[r:LIVES_IN]->() RETURN count(r) AS n").await, 0);
    // round(1.5) = 2, round(2.25) = 2, round(3.5) = 4; the old values are kept.
    assert_eq!(int(t, "MATCH (n:Customer) RETURN toInteger(sum(n.ratio)) AS n").await, 8);
    assert_eq!(int(t, "MATCH (n:Customer {name: 'bob'}) RETURN toInteger(n.ratio_old * 100) AS n").await, 225);
    let progress = lines.lock().expect("log").clone();
    assert!(progress.iter().any(|l| l == "V0001: 3 nodes transformed"), "one node a batch: {progress:?}");
    assert!(progress.iter().any(|l| l == "V0001: 1 nodes transformed"), "{progress:?}");
    // Batched data changes report their running total, one element a batch here.
    let status_added: Vec<&String> = progress.iter().filter(|l| l.contains("SET n.`status` = $default`")).collect();
    assert_eq!(status_added.len(), 3, "{progress:?}");
    assert!(status_added[2].ends_with(": 3 changed"), "{progress:?}");
    let verified = migrator.verify().await.expect("verify");
    assert!(verified.iter().all(|v| v.failure.is_none()), "{verified:?}");
    let after_up = target.reader().fingerprint().await.expect("fingerprint");

    migrator.down(&Options::default()).await.expect("down");
    assert_eq!(
        target.reader().fingerprint().await.expect("fingerprint"),
        before,
        "down gives back the graph from before"
    );
    migrator.up(&up).await.expect("up again");
    assert_eq!(target.reader().fingerprint().await.expect("fingerprint"), after_up, "up again gives the same graph");
    target.close().await.expect("close");
}

async fn a_transform_continues_where_it_stopped_and_never_transforms_a_node_twice(on_falkordb: bool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = graph_on(on_falkordb, &dir).await;
    // A transform stopped after one node: that node has its `_old` value already.
    target
        .query("MATCH (n:Person {name: 'ann'}) SET n.ratio_old = n.ratio, n.ratio = 2.0", Vec::new())
        .await
        .expect("half-done state");
    let step = grafter_schema::TransformStep {
        label: "Person".into(),
        property: "ratio".into(),
        expression: "ratio * 10".into(),
    };
    let mut batches = Vec::new();
    let done =
        grafter_schema::transform::run(target.as_ref(), &step, 1, &mut |n| batches.push(n)).await.expect("transform");
    assert_eq!(done, 2, "only the two nodes not done yet");
    assert_eq!(batches, [1, 2]);
    let t: &dyn GraphTarget = target.as_ref();
    assert_eq!(int(t, "MATCH (n:Person {name: 'ann'}) RETURN toInteger(n.ratio * 10) AS n").await, 20, "not again");
    assert_eq!(int(t, "MATCH (n:Person {name: 'cid'}) RETURN toInteger(n.ratio) AS n").await, 35);
    target.close().await.expect("close");
}

async fn a_one_way_refactoring_cannot_be_reverted(on_falkordb: bool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = graph_on(on_falkordb, &dir).await;
    write(
        &dir,
        "V0001__drop_full.toml",
        "[[refactor]]\nop = \"remove_property\"\nlabel = \"Person\"\nproperty = \"full\"\n",
    );
    let set = MigrationSet::load(&dir.path().join("migrations"), target.dialect()).expect("the migration compiles");
    let log = |_: &str| {};
    let mut migrator = Migrator::new(target.as_ref(), &set, holder(), Duration::from_secs(60), &log);
    let refused = migrator.up(&Options::default()).await.expect_err("destructive without the flag");
    assert!(matches!(refused, SchemaError::Refused { .. }), "{refused}");
    migrator.up(&Options { allow_destructive: true, ..Options::default() }).await.expect("up");
    assert_eq!(int(target.as_ref(), "MATCH (n:Person) WHERE n.full IS NOT NULL RETURN count(n) AS n").await, 0);
    let error = migrator.down(&Options::default()).await.expect_err("one way").to_string();
    assert!(
        error.contains("V0001__drop_full.toml has a one-way refactoring (remove_property or merge_duplicate_nodes)"),
        "{error}"
    );
    target.close().await.expect("close");
}

async fn duplicates_merge_into_one_node_with_every_relationship(on_falkordb: bool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = open(on_falkordb, &dir).await;
    for statement in [
        "CREATE (:City {name: 'Oslo', pop: 700})",
        "CREATE (:City {name: 'Oslo', country: 'NO'})",
        "CREATE (:City {name: 'Oslo'})",
        "CREATE (:City {name: 'Rome'})",
        "CREATE (:Person {name: 'ann'})",
        "MATCH (p:Person), (c:City {country: 'NO'}) CREATE (p)-[:LIVES_IN {since: 2001}]->(c)",
        "MATCH (c:City {country: 'NO'}), (d:City {pop: 700}) CREATE (c)-[:SAME_AS]->(d)",
        "MATCH (c:City), (p:Person) WHERE c.name = 'Oslo' AND c.pop IS NULL AND c.country IS NULL CREATE (c)-[:HOME_OF]->(p)",
    ] {
        target.query(statement, Vec::new()).await.expect(statement);
    }
    write(
        &dir,
        "V0001__merge_cities.toml",
        "batch_size = 1\n[[refactor]]\nop = \"merge_duplicate_nodes\"\nlabel = \"City\"\nkey = [\"name\"]\n",
    );
    let set = MigrationSet::load(&dir.path().join("migrations"), target.dialect()).expect("the migration compiles");
    let log = |_: &str| {};
    let mut migrator = Migrator::new(target.as_ref(), &set, holder(), Duration::from_secs(60), &log);
    let dry = Options { dry_run: true, ..Options::default() };
    let Report::Planned(plan) = migrator.up(&dry).await.expect("dry run") else { panic!("a dry run") };
    let statement = &plan[0].statements[0];
    assert!(statement.destructive);
    assert!(matches!(statement.estimate, grafter_schema::Estimate::Matches(2)), "two duplicates go: {statement:?}");

    migrator.up(&Options { allow_destructive: true, ..Options::default() }).await.expect("up");
    let t: &dyn GraphTarget = target.as_ref();
    assert_eq!(int(t, "MATCH (c:City) RETURN count(c) AS n").await, 2);
    assert_eq!(int(t, "MATCH (c:City {name: 'Oslo', pop: 700, country: 'NO'}) RETURN count(c) AS n").await, 1);
    assert_eq!(
        int(t, "MATCH (:Person)-[r:LIVES_IN {since: 2001}]->(:City {name: 'Oslo'}) RETURN count(r) AS n").await,
        1
    );
    assert_eq!(int(t, "MATCH (:City {name: 'Oslo'})-[r:HOME_OF]->(:Person) RETURN count(r) AS n").await, 1);
    assert_eq!(int(t, "MATCH (c:City)-[r:SAME_AS]->(c) RETURN count(r) AS n").await, 1, "a loop on the survivor");
    assert!(migrator.verify().await.expect("verify").iter().all(|v| v.failure.is_none()));
    target.close().await.expect("close");
}

/// A uniqueness constraint the data already breaks fails its migration, which is rolled back
/// with the graph exactly as before.
async fn a_constraint_the_data_breaks_fails_and_the_graph_is_restored(on_falkordb: bool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = graph_on(on_falkordb, &dir).await;
    target.query("CREATE (:City {name: 'Oslo'})", Vec::new()).await.expect("a second Oslo");
    write(
        &dir,
        "V0001__unique_city.toml",
        "[[refactor]]\nop = \"create_unique_constraint\"\nname = \"city_name\"\nlabel = \"City\"\nproperty = \"name\"\n",
    );
    let set = MigrationSet::load(&dir.path().join("migrations"), target.dialect()).expect("the migration compiles");
    let log = |_: &str| {};
    let mut migrator = Migrator::new(target.as_ref(), &set, holder(), Duration::from_secs(60), &log);
    let before = target.reader().fingerprint().await.expect("fingerprint");
    let error = migrator.up(&Options::default()).await.expect_err("two Oslos").to_string();
    assert!(error.contains("V0001__unique_city.toml"), "{error}");
    let why = if on_falkordb { "the unique constraint on :City(name) cannot hold" } else { "does not hold: 1 row(s)" };
    assert!(error.contains(why), "{error}");
    assert_eq!(target.reader().fingerprint().await.expect("fingerprint"), before);
    let records = grafter_schema::history::load(target.as_ref()).await.expect("history");
    assert_eq!(records[0].status, grafter_schema::MigrationStatus::RolledBack);
    // Nothing was left half-built: a third Oslo is still welcome.
    target.query("CREATE (:City {name: 'Oslo'})", Vec::new()).await.expect("no constraint left behind");
    target.close().await.expect("close");
}

/// Held by each FalkorDB test for its whole length.
static FALKORDB_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Each scenario on the embedded store and on FalkorDB.
macro_rules! on_every_target {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(false).await
            })*
        }
        mod falkordb {
            $(#[tokio::test]
            async fn $scenario() {
                // One at a time: FalkorDB 4.16 deadlocks when two GRAPH.COPY (snapshots) overlap.
                let _one_at_a_time = super::FALKORDB_SERIAL.lock().await;
                super::$scenario(true).await
            })*
        }
    };
}

on_every_target!(
    every_reversible_refactoring_applies_verifies_and_inverts_exactly,
    a_transform_continues_where_it_stopped_and_never_transforms_a_node_twice,
    a_one_way_refactoring_cannot_be_reverted,
    duplicates_merge_into_one_node_with_every_relationship,
    a_constraint_the_data_breaks_fails_and_the_graph_is_restored,
);
