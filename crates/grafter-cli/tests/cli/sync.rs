//! `grafter sync` end to end, against the PostgreSQL and MariaDB every machine runs (and a
//! SQLite file): a load, then writers changing the source while sync follows, a sync
//! killed with SIGKILL mid-pass and started again, and at the end a verification that
//! finds nothing different and figures that prove no change was applied twice or missed.
//!
//! The shop: `country` and `customer` are followed by a cursor column (`updated_at`, kept
//! by the database on every write), customers are soft-deleted (`deleted_at`), `orders` is
//! followed through a change-log table written by triggers (hard deletes included).
//! Customers live in countries (`LIVES_IN`, anchored at the customer) and place orders
//! (`PLACED`, anchored at the order).
//!
//! The scenarios run on every target that syncs: the embedded store, FalkorDB, Neo4j and
//! ArcadeDB (modules `embedded::`, `falkordb::`, `neo4j::`, `arcadedb::`; some also through
//! `neo4j://`), where on the Bolt servers the official Python driver reads the result back
//! too. On the servers, a sync whose lock was broken and taken over writes nothing more (the
//! server refuses it); on Neo4j and ArcadeDB, connections cut at COMMIT by a proxy neither
//! lose nor repeat a batch. FalkorDB's Bolt port refuses sync, saying what to use instead.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common;

use common::bolt_servers::{
    arcadedb_server, count_back, neo4j_2026_server, neo4j_routed_server, neo4j_server, read_back,
};
use common::mariadb::Mariadb;
use common::postgres::Postgres;
use common::{Project, Target, falkordb_serial, output_text};

/// A database server the shop lives on.
enum Server {
    Pg(Postgres),
    My(Mariadb),
}

impl Server {
    fn url(&self) -> String {
        match self {
            Server::Pg(db) => db.url(),
            Server::My(db) => db.url(),
        }
    }

    /// Runs SQL statements (a script).
    fn sql(&self, sql: &str) -> String {
        let mut child = self.script(sql);
        let output = child_output(&mut child);
        assert!(output.status.success(), "SQL failed: {}\n{sql}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn count(&self, sql: &str) -> i64 {
        match self {
            Server::Pg(db) => db.count(sql),
            Server::My(db) => db.count(sql),
        }
    }

    /// Starts a client process running `script` (a concurrent writer).
    fn script(&self, script: &str) -> Child {
        let mut command = match self {
            Server::Pg(db) => {
                let mut command = Postgres::command(Some(&db.name));
                command.args(["-q", "-tA"]);
                command
            }
            Server::My(db) => Mariadb::command(Some(&db.name)),
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the SQL client is installed (PostgreSQL and MariaDB are part of every machine)");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(script.as_bytes()).expect("write the script");
        drop(stdin);
        child
    }

    /// The customers not deleted, as the official driver reads their nodes back (see
    /// `tests/support/independent_reader.py`): `id`, `name` and `email` typed, NULL left out.
    fn live_customers(&self) -> Vec<Json> {
        let object = match self {
            Server::Pg(_) => "json_build_object('id', id, 'name', name, 'email', email)",
            Server::My(_) => "JSON_OBJECT('id', id, 'name', name, 'email', email)",
        };
        let text = self.sql(&format!("SELECT {object} FROM customer WHERE deleted_at IS NULL;"));
        let rows = text.lines().filter(|line| !line.trim().is_empty()).map(|line| {
            let row: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let mut node = serde_json::Map::new();
            node.insert("id".into(), serde_json::json!(["int", row["id"].to_string()]));
            for column in ["name", "email"] {
                if let Some(text) = row[column].as_str() {
                    node.insert(column.into(), serde_json::json!(["str", text]));
                }
            }
            Json::Object(node)
        });
        sorted(Json::Array(rows.collect()))
    }

    fn sleep(&self, seconds: f64) -> String {
        match self {
            Server::Pg(_) => format!("SELECT pg_sleep({seconds});\n"),
            Server::My(_) => format!("DO SLEEP({seconds});\n"),
        }
    }

    fn begin(&self) -> &'static str {
        match self {
            Server::Pg(_) => "BEGIN;\n",
            Server::My(_) => "START TRANSACTION;\n",
        }
    }

    fn now(&self) -> &'static str {
        match self {
            Server::Pg(_) => "now()",
            Server::My(_) => "CURRENT_TIMESTAMP(6)",
        }
    }

    /// The shop's tables, the triggers that keep `updated_at` and the change log, and its
    /// first rows: 5 countries, 200 customers, 500 orders.
    fn create_shop(&self) {
        let schema = match self {
            Server::Pg(_) => {
                r"
CREATE TABLE country (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, email text, country_id int,
  updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL);
CREATE TABLE change_log (id bigserial PRIMARY KEY, table_name text NOT NULL, operation text NOT NULL,
  record_key text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now());
-- now() is when the transaction began: a transaction that commits late writes an old time.
CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER country_touch BEFORE UPDATE ON country FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER customer_touch BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION log_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO change_log (table_name, operation, record_key) VALUES (TG_TABLE_NAME, TG_OP, OLD.id::text);
    RETURN OLD;
  END IF;
  INSERT INTO change_log (table_name, operation, record_key) VALUES (TG_TABLE_NAME, TG_OP, NEW.id::text);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER orders_log AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION log_change();
"
            }
            Server::My(_) => {
                r"
CREATE TABLE country (id INT PRIMARY KEY, name VARCHAR(60) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
CREATE TABLE customer (id INT PRIMARY KEY, name VARCHAR(200) NOT NULL, email VARCHAR(100), country_id INT,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), deleted_at DATETIME(6) NULL);
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL);
CREATE TABLE change_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, table_name VARCHAR(64) NOT NULL,
  operation VARCHAR(6) NOT NULL, record_key VARCHAR(100) NOT NULL,
  changed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
CREATE TRIGGER orders_ins AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO change_log (table_name, operation, record_key) VALUES ('orders', 'INSERT', NEW.id);
CREATE TRIGGER orders_upd AFTER UPDATE ON orders FOR EACH ROW
  INSERT INTO change_log (table_name, operation, record_key) VALUES ('orders', 'UPDATE', NEW.id);
CREATE TRIGGER orders_del AFTER DELETE ON orders FOR EACH ROW
  INSERT INTO change_log (table_name, operation, record_key) VALUES ('orders', 'DELETE', OLD.id);
"
            }
        };
        self.sql(schema);
        let mut rows = String::new();
        for id in 1..=5 {
            rows.push_str(&format!("INSERT INTO country (id, name) VALUES ({id}, 'country {id}');\n"));
        }
        for id in 1..=200 {
            rows.push_str(&format!(
                "INSERT INTO customer (id, name, email, country_id) VALUES ({id}, 'customer {id}', 'c{id}@shop', {});\n",
                1 + id % 5
            ));
        }
        for id in 1..=500 {
            rows.push_str(&format!(
                "INSERT INTO orders (id, customer_id, total) VALUES ({id}, {}, {}.50);\n",
                1 + id % 200,
                id % 97
            ));
        }
        self.sql(&rows);
    }
}

