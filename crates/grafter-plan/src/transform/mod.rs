//! The transform language: small per-row expressions that compute a graph property from
//! source columns.
//!
//! ```toml
//! [nodes.transform]
//! email = "lower(trim(Email))"
//! standard = "not(starts_with(name, 'CUSTOM_'))"
//! born = "parse_date(BirthDate, '%Y-%m-%d %H:%M:%S')"
//! ratio = "round(float(allocation_ratio), 2)"
//! ```
//!
//! An expression goes through three stages, each with its own error:
//!
//! 1. [`parse`] the text into an [`Expr`] ([`ExprError`], with a character position and
//!    often a hint). Everything that can be checked without data is checked here: function
//!    names (an unknown one suggests the nearest), argument counts, literal regular
//!    expressions, date formats and cast types.
//! 2. [`Expr::bind`] it to the columns a source delivers, giving a [`Compiled`] expression
//!    ([`BindError`]: an unknown column, with the nearest one). Column names are matched
//!    exactly, case included. Parts without columns are computed once here, and constant
//!    patterns and formats compiled once.
//! 3. [`Compiled::eval`] it once per row ([`EvalError`]). The engine rejects a row whose
//!    expression fails, with the error's message as the reason, so every message names the
//!    function or operator and the offending value: `int(): "abc" is not an integer`.
//!
//! # Syntax
//!
//! - Literals: `'text'` (a quote inside is written `''`), integers (`42`, 64-bit), floats
//!   (`1.5`, `1e3`, `2.5e-3`), `true`, `false`, `null`. There are no double-quoted strings.
//! - Columns: a bare name `[A-Za-z_][A-Za-z0-9_]*`, or any name in backticks:
//!   `` `Unit Price` `` (a backtick inside is written ``` `` ```). Keywords (`and`, `or`,
//!   `not`, `true`, `false`, `null`, in any case) need backticks to be column names. A name
//!   followed by `(` is a function call; function names ignore case.
//! - Operators, loosest first; all binary operators are left-associative except
//!   comparisons, which do not chain (`a < b < c` is an error):
//!
//!   | level | operators |
//!   |---|---|
//!   | 1 | `or` |
//!   | 2 | `and` |
//!   | 3 | `not` (prefix) |
//!   | 4 | `=` (or `==`), `!=` (or `<>`), `<`, `<=`, `>`, `>=` |
//!   | 5 | `\|\|` (string concatenation) |
//!   | 6 | `+`, `-` |
//!   | 7 | `*`, `/`, `%` |
//!   | 8 | `-` (prefix) |
//!
//! [`Expr`]'s `Display` writes the canonical text: lower-case names and keywords, `=` and
//! `!=`, single spaces around operators, parentheses only where needed. It parses back to an
//! equal [`Expr`].
//!
//! # Types and null
//!
//! Values are [`grafter_model::Value`]s. Nothing converts implicitly:
//!
//! - String functions and `||` take strings only; any other value is an error naming the
//!   function and the value's kind (`lower(): expected a string, got int 5 …`). A silent
//!   conversion would hide a mapping mistake; write `string(x)` to convert on purpose.
//! - Comparisons work between values of the same kind; an int and a float compare
//!   numerically (exactly, even beyond 2^53). Comparing other different kinds (`'1' = 1`) is
//!   an error, not `false`. Strings compare by code point. Lists and maps can only be
//!   tested for equality. NaN is unequal to everything.
//! - Arithmetic: int op int stays int — so `/` on two ints is integer division, truncating
//!   toward zero (`7 / 2` is `3`; write `7 / 2.0` or `float(x) / y` for `3.5`) and `%` takes
//!   the dividend's sign. Overflow is an error (`integer overflow in +: …`), never a
//!   wrap-around. An int with a float gives a float. Division by zero is an error for floats
//!   too, as is a float result overflowing to infinity.
//! - Null works like SQL: an operator or function with a null operand gives null, except
//!   `coalesce`, `default`, `nullif`, `concat` (null counts as `''`), `is_null`, `if` (a null
//!   condition takes the else branch), and `and`/`or`, which use three-valued logic
//!   (`null and false` is `false`, `null or true` is `true`). Logical operators and `if`
//!   accept only bools and null.
//!
//! # Functions
//!
//! | function | result |
//! |---|---|
//! | `lower(s)`, `upper(s)` | Unicode case mapping |
//! | `trim(s)`, `ltrim(s)`, `rtrim(s)` | without surrounding (leading, trailing) whitespace |
//! | `length(s)` | number of characters |
//! | `replace(s, from, to)` | every `from` replaced; an empty `from` changes nothing |
//! | `regexp_replace(s, pattern, replacement)` | every match replaced; `$1`, `${name}` insert groups, `$$` a dollar; write `${1}x`, not `$1x` |
//! | `regexp_match(s, pattern)` | whether the pattern matches anywhere in `s` (anchor with `^…$`) |
//! | `split_part(s, delimiter, n)` | field `n` from 1, or from the end if negative; `''` beyond the last; `n = 0` is an error |
//! | `substring(s, start[, length])` | characters from `start` (1-based); PostgreSQL rules for `start < 1`; a negative length is an error |
//! | `starts_with(s, p)`, `ends_with(s, p)`, `contains(s, p)` | bool |
//! | `to_upper_snake(s)` | `SupportRepId` → `SUPPORT_REP_ID`, `HTTPServer` → `HTTP_SERVER` |
//! | `concat(a, b, …)` | strings joined, nulls as `''`; never null |
//! | `coalesce(a, b, …)` | the first non-null argument (later ones are not evaluated) |
//! | `default(a, d)` | `coalesce(a, d)` |
//! | `nullif(a, b)` | null if `a = b`, else `a` |
//! | `if(cond, then, else)` | `then` if `cond` is true, else `else` (only the branch taken is evaluated) |
//! | `is_null(x)` | bool; never null |
//! | `int(x)` | from a string (trimmed) spelling an integer — `'1.5'` and `'1e3'` are errors; from a whole float in range; from a bool as 0/1 |
//! | `float(x)` | from a string (trimmed) spelling a finite number, an int, or a bool as 0/1 |
//! | `bool(x)` | from `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0` in any case (trimmed), or the ints 1/0 |
//! | `string(x)` | the value's canonical text (`Value`'s `Display`: ISO 8601 dates, JSON for lists and maps) |
//! | `cast(x, type)` | `type` is a literal: `'int'`, `'float'`, `'bool'`, `'string'` (as the functions above), `'date'`, `'datetime'` (from ISO 8601 strings; between dates and date-times, dropping the time or adding midnight), `'json'` (strings parsed; numbers, bools, lists, maps kept) |
//! | `parse_date(s[, format])` | a date; the whole string must match the chrono strftime `format` (time fields are read and dropped); without a format exactly `YYYY-MM-DD` |
//! | `parse_datetime(s[, format])` | a date-time, with offset when the format reads one (`%z`, `%:z`, `%#z`, `%+`); without a format `YYYY-MM-DD[T ]HH:MM:SS[.f]`, with an optional RFC 3339 offset (`Z`, `+02:00`) |
//! | `format_date(x, format)` | a date, time or date-time as text; a format asking for fields the value lacks (`%H` of a date) is an error |
//! | `json_parse(s)` | the JSON value: integral numbers as ints, objects as maps |
//! | `round(x[, digits])` | half away from zero; floats stay floats; ints unchanged unless `digits` is negative (`round(1250, -2)` is `1300`) |
//! | `abs(x)`, `floor(x)`, `ceil(x)` | floats stay floats, ints unchanged (`abs` of the smallest int is an overflow error) |
//!
//! Patterns use the [`regex`] crate's syntax. Patterns and formats written as literals (or
//! computed from literals) are compiled once; taken from a column they are compiled per row.

