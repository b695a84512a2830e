//! Custom checks (`[[checks]]`): a Cypher query on the graph and the result it must give,
//! run by `grafter verify` after its own comparisons.
//!
//! A check says what "right" means in one of three ways: the query returns a single `0` (or
//! nothing: `expect = "zero"`), every row's `valid` column is true (`expect = "valid"`), or its
//! rows equal the rows of a SQL query on the source (`sql = "…"`). This module reads and
//! checks the section; running it is the engine's.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::config::ConfigError as PlanError;
use crate::locate::{self, Location};

/// `[[checks]]` as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// The check's name, unique in the file; reports name failing checks by it.
    pub name: String,
    /// The Cypher query run on the graph (read-only; values as literals or none).
    pub cypher: String,
    /// `zero` or `valid`; omit it and give `sql` to compare with the source instead.
    pub expect: Option<Expect>,
    /// A SQL query on the source whose rows the Cypher query's rows must equal (as multisets).
    pub sql: Option<String>,
    /// What the check proves, for the report.
    pub description: Option<String>,
}

/// The fixed expectations a check can name.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A single value 0, or no rows at all.
    Zero,
    /// Every row has a `valid` column that is true.
    Valid,
}

/// What a check's Cypher result must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// A single value 0, or no rows.
    Zero,
    /// Every row's `valid` column true.
    Valid,
    /// The same rows as this SQL query on the source, in any order.
    EqualsSql(String),
}

/// A checked `[[checks]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Unique name.
    pub name: String,
    /// The Cypher query.
    pub cypher: String,
    /// What its result must be.
    pub expect: Expectation,
    /// The config's description, if any.
    pub description: Option<String>,
    /// Where it is defined.
    pub location: Location,
}

/// Checks every `[[checks]]` entry of `text` (the file `file`).
pub(crate) fn build(configs: &[CheckConfig], text: &str, file: &str) -> Result<Vec<Check>, PlanError> {
    let mut names = BTreeSet::new();
    let mut checks = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        let line = |key: Option<&str>| {
            key.and_then(|key| locate::array_key_line(text, "checks", index, key))
                .or_else(|| locate::array_entry_line(text, "checks", index))
                .map_or(Location::file(file), |line| Location::line(file, line))
        };
        let fail = |key: Option<&str>, message: String, hint: &str| PlanError {
            location: line(key),
            message: format!("check `{}`: {message}", config.name),
            hint: Some(hint.to_owned()),
        };
        if config.name.trim().is_empty() {
            return Err(PlanError {
                location: line(Some("name")),
                message: "a check's name is empty".into(),
                hint: Some("name it after what it proves; reports show failing checks by name".into()),
            });
        }
        if !names.insert(config.name.as_str()) {
            return Err(fail(Some("name"), "two checks have this name".into(), "give each check a name of its own"));
        }
        if config.cypher.trim().is_empty() {
            return Err(fail(Some("cypher"), "`cypher` is empty".into(), "write the query whose result is checked"));
        }
        let expect = match (config.expect, &config.sql) {
            (Some(Expect::Zero), None) => Expectation::Zero,
            (Some(Expect::Valid), None) => Expectation::Valid,
            (None, Some(sql)) if !sql.trim().is_empty() => Expectation::EqualsSql(sql.clone()),
            (Some(_), Some(_)) => {
                return Err(fail(
                    Some("sql"),
                    "both `expect` and `sql` are set".into(),
                    "a check either expects `zero`/`valid` or compares with `sql`: keep one",
                ));
            }
            (None, _) => {
                return Err(fail(
                    None,
                    "says neither what to expect nor what to compare with".into(),
                    "add `expect = \"zero\"`, `expect = \"valid\"`, or `sql = \"SELECT …\"` (rows equal to the source's)",
                ));
            }
        };
        checks.push(Check {
            name: config.name.clone(),
            cypher: config.cypher.clone(),
            expect,
            description: config.description.clone(),
            location: line(None),
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{Config, Expectation, Plan};

    const BASE: &str = r#"
[source]
url = "sqlite:shop.db"

[[nodes]]
label = "Customer"
table = "customers"
key = "id"
"#;

    fn plan(checks: &str) -> Result<Plan, crate::PlanError> {
        let text = format!("{BASE}{checks}");
        let config = Config::parse(&text, "grafter.toml", |_| None)?;
        Plan::build(&config, Path::new("grafter.toml"), &text)
    }

    #[test]
    fn the_three_kinds_of_check_are_read() {
        let plan = plan(
            r#"
[[checks]]
name = "no orphans"
cypher = "MATCH (c:Customer) WHERE c.id IS NULL RETURN count(c)"
expect = "zero"

[[checks]]
name = "ids positive"
cypher = "MATCH (c:Customer) RETURN c.id > 0 AS valid"
expect = "valid"

[[checks]]
name = "count"
cypher = "MATCH (c:Customer) RETURN count(c)"
sql = "SELECT count(*) FROM customers"
description = "every customer is there"
"#,
        )
        .unwrap();
        let expectations: Vec<&Expectation> = plan.checks.iter().map(|c| &c.expect).collect();
        assert_eq!(
            expectations,
            [&Expectation::Zero, &Expectation::Valid, &Expectation::EqualsSql("SELECT count(*) FROM customers".into())]
        );
        assert_eq!(plan.checks[2].location.to_string(), "grafter.toml:20");
    }

    #[test]
    fn a_check_with_both_expect_and_sql_is_refused_at_its_line() {
        let error = plan(
            r#"
[[checks]]
name = "count"
cypher = "MATCH (c:Customer) RETURN count(c)"
expect = "zero"
sql = "SELECT 0"
"#,
        )
        .unwrap_err();
        assert_eq!(error.location.to_string(), "grafter.toml:14");
        assert!(error.message.contains("both `expect` and `sql`"), "{}", error.message);
    }

    #[test]
    fn a_check_without_expectation_or_duplicate_name_is_refused() {
        let error = plan("[[checks]]\nname = \"x\"\ncypher = \"RETURN 1\"\n").unwrap_err();
        assert!(error.message.contains("neither"), "{}", error.message);
        let twice = "[[checks]]\nname = \"x\"\ncypher = \"RETURN 0\"\nexpect = \"zero\"\n";
        let error = plan(&format!("{twice}{twice}")).unwrap_err();
        assert!(error.message.contains("two checks have this name"), "{}", error.message);
    }

    #[test]
    fn an_unknown_expectation_names_the_valid_ones() {
        let error = plan("[[checks]]\nname = \"x\"\ncypher = \"RETURN 0\"\nexpect = \"zeros\"\n").unwrap_err();
        assert!(error.message.contains("unknown variant `zeros`"), "{}", error.message);
        assert_eq!(error.hint.as_deref(), Some("did you mean `zero`?"));
    }
}
