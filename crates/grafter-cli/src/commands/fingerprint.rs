//! `grafter fingerprint`: an order-independent digest of the target graph.

use std::process::ExitCode;

use crate::cli::{Cli, FingerprintArgs, Format};
use crate::output::table;

/// Runs `grafter fingerprint`.
pub async fn run(cli: &Cli, args: &FingerprintArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&cli.config)?;
    let fingerprint = grafter_engine::fingerprint(&plan).await?;
    match args.format {
        Format::Text => {
            outln!("{}", table::fingerprint(&fingerprint));
            outln!("overall {}", fingerprint.overall_hex());
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&fingerprint)?),
    }
    Ok(ExitCode::SUCCESS)
}
