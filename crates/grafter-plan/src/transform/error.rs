//! The errors of the three stages of a transform — parsing ([`ExprError`]), binding to a
//! source's columns ([`BindError`]) and evaluating one row ([`EvalError`]) — and the helpers
//! that make their messages name the bad input: quoting values, suggesting near names.

use std::fmt;

use grafter_model::Value;

/// An expression that could not be parsed, with the place where parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {}: {message}{}", .position + 1, HintSuffix(.hint.as_deref()))]
pub struct ExprError {
    /// Where the problem is, as a 0-based offset in characters (not bytes) into the text.
    /// The message shows it 1-based, the way people count.
    pub position: usize,
    /// What is wrong, naming the offending text.
    pub message: String,
    /// How to fix it, when there is a likely fix.
    pub hint: Option<String>,
}

/// Writes ` (hint: …)` when there is a hint, so the one-line form stays one line.
struct HintSuffix<'a>(Option<&'a str>);

impl fmt::Display for HintSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, " (hint: {hint})"),
            None => Ok(()),
        }
    }
}

impl ExprError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> ExprError {
        ExprError { position, message: message.into(), hint: None }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> ExprError {
        self.hint = Some(hint.into());
        self
    }

    /// The message, then the line of `text` the error is on with a `^` under the position,
    /// both indented, so it reads well after a prefix (`transform of property `email`: …`).
    /// The hint is left out: callers show [`hint`](Self::hint) their own way. `text` must be
    /// the expression that was parsed.
    ///
    /// ```text
    /// unknown function `lowr`
    ///   trim(lowr(x))
    ///        ^
    /// ```
    pub fn render(&self, text: &str) -> String {
        // Expressions may span lines (TOML multi-line strings): show only the line at fault.
        let mut line_start = 0;
        let mut shown = "";
        for line in text.split('\n') {
            shown = line.strip_suffix('\r').unwrap_or(line);
            let len = line.chars().count();
            if self.position <= line_start + len {
                break;
            }
            line_start += len + 1;
        }
        let column = self.position.saturating_sub(line_start).min(shown.chars().count());
        // Keep tabs as tabs so the caret lines up however wide the terminal draws them.
        let pad: String = shown.chars().take(column).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        format!("{}\n  {shown}\n  {pad}^", self.message)
    }
}

/// An expression that refers to something the source does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The expression names a column the source does not deliver.
    #[error("{}", unknown_column_message(.column, .suggestion.as_deref(), .available))]
    UnknownColumn {
        /// The column as the expression spells it.
        column: String,
        /// The nearest existing column (by edit distance, ignoring case), if one is near.
        suggestion: Option<String>,
        /// Every column the source delivers, in source order.
        available: Vec<String>,
    },
    /// An argument computed from constants is invalid for its function (a pattern built with
    /// `||` that is not a valid regular expression, a split position that is zero, …).
    /// Literal arguments are checked earlier, when parsing.
    #[error("{function}(): {message}")]
    InvalidArgument {
        /// The function's name.
        function: &'static str,
        /// What is wrong with the argument.
        message: String,
    },
}

fn unknown_column_message(column: &str, suggestion: Option<&str>, available: &[String]) -> String {
    if let Some(near) = suggestion {
        return format!("unknown column `{column}` (did you mean `{near}`?)");
    }
    if available.is_empty() {
        return format!("unknown column `{column}`: the source has no columns");
    }
    // Wide tables exist; a message listing 300 columns helps nobody.
    const SHOWN: usize = 12;
    let mut list: Vec<String> = available.iter().take(SHOWN).map(|c| format!("`{c}`")).collect();
    if available.len() > SHOWN {
        list.push(format!("… and {} more", available.len() - SHOWN));
    }
    format!("unknown column `{column}` (the columns are {})", list.join(", "))
}

/// Why one row could not be transformed. The engine rejects the row with this message as the
/// reason, so the message names the function or operator and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// The whole message, e.g. `int(): "abc" is not an integer`.
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(message: impl Into<String>) -> EvalError {
        EvalError { message: message.into() }
    }
}

/// Values in messages are cut to this many characters: a reject reason should fit a line,
/// and the whole row is in the reject file anyway.
const SHOWN_CHARS: usize = 60;

