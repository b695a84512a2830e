//! `grafter verify` end to end: a migrated Placement graph verifies clean; each deliberate
//! corruption — a node deleted, a property changed, a relationship added, a relationship
//! retargeted, a key duplicated, a hierarchy bent into a cycle or given a second parent — is
//! reported exactly, nothing more and nothing less, with what is expected computed from the
//! source database by SQL, never from grafter's own output. So is what no mapping covers: a
//! property or label no mapping gives a mapped element, a mapped type between other labels;
//! elements of labels and types no mapping creates are listed as not from this config and
//! fail only `--strict`. Also: custom checks, `--sample`, the verification that ends
//! `grafter run`, a verdict that says how many rows were rejected, Chinook, and the HTML
//! report as Chromium renders it.

use crate::common;

use std::collections::BTreeSet;

use common::{
    Project, Target, chinook, example, findings, node, not_from_config, output_text, rel, set, sql_int, sqlite,
};
use placement_generator::STANDARD_RESOURCE_CLASSES;
use rusqlite::Connection;
use serde_json::Value;

/// The example's config; without its custom checks when `checks` is false (the corruption
/// tests assert verify's own findings, which the checks would echo).
fn placement_config(checks: bool) -> String {
    let text = std::fs::read_to_string(example("placement/grafter.toml")).expect("read the example config");
    if checks {
        return text;
    }
    let start = text.find("\n[[checks]]").expect("the example ships checks");
    text[..start].to_owned()
}

/// A Placement database loaded into the embedded store by `grafter run` (which verifies).
fn migrated(checks: bool) -> (Project, Connection) {
    migrated_into(Target::Embedded, checks)
}

/// A Placement database loaded into `target` by `grafter run` (which verifies).
fn migrated_into(target: Target, checks: bool) -> (Project, Connection) {
    let project = Project::new();
    common::generate_placement(&project.file("placement.sqlite"), 4, false);
    project.write("grafter.toml", placement_config(checks) + &target.section("placement"));
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.json["verification"]["passed"], true, "the run's own verification: {}", summary.json);
    let db = sqlite(&project.file("placement.sqlite"));
    (project, db)
}

/// `grafter query --write`: changes the graph behind grafter's back.
fn corrupt(project: &Project, cypher: &str, params: &[(&str, &str)]) {
    let mut command = project.grafter();
    command.args(["query", "--write", cypher]);
    for (name, value) in params {
        // As JSON strings: an id of digits must stay a string.
        command.arg("--param").arg(format!("{name}={}", serde_json::to_string(value).unwrap()));
    }
    let output = command.output().expect("start grafter");
    assert!(output.status.success(), "{cypher}: {}", output_text(&output).1);
}

/// `grafter verify --format json <args>`: its exit code and report.
fn verify(project: &Project, args: &[&str]) -> (i32, Value) {
    let (code, report, _) = verify_logged(project, args);
    (code, report)
}

/// [`verify`], with what it logged.
fn verify_logged(project: &Project, args: &[&str]) -> (i32, Value, String) {
    let output = project.grafter().args(["verify", "--format", "json"]).args(args).output().expect("start grafter");
    let (stdout, stderr) = output_text(&output);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify output is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (output.status.code().expect("exit code"), report, stderr)
}

/// What verify logs when it reads every relationship a second time, for its shape: on a
/// server that counts relationships per type, only when the comparisons did not account for
/// them all.
const SHAPES_READ_AGAIN: &str = "reading every relationship's shape";

/// Whether the server counts relationships per type without reading them (FalkorDB, Neo4j).
fn counts_relationships_by_type(target: Target) -> bool {
    !matches!(target, Target::Embedded | Target::ArcadeDb)
}

fn provider(uuid: &str) -> String {
    node("ResourceProvider", &[("uuid", uuid)])
}

