//! What the graph holds beyond what the mappings create, from the target's [`Census`] — so
//! that verification sees more than the elements it compares one by one.
//!
//! A node of a mapped label that carries another label too, and a relationship of a mapped
//! type between labels no mapping connects with it, are findings: the mappings created the
//! label or type, and something else changed what they made. Elements whose labels, or whose
//! type, no mapping creates at all are another matter: the graph may be shared, or hold
//! what another tool wrote. They are listed as not from this config and fail a verification
//! only when it is strict. (Properties no mapping sets are found per group, then compared
//! element by element: [`super::group::Group::add_unmapped`].) Where the comparisons read
//! every relationship already, the census's relationship half is told from what they read
//! ([`relationships_from_scans`]) rather than read again.

use std::collections::{BTreeMap, BTreeSet};

use grafter_target::{Census, CensusPart, Elements, GraphTarget, KnownProperties, RelationshipShape, TargetError};

use super::group::{Group, Kind};
use super::report::{Finding, NotFromConfig};

/// `(:A:B)` for a node's labels, `()` for none.
fn node_pattern(labels: &[String]) -> String {
    format!("({})", labels.iter().map(|l| format!(":{l}")).collect::<String>())
}

/// What the census shows beyond the mappings.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Beyond {
    /// Findings, each with the mapping it is reported under.
    pub findings: Vec<(String, Finding)>,
    /// Elements of labels or types no mapping creates (only when everything is verified).
    pub not_from_config: Vec<NotFromConfig>,
}

/// The census's questions: which groups are asked about (the selected ones; relationships
/// only when compared in full: `sampled` counts them), and the properties each knows.
pub(crate) fn questions(groups: &[Group], sampled: bool) -> (Vec<usize>, Vec<KnownProperties>) {
    let asked: Vec<usize> =
        (0..groups.len()).filter(|&i| groups[i].selected && (!sampled || groups[i].label().is_some())).collect();
    let questions = asked
        .iter()
        .map(|&i| KnownProperties { elements: elements(&groups[i]), properties: groups[i].names.clone() })
        .collect();
    (asked, questions)
}

