//! Reads a MySQL / MariaDB database's schema from `information_schema` (tables, columns with
//! their declared types, primary keys, unique constraints, foreign keys) into a [`Catalog`]
//! for `grafter init`, and answers the smaller questions scans ask (a table's columns, its
//! primary key).
//!
//! Only views and columns both servers have are used. The one difference that matters:
//! MariaDB's `JSON` is `LONGTEXT` plus a `CHECK (json_valid(col))`, found in
//! `CHECK_CONSTRAINTS.TABLE_NAME`, a column MySQL 8 lacks (MySQL has a real JSON type, so
//! there the check is not needed and its failure is ignored).

use std::collections::{BTreeMap, HashSet};

use grafter_model::{Catalog, Column, ForeignKey, Table};
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use super::connect::statement_error;
use super::convert::logical_type;
use super::state::MysqlSource;
use crate::SourceError;

/// What introspection is doing, for error messages.
const READING_SCHEMA: &str = "information_schema";

/// The columns of `schema`.`table` in declaration order; empty when there is no such table
/// or view.
pub(super) async fn table_columns(
    source: &MysqlSource,
    connection: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>, SourceError> {
    let rows: Vec<(String, String, String, String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (schema, table),
        )
        .await
        .map_err(|e| statement_error(source, &READING_SCHEMA, e))?;
    let rows = exact_name(rows, table, |row| &row.0);
    let json = json_columns(connection, schema, Some(table)).await;
    Ok(rows
        .into_iter()
        .map(|(table, name, data_type, column_type, nullable)| {
            column(&json, &table, name, &data_type, column_type, &nullable)
        })
        .collect())
}

/// Keeps the rows for exactly `name` when the server matched others differing in case
/// (`information_schema` compares names case-insensitively, table names may not be).
fn exact_name<T>(rows: Vec<T>, name: &str, name_of: impl Fn(&T) -> &String) -> Vec<T> {
    if rows.iter().any(|row| name_of(row) == name) {
        rows.into_iter().filter(|row| name_of(row) == name).collect()
    } else {
        rows
    }
}

fn column(
    json: &HashSet<(String, String)>,
    table: &str,
    name: String,
    data_type: &str,
    column_type: String,
    nullable: &str,
) -> Column {
    let is_json = json.contains(&(table.to_owned(), name.to_lowercase()));
    Column {
        logical_type: logical_type(data_type, &column_type, is_json),
        // MariaDB reports a JSON column as `longtext`; call it what it was declared as.
        declared_type: Some(if is_json && data_type.eq_ignore_ascii_case("longtext") {
            "json".into()
        } else {
            column_type
        }),
        nullable: Some(nullable.eq_ignore_ascii_case("YES")),
        name,
    }
}

/// The (table, lower-cased column) pairs MariaDB's `CHECK (json_valid(col))` marks as JSON,
/// in one table or the whole schema. Empty on MySQL (no `TABLE_NAME` there; not needed).
async fn json_columns(connection: &mut Conn, schema: &str, table: Option<&str>) -> HashSet<(String, String)> {
    let rows: Result<Vec<(String, String)>, _> = match table {
        Some(table) => {
            connection
                .exec(
                    "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                    (schema, table),
                )
                .await
        }
        None => {
            connection
                .exec(
                    "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = ?",
                    (schema,),
                )
                .await
        }
    };
    rows.unwrap_or_default()
        .into_iter()
        .filter_map(|(table, clause)| json_valid_column(&clause).map(|column| (table, column.to_lowercase())))
        .collect()
}

/// The column a `json_valid(`col`)` check clause checks, if the clause is exactly that.
fn json_valid_column(clause: &str) -> Option<String> {
    let clause = clause.trim();
    let (function, rest) = clause.split_once('(')?;
    if !function.trim().eq_ignore_ascii_case("json_valid") {
        return None;
    }
    let inner = rest.trim_end().strip_suffix(')')?.trim();
    let name = inner.strip_prefix('`')?.strip_suffix('`')?;
    Some(name.replace("``", "`"))
}

/// Names of the tables and views of `schema`, for suggestions.
pub(super) async fn table_names(connection: &mut Conn, schema: &str) -> Result<Vec<String>, mysql_async::Error> {
    connection
        .exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", (schema,))
        .await
}

/// The primary key columns of `table` in key order; empty when it has none.
pub(super) async fn primary_key(
    source: &MysqlSource,
    connection: &mut Conn,
    table: &str,
) -> Result<Vec<String>, SourceError> {
    let rows: Vec<(String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (&source.database, table),
        )
        .await
        .map_err(|e| statement_error(source, &READING_SCHEMA, e))?;
    Ok(exact_name(rows, table, |row| &row.0).into_iter().map(|(_, column)| column).collect())
}

/// The whole catalog: every base table of the URL's database, in name order, and its views.
/// Five queries whatever the number of tables.
pub(super) async fn catalog(source: &MysqlSource, connection: &mut Conn) -> Result<Catalog, SourceError> {
    let schema = source.database.as_str();
    let failed = |e| statement_error(source, &READING_SCHEMA, e);
    let listed: Vec<(String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'VIEW') ORDER BY TABLE_NAME",
            (schema,),
        )
        .await
        .map_err(failed)?;
    let (names, views): (Vec<_>, Vec<_>) = listed.into_iter().partition(|(_, kind)| kind == "BASE TABLE");
    let views: Vec<String> = views.into_iter().map(|(name, _)| name).collect();
    let mut tables: BTreeMap<String, Table> = names
        .into_iter()
        .map(|(name, _)| name)
        .map(|name| {
            let table = Table {
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                unique: Vec::new(),
                foreign_keys: Vec::new(),
                // MySQL has no table inheritance.
                inherits: Vec::new(),
            };
            (name, table)
        })
        .collect();

    let json = json_columns(connection, schema, None).await;
    let columns: Vec<(String, String, String, String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (schema,),
        )
        .await
        .map_err(failed)?;
    for (table, name, data_type, column_type, nullable) in columns {
        if let Some(entry) = tables.get_mut(&table) {
            entry.columns.push(column(&json, &table, name, &data_type, column_type, &nullable));
        }
    }

    // Unique indexes, the primary key among them. A unique index on a column prefix still
    // makes the whole values unique; functional key parts (MySQL 8, no column) do not.
    let indexes: Vec<(String, String, Option<String>)> = connection
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (schema,),
        )
        .await
        .map_err(failed)?;
    let mut unique: BTreeMap<(String, String), Option<Vec<String>>> = BTreeMap::new();
    for (table, index, column) in indexes {
        let entry = unique.entry((table, index)).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), column) {
            (Some(columns), Some(column)) => columns.push(column),
            _ => *entry = None,
        }
    }
    for ((table, index), columns) in unique {
        let (Some(entry), Some(columns)) = (tables.get_mut(&table), columns) else { continue };
        if index == "PRIMARY" {
            entry.primary_key = columns;
        } else if !entry.unique.contains(&columns) {
            entry.unique.push(columns);
        }
    }
    for table in tables.values_mut() {
        let primary_key = table.primary_key.clone();
        table.unique.retain(|columns| *columns != primary_key);
    }

    // Foreign keys, one row per column, in column order within each constraint. Keys into
    // another database are left out: `table = "…"` can only name tables of this one.
    let references: Vec<(String, String, String, String, String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, \
             REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            (schema,),
        )
        .await
        .map_err(failed)?;
    let mut current: Option<(String, String)> = None;
    for (table, constraint, column, ref_schema, ref_table, ref_column) in references {
        if ref_schema != schema {
            continue;
        }
        let Some(entry) = tables.get_mut(&table) else { continue };
        let key = (table, constraint);
        if current.as_ref() != Some(&key) {
            entry.foreign_keys.push(ForeignKey { columns: Vec::new(), ref_table, ref_columns: Vec::new() });
            current = Some(key);
        }
        if let Some(foreign_key) = entry.foreign_keys.last_mut() {
            foreign_key.columns.push(column);
            foreign_key.ref_columns.push(ref_column);
        }
    }
    // MySQL's partitions are not tables of their own.
    Ok(Catalog { tables: tables.into_values().collect(), views, partitions: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_valid_checks_name_their_column() {
        assert_eq!(json_valid_column("json_valid(`doc`)"), Some("doc".into()));
        assert_eq!(json_valid_column("JSON_VALID( `we``ird` )"), Some("we`ird".into()));
        assert_eq!(json_valid_column("json_valid(`a`) and `b` > 0"), None);
        assert_eq!(json_valid_column("`price` > 0"), None);
    }
}