fn strings(db: &Connection, sql: &str, param: i64) -> Vec<String> {
    let mut statement = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    statement.query_map([param], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn resource_class_name(db: &Connection, id: i64) -> String {
    db.query_row("SELECT name FROM resource_classes WHERE id = ?1", [id], |row| row.get(0))
        .unwrap_or_else(|_| STANDARD_RESOURCE_CLASSES[usize::try_from(id).expect("class id")].to_owned())
}

// Every corruption scenario, on every target: the same findings, exactly.
on_every_target!(
    a_clean_migration_verifies_with_no_findings_and_the_example_checks_hold,
    a_deleted_node_is_reported_with_exactly_the_relationships_it_took_along,
    a_changed_property_is_reported_with_both_values_reading_few_rows_one_by_one,
    an_extra_relationship_is_reported,
    a_retargeted_relationship_is_reported_as_one_retargeting,
    a_duplicated_key_is_reported,
    a_property_no_mapping_sets_on_a_mapped_node_or_relationship_is_reported,
    a_label_no_mapping_gives_a_mapped_node_and_a_mapped_type_between_other_labels_are_reported,
    a_mapped_type_between_other_labels_is_reported_when_no_node_carries_two_labels,
    elements_of_labels_and_types_no_mapping_creates_are_listed_and_fail_only_strict,
);

// What no mapping covers is found by the target's census, which each target implements:
// these scenarios run on the Bolt servers too.
on_targets!([bolt => Bolt, neo4j => Neo4j, neo4j_routed => Neo4jRouted, arcadedb => ArcadeDb] [
    a_property_no_mapping_sets_on_a_mapped_node_or_relationship_is_reported,
    a_label_no_mapping_gives_a_mapped_node_and_a_mapped_type_between_other_labels_are_reported,
    a_mapped_type_between_other_labels_is_reported_when_no_node_carries_two_labels,
    elements_of_labels_and_types_no_mapping_creates_are_listed_and_fail_only_strict,
]);

fn a_clean_migration_verifies_with_no_findings_and_the_example_checks_hold(target: Target) {
    let (project, db) = migrated_into(target, true);
    let (code, report, log) = verify_logged(&project, &[]);
    assert_eq!(code, 0, "{report}");
    // The comparisons read every relationship: the census does not read them again.
    assert!(!log.contains(SHAPES_READ_AGAIN), "{log}");
    assert_eq!(report["passed"], true);
    assert_eq!(findings(&report), BTreeSet::new());
    // Every mapping: what the source holds is what the graph holds (this data has no rejects).
    for mapping in report["mappings"].as_array().unwrap() {
        assert_eq!(mapping["status"], "ok", "{mapping}");
        assert_eq!(mapping["rejected"], 0, "{mapping}");
        assert_eq!(mapping["expected"], mapping["in_target"], "{mapping}");
        assert_eq!(mapping["expected"], mapping["source_rows"], "{mapping}");
    }
    let providers =
        report["mappings"].as_array().unwrap().iter().find(|m| m["mapping"] == "resource_providers").unwrap();
    assert_eq!(providers["in_target"], sql_int(&db, "SELECT count(*) FROM resource_providers"));
    // A clean graph is read once per side: nothing compared one by one.
    assert_eq!((report["passes"].as_u64(), report["rows_individual"].as_u64()), (Some(1), Some(0)));
    let checks: Vec<(&str, bool)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(checks.len(), 11, "{checks:?}");
    assert!(checks.iter().all(|(_, passed)| *passed), "{checks:?}");
    assert!(
        checks.iter().any(|(name, _)| *name == "empty roots")
            && checks.iter().any(|(n, _)| *n == "provider generations")
    );
}

fn a_deleted_node_is_reported_with_exactly_the_relationships_it_took_along(target: Target) {
    let (project, db) = migrated_into(target, false);
    // A NUMA provider: it has a parent, inventories and traits.
    let (id, uuid): (i64, String) = db
        .query_row(
            "SELECT rp.id, rp.uuid FROM resource_providers rp WHERE parent_provider_id IS NOT NULL \
             AND EXISTS (SELECT 1 FROM inventories i WHERE i.resource_provider_id = rp.id) ORDER BY id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) DETACH DELETE p", &[("uuid", &uuid)]);

    let me = provider(&uuid);
    let mut expected = vec![format!("resource_providers: missing {me}")];
    let mut lost = std::collections::BTreeMap::<&str, u64>::new();
    for parent in strings(
        &db,
        "SELECT p.uuid FROM resource_providers c JOIN resource_providers p ON p.id = c.parent_provider_id WHERE c.id = ?1",
        id,
    ) {
        expected.push(format!("provider_tree: missing {}", rel(&provider(&parent), "PARENT_OF", &me)));
        *lost.entry("provider_tree").or_default() += 1;
    }
    for child in strings(&db, "SELECT uuid FROM resource_providers WHERE parent_provider_id = ?1", id) {
        expected.push(format!("provider_tree: missing {}", rel(&me, "PARENT_OF", &provider(&child))));
        *lost.entry("provider_tree").or_default() += 1;
    }
    let mut classes = db.prepare("SELECT resource_class_id FROM inventories WHERE resource_provider_id = ?1").unwrap();
    let classes: Vec<i64> = classes.query_map([id], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    for class in classes {
        let inventory =
            node("Inventory", &[("provider_uuid", &uuid), ("resource_class", &resource_class_name(&db, class))]);
        expected.push(format!("provider_inventories: missing {}", rel(&me, "HAS_INVENTORY", &inventory)));
        *lost.entry("provider_inventories").or_default() += 1;
    }
    for name in strings(
        &db,
        "SELECT t.name FROM resource_provider_traits x JOIN traits t ON t.id = x.trait_id WHERE x.resource_provider_id = ?1",
        id,
    ) {
        expected
            .push(format!("provider_traits: missing {}", rel(&me, "HAS_TRAIT", &node("Trait", &[("name", &name)]))));
        *lost.entry("provider_traits").or_default() += 1;
    }
    for aggregate in strings(
        &db,
        "SELECT a.uuid FROM resource_provider_aggregates x JOIN placement_aggregates a ON a.id = x.aggregate_id WHERE x.resource_provider_id = ?1",
        id,
    ) {
        expected.push(format!(
            "provider_aggregates: missing {}",
            rel(&me, "MEMBER_OF", &node("Aggregate", &[("uuid", &aggregate)]))
        ));
        *lost.entry("provider_aggregates").or_default() += 1;
    }
    assert!(lost.len() >= 3, "the chosen provider should have several kinds of relationships: {lost:?}");
    // Each label and type that lost elements says so in its count.
    let total = |sql: &str| sql_int(&db, sql) as u64;
    let providers = total("SELECT count(*) FROM resource_providers");
    expected.push(format!("resource_providers: count (:ResourceProvider) {providers} -> {}", providers - 1));
    for (mapping, pattern, sql) in [
        (
            "provider_tree",
            "(:ResourceProvider)-[:PARENT_OF]->(:ResourceProvider)",
            "SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NOT NULL",
        ),
        (
            "provider_inventories",
            "(:ResourceProvider)-[:HAS_INVENTORY]->(:Inventory)",
            "SELECT count(*) FROM inventories",
        ),
        (
            "provider_traits",
            "(:ResourceProvider)-[:HAS_TRAIT]->(:Trait)",
            "SELECT count(*) FROM resource_provider_traits",
        ),
        (
            "provider_aggregates",
            "(:ResourceProvider)-[:MEMBER_OF]->(:Aggregate)",
            "SELECT count(*) FROM resource_provider_aggregates",
        ),
    ] {
        if let Some(n) = lost.get(mapping) {
            let all = total(sql);
            expected.push(format!("{mapping}: count {pattern} {all} -> {}", all - n));
        }
    }

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["passed"], false);
    assert_eq!(findings(&report), set(&expected));
}

fn a_changed_property_is_reported_with_both_values_reading_few_rows_one_by_one(target: Target) {
    let (project, db) = migrated_into(target, false);
    let (uuid, generation): (String, i64) = db
        .query_row("SELECT uuid, generation FROM resource_providers ORDER BY id LIMIT 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) SET p.generation = 999", &[("uuid", &uuid)]);

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        set(&[format!("resource_providers: changed {} generation: {generation} -> 999", provider(&uuid))])
    );
    let (individual, total) = (report["rows_individual"].as_u64().unwrap(), report["rows_total"].as_u64().unwrap());
    assert!(individual > 0 && individual * 20 <= total, "{individual} of {total} rows read one by one");
}

fn an_extra_relationship_is_reported(target: Target) {
    let (project, db) = migrated_into(target, false);
    let (uuid, name): (String, String) = db
        .query_row(
            "SELECT rp.uuid, t.name FROM resource_providers rp, traits t WHERE NOT EXISTS \
             (SELECT 1 FROM resource_provider_traits x WHERE x.resource_provider_id = rp.id AND x.trait_id = t.id) \
             ORDER BY rp.id, t.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    corrupt(
        &project,
        "MATCH (p:ResourceProvider {uuid: $uuid}), (t:Trait {name: $name}) CREATE (p)-[:HAS_TRAIT]->(t)",
        &[("uuid", &uuid), ("name", &name)],
    );

    let traits = sql_int(&db, "SELECT count(*) FROM resource_provider_traits");
    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        set(&[
            format!(
                "provider_traits: extra {}",
                rel(&provider(&uuid), "HAS_TRAIT", &node("Trait", &[("name", &name)]))
            ),
            format!("provider_traits: count (:ResourceProvider)-[:HAS_TRAIT]->(:Trait) {traits} -> {}", traits + 1),
        ])
    );
}

