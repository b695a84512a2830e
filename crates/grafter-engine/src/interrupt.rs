//! Ctrl-C and SIGTERM: ask the run to stop at the next batch boundary instead of dying
//! mid-batch. A second Ctrl-C is not caught: the store's transactions make even that safe.

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

/// Listens for SIGINT and SIGTERM while the returned guard lives; the first one sets `stop`
/// and calls `notify`.
pub fn watch_signals(stop: StopRequest, notify: impl Fn() + Send + 'static) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
        // After the first signal, the default handling comes back: a second Ctrl-C kills.
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    })
}
