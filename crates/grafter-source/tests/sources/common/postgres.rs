//! A PostgreSQL database of its own per test (127.0.0.1:5432, user `postgres`, database
//! `test`; `GRAFTER_TEST_POSTGRES_URL` overrides the URL; `scripts/services start` runs it),
//! `grafter_test_<pid>_<n>`, dropped at the end (also when the test fails) by [`TestDb`]'s
//! `Drop`. A server that cannot be reached fails the test with a message saying so.

use std::sync::atomic::{AtomicUsize, Ordering};

use grafter_model::TypePolicy;
use grafter_source::postgres::PostgresSource;
use tokio_postgres::{Client, NoTls};

pub fn admin_url() -> String {
    std::env::var("GRAFTER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `admin_url()` with another database (its query, such as `?sslmode=`, kept).
pub fn url_for(database: &str) -> String {
    let admin = admin_url();
    let (url, query) = admin.split_once('?').map_or((admin.as_str(), None), |(url, query)| (url, Some(query)));
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

pub async fn plain_client(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {}: {e}. These tests need a running server \
             (scripts/services start runs one; GRAFTER_TEST_POSTGRES_URL points elsewhere).",
            grafter_model::redact_url(url)
        )
    });
    tokio::spawn(connection);
    client
}

/// A fresh database, dropped when the guard goes.
pub struct TestDb {
    /// The database's name.
    pub name: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("grafter_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let admin = plain_client(&admin_url()).await;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        TestDb { name }
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    pub async fn client(&self) -> Client {
        plain_client(&self.url()).await
    }

    pub async fn source(&self, types: TypePolicy) -> PostgresSource {
        PostgresSource::connect(&self.url(), types).await.expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with
        // a runtime of its own. FORCE ends scan connections a failed test may have left.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
