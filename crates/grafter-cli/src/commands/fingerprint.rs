//! `grafter fingerprint`: an order-independent digest of the target graph.

use crate::cli::{Cli, FingerprintArgs, Format};
use crate::exit::Exit;
use crate::output::table;

/// Runs `grafter fingerprint`.
pub async fn run(cli: &Cli, args: &FingerprintArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let fingerprint = grafter_engine::fingerprint(&plan).await?;
    match args.format {
        Format::Text => {
            outln!("{}", table::fingerprint(&fingerprint));
            outln!("overall {}", fingerprint.overall_hex());
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&fingerprint)?),
    }
    Ok(Exit::Done)
}
