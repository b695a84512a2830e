//! A fresh MariaDB database per test. The server is `GRAFTER_TEST_MYSQL_URL`
//! (`scripts/services start` prints it; by default `mysql://root@127.0.0.1:3306/test`),
//! reached with the `mariadb` client. A missing server fails the test: it never skips.

use std::process::{Command, Stdio};

use super::postgres::{chinook_script, database_name, with_database};

/// The server's URL, naming the database the tests administer from (`test`).
pub fn admin_url() -> String {
    std::env::var("GRAFTER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// `%XX` escapes of a URL's user or password decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A fresh MariaDB database, dropped when the test ends.
pub struct Mariadb {
    /// The database name.
    pub name: String,
}

impl Mariadb {
    /// Creates the database.
    pub fn new() -> Mariadb {
        let name = database_name("my");
        Mariadb::client(None, &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"));
        Mariadb { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        with_database(&admin_url(), &self.name)
    }

    /// The `mariadb` client connected over TCP to `database` (the admin database when
    /// `None`), in batch mode without column names; the password travels in the
    /// environment, not on the command line.
    pub fn command(database: Option<&str>) -> Command {
        let url = admin_url();
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let (user_info, host_port) = authority.rsplit_once('@').unwrap_or(("root", authority));
        let (user, password) = user_info.split_once(':').map_or((user_info, None), |(u, p)| (u, Some(p)));
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => (host, port),
            _ => (host_port, "3306"),
        };
        let admin_database = rest.split_once('/').map(|(_, path)| path.split('?').next().unwrap_or(""));
        let database = database.or(admin_database).unwrap_or("test");
        let mut command = Command::new("mariadb");
        command
            .args(["--protocol=TCP", "-h", host.trim_matches(['[', ']']), "-P", port, "-u"])
            .arg(percent_decoded(user))
            .args(["--default-character-set=utf8mb4", "--batch", "--skip-column-names", "-D", database]);
        if let Some(password) = password {
            command.env("MYSQL_PWD", percent_decoded(password));
        }
        command
    }

    /// Runs SQL (or a script on stdin) with the `mariadb` client; panics with its output when
    /// it fails (or is not there).
    pub fn client_with_input(database: Option<&str>, sql: Option<&str>, input: Option<&str>) -> String {
        let mut command = Mariadb::command(database);
        if let Some(sql) = sql {
            command.args(["-e", sql]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the mariadb client is installed (scripts/services start installs it)");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(input) = input {
            std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write script");
        }
        drop(stdin);
        let output = child.wait_with_output().expect("mariadb");
        assert!(
            output.status.success(),
            "mariadb failed — does MariaDB answer at {} (scripts/services start)? {}",
            grafter_model::redact_url(&admin_url()),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs SQL in `database` (the admin database when `None`).
    pub fn client(database: Option<&str>, sql: &str) -> String {
        Mariadb::client_with_input(database, Some(sql), None)
    }

    /// Runs SQL in this database.
    pub fn sql(&self, sql: &str) -> String {
        Mariadb::client(Some(&self.name), sql)
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
        Mariadb::client_with_input(Some(&self.name), None, Some(&script));
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = Mariadb::command(None).arg("-e").arg(format!("DROP DATABASE IF EXISTS {}", self.name)).output();
    }
}
