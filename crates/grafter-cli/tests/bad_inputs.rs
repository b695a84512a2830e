//! What a user sees when the config or the data is wrong.
//!
//! A config that cannot work stops grafter before it writes anything, with exit code 2 and a
//! message naming the culprit (file and line, table, column, key) and, where one exists, the
//! nearest valid name. Rows that cannot be loaded are not errors: each goes to the reject
//! file with its reason, the run loads the rest and exits 0 — unless `--max-rejects` is
//! exceeded, which stops the run with exit code 1.

mod common;

use common::{Project, line_of, output_text, sqlite};
use serde_json::Value;

const EXIT_FAILURE: i32 = 1;
const EXIT_CONFIG: i32 = 2;

/// A project with `shop.sqlite` (customers and their orders) and `config` as grafter.toml.
fn shop(config: &str) -> Project {
    let project = Project::new();
    sqlite(&project.file("shop.sqlite"))
        .execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
             INSERT INTO customers VALUES (1, 'Ann', 'ann@example.org'), (2, 'Bob', NULL), (3, 'Cy', 'cy@example.org');
             CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
             INSERT INTO orders VALUES (10, 1, 9.5), (11, 3, 20.0), (12, 99, 1.0), (13, NULL, 2.0);",
        )
        .unwrap();
    project.write("grafter.toml", config);
    project
}

const SHOP: &str = r#"
[source]
url = "sqlite:shop.sqlite"

[[nodes]]
label = "Customer"
table = "customers"
key = "id"

[[nodes]]
label = "Order"
table = "orders"
key = "id"
exclude = ["customer_id"]

[[relationships]]
name = "placed"
type = "PLACED"
table = "orders"
start = { label = "Customer", key = "customer_id" }
end = { label = "Order", key = "id" }
"#;

/// Runs `grafter <args>`, expecting exit code `code`; returns stderr.
fn fails(project: &Project, args: &[&str], code: i32) -> String {
    let output = project.grafter().args(args).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(code), "grafter {args:?}:\nstdout: {stdout}\nstderr: {stderr}");
    stderr
}

/// Asserts that a failed command left no graph behind.
fn assert_nothing_written(project: &Project) {
    assert!(!project.file("grafter.grafeo").exists(), "a config error must not create the graph store");
    assert!(!project.file("grafter.rejects.ndjson").exists(), "a config error must not write rejects");
}

fn assert_contains(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
}

// ------------------------------------------------------------------ config errors (exit 2)

#[test]
fn missing_config_file_exits_2_and_says_how_to_write_one() {
    let project = Project::new();
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    assert_contains(&stderr, "config file not found: grafter.toml");
    assert_contains(&stderr, "hint: pass -c PATH, or write one with `grafter init");

    let stderr = fails(&project, &["plan", "-c", "elsewhere/shop.toml"], EXIT_CONFIG);
    assert_contains(&stderr, "config file not found: elsewhere/shop.toml");
}

#[test]
fn missing_source_database_exits_2_and_names_its_path() {
    let project = shop(&SHOP.replace("sqlite:shop.sqlite", "sqlite:data/shop.sqlite"));
    for command in ["plan", "run"] {
        let stderr = fails(&project, &[command], EXIT_CONFIG);
        assert_contains(&stderr, "SQLite database not found: ");
        assert_contains(&stderr, "data/shop.sqlite");
        assert_contains(&stderr, "hint: check `[source] url = \"sqlite:PATH\"`");
    }
    assert_nothing_written(&project);
    assert!(!project.file("data/shop.sqlite").exists(), "grafter must not create a source database");
}

/// SHOP with `[target] url = "<target>"`.
fn shop_with_target(target: &str) -> Project {
    shop(&format!("{SHOP}\n[target]\nurl = \"{target}\"\n"))
}

#[test]
fn a_target_url_that_cannot_work_exits_2_at_plan_time_naming_its_line() {
    for (target, reason, hint) in [
        ("falkor://127.0.0.1:6380/shop", "unknown scheme `falkor`", "did you mean `falkordb:`?"),
        ("falkordb://127.0.0.1:6380", "it names no graph", "write it as falkordb://[USER:PASSWORD@]HOST[:PORT]/GRAPH"),
        (
            "bolt://127.0.0.1:7687/shop",
            "a Bolt URL has no path",
            "write it as bolt://[USER:PASSWORD@]HOST[:PORT][?database=NAME]",
        ),
        ("bolt://127.0.0.1:7687?region=eu", "unknown parameter `region`", "write it as bolt://"),
    ] {
        let project = shop_with_target(target);
        let config = std::fs::read_to_string(project.file("grafter.toml")).unwrap();
        let line = line_of(&config, target);
        for command in [&["plan"][..], &["run", "--dry-run"], &["verify"], &["history"]] {
            let stderr = fails(&project, command, EXIT_CONFIG);
            assert_contains(&stderr, &format!("grafter.toml:{line}: target URL {target:?}: {reason}"));
            assert_contains(&stderr, &format!("hint: {hint}"));
        }
        assert_nothing_written(&project);
    }
}

