//! Routing for `neo4j://` URLs: a [`RoutingTable`] from the cluster, and a [`Router`] that
//! sends each transaction to a server of the right role.
//!
//! The table comes from the ROUTE message (Bolt 4.3+, so every version this client speaks),
//! asked first of the routers the last table named and then of the URL's host. Writes go to
//! a WRITE server (the leader), reads to READ servers in turn. The table is fetched again
//! when its time to live runs out, and when a write fails because the server is no longer
//! the leader or cannot be reached: that server is forgotten, the table refreshed, and the
//! transaction tried once more on the new leader.
//!
//! For `bolt://` URLs the router keeps a fixed one-server table and never sends ROUTE, so
//! callers can use one API for both.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::{ConnectConfig, split_host_port};
use crate::connection::{Connection, RETRY_PAUSE};
use crate::error::BoltError;
use crate::message::{AccessMode, TxExtra};
use crate::packstream::{BoltMap, BoltValue};
use crate::result::QueryResult;
use crate::transaction::Transaction;

/// The servers of a cluster by role, as ROUTE returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingTable {
    /// Servers that answer ROUTE.
    pub routers: Vec<String>,
    /// Servers for read transactions.
    pub readers: Vec<String>,
    /// Servers for write transactions (the leader).
    pub writers: Vec<String>,
    /// How long the table may be used.
    pub ttl: Duration,
    /// The database the table is for, if the server said.
    pub database: Option<String>,
    fetched_at: Instant,
}

impl RoutingTable {
    /// Reads the `rt` dictionary of a ROUTE answer:
    /// `{ttl: seconds, db: name, servers: [{addresses: [...], role: "ROUTE"|"READ"|"WRITE"}]}`.
    pub fn from_rt(rt: &BoltMap) -> Result<RoutingTable, String> {
        let ttl = rt.get("ttl").and_then(BoltValue::as_int).ok_or("no integer `ttl`")?;
        let servers = rt.get("servers").and_then(BoltValue::as_list).ok_or("no `servers` list")?;
        let mut table = RoutingTable {
            routers: Vec::new(),
            readers: Vec::new(),
            writers: Vec::new(),
            ttl: Duration::from_secs(u64::try_from(ttl).unwrap_or(0)),
            database: rt.get("db").and_then(BoltValue::as_str).map(str::to_owned),
            fetched_at: Instant::now(),
        };
        for server in servers {
            let server = server.as_map().ok_or("a server entry is not a dictionary")?;
            let role = server.get("role").and_then(BoltValue::as_str).ok_or("a server entry has no `role`")?;
            let addresses =
                server.get("addresses").and_then(BoltValue::as_list).ok_or("a server entry has no `addresses`")?;
            let target = match role {
                "ROUTE" => &mut table.routers,
                "READ" => &mut table.readers,
                "WRITE" => &mut table.writers,
                // Roles this client does not use are skipped, as the spec lets servers add them.
                _ => continue,
            };
            for address in addresses {
                let address = address.as_str().ok_or("an address is not a string")?;
                // Check the address now, so a bad table fails here and not at connect time.
                split_host_port(address).map_err(|e| format!("address `{address}`: {e}"))?;
                target.push(address.to_owned());
            }
        }
        Ok(table)
    }

    /// A one-server table that never expires (for `bolt://`).
    pub fn direct(address: String) -> RoutingTable {
        RoutingTable {
            routers: vec![address.clone()],
            readers: vec![address.clone()],
            writers: vec![address],
            ttl: Duration::MAX,
            database: None,
            fetched_at: Instant::now(),
        }
    }

    /// Whether the time to live has run out.
    pub fn is_expired(&self) -> bool {
        self.fetched_at.elapsed() >= self.ttl
    }

    /// Whether the table can serve `mode` now: not expired, with routers and a server of
    /// the role.
    pub fn is_fresh_for(&self, mode: AccessMode) -> bool {
        !self.is_expired()
            && !self.routers.is_empty()
            && match mode {
                AccessMode::Write => !self.writers.is_empty(),
                AccessMode::Read => !self.readers.is_empty(),
            }
    }