fn a_retargeted_relationship_is_reported_as_one_retargeting(target: Target) {
    let (project, db) = migrated_into(target, false);
    let (consumer, project_id, other): (String, String, String) = db
        .query_row(
            "SELECT c.uuid, p.external_id, q.external_id FROM consumers c JOIN projects p ON p.id = c.project_id \
             JOIN projects q ON q.id <> c.project_id ORDER BY c.id, q.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    corrupt(&project, "MATCH (:Consumer {uuid: $c})-[r:OWNED_BY]->() DELETE r", &[("c", &consumer)]);
    corrupt(
        &project,
        "MATCH (c:Consumer {uuid: $c}), (q:Project {external_id: $q}) CREATE (c)-[:OWNED_BY]->(q)",
        &[("c", &consumer), ("q", &other)],
    );

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    let consumer = node("Consumer", &[("uuid", &consumer)]);
    assert_eq!(
        findings(&report),
        set(&[format!(
            "consumer_projects: retargeted {} -> {}",
            rel(&consumer, "OWNED_BY", &node("Project", &[("external_id", &project_id)])),
            node("Project", &[("external_id", &other)])
        )])
    );
}

fn a_duplicated_key_is_reported(target: Target) {
    let (project, db) = migrated_into(target, false);
    let uuid: String =
        db.query_row("SELECT uuid FROM resource_providers ORDER BY id LIMIT 1", [], |row| row.get(0)).unwrap();
    let impostor = "CREATE (:ResourceProvider {uuid: $uuid, name: 'impostor', generation: 0})";
    if target == Target::FalkorDb {
        // The run made the key a uniqueness constraint, so the server refuses the impostor;
        // once someone drops it, only verify can find a duplicate.
        let refused = project
            .grafter()
            .args(["query", "--write", impostor, "--param", &format!("uuid={}", serde_json::to_string(&uuid).unwrap())])
            .output()
            .expect("start grafter");
        assert!(!refused.status.success(), "the server accepted a duplicate key");
        common::drop_falkordb_key_constraint(&project.target_url(), "ResourceProvider", &["uuid"]);
    }
    corrupt(&project, impostor, &[("uuid", &uuid)]);

    let providers = sql_int(&db, "SELECT count(*) FROM resource_providers");
    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        set(&[
            format!("resource_providers: duplicate {} x2", provider(&uuid)),
            format!("resource_providers: count (:ResourceProvider) {providers} -> {}", providers + 1),
        ])
    );
}