/// Where the official driver reads what a Bolt server holds (`None`: not a Bolt server it
/// reads; FalkorDB's Bolt port refuses sync).
fn reader_url(target: Target) -> Option<String> {
    match target {
        Target::Neo4j => Some(neo4j_server()),
        Target::Neo4jRouted => Some(neo4j_routed_server()),
        Target::Neo4j2026 => Some(neo4j_2026_server()),
        Target::ArcadeDb => Some(arcadedb_server()),
        Target::Embedded | Target::FalkorDb | Target::Bolt => None,
    }
}

/// The items of a JSON array (objects), in the order of their text with keys sorted.
fn sorted(array: Json) -> Vec<Json> {
    let mut items = array.as_array().cloned().unwrap_or_else(|| panic!("an array: {array}"));
    items.sort_by_cached_key(|item| {
        let fields: std::collections::BTreeMap<&String, &Json> = item.as_object().into_iter().flatten().collect();
        serde_json::to_string(&fields).expect("JSON")
    });
    items
}

/// The integer `cypher` returns, read by grafter and, on a Bolt server, by the official
/// driver too (which must agree).
fn graph_count(project: &Project, target: Target, cypher: &str) -> i64 {
    let n = project.query_int(cypher);
    if let Some(url) = reader_url(target) {
        assert_eq!(count_back(&url, cypher), n, "the official driver reads {cypher} as grafter does");
    }
    n
}

fn child_output(child: &mut Child) -> Output {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_end(&mut out, &mut stdout).expect("read stdout");
    }
    if let Some(mut err) = child.stderr.take() {
        std::io::Read::read_to_end(&mut err, &mut stderr).expect("read stderr");
    }
    let status = child.wait().expect("wait");
    Output { status, stdout, stderr }
}

/// The shop's grafter.toml for `url`, loading into `target`.
fn shop_config(url: &str, sync: &str, target: Target) -> String {
    format!(
        r#"{target}[source]
url = "{url}"

[sync]
{sync}

[[nodes]]
label = "Country"
table = "country"
key = "id"
exclude = ["updated_at"]
cursor = "updated_at"

[[nodes]]
label = "Customer"
table = "customer"
key = "id"
exclude = ["updated_at", "deleted_at", "country_id"]
cursor = "updated_at"
soft_delete = "deleted_at"

[[nodes]]
label = "Order"
table = "orders"
key = "id"
exclude = ["customer_id"]
change_log = "change_log"

[[relationships]]
name = "lives_in"
type = "LIVES_IN"
table = "customer"
start = {{ label = "Customer", key = "id" }}
end = {{ label = "Country", key = "country_id" }}
cursor = "updated_at"
soft_delete = "deleted_at"

[[relationships]]
name = "placed"
type = "PLACED"
table = "orders"
start = {{ label = "Customer", key = "customer_id" }}
end = {{ label = "Order", key = "id" }}
change_log = "change_log"
"#,
        target = target.section("sync").trim_start()
    )
}

/// What the writers did, to hold the sync's figures against.
#[derive(Default)]
struct Written {
    customers_inserted: u64,
    customers_soft_deleted: BTreeSet<u64>,
    orders_inserted: u64,
    orders_deleted: BTreeSet<u64>,
}

/// A small deterministic generator, so every run of the test writes the same changes.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Two writers' scripts: customers (inserts, renames, moves, soft deletes, bursts of
/// updates in one statement — one timestamp for dozens of rows) and orders (inserts,
/// updates, hard deletes, reassignments, and transactions that commit seconds after they
/// wrote, with old timestamps).
fn writer_scripts(server: &Server, operations: u64) -> (String, String, Written) {
    let mut random = Lcg(7);
    let mut written = Written::default();
    let mut customers = String::new();
    let mut orders = String::new();
    for i in 0..operations {
        let new_customer = 1000 + i;
        customers.push_str(&format!(
            "INSERT INTO customer (id, name, email, country_id) VALUES ({new_customer}, 'new {i}', 'n{i}@shop', {});\n",
            1 + random.below(5)
        ));
        written.customers_inserted += 1;
        customers.push_str(&format!(
            "UPDATE customer SET name = concat(name, ' r{i}') WHERE id = {};\n",
            1 + random.below(200)
        ));
        if i % 7 == 3 {
            customers.push_str(&format!(
                "UPDATE customer SET country_id = {} WHERE id = {};\n",
                1 + random.below(5),
                1 + random.below(200)
            ));
        }
        if i % 10 == 5 {
            let gone = 1 + random.below(200);
            customers.push_str(&format!(
                "UPDATE customer SET deleted_at = {} WHERE id = {gone} AND deleted_at IS NULL;\n",
                server.now()
            ));
            written.customers_soft_deleted.insert(gone);
        }
        if i % 25 == 12 {
            let from = 1 + random.below(170);
            customers.push_str(&format!(
                "UPDATE customer SET name = concat(name, '!') WHERE id BETWEEN {from} AND {};\n",
                from + 30
            ));
        }
        if i % 40 == 20 {
            customers.push_str(&format!(
                "UPDATE country SET name = concat(name, '.') WHERE id = {};\n",
                1 + random.below(5)
            ));
        }
        customers.push_str(&server.sleep(0.02));

        let new_order = 1000 + i;
        // Some orders are for customers the other writer has only just added (or is about
        // to add): their relationship waits for the customer's node.
        let buyer = if i % 3 == 0 { 1000 + i / 2 } else { 1 + random.below(200) };
        orders.push_str(&format!(
            "INSERT INTO orders (id, customer_id, total) VALUES ({new_order}, {buyer}, {}.25);\n",
            i % 50
        ));
        written.orders_inserted += 1;
        orders.push_str(&format!("UPDATE orders SET total = total + 1 WHERE id = {};\n", 1 + random.below(500)));
        if i % 6 == 2 {
            let gone = 1 + random.below(500);
            orders.push_str(&format!("DELETE FROM orders WHERE id = {gone};\n"));
            written.orders_deleted.insert(gone);
        }
        if i % 9 == 4 {
            orders.push_str(&format!(
                "UPDATE orders SET customer_id = {} WHERE id = {};\n",
                1 + random.below(200),
                1 + random.below(500)
            ));
        }
        if i % 30 == 15 {
            // Written now, committed 1.5 s later: its rows carry a time older than rows
            // other transactions commit meanwhile.
            orders.push_str(server.begin());
            orders.push_str(&format!("UPDATE orders SET total = total + 100 WHERE id = {};\n", 1 + random.below(500)));
            orders.push_str(&format!(
                "UPDATE customer SET email = 'late{i}@shop' WHERE id = {};\n",
                1 + random.below(200)
            ));
            orders.push_str(&server.sleep(1.5));
            orders.push_str("COMMIT;\n");
        }
        orders.push_str(&server.sleep(0.02));
    }
    (customers, orders, written)
}

/// Starts `grafter sync` with `args` in the project.
fn spawn_sync(project: &Project, args: &[&str], kill_at: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grafter"));
    command
        .current_dir(project.path())
        .args(["sync", "-q"])
        .args(args)
        .env_remove("GRAFTER_CONFIG")
        .env_remove("GRAFTER_KILL_AT")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = kill_at {
        command.env("GRAFTER_KILL_AT", point);
    }
    command.spawn().expect("start grafter sync")
}

