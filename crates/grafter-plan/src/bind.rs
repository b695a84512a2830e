//! Binding a [`Mapping`] to the columns its read actually has: which columns to scan, which
//! property each becomes, and every expression compiled against column positions.
//!
//! This is the second half of checking a config. It needs the source's column list, which
//! the engine fetches and hands in; binding itself is still pure. An unknown column is an
//! error naming the mapping, the column and the nearest existing one.

use grafter_model::{NameKind, check_name, usable_name};

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
}

/// Binds `mapping` to a read with `columns`.
pub fn bind(mapping: &Mapping, columns: &[String]) -> Result<BoundMapping, PlanError> {
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
    let mut properties: Vec<(String, Expr)> = Vec::new();
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
        properties.push((name, Expr::column(column)));
    }
    for (name, expr) in &spec.transform {
        match properties.iter_mut().find(|(existing, _)| existing == name) {
            Some(slot) => slot.1 = expr.clone(),
            None => properties.push((name.clone(), expr.clone())),
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
            properties.iter().position(|(p, _)| p == name).ok_or_else(|| {
                fail(
                    format!("key property `{name}` is not one of its properties"),
                    Some(format!(
                        "properties: {}; a key must be a copied column or a transform",
                        properties.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Scan exactly the columns some expression reads, in first-use order.
    let mut scan_columns: Vec<String> = Vec::new();
    let endpoint_exprs = start.iter().chain(end.iter()).flat_map(|e| e.key.iter());
    for expr in properties.iter().map(|(_, e)| e).chain(endpoint_exprs) {
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
        .iter()
        .map(|(name, expr)| {
            Ok(BoundProperty { name: name.clone(), expr: compile(expr, &format!("property `{name}`"))? })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    let endpoint = |spec: Option<&crate::plan::EndpointSpec>, what: &str| -> Result<Vec<Compiled>, PlanError> {
        spec.map(|s| s.key.iter().map(|e| compile(e, what)).collect()).unwrap_or(Ok(Vec::new()))
    };
    let start_key = endpoint(start, "start key")?;
    let end_key = endpoint(end, "end key")?;
    // A bare column in an endpoint key is a reference: NULL there means "no relationship",
    // unless the mapping says a NULL is a broken reference (then the row is rejected).
    let skip_null = if !skip_null_references {
        Vec::new()
    } else {
        start_key.iter().chain(&end_key).filter_map(|c| c.as_column().map(|i| scan_columns[i].clone())).fold(
            Vec::new(),
            |mut acc, c| {
                if !acc.contains(&c) {
                    acc.push(c);
                }
                acc
            },
        )
    };
    Ok(BoundMapping { scan_columns, properties, key, start_key, end_key, skip_null })
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
