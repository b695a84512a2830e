//! What a load leaves for `grafter sync`: the first sync state of each tracked mapping it
//! reads from the start, so that the first sync picks up exactly what changed while the load
//! ran. `grafter run` calls it; the sync session itself never does.

use grafter_model::{Cursor, SyncState};
use grafter_plan::Plan;
use grafter_source::Source;
use grafter_target::GraphTarget;

use super::tracked::Tracked;
use crate::{EngineError, Observer};

/// Sets the first sync state of the tracked mappings a run is about to load from the start:
/// their watermark is the newest change the source holds now, so the first sync reads what
/// changes from here on (the load reads everything before). Mappings without tracking, and
/// sources or targets that cannot sync, are left alone (with a note).
pub(crate) async fn set_first_watermarks(
    plan: &Plan,
    run_id: &str,
    starting: &[&crate::prepare::PreparedMapping],
    source: &dyn Source,
    target: &dyn GraphTarget,
    observer: &dyn Observer,
) -> Result<(), EngineError> {
    let mut states = Vec::new();
    for prepared in starting.iter().filter(|p| p.mapping.tracking.is_some()) {
        let tracked = match Tracked::new((*prepared).clone(), source, &plan.sync).await {
            Ok(tracked) => tracked,
            Err(error) => {
                observer.message(&format!(
                    "{}: `grafter sync` will not be able to follow it: {error}",
                    prepared.mapping.name
                ));
                continue;
            }
        };
        let (read, key) = tracked.watermark_key();
        let newest = match source.max_key(&read, &key).await {
            Ok(newest) => newest,
            Err(error) => {
                observer.message(&format!("{}: no watermark for `grafter sync`: {error}", tracked.name()));
                continue;
            }
        };
        let watermark = newest.map_or(Cursor::Start, Cursor::Key);
        states.push(SyncState::new(tracked.name(), &tracked.checksum, &watermark, run_id));
    }
    if states.is_empty() {
        return Ok(());
    }
    // A target that cannot sync (FalkorDB's Bolt port, `null:`) loads all the same.
    match target.change_sync() {
        Ok(change_sync) => Ok(change_sync.save_sync_states(&states).await?),
        Err(grafter_target::TargetError::Unsupported { .. }) => {
            observer.message(&format!("{} cannot be synced: no watermark kept", target.describe()));
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
