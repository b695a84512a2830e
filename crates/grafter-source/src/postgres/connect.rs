//! Reaching the server: the URL made into a connection [`Config`], connecting, and turning
//! the driver's errors into [`SourceError`]s that say what happened and whether trying again
//! can help.
//!
//! The URL is only ever shown redacted ([`grafter_model::redact_url`]); messages are built
//! from the server's own fields and the socket error, neither of which carries the password.
//! Connections are plain TCP (or a Unix socket): grafter is built without TLS, so
//! `sslmode=require` (and stricter) is refused up front with a message that says so, rather
//! than failing later in a way that looks like a network problem.

use std::str::FromStr as _;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};

use crate::{Read, SourceError};

/// How long to wait for a server that does not answer, unless the URL says
/// (`connect_timeout=SECONDS`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection is being made: a refused first connection needs a person, while a
/// server that cannot be reached *again* during a run may be restarting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// `grafter` opens the source: every failure is for a person to fix.
    Open,
    /// A scan (or a metadata query after a lost connection) connects again: an unreachable
    /// server is worth retrying from the checkpoint.
    Again,
}

/// The connection settings a `postgres://` URL describes, with grafter's defaults filled in.
///
/// User and password are read by grafter's one rule ([`grafter_model::ServerUrl`]) and handed
/// to the driver percent-encoded, so a password holding `/`, `#`, `?` or `@` arrives whole.
pub(super) fn config(url: &str) -> Result<Config, SourceError> {
    const FORM: &str = "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable]";
    let redacted = grafter_model::redact_url(url);
    let parsed = grafter_model::ServerUrl::parse(url)
        .ok_or_else(|| bad_url(&redacted, "it has no `//` after the scheme", FORM))?;
    if let Some(mode) = query_parameter(parsed.rest(), "sslmode") {
        match mode.as_str() {
            "disable" | "prefer" => {}
            "allow" => {
                return Err(bad_url(
                    &redacted,
                    "sslmode=allow is not supported",
                    "use sslmode=disable or sslmode=prefer",
                ));
            }
            "require" | "verify-ca" | "verify-full" => {
                return Err(bad_url(
                    &redacted,
                    &format!("sslmode={mode} needs TLS, and this grafter was built without TLS support"),
                    "use sslmode=disable or sslmode=prefer (a plain connection) on a trusted network, \
                     or reach the server through an encrypted tunnel (ssh -L)",
                ));
            }
            other => {
                return Err(bad_url(
                    &redacted,
                    &format!("unknown sslmode `{other}`"),
                    "use sslmode=disable or sslmode=prefer",
                ));
            }
        }
    }
    let driver_url = parsed.for_driver().map_err(|e| bad_url(&redacted, &e.to_string(), FORM))?;
    let mut config = Config::from_str(&driver_url).map_err(|e| {
        let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
        bad_url(&redacted, &grafter_model::hide_password(&format!("{e}{cause}"), url), FORM)
    })?;
    // As libpq does: the operating system's user when the URL names none.
    if config.get_user().is_none() {
        let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "postgres".into());
        config.user(user);
    }
    if config.get_hosts().is_empty() {
        config.host("localhost");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        // Lets a DBA see (and, if need be, stop) grafter's sessions in pg_stat_activity.
        config.application_name("grafter");
    }
    // The checks above leave only modes that need no TLS.
    debug_assert!(config.get_ssl_mode() != SslMode::Require);
    Ok(config)
}

fn bad_url(redacted: &str, reason: &str, hint: &str) -> SourceError {
    SourceError::BadUrl { url: redacted.to_owned(), reason: reason.to_owned(), hint: hint.to_owned() }
}

/// The value of `name=` in the query of `rest` (a URL's part after its credentials).
fn query_parameter(rest: &str, name: &str) -> Option<String> {
    let (_, query) = rest.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_ascii_lowercase())
    })
}

/// A connection's driver: the future that reads and writes its socket.
pub(super) type Driver = tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>;

