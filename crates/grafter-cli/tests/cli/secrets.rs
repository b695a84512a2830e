//! Passwords never show: not in `plan` (text and JSON), run and verify summaries, the run
//! record (`history --format json`), the HTML report, an export's `manifest.json`, the config
//! `init` writes, nor in any error — a server that is down, a refused login, a target URL that cannot work.
//!
//! Every surface is checked against a table of passwords that break naive URL handling: `/`,
//! `#`, `?` and `@` unescaped, percent-encoded ones, non-ASCII, and a common word. Each is
//! written into the URL as it is (literally in grafter.toml, or through `${VAR}`); the
//! PostgreSQL and MariaDB users the tests create have exactly that password.
//!
//! The test services' PostgreSQL trusts local connections, so it takes any password: a refused
//! PostgreSQL login is shown with a user that does not exist. MariaDB checks passwords, so the
//! right one must arrive whole for a run to load, and a wrong one is refused.

use crate::common;

use common::mariadb::Mariadb;
use common::postgres::Postgres;
use common::{Project, output_text};

/// A password as written in a URL, and as the server knows it.
struct Secret {
    written: &'static str,
    server: &'static str,
    /// A word that appears in output anyway (`postgres` is also the scheme): only the URL's
    /// `:PASSWORD@` form must not.
    common_word: bool,
}

const fn secret(written: &'static str, server: &'static str) -> Secret {
    Secret { written, server, common_word: false }
}

const SECRETS: &[Secret] = &[
    secret("p/ss", "p/ss"),
    secret("p#ss", "p#ss"),
    secret("p?ss", "p?ss"),
    secret("p@ss", "p@ss"),
    secret("a@b/c#d?e", "a@b/c#d?e"),
    secret("%2F%40", "/@"),
    secret("pässwörd✓", "pässwörd✓"),
    Secret { written: "postgres", server: "postgres", common_word: true },
];

impl Secret {
    /// Fails when `text` (what `surface` showed) holds the password in any form.
    fn assert_hidden(&self, surface: &str, text: &str) {
        let shown = if self.common_word {
            text.contains(&format!(":{}@", self.written))
        } else {
            text.contains(self.written) || text.contains(self.server)
        };
        assert!(!shown, "{surface} shows the password {:?}:\n{text}", self.written);
    }
}

/// The `host:port` of a test server's admin URL (whose password, if any, is plain).
fn address(admin_url: &str) -> String {
    let rest = admin_url.split_once("://").map_or(admin_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, address)| address).to_owned()
}

/// A name unique to this test process.
fn unique(what: &str, index: usize) -> String {
    format!("grafter_secret_{what}_{}_{index}", std::process::id())
}

/// `grafter <args>` in `project` with `GRAFTER_TEST_SECRET` set; exit code, stdout, stderr.
fn grafter(project: &Project, secret: &Secret, args: &[&str]) -> (Option<i32>, String, String) {
    let output = project.grafter().env("GRAFTER_TEST_SECRET", secret.written).args(args).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    (output.status.code(), stdout, stderr)
}

/// `grafter <args>`, which must succeed, with stdout and stderr checked for the password;
/// returns stdout.
fn succeeds(project: &Project, secret: &Secret, args: &[&str]) -> String {
    let (code, stdout, stderr) = grafter(project, secret, args);
    assert_eq!(code, Some(0), "grafter {args:?} with password {:?}:\n{stdout}\n{stderr}", secret.written);
    secret.assert_hidden(&format!("grafter {args:?} (stdout)"), &stdout);
    secret.assert_hidden(&format!("grafter {args:?} (stderr)"), &stderr);
    stdout
}

/// `grafter <args>`, which must fail with `code`, its error checked for the password;
/// returns stderr.
fn fails(project: &Project, secret: &Secret, args: &[&str], code: i32) -> String {
    let (exit, stdout, stderr) = grafter(project, secret, args);
    assert_eq!(exit, Some(code), "grafter {args:?} with password {:?}:\n{stdout}\n{stderr}", secret.written);
    secret.assert_hidden(&format!("grafter {args:?} (stdout)"), &stdout);
    secret.assert_hidden(&format!("grafter {args:?} (stderr)"), &stderr);
    stderr
}

/// A PostgreSQL login role with `password`, dropped at the end.
struct Role {
    name: String,
    database: String,
}

