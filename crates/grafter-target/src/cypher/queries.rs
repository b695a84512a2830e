//! The statements a batch becomes: a lookup that settles every record's outcome before
//! anything is written, and the `UNWIND` write that stores the records and the mapping's
//! checkpoint in the same statement.
//!
//! Records travel as rows `[i, key…, property…]` (relationships: `[i, start key…, end
//! key…, property…]`), read by position. Each builder takes the clause that yields the rows
//! as `r` (`UNWIND $rows AS r`, or rows staged in the graph beforehand) and how a position
//! is read ([`Column`]), so a server that cannot carry some value as a parameter can send
//! it in another form and rebuild it in the statement.

use grafter_model::quote_name;

use super::RUN_PROPERTY;
use super::bookkeeping::checkpoint_clause;
use crate::{NodeSpec, RelSpec};

/// The rows from the `$rows` parameter.
pub(crate) const UNWIND_ROWS: &str = "UNWIND $rows AS r";

/// How a statement reads row position `i`.
pub(crate) type Column<'a> = &'a dyn Fn(usize) -> String;

/// `r[i]`: a position read as it is.
pub(crate) fn plain(i: usize) -> String {
    format!("r[{i}]")
}

/// `{`a`: r[1], `b`: r[2]}`: a pattern's properties taken from row positions.
pub(crate) fn pattern(names: &[String], first: usize, col: Column) -> String {
    let pairs: Vec<String> =
        names.iter().enumerate().map(|(i, name)| format!("{}: {}", quote_name(name), col(first + i))).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// `v.`a` = r[first]`, `v.`b` = r[first + 1]`, …, `v.`_grafter_run` = $run`: every
/// property from its row position, and the run's mark unless the run `owned` what it writes
/// (see [`written_by_run`]).
fn assignments(variable: &str, names: &[String], first: usize, col: Column, owned: bool) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{variable}.{} = {}", quote_name(name), col(first + i)))
        .chain((!owned).then(|| run_mark(variable)))
        .collect()
}

/// `v.`_grafter_run` = $run`.
pub(crate) fn run_mark(variable: &str) -> String {
    format!("{variable}.{} = $run", quote_name(RUN_PROPERTY))
}

/// ` SET a, b`, or nothing when there is nothing to set (an unmarked element without
/// properties besides its key).
fn set_clause(assignments: &[String]) -> String {
    if assignments.is_empty() { String::new() } else { format!(" SET {}", assignments.join(", ")) }
}

/// The end of every write: the count written, then the checkpoint, in the same statement.
fn checkpoint_tail(variable: &str) -> String {
    format!("WITH count({variable}) AS written {} RETURN written", checkpoint_clause())
}

/// How a lookup tells that `variable`, found, was written by this run: by its mark; or,
/// when the run created every element it can find (`owned`: a label that was new to the
/// graph, loaded unmarked in bulk), by being found at all.
fn written_by_run(variable: &str, owned: bool) -> String {
    if owned { format!("{variable} IS NOT NULL") } else { format!("{variable}.{} = $run", quote_name(RUN_PROPERTY)) }
}

/// The lookup of a node batch: per record found, `[i, written by this run]` (`owned`: see
/// [`written_by_run`]).
pub(crate) fn node_lookup(spec: &NodeSpec, col: Column, owned: bool) -> String {
    let key_names: Vec<String> = spec.key_names().into_iter().map(str::to_owned).collect();
    format!(
        "{UNWIND_ROWS} MATCH (o:{} {}) RETURN r[0], {}",
        quote_name(&spec.label),
        pattern(&key_names, 1, col),
        written_by_run("o", owned)
    )
}

/// The writes of a node batch from the rows `source` yields: (with MERGE, with CREATE);
/// unmarked if the run `owns` the label (see [`written_by_run`]).
pub(crate) fn node_writes(spec: &NodeSpec, source: &str, col: Column, owned: bool) -> (String, String) {
    let label = quote_name(&spec.label);
    let mut merge_key = Vec::new();
    let mut sets = Vec::new();
    for (i, name) in spec.properties.iter().enumerate() {
        if spec.key.contains(&i) {
            merge_key.push(format!("{}: {}", quote_name(name), col(i + 1)));
        } else {
            sets.push(format!("n.{} = {}", quote_name(name), col(i + 1)));
        }
    }
    sets.extend((!owned).then(|| run_mark("n")));
    let tail = checkpoint_tail("n");
    let merge = format!("{source} MERGE (n:{label} {{{}}}){} {tail}", merge_key.join(", "), set_clause(&sets));
    let create =
        format!("{source} CREATE (n:{label}){} {tail}", set_clause(&assignments("n", &spec.properties, 1, col, owned)));
    (merge, create)
}

