//! One mapping's load: scan → transform and encode → write, as a pipeline.
//!
//! The scan and the transform run ahead of the writer by at most two batches (a bounded
//! channel), so memory stays flat and the store — the slowest step — never waits for rows.
//! Each write carries the partition's checkpoint, cumulative counts included, and the
//! batch's rejects are written just before it commits: data, bookkeeping and rejects move
//! together, so a crash loses nothing and repeats nothing.
//!
//! A keyed read can be split into key-range partitions read side by side, each with its own
//! checkpoint; the ranges are stored before any data, so a resume reads exactly the same
//! partitions. A partition whose source connection drops is read again from its last
//! checkpoint, a few times with growing pauses, before the run gives up (resumably). A
//! mapping can start from checkpoints ([`Start`]) and stops at the next batch boundary when
//! asked to.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafter_model::{Cursor, KeyRange};
use grafter_source::Source;
use grafter_target::{Checkpoint, Encoded, GraphTarget, RecordBatch, WriteReport, WriteStep};
use tokio::sync::mpsc;

use crate::interrupt::StopRequest;
use crate::prepare::{PreparedMapping, Shape};
use crate::records::{Origin, Rejected, transform};
use crate::rejects::{RejectLine, RejectSink, RowShape};
use crate::{EngineError, MappingStats, MappingStatus, Observer};

/// What all mappings of a run share.
pub(crate) struct RunContext {
    pub run_id: String,
    pub target: Arc<dyn GraphTarget>,
    pub rejects: Arc<RejectSink>,
    pub observer: Arc<dyn Observer>,
    pub max_rejects: Option<u64>,
    /// Rejects over the whole run, for the limit.
    pub rejected_total: std::sync::atomic::AtomicU64,
    /// Set by Ctrl-C, a lost lock, or a mapping that failed: the others stop at their next
    /// batch.
    pub stop: StopRequest,
    /// Whether to count rows beside the load (see `RunOptions::count_rows`).
    pub count_rows: bool,
    /// How fresh mappings are split.
    pub layout: Layout,
    /// Whether the user chose the batch size (`--batch-size`, `[run] batch_size`): it is
    /// kept then; otherwise the target may ask for bigger batches ([`GraphLoader::batch_rows`]).
    ///
    /// [`GraphLoader::batch_rows`]: grafter_target::GraphLoader::batch_rows
    pub batch_size_chosen: bool,
}

/// Where a partition stands: from nothing, or from the checkpoint of an earlier attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct Start {
    pub partition: u32,
    pub range: KeyRange,
    pub cursor: Cursor,
    pub read: u64,
    pub written: u64,
    pub rejected: u64,
    pub batches: u64,
    pub seconds: f64,
    pub finished: bool,
}

impl Start {
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Start {
        Start {
            partition: checkpoint.partition,
            range: checkpoint.range.clone(),
            cursor: checkpoint.cursor.clone(),
            read: checkpoint.read,
            written: checkpoint.written,
            rejected: checkpoint.rejected,
            batches: checkpoint.batches,
            seconds: checkpoint.seconds,
            finished: checkpoint.finished,
        }
    }

    /// The checkpoint that records this state.
    fn checkpoint(&self, run_id: &str, mapping: &str, checksum: &str) -> Checkpoint {
        Checkpoint {
            run_id: run_id.to_owned(),
            mapping: mapping.to_owned(),
            partition: self.partition,
            range: self.range.clone(),
            checksum: checksum.to_owned(),
            batches: self.batches,
            cursor: self.cursor.clone(),
            read: self.read,
            written: self.written,
            rejected: self.rejected,
            finished: self.finished,
            seconds: self.seconds,
        }
    }
}

/// How a mapping's partitions are laid out when it starts from nothing.
pub(crate) struct Layout {
    /// Partitions per keyed mapping (1: read whole).
    pub partitions: usize,
}

/// Tries of a partition whose source connection dropped, before the run gives up.
const RETRIES: u32 = 5;

/// A batch ready for the writer.
struct ReadyBatch {
    encoded: Encoded,
    transform_seconds: f64,
    origins: Vec<Origin>,
    rejected: Vec<Rejected>,
    rows_read: u64,
    remapped: u64,
    cursor: Cursor,
}

/// Batches transformed ahead of the writer.
const AHEAD: usize = 2;

pub(crate) fn new_stats(prepared: &PreparedMapping, total: Option<u64>) -> MappingStats {
    MappingStats {
        mapping: prepared.mapping.name.clone(),
        pattern: prepared.mapping.pattern(),
        kind: if prepared.mapping.is_node() { "node" } else { "relationship" },
        total,
        read: 0,
        written: 0,
        created: 0,
        updated: 0,
        rejected: 0,
        remapped: 0,
        seconds: 0.0,
        write_seconds: 0.0,
        transform_seconds: 0.0,
        checkpoint_seconds: 0.0,
        resumed_at: None,
        status: MappingStatus::Pending,
    }
}

