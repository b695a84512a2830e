//! Run safety, proven through the binary: kill a run anywhere and resume it, and the graph,
//! the figures and the reject file are exactly those of one clean run; a second run is
//! refused while one holds the target; abandoned locks are taken over; `lock break` is
//! recorded; rollback returns the exact pre-run state; Ctrl-C stops cleanly and resumably.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common;

fn grafter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grafter"))
}

/// Runs grafter in `dir` with `args` and extra environment variables.
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = grafter();
    command.current_dir(dir).args(args).env_remove("GRAFTER_KILL_AT").env_remove("GRAFTER_SLOW_BATCH_MS");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("grafter runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = run_in(dir, args, &[]);
    assert!(
        output.status.success(),
        "grafter {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn json(dir: &Path, args: &[&str]) -> Json {
    serde_json::from_str(&ok(dir, args)).expect("JSON output")
}

/// The Placement example, small, with a transform that rejects some rows on purpose (big
/// inventories), so rejects are part of what must come out exactly once.
fn placement_project(dir: &Path, compute_nodes: u32) {
    common::generate_placement(&dir.join("placement.sqlite"), compute_nodes, false);
    let example = package_dir().join("../../examples/placement/grafter.toml");
    let config = std::fs::read_to_string(example).expect("example config");
    // Inventories over 100000 units (memory) are rejected; so are the relationships to them.
    let config = config.replacen(
        "key = [\"provider_uuid\", \"resource_class\"]\n",
        "key = [\"provider_uuid\", \"resource_class\"]\n[nodes.transform]\ntotal = \"if(total > 100000, int('too big: ' || string(total)), total)\"\n",
        1,
    );
    assert!(config.contains("too big"), "the transform was added");
    // The runbook's checks expect one node per source row, which the rejects above break on
    // purpose; verify's own comparison (source rows minus rejects) still runs after every run.
    let config = config.split("\n[[checks]]").next().expect("config before the checks").to_owned();
    assert!(!config.contains("[[checks]]"), "the checks were dropped");
    std::fs::write(dir.join("grafter.toml"), config).expect("write config");
}

fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for name in ["grafter.toml", "placement.sqlite"] {
        std::fs::copy(from.join(name), to.join(name)).expect("copy");
    }
}

/// Everything a user would compare between two loads.
#[derive(Debug, PartialEq)]
struct Outcome {
    fingerprint: String,
    /// Per mapping: read, written, rejected.
    figures: Vec<(String, u64, u64, u64)>,
    /// The reject file's lines without run ids, sorted.
    rejects: Vec<String>,
}

fn outcome(dir: &Path) -> Outcome {
    let fingerprint = json(dir, &["fingerprint", "--format", "json"])["overall"].as_str().expect("overall").to_owned();
    let history = json(dir, &["history", "--format", "json"]);
    let runs = history.as_array().expect("runs");
    let last = runs.last().expect("a run");
    assert_eq!(last["status"], "completed", "the run completed: {last:#}");
    let figures = last["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| {
            let n = |f: &str| m[f].as_u64().expect("count");
            assert_eq!(n("read"), n("written") + n("rejected"), "read = written + rejected for {m}");
            (m["name"].as_str().expect("name").to_owned(), n("read"), n("written"), n("rejected"))
        })
        .collect();
    let mut rejects: Vec<String> = std::fs::read_to_string(dir.join("grafter.rejects.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut value: Json = serde_json::from_str(line).expect("reject line is JSON");
            value.as_object_mut().expect("object").remove("run");
            value.to_string()
        })
        .collect();
    rejects.sort();
    Outcome { fingerprint, figures, rejects }
}

fn batches_of_clean_run(dir: &Path) -> u64 {
    let result =
        json(dir, &["query", "--format", "json", "MATCH (c:_GrafterCheckpoint) RETURN sum(c.batches) AS batches"]);
    result[0]["batches"].as_u64().expect("batch count")
}

#[cfg(unix)]
fn killed_by_sigkill(output: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt as _;
    output.status.signal() == Some(9)
}

/// Compares two outcomes and says briefly what differs.
fn assert_same(actual: &Outcome, expected: &Outcome, what: &str) {
    assert_eq!(actual.figures, expected.figures, "{what}: per-mapping figures differ from a clean run");
    let missing: Vec<&String> = expected.rejects.iter().filter(|r| !actual.rejects.contains(r)).take(3).collect();
    let extra: Vec<&String> = actual.rejects.iter().filter(|r| !expected.rejects.contains(r)).take(3).collect();
    assert!(
        actual.rejects == expected.rejects,
        "{what}: reject file differs ({} lines vs {} in a clean run); missing e.g. {missing:?}; extra e.g. {extra:?}",
        actual.rejects.len(),
        expected.rejects.len()
    );
    assert_eq!(actual.fingerprint, expected.fingerprint, "{what}: graph fingerprint differs from a clean run");
}

