//! How a write shows the engine its outcomes before it commits, and waits for its answer.
//!
//! A target settles every record's outcome inside its transaction; before the commit the
//! engine must make the rejects durable (and, for a sync batch, work out the state stored
//! with it). Rather than the engine's code running inside the target's write as a callback,
//! the write is a handle the engine drives, the way sqlx hands out a transaction:
//!
//! ```text
//! engine                                   target (transaction open)
//! loader.stage(encoded, checkpoint) ─────▶ writes, settles the outcomes
//!            ◀──────── Step::Settle(pending) gate.settle(&report) waits
//! rejects written; pending.commit(answer) ▶ stores the checkpoint, commits
//!            ◀──────── Step::Done(report)
//! ```
//!
//! The target's side is a [`Gate`]: [`Gate::settle`] (or [`Gate::settle_blocking`], for a
//! store that writes on a blocking thread) shows a report and waits for the answer. The
//! engine's side is a [`Pending`] step: the report, then [`Pending::commit`] or
//! [`Pending::refuse`] (the target rolls back and fails with the reason). The engine's code
//! runs in the engine's task, never in the target's call stack.
//!
//! A write may show its outcomes more than once before it commits: a first try that
//! assumed every record new and wrote nothing, a connection lost before the commit. A load's
//! [`PendingWrite`] therefore tells which rejects are new since the last step the engine
//! answered, so that each reject is written once, however often the target settles.

use std::future::Future;
use std::pin::Pin;

use grafter_model::SyncState;
use tokio::sync::{mpsc, oneshot};

use crate::encoded::Encoded;
use crate::error::TargetError;
use crate::records::{ChangeReport, Checkpoint, RowOutcome, WriteReport};
use crate::target::{ChangeSync, GraphLoader};

/// What a target's [`Gate`] says when the engine dropped the write without answering.
const ABANDONED: &str = "the write was abandoned before it committed";

/// The engine's answer to a settled report: go on with `A`, or roll back for the reason.
type Answer<A> = oneshot::Sender<Result<A, String>>;

/// A report shown to the engine, with where its answer goes.
type Shown<R, A> = (R, Answer<A>);

/// A target's write in progress, as the engine drives it.
pub type Work<'a, R> = Pin<Box<dyn Future<Output = Result<R, TargetError>> + Send + 'a>>;

/// The target's side of a handover: shows its settled outcomes and waits for the engine.
pub struct Gate<R, A> {
    shown: mpsc::Sender<Shown<R, A>>,
}

/// The gate of a load's write: the engine answers once the rejects are durable.
pub type WriteGate = Gate<WriteReport, ()>;

/// The gate of a sync batch: the engine answers with the sync state to store with it.
pub type ChangeGate = Gate<ChangeReport, SyncState>;

impl<R: Clone + Send, A: Send> Gate<R, A> {
    /// Shows `report` and waits for the engine's answer: `Err` with the engine's reason (or
    /// because it stopped waiting) means roll back.
    pub async fn settle(&mut self, report: &R) -> Result<A, String> {
        let (answer, answered) = oneshot::channel();
        self.shown.send((report.clone(), answer)).await.map_err(|_| ABANDONED.to_owned())?;
        answered.await.map_err(|_| ABANDONED.to_owned())?
    }

    /// [`Gate::settle`] from a blocking thread (never from an async task: it blocks).
    pub fn settle_blocking(&mut self, report: &R) -> Result<A, String> {
        let (answer, answered) = oneshot::channel();
        self.shown.blocking_send((report.clone(), answer)).map_err(|_| ABANDONED.to_owned())?;
        answered.blocking_recv().map_err(|_| ABANDONED.to_owned())?
    }
}

/// Where a handed-over write stands.
pub enum Step<'a, R, A> {
    /// The outcomes are settled and the transaction waits for the engine.
    Settle(Pending<'a, R, A>),
    /// Committed, with its final report.
    Done(R),
}

#[cfg(test)]
impl<R, A> Step<'_, R, A> {
    /// Drives the write to its end, answering every settled report with `answer` (which runs
    /// here, in the caller's task, between steps): for tests.
    pub async fn answer_with(self, mut answer: impl FnMut(&R) -> Result<A, String>) -> Result<R, TargetError> {
        let mut step = self;
        loop {
            match step {
                Step::Done(report) => return Ok(report),
                Step::Settle(pending) => match answer(pending.report()) {
                    Ok(answered) => step = pending.commit(answered).await?,
                    Err(reason) => return Err(pending.refuse(reason).await),
                },
            }
        }
    }
}

/// A write waiting for the engine's answer before it commits.
pub struct Pending<'a, R, A> {
    work: Work<'a, R>,
    shown: mpsc::Receiver<Shown<R, A>>,
    report: R,
    answer: Answer<A>,
}