/// A provider and a trait it has.
fn provider_with_trait(db: &Connection) -> (String, String) {
    db.query_row(
        "SELECT rp.uuid, t.name FROM resource_provider_traits x JOIN resource_providers rp ON rp.id = x.resource_provider_id \
         JOIN traits t ON t.id = x.trait_id ORDER BY rp.id, t.id LIMIT 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

fn a_property_no_mapping_sets_on_a_mapped_node_or_relationship_is_reported(target: Target) {
    let (project, db) = migrated_into(target, false);
    let (uuid, name) = provider_with_trait(&db);
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) SET p.nickname = 'rack 7'", &[("uuid", &uuid)]);
    corrupt(
        &project,
        "MATCH (:ResourceProvider {uuid: $uuid})-[x:HAS_TRAIT]->(:Trait {name: $name}) SET x.since = 2019",
        &[("uuid", &uuid), ("name", &name)],
    );

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["passed"], false);
    assert_eq!(
        findings(&report),
        set(&[
            format!(r#"resource_providers: unmapped properties {} nickname: "rack 7""#, provider(&uuid)),
            format!(
                "provider_traits: unmapped properties {} since: 2019",
                rel(&provider(&uuid), "HAS_TRAIT", &node("Trait", &[("name", &name)]))
            ),
        ])
    );
    assert_eq!(not_from_config(&report), BTreeSet::new());

    // Only the relationship's property: the comparisons' counts see that it carries one more
    // than they read, and the census names it.
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) REMOVE p.nickname", &[("uuid", &uuid)]);
    let (code, report, log) = verify_logged(&project, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        findings(&report),
        set(&[format!(
            "provider_traits: unmapped properties {} since: 2019",
            rel(&provider(&uuid), "HAS_TRAIT", &node("Trait", &[("name", &name)]))
        )])
    );
    assert_eq!(log.contains(SHAPES_READ_AGAIN), counts_relationships_by_type(target), "{log}");
}

