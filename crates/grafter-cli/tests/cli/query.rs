//! `grafter query`: tables for people, JSON for programs, parameters, and the errors a user
//! meets first (a typo in Cypher, querying before anything was loaded).

use crate::common;

use common::{Project, output_text, sqlite};
use serde_json::json;

/// A project whose graph holds three `Tag` nodes from a small SQLite table.
fn loaded() -> Project {
    let project = unloaded();
    project.run(&[]);
    project
}

fn unloaded() -> Project {
    let project = Project::new();
    sqlite(&project.file("tags.sqlite"))
        .execute_batch(
            "CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT NOT NULL, rank INTEGER NOT NULL);
             INSERT INTO tags VALUES ('a', 'Alpha', 1), ('b', 'Beta', 2), ('c', 'Gamma', 3);",
        )
        .unwrap();
    project.write(
        "grafter.toml",
        r#"
[source]
url = "sqlite:tags.sqlite"

[[nodes]]
label = "Tag"
table = "tags"
key = "code"
"#,
    );
    project
}

#[test]
fn query_prints_a_table_by_default() {
    let project = loaded();
    let output = project
        .grafter()
        .args(["query", "MATCH (t:Tag) RETURN t.code AS code, t.label AS label ORDER BY code"])
        .output();
    let (stdout, stderr) = output_text(&output.unwrap());
    assert_eq!(
        stdout,
        "| code | label |\n\
         |------|-------|\n\
         | a    | Alpha |\n\
         | b    | Beta  |\n\
         | c    | Gamma |\n",
        "{stderr}"
    );
}

#[test]
fn query_json_prints_one_object_per_row_with_typed_values() {
    let project = loaded();
    let rows = project.query("MATCH (t:Tag) RETURN t.code AS code, t.rank AS rank, t.rank > 1 AS big ORDER BY code");
    let rows = serde_json::Value::Array(rows.into_iter().map(serde_json::Value::Object).collect());
    assert_eq!(
        rows,
        json!([
            {"code": "a", "rank": 1, "big": false},
            {"code": "b", "rank": 2, "big": true},
            {"code": "c", "rank": 3, "big": true},
        ])
    );
}

#[test]
fn query_param_passes_text_as_a_string() {
    let project = loaded();
    let rows = project.query_with("MATCH (t:Tag {code: $code}) RETURN t.label AS label", &[("code", "b")]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["label"], json!("Beta"));
}

#[test]
fn query_param_passes_json_as_typed_values() {
    let project = loaded();
    // A number stays a number (a string would concatenate to "411") …
    let rows = project.query_with("RETURN $n + 1 AS n", &[("n", "41")]);
    assert_eq!(rows[0]["n"], json!(42));
    // … and a list is a list.
    let rows = project.query_with(
        "MATCH (t:Tag) WHERE t.code IN $codes RETURN t.label AS label ORDER BY label",
        &[("codes", r#"["a","c"]"#)],
    );
    let labels: Vec<&serde_json::Value> = rows.iter().map(|r| &r["label"]).collect();
    assert_eq!(labels, [&json!("Alpha"), &json!("Gamma")]);
}

#[test]
fn query_param_without_equals_sign_exits_2_with_a_hint() {
    let project = loaded();
    let output = project.grafter().args(["query", "RETURN $n AS n", "--param", "n"]).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(r#"parameter "n" has no `=`"#), "{stderr}");
    assert!(stderr.contains("hint: write --param name=value"), "{stderr}");
}

#[test]
fn cypher_syntax_error_fails_with_the_store_message() {
    let project = loaded();
    let output = project.grafter().args(["query", "MATCH (t:Tag RETURN t"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(!output.status.success(), "a syntax error must fail");
    assert!(stdout.is_empty(), "no result on stdout: {stdout}");
    assert!(stderr.contains("query failed: syntax error"), "{stderr}");
    // The store's own message points at the spot.
    assert!(stderr.contains("MATCH (t:Tag RETURN t"), "{stderr}");
}

#[test]
fn query_before_any_run_says_the_store_was_not_found_and_to_run_first() {
    let project = unloaded();
    let output = project.grafter().args(["query", "MATCH (n) RETURN count(n) AS n"]).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("graph store not found: grafter.grafeo"), "{stderr}");
    assert!(stderr.contains("hint:") && stderr.contains("`grafter run`"), "{stderr}");
    assert!(!project.file("grafter.grafeo").exists(), "a query must not create the store");
}