/// Where a batch's rejects go in the reject file.
struct RejectPlace<'a> {
    mapping: &'a str,
    partition: u32,
    batch: u64,
    shape: &'a RowShape,
}

impl RejectPlace<'_> {
    fn line<'b>(&'b self, origin: &'b Origin, reason: &'b str) -> RejectLine<'b> {
        RejectLine {
            mapping: self.mapping,
            partition: self.partition,
            batch: self.batch,
            shape: self.shape,
            origin,
            reason,
        }
    }
}

/// Writes a batch through the target's handover (`grafter_target::handover`): whenever the
/// target has settled the outcomes, the rejects not yet written — those found before the
/// write, at the first step, then those the target adds — are made durable, and only then
/// does the write go on to its commit. Data, checkpoint and rejects so commit together.
async fn write_settled(
    context: &RunContext,
    place: RejectPlace<'_>,
    (encoded, checkpoint): (Encoded, &Checkpoint),
    found_before: Vec<Rejected>,
    origins: &[Origin],
) -> Result<WriteReport, EngineError> {
    let mut unwritten = Some(found_before);
    let mut step = context.target.loader().stage(encoded, checkpoint).await?;
    loop {
        let pending = match step {
            WriteStep::Settle(pending) => pending,
            WriteStep::Done(report) => {
                // Every target settles before it commits; one that did not must still not
                // lose the rejects found before the write.
                if let Some(found) = unwritten.filter(|found| !found.is_empty()) {
                    let lines: Vec<RejectLine<'_>> = found.iter().map(|r| place.line(&r.origin, &r.reason)).collect();
                    context.rejects.write_batch(&lines)?;
                }
                return Ok(report);
            }
        };
        let written = {
            let mut lines: Vec<RejectLine<'_>> = Vec::new();
            if let Some(found) = &unwritten {
                lines.extend(found.iter().map(|r| place.line(&r.origin, &r.reason)));
            }
            for (position, reason) in pending.new_rejects() {
                let origin = origins.get(position).ok_or_else(|| {
                    EngineError::Internal(format!(
                        "the target rejected record {position} of a batch of {}",
                        origins.len()
                    ))
                })?;
                lines.push(place.line(origin, reason));
            }
            context.rejects.write_batch(&lines)
        };
        if let Err(error) = written {
            return Err(pending.refuse(error.to_string()).await.into());
        }
        unwritten = None;
        crate::fault::pass(crate::fault::Point::BeforeCommit);
        step = pending.commit().await?;
    }
}

/// Loads one mapping: its partitions from the checkpoints of an earlier attempt when
/// `resume` has them, else freshly laid out.
pub(crate) async fn run_mapping(
    prepared: PreparedMapping,
    resume: Option<Vec<Checkpoint>>,
    source: Arc<dyn Source>,
    context: Arc<RunContext>,
) -> Result<MappingStats, EngineError> {
    let started = Instant::now();
    // The row count only feeds the progress display: it runs beside the load, not before it.
    let counting = context.count_rows.then(|| {
        let (source, request) = (Arc::clone(&source), prepared.request.clone());
        tokio::spawn(async move { source.count(&request).await })
    });
    let starts = match resume {
        Some(checkpoints) => checkpoints.iter().map(Start::from_checkpoint).collect(),
        None => lay_out(&prepared, source.as_ref(), &context).await?,
    };
    let mut stats = new_stats(&prepared, None);
    stats.read = starts.iter().map(|s| s.read).sum();
    stats.written = starts.iter().map(|s| s.written).sum();
    stats.rejected = starts.iter().map(|s| s.rejected).sum();
    if starts.iter().any(|s| s.cursor != Cursor::Start || s.finished) {
        stats.resumed_at = Some(stats.read);
    }
    stats.status = MappingStatus::Running;
    context.observer.mapping_started(&stats);

    let shared = Arc::new(Shared { stats: Mutex::new(stats), counting: Mutex::new(counting), started });
    let partitions = starts.into_iter().filter(|s| !s.finished).map(|start| {
        let (prepared, source, context, shared) =
            (prepared.clone(), Arc::clone(&source), Arc::clone(&context), Arc::clone(&shared));
        async move { run_partition(&prepared, start, source, &context, &shared).await }
    });
    let results = futures::future::join_all(partitions).await;
    if let Some(task) = shared.counting.lock().expect("counting").take() {
        task.abort();
    }
    let mut stats = shared.stats.lock().expect("stats").clone();
    stats.seconds = started.elapsed().as_secs_f64();
    let mut all_finished = true;
    for result in results {
        match result {
            Ok(finished) => all_finished &= finished,
            Err(error) => {
                stats.status = MappingStatus::Stopped;
                context.observer.mapping_finished(&stats);
                return Err(error);
            }
        }
    }
    stats.status = if all_finished { MappingStatus::Done } else { MappingStatus::Stopped };
    context.observer.mapping_finished(&stats);
    Ok(stats)
}

