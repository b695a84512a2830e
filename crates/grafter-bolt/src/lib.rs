//! grafter's Bolt client: the protocol Neo4j, Memgraph and FalkorDB speak.
//!
//! We write our own because `neo4rs` speaks only Bolt 4.x, while FalkorDB accepts Bolt
//! 5.1–5.7 and current Neo4j and Memgraph speak 5.x (see `DESIGN.md`). The crate follows the
//! published Bolt specification, in layers that each stand on the one below:
//!
//! - [`packstream`]: the value format ([`BoltValue`], every Bolt structure), encode/decode.
//! - [`chunk`]: message framing in chunks of at most 65,535 bytes.
//! - [`handshake`]: magic bytes and version negotiation by ranges (5.7–5.0, then 4.4).
//! - [`message`]: requests (HELLO, LOGON, BEGIN, RUN, PULL, ROUTE, …) and responses.
//! - [`Connection`]: one authenticated connection over TCP or TLS, keeping the protocol
//!   state (RESET after a failure, discarding half-read results).
//! - [`Transaction`] and [`RecordStream`]: explicit transactions, streamed results.
//! - [`Router`]: `neo4j://` routing by ROUTE, with writes sent to the leader.
//! - [`BatchSizer`]: how many rows fit under a byte cap, to size UNWIND batches.
//! - `convert`: [`BoltValue`] ⇄ grafter's `Value`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), grafter_bolt::BoltError> {
//! use grafter_bolt::{AccessMode, ConnectConfig, Connection, bolt_map};
//!
//! let config = ConnectConfig::parse("bolt://neo4j:secret@localhost:7687?database=shop")?;
//! let mut conn = Connection::connect(&config).await?;
//! let mut tx = conn.begin(AccessMode::Write).await?;
//! tx.execute("CREATE (:Customer {id: $id, name: $name})", bolt_map! { "id" => 1, "name" => "Ada" }).await?;
//! tx.commit().await?;
//! let mut rows = conn.run("MATCH (c:Customer) RETURN c.name AS name", bolt_map! {}).await?;
//! while let Some(record) = rows.next().await? {
//!     println!("{:?}", record.get("name"));
//! }
//! drop(rows);
//! conn.close().await;
//! # Ok(()) }
//! ```

pub mod batch;
pub mod chunk;
pub mod config;
pub mod connection;
pub mod convert;
pub mod error;
pub mod handshake;
pub mod message;
pub mod packstream;
pub mod result;
pub mod routing;
#[cfg(feature = "tls")]
mod tls;
pub mod transaction;

pub use batch::{BatchFit, BatchSizer, rows_fitting};
pub use config::{ConnectConfig, Security};
pub use connection::Connection;
pub use convert::{ConvertError, params_from_values};
pub use error::{BoltError, ServerError};
pub use handshake::Version;
pub use message::{AccessMode, Auth, TxExtra};
pub use packstream::{BoltMap, BoltValue, StructFormat};
pub use result::{QueryResult, Record, Summary};
pub use routing::{Router, RoutingTable};
pub use transaction::{RecordStream, Transaction};
