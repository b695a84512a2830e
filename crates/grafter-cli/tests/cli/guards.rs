//! What keeps a second writer, a stale writer and a proof from changing a graph, on every
//! target (the embedded store, FalkorDB, and over Bolt Neo4j and ArcadeDB; FalkorDB's Bolt
//! port for the scenarios with one writer, see below):
//!
//! - two runs started together on a graph that does not exist yet: one loads, the other is
//!   refused (FalkorDB once let both take the lock in 10 of 40 rounds, and held every node
//!   twice);
//! - a run paused (SIGSTOP) past its lease and taken over writes nothing when it wakes: the
//!   target refuses its writes, whose fencing token is no longer current;
//! - `grafter lock break` refuses a holder that is alive, saying how it knows, and with
//!   `--force` the holder's next write is refused (it once kept writing for 15 s beside the
//!   next run);
//! - checks and `grafter query` without `--write` are refused when they would write, and
//!   change nothing (a check that emptied the graph during a run's verification did).
//!
//! The embedded store is one file that one process at a time can open: there the second
//! process is refused by the file itself, paused or not. The scenarios with two processes
//! writing at once do not run over FalkorDB's Bolt port: it cannot take two writers at all
//! (here, the first double start over it left FalkorDB's module lock held for ever and every
//! client hung); over Bolt they run against Neo4j and ArcadeDB.

use crate::common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Project, Target, output_text};

/// Rows in the CSV every scenario loads.
const ITEMS: usize = 2000;

/// A project loading `ITEMS` rows of `items.csv` as `Item` nodes into `target` (a graph of
/// its own on a server).
fn items_project(target: Target, name: &str, checks: &str) -> Project {
    let project = Project::new();
    let mut csv = String::from("id,name\n");
    for i in 1..=ITEMS {
        csv.push_str(&format!("{i},item {i}\n"));
    }
    project.write("data/items.csv", csv);
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n\
             [nodes.transform]\nid = \"int(id)\"\n{checks}{}",
            target.section(name)
        ),
    );
    project
}

/// Nodes, and distinct keys among them: equal when nothing is there twice.
fn items(project: &Project) -> (i64, i64) {
    let rows = project.query("MATCH (i:Item) RETURN count(i) AS nodes, count(DISTINCT i.id) AS keys");
    let n = |column: &str| rows[0][column].as_i64().unwrap_or_else(|| panic!("{column} in {rows:?}"));
    (n("nodes"), n("keys"))
}

fn start(project: &Project, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grafter"));
    command.current_dir(project.path()).args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("start grafter")
}

