//! The FalkorDB target end to end, against a real server (`scripts/falkordb start`): Chinook
//! lands with every row and verifies; values FalkorDB has no type for come back as the
//! documented text, doubles and tricky strings exactly; a run killed anywhere resumes to the
//! fingerprint of one clean run; a second run is refused while one holds the graph; rollback
//! empties it again, or restores every bit of what a run changed; and a server killed mid-run fails the run within seconds, after which a
//! resume completes it exactly.

use crate::common;

use std::time::Duration;

use common::{PersistentServer, Project, chinook, falkordb_graph, falkordb_serial, output_text, server_runs};

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

    project.assert_chinook_counts();
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
    server_runs::placement_project(compute_nodes, &falkordb_graph("placement"))
}

#[test]
fn a_run_killed_anywhere_resumes_to_the_fingerprint_of_one_clean_run() {
    let _one_at_a_time = falkordb_serial();
    let clean = placement_project(6);
    clean.run(&["--batch-size", "50"]).assert_every_row_accounted_for();
    server_runs::assert_killed_runs_resume_to_a_clean_run(&clean, || falkordb_graph("killed"), "50", |_| {});
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_graph() {
    let _one_at_a_time = falkordb_serial();
    server_runs::assert_a_second_run_is_refused(&placement_project(4));
}

#[test]
fn a_server_killed_mid_run_fails_the_run_within_seconds_and_a_resume_completes_it_exactly() {
    let _one_at_a_time = falkordb_serial();
    let clean = placement_project(40);
    clean.run(&["--no-verify"]).assert_every_row_accounted_for();
    let expected = fingerprint(&clean);

    let mut server = PersistentServer::start();
    let project = server_runs::twin(&clean, &server.url("placement"));
    server_runs::kill_the_server_under_a_run(&project, &mut server, "50", false, Duration::from_secs(20));

    // The server comes back with what it had committed; the run resumes and completes.
    server.restart();
    let summary = project.run(&[]);
    server_runs::assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(fingerprint(&project), expected, "resumed graph differs from a clean run");
}

/// Values FalkorDB cannot store (text holding NUL from a CSV file, a NaN double from
/// PostgreSQL) were rejected by the run, then counted as missing by verify, and the run exited
/// 1. Verify expects every reject, wherever it is made: the run passes, and so does `grafter
/// verify`. Natively and over Bolt.
#[test]
fn rows_falkordb_cannot_store_are_rejected_and_verify_expects_them_rejected() {
    let _one_at_a_time = falkordb_serial();
    let postgres = common::postgres::Postgres::new();
    postgres.sql("CREATE TABLE items (id int PRIMARY KEY, ratio float8); INSERT INTO items VALUES (1, 0.5), (2, 'NaN'), (3, 2.5)");
    for native in [true, false] {
        for (source, unstorable) in [("csv:data", "NUL"), (postgres.url().as_str(), "NaN")] {
            let url = if native { falkordb_graph("unstorable") } else { common::bolt_graph("unstorable", "") };
            let project = Project::new();
            project.write("data/items.csv", "id,name\n1,a\n2,b\u{0}c\n3,c\n");
            project.write(
                "grafter.toml",
                format!(
                    "[source]\nurl = \"{source}\"\n\n[target]\nurl = \"{url}\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n"
                ),
            );
            let summary = project.run(&[]);
            summary.assert_every_row_accounted_for();
            let items = summary.mapping("items");
            assert_eq!((items.written, items.rejected), (2, 1), "{url} from {source}: {}", summary.json);
            assert_eq!(summary.json["verification"]["passed"], true, "{url} from {source}: {}", summary.json);
            let rejects = project.rejects();
            let reason = rejects[0]["reason"].as_str().unwrap_or("");
            assert!(reason.contains(unstorable), "{url} from {source}: {reason}");
            let verify = project.grafter().args(["verify", "--format", "json"]).output().expect("verify");
            assert!(verify.status.success(), "{url} from {source}: {}", String::from_utf8_lossy(&verify.stdout));
        }
    }
}

/// Ctrl-C during a run once took 600 s (the reply timeout) to stop while FalkorDB sat on a
/// write. It stops within seconds whatever the server does, and the run resumes exactly.
#[test]
fn ctrl_c_stops_a_run_within_seconds_while_the_server_hangs_and_the_run_resumes() {
    let _one_at_a_time = falkordb_serial();
    let clean = placement_project(40);
    clean.run(&["--no-verify"]).assert_every_row_accounted_for();
    let expected = fingerprint(&clean);

    let server = PersistentServer::start();
    let project = server_runs::twin(&clean, &server.url("placement"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", "50"])
        .env("GRAFTER_SLOW_BATCH_MS", "50")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the run");
    let started = std::time::Instant::now();
    while project.count_so_far("MATCH (n:ResourceProvider) RETURN count(n) AS n") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run wrote nothing in a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.pause();
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = std::time::Instant::now();
    let status = std::process::Command::new("kill").args(["-INT", &run.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = run.wait_with_output().expect("wait for the run");
    let took = interrupted.elapsed();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_secs(15), "Ctrl-C took {took:?} with the server hanging");
    assert!(stderr.contains("resumes"), "{stderr}");

    server.resume();
    let summary = project.run(&[]);
    server_runs::assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(fingerprint(&project), expected, "resumed graph differs from a clean run");
}

/// People and their friendships (NDJSON) loading into `url` in batches of 3, with what a
/// load must reject: a key met again in a later batch, a friendship to nobody, and a
/// friendship met again in a later batch.
fn friends_project(url: &str) -> Project {
    let project = Project::new();
    let people: String =
        [(1, "ada"), (2, "bob"), (3, "cy"), (4, "dee"), (5, "eve"), (6, "fay"), (2, "bob again"), (7, "gus")]
            .iter()
            .map(|(id, name)| {
                format!("{{\"id\": {id}, \"name\": \"{name}\", \"score\": {id}.25, \"tags\": [\"t{id}\"]}}\n")
            })
            .collect();
    project.write("data/people.ndjson", people);
    let knows: String = [(1, 1, 2), (2, 2, 3), (3, 3, 99), (4, 4, 5), (5, 1, 2), (6, 7, 1), (7, 5, 6)]
        .iter()
        .map(|(id, src, dst)| format!("{{\"id\": {id}, \"src\": {src}, \"dst\": {dst}, \"since\": {}}}\n", 2000 + id))
        .collect();
    project.write("data/knows.ndjson", knows);
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}\"\n\n\
             [[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n\n\
             [[relationships]]\ntype = \"KNOWS\"\ntable = \"knows\"\n\
             start = {{ label = \"Person\", key = \"src\" }}\nend = {{ label = \"Person\", key = \"dst\" }}\ncolumns = [\"since\"]\n"
        ),
    );
    project
}

/// Runs `grafter run` with debug logs; the summary and the log.
fn run_logged(project: &Project, args: &[&str]) -> (common::Summary, String) {
    let output = project
        .grafter()
        .env("RUST_LOG", "grafter_target=debug")
        .args(["run", "--format", "json"])
        .args(args)
        .output()
        .expect("start grafter");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "grafter run failed:\n{stderr}");
    (common::Summary::parse(stdout.as_bytes()), stderr)
}

