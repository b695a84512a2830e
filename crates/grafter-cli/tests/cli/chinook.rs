//! End to end on the Chinook sample database: `grafter init` writes a config, `grafter run`
//! loads it, and the graph holds exactly what the tables hold — every expected figure is
//! computed from the database with SQL, never taken from grafter's own output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Project, Row, chinook, ident, output_text, sql_int, sqlite};
use grafter_plan::{Config, RelationshipMapping};
use rusqlite::Connection;
use serde_json::Value;

/// A project with grafter.toml written by `grafter init` from Chinook.
struct Chinook {
    project: Project,
    config: Config,
    db: Connection,
}

impl Chinook {
    fn init() -> Chinook {
        let project = Project::new();
        project.init_from_sqlite(&chinook());
        let text = std::fs::read_to_string(project.file("grafter.toml")).expect("read grafter.toml");
        let config = Config::parse(&text, "grafter.toml", |_| None).expect("grafter init writes a valid config");
        let db = sqlite(&chinook());
        Chinook { project, config, db }
    }

    fn table_rows(&self, table: &str) -> i64 {
        sql_int(&self.db, &format!("SELECT count(*) FROM {}", ident(table)))
    }

    /// Foreign keys of `table` as (column, referenced table), from `PRAGMA foreign_key_list`.
    fn foreign_keys(&self, table: &str) -> Vec<(String, String)> {
        let mut statement = self.db.prepare(&format!("PRAGMA foreign_key_list({})", ident(table))).unwrap();
        statement
            .query_map([], |row| Ok((row.get::<_, String>("from")?, row.get::<_, String>("table")?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn tables(&self) -> Vec<String> {
        let mut statement = self
            .db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    /// Label → rows of the table its node mapping reads.
    fn expected_labels(&self) -> BTreeMap<String, i64> {
        self.config
            .nodes
            .iter()
            .map(|node| (node.label.clone(), self.table_rows(node.table.as_deref().expect("init maps tables"))))
            .collect()
    }

    /// Relationship type → number of relationships the source defines: the non-null values of
    /// its foreign key, or, for a join table whose two endpoints are both foreign keys, its rows.
    fn expected_types(&self) -> BTreeMap<String, i64> {
        let mut expected = BTreeMap::new();
        for rel in &self.config.relationships {
            let table = rel.table.as_deref().expect("init maps tables");
            let fk_columns: Vec<String> = self
                .foreign_keys(table)
                .into_iter()
                .map(|(column, _)| column)
                .filter(|column| endpoint_columns(rel).contains(column))
                .collect();
            let count = match fk_columns.as_slice() {
                [column] => sql_int(&self.db, &format!("SELECT count({}) FROM {}", ident(column), ident(table))),
                [_, _] => self.table_rows(table),
                other => panic!("relationship `{}` uses foreign keys {other:?} of {table}", rel.rel_type),
            };
            *expected.entry(rel.rel_type.clone()).or_insert(0) += count;
        }
        expected
    }

    /// Mapping → rows it reads: every row of a node mapping's table; for a relationship, the
    /// rows whose endpoint columns are all set (a NULL foreign key defines no relationship).
    fn expected_reads(&self) -> BTreeMap<String, i64> {
        let mut expected = BTreeMap::new();
        for node in &self.config.nodes {
            expected.insert(node.name.clone().unwrap(), self.table_rows(node.table.as_deref().unwrap()));
        }
        for rel in &self.config.relationships {
            let conditions: Vec<String> =
                endpoint_columns(rel).iter().map(|c| format!("{} IS NOT NULL", ident(c))).collect();
            let table = ident(rel.table.as_deref().unwrap());
            let sql = format!("SELECT count(*) FROM {table} WHERE {}", conditions.join(" AND "));
            expected.insert(rel.name.clone().unwrap(), sql_int(&self.db, &sql));
        }
        expected
    }

    /// (start key, end key) of every relationship `rel` should create, from the table.
    fn expected_pairs(&self, rel: &RelationshipMapping) -> Vec<(Value, Value)> {
        let (start, end) = (single(&rel.start.key.to_vec()), single(&rel.end.key.to_vec()));
        let sql = format!(
            "SELECT {s}, {e} FROM {t} WHERE {s} IS NOT NULL AND {e} IS NOT NULL",
            s = ident(&start),
            e = ident(&end),
            t = ident(rel.table.as_deref().unwrap())
        );
        let mut statement = self.db.prepare(&sql).unwrap();
        let mut pairs: Vec<(Value, Value)> = statement
            .query_map([], |row| Ok((Value::from(row.get::<_, i64>(0)?), Value::from(row.get::<_, i64>(1)?))))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        pairs.sort_by_key(|(a, b)| (a.as_i64(), b.as_i64()));
        pairs
    }

    /// The key property of `label` (from its node mapping).
    fn key_of(&self, label: &str) -> String {
        let node = self.config.nodes.iter().find(|n| n.label == label).expect("label has a node mapping");
        single(&node.key.to_vec())
    }
}

fn single(names: &[String]) -> String {
    assert_eq!(names.len(), 1, "Chinook keys are single columns: {names:?}");
    names[0].clone()
}

fn endpoint_columns(rel: &RelationshipMapping) -> Vec<String> {
    rel.start.key.to_vec().into_iter().chain(rel.end.key.to_vec()).collect()
}

#[test]
fn init_maps_every_table_and_every_foreign_key() {
    let chinook = Chinook::init();
    let config = &chinook.config;
    for table in chinook.tables() {
        let as_node = config.nodes.iter().any(|n| n.table.as_deref() == Some(table.as_str()));
        let as_join = config.relationships.iter().any(|r| {
            r.table.as_deref() == Some(table.as_str())
                && chinook.foreign_keys(&table).iter().all(|(column, _)| endpoint_columns(r).contains(column))
                && !config.nodes.iter().any(|n| n.table.as_deref() == Some(table.as_str()))
        });
        assert!(as_node || as_join, "table {table} is mapped neither to nodes nor as a join table");
        for (column, referenced) in chinook.foreign_keys(&table) {
            let covering: Vec<&RelationshipMapping> = config
                .relationships
                .iter()
                .filter(|r| r.table.as_deref() == Some(table.as_str()) && endpoint_columns(r).contains(&column))
                .collect();
            assert_eq!(
                covering.len(),
                1,
                "foreign key {table}.{column} should become exactly one relationship mapping"
            );
            let rel = covering[0];
            let label_there = if rel.end.key.to_vec().contains(&column) { &rel.end.label } else { &rel.start.label };
            let referenced_label =
                &config.nodes.iter().find(|n| n.table.as_deref() == Some(referenced.as_str())).unwrap().label;
            assert_eq!(
                label_there, referenced_label,
                "{table}.{column} references {referenced}, so its relationship must end at that table's label"
            );
        }
    }
}

#[test]
fn run_loads_one_node_per_row_and_one_relationship_per_foreign_key() {
    let chinook = Chinook::init();
    let summary = chinook.project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "Chinook is clean, nothing may be rejected");
    assert!(!chinook.project.file("grafter.rejects.ndjson").exists(), "a clean run leaves no reject file");

    assert_eq!(chinook.project.label_counts(), chinook.expected_labels(), "nodes per label vs rows per table");
    assert_eq!(chinook.project.type_counts(), chinook.expected_types(), "relationships per type vs foreign keys");
    // The join table becomes one relationship per row.
    let playlist_track =
        chinook.config.relationships.iter().find(|r| r.table.as_deref() == Some("PlaylistTrack")).unwrap();
    assert_eq!(chinook.project.type_counts()[&playlist_track.rel_type], chinook.table_rows("PlaylistTrack"));
}

#[test]
fn every_relationship_connects_the_nodes_its_row_names() {
    let chinook = Chinook::init();
    chinook.project.run(&[]);
    for rel in &chinook.config.relationships {
        let cypher = format!(
            "MATCH (s:{})-[:{}]->(e:{}) RETURN s.{} AS s, e.{} AS e",
            rel.start.label,
            rel.rel_type,
            rel.end.label,
            chinook.key_of(&rel.start.label),
            chinook.key_of(&rel.end.label)
        );
        let mut pairs: Vec<(Value, Value)> =
            chinook.project.query(&cypher).into_iter().map(|row| (row["s"].clone(), row["e"].clone())).collect();
        pairs.sort_by_key(|(a, b)| (a.as_i64(), b.as_i64()));
        assert_eq!(pairs, chinook.expected_pairs(rel), "{cypher}");
    }
}

/// `column` of every row of `table` as JSON (the form `grafter query --format json` prints),
/// keyed by `key`.
fn sql_column(db: &Connection, table: &str, key: &str, column: &str) -> BTreeMap<i64, Value> {
    let sql = format!("SELECT {}, {} FROM {}", ident(key), ident(column), ident(table));
    let mut statement = db.prepare(&sql).unwrap();
    statement
        .query_map([], |row| {
            let value = match row.get_ref(1)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::from(i),
                rusqlite::types::ValueRef::Real(x) => Value::from(x),
                rusqlite::types::ValueRef::Text(t) => Value::from(std::str::from_utf8(t).unwrap()),
                rusqlite::types::ValueRef::Blob(_) => panic!("no blobs in {table}.{column}"),
            };
            Ok((row.get(0)?, value))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn graph_column(project: &Project, label: &str, key: &str, property: &str) -> BTreeMap<i64, Value> {
    project
        .query(&format!("MATCH (n:{label}) RETURN n.{key} AS k, n.{property} AS v"))
        .into_iter()
        .map(|row: Row| (row["k"].as_i64().expect("integer key"), row["v"].clone()))
        .collect()
}

#[test]
fn text_numbers_and_datetimes_survive_exactly() {
    let chinook = Chinook::init();
    chinook.project.run(&[]);
    let (db, project) = (&chinook.db, &chinook.project);

    // Text, including names with characters beyond ASCII.
    let names = sql_column(db, "Artist", "ArtistId", "Name");
    assert!(
        names.values().any(|n| n.as_str().is_some_and(|n| !n.is_ascii())),
        "the check needs an artist name beyond ASCII"
    );
    assert_eq!(graph_column(project, "Artist", "ArtistId", "Name"), names);

    // NUMERIC(10,2) columns hold REALs: they come back as the same floats.
    let prices = sql_column(db, "Track", "TrackId", "UnitPrice");
    assert!(prices.values().all(Value::is_f64), "Track.UnitPrice is stored as REAL");
    assert_eq!(graph_column(project, "Track", "TrackId", "UnitPrice"), prices);
    assert_eq!(graph_column(project, "Invoice", "InvoiceId", "Total"), sql_column(db, "Invoice", "InvoiceId", "Total"));

    // DATETIME text becomes a datetime, which queries print as ISO 8601.
    let birth_dates: BTreeMap<i64, Value> = sql_column(db, "Employee", "EmployeeId", "BirthDate")
        .into_iter()
        .map(|(id, text)| (id, Value::from(text.as_str().expect("BirthDate is text").replacen(' ', "T", 1))))
        .collect();
    assert_eq!(graph_column(project, "Employee", "EmployeeId", "BirthDate"), birth_dates);
    assert_eq!(birth_dates[&1], Value::from("1962-02-18T00:00:00"));
    // … and it is a datetime in the graph, not the text it was in SQLite.
    let is_datetime = project
        .query("MATCH (e:Employee {EmployeeId: 1}) RETURN e.BirthDate = localdatetime('1962-02-18T00:00:00') AS d");
    assert_eq!(is_datetime[0]["d"], Value::Bool(true));
}

/// Figures of a first run on a clean database: every row read becomes a new element.
fn assert_first_run_created_everything(chinook: &Chinook, first: &common::Summary) {
    first.assert_every_row_accounted_for();
    let expected = chinook.expected_reads();
    for m in first.mappings() {
        assert_eq!(m.read as i64, expected[&m.mapping], "rows read by `{}`", m.mapping);
        assert_eq!((m.created, m.updated, m.rejected), (m.read, 0, 0), "first run, mapping `{}`", m.mapping);
    }
}

#[test]
fn second_run_creates_no_duplicates() {
    let chinook = Chinook::init();
    assert_first_run_created_everything(&chinook, &chinook.project.run(&[]));
    let (labels, types) = (chinook.project.label_counts(), chinook.project.type_counts());

    let second = chinook.project.run(&[]);
    second.assert_every_row_accounted_for();
    assert_eq!(second.mappings().len(), chinook.expected_reads().len(), "the summary lists every mapping");
    for m in second.mappings() {
        assert_eq!(m.created, 0, "second run created elements for mapping `{}`: {m:?}", m.mapping);
    }
    assert_eq!(chinook.project.label_counts(), labels, "nodes per label changed on the second run");
    assert_eq!(chinook.project.type_counts(), types, "relationships per type changed on the second run");
    assert_eq!((labels, types), (chinook.expected_labels(), chinook.expected_types()));
}

#[test]
fn fresh_rerun_reads_every_row_again_and_updates_in_place_without_duplicates() {
    let chinook = Chinook::init();
    assert_first_run_created_everything(&chinook, &chinook.project.run(&[]));
    let (labels, types) = (chinook.project.label_counts(), chinook.project.type_counts());

    let fresh = chinook.project.run(&["--fresh"]);
    fresh.assert_every_row_accounted_for();
    let expected = chinook.expected_reads();
    assert_eq!(fresh.mappings().len(), expected.len(), "the summary lists every mapping");
    for m in fresh.mappings() {
        assert_eq!(m.read as i64, expected[&m.mapping], "a fresh run reads all of `{}` again", m.mapping);
        assert_eq!((m.created, m.updated, m.rejected), (0, m.read, 0), "fresh run, mapping `{}`", m.mapping);
    }
    assert_eq!(chinook.project.label_counts(), labels, "nodes per label changed on the fresh run");
    assert_eq!(chinook.project.type_counts(), types, "relationships per type changed on the fresh run");
}

#[test]
fn only_loads_selected_mappings_and_later_phases_find_earlier_nodes() {
    let chinook = Chinook::init();
    let album_artist = chinook
        .config
        .relationships
        .iter()
        .find(|r| r.start.label == "Album" && r.end.label == "Artist")
        .expect("a relationship from Album to Artist");
    let album_artist_name = album_artist.name.clone().expect("init names mappings");
    assert_eq!(album_artist_name, "Album.ArtistId");

    let nodes = chinook.project.run(&["--only", "Artist,Album"]);
    let names: BTreeSet<String> = nodes.mappings().into_iter().map(|m| m.mapping).collect();
    assert_eq!(names, BTreeSet::from(["Artist".to_owned(), "Album".to_owned()]));
    let labels = chinook.project.label_counts();
    assert_eq!(
        labels,
        BTreeMap::from([
            ("Album".to_owned(), chinook.table_rows("Album")),
            ("Artist".to_owned(), chinook.table_rows("Artist"))
        ])
    );
    assert!(chinook.project.type_counts().is_empty(), "no relationships before their phase");

    let relationships = chinook.project.run(&["--only", &album_artist_name]);
    relationships.assert_every_row_accounted_for();
    let figures = relationships.mapping(&album_artist_name);
    assert_eq!(figures.rejected, 0, "every Album and Artist was loaded by the earlier run");
    let expected = sql_int(&chinook.db, "SELECT count(ArtistId) FROM Album");
    assert_eq!(figures.created as i64, expected);
    assert_eq!(chinook.project.type_counts(), BTreeMap::from([(album_artist.rel_type.clone(), expected)]));
    assert_eq!(chinook.project.label_counts(), labels, "a relationship phase creates no nodes");
    assert_eq!(chinook.project.rejects_if_any(), Vec::<Value>::new());
}

#[test]
fn only_with_an_unknown_mapping_exits_2_and_names_the_nearest() {
    let chinook = Chinook::init();
    let output = chinook.project.grafter().args(["run", "--only", "Artist,Albun"]).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no mapping called `Albun`"), "{stderr}");
    assert!(stderr.contains("did you mean `Album`?"), "{stderr}");
    assert!(!chinook.project.file("grafter.grafeo").exists(), "nothing may be written for a bad --only");
}

#[test]
fn dry_run_writes_nothing_and_prints_the_rows_each_mapping_would_read() {
    let chinook = Chinook::init();
    let before: BTreeSet<_> =
        std::fs::read_dir(chinook.project.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let output = chinook.project.grafter().args(["run", "--dry-run"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let after: BTreeSet<_> =
        std::fs::read_dir(chinook.project.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "a dry run must create no file (no graph store, no reject file)");

    // The summary is a table: | mapping | creates | rows to read |
    let printed: BTreeMap<String, i64> = stdout
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let rows = cells.get(3)?.parse().ok()?;
            Some((cells[1].to_owned(), rows))
        })
        .collect();
    let expected = chinook.expected_reads();
    assert_eq!(printed, expected, "rows to read per mapping:\n{stdout}");
    // The self-reference has a NULL for the top of the hierarchy: the count must know it.
    assert!(expected["Employee.ReportsTo"] < chinook.table_rows("Employee"));
}

/// `grafter plan` text, split into stages, each a list of (mapping line, its detail lines).
fn plan_stages(text: &str) -> BTreeMap<usize, Vec<(String, Vec<String>)>> {
    let mut stages: BTreeMap<usize, Vec<(String, Vec<String>)>> = BTreeMap::new();
    let mut stage = None;
    for line in text.lines() {
        if let Some(number) = line.strip_prefix("Stage ") {
            stage = Some(number.trim().parse().expect("stage number"));
            stages.insert(stage.unwrap(), Vec::new());
        } else if let Some(stage) = stage {
            let entries = stages.get_mut(&stage).unwrap();
            let trimmed = line.trim_start();
            let is_entry = line.starts_with("  ")
                && !line.starts_with("   ")
                && trimmed.split_once(". ").is_some_and(|(n, _)| n.parse::<usize>().is_ok());
            if is_entry {
                entries.push((trimmed.to_owned(), Vec::new()));
            } else if let Some((_, details)) = entries.last_mut() {
                details.push(trimmed.to_owned());
            }
        }
    }
    stages
}

#[test]
fn plan_puts_node_mappings_in_stage_1_and_relationships_in_stage_2_and_says_why() {
    let chinook = Chinook::init();
    let output = chinook.project.grafter().arg("plan").output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let stages = plan_stages(&stdout);
    assert_eq!(stages.keys().copied().collect::<Vec<_>>(), vec![1, 2], "{stdout}");

    let mapping_name = |entry: &str| entry.split_whitespace().nth(1).unwrap().to_owned();
    let stage_1: BTreeSet<String> = stages[&1].iter().map(|(entry, _)| mapping_name(entry)).collect();
    let stage_2: BTreeSet<String> = stages[&2].iter().map(|(entry, _)| mapping_name(entry)).collect();
    let nodes: BTreeSet<String> = chinook.config.nodes.iter().map(|n| n.name.clone().unwrap()).collect();
    let relationships: BTreeSet<String> =
        chinook.config.relationships.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!(stage_1, nodes, "{stdout}");
    assert_eq!(stage_2, relationships, "{stdout}");

    for (entry, details) in &stages[&1] {
        assert!(
            details.iter().any(|d| d.starts_with("why here") && d.contains("needs nothing loaded before it")),
            "{entry}: {details:#?}"
        );
    }
    for rel in &chinook.config.relationships {
        let name = rel.name.clone().unwrap();
        let (_, details) = stages[&2].iter().find(|(entry, _)| mapping_name(entry) == name).unwrap();
        let why: Vec<&String> = details.iter().filter(|d| d.starts_with("why here")).collect();
        for label in [&rel.start.label, &rel.end.label] {
            let creator = chinook.config.nodes.iter().find(|n| &n.label == label).unwrap().name.clone().unwrap();
            assert!(
                why.iter()
                    .any(|d| d.contains(&format!("after `{creator}`")) && d.contains(&format!("the {label} nodes"))),
                "{name} must say it runs after `{creator}`, which creates its {label} nodes: {why:#?}"
            );
        }
    }
}

#[test]
fn plan_json_lists_every_mapping_with_its_order_stage_and_reasons() {
    let chinook = Chinook::init();
    let output = chinook.project.grafter().args(["plan", "--format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).expect("plan --format json prints JSON");
    let mappings = plan["mappings"].as_array().expect("mappings array");
    assert_eq!(mappings.len(), chinook.config.nodes.len() + chinook.config.relationships.len());
    assert_eq!(plan["stages"], Value::from(2));

    for (index, m) in mappings.iter().enumerate() {
        assert_eq!(m["order"], Value::from(index + 1), "{m}");
        let name = m["name"].as_str().unwrap();
        let why_here = m["why_here"].as_array().expect("why_here array");
        assert!(!why_here.is_empty(), "{name} has no reason for its place");
        if let Some(node) = chinook.config.nodes.iter().find(|n| n.name.as_deref() == Some(name)) {
            let table = node.table.as_deref().unwrap();
            assert_eq!((m["kind"].as_str(), m["stage"].as_u64()), (Some("node"), Some(1)), "{m}");
            assert_eq!(m["reads"], Value::from(format!("table `{table}`")));
            assert_eq!(m["creates"], Value::from(format!("(:{})", node.label)));
            assert_eq!(m["key"], serde_json::json!(node.key.to_vec()));
            // Properties are the table's columns minus the excluded foreign keys.
            let statement = chinook.db.prepare(&format!("SELECT * FROM {}", ident(table))).unwrap();
            let columns: Vec<Value> = statement
                .column_names()
                .into_iter()
                .filter(|c| !node.exclude.iter().any(|e| e == c))
                .map(Value::from)
                .collect();
            assert_eq!(m["properties"], Value::Array(columns), "{name}");
        } else {
            let rel = chinook.config.relationships.iter().find(|r| r.name.as_deref() == Some(name)).unwrap();
            assert_eq!((m["kind"].as_str(), m["stage"].as_u64()), (Some("relationship"), Some(2)), "{m}");
            assert_eq!(m["reads"], Value::from(format!("table `{}`", rel.table.as_deref().unwrap())));
            assert_eq!(
                m["creates"],
                Value::from(format!("(:{})-[:{}]->(:{})", rel.start.label, rel.rel_type, rel.end.label))
            );
            assert_eq!(m["key"], serde_json::json!(rel.key), "{name}");
            assert_eq!(m["properties"], serde_json::json!(rel.columns), "{name}");
        }
    }
}

/// `grafter plan --format mermaid` draws the model: a box per label (with its key) and an
/// arrow per relationship mapping, from its start label to its end label, labelled with its
/// type — what the config says, read from the config, not from the picture's own code.
#[test]
fn plan_draws_every_label_and_relationship_of_chinook_as_a_mermaid_flowchart() {
    let chinook = Chinook::init();
    let output = chinook.project.grafter().args(["plan", "--format", "mermaid"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("flowchart LR"), "{stdout}");
    let mut boxes: BTreeMap<String, String> = BTreeMap::new();
    let mut arrows: BTreeSet<(String, String, String)> = BTreeSet::new();
    for line in lines {
        if let Some((id, rest)) = line.trim_start().split_once("[\"<b>") {
            let (label, details) = rest.split_once("</b>").expect("a box names its label in bold");
            assert!(details.ends_with("\"]"), "a box closes its quoted text: {line}");
            let key = &chinook.config.nodes.iter().find(|n| n.label == label).expect("a label of the config").key;
            let key = match key {
                grafter_plan::OneOrMany::One(one) => one.clone(),
                grafter_plan::OneOrMany::Many(many) => many.join(", "),
            };
            assert!(details.contains(&format!("<br/>key: {key}<br/>")), "{label}'s box shows its key {key}: {line}");
            boxes.insert(id.to_owned(), label.to_owned());
        } else if let Some((start, rest)) = line.trim_start().split_once(" -->|\"") {
            let (text, end) = rest.split_once("\"| ").expect("an arrow's text is quoted");
            let rel_type = text.split("<br/>").next().unwrap();
            arrows.insert((start.to_owned(), rel_type.to_owned(), end.to_owned()));
        } else {
            panic!("neither a box nor an arrow: {line:?}\n{stdout}");
        }
    }
    let labels: BTreeSet<&str> = boxes.values().map(String::as_str).collect();
    let expected_labels: BTreeSet<&str> = chinook.config.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, expected_labels);
    assert_eq!(boxes.len(), labels.len(), "one box per label");
    let drawn: BTreeSet<(String, String, String)> = arrows
        .into_iter()
        .map(|(start, rel_type, end)| (boxes[&start].clone(), rel_type, boxes[&end].clone()))
        .collect();
    let expected: BTreeSet<(String, String, String)> = chinook
        .config
        .relationships
        .iter()
        .map(|r| (r.start.label.clone(), r.rel_type.clone(), r.end.label.clone()))
        .collect();
    assert_eq!(drawn, expected);

    // And Mermaid itself reads it as a flowchart.
    let checker = std::env::var("GRAFTER_TEST_MERMAID").expect(
        "GRAFTER_TEST_MERMAID is not set: run `eval \"$(scripts/services start mermaid)\"` (scripts/test does) to install \
         Mermaid's parser",
    );
    let diagram = chinook.project.file("model.mmd");
    std::fs::write(&diagram, &stdout).unwrap();
    let parsed = std::process::Command::new("node").arg(&checker).arg(&diagram).output().expect("run node");
    let (parsed_out, parsed_err) = output_text(&parsed);
    assert!(parsed.status.success(), "Mermaid refuses the diagram: {parsed_err}\n{stdout}");
    assert_eq!(parsed_out.trim(), "flowchart-v2");
}

#[test]
fn init_force_names_and_directs_relationships_by_the_naming_rules_of_the_file_it_replaces() {
    let sample = Chinook::init();
    let project = &sample.project;
    let text = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    // The first file carries the default rule, ready to edit.
    assert!(text.contains("[init.relationships]\n"), "{text}");
    assert!(sample.config.relationships.iter().any(|r| r.rel_type == "SUPPORT_REP"), "{text}");
    let edited = text.replace(
        "type = \"{column}\"\ndirection = \"outgoing\"\n",
        "type = \"HAS_{from}\"\ndirection = \"incoming\"\n\n[init.relationships.overrides]\n\
         \"Invoice.CustomerId\" = { type = \"BILLED_TO\", direction = \"outgoing\" }\n\"Invoce.CustomerId\" = { type = \"X\" }\n",
    );
    assert_ne!(edited, text, "the default rule is in the file");
    project.write("grafter.toml", &edited);
    let output = project
        .grafter()
        .args(["init", "--force", "--from", &format!("sqlite:{}", chinook().display())])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("kept [init.relationships] from grafter.toml"), "{stderr}");
    assert!(
        stderr.contains("warning: [init.relationships.overrides] \"Invoce.CustomerId\" names no relationship"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    let config = Config::parse(&text, "grafter.toml", |_| None).expect("a valid config");
    let by_name = |name: &str| config.relationships.iter().find(|r| r.name.as_deref() == Some(name)).expect(name);
    // The rule: the type from the template, pointing from the referenced row to the one
    // holding the foreign key.
    let genre = by_name("Track.GenreId");
    assert_eq!(
        (genre.rel_type.as_str(), genre.start.label.as_str(), genre.end.label.as_str()),
        ("HAS_TRACK", "Genre", "Track")
    );
    let description = genre.description.as_deref().unwrap();
    assert!(
        description.contains("type from [init.relationships] type = \"HAS_{from}\"")
            && description.contains("incoming"),
        "{description}"
    );
    // A reversed self-reference is no longer a hierarchy (it points from parent to children).
    let reports = by_name("Employee.ReportsTo");
    assert_eq!((reports.rel_type.as_str(), reports.hierarchy), ("HAS_EMPLOYEE", false));
    // The override wins over the rule, for type and direction.
    let billed = by_name("Invoice.CustomerId");
    assert_eq!(
        (billed.rel_type.as_str(), billed.start.label.as_str(), billed.end.label.as_str()),
        ("BILLED_TO", "Invoice", "Customer")
    );
    // The rules survive into the new file, for the next init.
    assert_eq!(config.init.relationships.overrides.len(), 2, "{text}");

    // plan shows why each was named so; the graph holds them as named, one per row.
    let plan = project.grafter().arg("plan").output().unwrap();
    let (stdout, _) = output_text(&plan);
    assert!(stdout.contains("type from [init.relationships.overrides] \"Invoice.CustomerId\""), "{stdout}");
    project.run(&[]).assert_every_row_accounted_for();
    let invoices = sql_int(&sample.db, "SELECT count(*) FROM Invoice");
    assert_eq!(project.query_int("MATCH (:Invoice)-[r:BILLED_TO]->(:Customer) RETURN count(r) AS n"), invoices);
    let tracks = sql_int(&sample.db, "SELECT count(*) FROM Track WHERE GenreId IS NOT NULL");
    assert_eq!(project.query_int("MATCH (:Genre)-[r:HAS_TRACK]->(:Track) RETURN count(r) AS n"), tracks);
}

/// The values of attribute `name` in `dom`, for each element that has them all: the
/// elements of the model page that carry `data-…` figures.
fn elements_with(dom: &str, tag_start: &str, names: &[&str]) -> Vec<BTreeMap<String, String>> {
    dom.split(tag_start)
        .skip(1)
        .map(|element| element.split_once('>').map_or(element, |(head, _)| head))
        .map(|head| {
            let mut attributes = BTreeMap::new();
            for name in names {
                if let Some((_, rest)) = head.split_once(&format!(" {name}=\"")) {
                    attributes.insert((*name).to_owned(), rest.split('"').next().unwrap_or_default().to_owned());
                }
            }
            attributes
        })
        .collect()
}

/// `n` as the page writes it: thousands apart by a thin space.
fn thin_grouped(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// `grafter plan --html` draws the model in a page a browser renders: a box per label and an
/// arrow per relationship mapping (start, type, end), each with the rows SQL counts for it;
/// the tables left out greyed; once a run has loaded the graph, what the graph holds beside.
#[test]
fn plan_html_shows_every_label_and_relationship_of_chinook_with_counts_in_a_browser() {
    let project = Project::new();
    let db_url = format!("sqlite:{}", chinook().display());
    let init = project.grafter().args(["init", "--from", &db_url, "--exclude", "Playlist*"]).output().unwrap();
    assert!(init.status.success(), "{}", output_text(&init).1);
    let text = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
    let config = Config::parse(&text, "grafter.toml", |_| None).unwrap();
    let db = sqlite(&chinook());
    let rows = |table: &str| sql_int(&db, &format!("SELECT count(*) FROM {}", ident(table)));

    let page = project.file("model.html");
    let render = |loaded: bool| -> String {
        let output = project.grafter().arg("plan").arg("--html").arg(&page).output().unwrap();
        assert!(output.status.success(), "{}", output_text(&output).1);
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(!html.contains("<script") && !html.contains("src="), "the page fetches nothing");
        let dom = common::render_in_chromium(&page, &project.file(if loaded { "profile-2" } else { "profile-1" }));
        // Every label once, with its key and its rows.
        let boxes = elements_with(&dom, "<g class=\"label\"", &["data-label", "data-expected", "data-in-graph"]);
        let drawn: BTreeSet<&str> = boxes.iter().map(|b| b["data-label"].as_str()).collect();
        let labels: BTreeSet<&str> = config.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(drawn, labels);
        assert_eq!(boxes.len(), labels.len());
        for node in &config.nodes {
            let drawn = boxes.iter().find(|b| b["data-label"] == node.label).unwrap();
            let expected = rows(node.table.as_deref().unwrap());
            assert_eq!(drawn["data-expected"], expected.to_string(), "{}", node.label);
            assert_eq!(drawn.get("data-in-graph"), loaded.then(|| expected.to_string()).as_ref(), "{}", node.label);
            let key = node.key.to_vec().join(", ");
            assert!(
                dom.contains(&format!("key {key} · expected {}", thin_grouped(expected))),
                "{} in {dom}",
                node.label
            );
        }
        // Every relationship mapping an arrow from its start to its end label.
        let arrows = elements_with(
            &dom,
            "<g class=\"rel\"",
            &["data-type", "data-start", "data-end", "data-expected", "data-in-graph"],
        );
        assert_eq!(arrows.len(), config.relationships.len());
        for rel in &config.relationships {
            let arrow = arrows
                .iter()
                .find(|a| {
                    a["data-type"] == rel.rel_type
                        && a["data-start"] == rel.start.label
                        && a["data-end"] == rel.end.label
                })
                .unwrap_or_else(|| panic!("no arrow for {}", rel.rel_type));
            let present: Vec<String> =
                endpoint_columns(rel).iter().map(|c| format!("{} IS NOT NULL", ident(c))).collect();
            let expected = sql_int(
                &db,
                &format!(
                    "SELECT count(*) FROM {} WHERE {}",
                    ident(rel.table.as_deref().unwrap()),
                    present.join(" AND ")
                ),
            );
            assert_eq!(arrow["data-expected"], expected.to_string(), "{}", rel.rel_type);
            assert_eq!(arrow.get("data-in-graph"), loaded.then(|| expected.to_string()).as_ref(), "{}", rel.rel_type);
            assert!(dom.contains(&format!("{} expected {}", rel.rel_type, thin_grouped(expected))), "{}", rel.rel_type);
        }
        // The tables left out, greyed.
        let skipped = elements_with(&dom, "<g class=\"skipped\"", &["data-table"]);
        let skipped: BTreeSet<&str> = skipped.iter().map(|s| s["data-table"].as_str()).collect();
        assert_eq!(skipped, BTreeSet::from(["Playlist", "PlaylistTrack"]));
        dom
    };
    let before = render(false);
    assert!(before.contains("the target was not read"), "before a run the graph holds nothing yet");
    project.run(&[]).assert_every_row_accounted_for();
    render(true);
}
