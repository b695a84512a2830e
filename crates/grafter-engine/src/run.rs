//! `grafter run`: select the mappings, check them all against the source, take the target's
//! lock, decide what to resume, then load stage by stage, the mappings of a stage side by
//! side, and record everything in the run's history.
//!
//! What each mapping does is decided by [`crate::resume`]; a resumed run keeps its id and
//! marks, so duplicates are judged exactly as in one clean run. A new run is first recorded
//! with the target's fingerprint and a snapshot ([`crate::ledger`]), which
//! `grafter rollback` returns to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafter_model::{RunRecord, RunStatus, now, redact_url};
use grafter_plan::{MappingKind, Plan};
use grafter_source::Source;
use grafter_target::{Access, GraphTarget, TargetError};

use crate::interrupt::{StopRequest, watch_signals};
use crate::keep::Keeping;
use crate::lease::{DEFAULT_LEASE, Lease, holder};
use crate::ledger::NewRun;
use crate::pipeline::{RunContext, new_stats, run_mapping};
use crate::prepare::PreparedMapping;
use crate::rejects::RejectSink;
use crate::resume::{Decision, ResumePlan, decide};
use crate::session::{closing, key_indexes, new_run_id, open_source, open_target, prepare_all, select};
use crate::throughput::Throughput;
use crate::verify::{VerifyOptions, verify_with};
use crate::{EngineError, MappingStats, MappingStatus, Observer, RunSummary, ledger};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run only these mappings (empty: all).
    pub only: Vec<String>,
    /// Rows per batch, overriding the config.
    pub batch_size: Option<usize>,
    /// Reject limit, overriding the config.
    pub max_rejects: Option<u64>,
    /// Check and count only; write nothing.
    pub dry_run: bool,
    /// Start over: ignore the checkpoints of earlier runs.
    pub fresh: bool,
    /// Mappings of one stage loaded at the same time.
    pub workers: usize,
    /// Length of the lock's lease.
    pub lease: Duration,
    /// Take a snapshot before a new run, for rollback.
    pub snapshot: bool,
    /// Watch for Ctrl-C / SIGTERM (off for library callers that handle signals).
    pub handle_signals: bool,
    /// Key-range partitions a keyed mapping is split into and read side by side (1: read
    /// whole). Worth it when the source, not the target, is the slower side.
    pub partitions: usize,
    /// Count each mapping's rows beside the load, for progress bars (ETA) and the lag
    /// metric. It costs a second pass over the source (for a join query, a second run of
    /// it), so it is off when nothing shows the count.
    pub count_rows: bool,
    /// End with a verification of the graph against the source (`grafter verify`), in the
    /// run's `validating` step: a difference fails the run.
    pub verify: bool,
    /// Also write everything the mappings read into this archive while loading, and check
    /// it when both are done (`--keep-archive`; see [`crate::keep`]).
    pub keep_archive: Option<std::path::PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            only: Vec::new(),
            batch_size: None,
            max_rejects: None,
            dry_run: false,
            fresh: false,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            lease: DEFAULT_LEASE,
            snapshot: true,
            handle_signals: false,
            partitions: 1,
            count_rows: true,
            verify: true,
            keep_archive: None,
        }
    }
}

