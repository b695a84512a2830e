//! `grafter schema …`: versioned migrations of the graph (the work is in `grafter-schema`;
//! this reads the command line, opens the target and prints).

use std::path::{Path, PathBuf};

use comfy_table::Cell;
use grafter_schema::migration::parse_file_name;
use grafter_schema::{
    ChecksumState, Estimate, MigrationSet, Migrator, Options, PlannedMigration, Report, Version, history, status,
};
use grafter_target::{Access, GraphTarget, TargetError};

use crate::cli::{Cli, Format, SchemaArgs, SchemaCommand};
use crate::commands::UsageError;
use crate::exit::Exit;
use crate::output::table::new_table;

/// Runs `grafter schema …`.
pub async fn run(cli: &Cli, args: &SchemaArgs) -> anyhow::Result<Exit> {
    let config_dir = cli.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = args.migrations.clone().unwrap_or_else(|| config_dir.join("migrations"));
    if let SchemaCommand::New { name, toml } = &args.command {
        let path = new_file(&dir, name, *toml)?;
        outln!("{}", path.display());
        return Ok(Exit::Done);
    }
    let plan = super::load_plan(&cli.config)?;
    let access = match &args.command {
        SchemaCommand::Status { .. } | SchemaCommand::Verify { .. } => Access::Read,
        SchemaCommand::Up(up) if up.dry_run => Access::Read,
        SchemaCommand::Down(down) if down.dry_run => Access::Read,
        _ => Access::Write,
    };
    let target = match grafter_target::open(&plan.target_url, config_dir, access).await {
        Ok(target) => target,
        // Nothing loaded yet: every migration is pending.
        Err(TargetError::NotFound { .. }) if matches!(args.command, SchemaCommand::Status { .. }) => {
            let SchemaCommand::Status { format } = &args.command else { unreachable!("matched above") };
            // Only the embedded store can be missing: its dialect.
            print_status(&MigrationSet::load(&dir, grafter_target::Dialect::Neo4j)?, &[], *format)?;
            return Ok(Exit::Done);
        }
        Err(e) => return Err(e.into()),
    };
    let result = match MigrationSet::load(&dir, target.dialect()) {
        Ok(set) => dispatch(&args.command, target.as_ref(), &set).await,
        Err(e) => Err(e.into()),
    };
    let closed = target.close().await;
    let code = result?;
    closed?;
    Ok(code)
}

/// Prints progress lines to stderr.
fn log(line: &str) {
    eprintln!("{line}");
}

async fn dispatch(command: &SchemaCommand, target: &dyn GraphTarget, set: &MigrationSet) -> anyhow::Result<Exit> {
    let lease = grafter_engine::DEFAULT_LEASE;
    let mut migrator = Migrator::new(target, set, grafter_engine::holder("schema", None, lease), lease, &log);
    match command {
        SchemaCommand::New { .. } => unreachable!("handled before the target is opened"),
        SchemaCommand::Status { format } => {
            let records = history::load(target).await?;
            print_status(set, &records, *format)?;
        }
        SchemaCommand::Up(args) => {
            let options = Options {
                to: args.to.as_deref().map(version).transpose()?,
                dry_run: args.dry_run,
                allow_destructive: args.allow_destructive,
            };
            print_report(&migrator.up(&options).await?, args.format)?;
        }
        SchemaCommand::Down(args) => {
            let options = Options {
                to: args.to.as_deref().map(version).transpose()?,
                dry_run: args.dry_run,
                ..Options::default()
            };
            print_report(&migrator.down(&options).await?, args.format)?;
        }
        SchemaCommand::Verify { format } => {
            let lines = migrator.verify().await?;
            let failed = lines.iter().any(|l| l.failure.is_some());
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&lines)?),
                Format::Text if lines.is_empty() => outln!("no applied migrations to verify"),
                Format::Text => {
                    for line in &lines {
                        match &line.failure {
                            None => outln!("ok      {} {} ({} queries)", line.version, line.description, line.queries),
                            Some(why) => outln!("FAILED  {} {}: {why}", line.version, line.description),
                        }
                    }
                }
            }
            if failed {
                return Ok(Exit::Negative);
            }
        }
        SchemaCommand::Repair { dry_run } => {
            let repairs = migrator.repair(*dry_run).await?;
            if repairs.is_empty() {
                outln!("nothing to repair: every applied file matches its checksum and no attempt is left half done");
            }
            let verb = if *dry_run { "would repair" } else { "repaired" };
            for repair in &repairs {
                outln!("{verb} {}: {}", repair.version, repair.what);
                out!("{}", repair.diff);
            }
        }
        SchemaCommand::Finalize { version: text } => {
            let version = version(text)?;
            for (property, count) in migrator.finalize(version).await? {
                outln!("finalised {version}: {property} removed from {count} nodes");
            }
        }
        SchemaCommand::Baseline { version: text } => {
            let adopted = migrator.baseline(version(text)?).await?;
            let names: Vec<String> = adopted.iter().map(Version::to_string).collect();
            outln!("baseline: {} marked applied without running ({})", names.len(), names.join(", "));
        }
        SchemaCommand::Roundtrip { allow_destructive } => {
            let report = migrator.roundtrip(*allow_destructive).await?;
            let names: Vec<String> = report.versions.iter().map(Version::to_string).collect();
            outln!("roundtrip of {}: up, down, up", names.join(", "));
            outln!("fingerprint before      {}", report.before);
            outln!("after up                {}", report.after_up);
            outln!("after down              {} (= before)", report.after_down);
            outln!("after up again          {} (= after up)", report.after_up_again);
        }
    }
    Ok(Exit::Done)
}

