//! Bounded retries with growing, jittered waits, as both server targets' connections make
//! them: about six seconds in all, so that a server that is down fails a run quickly (and
//! resumably), and jittered so that several clients do not come back in step.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Waits between attempts, in milliseconds (each ± 25%).
pub(crate) const RETRY_WAITS_MS: [u64; 5] = [100, 300, 700, 1500, 3000];

/// `wait` ± 25%, from the clock's low bits (no need for a random-number crate here).
pub(crate) fn jitter(wait: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let spread = wait / 2;
    wait - wait / 4 + u64::from(nanos) % (spread + 1)
}

/// A server as retries see it. Once a request has used up its retries the server is taken as
/// down and later requests try once, so that a run whose server died fails within seconds
/// instead of waiting out every retry of every bookkeeping step; the next success clears it.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    down: AtomicBool,
}

impl Backoff {
    /// Runs `attempt` until it succeeds, fails in a way `retryable` calls final, or has
    /// failed [`RETRY_WAITS_MS`]`.len() + 1` times (once, while the server is down). A
    /// retryable error returned means the retries were used up.
    pub(crate) async fn run<T, E, F, Fut>(&self, retryable: impl Fn(&E) -> bool, mut attempt: F) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut waits = RETRY_WAITS_MS.iter();
        loop {
            match attempt().await {
                Ok(value) => {
                    self.down.store(false, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(error) if retryable(&error) => match waits.next() {
                    Some(&wait) if !self.down.load(Ordering::Relaxed) => {
                        tracing::debug!("{error}; trying again in about {wait} ms");
                        tokio::time::sleep(Duration::from_millis(jitter(wait))).await;
                    }
                    _ => {
                        self.down.store(true, Ordering::Relaxed);
                        return Err(error);
                    }
                },
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_within_a_quarter_of_their_length() {
        for _ in 0..100 {
            let wait = jitter(1000);
            assert!((750..=1250).contains(&wait), "{wait}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_bounded_and_a_server_known_down_gets_one_attempt() {
        let backoff = Backoff::default();
        let tries = std::cell::Cell::new(0);
        let failing = || {
            tries.set(tries.get() + 1);
            async { Err::<(), String>("lost".into()) }
        };
        assert!(backoff.run(|_| true, failing).await.is_err());
        assert_eq!(tries.get(), RETRY_WAITS_MS.len() + 1);
        tries.set(0);
        assert!(backoff.run(|_| true, failing).await.is_err());
        assert_eq!(tries.get(), 1, "down: one attempt");
        tries.set(0);
        assert!(backoff.run(|_| false, failing).await.is_err());
        assert_eq!(tries.get(), 1, "a final error is not retried");
        assert_eq!(backoff.run(|_| true, || async { Ok::<_, String>(7) }).await, Ok(7));
        tries.set(0);
        assert!(backoff.run(|_| true, failing).await.is_err());
        assert_eq!(tries.get(), RETRY_WAITS_MS.len() + 1, "a success clears it");
    }
}
