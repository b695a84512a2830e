//! [`Fingerprint`]: an order-independent digest of a graph, per label and per relationship
//! type, that proves two graphs hold the same data whatever their internal ids.
//!
//! A node's digest covers its labels and all its properties; a relationship's covers its
//! type, its properties and the digests of its two end nodes (so it names its endpoints by
//! content, not by id). A label's (or type's) digest is the wrapping sum of its elements'
//! digests: independent of order, yet sensitive to every element, to duplicates, and to
//! every property value. Every target computes it the same way through [`FingerprintBuilder`];
//! grafter's own bookkeeping (labels starting with `_Grafter`) is left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use xxhash_rust::xxh3::Xxh3;

use crate::names::RESERVED_PREFIX;
use crate::{Value, key_hash};

/// Count and digest of one label or relationship type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Number of elements.
    pub count: u64,
    /// Wrapping sum of their digests (as hex in JSON).
    #[serde(with = "hex128")]
    pub digest: u128,
}

/// The fingerprint of a graph.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// Per node label.
    pub labels: BTreeMap<String, Tally>,
    /// Per relationship type.
    pub types: BTreeMap<String, Tally>,
    /// Digest of everything above (as hex in JSON).
    #[serde(with = "hex128")]
    pub overall: u128,
}

impl Fingerprint {
    /// Nodes over all labels (a node with two labels counts under each).
    pub fn node_count(&self) -> u64 {
        self.labels.values().map(|t| t.count).sum()
    }

    /// Relationships over all types.
    pub fn relationship_count(&self) -> u64 {
        self.types.values().map(|t| t.count).sum()
    }

    /// The overall digest as 32 hex digits.
    pub fn overall_hex(&self) -> String {
        format!("{:032x}", self.overall)
    }

    /// What changed from `before` to `self`, label by label and type by type, in words:
    /// `+12 :Album nodes`, `:Track nodes changed (same count)`. Empty when equal.
    pub fn differences_from(&self, before: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        let mut compare = |kind: &str, now: &BTreeMap<String, Tally>, then: &BTreeMap<String, Tally>| {
            let names: std::collections::BTreeSet<&String> = now.keys().chain(then.keys()).collect();
            for name in names {
                let a = then.get(name).copied().unwrap_or_default();
                let b = now.get(name).copied().unwrap_or_default();
                if a == b {
                    continue;
                }
                let delta = b.count as i128 - a.count as i128;
                let what = if kind == "node" { format!(":{name} nodes") } else { format!(":{name} relationships") };
                out.push(match delta {
                    0 => format!("{what}: same count ({}), different content", b.count),
                    d if d > 0 => format!("{what}: +{d} ({} → {})", a.count, b.count),
                    d => format!("{what}: {d} ({} → {})", a.count, b.count),
                });
            }
        };
        compare("node", &self.labels, &before.labels);
        compare("relationship", &self.types, &before.types);
        out
    }
}

mod hex128 {
    pub fn serialize<S: serde::Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{value:032x}"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        let text: String = serde::Deserialize::deserialize(deserializer)?;
        u128::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
    }
}

/// Whether a label belongs to grafter's bookkeeping.
pub fn is_bookkeeping_label(label: &str) -> bool {
    label.starts_with(RESERVED_PREFIX)
}

/// Accumulates a [`Fingerprint`] from nodes and relationships in any order.
#[derive(Debug, Default)]
pub struct FingerprintBuilder {
    labels: BTreeMap<String, Tally>,
    types: BTreeMap<String, Tally>,
}

impl FingerprintBuilder {
    /// A new, empty builder.
    pub fn new() -> FingerprintBuilder {
        FingerprintBuilder::default()
    }

    /// The digest of a node with these labels and properties (any order). Use it to name
    /// the node's relationships' endpoints.
    pub fn node_digest(labels: &[&str], properties: &[(&str, &Value)]) -> u128 {
        let mut labels: Vec<&str> = labels.to_vec();
        labels.sort_unstable();
        let mut hasher = Xxh3::new();
        hasher.update(b"node");
        for label in &labels {
            hasher.update(&(label.len() as u64).to_le_bytes());
            hasher.update(label.as_bytes());
        }
        hasher.update(&properties_digest(properties).to_le_bytes());
        hasher.digest128()
    }

    /// Adds a node; bookkeeping nodes are skipped. Returns its digest (also for skipped ones,
    /// whose relationships are skipped too).
    pub fn add_node(&mut self, labels: &[&str], properties: &[(&str, &Value)]) -> Option<u128> {
        if labels.iter().any(|l| is_bookkeeping_label(l)) {
            return None;
        }
        let digest = FingerprintBuilder::node_digest(labels, properties);
        for label in labels {
            let tally = self.labels.entry((*label).to_owned()).or_default();
            tally.count += 1;
            tally.digest = tally.digest.wrapping_add(digest);
        }
        Some(digest)
    }

