//! The Bolt target end to end, against FalkorDB's Bolt port (`scripts/falkordb start` opens it
//! on 127.0.0.1:7687), the only Bolt server on this machine: Chinook lands through
//! `bolt://` with every row and verifies; statements stay under a small byte cap (batches
//! bigger than one statement are staged in the graph, then applied in one); a run killed
//! anywhere resumes to the fingerprint of one clean run; a second run is refused while one
//! holds the graph; rollback restores the graph from the snapshot kept beside it; tricky
//! values written by grafter read back equal through the official Python `neo4j` driver; a
//! record too big for FalkorDB's Bolt port is rejected, never sent.
//!
//! FalkorDB's Bolt port crashes on statements above 4 KB: these tests use a cap of 2,048 bytes,
//! so that a mistake in the sizing shows here first, against our own graphs.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::{Project, bolt_graph, chinook, falkordb_serial, output_text, server_runs, sql_int, sqlite};

/// The byte cap of the tests' statements.
const CAP: &str = "&max_message_bytes=2048";

/// A project loading Chinook (SQLite) into a fresh graph through Bolt.
fn chinook_project(settings: &str) -> Project {
    let project = Project::new();
    project.init_from_sqlite(&chinook());
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("read config");
    let url = bolt_graph("chinook", settings);
    let config = config.replacen("# url = \"grafeo:graph.grafeo\"", &format!("url = \"{url}\""), 1);
    assert!(config.contains(&url), "the generated config has a [target] url line to fill in");
    project.write("grafter.toml", config);
    project
}

/// What grafter keeps only while a run is in progress: none of it may be left.
fn assert_no_leftovers(project: &Project) {
    assert_eq!(project.query_int("MATCH (n) WHERE n._grafter_run IS NOT NULL RETURN count(n) AS n"), 0);
    assert_eq!(project.query_int("MATCH ()-[r]->() WHERE r._grafter_run IS NOT NULL RETURN count(r) AS n"), 0);
    assert_eq!(project.query_int("MATCH (s:_GrafterStage) RETURN count(s) AS n"), 0);
}

#[test]
fn chinook_lands_through_bolt_under_a_small_cap_verifies_reruns_idempotently_and_rolls_back_to_empty() {
    let _one_at_a_time = falkordb_serial();
    let project = chinook_project(CAP);
    // Default batches (10,000 rows) are far bigger than one 2 KB statement: they are staged.
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "{}", summary.json);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);

    project.assert_chinook_counts();
    // Doubles arrive whole (UnitPrice 0.99 is not 0.99 in binary).
    assert_eq!(
        project.query_int("MATCH (t:Track) WHERE t.UnitPrice = 0.99 RETURN count(t) AS n"),
        sql_int(&sqlite(&chinook()), "SELECT count(*) FROM Track WHERE UnitPrice = 0.99")
    );
    assert_no_leftovers(&project);
    // The server's own DDL made the key indexes (FalkorDB's `db.indexes()`).
    let indexed = project.query("CALL db.indexes() YIELD label RETURN label");
    assert!(indexed.iter().any(|row| row["label"] == "Track"), "{indexed:?}");
    let loaded = project.fingerprint();

    // Loading again from scratch updates every element in place: the same graph.
    let again = project.run(&["--fresh"]);
    again.assert_every_row_accounted_for();
    assert!(again.mappings().iter().all(|m| m.created == 0 && m.updated == m.read), "{}", again.json);
    assert_eq!(project.fingerprint(), loaded);

    // Rolling back the second run restores the first one's graph; the first, an empty one.
    let rollback = project.grafter().args(["rollback", "--last"]).output().expect("start grafter");
    assert!(rollback.status.success(), "rollback: {}", output_text(&rollback).1);
    assert_eq!(project.fingerprint(), loaded);
    let rollback = project.grafter().args(["rollback", "--last"]).output().expect("start grafter");
    assert!(rollback.status.success(), "rollback: {}", output_text(&rollback).1);
    assert_eq!(project.label_counts(), Default::default());
    assert_eq!(
        project.query_int(
            "MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH '_GrafterSnapshot') RETURN count(n) AS n"
        ),
        0
    );
}

