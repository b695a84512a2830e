//! What `grafter verify` found: a [`VerifyReport`] with one [`MappingReport`] per mapping,
//! each [`Finding`] a typed, serialisable record a person (text, HTML) or a program (JSON)
//! can act on, and the outcome of every custom check.

use std::collections::BTreeMap;
use std::fmt;

use grafter_model::{Value, VerificationSummary};
use serde::Serialize;

/// A node identified by its label and key, as findings name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRef {
    /// The label.
    pub label: String,
    /// Key property → value (JSON form).
    pub key: serde_json::Map<String, serde_json::Value>,
}

impl NodeRef {
    /// The node with `label` whose key properties `names` have `values`.
    pub fn new(label: &str, names: &[String], values: &[Value]) -> NodeRef {
        NodeRef {
            label: label.to_owned(),
            key: names.iter().zip(values).map(|(n, v)| (n.clone(), v.to_json())).collect(),
        }
    }
}

impl fmt::Display for NodeRef {
    /// `(:Label {key: "value"})`, strings quoted so that `"5"` and `5` read differently.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(:{} {{{}}})", self.label, pairs(&self.key))
    }
}

/// `one` or `many`, as `n` asks.
fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

fn pairs(map: &serde_json::Map<String, serde_json::Value>) -> String {
    map.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
}

/// The element a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "element", rename_all = "snake_case")]
pub enum ElementRef {
    /// A node.
    Node(NodeRef),
    /// A relationship: its type, its two ends and its own key (empty when it has none).
    Relationship {
        /// The type.
        #[serde(rename = "type")]
        rel_type: String,
        /// The start node.
        start: NodeRef,
        /// The end node.
        end: NodeRef,
        /// The relationship's key properties, if it has any.
        key: serde_json::Map<String, serde_json::Value>,
    },
}

impl fmt::Display for ElementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementRef::Node(node) => node.fmt(f),
            ElementRef::Relationship { rel_type, start, end, key } if key.is_empty() => {
                write!(f, "{start}-[:{rel_type}]->{end}")
            }
            ElementRef::Relationship { rel_type, start, end, key } => {
                write!(f, "{start}-[:{rel_type} {{{}}}]->{end}", pairs(key))
            }
        }
    }
}

/// One property whose value differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDifference {
    /// The property.
    pub property: String,
    /// Its value from the source, through the mapping's transforms (null: not set).
    pub source: serde_json::Value,
    /// Its value in the graph (null: not set).
    pub target: serde_json::Value,
}

/// Something that does not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The source says the element must be there; the graph does not have it.
    Missing {
        /// The element.
        element: ElementRef,
    },
    /// The graph has an element the source does not account for.
    Extra {
        /// The element.
        element: ElementRef,
    },
    /// The element is there, with different property values.
    PropertyDiffers {
        /// The element.
        element: ElementRef,
        /// The properties that differ, with both values.
        fields: Vec<FieldDifference>,
    },
    /// A relationship leaves the right node but arrives at another one.
    Retargeted {
        /// The relationship as the source has it.
        element: ElementRef,
        /// The end node it has in the graph instead.
        actual_end: NodeRef,
    },
    /// Several elements in the graph share one identity (a node key, or a relationship's ends
    /// and key) that the loader never writes twice.
    Duplicate {
        /// The element.
        element: ElementRef,
        /// How many the graph holds.
        copies: u64,
    },
    /// A label or type holds another number of elements than the source accounts for.
    CountMismatch {
        /// `(:Label)` or `(:A)-[:TYPE]->(:B)`.
        what: String,
        /// Source rows minus rejected rows.
        expected: u64,
        /// In the graph.
        actual: u64,
    },
    /// Relationships of a hierarchy form a cycle.
    Cycle {
        /// The nodes on it, in order.
        nodes: Vec<NodeRef>,
    },
    /// A node of a hierarchy has more than one parent.
    SeveralParents {
        /// The node.
        node: NodeRef,
        /// Its parents.
        parents: Vec<NodeRef>,
    },
    /// The element carries properties no mapping sets (and the source knows nothing of).
    ExtraProperties {
        /// The element.
        element: ElementRef,
        /// Those properties with their values in the graph.
        properties: serde_json::Map<String, serde_json::Value>,
    },
    /// Nodes of the mapping's label also carry labels no mapping gives them.
    ExtraLabels {
        /// `(:Label)`.
        what: String,
        /// The other labels they carry, sorted.
        labels: Vec<String>,
        /// How many nodes carry exactly these.
        nodes: u64,
    },
    /// Relationships of a type the mappings create, between labels no mapping connects
    /// with it.
    MisplacedRelationships {
        /// `(:A)-[:TYPE]->(:B)` as the graph has them (every label of each end).
        what: String,
        /// How many.
        relationships: u64,
        /// Where the mappings create the type.
        mapped: Vec<String>,
    },
    /// More differences than are listed one by one: where they are, not what they are.
    NotItemised {
        /// Elements in the differing parts not itemised, on the source side.
        source_elements: u64,
        /// The same, on the graph side.
        target_elements: u64,
    },
}

