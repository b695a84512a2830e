//! Binding a [`Mapping`] to the columns its read actually has: which columns to scan, which
//! property each becomes, and every expression compiled against column positions.
//!
//! This is the second half of checking a config. It needs the source's column list, which
//! the engine fetches and hands in; binding itself is still pure. An unknown column is an
//! error naming the mapping, the column and the nearest existing one. Cast rules apply
//! here: a copied column (and a bare column in an endpoint key, so that a relationship finds
//! nodes whose key was cast the same way) a rule matches is read through `cast()`.

use grafter_model::{Column, NameKind, TypePolicy, check_name, usable_name};

use crate::casts::{CastMatch, CastRule, Decision, decide};
use crate::config::NullReference;
use crate::plan::{Mapping, MappingKind, PlanError};
use crate::transform::{BindError, Compiled, Expr};

/// A property and how to compute it from a scanned row.
#[derive(Debug, Clone)]
pub struct BoundProperty {
    /// The property name.
    pub name: String,
    /// Its value, from the scanned row.
    pub expr: Compiled,
    /// Where it comes from.
    pub origin: PropertyOrigin,
}

/// Where a property's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyOrigin {
    /// A copied column, and how its graph type was decided.
    Column {
        /// The column.
        column: String,
        /// Its source type, graph type and deciding rule.
        decision: Decision,
    },
    /// A transform (`{ property = "expression" }`).
    Transform,
}

/// A mapping ready to run against rows of `scan_columns`.
#[derive(Debug, Clone)]
pub struct BoundMapping {
    /// Columns to ask the source for, in this order; every expression indexes into them.
    pub scan_columns: Vec<String>,
    /// Properties written, in order.
    pub properties: Vec<BoundProperty>,
    /// Positions in `properties` of the node key (nodes) or the relationship key.
    pub key: Vec<usize>,
    /// Relationships: the start node's key values.
    pub start_key: Vec<Compiled>,
    /// Relationships: the end node's key values.
    pub end_key: Vec<Compiled>,
    /// Columns whose NULL means "no relationship": rows with a NULL there are not read.
    pub skip_null: Vec<String>,
    /// Positions (in the plan's rules) of the cast rules applied.
    pub casts_applied: Vec<usize>,
}

