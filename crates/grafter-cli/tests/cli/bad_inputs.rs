//! What a user sees when the config or the data is wrong.
//!
//! A config that cannot work stops grafter before it writes anything, with exit code 2 and a
//! message naming the culprit (file and line, table, column, key) and, where one exists, the
//! nearest valid name. Rows that cannot be loaded are not errors: each goes to the reject
//! file with its reason, the run loads the rest and exits 0 — unless `--max-rejects` is
//! exceeded, which stops the run with exit code 3 (a failure while working).

use crate::common;

use common::{Project, line_of, output_text, sqlite};
use serde_json::Value;

const EXIT_FAILURE: i32 = 3;
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
        // Port 1 answers nobody: had grafter tried to connect, it would say so, and exit 3.
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

#[test]
fn names_starting_with_grafter_are_refused_at_plan_time_naming_the_line_and_a_rename() {
    // A column of that name would become a property a FalkorDB run removes as its own marks.
    let project = Project::new();
    sqlite(&project.file("shop.sqlite"))
        .execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, _grafter_run TEXT);
             INSERT INTO customers VALUES (1, 'Ann', 'mine');",
        )
        .unwrap();
    let config = "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[[nodes]]\nlabel = \"Customer\"\ntable = \"customers\"\nkey = \"id\"\n";
    project.write("grafter.toml", config);
    for command in ["plan", "run"] {
        let stderr = fails(&project, &[command], EXIT_CONFIG);
        assert_contains(
            &stderr,
            &format!(
                "grafter.toml:{}: mapping `customers`: column `_grafter_run`: invalid property name \"_grafter_run\": \
                 names starting with `_grafter` (in any case) are reserved for grafter's own bookkeeping",
                line_of(config, "[[nodes]]")
            ),
        );
        assert_contains(
            &stderr,
            "hint: column `_grafter_run` becomes a property of that name: rename it (`rename = { \"_grafter_run\" = \"grafter_run\" }`",
        );
        assert_nothing_written(&project);
    }

    // Renamed, it loads.
    let renamed = config.replace("key = \"id\"\n", "key = \"id\"\nrename = { \"_grafter_run\" = \"grafter_run\" }\n");
    project.write("grafter.toml", &renamed);
    project.run(&[]).assert_every_row_accounted_for();
    assert_eq!(project.query("MATCH (c:Customer) RETURN c.grafter_run AS v")[0]["v"], "mine");
    std::fs::remove_file(project.file("grafter.grafeo")).unwrap();

    // Transform outputs, labels and relationship types, in any case, with the line of each.
    let excluded = config.replace("key = \"id\"\n", "key = \"id\"\nexclude = [\"_grafter_run\"]\n");
    let cases = [
        (format!("{excluded}[nodes.transform]\n_Grafter_Score = \"1\"\n"), "_Grafter_Score", "property name"),
        (excluded.replace("label = \"Customer\"", "label = \"_GRAFTERCustomer\""), "_GRAFTERCustomer", "label"),
        (
            format!(
                "{excluded}\n[[relationships]]\ntype = \"_grafter_KNOWS\"\ntable = \"customers\"\n\
                 start = {{ label = \"Customer\", key = \"id\" }}\nend = {{ label = \"Customer\", key = \"id\" }}\n"
            ),
            "_grafter_KNOWS",
            "relationship type",
        ),
    ];
    for (config, name, kind) in cases {
        project.write("grafter.toml", &config);
        let stderr = fails(&project, &["plan"], EXIT_CONFIG);
        let line = line_of(&config, name);
        assert_contains(
            &stderr,
            &format!("grafter.toml:{line}: invalid {kind} \"{name}\": names starting with `_grafter`"),
        );
        assert_contains(&stderr, "hint: ");
        assert_nothing_written(&project);
    }
}

