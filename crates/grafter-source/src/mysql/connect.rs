//! Connecting to a MySQL / MariaDB server, and turning the driver's errors into
//! [`SourceError`]s: which are a person's to fix (wrong host, password, database, query) and
//! which may pass if the run is tried again (a connection lost mid-stream). This is the one
//! place that classifies them, so every operation of the source answers alike.
//!
//! No message built here contains the password: the URL appears only redacted, and the
//! driver's own texts for the errors met at connect time (I/O errors, the server's "Access
//! denied for user 'u'@'h' (using password: YES)") never include it.

use std::time::Duration;

use mysql_async::{Conn, Opts, OptsBuilder};

use super::state::MysqlSource;
use crate::SourceError;

/// How long a connection attempt may take before grafter gives up on a silent host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The statement every connection runs first.
///
/// - `NAMES utf8mb4`: the server converts every text column to UTF-8 (4-byte characters
///   included), so text arrives in one encoding whatever the column's own character set.
/// - `time_zone = '+00:00'`: `TIMESTAMP` values (stored in UTC, shown in the session zone)
///   arrive in UTC and become date-times at offset +00:00, whatever the server's zone.
/// - `net_write_timeout`: while the engine is busy writing a batch the stream is not read;
///   the default (60 s) would make the server drop it. An hour covers any sane batch.
///
/// All three exist with the same meaning in MySQL 5.7/8 and MariaDB.
const SESSION_SETUP: &str = "SET NAMES utf8mb4, time_zone = '+00:00', net_write_timeout = 3600";

/// Whether a connection is the first one (made by `connect`) or one of a source already
/// known to work: a refused connection is a person's to fix in the first case, and may be a
/// server restarting in the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// `MysqlSource::connect`.
    Open,
    /// Any later operation.
    Established,
}

/// Driver options and database name from a `mysql://` or `mariadb://` URL.
///
/// User and password are read by grafter's one rule ([`grafter_model::ServerUrl`]) and handed
/// to the driver percent-encoded, so a password holding `/`, `#`, `?` or `@` arrives whole.
pub(super) fn options(url: &str) -> Result<(Opts, String), SourceError> {
    let bad_url = |reason: String| SourceError::BadUrl {
        url: grafter_model::redact_url(url),
        reason: grafter_model::hide_password(&reason, url),
        hint: "write it as mysql://USER:PASSWORD@HOST:PORT/DATABASE (mariadb:// works too)".into(),
    };
    let parsed =
        grafter_model::ServerUrl::parse(url).ok_or_else(|| bad_url("it has no `//` after the scheme".into()))?;
    let driver_url = parsed.for_driver().map_err(|e| bad_url(e.to_string()))?;
    // The driver knows only `mysql://`; MariaDB speaks the same protocol.
    let driver_url = match driver_url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => driver_url,
    };
    let opts = Opts::from_url(&driver_url).map_err(|e| bad_url(e.to_string()))?;
    let Some(database) = opts.db_name().filter(|db| !db.is_empty()).map(str::to_owned) else {
        return Err(bad_url("it names no database".into()));
    };
    let opts = OptsBuilder::from_opts(opts).init(vec![SESSION_SETUP]);
    Ok((opts.into(), database))
}

/// A new connection with the session set up, or the reason there is none.
pub(super) async fn connect(source: &MysqlSource, stage: Stage) -> Result<Conn, SourceError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(source.opts.clone())).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(connect_error(source, stage, error).await),
        Err(_) => Err(SourceError::Connection {
            source_url: source.describe_url(),
            message: format!("no answer from {} within {} s", address(&source.opts), CONNECT_TIMEOUT.as_secs()),
            hint: Some("check the host and port in the URL, and that no firewall drops the connection".into()),
            transient: stage == Stage::Established,
        }),
    }
}

fn address(opts: &Opts) -> String {
    format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port())
}

/// The error of a failed connection attempt, each kind with what to do about it.
async fn connect_error(source: &MysqlSource, stage: Stage, error: mysql_async::Error) -> SourceError {
    let opts = &source.opts;
    let user = opts.user().unwrap_or("");
    let (message, hint, transient) = match &error {
        mysql_async::Error::Server(server) => match server.code {
            // ER_ACCESS_DENIED_ERROR
            1045 => (
                format!("access denied for user `{user}`: {}", server.message),
                "check the user name and password in the URL and that the user may connect from this host".to_owned(),
                false,
            ),
            // ER_DBACCESS_DENIED_ERROR
            1044 => (
                format!("user `{user}` may not use database `{}`: {}", source.database, server.message),
                format!("grant it read access: GRANT SELECT ON `{}`.* TO …", source.database),
                false,
            ),
            // ER_BAD_DB_ERROR
            1049 => {
                let near = database_suggestion(source).await;
                (
                    format!("database `{}` does not exist on {}", source.database, address(opts)),
                    match near {
                        Some(near) => format!("did you mean database `{near}`? The database is the URL's path"),
                        None => "check the database name (the URL's path) or create the database".to_owned(),
                    },
                    false,
                )
            }
            code => (
                format!("the server refused the connection: {}", server.message),
                format!("MySQL error {code}; see the server's log"),
                is_transient_code(code),
            ),
        },
        mysql_async::Error::Io(io) => (
            format!("cannot connect to {}: {io}", address(opts)),
            "check that the server is running and that the URL's host and port are right (MySQL's default port is \
             3306)"
                .to_owned(),
            stage == Stage::Established,
        ),
        other => (
            format!("cannot connect to {}: {other}", address(opts)),
            "check the URL's host, port and parameters".to_owned(),
            false,
        ),
    };
    SourceError::Connection {
        source_url: source.describe_url(),
        message,
        hint: Some(hint),
        // A refusal at open is always for a person to fix; later, only what may pass.
        transient: transient && stage == Stage::Established,
    }
}

