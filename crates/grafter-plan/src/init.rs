//! `grafter init`: turns an introspected [`Catalog`] into a starter grafter.toml.
//!
//! The rules, each recorded in the mapping's `description` so that `grafter plan` can say
//! why the mapping exists:
//! - a table with a primary key becomes a node label (singular, PascalCase), keyed by it;
//!   its foreign key columns become relationships rather than properties;
//! - every declared foreign key becomes a relationship from the referencing row's node to
//!   the referenced node, typed after the column (`SupportRepId` → `SUPPORT_REP`);
//! - a table whose primary key is exactly two foreign keys (a join table) becomes one
//!   relationship between the two referenced labels, its other columns its properties;
//! - a foreign key referencing its own table becomes a hierarchy relationship;
//! - a table without a primary key is mapped with a guessed key and `key_guessed = true`,
//!   which the run refuses until a person has confirmed the key;
//! - a PostgreSQL table that inherits from another (`INHERITS`) is not mapped on its own:
//!   reading its topmost ancestor returns its rows already, so mapping both would make two
//!   nodes of each of its rows; a warning says so, and foreign keys referencing it lead to
//!   that ancestor's label (declarative partitions are one table and never appear here);
//! - a column whose name a graph cannot take as a property name (a backtick or a control
//!   character in it, or grafter's reserved `_grafter` prefix: see
//!   [`grafter_model::check_name`]) is renamed to the nearest name it can take
//!   ([`grafter_model::usable_name`], made unique in its table) with `rename`, and a warning
//!   says so: its data still loads, and the file plans as written. Expressions (relationship
//!   endpoints) read such columns backtick-quoted;
//! - tables `--include` / `--exclude` patterns leave out ([`TableSelection`]) are not
//!   mapped, nor views (no key to map by) nor partitions (read with the table they
//!   partition): [`Starter::skipped`] lists each with the reason,
//!   and the file says so in a comment. A foreign key to a table left out stays a property;
//! - relationship types and directions follow `[init.relationships]` ([`RelationshipNaming`]:
//!   a template, a direction, overrides per relationship), which the file carries for the
//!   next `init --force`; a relationship pointing against its foreign key is no hierarchy.

mod naming;
mod selection;

pub use naming::{Direction, InitConfig, Override, RelationshipNaming};
pub use selection::{PatternError, TableSelection};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use grafter_model::{Catalog, ForeignKey, NameKind, Table, check_name, usable_name};

use crate::transform::Expr;

/// A generated config and what a person should know about it.
#[derive(Debug, Clone)]
pub struct Starter {
    /// The grafter.toml text.
    pub text: String,
    /// Decisions that need a person's attention.
    pub warnings: Vec<String>,
    /// Tables and views not mapped, and why.
    pub skipped: Vec<Skipped>,
    /// Number of node mappings.
    pub node_mappings: usize,
    /// Number of relationship mappings.
    pub relationship_mappings: usize,
}

/// A table or view `grafter init` did not map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `table`, `view` or `partition`.
    pub kind: &'static str,
    /// Its name, as `table = "…"` would write it.
    pub name: String,
    /// Why it was not mapped.
    pub reason: String,
}

/// How a table is mapped.
enum Role<'a> {
    /// A node label keyed by the primary key (or a guess).
    Node { label: String, key: Vec<String>, guessed: Option<String> },
    /// A join table: one relationship per row.
    Join { first: &'a ForeignKey, second: &'a ForeignKey },
    /// A child of an inheritance parent: its rows are read with its topmost ancestor's.
    Inherited { root: &'a str },
}

