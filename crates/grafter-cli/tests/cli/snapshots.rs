//! Snapshots for rollback do not pile up: every run used to leave a full copy of the graph
//! (a file beside the embedded store, a graph in FalkorDB's memory, nodes in a Bolt
//! database) and nothing removed them. A run keeps the newest `[run] keep_snapshots` and
//! removes the rest, `grafter snapshots list|prune` shows and removes them, and `history`
//! says which runs can still be rolled back. On every target.

use crate::common;

use std::io::{Read, Write};

use common::{Project, Target, output_text};
use serde_json::Value;

fn project(target: Target) -> Project {
    let project = Project::new();
    project.write("data/items.csv", "id,name\n1,a\n2,b\n3,c\n");
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"csv:data\"\n\n[run]\nkeep_snapshots = 2\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n{}",
            target.section("snapshots")
        ),
    );
    project
}

fn json(project: &Project, args: &[&str]) -> Value {
    let output = project.grafter().args(args).output().expect("grafter");
    assert!(output.status.success(), "grafter {args:?}: {}", output_text(&output).1);
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The graph's name in the project's target URL, and the URL.
fn target_url(project: &Project) -> String {
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    let line = config.lines().find(|l| l.starts_with("url = \"falkordb://") || l.starts_with("url = \"bolt://"));
    line.map(|l| l.trim_start_matches("url = \"").trim_end_matches('"').to_owned()).unwrap_or_default()
}

/// Whether FalkorDB holds a key (a graph), asked over its own protocol.
fn falkordb_has(key: &str) -> bool {
    let server = common::falkordb_server();
    let mut stream = std::net::TcpStream::connect(server.trim_start_matches("falkordb://")).expect("connect");
    stream.write_all(format!("*2\r\n$6\r\nEXISTS\r\n${}\r\n{key}\r\n", key.len()).as_bytes()).expect("send");
    let mut reply = [0u8; 4];
    let n = stream.read(&mut reply).expect("reply");
    &reply[..n] == b":1\r\n"
}

/// How many snapshots the target physically holds, counted where it keeps them.
fn snapshots_held(project: &Project, target: Target, runs: &[String]) -> usize {
    match target {
        Target::Embedded => std::fs::read_dir(project.file("grafter.grafeo.snapshots"))
            .map(|dir| {
                dir.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "grafeo")).count()
            })
            .unwrap_or(0),
        Target::FalkorDb => {
            let graph = target_url(project).rsplit('/').next().expect("graph").to_owned();
            runs.iter().filter(|run| falkordb_has(&format!("{graph}__grafter_snapshot_{run}"))).count()
        }
        Target::Bolt | Target::Neo4j | Target::Neo4jRouted | Target::Neo4j2026 | Target::ArcadeDb => {
            project.query_int("MATCH (s:_GrafterSnapshot) RETURN count(s) AS snapshots") as usize
        }
    }
}

fn only_the_newest_snapshots_are_kept_and_history_says_which_runs_roll_back(target: Target) {
    let project = project(target);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let summary = project.run(&["--fresh"]);
        runs.push(summary.json["run_id"].as_str().expect("run id").to_owned());
    }
    let history = json(&project, &["history", "--format", "json"]);
    let states: Vec<Value> = history.as_array().expect("runs").iter().map(|r| r["rollback"].clone()).collect();
    assert_eq!(
        states,
        vec![
            serde_json::json!({"state": "no_snapshot"}),
            serde_json::json!({"state": "after", "detail": runs[2]}),
            serde_json::json!({"state": "possible"}),
        ],
        "{history:#}"
    );
    let first = &history.as_array().expect("runs")[0];
    assert!(first["events"].to_string().contains("snapshot removed"), "the history says why: {first:#}");
    assert_eq!(snapshots_held(&project, target, &runs), 2, "the first run's snapshot is gone from the target");
    let listed = json(&project, &["snapshots", "list", "--format", "json"]);
    let listed: Vec<&str> =
        listed.as_array().expect("list").iter().map(|s| s["run_id"].as_str().expect("id")).collect();
    assert_eq!(listed, [runs[1].as_str(), runs[2].as_str()]);

    // Pruning by hand down to one.
    let dry = project.grafter().args(["snapshots", "prune", "--keep", "1", "--dry-run"]).output().expect("prune");
    assert!(output_text(&dry).0.contains(&runs[1]), "{}", output_text(&dry).0);
    assert_eq!(snapshots_held(&project, target, &runs), 2, "a dry run removes nothing");
    let pruned = project.grafter().args(["snapshots", "prune", "--keep", "1"]).output().expect("prune");
    assert!(pruned.status.success(), "{}", output_text(&pruned).1);
    assert_eq!(snapshots_held(&project, target, &runs), 1);

    // The newest run still rolls back; the one before it no longer can.
    let rollback = project.grafter().args(["rollback", "--last"]).output().expect("rollback");
    assert!(rollback.status.success(), "{}", output_text(&rollback).1);
    let again = project.grafter().args(["rollback", "--last"]).output().expect("rollback");
    assert!(!again.status.success());
    assert!(output_text(&again).1.contains("no snapshot"), "{}", output_text(&again).1);
}

on_every_target_with_bolt!(only_the_newest_snapshots_are_kept_and_history_says_which_runs_roll_back);

/// Without `[run] keep_snapshots`, runs keep the two newest snapshots (the newest run can be
/// rolled back, and the one before it after it); `keep_snapshots = 0`, which would leave
/// nothing to roll back to, is refused at plan time naming its line.
#[test]
fn without_a_setting_the_two_newest_snapshots_are_kept_and_zero_is_refused() {
    let project = project(Target::Embedded);
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    project.write("grafter.toml", config.replace("[run]\nkeep_snapshots = 2\n\n", ""));
    let runs: Vec<String> =
        (0..4).map(|_| project.run(&["--fresh"]).json["run_id"].as_str().expect("run id").to_owned()).collect();
    assert_eq!(snapshots_held(&project, Target::Embedded, &runs), 2, "two are kept by default");
    let listed = json(&project, &["snapshots", "list", "--format", "json"]);
    let listed: Vec<&str> =
        listed.as_array().expect("list").iter().map(|s| s["run_id"].as_str().expect("id")).collect();
    assert_eq!(listed, [runs[2].as_str(), runs[3].as_str()]);

    project.write("grafter.toml", config.replace("keep_snapshots = 2", "keep_snapshots = 0"));
    let output = project.grafter().args(["run"]).output().expect("run");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("grafter.toml:5") && stderr.contains("keep_snapshots must be at least 1"), "{stderr}");
    assert_eq!(snapshots_held(&project, Target::Embedded, &runs), 2, "a refused run removes nothing");
}