/// The rejects' reasons and rows, in order.
fn reject_reasons(project: &Project) -> Vec<String> {
    project.rejects().iter().map(|r| format!("{} {}", r["reason"], r["row"])).collect()
}

#[test]
fn labels_new_to_the_graph_load_in_bulk_into_the_graph_the_cypher_way_makes() {
    let _one_at_a_time = falkordb_serial();
    let bulk = friends_project(&falkordb_graph("bulk"));
    let cypher = friends_project(&format!("{}?bulk=off", falkordb_graph("cypher")));
    for project in [&bulk, &cypher] {
        // Nodes deleted before the run: the server gives their ids to the next nodes, so
        // grafter's first guess of the ids the bulk command assigns is wrong and must be caught.
        project
            .grafter()
            .args(["query", "--write", "UNWIND range(1, 9) AS i CREATE (:Scratch {i: i})"])
            .assert()
            .success();
        project
            .grafter()
            .args(["query", "--write", "MATCH (s:Scratch) WHERE s.i % 3 <> 0 DELETE s"])
            .assert()
            .success();
    }
    let (bulk_summary, bulk_log) = run_logged(&bulk, &["--batch-size", "3"]);
    let (cypher_summary, cypher_log) = run_logged(&cypher, &["--batch-size", "3"]);
    assert!(bulk_log.contains("in bulk"), "the new labels did not load in bulk:\n{bulk_log}");
    assert!(bulk_log.contains("not where predicted"), "the reused ids went unnoticed:\n{bulk_log}");
    assert!(!cypher_log.contains("in bulk"), "?bulk=off loaded in bulk:\n{cypher_log}");

    for summary in [&bulk_summary, &cypher_summary] {
        summary.assert_every_row_accounted_for();
        assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    }
    assert_eq!(bulk_summary.mappings(), cypher_summary.mappings());
    assert_eq!(bulk_summary.mapping("people").rejected, 1, "{}", bulk_summary.json);
    assert_eq!(bulk_summary.mapping("knows").rejected, 2, "{}", bulk_summary.json);
    assert_eq!(reject_reasons(&bulk), reject_reasons(&cypher));
    assert_eq!(fingerprint(&bulk), fingerprint(&cypher));
    // One checkpoint per mapping is left, as on the Cypher way.
    assert_eq!(bulk.query_int("MATCH (c:_GrafterCheckpoint) RETURN count(c) AS n"), 2);
    assert_eq!(bulk.query_int("MATCH (n) WHERE n._grafter_run IS NOT NULL RETURN count(n) AS n"), 0);

    // A label the graph already holds takes the Cypher way: a second config adding
    // friendships to the people loaded above.
    let (again, log) = run_logged(&bulk, &["--batch-size", "3", "--fresh"]);
    again.assert_every_row_accounted_for();
    assert!(!log.contains("in bulk"), "a label the graph holds loaded in bulk:\n{log}");
    assert_eq!(fingerprint(&bulk), fingerprint(&cypher));
}