impl Role {
    fn new(name: String, password: &str, database: &str) -> Role {
        Postgres::psql(None, &format!("CREATE ROLE {name} LOGIN PASSWORD '{}'", password.replace('\'', "''")));
        Postgres::psql(Some(database), &format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}"));
        Role { name, database: database.to_owned() }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        // Its grants live in the test database: drop them there, then the role.
        let _ = Postgres::command(Some(&self.database)).arg("-qc").arg(format!("DROP OWNED BY {}", self.name)).output();
        let _ = Postgres::command(None).arg("-qc").arg(format!("DROP ROLE IF EXISTS {}", self.name)).output();
    }
}

/// A config reading `people` from `source_url`.
fn config(source_url: &str) -> String {
    format!("[source]\nurl = \"{source_url}\"\n\n[[nodes]]\nlabel = \"Person\"\ntable = \"people\"\nkey = \"id\"\n")
}

#[test]
fn awkward_passwords_never_show_in_plan_run_verify_history_report_or_archive() {
    let database = Postgres::new();
    database.sql(
        "CREATE TABLE people (id integer PRIMARY KEY, name text); INSERT INTO people VALUES (1, 'Ann'), (2, 'Bob')",
    );
    let address = address(&common::postgres::admin_url());
    for (index, secret) in SECRETS.iter().enumerate() {
        let role = Role::new(unique("pg", index), secret.server, &database.name);
        let project = Project::new();
        // Half of them written into the file, half through the environment.
        let password = if index % 2 == 0 { secret.written } else { "${GRAFTER_TEST_SECRET}" };
        project
            .write("grafter.toml", config(&format!("postgres://{}:{password}@{address}/{}", role.name, database.name)));
        let redacted = format!("postgres://{}:***@{address}/{}", role.name, database.name);

        let plan = succeeds(&project, secret, &["plan"]);
        assert!(plan.contains(&redacted), "{plan}");
        let plan_json = succeeds(&project, secret, &["plan", "--format", "json"]);
        assert!(plan_json.contains(&redacted), "{plan_json}");
        succeeds(&project, secret, &["run", "--dry-run"]);
        let run = succeeds(&project, secret, &["run"]);
        assert!(run.contains("completed"), "{run}");
        let verify = succeeds(&project, secret, &["verify", "--html", "report.html"]);
        assert!(verify.contains(&redacted), "{verify}");
        let report = std::fs::read_to_string(project.file("report.html")).unwrap();
        secret.assert_hidden("the HTML report", &report);
        assert!(report.contains(&format!("{}:***@", role.name)), "the report names the source");
        let history = succeeds(&project, secret, &["history", "--format", "json"]);
        assert!(history.contains(&redacted), "{history}");
        succeeds(&project, secret, &["export", "-o", "people.tar.zst"]);
        let manifest = archive_manifest(&project.file("people.tar.zst"));
        secret.assert_hidden("the archive's manifest.json", &manifest);
        assert!(manifest.contains(&redacted), "{manifest}");

        // `init` writes the password as a variable reference, never as itself.
        let started = Project::new();
        let url = format!("postgres://{}:{}@{address}/{}", role.name, secret.written, database.name);
        succeeds(&started, secret, &["init", "--from", &url]);
        let written = std::fs::read_to_string(started.file("grafter.toml")).unwrap();
        secret.assert_hidden("the grafter.toml init wrote", &written);
        assert!(written.contains(&format!("{}:${{GRAFTER_SOURCE_PASSWORD}}@", role.name)), "{written}");
    }
}

/// The text of `manifest.json` in a zstd tar archive.
fn archive_manifest(archive: &std::path::Path) -> String {
    use std::io::Read as _;
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(archive).unwrap()).unwrap();
    let mut tar = tar::Archive::new(decoder);
    let mut entry = tar
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|entry| entry.path().unwrap().to_string_lossy() == "manifest.json")
        .expect("the archive has a manifest");
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    text
}

/// A MariaDB user with `password`, dropped at the end.
struct MariadbUser {
    name: String,
}