#[test]
fn init_renames_columns_whose_names_cannot_be_properties_so_that_plan_accepts_its_file() {
    let project = Project::new();
    sqlite(&project.file("odd.sqlite"))
        .execute_batch(
            "CREATE TABLE items (\"id`x\" INTEGER PRIMARY KEY, \"we`ight\" REAL, _grafter_run TEXT, name TEXT);
             INSERT INTO items VALUES (1, 2.5, 'mine', 'one'), (2, NULL, NULL, 'two');",
        )
        .unwrap();
    let output = project.grafter().args(["init", "--from", "sqlite:odd.sqlite"]).output().unwrap();
    let (_, init_stderr) = output_text(&output);
    assert!(output.status.success(), "{init_stderr}");
    let plan = project.grafter().arg("plan").output().unwrap();
    let (stdout, stderr) = output_text(&plan);
    assert!(plan.status.success(), "plan refuses what init wrote:\n{stderr}");
    assert_contains(&stdout, "id_x");
    assert_contains(
        &init_stderr,
        "warning: table `items`: column \"we`ight\" cannot be a property name (it contains a backtick): renamed to `we_ight` with `rename`",
    );
    assert_contains(&init_stderr, "column \"_grafter_run\" cannot be a property name (names starting with `_grafter`");
    project.run(&[]).assert_every_row_accounted_for();
    let rows = project.query("MATCH (i:Item) RETURN i.id_x AS id, i.we_ight AS w, i.grafter_run AS g ORDER BY id");
    assert_eq!(
        rows.iter().map(|r| (r["id"].clone(), r["w"].clone(), r["g"].clone())).collect::<Vec<_>>(),
        [(1.into(), 2.5.into(), "mine".into()), (2.into(), Value::Null, Value::Null)]
    );
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

/// Every reject line carries the run, the mapping, where the row was (its line, or its key for
/// a keyed read), why, and the row.
fn assert_reject_lines_complete(project: &Project, run_id: &Value) {
    for reject in project.rejects() {
        assert_eq!(&reject["run"], run_id, "{reject}");
        for field in ["mapping", "reason"] {
            assert!(reject[field].is_string(), "reject without {field}: {reject}");
        }
        assert!(reject["line"].is_u64() || reject["key"].is_object(), "reject without line or key: {reject}");
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
fn rejects_of_a_keyed_sql_read_carry_their_key_in_every_partition_and_a_query_read_its_row_number() {
    let project = Project::new();
    sqlite(&project.file("events.sqlite"))
        .execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, code TEXT, starts DATETIME);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
             INSERT INTO events SELECT i, 'e' || i, '2023-01-01 00:00:00' FROM n;
             UPDATE events SET starts = '2023-02-30 00:00:00' WHERE id IN (1, 6);",
        )
        .unwrap();
    // The table's key (`id`) is no property here: it is read anyway, to place a reject.
    project.write(
        "grafter.toml",
        r#"
[source]
url = "sqlite:events.sqlite"

[[nodes]]
label = "Event"
table = "events"
key = "code"
exclude = ["id"]

[[nodes]]
name = "listed"
label = "Listed"
query = "SELECT code, starts FROM events ORDER BY id"
key = "code"
"#,
    );
    // Two workers read the table in two key ranges: each range's first row is a bad one.
    let summary = project.run(&["--workers", "2", "--batch-size", "2"]);
    summary.assert_every_row_accounted_for();
    let rejects = rejects_of(&project, "events");
    // The two partitions write side by side: their lines come in either order.
    let mut placed: Vec<(Value, Value, bool)> =
        rejects.iter().map(|r| (r["key"].clone(), r["partition"].clone(), r.get("line").is_some())).collect();
    placed.sort_by_key(|(key, _, _)| key["id"].as_i64());
    assert_eq!(
        placed,
        [(serde_json::json!({"id": 1}), 0.into(), false), (serde_json::json!({"id": 6}), 1.into(), false)],
        "{rejects:?}"
    );
    assert!(rejects.iter().all(|r| r["reason"].as_str().unwrap().contains("column `starts`")), "{rejects:?}");
    // A query has no key: its rows are numbered in the read.
    let lines: Vec<Value> = rejects_of(&project, "listed").iter().map(|r| r["line"].clone()).collect();
    assert_eq!(lines, [1, 6]);
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
fn an_unterminated_csv_quote_rejects_its_record_and_the_rows_after_it_load() {
    let project = Project::new();
    let csv = "id,name\n1,a\n2,\"b\n3,c\n4,d\n5,e\n";
    project.write("data/people.csv", csv);
    project.write(
        "grafter.toml",
        "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let people = summary.mapping("people");
    assert_eq!((people.read, people.written, people.rejected), (5, 4, 1));

    let rejects = rejects_of(&project, "people");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["line"], line_of(csv, "\"b"));
    assert_eq!(rejects[0]["row"], "2,\"b");
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("unterminated quoted field starting on line 3"), "{reason}");

    let names: Vec<String> = project
        .query("MATCH (p:Person) RETURN p.name AS name ORDER BY p.id")
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "c", "d", "e"]);

    // verify reads the file the same way: it passes and counts the rejected record.
    let report = verify_passes(&project);
    let mapping = &report["mappings"][0];
    assert_eq!(
        (&mapping["source_rows"], &mapping["rejected"], &mapping["in_target"]),
        (&5.into(), &1.into(), &4.into())
    );
}

