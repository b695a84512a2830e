//! Structure of hierarchies (`hierarchy = true`): in the graph, no cycle, and no node with
//! more than one parent.
//!
//! Which end of a hierarchy relationship is the parent depends on the mapping: `grafter
//! init` points each row's node at its parent (child → parent), a hand-written tree often
//! points the other way (Placement's `PARENT_OF`). So the side that must be unique is taken
//! from the graph itself: in a tree, one side never repeats and the other repeats wherever a
//! parent has several children, so the side with fewer repeated nodes is the child side, and
//! its repeated nodes are the ones with several parents. The relationships are read as
//! pairs of key hashes (32 bytes each); keys are read again, only for the nodes a finding
//! names.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use grafter_model::{KeyHash, Value, key_hash};
use grafter_target::GraphTarget;
use rustc_hash::{FxHashMap, FxHashSet};

use super::group::{Group, Kind};
use super::report::{Finding, NodeRef};
use crate::EngineError;

/// The most cycles and several-parent nodes listed one by one.
const MOST: usize = 100;

/// Checks the hierarchy `group` (a relationship group between nodes of one label).
pub(crate) async fn check(group: &Group, target: &dyn GraphTarget) -> Result<Vec<Finding>, EngineError> {
    let Kind::Relationships { rel_type, start, end, .. } = &group.kind else { return Ok(Vec::new()) };
    let widths = (start.key_properties.len(), end.key_properties.len());
    let mut edges: Vec<(KeyHash, KeyHash)> = Vec::new();
    let mut stream = target.reader().scan_relationships(rel_type, start, end, &[]).await?;
    while let Some(batch) = stream.next().await {
        for row in batch? {
            edges.push((key_hash(&row[..widths.0]), key_hash(&row[widths.0..widths.0 + widths.1])));
        }
    }

    let mut out_degree: FxHashMap<KeyHash, u32> = FxHashMap::default();
    let mut in_degree: FxHashMap<KeyHash, u32> = FxHashMap::default();
    for (from, to) in &edges {
        *out_degree.entry(*from).or_default() += 1;
        *in_degree.entry(*to).or_default() += 1;
    }
    let repeated_starts = out_degree.values().filter(|&&d| d > 1).count();
    let repeated_ends = in_degree.values().filter(|&&d| d > 1).count();
    // The child side is the one that repeats less (see the module's note).
    let child_is_start = repeated_starts < repeated_ends;
    let mut parents_of: BTreeMap<KeyHash, Vec<KeyHash>> = BTreeMap::new();
    for (from, to) in &edges {
        let (child, parent) = if child_is_start { (*from, *to) } else { (*to, *from) };
        let degree = if child_is_start { out_degree[&child] } else { in_degree[&child] };
        if degree > 1 {
            parents_of.entry(child).or_default().push(parent);
        }
    }
    let cycles = cycles(&edges);

    let mut wanted: FxHashSet<KeyHash> = FxHashSet::default();
    for (child, parents) in parents_of.iter().take(MOST) {
        wanted.insert(*child);
        wanted.extend(parents.iter().copied());
    }
    wanted.extend(cycles.iter().flatten().copied());
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let keys = key_values(group, target, &wanted).await?;
    let node = |hash: &KeyHash| {
        let values = keys.get(hash).cloned().unwrap_or_default();
        NodeRef::new(&start.label, &start.key_properties, &values)
    };
    let mut findings: Vec<Finding> =
        cycles.iter().map(|cycle| Finding::Cycle { nodes: cycle.iter().map(node).collect() }).collect();
    findings.extend(parents_of.iter().take(MOST).map(|(child, parents)| Finding::SeveralParents {
        node: node(child),
        parents: parents.iter().map(node).collect(),
    }));
    Ok(findings)
}

/// Cycles among `edges` (each listed once, from its smallest node, at most [`MOST`]).
fn cycles(edges: &[(KeyHash, KeyHash)]) -> Vec<Vec<KeyHash>> {
    let mut next: FxHashMap<KeyHash, Vec<KeyHash>> = FxHashMap::default();
    for (from, to) in edges {
        next.entry(*from).or_default().push(*to);
    }
    // Depth-first, iteratively (a hierarchy can be deeper than the stack): 1 = on the current
    // path, 2 = done.
    let mut state: FxHashMap<KeyHash, u8> = FxHashMap::default();
    let mut found: Vec<Vec<KeyHash>> = Vec::new();
    let mut starts: Vec<KeyHash> = next.keys().copied().collect();
    starts.sort_unstable();
    for root in starts {
        if state.contains_key(&root) || found.len() >= MOST {
            continue;
        }
        let mut path: Vec<KeyHash> = vec![root];
        let mut cursor: Vec<usize> = vec![0];
        state.insert(root, 1);
        while let Some(&node) = path.last() {
            let position = cursor.last_mut().expect("one cursor per node on the path");
            let child = next.get(&node).and_then(|children| children.get(*position)).copied();
            *position += 1;
            match child {
                Some(child) => match state.get(&child) {
                    None => {
                        state.insert(child, 1);
                        path.push(child);
                        cursor.push(0);
                    }
                    Some(1) => {
                        let at = path.iter().position(|n| *n == child).expect("on the path");
                        let mut cycle = path[at..].to_vec();
                        let smallest = cycle.iter().enumerate().min_by_key(|(_, n)| **n).map_or(0, |(i, _)| i);
                        cycle.rotate_left(smallest);
                        if !found.contains(&cycle) {
                            found.push(cycle);
                        }
                    }
                    Some(_) => {}
                },
                None => {
                    state.insert(node, 2);
                    path.pop();
                    cursor.pop();
                }
            }
        }
    }
    found
}

/// The key values of the label's nodes whose key hashes are `wanted`.
async fn key_values(
    group: &Group,
    target: &dyn GraphTarget,
    wanted: &FxHashSet<KeyHash>,
) -> Result<FxHashMap<KeyHash, Vec<Value>>, EngineError> {
    let Kind::Relationships { start, .. } = &group.kind else { return Ok(FxHashMap::default()) };
    let mut keys = FxHashMap::default();
    let mut stream = target.reader().scan_nodes(&start.label, &start.key_properties).await?;
    while let Some(batch) = stream.next().await {
        for row in batch? {
            let hash = key_hash(&row);
            if wanted.contains(&hash) {
                keys.insert(hash, row);
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_has_no_cycles() {
        assert!(cycles(&[(1, 2), (1, 3), (2, 4), (3, 5)]).is_empty());
    }

    #[test]
    fn cycles_are_found_once_each_from_their_smallest_node() {
        let found = cycles(&[(1, 2), (2, 3), (3, 1), (3, 4), (5, 5), (6, 7)]);
        assert_eq!(found, vec![vec![1, 2, 3], vec![5]]);
    }
}
