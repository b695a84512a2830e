//! [`Dialect`]: the DDL each graph server speaks for what grafter needs — an index on a
//! label's key properties before loading, and the indexes and uniqueness constraints schema
//! migrations create and drop ([`PropertySchema`]). Neo4j 5, Memgraph and FalkorDB write
//! them differently; the embedded store speaks Neo4j 5's.

use std::fmt;

use grafter_model::{Value, quote_name};

/// A graph server's DDL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// FalkorDB: `CREATE INDEX FOR (n:L) ON (n.a, n.b)` (no names, no `IF NOT EXISTS`: an
    /// index already there is an error to ignore).
    FalkorDb,
    /// Neo4j 5: named indexes with `IF NOT EXISTS`.
    Neo4j,
    /// Memgraph: one label-property index per property, `CREATE INDEX ON :L(p)`.
    Memgraph,
}

impl Dialect {
    /// The statements that create an index on `label`'s key `properties`.
    pub fn key_index(self, label: &str, properties: &[String]) -> Vec<String> {
        let on: Vec<String> = properties.iter().map(|p| format!("n.{}", quote_name(p))).collect();
        match self {
            Dialect::FalkorDb => vec![format!("CREATE INDEX FOR (n:{}) ON ({})", quote_name(label), on.join(", "))],
            Dialect::Neo4j => vec![format!(
                "CREATE INDEX {} IF NOT EXISTS FOR (n:{}) ON ({})",
                quote_name(&schema_name("grafter", label, properties)),
                quote_name(label),
                on.join(", ")
            )],
            Dialect::Memgraph => properties
                .iter()
                .map(|p| format!("CREATE INDEX ON :{}({})", quote_name(label), quote_name(p)))
                .collect(),
        }
    }
}

impl Dialect {
    /// The statement that creates an index on relationship type `rel_type`'s key
    /// `properties`, in the dialects where grafter's lookups use one (see
    /// `cypher::queries::KeyLookup`): Neo4j 5's named range index.
    pub fn relationship_key_index(self, rel_type: &str, properties: &[String]) -> Option<String> {
        let on: Vec<String> = properties.iter().map(|p| format!("r.{}", quote_name(p))).collect();
        match self {
            Dialect::Neo4j => Some(format!(
                "CREATE INDEX {} IF NOT EXISTS FOR ()-[r:{}]-() ON ({})",
                quote_name(&schema_name("grafter_rel", rel_type, properties)),
                quote_name(rel_type),
                on.join(", ")
            )),
            Dialect::FalkorDb | Dialect::Memgraph => None,
        }
    }

    /// The statements that make `properties` `label`'s key with a uniqueness constraint,
    /// where the server has one: users expect their primary keys to become constraints, and a
    /// second writer's duplicate is then refused by the server itself. Neo4j's constraint
    /// brings its own index, and cannot be created beside an index on the same properties,
    /// so the plain index earlier grafter runs made is dropped first; Memgraph's needs the
    /// index beside it. `None` where the server has no such constraint (FalkorDB's are made
    /// by schema migrations: they need an index first and are built in the background).
    pub fn key_constraint(self, label: &str, properties: &[String]) -> Option<Vec<String>> {
        let on: Vec<String> = properties.iter().map(|p| format!("n.{}", quote_name(p))).collect();
        match self {
            Dialect::FalkorDb => None,
            Dialect::Neo4j => Some(vec![
                format!("DROP INDEX {} IF EXISTS", quote_name(&schema_name("grafter", label, properties))),
                format!(
                    "CREATE CONSTRAINT {} IF NOT EXISTS FOR (n:{}) REQUIRE ({}) IS UNIQUE",
                    quote_name(&schema_name("grafter_key", label, properties)),
                    quote_name(label),
                    on.join(", ")
                ),
            ]),
            Dialect::Memgraph => {
                let mut statements = self.key_index(label, properties);
                statements.push(format!(
                    "CREATE CONSTRAINT ON (n:{}) ASSERT {} IS UNIQUE",
                    quote_name(label),
                    on.join(", ")
                ));
                Some(statements)
            }
        }
    }
}

/// `prefix_Label_a_b`: the name grafter gives an index or constraint on `label`'s
/// `properties` (letters, digits and underscores only).
fn schema_name(prefix: &str, label: &str, properties: &[String]) -> String {
    format!("{prefix}_{}_{}", label, properties.join("_"))
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

impl Dialect {
    /// The statements that make the server know the lock node's label and key before a run
    /// takes the lock: a uniqueness constraint where the server has one (a `MERGE` on it is
    /// then atomic), else an index (FalkorDB, whose writes to one graph run one at a time but
    /// which plans a `MATCH` on an unknown label as finding nothing). An error from one that is
    /// already there is to be ignored.
    pub fn lock_guard(self) -> Vec<String> {
        let label = "_GrafterLock";
        match self {
            Dialect::FalkorDb => vec![format!("CREATE INDEX FOR (l:{label}) ON (l.name)")],
            Dialect::Neo4j => vec![format!(
                "CREATE CONSTRAINT grafter_lock_name IF NOT EXISTS FOR (l:{label}) REQUIRE l.name IS UNIQUE"
            )],
            Dialect::Memgraph => vec![format!("CREATE CONSTRAINT ON (l:{label}) ASSERT l.name IS UNIQUE")],
        }
    }
}

/// What a schema migration creates or drops: an index or a uniqueness constraint on one
/// property of a label's nodes. Names are checked by the caller (`check_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySchema {
    /// An index or a uniqueness constraint.
    pub kind: SchemaKind,
    /// Its name, where the server names them (Neo4j, the embedded store; FalkorDB and
    /// Memgraph identify them by label and property).
    pub name: String,
    /// The label.
    pub label: String,
    /// The property.
    pub property: String,
}

