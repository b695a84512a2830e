//! `grafter rollback`: return the target to its state before a run.

use grafter_engine::RollbackTarget;

use crate::cli::{Cli, Format, RollbackArgs};
use crate::exit::Exit;

/// Runs `grafter rollback`.
pub async fn run(cli: &Cli, args: &RollbackArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let which = match &args.run {
        Some(id) => RollbackTarget::Run(id.clone()),
        None => RollbackTarget::Last,
    };
    let report = grafter_engine::rollback(&plan, which, args.dry_run).await?;
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            if report.dry_run {
                outln!("Rolling back run {} would change (nothing is changed now):", report.run_id);
            } else {
                outln!("Rolled back run {}:", report.run_id);
            }
            for change in &report.changes {
                outln!("  {change}");
            }
            if report.dry_run {
                outln!("fingerprint now          {}", report.fingerprint_now);
                outln!("fingerprint before run   {}", report.fingerprint_before);
            } else {
                outln!("fingerprint now {} = before the run (proven)", report.fingerprint_now);
            }
        }
    }
    Ok(Exit::Done)
}
