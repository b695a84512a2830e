//! Splits expression text into [`Token`]s, each with the character offset where it starts,
//! so the parser can point at the exact place of a mistake.
//!
//! Characters people commonly bring from other languages (`"strings"`, `&&`, `!`, a lone `|`)
//! are refused here with a hint naming this language's spelling.

use super::error::ExprError;

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare identifier that is not a keyword: a column or a function name.
    Ident(String),
    /// A backtick-quoted column name, unescaped.
    QuotedIdent(String),
    /// A single-quoted string literal, unescaped.
    Str(String),
    /// A number literal as written; the parser converts it, knowing whether a `-` precedes it.
    Number {
        text: String,
        float: bool,
    },
    And,
    Or,
    Not,
    True,
    False,
    Null,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    LParen,
    RParen,
    Comma,
    Eof,
}

impl Tok {
    /// The token as messages name it ("found `)`", "found the end of the expression").
    pub(crate) fn describe(&self) -> String {
        let symbol = match self {
            Tok::Ident(name) => return format!("`{name}`"),
            Tok::QuotedIdent(name) => return format!("`{}`", name.replace('`', "``")),
            Tok::Str(s) => return format!("'{}'", s.replace('\'', "''")),
            Tok::Number { text, .. } => return format!("`{text}`"),
            Tok::Eof => return "the end of the expression".to_owned(),
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            Tok::Eq => "=",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Concat => "||",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
        };
        format!("`{symbol}`")
    }
}

/// A token and the 0-based character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// Words with a meaning of their own; a column with such a name needs backticks.
/// Matched case-insensitively, as SQL users write `AND`, `NULL`.
pub(crate) fn keyword(word: &str) -> Option<Tok> {
    let tok = match word.to_ascii_lowercase().as_str() {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "true" => Tok::True,
        "false" => Tok::False,
        "null" => Tok::Null,
        _ => return None,
    };
    Some(tok)
}

/// Whether `c` may continue a bare identifier.
pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `c` may start a bare identifier.
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Splits `text` into tokens, ending with [`Tok::Eof`] at the text's length.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let next = at(i + 1);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '%' => (Tok::Percent, 1),
            '=' if next == Some('=') => (Tok::Eq, 2),
            '=' => (Tok::Eq, 1),
            '!' if next == Some('=') => (Tok::Ne, 2),
            '<' if next == Some('=') => (Tok::Le, 2),
            '<' if next == Some('>') => (Tok::Ne, 2),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '|' if next == Some('|') => (Tok::Concat, 2),
            '\'' => {
                let (s, end) = quoted(&chars, start, '\'')?;
                tokens.push(Token { tok: Tok::Str(s), pos: start });
                i = end;
                continue;
            }
            '`' => {
                let (name, end) = quoted(&chars, start, '`')?;
                if name.is_empty() {
                    return Err(ExprError::new(start, "empty column name ``"));
                }
                tokens.push(Token { tok: Tok::QuotedIdent(name), pos: start });
                i = end;
                continue;
            }
            c if c.is_ascii_digit() => {
                let (tok, end) = number(&chars, start)?;
                tokens.push(Token { tok, pos: start });
                i = end;
                continue;
            }
            c if is_ident_start(c) => {
                let end = (start..).find(|&j| !at(j).is_some_and(is_ident_char)).unwrap_or(chars.len());
                let word: String = chars[start..end].iter().collect();
                let tok = keyword(&word).unwrap_or(Tok::Ident(word));
                tokens.push(Token { tok, pos: start });
                i = end;
                continue;
            }
            other => return Err(unexpected_char(other, start, next)),
        };
        tokens.push(Token { tok, pos: start });
        i += len;
    }
    tokens.push(Token { tok: Tok::Eof, pos: chars.len() });
    Ok(tokens)
}

/// Reads a `quote`-delimited literal starting at `start`, where a doubled quote stands for
/// itself (SQL's rule, for both strings and backtick names). Returns the content and the
/// offset after the closing quote.
fn quoted(chars: &[char], start: usize, quote: char) -> Result<(String, usize), ExprError> {
    let mut content = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            Some(&c) if c == quote => {
                if chars.get(i + 1) == Some(&quote) {
                    content.push(quote);
                    i += 2;
                } else {
                    return Ok((content, i + 1));
                }
            }
            Some(&c) => {
                content.push(c);
                i += 1;
            }
            None => {
                let (what, hint) = if quote == '\'' {
                    ("string", "close it with ' (inside a string, write '' for a single quote)")
                } else {
                    ("column name", "close it with ` (inside a column name, write `` for a backtick)")
                };
                return Err(ExprError::new(start, format!("unterminated {what}")).with_hint(hint));
            }
        }
    }
}

/// Reads a number: digits, an optional fraction, an optional exponent. A letter glued to it
/// (`12abc`) is an error rather than two tokens, because it is never meant that way.
fn number(chars: &[char], start: usize) -> Result<(Tok, usize), ExprError> {
    let at = |i: usize| chars.get(i).copied();
    let digits_from = |i: usize| (i..).find(|&j| !at(j).is_some_and(|c| c.is_ascii_digit())).unwrap_or(chars.len());
    let mut end = digits_from(start);
    let mut float = false;
    if at(end) == Some('.') {
        if !at(end + 1).is_some_and(|c| c.is_ascii_digit()) {
            return Err(ExprError::new(end, "expected a digit after the decimal point"));
        }
        end = digits_from(end + 1);
        float = true;
    }
    if matches!(at(end), Some('e' | 'E')) {
        let sign = usize::from(matches!(at(end + 1), Some('+' | '-')));
        if at(end + 1 + sign).is_some_and(|c| c.is_ascii_digit()) {
            end = digits_from(end + 1 + sign);
            float = true;
        }
    }
    if at(end).is_some_and(|c| is_ident_char(c) || c == '.') {
        let bad_end = (end..).find(|&j| !at(j).is_some_and(|c| is_ident_char(c) || c == '.')).unwrap_or(chars.len());
        let text: String = chars[start..bad_end].iter().collect();
        return Err(ExprError::new(start, format!("invalid number `{text}`"))
            .with_hint("a column name cannot start with a digit unless quoted with backticks, e.g. `2nd_line`"));
    }
    let text: String = chars[start..end].iter().collect();
    Ok((Tok::Number { text, float }, end))
}

