//! Reads a PostgreSQL database's schema (tables, columns, primary keys, unique constraints,
//! foreign keys, the names of views and materialized views, and of partitions) into a
//! [`Catalog`] for `grafter init`.
//!
//! Every table of every user schema is listed (not `pg_catalog`, `information_schema`,
//! TOAST or temporary schemas, nor tables an extension owns, nor the partitions of a
//! partitioned table, which is read as one). Tables in `public` go by their bare name,
//! others as `schema.table`, and foreign keys name their targets the same way, so each name
//! can be used as is in `table = "…"`. A handful of catalog queries answer for all tables
//! at once, whatever their number.
//!
//! Table inheritance (`CREATE TABLE child (…) INHERITS (parent)`) is recorded in
//! [`Table::inherits`]: a scan of the parent returns the children's rows too, so `grafter
//! init` maps the parent alone and `grafter plan` warns about mappings reading both. A
//! partitioned table's partitions are not children in that sense: they are not tables of the
//! catalog (the partitioned table is read as one) but listed apart, in
//! [`Catalog::partitions`], for `grafter init` to say why it skips them; partitioned parents
//! (`relkind 'p'`) are left out of `inherits`.

use std::collections::HashMap;

use grafter_model::{Catalog, Column, ForeignKey, Partition, Table};
use postgres_types::{Kind, Type};
use tokio_postgres::Client;

use super::convert::logical_type;
use super::describe::display_name;

/// `SELECT columns FROM` the relations `c` (in namespace `n`, `JOIN`ed with `joins`) of the
/// user's schemas that no extension owns and that meet `condition`, `public` first, then by
/// schema and name: the catalog's tables, views and partitions alike.
fn user_relations(columns: &str, joins: &str, condition: &str) -> String {
    format!(
        "SELECT {columns} FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace {joins} \
         WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') \
           AND {condition} \
         ORDER BY n.nspname <> 'public', n.nspname, c.relname"
    )
}

/// The whole catalog: user tables, `public` first, then by schema and name.
pub(super) async fn catalog(client: &Client) -> Result<Catalog, tokio_postgres::Error> {
    let rows = client
        .query(
            &user_relations(
                "c.oid, n.nspname::text, c.relname::text",
                "",
                "c.relkind IN ('r', 'p') AND NOT c.relispartition",
            ),
            &[],
        )
        .await?;
    let oids: Vec<u32> = rows.iter().map(|row| row.get(0)).collect();
    let mut tables: Vec<Table> = rows
        .iter()
        .map(|row| Table {
            name: display_name(row.get(1), row.get(2)),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            inherits: Vec::new(),
        })
        .collect();
    let position: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, oid)| (*oid, i)).collect();
    let user_types = user_types(client).await?;

    let columns = client
        .query(
            "SELECT a.attrelid, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atttypid \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = ANY ($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attrelid, a.attnum",
            &[&oids],
        )
        .await?;
    for row in columns {
        let Some(&table) = position.get(&row.get::<_, u32>(0)) else { continue };
        let ty = type_of(row.get(4), &user_types, 0);
        let not_null: bool = row.get(3);
        tables[table].columns.push(Column {
            name: row.get(1),
            logical_type: logical_type(&ty),
            declared_type: Some(row.get(2)),
            nullable: Some(!not_null),
        });
    }

    // Constraints created for partitions of a partitioned table (conparentid) repeat their
    // parent's and are left out.
    let constraints = client
        .query(
            "SELECT con.conrelid, con.contype::text, rn.nspname::text, rc.relname::text, \
                    ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i), \
                    ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, i) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i) \
             FROM pg_catalog.pg_constraint con \
             LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
             LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
             WHERE con.conrelid = ANY ($1) AND con.contype IN ('p', 'f') AND con.conparentid = 0 \
             ORDER BY con.conrelid, con.oid",
            &[&oids],
        )
        .await?;
    for row in constraints {
        let Some(&table) = position.get(&row.get::<_, u32>(0)) else { continue };
        let kind: String = row.get(1);
        let columns: Vec<String> = row.get(4);
        match kind.as_str() {
            "p" => tables[table].primary_key = columns,
            _ => {
                let (schema, name): (Option<String>, Option<String>) = (row.get(2), row.get(3));
                let (Some(schema), Some(name)) = (schema, name) else { continue };
                tables[table].foreign_keys.push(ForeignKey {
                    columns,
                    ref_table: display_name(&schema, &name),
                    ref_columns: row.get(5),
                });
            }
        }
    }

    // Inheritance parents, in the order the child's INHERITS clause names them.
    let parents = client
        .query(
            "SELECT i.inhrelid, pn.nspname::text, p.relname::text \
             FROM pg_catalog.pg_inherits i \
             JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
             WHERE i.inhrelid = ANY ($1) AND p.relkind <> 'p' \
             ORDER BY i.inhrelid, i.inhseqno",
            &[&oids],
        )
        .await?;
    for row in parents {
        let Some(&table) = position.get(&row.get::<_, u32>(0)) else { continue };
        tables[table].inherits.push(display_name(row.get(1), row.get(2)));
    }

    // Unique indexes cover unique constraints too; expression and partial indexes do not
    // make a column list unique and are left out, as are INCLUDE columns.
    let unique = client
        .query(
            "SELECT i.indrelid, \
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                          WHERE k.n <= i.indnkeyatts ORDER BY k.n) \
             FROM pg_catalog.pg_index i \
             WHERE i.indrelid = ANY ($1) AND i.indisunique AND NOT i.indisprimary \
               AND i.indexprs IS NULL AND i.indpred IS NULL \
             ORDER BY i.indrelid, i.indexrelid",
            &[&oids],
        )
        .await?;
    for row in unique {
        let Some(&table) = position.get(&row.get::<_, u32>(0)) else { continue };
        let columns: Vec<String> = row.get(1);
        let table = &mut tables[table];
        if !columns.is_empty() && columns != table.primary_key && !table.unique.contains(&columns) {
            table.unique.push(columns);
        }
    }
    let views = client
        .query(&user_relations("n.nspname::text, c.relname::text", "", "c.relkind IN ('v', 'm')"), &[])
        .await?
        .iter()
        .map(|row| display_name(row.get(0), row.get(1)))
        .collect();
    // Partitions, each with the table it directly partitions.
    let partitions = client
        .query(
            &user_relations(
                "n.nspname::text, c.relname::text, pn.nspname::text, p.relname::text",
                "JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace",
                "c.relispartition",
            ),
            &[],
        )
        .await?
        .iter()
        .map(|row| Partition { name: display_name(row.get(0), row.get(1)), of: display_name(row.get(2), row.get(3)) })
        .collect();
    Ok(Catalog { tables, views, partitions })
}

