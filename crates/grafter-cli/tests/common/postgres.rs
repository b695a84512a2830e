//! A fresh PostgreSQL database per test (on the server every machine runs: 127.0.0.1:5432,
//! trust, `psql` installed), loaded with Chinook when a test needs it. A missing server
//! fails the test: it never skips.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const CHINOOK: &str = "../../../shared/datasets/chinook";

/// A unique database name for this test process.
pub fn database_name(server: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("grafter_e2e_{server}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// The Chinook script `name` (from `../shared`).
pub fn chinook_script(name: &str) -> String {
    let path = super::package_dir().join(CHINOOK).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the Chinook script {} is needed: {e}", path.display()))
}

/// A fresh PostgreSQL database, dropped when the test ends.
pub struct Postgres {
    /// The database name.
    pub name: String,
}

impl Postgres {
    /// Creates the database.
    pub fn new() -> Postgres {
        let name = database_name("pg");
        Postgres::psql("test", &format!("CREATE DATABASE {name}"));
        Postgres { name }
    }

    /// Its URL (no password: the server trusts local connections).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Runs SQL with psql; panics with psql's output when it fails (or is not there).
    pub fn psql(database: &str, sql: &str) -> String {
        let output = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql])
            .output()
            .expect("psql is installed (PostgreSQL is part of every machine)");
        assert!(
            output.status.success(),
            "psql failed — is PostgreSQL running on 127.0.0.1:5432? {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs SQL in this database.
    pub fn sql(&self, sql: &str) -> String {
        Postgres::psql(&self.name, sql)
    }

    /// The number one SQL query returns.
    pub fn count(&self, sql: &str) -> i64 {
        self.sql(sql).trim().parse().unwrap_or_else(|_| panic!("a number from {sql}"))
    }

    /// Loads the Chinook database (its PostgreSQL script).
    pub fn load_chinook(&self) {
        let script = chinook_script("Chinook_PostgreSql.sql");
        let body = script
            .lines()
            .filter(|line| {
                let l = line.trim();
                !(l.starts_with("DROP DATABASE") || l.starts_with("CREATE DATABASE") || l.starts_with("\\c"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), body).expect("write script");
        let output = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &self.name, "-v", "ON_ERROR_STOP=1", "-q", "-f"])
            .arg(file.path())
            .stdout(Stdio::null())
            .output()
            .expect("psql");
        assert!(output.status.success(), "loading Chinook failed: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}