    /// Servers for `mode`.
    pub fn servers(&self, mode: AccessMode) -> &[String] {
        match mode {
            AccessMode::Write => &self.writers,
            AccessMode::Read => &self.readers,
        }
    }

    /// Drops `address` as reader and writer (it failed); it stays a router candidate
    /// until the next table.
    pub fn forget(&mut self, address: &str) {
        self.readers.retain(|a| a != address);
        self.writers.retain(|a| a != address);
    }

    /// Drops `address` as writer only (it said it is not the leader).
    pub fn forget_writer(&mut self, address: &str) {
        self.writers.retain(|a| a != address);
    }
}

/// Routes transactions across a cluster (or to the one server of a `bolt://` URL).
#[derive(Debug)]
pub struct Router {
    config: ConnectConfig,
    initial: String,
    table: tokio::sync::Mutex<Option<RoutingTable>>,
    idle: Mutex<Vec<Connection>>,
    bookmarks: Mutex<Vec<String>>,
    next: AtomicUsize,
    route_requests: AtomicUsize,
}

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

impl Router {
    /// A router for `config`: `neo4j://` URLs route, `bolt://` URLs go to their one server.
    pub fn new(config: ConnectConfig) -> Router {
        let initial = config.address();
        let table = (!config.routing).then(|| RoutingTable::direct(initial.clone()));
        Router {
            config,
            initial,
            table: tokio::sync::Mutex::new(table),
            idle: Mutex::new(Vec::new()),
            bookmarks: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            route_requests: AtomicUsize::new(0),
        }
    }

    /// Reads a URL and builds the router.
    pub fn from_url(url: &str) -> Result<Router, BoltError> {
        Ok(Router::new(ConnectConfig::parse(url)?))
    }

    /// The configuration.
    pub fn config(&self) -> &ConnectConfig {
        &self.config
    }

    /// How many ROUTE requests this router has sent (for tests and diagnostics).
    pub fn route_requests(&self) -> usize {
        self.route_requests.load(Ordering::Relaxed)
    }

    /// The bookmarks the next transaction waits for (the last commit's).
    pub fn bookmarks(&self) -> Vec<String> {
        self.bookmarks.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// The current table, fetched again if it is missing, expired or has no server for
    /// `mode`.
    pub async fn routing_table(&self, mode: AccessMode) -> Result<RoutingTable, BoltError> {
        let mut guard = self.table.lock().await;
        if let Some(table) = guard.as_ref()
            && (table.is_fresh_for(mode) || !self.config.routing)
        {
            return Ok(table.clone());
        }
        let table = self.fetch(guard.as_ref()).await?;
        *guard = Some(table.clone());
        Ok(table)
    }

    /// Fetches a new table now.
    pub async fn refresh(&self) -> Result<RoutingTable, BoltError> {
        let mut guard = self.table.lock().await;
        if !self.config.routing {
            return Ok(guard.clone().unwrap_or_else(|| RoutingTable::direct(self.initial.clone())));
        }
        let table = self.fetch(guard.as_ref()).await?;
        *guard = Some(table.clone());
        Ok(table)
    }

    /// Asks the known routers, then the URL's host, for a table.
    async fn fetch(&self, current: Option<&RoutingTable>) -> Result<RoutingTable, BoltError> {
        let mut candidates: Vec<String> = current.map(|t| t.routers.clone()).unwrap_or_default();
        if !candidates.contains(&self.initial) {
            candidates.push(self.initial.clone());
        }
        let mut context = self.config.routing_context.clone();
        context.insert("address".into(), self.initial.clone().into());
        let mut failures = Vec::new();
        for router in candidates {
            self.route_requests.fetch_add(1, Ordering::Relaxed);
            let attempt = async {
                let mut conn = Connection::connect_to(&self.config, &router).await?;
                let rt = conn.route(context.clone(), self.bookmarks(), self.config.database.as_deref()).await;
                conn.close().await;
                let rt = rt?;
                RoutingTable::from_rt(&rt).map_err(|why| BoltError::Protocol {
                    address: router.clone(),
                    expected: "a routing table".into(),
                    got: why,
                })
            };
            match attempt.await {
                Ok(table) if !table.routers.is_empty() => return Ok(table),
                Ok(_) => failures.push(format!("{router}: the table names no routers")),
                // A database that does not exist will not appear elsewhere: stop here.
                Err(BoltError::Server(e)) if e.code.contains("DatabaseNotFound") => return Err(BoltError::Server(e)),
                // Credentials are the cluster's, not one router's: another router or a retry
                // would only add failed logins, and Neo4j locks a user out after three in a row.
                Err(e @ BoltError::AuthFailed { .. }) => return Err(e),
                Err(e) => failures.push(format!("{router}: {e}")),
            }
        }
        Err(BoltError::NoServer { role: "ROUTE", database: self.database_name(), detail: failures.join("; ") })
    }

    fn database_name(&self) -> String {
        self.config.database.clone().unwrap_or_else(|| "(default)".into())
    }

    /// Forgets `address` in the current table (it failed).
    pub async fn forget(&self, address: &str, only_as_writer: bool) {
        if !self.config.routing {
            return;
        }
        if let Some(table) = self.table.lock().await.as_mut() {
            if only_as_writer { table.forget_writer(address) } else { table.forget(address) }
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|c| c.address() != address);
        }
    }

