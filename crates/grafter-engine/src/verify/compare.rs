//! Comparing kept elements one by one: the source's and the graph's elements of a range (or a
//! sample), matched by identity, become findings — missing, extra, duplicate, property
//! differs, properties no mapping sets — and, once a relationship group is done, a missing
//! and an extra relationship that leave the same node with the same key become one
//! retargeted relationship.

use std::collections::BTreeMap;

use grafter_model::{Value, key_hash};

use super::elements::Kept;
use super::group::{Group, Kind};
use super::report::{ElementRef, FieldDifference, Finding, NodeRef};

/// Findings of one group, per member mapping, while its ranges are resolved.
pub(crate) struct GroupFindings {
    /// Per member: findings so far.
    pub per_member: Vec<Vec<Finding>>,
    /// Per member: expected elements not in the graph.
    pub missing: Vec<u64>,
    /// Missing relationships, held back until the group is done to pair them with extra ones.
    missing_held: Vec<Kept>,
    /// Extra relationships, held back likewise.
    extra_held: Vec<Kept>,
}

impl GroupFindings {
    /// Nothing found yet, for a group of `members` mappings.
    pub fn new(members: usize) -> GroupFindings {
        GroupFindings {
            per_member: vec![Vec::new(); members],
            missing: vec![0; members],
            missing_held: Vec::new(),
            extra_held: Vec::new(),
        }
    }

    /// Compares one range: `expected` from the source (one per identity), `actual` from the
    /// graph.
    pub fn resolve(&mut self, group: &Group, expected: Vec<Kept>, actual: Vec<Kept>) {
        let mut by_identity: BTreeMap<u128, (Option<Kept>, Vec<Kept>)> = BTreeMap::new();
        for element in expected {
            let identity = element.identity;
            by_identity.entry(identity).or_default().0 = Some(element);
        }
        for element in actual {
            let identity = element.identity;
            by_identity.entry(identity).or_default().1.push(element);
        }
        let relationships = matches!(group.kind, Kind::Relationships { .. });
        for (_, (expected, actual)) in by_identity {
            match (expected, actual.len()) {
                (None, _) => {
                    for extra in actual {
                        if relationships {
                            self.extra_held.push(extra);
                        } else {
                            self.per_member[0].push(Finding::Extra { element: element_ref(group, &extra) });
                        }
                    }
                }
                (Some(expected), 0) => {
                    let member = expected.member.unwrap_or(0);
                    self.missing[member] += 1;
                    if relationships {
                        self.missing_held.push(expected);
                    } else {
                        self.per_member[member].push(Finding::Missing { element: element_ref(group, &expected) });
                    }
                }
                (Some(expected), copies) => {
                    let member = expected.member.unwrap_or(0);
                    if copies > 1 {
                        self.per_member[member]
                            .push(Finding::Duplicate { element: element_ref(group, &expected), copies: copies as u64 });
                    }
                    // With copies, the content is right when one of them is.
                    if !actual.iter().any(|a| a.digest == expected.digest) {
                        let (fields, unmapped): (Vec<FieldDifference>, Vec<FieldDifference>) =
                            differences(&group.names, &expected.values, &actual[0].values)
                                .into_iter()
                                .partition(|field| !group.is_unmapped(&field.property));
                        let element = element_ref(group, &expected);
                        if !fields.is_empty() {
                            self.per_member[member].push(Finding::PropertyDiffers { element: element.clone(), fields });
                        }
                        if !unmapped.is_empty() {
                            let properties = unmapped.into_iter().map(|field| (field.property, field.target)).collect();
                            self.per_member[member].push(Finding::ExtraProperties { element, properties });
                        }
                    }
                }
            }
        }
    }

    /// Finishes the group: pairs retargeted relationships, lists the rest as missing or
    /// extra, and returns the findings per member.
    pub fn finish(mut self, group: &Group) -> (Vec<Vec<Finding>>, Vec<u64>) {
        let mut extra: BTreeMap<u128, Vec<Kept>> = BTreeMap::new();
        for element in std::mem::take(&mut self.extra_held) {
            extra.entry(element.pair).or_default().push(element);
        }
        for missing in std::mem::take(&mut self.missing_held) {
            let member = missing.member.unwrap_or(0);
            let partner = extra.get_mut(&missing.pair).and_then(Vec::pop);
            self.per_member[member].push(match partner {
                Some(actual) => {
                    let Kind::Relationships { end, .. } = &group.kind else { unreachable!("held for relationships") };
                    Finding::Retargeted {
                        element: element_ref(group, &missing),
                        actual_end: NodeRef::new(&end.label, &end.key_properties, &actual.end),
                    }
                }
                None => Finding::Missing { element: element_ref(group, &missing) },
            });
        }
        for element in extra.into_values().flatten() {
            self.per_member[0].push(Finding::Extra { element: element_ref(group, &element) });
        }
        (self.per_member, self.missing)
    }
}

/// The properties whose values differ (NULL and unset are the same), with both values.
fn differences(names: &[String], expected: &[Value], actual: &[Value]) -> Vec<FieldDifference> {
    names
        .iter()
        .zip(expected.iter().zip(actual))
        // Compared as digests compare them: by type and value.
        .filter(|(_, (e, a))| key_hash([*e]) != key_hash([*a]))
        .map(|(name, (e, a))| FieldDifference { property: name.clone(), source: e.to_json(), target: a.to_json() })
        .collect()
}

/// How findings name a kept element.
pub(crate) fn element_ref(group: &Group, element: &Kept) -> ElementRef {
    match &group.kind {
        Kind::Nodes { label, key } => ElementRef::Node(NodeRef::new(label, key, &element.start)),
        Kind::Relationships { rel_type, start, end, key, .. } => ElementRef::Relationship {
            rel_type: rel_type.clone(),
            start: NodeRef::new(&start.label, &start.key_properties, &element.start),
            end: NodeRef::new(&end.label, &end.key_properties, &element.end),
            key: key.iter().zip(&group.key_positions).map(|(k, &i)| (k.clone(), element.values[i].to_json())).collect(),
        },
    }
}
