//! How `grafter init` names and directs the relationships it generates:
//! `[init.relationships]` in grafter.toml, a type template with placeholders, a direction, and
//! overrides per relationship (by the mapping name `init` gives it, such as
//! `Invoice.CustomerId` or a join table's name).
//!
//! `init` writes the section into every file it makes (the defaults when there was none), and
//! `init --force` applies the section of the file it replaces, so a modeller edits the rule
//! once and generates again. Each relationship's `description` says which rule named it, and
//! `grafter plan` shows that description.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use grafter_model::{NameKind, check_name};

use super::upper_snake;
use serde::{Deserialize, Serialize};

/// `[init]`: what `grafter init` applies when it generates the file again.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// How relationships are named and directed.
    #[serde(default)]
    pub relationships: RelationshipNaming,
}

/// `[init.relationships]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RelationshipNaming {
    /// The type template: literal text and the placeholders `{column}` (the foreign key
    /// column without its `id`: `SupportRepId` → `SUPPORT_REP`; a join table's name),
    /// `{from}` and `{to}` (the start and end labels as the foreign key points, upper snake
    /// case) and `{table}` (the table holding the foreign key). Default `{column}`.
    #[serde(rename = "type")]
    pub template: String,
    /// `outgoing` (default): from the row holding the foreign key to the row it references
    /// (a join table: from its first foreign key's node to its second's); `incoming`:
    /// the other way.
    pub direction: Direction,
    /// Per relationship, by mapping name: `{ type = "…", direction = "…" }`.
    pub overrides: BTreeMap<String, Override>,
}

impl Default for RelationshipNaming {
    fn default() -> Self {
        RelationshipNaming { template: "{column}".into(), direction: Direction::Outgoing, overrides: BTreeMap::new() }
    }
}

/// One relationship's own name or direction.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Its type, as written.
    #[serde(rename = "type")]
    pub rel_type: Option<String>,
    /// Its direction.
    pub direction: Option<Direction>,
}

/// Which way a generated relationship points.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// As the foreign key points.
    #[default]
    Outgoing,
    /// Against it.
    Incoming,
}

/// What a template's placeholders stand for, for one relationship.
pub(crate) struct Parts<'a> {
    /// `{column}`, already upper snake case.
    pub column: String,
    /// The label of the table holding the foreign key (the first one's, for a join table).
    pub from: &'a str,
    /// The referenced label.
    pub to: &'a str,
    /// The table holding the foreign key.
    pub table: &'a str,
}

/// A relationship's name and direction, and the rule that decided them.
pub(crate) struct Named {
    pub rel_type: String,
    pub direction: Direction,
    /// In words, for the description: `type from [init.relationships] type = "{column}"`.
    pub because: String,
}

const PLACEHOLDERS: [&str; 4] = ["{column}", "{from}", "{to}", "{table}"];

impl RelationshipNaming {
    /// The `[init.relationships]` of a grafter.toml's `text` (the defaults when it has none),
    /// checked; other sections are not looked at.
    pub fn of_config(text: &str) -> Result<RelationshipNaming, String> {
        #[derive(Deserialize)]
        struct InitSection {
            #[serde(default)]
            init: InitConfig,
        }
        let section: InitSection =
            toml::from_str(text).map_err(|e| format!("its [init] section cannot be read: {}", e.message().trim()))?;
        section.init.relationships.check()?;
        Ok(section.init.relationships)
    }