#[test]
fn a_server_source_url_that_cannot_work_exits_2_before_connecting_naming_its_line() {
    for (source, reason) in [
        ("postgres://app@127.0.0.1:1/shop?sslmode=require", "sslmode=require needs TLS"),
        ("mariadb://app@127.0.0.1:1", "it names no database"),
        ("postgres:/127.0.0.1:1/shop", "it has no `//` after the scheme"),
    ] {
        let project = shop(&SHOP.replace("sqlite:shop.sqlite", source));
        let line = line_of(&std::fs::read_to_string(project.file("grafter.toml")).unwrap(), source);
        // Port 1 answers nobody: had grafter tried to connect, it would say so, and exit 1.
        for command in [&["plan"][..], &["run", "--dry-run"]] {
            let stderr = fails(&project, command, EXIT_CONFIG);
            assert_contains(&stderr, &format!("grafter.toml:{line}: source URL {source:?}: {reason}"));
        }
    }
}

#[test]
fn a_config_that_is_not_utf8_exits_2_naming_the_line() {
    let project = shop("");
    let mut config = SHOP.as_bytes().to_vec();
    let at = SHOP.find("label = \"Order\"").unwrap() + "label = \"Ord".len();
    config[at] = 0xe9; // Latin-1 `é` where `e` was
    project.write("grafter.toml", config);
    let line = line_of(SHOP, "label = \"Order\"");
    for command in ["plan", "run", "verify"] {
        let stderr = fails(&project, &[command], EXIT_CONFIG);
        assert_contains(&stderr, &format!("grafter.toml:{line}: the file is not UTF-8 text"));
        assert_contains(&stderr, "hint: save it as UTF-8");
    }
    assert_nothing_written(&project);
}

#[test]
fn unknown_table_exits_2_and_suggests_the_nearest_table() {
    let project = shop(&SHOP.replace("table = \"customers\"", "table = \"customer\""));
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    assert_contains(&stderr, "table `customer` not found in sqlite:");
    assert_contains(&stderr, "hint: did you mean table `customers`?");
    assert_nothing_written(&project);
}

#[test]
fn unknown_column_in_columns_exits_2_names_the_line_and_suggests_the_nearest() {
    let config = SHOP.replace("key = \"id\"\n\n[[nodes]]", "key = \"id\"\ncolumns = [\"id\", \"nmae\"]\n\n[[nodes]]");
    let project = shop(&config);
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    let line = line_of(&config, "[[nodes]]");
    assert_contains(
        &stderr,
        &format!("grafter.toml:{line}: mapping `customers`: column `nmae` is not a column of table `customers`"),
    );
    assert_contains(&stderr, "hint: did you mean `name`?");
    assert_nothing_written(&project);
}

#[test]
fn unknown_column_in_a_transform_exits_2_and_suggests_the_nearest() {
    let config = SHOP
        .replace("key = \"id\"\n\n[[nodes]]", "key = \"id\"\n[nodes.transform]\nemail = \"lower(emial)\"\n\n[[nodes]]");
    let project = shop(&config);
    let stderr = fails(&project, &["plan"], EXIT_CONFIG);
    assert_contains(&stderr, "mapping `customers`: column `emial` is not a column of table `customers`");
    assert_contains(&stderr, "hint: did you mean `email`?");
    assert_nothing_written(&project);
}

#[test]
fn misspelt_key_names_file_line_and_the_nearest_key() {
    let config = SHOP.replace("exclude = [", "exlcude = [");
    let project = shop(&config);
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    let line = line_of(&config, "exlcude");
    assert_contains(&stderr, &format!("grafter.toml:{line}: unknown key `exlcude`"));
    assert_contains(&stderr, "hint: did you mean `exclude`?");
    assert_nothing_written(&project);
}

#[test]
fn unknown_label_in_a_relationship_endpoint_exits_2_and_suggests_the_nearest() {
    let config = SHOP.replace("start = { label = \"Customer\"", "start = { label = \"Custmer\"");
    let project = shop(&config);
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    let line = line_of(&config, "label = \"Custmer\"");
    assert_contains(
        &stderr,
        &format!("grafter.toml:{line}: start label `Custmer` is not created by any [[nodes]] mapping in this file"),
    );
    assert_contains(&stderr, "hint: did you mean `Customer`?");
    assert_nothing_written(&project);
}

// ------------------------------------------------------------------ rejected rows (exit 0)

/// The reject file's lines for `mapping`.
fn rejects_of(project: &Project, mapping: &str) -> Vec<Value> {
    project.rejects().into_iter().filter(|r| r["mapping"] == mapping).collect()
}

