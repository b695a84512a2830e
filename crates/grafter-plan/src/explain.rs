//! What `grafter plan` shows: an [`Explanation`] of a [`Plan`] (serialisable, for
//! `--format json`) and its text rendering ([`render_text`]).
//!
//! When the engine could read the source, the explanation lists each mapping's exact
//! properties (from [`BoundMapping`]s); otherwise it says what the config asks for. With the
//! source's [`Catalog`], it also warns about mappings whose reads overlap through PostgreSQL
//! table inheritance: a parent's scan returns its children's rows, so a mapping reading the
//! parent and another reading a child read those rows twice.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use grafter_model::{Catalog, redact_url};
use serde::Serialize;

use crate::{BoundMapping, Mapping, MappingKind, Plan, PropertyOrigin, ReadSpec};

/// A whole plan, explained.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The config file.
    pub config: String,
    /// Source URL, password redacted.
    pub source: String,
    /// Target URL, password redacted.
    pub target: String,
    /// Rows per batch.
    pub batch_size: usize,
    /// Where rejected rows go.
    pub reject_file: String,
    /// Reject limit.
    pub max_rejects: Option<u64>,
    /// Number of stages.
    pub stages: usize,
    /// Mappings in load order.
    pub mappings: Vec<MappingExplanation>,
    /// Each label's key, which the run holds unique (a uniqueness constraint where the target
    /// has them, see `key_guard`), and verify checks.
    pub keys: Vec<LabelKey>,
    /// How the target holds keys unique, in words (the caller fills it in from the target's
    /// URL; `None` when it did not).
    pub key_guard: Option<String>,
    /// The source's tables and views no mapping reads (with the source's catalog).
    pub not_mapped: Vec<NotMapped>,
    /// The cast rules (`[[casts]]`), in file order, as `plan` shows them.
    pub casts: Vec<String>,
    /// Things about the whole config a person should look at (a cast rule matching no
    /// column).
    pub warnings: Vec<String>,
}

/// A table or view of the source no mapping reads.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotMapped {
    /// `table` or `view`.
    pub kind: &'static str,
    /// Its name, as the catalog gives it.
    pub name: String,
}

/// A label and the properties that identify its nodes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LabelKey {
    /// The label.
    pub label: String,
    /// Its key properties.
    pub properties: Vec<String>,
}

/// What one property's values are: for a copied column, its source type, graph type and the
/// rule that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyType {
    /// The property.
    pub property: String,
    /// The column it copies; `None` for a transform.
    pub column: Option<String>,
    /// The column's type in the source (as declared, else grafter's logical type).
    pub source_type: Option<String>,
    /// What the values become in the graph (`computed` for a transform).
    pub graph_type: String,
    /// The cast rule or `[source.types]` setting that decided it; `None` when the source
    /// type has one exact graph type (and for transforms).
    pub rule: Option<String>,
}

/// One mapping, explained.
#[derive(Debug, Clone, Serialize)]
pub struct MappingExplanation {
    /// 1-based position in the load order.
    pub order: usize,
    /// Stage (mappings of one stage may run at the same time).
    pub stage: usize,
    /// Name.
    pub name: String,
    /// `node` or `relationship`.
    pub kind: &'static str,
    /// What it reads, in words.
    pub reads: String,
    /// The table, or the query's text.
    pub read: ReadSpec,
    /// The pattern it creates, e.g. `(:Album)` or `(:Album)-[:ARTIST]->(:Artist)`.
    pub creates: String,
    /// Key properties (nodes) or relationship key properties.
    pub key: Vec<String>,
    /// Properties written (exact when the source was read, else what the config says).
    pub properties: Vec<String>,
    /// Each property's types (when the source was read).
    pub types: Vec<PropertyType>,
    /// How the start node is found (relationships).
    pub start: Option<String>,
    /// How the end node is found (relationships).
    pub end: Option<String>,
    /// Columns whose NULL means "no relationship": such rows are not read.
    pub skips_rows_where_null: Vec<String>,
    /// Whether it forms a hierarchy.
    pub hierarchy: bool,
    /// The config's description.
    pub description: Option<String>,
    /// Mappings that finish before it starts.
    pub after: Vec<String>,
    /// Why it sits where it does.
    pub why_here: Vec<String>,
    /// Things a person should look at.
    pub warnings: Vec<String>,
    /// How `grafter sync` follows the mapping's changes, if it does.
    pub sync: Option<String>,
    /// The column that marks rows deleted: such rows are not loaded.
    pub soft_delete: Option<String>,
}

