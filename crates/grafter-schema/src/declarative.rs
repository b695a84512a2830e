//! Declarative refactorings (`V0002__rename_label.toml`), each compiled to Cypher with its
//! inverse and a verification generated for it.
//!
//! ```toml
//! requires = ["V0001"]          # optional
//!
//! [[refactor]]
//! op = "rename_label"
//! from = "Person"
//! to = "Customer"
//! ```
//!
//! The `down` section is the inverses in reverse order; a refactoring without an exact
//! inverse (`remove_property`) makes the whole migration one-way, and `down` refuses it.
//! Names are checked and backtick-quoted; values travel as parameters.

use std::path::Path;

use grafter_model::{NameKind, Value, check_name, quote_name};
use grafter_target::{Dialect, PropertySchema, SchemaKind};

use crate::merge::MergeStep;
use crate::migration::{Kind, Migration, Version, parse_requires};
use crate::statement::{Statement, Step, TransformStep};
use crate::{SchemaError, checksum};

/// A `.toml` migration file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Versions that must be applied first.
    #[serde(default)]
    requires: Vec<String>,
    /// Rows per batch for `transform_property`.
    batch_size: Option<usize>,
    /// The refactorings, applied in order.
    #[serde(default)]
    refactor: Vec<Refactor>,
}

/// One refactoring.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Refactor {
    /// Sets `property` to `default` on every `label` node that lacks it; down removes it.
    AddProperty { label: String, property: String, default: toml::Value },
    /// Removes `property` from every `label` node (one-way: the values are gone).
    RemoveProperty { label: String, property: String },
    /// Renames a property of `label` nodes.
    RenameProperty { label: String, from: String, to: String },
    /// Renames a label.
    RenameLabel { from: String, to: String },
    /// Adds label `add` to every `label` node; down removes it.
    AddLabel { label: String, add: String },
    /// Changes the type of `from` relationships from `start` nodes to `end` nodes to `to`,
    /// keeping their properties.
    ChangeRelationshipType { from: String, to: String, start: String, end: String, properties: Vec<String> },
    /// Creates an index on `label`.`property`, named `name` where the target names indexes
    /// (FalkorDB does not); down drops it.
    CreateIndex { name: String, label: String, property: String },
    /// Drops the index `name` on `label`.`property`; down creates it again.
    DropIndex { name: String, label: String, property: String },
    /// Creates a uniqueness constraint `name` on `label`.`property` (FalkorDB: with the index
    /// it needs, which down leaves); down drops it.
    CreateUniqueConstraint { name: String, label: String, property: String },
    /// Drops the uniqueness constraint `name` on `label`.`property`; down creates it again.
    DropUniqueConstraint { name: String, label: String, property: String },
    /// Merges `label` nodes that share `key` into one (one-way).
    MergeDuplicateNodes { label: String, key: Vec<String> },
    /// Replaces `property` of `label` nodes with `expression` (transform language, reading
    /// the node's properties), keeping the old value in `<property>_old` so down restores it.
    TransformProperty { label: String, property: String, expression: String },
}

fn name(path: &Path, kind: NameKind, text: &str) -> Result<String, SchemaError> {
    check_name(kind, text).map_err(|e| SchemaError::File {
        file: path.display().to_string(),
        line: None,
        message: e.to_string(),
        hint: "labels, types and properties are plain names; `_Grafter…` labels are grafter's own".into(),
    })?;
    Ok(quote_name(text))
}

fn value(path: &Path, value: &toml::Value) -> Result<Value, SchemaError> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        other => {
            return Err(SchemaError::File {
                file: path.display().to_string(),
                line: None,
                message: format!("`default = {other}`: only strings, integers, floats and booleans can be defaults"),
                hint: "write the default as a plain value".into(),
            });
        }
    })
}

/// The Cypher a refactoring compiles to.
struct Compiled {
    up: Vec<Statement>,
    /// `None` when it has no exact inverse.
    down: Option<Vec<Statement>>,
    verify: Vec<Statement>,
}

fn cypher(text: String) -> Statement {
    Statement::new(text, 0)
}