/// Builds the starter config for the tables of `catalog` that `selection` takes, whose source
/// is written as `source_url`, its relationships named and directed by `naming` (checked
/// with [`RelationshipNaming::check`]).
pub fn starter_config(
    catalog: &Catalog,
    source_url: &str,
    selection: &TableSelection,
    naming: &RelationshipNaming,
) -> Starter {
    let mut warnings = Vec::new();
    let mut skipped = Vec::new();
    let left_out = |name: &str| selection.why_left_out(name);
    for table in &catalog.tables {
        if let Some(reason) = left_out(&table.name) {
            skipped.push(Skipped { kind: "table", name: table.name.clone(), reason });
        }
    }
    for view in &catalog.views {
        let reason = left_out(view).unwrap_or_else(|| {
            format!("a view has no primary key to map by: map it by hand (`table = \"{view}\"` with a `key`)")
        });
        skipped.push(Skipped { kind: "view", name: view.clone(), reason });
    }
    for partition in &catalog.partitions {
        let reason = left_out(&partition.name)
            .unwrap_or_else(|| format!("a partition of `{}`: reading that table returns its rows", partition.of));
        skipped.push(Skipped { kind: "partition", name: partition.name.clone(), reason });
    }
    // What the patterns take: the rules below see no other table (a child whose parent was
    // left out is then mapped on its own, as it is read).
    let catalog = &Catalog {
        tables: catalog.tables.iter().filter(|t| left_out(&t.name).is_none()).cloned().collect(),
        views: Vec::new(),
        partitions: Vec::new(),
    };
    let mut roles: BTreeMap<&str, Role<'_>> = BTreeMap::new();
    let mut used_labels: Vec<String> = Vec::new();
    for table in &catalog.tables {
        let ancestors = catalog.ancestors(&table.name);
        let mapped = ancestors.iter().find(|a| catalog.table(a).is_some_and(|t| !has_parent_in(catalog, t)));
        if let Some(&root) = mapped {
            let via = if ancestors[0] == root { String::new() } else { format!(" (through `{}`)", ancestors[0]) };
            skipped.push(Skipped {
                kind: "table",
                name: table.name.clone(),
                reason: format!(
                    "it inherits from `{root}`{via}: PostgreSQL returns its rows when `{root}` is read, so it is not \
                     mapped on its own (each of its rows would become two nodes); its own columns and foreign keys are \
                     not mapped — to map them, read `{root}` with a query `SELECT … FROM ONLY {root}` and map `{}` \
                     separately",
                    table.name
                ),
            });
            roles.insert(&table.name, Role::Inherited { root });
            continue;
        }
        if let Some((first, second)) = join_keys(table) {
            roles.insert(&table.name, Role::Join { first, second });
            continue;
        }
        let mut label = label_for(&table.name);
        if label.is_empty() || used_labels.contains(&label) {
            // Two tables singularise alike (`user`, `users`): keep the second table's own name.
            label = pascal_case(&table.name);
        }
        if label.is_empty() {
            // A name without a letter or digit in it.
            label = "Table".into();
        }
        let base = label.clone();
        let mut n = 1;
        while used_labels.contains(&label) {
            n += 1;
            label = format!("{base}{n}");
        }
        used_labels.push(label.clone());
        let (key, guessed) = if table.primary_key.is_empty() {
            let (key, how) = guess_key(table);
            warnings.push(format!(
                "table `{}` has no primary key: mapped with the key ({}) guessed from {how}; confirm it in grafter.toml (remove `key_guessed = true`) before running",
                table.name,
                key.join(", ")
            ));
            (key, Some(how))
        } else {
            (table.primary_key.clone(), None)
        };
        roles.insert(&table.name, Role::Node { label, key, guessed });
    }

    let mut out = String::new();
    let _ = writeln!(out, "# grafter.toml — generated by `grafter init`. Every mapping says why it exists in its");
    let _ = writeln!(out, "# `description`; `grafter plan` explains the load order. Edit freely: this is a start.");
    let _ = writeln!(out, "# Reference of every option: docs/grafter.reference.toml in the grafter repository.\n");
    // Written once every table's role is known: join tables between tables not mapped are
    // found below.
    let skipped_at = out.len();
    let _ = writeln!(out, "[source]\nurl = {}\n", quote(source_url));
    let _ = writeln!(out, "[target]");
    let _ = writeln!(
        out,
        "# The embedded graph store; omit `url` to use a .grafeo file named after this config, beside it."
    );
    let _ = writeln!(out, "# url = \"grafeo:graph.grafeo\"\n");
    let _ = writeln!(out, "{}", naming.to_toml());
    let mut relationship_names: Vec<String> = Vec::new();

    let mut node_mappings = 0;
    for table in &catalog.tables {
        let Some(Role::Node { label, key, guessed }) = roles.get(table.name.as_str()) else { continue };
        node_mappings += 1;
        let fk_columns: Vec<&String> = table
            .foreign_keys
            .iter()
            .filter(|fk| node_role(&roles, &fk.ref_table).is_some())
            .flat_map(|fk| &fk.columns)
            .collect();
        let exclude: Vec<String> = table
            .columns
            .iter()
            .map(|c| &c.name)
            .filter(|c| fk_columns.contains(c) && !key.contains(c))
            .cloned()
            .collect();
        let copied: Vec<&String> = table.columns.iter().map(|c| &c.name).filter(|c| !exclude.contains(c)).collect();
        let renamed = renames(table, &copied, &mut warnings);
        let key_properties: Vec<String> = key.iter().map(|column| property_of(&renamed, column)).collect();
        let description = match guessed {
            None => format!(
                "table `{}`: a row is a {label}, identified by its primary key ({})",
                table.name,
                key.join(", ")
            ),
            Some(how) => format!("table `{}` has no primary key; the key was guessed from {how}", table.name),
        };
        let _ = writeln!(out, "[[nodes]]");
        let _ = writeln!(out, "name = {}", quote(&table.name));
        let _ = writeln!(out, "label = {}", quote(label));
        let _ = writeln!(out, "table = {}", quote(&table.name));
        let _ = writeln!(out, "key = {}", list(&key_properties));
        if !exclude.is_empty() {
            let _ = writeln!(out, "# Foreign key columns become relationships below, not properties.");
            let _ = writeln!(out, "exclude = {}", array(&exclude));
        }
        write_renames(&mut out, &renamed);
        let _ = writeln!(out, "description = {}", quote(&description));
        if guessed.is_some() {
            let _ =
                writeln!(out, "# CHECK THE KEY: the table has no primary key. Remove the next line once it is right.");
            let _ = writeln!(out, "key_guessed = true");
        }
        out.push('\n');
    }

    let mut relationship_mappings = 0;
    for table in &catalog.tables {
        match roles.get(table.name.as_str()) {
            Some(Role::Join { first, second }) => {
                let (Some(start), Some(end)) =
                    (node_role(&roles, &first.ref_table), node_role(&roles, &second.ref_table))
                else {
                    let missing = if node_role(&roles, &first.ref_table).is_none() {
                        &first.ref_table
                    } else {
                        &second.ref_table
                    };
                    skipped.push(Skipped {
                        kind: "table",
                        name: table.name.clone(),
                        reason: format!(
                            "a join table (its primary key is two foreign keys) to `{missing}`, which is not mapped to \
                             nodes: it has no relationship to become"
                        ),
                    });
                    continue;
                };
                relationship_mappings += 1;
                let in_key: Vec<&String> = first.columns.iter().chain(&second.columns).collect();
                let properties: Vec<String> =
                    table.columns.iter().map(|c| c.name.clone()).filter(|c| !in_key.contains(&c)).collect();
                let description = format!(
                    "join table `{}`: its primary key is exactly two foreign keys ({} → {}, {} → {}), so each row is one relationship{}",
                    table.name,
                    first.columns.join(", "),
                    first.ref_table,
                    second.columns.join(", "),
                    second.ref_table,
                    if properties.is_empty() { String::new() } else { " carrying the other columns".into() }
                );
                let column = upper_snake(&table.name);
                let column = if column.is_empty() { upper_snake(&format!("{}_{}", start.0, end.0)) } else { column };
                let named =
                    naming.name(&table.name, &naming::Parts { column, from: start.0, to: end.0, table: &table.name });
                relationship_names.push(table.name.clone());
                let description = format!("{description}; {}", named.because);
                let first_end = (start.0, ordered_reference(first, start.1));
                let second_end = (end.0, ordered_reference(second, end.1));
                let (from, to) = match named.direction {
                    Direction::Outgoing => (first_end, second_end),
                    Direction::Incoming => (second_end, first_end),
                };
                let _ = writeln!(out, "[[relationships]]");
                let _ = writeln!(out, "name = {}", quote(&table.name));
                let _ = writeln!(out, "type = {}", quote(&named.rel_type));
                let _ = writeln!(out, "table = {}", quote(&table.name));
                let _ = writeln!(out, "start = {{ label = {}, key = {} }}", quote(from.0), expressions(&from.1));
                let _ = writeln!(out, "end = {{ label = {}, key = {} }}", quote(to.0), expressions(&to.1));
                if !properties.is_empty() {
                    let _ = writeln!(out, "columns = {}", array(&properties));
                    let copied: Vec<&String> = properties.iter().collect();
                    write_renames(&mut out, &renames(table, &copied, &mut warnings));
                }
                let _ = writeln!(out, "description = {}\n", quote(&description));
            }
            Some(Role::Node { label, key, .. }) => {
                for fk in &table.foreign_keys {
                    let Some((ref_label, ref_key)) = node_role(&roles, &fk.ref_table) else {
                        warnings.push(format!(
                            "foreign key {}.{} references `{}`, which is not mapped to nodes; no relationship was generated (the column stays a property)",
                            table.name,
                            fk.columns.join("+"),
                            fk.ref_table
                        ));
                        continue;
                    };
                    if !same_columns(&fk.ref_columns, ref_key) {
                        warnings.push(format!(
                            "foreign key {}.{} references {}({}), not its key ({}); no relationship was generated — write one with a query that joins to the key",
                            table.name,
                            fk.columns.join("+"),
                            fk.ref_table,
                            fk.ref_columns.join(", "),
                            ref_key.join(", ")
                        ));
                        continue;
                    }
                    relationship_mappings += 1;
                    let mapping_name = format!("{}.{}", table.name, fk.columns.join("+"));
                    let parts = naming::Parts {
                        column: relationship_type(fk, ref_label),
                        from: label,
                        to: ref_label,
                        table: &table.name,
                    };
                    let named = naming.name(&mapping_name, &parts);
                    relationship_names.push(mapping_name.clone());
                    // A hierarchy points from each node to its one parent.
                    let self_reference = fk.ref_table == table.name && named.direction == Direction::Outgoing;
                    let description = if self_reference {
                        format!(
                            "self-referencing foreign key {}.{} → {}.{}: a hierarchy, from each {label} to its parent",
                            table.name,
                            fk.columns.join("+"),
                            fk.ref_table,
                            fk.ref_columns.join("+")
                        )
                    } else {
                        format!(
                            "foreign key {}.{} → {}.{}",
                            table.name,
                            fk.columns.join("+"),
                            fk.ref_table,
                            fk.ref_columns.join("+")
                        )
                    };
                    let description = format!("{description}; {}", named.because);
                    let own_end = (label.as_str(), key.clone());
                    let referenced_end = (ref_label, ordered_reference(fk, ref_key));
                    let (from, to) = match named.direction {
                        Direction::Outgoing => (own_end, referenced_end),
                        Direction::Incoming => (referenced_end, own_end),
                    };
                    let _ = writeln!(out, "[[relationships]]");
                    let _ = writeln!(out, "name = {}", quote(&mapping_name));
                    let _ = writeln!(out, "type = {}", quote(&named.rel_type));
                    let _ = writeln!(out, "table = {}", quote(&table.name));
                    let _ = writeln!(out, "start = {{ label = {}, key = {} }}", quote(from.0), expressions(&from.1));
                    let _ = writeln!(out, "end = {{ label = {}, key = {} }}", quote(to.0), expressions(&to.1));
                    if self_reference {
                        let _ = writeln!(out, "hierarchy = true");
                    }
                    let _ = writeln!(out, "description = {}\n", quote(&description));
                }
            }
            Some(Role::Inherited { .. }) | None => {}
        }
    }
    for unused in naming.unused_overrides(&relationship_names) {
        warnings.push(format!(
            "[init.relationships.overrides] \"{unused}\" names no relationship init generated (they are named like \
             `Invoice.CustomerId`, or after a join table)"
        ));
    }
    out.insert_str(skipped_at, &skipped_comment(&skipped, selection));
    Starter { text: out, warnings, skipped, node_mappings, relationship_mappings }
}

