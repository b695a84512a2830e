//! Ctrl-C and SIGTERM: ask the run to stop at the next batch boundary instead of dying
//! mid-batch. A second Ctrl-C is not caught: the store's transactions make even that safe.
//!
//! A stop must not wait on a server that does not answer: one Ctrl-C once took 600 s (the
//! reply timeout) because FalkorDB sat on a write. If the work has not ended [`STOP_GRACE`]
//! after the signal, the process exits anyway. That is as safe as the SIGKILL the crash tests
//! use at every point: each batch commits with its checkpoint or not at all, and the run
//! resumes from the last commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a stop was asked for.
#[derive(Debug, Default, Clone)]
pub struct StopRequest(Arc<AtomicBool>);

impl StopRequest {
    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Asks for a stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How long a stop may take before the process exits without waiting for the target.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Listens for SIGINT and SIGTERM while the returned guard lives; the first one sets `stop`
/// and calls `notify`. A second one, or [`STOP_GRACE`] passing before the guard is dropped,
/// ends the process with exit code 130 (`give_up` is called first in the latter case).
pub fn watch_signals(
    stop: StopRequest,
    notify: impl Fn() + Send + 'static,
    give_up: impl Fn() + Send + 'static,
) -> SignalWatch {
    SignalWatch(tokio::spawn(async move {
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        stop.set();
        notify();
        // After the first signal, a second Ctrl-C ends the process at once, and so does a
        // stop that takes too long (the target does not answer).
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(STOP_GRACE) => give_up(),
        }
        std::process::exit(130);
    }))
}

/// Signals are watched while this lives (until the work, its bookkeeping included, is done).
pub struct SignalWatch(tokio::task::JoinHandle<()>);

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
