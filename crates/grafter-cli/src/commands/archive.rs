//! `grafter archive inspect`: an archive's manifest, and every checksum checked.

use comfy_table::Cell;
use grafter_archive::{ArchiveError, ArchiveReader};

use crate::cli::{ArchiveCommand, Format, InspectArgs};
use crate::exit::Exit;
use crate::output::table;

/// Runs `grafter archive …`.
pub fn run(command: &ArchiveCommand) -> anyhow::Result<Exit> {
    match command {
        ArchiveCommand::Inspect(args) => inspect(args),
    }
}

fn inspect(args: &InspectArgs) -> anyhow::Result<Exit> {
    let reader = match ArchiveReader::open(&args.file) {
        Ok(reader) => reader,
        // An archive that does not check out is the answer inspect gives, not a failure.
        Err(error @ (ArchiveError::Damaged { .. } | ArchiveError::NewerFormat { .. })) => {
            if args.format == Format::Json {
                let report = serde_json::json!({"intact": false, "error": error.to_string()});
                outln!("{}", serde_json::to_string_pretty(&report)?);
            }
            eprintln!("error: {error}");
            return Ok(Exit::Negative);
        }
        Err(error) => return Err(error.into()),
    };
    let manifest = reader.manifest();
    if args.format == Format::Text {
        outln!("archive         {}", args.file.display());
        outln!(
            "format          {} version {} ({} files)",
            manifest.format,
            manifest.format_version,
            manifest.data_format.extension()
        );
        outln!("written by      grafter {} at {}", manifest.grafter_version, manifest.created_at);
        outln!("source          {}", manifest.source);
        let mut entities = table::new_table(vec!["entity", "read", "rows", "columns", "sha256"]);
        for entity in &manifest.entities {
            let columns: Vec<String> = entity
                .columns
                .iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        c.name,
                        serde_json::to_value(c.logical_type).unwrap_or_default().as_str().unwrap_or("?")
                    )
                })
                .collect();
            entities.add_row(vec![
                Cell::new(&entity.name),
                Cell::new(read_text(&entity.read)),
                table::number(entity.rows),
                Cell::new(columns.join(", ")),
                Cell::new(&entity.sha256),
            ]);
        }
        outln!("{entities}");
    }
    // Checked after the manifest is shown, so that a damaged archive still shows what it
    // claims to hold.
    let verified = reader.verify(|check| eprintln!("ok  {} ({} rows, sha256 matches)", check.name, check.rows));
    match (args.format, verified) {
        (Format::Json, Ok(_)) => {
            outln!("{}", serde_json::to_string_pretty(&serde_json::json!({"manifest": manifest, "intact": true}))?);
        }
        (Format::Text, Ok(checks)) => {
            let rows: u64 = checks.iter().map(|c| c.rows).sum();
            eprintln!("archive intact: {} entities, {rows} rows, every checksum matches", checks.len());
        }
        (Format::Json, Err(error)) => {
            let report = serde_json::json!({"manifest": manifest, "intact": false, "error": error.to_string()});
            outln!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("error: {error}");
            return Ok(Exit::Negative);
        }
        (Format::Text, Err(error)) => {
            eprintln!("error: {error}");
            return Ok(Exit::Negative);
        }
    }
    Ok(Exit::Done)
}

fn read_text(read: &grafter_archive::EntityRead) -> String {
    use grafter_archive::EntityRead as R;
    match read {
        R::Table(name) => format!("table {name}"),
        R::Query(sql) => format!("query {}", sql.split_whitespace().collect::<Vec<_>>().join(" ")),
        R::Nodes(end) => format!("nodes :{}", end.label),
        R::Relationships { rel_type, start, end } => format!("(:{})-[:{rel_type}]->(:{})", start.label, end.label),
    }
}