/// A string as messages show it: double-quoted, shortened if long. Quotes and control
/// characters are escaped; backslashes are not, so a pattern like `\d+` reads as typed.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == SHOWN_CHARS - 1 && s.chars().nth(SHOWN_CHARS).is_some() {
            out.push_str("\"…");
            return out;
        }
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_debug()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value as messages show it: strings quoted, anything else prefixed with its kind so a
/// type mistake is visible (`int 5`, `date 2024-01-31`).
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => quoted(s),
        // Debug keeps floats recognisable (`1.0`, `1e300`) where Display writes `1` or 301 digits.
        Value::Float(x) => format!("float {x:?}"),
        other => {
            let text = other.to_string();
            if text.chars().count() <= SHOWN_CHARS {
                format!("{} {text}", other.kind())
            } else {
                let head: String = text.chars().take(SHOWN_CHARS - 1).collect();
                format!("{} {head}…", other.kind())
            }
        }
    }
}

/// The candidate nearest to `name`, ignoring case, if it is near enough to be a likely typo.
pub(crate) fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    // Allow one edit per three characters (at least one): `Emial` → `Email`, but `id` ↛ `ab`.
    let limit = (wanted.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(&wanted, &candidate.to_lowercase());
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expr_error_shows_position_one_based_and_hint() {
        let err = ExprError::new(4, "unknown function `lowr`").with_hint("did you mean `lower`?");
        assert_eq!(err.to_string(), "at character 5: unknown function `lowr` (hint: did you mean `lower`?)");
        assert_eq!(ExprError::new(0, "empty expression").to_string(), "at character 1: empty expression");
    }

    #[test]
    fn render_puts_the_caret_under_the_position() {
        let err = ExprError::new(5, "unknown function `lowr`").with_hint("did you mean `lower`?");
        assert_eq!(err.render("trim(lowr(x))"), "unknown function `lowr`\n  trim(lowr(x))\n       ^");
    }

    #[test]
    fn render_at_the_end_and_on_later_lines() {
        let err = ExprError::new(7, "expected `)`");
        assert_eq!(err.render("lower(x"), "expected `)`\n  lower(x\n         ^");
        // Position 10 is the `y` on the second line ("a +\r\n" is 5 characters).
        let err = ExprError::new(10, "unknown column");
        assert_eq!(err.render("a +\r\n\tb + y"), "unknown column\n  \tb + y\n  \t    ^");
    }

    #[test]
    fn unknown_column_message_suggests_or_lists() {
        let with = BindError::UnknownColumn {
            column: "Emial".into(),
            suggestion: Some("Email".into()),
            available: vec!["Email".into()],
        };
        assert_eq!(with.to_string(), "unknown column `Emial` (did you mean `Email`?)");
        let without =
            BindError::UnknownColumn { column: "x".into(), suggestion: None, available: vec!["a".into(), "b".into()] };
        assert_eq!(without.to_string(), "unknown column `x` (the columns are `a`, `b`)");
        let many: Vec<String> = (0..15).map(|i| format!("c{i}")).collect();
        let wide = BindError::UnknownColumn { column: "x".into(), suggestion: None, available: many };
        assert!(wide.to_string().ends_with("`c11`, … and 3 more)"), "{wide}");
    }

    #[test]
    fn values_are_described_with_their_kind() {
        assert_eq!(describe(&Value::from("a\"b")), r#""a\"b""#);
        assert_eq!(describe(&Value::Int(5)), "int 5");
        assert_eq!(describe(&Value::Float(1.5)), "float 1.5");
        assert_eq!(describe(&Value::Null), "null");
        let long = "x".repeat(100);
        assert_eq!(describe(&Value::from(long.as_str())), format!("\"{}\"…", "x".repeat(59)));
    }

    #[test]
    fn nearest_ignores_case_and_refuses_far_names() {
        let names = ["Email", "FirstName", "id"];
        assert_eq!(nearest("emial", names), Some("Email"));
        assert_eq!(nearest("FIRSTNAME", names), Some("FirstName"));
        assert_eq!(nearest("ab", names), None);
        assert_eq!(nearest("Phone", names), None);
    }
}