fn a_mapped_type_between_other_labels_is_reported_when_no_node_carries_two_labels(target: Target) {
    let (project, db) = migrated_into(target, false);
    // Clean, the comparisons account for every relationship: none is read again.
    let (code, report, log) = verify_logged(&project, &[]);
    assert_eq!(code, 0, "{report}");
    assert!(!log.contains(SHAPES_READ_AGAIN), "{log}");
    let (consumer, user): (String, String) = db
        .query_row(
            "SELECT c.uuid, u.external_id FROM consumers c JOIN users u ON u.id = c.user_id ORDER BY c.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    corrupt(
        &project,
        "MATCH (c:Consumer {uuid: $c}), (u:User {external_id: $u}) CREATE (c)-[:OWNED_BY]->(u)",
        &[("c", &consumer), ("u", &user)],
    );

    // Every group's scan reads what it should; only the type's count tells one more.
    let (code, report, log) = verify_logged(&project, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        findings(&report),
        set(&["consumer_projects: misplaced (:Consumer)-[:OWNED_BY]->(:User) x1".to_owned()])
    );
    assert_eq!(not_from_config(&report), BTreeSet::new());
    assert_eq!(log.contains(SHAPES_READ_AGAIN), counts_relationships_by_type(target), "{log}");
}

fn a_label_no_mapping_gives_a_mapped_node_and_a_mapped_type_between_other_labels_are_reported(target: Target) {
    let (project, db) = migrated_into(target, false);
    let uuid: String =
        db.query_row("SELECT uuid FROM resource_providers ORDER BY id LIMIT 1", [], |row| row.get(0)).unwrap();
    let (consumer, user): (String, String) = db
        .query_row(
            "SELECT c.uuid, u.external_id FROM consumers c JOIN users u ON u.id = c.user_id ORDER BY c.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) SET p:Decommissioned", &[("uuid", &uuid)]);
    // OWNED_BY goes from a consumer to its project; this one points at a user.
    corrupt(
        &project,
        "MATCH (c:Consumer {uuid: $c}), (u:User {external_id: $u}) CREATE (c)-[:OWNED_BY]->(u)",
        &[("c", &consumer), ("u", &user)],
    );

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        findings(&report),
        set(&[
            "resource_providers: extra labels (:ResourceProvider) :Decommissioned x1".to_owned(),
            "consumer_projects: misplaced (:Consumer)-[:OWNED_BY]->(:User) x1".to_owned(),
        ])
    );
    assert_eq!(not_from_config(&report), BTreeSet::new());
    let text = output_text(&project.grafter().arg("verify").output().unwrap()).0;
    assert!(
        text.contains("(:ResourceProvider): 1 node also labelled :Decommissioned, which no mapping gives it"),
        "{text}"
    );
    assert!(
        text.contains(
            "(:Consumer)-[:OWNED_BY]->(:User): 1 relationship between labels no mapping connects with this type \
             (the mappings create (:Consumer)-[:OWNED_BY]->(:Project))"
        ),
        "{text}"
    );
}

