//! `grafter verify`: the graph against the source; a table (or JSON) on stdout, optionally a
//! self-contained HTML page, and exit 1 when anything differs.

use std::sync::Arc;

use anyhow::Context as _;
use grafter_engine::VerifyOptions;

use crate::cli::{Cli, Format, VerifyArgs};
use crate::commands::UsageError;
use crate::exit::Exit;
use crate::output::{html, progress::Progress, verify};

/// Runs `grafter verify`.
pub async fn run(cli: &Cli, args: &VerifyArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    if args.sample == Some(0) {
        return Err(UsageError {
            message: "--sample 0 checks nothing".into(),
            hint: "give the number of nodes per label to compare, e.g. --sample 100".into(),
        }
        .into());
    }
    let options =
        VerifyOptions { sample: args.sample, only: args.only.clone(), strict: args.strict, max_rejects: None };
    // Messages only: verification has no per-mapping bars.
    let report = grafter_engine::verify(&plan, &options, Arc::new(Progress::new(true))).await?;
    match args.format {
        Format::Text => out!("{}", verify::report(&report)),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::report(&report)).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(if report.passed { Exit::Done } else { Exit::Negative })
}
