//! [`Catalog`]: what introspection learns about a source database (tables, keys, foreign
//! keys, the names of its views and partitions), handed from a source to `grafter init`,
//! which turns it into a starter mapping.

use crate::Column;

/// The tables of a source database and how they reference each other.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Catalog {
    /// Tables in a stable order (as the source lists them, usually by name).
    pub tables: Vec<Table>,
    /// Views (and PostgreSQL's materialized views), named as [`Table::name`]s are: readable
    /// with `table = "…"`, but with no key to map by, so `grafter init` lists them as skipped.
    pub views: Vec<String>,
    /// PostgreSQL partitions: tables of their own, read as part of the table they partition,
    /// so never mapped alone.
    pub partitions: Vec<Partition>,
}

/// A partition of a partitioned table, both named as [`Table::name`]s are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    /// The partition.
    pub name: String,
    /// The table it is a partition of (itself a partition, for a sub-partition).
    pub of: String,
}

/// One table (or, in PostgreSQL, `schema.table`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table {
    /// The name to use in `table = "…"` (schema-qualified where the source needs it).
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// Primary key columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Unique constraints other than the primary key, each a list of columns.
    pub unique: Vec<Vec<String>>,
    /// Declared foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// The tables it inherits from (PostgreSQL table inheritance), named as [`Table::name`]s
    /// are: reading a parent returns its children's rows too. Partitions are not listed: a
    /// partitioned table is one table and its partitions are not in the catalog.
    pub inherits: Vec<String>,
}

/// A declared foreign key: `columns` of this table reference `ref_columns` of `ref_table`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ForeignKey {
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns, in the same order (the referenced table's primary key when the
    /// declaration names none).
    pub ref_columns: Vec<String>,
}

impl Catalog {
    /// The table called `name`, if any.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The tables `name` inherits from, directly or through others, nearest first; each
    /// once, whatever loops the catalog holds.
    pub fn ancestors(&self, name: &str) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        let mut next = 0;
        let mut child = Some(name);
        while let Some(current) = child {
            for parent in self.table(current).map_or(&[][..], |t| t.inherits.as_slice()) {
                if parent != name && !found.contains(&parent.as_str()) {
                    found.push(parent);
                }
            }
            child = found.get(next).copied();
            next += 1;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, inherits: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            inherits: inherits.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn ancestors_are_found_through_every_level_once() {
        let catalog = Catalog {
            tables: vec![
                table("people", &[]),
                table("staff", &["people"]),
                table("managers", &["staff", "people"]),
                table("loop_a", &["loop_b"]),
                table("loop_b", &["loop_a"]),
            ],
            views: Vec::new(),
            partitions: Vec::new(),
        };
        assert_eq!(catalog.ancestors("managers"), ["staff", "people"]);
        assert_eq!(catalog.ancestors("staff"), ["people"]);
        assert!(catalog.ancestors("people").is_empty());
        assert_eq!(catalog.ancestors("loop_a"), ["loop_b"]);
        assert!(catalog.ancestors("unknown").is_empty());
    }
}
