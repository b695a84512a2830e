//! The bundled Placement example end to end: the example's `placement-generator` writes a database,
//! the example's grafter.toml loads it, and the graph matches the tables — counted with SQL
//! on the generated file, never taken from grafter's own output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Project, output_text, sql_int, sqlite};
use placement_generator::STANDARD_RESOURCE_CLASSES;
use rusqlite::Connection;

/// A project with a generated Placement database (its standard resource classes stored too
/// with `sync_standard_classes`) and the example's grafter.toml beside it.
fn placement_project(sync_standard_classes: bool) -> (Project, Connection) {
    let project = Project::new();
    common::placement_example(&project, sync_standard_classes);
    let db = sqlite(&project.file("placement.sqlite"));
    (project, db)
}

fn names(db: &Connection, sql: &str) -> BTreeSet<String> {
    let mut statement = db.prepare(sql).unwrap();
    statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Every resource class name: the table's and the standard ones.
fn all_resource_classes(db: &Connection) -> BTreeSet<String> {
    let mut classes = names(db, "SELECT name FROM resource_classes");
    classes.extend(STANDARD_RESOURCE_CLASSES.iter().map(|s| (*s).to_owned()));
    classes
}

fn graph_names(project: &Project, label: &str) -> BTreeMap<String, bool> {
    project
        .query(&format!("MATCH (n:{label}) RETURN n.name AS name, n.standard AS standard"))
        .into_iter()
        .map(|row| {
            let name = row["name"].as_str().expect("name is text").to_owned();
            let standard =
                row["standard"].as_bool().unwrap_or_else(|| panic!("{label} {name}: standard is not a bool"));
            (name, standard)
        })
        .collect()
}

#[test]
fn placement_example_loads_every_row_of_the_generated_database() {
    let (project, db) = placement_project(false);
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "nothing may be rejected: {}", summary.json);

    let rows = |table: &str| sql_int(&db, &format!("SELECT count(*) FROM {table}"));
    let expected_labels = BTreeMap::from([
        ("Aggregate".to_owned(), rows("placement_aggregates")),
        ("Consumer".to_owned(), rows("consumers")),
        ("Inventory".to_owned(), rows("inventories")),
        ("Project".to_owned(), rows("projects")),
        ("ResourceClass".to_owned(), all_resource_classes(&db).len() as i64),
        ("ResourceProvider".to_owned(), rows("resource_providers")),
        ("Trait".to_owned(), rows("traits")),
        ("User".to_owned(), rows("users")),
    ]);
    assert_eq!(project.label_counts(), expected_labels);

    let expected_types = BTreeMap::from([
        ("CONSUMES".to_owned(), rows("allocations")),
        ("CREATED_BY".to_owned(), rows("consumers")),
        ("HAS_INVENTORY".to_owned(), rows("inventories")),
        ("HAS_TRAIT".to_owned(), rows("resource_provider_traits")),
        ("MEMBER_OF".to_owned(), rows("resource_provider_aggregates")),
        ("OF_CLASS".to_owned(), rows("inventories")),
        ("OWNED_BY".to_owned(), rows("consumers")),
        (
            "PARENT_OF".to_owned(),
            sql_int(&db, "SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NOT NULL"),
        ),
    ]);
    assert_eq!(project.type_counts(), expected_types);
}

