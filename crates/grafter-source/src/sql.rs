//! What the SQL sources (PostgreSQL, MySQL/MariaDB, SQLite) share when they build a scan:
//! the columns a request reads, the refusal that names a column the read lacks, the `FROM`
//! target a table or a query becomes, the condition of a [`Filter`] and of a key list, and
//! the clauses that find the greatest key. Each dialect brings its own quoting and its own
//! placeholders (typed per column); the shapes of the conditions are written once here.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use grafter_model::Value;

#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::Filter;
use crate::source::filter_columns;
use crate::{Read, ScanRequest, SourceError};

/// Quotes an identifier the SQL standard's way, as PostgreSQL and SQLite read it: double
/// quotes, doubled inside. (MySQL/MariaDB quote with backticks: `mysql/state.rs`.)
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn double_quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every column `request` reads: those it delivers, those it skips rows without, its key,
/// and its filtered columns.
pub(crate) fn requested_columns(request: &ScanRequest) -> impl Iterator<Item = &String> {
    request.columns.iter().chain(&request.skip_null).chain(&request.order_by).chain(filter_columns(request))
}

/// Fails with [`SourceError::UnknownColumn`] for the first of `wanted` that is not among
/// `available` (the read's columns), naming the nearest as a hint.
pub(crate) fn check_columns<'a>(
    read: &Read,
    available: &[&str],
    wanted: impl IntoIterator<Item = &'a String>,
    source_url: &dyn Fn() -> String,
) -> Result<(), SourceError> {
    for column in wanted {
        if !available.contains(&column.as_str()) {
            return Err(SourceError::UnknownColumn {
                column: column.clone(),
                read: read.to_string(),
                source_url: source_url(),
                suggestion: crate::suggest(column, available.iter().copied()),
                available: available.join(", "),
            });
        }
    }
    Ok(())
}

/// The `FROM` target of a read: its table quoted by `quote`, or its query as a derived
/// table.
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn from_clause(read: &Read, quote: fn(&str) -> String) -> String {
    match read {
        Read::Table(table) => quote(table),
        Read::Query(sql) => format!("({}) AS grafter_query", sql.trim().trim_end_matches(';')),
    }
}

/// The SQL condition of one [`Filter`] in a dialect that quotes names with `quote`.
/// `column` finds a column's description by name (its type decides its placeholder),
/// `keys` the described `order_by` columns a [`Filter::KeyIn`] lists (asked only then), and
/// `mark(column, value)` adds `value` as a parameter and returns its placeholder. An empty
/// list of values or keys matches nothing (`FALSE`).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn filter_condition<'c, C: ?Sized>(
    filter: &Filter,
    quote: fn(&str) -> String,
    column: &dyn Fn(&String) -> Result<&'c C, String>,
    keys: &dyn Fn() -> Result<Vec<(&'c str, &'c C)>, String>,
    mark: &mut dyn FnMut(&'c C, &Value) -> String,
) -> Result<String, String> {
    Ok(match filter {
        Filter::IsNull(name) => format!("{} IS NULL", quote(name)),
        Filter::AtLeast(name, value) => {
            let placeholder = mark(column(name)?, value);
            format!("{} >= {placeholder}", quote(name))
        }
        Filter::OneOf(_, values) if values.is_empty() => "FALSE".to_owned(),
        Filter::OneOf(name, values) => {
            let described = column(name)?;
            let marks: Vec<String> = values.iter().map(|value| mark(described, value)).collect();
            format!("{} IN ({})", quote(name), marks.join(", "))
        }
        Filter::KeyIn(values) => {
            let keys = keys()?;
            if values.is_empty() && !keys.is_empty() {
                "FALSE".to_owned()
            } else {
                let names: Vec<String> = keys.iter().map(|(name, _)| quote(name)).collect();
                key_in_condition(&names, values, |i, value| mark(keys[i].1, value))?
            }
        }
    })
}

/// ` WHERE k1 IS NOT NULL AND … ORDER BY k1 DESC, … LIMIT 1`: what a SELECT of the key
/// columns (`quoted`, already quoted for the dialect) needs to return the greatest key.
pub(crate) fn greatest_key_clauses(quoted: &[String]) -> String {
    format!(
        " WHERE {} ORDER BY {} LIMIT 1",
        quoted.iter().map(|k| format!("{k} IS NOT NULL")).collect::<Vec<_>>().join(" AND "),
        quoted.iter().map(|k| format!("{k} DESC")).collect::<Vec<_>>().join(", "),
    )
}

/// `(k1, k2) IN ((…, …), …)`: the rows whose key (columns `quoted`, already quoted for the
/// dialect) is one of `keys`, each value written by `mark(column position, value)` as a
/// placeholder. `keys` must not be empty (an empty list is each dialect's own `false`).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn key_in_condition(
    quoted: &[String],
    keys: &[Vec<Value>],
    mut mark: impl FnMut(usize, &Value) -> String,
) -> Result<String, String> {
    if quoted.is_empty() {
        return Err("rows chosen by key need a key to order by".into());
    }
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        if key.len() != quoted.len() {
            return Err(format!("a key has {} values but the key has {} columns", key.len(), quoted.len()));
        }
        let marks: Vec<String> = key.iter().enumerate().map(|(i, value)| mark(i, value)).collect();
        tuples.push(format!("({})", marks.join(", ")));
    }
    Ok(format!("({}) IN ({})", quoted.join(", "), tuples.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_column_is_named_with_the_nearest_and_the_read() {
        let read = Read::Table("albums".into());
        let wanted = ["Title".to_owned(), "ArtstId".to_owned()];
        let error = check_columns(&read, &["AlbumId", "Title", "ArtistId"], &wanted, &|| "sqlite:x.db".into())
            .expect_err("ArtstId is not there");
        let SourceError::UnknownColumn { column, suggestion, available, .. } = error else { panic!("{error:?}") };
        assert_eq!((column.as_str(), suggestion.as_deref()), ("ArtstId", Some("ArtistId")));
        assert_eq!(available, "AlbumId, Title, ArtistId");
        assert!(check_columns(&read, &["Title"], &wanted[..1], &|| unreachable!()).is_ok());
    }

    #[cfg(any(feature = "mysql", feature = "sqlite"))]
    #[test]
    fn a_query_becomes_a_derived_table_without_its_semicolon() {
        let quote = |name: &str| format!("`{name}`");
        assert_eq!(from_clause(&Read::Table("a b".into()), quote), "`a b`");
        assert_eq!(from_clause(&Read::Query(" SELECT 1; ".into()), quote), "(SELECT 1) AS grafter_query");
    }
}
