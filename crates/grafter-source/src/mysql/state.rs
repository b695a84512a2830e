//! What an open MySQL/MariaDB source holds — its driver options, the redacted URL, the
//! database — and how it quotes names. The connector's other files read it; it reads none
//! of them.

use grafter_model::TypePolicy;

/// A database on a MySQL or MariaDB server, opened as a source.
///
/// Holds connection options only; each operation connects anew (see the module docs). Its
/// `Debug` output shows the URL with the password redacted, never the options themselves.
#[derive(Clone)]
pub struct MysqlSource {
    /// Driver options, including the password: never printed.
    pub(super) opts: mysql_async::Opts,
    /// The URL as given, password redacted: the only form that appears in messages.
    pub(super) redacted: String,
    /// The database the URL names (reads and introspection are within it).
    pub(super) database: String,
    /// How values without an exact graph counterpart are converted.
    pub(super) types: TypePolicy,
}

impl std::fmt::Debug for MysqlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlSource")
            .field("url", &self.redacted)
            .field("database", &self.database)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// Quotes an identifier for MySQL: backticks, doubled inside. Works whatever the server's
/// `sql_mode` (`ANSI_QUOTES` changes double quotes, never backticks).
pub(super) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_backtick_quoted_with_backticks_doubled() {
        assert_eq!(quote_ident("Album"), "`Album`");
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
    }
}