/// A run killed after its people and its first friendships had loaded in bulk used to
/// finish the Cypher way when resumed (several times slower): this process had no ids of
/// what the killed one wrote. The resume reads them back and goes on in bulk, and judges a
/// friendship met again after the kill a duplicate, as one clean run does. The people's
/// mapping had finished before the kill: their ids are read back for the friendships' ends
/// (which went the Cypher way while a finished bulk mapping still looked unfinished).
#[test]
fn a_resumed_run_reads_back_what_was_loaded_in_bulk_and_goes_on_in_bulk() {
    let _one_at_a_time = falkordb_serial();
    let clean = friends_project(&falkordb_graph("bulk_clean"));
    let resumed = friends_project(&falkordb_graph("bulk_resumed"));
    let (clean_summary, _) = run_logged(&clean, &["--batch-size", "3"]);
    clean_summary.assert_every_row_accounted_for();

    // Three batches of people, then the first of friendships; killed right after it committed.
    let killed = resumed
        .grafter()
        .env("GRAFTER_KILL_AT", "after-commit:4")
        .args(["run", "--batch-size", "3", "--format", "json"])
        .output()
        .expect("start grafter");
    assert_eq!(killed.status.code(), None, "the run was to be killed: {}", output_text(&killed).1);

    let (summary, log) = run_logged(&resumed, &["--batch-size", "3"]);
    server_runs::assert_resumed_run_accounts_for_every_row(&summary);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert!(
        log.contains("read back the ids of 7 `Person` nodes the earlier attempt loaded: the label goes on in bulk"),
        "the resume did not read the people back:\n{log}"
    );
    assert!(
        log.contains("read back 2 `KNOWS` relationships the earlier attempt loaded: the type goes on in bulk"),
        "the resume did not read the friendships back:\n{log}"
    );
    assert_eq!(reject_reasons(&resumed), reject_reasons(&clean), "rejects differ from one clean run's");
    assert_eq!(fingerprint(&resumed), fingerprint(&clean), "resumed graph differs from one clean run");
    assert_eq!(resumed.query_int("MATCH (n) WHERE n._grafter_run IS NOT NULL RETURN count(n) AS n"), 0);
}

