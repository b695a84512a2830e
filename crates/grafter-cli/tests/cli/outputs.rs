//! What a user reads, as snapshots (insta): the help with its exit codes, a plan, a run's
//! summary, a verification that finds a difference, a config error, the history. A change
//! to any of them shows as a diff to review (`cargo insta review`), not as a `contains` that
//! still passes. Paths, times, durations, rates, run ids, users and hosts are filtered out,
//! so the snapshots hold only what is the same on every machine.

use crate::common::{self, Project, output_text, regex_escape};

/// A small shop in SQLite: customers, orders (one order's customer is missing), and the
/// config `grafter init` would write, keys confirmed.
fn shop() -> Project {
    let project = Project::new();
    common::sqlite(&project.file("shop.sqlite"))
        .execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
             CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
             INSERT INTO customers VALUES (1, 'Ann', 'ann@example.org'), (2, 'Bob', NULL), (3, 'Cy', 'cy@example.org');
             INSERT INTO orders VALUES (10, 1, 12.5), (11, 1, 3.0), (12, 3, 99.0), (13, 99, 1.0);",
        )
        .expect("shop schema");
    project.write(
        "grafter.toml",
        r#"[source]
url = "sqlite:shop.sqlite"

[[nodes]]
label = "Customer"
table = "customers"
key = "id"

[[nodes]]
label = "Order"
table = "orders"
key = "id"
columns = ["id", "total"]

[[relationships]]
name = "placed"
type = "PLACED"
table = "orders"
start = { label = "Customer", key = "customer_id" }
end = { label = "Order", key = "id" }
"#,
    );
    project
}

/// The filters that make an output the same on every machine and every day.
fn filters(project: &Project) -> Vec<(String, &'static str)> {
    vec![
        (regex_escape(&project.path().display().to_string()), "[PROJECT]"),
        // Run and session ids: UTC time to the millisecond, then four hex digits.
        (r"\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4}".into(), "[RUN]"),
        (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?".into(), "[TIME]"),
        (r"\b\d{2}:\d{2}:\d{2}\b".into(), "[CLOCK]"),
        (r"\b[0-9][0-9,]*(\.[0-9]+)?/s\b".into(), "[RATE]"),
        // The run summary's last two columns: seconds and rows per second.
        (r"(?m)\|\s*[0-9]+\.[0-9]+\s*\|\s*[0-9,]+\s*\|$".into(), "| [SECS] | [RATE] |"),
        (r"\b\d+(\.\d+)? ?(ms|s)\b".into(), "[SECS]"),
        // Table cells are padded to their widest value, which the filters above change.
        (r" {2,}\|".into(), " |"),
        (r"-{3,}".into(), "---"),
    ]
}

macro_rules! assert_output_snapshot {
    ($project:expr, $name:expr, $text:expr) => {
        assert_output_snapshot!($project, $name, $text, Vec::<(String, &str)>::new())
    };
    ($project:expr, $name:expr, $text:expr, $more:expr) => {{
        let mut filters = filters($project);
        filters.extend($more);
        let filters: Vec<(&str, &str)> = filters.iter().map(|(pattern, with)| (pattern.as_str(), *with)).collect();
        insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $text);
        });
    }};
}

#[test]
fn the_help_lists_every_command_and_what_each_exit_code_means() {
    let project = Project::new();
    // The help is wrapped to the terminal's width: pinned, so that it is the same everywhere.
    let output = project.grafter().arg("--help").env("COLUMNS", "100").output().expect("grafter --help");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_output_snapshot!(&project, "help", stdout);
}

#[test]
fn a_plan_shows_every_mapping_in_load_order_with_its_reasons() {
    let project = shop();
    let output = project.grafter().arg("plan").output().expect("grafter plan");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_output_snapshot!(&project, "plan", stdout);
}

#[test]
fn a_run_summary_accounts_for_every_row_and_names_the_reject() {
    let project = shop();
    let output = project.grafter().args(["run", "-q"]).output().expect("grafter run");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_output_snapshot!(&project, "run_summary", stdout);
}

#[test]
fn a_verification_that_finds_a_difference_names_the_key_and_both_values() {
    let project = shop();
    project.grafter().args(["run", "-q"]).assert().success();
    project.grafter().args(["query", "--write", "MATCH (c:Customer {id: 2}) SET c.name = 'Robert'"]).assert().success();
    let output = project.grafter().arg("verify").output().expect("grafter verify");
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_output_snapshot!(&project, "verify_difference", stdout);
}

#[test]
fn a_config_naming_a_missing_column_says_where_and_what_is_near() {
    let project = shop();
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    project.write("grafter.toml", config.replace("columns = [\"id\", \"total\"]", "columns = [\"id\", \"totl\"]"));
    let output = project.grafter().arg("plan").output().expect("grafter plan");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_output_snapshot!(&project, "config_error", stderr);
}

#[test]
fn the_history_lists_each_run_with_its_outcome() {
    let project = shop();
    project.grafter().args(["run", "-q"]).assert().success();
    project.grafter().args(["run", "-q", "--fresh", "--no-snapshot"]).assert().success();
    let output = project.grafter().arg("history").output().expect("grafter history");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    // Who ran it, as grafter recorded it.
    let json = project.grafter().args(["history", "--format", "json"]).output().expect("history JSON");
    let runs: serde_json::Value = serde_json::from_slice(&json.stdout).expect("history JSON");
    let by = format!("{}@{}", runs[0]["operator"].as_str().unwrap_or("?"), runs[0]["host"].as_str().unwrap_or("?"));
    assert_output_snapshot!(&project, "history", stdout, vec![(regex_escape(&by), "[USER@HOST]")]);
}
