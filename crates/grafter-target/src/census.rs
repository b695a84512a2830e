//! What a graph holds by shape rather than element by element: nodes counted per set of
//! labels, relationships per type and the label sets of their two ends, and the properties
//! elements carry beyond those the caller knows of.
//!
//! `grafter verify` holds these against what the mappings create, so that nothing they do
//! not cover passes unseen — a label added to a mapped node, a relationship of a mapped type
//! between other labels, a property no mapping sets — while a clean graph costs a few
//! aggregates rather than more values read per element. grafter's own bookkeeping (nodes
//! with a `_Grafter…` label, the relationships touching them, the run mark property) never
//! appears.

/// Which part of the graph a census looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CensusPart {
    /// Nodes and relationships.
    Whole,
    /// Nodes only: no relationship shapes, and questions about relationships unanswered
    /// (empty).
    Nodes,
    /// Relationships only: no label sets, and questions about nodes unanswered (empty).
    Relationships,
}

impl CensusPart {
    /// Whether the part takes in nodes.
    pub fn nodes(self) -> bool {
        self != CensusPart::Relationships
    }

    /// Whether the part takes in relationships.
    pub fn relationships(self) -> bool {
        self != CensusPart::Nodes
    }
}

/// Nodes that carry exactly these labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelSet {
    /// The labels, sorted (empty for nodes without a label).
    pub labels: Vec<String>,
    /// How many nodes carry exactly them.
    pub nodes: u64,
}

/// Relationships of one type whose start and end nodes carry these label sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RelationshipShape {
    /// The type.
    pub rel_type: String,
    /// The start nodes' labels, sorted.
    pub start: Vec<String>,
    /// The end nodes' labels, sorted.
    pub end: Vec<String>,
    /// How many relationships have this shape.
    pub relationships: u64,
}

/// The whole graph by shape, grafter's bookkeeping left out; both lists sorted. With, for
/// each [`KnownProperties`] asked about, the properties its elements carry beyond them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Nodes per set of labels.
    pub nodes: Vec<LabelSet>,
    /// Relationships per type and ends' label sets.
    pub relationships: Vec<RelationshipShape>,
    /// Per question, in the order asked: the other properties, sorted by name.
    pub beyond: Vec<Vec<PropertyCount>>,
}

impl Census {
    /// A census from counts gathered in any order (repeats summed), with the answers to the
    /// property questions.
    pub fn from_counts(
        nodes: impl IntoIterator<Item = (Vec<String>, u64)>,
        relationships: impl IntoIterator<Item = ((String, Vec<String>, Vec<String>), u64)>,
        beyond: Vec<Vec<PropertyCount>>,
    ) -> Census {
        let mut by_labels = std::collections::BTreeMap::<Vec<String>, u64>::new();
        for (mut labels, count) in nodes {
            labels.sort();
            *by_labels.entry(labels).or_default() += count;
        }
        let mut by_shape = std::collections::BTreeMap::<(String, Vec<String>, Vec<String>), u64>::new();
        for ((rel_type, mut start, mut end), count) in relationships {
            start.sort();
            end.sort();
            *by_shape.entry((rel_type, start, end)).or_default() += count;
        }
        Census {
            nodes: by_labels.into_iter().map(|(labels, nodes)| LabelSet { labels, nodes }).collect(),
            relationships: by_shape
                .into_iter()
                .map(|((rel_type, start, end), relationships)| RelationshipShape {
                    rel_type,
                    start,
                    end,
                    relationships,
                })
                .collect(),
            beyond,
        }
    }
}

/// The elements a [`KnownProperties`] question is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elements {
    /// Nodes labelled `label`.
    Nodes {
        /// The label.
        label: String,
    },
    /// Relationships of `rel_type` from a node labelled `start` to one labelled `end`.
    Relationships {
        /// The type.
        rel_type: String,
        /// The start nodes' label.
        start: String,
        /// The end nodes' label.
        end: String,
    },
}

/// A question a census answers beside the shapes: which properties do these elements carry
/// other than `properties` (grafter's run mark never counts)?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownProperties {
    /// The elements.
    pub elements: Elements,
    /// The properties known of them.
    pub properties: Vec<String>,
}

/// A property name and how many elements carry it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PropertyCount {
    /// The property.
    pub name: String,
    /// Elements that carry it.
    pub elements: u64,
}

/// Property counts gathered in any order, repeats summed, sorted by name.
pub(crate) fn property_counts(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<PropertyCount> {
    let mut by_name = std::collections::BTreeMap::<String, u64>::new();
    for (name, count) in counts {
        *by_name.entry(name).or_default() += count;
    }
    by_name.into_iter().filter(|(_, n)| *n > 0).map(|(name, elements)| PropertyCount { name, elements }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn counts_gathered_page_by_page_are_summed_per_sorted_label_set() {
        let census = Census::from_counts(
            [(labels(&["B", "A"]), 2), (labels(&["A"]), 3), (labels(&["A", "B"]), 1)],
            [
                (("T".into(), labels(&["A"]), labels(&["B", "A"])), 4),
                (("T".into(), labels(&["A"]), labels(&["A", "B"])), 1),
            ],
            Vec::new(),
        );
        assert_eq!(
            census.nodes,
            [LabelSet { labels: labels(&["A"]), nodes: 3 }, LabelSet { labels: labels(&["A", "B"]), nodes: 3 }]
        );
        assert_eq!(
            census.relationships,
            [RelationshipShape {
                rel_type: "T".into(),
                start: labels(&["A"]),
                end: labels(&["A", "B"]),
                relationships: 5
            }]
        );
        assert_eq!(
            property_counts([("x".into(), 1), ("a".into(), 0), ("x".into(), 2)]),
            [PropertyCount { name: "x".into(), elements: 3 }]
        );
    }
}