/// Waits for a child at most `limit`; kills it and fails when it takes longer.
fn wait_at_most(child: &mut Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child_output(child);
            panic!("{what} did not end within {limit:?}:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child_output(child)
}

fn interrupt(child: &Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

/// `grafter sync --format json` (one pass); its summary.
fn sync_json(project: &Project) -> Json {
    let output = project.grafter().args(["sync", "-q", "--format", "json"]).output().expect("grafter sync");
    assert!(output.status.success(), "grafter sync failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON summary")
}

fn mapping<'a>(summary: &'a Json, name: &str) -> &'a Json {
    summary["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .find(|m| m["mapping"] == name)
        .unwrap_or_else(|| panic!("no mapping {name} in {summary}"))
}

/// The whole story on one server: load, writers and sync side by side, sync killed with
/// SIGKILL mid-pass and started again, caught up, verified, counted.
fn sync_follows_concurrent_writers_through_a_crash(server: &Server, target: Target) {
    server.create_shop();
    let project = Project::new();
    project.write("grafter.toml", shop_config(&server.url(), "overlap = \"5s\"\ninterval = \"200ms\"", target));
    project.grafter().args(["run", "-q"]).assert().success();

    let (customers, orders, written) = writer_scripts(server, 150);
    let mut writers = [server.script(&customers), server.script(&orders)];

    // The first follower dies by SIGKILL inside its 12th batch, before the commit.
    let mut first = spawn_sync(&project, &["--follow", "--interval", "200ms"], Some("before-commit:12"));
    let killed = wait_at_most(&mut first, Duration::from_secs(60), "the first sync");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed.status),
        Some(9),
        "killed: {}",
        String::from_utf8_lossy(&killed.stderr)
    );

    let mut second = spawn_sync(&project, &["--follow", "--interval", "200ms"], None);
    for writer in &mut writers {
        let output = wait_at_most(writer, Duration::from_secs(120), "a writer");
        assert!(output.status.success(), "writer failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    std::thread::sleep(Duration::from_millis(800));
    interrupt(&second);
    let followed = wait_at_most(&mut second, Duration::from_secs(60), "the following sync");
    let log = String::from_utf8_lossy(&followed.stderr);
    assert_eq!(followed.status.code(), Some(130), "Ctrl-C stops a follower after a batch: {log}");
    assert!(log.contains("took over the lock left by a process that is gone"), "{log}");
    let pass_lines: Vec<&str> = log.lines().filter(|l| l.starts_with("pass ")).collect();
    assert!(pass_lines.len() >= 3, "a line per pass: {log}");
    assert!(pass_lines.iter().all(|l| l.contains("; lag ") && l.contains("changes read")), "{pass_lines:?}");

    let caught_up = project
        .grafter()
        .args(["sync", "-q", "--until-caught-up", "--max-lag", "5s", "--timeout", "60s", "--interval", "200ms"])
        .output()
        .expect("grafter sync --until-caught-up");
    let stdout = String::from_utf8_lossy(&caught_up.stdout);
    assert!(caught_up.status.success(), "caught up: {stdout}\n{}", String::from_utf8_lossy(&caught_up.stderr));
    assert!(stdout.contains("caught up, verified"), "{stdout}");
    assert!(stdout.contains("PASSED"), "the verification is shown: {stdout}");

    // An independent verification finds nothing different.
    let verified = project.grafter().args(["verify"]).output().expect("grafter verify");
    assert!(verified.status.success(), "verify: {}", String::from_utf8_lossy(&verified.stdout));

    // The graph holds what SQL says.
    let live_customers = server.count("SELECT count(*) FROM customer WHERE deleted_at IS NULL");
    assert_eq!(project.query_int("MATCH (c:Customer) RETURN count(c) AS n"), live_customers);
    assert_eq!(project.query_int("MATCH (o:Order) RETURN count(o) AS n"), server.count("SELECT count(*) FROM orders"));
    if let Some(url) = reader_url(target) {
        // And so does the official driver, element by element for the customers.
        assert_eq!(sorted(read_back(&url, "Customer")), server.live_customers(), "customers read back");
        let placed = "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.deleted_at IS NULL";
        let lives_in = "SELECT count(*) FROM customer WHERE deleted_at IS NULL AND country_id IS NOT NULL";
        for (cypher, sql) in [
            ("MATCH (o:Order) RETURN count(o)", "SELECT count(*) FROM orders"),
            ("MATCH (:Customer)-[p:PLACED]->(:Order) RETURN count(p)", placed),
            ("MATCH (:Customer)-[l:LIVES_IN]->(:Country) RETURN count(l)", lives_in),
        ] {
            assert_eq!(count_back(&url, cypher), server.count(sql), "{cypher}");
        }
    }

    // Every change applied exactly once, none missed: the figures of committed batches (the
    // SIGKILLed batch never committed, so its changes count when they were applied again).
    let summary = sync_json(&project);
    let customer = &mapping(&summary, "customer")["since_first"];
    assert_eq!(customer["created"].as_u64(), Some(written.customers_inserted), "{customer}");
    assert_eq!(customer["deleted"].as_u64(), Some(written.customers_soft_deleted.len() as u64), "{customer}");
    let order = &mapping(&summary, "orders")["since_first"];
    assert_eq!(order["created"].as_u64(), Some(written.orders_inserted), "{order}");
    assert_eq!(order["deleted"].as_u64(), Some(written.orders_deleted.len() as u64), "{order}");
    assert_eq!(mapping(&summary, "placed")["since_first"]["rejected"].as_u64(), Some(0));

    // The history records the load and the sync sessions.
    let history: Json =
        serde_json::from_slice(&project.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    let kinds: Vec<&str> = history.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap_or("load")).collect();
    assert_eq!(kinds.first(), Some(&"load"), "{kinds:?}");
    assert!(kinds.iter().filter(|k| **k == "sync").count() >= 4, "{kinds:?}");
}

fn postgres_sync_follows_concurrent_writers_through_a_crash(target: Target) {
    sync_follows_concurrent_writers_through_a_crash(&Server::Pg(Postgres::new()), target);
}

fn mariadb_sync_follows_concurrent_writers_through_a_crash(target: Target) {
    sync_follows_concurrent_writers_through_a_crash(&Server::My(Mariadb::new()), target);
}

/// A project following the table `item` (`id`, `v`, cursor `updated_at`) of `server` into
/// `target`, without an overlap.
fn items_project(server: &Server, target: Target) -> Project {
    let project = Project::new();
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"{}\"\n\n[sync]\noverlap = \"0s\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"item\"\nkey = \"id\"\nexclude = [\"updated_at\"]\ncursor = \"updated_at\"\n{}",
            server.url(),
            target.section("items")
        ),
    );
    project
}

