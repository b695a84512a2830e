//! The verifier: proof that the graph holds exactly what the source says it must —
//! nothing lost, changed or invented — without pulling either side into memory.
//!
//! The source side is the loader's semantics recomputed independently: every mapping's rows
//! go through the same transform, and the same rules decide what the graph must hold
//! ([`elements`]). The graph side is read back through [`GraphReader::scan_nodes`] and
//! [`GraphReader::scan_relationships`]. Mappings are compared in [`group`]s (a label, or a
//! type between two labels) by bisection over identity hashes ([`bisect`]): per bucket a
//! count and a digest sum on each side, the differing buckets split in further passes until
//! few elements are left, which are compared one by one ([`compare`]). A clean graph costs
//! one streaming pass per side; each difference costs a few dozen rows read one by one.
//! Properties no mapping sets are found by an aggregate per group first and, when there are
//! any, read back with the others so that digests cover them. What the graph holds beyond
//! the mappings' labels and types comes from the target's census ([`beyond`]); where the
//! target counts relationships per type, its relationship half comes from the comparisons'
//! own reads when those account for every relationship. Then the
//! structure of hierarchies ([`hierarchy`]) and the custom checks of grafter.toml
//! ([`checks`]). With `sample`, node contents are checked for a random sample of keys
//! instead, looked up one by one; counts are still exact.
//!
//! [`verify_with`] is what `grafter run` and `grafter sync --until-caught-up` end with; the
//! `grafter verify` command on top of it is in [`command`].
//!
//! Both sides of a pass stream at the same time, each on a worker thread that pulls its
//! stream and folds it into its own tally.

mod beyond;
mod bisect;
mod checks;
pub(crate) mod command;
mod compare;
mod elements;
mod group;
mod hierarchy;
mod report;
mod sample;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use grafter_model::redact_url;
use grafter_plan::Plan;
use grafter_source::Source;
use grafter_target::{Census, CensusPart, GraphTarget};
use tokio::runtime::Handle;

use self::bisect::{FIRST_BITS, MAX_RANGES, Pass, Tally, conclude};
use self::compare::GroupFindings;
use self::elements::{Dedup, Discard, Kept, KeySet, Sink, SourceCounts, source_batch, target_batch};
use self::group::{Group, Kind};
pub use self::report::{
    CheckReport, ElementRef, FieldDifference, Finding, KeyConstraintReport, MappingReport, MappingVerdict, NodeRef,
    NotFromConfig, RunGlance, Verdict, VerifyReport,
};
use crate::rejects::sync_reject_file;
use crate::session::prepare_all;
use crate::{EngineError, Observer};

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check the contents of this many randomly chosen nodes per label instead of all
    /// (counts stay exact; relationships are then checked by count).
    pub sample: Option<usize>,
    /// Verify only these mappings (empty: all). A label or type several mappings share is
    /// verified whole.
    pub only: Vec<String>,
    /// Fail on elements of labels or types no mapping creates too (they are always listed).
    pub strict: bool,
    /// The reject limit the load runs under (`--max-rejects`, `[run] max_rejects`), for the
    /// verdict to name; `None`: the plan's.
    pub max_rejects: Option<u64>,
}

/// What every group's verification shares.
struct Context {
    source: Arc<dyn Source>,
    target: Arc<dyn GraphTarget>,
    observer: Arc<dyn Observer>,
    sample: Option<usize>,
    /// Mixed into sample scores, so each verification samples other keys.
    salt: u128,
    /// Whether relationships are read with how many properties each carries (see
    /// [`beyond::relationships_from_scans`]).
    count_properties: bool,
}