#[test]
fn a_run_killed_anywhere_resumes_to_the_fingerprint_of_one_clean_run() {
    let _one_at_a_time = falkordb_serial();
    let clean = server_runs::placement_project(4, &bolt_graph("clean", CAP));
    clean.run(&["--batch-size", "40"]).assert_every_row_accounted_for();
    // Stage nodes and run marks of the killed attempts are gone once each resume finishes.
    server_runs::assert_killed_runs_resume_to_a_clean_run(
        &clean,
        || bolt_graph("killed", CAP),
        "40",
        assert_no_leftovers,
    );
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_graph() {
    let _one_at_a_time = falkordb_serial();
    server_runs::assert_a_second_run_is_refused(&server_runs::placement_project(3, &bolt_graph("locked", CAP)));
}

#[test]
fn a_refused_login_is_reported_without_the_password() {
    let _one_at_a_time = falkordb_serial();
    let project = Project::new();
    // FalkorDB here has no password set, so any password is refused.
    let url = common::bolt_server().replacen("bolt://", "bolt://falkordb:s3cret-pw@", 1);
    project.write(
        "grafter.toml",
        format!("[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}?database=login\"\n\n[[nodes]]\nlabel = \"A\"\ntable = \"a\"\nkey = \"id\"\n"),
    );
    project.write("data/a.ndjson", "{\"id\": 1}\n");
    let output = project.grafter().args(["run", "-q"]).output().expect("start grafter");
    let (stdout, stderr) = output_text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(stderr.contains("authentication failed") && stderr.contains("falkordb:***@"), "{stderr}");
    assert!(!stdout.contains("s3cret-pw") && !stderr.contains("s3cret-pw"), "{stderr}");
}

/// Runs a project some of whose rows the server cannot keep: the run writes every other row,
/// rejects those (reject file, with the reason), and its verification expects them rejected
/// (it once reported them missing and failed the run): nothing is lost silently, and nothing
/// is counted twice.
fn run_that_rejects_rows(project: &Project) -> common::Summary {
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let verify = project.grafter().args(["verify", "--format", "json"]).output().expect("start grafter");
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("verify JSON");
    assert!(verify.status.success(), "{report}");
    assert!(common::findings(&report).is_empty(), "{report}");
    summary
}

#[test]
fn a_record_too_big_for_falkordbs_bolt_port_is_rejected_with_the_reason_and_never_sent() {
    let _one_at_a_time = falkordb_serial();
    let project = Project::new();
    let big = "x".repeat(5_000);
    project.write(
        "data/notes.ndjson",
        format!("{{\"id\": 1, \"text\": \"short\"}}\n{{\"id\": 2, \"text\": \"{big}\"}}\n{{\"id\": 3, \"text\": \"also short\"}}\n"),
    );
    // No cap set: FalkorDB's own limit applies (4 KB of text per statement).
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{}\"\n\n[[nodes]]\nlabel = \"Note\"\ntable = \"notes\"\nkey = \"id\"\n",
            bolt_graph("big", "")
        ),
    );
    let summary = run_that_rejects_rows(&project);
    assert_eq!((summary.mapping("notes").written, summary.mapping("notes").rejected), (2, 1), "{}", summary.json);
    let rejects = project.rejects();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let reason = rejects[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("does not fit in a statement") && reason.contains("falkordb://"), "{reason}");
    // The server is still there, with the other two.
    assert_eq!(project.query_int("MATCH (n:Note) RETURN count(n) AS n"), 2);
}