/// An index or a uniqueness constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// A (range) index.
    Index,
    /// A uniqueness constraint.
    Unique,
}

/// One DDL step as a dialect writes it: Cypher, or a server command where the server has
/// no Cypher for it. Shown to people with [`fmt::Display`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ddl {
    /// A Cypher statement, run like any other.
    Cypher(String),
    /// FalkorDB's `GRAPH.CONSTRAINT CREATE|DROP <graph> UNIQUE NODE <label> PROPERTIES 1
    /// <property>` (its constraints have no Cypher); the target fills in its graph, and
    /// creating one first creates the index it needs.
    FalkorDbUnique {
        /// Create (or drop).
        create: bool,
        /// The label, unquoted (it travels as a command argument).
        label: String,
        /// The property, unquoted.
        property: String,
    },
}

impl fmt::Display for Ddl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ddl::Cypher(text) => f.write_str(text),
            Ddl::FalkorDbUnique { create, label, property } => write!(
                f,
                "GRAPH.CONSTRAINT {} <graph> UNIQUE NODE {label} PROPERTIES 1 {property}",
                if *create { "CREATE" } else { "DROP" }
            ),
        }
    }
}

impl Dialect {
    /// The steps that create `schema`.
    pub fn create(self, schema: &PropertySchema) -> Vec<Ddl> {
        let (name, label, property) =
            (quote_name(&schema.name), quote_name(&schema.label), quote_name(&schema.property));
        let cypher = |text: String| vec![Ddl::Cypher(text)];
        match (self, schema.kind) {
            (Dialect::FalkorDb, SchemaKind::Index) => cypher(format!("CREATE INDEX FOR (n:{label}) ON (n.{property})")),
            (Dialect::FalkorDb, SchemaKind::Unique) => vec![Ddl::FalkorDbUnique {
                create: true,
                label: schema.label.clone(),
                property: schema.property.clone(),
            }],
            (Dialect::Neo4j, SchemaKind::Index) => {
                cypher(format!("CREATE INDEX {name} FOR (n:{label}) ON (n.{property})"))
            }
            (Dialect::Neo4j, SchemaKind::Unique) => {
                cypher(format!("CREATE CONSTRAINT {name} FOR (n:{label}) REQUIRE n.{property} IS UNIQUE"))
            }
            (Dialect::Memgraph, SchemaKind::Index) => cypher(format!("CREATE INDEX ON :{label}({property})")),
            (Dialect::Memgraph, SchemaKind::Unique) => {
                cypher(format!("CREATE CONSTRAINT ON (n:{label}) ASSERT n.{property} IS UNIQUE"))
            }
        }
    }

    /// The steps that drop `schema`. Dropping a FalkorDB constraint leaves the index it was
    /// built on (the key index a run made may be that index).
    pub fn drop(self, schema: &PropertySchema) -> Vec<Ddl> {
        let (name, label, property) =
            (quote_name(&schema.name), quote_name(&schema.label), quote_name(&schema.property));
        let cypher = |text: String| vec![Ddl::Cypher(text)];
        match (self, schema.kind) {
            (Dialect::FalkorDb, SchemaKind::Index) | (Dialect::Memgraph, SchemaKind::Index) => {
                cypher(format!("DROP INDEX ON :{label}({property})"))
            }
            (Dialect::FalkorDb, SchemaKind::Unique) => vec![Ddl::FalkorDbUnique {
                create: false,
                label: schema.label.clone(),
                property: schema.property.clone(),
            }],
            (Dialect::Neo4j, SchemaKind::Index) => cypher(format!("DROP INDEX {name}")),
            (Dialect::Neo4j, SchemaKind::Unique) => cypher(format!("DROP CONSTRAINT {name}")),
            (Dialect::Memgraph, SchemaKind::Unique) => {
                cypher(format!("DROP CONSTRAINT ON (n:{label}) ASSERT n.{property} IS UNIQUE"))
            }
        }
    }

