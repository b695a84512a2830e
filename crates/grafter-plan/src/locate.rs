//! Finding lines in grafter.toml, so every error can say where: [`Location`], and helpers
//! that find a section's or a key's line in the text.
//!
//! The TOML parser gives byte spans only for syntax errors; for the semantic checks that run
//! after parsing, the mapping's position (the n-th `[[nodes]]`) and the key's name are enough
//! to find the line again.

use std::fmt;

/// A place in a config file: the file, and the line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl Location {
    /// The file as a whole.
    pub fn file(file: &str) -> Location {
        Location { file: file.to_owned(), line: None }
    }

    /// A line of the file.
    pub fn line(file: &str, line: usize) -> Location {
        Location { file: file.to_owned(), line: Some(line) }
    }

    /// The line holding byte `offset` of `text`.
    pub fn at_offset(file: &str, text: &str, offset: usize) -> Location {
        let line = text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1;
        Location::line(file, line)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// The text of a line without its comment and surrounding spaces.
fn code(line: &str) -> &str {
    // A `#` inside a string would be cut too; good enough for finding headers and keys.
    line.split('#').next().unwrap_or("").trim()
}

/// The line of the `index`-th (0-based) `[[array]]` header.
pub fn array_entry_line(text: &str, array: &str, index: usize) -> Option<usize> {
    let header = format!("[[{array}]]");
    text.lines().enumerate().filter(|(_, line)| code(line).replace(' ', "") == header).nth(index).map(|(n, _)| n + 1)
}

/// The line of `key = …` inside the `index`-th `[[array]]` entry: in the entry itself or in
/// its tables (`[nodes.transform]`), before the next entry or section.
pub fn array_key_line(text: &str, array: &str, index: usize, key: &str) -> Option<usize> {
    let start = array_entry_line(text, array, index)?;
    let own_table = format!("[{array}.");
    find_key_after(text, start, key, |header| header.starts_with(&own_table))
}

/// The line of `key = …` in `[section]`.
pub fn key_line(text: &str, section: &str, key: &str) -> Option<usize> {
    let header = format!("[{section}]");
    let start = text.lines().position(|line| code(line).replace(' ', "") == header)? + 1;
    find_key_after(text, start, key, |_| false)
}

/// The first `key = …` line from `start_line` on, until a header `inside` does not accept.
fn find_key_after(text: &str, start_line: usize, key: &str, inside: impl Fn(&str) -> bool) -> Option<usize> {
    for (n, line) in text.lines().enumerate().skip(start_line) {
        let code = code(line);
        if code.starts_with('[') {
            if inside(&code.replace(' ', "")) {
                continue;
            }
            return None;
        }
        if let Some((name, _)) = code.split_once('=')
            && name.trim().trim_matches('"') == key
        {
            return Some(n + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "[source]\nurl = \"x\"\n\n[[nodes]] # first\nlabel = \"A\"\n\n[[nodes]]\nlabel = \"B\"\nkey = \"id\"\n";

    #[test]
    fn finds_entries_and_keys() {
        assert_eq!(array_entry_line(TEXT, "nodes", 1), Some(7));
        assert_eq!(array_key_line(TEXT, "nodes", 1, "key"), Some(9));
        assert_eq!(array_key_line(TEXT, "nodes", 0, "key"), None);
        assert_eq!(key_line(TEXT, "source", "url"), Some(2));
    }

    #[test]
    fn keys_of_an_entrys_own_tables_are_found_but_not_the_next_entrys() {
        let text = "[[nodes]]\nlabel = \"A\"\n[nodes.transform]\nscore = \"1\"\n[[nodes]]\nother = \"2\"\n";
        assert_eq!(array_key_line(text, "nodes", 0, "score"), Some(4));
        assert_eq!(array_key_line(text, "nodes", 0, "other"), None);
        assert_eq!(array_key_line(text, "nodes", 1, "other"), Some(6));
    }

    #[test]
    fn offsets_become_lines() {
        assert_eq!(Location::at_offset("f", TEXT, 0).to_string(), "f:1");
        assert_eq!(Location::at_offset("f", TEXT, 10).to_string(), "f:2");
    }
}