/// Binds `mapping` to a read with `described` columns, applying `casts` and saying how
/// `policy` (`[source.types]`) decides the rest.
pub fn bind(
    mapping: &Mapping,
    described: &[Column],
    casts: &[CastRule],
    policy: &TypePolicy,
) -> Result<BoundMapping, PlanError> {
    let columns: Vec<String> = described.iter().map(|c| c.name.clone()).collect();
    let columns = columns.as_slice();
    let fail = |message: String, hint: Option<String>| PlanError {
        location: mapping.location.clone(),
        message: format!("mapping `{}`: {message}", mapping.name),
        hint,
    };
    let unknown_column = |column: &str, role: &str| {
        let suggestion = crate::suggest(column, columns.iter().map(String::as_str));
        fail(
            format!("{role} `{column}` is not a column of {}", read_text(mapping)),
            Some(match suggestion {
                Some(near) => format!("did you mean `{near}`? Columns: {}", columns.join(", ")),
                None => format!("columns: {}", columns.join(", ")),
            }),
        )
    };

    let read = mapping.read_name();
    for rule in casts {
        if let CastMatch::Column { read: r, column } = &rule.matcher
            && r == read
            && !columns.contains(column)
        {
            let suggestion = crate::suggest(column, columns.iter().map(String::as_str));
            return Err(PlanError {
                location: rule.location.clone(),
                message: format!("cast rule: `{column}` is not a column of {}", read_text(mapping)),
                hint: Some(match suggestion {
                    Some(near) => format!("did you mean `{read}.{near}`? Columns: {}", columns.join(", ")),
                    None => format!("columns: {}", columns.join(", ")),
                }),
            });
        }
    }
    let decide_column = |name: &str| -> Option<Decision> {
        described.iter().find(|c| c.name == name).map(|column| decide(casts, policy, read, column))
    };
    let mut casts_applied: Vec<usize> = Vec::new();
    let mut cast_column = |name: &str, decision: &Decision| -> Expr {
        match decision.cast {
            Some(index) => {
                if !casts_applied.contains(&index) {
                    casts_applied.push(index);
                }
                Expr::column(name).cast(casts[index].to)
            }
            None => Expr::column(name),
        }
    };

    let spec = &mapping.properties;
    for column in spec.exclude.iter().chain(spec.rename.keys()) {
        if !columns.contains(column) {
            return Err(unknown_column(column, "column"));
        }
    }
    let copied: Vec<String> = match &spec.columns {
        Some(listed) => {
            for column in listed {
                if !columns.contains(column) {
                    return Err(unknown_column(column, "column"));
                }
            }
            listed.clone()
        }
        None => columns.to_vec(),
    };

    // Property name → expression, in order: copied columns first, then transforms (which
    // replace a copied column's property of the same name in place).
    let mut properties: Vec<(String, Expr, PropertyOrigin)> = Vec::new();
    for column in copied.iter().filter(|c| !spec.exclude.contains(c)) {
        let name = spec.rename.get(column).cloned().unwrap_or_else(|| column.clone());
        check_name(NameKind::Property, &name).map_err(|e| {
            let hint = format!(
                "column `{column}` becomes a property of that name: rename it (`rename = {{ {} = {} }}`, or a \
                 transform of another name), or leave it out (`exclude = [{}]`)",
                toml_string(column),
                toml_string(&usable_name(&name)),
                toml_string(column)
            );
            fail(format!("column `{column}`: {e}"), Some(hint))
        })?;
        let decision = decide_column(column).expect("copied columns are columns of the read");
        let expr = cast_column(column, &decision);
        properties.push((name, expr, PropertyOrigin::Column { column: column.clone(), decision }));
    }
    for (name, expr) in &spec.transform {
        match properties.iter_mut().find(|(existing, ..)| existing == name) {
            Some(slot) => {
                slot.1 = expr.clone();
                slot.2 = PropertyOrigin::Transform;
            }
            None => properties.push((name.clone(), expr.clone(), PropertyOrigin::Transform)),
        }
    }

    let (key_names, start, end, skip_null_references) = match &mapping.kind {
        MappingKind::Node { key, .. } => (key.clone(), None, None, false),
        MappingKind::Relationship { key, start, end, null_reference, .. } => {
            (key.clone(), Some(start), Some(end), *null_reference == NullReference::Skip)
        }
    };
    let key = key_names
        .iter()
        .map(|name| {
            properties.iter().position(|(p, ..)| p == name).ok_or_else(|| {
                fail(
                    format!("key property `{name}` is not one of its properties"),
                    Some(format!(
                        "properties: {}; a key must be a copied column or a transform",
                        properties.iter().map(|(p, ..)| p.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    // A bare column in an endpoint key is a reference: NULL there means "no relationship",
    // unless the mapping says a NULL is a broken reference (then the row is rejected).
    let mut skip_null: Vec<String> = Vec::new();
    if skip_null_references {
        for column in start.iter().chain(end.iter()).flat_map(|e| e.key.iter()).filter_map(Expr::as_column) {
            if !skip_null.iter().any(|c| c == column) {
                skip_null.push(column.to_owned());
            }
        }
    }
    // Bare columns in endpoint keys are cast as the node keys they match were.
    let mut endpoint_exprs = |spec: Option<&crate::plan::EndpointSpec>| -> Vec<Expr> {
        spec.map(|s| {
            s.key
                .iter()
                .map(|expr| match expr.as_column().and_then(|c| Some((c, decide_column(c)?))) {
                    Some((column, decision)) => cast_column(column, &decision),
                    None => expr.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let start_exprs = endpoint_exprs(start);
    let end_exprs = endpoint_exprs(end);

    // Scan exactly the columns some expression reads, in first-use order.
    let mut scan_columns: Vec<String> = Vec::new();
    for expr in properties.iter().map(|(_, e, _)| e).chain(&start_exprs).chain(&end_exprs) {
        for column in expr.columns() {
            if !columns.contains(&column) {
                return Err(unknown_column(&column, "column"));
            }
            if !scan_columns.contains(&column) {
                scan_columns.push(column);
            }
        }
    }
    let compile = |expr: &Expr, what: &str| -> Result<Compiled, PlanError> {
        expr.bind(&scan_columns).map_err(|e| match e {
            BindError::UnknownColumn { column, .. } => unknown_column(&column, what),
            other => fail(format!("{what}: {other}"), None),
        })
    };
    let properties = properties
        .into_iter()
        .map(|(name, expr, origin)| {
            let expr = compile(&expr, &format!("property `{name}`"))?;
            Ok(BoundProperty { name, expr, origin })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    let compile_all =
        |exprs: &[Expr], what: &str| exprs.iter().map(|e| compile(e, what)).collect::<Result<Vec<_>, _>>();
    let start_key = compile_all(&start_exprs, "start key")?;
    let end_key = compile_all(&end_exprs, "end key")?;
    Ok(BoundMapping { scan_columns, properties, key, start_key, end_key, skip_null, casts_applied })
}

/// `text` as a TOML string, for hints the user can paste.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn read_text(mapping: &Mapping) -> String {
    match &mapping.read {
        crate::plan::ReadSpec::Table(table) => format!("table `{table}`"),
        crate::plan::ReadSpec::Query(_) => "its query".into(),
    }
}