/// Rows sharing one cursor value across batch boundaries, a sync killed between two of
/// those batches: without an overlap, the restart continues after (cursor value, key) —
/// nothing skipped, nothing repeated.
fn ties_are_neither_skipped_nor_repeated(server: &Server, second_precision: &str, target: Target) {
    server.sql(&format!(
        "CREATE TABLE item (id int PRIMARY KEY, v int NOT NULL, updated_at {second_precision});\n{}",
        (1..=100).map(|id| format!("INSERT INTO item (id, v) VALUES ({id}, 0);\n")).collect::<String>()
    ));
    let project = items_project(server, target);
    project.grafter().args(["run", "-q"]).assert().success();
    // A later second than the load's watermark; one statement: every row gets the same time.
    std::thread::sleep(Duration::from_millis(1100));
    server.sql(&format!(
        "UPDATE item SET v = v + 1, updated_at = {};",
        match server {
            Server::Pg(_) => "date_trunc('second', now())",
            Server::My(_) => "CURRENT_TIMESTAMP",
        }
    ));
    let mut killed = spawn_sync(&project, &["--batch-size", "7"], Some("before-commit:5"));
    let output = wait_at_most(&mut killed, Duration::from_secs(60), "the killed sync");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&output.status), Some(9));

    let summary = sync_json(&project);
    let item = mapping(&summary, "item");
    // Four batches of 7 committed before the kill; the rest now, each row once.
    assert_eq!(item["session"]["read"].as_u64(), Some(72), "{item}");
    assert_eq!(item["session"]["updated"].as_u64(), Some(72), "{item}");
    assert_eq!(item["session"]["unchanged"].as_u64(), Some(0), "no row read twice: {item}");
    assert_eq!(item["since_first"]["updated"].as_u64(), Some(100), "{item}");
    assert_eq!(project.query_int("MATCH (i:Item) WHERE i.v = 1 RETURN count(i) AS n"), 100);
    project.grafter().args(["verify"]).assert().success();
}

const PG_SECONDS: &str = "timestamp NOT NULL DEFAULT date_trunc('second', now())";
const MY_SECONDS: &str = "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP";

fn postgres_ties_are_neither_skipped_nor_repeated(target: Target) {
    ties_are_neither_skipped_nor_repeated(&Server::Pg(Postgres::new()), PG_SECONDS, target);
}

fn mariadb_ties_are_neither_skipped_nor_repeated(target: Target) {
    ties_are_neither_skipped_nor_repeated(&Server::My(Mariadb::new()), MY_SECONDS, target);
}

/// The rule that keeps late commits: a transaction that wrote its row, then committed after
/// a pass had already moved the watermark past that row's time. Without an overlap the row
/// is lost (verify says where); with one, the next pass finds it.
#[test]
fn a_late_commit_is_found_by_the_overlap_and_lost_without_it() {
    let server = Server::Pg(Postgres::new());
    server.sql(
        "CREATE TABLE item (id int PRIMARY KEY, v text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
         CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql;
         CREATE TRIGGER item_touch BEFORE UPDATE ON item FOR EACH ROW EXECUTE FUNCTION touch();
         INSERT INTO item (id, v) VALUES (1, 'a'), (2, 'b');",
    );
    let config = |overlap: &str| {
        format!(
            "[source]\nurl = \"{}\"\n\n[sync]\noverlap = \"{overlap}\"\n\n[[nodes]]\nlabel = \"Item\"\ntable = \"item\"\nkey = \"id\"\nexclude = [\"updated_at\"]\ncursor = \"updated_at\"\n",
            server.url()
        )
    };
    let without = Project::new();
    without.write("grafter.toml", config("0s"));
    let with = Project::new();
    with.write("grafter.toml", config("5s"));
    for project in [&without, &with] {
        project.grafter().args(["run", "-q"]).assert().success();
    }
    // Item 1 is written by a transaction that began first and commits last.
    let mut late = server.script("BEGIN;\nUPDATE item SET v = 'late' WHERE id = 1;\nSELECT pg_sleep(3);\nCOMMIT;\n");
    std::thread::sleep(Duration::from_millis(700));
    server.sql("UPDATE item SET v = 'early' WHERE id = 2;");
    for project in [&without, &with] {
        project.grafter().args(["sync", "-q"]).assert().success();
    }
    let output = wait_at_most(&mut late, Duration::from_secs(30), "the late transaction");
    assert!(output.status.success());
    for project in [&without, &with] {
        project.grafter().args(["sync", "-q"]).assert().success();
    }
    let lost = without.grafter().args(["verify"]).output().expect("verify");
    let report = String::from_utf8_lossy(&lost.stdout);
    assert_eq!(lost.status.code(), Some(1), "without an overlap the late row is lost: {report}");
    assert!(report.contains(r#"(:Item {id: 1}): v: source "late" ≠ graph "a""#), "{report}");
    with.grafter().args(["verify"]).assert().success();
    assert_eq!(with.query_int("MATCH (i:Item {v: 'late'}) RETURN count(i) AS n"), 1);
}

/// A relationship read before the node it connects waits, and applies once the node is
/// there; one whose node never comes is rejected after `pending_timeout`, with the reason.
fn relationships_wait_for_their_nodes_then_time_out_into_the_reject_file(target: Target) {
    let server = Server::Pg(Postgres::new());
    server.create_shop();
    let project = Project::new();
    project.write("grafter.toml", shop_config(&server.url(), "overlap = \"5s\"\npending_timeout = \"2s\"", target));
    project.grafter().args(["run", "-q"]).assert().success();

    // A new customer, then deleted, and an order for it comes after.
    server.sql("INSERT INTO customer (id, name) VALUES (5000, 'briefly');");
    sync_json(&project);
    server.sql("UPDATE customer SET deleted_at = now() WHERE id = 5000; INSERT INTO orders VALUES (9001, 5000, 1.00);");
    let summary = sync_json(&project);
    assert_eq!(
        mapping(&summary, "placed")["waiting"].as_u64(),
        Some(1),
        "order 9001 waits for customer 5000: {summary}"
    );
    // The customer comes back: its node, and the relationship that waited for it.
    server.sql("UPDATE customer SET deleted_at = NULL WHERE id = 5000;");
    let summary = sync_json(&project);
    assert_eq!(mapping(&summary, "placed")["waiting"].as_u64(), Some(0), "{summary}");
    assert_eq!(
        project.query_int("MATCH (:Customer {id: 5000})-[p:PLACED]->(:Order {id: 9001}) RETURN count(p) AS n"),
        1
    );
    project.grafter().args(["verify"]).assert().success();

    // An order for a customer that never exists: rejected once it waited too long.
    server.sql("INSERT INTO orders VALUES (9002, 123456, 2.00);");
    let summary = sync_json(&project);
    assert_eq!(mapping(&summary, "placed")["waiting"].as_u64(), Some(1));
    std::thread::sleep(Duration::from_millis(2500));
    let summary = sync_json(&project);
    let placed = mapping(&summary, "placed");
    assert_eq!((placed["waiting"].as_u64(), placed["session"]["rejected"].as_u64()), (Some(0), Some(1)), "{placed}");
    let rejects = std::fs::read_to_string(project.file("grafter.rejects.sync.ndjson")).expect("the sync reject file");
    let line: Json = serde_json::from_str(rejects.lines().last().expect("a line")).expect("JSON");
    assert_eq!(line["mapping"], "placed");
    assert_eq!(line["row"]["id"], 9002);
    let reason = line["reason"].as_str().unwrap();
    assert!(reason.starts_with("start node (:Customer {id: 123456}) not found (waited since "), "{reason}");
    // The graph and the source agree: the order's relationship is rejected on both sides.
    project.grafter().args(["verify"]).assert().success();
}

/// A sync whose lock is broken and then taken over by another sync writes nothing more:
/// its next batch is refused by the server itself (its fencing token is no longer the
/// lock's), changes and state together, and the next sync applies the rest, each change
/// once. (The heartbeat, every 20 s of the default lease, comes far too late to stop it
/// first.) On the embedded store the holder keeps the file open: the break is refused.
fn a_sync_whose_lock_was_taken_over_writes_nothing_more(target: Target) {
    const ITEMS: i64 = 300;
    let server = Server::Pg(Postgres::new());
    server.sql(&format!(
        "CREATE TABLE item (id int PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO item (id, v) SELECT i, 0 FROM generate_series(1, {ITEMS}) AS i;"
    ));
    let project = items_project(&server, target);
    project.grafter().args(["run", "-q"]).assert().success();
    server.sql("UPDATE item SET v = 1, updated_at = clock_timestamp();");

    // Batches of 10 rows, 300 ms apart: about ten seconds of writing.
    let mut command = Command::new(env!("CARGO_BIN_EXE_grafter"));
    command
        .current_dir(project.path())
        .args(["sync", "-q", "--batch-size", "10"])
        .env("GRAFTER_SLOW_BATCH_MS", "300")
        .env("NO_COLOR", "1")
        .env_remove("GRAFTER_KILL_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut first = command.spawn().expect("start grafter sync");
    if !target.is_server() {
        std::thread::sleep(Duration::from_secs(2));
        let forced = project.grafter().args(["lock", "break", "--force"]).output().expect("lock break");
        assert!(!forced.status.success(), "the holder has the store open: {}", output_text(&forced).1);
        let output = wait_at_most(&mut first, Duration::from_secs(60), "the sync");
        assert!(output.status.success(), "{}", output_text(&output).1);
        assert_eq!(project.query_int("MATCH (i:Item) WHERE i.v = 1 RETURN count(i) AS n"), ITEMS);
        return;
    }
    let started = Instant::now();
    while project.query_int("MATCH (i:Item) WHERE i.v = 1 RETURN count(i) AS n") < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "the first sync applies batches");
        std::thread::sleep(Duration::from_millis(50));
    }
    let broken = project.grafter().args(["lock", "break", "--force"]).output().expect("lock break --force");
    assert!(broken.status.success(), "{}", output_text(&broken).1);
    // Taken over at once by another sync, which waits for nothing and applies the rest.
    let mut second = spawn_sync(&project, &[], None);
    let output = wait_at_most(&mut first, Duration::from_secs(30), "the sync whose lock was broken");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(3), "the sync stops: {stderr}");
    assert!(
        stderr.contains("taken over or broken") && stderr.contains("refused this write"),
        "by the server: {stderr}"
    );
    let output = wait_at_most(&mut second, Duration::from_secs(60), "the sync that took over");
    assert!(output.status.success(), "{}", output_text(&output).1);

    // The first sync's batches after the break left nothing: neither changes (the second
    // would have found them there, unchanged, or the first found the second's) nor states
    // (a state stored late would take the watermark back: the next pass would read again).
    let summary = sync_json(&project);
    let item = mapping(&summary, "item");
    assert_eq!(item["session"]["read"].as_u64(), Some(0), "the watermark is the second sync's: {item}");
    assert_eq!(item["since_first"]["updated"].as_u64(), Some(ITEMS as u64), "{item}");
    assert_eq!(item["since_first"]["unchanged"].as_u64(), Some(0), "no change applied twice: {item}");
    assert_eq!(graph_count(&project, target, "MATCH (i:Item) WHERE i.v = 1 RETURN count(i)"), ITEMS);
    assert_eq!(graph_count(&project, target, "MATCH (i:Item) RETURN count(i)"), ITEMS);
    project.grafter().args(["verify"]).assert().success();
}