#[test]
fn a_run_killed_anywhere_resumes_to_exactly_one_clean_run() {
    let root = tempfile::tempdir().expect("tempdir");
    let template = root.path().join("template");
    std::fs::create_dir_all(&template).expect("mkdir");
    placement_project(&template, 12);
    let args = ["run", "-q", "--batch-size", "100", "--workers", "2"];

    let clean = root.path().join("clean");
    copy_project(&template, &clean);
    ok(&clean, &args);
    let expected = outcome(&clean);
    assert!(!expected.rejects.is_empty(), "the data has rejects, so their exactly-once is tested too");
    let batches = batches_of_clean_run(&clean);
    assert!(batches >= 25, "enough batches to spread the kills over ({batches})");

    // Inside the first, early, middle and last batches (before commit), right after
    // commits, and during validation: 22 points.
    let mut points: Vec<String> =
        [1, 2, 3, batches / 4, batches / 3, batches / 2, 2 * batches / 3, batches - 2, batches - 1, batches]
            .iter()
            .map(|n| format!("before-commit:{n}"))
            .collect();
    points.extend(
        [1, 2, batches / 5, batches / 2, 3 * batches / 4, batches - 1, batches]
            .iter()
            .map(|n| format!("after-commit:{n}")),
    );
    points.extend(["validating:1".to_owned()]);
    points.extend([batches / 6, batches / 3 + 1, 5 * batches / 6].iter().map(|n| format!("before-commit:{n}")));
    points.dedup();
    assert!(points.len() >= 20, "{points:?}");

    for point in &points {
        let dir = root.path().join(point.replace(':', "-"));
        copy_project(&template, &dir);
        let killed = run_in(&dir, &args, &[("GRAFTER_KILL_AT", point)]);
        assert!(killed_by_sigkill(&killed), "{point}: the run was killed by SIGKILL ({})", killed.status);
        ok(&dir, &args);
        assert_same(&outcome(&dir), &expected, point);
    }
}

#[test]
fn a_finished_run_run_again_has_nothing_to_do_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 3);
    ok(dir.path(), &["run", "-q"]);
    let before = outcome(dir.path());
    let summary = json(dir.path(), &["run", "-q", "--format", "json"]);
    for mapping in summary["mappings"].as_array().expect("mappings") {
        assert_eq!(mapping["status"], "nothing_to_do", "{mapping}");
        assert_eq!(mapping["read"], 0);
    }
    let runs = json(dir.path(), &["history", "--format", "json"]);
    assert_eq!(runs.as_array().expect("runs").len(), 1, "no second run was recorded");
    assert_same(&outcome(dir.path()), &before, "after a second run");
}

