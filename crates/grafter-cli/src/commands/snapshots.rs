//! `grafter snapshots list` and `grafter snapshots prune`.

use comfy_table::Cell;

use crate::cli::{Cli, Format, SnapshotsCommand};
use crate::commands::UsageError;
use crate::exit::Exit;
use crate::output::table::new_table;

/// Runs `grafter snapshots …`.
pub async fn run(cli: &Cli, command: &SnapshotsCommand) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    match command {
        SnapshotsCommand::List { format } => {
            let snapshots = grafter_engine::list_snapshots(&plan).await?;
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&snapshots)?),
                Format::Text if snapshots.is_empty() => outln!("no snapshots kept"),
                Format::Text => {
                    let mut table = new_table(vec!["run", "status", "started", "rollback", "snapshot"]);
                    for entry in &snapshots {
                        table.add_row(vec![
                            Cell::new(&entry.run_id),
                            Cell::new(entry.status.to_string()),
                            Cell::new(&entry.started_at),
                            Cell::new(entry.rollback.to_string()),
                            Cell::new(&entry.snapshot),
                        ]);
                    }
                    outln!("{table}");
                }
            }
        }
        SnapshotsCommand::Prune { keep, dry_run } => {
            let keep = keep.unwrap_or(plan.run.keep_snapshots);
            if keep == 0 {
                return Err(UsageError {
                    message: "--keep must be at least 1".into(),
                    hint: "the newest run's snapshot is what `grafter rollback` needs".into(),
                }
                .into());
            }
            let pruned = grafter_engine::prune_snapshots(&plan, keep, *dry_run).await?;
            let verb = if *dry_run { "would remove" } else { "removed" };
            if pruned.is_empty() {
                outln!("nothing to remove: at most {keep} snapshots are kept");
            } else {
                outln!("{verb} the snapshots of {} run(s): {}", pruned.len(), pruned.join(", "));
            }
        }
    }
    Ok(Exit::Done)
}
