//! `grafter export`: the source side of the mappings into an archive.

use grafter_archive::DataFormat;
use grafter_engine::ExportOptions;

use crate::cli::{Cli, DataFormatArg, ExportArgs};
use crate::exit::Exit;
use crate::output::table;

/// Runs `grafter export`.
pub async fn run(cli: &Cli, args: &ExportArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let options = ExportOptions {
        output: args.output.clone(),
        only: args.only.clone(),
        data_format: match args.format {
            DataFormatArg::Csv => DataFormat::Csv,
            DataFormatArg::Ndjson => DataFormat::Ndjson,
        },
    };
    let summary = if args.graph {
        grafter_engine::export_graph(&plan, &options).await?
    } else {
        grafter_engine::export(&plan, &options).await?
    };
    let mut rows = table::new_table(vec!["entity", "read", "rows"]);
    for entity in &summary.entities {
        rows.add_row(vec![
            comfy_table::Cell::new(&entity.name),
            comfy_table::Cell::new(&entity.read),
            table::number(entity.rows),
        ]);
    }
    outln!("{rows}");
    let total: u64 = summary.entities.iter().map(|e| e.rows).sum();
    eprintln!(
        "wrote {} ({} entities, {total} rows, {} bytes) in {:.1}s; `grafter archive inspect {}` checks it",
        summary.archive.display(),
        summary.entities.len(),
        summary.bytes,
        summary.seconds,
        summary.archive.display()
    );
    Ok(Exit::Done)
}
