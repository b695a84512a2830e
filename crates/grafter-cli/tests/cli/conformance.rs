//! The conformance suite: the same scenarios on every target — the embedded store,
//! FalkorDB (`falkordb://`, and `bolt://` on its Bolt port), Neo4j 5.26 (`bolt://` and,
//! routed, `neo4j://`), Neo4j 2026.x (`bolt://`) and ArcadeDB (`bolt://`) — each test named
//! `<target>::<scenario>`.
//!
//! What grafter wrote is read back by an independent client wherever one exists: the
//! official Python `neo4j` driver for Neo4j and ArcadeDB, the `falkordb` client for FalkorDB
//! (also for graphs written through its Bolt port, whose graph the driver cannot name), so a
//! bug shared by grafter's writer and its reader cannot hide. The embedded store has no
//! client but grafter: there `grafter query` reads. What the graph should hold is computed
//! from the source with SQL, never taken from grafter's output.
//!
//! Other scenarios run on these targets too: the lock and read-only guards (`guards.rs`),
//! snapshots (`snapshots.rs`).

use crate::common;

use std::collections::BTreeMap;

use common::bolt_servers::{count_back, independent_reader, read_back};
use common::postgres::Postgres;
use common::{Project, Target, chinook, falkordb_server, output_text, server_runs, sqlite};
use grafter_plan::Config;
use rusqlite::types::ValueRef;
use serde_json::{Value as Json, json};

/// Points `project`'s config (written by `grafter init`, with `[target]` and its URL commented
/// out) at a graph of `target`'s that holds nothing yet; the URL (embedded: the default store).
fn point_at(project: &Project, target: Target, name: &str) -> String {
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    if target == Target::Embedded {
        return "grafeo:grafter.grafeo".into();
    }
    let url = target.graph_url(name);
    let line = config.lines().find(|l| l.starts_with("# url = \"grafeo:")).expect("init comments the target URL");
    project.write("grafter.toml", config.replacen(line, &format!("url = \"{url}\""), 1));
    url
}

/// Where the independent client reads a graph grafter wrote at `url`: FalkorDB's Bolt port
/// names the graph in a way the official driver cannot, so its graph is read natively.
fn reader_url(target: Target, url: &str) -> String {
    match target {
        Target::Bolt => {
            let graph = url.split("database=").nth(1).and_then(|rest| rest.split('&').next()).expect("a graph name");
            format!("{}/{graph}", falkordb_server())
        }
        _ => url.to_owned(),
    }
}

/// A typed value as the reader prints it, made comparable: a double by its bits (its text
/// differs between Python and Rust), a fraction of a second without trailing zeros.
fn comparable(value: &Json) -> Json {
    let Some([kind, rest @ ..]) = value.as_array().map(Vec::as_slice) else { return value.clone() };
    match (kind.as_str(), rest) {
        (Some("float"), [Json::String(text)]) => {
            let x: f64 = text.parse().unwrap_or_else(|_| panic!("a double: {text}"));
            json!(["float", format!("{:#x}", x.to_bits())])
        }
        (Some(kind @ ("localdatetime" | "datetime" | "time")), [Json::String(text)]) => {
            json!([kind, without_trailing_zeros(text)])
        }
        (Some("list"), [Json::Array(items)]) => json!(["list", items.iter().map(comparable).collect::<Vec<_>>()]),
        _ => value.clone(),
    }
}

/// `12:00:00.120000000+01:00` → `12:00:00.12+01:00`; `12:00:00.000000000` → `12:00:00`.
fn without_trailing_zeros(text: &str) -> String {
    let Some(dot) = text.find('.') else { return text.to_owned() };
    let end = text[dot + 1..].find(|c: char| !c.is_ascii_digit()).map_or(text.len(), |i| dot + 1 + i);
    let fraction = text[dot + 1..end].trim_end_matches('0');
    let dot_and_fraction = if fraction.is_empty() { String::new() } else { format!(".{fraction}") };
    format!("{}{dot_and_fraction}{}", &text[..dot], &text[end..])
}

/// A value from `grafter query`'s JSON in the reader's typed form (the embedded store, which
/// no other client reads: its temporal values come as text there).
fn typed_from_query(value: &Json) -> Json {
    match value {
        Json::Null => json!(["null"]),
        Json::Bool(b) => json!(["bool", b]),
        Json::Number(n) if n.is_i64() => json!(["int", n.to_string()]),
        Json::Number(n) => json!(["float", format!("{:?}", n.as_f64().expect("a double"))]),
        Json::String(s) => json!(["str", s]),
        Json::Array(items) => json!(["list", items.iter().map(typed_from_query).collect::<Vec<_>>()]),
        Json::Object(_) => json!(["other", value.to_string()]),
    }
}