fn unexpected_char(c: char, pos: usize, next: Option<char>) -> ExprError {
    let err = ExprError::new(pos, format!("unexpected character `{c}`"));
    match c {
        '"' => err.with_hint(
            "strings use single quotes ('text'); column names with other characters use backticks (`Unit Price`)",
        ),
        '&' => err.with_hint("write `and`"),
        '|' => err.with_hint("write `or` for either condition, `||` to join strings"),
        '!' => err.with_hint("write `not` to negate, `!=` for not equal"),
        '.' if next.is_some_and(|n| n.is_ascii_digit()) => err.with_hint("write a digit before the decimal point: 0.5"),
        c if c.is_alphabetic() => {
            err.with_hint("quote column names that are not plain ASCII identifiers with backticks")
        }
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).expect("tokenizes").into_iter().map(|t| t.tok).collect()
    }

    fn error(text: &str) -> (usize, String, Option<String>) {
        let err = tokenize(text).expect_err("should fail");
        (err.position, err.message, err.hint)
    }

    #[test]
    fn operators_and_their_alternative_spellings() {
        use Tok::*;
        assert_eq!(
            toks("= == != <> < <= > >= || + - * / % ( ) ,"),
            vec![Eq, Eq, Ne, Ne, Lt, Le, Gt, Ge, Concat, Plus, Minus, Star, Slash, Percent, LParen, RParen, Comma, Eof]
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_identifiers_keep_their_case() {
        assert_eq!(
            toks("AND or Not TRUE false Null Email _x1"),
            vec![
                Tok::And,
                Tok::Or,
                Tok::Not,
                Tok::True,
                Tok::False,
                Tok::Null,
                Tok::Ident("Email".into()),
                Tok::Ident("_x1".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_and_quoted_names_unescape_doubled_quotes() {
        assert_eq!(toks("'it''s'"), vec![Tok::Str("it's".into()), Tok::Eof]);
        assert_eq!(toks("''"), vec![Tok::Str(String::new()), Tok::Eof]);
        assert_eq!(toks("`Unit Price`"), vec![Tok::QuotedIdent("Unit Price".into()), Tok::Eof]);
        assert_eq!(toks("`a``b`"), vec![Tok::QuotedIdent("a`b".into()), Tok::Eof]);
    }

    #[test]
    fn numbers_in_all_forms() {
        let num = |text: &str, float: bool| Tok::Number { text: text.into(), float };
        assert_eq!(toks("42"), vec![num("42", false), Tok::Eof]);
        assert_eq!(toks("1.5"), vec![num("1.5", true), Tok::Eof]);
        assert_eq!(toks("1e3 2E-4 3.5e+2"), vec![num("1e3", true), num("2E-4", true), num("3.5e+2", true), Tok::Eof]);
        // `1-2` is a subtraction, not a malformed exponent.
        assert_eq!(toks("1-2"), vec![num("1", false), Tok::Minus, num("2", false), Tok::Eof]);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let tokens = tokenize("'é' || x").expect("tokenizes");
        assert_eq!(tokens.iter().map(|t| t.pos).collect::<Vec<_>>(), vec![0, 4, 7, 8]);
    }

    #[test]
    fn bad_input_is_refused_with_position_and_hint() {
        assert_eq!(
            error("lower('abc"),
            (
                6,
                "unterminated string".into(),
                Some("close it with ' (inside a string, write '' for a single quote)".into())
            )
        );
        assert_eq!(error("x + `abc").0, 4);
        assert_eq!(error("``").1, "empty column name ``");
        assert_eq!(error("a && b").2.as_deref(), Some("write `and`"));
        assert_eq!(error("a | b").2.as_deref(), Some("write `or` for either condition, `||` to join strings"));
        assert_eq!(error("!a").2.as_deref(), Some("write `not` to negate, `!=` for not equal"));
        assert_eq!(error("x = \"a\"").1, "unexpected character `\"`");
        assert_eq!(error("x = \"a\"").0, 4);
        assert_eq!(error("12abc + 1").1, "invalid number `12abc`");
        assert_eq!(error("1.").1, "expected a digit after the decimal point");
        assert_eq!(error("1.2.3").1, "invalid number `1.2.3`");
        assert_eq!(error(".5").2.as_deref(), Some("write a digit before the decimal point: 0.5"));
        assert_eq!(error("Größe").0, 2);
        assert_eq!(error("a ; b").1, "unexpected character `;`");
    }

    #[test]
    fn describe_names_tokens_as_written() {
        assert_eq!(Tok::Str("it's".into()).describe(), "'it''s'");
        assert_eq!(Tok::RParen.describe(), "`)`");
        assert_eq!(Tok::Eof.describe(), "the end of the expression");
    }
}