/// How a statement finds a relationship by its key between two matched ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyLookup {
    /// By expanding from its ends, `(a)-[x:T {key}]->(b)`: what every server can plan, but
    /// its cost grows with the number of relationships between the two ends.
    FromEnds,
    /// Through an index on the type's key, `()-[x:T {key}]->()`, then its ends compared:
    /// the same cost however dense the ends (Neo4j, where grafter made the index; 10,000
    /// lookups between five nodes took 32 s from the ends, 0.4 s through the index).
    ByIndex,
}

/// `x` found from `a` to `b` by its key (`key_pattern`, ` {k: …}` or empty) as `lookup` says:
/// a pattern and, through an index, the condition on its ends.
fn keyed_relationship(x: &str, rel_type: &str, key_pattern: &str, lookup: KeyLookup) -> (String, String) {
    match lookup {
        KeyLookup::ByIndex if !key_pattern.is_empty() => {
            (format!("()-[{x}:{rel_type}{key_pattern}]->()"), format!(" WHERE startNode({x}) = a AND endNode({x}) = b"))
        }
        _ => (format!("(a)-[{x}:{rel_type}{key_pattern}]->(b)"), String::new()),
    }
}

/// Row positions of a relationship batch: (start key, end key, first property).
fn relationship_positions(spec: &RelSpec) -> (usize, usize, usize) {
    let starts = spec.start.key_properties.len();
    let ends = spec.end.key_properties.len();
    (1, 1 + starts, 1 + starts + ends)
}

/// The lookup of a relationship batch: per record that cannot be written as new,
/// `[i, start missing, end missing, written by this run]` (`owned`: both end labels are,
/// see [`written_by_run`]; `keys`: how a keyed relationship is found).
pub(crate) fn relationship_lookup(spec: &RelSpec, col: Column, owned: bool, keys: KeyLookup) -> String {
    let (start_at, end_at, key_at) = relationship_positions(spec);
    let key_names: Vec<String> = spec.key.iter().map(|&k| spec.properties[k].clone()).collect();
    let lookup_key =
        if key_names.is_empty() { String::new() } else { format!(" {}", pattern(&key_names, key_at, col)) };
    let (found, on_ends) = keyed_relationship("x", &quote_name(&spec.rel_type), &lookup_key, keys);
    format!(
        "{UNWIND_ROWS} \
         OPTIONAL MATCH (a:{} {}) \
         OPTIONAL MATCH (b:{} {}) \
         OPTIONAL MATCH {found}{on_ends} \
         WITH r, a, b, x WHERE a IS NULL OR b IS NULL OR x IS NOT NULL \
         RETURN r[0], a IS NULL, b IS NULL, {}",
        quote_name(&spec.start.label),
        pattern(&spec.start.key_properties, start_at, col),
        quote_name(&spec.end.label),
        pattern(&spec.end.key_properties, end_at, col),
        written_by_run("x", owned)
    )
}