/// Waits until a run started in the background is loading: on a server until it has
/// written `nodes`; the embedded store cannot be read while the run has it open, so there
/// until `lock status` names a holder, then a little longer.
fn wait_until_loading(project: &Project, target: Target, nodes: i64) {
    if target.is_server() {
        wait_until("the run writes", Duration::from_secs(60), || {
            // Until the run has created the graph, a read says it does not exist.
            let output = project
                .grafter()
                .args(["query", "--format", "json", "MATCH (i:Item) RETURN count(i) AS nodes"])
                .output()
                .expect("query");
            let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
            rows[0]["nodes"].as_i64().is_some_and(|n| n >= nodes)
        });
    } else {
        wait_until("the run holds the store", Duration::from_secs(60), || {
            let status = project.grafter().args(["lock", "status"]).output().expect("lock status");
            output_text(&status).0.starts_with("held")
        });
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill");
    assert!(status.success(), "kill {signal}");
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a run refused at the start was refused for the lock (or, on the embedded store,
/// for the file another process has open).
fn refused_for_the_lock(output: &Output) -> bool {
    let (_, stderr) = output_text(output);
    output.status.code() == Some(3) && (stderr.contains("is locked") || stderr.contains("is in use"))
}

fn two_runs_started_together_on_a_new_graph_never_both_load(target: Target) {
    for round in 0..100 {
        let project = items_project(target, "double_start", "");
        let runs =
            [start(&project, &["run", "-q", "--no-verify"], &[]), start(&project, &["run", "-q", "--no-verify"], &[])];
        let outputs: Vec<Output> = runs.into_iter().map(|run| run.wait_with_output().expect("wait")).collect();
        for output in &outputs {
            assert!(
                output.status.success() || refused_for_the_lock(output),
                "round {round}: a run failed otherwise: {}",
                output_text(output).1
            );
        }
        assert!(outputs.iter().any(|o| o.status.success()), "round {round}: neither run loaded");
        assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64), "round {round}: every node exactly once");
    }
}

fn a_run_paused_past_its_lease_and_taken_over_writes_nothing_when_it_wakes(target: Target) {
    let project = items_project(target, "paused", "");
    let lease = ["--lock-lease", "3", "--batch-size", "100", "--no-verify"];
    let paused = start(&project, &[&["run", "-q"][..], &lease].concat(), &[("GRAFTER_SLOW_BATCH_MS", "150")]);
    wait_until_loading(&project, target, 300);
    signal(&paused, "-STOP");
    // Past its lease (3 s, counted in whole seconds from its last renewal): the lock is free
    // for the taking. (With `--lock-lease 2` silently raised to 3 and a 3 s pause, the second
    // run was refused in 1 round of 4 as the lease had not run out yet.)
    std::thread::sleep(Duration::from_secs(5));
    let second = project.grafter().args(["run", "-q"]).args(lease).output().expect("the second run");
    if !target.is_server() {
        // The paused process still has the store open: nobody else can write to it.
        assert!(refused_for_the_lock(&second), "{}", output_text(&second).1);
        signal(&paused, "-CONT");
        let first = paused.wait_with_output().expect("the first run");
        assert!(first.status.success(), "{}", output_text(&first).1);
        assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64));
        return;
    }
    assert!(
        second.status.success(),
        "the lock of a run paused past its lease is taken over: {}",
        output_text(&second).1
    );
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64));
    let after_takeover = project.fingerprint();

    signal(&paused, "-CONT");
    let first = paused.wait_with_output().expect("the first run");
    let (_, stderr) = output_text(&first);
    assert_eq!(first.status.code(), Some(3), "the woken run stops: {stderr}");
    assert!(stderr.contains("no longer holds the lock") || stderr.contains("taken over or broken"), "{stderr}");
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64), "the woken run wrote nothing twice");
    assert_eq!(project.fingerprint(), after_takeover, "the woken run wrote nothing at all");
    let history = project.grafter().args(["history", "--format", "json"]).output().expect("history");
    let runs: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    assert_eq!(runs.as_array().and_then(|r| r.last()).map(|r| r["status"].clone()), Some("completed".into()));
}

fn breaking_a_live_holders_lock_is_refused_unless_forced_and_then_its_writes_are(target: Target) {
    let project = items_project(target, "break", "");
    let mut run =
        start(&project, &["run", "-q", "--batch-size", "100", "--no-verify"], &[("GRAFTER_SLOW_BATCH_MS", "300")]);
    wait_until_loading(&project, target, 100);
    let pid = run.id().to_string();

    let refused = project.grafter().args(["lock", "break"]).output().expect("lock break");
    let (_, stderr) = output_text(&refused);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&pid), "the refusal names the holder: {stderr}");
    if target.is_server() {
        assert!(stderr.contains("refusing to break the lock") && stderr.contains("runs on this host"), "{stderr}");
    }
    assert!(run.try_wait().expect("poll").is_none(), "the holder goes on");

    let forced = project.grafter().args(["lock", "break", "--force"]).output().expect("lock break --force");
    if !target.is_server() {
        // The store is open in the holder: not even --force can take it from a live process.
        assert!(!forced.status.success() && output_text(&forced).1.contains(&pid), "{}", output_text(&forced).1);
        let finished = run.wait_with_output().expect("the run");
        assert!(finished.status.success(), "{}", output_text(&finished).1);
        assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64));
        return;
    }
    assert!(forced.status.success(), "{}", output_text(&forced).1);
    let stopped = Instant::now();
    let holder = run.wait_with_output().expect("the run");
    let (_, stderr) = output_text(&holder);
    assert_eq!(holder.status.code(), Some(3), "the holder stops: {stderr}");
    assert!(stopped.elapsed() < Duration::from_secs(10), "the holder stopped within seconds");
    assert!(stderr.contains("no longer holds the lock") || stderr.contains("taken over or broken"), "{stderr}");
    let (written, keys) = items(&project);
    assert_eq!(written, keys, "nothing written twice");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(items(&project).0, written, "nothing written after it stopped");
    // The next run takes over and finishes the load, every row once.
    let summary = project.run(&[]);
    assert_eq!(summary.json["verification"]["passed"], true, "{}", summary.json);
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64));
}