    /// A query whose `valid` column says whether `schema` exists (`present`) or not, with
    /// its parameters; `None` where the server cannot be asked in a way grafter reads.
    pub fn exists_query(self, schema: &PropertySchema, present: bool) -> Option<(String, Vec<(String, Value)>)> {
        let test = if present { "count(*) > 0" } else { "count(*) = 0" };
        let query = match (self, schema.kind) {
            (Dialect::FalkorDb, SchemaKind::Index) => format!(
                "CALL db.indexes() YIELD label, properties WHERE label = $label AND $property IN properties RETURN {test} AS valid"
            ),
            // A constraint FalkorDB could not build (duplicates) is listed as FAILED.
            (Dialect::FalkorDb, SchemaKind::Unique) => format!(
                "CALL db.constraints() YIELD type, label, properties, status WHERE type = 'UNIQUE' AND label = $label AND properties = [$property] AND status = 'OPERATIONAL' RETURN {test} AS valid"
            ),
            _ => return None,
        };
        let params = vec![
            ("label".to_owned(), Value::String(schema.label.clone())),
            ("property".to_owned(), Value::String(schema.property.clone())),
        ];
        Some((query, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_gets_its_own_key_index_statement() {
        let key = vec!["id".to_owned(), "region name".to_owned()];
        assert_eq!(
            Dialect::FalkorDb.key_index("Resource Provider", &key),
            ["CREATE INDEX FOR (n:`Resource Provider`) ON (n.`id`, n.`region name`)"]
        );
        assert_eq!(
            Dialect::Neo4j.key_index("Resource Provider", &key),
            [
                "CREATE INDEX `grafter_Resource_Provider_id_region_name` IF NOT EXISTS FOR (n:`Resource Provider`) ON (n.`id`, n.`region name`)"
            ]
        );
        assert_eq!(
            Dialect::Memgraph.key_index("Resource Provider", &key),
            ["CREATE INDEX ON :`Resource Provider`(`id`)", "CREATE INDEX ON :`Resource Provider`(`region name`)"]
        );
    }

    #[test]
    fn a_key_becomes_a_uniqueness_constraint_where_the_server_has_one() {
        let key = vec!["id".to_owned(), "region name".to_owned()];
        assert_eq!(Dialect::FalkorDb.key_constraint("Resource Provider", &key), None);
        assert_eq!(
            Dialect::Neo4j.key_constraint("Resource Provider", &key).expect("Neo4j has them"),
            [
                "DROP INDEX `grafter_Resource_Provider_id_region_name` IF EXISTS",
                "CREATE CONSTRAINT `grafter_key_Resource_Provider_id_region_name` IF NOT EXISTS FOR (n:`Resource Provider`) REQUIRE (n.`id`, n.`region name`) IS UNIQUE"
            ]
        );
        assert_eq!(
            Dialect::Memgraph
                .key_constraint("Resource Provider", &key)
                .expect("Memgraph has them")
                .last()
                .map(String::as_str),
            Some("CREATE CONSTRAINT ON (n:`Resource Provider`) ASSERT n.`id`, n.`region name` IS UNIQUE")
        );
    }

    #[test]
    fn a_relationship_key_gets_a_named_index_on_neo4j_only() {
        let key = vec!["id".to_owned(), "leg no".to_owned()];
        assert_eq!(
            Dialect::Neo4j.relationship_key_index("PAID TO", &key).expect("Neo4j"),
            "CREATE INDEX `grafter_rel_PAID_TO_id_leg_no` IF NOT EXISTS FOR ()-[r:`PAID TO`]-() ON (r.`id`, r.`leg no`)"
        );
        assert_eq!(Dialect::FalkorDb.relationship_key_index("PAID", &key), None);
    }

    #[test]
    fn indexes_and_constraints_in_each_dialect() {
        let schema = |kind| PropertySchema {
            kind,
            name: "provider_uuid".into(),
            label: "Resource Provider".into(),
            property: "uuid".into(),
        };
        let shown = |steps: Vec<Ddl>| steps.iter().map(ToString::to_string).collect::<Vec<_>>();
        let index = schema(SchemaKind::Index);
        assert_eq!(shown(Dialect::FalkorDb.create(&index)), ["CREATE INDEX FOR (n:`Resource Provider`) ON (n.`uuid`)"]);
        assert_eq!(shown(Dialect::FalkorDb.drop(&index)), ["DROP INDEX ON :`Resource Provider`(`uuid`)"]);
        assert_eq!(
            shown(Dialect::Neo4j.create(&index)),
            ["CREATE INDEX `provider_uuid` FOR (n:`Resource Provider`) ON (n.`uuid`)"]
        );
        assert_eq!(shown(Dialect::Neo4j.drop(&index)), ["DROP INDEX `provider_uuid`"]);
        let unique = schema(SchemaKind::Unique);
        assert_eq!(
            Dialect::FalkorDb.create(&unique),
            [Ddl::FalkorDbUnique { create: true, label: "Resource Provider".into(), property: "uuid".into() }]
        );
        assert_eq!(
            shown(Dialect::FalkorDb.drop(&unique)),
            ["GRAPH.CONSTRAINT DROP <graph> UNIQUE NODE Resource Provider PROPERTIES 1 uuid"]
        );
        assert_eq!(
            shown(Dialect::Memgraph.create(&unique)),
            ["CREATE CONSTRAINT ON (n:`Resource Provider`) ASSERT n.`uuid` IS UNIQUE"]
        );
        assert!(Dialect::FalkorDb.exists_query(&unique, true).is_some());
        assert!(Dialect::Neo4j.exists_query(&unique, true).is_none());
    }
}
