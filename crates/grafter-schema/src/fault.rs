//! Fault injection for the crash tests: `GRAFTER_SCHEMA_KILL_AFTER=<n>` makes the process
//! SIGKILL itself right after the n-th migration statement it ran (counted from 1), as a
//! crash half-way through a migration would. It first waits a moment so that the embedded
//! store's group commit has made the statements durable: the test is about what grafter
//! does with a half-applied migration, not about the store losing its last commits.
//!
//! Without the variable this costs a check of a value read once per process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts a statement just run; dies here if the configured fault says so.
pub(crate) fn statement_done() {
    static KILL_AFTER: OnceLock<Option<u64>> = OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);
    let Some(n) = *KILL_AFTER.get_or_init(|| std::env::var("GRAFTER_SCHEMA_KILL_AFTER").ok()?.parse().ok()) else {
        return;
    };
    if DONE.fetch_add(1, Ordering::SeqCst) + 1 == n {
        std::thread::sleep(std::time::Duration::from_millis(300));
        // SIGKILL, not abort or exit: no destructor, flush or handler may run, as in a real crash.
        let _ = std::process::Command::new("kill").args(["-KILL", &std::process::id().to_string()]).status();
        loop {
            std::thread::park();
        }
    }
}