/// The comment that lists what was not mapped, or nothing.
fn skipped_comment(skipped: &[Skipped], selection: &TableSelection) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let mut out = match selection.describe() {
        Some(options) => format!("# Not mapped (`grafter init {options}`):\n"),
        None => "# Not mapped:\n".to_owned(),
    };
    for Skipped { kind, name, reason } in skipped {
        let _ = writeln!(out, "#   {kind} `{name}`: {reason}");
    }
    out.push('\n');
    out
}

/// Whether `table` inherits from a table of the catalog.
fn has_parent_in(catalog: &Catalog, table: &Table) -> bool {
    table.inherits.iter().any(|parent| catalog.table(parent).is_some())
}

/// The property names of `copied` columns of `table` that cannot be their own names: column
/// → the nearest usable name, unique among the table's properties. Each is a warning too.
fn renames(table: &Table, copied: &[&String], warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let mut taken: Vec<String> =
        copied.iter().filter(|c| check_name(NameKind::Property, c).is_ok()).map(|c| (*c).clone()).collect();
    let mut renamed = Vec::new();
    for column in copied {
        let Err(refused) = check_name(NameKind::Property, column) else { continue };
        let base = usable_name(column);
        let mut name = base.clone();
        let mut n = 1;
        while taken.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        warnings.push(format!(
            "table `{}`: column {} cannot be a property name ({}): renamed to `{name}` with `rename`",
            table.name,
            quote(column),
            refused.reason
        ));
        taken.push(name.clone());
        renamed.push(((*column).clone(), name));
    }
    renamed
}

