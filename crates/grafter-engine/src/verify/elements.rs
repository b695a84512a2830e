//! Turning both sides into comparable elements: source rows through the loader's own
//! transform and rules, graph rows as read back — each an identity, a digest and, when it
//! is kept for a closer look, its values ([`Kept`]).
//!
//! The source side recomputes what the loader writes, independently of what it did write:
//! a row whose transform fails, whose key is null or that holds a value the target cannot
//! store is rejected (the same code as the loader's, [`crate::records::transform`]); the first row with a key wins and later ones are
//! duplicates; a relationship whose start or end key is not among the keys its labels' node
//! mappings produce is an orphan; values are compared in the form the target stores them
//! ([`GraphReader::stored_form`]). Identities: a node's is the hash of its key values (the
//! loader's [`KeyHash`]); a relationship's combines its start key, end key and own key.

use grafter_model::{KeyHash, RowDigest, SourceRow, Value, combine_hashes, key_hash};
use grafter_target::{GraphTarget, RecordBatch};
use rustc_hash::FxHashSet;

use super::group::{Group, Kind, Member};
use crate::records::transform;

/// An element kept for comparison one by one.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    /// Its identity hash.
    pub identity: u128,
    /// Its digest.
    pub digest: u128,
    /// The group member (mapping) it comes from; `None` on the graph side.
    pub member: Option<usize>,
    /// A node's key values, or a relationship's start node key values.
    pub start: Vec<Value>,
    /// A relationship's end node key values (empty for nodes).
    pub end: Vec<Value>,
    /// A relationship's start key and own key, combined: a missing and an extra relationship
    /// that share it were retargeted.
    pub pair: u128,
    /// Property values aligned with the group's names (NULL: not set).
    pub values: Vec<Value>,
}

/// Receives every element of a stream.
pub(crate) trait Sink {
    /// One element; `kept` builds its kept form when the sink wants it.
    fn element(&mut self, identity: u128, digest: u128, kept: &dyn Fn() -> Kept);
}

/// A sink that wants nothing (a pass that only collects a label's keys).
pub(crate) struct Discard;

impl Sink for Discard {
    fn element(&mut self, _: u128, _: u128, _: &dyn Fn() -> Kept) {}
}

/// A node label's keys as the source gives them: which relationship ends exist.
pub(crate) type KeySet = FxHashSet<KeyHash>;

/// How the source side drops the rows the loader would reject as duplicates: the first row
/// with an identity wins.
pub(crate) enum Dedup {
    /// The first pass: every identity is remembered (for a label, that set is its keys).
    First {
        /// Identities met.
        seen: FxHashSet<u128>,
        /// Identities met more than once.
        repeated: FxHashSet<u128>,
    },
    /// Later passes only need the identities that repeated: rows of one identity fall into
    /// one bucket, so the first of them in a pass is the first of all.
    Later {
        /// Identities met more than once in the first pass.
        repeated: FxHashSet<u128>,
        /// Of those, met in this pass.
        seen: FxHashSet<u128>,
    },
}

impl Dedup {
    /// For the first pass.
    pub fn first() -> Dedup {
        Dedup::First { seen: FxHashSet::default(), repeated: FxHashSet::default() }
    }

    /// Whether a row with this identity counts (it is the first with it).
    fn admit(&mut self, identity: u128) -> bool {
        match self {
            Dedup::First { seen, repeated } => {
                if seen.insert(identity) {
                    true
                } else {
                    repeated.insert(identity);
                    false
                }
            }
            Dedup::Later { repeated, seen } => !repeated.contains(&identity) || seen.insert(identity),
        }
    }

    /// After the first pass: the identities it met, and the state for later passes.
    pub fn into_later(self) -> (FxHashSet<u128>, Dedup) {
        match self {
            Dedup::First { seen, repeated } => (seen, Dedup::Later { repeated, seen: FxHashSet::default() }),
            Dedup::Later { repeated, .. } => {
                (FxHashSet::default(), Dedup::Later { repeated, seen: FxHashSet::default() })
            }
        }
    }
}

/// What the source gives one mapping (counted in the first pass).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SourceCounts {
    /// Rows read.
    pub rows: u64,
    /// Rejected by the transform (or a null key).
    pub rejected: u64,
    /// Rejected as duplicates of an earlier row.
    pub duplicates: u64,
    /// Relationship rows whose start or end node the source does not have.
    pub orphans: u64,
    /// What remains: elements the graph must hold.
    pub expected: u64,
}

/// The digest of an element whose values are `values` in member order.
fn member_digest(identity: u128, member: &Member, values: &[Value]) -> u128 {
    let mut digest = RowDigest::new(identity);
    let properties = &member.prepared.bound.properties;
    for &index in &member.digest_order {
        digest.property(&properties[index].name, &values[index]);
    }
    digest.finish()
}

/// The digest of an element whose values are aligned with the group's names.
fn group_digest(identity: u128, names: &[String], values: &[Value]) -> u128 {
    let mut digest = RowDigest::new(identity);
    for (name, value) in names.iter().zip(values) {
        digest.property(name, value);
    }
    digest.finish()
}

/// A member's values spread over the group's names.
fn aligned(group: &Group, member: &Member, values: &[Value]) -> Vec<Value> {
    let mut out = vec![Value::Null; group.names.len()];
    for (value, &position) in values.iter().zip(&member.to_group) {
        out[position] = value.clone();
    }
    out
}

