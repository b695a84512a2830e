//! [`Catalog`]: what introspection learns about a source database (tables, keys, foreign
//! keys), handed from a source to `grafter init`, which turns it into a starter mapping.

use crate::Column;

/// The tables of a source database and how they reference each other.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Catalog {
    /// Tables in a stable order (as the source lists them, usually by name).
    pub tables: Vec<Table>,
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
}