/// Connects and starts the connection's driver task; the driver ends when the client is
/// dropped.
pub(super) async fn connect(config: &Config, source_url: &str, stage: Stage) -> Result<Client, SourceError> {
    let (client, driver) = connect_undriven(config, source_url, stage).await?;
    tokio::spawn(async move {
        // Errors surface through the client's calls, which know what was being done.
        if let Err(error) = driver.await {
            tracing::debug!("PostgreSQL connection ended: {error}");
        }
    });
    Ok(client)
}

/// Connects, leaving the driver to the caller: nothing happens on the connection unless the
/// driver is polled (see [`super::scan`], which drives its connection itself).
pub(super) async fn connect_undriven(
    config: &Config,
    source_url: &str,
    stage: Stage,
) -> Result<(Client, Driver), SourceError> {
    config.connect(NoTls).await.map_err(|e| connect_error(&e, config, source_url, stage))
}

/// `host:port` of the first host in the URL, for messages.
fn address(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    format!("{host}:{}", config.get_ports().first().copied().unwrap_or(5432))
}

/// A failed connection, explained.
fn connect_error(error: &tokio_postgres::Error, config: &Config, source_url: &str, stage: Stage) -> SourceError {
    let connection = |message: String, hint: Option<String>, transient: bool| SourceError::Connection {
        source_url: source_url.to_owned(),
        message,
        hint,
        transient,
    };
    let user = config.get_user().unwrap_or("?");
    if let Some(db) = error.as_db_error() {
        let message = format!("PostgreSQL refused the connection: {}", db.message());
        return match db.code().code() {
            "28P01" | "28000" => connection(
                message,
                Some(format!(
                    "check the user (`{user}`) and password in the URL; the server's pg_hba.conf decides who may connect from where"
                )),
                false,
            ),
            "3D000" => {
                let database = config.get_dbname().unwrap_or(user);
                connection(
                    message,
                    Some(format!("create it (`createdb {database}`) or fix the database name at the end of the URL")),
                    false,
                )
            }
            "53300" | "57P03" => connection(message, Some("the server is busy or starting up; try again".into()), true),
            code if code.starts_with("08") => connection(message, None, true),
            _ => connection(message, None, false),
        };
    }
    if let Some(io) = io_cause(error) {
        return connection(
            format!("cannot reach the PostgreSQL server at {}: {io}", address(config)),
            Some("is the server running and listening there? Check the host and port in the URL".into()),
            stage == Stage::Again,
        );
    }
    let cause = std::error::Error::source(error).map(|c| format!(": {c}")).unwrap_or_default();
    let message = format!("cannot connect to the PostgreSQL server at {}: {error}{cause}", address(config));
    if error.to_string().contains("authentication") || cause.contains("password") {
        return connection(
            message,
            Some("the server asks for a password: write it in the URL, postgres://USER:PASSWORD@HOST/DATABASE".into()),
            false,
        );
    }
    connection(message, None, false)
}

/// The socket error under a driver error, if that is what it is.
fn io_cause(error: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = current.source();
    }
    None
}

/// SQLSTATEs after which the same read may succeed from the last checkpoint: the connection
/// was lost or cut by an administrator, the server restarts, or the transaction lost a
/// conflict.
fn is_transient_code(code: &str) -> bool {
    code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03" | "57P05" | "25P03" | "40001" | "40P01" | "53300")
}

/// Whether a driver error means that the connection is gone (or may be worth retrying).
pub(super) fn is_transient(error: &tokio_postgres::Error) -> bool {
    match error.as_db_error() {
        Some(db) => is_transient_code(db.code().code()),
        None => error.is_closed() || io_cause(error).is_some(),
    }
}