#[test]
fn placement_every_child_provider_has_exactly_one_parent_and_roots_none() {
    let (project, db) = placement_project(false);
    project.run(&[]);
    let children = names(&db, "SELECT uuid FROM resource_providers WHERE parent_provider_id IS NOT NULL");
    let roots = names(&db, "SELECT uuid FROM resource_providers WHERE parent_provider_id IS NULL");
    assert!(children.len() > 1 && roots.len() > 1, "the generated trees must have roots and children");
    let (children, roots) = (serde_json::to_string(&children).unwrap(), serde_json::to_string(&roots).unwrap());

    let parents_other_than = "MATCH (c:ResourceProvider) WHERE c.uuid IN $uuids \
         OPTIONAL MATCH (p:ResourceProvider)-[:PARENT_OF]->(c) \
         WITH c, count(p) AS parents WHERE parents <> $expected RETURN count(c) AS wrong";
    let wrong = |uuids: &str, expected: &str| {
        let rows = project.query_with(parents_other_than, &[("uuids", uuids), ("expected", expected)]);
        rows[0]["wrong"].as_i64().expect("count")
    };
    assert_eq!(wrong(&children, "1"), 0, "providers with a parent in SQL must have exactly one PARENT_OF");
    assert_eq!(wrong(&roots, "0"), 0, "roots must have no PARENT_OF");
    // The query can see a wrong number of parents: every child has one, not two.
    assert_eq!(
        wrong(&children, "2"),
        sql_int(&db, "SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NOT NULL")
    );

    // Each PARENT_OF goes from the provider SQL names as the parent.
    let expected: BTreeSet<(String, String)> = {
        let mut statement = db
            .prepare(
                "SELECT p.uuid, c.uuid FROM resource_providers c \
                 JOIN resource_providers p ON p.id = c.parent_provider_id",
            )
            .unwrap();
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let edges: BTreeSet<(String, String)> = project
        .query("MATCH (p:ResourceProvider)-[:PARENT_OF]->(c:ResourceProvider) RETURN p.uuid AS p, c.uuid AS c")
        .into_iter()
        .map(|row| (row["p"].as_str().unwrap().to_owned(), row["c"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(edges, expected);
}

#[test]
fn placement_allocations_become_consumes_with_their_amounts() {
    let (project, db) = placement_project(false);
    project.run(&[]);
    let total = project.query("MATCH (:Consumer)-[r:CONSUMES]->(:Inventory) RETURN count(r) AS n, sum(r.used) AS used");
    assert_eq!(total[0]["n"].as_i64(), Some(sql_int(&db, "SELECT count(*) FROM allocations")));
    assert_eq!(total[0]["used"].as_i64(), Some(sql_int(&db, "SELECT sum(used) FROM allocations")));

    // Per resource class, which the example resolves through the standard list or the table.
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let mut statement = db
        .prepare(
            "SELECT a.resource_class_id, rc.name, sum(a.used) FROM allocations a \
             LEFT JOIN resource_classes rc ON rc.id = a.resource_class_id GROUP BY a.resource_class_id",
        )
        .unwrap();
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, i64>(2)?)))
        .unwrap();
    for row in rows {
        let (id, name, used) = row.unwrap();
        let name = name.unwrap_or_else(|| STANDARD_RESOURCE_CLASSES[usize::try_from(id).unwrap()].to_owned());
        expected.insert(name, used);
    }
    let per_class: BTreeMap<String, i64> = project
        .query("MATCH (:Consumer)-[r:CONSUMES]->(i:Inventory) RETURN i.resource_class AS class, sum(r.used) AS used")
        .into_iter()
        .map(|row| (row["class"].as_str().unwrap().to_owned(), row["used"].as_i64().unwrap()))
        .collect();
    assert_eq!(per_class, expected);
}

#[test]
fn placement_standard_flag_is_true_exactly_for_names_not_starting_with_custom() {
    let (project, db) = placement_project(false);
    project.run(&[]);
    for (label, expected_names) in
        [("Trait", names(&db, "SELECT name FROM traits")), ("ResourceClass", all_resource_classes(&db))]
    {
        let flags = graph_names(&project, label);
        assert_eq!(flags.keys().cloned().collect::<BTreeSet<_>>(), expected_names, "{label} names");
        for (name, standard) in &flags {
            assert_eq!(*standard, !name.starts_with("CUSTOM_"), "{label} {name}");
        }
        assert!(flags.values().any(|s| *s) && flags.values().any(|s| !*s), "{label}: need both kinds to check");
    }
}

#[test]
fn placement_with_synced_standard_classes_has_each_class_once() {
    let (project, db) = placement_project(true);
    let stored_standard =
        sql_int(&db, "SELECT count(*) FROM resource_classes WHERE name NOT LIKE 'CUSTOM\\_%' ESCAPE '\\'");
    assert_eq!(stored_standard, STANDARD_RESOURCE_CLASSES.len() as i64, "the generator stores the standard classes");
    let custom = sql_int(&db, "SELECT count(*) FROM resource_classes WHERE name LIKE 'CUSTOM\\_%' ESCAPE '\\'");
    assert!(custom > 0, "the generator writes custom classes too");

    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "nothing may be rejected: {}", summary.json);
    let classes = summary.mapping("resource_classes");
    let expected = STANDARD_RESOURCE_CLASSES.len() as i64 + custom;
    assert_eq!((classes.read as i64, classes.created as i64), (expected, expected));
    assert_eq!(project.label_counts()["ResourceClass"], expected);
    let flags = graph_names(&project, "ResourceClass");
    assert_eq!(flags.keys().cloned().collect::<BTreeSet<_>>(), all_resource_classes(&db));
}

#[test]
fn placement_plan_text_lists_every_mapping_in_load_order_with_its_reasons() {
    let (project, _db) = placement_project(false);
    let output = project.grafter().arg("plan").output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let tmp = common::regex_escape(&project.path().display().to_string());
    insta::with_settings!({ filters => vec![(tmp.as_str(), "[PROJECT]")] }, {
        insta::assert_snapshot!("placement_plan", stdout);
    });
}

#[test]
fn placement_fresh_rerun_updates_every_element_in_place() {
    let (project, _db) = placement_project(false);
    let first = project.run(&[]);
    let (labels, types) = (project.label_counts(), project.type_counts());
    let second = project.run(&["--fresh"]);
    second.assert_every_row_accounted_for();
    for (m, before) in second.mappings().iter().zip(first.mappings()) {
        assert_eq!(m.mapping, before.mapping);
        // Composite keys (Inventory) and relationships between them are found again by key.
        assert_eq!((m.read, m.created, m.updated, m.rejected), (before.read, 0, before.read, 0), "{}", m.mapping);
    }
    assert_eq!((project.label_counts(), project.type_counts()), (labels, types));
}
