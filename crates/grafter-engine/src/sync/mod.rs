//! `grafter sync`: keeps the graph in step with a source that applications still write to,
//! so a migration can load once, follow the changes, check, and cut over.
//!
//! Each mapping with change tracking ([`tracked`]) is followed from its watermark: by a
//! cursor column (rows whose `(cursor, key)` lies past it), or by a change-log table whose
//! entries name the changed rows. A pass reads every mapping's changes, in load order (nodes
//! before the relationships that need them), and applies them batch by batch
//! ([`changes`]), each batch in one transaction with the mapping's sync state — watermark,
//! figures, rows waiting for their nodes — so a crash anywhere repeats nothing and loses
//! nothing. The overlap rule that keeps late commits from being missed is in
//! [`watermark`]; change logs are read in [`change_log`].
//!
//! `grafter run` sets the first watermark of a tracked mapping ([`first_watermarks`]): the
//! newest change the source holds just before the load reads it, so that the first sync
//! picks up exactly what changed while the load ran. A mapping no load set a watermark for (or whose tracking
//! changed) is read whole by its first pass: a cursor mapping from its first cursor value,
//! a change-log mapping by reading its table, since its log holds nothing of what changed
//! before it was followed. One pass, passes every `interval` until stopped (`--follow`),
//! or passes until the lag is small and a verification passes (`--until-caught-up`: the
//! signal a cut-over waits for). A session holds the target's lock and is recorded in the
//! history like a run.

mod change_log;
mod changes;
pub(crate) mod first_watermarks;
pub(crate) mod report;
mod tracked;
pub(crate) mod watermark;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafter_model::{Cursor, MappingRecord, RunKind, RunRecord, RunStatus, SyncState, Value, now};
use grafter_plan::Plan;
use grafter_source::Source;
use grafter_target::{Access, GraphTarget};

use self::changes::{BatchContext, Incoming};
pub use self::report::{Counts, MappingSync, PassReport, SyncEnd, SyncSummary};
use self::tracked::Tracked;
use crate::interrupt::{StopRequest, watch_signals};
use crate::lease::{DEFAULT_LEASE, Lease, holder};
use crate::prepare::prepare;
use crate::rejects::{RejectSink, sync_reject_file};
use crate::session::{closing, key_indexes, new_run_id, open_source, open_target, select};
use crate::verify::{VerifyOptions, VerifyReport, verify_with};
use crate::{EngineError, Observer};

/// Rows read back by key in one query (pending rows, change-log entries).
const FETCH: usize = 1_000;

/// Passes in a row a following sync tries again after a dropped source connection.
const RETRIES: u32 = 10;

/// How to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Sync only these mappings (empty: every mapping with change tracking).
    pub only: Vec<String>,
    /// Rows per batch, overriding the config.
    pub batch_size: Option<usize>,
    /// Keep going, a pass every `interval`, until stopped.
    pub follow: bool,
    /// Pause between passes (default: `[sync] interval`).
    pub interval: Option<Duration>,
    /// Pass until the lag is under `max_lag` and a verification passes, then stop.
    pub until_caught_up: bool,
    /// The lag `until_caught_up` waits for (default: `[sync] max_lag`).
    pub max_lag: Option<Duration>,
    /// Give up after this long (`until_caught_up`).
    pub timeout: Option<Duration>,
    /// Length of the lock's lease.
    pub lease: Duration,
    /// Watch for Ctrl-C / SIGTERM (stop after the current batch).
    pub handle_signals: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            only: Vec::new(),
            batch_size: None,
            follow: false,
            interval: None,
            until_caught_up: false,
            max_lag: None,
            timeout: None,
            lease: DEFAULT_LEASE,
            handle_signals: false,
        }
    }
}

