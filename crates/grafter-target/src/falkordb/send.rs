//! Sending one FalkorDB write that carries its batch's checkpoint, exactly once: after a
//! connection failure the stored checkpoint says whether the write committed, and it is sent
//! again only if it did not. The Cypher way ([`super::write`]), the write by node id
//! ([`super::by_id`]) and the bulk command ([`super::bulk`]) all send through here.

use grafter_model::Value;

use super::connection::{Client, ClientError, failed};
use crate::cypher::bookkeeping::{lost_batches, stored_batches};
use crate::{Checkpoint, TargetError};

/// What sending a write found.
pub(crate) enum Sent {
    /// It ran; its rows.
    Rows(Vec<Vec<Value>>),
    /// The connection failed after the write committed (its checkpoint is there).
    CommittedUnseen,
}

/// Sends a write carrying checkpoint `stored`, exactly once: if the connection fails, the
/// checkpoint says whether it committed, and it is sent again only if it did not.
pub(crate) async fn send(client: &Client, target: &str, text: &str, stored: &Checkpoint) -> Result<Sent, TargetError> {
    let sent = exactly_once(client, target, stored, || client.query_text(client.graph(), text, false)).await?;
    Ok(sent.map_or(Sent::CommittedUnseen, |reply| Sent::Rows(reply.rows)))
}

/// Runs `attempt`, a write that stores checkpoint `stored`, exactly once: after a
/// connection failure the stored checkpoint says whether it committed (`None`: it did, its
/// reply is lost), and it is tried again only if it did not.
pub(crate) async fn exactly_once<T, F, Fut>(
    client: &Client,
    target: &str,
    stored: &Checkpoint,
    mut attempt: F,
) -> Result<Option<T>, TargetError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(reply) => return Ok(Some(reply)),
            Err(ClientError::Connection(message)) if attempts <= 5 => {
                match stored_batches(client, stored).await? {
                    Some(n) if n >= stored.batches => return Ok(None),
                    Some(n) if n + 1 == stored.batches => {}
                    None if stored.batches <= 1 => {}
                    other => return Err(lost_batches(target, &message, other, stored)),
                }
                tracing::debug!("{target}: write failed before committing ({message}); sending it again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempts)).await;
            }
            Err(error) => return Err(failed(target, error)),
        }
    }
}
