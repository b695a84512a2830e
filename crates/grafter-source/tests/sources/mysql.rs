//! The MySQL / MariaDB source against a real server (127.0.0.1:3306, user `root`, no
//! password; `GRAFTER_TEST_MYSQL_URL` overrides the URL; `scripts/services start` runs it). A server
//! that cannot be reached fails every test with a message saying so: these tests never skip.
//!
//! Each test works in a database of its own ([`TestDb`]).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveTime};
use futures::StreamExt as _;
use grafter_model::{
    BytesPolicy, Cursor, DecimalPolicy, Duration, JsonPolicy, SourceRow, TypePolicy, UnsignedOverflow, Value,
    ZeroDatePolicy,
};
use grafter_source::mysql::MysqlSource;
use grafter_source::{Read, ScanRequest, Source, SourceError};
use mysql_async::prelude::Queryable as _;

use crate::common::mysql::{TestDb, admin, server_url};
use crate::common::{package_dir, request, scan_all, table, values};

// ---------------------------------------------------------------------------------------
// 1. Types
// ---------------------------------------------------------------------------------------

const TYPES_TABLE: &str = "
CREATE TABLE types (
  id INT PRIMARY KEY,
  b TINYINT(1), bo BOOLEAN, ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(30,10), fl FLOAT, db DOUBLE,
  c CHAR(5), vc VARCHAR(40), tx TEXT, l1 VARCHAR(10) CHARACTER SET latin1,
  bn BINARY(3), vb VARBINARY(10), bl BLOB,
  d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), y YEAR,
  en ENUM('small','large'), st SET('x','y','z'), js JSON, bt BIT(5), b64 BIT(64), g GEOMETRY
)";

const COLUMNS: &[&str] = &[
    "id", "b", "bo", "ti", "si", "mi", "i", "iu", "bi", "bu", "de", "fl", "db", "c", "vc", "tx", "l1", "bn", "vb",
    "bl", "d", "dt", "ts", "tm", "y", "en", "st", "js", "bt", "b64", "g",
];

