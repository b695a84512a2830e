//! A fresh PostgreSQL database per test, loaded with Chinook when a test needs it. The server
//! is `GRAFTER_TEST_POSTGRES_URL` (`scripts/services start` prints it; by default
//! `postgres://postgres@127.0.0.1:5432/test`, trust authentication), reached with `psql`. A
//! missing server fails the test: it never skips.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A unique database name for this test process.
pub fn database_name(server: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("grafter_e2e_{server}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// The Chinook script `name` (from the repository's `tests/data/chinook`).
pub fn chinook_script(name: &str) -> String {
    let path = super::chinook_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the Chinook script {} is needed: {e}", path.display()))
}

/// The server's URL, naming the database the tests administer from (`test`).
pub fn admin_url() -> String {
    std::env::var("GRAFTER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its path (the database) replaced by `database`, its query kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (url, query) = url.split_once('?').map_or((url, None), |(url, query)| (url, Some(query)));
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let base = match url[authority_start..].find('/') {
        Some(slash) => &url[..authority_start + slash],
        None => url,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
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
        Postgres::psql(None, &format!("CREATE DATABASE {name}"));
        Postgres { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        with_database(&admin_url(), &self.name)
    }

    /// `psql` connected to `database` (the admin database when `None`), stopping at the
    /// first error, without the user's psqlrc.
    pub fn command(database: Option<&str>) -> Command {
        let url = match database {
            Some(database) => with_database(&admin_url(), database),
            None => admin_url(),
        };
        let mut command = Command::new("psql");
        command.arg(url).args(["-X", "-v", "ON_ERROR_STOP=1"]);
        command
    }

    /// Runs SQL with psql; panics with psql's output when it fails (or is not there).
    pub fn psql(database: Option<&str>, sql: &str) -> String {
        let output = Postgres::command(database)
            .args(["-tAq", "-c", sql])
            .output()
            .expect("psql is installed (scripts/services start installs it)");
        assert!(
            output.status.success(),
            "psql failed — does PostgreSQL answer at {} (scripts/services start)? {}",
            grafter_model::redact_url(&admin_url()),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs SQL in this database.
    pub fn sql(&self, sql: &str) -> String {
        Postgres::psql(Some(&self.name), sql)
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
        let output = Postgres::command(Some(&self.name))
            .args(["-q", "-f"])
            .arg(file.path())
            .stdout(Stdio::null())
            .output()
            .expect("psql");
        assert!(output.status.success(), "loading Chinook failed: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Postgres::command(None)
            .arg("-qc")
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}
