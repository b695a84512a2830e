//! `grafter generate`: write example databases.

use crate::cli::GenerateCommand;
use crate::exit::Exit;
use crate::generate::placement::{PlacementOptions, generate};

/// Runs `grafter generate …`.
pub fn run(command: &GenerateCommand) -> anyhow::Result<Exit> {
    match command {
        GenerateCommand::Placement(args) => {
            let mut options = match args.rows {
                Some(rows) => PlacementOptions::for_total_rows(rows),
                None => PlacementOptions::with_compute_nodes(args.compute_nodes),
            };
            options.seed = args.seed;
            options.sync_standard_resource_classes = args.sync_standard_classes;
            let started = std::time::Instant::now();
            let stats = generate(&args.output, &options)?;
            eprintln!(
                "wrote {} ({} compute nodes, {} rows in {:.1}s)",
                args.output.display(),
                options.compute_nodes,
                stats.total_rows(),
                started.elapsed().as_secs_f64()
            );
            for (table, rows) in &stats.rows_per_table {
                outln!("{table:<30} {rows:>10}");
            }
            Ok(Exit::Done)
        }
    }
}
