//! `grafter schema …` end to end: one fixture folder of migrations per scenario
//! (`tests/fixtures/migrations_<scenario>/`), applied to a small graph loaded from CSV: three
//! providers, three consumers, three CONSUMES relationships. The scenarios the issue names,
//! and the Placement example's roundtrip, run on every target — the embedded store,
//! FalkorDB natively and over Bolt, Neo4j over `bolt://` and `neo4j://`, ArcadeDB
//! (`on_every_target_with_bolt!`, in tests/common), each in its own DDL; the rest on the
//! embedded target.

use crate::common;

use common::{Project, Target, output_text};
use serde_json::Value;

/// A project loaded into the embedded target, with the scenario's migrations.
fn project(scenario: &str) -> Project {
    project_on(Target::Embedded, scenario)
}

/// A project with the small graph loaded into `target` and the scenario's migrations in
/// `migrations/`.
fn project_on(target: Target, scenario: &str) -> Project {
    let project = Project::new();
    project.write("data/providers.csv", "uuid,name,ratio\np1,alpha,1.5\np2,beta,16.0\np3,gamma,2.25\n");
    project.write("data/consumers.csv", "uuid,provider,used\nc1,p1,2\nc2,p2,4\nc3,p2,8\n");
    project.write(
        "grafter.toml",
        r#"
[source]
url = "csv:data"

[[nodes]]
label = "Provider"
table = "providers"
key = "uuid"
[nodes.transform]
ratio = "float(ratio)"

[[nodes]]
label = "Consumer"
table = "consumers"
key = "uuid"
columns = ["uuid"]

[[relationships]]
name = "consumes"
type = "CONSUMES"
table = "consumers"
start = { label = "Consumer", key = "uuid" }
end = { label = "Provider", key = "provider" }
columns = ["used"]
[relationships.transform]
used = "int(used)"
"#
        .to_owned()
            + &target.section(scenario),
    );
    project.run(&[]);
    use_migrations(&project, scenario);
    project
}

/// Replaces the project's `migrations/` with the fixture folder of `scenario`.
fn use_migrations(project: &Project, scenario: &str) {
    let fixture = common::package_dir().join("tests/fixtures").join(format!("migrations_{scenario}"));
    let dir = project.file("migrations");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create migrations/");
    for entry in std::fs::read_dir(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display())) {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy fixture");
    }
}

