//! Runs a synchronous reader (a SQLite cursor, a file) on its own thread and hands its
//! batches to the async engine through a small bounded channel.
//!
//! The channel's bound is what keeps memory flat: the reader blocks when the engine is
//! behind, so at most a few batches are in flight whatever the source's size. Dropping the
//! stream closes the channel and the reader stops at its next send.

use futures::StreamExt as _;
use grafter_model::Batch;
use tokio::sync::mpsc;

use crate::{BatchStream, SourceError};

/// Batches in flight between a reader and the engine.
const IN_FLIGHT: usize = 4;

/// The reader's side of the channel.
pub(crate) struct BatchSender(mpsc::Sender<Result<Batch, SourceError>>);

impl BatchSender {
    /// Sends a batch; `false` when the stream was dropped and the reader should stop.
    pub fn send(&self, batch: Result<Batch, SourceError>) -> bool {
        self.0.blocking_send(batch).is_ok()
    }
}

/// Starts `read` on a blocking thread and returns the stream of what it sends. An error
/// `read` returns is delivered as the stream's last item. A reader that panics ends the
/// stream with an error too: a stream that simply stopped would look like the end of the
/// data, and rows would be lost without a word.
pub(crate) fn spawn_reader<F>(read: F) -> BatchStream
where
    F: FnOnce(&BatchSender) -> Result<(), SourceError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || {
        let sender = BatchSender(tx);
        if let Err(error) = read(&sender) {
            sender.send(Err(error));
        }
    });
    futures::stream::unfold((rx, Some(reader)), |(mut rx, reader)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, reader)));
        }
        match reader?.await {
            Ok(()) => None,
            Err(failure) => Some((
                Err(SourceError::Driver {
                    source_url: "source reader".into(),
                    message: format!("the reading thread failed before the end of the data: {failure}"),
                }),
                (rx, None),
            )),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_reader_ends_the_stream_with_an_error() {
        let mut stream = spawn_reader(|_| panic!("boom"));
        let item = stream.next().await.expect("an item, not a silent end");
        let error = item.expect_err("an error item");
        assert!(error.to_string().contains("failed before the end of the data"), "{error}");
        assert!(stream.next().await.is_none());
    }
}