/// The mapping's row count, counted beside the load.
type Counting = tokio::task::JoinHandle<Result<Option<u64>, grafter_source::SourceError>>;

/// What the partitions of a mapping share: its figures and its row count in progress.
struct Shared {
    stats: Mutex<MappingStats>,
    counting: Mutex<Option<Counting>>,
    started: Instant,
}

impl Shared {
    /// Adds a batch's figures and tells the observer.
    fn add(
        &self,
        context: &RunContext,
        (read, remapped): (u64, u64),
        report: &grafter_target::WriteReport,
        rejected_before: u64,
        seconds: (f64, f64),
    ) {
        let mut stats = self.stats.lock().expect("stats");
        let created = report.created();
        let written = report.written();
        stats.created += created;
        stats.updated += written - created;
        stats.written += written;
        stats.read += read;
        stats.remapped += remapped;
        stats.rejected += rejected_before + report.outcomes.len() as u64 - written;
        stats.transform_seconds += seconds.0;
        stats.write_seconds += seconds.1;
        stats.checkpoint_seconds += report.checkpoint_seconds;
        stats.seconds = self.started.elapsed().as_secs_f64();
        let mut counting = self.counting.lock().expect("counting");
        if counting.as_ref().is_some_and(|task| task.is_finished()) {
            let task = counting.take().expect("checked");
            // Finished: the result is there at once.
            stats.total = futures::FutureExt::now_or_never(task).and_then(Result::ok).and_then(Result::ok).flatten();
            context.observer.total_known(&stats);
        }
        context.observer.batch_written(&stats);
    }
}

/// Splits a fresh keyed mapping into partitions and stores their ranges before any data;
/// an unkeyed or small one is one partition over the whole read.
async fn lay_out(
    prepared: &PreparedMapping,
    source: &dyn Source,
    context: &RunContext,
) -> Result<Vec<Start>, EngineError> {
    let parts = context.layout.partitions.max(1);
    let ranges = if parts > 1 && !prepared.request.order_by.is_empty() {
        source.split(&prepared.request.read, &prepared.request.order_by, parts).await?
    } else {
        vec![KeyRange::all()]
    };
    let starts: Vec<Start> = ranges
        .into_iter()
        .enumerate()
        .map(|(i, range)| Start { partition: i as u32, range, ..Start::default() })
        .collect();
    if starts.len() > 1 {
        // All ranges in one transaction: a resume must know every partition or none (then it
        // lays them out again).
        let checkpoints: Vec<Checkpoint> = starts
            .iter()
            .map(|start| start.checkpoint(&context.run_id, &prepared.mapping.name, &prepared.mapping.checksum))
            .collect();
        context.target.ledger().save_checkpoints(&checkpoints).await?;
    }
    Ok(starts)
}

/// A batch of `prepared`'s without records.
fn empty_batch(prepared: &PreparedMapping) -> RecordBatch {
    match &prepared.shape {
        Shape::Node(spec) => RecordBatch::Nodes { spec: spec.clone(), records: Vec::new() },
        Shape::Relationship(spec) => RecordBatch::Relationships { spec: spec.clone(), records: Vec::new() },
    }
}

/// Stores a checkpoint with an empty batch, in its own small transaction.
async fn write_empty(
    prepared: &PreparedMapping,
    context: &RunContext,
    checkpoint: &Checkpoint,
) -> Result<(), EngineError> {
    let loader = context.target.loader();
    loader.stage(loader.encode(empty_batch(prepared))?, checkpoint).await?.answer_with(|_| Ok(())).await?;
    Ok(())
}

/// Reads a partition to its end (then marks it finished) or to a stop; a dropped source
/// connection is retried from the last checkpoint. Returns whether it finished.
async fn run_partition(
    prepared: &PreparedMapping,
    start: Start,
    source: Arc<dyn Source>,
    context: &Arc<RunContext>,
    shared: &Shared,
) -> Result<bool, EngineError> {
    let mut progress = start;
    let mut failures = 0;
    loop {
        match pass(prepared, &mut progress, &source, context, shared).await {
            Ok(true) => break,
            Ok(false) => return Ok(false),
            Err(error) if error.is_transient() && failures < RETRIES && !context.stop.is_set() => {
                failures += 1;
                let pause = Duration::from_millis(500 * (1 << failures));
                context.observer.message(&format!(
                    "{} (partition {}): {error}; reading again from the last checkpoint in {:.1}s (try {failures} of {RETRIES})",
                    prepared.mapping.name,
                    progress.partition,
                    pause.as_secs_f64()
                ));
                tokio::time::sleep(pause).await;
            }
            Err(error) => return Err(error),
        }
    }
    if context.stop.is_set() {
        // The source ended, but a stop was asked for: the resume finds nothing left and
        // marks it finished then.
        return Ok(false);
    }
    progress.finished = true;
    let checkpoint = progress.checkpoint(&context.run_id, &prepared.mapping.name, &prepared.mapping.checksum);
    write_empty(prepared, context, &checkpoint).await?;
    Ok(true)
}

