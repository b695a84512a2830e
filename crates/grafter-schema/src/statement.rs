//! One Cypher statement of a migration: splitting a section into statements, telling
//! additive statements from destructive ones, and the counting query that estimates what a
//! statement touches (for `--dry-run`).
//!
//! All three read the text the same way: outside quotes (`'…'`, `"…"`, `` `…` ``) and
//! outside `//` comments, so a `;` or a `DELETE` inside a string changes nothing.

use std::sync::LazyLock;

use grafter_model::Value;
use regex::Regex;

/// A statement and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The Cypher text.
    pub text: String,
    /// Line of the file it starts on (1-based); 0 for statements generated from a `.toml`.
    pub line: usize,
    /// Values it needs, passed as query parameters.
    pub params: Vec<(String, Value)>,
    /// Set when grafter does the work itself, in batches, rather than running `text`
    /// (which then shows what it does).
    pub step: Option<Step>,
    /// The statement in batches: it changes at most `$batch` elements that still need the
    /// change and returns how many it changed (one column); the runner repeats it until that
    /// is 0. What is done no longer matches, so the statement is its own resumable cursor.
    pub batched: Option<String>,
}

/// Work grafter does itself rather than as one Cypher statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `transform_property` (see [`crate::transform`]).
    Transform(TransformStep),
    /// `merge_duplicate_nodes` (see [`crate::merge`]).
    Merge(crate::merge::MergeStep),
    /// Index or constraint DDL in the target's dialect, run by the target (FalkorDB's
    /// constraints are server commands, not Cypher), with the steps that undo it: a failed
    /// migration runs them before restoring its snapshot, because a store's snapshot may
    /// bring back its data but not its catalog (the embedded store's does not).
    Ddl {
        /// The step.
        run: grafter_target::Ddl,
        /// What undoes it.
        undo: Vec<grafter_target::Ddl>,
    },
}

/// A property transformed by an expression of the transform language: for every `label`
/// node with `property` set and `<property>_old` not yet set, the old value goes to
/// `<property>_old` and the expression's result to `property`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformStep {
    /// The label (as written, unquoted).
    pub label: String,
    /// The property.
    pub property: String,
    /// The expression; it reads the node's properties by name.
    pub expression: String,
}

impl Statement {
    /// A statement without parameters.
    pub fn new(text: impl Into<String>, line: usize) -> Statement {
        Statement { text: text.into(), line, params: Vec::new(), step: None, batched: None }
    }

    /// A statement run in batches of `$batch`: `matching` (a `MATCH … WHERE …` that only
    /// matches what still needs the change) binds `vars`, and `action` changes them. Shown
    /// and counted whole; run as `matching WITH vars LIMIT $batch action RETURN count(*)`.
    pub fn batchable(matching: &str, vars: &str, action: &str) -> Statement {
        let mut statement = Statement::new(format!("{matching} {action}"), 0);
        statement.batched = Some(format!("{matching} WITH {vars} LIMIT $batch {action} RETURN count(*) AS done"));
        statement
    }

    /// Whether it deletes or removes something (see [`is_destructive`]).
    pub fn is_destructive(&self) -> bool {
        is_destructive(&self.text)
    }
}

/// The text with string and backtick contents blanked (same length, same line breaks) and
/// `//` comments blanked: what keyword searches look at.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if comment {
            if c == '\n' {
                comment = false;
                out.push('\n');
            } else {
                out.push(' ');
            }
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' && q != '`' {
                    out.push(' ');
                    if let Some(next) = chars.next() {
                        out.push(if next == '\n' { '\n' } else { ' ' });
                    }
                    continue;
                }
                if c == q {
                    quote = None;
                    out.push(c);
                } else {
                    out.push(if c == '\n' { '\n' } else { ' ' });
                }
            }
            None => {
                if c == '/' && chars.peek() == Some(&'/') {
                    comment = true;
                    out.push(' ');
                } else {
                    if matches!(c, '\'' | '"' | '`') {
                        quote = Some(c);
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Splits a section at `;` outside strings and comments. `first_line` is the section's
/// first line in the file; each statement keeps the line it starts on. Comment-only and
/// empty pieces are dropped.
pub fn split(section: &str, first_line: usize) -> Vec<Statement> {
    let code = code_only(section);
    let mut statements = Vec::new();
    let mut start = 0;
    let mut push = |from: usize, to: usize| {
        let piece = &section[from..to];
        if code[from..to].trim().is_empty() {
            return;
        }
        // The first line with code on it (comments are blanked in `code`).
        let leading = code[from..to].len() - code[from..to].trim_start().len();
        let line = first_line + section[..from + leading].matches('\n').count();
        let mut statement = Statement::new(strip_comment_lines(piece.trim()), line);
        // A statement written for batches (it reads `$batch`) is repeated until it returns 0.
        if code[from..to].contains("$batch") {
            statement.batched = Some(statement.text.clone());
        }
        statements.push(statement);
    };
    for (i, c) in code.char_indices() {
        if c == ';' {
            push(start, i);
            start = i + 1;
        }
    }
    push(start, section.len());
    statements
}

