//! Scenarios the server targets share (FalkorDB native, Bolt): a small Placement project on a
//! graph of its own, its twin on another graph, runs killed anywhere that must resume to one
//! clean run's fingerprint, a second run the lock must refuse, a server killed under a run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{PersistentServer, Project, Summary, example, output_text};

/// The Placement example with `compute_nodes` compute nodes, loading into `url`.
pub fn placement_project(compute_nodes: u32, url: &str) -> Project {
    let project = Project::new();
    super::generate_placement(&project.file("placement.sqlite"), compute_nodes, false);
    let config = std::fs::read_to_string(example("placement/grafter.toml")).expect("example config");
    project.write("grafter.toml", format!("{config}\n[target]\nurl = \"{url}\"\n"));
    project
}

/// The same project pointed at another graph.
pub fn twin(project: &Project, url: &str) -> Project {
    let twin = Project::new();
    std::fs::copy(project.file("placement.sqlite"), twin.file("placement.sqlite")).expect("copy database");
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    let start = config.rfind("\n[target]").expect("a [target] section");
    twin.write("grafter.toml", format!("{}\n[target]\nurl = \"{url}\"\n", &config[..start]));
    twin
}

/// A resumed run's summary accounts for every row read (created and updated are known only
/// for what this attempt wrote, so they are not compared).
pub fn assert_resumed_run_accounts_for_every_row(summary: &Summary) {
    for m in summary.mappings() {
        assert_eq!(m.read, m.written + m.rejected, "mapping `{}`: {m:?}", m.mapping);
    }
}

/// Kills a run of `clean`'s twin (on a fresh graph from `url`) at each fault point, resumes
/// it, and checks that it verifies and equals `clean`'s graph, then runs `check` on it.
pub fn assert_killed_runs_resume_to_a_clean_run(
    clean: &Project,
    url: impl Fn() -> String,
    batch_size: &str,
    check: impl Fn(&Project),
) {
    let expected = clean.fingerprint();
    for kill_at in ["before-commit:3", "after-commit:9", "validating:1"] {
        let project = twin(clean, &url());
        let output = project
            .grafter()
            .args(["run", "-q", "--batch-size", batch_size])
            .env("GRAFTER_KILL_AT", kill_at)
            .output()
            .expect("start grafter");
        assert!(!output.status.success(), "{kill_at}: the run should have been killed");
        // The killed process left its lock: a new run on the same host sees it is gone and
        // takes over, then resumes.
        let summary = project.run(&[]);
        assert_resumed_run_accounts_for_every_row(&summary);
        assert_eq!(summary.json["verification"]["passed"], true, "{kill_at}: {}", summary.json);
        assert_eq!(project.fingerprint(), expected, "{kill_at}: resumed graph differs from a clean run");
        check(&project);
    }
}

/// Starts a slow run of `project`, and checks that a second one is refused while the first
/// holds the lock, naming the holder's pid.
pub fn assert_a_second_run_is_refused(project: &Project) {
    let mut first = Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", "20"])
        .env("GRAFTER_SLOW_BATCH_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the first run");
    let started = Instant::now();
    loop {
        let status = project.grafter().args(["lock", "status"]).output().expect("lock status");
        if output_text(&status).0.contains("run") && status.status.success() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = project.grafter().args(["run", "-q"]).output().expect("start the second run");
    let (_, stderr) = output_text(&second);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success(), "the second run was not refused");
    assert!(stderr.contains("is locked"), "{stderr}");
    assert!(stderr.contains(&first.id().to_string()), "the refusal names the holder's pid: {stderr}");
}

/// Runs `project` (whose target is on `server`) and kills the server once it has written
/// some nodes (`save_first`: after a snapshot of what it holds); the run must fail within
/// `limit`, saying the server does not answer and that the run resumes. Its stderr.
pub fn kill_the_server_under_a_run(
    project: &Project,
    server: &mut PersistentServer,
    batch_size: &str,
    save_first: bool,
    limit: Duration,
) -> String {
    let mut run = Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["run", "-q", "--batch-size", batch_size])
        .env("GRAFTER_SLOW_BATCH_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the run");
    // Let it commit some batches, then kill the server under it.
    let started = Instant::now();
    while project.count_so_far("MATCH (n:ResourceProvider) RETURN count(n) AS n") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run wrote nothing in a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(run.try_wait().expect("poll").is_none(), "the run finished before the server could be killed");
    if save_first {
        server.save();
    }
    server.kill();
    let killed_at = Instant::now();
    let output = run.wait_with_output().expect("wait for the run");
    let took = killed_at.elapsed();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(took < limit, "the run took {took:?} to fail after the server died");
    assert!(stderr.contains("does not answer") && stderr.contains("resumes"), "{stderr}");
    stderr
}