/// The property a column becomes under `renamed`.
fn property_of(renamed: &[(String, String)], column: &str) -> String {
    renamed.iter().find(|(from, _)| from == column).map_or_else(|| column.to_owned(), |(_, to)| to.clone())
}

/// `rename = { … }` for the renamed columns, if any.
fn write_renames(out: &mut String, renamed: &[(String, String)]) {
    if renamed.is_empty() {
        return;
    }
    let pairs: Vec<String> = renamed.iter().map(|(from, to)| format!("{} = {}", quote(from), quote(to))).collect();
    let _ = writeln!(out, "# Columns whose names a graph cannot take as property names, renamed.");
    let _ = writeln!(out, "rename = {{ {} }}", pairs.join(", "));
}

/// Endpoint key expressions reading `columns`: a TOML string, or an array for several.
fn expressions(columns: &[String]) -> String {
    list(&columns.iter().map(|column| Expr::column(column).to_string()).collect::<Vec<_>>())
}

/// For a join table: its two foreign keys, when the primary key is exactly their columns.
fn join_keys(table: &Table) -> Option<(&ForeignKey, &ForeignKey)> {
    if table.primary_key.len() < 2 || table.foreign_keys.len() < 2 {
        return None;
    }
    // Foreign keys lying wholly inside the primary key, in primary key order.
    let mut inside: Vec<&ForeignKey> =
        table.foreign_keys.iter().filter(|fk| fk.columns.iter().all(|c| table.primary_key.contains(c))).collect();
    inside.sort_by_key(|fk| table.primary_key.iter().position(|c| *c == fk.columns[0]));
    let [first, second] = inside.as_slice() else { return None };
    let mut covered: Vec<&String> = first.columns.iter().chain(&second.columns).collect();
    covered.sort();
    covered.dedup();
    (covered.len() == table.primary_key.len()).then_some((*first, *second))
}