/// A bulk load stores a checkpoint node per batch, and the one with the most batches counts.
/// The last, which says the mapping finished, has as many batches as the one before it
/// (it carries no rows): which of the two counted was left to chance, and the run was
/// often judged unfinished. Run again, the same config then wrote every row once more
/// (1M people and 1M friendships: 80 s) instead of finding nothing to do.
#[test]
fn a_run_loaded_in_bulk_counts_as_finished_so_running_it_again_has_nothing_to_do() {
    let _one_at_a_time = falkordb_serial();
    let project = friends_project(&falkordb_graph("bulk_finished"));
    let (first, log) = run_logged(&project, &["--batch-size", "3"]);
    first.assert_every_row_accounted_for();
    assert!(log.contains("its nodes load in bulk"), "the first run did not load in bulk:\n{log}");
    let before = fingerprint(&project);
    for _ in 0..3 {
        let (again, _) = run_logged(&project, &["--batch-size", "3"]);
        for mapping in again.json["mappings"].as_array().expect("mappings") {
            assert_eq!(mapping["status"], "nothing_to_do", "{mapping}");
            assert_eq!(mapping["read"], 0, "{mapping}");
        }
    }
    assert_eq!(fingerprint(&project), before, "running again changed the graph");
}

/// A re-run over a graph that holds the data (`--fresh`, as after a mapping changed) looked
/// every record up by key, then MERGEd it, which looked it up again: 1M people and 1M
/// friendships took 81 s against 63 s for the official client's batched MERGE. Once a batch
/// meets only existing elements, the run reads the label's node ids and writes the batches
/// after it by id. The source's changed values land, a key met twice and a friendship to
/// nobody are still rejected with the lookup way's reasons, and the graph ends as the
/// lookup way (`?bulk=off`) leaves it.
#[test]
fn a_fresh_rerun_over_the_graph_writes_by_node_id_and_ends_as_the_lookup_way_does() {
    let _one_at_a_time = falkordb_serial();
    let by_id_url = falkordb_graph("rerun_by_id");
    let by_id = friends_project(&by_id_url);
    let lookup = friends_project(&format!("{}?bulk=off", falkordb_graph("rerun_lookup")));
    let mut logs = Vec::new();
    let mut summaries = Vec::new();
    for project in [&by_id, &lookup] {
        run_logged(project, &["--batch-size", "3"]).0.assert_every_row_accounted_for();
        // The source changes: every name and every friendship's year.
        for (file, from, to) in
            [("people", "\"name\": \"", "\"name\": \"new "), ("knows", "\"since\": 2", "\"since\": 3")]
        {
            let path = project.path().join(format!("data/{file}.ndjson"));
            let text = std::fs::read_to_string(&path).expect("read the source");
            project.write(&format!("data/{file}.ndjson"), text.replace(from, to));
        }
        // Batches of 2: [1, 2] meets only existing people, [3, 4] and [5, 6] go by id,
        // [2 again, 7] meets a key this run wrote; friendships [1→2, 2→3] go by id,
        // [3→99, 4→5] has an end nobody holds, [1→2 again, 7→1] a friendship met before.
        let (summary, log) = run_logged(project, &["--batch-size", "2", "--fresh"]);
        summary.assert_every_row_accounted_for();
        logs.push(log);
        summaries.push(summary);
    }
    let log = &logs[0];
    for expected in [
        "read the ids of the 7 `Person` nodes the graph held: its batches are written by id",
        "batches of (:Person) are written by node id",
        "batches of [:KNOWS] are written by node id",
        "a batch of (:Person) needs a closer look than writing by id",
        "a batch of [:KNOWS] needs a closer look than writing by id",
    ] {
        assert!(log.contains(expected), "{expected:?} is not in the re-run's log:\n{log}");
    }
    assert!(!logs[1].contains("by node id") && !logs[1].contains("ids of the"), "?bulk=off wrote by id:\n{}", logs[1]);
    assert_eq!(summaries[0].mappings(), summaries[1].mappings());
    assert_eq!(summaries[0].mapping("people").updated, 7, "{}", summaries[0].json);
    assert_eq!(summaries[0].mapping("people").rejected, 1, "{}", summaries[0].json);
    assert_eq!(summaries[0].mapping("knows").rejected, 2, "{}", summaries[0].json);
    assert_eq!(reject_reasons(&by_id), reject_reasons(&lookup));
    assert_eq!(fingerprint(&by_id), fingerprint(&lookup), "writing by id left another graph than the lookup way");

    // Read back by the official client: the new values, once each, and no mark left.
    let people = common::bolt_servers::read_back(&by_id_url, "Person");
    let names: Vec<String> = people.as_array().expect("nodes").iter().map(|p| p["name"].to_string()).collect();
    assert_eq!(names.len(), 7, "{people}");
    assert!(names.iter().all(|n| n.contains("new ")), "a name was not rewritten: {names:?}");
    assert!(!people.to_string().contains("bob again"), "the key met again was written: {people}");
    let years = "MATCH (:Person)-[k:KNOWS]->(:Person) WHERE k.since >= 3000 RETURN count(k)";
    assert_eq!(common::bolt_servers::count_back(&by_id_url, years), 5, "every friendship has its new year");
    let marked = "MATCH (n) WHERE n._grafter_run IS NOT NULL RETURN count(n)";
    assert_eq!(common::bolt_servers::count_back(&by_id_url, marked), 0);
}