impl Finding {
    /// The kind, as in JSON (`missing`, `property_differs`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Missing { .. } => "missing",
            Finding::Extra { .. } => "extra",
            Finding::PropertyDiffers { .. } => "property_differs",
            Finding::Retargeted { .. } => "retargeted",
            Finding::Duplicate { .. } => "duplicate",
            Finding::CountMismatch { .. } => "count_mismatch",
            Finding::Cycle { .. } => "cycle",
            Finding::SeveralParents { .. } => "several_parents",
            Finding::ExtraProperties { .. } => "extra_properties",
            Finding::ExtraLabels { .. } => "extra_labels",
            Finding::MisplacedRelationships { .. } => "misplaced_relationships",
            Finding::NotItemised { .. } => "not_itemised",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Missing { element } => write!(f, "missing in the graph: {element}"),
            Finding::Extra { element } => write!(f, "not in the source: {element}"),
            Finding::PropertyDiffers { element, fields } => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|d| format!("{}: source {} ≠ graph {}", d.property, d.source, d.target))
                    .collect();
                write!(f, "{element}: {}", fields.join("; "))
            }
            Finding::Retargeted { element, actual_end } => {
                write!(f, "{element} ends at {actual_end} in the graph")
            }
            Finding::Duplicate { element, copies } => write!(f, "{element} is in the graph {copies} times"),
            Finding::CountMismatch { what, expected, actual } => {
                write!(f, "{what}: {actual} in the graph, {expected} expected from the source")
            }
            Finding::Cycle { nodes } => {
                let path: Vec<String> = nodes.iter().map(ToString::to_string).collect();
                write!(f, "cycle: {} → back to the first", path.join(" → "))
            }
            Finding::SeveralParents { node, parents } => {
                let parents: Vec<String> = parents.iter().map(ToString::to_string).collect();
                write!(f, "{node} has {} parents: {}", parents.len(), parents.join(", "))
            }
            Finding::ExtraProperties { element, properties } => {
                write!(f, "{element} has properties no mapping sets: {}", pairs(properties))
            }
            Finding::ExtraLabels { what, labels, nodes } => write!(
                f,
                "{what}: {nodes} {} also labelled {}, which no mapping gives {}",
                plural(*nodes, "node", "nodes"),
                labels.iter().map(|l| format!(":{l}")).collect::<String>(),
                if *nodes == 1 { "it" } else { "them" }
            ),
            Finding::MisplacedRelationships { what, relationships, mapped } => write!(
                f,
                "{what}: {relationships} {} between labels no mapping connects with this type (the mappings create {})",
                plural(*relationships, "relationship", "relationships"),
                mapped.join(", ")
            ),
            Finding::NotItemised { source_elements, target_elements } => write!(
                f,
                "more differences among {source_elements} source and {target_elements} graph elements, not listed one by one"
            ),
        }
    }
}