/// A TCP proxy in front of a Bolt server that cuts the connection at chosen COMMITs of
/// transactions whose statements name `marker`: after passing the COMMIT on with its answer
/// held back (the transaction commits, the client never hears so) or before (it never
/// commits). Every connection grafter opens goes through it.
struct CommitCutter {
    port: u16,
    /// COMMITs of marked transactions seen, and connections cut.
    commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cut: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CommitCutter {
    /// A COMMIT as a client sends it: one chunk of two bytes (a struct of no fields, 0x12).
    const COMMIT: [u8; 6] = [0x00, 0x02, 0xB0, 0x12, 0x00, 0x00];

    /// Proxies to `upstream` (`host:port`); the n-th marked COMMIT (from 1) in `cuts` is cut,
    /// after it reached the server when its flag says so.
    fn start(upstream: String, marker: &'static [u8], cuts: &'static [(usize, bool)]) -> CommitCutter {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let port = listener.local_addr().expect("address").port();
        let (commits, cut) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (seen, done) = (Arc::clone(&commits), Arc::clone(&cut));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(&upstream) else { continue };
                let (mut from_server, mut to_client) =
                    (server.try_clone().expect("clone"), client.try_clone().expect("clone"));
                // Set once a COMMIT that reaches the server is to lose its answer.
                let muted = Arc::new(AtomicBool::new(false));
                let mute = Arc::clone(&muted);
                std::thread::spawn(move || {
                    let mut buffer = vec![0u8; 1 << 16];
                    while let Ok(n @ 1..) = std::io::Read::read(&mut from_server, &mut buffer) {
                        if mute.load(Ordering::SeqCst) || to_client.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                });
                let (seen, done) = (Arc::clone(&seen), Arc::clone(&done));
                std::thread::spawn(move || {
                    let (mut client, mut server) = (client, server);
                    let mut buffer = vec![0u8; 1 << 16];
                    let mut marked = false;
                    while let Ok(n @ 1..) = std::io::Read::read(&mut client, &mut buffer) {
                        let data = &buffer[..n];
                        marked |= data.windows(marker.len()).any(|w| w == marker);
                        if marked && data.windows(6).any(|w| w == Self::COMMIT) {
                            marked = false;
                            let nth = seen.fetch_add(1, Ordering::SeqCst) + 1;
                            if let Some(&(_, forward)) = cuts.iter().find(|(at, _)| *at == nth) {
                                if forward {
                                    muted.store(true, Ordering::SeqCst);
                                    let _ = server.write_all(data);
                                    std::thread::sleep(Duration::from_millis(300));
                                }
                                done.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                        }
                        if server.write_all(data).is_err() {
                            break;
                        }
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CommitCutter { port, commits, cut }
    }

    /// `url` (`bolt://USER:PASSWORD@HOST:PORT[?…]`) through the proxy, and where it points.
    fn through(url: &str) -> (String, impl FnOnce(u16) -> String) {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (credentials, rest) = rest.rsplit_once('@').expect("credentials");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (address, tail) = (rest[..end].to_owned(), rest[end..].to_owned());
        let (scheme, credentials) = (scheme.to_owned(), credentials.to_owned());
        (address, move |port| format!("{scheme}://{credentials}@127.0.0.1:{port}{tail}"))
    }
}

/// A sync whose connection drops while it commits a batch of changes: when the COMMIT
/// reached the server, the stored state shows the batch committed and it is not sent again
/// (relationships are created by `CREATE`: a second send would double them); when it did
/// not, the batch is sent again. Every change applied once, read back by the official driver.
fn a_sync_whose_connection_drops_at_commit_applies_every_batch_once(target: Target) {
    let server = Server::Pg(Postgres::new());
    server.create_shop();
    let project = Project::new();
    project.write("grafter.toml", shop_config(&server.url(), "overlap = \"0s\"", target));
    project.grafter().args(["run", "-q"]).assert().success();
    server.sql(
        "INSERT INTO orders (id, customer_id, total) SELECT i, 1 + i % 200, 3.75 FROM generate_series(2001, 2040) AS i;
         UPDATE customer SET name = name || ' (moved)', country_id = 1 + (country_id % 5) WHERE id <= 30;",
    );

    let url = reader_url(target).expect("a Bolt server");
    let (upstream, proxied) = CommitCutter::through(&url);
    // The batches creating PLACED relationships (40 rows, 4 batches): the first commits and
    // its answer is lost; the second is cut before it commits, and sent again (the third
    // COMMIT); the third batch (the fourth COMMIT) commits and its answer is lost.
    const CUTS: &[(usize, bool)] = &[(1, true), (2, false), (4, true)];
    let cutter = CommitCutter::start(upstream, b"`PLACED`", CUTS);
    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    project.write(
        "grafter.toml",
        config.replacen(&format!("url = \"{url}\""), &format!("url = \"{}\"", proxied(cutter.port)), 1),
    );

    let output = project.grafter().args(["sync", "-q", "--batch-size", "10"]).output().expect("sync");
    assert!(output.status.success(), "{}", output_text(&output).1);
    let seen = cutter.commits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(seen, 5, "batches of PLACED committed through the proxy");
    assert_eq!(cutter.cut.load(std::sync::atomic::Ordering::SeqCst), CUTS.len(), "connections cut");

    let summary = sync_json(&project);
    for (name, figure, expected) in
        [("orders", "created", 40), ("placed", "created", 40), ("customer", "updated", 30), ("lives_in", "updated", 30)]
    {
        let since_first = &mapping(&summary, name)["since_first"];
        assert_eq!(since_first[figure].as_u64(), Some(expected), "{name}: {since_first}");
        assert_eq!(since_first["unchanged"].as_u64(), Some(0), "{name}: nothing applied twice: {since_first}");
    }
    let placed = "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.deleted_at IS NULL";
    assert_eq!(count_back(&url, "MATCH (:Customer)-[p:PLACED]->(:Order) RETURN count(p)"), server.count(placed));
    assert_eq!(count_back(&url, "MATCH (:Customer)-[l:LIVES_IN]->(:Country) RETURN count(l)"), 200);
    assert_eq!(sorted(read_back(&url, "Customer")), server.live_customers(), "customers read back");
    project.grafter().args(["verify"]).assert().success();
}

#[test]
fn neo4j_sync_whose_connection_drops_at_commit_applies_every_batch_once() {
    let _alone = Target::Neo4j.serial();
    a_sync_whose_connection_drops_at_commit_applies_every_batch_once(Target::Neo4j);
}

#[test]
fn arcadedb_sync_whose_connection_drops_at_commit_applies_every_batch_once() {
    let _alone = Target::ArcadeDb.serial();
    a_sync_whose_connection_drops_at_commit_applies_every_batch_once(Target::ArcadeDb);
}

on_targets!([embedded => Embedded, falkordb => FalkorDb, neo4j => Neo4j, arcadedb => ArcadeDb] [
    postgres_sync_follows_concurrent_writers_through_a_crash,
    mariadb_sync_follows_concurrent_writers_through_a_crash,
    postgres_ties_are_neither_skipped_nor_repeated,
    mariadb_ties_are_neither_skipped_nor_repeated,
    relationships_wait_for_their_nodes_then_time_out_into_the_reject_file,
    a_sync_whose_lock_was_taken_over_writes_nothing_more,
]);

on_targets!([neo4j_routed => Neo4jRouted] [
    relationships_wait_for_their_nodes_then_time_out_into_the_reject_file,
    a_sync_whose_lock_was_taken_over_writes_nothing_more,
]);

/// FalkorDB's Bolt port has no transactions: sync refuses it before reading anything,
/// saying why and what to use instead; a load of tracked mappings there says it keeps no
/// watermark, and loads.
#[test]
fn sync_over_falkordbs_bolt_port_is_refused_with_what_to_use_instead() {
    let _one_at_a_time = falkordb_serial();
    let project = one_tracked_table(&Target::Bolt.section("refused"));
    let run = project.grafter().args(["run"]).output().expect("run");
    let (_, stderr) = output_text(&run);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("cannot be synced: no watermark kept"), "{stderr}");
    let output = project.grafter().args(["sync"]).output().expect("sync");
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not support incremental sync over FalkorDB's Bolt port"), "{stderr}");
    assert!(stderr.contains("cannot commit together"), "why: {stderr}");
    assert!(
        stderr.contains("hint: sync this graph through FalkorDB's own protocol") && stderr.contains("falkordb://"),
        "{stderr}"
    );
    assert!(!stderr.contains("pass 1"), "no pass ran: {stderr}");
}

/// A SQLite file followed too: timestamps kept as text, a soft delete, a rollback of the load
/// that undoes the syncs after it, and a sync session that cannot itself be rolled back.
#[test]
fn sqlite_sources_sync_and_a_rollback_undoes_the_syncs_after_a_load() {
    let project = Project::new();
    let db = project.file("shop.sqlite");
    let connection = rusqlite::Connection::open(&db).expect("sqlite");
    let stamp = "strftime('%Y-%m-%d %H:%M:%f', 'now')";
    connection
        .execute_batch(&format!(
            "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at DATETIME NOT NULL DEFAULT ({stamp}), deleted_at DATETIME);
             INSERT INTO customer (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');"
        ))
        .expect("schema");
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[sync]\noverlap = \"0s\"\n\n[[nodes]]\nlabel = \"Customer\"\ntable = \"customer\"\nkey = \"id\"\nexclude = [\"updated_at\", \"deleted_at\"]\ncursor = \"updated_at\"\nsoft_delete = \"deleted_at\"\n",
    );
    project.grafter().args(["run", "-q"]).assert().success();
    let empty = project.grafter().args(["fingerprint", "--format", "json"]).output().unwrap().stdout;
    std::thread::sleep(Duration::from_millis(20));
    connection
        .execute_batch(&format!(
            "UPDATE customer SET name = 'renamed', updated_at = {stamp} WHERE id = 1;
             UPDATE customer SET deleted_at = {stamp}, updated_at = {stamp} WHERE id = 2;
             INSERT INTO customer (id, name) VALUES (4, 'd');"
        ))
        .expect("changes");
    let summary = sync_json(&project);
    let customer = &mapping(&summary, "customer")["session"];
    assert_eq!(
        (customer["created"].as_u64(), customer["updated"].as_u64(), customer["deleted"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{customer}"
    );
    project.grafter().args(["verify"]).assert().success();
    assert_eq!(project.query_int("MATCH (c:Customer) RETURN count(c) AS n"), 3);
    assert_ne!(project.grafter().args(["fingerprint", "--format", "json"]).output().unwrap().stdout, empty);

    let history: Json =
        serde_json::from_slice(&project.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    let session = history.as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    let refused = project.grafter().args(["rollback", &session]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("is a sync session, which takes no snapshot"), "{stderr}");
    project.grafter().args(["rollback", "--last"]).assert().success();
    assert_eq!(
        project.query_int("MATCH (c:Customer) RETURN count(c) AS n"),
        0,
        "the load and the syncs after it are undone"
    );
    let history: Json =
        serde_json::from_slice(&project.grafter().args(["history", "--format", "json"]).output().unwrap().stdout)
            .unwrap();
    assert!(history.as_array().unwrap().iter().all(|r| r["status"] == "rolled_back"), "{history}");
}

/// Mappings sync cannot follow are refused before anything is written, each naming the
/// mapping, the line and what to do.
#[test]
fn mappings_sync_cannot_follow_are_refused_with_the_reason() {
    let project = Project::new();
    let db = project.file("shop.sqlite");
    rusqlite::Connection::open(&db)
        .expect("sqlite")
        .execute_batch(
            "CREATE TABLE country (id INTEGER PRIMARY KEY, name TEXT, updated_at DATETIME);
             CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, updated_at DATETIME);
             CREATE TABLE visit (id INTEGER PRIMARY KEY, customer_id INTEGER, country_id INTEGER, updated_at DATETIME);",
        )
        .expect("schema");
    let base = "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[[nodes]]\nlabel = \"Country\"\ntable = \"country\"\nkey = \"id\"\n\n[[nodes]]\nlabel = \"Customer\"\ntable = \"customer\"\nkey = \"id\"\n";
    let refused = |config: String, expected: &[&str]| {
        project.write("grafter.toml", config);
        let output = project.grafter().args(["sync"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        for text in expected {
            assert!(stderr.contains(text), "{text:?} in {stderr}");
        }
    };
    refused(base.to_owned(), &["nothing to sync", "hint: give a mapping `cursor"]);
    refused(
        base.replace("table = \"customer\"\nkey = \"id\"\n", "table = \"customer\"\nkey = \"id\"\ncursor = \"name\"\n"),
        &["grafter.toml:9: mapping `customer`: cursor `name` is a string column", "hint: a cursor is a timestamp"],
    );
    refused(
        base.replace(
            "table = \"customer\"\nkey = \"id\"\n",
            "table = \"customer\"\nkey = \"id\"\ncursor = \"changed\"\n",
        ),
        &["cursor `changed` is not a column of table `customer`", "columns: id, name, updated_at"],
    );
    refused(
        format!(
            "{base}\n[[relationships]]\ntype = \"VISITED\"\ntable = \"visit\"\nstart = {{ label = \"Customer\", key = \"customer_id\" }}\nend = {{ label = \"Country\", key = \"country_id\" }}\ncursor = \"updated_at\"\n"
        ),
        &[
            "mapping `visit`: its rows are identified by (id), which is neither its start node's key",
            "hint: sync relationships read from a table whose key is a node's key",
        ],
    );
    refused(
        base.replace(
            "table = \"customer\"\nkey = \"id\"\n",
            "query = \"SELECT * FROM customer\"\nkey = \"id\"\nchange_log = \"log\"\n",
        ),
        &["grafter.toml:13: a change log lists rows of a table, but this mapping reads a query"],
    );
    refused(
        base.replace(
            "table = \"customer\"\nkey = \"id\"\n",
            "table = \"customer\"\nkey = \"id\"\nchange_log = \"log\"\n",
        ),
        &["mapping `customer`: change log `log`", "create the change-log table"],
    );
}

/// A following sync outlives its source connections being killed mid-read: the pass that
/// lost one is tried again from the watermark, and nothing is lost or doubled.
#[test]
fn a_following_sync_reads_again_after_its_source_connection_is_killed() {
    let server = Server::Pg(Postgres::new());
    let Server::Pg(pg) = &server else { unreachable!("a PostgreSQL server") };
    server.create_shop();
    let project = Project::new();
    project
        .write("grafter.toml", shop_config(&server.url(), "overlap = \"30s\"\ninterval = \"100ms\"", Target::Embedded));
    project.grafter().args(["run", "-q"]).assert().success();

    // Small, slow batches keep each pass's read open long enough to be killed.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_grafter"))
        .current_dir(project.path())
        .args(["sync", "-q", "--follow", "--interval", "100ms", "--batch-size", "20"])
        .env("GRAFTER_SLOW_BATCH_MS", "30")
        .env_remove("GRAFTER_KILL_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grafter sync");
    // Changes to read, then three seconds in which every connection grafter opens to the
    // database is cut within 20 ms: reads in flight fail.
    server.sql("UPDATE customer SET name = concat(name, '+') WHERE id % 3 = 0;");
    std::thread::sleep(Duration::from_millis(500));
    let cut = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid() AND application_name = 'grafter'",
        pg.name
    );
    let mut killed = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        killed += Postgres::psql(None, &cut).trim().parse::<i64>().expect("a count");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(killed >= 2, "grafter's connections were cut ({killed})");
    server.sql("UPDATE customer SET name = concat(name, '*') WHERE id % 5 = 0;");
    // Time for a retry (its pause grows from 2 s) and a pass after it.
    std::thread::sleep(Duration::from_secs(8));
    interrupt(&follower);
    let output = wait_at_most(&mut follower, Duration::from_secs(60), "the following sync");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{log}");
    assert!(log.contains("trying again from the watermark in"), "{log}");
    project
        .grafter()
        .args(["sync", "-q", "--until-caught-up", "--timeout", "60s", "--interval", "100ms"])
        .assert()
        .success();
    project.grafter().args(["verify"]).assert().success();
}

/// A project syncing one customer table of a SQLite file into the target `section` names.
fn one_tracked_table(section: &str) -> Project {
    let project = Project::new();
    rusqlite::Connection::open(project.file("shop.sqlite"))
        .expect("sqlite")
        .execute_batch("CREATE TABLE customer (id INTEGER PRIMARY KEY, updated_at DATETIME); INSERT INTO customer VALUES (1, '2026-12-01 10:00:00');")
        .expect("schema");
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[[nodes]]\nlabel = \"Customer\"\ntable = \"customer\"\nkey = \"id\"\ncursor = \"updated_at\"\n{section}"
        ),
    );
    project
}

/// A cut-over script tells the answers apart by exit code: a sync that cannot catch up
/// (the graph differs, so no verification passes) exits 1, one whose source does not answer
/// exits 3, one whose config names a mapping that is not there exits 2.
#[test]
fn a_cut_over_script_tells_a_graph_that_differs_from_a_source_that_is_gone() {
    let project = one_tracked_table("");
    project.grafter().args(["run", "-q"]).assert().success();
    project.grafter().args(["query", "--write", "CREATE (:Customer {id: 999})"]).assert().success();
    let late = project
        .grafter()
        .args(["sync", "-q", "--until-caught-up", "--timeout", "2s", "--interval", "100ms"])
        .output()
        .expect("sync");
    let (_, stderr) = output_text(&late);
    assert_eq!(late.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not caught up within 2s"), "{stderr}");

    let unknown = project.grafter().args(["sync", "-q", "--only", "customers"]).output().expect("sync");
    assert_eq!(unknown.status.code(), Some(2), "{}", output_text(&unknown).1);

    let config = std::fs::read_to_string(project.file("grafter.toml")).expect("config");
    project.write("grafter.toml", config.replace("sqlite:shop.sqlite", "postgres://nobody@127.0.0.1:1/shop"));
    let gone = project.grafter().args(["sync", "-q"]).output().expect("sync");
    let (_, stderr) = output_text(&gone);
    assert_eq!(gone.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "the server is named: {stderr}");
}

/// A target that cannot keep up incrementally says so before anything is read or written.
#[test]
fn a_target_without_sync_refuses_before_reading() {
    let project = one_tracked_table("\n[target]\nurl = \"null:\"\n");
    let output = project.grafter().args(["sync"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("null: does not support incremental sync"), "{stderr}");
    assert!(!stderr.contains("pass 1"), "no pass ran: {stderr}");
}

/// A load that stopped half-way has read only some rows: sync refuses to start from its
/// watermark until the load is finished.
#[test]
fn sync_waits_for_an_unfinished_load_to_be_finished() {
    let project = Project::new();
    let connection = rusqlite::Connection::open(project.file("shop.sqlite")).expect("sqlite");
    connection
        .execute_batch(&format!(
            "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, updated_at DATETIME NOT NULL DEFAULT '2026-12-01 10:00:00');\n{}",
            (1..=50).map(|id| format!("INSERT INTO customer (id, name) VALUES ({id}, 'c{id}');\n")).collect::<String>()
        ))
        .expect("schema");
    project.write(
        "grafter.toml",
        "[source]\nurl = \"sqlite:shop.sqlite\"\n\n[[nodes]]\nlabel = \"Customer\"\ntable = \"customer\"\nkey = \"id\"\nexclude = [\"updated_at\"]\ncursor = \"updated_at\"\n",
    );
    let killed = project
        .grafter()
        .args(["run", "-q", "--batch-size", "10"])
        .env("GRAFTER_KILL_AT", "after-commit:2")
        .output()
        .unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&killed.status), Some(9));
    let refused = project.grafter().args(["sync"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mapping `customer`: its load, run "), "{stderr}");
    assert!(stderr.contains("has not read all its rows (in_progress): they would be skipped"), "{stderr}");
    assert!(stderr.contains("hint: finish the load first: `grafter run` resumes it"), "{stderr}");
    project.grafter().args(["run", "-q"]).assert().success();
    project.grafter().args(["sync", "-q"]).assert().success();
    assert_eq!(project.query_int("MATCH (c:Customer) RETURN count(c) AS n"), 50);
}

/// A mapping loaded without tracking and given a change log afterwards: the log holds nothing
/// of what changed before it, so the first sync reads the table whole once (as a cursor
/// mapping's first sync does) and the graph equals the source; later syncs read the log.
#[test]
fn a_change_log_added_after_the_load_first_reads_the_table_whole_once() {
    let db = Postgres::new();
    db.sql(
        "CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL);
         INSERT INTO orders SELECT id, id * 10 FROM generate_series(1, 50) AS id;",
    );
    let project = Project::new();
    let config =
        format!("[source]\nurl = \"{}\"\n\n[[nodes]]\nlabel = \"Order\"\ntable = \"orders\"\nkey = \"id\"\n", db.url());
    project.write("grafter.toml", &config);
    project.grafter().args(["run", "-q"]).assert().success();

    // Changes while nothing tracks them, then a change log from here on.
    db.sql(
        "UPDATE orders SET total = total + 1 WHERE id <= 10;
         INSERT INTO orders SELECT id, id * 10 FROM generate_series(51, 55) AS id;
         CREATE TABLE change_log (id bigserial PRIMARY KEY, table_name text NOT NULL, operation text NOT NULL,
           record_key text NOT NULL, changed_at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE FUNCTION log_change() RETURNS trigger AS $$
         BEGIN
           INSERT INTO change_log (table_name, operation, record_key) VALUES (TG_TABLE_NAME, TG_OP, NEW.id::text);
           RETURN NEW;
         END $$ LANGUAGE plpgsql;
         CREATE TRIGGER orders_log AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION log_change();",
    );
    project.write("grafter.toml", format!("{config}change_log = \"change_log\"\n"));
    let summary = sync_json(&project);
    let session = &mapping(&summary, "orders")["session"];
    assert_eq!(
        (&session["read"], &session["created"], &session["updated"], &session["unchanged"]),
        (&Json::from(55), &Json::from(5), &Json::from(10), &Json::from(40)),
        "{summary}"
    );
    let in_graph = project.query_int("MATCH (o:Order) RETURN sum(o.total) AS total");
    assert_eq!(in_graph, db.count("SELECT sum(total) FROM orders"));
    project.grafter().args(["verify", "-q"]).assert().success();

    // From now on the log is what is read: one entry, one row.
    db.sql("UPDATE orders SET total = 7 WHERE id = 3");
    let summary = sync_json(&project);
    let session = &mapping(&summary, "orders")["session"];
    assert_eq!((&session["read"], &session["updated"]), (&Json::from(1), &Json::from(1)), "{summary}");
    assert_eq!(project.query_int("MATCH (o:Order {id: 3}) RETURN o.total AS total"), 7);
    project.grafter().args(["verify", "-q"]).assert().success();
}

/// A batch of change-log entries is read back by key, 1,000 rows at a time: with a
/// two-column key that is 2,000 key values in one query, more than PostgreSQL takes as
/// session settings in one statement (at most 1,664 items in a select list). It used to
/// stop the sync; each value now travels as a bound parameter of the query itself.
#[test]
fn a_change_log_batch_of_a_thousand_composite_keys_syncs_from_postgres() {
    let db = Postgres::new();
    db.sql(
        "CREATE TABLE stock (warehouse text NOT NULL, sku int NOT NULL, qty int NOT NULL, PRIMARY KEY (warehouse, sku));
         INSERT INTO stock SELECT 'w' || (n % 7), n, 0 FROM generate_series(1, 1200) AS n;
         CREATE TABLE change_log (id bigserial PRIMARY KEY, table_name text NOT NULL, operation text NOT NULL,
           record_key text NOT NULL, changed_at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE FUNCTION log_change() RETURNS trigger AS $$
         BEGIN
           INSERT INTO change_log (table_name, operation, record_key)
             VALUES (TG_TABLE_NAME, TG_OP, json_build_array(NEW.warehouse, NEW.sku)::text);
           RETURN NEW;
         END $$ LANGUAGE plpgsql;
         CREATE TRIGGER stock_log AFTER INSERT OR UPDATE ON stock FOR EACH ROW EXECUTE FUNCTION log_change();",
    );
    let project = Project::new();
    project.write(
        "grafter.toml",
        format!(
            "[source]\nurl = \"{}\"\n\n[[nodes]]\nlabel = \"Stock\"\ntable = \"stock\"\nkey = [\"warehouse\", \"sku\"]\nchange_log = \"change_log\"\n",
            db.url()
        ),
    );
    project.grafter().args(["run", "-q"]).assert().success();
    // Past the overlap the load's own log entries fall into, then every row changed.
    std::thread::sleep(Duration::from_millis(1100));
    db.sql("UPDATE stock SET qty = sku * 3");
    let summary = sync_json(&project);
    let session = &mapping(&summary, "stock")["session"];
    assert_eq!(session["updated"].as_u64(), Some(1200), "{summary}");
    assert_eq!(project.query_int("MATCH (s:Stock) RETURN sum(s.qty) AS n"), db.count("SELECT sum(qty) FROM stock"));
    project.grafter().args(["verify", "-q"]).assert().success();
}