/// Reading a label's ids pays only when the run writes a good part of the label: a re-run
/// of seven people into a label of 307 reads nothing and takes the lookup way throughout.
#[test]
fn a_short_rerun_into_a_big_label_does_not_read_its_ids() {
    let _one_at_a_time = falkordb_serial();
    let project = friends_project(&falkordb_graph("rerun_big_label"));
    let others = "UNWIND range(100, 399) AS i CREATE (:Person {id: i, name: 'someone else'})";
    project.grafter().args(["query", "--write", others]).assert().success();
    // (Verification would find the others, which no mapping covers.)
    run_logged(&project, &["--batch-size", "2", "--no-verify"]).0.assert_every_row_accounted_for();
    let (again, log) = run_logged(&project, &["--batch-size", "2", "--fresh", "--no-verify"]);
    again.assert_every_row_accounted_for();
    assert_eq!(again.mapping("people").updated, 7, "{}", again.json);
    assert!(!log.contains("ids of the") && !log.contains("by node id"), "the big label was read:\n{log}");
    assert_eq!(project.query_int("MATCH (p:Person) RETURN count(p) AS n"), 307);
}

/// A node created by another writer between two bulk batches (the run's own records do it
/// whenever a mapping starts) moved the next batch's ids; grafter then looked the batch's
/// nodes up by key, through an index FalkorDB was still building: label scans that stalled
/// the 1M-row Placement load for 10 to 47 s. The batch's nodes are the ids right before its
/// checkpoint: they are found there, with no lookup.
#[test]
fn ids_taken_by_another_writer_between_bulk_batches_are_found_without_a_lookup() {
    let _one_at_a_time = falkordb_serial();
    let project = friends_project(&falkordb_graph("stolen_ids"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "--batch-size", "3", "--format", "json"])
        .env("RUST_LOG", "grafter_target=debug")
        .env("GRAFTER_SLOW_BATCH_MS", "400")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the run");
    let started = std::time::Instant::now();
    while project.count_so_far("MATCH (n:Person) RETURN count(n) AS n") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run wrote nothing in a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Between the first batch of people and the second.
    project.grafter().args(["query", "--write", "CREATE (:Scratch {i: 1})"]).assert().success();
    let output = run.wait_with_output().expect("wait for the run");
    let (stdout, log) = output_text(&output);
    assert!(output.status.success(), "{log}");
    let summary = common::Summary::parse(stdout.as_bytes());
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert!(log.contains("past where predicted (another writer took ids"), "the moved ids went unnoticed:\n{log}");
    assert!(!log.contains("looking them up"), "the batch's nodes were looked up by key:\n{log}");
    assert_eq!(project.query_int("MATCH (p:Person) RETURN count(p) AS n"), 7);
}