/// Explains `plan`; `bound` holds the bound form of each mapping the source could describe,
/// `catalog` the source's tables when it could describe them.
pub fn explain(plan: &Plan, bound: &BTreeMap<String, BoundMapping>, catalog: Option<&Catalog>) -> Explanation {
    let mut overlaps = catalog.map(|catalog| inherited_reads(plan, catalog)).unwrap_or_default();
    Explanation {
        config: plan.config_path.display().to_string(),
        source: redact_url(&plan.source_url),
        target: redact_url(&plan.target_url),
        batch_size: plan.run.batch_size,
        reject_file: plan.run.reject_file.display().to_string(),
        max_rejects: plan.run.max_rejects,
        stages: plan.stage_count(),
        mappings: plan
            .mappings
            .iter()
            .enumerate()
            .map(|(index, mapping)| {
                let mut explained = explain_mapping(index + 1, mapping, bound.get(&mapping.name));
                explained.warnings.extend(overlaps.remove(&mapping.name).unwrap_or_default());
                explained
            })
            .collect(),
        keys: label_keys(plan),
        not_mapped: catalog.map(|catalog| not_mapped(plan, catalog)).unwrap_or_default(),
        key_guard: None,
        casts: plan.casts.iter().map(crate::CastRule::describe).collect(),
        warnings: unused_casts(plan, bound),
    }
}

/// Each label the node mappings create, once, with its key.
fn label_keys(plan: &Plan) -> Vec<LabelKey> {
    let mut keys: Vec<LabelKey> = Vec::new();
    for mapping in &plan.mappings {
        if let MappingKind::Node { label, key } = &mapping.kind
            && !keys.iter().any(|k| &k.label == label)
        {
            keys.push(LabelKey { label: label.clone(), properties: key.clone() });
        }
    }
    keys
}

/// A warning for each cast rule that matched no column of any mapping, once every mapping
/// was bound (a rule for a type no column has is most likely misspelt).
fn unused_casts(plan: &Plan, bound: &BTreeMap<String, BoundMapping>) -> Vec<String> {
    if plan.mappings.iter().any(|m| !bound.contains_key(&m.name)) {
        return Vec::new();
    }
    (0..plan.casts.len())
        .filter(|index| !bound.values().any(|b| b.casts_applied.contains(index)))
        .map(|index| {
            format!(
                "{} matches no column the mappings read: check the type's spelling (as the source declares it, \
                 or a logical type such as `decimal`)",
                plan.casts[index].describe()
            )
        })
        .collect()
}

/// Each bound property's types.
fn property_types(bound: &BoundMapping) -> Vec<PropertyType> {
    bound
        .properties
        .iter()
        .map(|property| match &property.origin {
            PropertyOrigin::Column { column, decision } => PropertyType {
                property: property.name.clone(),
                column: Some(column.clone()),
                source_type: Some(decision.source_type.clone()),
                graph_type: decision.graph_type.clone(),
                rule: decision.rule.clone(),
            },
            PropertyOrigin::Transform => PropertyType {
                property: property.name.clone(),
                column: None,
                source_type: None,
                graph_type: "computed".into(),
                rule: None,
            },
        })
        .collect()
}

/// The table `mapping` reads, as the catalog names it: tables in `public` go by their bare
/// name there.
fn table_of(mapping: &Mapping) -> Option<String> {
    match &mapping.read {
        ReadSpec::Table(table) => Some(table.strip_prefix("public.").unwrap_or(table).to_owned()),
        ReadSpec::Query(_) => None,
    }
}

/// The catalog's tables and views no mapping of `plan` reads.
fn not_mapped(plan: &Plan, catalog: &Catalog) -> Vec<NotMapped> {
    let read: Vec<String> = plan.mappings.iter().filter_map(table_of).collect();
    let tables = catalog.tables.iter().map(|t| ("table", &t.name));
    let views = catalog.views.iter().map(|v| ("view", v));
    tables
        .chain(views)
        .filter(|(_, name)| !read.contains(name))
        .map(|(kind, name)| NotMapped { kind, name: name.clone() })
        .collect()
}

