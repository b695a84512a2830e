//! How fast the PostgreSQL source streams rows, against `psql`'s own `COPY` in the same run.
//!
//! Loads a mixed-type table (int, bigint, text, numeric(12,2), timestamptz, bool, uuid,
//! jsonb; 1M rows unless `ROWS=n`) into a database of its own, then times, best of five rounds:
//! `psql -c "COPY (SELECT …) TO STDOUT" > /dev/null` (text and binary), and grafter's scan
//! into nothing with each transfer (binary `COPY` with keys as session settings, the
//! default; a bound portal), unkeyed and in key order. Prints rows/s and the ratio to psql's
//! text COPY. Needs the server at `GRAFTER_BENCH_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and `psql` on the PATH.
//!
//! ```text
//! cargo run --release -p grafter-source --example postgres_scan
//! ```

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafter_model::{Cursor, TypePolicy};
use grafter_source::postgres::{PostgresSource, Transfer};
use grafter_source::{KeyRange, Read, ScanRequest, Source};
use tokio_postgres::NoTls;

// The grafter binary's allocator: rows are allocated by the source and freed elsewhere.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DATABASE: &str = "grafter_bench_scan";
const COLUMNS: [&str; 8] = ["id", "big", "name", "amount", "at", "flag", "uid", "doc"];
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let admin_url =
        std::env::var("GRAFTER_BENCH_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rows: i64 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let url = format!("{}/{DATABASE}", admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base));

    let (admin, connection) = tokio_postgres::connect(&admin_url, NoTls).await?;
    tokio::spawn(connection);
    // KEEP=1 keeps the loaded database for the next run (handy when profiling).
    let keep = std::env::var("KEEP").is_ok_and(|k| k == "1");
    let exists = admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&DATABASE]).await?.is_some();
    if !(keep && exists) {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")).await?;
        admin.batch_execute(&format!("CREATE DATABASE {DATABASE}")).await?;
    }
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    let loaded: Option<i64> = match client.query_opt("SELECT count(*) FROM bench", &[]).await {
        Ok(row) => row.map(|r| r.get(0)),
        Err(_) => None,
    };
    if loaded != Some(rows) {
        let started = Instant::now();
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS bench;
                 CREATE TABLE bench (id integer PRIMARY KEY, big bigint, name text, amount numeric(12,2), \
                                     at timestamptz, flag boolean, uid uuid, doc jsonb);
                 INSERT INTO bench SELECT g, g::bigint * 1000003, 'name ' || g, (g % 100000) / 100.0 + 0.01,
                                          timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second', g % 2 = 0,
                                          md5(g::text)::uuid, jsonb_build_object('k', g, 's', 'v' || (g % 10))
                                   FROM generate_series(1, {rows}) g;"
            ))
            .await?;
        // Hint bits and statistics now, so that the first timed scan does not pay for them.
        client.batch_execute("VACUUM ANALYZE bench").await?;
        eprintln!("loaded {rows} rows in {:.1?}", started.elapsed());
    }

    let select = format!("SELECT {} FROM bench", COLUMNS.join(", "));
    // ONLY=grafter skips the psql timings (handy when profiling).
    let only_grafter = std::env::var("ONLY").is_ok_and(|o| o == "grafter");
    let copy = PostgresSource::connect(&url, TypePolicy::default()).await?.with_transfer(Transfer::Copy);
    let portal = PostgresSource::connect(&url, TypePolicy::default()).await?.with_transfer(Transfer::Portal);
    let mut methods: Vec<(&str, Method)> = Vec::new();
    if !only_grafter {
        methods.push(("psql COPY text", Method::Psql(format!("COPY ({select}) TO STDOUT"))));
        methods.push(("psql COPY binary", Method::Psql(format!("COPY ({select}) TO STDOUT (FORMAT binary)"))));
        methods.push(("psql COPY text, ORDER BY id", Method::Psql(format!("COPY ({select} ORDER BY id) TO STDOUT"))));
    }
    methods.push(("grafter, binary COPY", Method::Scan(&copy, &[])));
    methods.push(("grafter, binary COPY, keyed", Method::Scan(&copy, &["id"])));
    methods.push(("grafter, bound portal", Method::Scan(&portal, &[])));
    methods.push(("grafter, bound portal, keyed", Method::Scan(&portal, &["id"])));

    // Rounds of every method in turn, best time of each: whatever else the machine does
    // then weighs on all of them alike.
    let mut best = vec![Duration::MAX; methods.len()];
    for _ in 0..RUNS {
        for ((_, method), best) in methods.iter().zip(&mut best) {
            let elapsed = match method {
                Method::Psql(sql) => psql(&url, sql),
                Method::Scan(source, order_by) => scan(source, order_by, rows).await,
            };
            *best = (*best).min(elapsed);
        }
    }

    println!("{rows} rows, best of {RUNS} rounds:");
    let anchor = if only_grafter { None } else { Some(best[0]) };
    for ((name, _), elapsed) in methods.iter().zip(&best) {
        let rate = rows as f64 / elapsed.as_secs_f64();
        let ratio = anchor.map(|a| format!("{:5.2}× psql COPY text", a.as_secs_f64() / elapsed.as_secs_f64()));
        println!("  {name:<30} {:>7.3} s {:>10.0} rows/s  {}", elapsed.as_secs_f64(), rate, ratio.unwrap_or_default());
    }
    drop(client);
    if !keep {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")).await?;
    }
    Ok(())
}

/// One way of reading the table.
enum Method<'a> {
    /// `psql -c` with this statement, output to /dev/null.
    Psql(String),
    /// A grafter scan, ordered by these columns.
    Scan(&'a PostgresSource, &'a [&'a str]),
}

/// Times `psql -c sql`, its output thrown away.
fn psql(url: &str, sql: &str) -> Duration {
    let started = Instant::now();
    let status = Command::new("psql")
        .args(["-X", "-q", "-d", url, "-c", sql])
        .stdout(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql failed: {sql}");
    started.elapsed()
}

/// Times a full scan whose batches are dropped as they arrive.
async fn scan(source: &PostgresSource, order_by: &[&str], expected: i64) -> Duration {
    let request = ScanRequest {
        read: Read::Table("bench".into()),
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        skip_null: Vec::new(),
        order_by: order_by.iter().map(|c| c.to_string()).collect(),
        after: Cursor::Start,
        batch_size: 10_000,
        range: KeyRange::all(),
        filters: Vec::new(),
    };
    let started = Instant::now();
    let mut stream = source.scan(request).await.expect("scan starts");
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.expect("batch").rows.len();
    }
    assert_eq!(rows as i64, expected);
    started.elapsed()
}
