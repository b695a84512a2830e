//! The FalkorDB target end to end, against a real server (`scripts/falkordb start`): Chinook
//! lands with every row and verifies; values FalkorDB has no type for come back as the
//! documented text, doubles and tricky strings exactly; a run killed anywhere resumes to the
//! fingerprint of one clean run; a second run is refused while one holds the graph; rollback
//! empties it again, or restores every bit of what a run changed; and a server killed mid-run fails the run within seconds, after which a
//! resume completes it exactly.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{PersistentServer, Project, chinook, falkordb_graph, falkordb_serial, output_text, sql_int, sqlite};

/// A project loading Chinook (SQLite) into a fresh FalkorDB graph.
fn chinook_project() -> Project {
    let project = Project::new();
    project.init_from_sqlite(&chinook());
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("read config");
    let url = falkordb_graph("chinook");
    let config = config.replacen("# url = \"grafeo:graph.grafeo\"", &format!("url = \"{url}\""), 1);
    assert!(config.contains(&url), "the generated config has a [target] url line to fill in");
    project.write("grafter.toml", config);
    project
}

/// A resumed run's summary accounts for every row read (created and updated are known only
/// for what this attempt wrote, so they are not compared).
fn assert_resumed_run_accounts_for_every_row(summary: &common::Summary) {
    for m in summary.mappings() {
        assert_eq!(m.read, m.written + m.rejected, "mapping `{}`: {m:?}", m.mapping);
    }
}

fn fingerprint(project: &Project) -> String {
    project.fingerprint()
}

#[test]
fn chinook_lands_with_every_row_verifies_reruns_idempotently_and_rolls_back_to_empty() {
    let _one_at_a_time = falkordb_serial();
    let project = chinook_project();
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);

    let db = sqlite(&chinook());
    let labels = project.label_counts();
    for table in
        ["Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine", "MediaType", "Playlist", "Track"]
    {
        assert_eq!(labels.get(table).copied(), Some(sql_int(&db, &format!("SELECT count(*) FROM {table}"))), "{table}");
    }
    let types = project.type_counts();
    assert_eq!(types.get("PLAYLIST_TRACK").copied(), Some(sql_int(&db, "SELECT count(*) FROM PlaylistTrack")));
    assert_eq!(
        types.get("REPORTS_TO").copied(),
        Some(sql_int(&db, "SELECT count(*) FROM Employee WHERE ReportsTo IS NOT NULL"))
    );
    // The marks that tell a run's own writes apart are gone once it finished.
    assert_eq!(project.query_int("MATCH (n) WHERE n._grafter_run IS NOT NULL RETURN count(n) AS n"), 0);
    assert_eq!(project.query_int("MATCH ()-[r]->() WHERE r._grafter_run IS NOT NULL RETURN count(r) AS n"), 0);
    let loaded = fingerprint(&project);

    // Loading again from scratch updates every element in place: the same graph.
    let again = project.run(&["--fresh"]);
    again.assert_every_row_accounted_for();
    assert!(again.mappings().iter().all(|m| m.created == 0 && m.updated == m.read), "{}", again.json);
    assert_eq!(fingerprint(&project), loaded);

    // Rolling back both runs leaves the graph as it was before the first: empty.
    for _ in 0..2 {
        let output = project.grafter().args(["rollback", "--last"]).output().expect("start grafter");
        assert!(output.status.success(), "rollback: {}", output_text(&output).1);
    }
    assert_eq!(project.label_counts(), Default::default());
}

#[test]
fn values_falkordb_has_no_type_for_come_back_as_text_and_the_rest_exactly() {
    let _one_at_a_time = falkordb_serial();
    let project = Project::new();
    project.write(
        "data/items.ndjson",
        concat!(
            r#"{"id": 1, "text": "it's a \\ \"quoted\" 😀\nsecond line", "ratio": 0.30000000000000004, "big": 9223372036854775807, "tags": ["a", "b"], "mixed": [1, null], "meta": {"k": "v"}, "nothing": null}"#,
            "\n",
            r#"{"id": 2, "text": "x' RETURN 1 //", "ratio": -2.5, "big": -9223372036854775808, "tags": [], "mixed": [[1], [2, 3]], "meta": {}, "nothing": null}"#,
            "\n"
        ),
    );
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{}\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n",
            falkordb_graph("values")
        ),
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.mapping("items").written, 2, "{}", summary.json);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);

    let rows = project.query(
        "MATCH (n:Item) RETURN n.id AS id, n.text AS text, n.big AS big, n.tags AS tags, n.mixed AS mixed, n.meta AS meta, n.nothing IS NULL AS unset ORDER BY id",
    );
    let first = &rows[0];
    assert_eq!(first["text"], "it's a \\ \"quoted\" 😀\nsecond line");
    assert_eq!(first["big"], i64::MAX);
    assert_eq!(first["tags"], serde_json::json!(["a", "b"]));
    // A list holding NULL and a map have no FalkorDB type: they are stored as their JSON text.
    assert_eq!(first["mixed"], "[1,null]");
    assert_eq!(first["meta"], r#"{"k":"v"}"#);
    assert_eq!(first["unset"], true);
    let second = &rows[1];
    assert_eq!(second["text"], "x' RETURN 1 //");
    assert_eq!(second["big"], i64::MIN);
    assert_eq!(second["mixed"], serde_json::json!([[1], [2, 3]]));
    // FalkorDB reports doubles to 15 digits but keeps every bit: compared in the server, the
    // stored value equals the exact one.
    let exact =
        project.query_with("MATCH (n:Item {id: 1}) RETURN n.ratio = $r AS same", &[("r", "0.30000000000000004")]);
    assert_eq!(exact[0]["same"], true);

    // A second run changes the double; rolling it back restores every bit of the first.
    let data = std::fs::read_to_string(project.file("data/items.ndjson")).expect("data");
    project.write("data/items.ndjson", data.replace("0.30000000000000004", "0.5"));
    project.run(&["--fresh"]);
    assert_eq!(project.query("MATCH (n:Item {id: 1}) RETURN n.ratio AS r")[0]["r"], 0.5);
    let output = project.grafter().args(["rollback", "--last"]).output().expect("start grafter");
    assert!(output.status.success(), "rollback: {}", output_text(&output).1);
    let restored =
        project.query_with("MATCH (n:Item {id: 1}) RETURN n.ratio = $r AS same", &[("r", "0.30000000000000004")]);
    assert_eq!(restored[0]["same"], true, "the rolled-back double lost bits");
}