/// The existing database nearest to the source's, when the server lets us list them.
async fn database_suggestion(source: &MysqlSource) -> Option<String> {
    use mysql_async::prelude::Queryable as _;
    let opts = OptsBuilder::from_opts(source.opts.clone()).db_name(None::<String>).init(Vec::<String>::new());
    let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await.ok()?.ok()?;
    let names: Vec<String> = connection.query("SHOW DATABASES").await.ok()?;
    let _ = connection.disconnect().await;
    crate::suggest(&source.database, names.iter().map(String::as_str))
}

/// Server error codes after which the same read may succeed if tried again.
///
/// MariaDB answers `KILL <connection>` with 1927 before closing; MySQL 8 just closes the
/// socket (an I/O error here) or, from 8.0.24, sends 4031. Both are a lost connection.
fn is_transient_code(code: u16) -> bool {
    matches!(
        code,
        1040 // ER_CON_COUNT_ERROR: too many connections
            | 1053 // ER_SERVER_SHUTDOWN
            | 1077 // ER_NORMAL_SHUTDOWN
            | 1078 // ER_GOT_SIGNAL
            | 1079 // ER_SHUTDOWN_COMPLETE
            | 1152 // ER_ABORTING_CONNECTION
            | 1158 // ER_NET_READ_ERROR
            | 1159 // ER_NET_READ_INTERRUPTED
            | 1160 // ER_NET_ERROR_ON_WRITE
            | 1161 // ER_NET_WRITE_INTERRUPTED
            | 1205 // ER_LOCK_WAIT_TIMEOUT
            | 1213 // ER_LOCK_DEADLOCK
            | 1317 // ER_QUERY_INTERRUPTED (KILL QUERY)
            | 1927 // ER_CONNECTION_KILLED (MariaDB)
            | 4031 // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8.0.24+)
    )
}

/// Classifies an error of a statement on an open connection: a lost connection is a
/// transient [`SourceError::Connection`]; anything else the server said is a
/// [`SourceError::Query`] with the server's own message, so a syntax error reads as MySQL
/// wrote it.
pub(super) fn statement_error(
    source: &MysqlSource,
    read: &dyn std::fmt::Display,
    error: mysql_async::Error,
) -> SourceError {
    match error {
        mysql_async::Error::Server(server) if !is_transient_code(server.code) => SourceError::Query {
            source_url: source.describe_url(),
            read: read.to_string(),
            message: format!("{} (MySQL error {})", server.message, server.code),
        },
        mysql_async::Error::Server(server) => {
            lost(source, read, format!("{} (MySQL error {})", server.message, server.code))
        }
        mysql_async::Error::Io(io) => lost(source, read, io.to_string()),
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
            lost(source, read, "the server closed the connection".into())
        }
        other => SourceError::Driver { source_url: source.describe_url(), message: format!("{read}: {other}") },
    }
}

fn lost(source: &MysqlSource, read: &dyn std::fmt::Display, message: String) -> SourceError {
    SourceError::Connection {
        source_url: source.describe_url(),
        message: format!("connection lost while reading {read}: {message}"),
        hint: None,
        transient: true,
    }
}

/// The server's error code, when the error is the server's.
pub(super) fn server_code(error: &mysql_async::Error) -> Option<u16> {
    match error {
        mysql_async::Error::Server(server) => Some(server.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_urls_are_accepted_and_need_a_database() {
        let (opts, database) = options("mariadb://u:p@127.0.0.1:3307/shop").unwrap();
        assert_eq!(database, "shop");
        assert_eq!(opts.tcp_port(), 3307);
        let err = options("mysql://u:secret@127.0.0.1:3306").unwrap_err().to_string();
        assert!(err.contains("names no database"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn a_password_with_url_delimiters_reaches_the_driver_whole() {
        for (written, password) in [("p/ss", "p/ss"), ("p#ss", "p#ss"), ("p@ss", "p@ss"), ("a@b/c#d?e", "a@b/c#d?e")] {
            let (opts, database) = options(&format!("mariadb://app:{written}@127.0.0.1:3307/shop")).unwrap();
            assert_eq!((opts.user(), opts.pass()), (Some("app"), Some(password)), "{written}");
            assert_eq!((opts.ip_or_hostname(), opts.tcp_port()), ("127.0.0.1", 3307), "{written}");
            assert_eq!(database, "shop", "{written}");
        }
    }

    #[test]
    fn a_url_the_driver_refuses_is_shown_without_its_password() {
        let err = options("mysql://u:p/ss@127.0.0.1:notaport/shop").unwrap_err().to_string();
        assert!(err.contains("mysql://u:***@127.0.0.1:notaport/shop"), "{err}");
        assert!(!err.contains("p/ss"), "{err}");
    }

    #[test]
    fn lost_connections_are_transient_refusals_are_not() {
        assert!(is_transient_code(1927));
        assert!(is_transient_code(1053));
        assert!(!is_transient_code(1064));
        assert!(!is_transient_code(1045));
    }
}
