//! A fresh MariaDB database per test (on the server every machine runs: 127.0.0.1:3306,
//! root without a password, the `mariadb` client installed). A missing server fails the
//! test: it never skips.

use std::process::{Command, Stdio};

use super::postgres::{chinook_script, database_name};

/// A fresh MariaDB database, dropped when the test ends.
pub struct Mariadb {
    /// The database name.
    pub name: String,
}

impl Mariadb {
    /// Creates the database.
    pub fn new() -> Mariadb {
        let name = database_name("my");
        Mariadb::client("test", &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"));
        Mariadb { name }
    }

    /// Its URL (root has no password here).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }

    /// Runs SQL (or a script on stdin) with the `mariadb` client; panics with its output when
    /// it fails (or is not there).
    pub fn client_with_input(database: &str, sql: Option<&str>, input: Option<&str>) -> String {
        let mut command = Command::new("mariadb");
        command.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--default-character-set=utf8mb4", "--batch"]);
        command.args(["--skip-column-names", "-D", database]);
        if let Some(sql) = sql {
            command.args(["-e", sql]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the mariadb client is installed (MariaDB is part of every machine)");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(input) = input {
            std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write script");
        }
        drop(stdin);
        let output = child.wait_with_output().expect("mariadb");
        assert!(
            output.status.success(),
            "mariadb failed — is MariaDB running on 127.0.0.1:3306? {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs SQL in `database`.
    pub fn client(database: &str, sql: &str) -> String {
        Mariadb::client_with_input(database, Some(sql), None)
    }

    /// Runs SQL in this database.
    pub fn sql(&self, sql: &str) -> String {
        Mariadb::client(&self.name, sql)
    }

    /// The number one SQL query returns.
    pub fn count(&self, sql: &str) -> i64 {
        self.sql(sql).trim().parse().unwrap_or_else(|_| panic!("a number from {sql}"))
    }

    /// Loads the Chinook database (its MySQL script).
    pub fn load_chinook(&self) {
        // The script makes its own `Chinook` database; load it into this one instead.
        let script = chinook_script("Chinook_MySql.sql")
            .replace("DROP DATABASE IF EXISTS `Chinook`;", "")
            .replace("CREATE DATABASE `Chinook`;", "")
            .replace("USE `Chinook`;", "");
        Mariadb::client_with_input(&self.name, None, Some(&script));
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.name))
            .output();
    }
}
