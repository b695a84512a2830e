//! [`CsvOptions`]: how the files of a `csv:` source are written — the `[source.csv]` table of
//! grafter.toml, typed once, here, by the connector that reads them. The plan deserializes
//! the table straight into this struct, so a wrong value is refused with its line before
//! anything is opened.

use serde::{Deserialize, Deserializer};

/// How the CSV files of a directory are written (`[source.csv]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CsvTable")]
pub struct CsvOptions {
    /// The byte separating fields (default `,`).
    pub delimiter: u8,
    /// The byte quoting fields that contain delimiters, quotes or line breaks (default `"`).
    /// A quote inside a quoted field is written twice.
    pub quote: u8,
    /// The field text that means NULL, compared after trimming; `None`: no text is NULL.
    /// Default `Some("")`: an empty field is NULL. A quoted empty field (`""`) is empty too,
    /// so it is NULL under the default as well.
    pub null: Option<String>,
    /// Whether to strip ASCII whitespace around every field and header name (default false).
    pub trim: bool,
    /// Whether the first record names the columns (default true). Without a header the
    /// columns are called `column_1`, `column_2`, … and the first record is data.
    pub has_header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', quote: b'"', null: Some(String::new()), trim: false, has_header: true }
    }
}

/// `[source.csv]` as written in grafter.toml.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvTable {
    /// Field separator: one ASCII character, not a line break (default `,`).
    #[serde(default = "comma", deserialize_with = "ascii_character")]
    delimiter: u8,
    /// The character that quotes a field: one ASCII character, not a line break and not the
    /// delimiter (default `"`).
    #[serde(default = "double_quote", deserialize_with = "ascii_character")]
    quote: u8,
    /// The field text that means NULL (default: the empty field).
    #[serde(default)]
    null: String,
    /// Whether the first line names the columns (default true).
    #[serde(default = "yes")]
    header: bool,
    /// Strip spaces around fields (default false).
    #[serde(default)]
    trim: bool,
}

impl TryFrom<CsvTable> for CsvOptions {
    type Error = String;

    fn try_from(table: CsvTable) -> Result<Self, Self::Error> {
        if table.delimiter == table.quote {
            return Err(format!(
                "[source.csv] quotes fields with the delimiter {:?}: a field could never be told from the next\n  hint: set `quote` to another character (the default is '\"')",
                char::from(table.delimiter)
            ));
        }
        Ok(CsvOptions {
            delimiter: table.delimiter,
            quote: table.quote,
            null: Some(table.null),
            trim: table.trim,
            has_header: table.header,
        })
    }
}

fn comma() -> u8 {
    b','
}

fn double_quote() -> u8 {
    b'"'
}

fn yes() -> bool {
    true
}

/// One ASCII character other than a line break, as its byte.
fn ascii_character<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let text = String::deserialize(deserializer)?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() && c != '\n' && c != '\r' => Ok(c as u8),
        _ => Err(serde::de::Error::custom(format!(
            "{text:?} must be one ASCII character other than a line break (CSV files are split on bytes)\n  hint: for a tab write \"\\t\"; a file separated by another character must be converted first, e.g. with `tr`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Config {
        #[serde(default)]
        csv: CsvOptions,
    }

    fn parse(text: &str) -> Result<CsvOptions, String> {
        toml::from_str::<Config>(text).map(|c| c.csv).map_err(|e| e.to_string())
    }

    #[test]
    fn an_absent_table_and_an_empty_one_are_the_defaults() {
        assert_eq!(parse("").unwrap(), CsvOptions::default());
        assert_eq!(parse("[csv]").unwrap(), CsvOptions::default());
    }

    #[test]
    fn every_key_is_read() {
        let options = parse("[csv]\ndelimiter = \"\\t\"\nquote = \"'\"\nnull = \"NULL\"\nheader = false\ntrim = true").unwrap();
        assert_eq!(
            options,
            CsvOptions { delimiter: b'\t', quote: b'\'', null: Some("NULL".into()), trim: true, has_header: false }
        );
    }

    #[test]
    fn a_delimiter_of_several_or_non_ascii_characters_is_refused() {
        for bad in ["§", ";;", "", "\\n"] {
            let error = parse(&format!("[csv]\ndelimiter = \"{bad}\"")).unwrap_err();
            assert!(error.contains("must be one ASCII character"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_quote_equal_to_the_delimiter_and_an_unknown_key_are_refused() {
        let error = parse("[csv]\ndelimiter = \"'\"\nquote = \"'\"").unwrap_err();
        assert!(error.contains("quotes fields with the delimiter"), "{error}");
        let error = parse("[csv]\nseparator = \";\"").unwrap_err();
        assert!(error.contains("unknown field `separator`"), "{error}");
    }
}
