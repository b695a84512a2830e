//! What is compared as one: all node mappings of a label, or all relationship mappings of a
//! type between two labels.
//!
//! The loader shares identities that way: a node key written by one mapping of a label is a
//! duplicate when another mapping of the label meets it again, and a relationship is known
//! by its type, its two end nodes and its key. The graph is read back the same way (a
//! label's nodes, a type's relationships between two labels), so each group is compared with
//! one stream per side. A group's properties are the sorted union of its mappings'.

use grafter_plan::MappingKind;
use grafter_target::EndpointSpec;

use crate::prepare::PreparedMapping;

/// A mapping within its group.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The mapping, bound and ready to scan.
    pub prepared: PreparedMapping,
    /// For each of the mapping's properties, its position among the group's names.
    pub to_group: Vec<usize>,
    /// The mapping's property positions in name order: the order digests take them in.
    pub digest_order: Vec<usize>,
}

/// What a group holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Nodes of a label.
    Nodes {
        /// The label.
        label: String,
        /// Its key properties.
        key: Vec<String>,
    },
    /// Relationships of a type between two labels.
    Relationships {
        /// The type.
        rel_type: String,
        /// The start nodes' label and key.
        start: EndpointSpec,
        /// The end nodes' label and key.
        end: EndpointSpec,
        /// The relationship's own key properties (the first mapping's, if mappings differ).
        key: Vec<String>,
        /// Whether a mapping declares it a hierarchy.
        hierarchy: bool,
    },
}

/// Mappings compared together.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// What the group holds.
    pub kind: Kind,
    /// Its mappings, in load order.
    pub members: Vec<Member>,
    /// The property names, sorted: the columns read back from the graph (the mappings'
    /// properties, and any the graph holds beyond them).
    pub names: Vec<String>,
    /// Of `names`, those no mapping of the group sets but the graph's elements carry,
    /// sorted: read back so that digests cover them.
    pub unmapped: Vec<String>,
    /// Positions in `names` of the key (node key, or relationship key).
    pub key_positions: Vec<usize>,
    /// Whether the caller asked for it (others are read only for the node keys they give).
    pub selected: bool,
}

impl Group {
    /// `(:Label)` or `(:A)-[:TYPE]->(:B)`.
    pub fn what(&self) -> String {
        match &self.kind {
            Kind::Nodes { label, .. } => format!("(:{label})"),
            Kind::Relationships { rel_type, start, end, .. } => {
                format!("(:{})-[:{rel_type}]->(:{})", start.label, end.label)
            }
        }
    }

    /// Whether no mapping of the group sets property `name`.
    pub fn is_unmapped(&self, name: &str) -> bool {
        self.unmapped.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
    }

    /// Reads back `names` too: properties the graph's elements carry that no mapping sets.
    pub fn add_unmapped(&mut self, names: impl IntoIterator<Item = String>) {
        self.unmapped.extend(names.into_iter().filter(|n| self.names.binary_search(n).is_err()));
        self.unmapped.sort_unstable();
        self.unmapped.dedup();
        let mut all: Vec<String> = self.names.iter().chain(&self.unmapped).cloned().collect();
        all.sort_unstable();
        all.dedup();
        self.set_names(all);
    }

    /// Sets the names read back and where each member's properties and the key fall among
    /// them.
    fn set_names(&mut self, names: Vec<String>) {
        for member in &mut self.members {
            member.to_group = member
                .prepared
                .bound
                .properties
                .iter()
                .map(|p| names.binary_search(&p.name).expect("the names hold every member's properties"))
                .collect();
        }
        let key = match &self.kind {
            Kind::Nodes { key, .. } | Kind::Relationships { key, .. } => key,
        };
        // Binding checked that the key properties are properties of every mapping.
        self.key_positions = key.iter().filter_map(|k| names.binary_search(k).ok()).collect();
        self.names = names;
    }

    /// The label, for node groups.
    pub fn label(&self) -> Option<&str> {
        match &self.kind {
            Kind::Nodes { label, .. } => Some(label),
            Kind::Relationships { .. } => None,
        }
    }
}

/// Groups `prepared` (in load order): node groups first, then relationship groups, each in
/// the order of its first mapping. `selected` tells which mappings the caller asked for; a
/// group is verified when any of its mappings is.
pub(crate) fn groups(prepared: &[PreparedMapping], selected: impl Fn(&str) -> bool) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for node_pass in [true, false] {
        for mapping in prepared.iter().filter(|p| p.mapping.is_node() == node_pass) {
            let kind = match &mapping.mapping.kind {
                MappingKind::Node { label, key } => Kind::Nodes { label: label.clone(), key: key.clone() },
                MappingKind::Relationship { rel_type, start, end, key, hierarchy, .. } => Kind::Relationships {
                    rel_type: rel_type.clone(),
                    start: EndpointSpec { label: start.label.clone(), key_properties: start.key_properties.clone() },
                    end: EndpointSpec { label: end.label.clone(), key_properties: end.key_properties.clone() },
                    key: key.clone(),
                    hierarchy: *hierarchy,
                },
            };
            let found = groups.iter_mut().find(|g| same_group(&g.kind, &kind));
            let group = match found {
                Some(group) => {
                    if let (Kind::Relationships { hierarchy, .. }, Kind::Relationships { hierarchy: h, .. }) =
                        (&mut group.kind, &kind)
                    {
                        *hierarchy |= *h;
                    }
                    group
                }
                None => {
                    groups.push(Group {
                        kind,
                        members: Vec::new(),
                        names: Vec::new(),
                        unmapped: Vec::new(),
                        key_positions: Vec::new(),
                        selected: false,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            group.selected |= selected(&mapping.mapping.name);
            group.members.push(Member { prepared: mapping.clone(), to_group: Vec::new(), digest_order: Vec::new() });
        }
    }
    for group in &mut groups {
        let mut names: Vec<String> =
            group.members.iter().flat_map(|m| m.prepared.bound.properties.iter().map(|p| p.name.clone())).collect();
        names.sort_unstable();
        names.dedup();
        for member in &mut group.members {
            let properties = &member.prepared.bound.properties;
            let mut order: Vec<usize> = (0..properties.len()).collect();
            order.sort_by(|&a, &b| properties[a].name.cmp(&properties[b].name));
            member.digest_order = order;
        }
        group.set_names(names);
    }
    groups
}

fn same_group(a: &Kind, b: &Kind) -> bool {
    match (a, b) {
        (Kind::Nodes { label: a, .. }, Kind::Nodes { label: b, .. }) => a == b,
        (
            Kind::Relationships { rel_type: t1, start: s1, end: e1, .. },
            Kind::Relationships { rel_type: t2, start: s2, end: e2, .. },
        ) => t1 == t2 && s1.label == s2.label && e1.label == e2.label,
        _ => false,
    }
}