/// Warnings, by mapping name, for each pair of mappings where one reads a table and the other
/// a table inheriting from it (directly or not).
fn inherited_reads(plan: &Plan, catalog: &Catalog) -> BTreeMap<String, Vec<String>> {
    let mut warnings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for child_mapping in &plan.mappings {
        let Some(child) = table_of(child_mapping) else { continue };
        for parent in catalog.ancestors(&child) {
            for parent_mapping in plan.mappings.iter().filter(|m| table_of(m).as_deref() == Some(parent)) {
                let remedy = format!(
                    "read `{parent}` with a query `SELECT … FROM ONLY {parent}`, or leave one of the two mappings out"
                );
                warnings.entry(child_mapping.name.clone()).or_default().push(format!(
                    "table `{child}` inherits from `{parent}` (PostgreSQL table inheritance), which mapping `{}` reads: \
                     reading `{parent}` returns the rows of `{child}` too, so each of them is read twice, by both \
                     mappings; {remedy}",
                    parent_mapping.name
                ));
                warnings.entry(parent_mapping.name.clone()).or_default().push(format!(
                    "table `{parent}` returns the rows of `{child}` too (PostgreSQL table inheritance), which mapping \
                     `{}` reads as well: each of those rows is read twice, by both mappings; {remedy}",
                    child_mapping.name
                ));
            }
        }
    }
    warnings
}

fn explain_mapping(order: usize, mapping: &Mapping, bound: Option<&BoundMapping>) -> MappingExplanation {
    let reads = match &mapping.read {
        ReadSpec::Table(table) => format!("table `{table}`"),
        ReadSpec::Query(sql) => format!("query `{}`", shorten(sql, 70)),
    };
    let properties = match bound {
        Some(bound) => bound.properties.iter().map(|p| p.name.clone()).collect(),
        None => declared_properties(mapping),
    };
    let mut warnings = Vec::new();
    if mapping.key_guessed {
        warnings.push(
            "the key was guessed by `grafter init` (the table has no primary key): check that it identifies a row, then remove `key_guessed = true`; runs refuse this mapping until then"
                .to_owned(),
        );
    }
    let (kind, key, start, end, hierarchy) = match &mapping.kind {
        MappingKind::Node { key, .. } => ("node", key.clone(), None, None, false),
        MappingKind::Relationship { key, start, end, hierarchy, .. } => {
            let describe = |endpoint: &crate::EndpointSpec| {
                let pairs: Vec<String> = endpoint
                    .key_properties
                    .iter()
                    .zip(&endpoint.key)
                    .map(|(property, expr)| format!("{property} = {expr}"))
                    .collect();
                format!("the {} whose {}", endpoint.label, pairs.join(" and "))
            };
            ("relationship", key.clone(), Some(describe(start)), Some(describe(end)), *hierarchy)
        }
    };
    MappingExplanation {
        order,
        stage: mapping.stage,
        name: mapping.name.clone(),
        kind,
        reads,
        read: mapping.read.clone(),
        creates: mapping.pattern(),
        key,
        properties,
        types: bound.map(property_types).unwrap_or_default(),
        start,
        end,
        skips_rows_where_null: bound.map(|b| b.skip_null.clone()).unwrap_or_default(),
        hierarchy,
        description: mapping.description.clone(),
        after: mapping.depends_on.clone(),
        why_here: mapping.order_reasons.clone(),
        warnings,
        sync: mapping.tracking.as_ref().map(ToString::to_string),
        soft_delete: mapping.soft_delete.clone(),
    }
}