/// Every node labelled `label`, each its properties (grafter's own left out) typed and made
/// comparable, sorted.
fn nodes_read_back(project: &Project, target: Target, url: &str, label: &str) -> Vec<BTreeMap<String, Json>> {
    let maps: Vec<BTreeMap<String, Json>> = if target == Target::Embedded {
        project
            .query(&format!("MATCH (n:`{label}`) RETURN properties(n) AS p"))
            .iter()
            .map(|row| {
                let properties = row["p"].as_object().expect("properties are a map");
                properties
                    .iter()
                    .filter(|(k, _)| !k.starts_with("_grafter"))
                    .map(|(k, v)| (k.clone(), typed_from_query(v)))
                    .collect()
            })
            .collect()
    } else {
        let dump = read_back(&reader_url(target, url), label);
        dump.as_array()
            .expect("a list of nodes")
            .iter()
            .map(|node| node.as_object().expect("a map").iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .collect()
    };
    let mut maps: Vec<BTreeMap<String, Json>> =
        maps.into_iter().map(|m| m.into_iter().map(|(k, v)| (k, comparable(&v))).collect()).collect();
    maps.sort_by_key(|m| serde_json::to_string(m).expect("JSON"));
    maps
}

/// The rows `cypher` returns, each a list of typed comparable values, sorted.
fn rows_read_back(project: &Project, target: Target, url: &str, cypher: &str, columns: &[&str]) -> Vec<Vec<Json>> {
    let mut rows: Vec<Vec<Json>> = if target == Target::Embedded {
        project.query(cypher).iter().map(|row| columns.iter().map(|c| typed_from_query(&row[*c])).collect()).collect()
    } else {
        let text = independent_reader(&["rows", &reader_url(target, url), cypher]);
        serde_json::from_str::<Vec<Vec<Json>>>(&text).expect("rows as JSON")
    };
    rows = rows.into_iter().map(|row| row.iter().map(comparable).collect()).collect();
    rows.sort_by_key(|row| serde_json::to_string(row).expect("JSON"));
    rows
}

/// Whether the target keeps date-times as such (where the others keep their ISO text, as
/// documented for FalkorDB, and `grafter query` prints them as text).
fn keeps_temporal_types(target: Target) -> bool {
    matches!(target, Target::Neo4j | Target::Neo4jRouted | Target::Neo4j2026 | Target::ArcadeDb)
}

/// A SQLite value as the graph should hold it, typed and comparable (`None` for NULL: no
/// property). `declared` is the column's declared type.
fn expected_from_sqlite(value: ValueRef<'_>, declared: &str, target: Target) -> Option<Json> {
    let typed = match value {
        ValueRef::Null => return None,
        ValueRef::Integer(i) => json!(["int", i.to_string()]),
        ValueRef::Real(x) => json!(["float", format!("{x:?}")]),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).expect("Chinook's text is UTF-8");
            if declared.eq_ignore_ascii_case("DATETIME") {
                let iso = text.replacen(' ', "T", 1);
                if keeps_temporal_types(target) { json!(["localdatetime", iso]) } else { json!(["str", iso]) }
            } else {
                json!(["str", text])
            }
        }
        ValueRef::Blob(_) => panic!("Chinook has no blobs"),
    };
    Some(comparable(&typed))
}

fn chinook_loads_and_every_value_reads_back_as_the_source_holds_it(target: Target) {
    let project = Project::new();
    project.init_from_sqlite(&chinook());
    let url = point_at(&project, target, "chinook");
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);

    let text = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    let config = Config::parse(&text, "grafter.toml", |_| None).expect("a valid config");
    let db = sqlite(&chinook());
    for node in &config.nodes {
        let table = node.table.as_deref().expect("init maps tables");
        let mut statement = db.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
        let columns: Vec<(String, String)> =
            statement.columns().iter().map(|c| (c.name().to_owned(), c.decl_type().unwrap_or("").to_owned())).collect();
        let mut expected: Vec<BTreeMap<String, Json>> = statement
            .query_map([], |row| {
                let mut properties = BTreeMap::new();
                for (i, (name, declared)) in columns.iter().enumerate() {
                    if node.exclude.contains(name) {
                        continue;
                    }
                    if let Some(value) = expected_from_sqlite(row.get_ref(i)?, declared, target) {
                        properties.insert(name.clone(), value);
                    }
                }
                Ok(properties)
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        expected.sort_by_key(|m| serde_json::to_string(m).expect("JSON"));
        let actual = nodes_read_back(&project, target, &url, &node.label);
        assert_eq!(actual.len(), expected.len(), ":{} nodes", node.label);
        if let Some((a, e)) = actual.iter().zip(&expected).find(|(a, e)| a != e) {
            panic!(":{} differs from table {table}:\n graph:  {a:?}\n source: {e:?}", node.label);
        }
    }

    // Every relationship joins the nodes its row names, and no other.
    let key_of = |label: &str| {
        let node = config.nodes.iter().find(|n| n.label == label).expect("a node mapping");
        node.key.to_vec().remove(0)
    };
    for rel in &config.relationships {
        let table = rel.table.as_deref().expect("init maps tables");
        let (start, end) = (rel.start.key.to_vec().remove(0), rel.end.key.to_vec().remove(0));
        let mut statement = db
            .prepare(&format!(
                "SELECT \"{start}\", \"{end}\" FROM \"{table}\" WHERE \"{start}\" IS NOT NULL AND \"{end}\" IS NOT NULL"
            ))
            .expect("select");
        let mut expected: Vec<Vec<Json>> = statement
            .query_map([], |row| Ok(vec![row.get::<_, i64>(0)?, row.get::<_, i64>(1)?]))
            .expect("query")
            .map(|pair| pair.expect("row").iter().map(|k| json!(["int", k.to_string()])).collect())
            .collect();
        expected.sort_by_key(|row| serde_json::to_string(row).expect("JSON"));
        let cypher = format!(
            "MATCH (a:`{}`)-[:`{}`]->(b:`{}`) RETURN a.`{}` AS a, b.`{}` AS b",
            rel.start.label,
            rel.rel_type,
            rel.end.label,
            key_of(&rel.start.label),
            key_of(&rel.end.label)
        );
        let actual = rows_read_back(&project, target, &url, &cypher, &["a", "b"]);
        assert_eq!(actual.len(), expected.len(), "{} relationships of {table}", rel.rel_type);
        assert_eq!(actual, expected, "{} relationships of {table}", rel.rel_type);
    }
}

/// Rows of `query` (or of `table`) in the SQLite database at `path`.
fn sqlite_count(path: &std::path::Path, table: Option<&str>, query: Option<&str>) -> i64 {
    let db = sqlite(path);
    let from = match (table, query) {
        (Some(table), _) => format!("\"{table}\""),
        (None, Some(query)) => format!("({query})"),
        (None, None) => panic!("a mapping reads a table or a query"),
    };
    db.query_row(&format!("SELECT count(*) FROM {from}"), [], |row| row.get(0)).expect("count")
}

fn the_placement_example_loads_and_its_counts_read_back_as_sql_counts_them(target: Target) {
    let url = target.graph_url("placement");
    let project = server_runs::placement_project(4, &url);
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "the example's checks pass too: {}", summary.json);
    let text = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    let config = Config::parse(&text, "grafter.toml", |_| None).expect("a valid config");
    let database = project.file("placement.sqlite");
    let count = |cypher: &str| {
        if target == Target::Embedded {
            project.query_int(cypher)
        } else {
            count_back(&reader_url(target, &url), cypher)
        }
    };
    for node in &config.nodes {
        let expected = sqlite_count(&database, node.table.as_deref(), node.query.as_deref());
        assert!(expected > 0, ":{} has rows to load", node.label);
        assert_eq!(count(&format!("MATCH (n:`{}`) RETURN count(n)", node.label)), expected, ":{}", node.label);
    }
    for rel in &config.relationships {
        let expected = sqlite_count(&database, rel.table.as_deref(), rel.query.as_deref());
        let cypher =
            format!("MATCH (:`{}`)-[r:`{}`]->(:`{}`) RETURN count(r)", rel.start.label, rel.rel_type, rel.end.label);
        assert_eq!(count(&cypher), expected, "{}", rel.rel_type);
    }
}

