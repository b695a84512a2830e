//! One migration file: its name (`V0001__add_status.cypher`), its header and its sections.
//!
//! A `.cypher` migration reads
//!
//! ```text
//! // requires: V0001, V0002        (optional: versions that must be applied first)
//! // up
//! MATCH (p:Provider) SET p.status = 'active';
//! // down
//! MATCH (p:Provider) REMOVE p.status;
//! // verify
//! MATCH (p:Provider) WHERE p.status IS NULL RETURN p;   (rows that must be empty, or a `valid` column)
//! ```
//!
//! Section markers are lines of their own. Several statements per section, separated by
//! `;`. `.toml` migrations (declarative refactorings) are compiled by [`crate::declarative`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::statement::{Statement, split};
use crate::{SchemaError, checksum};

/// A migration's version: the number after `V` in its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Version(pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V{:04}", self.0)
    }
}

impl Version {
    /// Parses `V0003`, `v3` or `3`.
    pub fn parse(text: &str) -> Option<Version> {
        let digits = text.trim().trim_start_matches(['V', 'v']);
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.parse().ok().map(Version))?
    }
}

/// What kind of file a migration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Cypher sections written by hand.
    Cypher,
    /// Declarative refactorings compiled to Cypher.
    Toml,
}

/// A migration read from its file.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Its version.
    pub version: Version,
    /// Its description: the file name's part after `__`, underscores as spaces.
    pub description: String,
    /// The file.
    pub path: PathBuf,
    /// The file's kind.
    pub kind: Kind,
    /// Versions that must be applied before it.
    pub requires: Vec<Version>,
    /// Statements that apply it.
    pub up: Vec<Statement>,
    /// Statements that revert it; empty when it cannot be reverted.
    pub down: Vec<Statement>,
    /// Queries that prove it applied: each returns a `valid` column that must be true in
    /// every row, or rows that must be empty.
    pub verify: Vec<Statement>,
    /// Rows per batch for data changes that run in batches (`.toml` only).
    pub batch_size: Option<usize>,
    /// Checksum of the file (see [`checksum`]).
    pub checksum: String,
    /// The file's text, normalised as for the checksum: kept in the history so that
    /// `repair` can show what changed.
    pub source: String,
}

impl Migration {
    /// The file name, for messages.
    pub fn file_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Whether any of its `up` statements is destructive.
    pub fn is_destructive(&self) -> bool {
        self.up.iter().any(Statement::is_destructive)
    }
}

static FILE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[Vv](\d+)__([A-Za-z0-9_]+)\.(cypher|toml)$").expect("valid regex"));

/// The version, description and kind a file name gives, or `None` when it is no
/// migration's name.
pub fn parse_file_name(name: &str) -> Option<(Version, String, Kind)> {
    let captures = FILE_NAME.captures(name)?;
    let version = Version(captures[1].parse().ok()?);
    let description = captures[2].replace('_', " ");
    let kind = if &captures[3] == "toml" { Kind::Toml } else { Kind::Cypher };
    Some((version, description, kind))
}

fn file_error(path: &Path, line: Option<usize>, message: impl Into<String>, hint: impl Into<String>) -> SchemaError {
    SchemaError::File { file: path.display().to_string(), line, message: message.into(), hint: hint.into() }
}

/// Parses `requires: V0001, V0002` (after the key).
pub(crate) fn parse_requires(path: &Path, line: Option<usize>, list: &str) -> Result<Vec<Version>, SchemaError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            Version::parse(item).ok_or_else(|| {
                file_error(
                    path,
                    line,
                    format!("`{item}` is not a version"),
                    "write versions as in file names: `requires: V0001, V0002`",
                )
            })
        })
        .collect()
}

/// Which section a marker line opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Up,
    Down,
    Verify,
}

fn section_marker(line: &str) -> Option<Section> {
    let rest = line.trim().strip_prefix("//")?.trim().to_ascii_lowercase();
    match rest.as_str() {
        "up" => Some(Section::Up),
        "down" => Some(Section::Down),
        "verify" => Some(Section::Verify),
        _ => None,
    }
}