/// `grafter sync`.
pub async fn sync(plan: &Plan, options: &SyncOptions, observer: Arc<dyn Observer>) -> Result<SyncSummary, EngineError> {
    let started = Instant::now();
    let selected = select(plan, &options.only)?;
    let (followed, untracked): (Vec<_>, Vec<_>) = selected.into_iter().partition(|m| m.tracking.is_some());
    if followed.is_empty() {
        let names: Vec<&str> = untracked.iter().map(|m| m.name.as_str()).collect();
        return Err(EngineError::NothingToSync(format!(
            "none of the mappings {} has change tracking",
            if names.is_empty() { String::new() } else { format!("({})", names.join(", ")) }
        )));
    }
    for mapping in &untracked {
        observer.message(&format!(
            "{}: no change tracking (`cursor` or `change_log`): sync leaves it as the last run loaded it",
            mapping.name
        ));
    }
    let batch_size = options.batch_size.unwrap_or(plan.run.batch_size).max(1);
    let source = open_source(plan).await?;
    let mut tracked = Vec::with_capacity(followed.len());
    for mapping in followed {
        let prepared = prepare(plan, mapping, source.as_ref(), batch_size).await?;
        tracked.push(Tracked::new(prepared, source.as_ref(), &plan.sync).await?);
    }
    let target = open_target(plan, Access::Write).await?;
    let session = Session {
        plan,
        options,
        tracked: &tracked,
        source: &source,
        target: &target,
        observer: &observer,
        batch_size,
        started,
    };
    closing(&target, session.locked()).await
}

/// A sync session and what its steps share.
struct Session<'a> {
    plan: &'a Plan,
    options: &'a SyncOptions,
    tracked: &'a [Tracked],
    source: &'a Arc<dyn Source>,
    target: &'a Arc<dyn GraphTarget>,
    observer: &'a Arc<dyn Observer>,
    batch_size: usize,
    started: Instant,
}