/// The writes of a relationship batch from the rows `source` yields: (with MERGE, with
/// CREATE); unmarked if the run `owns` both end labels (see [`written_by_run`]).
///
/// Through an index (`keys`), MERGE becomes what it means, spelled so that the server finds
/// the relationship by its key: Neo4j plans a `MERGE` of a keyed relationship between bound
/// ends by expanding from them, which a re-run over 200,000 keyed relationships among five
/// nodes took minutes to do.
pub(crate) fn relationship_writes(
    spec: &RelSpec,
    source: &str,
    col: Column,
    owned: bool,
    keys: KeyLookup,
) -> (String, String) {
    let rel_type = quote_name(&spec.rel_type);
    let (start_at, end_at, first_property) = relationship_positions(spec);
    let mut merge_key = Vec::new();
    let mut sets = Vec::new();
    for (i, name) in spec.properties.iter().enumerate() {
        if spec.key.contains(&i) {
            merge_key.push(format!("{}: {}", quote_name(name), col(first_property + i)));
        } else {
            sets.push(format!("x.{} = {}", quote_name(name), col(first_property + i)));
        }
    }
    sets.extend((!owned).then(|| run_mark("x")));
    let matched = format!(
        "{source} MATCH (a:{} {}), (b:{} {})",
        quote_name(&spec.start.label),
        pattern(&spec.start.key_properties, start_at, col),
        quote_name(&spec.end.label),
        pattern(&spec.end.key_properties, end_at, col)
    );
    let tail = checkpoint_tail("x");
    let merge_pattern = if merge_key.is_empty() { String::new() } else { format!(" {{{}}}", merge_key.join(", ")) };
    let merge = match keyed_relationship("x", &rel_type, &merge_pattern, keys) {
        (found, on_ends) if !on_ends.is_empty() => {
            let (earlier, earlier_on_ends) = keyed_relationship("earlier", &rel_type, &merge_pattern, keys);
            format!(
                "{matched} OPTIONAL MATCH {earlier}{earlier_on_ends} \
                 WITH r, a, b, count(earlier) AS there \
                 FOREACH (_ IN CASE WHEN there = 0 THEN [1] ELSE [] END | CREATE (a)-[:{rel_type}{merge_pattern}]->(b)) \
                 WITH r, a, b MATCH {found}{on_ends}{} {tail}",
                set_clause(&sets)
            )
        }
        _ => format!("{matched} MERGE (a)-[x:{rel_type}{merge_pattern}]->(b){} {tail}", set_clause(&sets)),
    };
    let create = format!(
        "{matched} CREATE (a)-[x:{rel_type}]->(b){} {tail}",
        set_clause(&assignments("x", &spec.properties, first_property, col, owned))
    );
    (merge, create)
}

/// How a relationship batch written without a lookup keeps from writing part of itself
/// when some record needs a closer look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Optimism {
    /// The statement gathers every record before writing and writes only if all can be
    /// (FalkorDB, which has no transactions; Neo4j).
    AllOrNothing,
    /// The statement writes what it can and returns how many; the client rolls the
    /// transaction back when that is short of the batch (ArcadeDB, whose Cypher gathers
    /// slowly).
    RolledBackIfShort,
}

/// The one-statement write of a relationship batch for when nothing can go wrong: every end
/// is found once and no relationship of the batch exists yet. It writes (and stores the
/// checkpoint) only then — else, as `optimism` says, it changes nothing and returns no row,
/// or it returns a count short of `$n` and the transaction is rolled back; the batch then
/// takes the lookup-then-write way. On a first load this halves the server's work: the ends
/// are looked up once instead of twice.
pub(crate) fn optimistic_relationship_write(
    spec: &RelSpec,
    col: Column,
    owned: bool,
    keys: KeyLookup,
    optimism: Optimism,
) -> String {
    let rel_type = quote_name(&spec.rel_type);
    let (start_at, end_at, first_property) = relationship_positions(spec);
    let key_positions: Vec<String> =
        spec.key.iter().map(|&k| format!("{}: {}", quote_name(&spec.properties[k]), col(first_property + k))).collect();
    let key = if key_positions.is_empty() { String::new() } else { format!(" {{{}}}", key_positions.join(", ")) };
    let absent = match keyed_relationship("y", &rel_type, &key, keys) {
        (found, on_ends) if !on_ends.is_empty() => format!("NOT EXISTS {{ MATCH {found}{on_ends} }}"),
        _ => format!("NOT (a)-[:{rel_type}{key}]->(b)"),
    };
    let (gather, complete) = match optimism {
        Optimism::AllOrNothing => (
            "WITH collect([a, b, r]) AS found WHERE size(found) = $n \
             UNWIND found AS f WITH f[0] AS a, f[1] AS b, f[2] AS r ",
            " WHERE written = $n",
        ),
        Optimism::RolledBackIfShort => ("", ""),
    };
    format!(
        "{UNWIND_ROWS} \
         MATCH (a:{} {}) MATCH (b:{} {}) \
         WHERE {absent} \
         {gather}CREATE (a)-[x:{rel_type}]->(b){} \
         WITH count(x) AS written{complete} {} RETURN written",
        quote_name(&spec.start.label),
        pattern(&spec.start.key_properties, start_at, col),
        quote_name(&spec.end.label),
        pattern(&spec.end.key_properties, end_at, col),
        set_clause(&assignments("x", &spec.properties, first_property, col, owned)),
        checkpoint_clause()
    )
}

