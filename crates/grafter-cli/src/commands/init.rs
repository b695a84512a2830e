//! `grafter init`: introspect a source and write a starter grafter.toml.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use grafter_model::{Cursor, KeyRange, Table};
use grafter_source::{Location, Read, ScanRequest, Source, SourceOptions, parse_url};

use crate::cli::{Cli, InitArgs};
use crate::commands::UsageError;
use crate::exit::Exit;

/// Runs `grafter init`.
pub async fn run(cli: &Cli, args: &InitArgs) -> anyhow::Result<Exit> {
    let output = args.output.clone().unwrap_or_else(|| cli.config.clone());
    if output.exists() && !args.force {
        return Err(UsageError {
            message: format!("{} already exists", output.display()),
            hint: "pass --force to overwrite it, or -o to write elsewhere".into(),
        }
        .into());
    }
    let mut selection =
        grafter_plan::init::TableSelection::new(&args.include, &args.exclude).map_err(|e| UsageError {
            message: e.to_string(),
            hint: "patterns are globs over table names: `*` and `?` match any characters, `[abc]` one of a set".into(),
        })?;
    crate::output::secrets::remember(&args.from);
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let source = grafter_source::open(&args.from, &cwd, &SourceOptions::default()).await?;
    let catalog = source.introspect().await?;
    if catalog.tables.is_empty() {
        return Err(UsageError {
            message: format!("{} has no tables", source.describe()),
            hint: "check the URL".into(),
        }
        .into());
    }
    let output_dir = output.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| cwd.clone(), |p| cwd.join(p));
    let url_in_file = url_relative_to(&args.from, &cwd, &output_dir)?;
    if args.skip_empty {
        for table in &catalog.tables {
            if selection.why_left_out(&table.name).is_none() && is_empty(source.as_ref(), table).await? {
                selection.leave_out(&table.name, "it has no rows (--skip-empty)".into());
            }
        }
    }
    let names = catalog.tables.iter().map(|t| t.name.as_str()).chain(catalog.views.iter().map(String::as_str));
    let matching_nothing = selection.matching_nothing(names);
    let naming = naming_to_keep(&output, args.force)?;
    let starter = grafter_plan::init::starter_config(&catalog, &url_in_file, &selection, &naming);
    if starter.node_mappings == 0 {
        return Err(UsageError {
            message: format!(
                "no table of {} is left to map ({} tables, {} left out)",
                source.describe(),
                catalog.tables.len(),
                starter.skipped.iter().filter(|s| s.kind == "table").count()
            ),
            hint:
                "check --include and --exclude: they match table names as `grafter init` lists them, case-sensitively"
                    .into(),
        }
        .into());
    }
    std::fs::create_dir_all(&output_dir).with_context(|| format!("cannot create {}", output_dir.display()))?;
    std::fs::write(&output, &starter.text).with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "wrote {}: {} node mappings and {} relationship mappings from {} tables of {}{}",
        output.display(),
        starter.node_mappings,
        starter.relationship_mappings,
        catalog.tables.len(),
        source.describe(),
        if starter.skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} skipped, listed below)", starter.skipped.len())
        }
    );
    for skipped in &starter.skipped {
        eprintln!("skipped: {} `{}`: {}", skipped.kind, skipped.name, skipped.reason);
    }
    for pattern in matching_nothing {
        eprintln!("warning: {pattern} matches no table or view");
    }
    for warning in &starter.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!("next: grafter plan -c {}   (then: grafter run -c {})", output.display(), output.display());
    Ok(Exit::Done)
}

/// The `[init.relationships]` of the file `init --force` replaces (the defaults when there is
/// none), so that a modeller's naming rules survive generating the file again.
fn naming_to_keep(output: &Path, force: bool) -> anyhow::Result<grafter_plan::init::RelationshipNaming> {
    if !(force && output.exists()) {
        return Ok(Default::default());
    }
    let text = std::fs::read_to_string(output).with_context(|| format!("cannot read {}", output.display()))?;
    let naming = grafter_plan::init::RelationshipNaming::of_config(&text).map_err(|message| UsageError {
        message: format!("{}: {message}", output.display()),
        hint:
            "fix the [init.relationships] section (see docs/grafter.reference.toml), or remove it, then run init again"
                .into(),
    })?;
    if naming != grafter_plan::init::RelationshipNaming::default() {
        eprintln!("kept [init.relationships] from {}: relationships are named and directed by it", output.display());
    }
    Ok(naming)
}

/// Whether `table` has no rows: its greatest primary key (an index answers), or its count.
async fn is_empty(source: &dyn Source, table: &Table) -> anyhow::Result<bool> {
    let read = Read::Table(table.name.clone());
    if !table.primary_key.is_empty() {
        return Ok(source.max_key(&read, &table.primary_key).await?.is_none());
    }
    let request = ScanRequest {
        read,
        columns: Vec::new(),
        skip_null: Vec::new(),
        order_by: Vec::new(),
        after: Cursor::Start,
        batch_size: 1,
        range: KeyRange::default(),
        filters: Vec::new(),
    };
    Ok(source.count(&request).await? == Some(0))
}

/// The source URL as the config must spell it: file paths relative to the config's directory.
fn url_relative_to(url: &str, cwd: &Path, config_dir: &Path) -> anyhow::Result<String> {
    let path = match parse_url(url, cwd)?.location {
        Location::Path(path) => path,
        // A server URL is written as given, its password replaced by a variable reference.
        Location::Server(_) => return Ok(password_as_variable(url)),
    };
    let scheme = url.split_once(':').map_or("sqlite", |(s, _)| s);
    Ok(format!("{scheme}:{}", relative_path(&normalize(&path), &normalize(config_dir)).display()))
}

/// The URL with its password (if any) replaced by `${GRAFTER_SOURCE_PASSWORD}`, so the
/// config never holds the secret.
fn password_as_variable(url: &str) -> String {
    let redacted = grafter_model::redact_url(url);
    if redacted == url { url.to_owned() } else { redacted.replacen("***", "${GRAFTER_SOURCE_PASSWORD}", 1) }
}

/// `path` without `.` and `..` components (purely lexical: the file may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` (both absolute and normalized).
fn relative_path(path: &Path, base: &Path) -> PathBuf {
    let path_parts: Vec<Component> = path.components().collect();
    let base_parts: Vec<Component> = base.components().collect();
    let common = path_parts.iter().zip(&base_parts).take_while(|(a, b)| a == b).count();
    // Sharing only the root, a relative path would be a string of `..`: absolute reads better.
    if common <= 1 && path.is_absolute() {
        return path.to_path_buf();
    }
    let mut relative = PathBuf::new();
    for _ in common..base_parts.len() {
        relative.push("..");
    }
    for part in &path_parts[common..] {
        relative.push(part);
    }
    if relative.as_os_str().is_empty() { PathBuf::from(".") } else { relative }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_walk_up_and_down() {
        assert_eq!(relative_path(Path::new("/a/b/db.sqlite"), Path::new("/a/c")), PathBuf::from("../b/db.sqlite"));
        assert_eq!(relative_path(Path::new("/a/db.sqlite"), Path::new("/a")), PathBuf::from("db.sqlite"));
        assert_eq!(relative_path(Path::new("/data/db.sqlite"), Path::new("/tmp/x")), PathBuf::from("/data/db.sqlite"));
    }

    #[test]
    fn passwords_never_reach_the_config() {
        assert_eq!(
            password_as_variable("postgres://app:s3cret@db/shop"),
            "postgres://app:${GRAFTER_SOURCE_PASSWORD}@db/shop"
        );
        assert_eq!(password_as_variable("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
    }
}
