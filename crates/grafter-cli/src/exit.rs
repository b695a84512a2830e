//! Exit codes, in one place. A script that drives grafter (a cut-over, a CI job) reads them
//! to tell a negative answer from a broken setup from a dead server:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done: the command did what it was asked, and any proof it made holds |
//! | 1 | a negative answer: verify found differences (also a run's closing verification), `sync --until-caught-up` did not catch up in time, `schema verify` or `schema roundtrip` failed, an archive does not check out |
//! | 2 | a configuration or usage error: nothing was attempted |
//! | 3 | a failure while working: the source, the target, a file, the lock |
//! | 130 | stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it) |
//!
//! Commands return an [`Exit`]; errors are classified by [`of_error`], which asks the
//! libraries' own errors whether they are the user's to fix.

use std::process::ExitCode;

/// How a command ended, as its exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done, and any proof made holds.
    Done,
    /// 1: the command worked and its answer is no.
    Negative,
    /// 2: a configuration or usage error; nothing was attempted.
    Usage,
    /// 3: a failure while working.
    Failure,
    /// 130: stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

impl Exit {
    /// The process's exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Negative => 1,
            Exit::Usage => 2,
            Exit::Failure => 3,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// How a command that failed with `error` exits: a usage error when any cause is the user's
/// to fix, a negative answer when the work was done and the answer is no, else a failure.
pub fn of_error(error: &anyhow::Error) -> Exit {
    let mut exit = Exit::Failure;
    for cause in error.chain() {
        let usage = cause.is::<grafter_plan::ConfigError>()
            || cause.is::<crate::commands::UsageError>()
            || cause.downcast_ref::<grafter_engine::EngineError>().is_some_and(grafter_engine::EngineError::is_usage)
            || cause.downcast_ref::<grafter_source::SourceError>().is_some_and(grafter_source::SourceError::is_usage)
            || cause.downcast_ref::<grafter_target::TargetError>().is_some_and(grafter_target::TargetError::is_usage)
            || cause.downcast_ref::<grafter_schema::SchemaError>().is_some_and(grafter_schema::SchemaError::is_usage);
        if usage {
            return Exit::Usage;
        }
        if cause
            .downcast_ref::<grafter_engine::EngineError>()
            .is_some_and(grafter_engine::EngineError::is_negative_answer)
        {
            exit = Exit::Negative;
        }
    }
    exit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ending_has_its_own_code() {
        let codes: Vec<u8> =
            [Exit::Done, Exit::Negative, Exit::Usage, Exit::Failure, Exit::Interrupted].map(Exit::code).to_vec();
        assert_eq!(codes, [0, 1, 2, 3, 130]);
    }

    #[test]
    fn a_sync_that_did_not_catch_up_is_a_negative_answer_and_a_lost_lock_a_failure() {
        let late = anyhow::Error::from(grafter_engine::EngineError::NotCaughtUp {
            waited: "1s".into(),
            reason: "the lag is 5s".into(),
        });
        assert_eq!(of_error(&late), Exit::Negative);
        let lost = anyhow::Error::from(grafter_engine::EngineError::LockLost("taken over".into()));
        assert_eq!(of_error(&lost), Exit::Failure);
        let unknown = anyhow::Error::from(grafter_engine::EngineError::NothingToSync("none".into()));
        assert_eq!(of_error(&unknown.context("sync")), Exit::Usage);
    }
}