/// Properties as the config states them, for when the source's columns are unknown.
fn declared_properties(mapping: &Mapping) -> Vec<String> {
    let spec = &mapping.properties;
    let mut names: Vec<String> = match &spec.columns {
        Some(columns) => columns
            .iter()
            .filter(|c| !spec.exclude.contains(c))
            .map(|c| spec.rename.get(c).cloned().unwrap_or_else(|| c.clone()))
            .collect(),
        None => {
            let mut all = "(all columns".to_owned();
            if !spec.exclude.is_empty() {
                let _ = write!(all, " except {}", spec.exclude.join(", "));
            }
            all.push(')');
            vec![all]
        }
    };
    for (name, _) in &spec.transform {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max { format!("{}…", flat.chars().take(max - 1).collect::<String>()) } else { flat }
}

/// The explanation as text for a terminal.
pub fn render_text(explanation: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan for {}", explanation.config);
    let _ = writeln!(out, "  source   {}", explanation.source);
    let _ = writeln!(out, "  target   {}", explanation.target);
    let _ = writeln!(out, "  batches  {} rows, one transaction each", explanation.batch_size);
    let _ = writeln!(
        out,
        "  rejects  {}{}",
        explanation.reject_file,
        explanation.max_rejects.map(|m| format!(" (run stops after {m})")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\nLoad order: {} mapping{} in {} stage{}; mappings of one stage run at the same time.",
        explanation.mappings.len(),
        plural(explanation.mappings.len()),
        explanation.stages,
        plural(explanation.stages)
    );
    let mut stage = 0;
    for mapping in &explanation.mappings {
        if mapping.stage != stage {
            stage = mapping.stage;
            let _ = writeln!(out, "\nStage {stage}");
        }
        let _ = writeln!(out, "  {}. {}  {}", mapping.order, mapping.name, mapping.creates);
        if let Some(description) = &mapping.description {
            let _ = writeln!(out, "       {description}");
        }
        let _ = writeln!(out, "       reads       {}", mapping.reads);
        if !mapping.skips_rows_where_null.is_empty() {
            let _ = writeln!(
                out,
                "                   rows where {} is NULL are skipped (no relationship to create)",
                mapping.skips_rows_where_null.join(" or ")
            );
        }
        match mapping.kind {
            "node" => {
                let _ = writeln!(out, "       key         {}", mapping.key.join(", "));
            }
            _ => {
                if let (Some(start), Some(end)) = (&mapping.start, &mapping.end) {
                    let _ = writeln!(out, "       start       {start}");
                    let _ = writeln!(out, "       end         {end}");
                }
                if !mapping.key.is_empty() {
                    let _ = writeln!(
                        out,
                        "       key         {} (tells apart parallel relationships)",
                        mapping.key.join(", ")
                    );
                }
                if mapping.hierarchy {
                    let _ = writeln!(
                        out,
                        "       hierarchy   each node has at most one parent; verification checks for cycles"
                    );
                }
            }
        }
        if mapping.types.is_empty() {
            let properties =
                if mapping.properties.is_empty() { "(none)".to_owned() } else { mapping.properties.join(", ") };
            let _ = writeln!(out, "       properties  {properties}");
        } else {
            write_types(&mut out, &mapping.types);
        }
        if let Some(column) = &mapping.soft_delete {
            let _ = writeln!(out, "       deleted     rows whose {column} is set are left out (and removed by sync)");
        }
        if let Some(tracking) = &mapping.sync {
            let _ = writeln!(out, "       sync        follows its changes by {tracking}");
        }
        for reason in &mapping.why_here {
            let _ = writeln!(out, "       why here    {reason}");
        }
        for warning in &mapping.warnings {
            let _ = writeln!(out, "       WARNING     {warning}");
        }
    }
    if !explanation.keys.is_empty() {
        let _ = writeln!(out, "\nNode keys (verify checks that each identifies one node):");
        for key in &explanation.keys {
            let _ = writeln!(out, "  (:{}) {}", key.label, key.properties.join(", "));
        }
        if let Some(guard) = &explanation.key_guard {
            let _ = writeln!(out, "  held by {guard}");
        }
    }
    if !explanation.casts.is_empty() {
        let _ = writeln!(out, "\nCast rules (a column rule wins over a type rule):");
        for rule in &explanation.casts {
            let _ = writeln!(out, "  {rule}");
        }
    }
    for warning in &explanation.warnings {
        let _ = writeln!(out, "WARNING  {warning}");
    }
    out
}

/// `properties` lines, one per property: `name  source type → graph type  by rule`, aligned;
/// a transform's says so.
fn write_types(out: &mut String, types: &[PropertyType]) {
    let name_width = types.iter().map(|t| t.property.chars().count()).max().unwrap_or(0);
    let from_width = types.iter().filter_map(|t| t.source_type.as_ref()).map(|s| s.chars().count()).max().unwrap_or(0);
    let mut label = "properties";
    for t in types {
        let line = match (&t.column, &t.source_type) {
            (Some(column), Some(source_type)) => {
                let renamed = if *column == t.property { String::new() } else { format!(" (column {column})") };
                let rule = t.rule.as_ref().map(|r| format!("  by {r}")).unwrap_or_default();
                format!("{:<name_width$}  {source_type:<from_width$} → {}{renamed}{rule}", t.property, t.graph_type)
            }
            _ => format!("{:<name_width$}  computed by its transform", t.property),
        };
        let _ = writeln!(out, "       {label:<11} {}", line.trim_end());
        label = "";
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