/// The rejected row as text (an object for rows that were read, the raw record otherwise).
fn row_text(reject: &Value) -> String {
    match &reject["row"] {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

/// Every reject line carries the run, the mapping, where the row was, why, and the row.
fn assert_reject_lines_complete(project: &Project, run_id: &Value) {
    for reject in project.rejects() {
        assert_eq!(&reject["run"], run_id, "{reject}");
        for field in ["mapping", "reason"] {
            assert!(reject[field].is_string(), "reject without {field}: {reject}");
        }
        assert!(reject["line"].is_u64(), "reject without line: {reject}");
        assert!(!reject["row"].is_null(), "reject without row: {reject}");
    }
}

#[test]
fn duplicate_keys_go_to_the_reject_file_and_the_rest_loads() {
    let project = Project::new();
    let db = sqlite(&project.file("tags.sqlite"));
    // No primary key: nothing stops the same code from appearing twice.
    db.execute_batch(
        "CREATE TABLE tags (code TEXT, label TEXT);
         INSERT INTO tags VALUES ('a', 'first a'), ('b', 'first b'), ('a', 'second a'),
                                 ('c', 'only c'), ('b', 'second b');",
    )
    .unwrap();
    let distinct: i64 = db.query_row("SELECT count(DISTINCT code) FROM tags", [], |r| r.get(0)).unwrap();
    let rows: i64 = db.query_row("SELECT count(*) FROM tags", [], |r| r.get(0)).unwrap();
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:tags.sqlite\"\n\n[[nodes]]\nlabel = \"Tag\"\ntable = \"tags\"\nkey = \"code\"\n",
    );

    let output = project.grafter().args(["run", "--format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "rejected rows are not an error: {stderr}");
    assert_contains(&stderr, &format!("{} rows were rejected; each is in grafter.rejects.ndjson", rows - distinct));
    let summary = common::Summary::parse(stdout.as_bytes());
    summary.assert_every_row_accounted_for();
    let tags = summary.mapping("tags");
    assert_eq!((tags.read, tags.written, tags.rejected), (rows as u64, distinct as u64, (rows - distinct) as u64));
    assert_eq!(project.query_int("MATCH (t:Tag) RETURN count(t) AS n"), distinct);

    assert_reject_lines_complete(&project, &summary.json["run_id"]);
    let rejects = rejects_of(&project, "tags");
    assert_eq!(rejects.len() as i64, rows - distinct);
    for reject in &rejects {
        let code = reject["row"]["code"].as_str().expect("the rejected row, with its columns");
        let reason = reject["reason"].as_str().unwrap();
        assert!(reason.contains("duplicate key") && reason.contains(&format!("code: \"{code}\"")), "{reason}");
        assert!(
            reject["row"]["label"].as_str().unwrap().starts_with("second"),
            "the first row of a key wins: {reject}"
        );
    }
}

#[test]
fn impossible_datetime_in_sqlite_is_rejected_naming_the_column() {
    let project = Project::new();
    sqlite(&project.file("events.sqlite"))
        .execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, starts DATETIME);
             INSERT INTO events VALUES (1, 'launch', '2023-02-28 09:00:00'), (2, 'leap', '2023-02-30 00:00:00'),
                                       (3, 'party', '2023-03-01 20:30:00');",
        )
        .unwrap();
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:events.sqlite\"\n\n[[nodes]]\nlabel = \"Event\"\ntable = \"events\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!(summary.mapping("events").rejected, 1);

    let rejects = rejects_of(&project, "events");
    assert_eq!(rejects.len(), 1);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("column `starts`") && reason.contains("2023-02-30 00:00:00"), "{reason}");
    assert!(reason.contains("not a valid datetime"), "{reason}");
    assert!(row_text(&rejects[0]).contains("leap"), "the reject keeps the row: {}", rejects[0]);

    let loaded = project.query("MATCH (e:Event) RETURN e.id AS id, e.starts AS starts ORDER BY id");
    let loaded: Vec<(i64, &str)> =
        loaded.iter().map(|r| (r["id"].as_i64().unwrap(), r["starts"].as_str().unwrap())).collect();
    assert_eq!(loaded, [(1, "2023-02-28T09:00:00"), (3, "2023-03-01T20:30:00")]);
}

#[test]
fn parse_date_on_bad_text_is_rejected_with_the_function_message() {
    let project = Project::new();
    sqlite(&project.file("people.sqlite"))
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, born TEXT);
             INSERT INTO people VALUES (1, '1990-01-31'), (2, '31.01.1990'), (3, '2000-02-29');",
        )
        .unwrap();
    project.write(
        "grafter.toml",
        r#"
[source]
url = "sqlite:people.sqlite"

[[nodes]]
label = "Person"
table = "people"
key = "id"
[nodes.transform]
born = "parse_date(born, '%Y-%m-%d')"
"#,
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let rejects = rejects_of(&project, "people");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["row"]["id"], 2);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert_eq!(reason, r#"property `born`: parse_date(): "31.01.1990" does not match format "%Y-%m-%d""#);
    assert_eq!(project.query_int("MATCH (p:Person) RETURN count(p) AS n"), 2);
}

