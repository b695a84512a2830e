//! Cast rules (`[[casts]]` in grafter.toml): the type a column's values take in the graph,
//! chosen by the user per source type (`type = "numeric", to = "float"`) or per column
//! (`column = "orders.status", to = "string"`), the way pgloader's `CAST` clauses work.
//!
//! A column rule wins over a type rule; a type rule naming the declared type (`numeric`,
//! `tinyint`) wins over one naming grafter's logical type (`decimal`, `time`); among equals
//! the first in the file wins. Without a rule, `[source.types]` (the source's defaults)
//! decides, and [`Decision`] records which setting did so that `grafter plan` can say it.
//! A rule becomes a `cast(column, 'to')` expression, so a value that does not convert
//! (`'12.50'` to `int`) rejects its row with the reason, never truncates.

use grafter_model::{Column, LogicalType, TypePolicy};
use serde::Serialize;

use crate::config::{CastConfig, ConfigError as PlanError};
use crate::locate::{self, Location};
use crate::transform::CastType;

/// What a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CastMatch {
    /// Columns of this source type (normalised: lower case, no precision).
    SourceType(String),
    /// This column of the read named `read` (a table, or a query mapping's name).
    Column {
        /// The table (or query mapping) read.
        read: String,
        /// The column.
        column: String,
    },
}

/// A checked cast rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastRule {
    /// What it matches.
    pub matcher: CastMatch,
    /// Where it is written.
    pub location: Location,
    /// The graph type it casts to.
    pub(crate) to: CastType,
}

impl CastRule {
    /// The `cast()` type name it casts to (`float`, `string`, …).
    pub fn to(&self) -> &'static str {
        self.to.name()
    }

    /// The rule as a person reads it in `plan`: `[[casts]] type = "numeric" → float
    /// (grafter.toml:12)`.
    pub fn describe(&self) -> String {
        let what = match &self.matcher {
            CastMatch::SourceType(name) => format!("type = \"{name}\""),
            CastMatch::Column { read, column } => format!("column = \"{read}.{column}\""),
        };
        format!("[[casts]] {what} → {} ({})", self.to(), self.location)
    }

    /// How closely it matches `column` of the read `read`: `None` when it does not; higher
    /// is more specific.
    fn specificity(&self, read: &str, column: &Column) -> Option<u8> {
        match &self.matcher {
            CastMatch::Column { read: r, column: c } => (r == read && *c == column.name).then_some(3),
            CastMatch::SourceType(name) => {
                if column.declared_type.as_deref().map(normalise_type).as_deref() == Some(name.as_str()) {
                    Some(2)
                } else if logical_names(column.logical_type).contains(&name.as_str()) {
                    Some(1)
                } else {
                    None
                }
            }
        }
    }
}

/// How a column's graph type was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The source's type for the column: as declared, else grafter's logical type.
    pub source_type: String,
    /// What its values become in the graph.
    pub graph_type: String,
    /// The rule that decided it, in words; `None` when the type has one exact graph
    /// counterpart.
    pub rule: Option<String>,
    /// The cast rule applied (its index in the plan's rules), if any.
    #[serde(skip)]
    pub cast: Option<usize>,
}

/// The rule that applies to `column` of the read `read`, with its index.
pub fn rule_for<'a>(rules: &'a [CastRule], read: &str, column: &Column) -> Option<(usize, &'a CastRule)> {
    let mut best: Option<(u8, usize)> = None;
    for (index, rule) in rules.iter().enumerate() {
        if let Some(level) = rule.specificity(read, column)
            && best.is_none_or(|(best_level, _)| level > best_level)
        {
            best = Some((level, index));
        }
    }
    best.map(|(_, index)| (index, &rules[index]))
}

/// How `column` of the read `read` arrives in the graph under `rules` and `policy`.
pub fn decide(rules: &[CastRule], policy: &TypePolicy, read: &str, column: &Column) -> Decision {
    let source_type = column.declared_type.clone().unwrap_or_else(|| logical_names(column.logical_type)[0].to_owned());
    if let Some((index, rule)) = rule_for(rules, read, column) {
        return Decision {
            source_type,
            graph_type: cast_graph_type(rule.to).to_owned(),
            rule: Some(rule.describe()),
            cast: Some(index),
        };
    }
    let arrival = grafter_model::arrival(column.logical_type, policy);
    Decision { source_type, graph_type: arrival.graph_type.to_owned(), rule: arrival.setting, cast: None }
}

/// The graph type a `cast()` type name gives.
fn cast_graph_type(to: CastType) -> &'static str {
    match to {
        CastType::Int => "integer",
        CastType::Float => "float",
        CastType::Bool => "boolean",
        CastType::String => "string",
        CastType::Date => "date",
        // Local, or zoned when the text carries an offset.
        CastType::DateTime => "datetime",
        CastType::Json => "map or list (JSON)",
    }
}