/// Verifies with a source and target already open (`grafter run` ends with this).
pub(crate) async fn verify_with(
    plan: &Plan,
    options: &VerifyOptions,
    source: &Arc<dyn Source>,
    target: &Arc<dyn GraphTarget>,
    observer: &Arc<dyn Observer>,
) -> Result<VerifyReport, EngineError> {
    let started = Instant::now();
    let every: Vec<_> = plan.mappings.iter().collect();
    let prepared = prepare_all(plan, &every, source.as_ref(), plan.run.batch_size).await?;
    let only = &options.only;
    let mut groups = group::groups(&prepared, |name| only.is_empty() || only.iter().any(|o| o == name));
    let mut warnings = Vec::new();
    // Where the target counts relationships per type without reading them, and every group
    // is compared in full, the scans may account for every relationship: the census then
    // reads only the nodes.
    let type_counts =
        if options.sample.is_none() && only.is_empty() { target.reader().relationship_counts().await? } else { None };
    let context = Context {
        source: Arc::clone(source),
        target: Arc::clone(target),
        observer: Arc::clone(observer),
        sample: options.sample,
        salt: chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128,
        count_properties: type_counts.is_some(),
    };
    // The census, the groups' comparisons and the custom checks read side by side: the
    // census is the server's work, a comparison mostly grafter's.
    observer.message("looking for what the mappings do not cover (labels, types, properties), beside the comparisons");
    let (asked, questions) = beyond::questions(&groups, options.sample.is_some());
    let part = if type_counts.is_some() { CensusPart::Nodes } else { CensusPart::Whole };
    let (census, compared, checks) =
        tokio::join!(beyond::census(target.as_ref(), &questions, part), compare_groups(&context, &groups), async {
            let checks = checks::run(&plan.checks, target.as_ref(), source.as_ref()).await;
            context.observer.message("custom checks done");
            checks
        });
    let (mut census, mut compared) = (census?, compared?);
    if let (Some(counts), Some(nodes)) = (&type_counts, &census) {
        let scanned: BTreeMap<usize, (u64, u64)> =
            compared.outcomes.iter().map(|(&i, o)| (i, (o.target_count, o.carrying_more))).collect();
        census = match beyond::relationships_from_scans(nodes, counts, &groups, &scanned) {
            Some(relationships) => Some(Census { relationships, ..nodes.clone() }),
            None => {
                observer.message("reading every relationship's shape: the comparisons did not account for them all");
                let relationships = beyond::census(target.as_ref(), &questions, CensusPart::Relationships).await?;
                relationships.map(|relationships| beyond::joined(nodes, relationships, &questions))
            }
        };
    }
    let beyond = match census {
        Some(census) => {
            let (beyond, grown) = beyond::look(&census, &asked, &mut groups, only.is_empty());
            // Elements carry properties no mapping sets: compare those groups again with them.
            for index in grown {
                let group = Arc::new(groups[index].clone());
                context
                    .observer
                    .message(&format!("verifying {} again, with the properties no mapping sets", group.what()));
                let endpoints = compared.endpoints(&group);
                let outcome = compare_group(&context, &group, endpoints).await?;
                compared.outcomes.insert(index, outcome);
            }
            beyond
        }
        None => {
            warnings.push(format!(
                "{} cannot list what it holds beyond the mappings: labels, types and properties no mapping creates were not looked for",
                redact_url(&target.describe())
            ));
            beyond::Beyond::default()
        }
    };
    let mut reports: BTreeMap<String, MappingReport> = BTreeMap::new();
    let mut totals = Totals::default();
    for (index, outcome) in std::mem::take(&mut compared.outcomes) {
        totals.rows += outcome.rows_total;
        totals.individual += outcome.rows_individual;
        totals.passes = totals.passes.max(outcome.passes);
        for report in mapping_reports(&groups[index], outcome) {
            reports.insert(report.mapping.clone(), report);
        }
    }
    if context.sample.is_some() && reports.values().any(|r| r.kind == "relationship") {
        warnings.push("with --sample, relationships are checked by count; run without it to compare them".into());
    }
    let latest_run = target.ledger().runs().await?.into_iter().next_back().map(|run| RunGlance {
        id: run.id,
        status: run.status.to_string(),
        started_at: run.started_at,
        throughput: run.throughput,
    });
    let key_constraints = key_constraint_reports(plan, target.reader().key_constraints().await?);
    for missing in key_constraints.iter().flatten().filter(|k| !k.held && !k.building) {
        warnings.push(format!(
            "no uniqueness constraint holds the key of :{} ({}): another writer could add a second node with the \
             same key, which only verify would find; `grafter run` creates it (nodes sharing a key, which verify \
             reports, keep it from holding)",
            missing.label,
            missing.properties.join(", ")
        ));
    }
    for (mapping, finding) in beyond.findings {
        if let Some(report) = reports.get_mut(&mapping) {
            report.findings.push(finding);
            report.status = MappingVerdict::Failed;
        }
    }
    // In load order.
    let mappings: Vec<MappingReport> = plan.mappings.iter().filter_map(|m| reports.remove(&m.name)).collect();
    // Elements not from this config fail only a strict verification.
    let foreign_fail = options.strict && !beyond.not_from_config.is_empty();
    let passed = mappings.iter().all(|m| m.findings.is_empty()) && checks.iter().all(|c| c.passed) && !foreign_fail;
    let source_rows = mappings.iter().map(|m| m.source_rows).sum();
    let rejected_rows: u64 = mappings.iter().map(|m| m.rejected + m.duplicates + m.orphans).sum();
    Ok(VerifyReport {
        passed,
        verdict: match (passed, rejected_rows) {
            (false, _) => Verdict::Failed,
            (true, 0) => Verdict::Passed,
            (true, _) => Verdict::PassedWithRejects,
        },
        source_rows,
        rejected_rows,
        reject_file: (rejected_rows > 0).then(|| plan.run.reject_file.display().to_string()),
        // Rows a sync rejected are in its own file.
        sync_reject_file: Some(sync_reject_file(plan))
            .filter(|file| rejected_rows > 0 && file.exists())
            .map(|file| file.display().to_string()),
        max_rejects: options.max_rejects.or(plan.run.max_rejects),
        not_from_config: beyond.not_from_config,
        strict: options.strict,
        mode: match context.sample {
            Some(size) => format!("sample of {size}"),
            None => "full".into(),
        },
        source: redact_url(&source.describe()),
        target: redact_url(&target.describe()),
        mappings,
        checks,
        warnings,
        rows_total: totals.rows,
        rows_individual: totals.individual,
        passes: totals.passes,
        seconds: started.elapsed().as_secs_f64(),
        latest_run,
        key_constraints,
    })
}