mod ast;
mod convert;
mod dates;
mod error;
mod eval;
mod functions;
mod lexer;
mod parser;
mod strings;

use std::fmt;
use std::str::FromStr;

use grafter_model::Value;

pub(crate) use convert::CastType;
pub use error::{BindError, EvalError, ExprError};

/// A parsed expression, not yet tied to any source.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: ast::Node,
}

/// Parses an expression.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    parser::parse(text).map(|root| Expr { root })
}

impl FromStr for Expr {
    type Err = ExprError;

    fn from_str(text: &str) -> Result<Expr, ExprError> {
        parse(text)
    }
}

impl Expr {
    /// The expression reading the column `name`, whatever its characters; its text
    /// (`to_string`) quotes the name with backticks when it needs them.
    pub fn column(name: &str) -> Expr {
        Expr { root: ast::Node::Column(name.to_owned()) }
    }

    /// `cast(self, 'to')`: the expression's value converted to the graph type `to`, as
    /// cast rules apply it.
    pub(crate) fn cast(&self, to: CastType) -> Expr {
        let to = ast::Node::Literal(Value::String(to.name().to_owned()));
        Expr { root: ast::Node::Call(functions::Func::Cast, vec![self.root.clone(), to]) }
    }

    /// The distinct column names the expression reads, in order of first appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        self.root.for_each_column(&mut |name| {
            if !names.iter().any(|seen| seen == name) {
                names.push(name.to_owned());
            }
        });
        names
    }

    /// The column name, when the expression is nothing but a column reference.
    pub fn as_column(&self) -> Option<&str> {
        match &self.root {
            ast::Node::Column(name) => Some(name),
            _ => None,
        }
    }

    /// Ties the expression to a source whose rows hold `columns`, in this order. Column names
    /// match exactly (case included); an unknown one is an error naming the nearest.
    pub fn bind(&self, columns: &[String]) -> Result<Compiled, BindError> {
        eval::compile(&self.root, columns).map(|root| Compiled { root })
    }
}