/// Starts `work`, which settles through the gate it is given, and drives it to its first step.
pub async fn hand_over<'a, R: Send + 'a, A: Send + 'a>(
    work: impl FnOnce(Gate<R, A>) -> Work<'a, R>,
) -> Result<Step<'a, R, A>, TargetError> {
    // One report at a time: the target waits for each answer.
    let (sender, shown) = mpsc::channel(1);
    drive(work(Gate { shown: sender }), shown).await
}

/// Runs `work` until it shows a report or finishes.
async fn drive<'a, R, A>(
    mut work: Work<'a, R>,
    mut shown: mpsc::Receiver<Shown<R, A>>,
) -> Result<Step<'a, R, A>, TargetError> {
    enum Next<R, A> {
        Finished(Result<R, TargetError>),
        Shown(Shown<R, A>),
    }
    let next = tokio::select! {
        // Finishing wins: a write that returned has nothing more to show.
        biased;
        finished = &mut work => Next::Finished(finished),
        Some(report) = shown.recv() => Next::Shown(report),
    };
    match next {
        Next::Finished(finished) => finished.map(Step::Done),
        Next::Shown((report, answer)) => Ok(Step::Settle(Pending { work, shown, report, answer })),
    }
}

impl<'a, R, A> Pending<'a, R, A> {
    /// The settled outcomes.
    pub fn report(&self) -> &R {
        &self.report
    }

    /// Lets the write go on with `answer`: it commits ([`Step::Done`]) or settles again.
    pub async fn commit(self, answer: A) -> Result<Step<'a, R, A>, TargetError> {
        // A closed answer means the write already gave up; driving it returns why.
        let _ = self.answer.send(Ok(answer));
        drive(self.work, self.shown).await
    }

    /// Refuses the outcomes: the write rolls back and fails with `reason` (its error).
    pub async fn refuse(self, reason: String) -> TargetError {
        let mut pending = self;
        loop {
            let _ = pending.answer.send(Err(reason.clone()));
            match drive(pending.work, pending.shown).await {
                Err(error) => return error,
                Ok(Step::Settle(again)) => pending = again,
                Ok(Step::Done(_)) => {
                    return TargetError::Write {
                        target: "the target".into(),
                        message: format!("it committed a write the engine refused ({reason})"),
                    };
                }
            }
        }
    }
}

/// Where a load's write stands.
pub enum WriteStep<'a> {
    /// The outcomes are settled and the transaction waits for the rejects to be durable.
    Settle(PendingWrite<'a>),
    /// Committed, with its final report.
    Done(WriteReport),
}

impl<'a> WriteStep<'a> {
    /// A step of a load's write, `answered` saying which rejects earlier steps showed.
    fn of(step: Step<'a, WriteReport, ()>, answered: Vec<bool>) -> WriteStep<'a> {
        match step {
            Step::Settle(pending) => WriteStep::Settle(PendingWrite { pending, answered }),
            Step::Done(report) => WriteStep::Done(report),
        }
    }

    /// Drives a load's write to its end, answering every settled report with `answer`
    /// (which runs here, between steps): for a write with no reject to make durable (an
    /// empty batch).
    pub async fn answer_with(
        self,
        mut answer: impl FnMut(&WriteReport) -> Result<(), String>,
    ) -> Result<WriteReport, TargetError> {
        let mut step = self;
        loop {
            match step {
                WriteStep::Done(report) => return Ok(report),
                WriteStep::Settle(pending) => match answer(pending.report()) {
                    Ok(()) => step = pending.commit().await?,
                    Err(reason) => return Err(pending.refuse(reason).await),
                },
            }
        }
    }
}

/// A load's write waiting for its rejects to be written.
pub struct PendingWrite<'a> {
    pending: Pending<'a, WriteReport, ()>,
    /// Per record: whether the engine already wrote its reject at an earlier step.
    answered: Vec<bool>,
}

impl<'a> PendingWrite<'a> {
    /// The settled outcomes.
    pub fn report(&self) -> &WriteReport {
        self.pending.report()
    }

    /// The records this step rejects that no earlier step of the write did: (position in
    /// the batch, reason). The engine writes these, and only these, before it commits.
    pub fn new_rejects(&self) -> Vec<(usize, &str)> {
        self.report()
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, outcome)| match outcome {
                RowOutcome::Rejected(reason) if !self.answered.get(i).copied().unwrap_or(false) => {
                    Some((i, reason.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// The rejects are durable: the write commits, or settles again.
    pub async fn commit(self) -> Result<WriteStep<'a>, TargetError> {
        let mut answered = self.answered;
        let outcomes = &self.pending.report().outcomes;
        answered.resize(answered.len().max(outcomes.len()), false);
        for (i, outcome) in outcomes.iter().enumerate() {
            answered[i] |= matches!(outcome, RowOutcome::Rejected(_));
        }
        Ok(WriteStep::of(self.pending.commit(()).await?, answered))
    }

    /// The rejects could not be written: the write rolls back and fails with `reason`.
    pub async fn refuse(self, reason: String) -> TargetError {
        self.pending.refuse(reason).await
    }
}

impl dyn GraphLoader + '_ {
    /// Starts writing an encoded batch with its checkpoint ([`GraphLoader::write`]) and
    /// drives it to its first step: outcomes to settle, or (with nothing to show) committed.
    pub async fn stage<'a>(
        &'a self,
        encoded: Encoded,
        checkpoint: &'a Checkpoint,
    ) -> Result<WriteStep<'a>, TargetError> {
        Ok(WriteStep::of(hand_over(|gate| self.write(encoded, checkpoint, gate)).await?, Vec::new()))
    }
}