/// Each label the plan's node mappings create, with its key and whether `held` (the target's
/// constraints, `None` where it keeps none) holds it.
fn key_constraint_reports(
    plan: &Plan,
    listed: Option<Vec<grafter_target::KeyConstraint>>,
) -> Option<Vec<KeyConstraintReport>> {
    let listed = listed?;
    let mut reports: Vec<KeyConstraintReport> = Vec::new();
    for mapping in &plan.mappings {
        let grafter_plan::MappingKind::Node { label, key } = &mapping.kind else { continue };
        if reports.iter().any(|r| &r.label == label) {
            continue;
        }
        let constraint = listed.iter().find(|c| &c.key.label == label && same_properties(&c.key.properties, key));
        reports.push(KeyConstraintReport {
            label: label.clone(),
            properties: key.clone(),
            held: constraint.is_some_and(|c| c.working),
            building: constraint.is_some_and(|c| !c.working),
        });
    }
    Some(reports)
}

/// Whether two property lists name the same properties (a constraint's order is its own).
fn same_properties(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// What comparing the groups gave: each selected group's outcome (by its index), and the
/// keys of the labels relationship groups end on.
#[derive(Default)]
struct Compared {
    outcomes: BTreeMap<usize, GroupOutcome>,
    keys: BTreeMap<String, Arc<KeySet>>,
}

impl Compared {
    /// For a relationship group, the keys of its two labels (to tell orphans).
    fn endpoints(&self, group: &Group) -> Option<(Arc<KeySet>, Arc<KeySet>)> {
        match &group.kind {
            Kind::Relationships { start, end, .. } => {
                let of = |label: &str| self.keys.get(label).cloned().unwrap_or_default();
                Some((of(&start.label), of(&end.label)))
            }
            Kind::Nodes { .. } => None,
        }
    }
}

/// Compares every selected group, node groups first: relationship groups need the keys of
/// the labels they end on (read from the source alone for a label not selected). One group
/// at a time: two side by side took longer on two cores (5.1–5.6 s against 4.9–5.0 s for the
/// 1M-row Placement verification on FalkorDB), the census and the checks already running
/// beside them.
async fn compare_groups(context: &Context, groups: &[Group]) -> Result<Compared, EngineError> {
    let needed: Vec<&str> = groups
        .iter()
        .filter(|g| g.selected)
        .filter_map(|g| match &g.kind {
            Kind::Relationships { start, end, .. } => Some([start.label.as_str(), end.label.as_str()]),
            Kind::Nodes { .. } => None,
        })
        .flatten()
        .collect();
    let mut compared = Compared::default();
    for (index, group) in groups.iter().enumerate() {
        let group = Arc::new(group.clone());
        if !group.selected {
            if let Some(label) = group.label().filter(|label| needed.contains(label)) {
                let (_, dedup, _) = source_pass(context, &group, None, Dedup::first(), Discard).await?;
                compared.keys.insert(label.to_owned(), Arc::new(dedup.into_later().0));
            }
            continue;
        }
        let mut outcome = compare_group(context, &group, compared.endpoints(&group)).await?;
        if let (Some(label), Some(seen)) = (group.label(), outcome.keys.take()) {
            compared.keys.insert(label.to_owned(), Arc::new(seen));
        }
        compared.outcomes.insert(index, outcome);
    }
    Ok(compared)
}

/// Compares one group: in full or by sample, and a hierarchy's structure.
async fn compare_group(
    context: &Context,
    group: &Arc<Group>,
    endpoints: Option<(Arc<KeySet>, Arc<KeySet>)>,
) -> Result<GroupOutcome, EngineError> {
    context.observer.message(&format!("verifying {}", group.what()));
    let mut outcome = match context.sample {
        Some(size) => sample::sampled(context, group, endpoints, size).await?,
        None => full(context, group, endpoints).await?,
    };
    if let Kind::Relationships { hierarchy: true, .. } = &group.kind {
        outcome.group_findings.extend(hierarchy::check(group, context.target.as_ref()).await?);
    }
    Ok(outcome)
}

#[derive(Default)]
struct Totals {
    rows: u64,
    individual: u64,
    passes: u64,
}

/// What comparing one group gave.
#[derive(Default)]
struct GroupOutcome {
    /// Per member, what the source gives.
    counts: Vec<SourceCounts>,
    /// Elements in the graph.
    target_count: u64,
    /// Per member, findings.
    per_member: Vec<Vec<Finding>>,
    /// Per member, expected elements missing from the graph.
    missing: Vec<u64>,
    /// Findings about the group as a whole (counts, structure, what was not itemised).
    group_findings: Vec<Finding>,
    /// A node group's keys, for the relationship groups after it.
    keys: Option<KeySet>,
    /// Relationships read with properties beyond the group's names (counted only with
    /// [`Context::count_properties`]).
    carrying_more: u64,
    rows_total: u64,
    rows_individual: u64,
    passes: u64,
}

impl GroupOutcome {
    /// The count finding, when the graph holds another number of elements than expected.
    fn count_finding(&self, group: &Group) -> Option<Finding> {
        let expected: u64 = self.counts.iter().map(|c| c.expected).sum();
        (expected != self.target_count).then(|| Finding::CountMismatch {
            what: group.what(),
            expected,
            actual: self.target_count,
        })
    }
}

/// Folds a stream into a pass's tally.
struct PassSink {
    pass: Arc<Pass>,
    tally: Tally<Kept>,
}

impl PassSink {
    fn new(pass: &Arc<Pass>) -> PassSink {
        PassSink { pass: Arc::clone(pass), tally: Tally::new(pass) }
    }
}

impl Sink for PassSink {
    fn element(&mut self, identity: u128, digest: u128, kept: &dyn Fn() -> Kept) {
        self.tally.add(&self.pass, identity, digest, kept);
    }
}

/// Streams a group's source rows (every member's, in load order) into `sink`, on a worker
/// thread. Returns the sink, the deduplication state and what each member's rows gave.
async fn source_pass<S: Sink + Send + 'static>(
    context: &Context,
    group: &Arc<Group>,
    endpoints: Option<(Arc<KeySet>, Arc<KeySet>)>,
    mut dedup: Dedup,
    mut sink: S,
) -> Result<(S, Dedup, Vec<SourceCounts>), EngineError> {
    let (group, source, target) = (Arc::clone(group), Arc::clone(&context.source), Arc::clone(&context.target));
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut counts = vec![SourceCounts::default(); group.members.len()];
        let endpoints = endpoints.as_ref().map(|(s, e)| (s.as_ref(), e.as_ref()));
        for (index, member) in group.members.iter().enumerate() {
            let mut stream = handle.block_on(source.scan(member.prepared.request.clone()))?;
            while let Some(batch) = handle.block_on(stream.next()) {
                let rows = batch?.rows;
                source_batch(
                    &group,
                    index,
                    rows,
                    target.as_ref(),
                    endpoints,
                    &mut dedup,
                    &mut counts[index],
                    &mut sink,
                );
            }
        }
        Ok((sink, dedup, counts))
    })
    .await
    .map_err(|e| EngineError::Internal(format!("verification reader failed: {e}")))?
}