impl fmt::Display for Expr {
    /// The canonical text, which parses back to an equal expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

/// An expression bound to a source's columns, ready to evaluate rows. It is `Send + Sync`
/// and cheap to clone; a clone per worker spares the workers from sharing the regex
/// engine's scratch caches.
#[derive(Clone, Debug)]
pub struct Compiled {
    root: eval::Op,
}

// Workers evaluate one compiled mapping from several threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Compiled>();
};

impl Compiled {
    /// Evaluates the expression over one row, whose values line up with the columns given to
    /// [`Expr::bind`].
    pub fn eval(&self, row: &[Value]) -> Result<Value, EvalError> {
        eval::eval(&self.root, row).map(std::borrow::Cow::into_owned)
    }

    /// The column index when the expression is a bare column reference: the engine can then
    /// copy the value and skip evaluation.
    pub fn as_column(&self) -> Option<usize> {
        match self.root {
            eval::Op::Column { index, .. } => Some(index),
            _ => None,
        }
    }

    /// The indexes (into the bound columns) of every column the expression reads.
    pub fn column_indexes(&self) -> Vec<usize> {
        let mut indexes = Vec::new();
        self.root.column_indexes(&mut indexes);
        indexes
    }

    /// The value when the expression reads no column and could be computed at bind time.
    pub fn as_constant(&self) -> Option<&Value> {
        self.root.as_const()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_examples_from_a_mapping_work() {
        let cols = columns(&["Email", "name", "BirthDate", "allocation_ratio"]);
        let row = [
            Value::from("  Ada@Example.COM "),
            Value::from("CUSTOM_X"),
            Value::from("1962-02-18 00:00:00"),
            Value::from("0.4567"),
        ];
        let eval = |text: &str| parse(text).expect("parses").bind(&cols).expect("binds").eval(&row);
        assert_eq!(eval("lower(trim(Email))"), Ok(Value::from("ada@example.com")));
        assert_eq!(eval("not(starts_with(name, 'CUSTOM_'))"), Ok(Value::Bool(false)));
        assert_eq!(
            eval("parse_date(BirthDate, '%Y-%m-%d %H:%M:%S')"),
            Ok(Value::Date(NaiveDate::from_ymd_opt(1962, 2, 18).expect("valid")))
        );
        assert_eq!(eval("round(float(allocation_ratio), 2)"), Ok(Value::Float(0.46)));
    }

    #[test]
    fn display_round_trips() {
        let texts = [
            "lower(trim(Email))",
            "not(starts_with(name, 'CUSTOM_'))",
            "parse_date(BirthDate, '%Y-%m-%d %H:%M:%S')",
            "round(float(allocation_ratio), 2)",
            "a + b * c - (d - e) / f % g",
            "(a + b) * -c",
            "- -a",
            "-(-5)",
            "1 - -5",
            "-9223372036854775808",
            "a or b and not c or (d or e) and f",
            "not (a and b)",
            "not not a",
            "(a = b) = (c < d)",
            "a = (not b)",
            "a || 'it''s' || `Unit Price` || `a``b` || `NULL` || `2nd`",
            "concat(a, ' ', b) = 'x' OR a <> b",
            "coalesce(a, 1.5, 1e3, 1e300, 0.1, -2.5e-7, true, FALSE, null)",
            "if(x >= 1, 'big', 'small')",
            "cast(x, 'DATETIME')",
            "regexp_replace(s, '(\\d+)', '$1')",
            "lower",
        ];
        for text in texts {
            let expr = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let canonical = expr.to_string();
            let again = parse(&canonical).unwrap_or_else(|e| panic!("{text} → {canonical}: {e}"));
            assert_eq!(again, expr, "{text} → {canonical}");
            assert_eq!(again.to_string(), canonical, "canonical text is stable");
        }
    }

    #[test]
    fn canonical_text_is_tidy() {
        let canonical = |text: &str| parse(text).expect("parses").to_string();
        assert_eq!(canonical("LOWER( TRIM(Email) )"), "lower(trim(Email))");
        assert_eq!(canonical("a==b AND c<>d"), "a = b and c != d");
        assert_eq!(canonical("((a+b))*c"), "(a + b) * c");
        assert_eq!(canonical("not(starts_with(name, 'X'))"), "not starts_with(name, 'X')");
        assert_eq!(canonical("1e3"), "1000.0");
    }

    #[test]
    fn columns_are_distinct_in_first_use_order() {
        let expr = parse("concat(b, a, `Unit Price`, b, lower(a))").expect("parses");
        assert_eq!(expr.columns(), ["b", "a", "Unit Price"]);
        assert!(parse("'x' || 'y'").expect("parses").columns().is_empty());
    }

    #[test]
    fn bare_columns_are_recognised() {
        let cols = columns(&["id", "Unit Price"]);
        let bare = parse("`Unit Price`").expect("parses");
        assert_eq!(bare.as_column(), Some("Unit Price"));
        assert_eq!(bare.bind(&cols).expect("binds").as_column(), Some(1));
        let computed = parse("id + 0").expect("parses");
        assert_eq!(computed.as_column(), None);
        assert_eq!(computed.bind(&cols).expect("binds").as_column(), None);
        let bound = parse("id").expect("parses").bind(&cols).expect("binds");
        assert_eq!(bound.eval(&[Value::Int(7), Value::Null]), Ok(Value::Int(7)));
    }

    #[test]
    fn unknown_columns_suggest_the_nearest() {
        let cols = columns(&["Email", "FirstName", "SupportRepId"]);
        let err = parse("lower(Emial)").expect("parses").bind(&cols).expect_err("unknown");
        assert_eq!(
            err,
            BindError::UnknownColumn {
                column: "Emial".into(),
                suggestion: Some("Email".into()),
                available: cols.clone()
            }
        );
        assert_eq!(err.to_string(), "unknown column `Emial` (did you mean `Email`?)");
        // Case differences are not forgiven, but are suggested.
        let err = parse("supportrepid").expect("parses").bind(&cols).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown column `supportrepid` (did you mean `SupportRepId`?)");
        let err = parse("Phone").expect("parses").bind(&cols).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown column `Phone` (the columns are `Email`, `FirstName`, `SupportRepId`)");
    }

    #[test]
    fn invalid_constant_arguments_fail_at_bind() {
        let err = parse("regexp_match(s, '(' || 'a')").expect("parses").bind(&columns(&["s"])).expect_err("bad");
        assert_eq!(
            err,
            BindError::InvalidArgument {
                function: "regexp_match",
                message: "invalid regular expression \"(a\": unclosed group".into()
            }
        );
        assert_eq!(err.to_string(), "regexp_match(): invalid regular expression \"(a\": unclosed group");
        let err = parse("format_date(d, '%' || 'Q')").expect("parses").bind(&columns(&["d"])).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "format_date(): invalid date format \"%Q\": it has an unknown or incomplete % specifier"
        );
    }

    #[test]
    fn parse_errors_render_with_a_caret() {
        let text = "lower(trim(Email)";
        let err = parse(text).expect_err("unclosed");
        assert_eq!(err.position, 17);
        assert_eq!(
            err.render(text),
            "expected `,` or `)` after an argument of lower() (opened at character 6), found the end of the expression\n  \
             lower(trim(Email)\n                   ^"
        );
        assert_eq!(
            parse("upper(x) || lowr(y)").expect_err("unknown").to_string(),
            "at character 13: unknown function `lowr` (hint: did you mean `lower`?)"
        );
    }

    #[test]
    fn compiled_expressions_are_shared_across_threads() {
        let compiled = parse("upper(a) || '!'").expect("parses").bind(&columns(&["a"])).expect("binds");
        std::thread::scope(|scope| {
            let handles: Vec<_> = ["x", "y"]
                .into_iter()
                .map(|v| {
                    let compiled = &compiled;
                    scope.spawn(move || compiled.eval(&[Value::from(v)]))
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
            assert_eq!(results, [Ok(Value::from("X!")), Ok(Value::from("Y!"))]);
        });
    }
}
