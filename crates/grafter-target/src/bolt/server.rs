//! Which server answers on the Bolt port, and what that means for grafter: its DDL
//! [`Dialect`], whether its transactions are real, how it takes parameters, how big a
//! statement may be, how a graph is named.
//!
//! The server is told from its HELLO answer. Memgraph says so in its agent string ("Neo4j/
//! v5.11.0 compatible graph database server - Memgraph"). FalkorDB 4.x introduces itself as
//! "Neo4j/5.13.0" but gives a UUID as connection id, where Neo4j gives "bolt-<n>". A URL's
//! `server=` settles it when the greeting does not.
//!
//! FalkorDB's Bolt port (4.16, where grafter was tested) differs from the specification in
//! ways that decide how grafter talks to it (read in its source, `src/bolt/bolt_api.c`, and
//! each seen on a server here):
//!
//! - BEGIN, COMMIT and ROLLBACK are answered SUCCESS and do nothing: every RUN commits on its
//!   own. A batch and its checkpoint must therefore be one statement.
//! - Parameters are not bound: the server writes them as text before the query (`CYPHER
//!   name=value … query`) into a 4,096-byte buffer on its stack. A longer text aborts the
//!   whole server ("stack smashing detected"); strings are put between quotes unescaped (a
//!   quote in a value ends it, a backslash escapes), doubles are printed with six decimals.
//! - The graph is the first *key* of RUN's `extra` (so `{db: "shop"}` means graph `db`).
//! - After a client's GOODBYE the server's next request, from any client (a Bolt handshake,
//!   a native command), goes unanswered for seconds; a FAILURE leaves the PULL sent with the
//!   RUN unanswered until RESET. Neither is waited for: no GOODBYE, RESET at once.
//! - Error codes have no `Neo.` prefix (`SyntaxError`), which other drivers report as
//!   `Neo.DatabaseError.General.UnknownError`.

use crate::Dialect;
use crate::cypher::queries::Optimism;

/// The most bytes of text FalkorDB's Bolt port takes for a statement with its parameters
/// (its buffer holds 4,096 with the terminating NUL).
pub(crate) const FALKORDB_TEXT_LIMIT: usize = 4095;
/// The statement cap grafter uses on FalkorDB unless told otherwise: below the hard limit,
/// with room for a misjudged byte.
const FALKORDB_DEFAULT_CAP: usize = 4000;
/// The statement cap on servers that bind parameters: big enough that a batch of the
/// default size is one statement, small enough to keep a server's memory per message modest.
const DEFAULT_CAP: usize = 8 * 1024 * 1024;

/// A graph server that speaks Bolt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// Neo4j 5 (or anything else that behaves as the specification says).
    Neo4j,
    /// Memgraph.
    Memgraph,
    /// FalkorDB's Bolt port (see the module documentation).
    FalkorDb,
    /// ArcadeDB's Bolt plugin: Neo4j 5's Cypher and transactions, but no zoned date-time
    /// (one arrives as the UTC local date-time, its offset lost), so grafter keeps those as
    /// their ISO 8601 text there.
    ArcadeDb,
}

impl Server {
    /// Tells the server from its HELLO answer.
    pub(crate) fn detect(agent: &str, connection_id: Option<&str>) -> Server {
        let lower = agent.to_ascii_lowercase();
        if lower.contains("memgraph") {
            Server::Memgraph
        } else if lower.contains("arcadedb") {
            Server::ArcadeDb
        } else if lower.contains("falkordb") || (lower.starts_with("neo4j/") && connection_id.is_some_and(is_uuid)) {
            Server::FalkorDb
        } else {
            Server::Neo4j
        }
    }

    /// The server a URL's `server=` names.
    pub(crate) fn named(name: &str) -> Option<Server> {
        match name {
            "neo4j" => Some(Server::Neo4j),
            "memgraph" => Some(Server::Memgraph),
            "falkordb" => Some(Server::FalkorDb),
            "arcadedb" => Some(Server::ArcadeDb),
            _ => None,
        }
    }