/// The PostgreSQL values of the round-trip scenario, one row, and each column's expected
/// typed value as the official driver sees it on a server that keeps every Bolt type.
const ROUND_TRIP_TABLE: &str = "CREATE TABLE kinds (
    id integer PRIMARY KEY,
    smallest bigint, largest bigint,
    third double precision, tiny double precision, huge double precision, negative_zero double precision,
    text_all text, raw bytea, day date,
    local_micro timestamp, zoned_micro timestamptz,
    local_nano_text text, zoned_nano_text text,
    span interval, numbers bigint[], words text[], doc jsonb
)";

/// Text with every kind of character the servers must keep: quotes and backslashes, control
/// characters, combining marks, right-to-left text and its override, emoji beyond the BMP
/// with joiners, the replacement character, CJK. (NUL, which PostgreSQL's text cannot hold,
/// is in `falkordb.rs` and `bad_inputs.rs`.)
fn every_kind_of_character() -> String {
    "quote ' double \" back \\ slash, tab\tnew\nline, cr\r, bell \u{7}, del \u{7f}, \
     e\u{301}\u{301}, \u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{202e}rtl, \u{1f600}\u{1f469}\u{200d}\u{1f4bb}, \u{fffd}, 中文"
        .to_owned()
}

fn every_value_type_round_trips_exactly_as_the_official_driver_sees_it(target: Target) {
    let pg = Postgres::new();
    pg.sql(ROUND_TRIP_TABLE);
    let text = every_kind_of_character();
    pg.sql(&format!(
        "INSERT INTO kinds VALUES (1, -9223372036854775808, 9223372036854775807, \
         0.1::float8 + 0.2::float8, 5e-324, 1.7976931348623157e308, '-0'::float8, \
         $t${text}$t$, '\\x00ff10fe'::bytea, '2024-02-29', \
         '2024-02-29 13:05:09.123456', '2024-02-29 13:05:09.123456+05:30', \
         '2024-02-29T13:05:09.123456789', '1969-07-20T20:17:40.000000001-04:00', \
         '1 year 2 mons 3 days 04:05:06.789', ARRAY[-1, 0, 9223372036854775807], ARRAY['a', 'b c', ''], \
         '{{\"b\": [1, \"x\", null], \"a\": {{\"nested\": true}}}}')"
    ));
    let project = Project::new();
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"{}\"\n[source.types]\nbytes = \"raw\"\n\n[[nodes]]\nlabel = \"Kinds\"\ntable = \"kinds\"\nkey = \"id\"\n\
             exclude = [\"local_nano_text\", \"zoned_nano_text\"]\n\
             [nodes.transform]\nlocal_nano = \"parse_datetime(local_nano_text)\"\nzoned_nano = \"parse_datetime(zoned_nano_text)\"\n{}",
            pg.url(),
            target.section("kinds")
        ),
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let url = project.target_url();
    let nodes = nodes_read_back(&project, target, &url, "Kinds");
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    let node = &nodes[0];
    let expect = |property: &str, typed: Json| {
        assert_eq!(node.get(property), Some(&comparable(&typed)), "property `{property}` in {node:?}");
    };
    expect("id", json!(["int", "1"]));
    expect("smallest", json!(["int", i64::MIN.to_string()]));
    expect("largest", json!(["int", i64::MAX.to_string()]));
    // Each double, and a condition only it meets (FalkorDB's parser refuses a subnormal
    // literal: the smallest positive double is the one whose half rounds to zero).
    let doubles = [
        ("third", 0.1f64 + 0.2, "n.third = 0.30000000000000004"),
        ("tiny", 5e-324, "n.tiny > 0.0 AND n.tiny / 2.0 = 0.0"),
        ("huge", f64::MAX, "n.huge = 1.7976931348623157e308"),
    ];
    for (property, x, condition) in doubles {
        if matches!(target, Target::FalkorDb | Target::Bolt) {
            // FalkorDB's replies carry doubles to 15 significant digits (its client shows
            // 0.3, and f64::MAX as infinity): the server holds the stored double to a
            // condition only the exact value meets instead.
            let cypher = format!("MATCH (n:Kinds) WHERE {condition} RETURN count(n)");
            assert_eq!(count_back(&reader_url(target, &url), &cypher), 1, "`{property}` holds exactly {x:?}");
        } else {
            expect(property, json!(["float", format!("{x:?}")]));
        }
    }
    expect("negative_zero", json!(["float", "-0.0"]));
    expect("text_all", json!(["str", text]));
    expect("numbers", json!(["list", [["int", "-1"], ["int", "0"], ["int", i64::MAX.to_string()]]]));
    expect("words", json!(["list", [["str", "a"], ["str", "b c"], ["str", ""]]]));
    // Neo4j keeps no maps in properties: a JSON document is kept as its JSON text (keys
    // sorted), on every target but the embedded store, which keeps maps.
    if target != Target::Embedded {
        let doc = node.get("doc").and_then(|v| v.get(1)).and_then(Json::as_str).expect("the document as text");
        let parsed: Json = serde_json::from_str(doc).expect("JSON text");
        assert_eq!(parsed, json!({"a": {"nested": true}, "b": [1, "x", null]}));
    }
    if keeps_temporal_types(target) {
        expect("raw", json!(["bytes", "00ff10fe"]));
        expect("day", json!(["date", "2024-02-29"]));
        expect("local_micro", json!(["localdatetime", "2024-02-29T13:05:09.123456"]));
        expect("local_nano", json!(["localdatetime", "2024-02-29T13:05:09.123456789"]));
        // ArcadeDB has no zoned date-time (it would keep the UTC time and lose the offset):
        // there grafter keeps the ISO 8601 text, offset and all.
        let zoned = if target == Target::ArcadeDb { "str" } else { "datetime" };
        expect("zoned_micro", json!([zoned, "2024-02-29T07:35:09.123456+00:00"]));
        expect("zoned_nano", json!([zoned, "1969-07-20T20:17:40.000000001-04:00"]));
        // 1 year 2 months, 3 days, 4 h 5 min 6.789 s.
        expect("span", json!(["duration", 14, 3, 14706, 789_000_000]));
    } else {
        // Kept as text (ISO 8601, base64 for bytes), as the README documents for FalkorDB.
        expect("day", json!(["str", "2024-02-29"]));
        expect("local_nano", json!(["str", "2024-02-29T13:05:09.123456789"]));
        expect("zoned_nano", json!(["str", "1969-07-20T20:17:40.000000001-04:00"]));
        for property in ["raw", "local_micro", "zoned_micro", "span"] {
            assert_eq!(node.get(property).and_then(|v| v[0].as_str()), Some("str"), "`{property}`: {node:?}");
        }
    }
}