/// `grafter schema <args>`: exit code, stdout, stderr.
fn schema(project: &Project, args: &[&str]) -> (i32, String, String) {
    let output = project.grafter().arg("schema").args(args).output().expect("start grafter");
    let (stdout, stderr) = output_text(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// `grafter schema <args>`, which must succeed; its stdout.
fn schema_ok(project: &Project, args: &[&str]) -> String {
    let (code, stdout, stderr) = schema(project, args);
    assert_eq!(code, 0, "grafter schema {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

fn fingerprint(project: &Project) -> String {
    project.fingerprint()
}

/// Version → status, from `schema status --format json`.
fn statuses(project: &Project) -> Vec<(String, String, String)> {
    let json: Value = serde_json::from_str(&schema_ok(project, &["status", "--format", "json"])).expect("status JSON");
    json.as_array()
        .expect("an array")
        .iter()
        .map(|line| {
            (
                line["version"].as_u64().map(|v| format!("V{v:04}")).expect("version"),
                line["status"].as_str().expect("status").to_owned(),
                line["checksum"].as_str().expect("checksum").to_owned(),
            )
        })
        .collect()
}

fn status_of(project: &Project, version: &str) -> String {
    statuses(project).into_iter().find(|(v, _, _)| v == version).map(|(_, s, _)| s).expect("version listed")
}

on_every_target_with_bolt!(
    happy_path_applies_in_order_records_history_and_reverts_to_the_same_graph,
    a_changed_applied_file_stops_up_until_repair_accepts_it,
    a_crlf_copy_with_trailing_whitespace_has_the_same_checksums,
    a_failing_verify_restores_the_graph_and_marks_the_migration_rolled_back,
    a_failing_statement_restores_the_graph,
    a_migration_killed_half_way_is_restored_by_repair_from_its_snapshot,
    a_dependency_cycle_is_refused_before_anything_runs,
    a_missing_dependency_is_refused_before_anything_runs,
    destructive_statements_need_the_flag_and_the_dry_run_shows_what_they_touch,
    roundtrip_proves_down_inverts_up,
    verify_reruns_the_verify_queries_of_applied_migrations,
    placement_example_migrations_roundtrip_after_migrating_the_example,
);

fn happy_path_applies_in_order_records_history_and_reverts_to_the_same_graph(target: Target) {
    let project = project_on(target, "happy");
    let before = fingerprint(&project);
    assert_eq!(
        statuses(&project).into_iter().map(|(v, s, _)| format!("{v} {s}")).collect::<Vec<_>>(),
        ["V0001 pending", "V0002 pending", "V0003 pending"]
    );

    let stdout = schema_ok(&project, &["up"]);
    assert!(stdout.contains("V0001") && stdout.contains("V0003"), "{stdout}");
    assert_eq!(project.query_int("MATCH (p:Provider) WHERE p.status = 'active' RETURN count(p) AS n"), 3);
    assert_eq!(project.query_int("MATCH ()-[r:CONSUMES]->() WHERE r.checked RETURN count(r) AS n"), 3);
    assert_eq!(project.query_int("MATCH (p:Large) RETURN count(p) AS n"), 1);
    for (version, status, checksum) in statuses(&project) {
        assert_eq!((status.as_str(), checksum.as_str()), ("completed", "matches"), "{version}");
    }
    let (_, again, _) = schema(&project, &["up"]);
    assert!(again.contains("nothing to do"), "{again}");

    // History: who, and what changed, beside the runs.
    let history = project.grafter().arg("history").output().expect("start grafter");
    let (history, _) = output_text(&history);
    assert!(history.contains("schema migrations") && history.contains("add status"), "{history}");
    assert!(history.contains("applied by"), "{history}");
    let output = project.grafter().args(["history", "--migrations", "--format", "json"]).output().expect("start");
    let records: Value = serde_json::from_slice(&output.stdout).expect("the migrations' history as JSON");
    let records = records.as_array().expect("an array");
    assert_eq!(records.len(), 3, "{records:?}");
    for (record, version) in records.iter().zip(1..) {
        assert_eq!((record["version"].as_u64(), record["status"].as_str()), (Some(version), Some("completed")));
        let operator = record["operator"].as_str().filter(|o| !o.is_empty()).expect("who applied it");
        let applied_by = format!("applied by {operator}@");
        let events = record["events"].as_array().expect("events");
        assert!(events.iter().any(|e| e["what"].as_str().is_some_and(|w| w.starts_with(&applied_by))), "{record}");
    }
    assert!(records[0]["affected"].to_string().contains("Provider"), "what V0001 changed: {}", records[0]);

    // down: the last one; then everything.
    schema_ok(&project, &["down"]);
    assert_eq!(status_of(&project, "V0003"), "reverted");
    assert_eq!(status_of(&project, "V0002"), "completed");
    assert_eq!(project.query_int("MATCH (p:Large) RETURN count(p) AS n"), 0);
    schema_ok(&project, &["down", "--to", "0"]);
    assert_eq!(fingerprint(&project), before, "down to 0 gives back the graph from before up");
    assert!(statuses(&project).iter().all(|(_, s, _)| s == "reverted"));

    // And up again to a chosen version.
    schema_ok(&project, &["up", "--to", "V0002"]);
    assert_eq!(status_of(&project, "V0002"), "completed");
    assert_eq!(status_of(&project, "V0003"), "reverted");
}

fn a_changed_applied_file_stops_up_until_repair_accepts_it(target: Target) {
    let project = project_on(target, "happy");
    schema_ok(&project, &["up"]);
    let graph = fingerprint(&project);
    use_migrations(&project, "broken_checksum");

    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0001__add_status.cypher was changed after it was applied"), "{stderr}");
    assert!(stderr.contains("grafter schema repair"), "{stderr}");
    assert_eq!(fingerprint(&project), graph, "nothing ran");
    let changed = statuses(&project).into_iter().find(|(v, _, _)| v == "V0001").expect("V0001").2;
    assert_eq!(changed, "changed");

    let dry = schema_ok(&project, &["repair", "--dry-run"]);
    assert!(dry.contains("would repair V0001: checksum"), "{dry}");
    assert_eq!(statuses(&project)[0].2, "changed", "a dry run accepts nothing");
    let stdout = schema_ok(&project, &["repair"]);
    assert!(stdout.contains("repaired V0001: checksum") && stdout.contains("→"), "{stdout}");
    // The diff of the text, from the file as applied to the file now.
    assert!(stdout.contains("--- as applied") && stdout.contains("+++ now"), "{stdout}");
    assert!(stdout.contains("\n-MATCH (p:Provider) SET p.status = 'active';\n"), "{stdout}");
    assert!(stdout.contains("\n+MATCH (p:Provider) SET p.status = 'enabled';\n"), "{stdout}");
    assert_eq!(statuses(&project)[0].2, "matches");
    let status = schema_ok(&project, &["status", "--format", "json"]);
    assert!(status.contains("repaired by"), "the repair is recorded in the history: {status}");
    let (_, again, _) = schema(&project, &["up"]);
    assert!(again.contains("nothing to do"), "{again}");
}

fn a_crlf_copy_with_trailing_whitespace_has_the_same_checksums(target: Target) {
    let project = project_on(target, "happy");
    schema_ok(&project, &["up"]);
    use_migrations(&project, "crlf");
    let crlf = std::fs::read(project.file("migrations/V0001__add_status.cypher")).expect("read");
    assert!(crlf.windows(2).any(|w| w == b"\r\n"), "the fixture really has CRLF line endings");
    assert!(statuses(&project).iter().all(|(_, s, c)| s == "completed" && c == "matches"));
    let (code, stdout, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("nothing to do"), "{stdout}");
}

fn a_failing_verify_restores_the_graph_and_marks_the_migration_rolled_back(target: Target) {
    let project = project_on(target, "failing_verify");
    schema_ok(&project, &["up", "--to", "V0001"]);
    let before = fingerprint(&project);

    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 3, "a migration that does not apply is a failure while working: {stderr}");
    assert!(stderr.contains("V0002 up failed"), "{stderr}");
    assert!(stderr.contains("V0002__double_ratio.cypher:11 does not hold: 1 row(s)"), "{stderr}");
    assert!(stderr.contains("restored"), "{stderr}");
    assert_eq!(fingerprint(&project), before, "the graph is exactly as before the failed migration");
    assert_eq!(project.query_int("MATCH (p:Provider {uuid: 'p2'}) RETURN toInteger(p.ratio) AS n"), 16);
    assert_eq!(status_of(&project, "V0001"), "completed");
    assert_eq!(status_of(&project, "V0002"), "rolled_back");
    let status = schema_ok(&project, &["status"]);
    assert!(status.contains("rolled_back: verify"), "the error is shown: {status}");
}

fn a_failing_statement_restores_the_graph(target: Target) {
    let project = project_on(target, "happy");
    project.write(
        "migrations/V0004__broken.cypher",
        "// up\nMATCH (p:Provider) SET p.touched = true;\nTHIS IS NOT CYPHER;\n// down\nMATCH (p:Provider) REMOVE p.touched;\n",
    );
    schema_ok(&project, &["up", "--to", "V0003"]);
    let before = fingerprint(&project);
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("V0004__broken.cypher:3"), "names the statement's line: {stderr}");
    assert_eq!(fingerprint(&project), before);
    assert_eq!(project.query_int("MATCH (p:Provider) WHERE p.touched RETURN count(p) AS n"), 0);
    assert_eq!(status_of(&project, "V0004"), "rolled_back");
}

#[test]
fn an_attempt_left_in_progress_stops_up_until_repair_marks_it_resolved() {
    let project = project("happy");
    schema_ok(&project, &["up", "--to", "V0001"]);
    // As a process killed half-way through V0001 leaves it.
    project
        .grafter()
        .args([
            "query",
            "--write",
            "MATCH (m:_GrafterMigration {version: 1}) SET m.record = replace(m.record, '\"completed\"', '\"in_progress\"')",
        ])
        .assert()
        .success();
    assert_eq!(status_of(&project, "V0001"), "in_progress");
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0001 add status is in_progress from an earlier attempt"), "{stderr}");
    assert!(stderr.contains("grafter schema repair"), "{stderr}");

    let stdout = schema_ok(&project, &["repair"]);
    assert!(stdout.contains("repaired V0001: was in_progress: marked resolved"), "{stdout}");
    assert_eq!(status_of(&project, "V0001"), "pending");
    schema_ok(&project, &["up"]);
    assert!(statuses(&project).iter().all(|(_, s, _)| s == "completed"));
}

#[test]
fn a_mistake_in_a_declarative_migration_names_the_file_and_line() {
    let project = project("happy");
    project.write(
        "migrations/V0004__rename.toml",
        "[[refactor]]\nop = \"rename_label\"\nfrom = \"Provider\"\ntoo = \"Supplier\"\n",
    );
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0004__rename.toml:1: unknown field `too`"), "{stderr}");
    assert!(stderr.contains("hint: each [[refactor]] has an `op`"), "{stderr}");
    assert_eq!(project.query_int("MATCH (m:_GrafterMigration) RETURN count(m) AS n"), 0, "nothing ran");
}

fn a_migration_killed_half_way_is_restored_by_repair_from_its_snapshot(target: Target) {
    let project = project_on(target, "happy");
    schema_ok(&project, &["up", "--to", "V0001"]);
    let before = fingerprint(&project);
    // Killed right after V0002's first statement (of two).
    let output =
        project.grafter().args(["schema", "up"]).env("GRAFTER_SCHEMA_KILL_AFTER", "1").output().expect("start");
    assert!(output.status.code().is_none(), "killed by a signal: {output:?}");
    assert_eq!(status_of(&project, "V0002"), "in_progress");
    assert_eq!(project.query_int("MATCH ()-[r:CONSUMES]->() WHERE r.checked RETURN count(r) AS n"), 3, "half applied");
    assert_ne!(fingerprint(&project), before);
    // The killed process's lock is taken over (it ran on this host and is gone), on every
    // target; what stops `up` is the half-applied migration.
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0002 mark consumptions is in_progress from an earlier attempt"), "{stderr}");
    let stdout = schema_ok(&project, &["repair"]);
    assert!(stdout.contains("repaired V0002: was in_progress: the target is restored from the snapshot"), "{stdout}");
    assert_eq!(fingerprint(&project), before, "exactly the graph from before V0002");
    assert_eq!(status_of(&project, "V0001"), "completed");
    assert_eq!(status_of(&project, "V0002"), "rolled_back");
    schema_ok(&project, &["up"]);
    assert!(statuses(&project).iter().all(|(_, s, _)| s == "completed"));
}

fn a_dependency_cycle_is_refused_before_anything_runs(target: Target) {
    let project = project_on(target, "cycle");
    let before = fingerprint(&project);
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("dependencies form a cycle: V0002 → V0003 → V0002"), "{stderr}");
    assert_eq!(fingerprint(&project), before);
    let history = project.query_int("MATCH (m:_GrafterMigration) RETURN count(m) AS n");
    assert_eq!(history, 0, "not even V0001 ran");
}

fn a_missing_dependency_is_refused_before_anything_runs(target: Target) {
    let project = project_on(target, "missing_dependency");
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("V0002__needs_missing.cypher requires V0007, which no migration file provides"),
        "{stderr}"
    );
    assert_eq!(project.query_int("MATCH (m:_GrafterMigration) RETURN count(m) AS n"), 0);
}