/// Where a mapping stands after verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingVerdict {
    /// Everything checked holds.
    Ok,
    /// Something differs: see the findings.
    Failed,
}

/// One mapping's figures and findings.
#[derive(Debug, Clone, Serialize)]
pub struct MappingReport {
    /// The mapping.
    pub mapping: String,
    /// `node` or `relationship`.
    pub kind: &'static str,
    /// What it creates, e.g. `(:Album)-[:ARTIST]->(:Artist)`.
    pub pattern: String,
    /// Rows the source yields for it.
    pub source_rows: u64,
    /// Rows the loader rejects: a transform fails or a key is null (they are in the reject file).
    pub rejected: u64,
    /// Rows whose key an earlier row already had (rejected as duplicates by the loader).
    pub duplicates: u64,
    /// Relationship rows whose start or end node the source does not have (orphans; rejected
    /// by the loader).
    pub orphans: u64,
    /// Elements the graph must hold: source rows minus the three kinds of rejects.
    pub expected: u64,
    /// Elements the graph holds for it (for a label several mappings create, the graph's
    /// elements are shared out by which mapping's rows they match).
    pub in_target: u64,
    /// Verdict.
    pub status: MappingVerdict,
    /// What does not hold.
    pub findings: Vec<Finding>,
}

/// A custom check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Its name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The Cypher query.
    pub cypher: String,
    /// Whether it holds.
    pub passed: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
    /// The graph's rows (the first few), as evidence.
    pub columns: Vec<String>,
    /// Those rows, values in JSON form.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Elements of a label or type no mapping creates: not from this config. They do not fail
/// a verification unless it is strict (`grafter verify --strict`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotFromConfig {
    /// `node` or `relationship`.
    pub kind: &'static str,
    /// `(:Label)` (every label the nodes carry; `()` for none) or `(:A)-[:TYPE]->(:B)`.
    pub pattern: String,
    /// How many elements.
    pub count: u64,
}

impl fmt::Display for NotFromConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = if self.kind == "node" { ("node", "nodes") } else { ("relationship", "relationships") };
        write!(f, "{}: {} {}", self.pattern, self.count, plural(self.count, one, many))
    }
}

/// The newest run's record, as the report shows it (its throughput chart).
#[derive(Debug, Clone, Serialize)]
pub struct RunGlance {
    /// The run.
    pub id: String,
    /// Its status.
    pub status: String,
    /// When it started.
    pub started_at: String,
    /// `(seconds since start, rows written so far)`.
    pub throughput: Vec<(f64, u64)>,
}

/// The verdict, for programs: whether the graph holds what it must, and whether that is
/// every row the source has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything holds and every source row is in the graph.
    Passed,
    /// Everything holds, but the loader rejected some source rows: they are in the reject
    /// file, not in the graph.
    PassedWithRejects,
    /// Something does not hold.
    Failed,
}

