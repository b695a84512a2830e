//! The PostgreSQL source against a real server (127.0.0.1:5432, user `postgres`, database
//! `test`; `GRAFTER_TEST_POSTGRES_URL` overrides the URL; `scripts/services start` runs it). A server that cannot be reached fails
//! every test with a message saying so: these tests never skip.
//!
//! Each test works in a database of its own ([`TestDb`]).

use chrono::{DateTime, NaiveDate, NaiveTime};
use futures::StreamExt as _;
use grafter_model::{BytesPolicy, Cursor, DecimalPolicy, Duration, JsonPolicy, SourceRow, TypePolicy, Value};
use grafter_source::postgres::{PostgresSource, Transfer};
use grafter_source::{Read, Source, SourceError};
use tokio_postgres::Client;

use crate::common::postgres::{TestDb, admin_url, url_for};
use crate::common::{package_dir, request, scan_all, table, values};

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

fn assert_row(names: &[&str], actual: &[Value], expected: &[Value]) {
    assert_eq!(actual.len(), expected.len(), "row width");
    for ((name, a), e) in names.iter().zip(actual).zip(expected) {
        assert!(same(a, e), "column `{name}`: got {a:?}, expected {e:?}");
    }
}

fn json(text: &str) -> Value {
    Value::from_json(serde_json::from_str(text).unwrap())
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

const EVERY_TYPE: &str = r#"
    CREATE EXTENSION citext;
    CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN price AS numeric(10,2);
    CREATE TABLE every_type (
        id integer PRIMARY KEY,
        c_smallint smallint, c_int integer, c_bigint bigint,
        c_numeric numeric, c_numeric_scaled numeric(12,2),
        c_real real, c_double double precision,
        c_bool boolean,
        c_char char(5), c_varchar varchar(40), c_text text, c_name name, c_citext citext,
        c_bytea bytea,
        c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz,
        c_interval interval,
        c_uuid uuid, c_json json, c_jsonb jsonb,
        c_int_array integer[], c_text_array text[], c_2d integer[][],
        c_mood mood, c_price price,
        c_inet inet, c_cidr cidr, c_macaddr macaddr, c_money money, c_bit bit(4), c_xml xml, c_point point,
        c_mood_array mood[], c_money_array money[]
    );
    INSERT INTO every_type VALUES (
        1,
        -32768, 2147483647, -9223372036854775808,
        '123456789012345678901234567890.123456789000', 12.5,
        '-0', 'NaN',
        true,
        'ab', 'héllo wörld ✓', '日本語 🎉 "quoted"', 'a_name', 'MiXeD',
        '\x00ff10',
        '1969-07-20', '13:05:09.25', '10:30:00+02', '1969-07-20 20:17:40', '2024-02-29 13:05:09.123456+02',
        '1 year 2 months 3 days 04:05:06.000007',
        'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"a": {"b": [1, 2.5, null, "x"]}, "z": true}',
        '{"nested": {"deep": {"list": [{"k": "v"}]}}, "n": -7}',
        '{}', '{a,NULL,"b c"}', '{{1,2},{3,NULL}}',
        'happy', 9.99,
        '192.168.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', 12.5, B'1010', '<a>x</a>', '(1,2)',
        '{sad,happy}', '{1.5,NULL}'
    );
    INSERT INTO every_type (id) VALUES (2);
    INSERT INTO every_type (id, c_bigint, c_numeric, c_numeric_scaled, c_real, c_double, c_timestamp, c_interval, c_inet, c_text)
        VALUES (3, 9223372036854775807, 'NaN', -0.01, 'Infinity', '-Infinity', '0044-03-15 12:00:00 BC', '-1 mons -2 days -00:00:01', '::1', '');
    INSERT INTO every_type (id, c_numeric) VALUES (4, '-0.0001');
    INSERT INTO every_type (id, c_date) VALUES (5, 'infinity');
"#;

const EVERY_COLUMN: &[&str] = &[
    "id",
    "c_smallint",
    "c_int",
    "c_bigint",
    "c_numeric",
    "c_numeric_scaled",
    "c_real",
    "c_double",
    "c_bool",
    "c_char",
    "c_varchar",
    "c_text",
    "c_name",
    "c_citext",
    "c_bytea",
    "c_date",
    "c_time",
    "c_timetz",
    "c_timestamp",
    "c_timestamptz",
    "c_interval",
    "c_uuid",
    "c_json",
    "c_jsonb",
    "c_int_array",
    "c_text_array",
    "c_2d",
    "c_mood",
    "c_price",
    "c_inet",
    "c_cidr",
    "c_macaddr",
    "c_money",
    "c_bit",
    "c_xml",
    "c_point",
    "c_mood_array",
    "c_money_array",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Row 1 as the default policy delivers it.
fn first_row() -> Vec<Value> {
    vec![
        Value::Int(1),
        Value::Int(-32768),
        Value::Int(2_147_483_647),
        Value::Int(i64::MIN),
        Value::from("123456789012345678901234567890.123456789000"),
        Value::from("12.50"),
        Value::Float(-0.0),
        Value::Float(f64::NAN),
        Value::Bool(true),
        Value::from("ab   "),
        Value::from("héllo wörld ✓"),
        Value::from("日本語 🎉 \"quoted\""),
        Value::from("a_name"),
        Value::from("MiXeD"),
        Value::from("AP8Q"),
        Value::Date(date(1969, 7, 20)),
        Value::Time(NaiveTime::from_hms_milli_opt(13, 5, 9, 250).unwrap()),
        Value::from("10:30:00+02:00"),
        Value::DateTime(date(1969, 7, 20).and_hms_opt(20, 17, 40).unwrap()),
        Value::DateTimeTz(DateTime::parse_from_rfc3339("2024-02-29T11:05:09.123456+00:00").unwrap()),
        Value::Duration(Duration { months: 14, days: 3, nanos: (4 * 3600 + 5 * 60 + 6) * 1_000_000_000 + 7_000 }),
        Value::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        json(r#"{"a": {"b": [1, 2.5, null, "x"]}, "z": true}"#),
        json(r#"{"nested": {"deep": {"list": [{"k": "v"}]}}, "n": -7}"#),
        list(vec![]),
        list(vec![Value::from("a"), Value::Null, Value::from("b c")]),
        list(vec![list(vec![Value::Int(1), Value::Int(2)]), list(vec![Value::Int(3), Value::Null])]),
        Value::from("happy"),
        Value::from("9.99"),
        Value::from("192.168.0.1"),
        Value::from("10.0.0.0/8"),
        Value::from("08:00:2b:01:02:03"),
        Value::from("$12.50"),
        Value::from("1010"),
        Value::from("<a>x</a>"),
        // A point as WKT, as every spatial tool writes it.
        Value::from("POINT(1 2)"),
        list(vec![Value::from("sad"), Value::from("happy")]),
        list(vec![Value::from("$1.50"), Value::Null]),
    ]
}

fn row_with(id: i64, set: &[(&str, Value)]) -> Vec<Value> {
    let mut row = vec![Value::Null; EVERY_COLUMN.len()];
    row[0] = Value::Int(id);
    for (name, value) in set {
        let index = EVERY_COLUMN.iter().position(|c| c == name).expect("known column");
        row[index] = value.clone();
    }
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_arrives_as_the_right_value() {
    let db = TestDb::new().await;
    db.client().await.batch_execute(EVERY_TYPE).await.expect("create the table");
    let expected = [
        first_row(),
        row_with(2, &[]),
        row_with(
            3,
            &[
                ("c_bigint", Value::Int(i64::MAX)),
                ("c_numeric", Value::from("NaN")),
                ("c_numeric_scaled", Value::from("-0.01")),
                ("c_real", Value::Float(f64::INFINITY)),
                ("c_double", Value::Float(f64::NEG_INFINITY)),
                ("c_timestamp", Value::DateTime(date(-43, 3, 15).and_hms_opt(12, 0, 0).unwrap())),
                ("c_interval", Value::Duration(Duration { months: -1, days: -2, nanos: -1_000_000_000 })),
                ("c_inet", Value::from("::1")),
                ("c_text", Value::from("")),
            ],
        ),
        row_with(4, &[("c_numeric", Value::from("-0.0001"))]),
    ];

    for transfer in [Transfer::Copy, Transfer::Portal] {
        let source = db.source(TypePolicy::default()).await.with_transfer(transfer);
        let (rows, _) = scan_all(&source, request(table("every_type"), EVERY_COLUMN, &["id"], 2)).await;
        assert_eq!(rows.len(), 5, "{transfer:?}");
        for (row, expected) in rows[..4].iter().zip(&expected) {
            let SourceRow::Ok { values, .. } = row else { panic!("{transfer:?}: row {row:?} is malformed") };
            assert_row(EVERY_COLUMN, values, expected);
        }
        // An infinite date has no calendar day: the row is rejected, naming the column, and
        // its raw text still shows the value.
        let SourceRow::Malformed { raw, reason, line } = &rows[4] else {
            panic!("{transfer:?}: row 5 should be malformed")
        };
        assert_eq!(*line, 5);
        assert_eq!(reason, "column `c_date`: infinity: an infinite date has no calendar day");
        let raw: serde_json::Value = serde_json::from_str(raw).expect("raw is a JSON object");
        assert_eq!(raw["c_date"], "infinity");
        assert_eq!(raw["id"], 5);
    }

    // The other side of every policy.
    let policy = TypePolicy {
        decimal: DecimalPolicy::Float,
        json: JsonPolicy::String,
        bytes: BytesPolicy::Raw,
        ..TypePolicy::default()
    };
    let source = db.source(policy).await;
    let columns = ["id", "c_numeric", "c_numeric_scaled", "c_price", "c_bytea", "c_json", "c_jsonb"];
    let (rows, _) = scan_all(&source, request(table("every_type"), &columns, &["id"], 100)).await;
    let rows = values(&rows[..4]);
    assert_row(
        &columns,
        &rows[0],
        &[
            Value::Int(1),
            Value::Float(123456789012345678901234567890.123456789),
            Value::Float(12.5),
            Value::Float(9.99),
            Value::Bytes(vec![0, 255, 16]),
            Value::from(r#"{"a": {"b": [1, 2.5, null, "x"]}, "z": true}"#),
            // jsonb keeps no formatting of its own: this is how the server prints it.
            Value::from(r#"{"n": -7, "nested": {"deep": {"list": [{"k": "v"}]}}}"#),
        ],
    );
    assert!(same(&rows[2][1], &Value::Float(f64::NAN)));
    assert!(same(&rows[3][1], &Value::Float(-0.0001)));

    // Columns: declared types as PostgreSQL names them, logical types, NOT NULL.
    let described = source.columns(&table("every_type")).await.unwrap();
    let declared = |name: &str| {
        let column = described.iter().find(|c| c.name == name).unwrap();
        (column.declared_type.clone().unwrap(), column.logical_type, column.nullable)
    };
    use grafter_model::LogicalType as L;
    assert_eq!(declared("id"), ("integer".into(), L::Int, Some(false)));
    assert_eq!(declared("c_numeric_scaled"), ("numeric(12,2)".into(), L::Decimal, Some(true)));
    assert_eq!(declared("c_timestamptz"), ("timestamp with time zone".into(), L::DateTimeTz, Some(true)));
    assert_eq!(declared("c_int_array"), ("integer[]".into(), L::List, Some(true)));
    assert_eq!(declared("c_interval"), ("interval".into(), L::Duration, Some(true)));
    assert_eq!(declared("c_time"), ("time without time zone".into(), L::Time, Some(true)));
    assert_eq!(declared("c_mood"), ("mood".into(), L::String, Some(true)));
    assert_eq!(declared("c_price"), ("price".into(), L::Decimal, Some(true)));
    assert_eq!(declared("c_varchar"), ("character varying(40)".into(), L::String, Some(true)));
    assert_eq!(declared("c_jsonb"), ("jsonb".into(), L::Json, Some(true)));
    assert_eq!(declared("c_citext"), ("citext".into(), L::String, Some(true)));

    // A query's columns: types from the server, nullability unknown.
    let query = Read::Query("SELECT id, c_price * 2 AS doubled, c_mood FROM every_type -- trailing comment".into());
    let described = source.columns(&query).await.unwrap();
    assert_eq!(described[1].declared_type.as_deref(), Some("numeric"));
    assert_eq!(described[2].declared_type.as_deref(), Some("mood"));
    assert_eq!(described[0].nullable, None);
    let (rows, cursors) = scan_all(&source, request(query, &["doubled"], &[], 10)).await;
    assert_eq!(values(&rows[..1]), vec![vec![Value::Float(19.98)]]);
    assert_eq!(cursors.last(), Some(&Cursor::Rows { rows: 5, byte_offset: None }));
}

/// Runs the Chinook script in `db` (the script creates and enters a database of its own:
/// those first lines are replaced by the test's database).
async fn load_chinook(db: &TestDb) -> Client {
    let path = &package_dir().join("../../tests/data/chinook/Chinook_PostgreSql.sql");
    let script = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let start = script.find("\\c chinook;").expect("the script enters its database with \\c chinook;");
    let body = &script[start + "\\c chinook;".len()..];
    let client = db.client().await;
    client.batch_execute(body).await.expect("load Chinook");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinook_introspects_and_scans_completely() {
    let db = TestDb::new().await;
    let client = load_chinook(&db).await;
    let source = db.source(TypePolicy::default()).await;

    let catalog = source.introspect().await.expect("introspect");
    let mut names: Vec<&str> = catalog.tables.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "album",
            "artist",
            "customer",
            "employee",
            "genre",
            "invoice",
            "invoice_line",
            "media_type",
            "playlist",
            "playlist_track",
            "track"
        ]
    );
    let playlist_track = catalog.table("playlist_track").unwrap();
    assert_eq!(playlist_track.primary_key, ["playlist_id", "track_id"]);
    assert_eq!(playlist_track.foreign_keys.len(), 2);
    let employee = catalog.table("employee").unwrap();
    assert_eq!(employee.primary_key, ["employee_id"]);
    let reports_to = employee.foreign_keys.iter().find(|fk| fk.columns == ["reports_to"]).expect("self-reference");
    assert_eq!(
        (reports_to.ref_table.as_str(), reports_to.ref_columns.clone()),
        ("employee", vec!["employee_id".into()])
    );
    let track = catalog.table("track").unwrap();
    let mut targets: Vec<&str> = track.foreign_keys.iter().map(|fk| fk.ref_table.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["album", "genre", "media_type"]);
    let unit_price = track.columns.iter().find(|c| c.name == "unit_price").unwrap();
    assert_eq!(unit_price.declared_type.as_deref(), Some("numeric(10,2)"));
    assert_eq!(unit_price.nullable, Some(false));

    for table_info in &catalog.tables {
        let read = table(&table_info.name);
        let key = source.scan_key(&read).await.unwrap().expect("every Chinook table has a primary key");
        assert_eq!(key, table_info.primary_key);
        let columns: Vec<&str> = table_info.columns.iter().map(|c| c.name.as_str()).collect();
        let keys: Vec<&str> = key.iter().map(String::as_str).collect();
        let expected: i64 =
            client.query_one(&format!("SELECT count(*) FROM {}", table_info.name), &[]).await.unwrap().get(0);
        let scan = request(read, &columns, &keys, 500);
        assert_eq!(source.count(&scan).await.unwrap(), Some(expected as u64), "{}", table_info.name);
        let (rows, _) = scan_all(&source, scan).await;
        assert_eq!(rows.len() as i64, expected, "{}", table_info.name);
        assert!(rows.iter().all(|r| matches!(r, SourceRow::Ok { .. })), "{}", table_info.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_scans_resume_and_split_exactly() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE pairs (a text, b integer, v text, PRIMARY KEY (a, b));
             INSERT INTO pairs SELECT 'k' || (g % 37), g, md5(g::text) FROM generate_series(1, 1000) g;
             INSERT INTO pairs VALUES ('quote''s \"and\" \\back', 1, 'odd key');
             CREATE TABLE moments (at timestamptz, amount numeric(8,3), v integer, PRIMARY KEY (at, amount));
             INSERT INTO moments SELECT timestamptz '1999-12-31 23:00:00+00' + g * interval '17 minutes 0.25 seconds',
                                        (g % 7) * 1.125, g FROM generate_series(1, 600) g;",
        )
        .await
        .unwrap();
    let cases: [(&str, &[&str], &[&str]); 2] =
        [("pairs", &["a", "b", "v"], &["a", "b"]), ("moments", &["v", "amount"], &["at", "amount"])];
    for transfer in [Transfer::Copy, Transfer::Portal] {
        // Decimals as floats: the cursor must stay exact all the same.
        let policy = TypePolicy { decimal: DecimalPolicy::Float, ..TypePolicy::default() };
        let source = db.source(policy).await.with_transfer(transfer);
        for (name, columns, key) in cases {
            let context = format!("{name} via {transfer:?}");
            let order = key.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
            let unkeyed = Read::Query(format!("SELECT * FROM {name} ORDER BY {order}"));
            let (expected, _) = scan_all(&source, request(unkeyed, columns, &[], 1000)).await;
            let expected = values(&expected);

            let batch = 37;
            let (rows, cursors) = scan_all(&source, request(table(name), columns, key, batch)).await;
            assert_eq!(values(&rows), expected, "{context}: keyed scan");
            assert_eq!(cursors.len(), expected.len().div_ceil(batch), "{context}");
            for (index, cursor) in cursors.iter().enumerate() {
                let mut resumed = request(table(name), columns, key, batch);
                resumed.after = cursor.clone();
                let (rest, _) = scan_all(&source, resumed).await;
                let done = ((index + 1) * batch).min(expected.len());
                assert_eq!(values(&rest), expected[done..], "{context}: resume after batch {index}");
                assert_eq!(rest.first().map(SourceRow::line), (done < expected.len()).then_some(1), "{context}");
            }

            let ranges =
                source.split(&table(name), &key.iter().map(|k| k.to_string()).collect::<Vec<_>>(), 3).await.unwrap();
            assert_eq!(ranges.len(), 3, "{context}");
            let mut joined = Vec::new();
            for range in &ranges {
                let mut part = request(table(name), columns, key, 50);
                part.range = range.clone();
                let count = source.count(&part).await.unwrap().unwrap();
                let (rows, _) = scan_all(&source, part).await;
                assert_eq!(rows.len() as u64, count, "{context}: count of a range");
                assert!(rows.len() >= expected.len() / 3 - 1, "{context}: ranges of about equal size");
                joined.extend(values(&rows));
            }
            assert_eq!(joined, expected, "{context}: the ranges cover every row exactly once");

            // A range and a cursor inside it together.
            let mut inside = request(table(name), columns, key, 10);
            inside.range = ranges[1].clone();
            let (first, cursors) = scan_all(&source, inside.clone()).await;
            inside.after = cursors[0].clone();
            let (rest, _) = scan_all(&source, inside).await;
            assert_eq!(values(&rest), values(&first[10..]), "{context}: cursor inside a range");
        }

        // Unkeyed reads resume by counting rows.
        let query = Read::Query("SELECT a, b FROM pairs WHERE b <= 100".into());
        let (all, cursors) = scan_all(&source, request(query.clone(), &["a", "b"], &[], 30)).await;
        assert_eq!(all.len(), 101, "b <= 100, and the odd key's row");
        let mut resumed = request(query, &["a", "b"], &[], 30);
        resumed.after = cursors[1].clone();
        let (rest, _) = scan_all(&source, resumed).await;
        assert_eq!(values(&rest), values(&all[60..]));
        assert_eq!(rest[0].line(), 61);

        // skip_null and count agree.
        let mut skipping = request(table("pairs"), &["a"], &["a", "b"], 100);
        skipping.skip_null = vec!["v".into()];
        assert_eq!(source.count(&skipping).await.unwrap(), Some(1001));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_is_wrong_and_never_show_the_password() {
    // Nothing listens on port 1.
    let err = PostgresSource::connect("postgres://postgres:s3cretpw@127.0.0.1:1/test", TypePolicy::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Connection { transient: false, .. }), "{err:?}");
    assert!(text.contains("cannot reach the PostgreSQL server at 127.0.0.1:1"), "{text}");
    assert!(text.contains("is the server running"), "{text}");
    assert!(text.contains("postgres://postgres:***@127.0.0.1:1/test"), "{text}");
    assert!(!text.contains("s3cretpw") && !format!("{err:?}").contains("s3cretpw"), "{text}");

    let err = PostgresSource::connect(&url_for("grafter_no_such_database"), TypePolicy::default()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Connection { transient: false, .. }), "{err:?}");
    assert!(text.contains("database \"grafter_no_such_database\" does not exist"), "{text}");
    assert!(text.contains("createdb grafter_no_such_database"), "{text}");

    // The server here trusts local connections, so a wrong password cannot be refused; what
    // it refuses is a role that does not exist, which goes through the same path.
    let admin = admin_url();
    let (_, host_and_db) = admin.split_once('@').unwrap();
    let stranger = format!("postgres://grafter_nobody:s3cretpw@{host_and_db}");
    let err = PostgresSource::connect(&stranger, TypePolicy::default()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Connection { transient: false, .. }), "{err:?}");
    assert!(text.contains("role \"grafter_nobody\" does not exist"), "{text}");
    assert!(text.contains("check the user (`grafter_nobody`) and password"), "{text}");
    assert!(!text.contains("s3cretpw") && !format!("{err:?}").contains("s3cretpw"), "{text}");

    // TLS that cannot be had is refused up front.
    let err =
        PostgresSource::connect(&format!("{}?sslmode=require", admin_url()), TypePolicy::default()).await.unwrap_err();
    assert!(err.to_string().contains("built without TLS"), "{err}");

    // A connected source with a password in its URL never shows it either.
    let db = TestDb::new().await;
    load_chinook(&db).await;
    let with_password = db.url().replacen("postgres@", "postgres:s3cretpw@", 1);
    let source =
        PostgresSource::connect(&with_password, TypePolicy::default()).await.expect("trust ignores the password");
    assert!(!format!("{source:?}").contains("s3cretpw"));
    assert!(!source.describe().contains("s3cretpw") && source.describe().contains(":***@"));

    let err = source.columns(&table("albun")).await.unwrap_err();
    assert!(matches!(&err, SourceError::UnknownTable { suggestion: Some(s), .. } if s == "album"), "{err:?}");
    assert!(!err.to_string().contains("s3cretpw"));
    let err = source.scan_key(&table("public.trak")).await.unwrap_err();
    assert!(matches!(&err, SourceError::UnknownTable { suggestion: Some(s), .. } if s == "public.track"), "{err:?}");
    assert_eq!(source.scan_key(&table("public.track")).await.unwrap(), Some(vec!["track_id".to_string()]));

    let err = source.scan(request(table("album"), &["album_id", "titel"], &["album_id"], 10)).await.err().unwrap();
    assert!(
        matches!(&err, SourceError::UnknownColumn { column, suggestion: Some(s), .. } if column == "titel" && s == "title"),
        "{err:?}"
    );
    let err = source.count(&request(table("album"), &["album_id"], &["nope"], 10)).await.unwrap_err();
    assert!(matches!(&err, SourceError::UnknownColumn { .. }), "{err:?}");

    let err = source.columns(&Read::Query("SELECT * FORM album".into())).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Query { .. }), "{err:?}");
    assert!(text.contains("syntax error at or near \"FORM\" (at character 10 of the query)"), "{text}");
    assert!(!err.is_transient());
    let err =
        source.scan(request(Read::Query("SELECT nope FROM album".into()), &["nope"], &[], 10)).await.err().unwrap();
    assert!(err.to_string().contains("column \"nope\" does not exist"), "{err}");

    // Schema-qualified tables outside public.
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA sales; CREATE TABLE sales.\"Order\" (id int PRIMARY KEY, album_id int REFERENCES album)",
        )
        .await
        .unwrap();
    assert_eq!(source.scan_key(&table("sales.Order")).await.unwrap(), Some(vec!["id".to_string()]));
    let catalog = source.introspect().await.unwrap();
    let order = catalog.table("sales.Order").expect("qualified name outside public");
    assert_eq!(order.foreign_keys[0].ref_table, "album");
    assert_eq!(catalog.tables.last().map(|t| t.name.as_str()), Some("sales.Order"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inheritance_parents_are_in_the_catalog_and_partitions_are_not() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA hr;
             CREATE TABLE people (id int PRIMARY KEY);
             CREATE TABLE tagged (tag text);
             CREATE TABLE hr.staff (role text) INHERITS (people, tagged);
             CREATE TABLE managers (level int) INHERITS (hr.staff);
             CREATE TABLE events (id int, day date) PARTITION BY RANGE (day);
             CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        )
        .await
        .unwrap();
    let source = db.source(TypePolicy::default()).await;
    let catalog = source.introspect().await.unwrap();
    let inherits = |name: &str| catalog.table(name).unwrap_or_else(|| panic!("{name} listed")).inherits.clone();
    assert_eq!(inherits("hr.staff"), ["people", "tagged"]);
    assert_eq!(inherits("managers"), ["hr.staff"]);
    assert!(inherits("people").is_empty() && inherits("events").is_empty());
    assert!(catalog.table("events_2024").is_none(), "a partition is read through its table");
    assert_eq!(catalog.ancestors("managers"), ["hr.staff", "people", "tagged"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_stream_is_a_transient_error() {
    let db = TestDb::new().await;
    let killer = db.client().await;
    for transfer in [Transfer::Copy, Transfer::Portal] {
        let source = db.source(TypePolicy::default()).await.with_transfer(transfer);
        // Rows made as they are sent (far more than any socket buffers), so the server is
        // still streaming when it is stopped.
        let read = Read::Query("SELECT generate_series(1, 50000000) AS n, repeat('x', 200) AS pad".into());
        let mut stream = source.scan(request(read, &["n", "pad"], &[], 1000)).await.unwrap();
        let first = stream.next().await.expect("a first batch").expect("rows before the kill");
        assert_eq!(first.rows.len(), 1000);

        let killed: i64 = killer
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'grafter' AND state = 'active' \
                   AND pid <> pg_backend_pid() AND query LIKE '%generate_series%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(killed, 1, "{transfer:?}: the scan's backend");

        let mut rows = first.rows.len();
        let error = loop {
            match stream.next().await {
                Some(Ok(batch)) => rows += batch.rows.len(),
                Some(Err(error)) => break error,
                None => panic!("{transfer:?}: the stream ended as if complete after {rows} rows"),
            }
        };
        assert!(error.is_transient(), "{transfer:?}: {error:?}");
        assert!(error.to_string().contains("connection to PostgreSQL lost"), "{error}");
        assert!(rows < 50_000_000);
        assert!(stream.next().await.is_none(), "nothing after the error");

        // The source itself carries on: its metadata connection was not the one killed.
        assert!(source.columns(&Read::Query("SELECT 1 AS one".into())).await.is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_early_stops_the_query_on_the_server() {
    let db = TestDb::new().await;
    let watcher = db.client().await;
    let running = || async {
        let count: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'grafter' AND state = 'active' AND query LIKE '%generate_series%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        count
    };
    for transfer in [Transfer::Copy, Transfer::Portal] {
        let source = db.source(TypePolicy::default()).await.with_transfer(transfer);
        let read = Read::Query("SELECT generate_series(1, 50000000) AS n, repeat('x', 200) AS pad".into());
        let mut stream = source.scan(request(read, &["n", "pad"], &[], 1000)).await.unwrap();
        stream.next().await.expect("a first batch").expect("rows");
        assert_eq!(running().await, 1, "{transfer:?}: the query runs while the stream is read");
        drop(stream);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while running().await > 0 {
            assert!(std::time::Instant::now() < deadline, "{transfer:?}: the query still runs 10 s after the drop");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