/// The Placement example, small, loading into a fresh FalkorDB graph.
fn placement_project(compute_nodes: u32) -> Project {
    let project = Project::new();
    project
        .grafter()
        .args(["generate", "placement", "-o"])
        .arg(project.file("placement.sqlite"))
        .args(["--compute-nodes", &compute_nodes.to_string()])
        .assert()
        .success();
    let config = std::fs::read_to_string(common::example("placement/grafter.toml")).expect("example config");
    project.write("grafter.toml", config + &common::Target::FalkorDb.section("placement"));
    project
}

/// The same project pointed at another fresh graph.
fn twin(project: &Project, url: &str) -> Project {
    let twin = Project::new();
    std::fs::copy(project.file("placement.sqlite"), twin.file("placement.sqlite")).expect("copy database");
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    let start = config.rfind("\n[target]").expect("a [target] section");
    twin.write("grafter.toml", format!("{}\n[target]\nurl = \"{url}\"\n", &config[..start]));
    twin
}

#[test]
fn a_run_killed_anywhere_resumes_to_the_fingerprint_of_one_clean_run() {
    let _one_at_a_time = falkordb_serial();
    let clean = placement_project(6);
    clean.run(&["--batch-size", "50"]).assert_every_row_accounted_for();
    let expected = fingerprint(&clean);

    for kill_at in ["before-commit:3", "after-commit:9", "validating:1"] {
        let project = twin(&clean, &falkordb_graph("killed"));
        let output = project
            .grafter()
            .args(["run", "-q", "--batch-size", "50"])
            .env("GRAFTER_KILL_AT", kill_at)
            .output()
            .expect("start grafter");
        assert!(!output.status.success(), "{kill_at}: the run should have been killed");
        // The killed process left its lock: a new run on the same host sees it is gone and
        // takes over, then resumes.
        let summary = project.run(&[]);
        assert_resumed_run_accounts_for_every_row(&summary);
        assert_eq!(summary.json["verification"]["passed"], true, "{kill_at}: {}", summary.json);
        assert_eq!(fingerprint(&project), expected, "{kill_at}: resumed graph differs from a clean run");
    }
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_graph() {
    let _one_at_a_time = falkordb_serial();
    let project = placement_project(4);
    let mut first = Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", "20"])
        .env("GRAFTER_SLOW_BATCH_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the first run");
    let started = Instant::now();
    loop {
        let status = project.grafter().args(["lock", "status"]).output().expect("lock status");
        if output_text(&status).0.contains("run") && status.status.success() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = project.grafter().args(["run", "-q"]).output().expect("start the second run");
    let (_, stderr) = output_text(&second);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success(), "the second run was not refused");
    assert!(stderr.contains("is locked"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())) || stderr.contains(&first.id().to_string()), "{stderr}");
}

#[test]
fn a_server_killed_mid_run_fails_the_run_within_seconds_and_a_resume_completes_it_exactly() {
    let _one_at_a_time = falkordb_serial();
    let clean = placement_project(40);
    clean.run(&["--no-verify"]).assert_every_row_accounted_for();
    let expected = fingerprint(&clean);

    let mut server = PersistentServer::start();
    let project = twin(&clean, &server.url("placement"));
    let mut run = Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", "50"])
        .env("GRAFTER_SLOW_BATCH_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the run");
    // Let it commit some batches, then kill the server under it.
    let started = Instant::now();
    while project.query_int("MATCH (n:ResourceProvider) RETURN count(n) AS n") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run wrote nothing in a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(run.try_wait().expect("poll").is_none(), "the run finished before the server could be killed");
    server.kill();
    let killed_at = Instant::now();
    let output = run.wait_with_output().expect("wait for the run");
    let took = killed_at.elapsed();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(20), "the run took {took:?} to fail after the server died");
    assert!(stderr.contains("does not answer") && stderr.contains("resumes"), "{stderr}");

    // The server comes back with what it had committed; the run resumes and completes.
    server.restart();
    let summary = project.run(&[]);
    assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(fingerprint(&project), expected, "resumed graph differs from a clean run");
}