/// Everything `grafter verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Whether everything holds (rejected rows aside: see `verdict`).
    pub passed: bool,
    /// `passed`, `passed_with_rejects` or `failed`.
    pub verdict: Verdict,
    /// Rows the source gives the verified mappings (a table two mappings read counts twice).
    pub source_rows: u64,
    /// Of those, rows the loader rejects — a transform fails, a key is null or repeated, a
    /// relationship end is missing — and that are therefore not in the graph.
    pub rejected_rows: u64,
    /// Where the loader writes rejected rows with their reasons, when there are any.
    pub reject_file: Option<String>,
    /// Where `grafter sync` wrote the rows it rejected, when there are rejected rows and
    /// that file exists.
    pub sync_reject_file: Option<String>,
    /// The load's reject limit (`--max-rejects`, `[run] max_rejects`), if it has one: past
    /// it a run fails instead of loading the rest.
    pub max_rejects: Option<u64>,
    /// Elements of labels or types no mapping creates.
    pub not_from_config: Vec<NotFromConfig>,
    /// Whether those fail the verification (`--strict`).
    pub strict: bool,
    /// `full` or `sample of N`.
    pub mode: String,
    /// The source, password redacted.
    pub source: String,
    /// The target, password redacted.
    pub target: String,
    /// One entry per verified mapping, in load order.
    pub mappings: Vec<MappingReport>,
    /// Custom checks, in file order.
    pub checks: Vec<CheckReport>,
    /// Things worth knowing that do not fail the verification.
    pub warnings: Vec<String>,
    /// Rows streamed from both sides (source rows and graph elements), first pass.
    pub rows_total: u64,
    /// Of those, rows kept and compared one by one (after their bucket's digest differed, or
    /// sampled).
    pub rows_individual: u64,
    /// Passes over the data the most demanding mapping took (a clean one takes one; each
    /// level of bisection one more).
    pub passes: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// The newest run recorded in the target, if any.
    pub latest_run: Option<RunGlance>,
    /// Each mapped label's key and whether a uniqueness constraint holds it; `None` where the
    /// target keeps no such constraints (the embedded store: an index and the loader guard
    /// its keys).
    pub key_constraints: Option<Vec<KeyConstraintReport>>,
}

/// A mapped label's key and whether the target holds it with a uniqueness constraint.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyConstraintReport {
    /// The label.
    pub label: String,
    /// Its key properties.
    pub properties: Vec<String>,
    /// Whether a working uniqueness constraint holds exactly these properties.
    pub held: bool,
    /// Whether the server is still building one (FalkorDB, after a large load): it holds
    /// once built.
    pub building: bool,
}

impl VerifyReport {
    /// All findings of all mappings.
    pub fn findings(&self) -> impl Iterator<Item = (&MappingReport, &Finding)> {
        self.mappings.iter().flat_map(|m| m.findings.iter().map(move |f| (m, f)))
    }

    /// The share of rows compared one by one.
    pub fn individual_fraction(&self) -> f64 {
        if self.rows_total == 0 { 0.0 } else { self.rows_individual as f64 / self.rows_total as f64 }
    }

    /// The brief form a run's record keeps.
    pub fn summary(&self) -> VerificationSummary {
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for (_, finding) in self.findings() {
            *by_kind.entry(finding.kind().to_owned()).or_default() += 1;
        }
        let failed_checks = self.checks.iter().filter(|c| !c.passed).count() as u64;
        if failed_checks > 0 {
            by_kind.insert("check_failed".into(), failed_checks);
        }
        if self.strict && !self.not_from_config.is_empty() {
            by_kind.insert("not_from_config".into(), self.not_from_config.len() as u64);
        }
        VerificationSummary {
            passed: self.passed,
            mode: self.mode.clone(),
            findings: by_kind.values().sum(),
            by_kind,
            seconds: self.seconds,
            source_rows: self.source_rows,
            rejected_rows: self.rejected_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_read_like_cypher_patterns_with_typed_values() {
        let start = NodeRef::new("Consumer", &["uuid".into()], &[Value::from("c1")]);
        let end = NodeRef::new("Project", &["id".into()], &[Value::Int(5)]);
        let rel = ElementRef::Relationship {
            rel_type: "OWNED_BY".into(),
            start,
            end: end.clone(),
            key: serde_json::Map::new(),
        };
        assert_eq!(rel.to_string(), r#"(:Consumer {uuid: "c1"})-[:OWNED_BY]->(:Project {id: 5})"#);
        assert_eq!(ElementRef::Node(end).to_string(), "(:Project {id: 5})");
    }

    #[test]
    fn findings_serialise_with_their_kind() {
        let finding = Finding::CountMismatch { what: "(:A)".into(), expected: 3, actual: 2 };
        let json = serde_json::to_value(&finding).unwrap();
        assert_eq!(json["kind"], "count_mismatch");
        assert_eq!(finding.kind(), "count_mismatch");
        assert_eq!(finding.to_string(), "(:A): 2 in the graph, 3 expected from the source");
    }
}