/// Runs `plan`.
pub async fn run(plan: &Plan, options: &RunOptions, observer: Arc<dyn Observer>) -> Result<RunSummary, EngineError> {
    let started = Instant::now();
    let selected = select(plan, &options.only)?;
    if let Some(guessed) = selected.iter().find(|m| m.key_guessed) {
        let MappingKind::Node { key, .. } = &guessed.kind else { unreachable!("only nodes have guessed keys") };
        return Err(EngineError::KeyNotConfirmed {
            mapping: guessed.name.clone(),
            key: key.join(", "),
            location: guessed.location.to_string(),
        });
    }
    let batch_size = options.batch_size.unwrap_or(plan.run.batch_size).max(1);
    let source = open_source(plan).await?;
    let prepared = prepare_all(plan, &selected, source.as_ref(), batch_size).await?;

    if options.dry_run {
        let mut summary = summary_shell(plan, source.describe(), new_run_id(), RunStatus::Pending, 0);
        summary.dry_run = true;
        for mapping in &prepared {
            let mut stats = new_stats(mapping, source.count(&mapping.request).await?);
            stats.status = MappingStatus::Counted;
            observer.mapping_finished(&stats);
            summary.mappings.push(stats);
        }
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }

    let keeping = options.keep_archive.clone().map(|output| Keeping::start(plan, output, &options.only));
    let target = open_target(plan, Access::Write).await?;
    let run =
        Run { plan, options, prepared: &prepared, source: &source, target: &target, observer: &observer, started };
    let mut summary = closing(&target, run.locked()).await?;
    if let Some(keeping) = keeping {
        if summary.status == RunStatus::Interrupted {
            observer.message("no archive kept: the run did not finish");
        } else {
            summary.kept_archive = Some(keeping.finish().await?);
        }
    }
    Ok(summary)
}

fn summary_shell(plan: &Plan, source: String, run_id: String, status: RunStatus, attempt: u32) -> RunSummary {
    RunSummary {
        run_id,
        status,
        attempt,
        source,
        target: redact_url(&plan.target_url),
        mappings: Vec::new(),
        reject_file: None,
        seconds: 0.0,
        dry_run: false,
        indexes: Vec::new(),
        verification: None,
        kept_archive: None,
    }
}

/// Why a run's verification failed it.
enum VerifyFailure {
    /// It found differences.
    Differences(grafter_model::VerificationSummary),
    /// It could not run.
    Error(EngineError),
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyFailure::Differences(brief) => {
                write!(f, "verification {brief}; `grafter verify` shows every difference")
            }
            VerifyFailure::Error(error) => write!(f, "verification could not run: {error}"),
        }
    }
}

/// One attempt of a run, and what all its steps share.
struct Run<'a> {
    plan: &'a Plan,
    options: &'a RunOptions,
    prepared: &'a [PreparedMapping],
    source: &'a Arc<dyn Source>,
    target: &'a Arc<dyn GraphTarget>,
    observer: &'a Arc<dyn Observer>,
    started: Instant,
}