/// A read-only query (`GRAPH.RO_QUERY`) on a graph that does not exist yet: FalkorDB answers
/// with its words for an empty key; grafter says the graph has not been loaded, names it and
/// says what creates it, and creates nothing itself (a check or `query` never writes).
#[test]
fn a_read_only_query_on_a_graph_not_loaded_yet_names_the_graph_and_what_creates_it() {
    let _one_at_a_time = falkordb_serial();
    let graph = falkordb_graph("never_loaded");
    let name = graph.rsplit('/').next().expect("a graph name").to_owned();
    let project = Project::new();
    project.write("data/a.ndjson", "{\"id\": 1}\n");
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{graph}\"\n\n[[nodes]]\nlabel = \"A\"\ntable = \"a\"\nkey = \"id\"\n"
        ),
    );
    let output = project.grafter().args(["query", "MATCH (n) RETURN count(n) AS n"]).output().expect("query");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("graph `{name}` does not exist on the server yet")), "{stderr}");
    assert!(stderr.contains("`grafter run` creates it"), "the hint: {stderr}");
    // Asking did not create it.
    let again = project.grafter().args(["query", "MATCH (n) RETURN count(n) AS n"]).output().expect("query");
    assert!(output_text(&again).1.contains("does not exist on the server yet"), "{}", output_text(&again).1);
}

/// Each bulk command costs FalkorDB a pass over the graph's matrices once it has added its
/// elements: in batches of 10,000, a 4M-row Placement load cost the server 15.6 s of CPU
/// and grew faster than the data (×7.1 for ×4 from 1M); the load took 21.4 s instead of
/// 25.3–27.8 s in batches of 30,000. A batch size the user chose is kept.
#[test]
fn a_bulk_load_writes_batches_three_times_the_default_but_keeps_a_chosen_size() {
    let _one_at_a_time = falkordb_serial();
    let people: String = (0..120_000).map(|i| format!("{{\"id\": {i}, \"name\": \"person {i}\"}}\n")).collect();
    let knows: String = (0..120_000).map(|i| format!("{{\"a\": {i}, \"b\": {}}}\n", (i * 7 + 1) % 120_000)).collect();
    for (graph, args, batches) in [("bulk_batches", &[][..], 4), ("chosen_batches", &["--batch-size", "20000"][..], 6)]
    {
        let url = falkordb_graph(graph);
        let project = Project::new();
        project.write("data/people.ndjson", &people);
        project.write("data/knows.ndjson", &knows);
        project.write(
            "grafter.toml",
            format!(
                "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}\"\n\n\
                 [[nodes]]\nname = \"people\"\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n\n\
                 [[relationships]]\nname = \"knows\"\ntype = \"KNOWS\"\ntable = \"knows\"\n\
                 start = {{ label = \"Person\", key = \"a\" }}\nend = {{ label = \"Person\", key = \"b\" }}\n"
            ),
        );
        let (summary, log) = run_logged(&project, args);
        summary.assert_every_row_accounted_for();
        assert!(log.contains("in bulk"), "the graph is new: both mappings load in bulk:\n{log}");
        assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
        // The run's checkpoint counts its batches: 120,000 rows in batches of 30,000 by
        // default, of 20,000 when chosen.
        for mapping in ["people", "knows"] {
            let counted = format!("MATCH (c:_GrafterCheckpoint {{mapping: '{mapping}'}}) RETURN max(c.batches)");
            assert_eq!(common::bolt_servers::count_back(&url, &counted), batches, "{graph}: {mapping}");
        }
    }
}

/// FalkorDB builds an index in the background and plans queries without it meanwhile —
/// and keeps those plans cached afterwards. A bulk load ended with its key indexes still
/// being built, so the first `grafter sync` after it looked every key up by scanning the
/// label (66 s for 150,000 rows instead of 16; 332 s for one batch of 5,000 at 1M). A run
/// now ends once its indexes are built.
#[test]
fn a_bulk_load_ends_with_its_key_indexes_built() {
    let _one_at_a_time = falkordb_serial();
    let url = falkordb_graph("indexes_built");
    let project = Project::new();
    let people: String = (0..200_000).map(|i| format!("{{\"id\": {i}, \"name\": \"person {i}\"}}\n")).collect();
    project.write("data/people.ndjson", people);
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"ndjson:data\"\n\n[target]\nurl = \"{url}\"\n\n\
             [[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n"
        ),
    );
    let (summary, log) = run_logged(&project, &["--no-verify"]);
    summary.assert_every_row_accounted_for();
    assert!(log.contains("in bulk"), "the label loads in bulk:\n{log}");
    let building = "CALL db.indexes() YIELD label, status WHERE status <> 'OPERATIONAL' RETURN count(*)";
    assert_eq!(common::bolt_servers::count_back(&url, building), 0, "an index is still being built");
    let built =
        "CALL db.indexes() YIELD label, status WHERE label = 'Person' AND status = 'OPERATIONAL' RETURN count(*)";
    assert_eq!(common::bolt_servers::count_back(&url, built), 1);
}