/// Reads a version given on the command line.
fn version(text: &str) -> Result<Version, UsageError> {
    Version::parse(text).ok_or_else(|| UsageError {
        message: format!("`{text}` is not a migration version"),
        hint: "write it as in the file names: V0003 (or 3)".into(),
    })
}

fn print_status(set: &MigrationSet, records: &[grafter_schema::MigrationRecord], format: Format) -> anyhow::Result<()> {
    let lines = status(set, records);
    if format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    if lines.is_empty() {
        outln!("no migrations in {} (write one with `grafter schema new NAME`)", set.dir.display());
        return Ok(());
    }
    let mut table = new_table(vec!["version", "description", "status", "checksum", "when", "by", "seconds", "changed"]);
    for line in &lines {
        let record = line.record.as_ref();
        let checksum = match line.checksum {
            ChecksumState::NotApplied => "",
            ChecksumState::Matches => "ok",
            ChecksumState::Changed => "CHANGED (see repair)",
            ChecksumState::FileMissing => "FILE MISSING",
        };
        let mut status = line.status.clone();
        if let Some(error) = record.and_then(|r| r.error.as_ref()).filter(|_| line.status != "completed") {
            status = format!("{status}: {error}");
        }
        table.add_row(vec![
            Cell::new(line.version),
            Cell::new(&line.description),
            Cell::new(status),
            Cell::new(checksum),
            Cell::new(
                record.map(|r| r.finished_at.clone().unwrap_or_else(|| r.started_at.clone())).unwrap_or_default(),
            ),
            Cell::new(record.map(|r| format!("{}@{}", r.operator, r.host)).unwrap_or_default()),
            Cell::new(record.map(|r| format!("{:.2}", r.seconds)).unwrap_or_default()),
            Cell::new(record.map(|r| r.affected.join("; ")).unwrap_or_default()),
        ]);
    }
    outln!("{table}");
    Ok(())
}

fn print_report(report: &Report, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    match report {
        Report::Done(outcomes) if outcomes.is_empty() => outln!("nothing to do: the target is up to date"),
        Report::Done(outcomes) => {
            let mut table = new_table(vec!["version", "description", "seconds", "changed"]);
            for outcome in outcomes {
                table.add_row(vec![
                    Cell::new(outcome.version),
                    Cell::new(&outcome.description),
                    Cell::new(format!("{:.2}", outcome.seconds)),
                    Cell::new(if outcome.affected.is_empty() { "nothing".into() } else { outcome.affected.join("; ") }),
                ]);
            }
            outln!("{table}");
        }
        Report::Planned(planned) if planned.is_empty() => outln!("nothing to do: the target is up to date"),
        Report::Planned(planned) => print_plan(planned),
    }
    Ok(())
}

fn print_plan(planned: &[PlannedMigration]) {
    outln!("dry run: nothing is changed");
    for migration in planned {
        outln!("\n{} {} ({})", migration.version, migration.description, migration.direction);
        for statement in &migration.statements {
            let kind = if statement.destructive { "DESTRUCTIVE" } else { "additive" };
            let estimate = match &statement.estimate {
                Estimate::Matches(n) => format!("touches {n} now"),
                Estimate::NotCounted => "not counted (no MATCH)".into(),
                Estimate::Unknown(why) => format!("count unknown: {why}"),
            };
            outln!("  {kind:<11} {}  {estimate}", statement.location);
            for line in statement.text.lines() {
                outln!("      {line}");
            }
        }
    }
}

/// Writes a new migration from a template, with the next free version.
fn new_file(dir: &Path, name: &str, toml: bool) -> anyhow::Result<PathBuf> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(UsageError {
            message: format!("`{name}` cannot be a migration name"),
            hint: "use letters, digits and `_`: add_status".into(),
        }
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let newest = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| parse_file_name(&entry.ok()?.file_name().to_string_lossy()).map(|(v, _, _)| v.0))
        .max()
        .unwrap_or(0);
    let version = Version(newest + 1);
    let path = dir.join(format!("{version}__{name}.{}", if toml { "toml" } else { "cypher" }));
    let text = if toml { toml_template(version) } else { cypher_template(version) };
    std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn cypher_template(version: Version) -> String {
    format!(
        "// {version}: say what this migration does and why.\n\
         // A line `// requires: V0001` here makes it wait for other versions.\n\
         // Sections: statements separated by `;`. Values as parameters, never spliced.\n\
         // up\n\n\
         // down\n\n\
         // verify\n\
         // Each query returns a `valid` column that must be true in every row, or rows that must be empty.\n"
    )
}

fn toml_template(version: Version) -> String {
    format!(
        "# {version}: say what this migration does and why.\n\
         # requires = [\"V0001\"]\n\n\
         # [[refactor]]\n\
         # op = \"add_property\"\n\
         # label = \"Provider\"\n\
         # property = \"status\"\n\
         # default = \"active\"\n"
    )
}