async fn types_db() -> TestDb {
    let db = TestDb::new().await;
    db.exec(TYPES_TABLE).await;
    db.exec(
        "INSERT INTO types VALUES
         (1, 1, 0, -128, -32768, -8388608, -2147483648, 4294967295,
          -9223372036854775808, 18446744073709551615,
          '-12345678901234567890.0123456789', 0.1, 0.1,
          'ab', 'héllo 😀 wörld', 'text', 'café', x'000102', x'ff00', x'deadbeef',
          '2024-02-29', '2024-02-29 13:05:09.123456', '2024-02-29 13:05:09.654321', '838:59:59', 2024,
          'large', 'x,z', '{\"a\": [1, 2.5, {\"b\": null}], \"c\": \"d\"}', b'10101',
          b'1111111111111111111111111111111111111111111111111111111111111111', ST_GeomFromText('POINT(1 2)')),
         (2, 0, 1, 127, 32767, 8388607, 2147483647, 0,
          9223372036854775807, 9223372036854775807,
          '0.0000000001', -1.5, 1e308,
          '', '', '', '', x'', x'', x'',
          '1000-01-01', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', '-00:00:01.5', 1901,
          'small', '', '[]', b'0', b'0', ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326)),
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    .await;
    // Zero dates need a non-strict session to be stored at all.
    db.exec(
        "SET SESSION sql_mode = '';
         INSERT INTO types (id, d, dt, ts, tm) VALUES
           (4, '0000-00-00', '2024-00-10 00:00:00', '0000-00-00 00:00:00', '12:30:00')",
    )
    .await;
    db
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn json(text: &str) -> Value {
    Value::from_json(serde_json::from_str(text).unwrap())
}

/// The rows of the types table as grafter must read them under the default policy except
/// `unsigned_overflow = string` (so that row 1 is accepted too).
fn expected_rows() -> Vec<Vec<Value>> {
    let s = |text: &str| Value::from(text);
    let row1 = vec![
        Value::Int(1),
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(-128),
        Value::Int(-32768),
        Value::Int(-8388608),
        Value::Int(-2147483648),
        Value::Int(4294967295),
        Value::Int(i64::MIN),
        s("18446744073709551615"),
        s("-12345678901234567890.0123456789"),
        Value::Float(0.1),
        Value::Float(0.1),
        s("ab"),
        s("héllo 😀 wörld"),
        s("text"),
        s("café"),
        s("AAEC"),
        s("/wA="),
        s("3q2+7w=="),
        Value::Date(date(2024, 2, 29)),
        Value::DateTime(date(2024, 2, 29).and_hms_micro_opt(13, 5, 9, 123_456).unwrap()),
        Value::DateTimeTz(DateTime::parse_from_rfc3339("2024-02-29T13:05:09.654321+00:00").unwrap()),
        Value::Duration(Duration { months: 0, days: 0, nanos: (838 * 3600 + 59 * 60 + 59) * 1_000_000_000 }),
        Value::Int(2024),
        s("large"),
        // A SET is a list of its members, not their comma-joined text.
        Value::List(vec![s("x"), s("z")]),
        json(r#"{"a": [1, 2.5, {"b": null}], "c": "d"}"#),
        Value::Int(21),
        s("//////////8="),
        // Geometries as their WKT text, not the server's internal bytes.
        s("POINT(1 2)"),
    ];
    let row2 = vec![
        Value::Int(2),
        Value::Bool(false),
        Value::Bool(true),
        Value::Int(127),
        Value::Int(32767),
        Value::Int(8388607),
        Value::Int(2147483647),
        Value::Int(0),
        Value::Int(i64::MAX),
        Value::Int(i64::MAX),
        s("0.0000000001"),
        Value::Float(-1.5),
        Value::Float(1e308),
        s(""),
        s(""),
        s(""),
        s(""),
        // BINARY(3) pads with zero bytes.
        s("AAAA"),
        s(""),
        s(""),
        Value::Date(date(1000, 1, 1)),
        Value::DateTime(date(9999, 12, 31).and_hms_micro_opt(23, 59, 59, 999_999).unwrap()),
        Value::DateTimeTz(DateTime::parse_from_rfc3339("1970-01-01T00:00:01+00:00").unwrap()),
        Value::Duration(Duration { months: 0, days: 0, nanos: -1_500_000_000 }),
        Value::Int(1901),
        s("small"),
        Value::List(Vec::new()),
        Value::List(Vec::new()),
        Value::Int(0),
        s("AAAAAAAAAAA="),
        // With an SRID: EWKT.
        s("SRID=4326;POLYGON((0 0,1 0,1 1,0 0))"),
    ];
    let row3 = std::iter::once(Value::Int(3)).chain(std::iter::repeat_n(Value::Null, COLUMNS.len() - 1)).collect();
    let mut row4: Vec<Value> =
        std::iter::once(Value::Int(4)).chain(std::iter::repeat_n(Value::Null, COLUMNS.len() - 1)).collect();
    row4[23] = Value::Time(NaiveTime::from_hms_opt(12, 30, 0).unwrap());
    vec![row1, row2, row3, row4]
}

async fn scan_types(source: &MysqlSource) -> Vec<SourceRow> {
    scan_all(source, request(table("types"), COLUMNS, &["id"], 3)).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_becomes_the_right_value() {
    let db = types_db().await;
    let policy = TypePolicy { unsigned_overflow: UnsignedOverflow::String, ..TypePolicy::default() };
    let source = db.source(policy).await;
    let rows = scan_types(&source).await;
    let got = values(&rows);
    let expected = expected_rows();
    assert_eq!(got.len(), expected.len());
    for (got, expected) in got.iter().zip(&expected) {
        for ((name, got), expected) in COLUMNS.iter().zip(got).zip(expected) {
            assert_eq!(got, expected, "column `{name}` of row {:?}", expected_rows()[0][0]);
        }
        assert_eq!(got, expected);
    }
    assert_eq!(rows.iter().map(SourceRow::line).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_describe_declared_and_logical_types() {
    use grafter_model::LogicalType as L;
    let db = types_db().await;
    let source = db.source(TypePolicy::default()).await;
    let columns = source.columns(&table("types")).await.unwrap();
    let by_name: BTreeMap<&str, (&str, L)> =
        columns.iter().map(|c| (c.name.as_str(), (c.declared_type.as_deref().unwrap(), c.logical_type))).collect();
    assert_eq!(by_name["b"], ("tinyint(1)", L::Bool));
    assert_eq!(by_name["de"], ("decimal(30,10)", L::Decimal));
    assert_eq!(by_name["bu"].1, L::Int);
    assert_eq!(by_name["js"], ("json", L::Json));
    assert_eq!(by_name["ts"], ("timestamp(6)", L::DateTimeTz));
    assert_eq!(by_name["vb"], ("varbinary(10)", L::Bytes));
    assert_eq!(by_name["b64"].1, L::Bytes);
    assert_eq!(by_name["st"], ("set('x','y','z')", L::List));
    // TIME is a span (it may pass 24 hours or be negative): a duration, not a time of day.
    assert_eq!(by_name["tm"], ("time(6)", L::Duration));
    assert_eq!(columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), COLUMNS);

    // A query: described by the server, JSON still found behind it (MariaDB's JSON is text).
    let query = Read::Query("SELECT t.js, t.de AS amount, t.id + 1 AS next FROM types t".into());
    let columns = source.columns(&query).await.unwrap();
    let described: Vec<(&str, &str, L)> =
        columns.iter().map(|c| (c.name.as_str(), c.declared_type.as_deref().unwrap(), c.logical_type)).collect();
    assert_eq!(
        described,
        [("js", "json", L::Json), ("amount", "decimal(30,10)", L::Decimal), ("next", "bigint", L::Int)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_reject_or_keep_what_has_no_exact_graph_value() {
    let db = types_db().await;

    // Defaults: the unsigned overflow rejects row 1 naming the column and the value; zero
    // dates become NULL (row 4 above).
    let source = db.source(TypePolicy::default()).await;
    let rows = scan_types(&source).await;
    let SourceRow::Malformed { raw, reason, line } = &rows[0] else { panic!("row 1 must be rejected: {:?}", rows[0]) };
    assert_eq!(*line, 1);
    assert!(reason.starts_with("column `bu`: 18446744073709551615 does not fit"), "{reason}");
    let raw: serde_json::Value = serde_json::from_str(raw).unwrap();
    assert_eq!(raw["bu"], "18446744073709551615");
    assert_eq!(raw["vc"], "héllo 😀 wörld");
    assert_eq!(values(&rows[1..]), expected_rows()[1..]);

    // Zero dates rejected, naming the column.
    let strict = TypePolicy {
        zero_date: ZeroDatePolicy::Reject,
        unsigned_overflow: UnsignedOverflow::String,
        ..TypePolicy::default()
    };
    let rows = db.source(strict).await;
    let rows = scan_types(&rows).await;
    let SourceRow::Malformed { reason, line, .. } = &rows[3] else { panic!("row 4 must be rejected: {:?}", rows[3]) };
    assert_eq!(*line, 4);
    assert_eq!(reason, "column `d`: zero date 0000-00-00 (zero_date policy is `reject`)");
    assert!(matches!(rows[2], SourceRow::Ok { .. }), "NULLs are not zero dates");

    // Decimals as floats, JSON as text, bytes raw.
    let other = TypePolicy {
        unsigned_overflow: UnsignedOverflow::String,
        decimal: DecimalPolicy::Float,
        json: JsonPolicy::String,
        bytes: BytesPolicy::Raw,
        zero_date: ZeroDatePolicy::Null,
    };
    let source = db.source(other).await;
    let rows =
        values(&scan_all(&source, request(table("types"), &["de", "js", "vb", "g", "b64"], &["id"], 10)).await.0);
    assert_eq!(rows[0][0], Value::Float(-12345678901234567890.0123456789));
    assert_eq!(rows[0][1], Value::from(r#"{"a": [1, 2.5, {"b": null}], "c": "d"}"#));
    assert_eq!(rows[0][2], Value::Bytes(vec![0xff, 0]));
    // Geometries are WKT text whatever the bytes policy: their bytes are the server's form.
    assert_eq!(rows[0][3], Value::from("POINT(1 2)"));
    assert_eq!(rows[0][4], Value::Bytes(vec![255; 8]));
    assert_eq!(rows[1][0], Value::Float(0.0000000001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tinyint1_that_is_not_a_boolean_rejects_the_row() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE flags (id INT PRIMARY KEY, active TINYINT(1)); INSERT INTO flags VALUES (1, 1), (2, 2), (3, 0)",
    )
    .await;
    let source = db.source(TypePolicy::default()).await;
    let rows = scan_all(&source, request(table("flags"), &["id", "active"], &["id"], 10)).await.0;
    assert_eq!(rows[0], SourceRow::Ok { values: vec![Value::Int(1), Value::Bool(true)], line: 1 });
    let SourceRow::Malformed { raw, reason, line } = &rows[1] else { panic!("{:?}", rows[1]) };
    assert_eq!((raw.as_str(), *line), (r#"{"id":2,"active":2}"#, 2));
    assert!(reason.starts_with("column `active`: 2 is not a boolean"), "{reason}");
    assert_eq!(rows[2], SourceRow::Ok { values: vec![Value::Int(3), Value::Bool(false)], line: 3 });
}

/// Bytes that are not UTF-8 in a column read as text must reject the row, never become a
/// lossy string. The server validates text on the way in (and converts it on the way out),
/// so such bytes only exist where they got in around it: here, a MyISAM data file written
/// directly — what a restored raw backup or a damaged table looks like.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_text_column_rejects_the_row_naming_the_column() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE words (id INT NOT NULL PRIMARY KEY, word CHAR(4) NOT NULL) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4;
         INSERT INTO words VALUES (1, 'ok'), (2, 'cafX'); FLUSH TABLES words",
    )
    .await;
    let mut conn = db.conn().await;
    let datadir: String = conn.query_first("SELECT @@datadir").await.unwrap().unwrap();
    let file = std::path::Path::new(&datadir).join(&db.name).join("words.MYD");
    let mut data = std::fs::read(&file)
        .unwrap_or_else(|e| panic!("this test patches {} and must run beside the server: {e}", file.display()));
    let at = data.windows(4).position(|w| w == b"cafX").expect("the row is in the data file");
    data[at + 3] = 0xE9; // latin1 é: not UTF-8 on its own
    std::fs::write(&file, &data).unwrap();
    conn.query_drop("FLUSH TABLES words").await.unwrap();
    let stored: String = conn.query_first("SELECT HEX(word) FROM words WHERE id = 2").await.unwrap().unwrap();
    assert_eq!(stored, "636166E9", "the server hands the bytes on unchanged");

    let source = db.source(TypePolicy::default()).await;
    let rows = scan_all(&source, request(table("words"), &["id", "word"], &["id"], 10)).await.0;
    assert_eq!(rows[0], SourceRow::Ok { values: vec![Value::Int(1), Value::from("ok")], line: 1 });
    let SourceRow::Malformed { raw, reason, line } = &rows[1] else { panic!("{:?}", rows[1]) };
    assert_eq!(*line, 2);
    assert!(reason.starts_with("column `word`: invalid UTF-8"), "{reason}");
    assert_eq!(raw, "{\"id\":2,\"word\":\"caf\u{fffd}\"}");
}

// ---------------------------------------------------------------------------------------
// 2. Chinook
// ---------------------------------------------------------------------------------------

const CHINOOK: &str = "../../tests/data/chinook/Chinook_MySql.sql";

async fn chinook() -> TestDb {
    let db = TestDb::new().await;
    let path = package_dir().join(CHINOOK);
    let script = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The script makes its own `Chinook` database; load it into the test's instead.
    let script = script
        .replace("DROP DATABASE IF EXISTS `Chinook`;", "")
        .replace("CREATE DATABASE `Chinook`;", "")
        .replace("USE `Chinook`;", &format!("USE `{}`;", db.name));
    let mut conn = db.conn().await;
    // One multi-statement text: the driver reads every statement's result.
    conn.query_drop(script).await.unwrap();
    conn.disconnect().await.unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinook_introspects_and_scans_completely() {
    let db = chinook().await;
    let source = db.source(TypePolicy::default()).await;
    let catalog = source.introspect().await.unwrap();
    let names: Vec<&str> = catalog.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Album",
            "Artist",
            "Customer",
            "Employee",
            "Genre",
            "Invoice",
            "InvoiceLine",
            "MediaType",
            "Playlist",
            "PlaylistTrack",
            "Track"
        ]
    );
    let playlist_track = catalog.table("PlaylistTrack").unwrap();
    assert_eq!(playlist_track.primary_key, ["PlaylistId", "TrackId"]);
    let mut references: Vec<(Vec<String>, &str, Vec<String>)> = playlist_track
        .foreign_keys
        .iter()
        .map(|fk| (fk.columns.clone(), fk.ref_table.as_str(), fk.ref_columns.clone()))
        .collect();
    references.sort();
    assert_eq!(
        references,
        [
            (vec!["PlaylistId".to_owned()], "Playlist", vec!["PlaylistId".to_owned()]),
            (vec!["TrackId".to_owned()], "Track", vec!["TrackId".to_owned()]),
        ]
    );
    let employee = catalog.table("Employee").unwrap();
    assert_eq!(employee.primary_key, ["EmployeeId"]);
    assert!(
        employee
            .foreign_keys
            .iter()
            .any(|fk| fk.columns == ["ReportsTo"] && fk.ref_table == "Employee" && fk.ref_columns == ["EmployeeId"]),
        "{:?}",
        employee.foreign_keys
    );
    let track = catalog.table("Track").unwrap();
    assert_eq!(track.foreign_keys.len(), 3);
    let price = track.columns.iter().find(|c| c.name == "UnitPrice").unwrap();
    assert_eq!(price.declared_type.as_deref(), Some("decimal(10,2)"));
    assert_eq!(price.nullable, Some(false));

    let mut admin = db.conn().await;
    for table in &catalog.tables {
        let expected: u64 = admin.query_first(format!("SELECT COUNT(*) FROM `{}`", table.name)).await.unwrap().unwrap();
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let key = source.scan_key(&Read::Table(table.name.clone())).await.unwrap().unwrap();
        assert_eq!(key, table.primary_key);
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        let scan = request(Read::Table(table.name.clone()), &columns, &key, 1000);
        assert_eq!(source.count(&scan).await.unwrap(), Some(expected), "{}", table.name);
        let (rows, _) = scan_all(&source, scan).await;
        assert_eq!(rows.len() as u64, expected, "{}", table.name);
        assert!(rows.iter().all(|r| matches!(r, SourceRow::Ok { .. })), "{}", table.name);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Cursors, resumes, ranges
// ---------------------------------------------------------------------------------------

/// A table with a composite key of an integer and a string, in an order where the string
/// part decides often.
async fn pairs_db() -> TestDb {
    let db = TestDb::new().await;
    let mut rows = Vec::new();
    for n in 0..257 {
        rows.push(format!(
            "({}, 'name-{:03}', {n}, {})",
            n % 7,
            (n * 37) % 257,
            if n % 5 == 0 { "NULL".into() } else { n.to_string() }
        ));
    }
    db.exec(&format!(
        "CREATE TABLE pairs (g INT NOT NULL, name VARCHAR(20) NOT NULL, v INT NOT NULL, ref INT NULL, PRIMARY KEY (g, name));
         INSERT INTO pairs VALUES {}",
        rows.join(", ")
    ))
    .await;
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_scans_resume_exactly_and_splits_cover_every_row_once() {
    let db = pairs_db().await;
    let source = db.source(TypePolicy::default()).await;
    assert_eq!(source.scan_key(&table("pairs")).await.unwrap(), Some(vec!["g".to_owned(), "name".to_owned()]));

    // Keyed, small batches; the key's columns are not all requested (cut off but used).
    let keyed = request(table("pairs"), &["v", "g"], &["g", "name"], 10);
    let (rows, cursors) = scan_all(&source, keyed.clone()).await;
    let ordered = Read::Query("SELECT g, name, v FROM pairs ORDER BY g, name".into());
    let (reference, _) = scan_all(&source, request(ordered, &["v", "g"], &[], 1000)).await;
    assert_eq!(values(&rows), values(&reference));
    assert_eq!(rows.len(), 257);
    assert_eq!(cursors.len(), 26);

    // Resuming after every batch's cursor yields exactly the rest.
    for (index, cursor) in cursors.iter().enumerate() {
        let Cursor::Key(key) = cursor else { panic!("keyed scans have key cursors: {cursor:?}") };
        assert_eq!(key.len(), 2);
        let resumed = ScanRequest { after: cursor.clone(), ..keyed.clone() };
        let (rest, _) = scan_all(&source, resumed).await;
        let done = ((index + 1) * 10).min(257);
        assert_eq!(values(&rest), values(&rows[done..]), "after batch {index}");
    }

    // Unkeyed reads count rows; resuming skips them.
    let unkeyed = request(table("pairs"), &["g", "name"], &[], 100);
    let (all, cursors) = scan_all(&source, unkeyed.clone()).await;
    assert_eq!(cursors[0], Cursor::Rows { rows: 100, byte_offset: None });
    let (rest, _) = scan_all(&source, ScanRequest { after: cursors[0].clone(), ..unkeyed }).await;
    assert_eq!(values(&rest), values(&all[100..]));
    assert_eq!(rest[0].line(), 101);

    // Three ranges: consecutive, each about a third, every row exactly once.
    let ranges = source.split(&table("pairs"), &["g".to_owned(), "name".to_owned()], 3).await.unwrap();
    assert_eq!(ranges.len(), 3);
    assert!(ranges[0].after.is_none() && ranges[2].up_to.is_none());
    assert_eq!(ranges[0].up_to, ranges[1].after);
    assert_eq!(ranges[1].up_to, ranges[2].after);
    let mut covered = Vec::new();
    for range in &ranges {
        let part = ScanRequest { range: range.clone(), ..keyed.clone() };
        let counted = source.count(&part).await.unwrap().unwrap();
        let (rows, _) = scan_all(&source, part).await;
        assert_eq!(rows.len() as u64, counted);
        assert!((80..=90).contains(&rows.len()), "{} rows in {range:?}", rows.len());
        covered.extend(values(&rows));
    }
    assert_eq!(covered, values(&rows));

    // A range resumed from a cursor inside it stays inside it.
    let second = ScanRequest { range: ranges[1].clone(), batch_size: 7, ..keyed.clone() };
    let (part, cursors) = scan_all(&source, second.clone()).await;
    let (rest, _) = scan_all(&source, ScanRequest { after: cursors[2].clone(), ..second }).await;
    assert_eq!(values(&rest), values(&part[21..]));

    // skip_null is pushed into WHERE, for counts too.
    let skipping =
        ScanRequest { skip_null: vec!["ref".into()], ..request(table("pairs"), &["ref"], &["g", "name"], 50) };
    assert_eq!(source.count(&skipping).await.unwrap(), Some(205));
    let (rows, _) = scan_all(&source, skipping).await;
    assert_eq!(rows.len(), 205);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_every_kind_resume_exactly() {
    // Keys whose grafter form is not their MySQL type: unsigned beyond i64 (kept as text),
    // binary (base64), decimals, timestamps, dates.
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE big (k BIGINT UNSIGNED PRIMARY KEY, v INT);
         INSERT INTO big VALUES (1, 1), (9223372036854775807, 2), (9223372036854775808, 3), (18446744073709551614, 4), (18446744073709551615, 5);
         CREATE TABLE bin (k VARBINARY(4) PRIMARY KEY, v INT);
         INSERT INTO bin VALUES (x'00', 1), (x'00ff', 2), (x'7f', 3), (x'80', 4), (x'ff', 5);
         CREATE TABLE dec_ts (k DECIMAL(30,10), t TIMESTAMP(6), d DATE, v INT, PRIMARY KEY (k, t, d));
         INSERT INTO dec_ts VALUES
           (12345678901234567890.0000000001, '2020-01-01 00:00:00.5', '2020-01-01', 1),
           (12345678901234567890.0000000001, '2020-01-01 00:00:00.5', '2020-01-02', 2),
           (12345678901234567890.0000000002, '2020-01-01 00:00:00', '2020-01-01', 3),
           (12345678901234567890.0000000002, '2020-01-01 00:00:01', '2020-01-01', 4)",
    )
    .await;
    let policy = TypePolicy { unsigned_overflow: UnsignedOverflow::String, ..TypePolicy::default() };
    let source = db.source(policy).await;
    for (name, key) in [("big", vec!["k"]), ("bin", vec!["k"]), ("dec_ts", vec!["k", "t", "d"])] {
        let scan = request(table(name), &["v"], &key, 1);
        let (rows, cursors) = scan_all(&source, scan.clone()).await;
        let all: Vec<Vec<Value>> = values(&rows);
        assert_eq!(all, (1..=all.len() as i64).map(|v| vec![Value::Int(v)]).collect::<Vec<_>>(), "{name}");
        for (index, cursor) in cursors.iter().enumerate() {
            let (rest, _) = scan_all(&source, ScanRequest { after: cursor.clone(), ..scan.clone() }).await;
            assert_eq!(values(&rest), all[index + 1..], "{name} after {cursor:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Errors
// ---------------------------------------------------------------------------------------

fn connection_error(error: &SourceError) -> (&str, &Option<String>, bool) {
    match error {
        SourceError::Connection { message, hint, transient, .. } => (message, hint, *transient),
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_and_unknown_databases_are_refusals_with_hints() {
    let error = MysqlSource::connect("mysql://root:hunter2@127.0.0.1:1/test", TypePolicy::default()).await.unwrap_err();
    let (message, hint, transient) = connection_error(&error);
    assert!(message.starts_with("cannot connect to 127.0.0.1:1"), "{message}");
    assert!(hint.as_deref().unwrap().contains("server is running"), "{hint:?}");
    assert!(!transient);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2") && shown.contains("mysql://root:***@127.0.0.1:1/test"), "{shown}");

    let _db = TestDb::new().await;
    let missing = format!("{}/{}x", server_url(), _db.name);
    let error = MysqlSource::connect(&missing, TypePolicy::default()).await.unwrap_err();
    let (message, hint, transient) = connection_error(&error);
    assert!(message.starts_with(&format!("database `{}x` does not exist", _db.name)), "{message}");
    assert_eq!(
        hint.as_deref(),
        Some(format!("did you mean database `{}`? The database is the URL's path", _db.name).as_str())
    );
    assert!(!transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_never_shown() {
    let db = TestDb::new().await;
    let user = format!("grafter_u{}", std::process::id());
    let mut root = admin().await;
    for host in ["%", "localhost", "127.0.0.1"] {
        root.query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'")).await.unwrap();
        root.query_drop(format!("CREATE USER '{user}'@'{host}' IDENTIFIED BY 'Right-Pa55word'")).await.unwrap();
        root.query_drop(format!("GRANT SELECT ON `{}`.* TO '{user}'@'{host}'", db.name)).await.unwrap();
    }
    struct DropUser(String);
    impl Drop for DropUser {
        fn drop(&mut self) {
            let user = self.0.clone();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async move {
                    let mut admin = admin().await;
                    for host in ["%", "localhost", "127.0.0.1"] {
                        let _ = admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'")).await;
                    }
                });
            })
            .join();
        }
    }
    let _cleanup = DropUser(user.clone());
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let host = server_url().trim_start_matches("mysql://").rsplit('@').next().unwrap().to_owned();

    let wrong = format!("mysql://{user}:Wrong-Pa55word@{host}/{}", db.name);
    let error = MysqlSource::connect(&wrong, TypePolicy::default()).await.unwrap_err();
    let (message, hint, transient) = connection_error(&error);
    assert!(message.starts_with(&format!("access denied for user `{user}`")), "{message}");
    assert!(hint.as_deref().unwrap().contains("password"), "{hint:?}");
    assert!(!transient);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("Wrong-Pa55word"), "{shown}");
    assert!(shown.contains(&format!("mysql://{user}:***@")), "{shown}");

    // The right password works, and appears nowhere either.
    let right = format!("mysql://{user}:Right-Pa55word@{host}/{}", db.name);
    let source = MysqlSource::connect(&right, TypePolicy::default()).await.unwrap();
    let error = source.columns(&table("nope")).await.unwrap_err();
    let shown = format!("{} {source:?} {error} {error:?}", source.describe());
    assert!(!shown.contains("Right-Pa55word"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tables_columns_and_bad_queries_name_the_mistake() {
    let db = pairs_db().await;
    let source = db.source(TypePolicy::default()).await;

    match source.columns(&table("pair")).await.unwrap_err() {
        SourceError::UnknownTable { table, suggestion, .. } => {
            assert_eq!((table.as_str(), suggestion.as_deref()), ("pair", Some("pairs")));
        }
        other => panic!("{other:?}"),
    }
    let error = source.scan(request(table("pair"), &["g"], &[], 10)).await.err().unwrap();
    assert!(error.to_string().contains("did you mean table `pairs`?"), "{error}");

    match source.scan(request(table("pairs"), &["nmae"], &[], 10)).await.err().unwrap() {
        SourceError::UnknownColumn { column, suggestion, available, .. } => {
            assert_eq!((column.as_str(), suggestion.as_deref()), ("nmae", Some("name")));
            assert_eq!(available, "g, name, v, ref");
        }
        other => panic!("{other:?}"),
    }

    match source.columns(&Read::Query("SELEC g FROM pairs".into())).await.unwrap_err() {
        SourceError::Query { message, .. } => {
            assert!(message.contains("You have an error in your SQL syntax"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match source.scan(request(Read::Query("SELECT nope FROM pairs".into()), &["nope"], &[], 10)).await.err().unwrap() {
        SourceError::Query { message, .. } => assert!(message.contains("Unknown column 'nope'"), "{message}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 5. A connection lost mid-stream
// ---------------------------------------------------------------------------------------

/// `count` rows of ~100 bytes, made by the server (digits cross-joined: works on both).
async fn filled(db: &TestDb, table: &str, count: u32) {
    db.exec(&format!(
        "CREATE TABLE `{table}` (id INT PRIMARY KEY, pad VARCHAR(100));
         INSERT INTO `{table}`
         WITH d AS (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
         SELECT id, REPEAT('x', 100) FROM (
           SELECT a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n + 100000 * g.n AS id
           FROM d a, d b, d c, d e, d f, d g) ids
         WHERE id < {count}"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_stream_is_a_transient_error() {
    let db = TestDb::new().await;
    filled(&db, "big", 300_000).await;
    let source = db.source(TypePolicy::default()).await;
    let mut stream = source.scan(request(table("big"), &["id", "pad"], &["id"], 100)).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.rows.len(), 100);

    let mut admin = db.conn().await;
    let scanning: Vec<u64> = admin
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT `id`, `pad` FROM `big`%'",
            (&db.name,),
        )
        .await
        .unwrap();
    assert_eq!(scanning.len(), 1, "the scan's connection is found");
    admin.query_drop(format!("KILL {}", scanning[0])).await.unwrap();

    let mut rows = first.rows.len();
    let error = loop {
        match stream.next().await {
            Some(Ok(batch)) => rows += batch.rows.len(),
            Some(Err(error)) => break error,
            None => panic!("the stream ended normally after {rows} rows although its connection was killed"),
        }
    };
    assert!(rows < 300_000);
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("connection lost while reading table `big`"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_stops_the_server_side_read() {
    let db = TestDb::new().await;
    filled(&db, "big", 300_000).await;
    let source = db.source(TypePolicy::default()).await;
    let mut stream = source.scan(request(table("big"), &["id", "pad"], &["id"], 100)).await.unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let mut admin = db.conn().await;
    let started = Instant::now();
    loop {
        let scanning: Vec<u64> = admin
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT `id`%'",
                (&db.name,),
            )
            .await
            .unwrap();
        if scanning.is_empty() {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "the abandoned scan is still running");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