/// Ten points where grafter is killed (SIGKILL, by itself: `GRAFTER_KILL_AT`): inside a
/// batch's transaction before its commit, just after a commit (early, in node mappings, and
/// late, in relationship mappings), and while validating.
const KILL_POINTS: [&str; 10] = [
    "before-commit:1",
    "before-commit:4",
    "before-commit:11",
    "before-commit:23",
    "after-commit:1",
    "after-commit:6",
    "after-commit:17",
    "after-commit:29",
    "before-commit:29",
    "validating:1",
];

fn a_run_killed_at_ten_points_resumes_each_time_to_one_clean_runs_fingerprint(target: Target) {
    let clean = server_runs::placement_project(3, &target.graph_url("clean"));
    clean.run(&["--batch-size", "25"]).assert_every_row_accounted_for();
    let expected = clean.fingerprint();
    for kill_at in KILL_POINTS {
        let project = server_runs::twin(&clean, &target.graph_url("killed"));
        let output = project
            .grafter()
            .args(["run", "-q", "--batch-size", "25"])
            .env("GRAFTER_KILL_AT", kill_at)
            .output()
            .expect("start grafter");
        assert!(!output.status.success(), "{kill_at}: the run should have been killed: {}", output_text(&output).1);
        let summary = project.run(&[]);
        server_runs::assert_resumed_run_accounts_for_every_row(&summary);
        assert_eq!(summary.json["verification"]["passed"], true, "{kill_at}: {}", summary.json);
        assert_eq!(project.fingerprint(), expected, "{kill_at}: the resumed graph differs from a clean run's");
    }
}

fn a_rollback_brings_back_the_graph_as_it_was_before_the_run(target: Target) {
    let project = Project::new();
    let items = |changed: bool| {
        let mut csv = String::from("id,name,price\n");
        for i in 1..=300 {
            let price = if changed && i % 7 == 0 { format!("{}.5", i) } else { format!("{i}.25") };
            csv.push_str(&format!("{i},item {i},{price}\n"));
        }
        if changed {
            csv.push_str("301,new item,1.0\n");
        }
        csv
    };
    project.write("data/items.csv", items(false));
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n\
             [nodes.transform]\nid = \"int(id)\"\nprice = \"float(price)\"\n{}",
            target.section("rollback")
        ),
    );
    project.run(&[]);
    let before = project.fingerprint();
    project.write("data/items.csv", items(true));
    project.run(&["--fresh"]);
    assert_ne!(project.fingerprint(), before, "the second run changed the graph");
    let rollback = project.grafter().args(["rollback", "--last"]).output().expect("rollback");
    assert!(rollback.status.success(), "{}", output_text(&rollback).1);
    assert_eq!(project.fingerprint(), before, "the graph is as it was before the second run");
    assert_eq!(project.query_int("MATCH (i:Item) RETURN count(i)"), 300);
}