impl MariadbUser {
    fn new(name: String, password: &str, database: &str) -> MariadbUser {
        let password = password.replace('\\', "\\\\").replace('\'', "\\'");
        Mariadb::client(None, &format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"));
        Mariadb::client(None, &format!("GRANT SELECT ON `{database}`.* TO '{name}'@'%'"));
        MariadbUser { name }
    }
}

impl Drop for MariadbUser {
    fn drop(&mut self) {
        let _ = Mariadb::command(None).arg("-e").arg(format!("DROP USER IF EXISTS '{}'@'%'", self.name)).output();
    }
}

#[test]
fn awkward_passwords_reach_mariadb_whole_and_a_wrong_one_is_refused_without_showing_it() {
    let database = Mariadb::new();
    database
        .sql("CREATE TABLE people (id int PRIMARY KEY, name text); INSERT INTO people VALUES (1, 'Ann'), (2, 'Bob')");
    let address = address(&common::mariadb::admin_url());
    for (index, secret) in SECRETS.iter().enumerate() {
        let user = MariadbUser::new(unique("my", index), secret.server, &database.name);
        let project = Project::new();
        project.write(
            "grafter.toml",
            config(&format!("mariadb://{}:${{GRAFTER_TEST_SECRET}}@{address}/{}", user.name, database.name)),
        );
        let plan = succeeds(&project, secret, &["plan"]);
        assert!(plan.contains(&format!("mariadb://{}:***@{address}/", user.name)), "{plan}");
        let run = succeeds(&project, secret, &["run"]);
        assert!(run.contains("completed"), "the password reached MariaDB whole: {run}");

        // The same password, but not the user's.
        let other = MariadbUser::new(unique("my_other", index), "another password", &database.name);
        project.write(
            "grafter.toml",
            config(&format!("mariadb://{}:${{GRAFTER_TEST_SECRET}}@{address}/{}", other.name, database.name)),
        );
        let refused = fails(&project, secret, &["run"], 3);
        assert!(refused.contains("access denied") && refused.contains(&format!("{}:***@", other.name)), "{refused}");
    }
}

#[test]
fn connection_errors_never_show_an_awkward_password() {
    let database = Postgres::new();
    let address = address(&common::postgres::admin_url());
    for (index, secret) in SECRETS.iter().enumerate() {
        let project = Project::new();
        let expect = |url: &str, needle: &str| {
            project.write("grafter.toml", config(url));
            let error = fails(&project, secret, &["plan"], 3);
            assert!(error.contains(needle), "{url}: {error}");
        };
        let password = "${GRAFTER_TEST_SECRET}";
        // A server that is down.
        expect(&format!("postgres://app:{password}@127.0.0.1:1/shop"), "cannot reach the PostgreSQL server");
        expect(&format!("mysql://app:{password}@127.0.0.1:1/shop"), "cannot connect to 127.0.0.1:1");
        // A login the real server refuses.
        let nobody = unique("nobody", index);
        expect(&format!("postgres://{nobody}:{password}@{address}/{}", database.name), "does not exist");
        // Targets that are down.
        common::sqlite(&project.file("people.sqlite"))
            .execute_batch("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
            .unwrap();
        for target in
            [format!("falkordb://app:{password}@127.0.0.1:1/shop"), format!("bolt://app:{password}@127.0.0.1:1")]
        {
            project
                .write("grafter.toml", format!("{}\n[target]\nurl = \"{target}\"\n", config("sqlite:people.sqlite")));
            let error = fails(&project, secret, &["run"], 3);
            assert!(error.contains("app:***@127.0.0.1:1"), "{target}: {error}");
        }
    }
}

#[test]
fn target_urls_that_cannot_work_never_show_an_awkward_password() {
    for secret in SECRETS {
        let project = Project::new();
        common::sqlite(&project.file("people.sqlite"))
            .execute_batch("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
            .unwrap();
        let password = "${GRAFTER_TEST_SECRET}";
        for (target, needle) in [
            (format!("falkordb://app:{password}@127.0.0.1:6380"), "it names no graph"),
            (format!("falkordb://app:{password}@127.0.0.1:6380/"), "the graph name is empty"),
            (format!("falkordb://localhost/shop?password={password}"), "unknown option `password`"),
            (format!("bolt://app:{password}@127.0.0.1:7687/neo4j"), "a Bolt URL has no path"),
            (format!("bolt://localhost?password={password}"), "`password` is no URL parameter"),
            (format!("neo4j://localhost?region=eu&password={password}"), "`password` is no URL parameter"),
        ] {
            project
                .write("grafter.toml", format!("{}\n[target]\nurl = \"{target}\"\n", config("sqlite:people.sqlite")));
            let error = fails(&project, secret, &["plan"], 2);
            assert!(error.contains(needle), "{target}: {error}");
        }
    }
}
