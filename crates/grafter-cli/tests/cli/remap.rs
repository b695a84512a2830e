//! ID remapping through the binary, as in a transfer between installations whose user IDs
//! differ: keypairs and quotas name users by old IDs; a partial remap table (a CSV file for
//! one mapping, a SQL query for the other) gives the new ones. Keypairs of users without an
//! entry are rejected with the reason (`missing = "reject"`), quotas keep such IDs
//! (`missing = "keep"`), every other ID arrives translated, the summary counts the values
//! remapped, and `grafter verify` agrees.

use crate::common;

use common::Project;
use serde_json::Value as Json;

const CONFIG: &str = r#"
[source]
url = "sqlite:soc6.sqlite"

[remaps.users]
file = "user_ids.csv"

[remaps.users_sql]
query = "SELECT old_id, new_id FROM user_map"
old = "old_id"
new = "new_id"

[[nodes]]
label = "Keypair"
table = "key_pairs"
key = "id"
remap = [{ table = "users", columns = ["user_id"] }]

[[nodes]]
label = "Quota"
table = "quotas"
key = "id"
remap = [{ table = "users_sql", columns = ["user_id"], missing = "keep" }]
"#;

/// The old installation: six keypairs and four quotas of users 10–14, and the map of users
/// 10, 11 and 12 to their new IDs (as a table and as a CSV file).
fn soc6() -> Project {
    let project = Project::new();
    let db = common::sqlite(&project.file("soc6.sqlite"));
    db.execute_batch(
        "CREATE TABLE key_pairs (id INTEGER PRIMARY KEY, name TEXT, user_id INTEGER);
         INSERT INTO key_pairs VALUES (1, 'k1', 10), (2, 'k2', 11), (3, 'k3', 12), (4, 'k4', 10), (5, 'k5', 13), (6, 'k6', 11);
         CREATE TABLE quotas (id INTEGER PRIMARY KEY, user_id INTEGER, resource TEXT, hard_limit INTEGER);
         INSERT INTO quotas VALUES (1, 10, 'cores', 20), (2, 12, 'ram', 51200), (3, 13, 'cores', 4), (4, 14, 'instances', 10);
         CREATE TABLE user_map (old_id INTEGER, new_id INTEGER);
         INSERT INTO user_map VALUES (10, 1010), (11, 1011), (12, 1012);",
    )
    .expect("create the database");
    project.write("user_ids.csv", "old,new\n10,1010\n11,1011\n12,1012\n");
    project.write("grafter.toml", CONFIG);
    project
}

fn user_ids(project: &Project, label: &str) -> Vec<(i64, i64)> {
    project
        .query(&format!("MATCH (n:{label}) RETURN n.id AS id, n.user_id AS user ORDER BY id"))
        .iter()
        .map(|row| (row["id"].as_i64().expect("id"), row["user"].as_i64().expect("an integer user id")))
        .collect()
}

#[test]
fn a_partial_remap_table_rejects_the_right_rows_and_remaps_the_rest() {
    let project = soc6();
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    let figures = |name: &str| {
        let m = summary.json["mappings"].as_array().unwrap().iter().find(|m| m["mapping"] == name).unwrap().clone();
        (m["read"].as_u64(), m["written"].as_u64(), m["rejected"].as_u64(), m["remapped"].as_u64())
    };
    assert_eq!(figures("key_pairs"), (Some(6), Some(5), Some(1), Some(5)));
    assert_eq!(figures("quotas"), (Some(4), Some(4), Some(0), Some(2)));

    assert_eq!(user_ids(&project, "Keypair"), [(1, 1010), (2, 1011), (3, 1012), (4, 1010), (6, 1011)]);
    assert_eq!(user_ids(&project, "Quota"), [(1, 1010), (2, 1012), (3, 13), (4, 14)], "unknown users kept");

    let rejects = project.rejects();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let reject = &rejects[0];
    assert_eq!(reject["mapping"], "key_pairs", "{reject}");
    assert_eq!(reject["row"]["user_id"], Json::from(13), "the row as read: {reject}");
    let reason = reject["reason"].as_str().expect("reason");
    assert!(reason.contains("column `user_id`: 13 has no entry in remap table `users`"), "{reason}");
    assert!(reason.contains("user_ids.csv"), "{reason}");

    project.grafter().arg("verify").assert().success();
}

#[test]
fn the_summary_counts_remapped_values_and_a_remap_table_that_does_not_fit_is_named() {
    let project = soc6();
    let output = project.grafter().args(["run", "-q"]).output().expect("start grafter");
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("remapped: 5 values of mapping key_pairs"), "{stdout}");
    assert!(stdout.contains("remapped: 2 values of mapping quotas"), "{stdout}");

    let undeclared = CONFIG.replace("table = \"users_sql\"", "table = \"userz\"");
    project.write("grafter.toml", undeclared);
    let output = project.grafter().args(["run", "-q"]).output().expect("start grafter");
    let (_, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("remap table `userz` is not declared") && stderr.contains("did you mean `users`"),
        "{stderr}"
    );

    project.write("grafter.toml", CONFIG);
    project.write("user_ids.csv", "before,after\n10,1010\n");
    let output = project.grafter().args(["run", "-q", "--fresh"]).output().expect("start grafter");
    let (_, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(2), "the config's to fix: {stderr}");
    assert!(
        stderr.contains("remap table `users`") && stderr.contains("has no column `old` (columns: before, after)"),
        "{stderr}"
    );
}