fn each_node_key_becomes_a_uniqueness_constraint_that_refuses_a_duplicate(target: Target) {
    let project = Project::new();
    project.write("data/items.csv", "id,region,name\n1,eu,a\n2,eu,b\n1,us,c\n");
    project.write("data/tags.csv", "tag\nx\ny\n");
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = [\"id\", \"region\"]\n\
             [nodes.transform]\nid = \"int(id)\"\n\n[[nodes]]\nlabel = \"Tag\"\ntable = \"tags\"\nkey = \"tag\"\n{}",
            target.section("keys")
        ),
    );
    project.run(&[]);
    let url = project.target_url();
    let constraints = rows_read_back(
        &project,
        target,
        &url,
        "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties WHERE type = 'UNIQUENESS' RETURN labelsOrTypes, properties",
        &[],
    );
    let list = |items: &[&str]| json!(["list", items.iter().map(|i| json!(["str", i])).collect::<Vec<_>>()]);
    for (label, key) in [("Item", &["id", "region"][..]), ("Tag", &["tag"][..])] {
        assert!(
            constraints.contains(&vec![list(&[label]), list(key)]),
            "no constraint on :{label} {key:?}: {constraints:?}"
        );
    }
    // The server itself now refuses a second node with a key that is there.
    let duplicate =
        project.grafter().args(["query", "--write", "CREATE (:Item {id: 1, region: 'eu'})"]).output().expect("query");
    assert!(!duplicate.status.success(), "a duplicate key was accepted");
    assert_eq!(project.query_int("MATCH (i:Item) RETURN count(i)"), 3);
    // A second run finds the constraints in place and loads nothing twice.
    let again = project.run(&["--fresh"]);
    assert_eq!(again.json["verification"]["passed"], true, "{}", again.json);
    assert_eq!(project.query_int("MATCH (i:Item) RETURN count(i)"), 3);
    // verify finds each label's key held by a constraint.
    let verify = project.grafter().args(["verify", "--format", "json"]).output().expect("verify");
    let report: Json = serde_json::from_slice(&verify.stdout).expect("a JSON report");
    assert_eq!(
        report["key_constraints"],
        json!([
            {"label": "Item", "properties": ["id", "region"], "held": true, "building": false},
            {"label": "Tag", "properties": ["tag"], "held": true, "building": false},
        ])
    );
}

/// Relationship batches that cannot simply be created — their relationships are there
/// already (a `--fresh` run over a loaded graph), or an end node is missing — are written
/// exactly as the record-by-record way writes them: updated in place, never twice, and the
/// record without its end rejected with the reason. (On Neo4j a batch is first tried as one
/// statement that writes only when nothing needs a closer look; these are the batches it
/// hands on.)
fn relationships_already_there_or_without_an_end_are_updated_or_rejected_not_duplicated(target: Target) {
    let project = Project::new();
    let people: String = (1..=5).map(|id| format!("{{\"id\": {id}}}\n")).collect();
    project.write("data/people.ndjson", people);
    let knows = |rows: &[(i64, i64, i64)]| -> String {
        rows.iter()
            .map(|(id, src, dst)| format!("{{\"id\": {id}, \"src\": {src}, \"dst\": {dst}, \"since\": {id}}}\n"))
            .collect()
    };
    project.write("data/knows.ndjson", knows(&[(1, 1, 2), (2, 2, 3), (3, 4, 5)]));
    // The graph's URL, asked for once (asking empties the shared database again).
    let url = target.graph_url("rels_again");
    let section = if target == Target::Embedded { String::new() } else { format!("\n[target]\nurl = \"{url}\"\n") };
    let config = format!(
        "[source]\nurl = \"ndjson:data\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n\n\
         [[relationships]]\nname = \"knows\"\ntype = \"KNOWS\"\ntable = \"knows\"\n\
         start = {{ label = \"Person\", key = \"src\" }}\nend = {{ label = \"Person\", key = \"dst\" }}\ncolumns = [\"since\"]\n{}",
        section
    );
    project.write("grafter.toml", &config);
    let relationships = |project: &Project| -> i64 {
        let cypher = "MATCH (:Person)-[k:KNOWS]->(:Person) RETURN count(k) AS n";
        if target.is_bolt() { count_back(&reader_url(target, &url), cypher) } else { project.query_int(cypher) }
    };
    let first = project.run(&[]);
    assert_eq!((first.mapping("knows").created, first.mapping("knows").rejected), (3, 0));
    assert_eq!(relationships(&project), 3);

    // Every relationship is there: updated in place.
    let again = project.run(&["--fresh"]);
    let knows_again = again.mapping("knows");
    assert_eq!((knows_again.created, knows_again.updated, knows_again.rejected), (0, 3, 0), "{}", again.json);
    assert_eq!(relationships(&project), 3, "nothing written twice");

    // One new, one whose end does not exist: the new one created, the other rejected.
    project.write("data/knows.ndjson", knows(&[(1, 1, 2), (2, 2, 3), (3, 4, 5), (4, 3, 4), (5, 5, 99)]));
    let third = project.run(&["--fresh"]);
    let knows_third = third.mapping("knows");
    assert_eq!((knows_third.created, knows_third.updated, knows_third.rejected), (1, 3, 1), "{}", third.json);
    assert_eq!(relationships(&project), 4);
    let rejects = std::fs::read_to_string(project.file("grafter.rejects.ndjson")).expect("the reject file");
    assert!(rejects.contains("end node") && rejects.contains("(:Person {id: 99}) not found"), "{rejects}");
}

