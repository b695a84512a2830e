//! Checking and quoting the names that come from data: labels, relationship types and
//! property names.
//!
//! Values always travel as query parameters, but names cannot: Cypher has no parameter for a
//! label. So every name is checked here and then always written backtick-quoted, which makes
//! any remaining character harmless.
//!
//! Names starting with `_grafter`, in any case, are grafter's own: its bookkeeping labels
//! (`_GrafterRun`, `_GrafterCheckpoint`, `_GrafterLock`, `_GrafterSnapshot…`,
//! `_GrafterMigration`, …) and the properties it writes on loaded elements (`_grafter_run`,
//! which a FalkorDB or Bolt run removes from every element when it finishes, and the
//! `_grafter_snapshot…` properties of snapshots). A user's label, relationship type or
//! property with such a name would be counted, changed or wiped as bookkeeping, so every kind
//! of name is refused — and without regard to case, so that no name even looks like one.

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

/// How grafter's bookkeeping labels start (`_GrafterRun`, …).
pub(crate) const RESERVED_PREFIX: &str = "_Grafter";

/// Whether `name` starts with `_grafter` in any case: a name reserved for grafter.
pub fn is_reserved_name(name: &str) -> bool {
    name.as_bytes()
        .get(..RESERVED_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(RESERVED_PREFIX.as_bytes()))
}

/// Checks that `name` may be used as a `kind` in a graph: not empty, at most 255 bytes, no
/// control characters and no backticks, and not starting with grafter's reserved
/// `_grafter` (in any case).
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
    if is_reserved_name(name) {
        return fail(
            "names starting with `_grafter` (in any case) are reserved for grafter's own bookkeeping \
             (`_grafter_run`, `_GrafterRun`, …), which would count, change or remove it",
        );
    }
    Ok(())
}

/// A name [`check_name`] accepts, as close to `name` as it can be: backticks and control
/// characters become `_`, the leading underscores of a reserved name go (`_grafter_run` →
/// `grafter_run`), a long name is cut to 255 bytes, and an empty one is `unnamed`. For hints
/// and for `grafter init`, which must write names a plan accepts.
pub fn usable_name(name: &str) -> String {
    let mut usable: String = name.chars().map(|c| if c == '`' || c.is_control() { '_' } else { c }).collect();
    while is_reserved_name(&usable) {
        usable = usable.trim_start_matches('_').to_owned();
    }
    if usable.len() > MAX_NAME_LEN {
        let mut end = MAX_NAME_LEN;
        while !usable.is_char_boundary(end) {
            end -= 1;
        }
        usable.truncate(end);
    }
    if usable.is_empty() { "unnamed".to_owned() } else { usable }
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
    fn a_name_starting_with_grafter_is_refused_for_every_kind_in_any_case() {
        for kind in [NameKind::Label, NameKind::RelationshipType, NameKind::Property] {
            for name in ["_grafter_run", "_GrafterRun", "_GRAFTER", "_gRaFtEr_x"] {
                let err = check_name(kind, name).unwrap_err();
                assert!(err.reason.contains("reserved for grafter's own bookkeeping"), "{kind} {name}: {err}");
            }
        }
        for name in ["grafter_run", "__grafter", "_graft", "my_grafter_run", "_grafteé"] {
            assert!(check_name(NameKind::Property, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn usable_names_pass_the_check() {
        assert_eq!(usable_name("_grafter_run"), "grafter_run");
        assert_eq!(usable_name("a`b"), "a_b");
        assert_eq!(usable_name("line\nbreak"), "line_break");
        assert_eq!(usable_name(""), "unnamed");
        assert_eq!(usable_name("Unit Price"), "Unit Price");
        let long = "é".repeat(200);
        for name in ["_grafter_run", "a`b", "", "`", &long, "_GRAFTER"] {
            assert!(check_name(NameKind::Property, &usable_name(name)).is_ok(), "{name:?}");
        }
    }
}
