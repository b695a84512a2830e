//! How fast the MySQL / MariaDB source streams rows, against the `mariadb` client's own
//! `--quick` (unbuffered) read in the same run.
//!
//! Loads a mixed-type table (int, bigint, varchar, decimal(12,2), datetime, tinyint(1),
//! char(36) uuid, json; 1M rows unless `ROWS=n`) into a database of its own, then times, best
//! of five rounds: `mariadb --quick -e "SELECT … ORDER BY id" > /dev/null` over the Unix socket
//! and over TCP, and grafter's keyed scan (in primary key order, as the engine reads tables)
//! into nothing, with the default type policy (JSON parsed into maps) and with JSON kept as
//! text, over both transports. Prints rows/s and the ratio to the client over the same
//! transport. Needs the server at `GRAFTER_BENCH_MYSQL` (default
//! `mysql://root@127.0.0.1:3306`, no password) and `mariadb` on the PATH.
//!
//! ```text
//! cargo run --release -p grafter-source --features mysql --example mysql_scan
//! ```

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafter_model::{Cursor, JsonPolicy, TypePolicy};
use grafter_source::mysql::MysqlSource;
use grafter_source::{KeyRange, Read, ScanRequest, Source};
use mysql_async::prelude::Queryable as _;

// The grafter binary's allocator: rows are allocated by the source and freed elsewhere.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DATABASE: &str = "grafter_bench_scan";
const COLUMNS: [&str; 8] = ["id", "big", "name", "amount", "at", "flag", "uuid", "doc"];
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = std::env::var("GRAFTER_BENCH_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let rows: u32 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let url = format!("{server}/{DATABASE}");

    let mut admin = mysql_async::Conn::from_url(format!("{server}/mysql")).await?;
    // KEEP=1 keeps the loaded database for the next run (handy when profiling).
    let keep = std::env::var("KEEP").is_ok_and(|k| k == "1");
    admin.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{DATABASE}`")).await?;
    let loaded: Option<u64> =
        admin.query_first(format!("SELECT COUNT(*) FROM `{DATABASE}`.bench")).await.unwrap_or(None);
    if !keep || loaded != Some(u64::from(rows)) {
        let started = Instant::now();
        admin
            .query_drop(format!(
                "USE `{DATABASE}`;
                 DROP TABLE IF EXISTS bench;
                 CREATE TABLE bench (id INT PRIMARY KEY, big BIGINT NOT NULL, name VARCHAR(64) NOT NULL,
                   amount DECIMAL(12,2) NOT NULL, at DATETIME NOT NULL, flag TINYINT(1) NOT NULL,
                   uuid CHAR(36) NOT NULL, doc JSON NOT NULL);
                 INSERT INTO bench
                 WITH d AS (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                            UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
                            UNION ALL SELECT 9)
                 SELECT id, id * 1000003, CONCAT('customer name ', id), (id % 100000) / 100, 
                        '2020-01-01' + INTERVAL id SECOND, id % 2, UUID(),
                        JSON_OBJECT('k', id, 's', CONCAT('v', id % 10), 'tags', JSON_ARRAY('a', 'b'))
                 FROM (SELECT a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n + 100000 * g.n
                              + 1000000 * h.n AS id
                       FROM d a, d b, d c, d e, d f, d g, d h) ids
                 WHERE id < {rows};
                 ANALYZE TABLE bench"
            ))
            .await?;
        eprintln!("loaded {rows} rows in {:.1?}", started.elapsed());
    }

    let select = format!("SELECT {} FROM bench ORDER BY id", COLUMNS.join(", "));
    let text_json = TypePolicy { json: JsonPolicy::String, ..TypePolicy::default() };
    let socket = MysqlSource::connect(&url, TypePolicy::default()).await?;
    let tcp = MysqlSource::connect(&format!("{url}?prefer_socket=false"), TypePolicy::default()).await?;
    let socket_text = MysqlSource::connect(&url, text_json).await?;
    let tcp_text = MysqlSource::connect(&format!("{url}?prefer_socket=false"), text_json).await?;
    let methods: Vec<(&str, Method)> = vec![
        ("mariadb --quick, socket", Method::Client("socket")),
        ("mariadb --quick, tcp", Method::Client("tcp")),
        ("grafter, socket", Method::Scan(&socket)),
        ("grafter, tcp", Method::Scan(&tcp)),
        ("grafter, socket, JSON as text", Method::Scan(&socket_text)),
        ("grafter, tcp, JSON as text", Method::Scan(&tcp_text)),
    ];

    // Rounds of every method in turn, best time of each: whatever else the machine does
    // then weighs on all of them alike.
    let mut best = vec![Duration::MAX; methods.len()];
    for _ in 0..RUNS {
        for ((_, method), best) in methods.iter().zip(&mut best) {
            let elapsed = match method {
                Method::Client(protocol) => client(&server, protocol, &select),
                Method::Scan(source) => scan(source, rows).await,
            };
            *best = (*best).min(elapsed);
        }
    }

    println!("{rows} rows, best of {RUNS} rounds:");
    for ((name, method), elapsed) in methods.iter().zip(&best) {
        let rate = f64::from(rows) / elapsed.as_secs_f64();
        let anchor = if name.contains("socket") { best[0] } else { best[1] };
        let ratio = match method {
            Method::Client(_) => String::new(),
            Method::Scan(_) => format!("{:5.2}× the client", anchor.as_secs_f64() / elapsed.as_secs_f64()),
        };
        println!("  {name:<32} {:>7.3} s {:>10.0} rows/s  {ratio}", elapsed.as_secs_f64(), rate);
    }
    if !keep {
        admin.query_drop(format!("DROP DATABASE IF EXISTS `{DATABASE}`")).await?;
    }
    admin.disconnect().await?;
    Ok(())
}

/// One way of reading the table.
enum Method<'a> {
    /// The `mariadb` client over this protocol (`socket` or `tcp`), output to /dev/null.
    Client(&'static str),
    /// A grafter scan in key order.
    Scan(&'a MysqlSource),
}

/// Times `mariadb --quick -e sql`, its output thrown away.
fn client(server: &str, protocol: &str, sql: &str) -> Duration {
    let opts = mysql_async::Opts::from_url(server).expect("a server URL");
    let started = Instant::now();
    let status = Command::new("mariadb")
        .args([
            "--quick",
            &format!("--protocol={protocol}"),
            &format!("--host={}", opts.ip_or_hostname()),
            &format!("--port={}", opts.tcp_port()),
            &format!("--user={}", opts.user().unwrap_or("root")),
            &format!("--password={}", opts.pass().unwrap_or("")),
            DATABASE,
            "-e",
            sql,
        ])
        .stdout(Stdio::null())
        .status()
        .expect("the mariadb client runs");
    assert!(status.success(), "mariadb failed: {sql}");
    started.elapsed()
}

/// Times a full keyed scan whose batches are dropped as they arrive.
async fn scan(source: &MysqlSource, expected: u32) -> Duration {
    let request = ScanRequest {
        read: Read::Table("bench".into()),
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        skip_null: Vec::new(),
        order_by: vec!["id".into()],
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
    assert_eq!(rows, expected as usize);
    started.elapsed()
}