/// A key met twice in the source is written once, from its first row, and its second row is
/// rejected as a duplicate naming the key: in one run, and in a run killed between the two
/// rows and resumed, which ends with the clean run's graph. (On Neo4j the nodes of a label
/// new to the graph are written without a lookup and the key's constraint refuses the
/// second row, whose batch is then written the lookup way; a resumed run learns from its
/// checkpoints that the label is its own, so the second row is still a duplicate, not an
/// update of a node from before the run.)
fn a_key_met_twice_is_rejected_once_in_a_whole_run_and_in_a_resumed_one(target: Target) {
    let write_source = |project: &Project, url: &str| {
        // 59 people in batches of 10; id 7 again as the 45th row, with another rank.
        let mut people: Vec<String> = (1..=59).map(|id| format!("{{\"id\": {id}, \"rank\": {id}}}\n")).collect();
        people.insert(44, "{\"id\": 7, \"rank\": 700}\n".to_owned());
        project.write("data/people.ndjson", people.concat());
        let knows: String = (1..59).map(|id| format!("{{\"src\": {id}, \"dst\": {}}}\n", id + 1)).collect();
        project.write("data/knows.ndjson", knows);
        let section = if target == Target::Embedded { String::new() } else { format!("\n[target]\nurl = \"{url}\"\n") };
        project.write(
            "grafter.toml",
            format!(
                "[source]\nurl = \"ndjson:data\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n\n\
                 [[relationships]]\nname = \"knows\"\ntype = \"KNOWS\"\ntable = \"knows\"\n\
                 start = {{ label = \"Person\", key = \"src\" }}\nend = {{ label = \"Person\", key = \"dst\" }}\n{section}"
            ),
        );
    };
    let read_back = |project: &Project, url: &str, cypher: &str| -> i64 {
        if target.is_bolt() { count_back(&reader_url(target, url), cypher) } else { project.query_int(cypher) }
    };
    let check = |project: &Project, url: &str, people_rejected: u64| {
        assert_eq!(read_back(project, url, "MATCH (p:Person) RETURN count(p) AS n"), 59);
        assert_eq!(read_back(project, url, "MATCH (p:Person {id: 7}) RETURN p.rank AS n"), 7, "the first row wins");
        assert_eq!(read_back(project, url, "MATCH (:Person)-[k:KNOWS]->(:Person) RETURN count(k) AS n"), 58);
        assert_eq!(people_rejected, 1);
        let rejects = std::fs::read_to_string(project.file("grafter.rejects.ndjson")).expect("the reject file");
        assert_eq!(rejects.lines().count(), 1, "{rejects}");
        assert!(
            rejects.contains("duplicate key") && rejects.contains("(:Person {id: 7}) was already written by this run"),
            "{rejects}"
        );
    };
    let clean = Project::new();
    let clean_url = target.graph_url("dup_clean");
    write_source(&clean, &clean_url);
    let whole = clean.run(&["--batch-size", "10", "--workers", "1"]);
    whole.assert_every_row_accounted_for();
    assert_eq!(whole.mapping("people").created, 59, "{}", whole.json);
    check(&clean, &clean_url, whole.mapping("people").rejected);
    let expected = clean.fingerprint();

    // Killed after the second batch, before the row met twice comes again.
    let killed = Project::new();
    let killed_url = target.graph_url("dup_killed");
    write_source(&killed, &killed_url);
    let output = killed
        .grafter()
        .args(["run", "-q", "--batch-size", "10", "--workers", "1"])
        .env("GRAFTER_KILL_AT", "after-commit:2")
        .output()
        .expect("start grafter");
    assert!(!output.status.success(), "the run should have been killed: {}", output_text(&output).1);
    let resumed = killed.run(&["--workers", "1"]);
    server_runs::assert_resumed_run_accounts_for_every_row(&resumed);
    assert_eq!(resumed.json["verification"]["passed"], true, "{}", resumed.json);
    check(&killed, &killed_url, resumed.mapping("people").rejected);
    assert_eq!(killed.fingerprint(), expected, "the resumed graph differs from a clean run's");
}