#[test]
fn malformed_csv_line_is_rejected_with_its_line_number_and_the_rest_loads() {
    let project = Project::new();
    let csv = "id,name\n1,Ann\n2,Bob,surplus\n3,\"Cy\nwith a line break\"\n4,Dee\n";
    project.write("data/people.csv", csv);
    project.write(
        "grafter.toml",
        "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let people = summary.mapping("people");
    assert_eq!((people.read, people.written, people.rejected), (4, 3, 1));

    let rejects = rejects_of(&project, "people");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["line"], line_of(csv, "surplus"));
    assert_eq!(rejects[0]["row"], "2,Bob,surplus");
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("expected 2 fields") && reason.contains("found 3"), "{reason}");

    let names: Vec<String> = project
        .query("MATCH (p:Person) RETURN p.name AS name ORDER BY p.id")
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Ann", "Cy\nwith a line break", "Dee"]);
}

#[test]
fn invalid_utf8_in_a_csv_field_is_rejected_naming_the_column() {
    let project = Project::new();
    project.write("data/people.csv", b"id,name,city\n1,Ann,Oslo\n2,Bj\xf8rn,Troms\xf8\n3,Cy,Bergen\n");
    project.write(
        "grafter.toml",
        "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let rejects = rejects_of(&project, "people");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["line"], 3);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("UTF-8") && reason.contains("\"name\""), "{reason}");
    assert_eq!(project.query_int("MATCH (p:Person) RETURN count(p) AS n"), 2);
}

#[test]
fn invalid_utf8_in_a_sqlite_text_value_is_rejected_naming_the_column() {
    let project = Project::new();
    let db = sqlite(&project.file("people.sqlite"));
    db.execute_batch("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);").unwrap();
    db.execute("INSERT INTO people VALUES (1, 'Ann'), (3, 'Cy')", []).unwrap();
    // SQLite stores whatever bytes it is given as TEXT.
    db.execute("INSERT INTO people VALUES (2, CAST(x'426af8726e' AS TEXT))", []).unwrap();
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:people.sqlite\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let rejects = rejects_of(&project, "people");
    assert_eq!(rejects.len(), 1);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("UTF-8") && reason.contains("column `name`"), "{reason}");
    assert!(row_text(&rejects[0]).contains("\"id\":2"), "the reject keeps the row: {}", rejects[0]);
    assert_eq!(project.query_int("MATCH (p:Person) RETURN count(p) AS n"), 2);
}

#[test]
fn relationship_to_a_missing_end_node_is_rejected() {
    let project = shop(&SHOP.replace(
        "start = { label = \"Customer\", key = \"customer_id\" }\nend = { label = \"Order\", key = \"id\" }",
        "start = { label = \"Order\", key = \"id\" }\nend = { label = \"Customer\", key = \"customer_id\" }",
    ));
    let db = sqlite(&project.file("shop.sqlite"));
    let dangling: i64 = db
        .query_row(
            "SELECT count(*) FROM orders \
             WHERE customer_id IS NOT NULL AND customer_id NOT IN (SELECT id FROM customers)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let linked: i64 = db
        .query_row("SELECT count(*) FROM orders WHERE customer_id IN (SELECT id FROM customers)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dangling, 1, "the fixture has one order of a customer who does not exist");

    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let placed = summary.mapping("placed");
    assert_eq!((placed.written as i64, placed.rejected as i64), (linked, dangling));
    let rejects = rejects_of(&project, "placed");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["reason"], "end node (:Customer {id: 99}) not found");
    assert_eq!(rejects[0]["row"]["id"], 12);
    assert_eq!(project.query_int("MATCH (:Order)-[r:PLACED]->(:Customer) RETURN count(r) AS n"), linked);
}

#[test]
fn max_rejects_0_stops_the_run_at_the_first_reject_with_exit_1() {
    let project = shop(SHOP);
    let stderr = fails(&project, &["run", "--max-rejects", "0"], EXIT_FAILURE);
    assert_contains(&stderr, "more than the limit of 0");
    assert_contains(&stderr, "(see grafter.rejects.ndjson)");
    assert_contains(&stderr, "raise --max-rejects");
    let rejects = rejects_of(&project, "placed");
    assert_eq!(rejects.len(), 1, "the one bad row is in the reject file");
    assert_eq!(rejects[0]["row"]["customer_id"], 99);
}