/// The label and key of `table` if it is mapped to nodes: its own, or for an inheritance
/// child those of the ancestor whose nodes its rows become.
fn node_role<'r>(roles: &'r BTreeMap<&str, Role<'_>>, table: &str) -> Option<(&'r str, &'r Vec<String>)> {
    match roles.get(table) {
        Some(Role::Node { label, key, .. }) => Some((label, key)),
        Some(Role::Inherited { root }) => match roles.get(root) {
            Some(Role::Node { label, key, .. }) => Some((label, key)),
            _ => None,
        },
        _ => None,
    }
}

/// The referencing columns, reordered to follow the referenced table's key order.
fn ordered_reference(fk: &ForeignKey, ref_key: &[String]) -> Vec<String> {
    ref_key
        .iter()
        .map(|k| fk.ref_columns.iter().position(|r| r == k).map_or_else(|| k.clone(), |i| fk.columns[i].clone()))
        .collect()
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// Guesses a key for a table without a primary key: its first unique constraint, else a
/// column called `id` (or ending in id), else all columns.
fn guess_key(table: &Table) -> (Vec<String>, String) {
    if let Some(unique) = table.unique.first() {
        return (unique.clone(), format!("the unique constraint on ({})", unique.join(", ")));
    }
    let idlike = table.columns.iter().find(|c| c.name.eq_ignore_ascii_case("id")).or_else(|| {
        table.columns.iter().find(|c| {
            let lower = c.name.to_lowercase();
            lower.ends_with("_id") || lower.ends_with("id")
        })
    });
    if let Some(column) = idlike {
        return (vec![column.name.clone()], format!("the column name `{}`", column.name));
    }
    (table.columns.iter().map(|c| c.name.clone()).collect(), "all of its columns".into())
}

/// `SupportRepId` → `SUPPORT_REP`, `artist_id` → `ARTIST`, `ReportsTo` → `REPORTS_TO`; a
/// composite or id-only key falls back to the referenced label.
fn relationship_type(fk: &ForeignKey, ref_label: &str) -> String {
    if let [column] = fk.columns.as_slice() {
        let words = words(column);
        let trimmed: Vec<&String> = match words.last() {
            Some(last) if words.len() > 1 && last.eq_ignore_ascii_case("id") => {
                words[..words.len() - 1].iter().collect()
            }
            _ => words.iter().collect(),
        };
        let only_id = trimmed.len() == 1 && trimmed[0].eq_ignore_ascii_case("id");
        if !trimmed.is_empty() && !only_id {
            return trimmed.iter().map(|w| w.to_uppercase()).collect::<Vec<_>>().join("_");
        }
    }
    upper_snake(ref_label)
}

/// Splits `resource_providers`, `SupportRepId`, `MediaType` or `HTTPServer` into words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn upper_snake(name: &str) -> String {
    words(name).iter().map(|w| w.to_uppercase()).collect::<Vec<_>>().join("_")
}