/// An index or constraint created (or dropped) in the target's dialect, with the opposite as
/// its inverse. Verified where the dialect can ask the server what exists (FalkorDB);
/// elsewhere the statement's own success is the proof.
fn schema_change(dialect: Dialect, creates: bool, schema: &PropertySchema) -> Compiled {
    let (create, drop) = (dialect.create(schema), dialect.drop(schema));
    let steps = |run: &[grafter_target::Ddl], undo: &[grafter_target::Ddl]| -> Vec<Statement> {
        run.iter()
            .map(|ddl| {
                let mut statement = cypher(ddl.to_string());
                statement.step = Some(Step::Ddl { run: ddl.clone(), undo: undo.to_vec() });
                statement
            })
            .collect()
    };
    let (create, drop) = (steps(&create, &drop), steps(&drop, &create));
    let (up, down) = if creates { (create, drop) } else { (drop, create) };
    let mut verify: Vec<Statement> = dialect
        .exists_query(schema, creates)
        .map(|(query, params)| Statement { params, ..cypher(query) })
        .into_iter()
        .collect();
    if creates && schema.kind == SchemaKind::Unique {
        // Some stores (the embedded one) accept a constraint the data already breaks.
        let (l, p) = (quote_name(&schema.label), quote_name(&schema.property));
        verify.push(cypher(format!(
            "MATCH (n:{l}) WHERE n.{p} IS NOT NULL WITH n.{p} AS shared, count(*) AS nodes WHERE nodes > 1 RETURN shared, nodes LIMIT 3"
        )));
    }
    Compiled { up, down: Some(down), verify }
}