/// Many relationships between the same two nodes, told apart by their key (payments between
/// two accounts): all loaded, none merged into another; a second run updates each in place
/// by its key and adds the new ones; a row without its end is rejected. On Neo4j the key
/// gets an index, through which grafter finds them (expanding from two such nodes costs as
/// much as there are relationships between them: minutes for 200,000).
fn keyed_relationships_between_the_same_two_nodes_stay_apart_and_update_in_place(target: Target) {
    let project = Project::new();
    project.write("data/accounts.ndjson", "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n");
    let payments = |count: i64, changed: i64| -> String {
        let mut rows: String = (1..=count)
            .map(|id| {
                let amount = if id <= changed { id * 1000 } else { id };
                let (src, dst) = if id % 3 == 0 { (2, 1) } else { (1, 2) };
                format!("{{\"id\": {id}, \"src\": {src}, \"dst\": {dst}, \"amount\": {amount}}}\n")
            })
            .collect();
        rows.push_str("{\"id\": 9999, \"src\": 1, \"dst\": 77, \"amount\": 1}\n");
        rows
    };
    project.write("data/payments.ndjson", payments(300, 0));
    let url = target.graph_url("keyed_rels");
    let section = if target == Target::Embedded { String::new() } else { format!("\n[target]\nurl = \"{url}\"\n") };
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[[nodes]]\nlabel = \"Account\"\ntable = \"accounts\"\nkey = \"id\"\n\n\
             [[relationships]]\nname = \"paid\"\ntype = \"PAID\"\ntable = \"payments\"\nkey = [\"id\"]\n\
             start = {{ label = \"Account\", key = \"src\" }}\nend = {{ label = \"Account\", key = \"dst\" }}\n\
             columns = [\"id\", \"amount\"]\n{section}"
        ),
    );
    let read_back = |cypher: &str| -> i64 {
        if target.is_bolt() { count_back(&reader_url(target, &url), cypher) } else { project.query_int(cypher) }
    };
    let first = project.run(&["--batch-size", "50"]);
    let paid = first.mapping("paid");
    assert_eq!((paid.created, paid.updated, paid.rejected), (300, 0, 1), "{}", first.json);
    assert_eq!(read_back("MATCH (:Account {id: 1})-[p:PAID]->(:Account {id: 2}) RETURN count(p) AS n"), 200);
    assert_eq!(read_back("MATCH (:Account {id: 2})-[p:PAID]->(:Account {id: 1}) RETURN count(p) AS n"), 100);
    if matches!(target, Target::Neo4j | Target::Neo4jRouted | Target::Neo4j2026) {
        let indexed = read_back(
            "SHOW INDEXES YIELD entityType, labelsOrTypes, properties, state \
             WHERE entityType = 'RELATIONSHIP' AND labelsOrTypes = ['PAID'] AND properties = ['id'] AND state = 'ONLINE' \
             RETURN count(*) AS n",
        );
        assert_eq!(indexed, 1, "no index on the relationship key");
    }

    // Ten amounts changed and five payments more: updated in place by key, the new ones added.
    project.write("data/payments.ndjson", payments(305, 10));
    let second = project.run(&["--fresh", "--batch-size", "50"]);
    let paid = second.mapping("paid");
    assert_eq!((paid.created, paid.updated, paid.rejected), (5, 300, 1), "{}", second.json);
    assert_eq!(second.json["verification"]["passed"], true, "{}", second.json);
    assert_eq!(read_back("MATCH (:Account)-[p:PAID]->(:Account) RETURN count(p) AS n"), 305);
    let expected: i64 = (1..=305).map(|id| if id <= 10 { id * 1000 } else { id }).sum();
    assert_eq!(read_back("MATCH (:Account)-[p:PAID]->(:Account) RETURN toInteger(sum(p.amount)) AS n"), expected);
    assert_eq!(read_back("MATCH (:Account)-[p:PAID {id: 7}]->(:Account) RETURN p.amount AS n"), 7000);
}

/// A wrong password and a database the server does not have are each named as such, with
/// the URL (its password hidden) and a hint; the run writes nothing and says nothing secret.
fn a_wrong_password_and_a_missing_database_are_named_with_a_hint(target: Target) {
    let server = target.graph_url("login");
    let project = Project::new();
    project.write("data/a.ndjson", "{\"id\": 1}\n");
    let (base, _) = server.split_once('?').unwrap_or((&server, ""));
    let (scheme, rest) = base.split_once("://").expect("a URL");
    let (user, host) =
        rest.split_once(':').map(|(user, rest)| (user, rest.rsplit_once('@').expect("@").1)).expect("user");
    for (url, expected) in [
        (format!("{scheme}://{user}:n0t-the-Pa55word@{host}"), "authentication failed"),
        (
            format!("{scheme}://{user}:{}@{host}?database=no_such_db", password_of(&server)),
            "has no database `no_such_db`",
        ),
    ] {
        project.write(
            "grafter.toml",
            format!("[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}\"\n\n[[nodes]]\nlabel = \"A\"\ntable = \"a\"\nkey = \"id\"\n"),
        );
        let output = project.grafter().args(["run", "-q"]).output().expect("run");
        let (stdout, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(expected) && stderr.contains("hint:"), "{stderr}");
        assert!(stderr.contains(&format!("{user}:***@")), "the URL is named, its password hidden: {stderr}");
        for secret in ["n0t-the-Pa55word", password_of(&server).as_str()] {
            assert!(!stderr.contains(secret) && !stdout.contains(secret), "{stderr}");
        }
    }
    assert_eq!(count_back(&reader_url(target, &server), "MATCH (a:A) RETURN count(a)"), 0, "nothing was written");
}

/// A Neo4j of the test's own (`scripts/neo4j` on a free port, its data kept when it dies),
/// to kill under a run and start again on what it had committed.
struct PrivateNeo4j {
    port: u16,
}

impl PrivateNeo4j {
    fn script(&self, command: &str) -> std::process::Output {
        std::process::Command::new(common::package_dir().join("../../scripts/neo4j"))
            .arg(command)
            .env("NEO4J_PORT", self.port.to_string())
            .env("NEO4J_KEEP_DATA", "1")
            .output()
            .expect("scripts/neo4j")
    }

    fn start() -> PrivateNeo4j {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let server = PrivateNeo4j { port: listener.local_addr().expect("address").port() };
        drop(listener);
        server.restart();
        server
    }

