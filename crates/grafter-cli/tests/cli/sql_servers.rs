//! PostgreSQL and MariaDB as sources, through the binary: `init --from` a server (with
//! `--include` / `--exclude` patterns, views listed as skipped), `run`, and check through `grafter query` that every count matches SQL's, that a value of every
//! type arrives exactly, that a connection killed mid-run is resumed to correct counts, and
//! that a server that is down or a bad query fails with a clear message.
//!
//! The servers are the ones running on every machine (PostgreSQL 127.0.0.1:5432, trust;
//! MariaDB 127.0.0.1:3306, root without password; psql and the mariadb client load them). A
//! missing server fails these tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common;

use common::line_of;
use common::mariadb::Mariadb;
use common::postgres::Postgres;

fn grafter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grafter"));
    command.env_remove("GRAFTER_KILL_AT").env_remove("GRAFTER_SLOW_BATCH_MS").env_remove("GRAFTER_CONFIG");
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    grafter().current_dir(dir).args(args).output().expect("grafter runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = run(dir, args);
    assert!(
        output.status.success(),
        "grafter {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn query(dir: &Path, cypher: &str) -> Json {
    serde_json::from_str(&ok(dir, &["query", "--format", "json", cypher])).expect("JSON")
}

fn count(dir: &Path, cypher: &str) -> i64 {
    query(dir, cypher)[0]["n"].as_i64().expect("a count named n")
}

/// `grafter init --from url`, then `grafter run` of what it wrote, in a new directory;
/// returns the directory and the configuration.
fn init_and_run(url: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    ok(dir.path(), &["init", "--from", url]);
    let config = std::fs::read_to_string(dir.path().join("grafter.toml")).expect("config");
    ok(dir.path(), &["run", "-q"]);
    (dir, config)
}

/// A grafter.toml that reads `url` into nodes labelled `label`, keyed by `id`; `read` is the
/// mapping's `table = "…"` or `query = "…"` line.
fn one_label_config(url: &str, label: &str, read: &str) -> String {
    format!("[source]\nurl = \"{url}\"\n\n[[nodes]]\nlabel = \"{label}\"\n{read}\nkey = \"id\"\n")
}

/// Loads table `everything` (one row) from `url` and checks that its node has exactly the
/// `expected` properties, and none for the NULL column `nothing`.
fn the_row_of_everything_arrives_as(url: &str, expected: &Json) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("grafter.toml"), one_label_config(url, "Thing", "table = \"everything\""))
        .expect("config");
    ok(dir.path(), &["run", "-q"]);
    let row = &query(dir.path(), "MATCH (t:Thing) RETURN t")[0]["t"];
    for (name, value) in expected.as_object().expect("object") {
        assert_eq!(&row[name], value, "property {name} (whole node: {row})");
    }
    assert!(row.get("nothing").is_none(), "NULL is no property: {row}");
}

/// Rows of the table the killed-connection tests read: big enough (about 35 MB) that the
/// read is still streaming, not sitting whole in the socket's buffers, when it is killed.
const KILL_TEST_ROWS: i64 = 300_000;

/// Loads table `item` (KILL_TEST_ROWS rows) from `url` while `kill_reader` kills grafter's
/// reading connection (it returns how many it killed) twice, then checks that the run
/// read again from its checkpoint and that every row arrived exactly once.
fn killed_reads_are_read_again(url: &str, mut kill_reader: impl FnMut() -> i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("grafter.toml"), one_label_config(url, "Item", "table = \"item\"")).expect("config");
    let child = grafter()
        .current_dir(dir.path())
        .args(["run", "-q", "--batch-size", "1000", "--workers", "1"])
        .env("GRAFTER_SLOW_BATCH_MS", "20")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut killed = 0;
    while killed < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(700));
        killed += kill_reader();
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(killed > 0, "a reading connection was killed");
    assert!(output.status.success(), "the run completed: {stderr}");
    assert!(stderr.contains("reading again from the last checkpoint"), "{stderr}");
    assert_eq!(count(dir.path(), "MATCH (i:Item) RETURN count(i) AS n"), KILL_TEST_ROWS, "every row, none twice");
    let history: Json = serde_json::from_str(&ok(dir.path(), &["history", "--format", "json"])).expect("json");
    let mapping = &history[0]["mappings"][0];
    let expected = Some(KILL_TEST_ROWS as u64);
    assert_eq!((mapping["read"].as_u64(), mapping["written"].as_u64()), (expected, expected), "{mapping}");
}