    /// A connection to a server for `mode`: an idle one if there is one, else a new one.
    /// Servers that cannot be reached are forgotten and the next one tried.
    pub async fn acquire(&self, mode: AccessMode) -> Result<Connection, BoltError> {
        let table = self.routing_table(mode).await?;
        let servers = table.servers(mode);
        if servers.is_empty() {
            return Err(BoltError::NoServer {
                role: if mode == AccessMode::Write { "WRITE" } else { "READ" },
                database: self.database_name(),
                detail: "the routing table lists none".into(),
            });
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..servers.len() {
            let address = &servers[(start + i) % servers.len()];
            if let Some(conn) = self.take_idle(address) {
                return Ok(conn);
            }
            match Connection::connect_to(&self.config, address).await {
                Ok(conn) => return Ok(conn),
                Err(e) if e.is_routing_failure() => {
                    self.forget(address, false).await;
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or(BoltError::NoServer {
            role: "WRITE",
            database: self.database_name(),
            detail: "no server answered".into(),
        }))
    }

    fn take_idle(&self, address: &str) -> Option<Connection> {
        let mut idle = self.idle.lock().ok()?;
        let index = idle.iter().position(|c| c.address() == address && c.is_usable())?;
        Some(idle.swap_remove(index))
    }

    /// Gives a connection back for reuse (dropped instead if it is broken or the pool is full).
    pub fn release(&self, conn: Connection) {
        if !conn.is_usable() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
    }

    /// Runs `work` in a write transaction on the leader and commits it. If the server turns
    /// out not to be the leader, or cannot be reached, the table is refreshed and `work` runs
    /// once more, from the start, in a new transaction on the new leader.
    pub async fn write_transaction<T, F>(&self, work: F) -> Result<T, BoltError>
    where
        F: AsyncFnMut(&mut Transaction<'_>) -> Result<T, BoltError>,
    {
        self.transaction(AccessMode::Write, work).await
    }

    /// Runs `work` in a read transaction on a reader, with the same retry as writes.
    pub async fn read_transaction<T, F>(&self, work: F) -> Result<T, BoltError>
    where
        F: AsyncFnMut(&mut Transaction<'_>) -> Result<T, BoltError>,
    {
        self.transaction(AccessMode::Read, work).await
    }

    async fn transaction<T, F>(&self, mode: AccessMode, mut work: F) -> Result<T, BoltError>
    where
        F: AsyncFnMut(&mut Transaction<'_>) -> Result<T, BoltError>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut address = None;
            let outcome = async {
                let mut conn = self.acquire(mode).await?;
                address = Some(conn.address().to_owned());
                let extra = TxExtra {
                    database: self.config.database.clone(),
                    mode,
                    bookmarks: self.bookmarks(),
                    ..TxExtra::default()
                };
                let result = async {
                    let mut tx = conn.begin_with(extra).await?;
                    let value = work(&mut tx).await?;
                    let bookmark = tx.commit().await?;
                    Ok::<_, BoltError>((value, bookmark))
                }
                .await;
                // A failed transaction's connection is reset on its next use, so it can go back.
                self.release(conn);
                result
            }
            .await;
            let outcome: Result<(T, Option<String>), BoltError> = outcome;
            match outcome {
                Ok((value, bookmark)) => {
                    if let Some(bookmark) = bookmark
                        && let Ok(mut bookmarks) = self.bookmarks.lock()
                    {
                        *bookmarks = vec![bookmark];
                    }
                    return Ok(value);
                }
                Err(e) if attempt == 1 && self.config.routing && e.is_routing_failure() => {
                    if let Some(address) = &address {
                        let not_leader = e.server_error().is_some_and(|s| s.is_not_a_leader());
                        self.forget(address, not_leader).await;
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                    // A fresh table names the new leader; if none can be had, report that.
                    self.refresh().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Runs one query in a write transaction (with the retry of
    /// [`write_transaction`](Router::write_transaction)) and returns its whole result.
    pub async fn execute_write(&self, query: &str, parameters: BoltMap) -> Result<QueryResult, BoltError> {
        self.write_transaction(async |tx| tx.execute(query, parameters.clone()).await).await
    }

    /// Runs one query in a read transaction and returns its whole result.
    pub async fn execute_read(&self, query: &str, parameters: BoltMap) -> Result<QueryResult, BoltError> {
        self.read_transaction(async |tx| tx.execute(query, parameters.clone()).await).await
    }

    /// Closes idle connections (GOODBYE on each).
    pub async fn close(&self) {
        let idle = self.idle.lock().map(|mut idle| std::mem::take(&mut *idle)).unwrap_or_default();
        for conn in idle {
            conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt_map;

    fn server(role: &str, addresses: &[&str]) -> BoltValue {
        BoltValue::Dictionary(bolt_map! {
            "role" => role,
            "addresses" => BoltValue::List(addresses.iter().map(|a| BoltValue::from(*a)).collect()),
        })
    }

    #[test]
    fn reads_a_route_answer() {
        let rt = bolt_map! {
            "ttl" => 300,
            "db" => "neo4j",
            "servers" => BoltValue::List(vec![
                server("ROUTE", &["a:7687", "b:7687"]),
                server("WRITE", &["a:7687"]),
                server("READ", &["b:7687", "c:7687"]),
                server("SOMETHING_NEW", &["d:1"]),
            ]),
        };
        let table = RoutingTable::from_rt(&rt).expect("a table");
        assert_eq!(table.routers, ["a:7687", "b:7687"]);
        assert_eq!(table.writers, ["a:7687"]);
        assert_eq!(table.readers, ["b:7687", "c:7687"]);
        assert_eq!(table.ttl, Duration::from_secs(300));
        assert_eq!(table.database.as_deref(), Some("neo4j"));
        assert!(table.is_fresh_for(AccessMode::Write));
        let mut table = table;
        table.forget_writer("a:7687");
        assert!(!table.is_fresh_for(AccessMode::Write));
        assert!(table.is_fresh_for(AccessMode::Read));
    }

    #[test]
    fn bad_tables_say_why() {
        assert!(RoutingTable::from_rt(&bolt_map! { "servers" => BoltValue::List(vec![]) }).is_err());
        let rt = bolt_map! { "ttl" => 1, "servers" => BoltValue::List(vec![server("READ", &["nohost:"])]) };
        assert!(RoutingTable::from_rt(&rt).expect_err("bad address").contains("nohost:"));
    }

    #[test]
    fn zero_ttl_is_expired_at_once() {
        let rt = bolt_map! { "ttl" => 0, "servers" => BoltValue::List(vec![server("ROUTE", &["a:1"]), server("WRITE", &["a:1"])]) };
        assert!(RoutingTable::from_rt(&rt).expect("a table").is_expired());
    }
}