    /// Checks the template and the overrides' types: an unknown placeholder, or a type a
    /// graph cannot take, is an error saying which.
    pub fn check(&self) -> Result<(), String> {
        let mut rest = self.template.as_str();
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .map(|e| start + e + 1)
                .ok_or_else(|| format!("[init.relationships] type = \"{}\": a `{{` is not closed", self.template))?;
            let placeholder = &rest[start..end];
            if !PLACEHOLDERS.contains(&placeholder) {
                return Err(format!(
                    "[init.relationships] type = \"{}\": unknown placeholder `{placeholder}` (placeholders: {})",
                    self.template,
                    PLACEHOLDERS.join(", ")
                ));
            }
            rest = &rest[end..];
        }
        for (name, own) in &self.overrides {
            if let Some(rel_type) = &own.rel_type {
                check_name(NameKind::RelationshipType, rel_type)
                    .map_err(|e| format!("[init.relationships.overrides] \"{name}\": {e}"))?;
            }
        }
        Ok(())
    }

    /// The type and direction of the relationship `init` calls `mapping`.
    pub(crate) fn name(&self, mapping: &str, parts: &Parts<'_>) -> Named {
        let own = self.overrides.get(mapping);
        let direction = own.and_then(|o| o.direction).unwrap_or(self.direction);
        let (rel_type, mut because) = match own.and_then(|o| o.rel_type.clone()) {
            Some(rel_type) => (rel_type, format!("type from [init.relationships.overrides] \"{mapping}\"")),
            None => {
                let filled = self
                    .template
                    .replace("{column}", &parts.column)
                    .replace("{from}", &upper_snake(parts.from))
                    .replace("{to}", &upper_snake(parts.to))
                    .replace("{table}", &upper_snake(parts.table));
                // A template that leaves nothing a graph can name falls back to the column.
                let rel_type = if check_name(NameKind::RelationshipType, &filled).is_ok() && !filled.is_empty() {
                    filled
                } else {
                    parts.column.clone()
                };
                (rel_type, format!("type from [init.relationships] type = \"{}\"", self.template))
            }
        };
        if direction == Direction::Incoming {
            let whose = if own.and_then(|o| o.direction).is_some() { "its override" } else { "the rule" };
            let _ = write!(because, "; pointing against the foreign key (direction = \"incoming\", by {whose})");
        }
        Named { rel_type, direction, because }
    }

    /// Overrides naming no relationship `init` generated (`names`): most likely misspelt.
    pub(crate) fn unused_overrides<'a>(&'a self, names: &[String]) -> Vec<&'a str> {
        self.overrides.keys().filter(|name| !names.contains(name)).map(String::as_str).collect()
    }

    /// The section as `init` writes it, with comments.
    pub(crate) fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "[init.relationships]");
        let _ = writeln!(
            out,
            "# How `grafter init --force` names and directs the relationships when it generates this file"
        );
        let _ = writeln!(
            out,
            "# again: placeholders {{column}} (the foreign key column without its id), {{from}}, {{to}}, {{table}};"
        );
        let _ = writeln!(
            out,
            "# direction \"outgoing\" (as the foreign key points) or \"incoming\"; overrides by mapping name."
        );
        let _ = writeln!(out, "type = {}", toml_string(&self.template));
        let direction = match self.direction {
            Direction::Outgoing => "outgoing",
            Direction::Incoming => "incoming",
        };
        let _ = writeln!(out, "direction = \"{direction}\"");
        if !self.overrides.is_empty() {
            let _ = writeln!(out, "\n[init.relationships.overrides]");
            for (name, own) in &self.overrides {
                let mut fields = Vec::new();
                if let Some(rel_type) = &own.rel_type {
                    fields.push(format!("type = {}", toml_string(rel_type)));
                }
                if let Some(direction) = own.direction {
                    let direction = if direction == Direction::Incoming { "incoming" } else { "outgoing" };
                    fields.push(format!("direction = \"{direction}\""));
                }
                let _ = writeln!(out, "{} = {{ {} }}", toml_string(name), fields.join(", "));
            }
        }
        out
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>() -> Parts<'a> {
        Parts { column: "SUPPORT_REP".into(), from: "Customer", to: "Employee", table: "Customer" }
    }

    #[test]
    fn a_template_fills_its_placeholders_and_an_override_wins() {
        let naming: RelationshipNaming = toml::from_str(
            "type = \"{from}_{column}_OF_{to}\"\n[overrides]\n\"Customer.SupportRepId\" = { type = \"SERVED_BY\", direction = \"incoming\" }\n",
        )
        .expect("parses");
        naming.check().expect("valid");
        let by_rule = naming.name("Invoice.CustomerId", &parts());
        assert_eq!(
            (by_rule.rel_type.as_str(), by_rule.direction),
            ("CUSTOMER_SUPPORT_REP_OF_EMPLOYEE", Direction::Outgoing)
        );
        assert_eq!(by_rule.because, "type from [init.relationships] type = \"{from}_{column}_OF_{to}\"");
        let own = naming.name("Customer.SupportRepId", &parts());
        assert_eq!((own.rel_type.as_str(), own.direction), ("SERVED_BY", Direction::Incoming));
        assert!(own.because.ends_with("(direction = \"incoming\", by its override)"), "{}", own.because);
        assert_eq!(naming.unused_overrides(&["Invoice.CustomerId".into()]), ["Customer.SupportRepId"]);
        // What init writes parses back to the same rules.
        #[derive(Deserialize)]
        struct File {
            init: InitConfig,
        }
        let written: File = toml::from_str(&naming.to_toml()).expect("parses");
        assert_eq!(written.init.relationships, naming);
    }

    #[test]
    fn an_unknown_placeholder_or_an_unusable_type_is_refused() {
        let naming = RelationshipNaming { template: "HAS_{target}".into(), ..RelationshipNaming::default() };
        let error = naming.check().expect_err("unknown");
        assert!(error.contains("unknown placeholder `{target}`"), "{error}");
        let mut naming = RelationshipNaming::default();
        naming.overrides.insert("a.b".into(), Override { rel_type: Some("_grafter_x".into()), direction: None });
        assert!(naming.check().expect_err("reserved").contains("\"a.b\""));
    }
}
