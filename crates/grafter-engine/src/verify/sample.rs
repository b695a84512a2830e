//! `grafter verify --sample N`: counts in full, and the contents of a uniform random sample
//! of each label's nodes, looked up by key instead of read whole.

use std::collections::BinaryHeap;
use std::sync::Arc;

use super::compare::GroupFindings;
use super::elements::{Dedup, Kept, KeySet, Sink, target_batch};
use super::group::{Group, Kind};
use super::{Context, GroupOutcome, source_pass};
use crate::EngineError;

/// A kept element and its sample score; the heap keeps the lowest scores.
struct Scored(u128, Kept);

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Keeps the `size` elements whose salted identity hashes lowest: a uniform random sample,
/// without knowing the count in advance and without a random number generator.
struct SampleSink {
    size: usize,
    salt: u128,
    heap: BinaryHeap<Scored>,
}

impl Sink for SampleSink {
    fn element(&mut self, identity: u128, _: u128, kept: &dyn Fn() -> Kept) {
        let score = grafter_model::combine_hashes(&[identity, self.salt]);
        if self.heap.len() < self.size {
            self.heap.push(Scored(score, kept()));
        } else if self.heap.peek().is_some_and(|top| score < top.0) {
            self.heap.pop();
            self.heap.push(Scored(score, kept()));
        }
    }
}

/// Collects every element.
struct Collect(Vec<Kept>);

impl Sink for Collect {
    fn element(&mut self, _: u128, _: u128, kept: &dyn Fn() -> Kept) {
        self.0.push(kept());
    }
}

/// Checks a group by sample: counts in full, the contents of `size` nodes looked up by key.
pub(super) async fn sampled(
    context: &Context,
    group: &Arc<Group>,
    endpoints: Option<(Arc<KeySet>, Arc<KeySet>)>,
    size: usize,
) -> Result<GroupOutcome, EngineError> {
    let mut outcome = GroupOutcome::default();
    let mut findings = GroupFindings::new(group.members.len());
    let sink = SampleSink { size, salt: context.salt, heap: BinaryHeap::new() };
    let (sink, dedup, counts) = source_pass(context, group, endpoints, Dedup::first(), sink).await?;
    outcome.counts = counts;
    outcome.passes = 1;
    match &group.kind {
        Kind::Nodes { label, key } => {
            outcome.keys = Some(dedup.into_later().0);
            outcome.target_count = context.target.reader().count_nodes(label).await?;
            let sample: Vec<Kept> = sink.heap.into_iter().map(|Scored(_, kept)| kept).collect();
            let wanted: Vec<Vec<grafter_model::Value>> = sample.iter().map(|k| k.start.clone()).collect();
            let rows = context.target.reader().lookup_nodes(label, key, &wanted, &group.names).await?;
            let mut found = Collect(Vec::new());
            target_batch(group, rows, false, &mut found);
            outcome.rows_individual = (sample.len() + found.0.len()) as u64;
            findings.resolve(group, sample, found.0);
        }
        Kind::Relationships { rel_type, start, end, .. } => {
            outcome.target_count =
                context.target.reader().count_relationships(rel_type, &start.label, &end.label).await?;
        }
    }
    outcome.rows_total = outcome.counts.iter().map(|c| c.rows).sum::<u64>() + outcome.target_count;
    (outcome.per_member, outcome.missing) = findings.finish(group);
    outcome.group_findings.extend(outcome.count_finding(group));
    Ok(outcome)
}
