//! Checksums of migration files that ignore how the file was saved: line endings (CRLF, LF,
//! CR) and trailing whitespace, including blank lines at the end, do not count; anything
//! else does.

use sha2::{Digest as _, Sha256};

/// The text with every line's trailing whitespace removed, lines joined by `\n`, and the
/// trailing blank lines dropped.
pub fn normalise(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    let mut joined = lines.join("\n");
    joined.truncate(joined.trim_end().len());
    joined
}

/// SHA-256 of the normalised text, as 64 hex digits.
pub fn checksum(text: &str) -> String {
    Sha256::digest(normalise(text).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_trailing_whitespace_do_not_count() {
        let unix = "// up\nCREATE (n:A);\n";
        assert_eq!(checksum(unix), checksum("// up\r\nCREATE (n:A);\r\n"));
        assert_eq!(checksum(unix), checksum("// up  \t\nCREATE (n:A);   \n\n\n"));
        assert_eq!(checksum(unix), checksum("// up\rCREATE (n:A);\r"));
    }

    #[test]
    fn everything_else_counts() {
        let unix = "// up\nCREATE (n:A);\n";
        assert_ne!(checksum(unix), checksum("// up\nCREATE (n:B);\n"));
        assert_ne!(checksum(unix), checksum("// up\n CREATE (n:A);\n"), "leading whitespace counts");
        assert_ne!(checksum(unix), checksum("// up\n\nCREATE (n:A);\n"), "an inner blank line counts");
    }
}
