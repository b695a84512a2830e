//! `placement-generator`: writes a realistic OpenStack Placement database (SQLite) for the
//! `placement` example, the tests and the benchmarks. It is not part of the grafter binary:
//! users migrate their own databases; this makes one to try grafter on.
//!
//! ```text
//! placement-generator -o placement.sqlite --compute-nodes 200
//! placement-generator -o big.sqlite --rows 1000000
//! ```
//!
//! Prints the rows per table on stdout and a summary line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use placement_generator::{PlacementOptions, generate};

/// Writes a realistic OpenStack Placement database (SQLite): compute-node trees with NUMA and
/// SR-IOV children, inventories, traits, aggregates, consumers and allocations.
#[derive(Debug, clap::Parser)]
#[command(name = "placement-generator", version, max_term_width = 100)]
struct Args {
    /// The SQLite file to create (must not exist).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Number of compute nodes.
    #[arg(long, value_name = "N", conflicts_with = "rows", default_value_t = 20)]
    compute_nodes: u32,
    /// Size the database to about this many rows in total instead.
    #[arg(long, value_name = "N")]
    rows: Option<u64>,
    /// Random seed (same seed, same database).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also store the standard resource classes in `resource_classes`, as Placement does
    /// since Stein (default: only custom classes, as older nova-era databases have).
    #[arg(long)]
    sync_standard_classes: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut options = match args.rows {
        Some(rows) => PlacementOptions::for_total_rows(rows),
        None => PlacementOptions::with_compute_nodes(args.compute_nodes),
    };
    options.seed = args.seed;
    options.sync_standard_resource_classes = args.sync_standard_classes;
    let started = std::time::Instant::now();
    match generate(&args.output, &options) {
        Ok(stats) => {
            eprintln!(
                "wrote {} ({} compute nodes, {} rows in {:.1}s)",
                args.output.display(),
                options.compute_nodes,
                stats.total_rows(),
                started.elapsed().as_secs_f64()
            );
            for (table, rows) in &stats.rows_per_table {
                println!("{table:<30} {rows:>10}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            // A file that is already there is the caller's to fix; anything else a failure.
            ExitCode::from(if matches!(error, placement_generator::GenerateError::AlreadyExists { .. }) {
                2
            } else {
                3
            })
        }
    }
}
