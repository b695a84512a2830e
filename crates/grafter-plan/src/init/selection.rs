//! Which tables `grafter init` maps: `--include` and `--exclude` glob patterns over table
//! names, written as `table = "…"` would write them (`orders`, `audit.events`), for schemas
//! of hundreds of tables of which a model wants some.
//!
//! A table is mapped when it matches an include pattern (or none were given) and no
//! exclude pattern, and was not left out for a reason of its own (`--skip-empty`); every
//! table left out is listed with what decided it. `*`
//! and `?` match any characters (a `.` too, so `audit*` takes `audit.events`), `[abc]` one of
//! a set; matching is case-sensitive, as table names are in PostgreSQL and on most MySQL
//! servers.

use globset::{GlobBuilder, GlobMatcher};

/// A pattern `--include` or `--exclude` was given that is no glob.
#[derive(Debug, thiserror::Error)]
#[error("--{option} {pattern:?} is not a table pattern: {reason}")]
pub struct PatternError {
    /// `include` or `exclude`.
    pub option: &'static str,
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The include and exclude patterns.
#[derive(Debug, Clone, Default)]
pub struct TableSelection {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    /// Tables left out for a reason of their own (`--skip-empty`), by name.
    left_out: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    fn new(option: &'static str, text: &str) -> Result<Pattern, PatternError> {
        let glob = GlobBuilder::new(text).literal_separator(false).build().map_err(|e| PatternError {
            option,
            pattern: text.to_owned(),
            reason: e.kind().to_string(),
        })?;
        Ok(Pattern { text: text.to_owned(), matcher: glob.compile_matcher() })
    }

    fn matches(&self, table: &str) -> bool {
        self.matcher.is_match(table)
    }
}

impl TableSelection {
    /// Every table.
    pub fn all() -> TableSelection {
        TableSelection::default()
    }

    /// The tables matching one of `include` (every table when it is empty) and none of
    /// `exclude`.
    pub fn new(include: &[String], exclude: &[String]) -> Result<TableSelection, PatternError> {
        let patterns = |option, texts: &[String]| -> Result<Vec<Pattern>, PatternError> {
            texts.iter().map(|t| Pattern::new(option, t)).collect()
        };
        Ok(TableSelection {
            include: patterns("include", include)?,
            exclude: patterns("exclude", exclude)?,
            left_out: Vec::new(),
        })
    }

    /// Leaves `table` out too, saying `reason`.
    pub fn leave_out(&mut self, table: &str, reason: String) {
        self.left_out.push((table.to_owned(), reason));
    }

    /// Why `table` is left out, or `None` when it is mapped.
    pub fn why_left_out(&self, table: &str) -> Option<String> {
        if let Some((_, reason)) = self.left_out.iter().find(|(name, _)| name == table) {
            return Some(reason.clone());
        }
        if let Some(pattern) = self.exclude.iter().find(|p| p.matches(table)) {
            return Some(format!("excluded by --exclude '{}'", pattern.text));
        }
        if !self.include.is_empty() && !self.include.iter().any(|p| p.matches(table)) {
            let patterns: Vec<String> = self.include.iter().map(|p| format!("'{}'", p.text)).collect();
            return Some(format!("matches no --include pattern ({})", patterns.join(", ")));
        }
        None
    }

    /// The patterns that match none of `tables` (most likely mistyped), as `--option 'pattern'`.
    pub fn matching_nothing<'a>(&self, tables: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
        let unused = |option: &str, patterns: &[Pattern]| -> Vec<String> {
            patterns
                .iter()
                .filter(|p| !tables.clone().any(|t| p.matches(t)))
                .map(|p| format!("--{option} '{}'", p.text))
                .collect()
        };
        let mut found = unused("include", &self.include);
        found.extend(unused("exclude", &self.exclude));
        found
    }

    /// The options as a command line would give them, for the generated file's comment.
    pub fn describe(&self) -> Option<String> {
        let options: Vec<String> = self
            .include
            .iter()
            .map(|p| format!("--include '{}'", p.text))
            .chain(self.exclude.iter().map(|p| format!("--exclude '{}'", p.text)))
            .collect();
        (!options.is_empty()).then(|| options.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(include: &[&str], exclude: &[&str]) -> TableSelection {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        TableSelection::new(&owned(include), &owned(exclude)).unwrap()
    }

    #[test]
    fn excludes_win_over_includes_and_say_which_pattern_decided() {
        let chosen = selection(&["order*", "customer"], &["*_archive"]);
        assert_eq!(chosen.why_left_out("orders"), None);
        assert_eq!(chosen.why_left_out("customer"), None);
        assert_eq!(chosen.why_left_out("orders_archive").as_deref(), Some("excluded by --exclude '*_archive'"));
        assert_eq!(
            chosen.why_left_out("customers").as_deref(),
            Some("matches no --include pattern ('order*', 'customer')")
        );
        assert_eq!(TableSelection::all().why_left_out("anything"), None);
        let mut chosen = chosen;
        chosen.leave_out("orders", "it has no rows".into());
        assert_eq!(chosen.why_left_out("orders").as_deref(), Some("it has no rows"));
    }

    #[test]
    fn schema_qualified_names_match_across_the_dot_and_case_counts() {
        let chosen = selection(&["audit*"], &[]);
        assert_eq!(chosen.why_left_out("audit.events"), None);
        assert!(chosen.why_left_out("Audit_log").is_some());
    }

    #[test]
    fn patterns_matching_no_table_are_named_and_bad_patterns_refused() {
        let chosen = selection(&["ordres*"], &["tmp_*", "orders"]);
        let tables = ["orders", "customer"];
        assert_eq!(chosen.matching_nothing(tables.iter().copied()), ["--include 'ordres*'", "--exclude 'tmp_*'"]);
        let refused = TableSelection::new(&["[abc".to_owned()], &[]).unwrap_err();
        assert_eq!(refused.option, "include");
        assert!(refused.to_string().starts_with("--include \"[abc\" is not a table pattern: "), "{refused}");
    }
}