/// `grafter verify --format json`, which must pass; the report.
fn verify_passes(project: &Project) -> Value {
    let output = project.grafter().args(["verify", "--format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    report
}

#[test]
fn ndjson_integers_beyond_64_bits_and_repeated_keys_are_rejected_unless_the_policy_keeps_the_digits() {
    let project = Project::new();
    let ndjson = concat!(
        "{\"id\": 1, \"n\": 5}\n",
        "{\"id\": 2, \"n\": 18446744073709551616}\n",
        "{\"id\": 3, \"n\": 12345678901234567890123}\n",
        "{\"id\": 4, \"n\": 1, \"id\": 40}\n",
        "{\"id\": 5, \"n\": 6}\n",
    );
    project.write("data/events.ndjson", ndjson);
    let config = "[source]\nurl = \"ndjson:data\"\n\n[[nodes]]\nlabel = \"Event\"\ntable = \"events\"\nkey = \"id\"\n";
    project.write("grafter.toml", config);
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let events = summary.mapping("events");
    assert_eq!((events.read, events.written, events.rejected), (5, 2, 3));
    let rejects = rejects_of(&project, "events");
    let seen: Vec<(u64, &str)> =
        rejects.iter().map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap())).collect();
    assert_eq!(seen.len(), 3, "{rejects:?}");
    assert_eq!(seen[0].0, line_of(ndjson, "18446744073709551616") as u64);
    assert!(seen[0].1.starts_with("key `n`: the integer 18446744073709551616 does not fit"), "{}", seen[0].1);
    assert_eq!(seen[1].0, line_of(ndjson, "12345678901234567890123") as u64);
    assert!(seen[1].1.starts_with("key `n`: the integer 12345678901234567890123 does not fit"), "{}", seen[1].1);
    assert_eq!(seen[2].0, line_of(ndjson, "\"id\": 40") as u64);
    assert!(seen[2].1.contains("the key `id` appears twice"), "{}", seen[2].1);
    let ids: Vec<i64> = project
        .query("MATCH (e:Event) RETURN e.id AS id ORDER BY id")
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 5]);
    assert_eq!(verify_passes(&project)["mappings"][0]["rejected"], 3);

    // `unsigned_overflow = "string"` keeps the exact digits; a repeated key is still refused.
    project.write("grafter.toml", format!("{config}\n[source.types]\nunsigned_overflow = \"string\"\n"));
    let summary = project.run(&["--fresh"]);
    let events = summary.mapping("events");
    assert_eq!((events.read, events.written, events.rejected), (5, 4, 1));
    let numbers = project.query("MATCH (e:Event) WHERE e.id IN [2, 3] RETURN e.n AS n ORDER BY e.id");
    assert_eq!(numbers[0]["n"], "18446744073709551616");
    assert_eq!(numbers[1]["n"], "12345678901234567890123");
    assert_eq!(verify_passes(&project)["mappings"][0]["rejected"], 1);
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
fn max_rejects_0_stops_the_run_at_the_first_reject_with_exit_3() {
    let project = shop(SHOP);
    let stderr = fails(&project, &["run", "--max-rejects", "0"], EXIT_FAILURE);
    assert_contains(&stderr, "more than the limit of 0");
    assert_contains(&stderr, "(see grafter.rejects.ndjson)");
    assert_contains(&stderr, "raise --max-rejects");
    let rejects = rejects_of(&project, "placed");
    assert_eq!(rejects.len(), 1, "the one bad row is in the reject file");
    assert_eq!(rejects[0]["row"]["customer_id"], 99);
}

