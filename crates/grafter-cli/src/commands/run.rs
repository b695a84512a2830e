//! `grafter run`: load the source into the target and print the summary.

use std::sync::Arc;
use std::time::Duration;

use grafter_engine::{Observer, RunOptions};
use grafter_model::RunStatus;

use crate::cli::{Cli, Format, ImportArgs, RunArgs};
use crate::exit::Exit;
use crate::output::{fanout::Fanout, metrics::Metrics, progress::Progress, table, verify};

/// Runs `grafter run`.
pub async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    run_plan(cli, &plan, args).await
}

/// Runs `grafter import`: a run of the plan the graph dump's manifest makes, into the
/// config's target.
pub async fn import(cli: &Cli, args: &ImportArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let plan = grafter_engine::import_plan(&plan, &args.file)?;
    run_plan(cli, &plan, &args.run).await
}

async fn run_plan(cli: &Cli, plan: &grafter_plan::Plan, args: &RunArgs) -> anyhow::Result<Exit> {
    let mut options = RunOptions {
        only: args.only.clone(),
        batch_size: args.batch_size,
        max_rejects: args.max_rejects,
        dry_run: args.dry_run,
        fresh: args.fresh,
        snapshot: !args.no_snapshot,
        lease: Duration::from_secs(args.lock_lease),
        handle_signals: true,
        verify: !args.no_verify,
        keep_archive: args.keep_archive.clone(),
        ..RunOptions::default()
    };
    if let Some(workers) = args.workers {
        options.workers = workers.max(1);
    }
    options.partitions = options.workers;
    let progress = Progress::new(cli.quiet);
    // Counting rows is a second pass over the source: only worth it when bars show an ETA
    // or the metrics endpoint reports lag.
    options.count_rows = progress.shows_bars() || args.metrics_addr.is_some();
    let mut observers: Vec<Arc<dyn Observer>> = vec![Arc::new(progress)];
    let _metrics_server = match args.metrics_addr {
        Some(addr) => {
            let metrics = Arc::new(Metrics::default());
            let server = metrics.serve(addr)?;
            eprintln!("serving metrics at http://{}/metrics", server.address());
            observers.push(metrics);
            Some(server)
        }
        None => None,
    };
    let summary = grafter_engine::run(plan, &options, Arc::new(Fanout(observers))).await?;
    if let Some(kept) = &summary.kept_archive {
        eprintln!(
            "kept {}: {} entities, {} rows, every row count and checksum verified",
            kept.path.display(),
            kept.entities,
            kept.rows
        );
    }
    match args.format {
        Format::Text => {
            if summary.dry_run {
                outln!("Dry run: nothing was written. The config fits the source; rows each mapping would read:");
            } else {
                let attempt = if summary.attempt > 1 {
                    format!(" (attempt {}, resumed)", summary.attempt)
                } else {
                    String::new()
                };
                outln!("Run {}{attempt} into {}: {}", summary.run_id, summary.target, summary.status);
            }
            outln!("{}", table::summary(&summary));
            if let Some(report) = &summary.verification {
                outln!("");
                out!("{}", verify::report(report));
            }
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&summary)?),
    }
    if let Some(file) = &summary.reject_file {
        eprintln!("{} rows were rejected; each is in {} with its reason", summary.rejected(), file.display());
    }
    if summary.status == RunStatus::Failed {
        eprintln!(
            "run {} failed its verification: the graph differs from the source (see above; `grafter history {}` records it)",
            summary.run_id, summary.run_id
        );
        return Ok(Exit::Negative);
    }
    if summary.status == RunStatus::Interrupted {
        eprintln!(
            "interrupted: run {} stopped at a batch boundary; everything up to there is committed. `grafter run -c {}` continues it.",
            summary.run_id,
            cli.config.display()
        );
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::Done)
}