/// Streams the group's elements back from the graph into `sink`, on a worker thread.
/// Returns the sink and how many relationships carry properties beyond the group's names
/// (counted only with [`Context::count_properties`]).
async fn target_pass<S: Sink + Send + 'static>(
    context: &Context,
    group: &Arc<Group>,
    mut sink: S,
) -> Result<(S, u64), EngineError> {
    let reader = context.target.reader();
    let counted = context.count_properties && group.label().is_none();
    let mut stream = match &group.kind {
        Kind::Nodes { label, .. } => reader.scan_nodes(label, &group.names).await?,
        Kind::Relationships { rel_type, start, end, .. } if counted => {
            reader.scan_relationships_counting_properties(rel_type, start, end, &group.names).await?
        }
        Kind::Relationships { rel_type, start, end, .. } => {
            reader.scan_relationships(rel_type, start, end, &group.names).await?
        }
    };
    let group = Arc::clone(group);
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut carrying_more = 0;
        while let Some(batch) = handle.block_on(stream.next()) {
            carrying_more += target_batch(&group, batch?, counted, &mut sink);
        }
        Ok((sink, carrying_more))
    })
    .await
    .map_err(|e| EngineError::Internal(format!("verification reader failed: {e}")))?
}

/// Compares a group in full: bisection passes until every difference is itemised.
async fn full(
    context: &Context,
    group: &Arc<Group>,
    endpoints: Option<(Arc<KeySet>, Arc<KeySet>)>,
) -> Result<GroupOutcome, EngineError> {
    let mut outcome = GroupOutcome::default();
    let mut findings = GroupFindings::new(group.members.len());
    let mut pass = Arc::new(Pass::first(FIRST_BITS));
    let mut dedup = Dedup::first();
    let mut budget = MAX_RANGES;
    let mut not_itemised = (0, 0);
    loop {
        let (source, target) = tokio::join!(
            source_pass(context, group, endpoints.clone(), dedup, PassSink::new(&pass)),
            target_pass(context, group, PassSink::new(&pass))
        );
        let ((expected, used_dedup, counts), (actual, carrying_more)) = (source?, target?);
        let (seen, later) = used_dedup.into_later();
        dedup = later;
        if outcome.passes == 0 {
            if group.label().is_some() {
                outcome.keys = Some(seen);
            }
            outcome.counts = counts;
            outcome.target_count = actual.tally.elements;
            outcome.carrying_more = carrying_more;
            outcome.rows_total = expected.tally.elements + actual.tally.elements;
        }
        outcome.passes += 1;
        outcome.rows_individual += expected.tally.kept_count + actual.tally.kept_count;
        let concluded = conclude(&pass, expected.tally, actual.tally, &mut budget);
        for (expected, actual) in concluded.resolved {
            findings.resolve(group, expected, actual);
        }
        not_itemised.0 += concluded.not_itemised.0;
        not_itemised.1 += concluded.not_itemised.1;
        match concluded.next {
            Some(next) => {
                context.observer.message(&format!(
                    "{}: differences found, narrowing them down (pass {})",
                    group.what(),
                    outcome.passes + 1
                ));
                pass = Arc::new(next);
            }
            None => break,
        }
    }
    (outcome.per_member, outcome.missing) = findings.finish(group);
    outcome.group_findings.extend(outcome.count_finding(group));
    if not_itemised != (0, 0) {
        outcome
            .group_findings
            .push(Finding::NotItemised { source_elements: not_itemised.0, target_elements: not_itemised.1 });
    }
    Ok(outcome)
}