    /// Its name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Neo4j => "Neo4j",
            Server::Memgraph => "Memgraph",
            Server::FalkorDb => "FalkorDB",
            Server::ArcadeDb => "ArcadeDB",
        }
    }

    /// Its DDL.
    pub(crate) fn dialect(self) -> Dialect {
        match self {
            Server::Neo4j | Server::ArcadeDb => Dialect::Neo4j,
            Server::Memgraph => Dialect::Memgraph,
            Server::FalkorDb => Dialect::FalkorDb,
        }
    }

    /// Whether it runs Neo4j 5's Cypher beyond the common core (`CALL { … } IN
    /// TRANSACTIONS`, `SHOW` commands).
    pub(crate) fn speaks_neo4j(self) -> bool {
        matches!(self, Server::Neo4j | Server::ArcadeDb)
    }

    /// Whether BEGIN … COMMIT makes several statements one transaction.
    pub(crate) fn has_transactions(self) -> bool {
        self != Server::FalkorDb
    }

    /// Whether a relationship batch is first tried as one statement that writes only when
    /// nothing needs a closer look (see `write::optimistic`), and how it keeps from writing
    /// part of the batch. Neo4j gathers the batch in the statement; ArcadeDB, whose Cypher
    /// gathers lists of nodes slowly, writes what it can and the transaction is rolled back
    /// when that is short. Memgraph's is untested here; FalkorDB's Bolt port has no
    /// transactions to write a batch in.
    pub(crate) fn writes_relationships_optimistically(self) -> Option<Optimism> {
        match self {
            Server::Neo4j => Some(Optimism::AllOrNothing),
            Server::ArcadeDb => Some(Optimism::RolledBackIfShort),
            Server::Memgraph | Server::FalkorDb => None,
        }
    }

    /// Whether a uniqueness constraint's refusal of a key is told by its own error code
    /// (`Neo.ClientError.Schema.ConstraintValidationFailed`), so that node batches of a label
    /// new to the graph can be written without a lookup and sent again the lookup way when
    /// refused (see `write::create_only`). Neo4j only: ArcadeDB's and Memgraph's refusals
    /// are untested here.
    pub(crate) fn names_refused_keys(self) -> bool {
        self == Server::Neo4j
    }

    /// Whether relationship batches are written one at a time. ArcadeDB: it commits
    /// optimistically and refuses a transaction that changed a page another one committed
    /// meanwhile (`DeadlockDetected: … concurrent change to the same record`), which two
    /// relationship batches side by side did for 3 of 20 batches of 100,000 relationships
    /// (12,400 a second, with the retries); one at a time none did (17,700 a second). Neo4j
    /// locks what it writes and took two and four writers side by side with no conflict
    /// (1,000,000 random relationships; 300,000 touching twenty nodes).
    pub(crate) fn writes_relationships_one_at_a_time(self) -> bool {
        self == Server::ArcadeDb
    }

    /// Whether grafter indexes relationship keys and finds keyed relationships through the
    /// index (see `relationship_keys`). Neo4j only: its planner was seen to use the index for
    /// `()-[x:T {key}]->()` with both ends bound; the others are untested here.
    pub(crate) fn indexes_relationship_keys(self) -> bool {
        self == Server::Neo4j
    }

    /// Whether a run reads the lock back after taking it (see `BoltTarget::acquire_lock`):
    /// ArcadeDB, whose `MERGE` once let two runs started together both take it.
    pub(crate) fn reads_the_lock_back(self) -> bool {
        self == Server::ArcadeDb
    }

    /// Whether parameters are written into the query text rather than bound.
    pub(crate) fn splices_parameters(self) -> bool {
        self == Server::FalkorDb
    }

    /// The statement cap: `configured`, or the server's default, never above what the
    /// server survives.
    pub(crate) fn cap(self, configured: Option<usize>) -> usize {
        match self {
            Server::FalkorDb => configured.unwrap_or(FALKORDB_DEFAULT_CAP).min(FALKORDB_TEXT_LIMIT),
            Server::Neo4j | Server::Memgraph | Server::ArcadeDb => configured.unwrap_or(DEFAULT_CAP),
        }
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_told_from_their_greeting() {
        // What each sends in HELLO's SUCCESS.
        assert_eq!(Server::detect("Neo4j/5.13.0", Some("4f9c2a7e-3b1d-4c55-9e0a-0123456789ab")), Server::FalkorDb);
        assert_eq!(Server::detect("Neo4j/5.26.0", Some("bolt-17")), Server::Neo4j);
        assert_eq!(Server::detect("Neo4j/2025.01.0", None), Server::Neo4j);
        assert_eq!(
            Server::detect("Neo4j/v5.11.0 compatible graph database server - Memgraph", Some("x")),
            Server::Memgraph
        );
        assert_eq!(Server::detect("FalkorDB/4.20", None), Server::FalkorDb);
        assert_eq!(Server::detect("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)", Some("bolt-3")), Server::ArcadeDb);
        assert_eq!(Server::named("memgraph"), Some(Server::Memgraph));
        assert_eq!(Server::named("oracle"), None);
    }

    #[test]
    fn each_server_has_its_dialect_and_falkordb_its_limits() {
        assert_eq!(Server::Memgraph.dialect(), Dialect::Memgraph);
        assert_eq!(Server::FalkorDb.dialect(), Dialect::FalkorDb);
        assert!(!Server::FalkorDb.has_transactions() && Server::Neo4j.has_transactions());
        assert_eq!(Server::FalkorDb.cap(None), 4000);
        assert_eq!(Server::FalkorDb.cap(Some(1500)), 1500);
        assert_eq!(Server::FalkorDb.cap(Some(1_000_000)), FALKORDB_TEXT_LIMIT, "never above what it survives");
        assert_eq!(Server::Neo4j.cap(Some(1_000_000)), 1_000_000);
    }
}