    /// Adds a relationship between nodes with digests `start` and `end`.
    pub fn add_relationship(&mut self, rel_type: &str, start: u128, end: u128, properties: &[(&str, &Value)]) {
        let mut hasher = Xxh3::new();
        hasher.update(b"rel");
        hasher.update(&(rel_type.len() as u64).to_le_bytes());
        hasher.update(rel_type.as_bytes());
        hasher.update(&start.to_le_bytes());
        hasher.update(&end.to_le_bytes());
        hasher.update(&properties_digest(properties).to_le_bytes());
        let digest = hasher.digest128();
        let tally = self.types.entry(rel_type.to_owned()).or_default();
        tally.count += 1;
        tally.digest = tally.digest.wrapping_add(digest);
    }

    /// The finished fingerprint.
    pub fn finish(self) -> Fingerprint {
        let mut text = String::new();
        for (name, tally) in &self.labels {
            let _ = writeln!(text, "L{name}\u{0}{}\u{0}{:032x}", tally.count, tally.digest);
        }
        for (name, tally) in &self.types {
            let _ = writeln!(text, "T{name}\u{0}{}\u{0}{:032x}", tally.count, tally.digest);
        }
        let overall = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
        Fingerprint { labels: self.labels, types: self.types, overall }
    }
}

/// Properties in name order, each name with its value's typed hash.
fn properties_digest(properties: &[(&str, &Value)]) -> u128 {
    let mut sorted: Vec<&(&str, &Value)> = properties.iter().filter(|(_, v)| !v.is_null()).collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut hasher = Xxh3::new();
    for (name, value) in sorted {
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(&key_hash([*value]).to_le_bytes());
    }
    hasher.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(order: &[usize]) -> Fingerprint {
        let nodes = [("Album", 1, "Intro"), ("Album", 2, "Outro"), ("Artist", 7, "AC/DC")];
        let mut builder = FingerprintBuilder::new();
        let mut digests = Vec::new();
        for &i in order {
            let (label, id, name) = nodes[i];
            let (id, name) = (Value::Int(id), Value::from(name));
            digests.push((i, builder.add_node(&[label], &[("id", &id), ("name", &name)]).unwrap()));
        }
        let digest = |i: usize| digests.iter().find(|(j, _)| *j == i).unwrap().1;
        builder.add_relationship("BY", digest(0), digest(2), &[]);
        builder.add_relationship("BY", digest(1), digest(2), &[]);
        builder.finish()
    }

    #[test]
    fn order_does_not_matter() {
        assert_eq!(graph(&[0, 1, 2]), graph(&[2, 1, 0]));
    }

    #[test]
    fn every_property_value_matters() {
        let mut a = FingerprintBuilder::new();
        a.add_node(&["A"], &[("x", &Value::Int(1))]);
        let mut b = FingerprintBuilder::new();
        b.add_node(&["A"], &[("x", &Value::Int(2))]);
        let (a, b) = (a.finish(), b.finish());
        assert_ne!(a.overall, b.overall);
        assert_eq!(b.differences_from(&a), vec![":A nodes: same count (1), different content".to_owned()]);
    }

    #[test]
    fn duplicates_are_not_cancelled() {
        let mut once = FingerprintBuilder::new();
        once.add_node(&["A"], &[]);
        let mut twice = FingerprintBuilder::new();
        twice.add_node(&["A"], &[]);
        twice.add_node(&["A"], &[]);
        assert_ne!(once.finish(), twice.finish());
    }

    #[test]
    fn retargeting_a_relationship_changes_its_type_digest() {
        let build = |end: i64| {
            let mut builder = FingerprintBuilder::new();
            let digests: Vec<u128> =
                (1..=3).map(|k| builder.add_node(&["N"], &[("k", &Value::Int(k))]).unwrap()).collect();
            builder.add_relationship("R", digests[0], digests[(end - 1) as usize], &[]);
            builder.finish()
        };
        let (to_second, to_third) = (build(2), build(3));
        assert_eq!(to_second.labels, to_third.labels);
        assert_ne!(to_second.types["R"], to_third.types["R"]);
    }

    #[test]
    fn bookkeeping_is_left_out() {
        let mut builder = FingerprintBuilder::new();
        assert!(builder.add_node(&["_GrafterRun"], &[]).is_none());
        assert_eq!(builder.finish(), FingerprintBuilder::new().finish());
    }

    #[test]
    fn json_round_trip() {
        let fingerprint = graph(&[0, 1, 2]);
        let json = serde_json::to_string(&fingerprint).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fingerprint);
    }
}