/// One report per member of `group`; findings about the group as a whole go to its first.
fn mapping_reports(group: &Group, outcome: GroupOutcome) -> Vec<MappingReport> {
    let GroupOutcome { counts, target_count, per_member, missing, group_findings, .. } = outcome;
    let found: Vec<u64> = counts.iter().zip(&missing).map(|(c, m)| c.expected.saturating_sub(*m)).collect();
    // The graph's elements are shared out by which member's rows they match; the rest
    // (extra elements) count for the first member.
    let others: u64 = found.iter().skip(1).sum();
    let mut group_findings = Some(group_findings);
    group
        .members
        .iter()
        .zip(counts)
        .zip(per_member)
        .enumerate()
        .map(|(index, ((member, counts), mut findings))| {
            if index == 0 {
                findings.extend(group_findings.take().unwrap_or_default());
            }
            let mapping = &member.prepared.mapping;
            MappingReport {
                mapping: mapping.name.clone(),
                kind: if mapping.is_node() { "node" } else { "relationship" },
                pattern: mapping.pattern(),
                source_rows: counts.rows,
                rejected: counts.rejected,
                duplicates: counts.duplicates,
                orphans: counts.orphans,
                expected: counts.expected,
                in_target: if index == 0 { target_count.saturating_sub(others) } else { found[index] },
                status: if findings.is_empty() { MappingVerdict::Ok } else { MappingVerdict::Failed },
                findings,
            }
        })
        .collect()
}
