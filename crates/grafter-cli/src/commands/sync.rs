//! `grafter sync`: apply the source's changes to the graph — once, following, or until
//! caught up — printing a line per pass on stderr and the session's summary on stdout.

use std::sync::Arc;
use std::time::Duration;

use comfy_table::{Cell, CellAlignment};
use grafter_engine::{MappingStats, Observer, PassReport, SyncEnd, SyncOptions, SyncSummary};

use crate::cli::{Cli, Format, SyncArgs};
use crate::exit::Exit;
use crate::output::table::{new_table, number};
use crate::output::verify;

/// Runs `grafter sync`.
pub async fn run(cli: &Cli, args: &SyncArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let options = SyncOptions {
        only: args.only.clone(),
        batch_size: args.batch_size,
        follow: args.follow,
        interval: args.interval,
        until_caught_up: args.until_caught_up,
        max_lag: args.max_lag,
        timeout: args.timeout,
        lease: Duration::from_secs(args.lock_lease),
        handle_signals: true,
    };
    let summary = grafter_engine::sync(&plan, &options, Arc::new(PassLines)).await?;
    match args.format {
        Format::Text => {
            outln!("{}", headline(&summary));
            outln!("{}", table(&summary));
            if let Some(report) = &summary.verification {
                outln!("");
                out!("{}", verify::report(report));
            }
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&summary)?),
    }
    let waiting: u64 = summary.mappings.iter().map(|m| m.waiting).sum();
    if waiting > 0 {
        eprintln!(
            "{waiting} rows wait for a node that is not in the graph yet; each pass reads them again (up to [sync] pending_timeout, then they are rejected)"
        );
    }
    if let Some(file) = &summary.reject_file {
        eprintln!("rows sync could not apply are in {}, each with its reason", file.display());
    }
    if summary.end == SyncEnd::Stopped {
        eprintln!(
            "stopped after a batch: every change up to the watermark is in the graph; `grafter sync -c {}` goes on from there",
            cli.config.display()
        );
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::Done)
}

fn headline(summary: &SyncSummary) -> String {
    let end = match summary.end {
        SyncEnd::OnePass => "one pass".to_owned(),
        SyncEnd::Stopped => "stopped".to_owned(),
        SyncEnd::CaughtUp => "caught up, verified".to_owned(),
    };
    let lag = summary.lag_seconds.map_or_else(String::new, |lag| format!(", lag {lag:.1}s"));
    format!("Sync {}: {end} after {} pass(es){lag}", summary.session, summary.passes)
}

/// The session's figures per mapping.
fn table(summary: &SyncSummary) -> String {
    let mut table = new_table(vec![
        "mapping",
        "tracking",
        "read",
        "created",
        "updated",
        "deleted",
        "unchanged",
        "rejected",
        "waiting",
        "newest change",
    ]);
    for mapping in &summary.mappings {
        let counts = &mapping.session;
        table.add_row(vec![
            Cell::new(&mapping.mapping),
            Cell::new(&mapping.tracking),
            number(counts.read),
            number(counts.created),
            number(counts.updated),
            number(counts.deleted),
            number(counts.unchanged),
            number(counts.rejected),
            number(mapping.waiting),
            Cell::new(mapping.newest_change.as_deref().unwrap_or("-")).set_alignment(CellAlignment::Left),
        ]);
    }
    table.to_string()
}

/// Prints what the engine reports as plain lines on stderr: a sync is long-lived, and its
/// log is read afterwards, so there are no bars.
struct PassLines;

impl Observer for PassLines {
    fn message(&self, text: &str) {
        eprintln!("{text}");
    }
    fn mapping_started(&self, _: &MappingStats) {}
    fn total_known(&self, _: &MappingStats) {}
    fn batch_written(&self, _: &MappingStats) {}
    fn mapping_finished(&self, _: &MappingStats) {}

    fn sync_pass(&self, report: &PassReport) {
        let total = report.total();
        let lag = if report.lag_seconds.is_finite() { format!("{:.1}s", report.lag_seconds) } else { "unknown".into() };
        eprintln!(
            "pass {}: {} changes read, {} applied ({} created, {} updated, {} deleted), {} unchanged, {} rejected, {} waiting in {:.1}s; lag {lag}{}{}",
            report.pass,
            total.read,
            total.applied(),
            total.created,
            total.updated,
            total.deleted,
            total.unchanged,
            total.rejected,
            total.waiting,
            report.seconds,
            report.newest_change.as_ref().map(|n| format!("; newest change {n}")).unwrap_or_default(),
            if report.complete { "" } else { " (stopped before the end)" },
        );
    }
}
