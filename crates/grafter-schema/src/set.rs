//! The migrations folder: every migration file read, versions unique, dependencies known
//! and acyclic, and the order to apply them in.
//!
//! The order is by version, except that a migration whose header `requires` a later version
//! comes after it: among the migrations whose requirements are met, the lowest version goes
//! first. A cycle or a requirement no file provides is an error before anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use grafter_target::Dialect;

use crate::migration::{Kind, Migration, Version, parse_cypher, parse_file_name};
use crate::{SchemaError, declarative};

/// Every migration of a folder, in the order to apply them.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    /// The folder.
    pub dir: PathBuf,
    /// The migrations, in application order.
    pub migrations: Vec<Migration>,
}

impl MigrationSet {
    /// Reads every `V…__….cypher` and `V…__….toml` in `dir`, compiling `.toml` refactorings
    /// to `dialect` (the target's: [`grafter_target::GraphTarget::dialect`]). A missing
    /// folder is an empty set.
    pub fn load(dir: &Path, dialect: Dialect) -> Result<MigrationSet, SchemaError> {
        let mut migrations = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(MigrationSet { dir: dir.to_path_buf(), migrations });
            }
            Err(e) => return Err(io_error(dir, e)),
        };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some((version, description, kind)) = parse_file_name(&name) else {
                if name.starts_with(['V', 'v']) && (name.ends_with(".cypher") || name.ends_with(".toml")) {
                    return Err(SchemaError::File {
                        file: path.display().to_string(),
                        line: None,
                        message: "looks like a migration but its name does not read `V<number>__<name>.cypher|toml`".into(),
                        hint: "name it like `V0004__add_status.cypher` (two underscores; letters, digits and `_` in the name)".into(),
                    });
                }
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            migrations.push(match kind {
                Kind::Cypher => parse_cypher(&path, version, description, &text)?,
                Kind::Toml => declarative::parse(&path, dialect, version, description, &text)?,
            });
        }
        let migrations = order(migrations)?;
        Ok(MigrationSet { dir: dir.to_path_buf(), migrations })
    }

    /// The migration with `version`.
    pub fn get(&self, version: Version) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.version == version)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> SchemaError {
    SchemaError::File {
        file: path.display().to_string(),
        line: None,
        message: format!("cannot read it: {e}"),
        hint: "check that it exists and is readable".into(),
    }
}

/// Checks versions are unique and dependencies satisfiable; returns the migrations in the
/// order to apply them.
pub fn order(migrations: Vec<Migration>) -> Result<Vec<Migration>, SchemaError> {
    let mut by_version: BTreeMap<Version, Migration> = BTreeMap::new();
    for migration in migrations {
        if let Some(other) = by_version.get(&migration.version) {
            return Err(SchemaError::Dependencies {
                message: format!(
                    "version {} is used twice: {} and {}",
                    migration.version,
                    other.file_name(),
                    migration.file_name()
                ),
                hint: "give one of them the next free version".into(),
            });
        }
        by_version.insert(migration.version, migration);
    }
    for migration in by_version.values() {
        if let Some(missing) = migration.requires.iter().find(|r| !by_version.contains_key(r)) {
            return Err(SchemaError::Dependencies {
                message: format!("{} requires {missing}, which no migration file provides", migration.file_name()),
                hint: format!("add {missing}, or correct the `requires:` line of {}", migration.file_name()),
            });
        }
    }
    let mut done: BTreeSet<Version> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(by_version.len());
    while !by_version.is_empty() {
        let ready = by_version.values().find(|m| m.requires.iter().all(|r| done.contains(r))).map(|m| m.version);
        let Some(version) = ready else {
            let cycle = find_cycle(&by_version);
            return Err(SchemaError::Dependencies {
                message: format!(
                    "the migrations' dependencies form a cycle: {}",
                    cycle.iter().map(Version::to_string).collect::<Vec<_>>().join(" → ")
                ),
                hint: "remove one of these `requires:` so that the order can be decided".into(),
            });
        };
        let migration = by_version.remove(&version).expect("found above");
        done.insert(version);
        ordered.push(migration);
    }
    Ok(ordered)
}

/// A cycle among the remaining migrations (each of which waits for another remaining one):
/// follow the first unmet requirement until a version repeats.
fn find_cycle(remaining: &BTreeMap<Version, Migration>) -> Vec<Version> {
    let mut path: Vec<Version> = Vec::new();
    let mut current = *remaining.keys().next().expect("not empty");
    loop {
        if let Some(start) = path.iter().position(|v| *v == current) {
            let mut cycle = path[start..].to_vec();
            cycle.push(current);
            return cycle;
        }
        path.push(current);
        current = *remaining[&current].requires.iter().find(|r| remaining.contains_key(r)).expect("waits for one");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::Statement;

    fn migration(version: u32, requires: &[u32]) -> Migration {
        Migration {
            version: Version(version),
            description: "m".into(),
            path: PathBuf::from(format!("V{version:04}__m.cypher")),
            kind: Kind::Cypher,
            requires: requires.iter().map(|v| Version(*v)).collect(),
            up: vec![Statement::new("RETURN 1", 1)],
            down: Vec::new(),
            verify: Vec::new(),
            batch_size: None,
            checksum: String::new(),
            source: String::new(),
        }
    }

    fn versions(ordered: &[Migration]) -> Vec<u32> {
        ordered.iter().map(|m| m.version.0).collect()
    }

    #[test]
    fn by_version_unless_a_requirement_says_otherwise() {
        assert_eq!(versions(&order(vec![migration(2, &[]), migration(1, &[])]).unwrap()), [1, 2]);
        assert_eq!(
            versions(&order(vec![migration(1, &[3]), migration(2, &[]), migration(3, &[])]).unwrap()),
            [2, 3, 1]
        );
    }

    #[test]
    fn a_cycle_is_named() {
        let error = order(vec![migration(1, &[]), migration(2, &[3]), migration(3, &[2])]).unwrap_err().to_string();
        assert!(error.contains("cycle: V0002 → V0003 → V0002"), "{error}");
    }

    #[test]
    fn a_missing_requirement_is_named() {
        let error = order(vec![migration(1, &[9])]).unwrap_err().to_string();
        assert!(error.contains("V0001__m.cypher requires V0009, which no migration file provides"), "{error}");
    }
}
