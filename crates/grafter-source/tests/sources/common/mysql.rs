//! A MySQL/MariaDB database of its own per test (127.0.0.1:3306, user `root`, no password;
//! `GRAFTER_TEST_MYSQL_URL` overrides the URL; `scripts/services start` runs it),
//! `grafter_test_<pid>_<n>`, dropped at the end (also when the test fails) by [`TestDb`]'s
//! `Drop`. A server that cannot be reached fails the test with a message saying so.

use std::sync::atomic::{AtomicUsize, Ordering};

use grafter_model::TypePolicy;
use grafter_source::mysql::MysqlSource;
use mysql_async::prelude::Queryable as _;

/// The server: `GRAFTER_TEST_MYSQL_URL` without its database.
pub fn server_url() -> String {
    let url = std::env::var("GRAFTER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    match url[authority_start..].find(['/', '?']) {
        Some(end) => url[..authority_start + end].to_owned(),
        None => url,
    }
}

pub async fn admin() -> mysql_async::Conn {
    let url = format!("{}/test", server_url());
    mysql_async::Conn::from_url(&url).await.unwrap_or_else(|e| {
        panic!(
            "MySQL/MariaDB is not reachable at {}: {e}. These tests need a running server \
             (scripts/services start runs one; GRAFTER_TEST_MYSQL_URL points elsewhere).",
            grafter_model::redact_url(&url)
        )
    })
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
        let mut admin = admin().await;
        admin.query_drop(format!("DROP DATABASE IF EXISTS `{name}`")).await.unwrap();
        admin.query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")).await.unwrap();
        TestDb { name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", server_url(), self.name)
    }

    /// A plain driver connection to the database, for setting it up.
    pub async fn conn(&self) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&self.url()).unwrap())
            .init(vec!["SET NAMES utf8mb4, time_zone = '+00:00'"]);
        mysql_async::Conn::new(opts).await.unwrap()
    }

    pub async fn exec(&self, sql: &str) {
        let mut conn = self.conn().await;
        conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.disconnect().await.unwrap();
    }

    pub async fn source(&self, types: TypePolicy) -> MysqlSource {
        MysqlSource::connect(&self.url(), types).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async code (and maybe during a panic): a thread of its own with
        // its own runtime.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let mut admin = admin().await;
                let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS `{name}`")).await;
                let _ = admin.disconnect().await;
            });
        })
        .join();
    }
}