/// Names of labels or relationship types that a client's writers share a finding about:
/// those whose [`optimistic_relationship_write`] (or write without a lookup) found
/// something to look at closer, whose batches take the lookup-then-write way from then on
/// (a re-run over elements that exist would pay for a statement that never writes, batch
/// after batch); those written by id (FalkorDB). Each field that holds one says which.
#[derive(Debug, Default)]
pub(crate) struct NameSet(std::sync::Mutex<std::collections::HashSet<String>>);

impl NameSet {
    /// Whether `name` is in the set.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(name)
    }

    /// Puts `name` in the set; whether it was not there before.
    pub(crate) fn insert(&self, name: &str) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointSpec;

    fn rel_spec() -> RelSpec {
        RelSpec {
            mapping: "m".into(),
            rel_type: "HAS".into(),
            start: EndpointSpec { label: "A".into(), key_properties: vec!["id".into()] },
            end: EndpointSpec { label: "B".into(), key_properties: vec!["x".into(), "y".into()] },
            properties: vec!["since".into(), "seq".into()],
            key: vec![1],
        }
    }

    #[test]
    fn positions_follow_the_row_layout_and_names_are_quoted() {
        let spec = NodeSpec {
            mapping: "m".into(),
            label: "Odd Label".into(),
            properties: vec!["id".into(), "na`me".into()],
            key: vec![0],
        };
        assert_eq!(
            node_lookup(&spec, &plain, false),
            "UNWIND $rows AS r MATCH (o:`Odd Label` {`id`: r[1]}) RETURN r[0], o.`_grafter_run` = $run"
        );
        assert!(node_lookup(&spec, &plain, true).ends_with("RETURN r[0], o IS NOT NULL"));
        let (merge, create) = node_writes(&spec, UNWIND_ROWS, &plain, false);
        assert!(
            merge.starts_with("UNWIND $rows AS r MERGE (n:`Odd Label` {`id`: r[1]}) SET n.`na``me` = r[2]"),
            "{merge}"
        );
        assert!(
            create.contains("SET n.`id` = r[1], n.`na``me` = r[2], n.`_grafter_run` = $run WITH count(n)"),
            "{create}"
        );
        assert!(
            relationship_lookup(&rel_spec(), &plain, true, KeyLookup::FromEnds).ends_with("b IS NULL, x IS NOT NULL")
        );
        let lookup = relationship_lookup(&rel_spec(), &plain, false, KeyLookup::FromEnds);
        assert!(lookup.contains("(a:`A` {`id`: r[1]})"), "{lookup}");
        assert!(lookup.contains("(b:`B` {`x`: r[2], `y`: r[3]})"), "{lookup}");
        // Lookup rows carry only the relationship key after the ends.
        assert!(lookup.contains("[x:`HAS` {`seq`: r[4]}]"), "{lookup}");
    }

    #[test]
    fn what_the_run_owns_is_written_without_its_mark() {
        let spec = NodeSpec { mapping: "m".into(), label: "P".into(), properties: vec!["id".into()], key: vec![0] };
        let (merge, create) = node_writes(&spec, UNWIND_ROWS, &plain, true);
        assert!(create.starts_with("UNWIND $rows AS r CREATE (n:`P`) SET n.`id` = r[1] WITH count(n)"), "{create}");
        // Only the key, which MERGE matches on: nothing to set.
        assert!(merge.starts_with("UNWIND $rows AS r MERGE (n:`P` {`id`: r[1]}) WITH count(n)"), "{merge}");
        let bare = RelSpec { properties: Vec::new(), key: Vec::new(), ..rel_spec() };
        let (merge, create) = relationship_writes(&bare, UNWIND_ROWS, &plain, true, KeyLookup::ByIndex);
        assert!(create.contains("CREATE (a)-[x:`HAS`]->(b) WITH count(x)"), "{create}");
        assert!(merge.contains("MERGE (a)-[x:`HAS`]->(b) WITH count(x)"), "{merge}");
        let optimistic =
            optimistic_relationship_write(&rel_spec(), &plain, true, KeyLookup::FromEnds, Optimism::AllOrNothing);
        assert!(optimistic.contains("SET x.`since` = r[4], x.`seq` = r[5] WITH count(x)"), "{optimistic}");
        for statement in [create, merge, optimistic] {
            assert!(!statement.contains(RUN_PROPERTY), "{statement}");
        }
        let (_, marked) = relationship_writes(&bare, UNWIND_ROWS, &plain, false, KeyLookup::FromEnds);
        assert!(marked.contains("CREATE (a)-[x:`HAS`]->(b) SET x.`_grafter_run` = $run WITH"), "{marked}");
    }

    #[test]
    fn a_write_rolled_back_when_short_gathers_nothing_and_counts_what_it_wrote() {
        let gathered =
            optimistic_relationship_write(&rel_spec(), &plain, true, KeyLookup::FromEnds, Optimism::AllOrNothing);
        assert!(gathered.contains("WITH collect([a, b, r]) AS found WHERE size(found) = $n"), "{gathered}");
        assert!(gathered.contains("WITH count(x) AS written WHERE written = $n OPTIONAL MATCH"), "{gathered}");
        let counted =
            optimistic_relationship_write(&rel_spec(), &plain, true, KeyLookup::FromEnds, Optimism::RolledBackIfShort);
        assert!(
            counted.contains("WHERE NOT (a)-[:`HAS` {`seq`: r[5]}]->(b) CREATE (a)-[x:`HAS`]->(b) SET"),
            "{counted}"
        );
        assert!(counted.contains("WITH count(x) AS written OPTIONAL MATCH"), "{counted}");
        assert!(!counted.contains("collect") && !counted.contains("$n"), "{counted}");
    }

    #[test]
    fn a_keyed_relationship_is_found_through_its_index_when_there_is_one() {
        let lookup = relationship_lookup(&rel_spec(), &plain, false, KeyLookup::ByIndex);
        assert!(
            lookup.contains(
                "OPTIONAL MATCH ()-[x:`HAS` {`seq`: r[4]}]->() WHERE startNode(x) = a AND endNode(x) = b WITH"
            ),
            "{lookup}"
        );
        let write =
            optimistic_relationship_write(&rel_spec(), &plain, false, KeyLookup::ByIndex, Optimism::AllOrNothing);
        assert!(
            write.contains(
                "WHERE NOT EXISTS { MATCH ()-[y:`HAS` {`seq`: r[5]}]->() WHERE startNode(y) = a AND endNode(y) = b } WITH"
            ),
            "{write}"
        );
        let (merge, _) = relationship_writes(&rel_spec(), UNWIND_ROWS, &plain, false, KeyLookup::ByIndex);
        assert!(
            merge.contains(
                "OPTIONAL MATCH ()-[earlier:`HAS` {`seq`: r[5]}]->() WHERE startNode(earlier) = a AND endNode(earlier) = b \
                 WITH r, a, b, count(earlier) AS there \
                 FOREACH (_ IN CASE WHEN there = 0 THEN [1] ELSE [] END | CREATE (a)-[:`HAS` {`seq`: r[5]}]->(b)) \
                 WITH r, a, b MATCH ()-[x:`HAS` {`seq`: r[5]}]->() WHERE startNode(x) = a AND endNode(x) = b \
                 SET x.`since` = r[4], x.`_grafter_run` = $run WITH count(x)"
            ),
            "{merge}"
        );
        // Without a key there is nothing to look up through an index.
        let unkeyed = RelSpec { key: Vec::new(), ..rel_spec() };
        let write = optimistic_relationship_write(&unkeyed, &plain, false, KeyLookup::ByIndex, Optimism::AllOrNothing);
        assert!(write.contains("WHERE NOT (a)-[:`HAS`]->(b) WITH"), "{write}");
        let lookup = relationship_lookup(&unkeyed, &plain, false, KeyLookup::ByIndex);
        assert!(lookup.contains("OPTIONAL MATCH (a)-[x:`HAS`]->(b) WITH"), "{lookup}");
    }

    #[test]
    fn a_column_can_be_rebuilt_in_the_statement_and_rows_can_come_from_elsewhere() {
        let exact = |i: usize| if i == 4 { format!("(r[{i}][0] * 2.0 ^ r[{i}][1])") } else { plain(i) };
        let (_, create) =
            relationship_writes(&rel_spec(), "MATCH (s) WITH [s.p0] AS r", &exact, false, KeyLookup::FromEnds);
        assert!(create.starts_with("MATCH (s) WITH [s.p0] AS r MATCH (a:`A`"), "{create}");
        assert!(create.contains("x.`since` = (r[4][0] * 2.0 ^ r[4][1]), x.`seq` = r[5]"), "{create}");
    }
}