/// Starts a slow run in the background and waits until it is loading.
fn start_slow_run(dir: &Path, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["run", "-q", "--batch-size", "50"];
    args.extend_from_slice(extra);
    let child = grafter()
        .current_dir(dir)
        .args(&args)
        .env("GRAFTER_SLOW_BATCH_MS", "150")
        .env_remove("GRAFTER_KILL_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The store's lock file note appears as soon as it is open; give it a first batch too.
    let note = dir.join("grafter.grafeo.lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !note.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(600));
    child
}

#[test]
fn a_second_run_is_refused_at_once_with_the_holders_details() {
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 4);
    let mut first = start_slow_run(dir.path(), &[]);
    let started = Instant::now();
    let second = run_in(dir.path(), &["run", "-q"], &[]);
    assert!(started.elapsed() < Duration::from_secs(5), "refused at once, not after waiting");
    assert_eq!(second.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("is in use by pid"), "{stderr}");
    assert!(stderr.contains(&first.id().to_string()), "names the holder's pid: {stderr}");
    assert!(stderr.contains("grafter") && stderr.contains("run"), "names the holder's command: {stderr}");
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn an_abandoned_lock_is_taken_over_and_breaking_one_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 4);
    let killed = run_in(
        dir.path(),
        &["run", "-q", "--batch-size", "100", "--lock-lease", "3"],
        &[("GRAFTER_KILL_AT", "after-commit:3")],
    );
    assert!(killed_by_sigkill(&killed));
    let status = ok(dir.path(), &["lock", "status"]);
    assert!(status.starts_with("abandoned") || status.starts_with("expired"), "{status}");
    std::thread::sleep(Duration::from_secs(4));
    let status = ok(dir.path(), &["lock", "status"]);
    assert!(status.starts_with("expired"), "after its lease the lock is expired: {status}");

    let resumed = run_in(dir.path(), &["run", "-q"], &[]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(stderr.contains("took over the lock"), "{stderr}");
    assert_eq!(ok(dir.path(), &["lock", "status"]).trim(), "not locked");

    // A lock left behind by another kill, broken by hand: the history says who broke it.
    ok(dir.path(), &["rollback", "--last"]);
    let killed = run_in(dir.path(), &["run", "-q", "--batch-size", "100"], &[("GRAFTER_KILL_AT", "after-commit:2")]);
    assert!(killed_by_sigkill(&killed));
    let broke = ok(dir.path(), &["lock", "break"]);
    assert!(broke.starts_with("broke the lock"), "{broke}");
    assert_eq!(ok(dir.path(), &["lock", "status"]).trim(), "not locked");
    let runs = json(dir.path(), &["history", "--format", "json"]);
    let last = runs.as_array().expect("runs").last().expect("a run").clone();
    let events: Vec<&str> =
        last["events"].as_array().expect("events").iter().map(|e| e["what"].as_str().expect("text")).collect();
    assert!(events.iter().any(|e| e.starts_with("lock broken by ")), "{events:?}");
}

fn fingerprint(dir: &Path) -> String {
    json(dir, &["fingerprint", "--format", "json"])["overall"].as_str().expect("overall").to_owned()
}

#[test]
fn rollback_restores_the_pre_run_state_after_success_failure_and_on_a_non_empty_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 4);
    // Phase 1 fills the target with nodes; it is the non-empty state the next runs start from.
    let nodes = "resource_classes,traits,resource_providers,inventories,aggregates,projects,users,consumers";
    ok(dir.path(), &["run", "-q", "--only", nodes]);
    let after_phase_one = fingerprint(dir.path());

    // A successful run of everything, rolled back.
    ok(dir.path(), &["run", "-q"]);
    assert_ne!(fingerprint(dir.path()), after_phase_one);
    let dry = ok(dir.path(), &["rollback", "--dry-run"]);
    assert!(dry.contains("relationships: -"), "the dry run says what goes: {dry}");
    assert_ne!(fingerprint(dir.path()), after_phase_one, "a dry run changes nothing");
    let report = json(dir.path(), &["rollback", "--last", "--format", "json"]);
    assert_eq!(report["fingerprint_now"], report["fingerprint_before"]);
    assert_eq!(fingerprint(dir.path()), after_phase_one);

    // A failed run (reject limit), rolled back.
    let failed = run_in(dir.path(), &["run", "-q", "--fresh", "--max-rejects", "0", "--batch-size", "20"], &[]);
    assert_eq!(failed.status.code(), Some(3), "{}", String::from_utf8_lossy(&failed.stderr));
    let runs = json(dir.path(), &["history", "--format", "json"]);
    assert_eq!(runs.as_array().expect("runs").last().expect("run")["status"], "failed");
    ok(dir.path(), &["rollback", "--last"]);
    assert_eq!(fingerprint(dir.path()), after_phase_one);

    // Phase 1 itself, rolled back: the empty graph.
    ok(dir.path(), &["rollback", "--last"]);
    let empty = json(dir.path(), &["fingerprint", "--format", "json"]);
    assert!(empty["labels"].as_object().expect("labels").is_empty(), "{empty}");
    let statuses: Vec<String> = json(dir.path(), &["history", "--format", "json"])
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(statuses, vec!["rolled_back"; 3], "history keeps every run, marked");
}

#[test]
fn rolling_back_an_older_run_while_a_later_one_stands_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 3);
    ok(dir.path(), &["run", "-q", "--only", "resource_classes"]);
    ok(dir.path(), &["run", "-q", "--only", "traits"]);
    let runs = json(dir.path(), &["history", "--format", "json"]);
    let first = runs[0]["id"].as_str().expect("id").to_owned();
    let refused = run_in(dir.path(), &["rollback", &first], &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("came after") && stderr.contains("roll it back first"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_at_a_batch_boundary_and_the_run_resumes() {
    let root = tempfile::tempdir().expect("tempdir");
    let template = root.path().join("template");
    std::fs::create_dir_all(&template).expect("mkdir");
    placement_project(&template, 4);
    let clean = root.path().join("clean");
    copy_project(&template, &clean);
    ok(&clean, &["run", "-q", "--batch-size", "50"]);
    let expected = outcome(&clean);

    let dir = root.path().join("interrupted");
    copy_project(&template, &dir);
    let child = start_slow_run(&dir, &[]);
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill -INT");
    assert!(interrupted.success());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("continues it"), "says how to resume: {stderr}");
    let runs = json(&dir, &["history", "--format", "json"]);
    assert_eq!(runs[0]["status"], "interrupted");
    ok(&dir, &["run", "-q", "--batch-size", "50"]);
    assert_same(&outcome(&dir), &expected, "after Ctrl-C and resume");
}

#[test]
fn metrics_are_served_in_the_prometheus_format_while_running() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().expect("tempdir");
    placement_project(dir.path(), 4);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let addr_text = addr.to_string();
    let mut child = start_slow_run(dir.path(), &["--metrics-addr", &addr_text]);
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
            stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("request");
            body.clear();
            stream.read_to_string(&mut body).expect("response");
            if body.contains("grafter_rows_read_total{mapping=") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("# TYPE grafter_rows_read_total counter"), "{body}");
    assert!(body.contains("grafter_rows_read_total{mapping=\"resource_classes\",kind=\"node\"}"), "{body}");
    assert!(body.contains("# TYPE grafter_lag_rows gauge"), "{body}");
}