/// One pass over a partition from `progress`, which follows every committed batch. Returns
/// whether the source reached the end (`false`: a stop was asked for).
async fn pass(
    prepared: &PreparedMapping,
    progress: &mut Start,
    source: &Arc<dyn Source>,
    context: &Arc<RunContext>,
    shared: &Shared,
) -> Result<bool, EngineError> {
    let pass_started = Instant::now();
    let seconds_before = progress.seconds;
    let mut request = prepared.request.clone();
    request.after = progress.cursor.clone();
    request.range = progress.range.clone();
    if !context.batch_size_chosen {
        request.batch_size =
            context.target.loader().batch_rows(&context.run_id, &empty_batch(prepared), request.batch_size).await?;
    }
    let mut stream = source.scan(request).await?;
    let (sender, mut receiver) = mpsc::channel::<Result<ReadyBatch, EngineError>>(AHEAD);
    let bound = Arc::new(prepared.bound.clone());
    let shape = prepared.shape.clone();
    let remap = Arc::clone(&prepared.remap);
    let target = Arc::clone(&context.target);
    let producer = tokio::spawn(async move {
        while let Some(batch) = stream.next().await {
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    let _ = sender.send(Err(error.into())).await;
                    return;
                }
            };
            let (bound, shape, target, remap) =
                (Arc::clone(&bound), shape.clone(), Arc::clone(&target), Arc::clone(&remap));
            let ready = tokio::task::spawn_blocking(move || {
                let transform_started = Instant::now();
                let rows_read = batch.rows.len() as u64;
                let transformed = transform(batch.rows, &bound, &shape, &remap, target.as_ref());
                let encoded = target.loader().encode(transformed.records)?;
                Ok(ReadyBatch {
                    encoded,
                    transform_seconds: transform_started.elapsed().as_secs_f64(),
                    origins: transformed.origins,
                    rejected: transformed.rejected,
                    rows_read,
                    remapped: transformed.remapped,
                    cursor: batch.cursor_after,
                })
            })
            .await
            .unwrap_or_else(|e| Err(EngineError::Internal(format!("transform task failed: {e}"))));
            if sender.send(ready).await.is_err() {
                return;
            }
        }
    });

    // Rows come with the request's columns; its key (if any) places a rejected row.
    let shape =
        Arc::new(RowShape { columns: prepared.request.columns.clone(), key: prepared.request.order_by.clone() });
    let name = &prepared.mapping.name;
    let result: Result<bool, EngineError> = async {
        while let Some(ready) = receiver.recv().await {
            if context.stop.is_set() {
                return Ok(false);
            }
            let ready = ready?;
            let rejected_before = ready.rejected.len() as u64;
            let mut next = progress.clone();
            next.batches += 1;
            next.cursor = ready.cursor.clone();
            next.read += ready.rows_read;
            next.rejected += rejected_before;
            next.seconds = seconds_before + pass_started.elapsed().as_secs_f64();
            let checkpoint = next.checkpoint(&context.run_id, name, &prepared.mapping.checksum);
            let place = RejectPlace { mapping: name, partition: next.partition, batch: next.batches, shape: &shape };
            let write_started = Instant::now();
            let report =
                write_settled(context, place, (ready.encoded, &checkpoint), ready.rejected, &ready.origins).await?;
            crate::fault::pass(crate::fault::Point::AfterCommit);
            let write_seconds = write_started.elapsed().as_secs_f64();
            let written = report.written();
            next.written += written;
            next.rejected += report.outcomes.len() as u64 - written;
            let batch_rejects = next.rejected - progress.rejected;
            *progress = next;
            shared.add(
                context,
                (ready.rows_read, ready.remapped),
                &report,
                rejected_before,
                (ready.transform_seconds, write_seconds),
            );
            crate::fault::slow_batch().await;
            let rejected_total =
                context.rejected_total.fetch_add(batch_rejects, std::sync::atomic::Ordering::Relaxed) + batch_rejects;
            if let Some(limit) = context.max_rejects
                && rejected_total > limit
            {
                return Err(EngineError::TooManyRejects {
                    rejected: rejected_total,
                    limit,
                    reject_file: context.rejects.path().display().to_string(),
                });
            }
        }
        Ok(!context.stop.is_set())
    }
    .await;
    drop(receiver);
    let _ = producer.await;
    result
}