#[test]
fn a_run_makes_every_node_key_a_uniqueness_constraint_the_server_enforces_and_verify_checks_each() {
    let _one_at_a_time = falkordb_serial();
    let project = chinook_project();
    // plan lists each label's key and how this target holds it.
    let plan = project.grafter().arg("plan").output().unwrap();
    let (plan, _) = output_text(&plan);
    assert!(plan.contains("\n  (:Album) AlbumId\n"), "{plan}");
    assert!(plan.contains("held by a uniqueness constraint per label's key (GRAPH.CONSTRAINT)"), "{plan}");
    project.run(&[]).assert_every_row_accounted_for();
    let config = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    let config = grafter_plan::Config::parse(&config, "grafter.toml", |_| None).unwrap();
    let url = config.target.url.clone().expect("a FalkorDB URL");

    // FalkorDB's own client lists one working constraint per label, on exactly its key.
    let listed = common::bolt_servers::independent_reader(&[
        "rows",
        &url,
        "CALL db.constraints() YIELD type, label, properties, entitytype, status RETURN label, properties, type, entitytype, status",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let mut expected: Vec<serde_json::Value> = config
        .nodes
        .iter()
        .map(|node| {
            let key: Vec<serde_json::Value> = node.key.to_vec().iter().map(|p| serde_json::json!(["str", p])).collect();
            serde_json::json!([
                ["str", node.label],
                ["list", key],
                ["str", "UNIQUE"],
                ["str", "NODE"],
                ["str", "OPERATIONAL"]
            ])
        })
        .collect();
    expected.sort_by_key(|row| row.to_string());
    assert_eq!(listed, serde_json::Value::Array(expected));

    // The server itself refuses a second node with a key that is taken.
    let duplicate =
        project.grafter().args(["query", "--write", "CREATE (:Album {AlbumId: 1, Title: 'again'})"]).output().unwrap();
    let (_, stderr) = output_text(&duplicate);
    assert!(!duplicate.status.success() && stderr.contains("unique constraint violation"), "{stderr}");

    let verify = |expect_held: usize| -> String {
        let output = project.grafter().arg("verify").output().unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "a missing constraint warns, the data still verifies: {stdout}{stderr}");
        assert!(stdout.contains(&format!("key constraints: {expect_held} of 10 labels' keys held unique")), "{stdout}");
        stdout
    };
    verify(10);

    // A constraint dropped behind grafter's back is named by verify, and the next run
    // makes it again.
    common::drop_falkordb_key_constraint(&url, "Album", &["AlbumId"]);
    let stdout = verify(9);
    assert!(stdout.contains("MISSING  :Album (AlbumId)"), "{stdout}");
    assert!(stdout.contains("warning: no uniqueness constraint holds the key of :Album (AlbumId)"), "{stdout}");
    project.run(&[]);
    verify(10);
}

#[test]
fn key_constraints_off_in_the_url_leaves_keys_their_index_and_verify_checks_no_constraint() {
    let _one_at_a_time = falkordb_serial();
    let project = chinook_project();
    let config = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    let url = project.target_url();
    project.write("grafter.toml", config.replace(&url, &format!("{url}?key_constraints=off")));
    let summary = project.run(&[]);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let listed =
        common::bolt_servers::independent_reader(&["rows", &url, "CALL db.constraints() YIELD label RETURN label"]);
    assert_eq!(listed.trim(), "[]", "no constraint was made");
    let indexed =
        common::bolt_servers::independent_reader(&["rows", &url, "CALL db.indexes() YIELD label RETURN label"]);
    assert!(indexed.contains("\"Album\""), "the keys keep their index: {indexed}");
    let output = project.grafter().args(["verify", "--format", "json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["key_constraints"], serde_json::Value::Null, "nothing to check: {report}");
}
