//! Checking and quoting the names that come from data: labels, relationship types and
//! property names.
//!
//! Values always travel as query parameters, but names cannot: Cypher has no parameter for a
//! label. So every name is checked here and then always written backtick-quoted, which makes
//! any remaining character harmless.

use std::fmt;

/// What kind of name is being checked (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A node label.
    Label,
    /// A relationship type.
    RelationshipType,
    /// A property name.
    Property,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Label => "label",
            NameKind::RelationshipType => "relationship type",
            NameKind::Property => "property name",
        })
    }
}

/// A name that cannot be used in a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {name:?}: {reason}")]
pub struct NameError {
    /// What kind of name it was.
    pub kind: NameKind,
    /// The name as given.
    pub name: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// The longest name accepted. Graph stores accept more, but a longer name is a mistake.
const MAX_NAME_LEN: usize = 255;

/// Prefix reserved for grafter's own bookkeeping labels (`_GrafterRun`, …).
pub(crate) const RESERVED_PREFIX: &str = "_Grafter";

/// Checks that `name` may be used as a `kind` in a graph: not empty, at most 255 bytes, no
/// control characters and no backticks; labels and types may not use grafter's reserved
/// `_Grafter` prefix.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), NameError> {
    let fail = |reason| Err(NameError { kind, name: name.to_owned(), reason });
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return fail("it is longer than 255 bytes");
    }
    if name.chars().any(char::is_control) {
        return fail("it contains a control character");
    }
    if name.contains('`') {
        return fail("it contains a backtick");
    }
    if kind != NameKind::Property && name.starts_with(RESERVED_PREFIX) {
        return fail("names starting with `_Grafter` are reserved for grafter's bookkeeping");
    }
    Ok(())
}

/// Writes a checked name backtick-quoted, ready to splice into Cypher.
pub fn quote_name(name: &str) -> String {
    // check_name refuses backticks; doubling them anyway keeps this function safe on its own.
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_and_are_quoted() {
        assert!(check_name(NameKind::Label, "ResourceProvider").is_ok());
        assert!(check_name(NameKind::Property, "Unit Price").is_ok());
        assert_eq!(quote_name("Unit Price"), "`Unit Price`");
    }

    #[test]
    fn injection_attempts_are_refused() {
        let err = check_name(NameKind::Label, "X`) DETACH DELETE n //").unwrap_err();
        assert_eq!(err.reason, "it contains a backtick");
        assert!(check_name(NameKind::Property, "a\nb").is_err());
        assert!(check_name(NameKind::RelationshipType, "").is_err());
    }

    #[test]
    fn bookkeeping_prefix_is_reserved_for_labels() {
        assert!(check_name(NameKind::Label, "_GrafterRun").is_err());
        assert!(check_name(NameKind::Property, "_GrafterRun").is_ok());
    }
}
