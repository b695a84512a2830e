//! Fault injection for the crash tests: the process kills itself with SIGKILL at an exact
//! point of a run, so tests can prove that a crash anywhere — even inside the first or the
//! last batch — is resumed exactly.
//!
//! Set `GRAFTER_KILL_AT=<point>:<n>` to die at the n-th time (counted over the whole run,
//! from 1) the run passes `<point>`:
//! - `before-commit`: inside a batch's transaction, its data and checkpoint written and its
//!   rejects flushed, just before the commit;
//! - `after-commit`: just after a batch committed, before anything else learns of it;
//! - `validating`: after the last batch, while the run is being validated.
//!
//! `GRAFTER_SLOW_BATCH_MS=<ms>` makes every batch wait that long after it committed, as a
//! slow store would: tests use it to keep a run busy while they try a second run, press
//! Ctrl-C or scrape metrics.
//!
//! Without the variables this costs a check of a value read once per process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A point a run passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    BeforeCommit,
    AfterCommit,
    Validating,
}

fn parse(spec: &str) -> Option<(Point, u64)> {
    let (point, n) = spec.split_once(':')?;
    let point = match point {
        "before-commit" => Point::BeforeCommit,
        "after-commit" => Point::AfterCommit,
        "validating" => Point::Validating,
        _ => return None,
    };
    Some((point, n.parse().ok()?))
}

fn configured() -> Option<(Point, u64)> {
    static KILL_AT: OnceLock<Option<(Point, u64)>> = OnceLock::new();
    *KILL_AT.get_or_init(|| {
        let spec = std::env::var("GRAFTER_KILL_AT").ok()?;
        let parsed = parse(&spec);
        if parsed.is_none() {
            eprintln!("warning: GRAFTER_KILL_AT={spec:?} is not <before-commit|after-commit|validating>:<n>; ignored");
        }
        parsed
    })
}

/// Passes `point`; dies here if the configured fault says so.
pub(crate) fn pass(point: Point) {
    static PASSED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let Some((at, n)) = configured() else { return };
    if at != point {
        return;
    }
    let passed = PASSED[point as usize].fetch_add(1, Ordering::SeqCst) + 1;
    if passed == n {
        // SIGKILL, not abort or exit: no destructor, flush or handler may run, as in a real crash.
        let _ = std::process::Command::new("kill").args(["-KILL", &std::process::id().to_string()]).status();
        loop {
            std::thread::park();
        }
    }
}

/// Waits as long as `GRAFTER_SLOW_BATCH_MS` asks, after a batch.
pub(crate) async fn slow_batch() {
    static DELAY: OnceLock<Option<std::time::Duration>> = OnceLock::new();
    let delay = *DELAY.get_or_init(|| {
        std::env::var("GRAFTER_SLOW_BATCH_MS").ok()?.parse().ok().map(std::time::Duration::from_millis)
    });
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(parse("before-commit:3"), Some((Point::BeforeCommit, 3)));
        assert_eq!(parse("after-commit:1"), Some((Point::AfterCommit, 1)));
        assert_eq!(parse("sometime:1"), None);
        assert_eq!(parse("before-commit"), None);
    }
}