/// A failed statement of `read`, explained: the server's message (with its detail and hint,
/// and where in a query the problem is), or a lost connection marked transient.
///
/// `statement` is the SQL grafter sent; for a query read, a position the server reports
/// inside it is translated into a position in the user's own query.
pub(super) fn query_error(
    error: &tokio_postgres::Error,
    source_url: &str,
    read: &Read,
    statement: &str,
) -> SourceError {
    if is_transient(error) {
        let reason = match error.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => {
                let cause = std::error::Error::source(error).map(|c| format!(": {c}")).unwrap_or_default();
                format!("{error}{cause}")
            }
        };
        return SourceError::Connection {
            source_url: source_url.to_owned(),
            message: format!("connection to PostgreSQL lost while reading {read}: {reason}"),
            hint: None,
            transient: true,
        };
    }
    let Some(db) = error.as_db_error() else {
        let cause = std::error::Error::source(error).map(|c| format!(": {c}")).unwrap_or_default();
        return SourceError::Driver { source_url: source_url.to_owned(), message: format!("{read}: {error}{cause}") };
    };
    let mut message = db.message().to_owned();
    if let (Read::Query(sql), Some(tokio_postgres::error::ErrorPosition::Original(position))) = (read, db.position())
        && let Some(at) = position_in_query(statement, sql, *position as usize)
    {
        message.push_str(&format!(" (at character {at} of the query)"));
    }
    if let Some(detail) = db.detail() {
        message.push_str(&format!("\n  detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("\n  hint: {hint}"));
    }
    SourceError::Query { source_url: source_url.to_owned(), read: read.to_string(), message }
}

/// The 1-based character position in the user's `query` of the 1-based character
/// `position` in the `statement` that wraps it, when it falls inside the query.
fn position_in_query(statement: &str, query: &str, position: usize) -> Option<usize> {
    let query = query.trim().trim_end_matches(';').trim_end();
    let start = statement.find(query)?;
    let start_chars = statement[..start].chars().count();
    let at = position.checked_sub(start_chars)?;
    (1..=query.chars().count()).contains(&at).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_modes_are_refused_with_a_reason() {
        let err = config("postgres://u:pw@h/db?sslmode=require").unwrap_err().to_string();
        assert!(err.contains("built without TLS"), "{err}");
        assert!(!err.contains("pw@"), "{err}");
        assert!(config("postgres://u@h/db?sslmode=disable").is_ok());
        assert!(config("postgresql://u@h/db?sslmode=prefer").is_ok());
    }

    #[test]
    fn defaults_are_filled_in() {
        let config = config("postgres://app@db.example/shop").unwrap();
        assert_eq!(config.get_application_name(), Some("grafter"));
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(config.get_dbname(), Some("shop"));
    }

    #[test]
    fn a_password_with_url_delimiters_reaches_the_driver_whole() {
        for (written, password) in [("p/ss", "p/ss"), ("p@ss", "p@ss"), ("a@b/c#d?e", "a@b/c#d?e"), ("%2F%40", "/@")] {
            let config = config(&format!("postgres://app:{written}@db.example:5433/shop?sslmode=disable")).unwrap();
            assert_eq!(config.get_user(), Some("app"), "{written}");
            assert_eq!(config.get_password(), Some(password.as_bytes()), "{written}");
            assert_eq!(config.get_hosts(), &[Host::Tcp("db.example".into())], "{written}");
            assert_eq!(config.get_ports(), &[5433], "{written}");
            assert_eq!(config.get_dbname(), Some("shop"), "{written}");
        }
    }

    #[test]
    fn sslmode_is_read_from_the_query_not_from_a_password_holding_a_question_mark() {
        let err = config("postgres://u:p?ss@h/db?sslmode=require").unwrap_err().to_string();
        assert!(err.contains("built without TLS"), "{err}");
        assert!(!err.contains("p?ss"), "{err}");
    }

    #[test]
    fn a_bad_url_never_shows_its_password() {
        let err = config("postgres://u:hunter2@h:notaport/db").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn positions_are_translated_into_the_query() {
        let query = "SELEC 1";
        let statement = format!("SELECT * FROM (\n{query}\n) AS grafter_query");
        assert_eq!(position_in_query(&statement, query, 17), Some(1));
        assert_eq!(position_in_query(&statement, query, 3), None);
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient_code("57P01"));
        assert!(is_transient_code("08006"));
        assert!(!is_transient_code("42601"));
        assert!(!is_transient_code("28P01"));
    }
}