/// Drops lines that are only a `//` comment (a comment after code stays: grafeo and the
/// servers accept it, and it is the author's text).
fn strip_comment_lines(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

static DESTRUCTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(DELETE|REMOVE|DROP)\b|\bSET\b[^;]*?=\s*NULL\b|\bSET\s+[A-Za-z_][A-Za-z0-9_]*\s*=\s*\{")
        .expect("valid regex")
});

/// Whether a statement deletes or removes something: `DELETE`, `DETACH DELETE`, `REMOVE`,
/// `DROP`, `SET … = null`, or `SET n = {…}` (which replaces every property).
pub fn is_destructive(text: &str) -> bool {
    DESTRUCTIVE.is_match(&code_only(text))
}

static WRITING_CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(SET|DELETE|DETACH|REMOVE|CREATE|MERGE|FOREACH|RETURN)\b").expect("valid regex")
});

static STARTS_WITH_MATCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(OPTIONAL\s+)?MATCH\b").expect("valid regex"));

/// A query counting the rows the statement's reading part matches — the nodes or
/// relationships it will change — or `None` when it has no reading part to count
/// (`CREATE INDEX …`, a bare `CREATE`).
pub fn estimate_query(text: &str) -> Option<String> {
    let code = code_only(text);
    if !STARTS_WITH_MATCH.is_match(&code) {
        return None;
    }
    let end = WRITING_CLAUSE.find(&code).map_or(text.len(), |m| m.start());
    Some(format!("{} RETURN count(*) AS estimate", text[..end].trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_semicolons_outside_strings_and_comments() {
        let section = "\nMATCH (n:A) SET n.x = 'a;b';\n// a comment; with a semicolon\nMATCH (n:B)\n  SET n.y = 1;\n\n";
        let statements = split(section, 10);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[0].text, "MATCH (n:A) SET n.x = 'a;b'");
        assert_eq!(statements[0].line, 11);
        assert_eq!(statements[1].text, "MATCH (n:B)\n  SET n.y = 1");
        assert_eq!(statements[1].line, 13);
    }

    #[test]
    fn a_statement_reading_batch_runs_in_batches() {
        let statements = split(
            "MATCH (n:A) WHERE n.x IS NULL WITH n LIMIT $batch SET n.x = 1 RETURN count(n);\nMATCH (n:A) SET n.y = '$batch'",
            1,
        );
        assert_eq!(statements[0].batched.as_deref(), Some(statements[0].text.as_str()));
        assert_eq!(statements[1].batched, None, "only outside strings");
    }

    #[test]
    fn a_comment_only_piece_is_no_statement() {
        assert!(split("// nothing to do\n", 1).is_empty());
    }

    #[test]
    fn destructive_statements_are_recognised() {
        for text in [
            "MATCH (n:A) DELETE n",
            "MATCH (n:A) DETACH DELETE n",
            "MATCH (n:A) REMOVE n.x",
            "DROP INDEX a_x",
            "MATCH (n:A) SET n.x = null",
            "MATCH (n:A) SET n.y = 1, n.x = NULL",
            "MATCH (n:A) SET n = {y: 1}",
        ] {
            assert!(is_destructive(text), "{text}");
        }
        for text in [
            "MATCH (n:A) SET n.x = 'DELETE me'",
            "MATCH (n:A) SET n.status = 'active'",
            "CREATE INDEX a_x FOR (n:A) ON (n.x)",
            "MATCH (n:A) SET n += {y: 1}",
            "MATCH (n:`REMOVE`) SET n.x = 1",
        ] {
            assert!(!is_destructive(text), "{text}");
        }
    }

    #[test]
    fn estimates_count_what_the_reading_part_matches() {
        assert_eq!(
            estimate_query("MATCH (n:A) WHERE n.x > 1 SET n.y = 2").as_deref(),
            Some("MATCH (n:A) WHERE n.x > 1 RETURN count(*) AS estimate")
        );
        assert_eq!(
            estimate_query("MATCH (a)-[r:X]->(b)\nCREATE (a)-[:Y]->(b)\nDELETE r").as_deref(),
            Some("MATCH (a)-[r:X]->(b) RETURN count(*) AS estimate")
        );
        assert_eq!(estimate_query("CREATE INDEX a_x FOR (n:A) ON (n.x)"), None);
    }
}