impl Run<'_> {
    /// Takes the target's lock, runs, and lets the lock go.
    async fn locked(&self) -> Result<RunSummary, EngineError> {
        let stop = StopRequest::default();
        let lease = self.options.lease;
        let (lease, taken_over) =
            Lease::acquire(Arc::clone(self.target), holder("run", None, lease), lease, stop.clone()).await?;
        if let Some(previous) = taken_over {
            self.observer.message(&format!("took over the lock left by a process that is gone: {previous}"));
        }
        let result = self.with_lease(&stop, &lease).await;
        let released = lease.release().await;
        let summary = result?;
        released?;
        Ok(summary)
    }

    /// A summary for when everything was finished by earlier runs: no data is written, not
    /// even a run record — only key indexes and constraints missing since (dropped by
    /// someone, or from a grafter that made none) are made again.
    async fn nothing_to_do(&self, run_id: String) -> Result<RunSummary, EngineError> {
        let mut summary = summary_shell(self.plan, self.source.describe(), run_id.clone(), RunStatus::Completed, 0);
        summary.indexes = self.target.loader().ensure_indexes(&key_indexes(self.prepared)).await?;
        for mapping in self.prepared {
            let mut stats = new_stats(mapping, None);
            stats.status = MappingStatus::NothingToDo;
            summary.mappings.push(stats);
        }
        self.observer.message(&format!(
            "nothing to do: every mapping was finished by an earlier run (newest: {run_id}); `grafter run --fresh` starts over"
        ));
        summary.seconds = self.started.elapsed().as_secs_f64();
        Ok(summary)
    }

    async fn with_lease(&self, stop: &StopRequest, lease: &Lease) -> Result<RunSummary, EngineError> {
        let (plan, target, observer) = (self.plan, self.target, self.observer);
        let resume = decide(target.as_ref(), self.prepared, self.options.fresh).await?;
        if let Some(run_id) = resume.all_done_by() {
            return self.nothing_to_do(run_id).await;
        }
        let ResumePlan { decisions, open_run } = &resume;
        let resuming = open_run.is_some();
        let mut record = match open_run {
            Some(record) => ledger::resume_record(record.clone(), target.as_ref(), observer.as_ref()).await?,
            None => {
                let options = self.options;
                let new_run = NewRun { only: &options.only, fresh: options.fresh, snapshot: options.snapshot };
                ledger::new_record(plan, new_run, self.source.describe(), target, observer, self.prepared).await?
            }
        };
        target.ledger().save_run(&record).await?;
        if !resuming && record.snapshot.is_some() {
            let pruned = crate::snapshots::prune(target.as_ref(), plan.run.keep_snapshots).await?;
            if !pruned.is_empty() {
                observer.message(&format!(
                    "removed the snapshots of {} older run(s) ({}): only the newest {} are kept ([run] keep_snapshots)",
                    pruned.len(),
                    pruned.join(", "),
                    plan.run.keep_snapshots
                ));
            }
        }

        let rejects = if resuming {
            RejectSink::resume(&plan.run.reject_file, &record.id, &resume.committed_batches(&record.id))?
        } else {
            RejectSink::new(&plan.run.reject_file, &record.id)?
        };
        let throughput = Arc::new(Throughput::new(Arc::clone(observer), std::mem::take(&mut record.throughput)));
        let context = Arc::new(RunContext {
            run_id: record.id.clone(),
            target: Arc::clone(target),
            rejects: Arc::new(rejects),
            observer: Arc::clone(&throughput) as Arc<dyn Observer>,
            max_rejects: self.options.max_rejects.or(plan.run.max_rejects),
            rejected_total: std::sync::atomic::AtomicU64::new(0),
            stop: stop.clone(),
            count_rows: self.options.count_rows,
            layout: crate::pipeline::Layout { partitions: self.options.partitions },
            batch_size_chosen: self.options.batch_size.is_some() || plan.run.batch_size_chosen,
        });
        // Watched until this returns: a stop that waits too long on the target (its
        // bookkeeping included) ends the process.
        let _signals = self.options.handle_signals.then(|| {
            let (notify, give_up) = (Arc::clone(observer), Arc::clone(observer));
            watch_signals(
                stop.clone(),
                move || {
                    notify.message(
                        "stopping at the next batch boundary (Ctrl-C again to kill at once; the run stays resumable)",
                    );
                },
                move || {
                    give_up.message(&format!(
                        "the target has not let the run stop within {}s: stopping now; every committed batch is kept and `grafter run` resumes after it",
                        crate::interrupt::STOP_GRACE.as_secs()
                    ));
                },
            )
        });

        let mut summary =
            summary_shell(plan, self.source.describe(), record.id.clone(), RunStatus::InProgress, record.attempts);
        // A server finds keys through its own index while loading: build it first there.
        let indexes_first = target.loader().indexes_first();
        let mut failure = None;
        if indexes_first {
            match target.loader().ensure_indexes(&key_indexes(self.prepared)).await {
                Ok(statements) => summary.indexes = statements,
                Err(error) => failure = Some(error.into()),
            }
        }
        if failure.is_none() {
            failure = self.load(decisions, &context, &mut summary).await.err();
        }
        // A run that lost its lock writes nothing more, not even its record: the lock's new
        // holder has the target now (and the target would refuse the writes anyway).
        let lock_lost = lease.lost().or_else(|| match &failure {
            Some(EngineError::Target(TargetError::LockLost { reason, .. })) => Some(reason.clone()),
            _ => None,
        });
        if let Some(reason) = lock_lost {
            return Err(EngineError::LockLost(reason));
        }
        // On the embedded store key indexes are built once the data is in, also after a
        // failure (for what did load): the loader finds nodes through its own key table and
        // never needs the store's index, and building an index over loaded nodes costs a
        // third of maintaining it row by row (measured on grafeo, see bench/README.md).
        // A server target may also have left some for now (FalkorDB: those of labels it
        // loads in bulk, cheaper to build once over the loaded nodes): asked again, it
        // creates them.
        // Not when stopping: the resumed run builds them, and a stop must not wait for that.
        let indexes = if stop.is_set() {
            Ok(Vec::new())
        } else {
            target.loader().ensure_indexes(&key_indexes(self.prepared)).await
        };
        match indexes {
            Ok(statements) => {
                for statement in statements {
                    if !summary.indexes.contains(&statement) {
                        summary.indexes.push(statement);
                    }
                }
            }
            Err(error) => {
                failure.get_or_insert(error.into());
            }
        }
        if !summary.indexes.is_empty() {
            observer.message(&format!("{} key indexes in place", summary.indexes.len()));
        }
        if context.rejects.exists() {
            summary.reject_file = Some(plan.run.reject_file.clone());
        }

        record.mappings =
            ledger::mapping_records(target.as_ref(), &record.id, self.prepared, &summary.mappings).await?;
        record.throughput = throughput.series();
        record.ended_at = Some(now());
        summary.seconds = self.started.elapsed().as_secs_f64();
        if let Some(error) = failure {
            record.error = Some(ledger::error_text(self.plan, &error));
            record.set_status(RunStatus::Failed, None);
            target.ledger().save_run(&record).await?;
            return Err(error);
        }
        if !stop.is_set() {
            // Every mapping loaded: the target may drop what it kept to tell this run's writes
            // apart (a resume still needs it, so only now).
            if let Err(error) = target.loader().finish_run(&record.id).await {
                record.error = Some(ledger::error_text(self.plan, &error));
                record.set_status(RunStatus::Failed, None);
                target.ledger().save_run(&record).await?;
                return Err(error.into());
            }
        }
        if stop.is_set() {
            record.set_status(RunStatus::Interrupted, None);
            target.ledger().save_run(&record).await?;
            summary.status = RunStatus::Interrupted;
            return Ok(summary);
        }

        record.set_status(RunStatus::Validating, None);
        target.ledger().save_run(&record).await?;
        crate::fault::pass(crate::fault::Point::Validating);
        if let Some(broken) = summary.mappings.iter().find(|m| m.read != m.written + m.rejected) {
            let message = format!(
                "mapping `{}`: {} rows read but {} written and {} rejected",
                broken.mapping, broken.read, broken.written, broken.rejected
            );
            record.error = Some(message.clone());
            record.set_status(RunStatus::Failed, None);
            target.ledger().save_run(&record).await?;
            return Err(EngineError::Internal(message));
        }
        if self.options.verify {
            if let Some(failure) = self.verify(&mut record, &mut summary).await {
                record.error = Some(ledger::error_text(self.plan, &failure));
                record.ended_at = Some(now());
                record.set_status(RunStatus::Failed, None);
                target.ledger().save_run(&record).await?;
                return match failure {
                    VerifyFailure::Differences(_) => {
                        summary.status = RunStatus::Failed;
                        summary.seconds = self.started.elapsed().as_secs_f64();
                        Ok(summary)
                    }
                    VerifyFailure::Error(error) => Err(error),
                };
            }
            record.ended_at = Some(now());
            summary.seconds = self.started.elapsed().as_secs_f64();
        }
        record.set_status(RunStatus::Completed, None);
        target.ledger().save_run(&record).await?;
        summary.status = RunStatus::Completed;
        Ok(summary)
    }

    /// Verifies the loaded graph (the run's `validating` step): records the outcome in the
    /// run and the summary; `Some` when the run must fail.
    async fn verify(&self, record: &mut RunRecord, summary: &mut RunSummary) -> Option<VerifyFailure> {
        if !self.target.keeps_graph() {
            self.observer.message(&format!("{} keeps no graph: nothing to verify", self.target.describe()));
            return None;
        }
        self.observer.message("verifying the graph against the source (--no-verify skips this)");
        let options = VerifyOptions {
            only: self.options.only.clone(),
            max_rejects: self.options.max_rejects,
            ..VerifyOptions::default()
        };
        let report = match verify_with(self.plan, &options, self.source, self.target, self.observer).await {
            Ok(report) => report,
            Err(error) => return Some(VerifyFailure::Error(error)),
        };
        let brief = report.summary();
        record.verification = Some(brief.clone());
        summary.verification = Some(report);
        (!brief.passed).then_some(VerifyFailure::Differences(brief))
    }

    /// Loads stage by stage; the mappings of a stage side by side. Stops after the stage in
    /// which a mapping failed or a stop was asked for.
    async fn load(
        &self,
        decisions: &[Decision],
        context: &Arc<RunContext>,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        let mut stages: Vec<usize> = self.prepared.iter().map(|p| p.mapping.stage).collect();
        stages.dedup();
        let mut failure = None;
        for stage in stages {
            let mut in_stage = Vec::new();
            for (mapping, decision) in self.prepared.iter().zip(decisions).filter(|(p, _)| p.mapping.stage == stage) {
                let mut stats = new_stats(mapping, None);
                match decision {
                    Decision::NothingToDo(run) => {
                        stats.status = MappingStatus::NothingToDo;
                        self.observer
                            .message(&format!("{}: nothing to do (finished by run {run})", mapping.mapping.name));
                    }
                    Decision::DoneEarlier(checkpoints) => {
                        stats.read = checkpoints.iter().map(|c| c.read).sum();
                        stats.written = checkpoints.iter().map(|c| c.written).sum();
                        stats.rejected = checkpoints.iter().map(|c| c.rejected).sum();
                        stats.seconds = checkpoints.iter().map(|c| c.seconds).fold(0.0, f64::max);
                        stats.status = MappingStatus::DoneEarlier;
                    }
                    Decision::Resume(checkpoints) => {
                        in_stage.push((mapping.clone(), Some(checkpoints.clone())));
                        continue;
                    }
                    Decision::Start => {
                        in_stage.push((mapping.clone(), None));
                        continue;
                    }
                }
                self.observer.mapping_finished(&stats);
                summary.mappings.push(stats);
            }
            if in_stage.is_empty() {
                continue;
            }
            // Tracked mappings loaded from the start: where `grafter sync` will pick up.
            let starting: Vec<&PreparedMapping> =
                in_stage.iter().filter(|(_, resume)| resume.is_none()).map(|(p, _)| p).collect();
            if let Err(error) = crate::sync::first_watermarks::set_first_watermarks(
                self.plan,
                &context.run_id,
                &starting,
                self.source.as_ref(),
                self.target.as_ref(),
                self.observer.as_ref(),
            )
            .await
            {
                failure = Some(error);
                break;
            }
            let names: Vec<&str> = in_stage.iter().map(|(p, _)| p.mapping.name.as_str()).collect();
            self.observer.message(&format!("stage {stage}: {}", names.join(", ")));
            let results: Vec<Result<MappingStats, EngineError>> = futures::stream::iter(in_stage)
                .map(|(mapping, resume)| {
                    let (source, context) = (Arc::clone(self.source), Arc::clone(context));
                    async move {
                        let result = run_mapping(mapping, resume, source, Arc::clone(&context)).await;
                        if result.is_err() {
                            context.stop.set();
                        }
                        result
                    }
                })
                .buffered(self.options.workers.max(1))
                .collect()
                .await;
            for result in results {
                match result {
                    Ok(stats) => summary.mappings.push(stats),
                    Err(error) => {
                        failure.get_or_insert(error);
                    }
                }
            }
            if failure.is_some() || context.stop.is_set() {
                break;
            }
        }
        failure.map_or(Ok(()), Err)
    }
}