/// A 50 MB CSV field (the embedded store keeps at most 16 MiB a property) failed the whole run,
/// every retry the same, naming no row. That row is rejected with its column, size and the
/// limit; the rest of its batch loads, and verify agrees.
#[test]
fn a_field_larger_than_the_store_keeps_rejects_its_row_and_the_rest_of_the_batch_loads() {
    let project = Project::new();
    let huge = "x".repeat(50 * 1024 * 1024);
    project.write("data/items.csv", format!("id,name\n1,a\n2,{huge}\n3,c\n"));
    project.write(
        "grafter.toml",
        "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n",
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert_eq!((summary.mapping("items").written, summary.mapping("items").rejected), (2, 1), "{}", summary.json);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    let rejects = rejects_of(&project, "items");
    assert_eq!(rejects.len(), 1);
    let reason = rejects[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("property `name`"), "names the column: {reason}");
    assert!(reason.contains("52428800") && reason.contains("16 MiB"), "gives the size and the limit: {reason}");
    assert_eq!(rejects[0]["line"], 3, "the row's line in the file");
    assert_eq!(project.query_int("MATCH (i:Item) RETURN count(i)"), 2);
}

/// `--lock-lease` under 3 s was raised to 3 s without a word, so a user (and a test) counting
/// on the shorter lease waited too little for it to run out. Now it is refused as a usage
/// error, on `run` and on `sync`.
#[test]
fn a_lock_lease_under_three_seconds_is_refused_instead_of_silently_raised() {
    let project = Project::new();
    project.write("data/a.ndjson", "{\"id\": 1}\n");
    project.write(
        "grafter.toml",
        "[source]\nurl = \"ndjson:data\"\n\n[[nodes]]\nlabel = \"A\"\ntable = \"a\"\nkey = \"id\"\n",
    );
    for command in ["run", "sync"] {
        let output = project.grafter().args([command, "--lock-lease", "2"]).output().expect("grafter");
        let (_, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("--lock-lease") && stderr.contains("at least 3 seconds"), "{command}: {stderr}");
    }
    assert!(!project.file("grafter.grafeo").exists(), "nothing was written");
}

#[test]
fn init_lists_a_sqlite_view_and_the_tables_its_patterns_and_skip_empty_leave_out() {
    let project = Project::new();
    sqlite(&project.file("shop.sqlite"))
        .execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);
             CREATE TABLE tmp_import (id INTEGER PRIMARY KEY, raw TEXT);
             CREATE TABLE never_used (id INTEGER PRIMARY KEY, note TEXT);
             CREATE TABLE no_key_no_rows (note TEXT);
             CREATE TABLE no_key (note TEXT);
             INSERT INTO no_key VALUES ('kept');
             CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
             INSERT INTO orders VALUES (1, 50), (2, 500);",
        )
        .unwrap();
    let output = project
        .grafter()
        .args(["init", "--from", "sqlite:shop.sqlite", "--exclude", "tmp_*", "--skip-empty"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_contains(&stderr, "skipped: table `tmp_import`: excluded by --exclude 'tmp_*'");
    assert_contains(
        &stderr,
        "skipped: view `big_orders`: a view has no primary key to map by: map it by hand (`table = \"big_orders\"` with a `key`)",
    );
    assert_contains(&stderr, "skipped: table `never_used`: it has no rows (--skip-empty)");
    assert_contains(&stderr, "skipped: table `no_key_no_rows`: it has no rows (--skip-empty)");
    assert_contains(&stderr, "0 relationship mappings from 5 tables of sqlite:");
    assert_contains(&stderr, "shop.sqlite (4 skipped, listed below)");
    let config = std::fs::read(project.file("grafter.toml")).map(String::from_utf8).unwrap().unwrap();
    assert_contains(&config, "#   view `big_orders`: a view has no primary key");
    assert_eq!(config.matches("\ntable = ").count(), 2, "orders and no_key:\n{config}");
    // no_key's guessed key must be confirmed before a run.
    project.write("grafter.toml", config.replace("key_guessed = true", ""));
    project.run(&[]).assert_every_row_accounted_for();
    assert_eq!(project.query_int("MATCH (o:Order) RETURN count(o) AS n"), 2);
}

#[test]
fn a_cast_rule_naming_a_column_the_table_lacks_stops_plan_at_its_line() {
    let config = format!("{SHOP}\n[[casts]]\ncolumn = \"orders.totl\"\nto = \"string\"\n");
    let project = shop(&config);
    let stderr = fails(&project, &["plan"], EXIT_CONFIG);
    let line = line_of(&config, "column = \"orders.totl\"") - 1;
    assert!(
        stderr.contains(&format!("grafter.toml:{line}: cast rule: `totl` is not a column of table `orders`")),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `orders.total`?"), "{stderr}");
    // The run refuses it the same way, before writing anything.
    let stderr = fails(&project, &["run"], EXIT_CONFIG);
    assert!(stderr.contains("`totl` is not a column of table `orders`"), "{stderr}");
    assert!(!project.file("grafter.grafeo").exists(), "nothing was written");

    let project = shop(&format!("{SHOP}\n[[casts]]\ntype = \"real\"\nto = \"flaot\"\n"));
    let stderr = fails(&project, &["plan"], EXIT_CONFIG);
    assert!(stderr.contains("`to = \"flaot\"` is not a type grafter casts to"), "{stderr}");
    assert!(stderr.contains("did you mean `float`?"), "{stderr}");
}

#[test]
fn cast_rules_turn_a_key_and_its_references_into_strings_and_a_value_that_cannot_be_cast_is_rejected_with_its_reason() {
    let config = format!(
        "{SHOP}\n[[casts]]\ncolumn = \"customers.id\"\nto = \"string\"\n\n[[casts]]\ncolumn = \"orders.customer_id\"\nto = \"string\"\n\n[[casts]]\ncolumn = \"orders.total\"\nto = \"int\"\n"
    );
    let project = shop(&config);
    let plan = project.grafter().arg("plan").output().unwrap();
    let (stdout, stderr) = output_text(&plan);
    assert!(plan.status.success(), "{stderr}");
    let rule_line = |rule: &str| -> String {
        stdout
            .lines()
            .find(|l| l.contains(&format!("by [[casts]] column = \"{rule}\"")))
            .unwrap_or_else(|| panic!("{rule}: {stdout}"))
            .to_owned()
    };
    assert!(rule_line("customers.id").contains("INTEGER → string"), "{stdout}");
    assert!(rule_line("orders.total").contains("REAL    → integer"), "{stdout}");

    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    // 9.5 is no integer: order 10 is rejected with the value in the reason (and so is the
    // relationship to it); 20.0, 1.0 and 2.0 are whole and arrive as integers.
    let rejects = project.rejects();
    let orders: Vec<&Value> = rejects.iter().filter(|r| r["mapping"] == "orders").collect();
    assert_eq!(orders.len(), 1, "{rejects:?}");
    let reason = orders[0]["reason"].as_str().unwrap();
    assert!(reason.contains("total") && reason.contains("9.5"), "{reason}");
    let totals = project.query("MATCH (o:Order) RETURN o.id AS id, o.total AS total ORDER BY id");
    assert_eq!(
        totals.iter().map(|r| r["total"].clone()).collect::<Vec<_>>(),
        [Value::from(20), Value::from(1), Value::from(2)]
    );
    let ids = project.query("MATCH (c:Customer) RETURN c.id AS id ORDER BY id");
    assert_eq!(
        ids.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(),
        [Value::from("1"), Value::from("2"), Value::from("3")]
    );
    // The relationship's key column was cast alike, so Cy's order finds Cy's string key
    // (uncast, 3 would never equal "3"); Ann's order was rejected, 99 has no customer.
    let placed = project.query("MATCH (c:Customer)-[:PLACED]->(o:Order) RETURN c.id AS c, o.id AS o");
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!((placed[0]["c"].clone(), placed[0]["o"].clone()), (Value::from("3"), Value::from(11)));
}