fn elements_of_labels_and_types_no_mapping_creates_are_listed_and_fail_only_strict(target: Target) {
    let (project, db) = migrated_into(target, false);
    let uuid: String =
        db.query_row("SELECT uuid FROM resource_providers ORDER BY id LIMIT 1", [], |row| row.get(0)).unwrap();
    corrupt(
        &project,
        "MATCH (p:ResourceProvider {uuid: $uuid}) CREATE (p)-[:AUDITED_BY]->(:Audit {id: 1}), (:Audit {id: 2})",
        &[("uuid", &uuid)],
    );
    let listed =
        set(&["node (:Audit) x2".to_owned(), "relationship (:ResourceProvider)-[:AUDITED_BY]->(:Audit) x1".to_owned()]);

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!((&report["passed"], &report["strict"]), (&Value::Bool(true), &Value::Bool(false)));
    assert_eq!(findings(&report), BTreeSet::new());
    assert_eq!(not_from_config(&report), listed);
    let text = output_text(&project.grafter().arg("verify").output().unwrap()).0;
    let verdict = text.lines().next().unwrap();
    assert!(
        verdict.ends_with(
            "): PASSED; 2 nodes and 1 relationship not from this config (listed below; only --strict fails on them)"
        ),
        "{text}"
    );
    assert!(text.contains("  - (:ResourceProvider)-[:AUDITED_BY]->(:Audit): 1 relationship"), "{text}");

    let (code, report) = verify(&project, &["--strict"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["passed"], false);
    assert_eq!(not_from_config(&report), listed);
    let output = project.grafter().args(["verify", "--strict"]).output().unwrap();
    let verdict = output_text(&output).0.lines().next().unwrap().to_owned();
    assert!(
        verdict.ends_with("): FAILED; 2 nodes and 1 relationship not from this config (--strict fails on them)"),
        "{verdict}"
    );
}

/// A shop whose items are keyed by a code two of the four rows lack.
fn shop_with_rejects() -> Project {
    let project = Project::new();
    Connection::open(project.file("shop.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE item (id INTEGER PRIMARY KEY, code TEXT, name TEXT);
             INSERT INTO item VALUES (1, 'a', 'A'), (2, NULL, 'B'), (3, 'c', 'C'), (4, NULL, 'D');",
        )
        .unwrap();
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"item\"\nkey = \"code\"\n",
    );
    project
}

#[test]
fn a_verdict_after_rejected_rows_says_how_many_and_where_they_are() {
    let project = shop_with_rejects();
    let output = project.grafter().arg("run").output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(0), "within its reject limit a run succeeds: {stdout}\n{stderr}");
    let remark = "PASSED — 2 of 4 rows rejected, not in the graph (no reject limit; --max-rejects N makes a run fail \
                  past N); see grafter.rejects.ndjson";
    let verdict = stdout.lines().find(|l| l.starts_with("Verification of")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(verdict.ends_with(&format!("): {remark}")), "{verdict}");
    assert_eq!(project.rejects().len(), 2);

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["verdict"], "passed_with_rejects");
    assert_eq!((&report["source_rows"], &report["rejected_rows"]), (&Value::from(4), &Value::from(2)));
    assert_eq!(report["reject_file"], "grafter.rejects.ndjson");
    assert_eq!(report["max_rejects"], Value::Null);
    let text = output_text(&project.grafter().arg("verify").output().unwrap()).0;
    assert!(text.lines().next().unwrap().ends_with(&format!("): {remark}")), "{text}");

    // With a limit, the verdict says the rejects are within it.
    let output = project.grafter().args(["run", "--fresh", "--max-rejects", "3"]).output().unwrap();
    let stdout = output_text(&output).0;
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "): PASSED — 2 of 4 rows rejected, not in the graph (within --max-rejects 3); see grafter.rejects.ndjson"
        ),
        "{stdout}"
    );
    // So does the run's record.
    let history = output_text(&project.grafter().arg("history").arg(run_id(&stdout)).output().unwrap()).0;
    let line = history.lines().find(|l| l.starts_with("verification")).unwrap_or_else(|| panic!("{history}"));
    assert!(line.ends_with("— 2 of 4 rows rejected, not in the graph"), "{history}");

    // The HTML report's verdict says so too.
    let page = project.file("report.html");
    project.grafter().arg("verify").arg("--html").arg(&page).assert().success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h1>Verification passed with 2 of 4 rows rejected</h1>"), "{html}");
    assert!(
        html.contains("they are not in the graph (no reject limit; --max-rejects N makes a run fail past N); each is in <code>grafter.rejects.ndjson</code> with its reason"),
        "{html}"
    );

    // A run without rejects says nothing of them.
    let clean = Project::new();
    clean.init_from_sqlite(&chinook());
    clean.run(&[]);
    let (_, report) = verify(&clean, &[]);
    assert_eq!((&report["verdict"], &report["rejected_rows"]), (&Value::from("passed"), &Value::from(0)));
    let text = output_text(&clean.grafter().arg("verify").output().unwrap()).0;
    assert!(text.lines().next().unwrap().ends_with("): PASSED"), "{text}");
}

/// The run id in `grafter run`'s headline (`Run <id> into …`).
fn run_id(stdout: &str) -> &str {
    let headline = stdout.lines().find(|l| l.starts_with("Run ")).unwrap_or_else(|| panic!("{stdout}"));
    headline.split_whitespace().nth(1).unwrap()
}