/// The target's census of `part` of the graph, `None` when the target cannot tell.
pub(crate) async fn census(
    target: &dyn GraphTarget,
    questions: &[KnownProperties],
    part: CensusPart,
) -> Result<Option<Census>, TargetError> {
    match target.reader().census(questions, part).await {
        Ok(census) => Ok(Some(census)),
        Err(TargetError::Unsupported { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The relationship half of the census, told from what the comparisons read, when that
/// settles it — so that a clean graph's relationships are read once, not twice. `scanned`
/// gives, per compared group (by index), the relationships its scan read and how many of
/// them carry properties beyond its names; `type_counts` the graph's relationships per type
/// (from the target's counts, [`GraphReader::relationship_counts`]).
///
/// Settled when no node carries two labels (so no relationship matches two groups' label
/// pairs, and each one's ends carry exactly its group's labels), the groups of every type
/// read as many relationships as the graph holds of it (so every one was read: none between
/// other labels, none of a type no mapping creates), and none carried a property beyond
/// its group's names. Then the census would list each group's relationships as one shape,
/// `(:start)-[:TYPE]->(:end)`, with nothing beyond: that list is returned. `None` otherwise:
/// the census must read the relationships.
///
/// [`GraphReader::relationship_counts`]: grafter_target::GraphReader::relationship_counts
pub(crate) fn relationships_from_scans(
    nodes: &Census,
    type_counts: &BTreeMap<String, u64>,
    groups: &[Group],
    scanned: &BTreeMap<usize, (u64, u64)>,
) -> Option<Vec<RelationshipShape>> {
    if nodes.nodes.iter().any(|set| set.labels.len() > 1) {
        return None;
    }
    let mut read_per_type = BTreeMap::<&str, u64>::new();
    let mut shapes = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let Kind::Relationships { rel_type, start, end, .. } = &group.kind else { continue };
        let &(read, carrying_more) = scanned.get(&index)?;
        if carrying_more > 0 {
            return None;
        }
        *read_per_type.entry(rel_type).or_default() += read;
        if read > 0 {
            shapes.push(RelationshipShape {
                rel_type: rel_type.clone(),
                start: vec![start.label.clone()],
                end: vec![end.label.clone()],
                relationships: read,
            });
        }
    }
    let every_type = type_counts.keys().map(String::as_str).chain(read_per_type.keys().copied());
    let accounted = every_type
        .into_iter()
        .all(|t| type_counts.get(t).copied().unwrap_or(0) == read_per_type.get(t).copied().unwrap_or(0));
    accounted.then(|| {
        shapes.sort();
        shapes
    })
}

/// A census of the nodes and one of the relationships as one: each question answered by
/// the half that covers its elements.
pub(crate) fn joined(nodes: &Census, relationships: Census, questions: &[KnownProperties]) -> Census {
    let beyond = questions
        .iter()
        .enumerate()
        .map(|(i, question)| {
            let half = match question.elements {
                Elements::Nodes { .. } => nodes,
                Elements::Relationships { .. } => &relationships,
            };
            half.beyond.get(i).cloned().unwrap_or_default()
        })
        .collect();
    Census { nodes: nodes.nodes.clone(), relationships: relationships.relationships, beyond }
}

/// Looks beyond the mappings with the answers to [`questions`]: adds to each `asked` group
/// the properties its elements carry beyond its names (read back with the others then, so
/// digests cover them), and holds the census against `groups`. Also returns the groups
/// whose names grew: compared without those properties, they must be compared again.
pub(crate) fn look(census: &Census, asked: &[usize], groups: &mut [Group], everything: bool) -> (Beyond, Vec<usize>) {
    let mut grown = Vec::new();
    for (&i, found) in asked.iter().zip(&census.beyond) {
        let before = groups[i].names.len();
        groups[i].add_unmapped(found.iter().map(|p| p.name.clone()));
        if groups[i].names.len() != before {
            grown.push(i);
        }
    }
    (compare(census, groups, everything), grown)
}

/// Holds `census` against `groups` (every mapping's, selected or not). Findings concern the
/// selected groups; elements not from this config are listed when `everything` is verified.
pub(crate) fn compare(census: &Census, groups: &[Group], everything: bool) -> Beyond {
    let mut beyond = Beyond::default();
    let labels: BTreeSet<&str> = groups.iter().filter_map(Group::label).collect();
    let shapes: Vec<(&str, &str, &str)> = groups
        .iter()
        .filter_map(|g| match &g.kind {
            Kind::Relationships { rel_type, start, end, .. } => {
                Some((rel_type.as_str(), start.label.as_str(), end.label.as_str()))
            }
            Kind::Nodes { .. } => None,
        })
        .collect();
    let first_mapping = |group: &Group| group.members[0].prepared.mapping.name.clone();

    for set in &census.nodes {
        if !set.labels.iter().any(|l| labels.contains(l.as_str())) {
            if everything {
                beyond.not_from_config.push(NotFromConfig {
                    kind: "node",
                    pattern: node_pattern(&set.labels),
                    count: set.nodes,
                });
            }
            continue;
        }
        for group in groups.iter().filter(|g| g.selected) {
            let Some(label) = group.label() else { continue };
            if set.labels.len() > 1 && set.labels.iter().any(|l| l == label) {
                let others = set.labels.iter().filter(|l| *l != label).cloned().collect();
                beyond.findings.push((
                    first_mapping(group),
                    Finding::ExtraLabels { what: node_pattern(&[label.to_owned()]), labels: others, nodes: set.nodes },
                ));
            }
        }
    }

    for shape in &census.relationships {
        let of_type: Vec<&(&str, &str, &str)> = shapes.iter().filter(|(t, ..)| *t == shape.rel_type).collect();
        let pattern = format!("{}-[:{}]->{}", node_pattern(&shape.start), shape.rel_type, node_pattern(&shape.end));
        if of_type.is_empty() {
            if everything {
                beyond.not_from_config.push(NotFromConfig {
                    kind: "relationship",
                    pattern,
                    count: shape.relationships,
                });
            }
            continue;
        }
        let has = |labels: &[String], label: &str| labels.iter().any(|l| l == label);
        if of_type.iter().any(|(_, start, end)| has(&shape.start, start) && has(&shape.end, end)) {
            continue;
        }
        // Reported under the first selected mapping of the type.
        let Some(group) = groups.iter().find(|g| {
            g.selected && matches!(&g.kind, Kind::Relationships { rel_type, .. } if *rel_type == shape.rel_type)
        }) else {
            continue;
        };
        let mapped = of_type.iter().map(|(t, start, end)| format!("(:{start})-[:{t}]->(:{end})")).collect::<Vec<_>>();
        beyond.findings.push((
            first_mapping(group),
            Finding::MisplacedRelationships { what: pattern, relationships: shape.relationships, mapped },
        ));
    }
    beyond
}

/// The elements of `group`, as a census question names them.
fn elements(group: &Group) -> Elements {
    match &group.kind {
        Kind::Nodes { label, .. } => Elements::Nodes { label: label.clone() },
        Kind::Relationships { rel_type, start, end, .. } => {
            Elements::Relationships { rel_type: rel_type.clone(), start: start.label.clone(), end: end.label.clone() }
        }
    }
}