/// Values written through grafter's Bolt path, as the official Python driver reads them back.
/// FalkorDB 4.16 takes a graph's name from the first key of RUN's `extra`, so the driver
/// (`database="db"` → `{db: "db"}`) reaches only the graph called `db`: the test writes there,
/// after emptying it (it holds nothing else: only misaddressed Bolt clients create it).
#[test]
fn tricky_values_written_through_bolt_read_back_equal_with_the_official_python_driver() {
    let _one_at_a_time = falkordb_serial();
    let project = Project::new();
    project.write(
        "data/items.ndjson",
        concat!(
            r#"{"id": 1, "text": "it's a \\ \"quoted\" 😀\nsecond line\ttab \\n not a newline", "ratio": 0.30000000000000004, "tiny": 5e-324, "huge": 1.7976931348623157e308, "big": 9223372036854775807, "tags": ["a", "b'c", "d\\e"], "nested": [[1], [2, 3]], "halves": [0.5, -1.25], "meta": {"k": "v"}, "mixed": [1, null], "day": "29.02.2024"}"#,
            "\n",
            r#"{"id": 2, "text": "x' RETURN 1 //", "ratio": 1e-300, "tiny": -0.0, "huge": -123456789.12345679, "big": -9223372036854775808, "tags": [], "nested": [], "halves": [], "meta": {}, "mixed": [], "day": "01.01.1900"}"#,
            "\n",
            r#"{"id": 3, "text": "a list of doubles six decimals would change", "halves": [0.1, 0.30000000000000004]}"#,
            "\n",
            r#"{"id": 4, "text": "nul \u0000 inside"}"#,
            "\n",
        ),
    );
    let url = format!("{}?database=db{CAP}", common::bolt_server());
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}\"\n\n[[nodes]]\nlabel = \"Tricky\"\ntable = \"items\"\nkey = \"id\"\n[nodes.transform]\nday = \"parse_date(day, '%d.%m.%Y')\"\n"
        ),
    );
    let emptied =
        project.grafter().args(["query", "--write", "MATCH (n) DETACH DELETE n"]).output().expect("start grafter");
    assert!(emptied.status.success(), "{}", output_text(&emptied).1);

    let summary = run_that_rejects_rows(&project);
    assert_eq!((summary.mapping("items").written, summary.mapping("items").rejected), (2, 2), "{}", summary.json);
    let reasons: Vec<String> =
        project.rejects().iter().map(|r| r["reason"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(reasons.iter().any(|r| r.contains("six decimals") && r.contains("0.30000000000000004")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("NUL")), "{reasons:?}");

    let python = Command::new(common::package_dir().join("../../scripts/falkordb")).arg("python").output();
    let python = python.expect("scripts/falkordb python");
    assert!(python.status.success(), "scripts/falkordb python: {}", output_text(&python).1);
    let python = String::from_utf8(python.stdout).expect("utf-8").trim().to_owned();
    project.write(
        "read_back.py",
        r#"
import json, os, sys
from neo4j import GraphDatabase

def typed(v):
    # Typed; doubles as repr, the shortest text that reads back as the same double.
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", repr(v)]
    if isinstance(v, str): return ["str", v]
    if v is None: return ["null"]
    if isinstance(v, list): return ["list", [typed(x) for x in v]]
    return ["other", repr(v)]

driver = GraphDatabase.driver(sys.argv[1], auth=None)
with driver.session(database="db") as session:
    rows = session.run("MATCH (n:Tricky) RETURN n ORDER BY n.id").values()
print(json.dumps([{k: typed(v) for k, v in dict(row[0]).items()} for row in rows], ensure_ascii=False))
sys.stdout.flush()
# Not driver.close(): its GOODBYE leaves FalkorDB 4.16's next request, from any client,
# unanswered for seconds (the shared test server's too).
os._exit(0)
"#,
    );
    let output = Command::new(&python)
        .arg(project.file("read_back.py"))
        .arg(common::bolt_server())
        .output()
        .expect("run the Python driver");
    assert!(output.status.success(), "the Python driver failed: {}", output_text(&output).1);
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let read = doubles_as_bits(read);

    let float = |x: f64| serde_json::json!(["float", x.to_bits()]);
    let int = |i: i64| serde_json::json!(["int", i.to_string()]);
    let text = |s: &str| serde_json::json!(["str", s]);
    let list = |items: Vec<serde_json::Value>| serde_json::json!(["list", items]);
    let expected = serde_json::json!([
        {
            "id": int(1),
            "text": text("it's a \\ \"quoted\" 😀\nsecond line\ttab \\n not a newline"),
            "ratio": float(0.30000000000000004),
            "tiny": float(5e-324),
            "huge": float(f64::MAX),
            "big": int(i64::MAX),
            "tags": list(vec![text("a"), text("b'c"), text("d\\e")]),
            "nested": list(vec![list(vec![int(1)]), list(vec![int(2), int(3)])]),
            "halves": list(vec![float(0.5), float(-1.25)]),
            // FalkorDB has no map, no list holding NULL and (over Bolt) no date: their text.
            "meta": text(r#"{"k":"v"}"#),
            "mixed": text("[1,null]"),
            "day": text("2024-02-29"),
        },
        {
            "id": int(2),
            "text": text("x' RETURN 1 //"),
            "ratio": float(1e-300),
            "tiny": float(-0.0),
            "huge": float(-123456789.12345679),
            "big": int(i64::MIN),
            "tags": list(vec![]),
            "nested": list(vec![]),
            "halves": list(vec![]),
            "meta": text("{}"),
            "mixed": list(vec![]),
            "day": text("1900-01-01"),
        },
    ]);
    assert_eq!(read, expected);
}

/// The script's `["float", repr]` pairs with the double's bits instead, so that equality is
/// bit for bit (and -0.0 differs from 0.0).
fn doubles_as_bits(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::Array(items) => match items.as_slice() {
            [J::String(kind), J::String(repr)] if kind == "float" => {
                let x: f64 = repr.parse().unwrap_or_else(|_| panic!("Python's repr {repr:?} is a double"));
                serde_json::json!(["float", x.to_bits()])
            }
            _ => J::Array(items.into_iter().map(doubles_as_bits).collect()),
        },
        J::Object(map) => J::Object(map.into_iter().map(|(k, v)| (k, doubles_as_bits(v))).collect()),
        other => other,
    }
}

#[test]
fn a_server_killed_mid_run_fails_the_run_within_seconds_and_a_resume_completes_it_exactly() {
    let _one_at_a_time = falkordb_serial();
    let clean = server_runs::placement_project(10, &bolt_graph("clean_for_kill", CAP));
    clean.run(&["--no-verify", "--batch-size", "40"]).assert_every_row_accounted_for();
    let expected = clean.fingerprint();

    // What the server has committed is kept (each batch with its checkpoint, in one
    // statement) just before it dies: later batches are lost with it, as in a crash.
    let mut server = common::PersistentServer::start_for_bolt();
    let project = server_runs::twin(&clean, &server.bolt_url("placement", CAP));
    let stderr = server_runs::kill_the_server_under_a_run(&project, &mut server, "40", true, Duration::from_secs(30));
    // The error names the server, by its URL and kind.
    assert!(stderr.contains("FalkorDB") && stderr.contains(&server.bolt_url("placement", "")), "{stderr}");

    // The server comes back with what it had committed; the run resumes and completes.
    server.restart();
    let summary = project.run(&[]);
    server_runs::assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(project.fingerprint(), expected, "resumed graph differs from a clean run");
    assert_no_leftovers(&project);
}

#[test]
fn verify_pins_a_changed_node_among_long_keys_with_statements_under_the_cap() {
    let _one_at_a_time = falkordb_serial();
    let project = Project::new();
    // Keys of 300 characters: a dozen fill one 4 KB statement, so lookups are cut to fit.
    let rows: String = (0..400).map(|i| format!("{{\"k\": \"{i:0>300}\", \"v\": {i}}}\n")).collect();
    project.write("data/long.ndjson", rows);
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{}\"\n\n[[nodes]]\nlabel = \"Long\"\ntable = \"long\"\nkey = \"k\"\n",
            bolt_graph("long_keys", CAP)
        ),
    );
    let summary = project.run(&[]);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let changed = project.grafter().args(["query", "--write", "MATCH (n:Long {v: 123}) SET n.v = -1"]).output();
    assert!(changed.expect("start grafter").status.success());
    let verify = project.grafter().args(["verify", "--format", "json"]).output().expect("start grafter");
    assert_eq!(verify.status.code(), Some(1), "{}", output_text(&verify).1);
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("verify JSON");
    let found: Vec<String> = common::findings(&report).into_iter().collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(&format!("{:0>300}", 123)) && found[0].contains("123 -> -1"), "{found:?}");
}