fn a_check_or_a_query_that_would_write_is_refused_and_changes_nothing(target: Target) {
    let check = "\n[[checks]]\nname = \"a check that writes\"\ncypher = \"MATCH (n) DETACH DELETE n RETURN 0\"\nexpect = \"zero\"\n";
    let project = items_project(target, "readonly", check);
    // The run loads, then its verification runs the check: refused, and the run fails.
    let run = project.grafter().args(["run", "-q"]).output().expect("run");
    let (_, stderr) = output_text(&run);
    assert_eq!(run.status.code(), Some(1), "the refused check fails the run's verification: {stderr}");
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64), "the check deleted nothing");

    let verify = project.grafter().args(["verify", "--format", "json"]).output().expect("verify");
    assert_eq!(verify.status.code(), Some(1), "{}", output_text(&verify).1);
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("verify JSON");
    let text = report.to_string();
    assert!(text.contains("refused a query that would change the graph"), "{text}");
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64), "verify deleted nothing");
    let history = project.grafter().args(["history", "--format", "json"]).output().expect("history");
    let runs: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "the history is intact");

    let query = project.grafter().args(["query", "MATCH (n) DETACH DELETE n RETURN 0"]).output().expect("query");
    let (_, stderr) = output_text(&query);
    assert_eq!(query.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refused a query that would change the graph") && stderr.contains("--write"), "{stderr}");
    assert_eq!(items(&project), (ITEMS as i64, ITEMS as i64), "the query deleted nothing");

    // With --write, on purpose, it may.
    let written = project
        .grafter()
        .args(["query", "--write", "MATCH (i:Item {id: 1}) SET i.touched = true RETURN i.id"])
        .output()
        .expect("query --write");
    assert!(written.status.success(), "{}", output_text(&written).1);
    assert_eq!(project.query_int("MATCH (i:Item) WHERE i.touched RETURN count(i)"), 1);
}

/// `rollback --last` brought back the lock the run held when its snapshot was taken; the
/// next run then took over "a lock left by a process that is gone".
fn a_rollback_leaves_the_lock_as_it_found_it(target: Target) {
    let project = items_project(target, "rollback_lock", "");
    project.run(&[]);
    let rollback = project.grafter().args(["rollback", "--last"]).output().expect("rollback");
    assert!(rollback.status.success(), "{}", output_text(&rollback).1);
    let status = project.grafter().args(["lock", "status"]).output().expect("lock status");
    assert_eq!(output_text(&status).0.trim(), "not locked", "{}", output_text(&status).1);
    let again = project.grafter().args(["run"]).output().expect("run again");
    let (_, stderr) = output_text(&again);
    assert!(again.status.success(), "{stderr}");
    assert!(!stderr.contains("took over"), "no lock was left to take over: {stderr}");
}

mod two_writers {
    use super::*;

    on_every_writer_target!(
        two_runs_started_together_on_a_new_graph_never_both_load,
        a_run_paused_past_its_lease_and_taken_over_writes_nothing_when_it_wakes,
        breaking_a_live_holders_lock_is_refused_unless_forced_and_then_its_writes_are,
    );
}

on_every_target_with_bolt!(
    a_rollback_leaves_the_lock_as_it_found_it,
    a_check_or_a_query_that_would_write_is_refused_and_changes_nothing,
);
