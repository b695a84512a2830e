//! `grafter lock status` and `grafter lock break`.

use crate::cli::{Cli, LockCommand};
use crate::exit::Exit;

/// Runs `grafter lock …`.
pub async fn run(cli: &Cli, command: &LockCommand) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    match command {
        LockCommand::Status => match grafter_engine::lock_status(&plan).await {
            Ok(None) => outln!("not locked"),
            Ok(Some(grafter_engine::LockState::Held(holder))) => outln!("held: {holder}"),
            Ok(Some(grafter_engine::LockState::Expired(holder))) => {
                outln!("expired (the next run takes it over): {holder}");
            }
            Ok(Some(grafter_engine::LockState::Abandoned(holder))) => {
                outln!("abandoned (its process is gone; the next run takes it over): {holder}");
            }
            // The store itself is open in another process: that process is the holder.
            Err(grafter_engine::EngineError::Target(grafter_target::TargetError::InUse { holder, .. })) => {
                outln!("held: the store is open in {}", holder.unwrap_or_else(|| "another process".into()));
            }
            Err(error) => return Err(error.into()),
        },
        LockCommand::Break { force } => match grafter_engine::break_lock(&plan, *force).await? {
            None => outln!("not locked: nothing to break"),
            Some(holder) => outln!("broke the lock ({holder}); recorded in the history"),
        },
    }
    Ok(Exit::Done)
}