fn destructive_statements_need_the_flag_and_the_dry_run_shows_what_they_touch(target: Target) {
    let project = project_on(target, "destructive");
    let before = fingerprint(&project);
    let (code, _, stderr) = schema(&project, &["up"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("destructive statements"), "{stderr}");
    assert!(stderr.contains("V0002__rename_consumes.cypher:4"), "{stderr}");
    assert!(stderr.contains("--allow-destructive"), "{stderr}");
    assert_eq!(fingerprint(&project), before, "nothing ran, not even the additive V0001");

    let plan = schema_ok(&project, &["up", "--dry-run"]);
    let line = |needle: &str| plan.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {plan}"));
    assert!(line("V0001__add_status.cypher:3").contains("additive"), "{plan}");
    assert!(line("V0001__add_status.cypher:3").contains("touches 3 now"), "{plan}");
    assert!(line("V0002__rename_consumes.cypher:4").contains("DESTRUCTIVE"), "{plan}");
    assert!(line("V0002__rename_consumes.cypher:4").contains("touches 3 now"), "{plan}");
    assert!(plan.contains("DELETE r"), "the statements are printed: {plan}");
    assert_eq!(fingerprint(&project), before, "a dry run changes nothing");

    schema_ok(&project, &["up", "--allow-destructive"]);
    assert_eq!(project.query_int("MATCH ()-[r:ALLOCATES]->() RETURN toInteger(sum(r.used)) AS n"), 14);
    assert_eq!(project.query_int("MATCH ()-[r:CONSUMES]->() RETURN count(r) AS n"), 0);
    let down = schema_ok(&project, &["down", "--to", "0", "--dry-run"]);
    assert!(down.contains("V0002 rename consumes (down)"), "{down}");
    schema_ok(&project, &["down", "--to", "0"]);
    assert_eq!(fingerprint(&project), before);
}

fn roundtrip_proves_down_inverts_up(target: Target) {
    let project = project_on(target, "happy");
    let before = fingerprint(&project);
    let stdout = schema_ok(&project, &["roundtrip"]);
    assert!(stdout.contains("roundtrip of V0001, V0002, V0003"), "{stdout}");
    assert!(stdout.contains(&format!("fingerprint before      {before}")), "{stdout}");
    assert!(statuses(&project).iter().all(|(_, s, _)| s == "completed"));
}

/// A batched statement whose change does not make its elements stop matching (ArcadeDB
/// once kept `REMOVE n.p` after `WITH n LIMIT $batch` undone, so the Placement example's
/// `down` changed the same 53 nodes for ever) is stopped with the reason, and the graph
/// restored, instead of running until killed.
#[test]
fn a_batched_statement_that_never_stops_matching_is_stopped_with_the_reason() {
    let project = project("happy");
    let before = fingerprint(&project);
    let dir = project.file("migrations");
    std::fs::remove_dir_all(&dir).expect("clear migrations/");
    std::fs::create_dir_all(&dir).expect("migrations/");
    project.write(
        "migrations/V0001__touch_forever.cypher",
        "// up\nMATCH (p:Provider) WITH p LIMIT $batch SET p.touched = true RETURN count(*) AS done;\n",
    );
    let (code, stdout, stderr) = schema(&project, &["up"]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("more than the graph holds") && stderr.contains("never end"), "{stderr}");
    assert_eq!(fingerprint(&project), before, "the graph is restored");
}

#[test]
fn new_writes_the_next_version_from_a_template() {
    let project = project("happy");
    let path = schema_ok(&project, &["new", "add_region"]);
    assert!(path.trim().ends_with("V0004__add_region.cypher"), "{path}");
    let text = std::fs::read_to_string(project.file(path.trim())).expect("the new file");
    assert!(text.contains("// up\n") && text.contains("// down\n") && text.contains("// verify\n"), "{text}");
    // Until its `// up` has a statement, the folder is refused with the file named.
    let (code, _, stderr) = schema(&project, &["status"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0004__add_region.cypher: no statements in an `// up` section"), "{stderr}");
    let toml = schema_ok(&project, &["new", "rename_things", "--toml"]);
    assert!(toml.trim().ends_with("V0005__rename_things.toml"), "{toml}");
    let (code, _, stderr) = schema(&project, &["new", "bad name"]);
    assert_eq!(code, 2, "{stderr}");
}

fn verify_reruns_the_verify_queries_of_applied_migrations(target: Target) {
    let project = project_on(target, "happy");
    schema_ok(&project, &["up"]);
    let stdout = schema_ok(&project, &["verify"]);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok")).count(), 3, "{stdout}");
    // Someone breaks what V0001 promised.
    project.grafter().args(["query", "--write", "MATCH (p:Provider {uuid: 'p3'}) REMOVE p.status"]).assert().success();
    let (code, stdout, _) = schema(&project, &["verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAILED  V0001 add status"), "{stdout}");
}

#[test]
fn baseline_adopts_a_graph_without_running() {
    let project = project("happy");
    let before = fingerprint(&project);
    let stdout = schema_ok(&project, &["baseline", "V0002"]);
    assert!(stdout.contains("2 marked applied without running (V0001, V0002)"), "{stdout}");
    assert_eq!(fingerprint(&project), before);
    assert_eq!(status_of(&project, "V0002"), "baseline");
    assert_eq!(status_of(&project, "V0003"), "pending");
    let (code, _, stderr) = schema(&project, &["baseline", "V0003"]);
    assert_eq!(code, 2, "a second baseline is refused: {stderr}");
}

fn placement_example_migrations_roundtrip_after_migrating_the_example(target: Target) {
    let project = Project::new();
    common::placement_example(&project, false);
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("the example config");
    project.write("grafter.toml", config + &target.section("placement"));
    let examples = common::example("placement/migrations");
    std::fs::create_dir_all(project.file("migrations")).expect("migrations/");
    for entry in std::fs::read_dir(&examples).expect("the example's migrations") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), project.file("migrations").join(entry.file_name())).expect("copy");
    }
    project.run(&[]);
    let before = fingerprint(&project);
    let consumes = project.query_int("MATCH (:Consumer)-[r:CONSUMES]->(:Inventory) RETURN count(r) AS n");
    let used = project.query_int("MATCH (:Consumer)-[r:CONSUMES]->(:Inventory) RETURN toInteger(sum(r.used)) AS n");
    let fractional = project.query_int("MATCH (i:Inventory) WHERE i.allocation_ratio = 1.5 RETURN count(i) AS n");
    assert!(
        consumes > 0 && fractional > 0,
        "the generated data has allocations ({consumes}) and 1.5 ratios ({fractional})"
    );

    let stdout = schema_ok(&project, &["roundtrip", "--allow-destructive"]);
    assert!(stdout.contains("roundtrip of V0001, V0002, V0003"), "{stdout}");
    assert!(stdout.contains(&format!("fingerprint before      {before}")), "{stdout}");

    // Applied (again) and right.
    assert!(statuses(&project).iter().all(|(_, s, c)| s == "completed" && c == "matches"));
    let providers = project.query_int("MATCH (p:ResourceProvider) RETURN count(p) AS n");
    assert_eq!(project.query_int("MATCH (p:ResourceProvider {status: 'active'}) RETURN count(p) AS n"), providers);
    assert_eq!(project.query_int("MATCH (:Consumer)-[r:ALLOCATES]->(:Inventory) RETURN count(r) AS n"), consumes);
    assert_eq!(
        project.query_int("MATCH (:Consumer)-[r:ALLOCATES]->(:Inventory) RETURN toInteger(sum(r.used)) AS n"),
        used
    );
    assert_eq!(project.query_int("MATCH ()-[r:CONSUMES]->() RETURN count(r) AS n"), 0);
    assert_eq!(project.query_int("MATCH (i:Inventory) WHERE i.allocation_ratio = 1.5 RETURN count(i) AS n"), 0);
    assert_eq!(
        project.query_int(
            "MATCH (i:Inventory) WHERE i.allocation_ratio_old = 1.5 AND i.allocation_ratio = 2.0 RETURN count(i) AS n"
        ),
        fractional
    );

    // And all the way back.
    schema_ok(&project, &["down", "--to", "0"]);
    assert_eq!(fingerprint(&project), before);

    // Finalising the transform drops the old values, and with them the way back.
    schema_ok(&project, &["up", "--allow-destructive"]);
    let inventories = project.query_int("MATCH (i:Inventory) RETURN count(i) AS n");
    let stdout = schema_ok(&project, &["finalize", "V0003"]);
    assert!(stdout.contains(&format!(":Inventory.allocation_ratio_old removed from {inventories} nodes")), "{stdout}");
    assert_eq!(
        project.query_int("MATCH (i:Inventory) WHERE i.allocation_ratio_old IS NOT NULL RETURN count(i) AS n"),
        0
    );
    let (code, _, stderr) = schema(&project, &["down"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("V0003 round allocation ratio was finalised"), "{stderr}");
    assert!(schema_ok(&project, &["status", "--format", "json"]).contains("finalised by"));
    let verified = schema_ok(&project, &["verify"]);
    assert_eq!(verified.lines().filter(|l| l.starts_with("ok")).count(), 3, "still verified: {verified}");
}