impl Session<'_> {
    /// Takes the target's lock, syncs, and lets the lock go.
    async fn locked(&self) -> Result<SyncSummary, EngineError> {
        let stop = StopRequest::default();
        let id = new_run_id();
        let lease = self.options.lease;
        let (lease, taken_over) =
            Lease::acquire(Arc::clone(self.target), holder("sync", Some(&id), lease), lease, stop.clone()).await?;
        if let Some(previous) = taken_over {
            self.observer.message(&format!("took over the lock left by a process that is gone: {previous}"));
        }
        let result = self.with_lease(&id, &stop, &lease).await;
        let released = lease.release().await;
        let summary = result?;
        released?;
        Ok(summary)
    }

    /// The stored states of the tracked mappings; a mapping without one (or whose tracking
    /// changed) starts from the beginning of its read.
    async fn states(&self) -> Result<Vec<SyncState>, EngineError> {
        let mut stored: HashMap<String, SyncState> =
            self.target.change_sync()?.sync_states().await?.into_iter().map(|s| (s.mapping.clone(), s)).collect();
        let runs = self.target.ledger().runs().await?;
        let mut states = Vec::with_capacity(self.tracked.len());
        for tracked in self.tracked {
            let state = match stored.remove(tracked.name()) {
                Some(state) if state.checksum == tracked.checksum => {
                    // The watermark of a load that has not read everything covers rows it
                    // has not read yet: syncing from it would skip them.
                    if let Some(load) = runs.iter().find(|r| r.id == state.origin && r.status.is_resumable()) {
                        let checkpoints = self.target.ledger().checkpoints(&load.id).await?;
                        let unread = checkpoints.iter().any(|c| c.mapping == tracked.name() && !c.finished)
                            || !checkpoints.iter().any(|c| c.mapping == tracked.name());
                        if unread {
                            return Err(EngineError::SyncMapping {
                                mapping: tracked.name().to_owned(),
                                location: tracked.prepared.mapping.location.to_string(),
                                message: format!(
                                    "its load, run {}, has not read all its rows ({}): they would be skipped",
                                    load.id, load.status
                                ),
                                hint: "finish the load first: `grafter run` resumes it; then sync".into(),
                            });
                        }
                    }
                    state
                }
                found => {
                    self.observer.message(&format!(
                        "{}: {}; its first pass reads every row once (what the graph already holds is left as it is)",
                        tracked.name(),
                        if found.is_some() {
                            "its mapping or change tracking changed since its last sync"
                        } else {
                            "no watermark yet (`grafter run` sets one when it loads a tracked mapping)"
                        }
                    ));
                    let mut state = SyncState::new(tracked.name(), &tracked.checksum, &Cursor::Start, "sync");
                    // A change log holds nothing of what changed before it was followed.
                    state.reads_table_first = tracked.log.is_some();
                    state
                }
            };
            states.push(state);
        }
        Ok(states)
    }

    fn new_record(&self, id: &str) -> RunRecord {
        let names: Vec<String> = self.tracked.iter().map(|t| t.name().to_owned()).collect();
        let mut record = crate::ledger::blank_record(
            self.plan,
            id.to_owned(),
            RunKind::Sync,
            &self.source.describe(),
            &self.options.only,
            &names,
        );
        record.set_status(RunStatus::InProgress, None);
        record
    }

    async fn with_lease(&self, id: &str, stop: &StopRequest, lease: &Lease) -> Result<SyncSummary, EngineError> {
        let mut states = self.states().await?;
        if self.target.loader().indexes_first() {
            let prepared: Vec<_> = self.tracked.iter().map(|t| t.prepared.clone()).collect();
            self.target.loader().ensure_indexes(&key_indexes(&prepared)).await?;
        }
        let mut record = self.new_record(id);
        self.target.ledger().save_run(&record).await?;
        let reject_path = sync_reject_file(self.plan);
        let committed: HashMap<String, u64> = states.iter().map(|s| (s.mapping.clone(), s.batches)).collect();
        let context = BatchContext {
            target: Arc::clone(self.target),
            rejects: Arc::new(RejectSink::sync(&reject_path, id, &committed)?),
            pending_timeout: self.plan.sync.pending_timeout,
        };
        // Watched until the session's record is saved: a stop that waits too long on the
        // target ends the process (every committed batch of changes is kept with its watermark).
        let _signals = self.options.handle_signals.then(|| {
            let (notify, give_up) = (Arc::clone(self.observer), Arc::clone(self.observer));
            watch_signals(
                stop.clone(),
                move || {
                    notify.message("stopping after the current batch (Ctrl-C again to kill at once; nothing is lost)");
                },
                move || {
                    give_up.message(&format!(
                        "the target has not let sync stop within {}s: stopping now; every committed batch is kept and the next `grafter sync` continues after it",
                        crate::interrupt::STOP_GRACE.as_secs()
                    ));
                },
            )
        });
        let result = self.passes(&context, &mut states, stop).await;
        let (end, passes, lag, verification, failure, session_counts) = match result {
            Ok(outcome) => (outcome.end, outcome.passes, outcome.lag, outcome.verification, None, outcome.counts),
            Err((error, counts, passes)) => (SyncEnd::Stopped, passes, None, None, Some(error), counts),
        };
        let failure = failure.or_else(|| lease.lost().map(EngineError::LockLost));
        record.mappings = self
            .tracked
            .iter()
            .map(|t| {
                let counts = session_counts.get(t.name()).copied().unwrap_or_default();
                MappingRecord {
                    name: t.name().to_owned(),
                    read: counts.read,
                    written: counts.applied() + counts.unchanged,
                    rejected: counts.rejected,
                    seconds: self.started.elapsed().as_secs_f64(),
                    rows_per_second: counts.read as f64 / self.started.elapsed().as_secs_f64().max(1e-9),
                    error_rate: if counts.read == 0 { 0.0 } else { counts.rejected as f64 / counts.read as f64 },
                    status: if failure.is_some() { "stopped".into() } else { "done".into() },
                }
            })
            .collect();
        record.ended_at = Some(now());
        record.events.push(grafter_model::RunEvent { at: now(), what: format!("{passes} passes") });
        if let Some(verification) = &verification {
            record.verification = Some(verification.summary());
        }
        if let Some(error) = failure {
            record.error = Some(crate::ledger::error_text(self.plan, &error));
            record.set_status(RunStatus::Failed, None);
            // Best effort: the error that stopped the sync is what to report, even when the
            // target that caused it cannot take the record either.
            let _ = self.target.ledger().save_run(&record).await;
            return Err(error);
        }
        record.set_status(if end == SyncEnd::Stopped { RunStatus::Interrupted } else { RunStatus::Completed }, None);
        self.target.ledger().save_run(&record).await?;
        Ok(SyncSummary {
            session: id.to_owned(),
            passes,
            mappings: self
                .tracked
                .iter()
                .zip(&states)
                .map(|(t, state)| MappingSync {
                    mapping: t.name().to_owned(),
                    tracking: t.tracking.to_string(),
                    session: session_counts.get(t.name()).copied().unwrap_or_default(),
                    since_first: Counts {
                        read: 0,
                        created: state.created,
                        updated: state.updated,
                        deleted: state.deleted,
                        unchanged: state.unchanged,
                        rejected: state.rejected,
                        waiting: state.pending.len() as u64,
                    },
                    watermark: match state.watermark() {
                        Ok(Cursor::Key(values)) => {
                            values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                        }
                        _ => "(start)".into(),
                    },
                    newest_change: state.newest_change.clone(),
                    waiting: state.pending.len() as u64,
                })
                .collect(),
            end,
            lag_seconds: lag,
            verification,
            reject_file: reject_path.is_file().then_some(reject_path),
            seconds: self.started.elapsed().as_secs_f64(),
        })
    }

    /// Runs passes as the options ask.
    async fn passes(
        &self,
        context: &BatchContext,
        states: &mut [SyncState],
        stop: &StopRequest,
    ) -> Result<Outcome, (EngineError, HashMap<String, Counts>, u64)> {
        let interval = self.options.interval.unwrap_or(self.plan.sync.interval);
        let max_lag = self.options.max_lag.unwrap_or(self.plan.sync.max_lag);
        let mut counts: HashMap<String, Counts> = HashMap::new();
        let mut passes = 0;
        let mut caught_up_at: Option<Instant> = None;
        let mut failures = 0;
        let keeps_going = self.options.follow || self.options.until_caught_up;
        loop {
            passes += 1;
            let report = match self.pass(passes, context, states, stop, caught_up_at).await {
                Ok(report) => {
                    failures = 0;
                    report
                }
                // A following sync outlives a dropped source connection: what committed is
                // kept, and the next pass reads from the watermark.
                Err(error) if keeps_going && error.is_transient() && failures < RETRIES && !stop.is_set() => {
                    failures += 1;
                    let pause = Duration::from_secs(1 << failures.min(5));
                    self.observer.message(&format!(
                        "pass {passes}: {error}; trying again from the watermark in {}s (try {failures} of {RETRIES})",
                        pause.as_secs()
                    ));
                    sleep_unless_stopped(pause, stop).await;
                    if stop.is_set() {
                        return Ok(Outcome { end: SyncEnd::Stopped, passes, lag: None, verification: None, counts });
                    }
                    continue;
                }
                Err(error) => return Err((error, counts, passes)),
            };
            for (mapping, pass_counts) in &report.mappings {
                counts.entry(mapping.clone()).or_default().add(pass_counts);
            }
            if report.complete {
                caught_up_at = Some(Instant::now() - Duration::from_secs_f64(report.seconds));
            }
            self.observer.sync_pass(&report);
            let lag = caught_up_at.map(|t| t.elapsed().as_secs_f64());
            if stop.is_set() {
                return Ok(Outcome { end: SyncEnd::Stopped, passes, lag, verification: None, counts });
            }
            if self.options.until_caught_up && report.complete && report.lag_seconds <= max_lag.as_secs_f64() {
                self.observer.message(&format!(
                    "lag {:.1}s is under {:.1}s: verifying the graph against the source",
                    report.lag_seconds,
                    max_lag.as_secs_f64()
                ));
                let options = VerifyOptions { only: self.options.only.clone(), ..VerifyOptions::default() };
                let verified = verify_with(self.plan, &options, self.source, self.target, self.observer).await;
                match verified {
                    Ok(verification) if verification.summary().passed => {
                        return Ok(Outcome {
                            end: SyncEnd::CaughtUp,
                            passes,
                            lag,
                            verification: Some(verification),
                            counts,
                        });
                    }
                    Ok(verification) => self.observer.message(&format!(
                        "verification {}: changes still arriving? syncing on",
                        verification.summary()
                    )),
                    Err(error) => return Err((error, counts, passes)),
                }
            }
            if !self.options.follow && !self.options.until_caught_up {
                return Ok(Outcome { end: SyncEnd::OnePass, passes, lag, verification: None, counts });
            }
            if let Some(timeout) = self.options.timeout
                && self.started.elapsed() >= timeout
            {
                let reason = match lag {
                    Some(lag) => format!("the lag was {lag:.1}s after {passes} passes"),
                    None => format!("no pass completed in {passes} tries"),
                };
                return Err((
                    EngineError::NotCaughtUp { waited: humantime::format_duration(timeout).to_string(), reason },
                    counts,
                    passes,
                ));
            }
            sleep_unless_stopped(interval, stop).await;
            if stop.is_set() {
                return Ok(Outcome { end: SyncEnd::Stopped, passes, lag, verification: None, counts });
            }
        }
    }

    /// One pass over every tracked mapping, in load order.
    async fn pass(
        &self,
        number: u64,
        context: &BatchContext,
        states: &mut [SyncState],
        stop: &StopRequest,
        previous_complete: Option<Instant>,
    ) -> Result<PassReport, EngineError> {
        let started = Instant::now();
        let started_at = now();
        let mut report = PassReport {
            pass: number,
            mappings: Vec::with_capacity(self.tracked.len()),
            seconds: 0.0,
            complete: true,
            lag_seconds: 0.0,
            newest_change: None,
        };
        for (tracked, state) in self.tracked.iter().zip(states.iter_mut()) {
            let (counts, complete) = self.mapping_pass(context, tracked, state, stop).await?;
            report.mappings.push((tracked.name().to_owned(), counts));
            report.complete &= complete;
            if !complete {
                break;
            }
        }
        if report.complete {
            for state in states.iter_mut() {
                state.passes += 1;
                state.caught_up_at = Some(started_at.clone());
            }
            self.target.change_sync()?.save_sync_states(states).await?;
        }
        report.seconds = started.elapsed().as_secs_f64();
        report.lag_seconds = if report.complete {
            report.seconds
        } else {
            previous_complete.map_or(f64::INFINITY, |t| t.elapsed().as_secs_f64())
        };
        report.newest_change = states.iter().filter_map(|s| s.newest_change.clone()).max();
        Ok(report)
    }

    /// One mapping's part of a pass: its waiting rows, then its changes since the watermark.
    /// Returns what it did and whether it read to the end.
    async fn mapping_pass(
        &self,
        context: &BatchContext,
        tracked: &Tracked,
        state: &mut SyncState,
        stop: &StopRequest,
    ) -> Result<(Counts, bool), EngineError> {
        let mut counts = Counts { waiting: state.pending.len() as u64, ..Counts::default() };
        let waiting: Vec<Vec<Value>> = state.pending.iter().filter_map(|p| p.key_values().ok()).collect();
        for chunk in waiting.chunks(FETCH) {
            let (rows, gone) = changes::fetch(self.source.as_ref(), tracked, chunk.to_vec()).await?;
            let incoming =
                Incoming { rows, gone, read: chunk.len() as u64, retried: chunk.to_vec(), ..Incoming::default() };
            counts.add(&changes::apply(context, tracked, state, incoming).await?);
        }

        if state.reads_table_first && !self.read_table_whole(context, tracked, state, stop, &mut counts).await? {
            return Ok((counts, false));
        }

        let watermark = state.watermark().map_err(|e| EngineError::Internal(format!("{}: {e}", tracked.name())))?;
        let batch_size = if tracked.log.is_some() { self.batch_size.min(FETCH) } else { self.batch_size };
        let request = tracked.changes_request(&watermark, &self.plan.sync, batch_size);
        // Rejected changes the window has moved past cannot be read again: forget them.
        if let Cursor::Key(values) = &watermark {
            let floor =
                watermark::step_back(&values[0], tracked.cursor_kind, &self.plan.sync).unwrap_or(values[0].clone());
            state.given_up.retain(|p| {
                p.position_values()
                    .and_then(|position| position.first().cloned())
                    .is_none_or(|at| watermark::compare(&at, &floor) != Some(std::cmp::Ordering::Less))
            });
        }
        // Reading again from before the watermark (the overlap), or strictly after it.
        let overlapping = request.after == Cursor::Start && matches!(watermark, Cursor::Key(_));
        let mut stream = self.source.scan(request).await?;
        while let Some(batch) = stream.next().await {
            if stop.is_set() {
                return Ok((counts, false));
            }
            let rows = batch?.rows;
            let current = match state.watermark() {
                Ok(Cursor::Key(values)) => values,
                _ => Vec::new(),
            };
            let incoming = match &tracked.log {
                None => {
                    let last = rows.iter().rev().find_map(|row| match row {
                        grafter_model::SourceRow::Ok { values, .. } => {
                            let cursor = &values[tracked.cursor_at.expect("cursor mode")];
                            (!cursor.is_null()).then(|| {
                                let mut position = vec![cursor.clone()];
                                position.extend(tracked.identity_of(values));
                                position
                            })
                        }
                        grafter_model::SourceRow::Malformed { .. } => None,
                    });
                    let watermark = last.map(|last| watermark::advance(&current, &last, overlapping));
                    let at = tracked.cursor_at.expect("cursor mode");
                    let positions = rows
                        .iter()
                        .filter_map(|row| match row {
                            grafter_model::SourceRow::Ok { values, .. } => {
                                let identity = tracked.identity_of(values);
                                let mut position = vec![values[at].clone()];
                                position.extend(identity.iter().cloned());
                                Some((changes::identity_text(&identity), position))
                            }
                            grafter_model::SourceRow::Malformed { .. } => None,
                        })
                        .collect();
                    Incoming {
                        read: rows.len() as u64,
                        newest: watermark.as_ref().and_then(|w| w.first().cloned()),
                        watermark,
                        rows,
                        positions,
                        ..Incoming::default()
                    }
                }
                Some(_) => {
                    let log = change_log::read_entries(rows, tracked);
                    let (rows, gone) = changes::fetch(self.source.as_ref(), tracked, log.identities).await?;
                    let watermark = log.last.map(|last| watermark::advance(&current, &last, overlapping));
                    Incoming {
                        rows,
                        gone,
                        unreadable: log.unreadable,
                        newest: watermark.as_ref().and_then(|w| w.first().cloned()),
                        watermark,
                        read: log.read,
                        retried: Vec::new(),
                        positions: log.positions,
                    }
                }
            };
            counts.add(&changes::apply(context, tracked, state, incoming).await?);
            crate::fault::slow_batch().await;
        }
        counts.waiting = state.pending.len() as u64;
        Ok((counts, !stop.is_set()))
    }

    /// A change-log mapping's first pass: reads the table whole (the log holds nothing of
    /// what changed before it was followed), then sets the watermark to the log's end as it
    /// was when the read began — whatever changes meanwhile is either read or logged after
    /// it. Returns whether it read to the end (a crash or stop before repeats it whole).
    async fn read_table_whole(
        &self,
        context: &BatchContext,
        tracked: &Tracked,
        state: &mut SyncState,
        stop: &StopRequest,
        counts: &mut Counts,
    ) -> Result<bool, EngineError> {
        let (log, position) = tracked.watermark_key();
        let log_end = self.source.max_key(&log, &position).await?;
        let mut stream = self.source.scan(tracked.table_request(self.batch_size)).await?;
        while let Some(batch) = stream.next().await {
            if stop.is_set() {
                return Ok(false);
            }
            let rows = batch?.rows;
            let incoming = Incoming { read: rows.len() as u64, rows, ..Incoming::default() };
            counts.add(&changes::apply(context, tracked, state, incoming).await?);
            crate::fault::slow_batch().await;
        }
        state.reads_table_first = false;
        state.watermark = log_end.map_or(Cursor::Start, Cursor::Key).encode();
        Ok(true)
    }
}

/// Sleeps for `pause`, waking early when a stop is asked for.
async fn sleep_unless_stopped(pause: Duration, stop: &StopRequest) {
    let wake = Instant::now() + pause;
    while Instant::now() < wake && !stop.is_set() {
        tokio::time::sleep((wake - Instant::now()).min(Duration::from_millis(100))).await;
    }
}

/// How the passes ended.
struct Outcome {
    end: SyncEnd,
    passes: u64,
    lag: Option<f64>,
    verification: Option<VerifyReport>,
    counts: HashMap<String, Counts>,
}
