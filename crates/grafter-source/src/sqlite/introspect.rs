//! Reads a SQLite database's schema (tables, primary keys, unique constraints, foreign keys,
//! the names of views) into a [`Catalog`] for `grafter init`.

use grafter_model::{Catalog, Column, ForeignKey, Table};
use rusqlite::Connection;

use super::convert::logical_type;
use super::state::quote_ident;

/// The whole catalog: every user table, in name order, and the views.
pub(super) fn catalog(connection: &Connection) -> rusqlite::Result<Catalog> {
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        tables.push(table(connection, &name)?);
    }
    let views = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Catalog { tables, views, partitions: Vec::new() })
}

fn table(connection: &Connection, name: &str) -> rusqlite::Result<Table> {
    let mut statement = connection.prepare(&format!("PRAGMA table_info({})", quote_ident(name)))?;
    let mut columns = Vec::new();
    let mut key_positions = Vec::new();
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let column_name: String = row.get("name")?;
        let declared: String = row.get("type")?;
        let not_null: bool = row.get("notnull")?;
        let pk_position: i64 = row.get("pk")?;
        if pk_position > 0 {
            key_positions.push((pk_position, column_name.clone()));
        }
        columns.push(Column {
            name: column_name,
            logical_type: logical_type(&declared),
            declared_type: (!declared.is_empty()).then_some(declared),
            // A primary key column is never NULL in practice even when not declared so.
            nullable: Some(!not_null && pk_position == 0),
        });
    }
    key_positions.sort();
    let primary_key: Vec<String> = key_positions.into_iter().map(|(_, column)| column).collect();
    Ok(Table {
        name: name.to_owned(),
        columns,
        unique: unique_constraints(connection, name, &primary_key)?,
        foreign_keys: foreign_keys(connection, name)?,
        primary_key,
        // SQLite has no table inheritance.
        inherits: Vec::new(),
    })
}

/// The primary key columns of `table` in key order; empty when it has none.
pub(super) fn primary_key(connection: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?;
    let mut key: Vec<(i64, String)> = statement
        .query_map([], |row| Ok((row.get::<_, i64>("pk")?, row.get::<_, String>("name")?)))?
        .filter(|entry| entry.as_ref().map_or(true, |(position, _)| *position > 0))
        .collect::<rusqlite::Result<_>>()?;
    key.sort();
    Ok(key.into_iter().map(|(_, name)| name).collect())
}

fn unique_constraints(
    connection: &Connection,
    table: &str,
    primary_key: &[String],
) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut statement = connection.prepare(&format!("PRAGMA index_list({})", quote_ident(table)))?;
    let indexes: Vec<String> = statement
        .query_map([], |row| Ok((row.get::<_, String>("name")?, row.get::<_, bool>("unique")?)))?
        .filter_map(|entry| match entry {
            Ok((name, true)) => Some(Ok(name)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?;
    let mut unique = Vec::new();
    for index in indexes {
        let mut info = connection.prepare(&format!("PRAGMA index_info({})", quote_ident(&index)))?;
        let mut columns: Vec<(i64, String)> = info
            .query_map([], |row| Ok((row.get::<_, i64>("seqno")?, row.get::<_, Option<String>>("name")?)))?
            .filter_map(|entry| match entry {
                Ok((seq, Some(name))) => Some(Ok((seq, name))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<rusqlite::Result<_>>()?;
        columns.sort();
        let columns: Vec<String> = columns.into_iter().map(|(_, name)| name).collect();
        if !columns.is_empty() && columns != primary_key && !unique.contains(&columns) {
            unique.push(columns);
        }
    }
    Ok(unique)
}

fn foreign_keys(connection: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut statement = connection.prepare(&format!("PRAGMA foreign_key_list({})", quote_ident(table)))?;
    // Rows come one per column; `id` groups the columns of one constraint, `seq` orders them.
    let mut rows: Vec<(i64, i64, String, String, Option<String>)> = statement
        .query_map([], |row| {
            Ok((row.get("id")?, row.get("seq")?, row.get("table")?, row.get("from")?, row.get("to")?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.sort_by_key(|(id, seq, ..)| (*id, *seq));
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    for (id, _, ref_table, from, to) in rows {
        if keys.last().map(|(last, _)| *last) != Some(id) {
            keys.push((id, ForeignKey { columns: Vec::new(), ref_table: ref_table.clone(), ref_columns: Vec::new() }));
        }
        let (_, key) = keys.last_mut().expect("pushed above");
        key.columns.push(from);
        if let Some(to) = to {
            key.ref_columns.push(to);
        }
    }
    let mut keys: Vec<ForeignKey> = keys.into_iter().map(|(_, key)| key).collect();
    // SQLite lists constraints in reverse declaration order; declaration order reads better.
    keys.reverse();
    // A declaration without referenced columns means "the referenced table's primary key".
    for key in &mut keys {
        if key.ref_columns.is_empty() {
            key.ref_columns = primary_key(connection, &key.ref_table)?;
        }
    }
    Ok(keys)
}