/// Writes `config` as grafter.toml in `dir`, runs it, checks that the run failed, and
/// returns what it said.
fn failed_run(dir: &Path, config: &str) -> String {
    std::fs::write(dir.join("grafter.toml"), config).expect("config");
    let output = run(dir, &["run", "-q"]);
    assert!(!output.status.success(), "the run failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `scheme://` server that is not there: the error names where, gives a hint, and never
/// shows the password.
fn a_server_that_is_down_is_named_with_a_hint_and_no_password(dir: &Path, scheme: &str) {
    let config = one_label_config(&format!("{scheme}://app:s3cret@127.0.0.1:1/shop"), "A", "table = \"a\"");
    let stderr = failed_run(dir, &config);
    assert!(stderr.contains("127.0.0.1:1") && stderr.contains("hint"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "the password never shows: {stderr}");
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn chinook_from_postgres_counts_match_sql() {
    let db = Postgres::new();
    db.load_chinook();
    let (dir, config) = init_and_run(&db.url());
    assert!(config.contains("label = \"InvoiceLine\""), "snake_case tables become PascalCase labels:\n{config}");

    for (label, table) in [
        ("Album", "album"),
        ("Artist", "artist"),
        ("Customer", "customer"),
        ("Employee", "employee"),
        ("Genre", "genre"),
        ("Invoice", "invoice"),
        ("InvoiceLine", "invoice_line"),
        ("MediaType", "media_type"),
        ("Playlist", "playlist"),
        ("Track", "track"),
    ] {
        let expected = db.count(&format!("SELECT count(*) FROM {table}"));
        assert_eq!(count(dir.path(), &format!("MATCH (n:{label}) RETURN count(n) AS n")), expected, "{label}");
    }
    for (rel_type, sql) in [
        ("ARTIST", "SELECT count(artist_id) FROM album"),
        ("SUPPORT_REP", "SELECT count(support_rep_id) FROM customer"),
        ("REPORTS_TO", "SELECT count(reports_to) FROM employee"),
        ("CUSTOMER", "SELECT count(customer_id) FROM invoice"),
        ("GENRE", "SELECT count(genre_id) FROM track"),
        ("PLAYLIST_TRACK", "SELECT count(*) FROM playlist_track"),
    ] {
        let expected = db.count(sql);
        assert_eq!(
            count(dir.path(), &format!("MATCH ()-[r:{rel_type}]->() RETURN count(r) AS n")),
            expected,
            "{rel_type}"
        );
    }
    // A numeric(10,2) price arrives exactly, as the policy's default string.
    let price = db.sql("SELECT unit_price FROM track WHERE track_id = 1").trim().to_owned();
    let graph = query(dir.path(), "MATCH (t:Track {track_id: 1}) RETURN t.unit_price AS p");
    assert_eq!(graph[0]["p"], Json::String(price), "numeric arrives as its exact digits");
}

#[test]
fn a_graph_corrupted_five_ways_after_a_postgres_migration_is_reported_exactly() {
    let db = Postgres::new();
    db.load_chinook();
    let (dir, _) = init_and_run(&db.url());
    let corrupt = |cypher: &str, params: &[(&str, i64)]| {
        let mut args = vec!["query".to_owned(), "--write".to_owned(), cypher.to_owned()];
        for (name, value) in params {
            args.extend(["--param".to_owned(), format!("{name}={value}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(dir.path(), &args);
    };
    // What to corrupt, and what verify must then report, from SQL alone.
    let lonely_artist = db.count(
        "SELECT min(artist_id) FROM artist a WHERE NOT EXISTS (SELECT 1 FROM album b WHERE b.artist_id = a.artist_id)",
    );
    let title = db.sql("SELECT title FROM album WHERE album_id = 1").trim().to_owned();
    let album_artist = db.count("SELECT artist_id FROM album WHERE album_id = 1");
    let other_artist = db
        .count("SELECT min(artist_id) FROM artist WHERE artist_id <> (SELECT artist_id FROM album WHERE album_id = 1)");
    let track_not_in_playlist_1 = db.count(
        "SELECT min(track_id) FROM track t WHERE NOT EXISTS (SELECT 1 FROM playlist_track p WHERE p.playlist_id = 1 AND p.track_id = t.track_id)",
    );

    corrupt("MATCH (a:Artist {artist_id: $id}) DETACH DELETE a", &[("id", lonely_artist)]);
    corrupt("MATCH (a:Album {album_id: 1}) SET a.title = \"Changed behind grafter's back\"", &[]);
    corrupt("MATCH (:Album {album_id: 1})-[r:ARTIST]->() DELETE r", &[]);
    corrupt(
        "MATCH (a:Album {album_id: 1}), (b:Artist {artist_id: $id}) CREATE (a)-[:ARTIST]->(b)",
        &[("id", other_artist)],
    );
    corrupt(
        "MATCH (p:Playlist {playlist_id: 1}), (t:Track {track_id: $id}) CREATE (p)-[:PLAYLIST_TRACK]->(t)",
        &[("id", track_not_in_playlist_1)],
    );
    corrupt("CREATE (:Genre {genre_id: 1, name: 'impostor'})", &[]);

    let output = run(dir.path(), &["verify", "--format", "json"]);
    let report: Json = serde_json::from_slice(&output.stdout).expect("verify JSON");
    assert_eq!(output.status.code(), Some(1), "{report}");
    let artists = db.count("SELECT count(*) FROM artist");
    let memberships = db.count("SELECT count(*) FROM playlist_track");
    let genres = db.count("SELECT count(*) FROM genre");
    let expected = common::set(&[
        format!("artist: missing (:Artist {{artist_id: {lonely_artist}}})"),
        format!("artist: count (:Artist) {artists} -> {}", artists - 1),
        format!(
            "album: changed (:Album {{album_id: 1}}) title: {} -> \"Changed behind grafter's back\"",
            Json::from(title)
        ),
        format!(
            "album.artist_id: retargeted (:Album {{album_id: 1}})-[:ARTIST]->(:Artist {{artist_id: {album_artist}}}) -> (:Artist {{artist_id: {other_artist}}})"
        ),
        format!(
            "playlist_track: extra (:Playlist {{playlist_id: 1}})-[:PLAYLIST_TRACK]->(:Track {{track_id: {track_not_in_playlist_1}}})"
        ),
        format!("playlist_track: count (:Playlist)-[:PLAYLIST_TRACK]->(:Track) {memberships} -> {}", memberships + 1),
        "genre: duplicate (:Genre {genre_id: 1}) x2".to_owned(),
        format!("genre: count (:Genre) {genres} -> {}", genres + 1),
    ]);
    assert_eq!(common::findings(&report), expected);
}

#[test]
fn every_postgres_type_arrives_exactly() {
    let db = Postgres::new();
    db.sql(
        "CREATE TYPE mood AS ENUM ('sad', 'happy');
         CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
         CREATE TABLE everything (
           id integer PRIMARY KEY, small smallint, big bigint, exact numeric(30,10), real_ real, double_ double precision,
           flag boolean, short char(3), name_ varchar(20), body text, raw bytea, day date, clock time, stamp timestamp,
           stamp_tz timestamptz, span interval, ident uuid, doc jsonb, tags text[], grid integer[][], feeling mood,
           amount positive, nothing text)",
    );
    db.sql(
        "INSERT INTO everything VALUES (
           1, -32768, 9223372036854775807, 12345678901234567890.1234567890, 1.5, -0.25,
           true, 'ab', 'grüße ✓', 'line one\nline two', '\\x00ff10', '1962-02-18', '13:05:09.25', '1969-12-31 23:59:59.123456',
           '2024-06-15 10:30:00+05:30', '1 year 2 months 3 days 04:05:06.5', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
           '{\"a\": [1, 2.5, null], \"b\": {\"c\": \"d\"}}', ARRAY['x', NULL, 'z'], ARRAY[[1,2],[3,4]], 'happy', 7, NULL)",
    );
    let expected = serde_json::json!({
        "id": 1, "small": -32768, "big": 9223372036854775807_i64, "exact": "12345678901234567890.1234567890",
        "real_": 1.5, "double_": -0.25, "flag": true, "short": "ab ", "name_": "grüße ✓", "body": "line one\nline two",
        "raw": "AP8Q", "day": "1962-02-18", "clock": "13:05:09.250", "stamp": "1969-12-31T23:59:59.123456",
        "stamp_tz": "2024-06-15T05:00:00+00:00", "span": "P1Y2M3DT4H5M6.5S", "ident": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "doc": {"a": [1, 2.5, null], "b": {"c": "d"}}, "tags": ["x", null, "z"], "grid": [[1, 2], [3, 4]],
        "feeling": "happy", "amount": 7,
    });
    the_row_of_everything_arrives_as(&db.url(), &expected);
}

#[test]
fn a_postgres_connection_killed_mid_run_is_read_again_from_the_checkpoint() {
    let db = Postgres::new();
    db.sql(&format!(
        "CREATE TABLE item (id integer PRIMARY KEY, label text);
         INSERT INTO item SELECT g, 'item ' || g || repeat('.', 100) FROM generate_series(1, {KILL_TEST_ROWS}) g"
    ));
    let kill_reader = || -> i64 {
        let sql = format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = '{}' AND pid <> pg_backend_pid() AND query ILIKE 'COPY%'",
            db.name
        );
        Postgres::psql(None, &sql).trim().parse().expect("count")
    };
    killed_reads_are_read_again(&db.url(), kill_reader);
}

#[test]
fn postgres_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_server_that_is_down_is_named_with_a_hint_and_no_password(dir.path(), "postgres");

    // A query with a syntax error: the server's own message.
    let db = Postgres::new();
    db.sql("CREATE TABLE a (id integer PRIMARY KEY)");
    let config = one_label_config(&db.url(), "A", "query = \"SELEC id FROM a\"");
    let stderr = failed_run(dir.path(), &config);
    assert!(stderr.contains("syntax error at or near \"SELEC\" (at character 1 of the query)"), "{stderr}");

    // A value the graph cannot hold: an infinite date is rejected with its reason; the rest loads.
    db.sql(
        "CREATE TABLE d (id integer PRIMARY KEY, day date); INSERT INTO d VALUES (1, '2024-01-01'), (2, 'infinity')",
    );
    let config = one_label_config(&db.url(), "D", "table = \"d\"");
    std::fs::write(dir.path().join("grafter.toml"), config).expect("config");
    ok(dir.path(), &["run", "-q"]);
    let rejects = std::fs::read_to_string(dir.path().join("grafter.rejects.ndjson")).expect("reject file");
    assert_eq!(rejects.lines().count(), 1, "{rejects}");
    assert!(rejects.contains("day") && rejects.contains("infinity"), "{rejects}");
    assert_eq!(count(dir.path(), "MATCH (d:D) RETURN count(d) AS n"), 1);
}

#[test]
fn postgres_inheritance_children_are_read_once_through_their_parent_and_plan_warns_about_reading_both() {
    let db = Postgres::new();
    db.sql(
        "CREATE TABLE people (id integer PRIMARY KEY, name text);
         CREATE TABLE staff (role text, PRIMARY KEY (id)) INHERITS (people);
         CREATE TABLE managers (reports integer, PRIMARY KEY (id)) INHERITS (staff);
         CREATE TABLE badges (id integer PRIMARY KEY, holder integer REFERENCES staff (id));
         CREATE TABLE events (id integer, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
         CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
         CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         INSERT INTO people VALUES (1, 'Ann'), (2, 'Bob');
         INSERT INTO staff VALUES (3, 'Cy', 'clerk'), (4, 'Dee', 'cook');
         INSERT INTO managers VALUES (5, 'Eve', 'boss', 3);
         INSERT INTO badges VALUES (10, 3), (11, 4);
         INSERT INTO events VALUES (1, '2023-05-01'), (2, '2024-05-01');",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &["init", "--from", &db.url()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let config = std::fs::read_to_string(dir.path().join("grafter.toml")).expect("config");
    for child in ["staff", "managers"] {
        assert!(!config.contains(&format!("table = \"{child}\"")), "{child} is read through people:\n{config}");
        assert!(
            stderr.contains(&format!("skipped: table `{child}`: it inherits from `people`"))
                && stderr.contains("it is not mapped on its own"),
            "init says why {child} is not mapped: {stderr}"
        );
        assert!(config.contains(&format!("#   table `{child}`: it inherits from `people`")), "{config}");
    }
    // A partitioned table stays one table, its partitions unmapped and listed as skipped.
    assert!(config.contains("table = \"events\""), "{config}");
    for partition in ["events_2023", "events_2024"] {
        assert!(!config.contains(&format!("table = \"{partition}\"")), "{config}");
        let line =
            format!("skipped: partition `{partition}`: a partition of `events`: reading that table returns its rows");
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }

    ok(dir.path(), &["run", "-q"]);
    let people = db.count("SELECT count(*) FROM people");
    assert_eq!(people, 5, "a parent's scan returns its children's rows");
    assert_eq!(count(dir.path(), "MATCH (p:People) RETURN count(p) AS n"), people, "each row once");
    for (label, expected) in [("Staff", 0), ("Manager", 0), ("Badge", 2), ("Event", 2)] {
        assert_eq!(count(dir.path(), &format!("MATCH (n:{label}) RETURN count(n) AS n")), expected, "{label}");
    }
    // A foreign key to a child leads to the parent's label, where the child's rows are.
    let holders = query(dir.path(), "MATCH (b:Badge)-[:HOLDER]->(p:People) RETURN b.id AS b, p.name AS p ORDER BY b");
    assert_eq!(holders, serde_json::json!([{"b": 10, "p": "Cy"}, {"b": 11, "p": "Dee"}]));
    ok(dir.path(), &["verify"]);

    // Mapping a parent and its child reads the child's rows twice: plan warns on both.
    let both = format!(
        "{}\n[[nodes]]\nname = \"staff\"\nlabel = \"Staff\"\ntable = \"staff\"\nkey = \"id\"\n",
        one_label_config(&db.url(), "Person", "table = \"people\"")
    );
    std::fs::write(dir.path().join("grafter.toml"), &both).expect("config");
    let text = ok(dir.path(), &["plan"]);
    assert!(
        text.contains(
            "WARNING     table `staff` inherits from `people` (PostgreSQL table inheritance), which mapping `people` reads"
        ),
        "{text}"
    );
    assert!(text.contains("WARNING     table `people` returns the rows of `staff` too"), "{text}");
    assert!(text.contains("FROM ONLY people"), "{text}");
    let plan: Json = serde_json::from_str(&ok(dir.path(), &["plan", "--format", "json"])).expect("json");
    for mapping in plan["mappings"].as_array().expect("mappings") {
        let warnings = mapping["warnings"].to_string();
        assert!(warnings.contains("PostgreSQL table inheritance"), "{}: {warnings}", mapping["name"]);
    }
}

// ---------------------------------------------------------------- MariaDB

#[test]
fn chinook_from_mariadb_counts_match_sql() {
    let db = Mariadb::new();
    db.load_chinook();
    let (dir, config) = init_and_run(&db.url());
    assert!(config.contains("label = \"InvoiceLine\""), "{config}");
    assert!(config.contains("table = \"PlaylistTrack\""), "the join table is mapped:\n{config}");

    for table in
        ["Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine", "MediaType", "Playlist", "Track"]
    {
        let expected = db.count(&format!("SELECT count(*) FROM {table}"));
        assert_eq!(count(dir.path(), &format!("MATCH (n:{table}) RETURN count(n) AS n")), expected, "{table}");
    }
    // One relationship per non-null foreign key value, and one per PlaylistTrack row.
    let expected_relationships = db.count(
        "SELECT (SELECT count(ArtistId) FROM Album) + (SELECT count(SupportRepId) FROM Customer)
              + (SELECT count(ReportsTo) FROM Employee) + (SELECT count(CustomerId) FROM Invoice)
              + (SELECT count(InvoiceId) + count(TrackId) FROM InvoiceLine)
              + (SELECT count(AlbumId) + count(GenreId) + count(MediaTypeId) FROM Track)
              + (SELECT count(*) FROM PlaylistTrack)",
    );
    assert_eq!(count(dir.path(), "MATCH ()-[r]->() RETURN count(r) AS n"), expected_relationships);
    // A DECIMAL(10,2) price arrives exactly, as the policy's default string.
    let price = db.sql("SELECT UnitPrice FROM Track WHERE TrackId = 1").trim().to_owned();
    let graph = query(dir.path(), "MATCH (t:Track {TrackId: 1}) RETURN t.UnitPrice AS p");
    assert_eq!(graph[0]["p"], Json::String(price), "decimal arrives as its exact digits");
    // utf8mb4 text arrives intact.
    let name = db.sql("SELECT Name FROM Artist WHERE ArtistId = 208").trim().to_owned();
    let graph = query(dir.path(), "MATCH (a:Artist {ArtistId: 208}) RETURN a.Name AS name");
    assert_eq!(graph[0]["name"], Json::String(name));
}

#[test]
fn every_mariadb_type_arrives_exactly() {
    let db = Mariadb::new();
    db.sql(
        "CREATE TABLE everything (
           id INT PRIMARY KEY, flag TINYINT(1), small SMALLINT, big BIGINT, unsigned_big BIGINT UNSIGNED,
           exact DECIMAL(30,10), real_ FLOAT, double_ DOUBLE, short CHAR(3), name_ VARCHAR(20), body TEXT,
           raw BLOB, day DATE, clock TIME(6), stamp DATETIME(6), stamp_ts TIMESTAMP(3) NULL, year_ YEAR,
           feeling ENUM('sad','happy'), tags SET('red','green','blue'), doc JSON, nothing TEXT)",
    );
    db.sql(
        "SET time_zone = '+00:00';
         INSERT INTO everything VALUES (1, 1, -32768, -9223372036854775808, 9223372036854775807,
           '12345678901234567890.1234567890', 1.5, -0.25, 'ab', 'grüße 😀', 'line one\\nline two',
           x'00ff10', '1962-02-18', '13:05:09.25', '1969-12-31 23:59:59.123456', '2024-06-15 05:00:00.125', 2024,
           'happy', 'blue,red', '{\"a\": [1, 2.5, null], \"b\": {\"c\": \"d\"}}', NULL)",
    );
    let expected = serde_json::json!({
        "id": 1, "flag": true, "small": -32768, "big": i64::MIN, "unsigned_big": i64::MAX,
        "exact": "12345678901234567890.1234567890", "real_": 1.5, "double_": -0.25, "short": "ab",
        "name_": "grüße 😀", "body": "line one\nline two", "raw": "AP8Q", "day": "1962-02-18",
        "clock": "13:05:09.250", "stamp": "1969-12-31T23:59:59.123456", "stamp_ts": "2024-06-15T05:00:00.125+00:00",
        "year_": 2024, "feeling": "happy", "tags": ["red", "blue"], "doc": {"a": [1, 2.5, null], "b": {"c": "d"}},
    });
    the_row_of_everything_arrives_as(&db.url(), &expected);
}

#[test]
fn an_unsigned_bigint_beyond_i64_is_rejected_by_default_with_its_reason() {
    let db = Mariadb::new();
    db.sql(
        "CREATE TABLE counter (id INT PRIMARY KEY, hits BIGINT UNSIGNED);
         INSERT INTO counter VALUES (1, 5), (2, 18446744073709551615)",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_label_config(&db.url(), "Counter", "table = \"counter\"");
    std::fs::write(dir.path().join("grafter.toml"), &config).expect("config");
    ok(dir.path(), &["run", "-q"]);
    let rejects = std::fs::read_to_string(dir.path().join("grafter.rejects.ndjson")).expect("reject file");
    assert_eq!(rejects.lines().count(), 1, "{rejects}");
    assert!(rejects.contains("hits") && rejects.contains("18446744073709551615"), "{rejects}");
    assert_eq!(count(dir.path(), "MATCH (c:Counter) RETURN count(c) AS n"), 1);

    // With the documented policy `unsigned_overflow = "string"`, the value is kept exactly.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config.replace("[[nodes]]", "[source.types]\nunsigned_overflow = \"string\"\n\n[[nodes]]");
    std::fs::write(dir.path().join("grafter.toml"), &config).expect("config");
    ok(dir.path(), &["run", "-q"]);
    let graph = query(dir.path(), "MATCH (c:Counter {id: 2}) RETURN c.hits AS hits");
    assert_eq!(graph[0]["hits"], Json::from("18446744073709551615"));
}

#[test]
fn a_mariadb_connection_killed_mid_run_is_read_again_from_the_checkpoint() {
    let db = Mariadb::new();
    db.sql(&format!(
        "CREATE TABLE item (id INT PRIMARY KEY, label TEXT);
         INSERT INTO item SELECT seq, concat('item ', seq, repeat('.', 100)) FROM seq_1_to_{KILL_TEST_ROWS}"
    ));
    let kill_reader = || -> i64 {
        let sql = format!(
            "SELECT id FROM information_schema.PROCESSLIST
             WHERE db = '{}' AND command <> 'Sleep' AND info LIKE 'SELECT%' AND id <> CONNECTION_ID()",
            db.name
        );
        let ids = Mariadb::client(None, &sql);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        for id in &ids {
            Mariadb::client(None, &format!("KILL CONNECTION {id}"));
        }
        ids.len() as i64
    };
    killed_reads_are_read_again(&db.url(), kill_reader);
}

#[test]
fn mariadb_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_server_that_is_down_is_named_with_a_hint_and_no_password(dir.path(), "mysql");

    // A query with a syntax error: the server's own message.
    let db = Mariadb::new();
    db.sql("CREATE TABLE a (id INT PRIMARY KEY)");
    let config = one_label_config(&db.url(), "A", "query = \"SELEC id FROM a\"");
    let stderr = failed_run(dir.path(), &config);
    assert!(stderr.contains("You have an error in your SQL syntax") && stderr.contains("SELEC id FROM a"), "{stderr}");

    // A key that is not a column names the mapping, the key and the columns there are.
    let config = one_label_config(&db.url(), "A", "table = \"a\"").replace("key = \"id\"", "key = \"idd\"");
    std::fs::write(dir.path().join("grafter.toml"), config).expect("config");
    let output = run(dir.path(), &["run", "-q"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("key property `idd`") && stderr.contains("hint: properties: id"), "{stderr}");
}

/// A shop with a view, two audit tables and a customer table to leave out.
const SHOP_WITH_VIEWS: &str = "CREATE TABLE customer (id integer PRIMARY KEY, name varchar(40));
     CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customer (id), total integer);
     CREATE TABLE audit_log (id integer PRIMARY KEY, text varchar(40));
     CREATE TABLE audit_trail (id integer PRIMARY KEY, text varchar(40));
     CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
     INSERT INTO customer VALUES (1, 'Ann'), (2, 'Bob');
     INSERT INTO orders VALUES (10, 1, 50), (11, 2, 500);
     INSERT INTO audit_log VALUES (1, 'x');";

/// `init --include/--exclude` on a server: what is left out is listed with the pattern that
/// decided it (views always, with why), a pattern matching nothing is named, a reference to
/// a table left out stays a property, and patterns that leave nothing or are no globs are
/// refused. `views` are the views the server has beyond `big_orders`.
fn init_maps_the_tables_patterns_choose_and_lists_the_rest(url: &str, views: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &["init", "--from", url, "--exclude", "audit*", "--exclude", "customer,nothing_*"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for line in [
        "skipped: table `audit_log`: excluded by --exclude 'audit*'",
        "skipped: table `audit_trail`: excluded by --exclude 'audit*'",
        "skipped: table `customer`: excluded by --exclude 'customer'",
        "skipped: view `big_orders`: a view has no primary key to map by",
        "warning: --exclude 'nothing_*' matches no table or view",
        "warning: foreign key orders.customer_id references `customer`, which is not mapped to nodes; no relationship \
         was generated (the column stays a property)",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
    let listed = format!("from 4 tables of {url} ({} skipped, listed below)", 4 + views.len());
    assert!(stderr.contains(&listed), "{listed}\n{stderr}");
    for view in views {
        assert!(stderr.contains(&format!("skipped: view `{view}`: a view has no primary key")), "{view}: {stderr}");
    }
    let config = std::fs::read_to_string(dir.path().join("grafter.toml")).expect("config");
    assert!(
        config.contains("# Not mapped (`grafter init --exclude 'audit*' --exclude 'customer' --exclude 'nothing_*'`):"),
        "{config}"
    );
    let tables: Vec<&str> = config.lines().filter(|l| l.starts_with("table = ")).collect();
    assert_eq!(tables, ["table = \"orders\""], "{config}");
    ok(dir.path(), &["run", "-q"]);
    assert_eq!(count(dir.path(), "MATCH (o:Order) WHERE o.customer_id IS NOT NULL RETURN count(o) AS n"), 2);

    let output = run(dir.path(), &["init", "--from", url, "--force", "--include", "ord*,cust*"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("skipped: table `audit_log`: matches no --include pattern ('ord*', 'cust*')"), "{stderr}");
    let config = std::fs::read_to_string(dir.path().join("grafter.toml")).expect("config");
    assert!(config.contains("table = \"customer\"") && config.contains("type = \"CUSTOMER\""), "{config}");

    for (args, expected) in [
        (&["--include", "[ord"][..], "--include \"[ord\" is not a table pattern"),
        (&["--include", "Orders"][..], "no table of "),
    ] {
        let mut all = vec!["init", "--from", url, "--force"];
        all.extend(args);
        let output = run(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn postgres_init_maps_the_tables_patterns_choose_and_lists_views_and_the_rest() {
    let db = Postgres::new();
    db.sql(&format!(
        "{SHOP_WITH_VIEWS}
         CREATE MATERIALIZED VIEW order_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;"
    ));
    init_maps_the_tables_patterns_choose_and_lists_the_rest(&db.url(), &["order_totals"]);
}

#[test]
fn mariadb_init_maps_the_tables_patterns_choose_and_lists_views_and_the_rest() {
    let db = Mariadb::new();
    db.sql(SHOP_WITH_VIEWS);
    init_maps_the_tables_patterns_choose_and_lists_the_rest(&db.url(), &[]);
}

#[test]
fn postgres_cast_rules_give_columns_the_graph_types_plan_names_as_falkordbs_own_client_reads_them() {
    let db = Postgres::new();
    db.sql(
        "CREATE TABLE account (id numeric(10,0) PRIMARY KEY, balance numeric(12,2), opened time, code varchar(8), note text);
         CREATE TABLE transfer (id int PRIMARY KEY, account_id numeric(10,0) REFERENCES account, amount numeric(12,2));
         INSERT INTO account VALUES (1, 10.50, '08:30', '17', 'first'), (2, 3.25, '17:45:30', 'x9', 'second');
         INSERT INTO transfer VALUES (10, 1, 99.99), (11, 2, 1.00), (12, 1, 0.10)",
    );
    let graph = common::falkordb_graph("casts");
    let config = format!(
        r#"[source]
url = "{}"

[target]
url = "{graph}"

[[nodes]]
label = "Account"
table = "account"
key = "id"

[[nodes]]
label = "Transfer"
table = "transfer"
key = "id"
exclude = ["account_id"]

[[relationships]]
name = "from"
type = "FROM"
table = "transfer"
start = {{ label = "Transfer", key = "id" }}
end = {{ label = "Account", key = "account_id" }}

[[casts]]
type = "decimal"
to = "float"

[[casts]]
column = "account.id"
to = "int"

[[casts]]
column = "transfer.account_id"
to = "int"

[[casts]]
column = "account.code"
to = "int"

[[casts]]
type = "time"
to = "string"

[[casts]]
type = "money"
to = "float"
"#,
        db.url()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("grafter.toml"), &config).expect("config");
    let rule = |matcher: &str, to: &str| {
        format!("[[casts]] {matcher} → {to} (grafter.toml:{})", line_of(&config, matcher) - 1)
    };

    // plan says, per column, the source type, the graph type and the rule that decided.
    let plan = ok(dir.path(), &["plan"]);
    let line = |property: &str| {
        plan.lines()
            .find(|l| l.split_whitespace().any(|word| word == property) && l.contains('→'))
            .unwrap_or_else(|| panic!("{property}: {plan}"))
    };
    let decimal_rule = rule("type = \"decimal\"", "float");
    assert!(line("balance").contains("numeric(12,2)") && line("balance").contains(&decimal_rule), "{plan}");
    // A column rule beats the type rule that also matches the key column.
    assert!(line("id").contains("numeric(10,0)") && line("id").contains("→ integer"), "{plan}");
    assert!(line("id").contains(&rule("column = \"account.id\"", "int")), "{plan}");
    assert!(line("opened").contains("time without time zone") && line("opened").contains("→ string"), "{plan}");
    assert!(line("note").contains("text") && !line("note").contains("by "), "exact types need no rule: {plan}");
    assert!(plan.contains(&format!("WARNING  {} matches no column", rule("type = \"money\"", "float"))), "{plan}");
    let json: Json = serde_json::from_str(&ok(dir.path(), &["plan", "--format", "json"])).expect("JSON");
    let account = json["mappings"].as_array().unwrap().iter().find(|m| m["name"] == "account").expect("account");
    let balance = account["types"].as_array().unwrap().iter().find(|t| t["property"] == "balance").expect("balance");
    assert_eq!(
        (&balance["source_type"], &balance["graph_type"], &balance["rule"]),
        (&Json::from("numeric(12,2)"), &Json::from("float"), &Json::from(decimal_rule.as_str()))
    );

    // 'x9' is no integer: that account is rejected with its reason, and the transfer to it
    // with its own; the rest arrives typed as the rules say, read by FalkorDB's own client.
    ok(dir.path(), &["run", "-q"]);
    let rejects = std::fs::read_to_string(dir.path().join("grafter.rejects.ndjson")).expect("rejects");
    let account_reject = rejects.lines().find(|l| l.contains("\"mapping\":\"account\"")).expect(&rejects);
    assert!(account_reject.contains("code") && account_reject.contains("x9"), "{account_reject}");
    assert_eq!(rejects.lines().count(), 2, "the account and the transfer to it: {rejects}");
    let own = |label: &str| -> Vec<Json> {
        let nodes = common::bolt_servers::read_back(&graph, label);
        nodes
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                let properties = n.as_object().expect("a node's properties");
                properties
                    .iter()
                    .filter(|(k, _)| !k.starts_with("_grafter"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        own("Account"),
        [serde_json::json!({
            "id": ["int", "1"], "balance": ["float", "10.5"], "opened": ["str", "08:30:00"], "code": ["int", "17"],
            "note": ["str", "first"]
        })]
    );
    let mut amounts: Vec<String> = own("Transfer").iter().map(|t| t["amount"].to_string()).collect();
    amounts.sort();
    assert_eq!(amounts, [r#"["float","0.1"]"#, r#"["float","1.0"]"#, r#"["float","99.99"]"#]);
    // The relationship's key column was cast like the node key, so both transfers of
    // account 1 find it (an uncast numeric would never equal the integer key).
    let linked = "MATCH (:Transfer)-[r:FROM]->(:Account {id: 1}) RETURN count(r)";
    assert_eq!(common::bolt_servers::count_back(&graph, linked), 2);
}
