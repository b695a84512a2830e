//! The run's hold on the target: take the lease lock, keep renewing it while working, let
//! it go at the end.
//!
//! The lock lives in the target (see `LeaseLock::acquire_lock`), so every grafter process
//! that can reach the target sees it, whatever host it runs on. A heartbeat renews the lease
//! every third of its length; a holder that dies simply stops renewing, and its lock
//! expires. If renewing fails — the lock was broken or taken over — the run is told to stop
//! at its next batch rather than carry on unprotected.

use std::sync::Arc;
use std::time::Duration;

use grafter_model::LockHolder;
use grafter_target::{GraphTarget, TargetError};
use tokio::sync::watch;

/// How long a lock lasts without renewal, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Describes this process as a lock holder for `purpose`, leased for `lease`.
pub fn holder(purpose: &str, run_id: Option<&str>, lease: Duration) -> LockHolder {
    let now = chrono::Utc::now();
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    LockHolder {
        purpose: purpose.to_owned(),
        run_id: run_id.map(str::to_owned),
        host: crate::identity::host(),
        pid: std::process::id(),
        user: crate::identity::user(),
        acquired_at: stamp(now),
        expires_at: stamp(now + lease),
        renewed_at: stamp(now),
    }
}

/// A held lock and its heartbeat.
pub struct Lease {
    holder: LockHolder,
    target: Arc<dyn GraphTarget>,
    stop_heartbeat: watch::Sender<bool>,
    heartbeat: tokio::task::JoinHandle<()>,
    lost: watch::Receiver<Option<String>>,
}

impl Lease {
    /// Takes the lock; returns the lease and the holder it took over, if any. If the lock is
    /// lost later, `stop` is set so the work stops at its next batch.
    pub async fn acquire(
        target: Arc<dyn GraphTarget>,
        holder: LockHolder,
        lease: Duration,
        stop: crate::interrupt::StopRequest,
    ) -> Result<(Lease, Option<LockHolder>), TargetError> {
        let previous = target.ledger().acquire_lock(&holder).await?;
        let (stop_heartbeat, mut stopped) = watch::channel(false);
        let (lost_sender, lost) = watch::channel(None);
        let heartbeat = {
            let (target, holder) = (Arc::clone(&target), holder.clone());
            tokio::spawn(async move {
                let mut holder = holder;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(lease / 3) => {}
                        _ = stopped.changed() => return,
                    }
                    let now = chrono::Utc::now();
                    let chrono_lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
                    holder.renewed_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    holder.expires_at = (now + chrono_lease).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    if let Err(error) = target.ledger().renew_lock(&holder).await {
                        let _ = lost_sender.send(Some(error.to_string()));
                        stop.set();
                        return;
                    }
                }
            })
        };
        Ok((Lease { holder, target, stop_heartbeat, heartbeat, lost }, previous))
    }

    /// Why the lock was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    /// Stops the heartbeat and releases the lock.
    pub async fn release(self) -> Result<(), TargetError> {
        let _ = self.stop_heartbeat.send(true);
        let _ = self.heartbeat.await;
        self.target.ledger().release_lock(&self.holder).await
    }
}
