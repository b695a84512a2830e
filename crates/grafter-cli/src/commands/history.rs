//! `grafter history`: the audit trail of runs kept in the target.

use crate::cli::{Cli, Format, HistoryArgs};
use crate::commands::UsageError;
use crate::exit::Exit;
use crate::output::table;

/// Runs `grafter history`.
pub async fn run(cli: &Cli, args: &HistoryArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    if args.migrations {
        let migrations = super::migration_history(&plan).await?;
        match args.format {
            Format::Text if migrations.is_empty() => {
                outln!("no schema migrations recorded in {}", grafter_model::redact_url(&plan.target_url))
            }
            Format::Text => outln!("{}", crate::output::table::history_table(&migrations)),
            Format::Json => outln!("{}", serde_json::to_string_pretty(&migrations)?),
        }
        return Ok(Exit::Done);
    }
    let runs = grafter_engine::history(&plan).await?;
    let migrations = super::migration_history(&plan).await?;
    match &args.run {
        None => match args.format {
            Format::Text if runs.is_empty() && !migrations.is_empty() => {
                outln!("no runs recorded in {}", grafter_model::redact_url(&plan.target_url));
                outln!("\nschema migrations:\n{}", crate::output::table::history_table(&migrations));
            }
            Format::Text if !migrations.is_empty() => {
                outln!("{}", table::runs(&runs));
                outln!("\nschema migrations:\n{}", crate::output::table::history_table(&migrations));
            }
            Format::Text if runs.is_empty() => {
                outln!("no runs recorded in {}", grafter_model::redact_url(&plan.target_url))
            }
            Format::Text => outln!("{}", table::runs(&runs)),
            Format::Json => {
                // Each record as stored, and whether it can be rolled back now.
                let mut listed = Vec::with_capacity(runs.len());
                for (run, rollback) in runs.iter().zip(grafter_engine::rollback_states(&runs)) {
                    let mut value = serde_json::to_value(run)?;
                    if let Some(object) = value.as_object_mut() {
                        object.insert("rollback".into(), serde_json::to_value(rollback)?);
                    }
                    listed.push(value);
                }
                outln!("{}", serde_json::to_string_pretty(&listed)?);
            }
        },
        Some(id) => {
            let Some(run) = runs.iter().find(|r| &r.id == id) else {
                let known: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
                return Err(UsageError {
                    message: format!("no run `{id}` in the history"),
                    hint: if known.is_empty() {
                        "no runs are recorded yet".into()
                    } else {
                        format!("runs: {}", known.join(", "))
                    },
                }
                .into());
            };
            match args.format {
                Format::Text => out!("{}", table::run_detail(run)),
                Format::Json => outln!("{}", serde_json::to_string_pretty(run)?),
            }
        }
    }
    Ok(Exit::Done)
}