fn compile(path: &Path, dialect: Dialect, refactor: &Refactor) -> Result<Compiled, SchemaError> {
    use NameKind::{Label, Property, RelationshipType};
    let label = |t: &str| name(path, Label, t);
    let property = |t: &str| name(path, Property, t);
    Ok(match refactor {
        Refactor::AddProperty { label: l, property: p, default } => {
            let (l, p) = (label(l)?, property(p)?);
            let mut up = Statement::batchable(
                &format!("MATCH (n:{l}) WHERE n.{p} IS NULL"),
                "n",
                &format!("SET n.{p} = $default"),
            );
            up.params.push(("default".into(), value(path, default)?));
            Compiled {
                up: vec![up],
                down: Some(vec![Statement::batchable(
                    &format!("MATCH (n:{l}) WHERE n.{p} IS NOT NULL"),
                    "n",
                    &format!("SET n.{p} = null"),
                )]),
                verify: vec![cypher(format!("MATCH (n:{l}) WHERE n.{p} IS NULL RETURN n.{p} AS missing LIMIT 3"))],
            }
        }
        Refactor::RemoveProperty { label: l, property: p } => {
            let (l, p) = (label(l)?, property(p)?);
            Compiled {
                up: vec![Statement::batchable(
                    &format!("MATCH (n:{l}) WHERE n.{p} IS NOT NULL"),
                    "n",
                    &format!("SET n.{p} = null"),
                )],
                down: None,
                verify: vec![cypher(format!("MATCH (n:{l}) WHERE n.{p} IS NOT NULL RETURN n.{p} AS left LIMIT 3"))],
            }
        }
        Refactor::RenameProperty { label: l, from, to } => {
            let (l, from, to) = (label(l)?, property(from)?, property(to)?);
            let rename = |a: &str, b: &str| {
                Statement::batchable(
                    &format!("MATCH (n:{l}) WHERE n.{a} IS NOT NULL"),
                    "n",
                    &format!("SET n.{b} = n.{a}, n.{a} = null"),
                )
            };
            Compiled {
                up: vec![rename(&from, &to)],
                down: Some(vec![rename(&to, &from)]),
                verify: vec![cypher(format!(
                    "MATCH (n:{l}) WHERE n.{from} IS NOT NULL RETURN n.{from} AS left LIMIT 3"
                ))],
            }
        }
        Refactor::RenameLabel { from, to } => {
            let (from, to) = (label(from)?, label(to)?);
            let rename = |a: &str, b: &str| {
                Statement::batchable(&format!("MATCH (n:{a})"), "n", &format!("SET n:{b} REMOVE n:{a}"))
            };
            Compiled {
                up: vec![rename(&from, &to)],
                down: Some(vec![rename(&to, &from)]),
                verify: vec![cypher(format!("MATCH (n:{from}) RETURN count(n) = 0 AS valid"))],
            }
        }
        Refactor::AddLabel { label: l, add } => {
            let (l, add) = (label(l)?, label(add)?);
            Compiled {
                up: vec![Statement::batchable(
                    &format!("MATCH (n:{l}) WHERE NOT n:{add}"),
                    "n",
                    &format!("SET n:{add}"),
                )],
                down: Some(vec![Statement::batchable(&format!("MATCH (n:{add})"), "n", &format!("REMOVE n:{add}"))]),
                verify: vec![cypher(format!("MATCH (n:{l}) WHERE NOT n:{add} RETURN count(n) = 0 AS valid"))],
            }
        }
        Refactor::ChangeRelationshipType { from, to, start, end, properties } => {
            let (from, to) = (name(path, RelationshipType, from)?, name(path, RelationshipType, to)?);
            let (start, end) = (label(start)?, label(end)?);
            let copied = properties.iter().map(|p| property(p)).collect::<Result<Vec<_>, _>>()?;
            let change = |a: &str, b: &str| {
                let props: Vec<String> = copied.iter().map(|p| format!("{p}: r.{p}")).collect();
                vec![Statement::batchable(
                    &format!("MATCH (s:{start})-[r:{a}]->(e:{end})"),
                    "s, r, e",
                    &format!("CREATE (s)-[:{b} {{{}}}]->(e) DELETE r", props.join(", ")),
                )]
            };
            Compiled {
                up: change(&from, &to),
                down: Some(change(&to, &from)),
                verify: vec![cypher(format!("MATCH (:{start})-[r:{from}]->(:{end}) RETURN count(r) = 0 AS valid"))],
            }
        }
        Refactor::CreateIndex { name: index, label: l, property: p }
        | Refactor::DropIndex { name: index, label: l, property: p }
        | Refactor::CreateUniqueConstraint { name: index, label: l, property: p }
        | Refactor::DropUniqueConstraint { name: index, label: l, property: p } => {
            // Checked here; the dialect quotes them (or passes them as command arguments).
            name(path, Property, index)?;
            label(l)?;
            property(p)?;
            let kind = match refactor {
                Refactor::CreateIndex { .. } | Refactor::DropIndex { .. } => SchemaKind::Index,
                _ => SchemaKind::Unique,
            };
            let creates = matches!(refactor, Refactor::CreateIndex { .. } | Refactor::CreateUniqueConstraint { .. });
            let schema = PropertySchema { kind, name: index.clone(), label: l.clone(), property: p.clone() };
            schema_change(dialect, creates, &schema)
        }
        Refactor::MergeDuplicateNodes { label: raw_label, key } => {
            let l = label(raw_label)?;
            let keys = key.iter().map(|k| property(k)).collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(SchemaError::File {
                    file: path.display().to_string(),
                    line: None,
                    message: "merge_duplicate_nodes needs a `key`".into(),
                    hint: "name the properties that make two nodes the same: key = [\"uuid\"]".into(),
                });
            }
            let step = MergeStep { label: raw_label.clone(), key: key.clone() };
            let set: Vec<String> = keys.iter().map(|k| format!("d.{k} IS NOT NULL")).collect();
            let group: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("d.{k} AS k{i}")).collect();
            // What it amounts to, shown by dry runs and counted for them; grafter first moves
            // each duplicate's relationships and missing properties to the survivor.
            let mut up = cypher(format!(
                "MATCH (d:{l}) WHERE {} WITH {}, collect(d) AS same WHERE size(same) > 1 UNWIND tail(same) AS d DETACH DELETE d",
                set.join(" AND "),
                group.join(", ")
            ));
            up.step = Some(Step::Merge(step.clone()));
            let mut verify = cypher(crate::merge::groups_query(&step));
            verify.params.push(("batch".into(), Value::Int(3)));
            Compiled { up: vec![up], down: None, verify: vec![verify] }
        }
        Refactor::TransformProperty { label: raw_label, property: raw_property, expression } => {
            grafter_plan::transform::parse(expression).map_err(|e| SchemaError::File {
                file: path.display().to_string(),
                line: None,
                message: format!("transform_property `{expression}`: {e}"),
                hint:
                    "the expression uses the transform language of grafter.toml, reading the node's properties by name"
                        .into(),
            })?;
            let (l, p) = (label(raw_label)?, property(raw_property)?);
            let old = property(&crate::transform::old_property(raw_property))?;
            let mut up = cypher(format!(
                "MATCH (n:{l}) WHERE n.{p} IS NOT NULL AND n.{old} IS NULL SET n.{old} = n.{p}, n.{p} = transform({expression})"
            ));
            up.step = Some(Step::Transform(TransformStep {
                label: raw_label.clone(),
                property: raw_property.clone(),
                expression: expression.clone(),
            }));
            let step = up.step.clone();
            Compiled {
                up: vec![up],
                down: Some(vec![Statement::batchable(
                    &format!("MATCH (n:{l}) WHERE n.{old} IS NOT NULL"),
                    "n",
                    &format!("SET n.{p} = n.{old}, n.{old} = null"),
                )]),
                verify: vec![{
                    // Marked as the transform's: `finalize` removes the old values it checks.
                    let mut check = cypher(format!(
                        "MATCH (n:{l}) WHERE n.{p} IS NOT NULL AND n.{old} IS NULL RETURN n.{p} AS not_transformed LIMIT 3"
                    ));
                    check.step = step.clone();
                    check
                }],
            }
        }
    })
}

