//! The Bolt servers the conformance scenarios run on besides FalkorDB's port — Neo4j
//! Community (through `bolt://` and, routed, `neo4j://`) and ArcadeDB — and the independent
//! reader: the official Python `neo4j` driver (and `falkordb` client), which reads back what
//! grafter wrote so that a bug shared by grafter's writer and its reader cannot hide.
//!
//! Neo4j Community holds one database (CREATE DATABASE needs Enterprise) and the tests keep to
//! ArcadeDB's `test` likewise, so a test that loads into one of them holds it alone: a
//! [`SharedDatabase`] is a lock on a file (across test binaries and checkouts, not only
//! threads), and the database is emptied — nodes, constraints, indexes — for each graph the
//! test asks for ([`fresh_graph`]).

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{output_text, package_dir};

/// Neo4j the tests use: `GRAFTER_TEST_NEO4J_URL`, by default the one `scripts/neo4j start` runs.
pub fn neo4j_server() -> String {
    answering(
        "GRAFTER_TEST_NEO4J_URL",
        "bolt://neo4j:grafter-test-password@127.0.0.1:7688",
        "Neo4j; start it with `scripts/neo4j start`",
    )
}

/// The newer Neo4j the tests also run on: `GRAFTER_TEST_NEO4J_2026_URL`, by default the one
/// `NEO4J_VERSION=2026 scripts/neo4j start` runs (2026.08.1, on a JDK 21 or newer).
pub fn neo4j_2026_server() -> String {
    answering(
        "GRAFTER_TEST_NEO4J_2026_URL",
        "bolt://neo4j:grafter-test-password@127.0.0.1:7689",
        "Neo4j 2026; start it with `NEO4J_VERSION=2026 scripts/neo4j start`",
    )
}

/// The same Neo4j through `neo4j://`: the driver asks the server for a routing table first.
pub fn neo4j_routed_server() -> String {
    neo4j_server().replacen("bolt://", "neo4j://", 1)
}

/// ArcadeDB the tests use: `GRAFTER_TEST_ARCADEDB_URL`, by default the one `scripts/arcadedb start`
/// runs (database `test`).
pub fn arcadedb_server() -> String {
    answering(
        "GRAFTER_TEST_ARCADEDB_URL",
        "bolt://root:grafter-test-password@127.0.0.1:7690?database=test",
        "ArcadeDB; start it with `scripts/arcadedb start`",
    )
}

/// The URL in `variable` (or `default`) once its server has answered a Bolt 5 handshake; a
/// server that does not fails the test loudly, naming what to start.
fn answering(variable: &str, default: &str, what: &str) -> String {
    use std::io::{Read, Write};
    let url = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let address = authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned();
    let handshake = || -> std::io::Result<[u8; 4]> {
        let mut stream = std::net::TcpStream::connect(&address)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        stream.write_all(&[0x60, 0x60, 0xB0, 0x17, 0, 7, 7, 5, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0])?;
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply)?;
        Ok(reply)
    };
    match handshake() {
        Ok([0, _, _, 5 | 4]) => url,
        other => panic!(
            "nothing speaks Bolt at {address} ({other:?}): these tests need {what} (scripts/test does), or set {variable}"
        ),
    }
}

/// The Python with the official clients (the virtualenv `scripts/falkordb` keeps).
pub fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let output = std::process::Command::new(package_dir().join("../../scripts/falkordb"))
                .arg("python")
                .output()
                .expect("scripts/falkordb python");
            assert!(output.status.success(), "scripts/falkordb python: {}", output_text(&output).1);
            String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
        })
        .clone()
}

/// Runs `tests/support/independent_reader.py` with `args`: its standard output, or the test
/// fails with its error.
pub fn independent_reader(args: &[&str]) -> String {
    let script = package_dir().join("tests/support/independent_reader.py");
    let output = std::process::Command::new(python()).arg(script).args(args).output().expect("start Python");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "independent_reader.py {:?} failed: {stderr}", &args[..1]);
    stdout
}

/// Every node labelled `label`, its properties typed as the official client sees them (see
/// the script), as JSON sorted by content.
pub fn read_back(url: &str, label: &str) -> serde_json::Value {
    serde_json::from_str(&independent_reader(&["dump", url, label])).expect("the reader prints JSON")
}

/// The integer `cypher` returns, read by the official client.
pub fn count_back(url: &str, cypher: &str) -> i64 {
    let text = independent_reader(&["count", url, cypher]);
    text.trim().parse().unwrap_or_else(|_| panic!("{cypher} returned {text:?}"))
}

/// How many [`SharedDatabase`] guards this process holds (a fresh graph may be asked for only
/// under one).
static HELD: AtomicUsize = AtomicUsize::new(0);

/// One test's hold on a shared database (see the module documentation); released on drop.
pub struct SharedDatabase {
    _file: File,
}

impl SharedDatabase {
    /// Waits until no other test (in any process on this machine) holds the database of
    /// `server`, then holds it.
    pub fn hold(server: &str) -> SharedDatabase {
        let address: String = server.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let path = lock_dir().join(format!("grafter-test-{}.lock", &address[address.len().saturating_sub(60)..]));
        let file = File::options().create(true).truncate(false).write(true).open(&path).expect("open the lock file");
        file.lock().expect("lock the shared database");
        HELD.fetch_add(1, Ordering::SeqCst);
        SharedDatabase { _file: file }
    }
}

impl Drop for SharedDatabase {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where the lock files live: the same directory for every checkout on this machine.
fn lock_dir() -> PathBuf {
    std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// `server`, emptied for the test that holds it: every node (with its relationships),
/// constraint and index go.
pub fn fresh_graph(server: &str) -> String {
    assert!(HELD.load(Ordering::SeqCst) > 0, "a shared database is emptied only under a SharedDatabase guard");
    independent_reader(&["wipe", server]);
    server.to_owned()
}