fn pascal_case(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Label for a table: PascalCase with the last word made singular (`resource_providers` →
/// `ResourceProvider`, `inventories` → `Inventory`, `Album` → `Album`).
fn label_for(table: &str) -> String {
    let mut words = words(table);
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    pascal_case(&words.join("_"))
}

fn singular(word: &str) -> String {
    let lower = word.to_lowercase();
    if lower.ends_with("ies") && word.len() > 4 {
        format!("{}y", &word[..word.len() - 3])
    } else if lower.ends_with("sses") || lower.ends_with("xes") || lower.ends_with("ches") || lower.ends_with("shes") {
        word[..word.len() - 2].to_owned()
    } else if lower.ends_with('s')
        && !lower.ends_with("ss")
        && !lower.ends_with("us")
        && !lower.ends_with("is")
        && word.len() > 3
    {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// A TOML string literal.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A TOML array of strings, or one string when there is one (for `key`, which takes both).
fn list(items: &[String]) -> String {
    match items {
        [one] => quote(one),
        many => array(many),
    }
}

/// A TOML array of strings.
fn array(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grafter_model::{Column, Partition};

    fn table(name: &str, columns: &[&str], pk: &[&str], fks: &[(&[&str], &str, &[&str])]) -> Table {
        Table {
            name: name.into(),
            columns: columns.iter().map(|c| Column::untyped(*c)).collect(),
            primary_key: pk.iter().map(|c| c.to_string()).collect(),
            unique: Vec::new(),
            foreign_keys: fks
                .iter()
                .map(|(cols, t, refs)| ForeignKey {
                    columns: cols.iter().map(|c| c.to_string()).collect(),
                    ref_table: t.to_string(),
                    ref_columns: refs.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
            inherits: Vec::new(),
        }
    }

    #[test]
    fn names_follow_tables_and_columns() {
        assert_eq!(label_for("resource_providers"), "ResourceProvider");
        assert_eq!(label_for("inventories"), "Inventory");
        assert_eq!(label_for("Album"), "Album");
        assert_eq!(label_for("MediaType"), "MediaType");
        assert_eq!(label_for("addresses"), "Address");
        assert_eq!(label_for("status"), "Status");
        let fk =
            |c: &str| ForeignKey { columns: vec![c.into()], ref_table: "x".into(), ref_columns: vec!["id".into()] };
        assert_eq!(relationship_type(&fk("SupportRepId"), "Employee"), "SUPPORT_REP");
        assert_eq!(relationship_type(&fk("artist_id"), "Artist"), "ARTIST");
        assert_eq!(relationship_type(&fk("ReportsTo"), "Employee"), "REPORTS_TO");
        assert_eq!(relationship_type(&fk("id"), "Employee"), "EMPLOYEE");
    }

    #[test]
    fn join_tables_become_relationships_and_self_references_hierarchies() {
        let catalog = Catalog {
            tables: vec![
                table(
                    "Employee",
                    &["EmployeeId", "Name", "ReportsTo"],
                    &["EmployeeId"],
                    &[(&["ReportsTo"], "Employee", &["EmployeeId"])],
                ),
                table("Playlist", &["PlaylistId", "Name"], &["PlaylistId"], &[]),
                table(
                    "PlaylistTrack",
                    &["PlaylistId", "TrackId", "Position"],
                    &["PlaylistId", "TrackId"],
                    &[(&["TrackId"], "Track", &["TrackId"]), (&["PlaylistId"], "Playlist", &["PlaylistId"])],
                ),
                table("Track", &["TrackId", "Name"], &["TrackId"], &[]),
            ],
            views: Vec::new(),
            partitions: Vec::new(),
        };
        let starter =
            starter_config(&catalog, "sqlite:chinook.db", &TableSelection::all(), &RelationshipNaming::default());
        assert!(starter.warnings.is_empty(), "{:?}", starter.warnings);
        assert_eq!((starter.node_mappings, starter.relationship_mappings), (3, 2));
        let config = crate::Config::parse(&starter.text, "grafter.toml", |_| None).unwrap();
        let join = config.relationships.iter().find(|r| r.rel_type == "PLAYLIST_TRACK").unwrap();
        assert_eq!((join.start.label.as_str(), join.end.label.as_str()), ("Playlist", "Track"));
        assert_eq!(join.columns, vec!["Position".to_string()]);
        let reports = config.relationships.iter().find(|r| r.rel_type == "REPORTS_TO").unwrap();
        assert!(reports.hierarchy);
        let employee = config.nodes.iter().find(|n| n.label == "Employee").unwrap();
        assert_eq!(employee.exclude, vec!["ReportsTo".to_string()]);
        // The generated file must plan cleanly.
        crate::Plan::build(&config, std::path::Path::new("grafter.toml"), &starter.text).unwrap();
    }

    #[test]
    fn columns_whose_names_cannot_be_properties_are_renamed_and_the_file_plans_and_binds() {
        let catalog = Catalog {
            tables: vec![
                table(
                    "people",
                    &["id`x", "Unit Price", "_grafter_run", "grafter_run", "not", "city id"],
                    &["id`x"],
                    &[(&["city id"], "cities", &["id"])],
                ),
                table("cities", &["id", "a`b", "a_b"], &["id"], &[]),
                table(
                    "people_cities",
                    &["person", "city", "we`ight"],
                    &["person", "city"],
                    &[(&["person"], "people", &["id`x"]), (&["city"], "cities", &["id"])],
                ),
            ],
            views: Vec::new(),
            partitions: Vec::new(),
        };
        let starter = starter_config(&catalog, "sqlite:x.db", &TableSelection::all(), &RelationshipNaming::default());
        let config = crate::Config::parse(&starter.text, "grafter.toml", |_| None).unwrap();
        let plan = crate::Plan::build(&config, std::path::Path::new("grafter.toml"), &starter.text)
            .unwrap_or_else(|e| panic!("{e}\n{}", starter.text));
        for mapping in &plan.mappings {
            let crate::ReadSpec::Table(name) = &mapping.read else { panic!("init maps tables") };
            let columns = &catalog.table(name).unwrap().columns;
            crate::bind(mapping, columns, &plan.casts, &plan.source_options.types)
                .unwrap_or_else(|e| panic!("{e}\n{}", starter.text));
        }
        let people = config.nodes.iter().find(|n| n.label == "People").unwrap();
        assert_eq!(people.key, crate::OneOrMany::One("id_x".into()));
        let renamed: Vec<(&str, &str)> = people.rename.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(renamed, [("_grafter_run", "grafter_run_2"), ("id`x", "id_x")]);
        let city = config.nodes.iter().find(|n| n.label == "City").unwrap();
        assert_eq!(city.rename.get("a`b").map(String::as_str), Some("a_b_2"));
        let join = config.relationships.iter().find(|r| r.rel_type == "PEOPLE_CITIES").unwrap();
        assert_eq!(join.rename.get("we`ight").map(String::as_str), Some("we_ight"));
        assert_eq!(starter.warnings.len(), 4, "{:?}", starter.warnings);
        assert!(
            starter.warnings.iter().any(|w| w.contains("column \"id`x\"") && w.contains("renamed to `id_x`")),
            "{:?}",
            starter.warnings
        );
    }

    #[test]
    fn inheritance_children_are_read_through_their_topmost_parent_and_referenced_as_it() {
        let mut staff = table("staff", &["id", "name", "role"], &["id"], &[]);
        staff.inherits = vec!["people".into()];
        let mut managers = table("managers", &["id", "name", "role", "level"], &["id"], &[]);
        managers.inherits = vec!["staff".into()];
        let catalog = Catalog {
            tables: vec![
                table("badges", &["id", "holder"], &["id"], &[(&["holder"], "managers", &["id"])]),
                managers,
                table("people", &["id", "name"], &["id"], &[]),
                staff,
            ],
            views: Vec::new(),
            partitions: Vec::new(),
        };
        let starter =
            starter_config(&catalog, "postgres://db/x", &TableSelection::all(), &RelationshipNaming::default());
        let config = crate::Config::parse(&starter.text, "grafter.toml", |_| None).unwrap();
        let tables: Vec<&str> = config.nodes.iter().filter_map(|n| n.table.as_deref()).collect();
        assert_eq!(tables, ["badges", "people"]);
        assert!(starter.warnings.is_empty(), "{:?}", starter.warnings);
        let skipped: Vec<(&str, &str)> = starter.skipped.iter().map(|s| (s.name.as_str(), s.reason.as_str())).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0].0, "managers");
        assert!(skipped[0].1.starts_with("it inherits from `people` (through `staff`)"), "{skipped:?}");
        assert_eq!(skipped[1].0, "staff");
        assert!(skipped[1].1.starts_with("it inherits from `people`: "), "{skipped:?}");
        assert!(
            starter.text.contains("# Not mapped:\n#   table `managers`: it inherits from `people`"),
            "{}",
            starter.text
        );
        let holder = config.relationships.iter().find(|r| r.rel_type == "HOLDER").unwrap();
        assert_eq!(holder.end.label, "People");
        crate::Plan::build(&config, std::path::Path::new("grafter.toml"), &starter.text).unwrap();
    }

    #[test]
    fn tables_without_primary_key_get_a_guessed_key_and_a_warning() {
        let catalog =
            Catalog { tables: vec![table("audit_log", &["at", "entry_id", "text"], &[], &[])], ..Catalog::default() };
        let starter = starter_config(&catalog, "sqlite:x.db", &TableSelection::all(), &RelationshipNaming::default());
        assert_eq!(starter.warnings.len(), 1);
        assert!(starter.warnings[0].contains("no primary key"));
        let config = crate::Config::parse(&starter.text, "grafter.toml", |_| None).unwrap();
        assert!(config.nodes[0].key_guessed);
        assert_eq!(config.nodes[0].key, crate::OneOrMany::One("entry_id".into()));
    }

    #[test]
    fn tables_left_out_by_patterns_and_views_are_listed_and_references_to_them_stay_properties() {
        let catalog = Catalog {
            tables: vec![
                table("audit_log", &["id", "text"], &["id"], &[]),
                table("customer", &["id", "name"], &["id"], &[]),
                table("orders", &["id", "customer_id", "total"], &["id"], &[(&["customer_id"], "customer", &["id"])]),
                table(
                    "order_tags",
                    &["order_id", "tag_id"],
                    &["order_id", "tag_id"],
                    &[(&["order_id"], "orders", &["id"]), (&["tag_id"], "tag", &["id"])],
                ),
                table("tag", &["id"], &["id"], &[]),
            ],
            views: vec!["big_orders".into(), "audit_view".into()],
            partitions: vec![Partition { name: "orders_2024".into(), of: "orders".into() }],
        };
        let selection = TableSelection::new(&[], &["audit*".into(), "customer".into(), "tag".into()]).unwrap();
        let starter = starter_config(&catalog, "sqlite:x.db", &selection, &RelationshipNaming::default());
        let skipped: Vec<(&str, &str, &str)> =
            starter.skipped.iter().map(|s| (s.kind, s.name.as_str(), s.reason.as_str())).collect();
        assert_eq!(
            skipped,
            [
                ("table", "audit_log", "excluded by --exclude 'audit*'"),
                ("table", "customer", "excluded by --exclude 'customer'"),
                ("table", "tag", "excluded by --exclude 'tag'"),
                (
                    "view",
                    "big_orders",
                    "a view has no primary key to map by: map it by hand (`table = \"big_orders\"` with a `key`)"
                ),
                ("view", "audit_view", "excluded by --exclude 'audit*'"),
                ("partition", "orders_2024", "a partition of `orders`: reading that table returns its rows"),
                (
                    "table",
                    "order_tags",
                    "a join table (its primary key is two foreign keys) to `tag`, which is not mapped to nodes: it has no \
                     relationship to become"
                ),
            ]
        );
        let config = crate::Config::parse(&starter.text, "grafter.toml", |_| None).unwrap();
        let labels: Vec<&str> = config.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["Order"]);
        assert!(config.relationships.is_empty());
        // The reference to a customer is kept as a property, and the file says what it left out.
        assert!(config.nodes[0].exclude.is_empty(), "{:?}", config.nodes[0].exclude);
        assert!(starter.warnings.iter().any(|w| w.contains("orders.customer_id references `customer`")));
        assert!(
            starter
                .text
                .contains("# Not mapped (`grafter init --exclude 'audit*' --exclude 'customer' --exclude 'tag'`):"),
            "{}",
            starter.text
        );
        crate::Plan::build(&config, std::path::Path::new("grafter.toml"), &starter.text).unwrap();
    }
}
