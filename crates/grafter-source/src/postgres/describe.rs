//! What a read is: a table name resolved in the catalog (`name` through the search path,
//! `schema.name` exactly), or a query wrapped as a subquery; and the columns either has,
//! with their types as the server reports them.
//!
//! Column types come from preparing `SELECT * FROM <read>` (the server describes the result
//! without running it), declared type names and NOT NULL from the catalog.

use grafter_model::Column;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use super::convert::logical_type;
use super::state::{PostgresSource, quote_ident};
use crate::{Read, Source as _, SourceError};

/// Relation kinds a read may name: tables, views, materialized views, foreign and
/// partitioned tables.
const READABLE_KINDS: &str = "('r', 'v', 'm', 'f', 'p')";

/// A table (or view) found in the catalog.
#[derive(Debug, Clone)]
pub(super) struct Relation {
    /// `pg_class.oid`.
    pub oid: u32,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
}

/// One column of a read: what grafter says about it, and the server's type for decoding.
#[derive(Debug, Clone)]
pub(super) struct PgColumn {
    pub column: Column,
    pub ty: Type,
}

/// A read, ready to be scanned.
#[derive(Debug, Clone)]
pub(super) struct Described {
    /// The read's `FROM` item: a quoted table or the query as a subquery.
    pub from: String,
    /// Its columns, in order.
    pub columns: Vec<PgColumn>,
}

impl Described {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&PgColumn> {
        self.columns.iter().find(|c| c.column.name == name)
    }
}

/// The name a table goes by in grafter: bare in `public`, `schema.name` elsewhere.
pub(super) fn display_name(schema: &str, name: &str) -> String {
    if schema == "public" { name.to_owned() } else { format!("{schema}.{name}") }
}

/// A query as a `FROM` item. The newlines keep a trailing `-- comment` in the query from
/// swallowing the closing parenthesis.
pub(super) fn query_from(sql: &str) -> String {
    format!("(\n{}\n) AS grafter_query", sql.trim().trim_end_matches(';').trim_end())
}

/// Describes `read`: an unknown table is [`SourceError::UnknownTable`] with the nearest
/// name, a query the server rejects is [`SourceError::Query`] with the server's message.
pub(super) async fn describe(source: &PostgresSource, client: &Client, read: &Read) -> Result<Described, SourceError> {
    let (from, relation) = match read {
        Read::Table(table) => {
            let relation = resolve(source, client, table).await?;
            (format!("{}.{}", quote_ident(&relation.schema), quote_ident(&relation.name)), Some(relation))
        }
        Read::Query(sql) => (query_from(sql), None),
    };
    // A query is prepared as written, so a syntax error gets the server's own message about
    // the user's text (wrapped in `SELECT * FROM (…)`, `SELEC x` would parse as a table alias
    // and the error would point elsewhere).
    let statement_sql = match read {
        Read::Table(_) => format!("SELECT * FROM {from}"),
        Read::Query(sql) => sql.trim().trim_end_matches(';').trim_end().to_owned(),
    };
    let statement = client.prepare(&statement_sql).await.map_err(|e| source.query_error(&e, read, &statement_sql))?;
    let described = statement.columns();

    // Declared type names (with modifiers: numeric(10,2), character varying(40), the domain's
    // own name) and NOT NULL, from the table column a result column comes from, if any.
    let type_oids: Vec<u32> = described.iter().map(|c| c.type_().oid()).collect();
    let modifiers: Vec<i32> = described.iter().map(|c| c.type_modifier()).collect();
    let tables: Vec<u32> = described.iter().map(|c| c.table_oid().unwrap_or(0)).collect();
    let attributes: Vec<i16> = described.iter().map(|c| c.column_id().unwrap_or(0)).collect();
    let sql = "SELECT coalesce(pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.format_type(u.type_oid, u.modifier)), \
                      a.attnotnull \
               FROM unnest($1::oid[], $2::int4[], $3::oid[], $4::int2[]) WITH ORDINALITY AS u(type_oid, modifier, rel, att, i) \
               LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = u.rel AND a.attnum = u.att AND u.att > 0 \
               ORDER BY u.i";
    let rows = client
        .query(sql, &[&type_oids, &modifiers, &tables, &attributes])
        .await
        .map_err(|e| source.query_error(&e, read, sql))?;

    let columns = described
        .iter()
        .zip(rows)
        .map(|(column, row)| {
            let declared: Option<String> = row.get(0);
            let not_null: Option<bool> = row.get(1);
            PgColumn {
                column: Column {
                    name: column.name().to_owned(),
                    logical_type: logical_type(column.type_()),
                    declared_type: declared,
                    // Only a table's own columns are known to be non-NULL: a query can add
                    // NULLs (outer joins) to a NOT NULL column.
                    nullable: if relation.is_some() { not_null.map(|n| !n) } else { None },
                },
                ty: column.type_().clone(),
            }
        })
        .collect();
    Ok(Described { from, columns })
}

/// Finds `table` in the catalog: `schema.name` in that schema (falling back to a table whose
/// own name contains the dot), a bare name through the search path, like PostgreSQL itself.
pub(super) async fn resolve(source: &PostgresSource, client: &Client, table: &str) -> Result<Relation, SourceError> {
    let read = Read::Table(table.to_owned());
    let to_relation = |row: tokio_postgres::Row| Relation { oid: row.get(0), schema: row.get(1), name: row.get(2) };
    if let Some((schema, name)) = table.split_once('.') {
        let sql = format!(
            "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN {READABLE_KINDS}"
        );
        let found = client.query_opt(&sql, &[&schema, &name]).await.map_err(|e| source.query_error(&e, &read, &sql))?;
        if let Some(row) = found {
            return Ok(to_relation(row));
        }
    }
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = $1 AND c.relkind IN {READABLE_KINDS} \
           AND n.nspname = ANY (pg_catalog.current_schemas(false)) \
         ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(false), n.nspname) LIMIT 1"
    );
    let found = client.query_opt(&sql, &[&table]).await.map_err(|e| source.query_error(&e, &read, &sql))?;
    match found {
        Some(row) => Ok(to_relation(row)),
        None => {
            let names = relation_names(client).await.unwrap_or_default();
            Err(SourceError::UnknownTable {
                table: table.to_owned(),
                source_url: source.describe(),
                suggestion: crate::suggest(table, names.iter().map(String::as_str)),
            })
        }
    }
}

/// Every readable relation in the user's schemas, named as grafter names them (and tables
/// in `public` also qualified), for suggestions.
async fn relation_names(client: &Client) -> Result<Vec<String>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN {READABLE_KINDS} AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
    );
    let rows = client.query(&sql, &[]).await?;
    let mut names = Vec::with_capacity(rows.len());
    for row in rows {
        let (schema, name): (&str, &str) = (row.get(0), row.get(1));
        names.push(display_name(schema, name));
        // So that a mistyped `public.name` is matched in the form it was written.
        if schema == "public" {
            names.push(format!("public.{name}"));
        }
    }
    Ok(names)
}

/// The primary key columns of a table, in key order; empty when it has none (and for views).
pub(super) async fn primary_key(client: &Client, relation: &Relation) -> Result<Vec<String>, tokio_postgres::Error> {
    let sql = "SELECT a.attname::text \
               FROM pg_catalog.pg_constraint con \
               CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, position) \
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
               WHERE con.conrelid = $1 AND con.contype = 'p' \
               ORDER BY k.position";
    let rows = client.query(sql, &[&relation.oid]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