/// What the catalog says about a type that is not built in.
struct UserType {
    name: String,
    schema: String,
    /// `pg_type.typtype`: b(ase), c(omposite), d(omain), e(num), p(seudo), r(ange), m(ultirange).
    kind: String,
    base: u32,
    element: u32,
}

/// Every type created after the built-in ones (by users and extensions).
async fn user_types(client: &Client) -> Result<HashMap<u32, UserType>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT t.oid, t.typname::text, n.nspname::text, t.typtype::text, t.typbasetype, t.typelem, t.typcategory::text \
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.oid >= 16384",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let category: String = row.get(6);
            let element: u32 = row.get(5);
            (
                row.get(0),
                UserType {
                    name: row.get(1),
                    schema: row.get(2),
                    kind: row.get(3),
                    base: row.get(4),
                    // Only arrays count as having elements (fixed-length types like `name`
                    // have a typelem too).
                    element: if category == "A" { element } else { 0 },
                },
            )
        })
        .collect())
}

/// The driver's [`Type`] for a type OID, rebuilt from the catalog for user types, so that
/// [`logical_type`] judges a column exactly as a scan will decode it.
fn type_of(oid: u32, user_types: &HashMap<u32, UserType>, depth: usize) -> Type {
    if let Some(builtin) = Type::from_oid(oid) {
        return builtin;
    }
    let Some(info) = user_types.get(&oid).filter(|_| depth < 8) else {
        return Type::new("unknown".into(), oid, Kind::Simple, String::new());
    };
    let kind = match info.kind.as_str() {
        "d" => Kind::Domain(type_of(info.base, user_types, depth + 1)),
        "e" => Kind::Enum(Vec::new()),
        "c" => Kind::Composite(Vec::new()),
        _ if info.element != 0 => Kind::Array(type_of(info.element, user_types, depth + 1)),
        _ => Kind::Simple,
    };
    Type::new(info.name.clone(), oid, kind, info.schema.clone())
}
