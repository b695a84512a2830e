//! The project's own scripts, run as a user runs them. `scripts/falkordb start` once replaced a
//! server it took for hung when a long load only kept it from answering PING, and wiped its
//! data; it may now replace only a server it started itself whose process is gone.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::output_text;

/// `scripts/falkordb` on ports of the test's own, its state in a folder of the test's own.
struct Falkordb {
    state_root: tempfile::TempDir,
    port: u16,
    bolt_port: u16,
}

impl Falkordb {
    fn new() -> Falkordb {
        // Tests of this binary run side by side: each takes ports of its own (a free port
        // checked now could be taken by the other test before its server binds it).
        static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        let free = |range: std::ops::RangeInclusive<u16>| {
            range.into_iter().find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()).expect("a free port")
        };
        // Apart from the ports other tests pick; Bolt below 32768 (FalkorDB opens none above).
        let offset = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) * 100 + (std::process::id() % 100) as u16;
        let port = free(40_000 + offset..=45_000);
        let bolt_port = free(30_000 + offset..=32_767);
        Falkordb { state_root: tempfile::tempdir().expect("tempdir"), port, bolt_port }
    }

    fn script(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(common::package_dir().join("../../scripts/falkordb"));
        command
            .args(args)
            .env("TMPDIR", self.state_root.path())
            .env("FALKORDB_PORT", self.port.to_string())
            .env("FALKORDB_BOLT_PORT", self.bolt_port.to_string());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("run scripts/falkordb")
    }

    fn state(&self) -> PathBuf {
        self.state_root.path().join(format!("grafter-falkordb-{}", self.port))
    }

    fn pid(&self) -> String {
        std::fs::read_to_string(self.state().join("redis.pid")).expect("the pid file").trim().to_owned()
    }

    /// One command over Redis's protocol; its raw reply.
    fn command(&self, args: &[&str]) -> Vec<u8> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).expect("send");
        let mut reply = vec![0; 4096];
        let n = stream.read(&mut reply).expect("reply");
        reply.truncate(n);
        reply
    }

    /// How many `Kept` nodes the graph `busy` holds.
    fn kept_nodes(&self) -> String {
        let reply = self.command(&["GRAPH.QUERY", "busy", "MATCH (k:Kept) RETURN count(k)"]);
        let text = String::from_utf8_lossy(&reply).into_owned();
        // [header, [[count]], statistics]: the count is the first integer after the header.
        text.split("\r\n").find_map(|part| part.strip_prefix(':')).unwrap_or("none").to_owned()
    }
}

impl Drop for Falkordb {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.state().join("redis.pid")) {
            let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
    }
}

fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses; a zombie has exited.
    stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z'))
}

fn signal(pid: &str, signal: &str) {
    assert!(Command::new("kill").args([signal, pid]).status().expect("kill").success(), "kill {signal} {pid}");
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_succeeded(output: &Output, what: &str) {
    let (stdout, stderr) = output_text(output);
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
}

#[test]
fn scripts_falkordb_start_leaves_a_busy_server_and_its_data_alone() {
    let server = Falkordb::new();
    let started = server.script(&["start"], &[]);
    assert_succeeded(&started, "start");
    assert_eq!(output_text(&started).0.trim(), format!("falkordb://127.0.0.1:{}", server.port));
    server.command(&["GRAPH.QUERY", "busy", "CREATE (:Kept {n: 1})"]);
    assert_eq!(server.kept_nodes(), "1");
    let pid = server.pid();

    // Stopped, it answers nothing, as a server busy with a long load does not.
    signal(&pid, "-STOP");
    let waited = server.script(&["start"], &[("FALKORDB_START_WAIT", "2")]);
    let (_, stderr) = output_text(&waited);
    assert!(!waited.status.success(), "start reported a silent server as running:\n{stderr}");
    assert!(stderr.contains(&format!("FalkorDB (pid {pid}) is alive")), "{stderr}");
    assert!(stderr.contains("left as it is"), "{stderr}");
    assert!(alive(&pid), "the busy server was stopped");
    assert_eq!(server.pid(), pid, "the pid file was replaced");

    // Busy no more: the same server, with its data.
    signal(&pid, "-CONT");
    assert_succeeded(&server.script(&["start"], &[]), "start on an answering server");
    assert_eq!(server.pid(), pid);
    assert_eq!(server.kept_nodes(), "1", "the server's data survived");
}

#[test]
fn scripts_falkordb_start_replaces_only_its_own_server_once_that_has_exited() {
    let server = Falkordb::new();
    assert_succeeded(&server.script(&["start"], &[]), "start");
    let pid = server.pid();
    signal(&pid, "-KILL");
    wait_until("the server's exit", || !alive(&pid));

    let restarted = server.script(&["start"], &[]);
    assert_succeeded(&restarted, "start after the server died");
    assert_ne!(server.pid(), pid, "a new server was started");
    assert_eq!(server.kept_nodes(), "0");

    assert_succeeded(&server.script(&["stop"], &[]), "stop");
    assert!(!Path::new(&server.state()).exists(), "stop removes the state of the server it stopped");
}