/// Feeds one batch of a member's source rows to `sink`, as the loader would write them.
/// `endpoints` are the start and end labels' keys (relationship groups).
#[allow(clippy::too_many_arguments)]
pub(crate) fn source_batch(
    group: &Group,
    member_index: usize,
    rows: Vec<SourceRow>,
    target: &dyn GraphTarget,
    endpoints: Option<(&KeySet, &KeySet)>,
    dedup: &mut Dedup,
    counts: &mut SourceCounts,
    sink: &mut dyn Sink,
) {
    let member = &group.members[member_index];
    let bound = &member.prepared.bound;
    counts.rows += rows.len() as u64;
    let transformed = transform(rows, bound, &member.prepared.shape, &member.prepared.remap, target);
    counts.rejected += transformed.rejected.len() as u64;
    let stored =
        |values: Vec<Value>| -> Vec<Value> { values.into_iter().map(|v| target.reader().stored_form(v)).collect() };
    match transformed.records {
        RecordBatch::Nodes { records, .. } => {
            for record in records {
                let values = stored(record.properties);
                let identity = key_hash(bound.key.iter().map(|&i| &values[i]));
                if !dedup.admit(identity) {
                    counts.duplicates += 1;
                    continue;
                }
                counts.expected += 1;
                let digest = member_digest(identity, member, &values);
                sink.element(identity, digest, &|| Kept {
                    identity,
                    digest,
                    member: Some(member_index),
                    start: bound.key.iter().map(|&i| values[i].clone()).collect(),
                    end: Vec::new(),
                    pair: 0,
                    values: aligned(group, member, &values),
                });
            }
        }
        RecordBatch::Relationships { records, .. } => {
            for record in records {
                let (start, end) = (stored(record.start), stored(record.end));
                let (start_hash, end_hash) = (key_hash(&start), key_hash(&end));
                // The loader rejects a relationship whose end node it cannot find.
                if let Some((starts, ends)) = endpoints
                    && (!starts.contains(&start_hash) || !ends.contains(&end_hash))
                {
                    counts.orphans += 1;
                    continue;
                }
                let values = stored(record.properties);
                let own_key = key_hash(bound.key.iter().map(|&i| &values[i]));
                let identity = combine_hashes(&[start_hash, end_hash, own_key]);
                if !dedup.admit(identity) {
                    counts.duplicates += 1;
                    continue;
                }
                counts.expected += 1;
                let digest = member_digest(identity, member, &values);
                sink.element(identity, digest, &|| Kept {
                    identity,
                    digest,
                    member: Some(member_index),
                    start: start.clone(),
                    end: end.clone(),
                    pair: combine_hashes(&[start_hash, own_key]),
                    values: aligned(group, member, &values),
                });
            }
        }
    }
}

/// Feeds one batch of rows read back from the graph to `sink`: a node's values of the
/// group's names, or a relationship's start key, end key, then those values — and, read
/// with `counted` properties, how many it carries. Returns how many of the batch's
/// relationships carry properties beyond the group's names (always 0 without `counted`).
pub(crate) fn target_batch(group: &Group, rows: Vec<Vec<Value>>, counted: bool, sink: &mut dyn Sink) -> u64 {
    let mut carrying_more = 0;
    match &group.kind {
        Kind::Nodes { .. } => {
            for values in rows {
                let identity = key_hash(group.key_positions.iter().map(|&i| &values[i]));
                let digest = group_digest(identity, &group.names, &values);
                sink.element(identity, digest, &|| Kept {
                    identity,
                    digest,
                    member: None,
                    start: group.key_positions.iter().map(|&i| values[i].clone()).collect(),
                    end: Vec::new(),
                    pair: 0,
                    values: values.clone(),
                });
            }
        }
        Kind::Relationships { start, end, .. } => {
            let (starts, ends) = (start.key_properties.len(), end.key_properties.len());
            for mut row in rows {
                if counted {
                    // A property no mapping of the group sets, or the run mark: the census
                    // must name it (see `beyond::relationships_from_scans`).
                    let carried = match row.pop() {
                        Some(Value::Int(n)) => n,
                        _ => i64::MAX,
                    };
                    let read = row[starts + ends..].iter().filter(|v| !matches!(v, Value::Null)).count();
                    carrying_more += u64::from(usize::try_from(carried) != Ok(read));
                }
                let values = row.split_off(starts + ends);
                let end_values = row.split_off(starts);
                let (start_hash, end_hash) = (key_hash(&row), key_hash(&end_values));
                let own_key = key_hash(group.key_positions.iter().map(|&i| &values[i]));
                let identity = combine_hashes(&[start_hash, end_hash, own_key]);
                let digest = group_digest(identity, &group.names, &values);
                sink.element(identity, digest, &|| Kept {
                    identity,
                    digest,
                    member: None,
                    start: row.clone(),
                    end: end_values.clone(),
                    pair: combine_hashes(&[start_hash, own_key]),
                    values: values.clone(),
                });
            }
        }
    }
    carrying_more
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_row_with_an_identity_wins_in_every_pass() {
        let mut dedup = Dedup::first();
        let admitted: Vec<bool> = [1, 2, 1, 3, 1].iter().map(|&id| dedup.admit(id)).collect();
        assert_eq!(admitted, [true, true, false, true, false]);
        let (seen, mut later) = dedup.into_later();
        assert_eq!(seen.len(), 3);
        // A later pass that sees only part of the rows (one bucket) judges them the same way.
        let admitted: Vec<bool> = [1, 3, 1].iter().map(|&id| later.admit(id)).collect();
        assert_eq!(admitted, [true, true, false]);
    }
}