#[test]
fn a_hierarchy_bent_into_a_cycle_or_given_a_second_parent_is_reported() {
    let tree_count =
        |db: &Connection| sql_int(db, "SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NOT NULL");
    let pattern = "(:ResourceProvider)-[:PARENT_OF]->(:ResourceProvider)";
    let (project, db) = migrated(false);
    let (child, root): (String, String) = db
        .query_row(
            "SELECT c.uuid, p.uuid FROM resource_providers c JOIN resource_providers p ON p.id = c.parent_provider_id ORDER BY c.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let other: String = db
        .query_row(
            "SELECT uuid FROM resource_providers WHERE parent_provider_id IS NULL AND uuid <> ?1 ORDER BY id LIMIT 1",
            [&root],
            |row| row.get(0),
        )
        .unwrap();

    // The child becomes its own grandparent.
    corrupt(
        &project,
        "MATCH (c:ResourceProvider {uuid: $c}), (r:ResourceProvider {uuid: $r}) CREATE (c)-[:PARENT_OF]->(r)",
        &[("c", &child), ("r", &root)],
    );
    let n = tree_count(&db);
    let mut pair = [provider(&root), provider(&child)];
    pair.sort();
    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        set(&[
            format!("provider_tree: extra {}", rel(&provider(&child), "PARENT_OF", &provider(&root))),
            format!("provider_tree: count {pattern} {n} -> {}", n + 1),
            format!("provider_tree: cycle {}", pair.join(" ")),
        ])
    );

    // Another root adopts the child too (on a fresh copy: the same generated database).
    let (project, _) = migrated(false);
    corrupt(
        &project,
        "MATCH (o:ResourceProvider {uuid: $o}), (c:ResourceProvider {uuid: $c}) CREATE (o)-[:PARENT_OF]->(c)",
        &[("o", &other), ("c", &child)],
    );
    let mut parents = [provider(&root), provider(&other)];
    parents.sort();
    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        set(&[
            format!("provider_tree: extra {}", rel(&provider(&other), "PARENT_OF", &provider(&child))),
            format!("provider_tree: count {pattern} {n} -> {}", n + 1),
            format!("provider_tree: several parents {} {}", provider(&child), parents.join(" ")),
        ])
    );
}