impl dyn ChangeSync + '_ {
    /// Starts applying a sync batch ([`ChangeSync::apply_changes`]) and drives it to its
    /// first step: the outcomes, waiting for the state to store with them.
    pub async fn stage_changes(
        &self,
        changes: crate::records::ChangeSet,
    ) -> Result<Step<'_, ChangeReport, SyncState>, TargetError> {
        hand_over(|gate| self.apply_changes(changes, gate)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcomes: Vec<RowOutcome>) -> WriteReport {
        WriteReport { outcomes, checkpoint_seconds: 0.0 }
    }

    /// A write that shows `shown` in turn, then commits the last (or fails when refused).
    fn work<'a>(shown: Vec<WriteReport>) -> impl FnOnce(WriteGate) -> Work<'a, WriteReport> {
        move |mut gate| {
            Box::pin(async move {
                let mut last = report(Vec::new());
                for report in shown {
                    gate.settle(&report).await.map_err(|message| TargetError::Write { target: "t".into(), message })?;
                    last = report;
                }
                Ok(last)
            })
        }
    }

    fn reject(reason: &str) -> RowOutcome {
        RowOutcome::Rejected(reason.into())
    }

    async fn first(shown: Vec<WriteReport>) -> WriteStep<'static> {
        WriteStep::of(hand_over(work(shown)).await.unwrap(), Vec::new())
    }

    #[tokio::test]
    async fn a_reject_shown_twice_is_new_only_the_first_time() {
        let shown = vec![report(vec![RowOutcome::Created, reject("a")]), report(vec![reject("b"), reject("a")])];
        let WriteStep::Settle(step) = first(shown).await else { panic!("expected outcomes") };
        assert_eq!(step.new_rejects(), vec![(1, "a")]);
        let WriteStep::Settle(step) = step.commit().await.unwrap() else { panic!("expected outcomes again") };
        assert_eq!(step.new_rejects(), vec![(0, "b")]);
        let WriteStep::Done(done) = step.commit().await.unwrap() else { panic!("expected the commit") };
        assert_eq!(done.outcomes, vec![reject("b"), reject("a")]);
    }

    #[tokio::test]
    async fn a_refused_write_fails_with_the_engines_reason() {
        let WriteStep::Settle(step) = first(vec![report(vec![reject("a")])]).await else { panic!("expected outcomes") };
        let error = step.refuse("the reject file is full".into()).await;
        assert!(error.to_string().contains("the reject file is full"), "{error}");
    }

    #[tokio::test]
    async fn a_write_with_nothing_to_settle_is_done_at_once() {
        let WriteStep::Done(done) = first(Vec::new()).await else { panic!("expected the commit") };
        assert!(done.outcomes.is_empty());
    }

    #[tokio::test]
    async fn a_pending_write_dropped_unanswered_rolls_back() {
        let (rolled_back, seen) = oneshot::channel();
        let step = hand_over(move |mut gate: Gate<WriteReport, ()>| -> Work<'static, WriteReport> {
            Box::pin(async move {
                let answer = gate.settle(&report(Vec::new())).await;
                let _ = rolled_back.send(answer.clone());
                answer
                    .map(|()| report(Vec::new()))
                    .map_err(|message| TargetError::Write { target: "t".into(), message })
            })
        })
        .await
        .unwrap();
        let Step::Settle(pending) = step else { panic!("expected outcomes") };
        // The engine goes away (a stop, a panic) without answering; the write is dropped with it.
        drop(pending);
        assert!(seen.await.is_err(), "a dropped write must not run on to its commit");
    }

    #[test]
    fn settle_blocking_waits_for_the_answer_from_another_thread() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let step = hand_over(|mut gate: Gate<WriteReport, ()>| -> Work<'static, WriteReport> {
                Box::pin(async move {
                    tokio::task::spawn_blocking(move || gate.settle_blocking(&report(vec![reject("x")])))
                        .await
                        .expect("blocking thread")
                        .map_err(|message| TargetError::Write { target: "t".into(), message })?;
                    Ok(report(vec![reject("x")]))
                })
            })
            .await
            .unwrap();
            let Step::Settle(pending) = step else { panic!("expected outcomes") };
            assert_eq!(pending.report().outcomes, vec![reject("x")]);
            let Step::Done(done) = pending.commit(()).await.unwrap() else { panic!("expected the commit") };
            assert_eq!(done.outcomes, vec![reject("x")]);
        });
    }
}
