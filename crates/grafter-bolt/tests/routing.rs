//! `neo4j://` routing against a scripted cluster in this process: each fake server listens on
//! a port of its own, answers the handshake, HELLO/LOGON, ROUTE, BEGIN/RUN/PULL/COMMIT as a
//! script says, and logs what it was asked. No real cluster runs on this machine, so this is
//! where the routing table's use is proven: ROUTE's answer read, writes sent to the leader,
//! reads to a reader, and the table refreshed when the leader steps down or dies.

use std::sync::{Arc, Mutex};

use grafter_bolt::chunk::{read_message, write_chunked};
use grafter_bolt::message::{Request, Response};
use grafter_bolt::{BoltMap, BoltValue, ConnectConfig, Router, Version, bolt_map};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a fake server answers to RUN: rows, or a FAILURE code.
#[derive(Clone)]
enum Answer {
    Rows(Vec<i64>),
    Fail(&'static str),
    /// FAILURE, then silence until RESET, answered by IGNORED (for the PULL) and SUCCESS: what
    /// FalkorDB 4.16 does.
    FailQuietly(&'static str),
}

/// A scripted Bolt server. `route` is the routing table it hands out (when asked), `run` its
/// answer to every RUN; `log` records the requests, by name and query.
struct FakeServer {
    address: String,
    log: Arc<Mutex<Vec<String>>>,
    route: Arc<Mutex<BoltMap>>,
    run: Arc<Mutex<Answer>>,
}

impl FakeServer {
    async fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let server = FakeServer {
            address,
            log: Arc::default(),
            route: Arc::new(Mutex::new(BoltMap::new())),
            run: Arc::new(Mutex::new(Answer::Rows(vec![1]))),
        };
        let (log, route, run) = (server.log.clone(), server.route.clone(), server.run.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone(), route.clone(), run.clone()));
            }
        });
        server
    }

    fn set_route(&self, rt: BoltMap) {
        *self.route.lock().expect("route") = rt;
    }

    fn set_run(&self, answer: Answer) {
        *self.run.lock().expect("run") = answer;
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// The queries this server ran.
    fn queries(&self) -> Vec<String> {
        self.log().into_iter().filter_map(|l| l.strip_prefix("RUN ").map(str::to_owned)).collect()
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    route: Arc<Mutex<BoltMap>>,
    run: Arc<Mutex<Answer>>,
) {
    let mut handshake = [0u8; 20];
    if stream.read_exact(&mut handshake).await.is_err() {
        return;
    }
    let version = Version::V5_7;
    if stream.write_all(&[0, 0, version.minor, version.major]).await.is_err() {
        return;
    }
    let mut failed = false;
    let mut quiet = false;
    loop {
        let Ok(bytes) = read_message(&mut stream, 1 << 20).await else { return };
        let Ok(request) = Request::decode(&bytes, version) else { return };
        let mut answers = Vec::new();
        match &request {
            Request::Hello(_) => {
                answers.push(Response::Success(bolt_map! { "server" => "Neo4j/5.26.0", "connection_id" => "bolt-1" }))
            }
            // The one password this server refuses, as Neo4j refuses a wrong one.
            Request::Logon(auth) if auth.get("credentials") == Some(&BoltValue::from(WRONG_PASSWORD)) => {
                failed = true;
                answers.push(Response::Failure(bolt_map! {
                    "code" => "Neo.ClientError.Security.Unauthorized",
                    "message" => "The client is unauthorized due to authentication failure.",
                }));
            }
            Request::Goodbye => return,
            Request::Reset => {
                if quiet {
                    answers.push(Response::Ignored);
                }
                (failed, quiet) = (false, false);
                answers.push(Response::Success(BoltMap::new()));
            }
            _ if quiet => {}
            _ if failed => answers.push(Response::Ignored),
            Request::Route { .. } => {
                let rt = route.lock().expect("route").clone();
                answers.push(Response::Success(bolt_map! { "rt" => BoltValue::Dictionary(rt) }));
            }
            Request::Run { query, .. } => {
                log.lock().expect("log").push(format!("RUN {query}"));
                match run.lock().expect("run").clone() {
                    // The PULL that follows gets the records.
                    Answer::Rows(_) => {
                        answers.push(Response::Success(bolt_map! { "fields" => BoltValue::List(vec!["n".into()]) }))
                    }
                    Answer::Fail(code) => {
                        failed = true;
                        answers.push(Response::Failure(bolt_map! { "code" => code, "message" => "scripted" }));
                    }
                    Answer::FailQuietly(code) => {
                        quiet = true;
                        answers.push(Response::Failure(bolt_map! { "code" => code, "message" => "scripted" }));
                    }
                }
            }
            Request::Pull { .. } => {
                if let Answer::Rows(rows) = run.lock().expect("run").clone() {
                    answers.extend(rows.into_iter().map(|n| Response::Record(vec![BoltValue::Integer(n)])));
                }
                answers.push(Response::Success(bolt_map! { "has_more" => false }));
            }
            Request::Commit => answers.push(Response::Success(bolt_map! { "bookmark" => "bm:1" })),
            _ => answers.push(Response::Success(BoltMap::new())),
        }
        log.lock().expect("log").push(request.name().to_owned());
        let mut out = Vec::new();
        for answer in answers {
            let mut body = Vec::new();
            answer.encode(version, &mut body).expect("encode");
            write_chunked(&body, &mut out);
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The password a fake server refuses at LOGON.
const WRONG_PASSWORD: &str = "n0t-the-Pa55word";

/// A routing table's `rt`: these routers, writers and readers.
fn table(routers: &[&str], writers: &[&str], readers: &[&str]) -> BoltMap {
    let role = |role: &str, addresses: &[&str]| {
        BoltValue::Dictionary(bolt_map! {
            "role" => role,
            "addresses" => BoltValue::List(addresses.iter().map(|a| BoltValue::from(*a)).collect()),
        })
    };
    bolt_map! {
        "ttl" => 300,
        "db" => "neo4j",
        "servers" => BoltValue::List(vec![role("ROUTE", routers), role("WRITE", writers), role("READ", readers)]),
    }
}

fn router_for(entry: &FakeServer) -> Router {
    Router::new(ConnectConfig::parse(&format!("neo4j://{}", entry.address)).expect("a neo4j:// URL"))
}

#[tokio::test]
async fn writes_go_to_the_leader_and_reads_to_a_reader() {
    let (entry, leader, reader) = (FakeServer::start().await, FakeServer::start().await, FakeServer::start().await);
    entry.set_route(table(&[&entry.address], &[&leader.address], &[&reader.address]));
    let router = router_for(&entry);

    let written = router.execute_write("CREATE (n) RETURN 1 AS n", BoltMap::new()).await.expect("the write");
    assert_eq!(written.records.len(), 1);
    let read = router.execute_read("MATCH (n) RETURN count(n) AS n", BoltMap::new()).await.expect("the read");
    assert_eq!(read.records.len(), 1);

    assert_eq!(leader.queries(), ["CREATE (n) RETURN 1 AS n"]);
    assert_eq!(reader.queries(), ["MATCH (n) RETURN count(n) AS n"]);
    assert!(entry.queries().is_empty(), "the entry router only routes: {:?}", entry.log());
    assert_eq!(router.route_requests(), 1, "one table served both");
    // The write's bookmark goes with the next transaction.
    assert_eq!(router.bookmarks(), ["bm:1"]);
}

#[tokio::test]
async fn a_leader_that_stepped_down_makes_the_router_fetch_a_new_table_and_write_there() {
    let (entry, old, new) = (FakeServer::start().await, FakeServer::start().await, FakeServer::start().await);
    entry.set_route(table(&[&entry.address], &[&old.address], &[&old.address]));
    old.set_run(Answer::Fail("Neo.ClientError.Cluster.NotALeader"));
    let router = router_for(&entry);
    router.routing_table(grafter_bolt::AccessMode::Write).await.expect("a first table");
    // The cluster elects a new leader; the entry router knows.
    entry.set_route(table(&[&entry.address], &[&new.address], &[&old.address]));

    let written = router.execute_write("CREATE (n)", BoltMap::new()).await.expect("written on the new leader");
    assert_eq!(written.records.len(), 1);
    assert_eq!(old.queries(), ["CREATE (n)"], "tried once on the old leader");
    assert_eq!(new.queries(), ["CREATE (n)"], "then on the new one");
    assert_eq!(router.route_requests(), 2, "the table was fetched again after the failure");
    let table = router.routing_table(grafter_bolt::AccessMode::Write).await.expect("the new table");
    assert_eq!(table.writers, std::slice::from_ref(&new.address));
}

#[tokio::test]
async fn a_leader_that_cannot_be_reached_is_forgotten_and_the_table_refreshed() {
    let (entry, new) = (FakeServer::start().await, FakeServer::start().await);
    // A port nothing listens on any more.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").to_string()
    };
    entry.set_route(table(&[&entry.address], &[&dead], &[&dead]));
    let router = router_for(&entry);
    router.routing_table(grafter_bolt::AccessMode::Write).await.expect("a first table");
    entry.set_route(table(&[&entry.address], &[&new.address], &[&new.address]));

    router.execute_write("CREATE (n)", BoltMap::new()).await.expect("written after the refresh");
    assert_eq!(new.queries(), ["CREATE (n)"]);
    assert!(router.route_requests() >= 2, "the table was fetched again");
}

#[tokio::test]
async fn a_statement_error_is_not_a_routing_failure_and_is_not_retried() {
    let (entry, leader) = (FakeServer::start().await, FakeServer::start().await);
    entry.set_route(table(&[&entry.address], &[&leader.address], &[&leader.address]));
    leader.set_run(Answer::Fail("Neo.ClientError.Statement.SyntaxError"));
    let router = router_for(&entry);
    let error = router.execute_write("CREAT (n)", BoltMap::new()).await.expect_err("a syntax error");
    assert!(error.to_string().contains("SyntaxError"), "{error}");
    assert_eq!(leader.queries(), ["CREAT (n)"], "sent once");
    assert_eq!(router.route_requests(), 1);
    // The failed connection is reset and serves the next statement.
    leader.set_run(Answer::Rows(vec![7]));
    let rows = router.execute_write("RETURN 7 AS n", BoltMap::new()).await.expect("the next statement");
    assert_eq!(rows.records[0].values(), [BoltValue::Integer(7)]);
    assert!(leader.log().contains(&"RESET".to_owned()), "{:?}", leader.log());
}

#[tokio::test]
async fn a_server_that_answers_a_failed_runs_pull_only_at_reset_does_not_hang_the_client() {
    let server = FakeServer::start().await;
    server.set_run(Answer::FailQuietly("SyntaxError"));
    let router = Router::new(ConnectConfig::parse(&format!("bolt://{}", server.address)).expect("a bolt:// URL"));
    let attempt = router.execute_write("RETRN 1", BoltMap::new());
    let error =
        tokio::time::timeout(std::time::Duration::from_secs(5), attempt).await.expect("no hang").expect_err("fails");
    assert!(error.to_string().contains("SyntaxError"), "{error}");
    server.set_run(Answer::Rows(vec![1]));
    let next =
        tokio::time::timeout(std::time::Duration::from_secs(5), router.execute_write("RETURN 1", BoltMap::new()));
    assert_eq!(next.await.expect("no hang").expect("the connection recovered").records.len(), 1);
}

#[tokio::test]
async fn a_wrong_password_at_the_router_is_named_at_once_and_not_tried_again() {
    // It was taken for a router that did not answer (retried, and named "no ROUTE server"):
    // each retry was one more failed login, and Neo4j then locked the user out, so that the
    // next run with the right password was refused too.
    let entry = FakeServer::start().await;
    entry.set_route(table(&[&entry.address], &[&entry.address], &[&entry.address]));
    let url = format!("neo4j://neo4j:{WRONG_PASSWORD}@{}", entry.address);
    let router = Router::new(ConnectConfig::parse(&url).expect("a neo4j:// URL"));
    let error = router.execute_write("RETURN 1 AS n", BoltMap::new()).await.expect_err("a wrong password");
    assert!(matches!(error, grafter_bolt::BoltError::AuthFailed { .. }), "{error}");
    assert!(error.to_string().contains("Unauthorized") && !error.to_string().contains(WRONG_PASSWORD), "{error}");
    let logins = entry.log().iter().filter(|request| *request == "LOGON").count();
    assert_eq!(logins, 1, "one failed login, not one per router or retry: {:?}", entry.log());
}