#[test]
fn failing_checks_are_reported_with_their_reason() {
    let (project, db) = migrated(true);
    let (uuid, generation): (String, i64) = db
        .query_row("SELECT uuid, generation FROM resource_providers ORDER BY id LIMIT 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) SET p.generation = 999", &[("uuid", &uuid)]);
    let config = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    project.write(
        "grafter.toml",
        format!("{config}\n[[checks]]\nname = \"no providers\"\ncypher = \"MATCH (p:ResourceProvider) RETURN count(p)\"\nexpect = \"zero\"\n"),
    );

    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 1);
    let failed: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["reason"].as_str().unwrap().to_owned()))
        .collect();
    let providers = sql_int(&db, "SELECT count(*) FROM resource_providers");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, "provider generations");
    for row in
        [format!(r#"only in the graph: ["{uuid}",999]"#), format!(r#"only in the source: ["{uuid}",{generation}]"#)]
    {
        assert!(failed[0].1.contains(&row), "{failed:?}");
    }
    assert_eq!(failed[1], ("no providers".to_owned(), format!("expected 0, got {providers}")));
    // The text report names them too.
    let output = project.grafter().arg("verify").output().unwrap();
    let (stdout, _) = output_text(&output);
    assert!(stdout.contains("FAILED  no providers: expected 0"), "{stdout}");
}

#[test]
fn sample_passes_on_a_clean_graph_and_finds_properties_changed_on_many_nodes() {
    let (project, db) = migrated(false);
    let (code, report) = verify(&project, &["--sample", "50"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["mode"], "sample of 50");
    assert_eq!(findings(&report), BTreeSet::new());

    corrupt(&project, "MATCH (p:ResourceProvider) SET p.generation = -1", &[]);
    let (code, report) = verify(&project, &["--sample", "50"]);
    assert_eq!(code, 1);
    let found = findings(&report);
    let providers = sql_int(&db, "SELECT count(*) FROM resource_providers") as usize;
    assert_eq!(found.len(), providers.min(50), "{found:?}");
    for line in &found {
        assert!(
            line.starts_with("resource_providers: changed (:ResourceProvider") && line.contains("generation: "),
            "{line}"
        );
    }
}

#[test]
fn run_records_its_verification_no_verify_skips_it_and_a_failed_one_fails_the_run() {
    let (project, _db) = migrated(false);
    let runs: Value =
        serde_json::from_slice(&project.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    let run = &runs[0];
    assert_eq!(run["status"], "completed");
    assert_eq!(run["verification"]["passed"], true, "{run}");
    assert_eq!(run["verification"]["mode"], "full");
    // The throughput series ends at every row written.
    let written: u64 = run["mappings"].as_array().unwrap().iter().map(|m| m["written"].as_u64().unwrap()).sum();
    let last = run["throughput"].as_array().and_then(|points| points.last()).cloned().unwrap_or_default();
    assert_eq!(last[1], written, "{}", run["throughput"]);
    let id = run["id"].as_str().unwrap();
    let detail = output_text(&project.grafter().args(["history", id]).output().unwrap()).0;
    assert!(detail.lines().any(|l| l.starts_with("verification") && l.contains("passed (full")), "{detail}");

    // An element the source does not have: the next run (updating every row in place) fails
    // its verification, says why, and the history keeps it.
    corrupt(&project, "CREATE (:Project {external_id: 'nobody'})", &[]);
    let output = project.grafter().args(["run", "--fresh", "--no-snapshot"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(r#"not in the source: (:Project {external_id: "nobody"})"#), "{stdout}");
    let runs: Value =
        serde_json::from_slice(&project.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    let failed = &runs[1];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["verification"]["passed"], false);
    assert_eq!(failed["verification"]["by_kind"]["extra"], 1, "{failed}");
    assert!(failed["error"].as_str().unwrap().starts_with("verification FAILED"), "{failed}");

    // --no-verify: nothing is verified, nothing recorded.
    let skipped = Project::new();
    common::generate_placement(&skipped.file("placement.sqlite"), 2, false);
    skipped.write("grafter.toml", placement_config(false));
    let summary = skipped.run(&["--no-verify"]);
    assert!(summary.json.get("verification").is_none(), "{}", summary.json);
    let runs: Value =
        serde_json::from_slice(&skipped.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(runs[0]["status"], "completed");
    assert!(runs[0].get("verification").is_none(), "{}", runs[0]);
}

#[test]
fn chinook_from_sqlite_verifies_clean() {
    let project = Project::new();
    project.init_from_sqlite(&chinook());
    let summary = project.run(&[]);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let (code, report) = verify(&project, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(findings(&report), BTreeSet::new());
    let db = sqlite(&chinook());
    let tracks = report["mappings"].as_array().unwrap().iter().find(|m| m["pattern"] == "(:Track)").unwrap();
    assert_eq!(tracks["in_target"], sql_int(&db, "SELECT count(*) FROM Track"));
}

#[test]
fn an_unknown_mapping_is_a_usage_error() {
    let (project, _db) = migrated(false);
    let output = project.grafter().args(["verify", "--only", "resource_provider"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output_text(&output).1.contains("did you mean `resource_providers`?"), "{}", output_text(&output).1);
}

#[test]
fn the_html_report_shows_the_failing_mapping_and_its_differing_key_in_a_browser() {
    let (project, db) = migrated(true);
    let uuid: String =
        db.query_row("SELECT uuid FROM resource_providers ORDER BY id LIMIT 1", [], |row| row.get(0)).unwrap();
    corrupt(&project, "MATCH (p:ResourceProvider {uuid: $uuid}) SET p.name = '<b>bold</b> & co'", &[("uuid", &uuid)]);
    let page = project.file("report.html");
    let output = project.grafter().arg("verify").arg("--html").arg(&page).output().unwrap();
    assert_eq!(output.status.code(), Some(1));

    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("http-equiv") && !html.contains("src="),
        "the page fetches nothing"
    );
    let dom = common::render_in_chromium(&page, &project.file("chromium-profile"));
    assert!(dom.contains("Verification FAILED"), "{dom}");
    // The failing mapping links to its findings, which name the key and both values.
    assert!(dom.contains(r##"<a href="#m-resource_providers">resource_providers</a>"##), "{dom}");
    assert!(dom.contains(&uuid), "{dom}");
    // Values from the data are text on the page, never markup.
    assert!(dom.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co") && !dom.contains("<b>bold</b>"), "{dom}");
    assert!(dom.contains("<polyline"), "the run's throughput chart: {dom}");
}