/// Reads a `.toml` migration and compiles its refactorings to `dialect`.
pub fn parse(
    path: &Path,
    dialect: Dialect,
    version: Version,
    description: String,
    text: &str,
) -> Result<Migration, SchemaError> {
    let file: File = toml::from_str(text).map_err(|e| SchemaError::File {
        file: path.display().to_string(),
        line: e.span().map(|span| text[..span.start].matches('\n').count() + 1),
        message: e.message().to_owned(),
        hint: "each [[refactor]] has an `op` (add_property, remove_property, rename_property, rename_label, add_label, change_relationship_type, create_index, drop_index, create_unique_constraint, drop_unique_constraint, transform_property, merge_duplicate_nodes) and that op's fields".into(),
    })?;
    if file.refactor.is_empty() {
        return Err(SchemaError::File {
            file: path.display().to_string(),
            line: None,
            message: "no [[refactor]] entries".into(),
            hint: "add at least one, e.g. [[refactor]] op = \"rename_label\" from = \"A\" to = \"B\"".into(),
        });
    }
    let requires = parse_requires(path, None, &file.requires.join(","))?;
    let (mut up, mut downs, mut verify, mut reversible) = (Vec::new(), Vec::new(), Vec::new(), true);
    for refactor in &file.refactor {
        let compiled = compile(path, dialect, refactor)?;
        up.extend(compiled.up);
        verify.extend(compiled.verify);
        match compiled.down {
            Some(down) => downs.push(down),
            None => reversible = false,
        }
    }
    let down = if reversible { downs.into_iter().rev().flatten().collect() } else { Vec::new() };
    Ok(Migration {
        version,
        description,
        path: path.to_path_buf(),
        kind: Kind::Toml,
        requires,
        up,
        down,
        verify,
        batch_size: file.batch_size,
        checksum: checksum::checksum(text),
        source: checksum::normalise(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> Result<Migration, SchemaError> {
        parse(Path::new("V0002__x.toml"), Dialect::Neo4j, Version(2), "x".into(), text)
    }

    #[test]
    fn inverses_run_in_reverse_order() {
        let m = compile_text(
            "requires = [\"V0001\"]\n[[refactor]]\nop = \"rename_label\"\nfrom = \"A\"\nto = \"B\"\n\n[[refactor]]\nop = \"add_property\"\nlabel = \"B\"\nproperty = \"status\"\ndefault = \"active\"\n",
        )
        .unwrap();
        assert_eq!(m.requires, vec![Version(1)]);
        assert_eq!(m.up[0].text, "MATCH (n:`A`) SET n:`B` REMOVE n:`A`");
        assert_eq!(m.up[1].params, vec![("default".to_owned(), Value::String("active".into()))]);
        assert_eq!(m.down[0].text, "MATCH (n:`B`) WHERE n.`status` IS NOT NULL SET n.`status` = null");
        assert_eq!(
            m.down[0].batched.as_deref(),
            Some(
                "MATCH (n:`B`) WHERE n.`status` IS NOT NULL WITH n LIMIT $batch SET n.`status` = null RETURN count(*) AS done"
            )
        );
        assert_eq!(m.down[1].text, "MATCH (n:`B`) SET n:`A` REMOVE n:`B`");
        assert_eq!(m.verify.len(), 2);
    }

    #[test]
    fn a_one_way_refactoring_leaves_no_down() {
        let m = compile_text("[[refactor]]\nop = \"remove_property\"\nlabel = \"A\"\nproperty = \"x\"\n").unwrap();
        assert!(m.down.is_empty());
        assert!(m.is_destructive());
    }

    #[test]
    fn mistakes_name_the_line() {
        let error =
            compile_text("[[refactor]]\nop = \"rename_label\"\nfrom = \"A\"\ntoo = \"B\"\n").unwrap_err().to_string();
        assert!(error.starts_with("V0002__x.toml:"), "{error}");
        assert!(error.contains("too"), "{error}");
        let error = compile_text("[[refactor]]\nop = \"rename_label\"\nfrom = \"_GrafterRun\"\nto = \"B\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("reserved"), "{error}");
    }
}