/// This package's directory, read when the test runs (cargo sets it then too): a test binary
/// built from another checkout of the repository still finds this checkout's files.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}

/// `grafter run -c project/grafter.toml` from the folder above once put the default store at
/// `project/project/grafter.grafeo` (its path was resolved against the config's folder twice),
/// so the same config reached two graphs depending on where it was run from. Every relative
/// path resolves against the config's folder, once.
#[test]
fn a_config_run_from_another_directory_reaches_the_same_graph_as_from_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("data")).expect("create the project");
    std::fs::write(project.join("data/items.csv"), "id,name\n1,a\n2,b\n3,c\n").expect("write the CSV");
    std::fs::write(
        project.join("grafter.toml"),
        "[source]\nurl = \"csv:data\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n",
    )
    .expect("write the config");

    let summary = json(dir.path(), &["run", "-q", "--format", "json", "-c", "project/grafter.toml"]);
    assert_eq!(summary["mappings"][0]["written"], 3, "{summary}");
    assert!(project.join("grafter.grafeo").exists(), "the store is beside the config");
    assert!(!project.join("project").exists(), "nothing is written below project/project");

    // The same graph, from inside the folder: the run is recorded and the nodes are there.
    let rows = json(&project, &["query", "--format", "json", "MATCH (i:Item) RETURN count(i) AS items"]);
    assert_eq!(rows[0]["items"], 3);
    let history = json(&project, &["history", "--format", "json"]);
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    // And a second run from the folder above finds that run and has nothing to do.
    let again = json(dir.path(), &["run", "-q", "--format", "json", "-c", "project/grafter.toml"]);
    assert_eq!(again["mappings"][0]["written"], 0, "{again}");
}

/// Rejects found by a mapping's transforms were written as partition 0's whatever partition
/// read them, so with `--workers 2` a resume kept or dropped them by the wrong partition's
/// progress. Each reject line names the partition whose batch it belongs to, and a run killed
/// while the partitions stand at different batches resumes to one clean run's reject file.
#[test]
fn transform_rejects_name_the_partition_that_read_them_and_a_resume_keeps_each_once() {
    let root = tempfile::tempdir().expect("tempdir");
    let template = root.path().join("template");
    std::fs::create_dir_all(&template).expect("mkdir");
    let db = rusqlite::Connection::open(template.join("items.sqlite")).expect("create the database");
    db.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO items SELECT i, i * 10 FROM n;",
    )
    .expect("fill the table");
    drop(db);
    // Rows above 200 (the second half of the keys: the second partition) are rejected.
    std::fs::write(
        template.join("grafter.toml"),
        "[source]\nurl = \"sqlite:items.sqlite\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"items\"\nkey = \"id\"\n\
         [nodes.transform]\nv = \"if(id > 200, int('not a number'), v)\"\n",
    )
    .expect("write the config");
    let args = ["run", "-q", "--batch-size", "25", "--workers", "2", "--no-verify"];
    let copy = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for file in ["grafter.toml", "items.sqlite"] {
            std::fs::copy(template.join(file), dir.join(file)).expect("copy");
        }
        dir
    };

    let clean = copy("clean");
    ok(&clean, &args);
    let expected = outcome(&clean);
    assert_eq!(expected.rejects.len(), 200, "every row above 200 is rejected once");
    for line in &expected.rejects {
        let line: Json = serde_json::from_str(line).expect("JSON");
        assert_eq!(line["partition"], 1, "the second key range read this reject: {line}");
    }

    // Killed after a few commits (the partitions' batch numbers differ), then resumed.
    for point in ["after-commit:3", "after-commit:6", "before-commit:9"] {
        let dir = copy(&point.replace(':', "-"));
        let killed = run_in(&dir, &args, &[("GRAFTER_KILL_AT", point)]);
        assert!(killed_by_sigkill(&killed), "{point}: the run was killed by SIGKILL ({})", killed.status);
        ok(&dir, &args);
        assert_same(&outcome(&dir), &expected, point);
    }
}