/// The names a type rule may use for a logical type; the first is how `plan` shows it.
fn logical_names(logical: LogicalType) -> &'static [&'static str] {
    match logical {
        LogicalType::Bool => &["bool", "boolean"],
        LogicalType::Int => &["int", "integer"],
        LogicalType::Float => &["float"],
        LogicalType::Decimal => &["decimal"],
        LogicalType::String => &["string", "text"],
        LogicalType::Bytes => &["bytes", "binary"],
        LogicalType::Date => &["date"],
        LogicalType::Time => &["time"],
        LogicalType::DateTime => &["datetime"],
        LogicalType::DateTimeTz => &["datetimetz"],
        LogicalType::Json => &["json"],
        LogicalType::Duration => &["duration"],
        LogicalType::List => &["list"],
        LogicalType::Any => &["any"],
    }
}

/// A declared type as rules compare it: lower case, without `(…)` (precision, length, the
/// members of an enum) and with single spaces: `NUMERIC(10, 2)` → `numeric`, `int(10)
/// unsigned` → `int unsigned`.
pub fn normalise_type(declared: &str) -> String {
    let mut plain = String::with_capacity(declared.len());
    let mut depth = 0usize;
    for c in declared.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks every `[[casts]]` entry of `text` (the file `file`). `reads` are what the
/// mappings read (table names, and query mappings' names), which column rules must name.
pub(crate) fn build(
    configs: &[CastConfig],
    text: &str,
    file: &str,
    reads: &[String],
) -> Result<Vec<CastRule>, PlanError> {
    let mut rules: Vec<CastRule> = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        let line = |key: Option<&str>| {
            key.and_then(|key| locate::array_key_line(text, "casts", index, key))
                .or_else(|| locate::array_entry_line(text, "casts", index))
                .map_or(Location::file(file), |line| Location::line(file, line))
        };
        let fail = |key: Option<&str>, message: String, hint: String| PlanError {
            location: line(key),
            message: format!("cast rule: {message}"),
            hint: Some(hint),
        };
        let Some(to) = CastType::parse(&config.to) else {
            let names: Vec<&str> = CastType::ALL.iter().map(|t| t.name()).collect();
            let hint = match crate::suggest(&config.to, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? Types: {}", names.join(", ")),
                None => format!("types: {}", names.join(", ")),
            };
            return Err(fail(Some("to"), format!("`to = \"{}\"` is not a type grafter casts to", config.to), hint));
        };
        let matcher = match (&config.source_type, &config.column) {
            (Some(source_type), None) => {
                let name = normalise_type(source_type);
                if name.is_empty() {
                    return Err(fail(
                        Some("type"),
                        "`type` is empty".into(),
                        "name a source type as declared (`numeric`) or a logical one (`decimal`)".into(),
                    ));
                }
                CastMatch::SourceType(name)
            }
            (None, Some(column)) => {
                let Some((read, name)) = column.rsplit_once('.').filter(|(r, c)| !r.is_empty() && !c.is_empty()) else {
                    return Err(fail(
                        Some("column"),
                        format!("`column = \"{column}\"` does not say whose column"),
                        "write `table.column` (for a mapping that reads a query: `mapping.column`)".into(),
                    ));
                };
                if !reads.iter().any(|r| r == read) {
                    let hint = match crate::suggest(read, reads.iter().map(String::as_str)) {
                        Some(near) => format!("did you mean `{near}`? Mappings read: {}", reads.join(", ")),
                        None => format!("mappings read: {}", reads.join(", ")),
                    };
                    return Err(fail(Some("column"), format!("no mapping reads `{read}`"), hint));
                }
                CastMatch::Column { read: read.to_owned(), column: name.to_owned() }
            }
            (Some(_), Some(_)) => {
                return Err(fail(
                    Some("column"),
                    "both `type` and `column` are set".into(),
                    "a rule casts either every column of a source type or one column: split it in two".into(),
                ));
            }
            (None, None) => {
                return Err(fail(
                    None,
                    "says neither `type` nor `column`".into(),
                    "add `type = \"numeric\"` (every column of that type) or `column = \"table.column\"`".into(),
                ));
            }
        };
        if let Some(earlier) = rules.iter().find(|rule| rule.matcher == matcher) {
            return Err(fail(
                None,
                format!("matches the same columns as the rule at {}", earlier.location),
                "keep one rule per type or column".into(),
            ));
        }
        rules.push(CastRule { matcher, location: line(None), to });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, logical: LogicalType, declared: Option<&str>) -> Column {
        Column { name: name.into(), logical_type: logical, declared_type: declared.map(str::to_owned), nullable: None }
    }

    fn rules(text: &str) -> Result<Vec<CastRule>, PlanError> {
        #[derive(serde::Deserialize)]
        struct File {
            casts: Vec<CastConfig>,
        }
        let file: File = toml::from_str(text).expect("parses");
        build(&file.casts, text, "grafter.toml", &["orders".into(), "customers".into()])
    }

    #[test]
    fn declared_types_are_compared_without_precision_or_case() {
        assert_eq!(normalise_type("NUMERIC(10, 2)"), "numeric");
        assert_eq!(normalise_type("int(10) unsigned"), "int unsigned");
        assert_eq!(normalise_type("character  varying(40)"), "character varying");
        assert_eq!(normalise_type("enum('a','b(c)')"), "enum");
    }

    #[test]
    fn a_column_rule_beats_a_declared_type_rule_which_beats_a_logical_one() {
        let rules = rules(
            r#"
[[casts]]
type = "decimal"
to = "float"

[[casts]]
type = "NUMERIC"
to = "string"

[[casts]]
column = "orders.total"
to = "int"
"#,
        )
        .expect("valid");
        let total = column("total", LogicalType::Decimal, Some("numeric(10,2)"));
        let price = column("price", LogicalType::Decimal, Some("numeric(10,2)"));
        let mysql_price = column("price", LogicalType::Decimal, Some("decimal(10,2)"));
        assert_eq!(rule_for(&rules, "orders", &total).map(|(i, _)| i), Some(2));
        assert_eq!(rule_for(&rules, "customers", &total).map(|(i, _)| i), Some(1));
        assert_eq!(rule_for(&rules, "orders", &price).map(|(i, _)| i), Some(1));
        assert_eq!(rule_for(&rules, "orders", &mysql_price).map(|(i, _)| i), Some(0));
        let name = column("name", LogicalType::String, Some("text"));
        assert_eq!(rule_for(&rules, "orders", &name), None);
    }

    #[test]
    fn a_decision_names_the_rule_or_the_source_setting() {
        let rules = rules("[[casts]]\ntype = \"numeric\"\nto = \"float\"\n").expect("valid");
        let price = column("price", LogicalType::Decimal, Some("numeric(10,2)"));
        let decided = decide(&rules, &TypePolicy::default(), "orders", &price);
        assert_eq!(decided.graph_type, "float");
        assert_eq!(decided.rule.as_deref(), Some("[[casts]] type = \"numeric\" → float (grafter.toml:1)"));
        let by_default = decide(&[], &TypePolicy::default(), "orders", &price);
        assert_eq!((by_default.source_type.as_str(), by_default.graph_type.as_str()), ("numeric(10,2)", "string"));
        assert_eq!(by_default.rule.as_deref(), Some("[source.types] decimal = \"string\" (the default)"));
        let id = column("id", LogicalType::Int, None);
        let exact = decide(&rules, &TypePolicy::default(), "orders", &id);
        assert_eq!((exact.source_type.as_str(), exact.graph_type.as_str(), exact.rule), ("int", "integer", None));
    }

    #[test]
    fn bad_rules_name_their_line_and_a_fix() {
        let error = |text: &str| rules(text).expect_err("invalid").to_string();
        let wrong_type = error("[[casts]]\ntype = \"numeric\"\nto = \"flaot\"\n");
        assert!(wrong_type.starts_with("grafter.toml:3: cast rule: `to = \"flaot\"` is not a type"), "{wrong_type}");
        assert!(wrong_type.contains("did you mean `float`?"), "{wrong_type}");
        let unknown_table = error("[[casts]]\ncolumn = \"order.total\"\nto = \"float\"\n");
        assert!(unknown_table.starts_with("grafter.toml:2: cast rule: no mapping reads `order`"), "{unknown_table}");
        assert!(unknown_table.contains("did you mean `orders`?"), "{unknown_table}");
        let bare = error("[[casts]]\ncolumn = \"total\"\nto = \"float\"\n");
        assert!(bare.contains("does not say whose column"), "{bare}");
        let both = error("[[casts]]\ncolumn = \"orders.total\"\ntype = \"numeric\"\nto = \"float\"\n");
        assert!(both.contains("both `type` and `column`"), "{both}");
        let neither = error("[[casts]]\nto = \"float\"\n");
        assert!(neither.contains("neither `type` nor `column`"), "{neither}");
        let twice =
            error("[[casts]]\ntype = \"Numeric\"\nto = \"float\"\n[[casts]]\ntype = \"numeric(4)\"\nto = \"int\"\n");
        assert!(
            twice.starts_with("grafter.toml:4: cast rule: matches the same columns as the rule at grafter.toml:1"),
            "{twice}"
        );
    }
}