    fn restart(&self) {
        let output = self.script("start");
        assert!(output.status.success(), "scripts/neo4j start: {}", output_text(&output).1);
    }

    fn url(&self) -> String {
        let shared = common::bolt_servers::neo4j_server();
        let credentials = shared.split_once("://").expect("URL").1.rsplit_once('@').expect("credentials").0.to_owned();
        format!("bolt://{credentials}@127.0.0.1:{}", self.port)
    }

    /// SIGKILL, as a crash of the machine it runs on would.
    fn kill(&self) {
        let pid = std::fs::read_to_string(state_dir_of(self.port).join("server.pid")).expect("its pid file");
        let status = std::process::Command::new("kill").args(["-9", pid.trim()]).status().expect("kill");
        assert!(status.success());
    }
}

/// Where `scripts/neo4j` keeps the server on `port`.
fn state_dir_of(port: u16) -> std::path::PathBuf {
    std::env::var_os("TMPDIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp"), std::path::PathBuf::from)
        .join(format!("grafter-neo4j-{port}"))
}

impl Drop for PrivateNeo4j {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}

/// Neo4j killed (SIGKILL) while a run writes: the run fails within seconds, saying the server
/// does not answer and that the run resumes; Neo4j comes back with what it had committed
/// (each batch with its checkpoint, in one transaction), and the resumed run completes to
/// one clean run's graph.
fn neo4j_killed_mid_run_fails_the_run_within_seconds_and_a_resume_completes_it_exactly(target: Target) {
    let clean = server_runs::placement_project(10, &target.graph_url("clean"));
    clean.run(&["--no-verify", "--batch-size", "40"]).assert_every_row_accounted_for();
    let expected = clean.fingerprint();

    let server = PrivateNeo4j::start();
    let project = server_runs::twin(&clean, &server.url());
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", "40"])
        .env("GRAFTER_SLOW_BATCH_MS", "50")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the run");
    let started = std::time::Instant::now();
    while project.count_so_far("MATCH (n:ResourceProvider) RETURN count(n) AS n") == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the run wrote nothing in a minute");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(run.try_wait().expect("poll").is_none(), "the run finished before the server could be killed");
    server.kill();
    let killed_at = std::time::Instant::now();
    let output = run.wait_with_output().expect("wait for the run");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(killed_at.elapsed() < std::time::Duration::from_secs(40), "took {:?} to fail", killed_at.elapsed());
    assert!(stderr.contains("does not answer") && stderr.contains("resumes"), "{stderr}");

    server.restart();
    let summary = project.run(&[]);
    server_runs::assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(project.fingerprint(), expected, "the resumed graph differs from a clean run's");
}

/// The password in a `scheme://user:password@host` URL.
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL").1;
    let userinfo = rest.rsplit_once('@').expect("credentials").0;
    userinfo.split_once(':').expect("a password").1.to_owned()
}

on_every_target_with_bolt!(
    chinook_loads_and_every_value_reads_back_as_the_source_holds_it,
    the_placement_example_loads_and_its_counts_read_back_as_sql_counts_them,
    every_value_type_round_trips_exactly_as_the_official_driver_sees_it,
    a_run_killed_at_ten_points_resumes_each_time_to_one_clean_runs_fingerprint,
    a_rollback_brings_back_the_graph_as_it_was_before_the_run,
);

/// The same scenarios on the newer Neo4j (2026.x, a calendar version): what users who keep
/// up with Neo4j run.
mod calendar_neo4j {
    use super::*;

    on_targets!(
        [neo4j_2026 => Neo4j2026]
        [
            chinook_loads_and_every_value_reads_back_as_the_source_holds_it,
            the_placement_example_loads_and_its_counts_read_back_as_sql_counts_them,
            every_value_type_round_trips_exactly_as_the_official_driver_sees_it,
            a_run_killed_at_ten_points_resumes_each_time_to_one_clean_runs_fingerprint,
            a_rollback_brings_back_the_graph_as_it_was_before_the_run,
            each_node_key_becomes_a_uniqueness_constraint_that_refuses_a_duplicate,
            a_wrong_password_and_a_missing_database_are_named_with_a_hint,
            relationships_already_there_or_without_an_end_are_updated_or_rejected_not_duplicated,
            a_key_met_twice_is_rejected_once_in_a_whole_run_and_in_a_resumed_one,
            keyed_relationships_between_the_same_two_nodes_stay_apart_and_update_in_place,
        ]
    );
}

mod relationships_again {
    use super::*;

    on_targets!(
        [embedded => Embedded, falkordb => FalkorDb, neo4j => Neo4j, arcadedb => ArcadeDb]
        [
            relationships_already_there_or_without_an_end_are_updated_or_rejected_not_duplicated,
            a_key_met_twice_is_rejected_once_in_a_whole_run_and_in_a_resumed_one,
            keyed_relationships_between_the_same_two_nodes_stay_apart_and_update_in_place,
        ]
    );
}

mod killed_server {
    use super::*;

    on_targets!(
        [neo4j => Neo4j]
        [neo4j_killed_mid_run_fails_the_run_within_seconds_and_a_resume_completes_it_exactly]
    );
}

mod neo4j_servers {
    use super::*;

    on_targets!(
        [neo4j => Neo4j, neo4j_routed => Neo4jRouted, arcadedb => ArcadeDb]
        [
            each_node_key_becomes_a_uniqueness_constraint_that_refuses_a_duplicate,
            a_wrong_password_and_a_missing_database_are_named_with_a_hint,
        ]
    );
}