/// Reads a `.cypher` migration from its text.
pub fn parse_cypher(path: &Path, version: Version, description: String, text: &str) -> Result<Migration, SchemaError> {
    let normalised = checksum::normalise(text);
    let mut requires = Vec::new();
    let mut current: Option<Section> = None;
    // Per section: its text and the line its text starts on.
    let mut sections: Vec<(Section, String, usize)> = Vec::new();
    for (index, line) in normalised.split('\n').enumerate() {
        let number = index + 1;
        if let Some(section) = section_marker(line) {
            if sections.iter().any(|(s, _, _)| *s == section) {
                return Err(file_error(
                    path,
                    Some(number),
                    format!("a second `{line}` section"),
                    "each of `// up`, `// down` and `// verify` appears once; put several statements in one section, separated by `;`",
                ));
            }
            current = Some(section);
            sections.push((section, String::new(), number + 1));
            continue;
        }
        match current {
            Some(_) => {
                let text = &mut sections.last_mut().expect("a section is open").1;
                text.push_str(line);
                text.push('\n');
            }
            None => {
                let trimmed = line.trim();
                if let Some(comment) = trimmed.strip_prefix("//") {
                    if let Some(list) = comment.trim().strip_prefix("requires:") {
                        requires.extend(parse_requires(path, Some(number), list)?);
                    }
                } else if !trimmed.is_empty() {
                    return Err(file_error(
                        path,
                        Some(number),
                        "a statement before the `// up` line",
                        "start the migration's statements with a line `// up` (then `// down` and `// verify`)",
                    ));
                }
            }
        }
    }
    let take = |wanted: Section| {
        sections.iter().find(|(s, _, _)| *s == wanted).map(|(_, text, line)| split(text, *line)).unwrap_or_default()
    };
    let up = take(Section::Up);
    if up.is_empty() {
        return Err(file_error(
            path,
            None,
            "no statements in an `// up` section",
            "write the statements that apply the migration after a line `// up`",
        ));
    }
    Ok(Migration {
        version,
        description,
        path: path.to_path_buf(),
        kind: Kind::Cypher,
        requires,
        up,
        down: take(Section::Down),
        verify: take(Section::Verify),
        batch_size: None,
        checksum: checksum::checksum(text),
        source: normalised,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_version_description_and_kind() {
        assert_eq!(parse_file_name("V0003__add_status.cypher"), Some((Version(3), "add status".into(), Kind::Cypher)));
        assert_eq!(parse_file_name("V12__rename.toml"), Some((Version(12), "rename".into(), Kind::Toml)));
        assert_eq!(parse_file_name("V1_missing_underscore.cypher"), None);
        assert_eq!(parse_file_name("README.md"), None);
        assert_eq!(Version(7).to_string(), "V0007");
        assert_eq!(Version::parse("v0007"), Some(Version(7)));
        assert_eq!(Version::parse("x"), None);
    }

    #[test]
    fn sections_header_and_lines() {
        let text = "// requires: V0001, V0002\n// up\nMATCH (n:A) SET n.x = 1;\nMATCH (n:B) SET n.x = 2;\n// down\nMATCH (n:A) REMOVE n.x;\n// verify\nMATCH (n:A) WHERE n.x IS NULL RETURN n\n";
        let m = parse_cypher(Path::new("V0003__x.cypher"), Version(3), "x".into(), text).unwrap();
        assert_eq!(m.requires, vec![Version(1), Version(2)]);
        assert_eq!(m.up.len(), 2);
        assert_eq!(m.up[1].line, 4);
        assert_eq!(m.down[0].text, "MATCH (n:A) REMOVE n.x");
        assert_eq!(m.verify.len(), 1);
    }

    #[test]
    fn a_statement_before_up_names_its_line() {
        let error =
            parse_cypher(Path::new("V1__x.cypher"), Version(1), "x".into(), "\nMATCH (n) SET n.x = 1;\n// up\n")
                .unwrap_err()
                .to_string();
        assert!(error.starts_with("V1__x.cypher:2: a statement before the `// up` line"), "{error}");
    }

    #[test]
    fn an_empty_up_is_an_error() {
        let error =
            parse_cypher(Path::new("V1__x.cypher"), Version(1), "x".into(), "// up\n// down\nMATCH (n) DELETE n\n")
                .unwrap_err()
                .to_string();
        assert!(error.contains("no statements in an `// up` section"), "{error}");
    }
}
