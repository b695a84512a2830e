//! [`Dialect`]: the DDL each graph server speaks for what grafter needs before loading — an
//! index on a label's key properties. Neo4j 5, Memgraph and FalkorDB write it differently.

use grafter_model::quote_name;

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
            Dialect::Neo4j => {
                let name = format!("grafter_{}_{}", label, properties.join("_"))
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect::<String>();
                vec![format!(
                    "CREATE INDEX {} IF NOT EXISTS FOR (n:{}) ON ({})",
                    quote_name(&name),
                    quote_name(label),
                    on.join(", ")
                )]
            }
            Dialect::Memgraph => properties
                .iter()
                .map(|p| format!("CREATE INDEX ON :{}({})", quote_name(label), quote_name(p)))
                .collect(),
        }
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
}
