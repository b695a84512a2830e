//! The function table: every function's name, argument count and usage, the checks of its
//! literal arguments at parse time, the compilation of constant arguments at bind time
//! ([`prepare`]), and evaluation of the functions that return null on a null argument
//! ([`apply`]).
//!
//! Functions with their own null rule (`coalesce`, `if`, `concat`, …) evaluate their
//! arguments lazily and live in `eval.rs`. The work on strings, types and dates is in
//! `strings.rs`, `convert.rs` and `dates.rs`; this file routes to it.

use std::borrow::Cow;

use grafter_model::Value;
use regex::Regex;

use super::ast::Node;
use super::convert::{self, CastType, same};
use super::dates::{self, DateFormat};
use super::error::{EvalError, describe, quoted};
use super::strings;

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Func {
    Lower,
    Upper,
    Trim,
    Ltrim,
    Rtrim,
    Length,
    Replace,
    RegexpReplace,
    RegexpMatch,
    SplitPart,
    Substring,
    StartsWith,
    EndsWith,
    Contains,
    ToUpperSnake,
    Concat,
    Coalesce,
    Default,
    Nullif,
    If,
    IsNull,
    Int,
    Float,
    Bool,
    String,
    Cast,
    ParseDate,
    ParseDatetime,
    FormatDate,
    JsonParse,
    Round,
    Abs,
    Floor,
    Ceil,
}

/// One row of the function table.
pub(crate) struct Signature {
    func: Func,
    name: &'static str,
    min_args: usize,
    /// `None` for functions taking any number of arguments.
    max_args: Option<usize>,
    usage: &'static str,
    /// Whether a null argument makes the result null without calling the function.
    null_in_null_out: bool,
}

const fn sig(
    func: Func,
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    usage: &'static str,
    null_in_null_out: bool,
) -> Signature {
    Signature { func, name, min_args, max_args, usage, null_in_null_out }
}

/// The table, in [`Func`] order (a test checks it), so a function finds its row by index.
const FUNCTIONS: &[Signature] = &[
    sig(Func::Lower, "lower", 1, Some(1), "lower(s)", true),
    sig(Func::Upper, "upper", 1, Some(1), "upper(s)", true),
    sig(Func::Trim, "trim", 1, Some(1), "trim(s)", true),
    sig(Func::Ltrim, "ltrim", 1, Some(1), "ltrim(s)", true),
    sig(Func::Rtrim, "rtrim", 1, Some(1), "rtrim(s)", true),
    sig(Func::Length, "length", 1, Some(1), "length(s)", true),
    sig(Func::Replace, "replace", 3, Some(3), "replace(s, from, to)", true),
    sig(Func::RegexpReplace, "regexp_replace", 3, Some(3), "regexp_replace(s, pattern, replacement)", true),
    sig(Func::RegexpMatch, "regexp_match", 2, Some(2), "regexp_match(s, pattern)", true),
    sig(Func::SplitPart, "split_part", 3, Some(3), "split_part(s, delimiter, n)", true),
    sig(Func::Substring, "substring", 2, Some(3), "substring(s, start[, length])", true),
    sig(Func::StartsWith, "starts_with", 2, Some(2), "starts_with(s, prefix)", true),
    sig(Func::EndsWith, "ends_with", 2, Some(2), "ends_with(s, suffix)", true),
    sig(Func::Contains, "contains", 2, Some(2), "contains(s, part)", true),
    sig(Func::ToUpperSnake, "to_upper_snake", 1, Some(1), "to_upper_snake(s)", true),
    sig(Func::Concat, "concat", 1, None, "concat(a, b, ...)", false),
    sig(Func::Coalesce, "coalesce", 1, None, "coalesce(a, b, ...)", false),
    sig(Func::Default, "default", 2, Some(2), "default(a, fallback)", false),
    sig(Func::Nullif, "nullif", 2, Some(2), "nullif(a, b)", false),
    sig(Func::If, "if", 3, Some(3), "if(condition, then, else)", false),
    sig(Func::IsNull, "is_null", 1, Some(1), "is_null(x)", false),
    sig(Func::Int, "int", 1, Some(1), "int(x)", true),
    sig(Func::Float, "float", 1, Some(1), "float(x)", true),
    sig(Func::Bool, "bool", 1, Some(1), "bool(x)", true),
    sig(Func::String, "string", 1, Some(1), "string(x)", true),
    sig(Func::Cast, "cast", 2, Some(2), "cast(x, 'int'|'float'|'bool'|'string'|'date'|'datetime'|'json')", true),
    sig(Func::ParseDate, "parse_date", 1, Some(2), "parse_date(s[, format])", true),
    sig(Func::ParseDatetime, "parse_datetime", 1, Some(2), "parse_datetime(s[, format])", true),
    sig(Func::FormatDate, "format_date", 2, Some(2), "format_date(x, format)", true),
    sig(Func::JsonParse, "json_parse", 1, Some(1), "json_parse(s)", true),
    sig(Func::Round, "round", 1, Some(2), "round(x[, digits])", true),
    sig(Func::Abs, "abs", 1, Some(1), "abs(x)", true),
    sig(Func::Floor, "floor", 1, Some(1), "floor(x)", true),
    sig(Func::Ceil, "ceil", 1, Some(1), "ceil(x)", true),
];

/// Null-in-null-out functions take at most this many arguments, so their values fit in a
/// fixed array during evaluation instead of a vector allocated per row.
pub(crate) const MAX_STRICT_ARGS: usize = 3;

/// Every function name, in table order.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|s| s.name)
}

impl Func {
    fn signature(self) -> &'static Signature {
        &FUNCTIONS[self as usize]
    }

    /// Finds a function by name, ignoring ASCII case.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        FUNCTIONS.iter().find(|s| s.name.eq_ignore_ascii_case(name)).map(|s| s.func)
    }

    /// The canonical (lower-case) name.
    pub(crate) fn name(self) -> &'static str {
        self.signature().name
    }

    /// How to call it, e.g. `substring(s, start[, length])`.
    pub(crate) fn usage(self) -> &'static str {
        self.signature().usage
    }

    pub(crate) fn null_in_null_out(self) -> bool {
        self.signature().null_in_null_out
    }

    /// Checks the argument count, explaining what is accepted if it is wrong.
    pub(crate) fn check_arity(self, count: usize) -> Result<(), String> {
        let Signature { min_args: min, max_args: max, .. } = *self.signature();
        if count >= min && max.is_none_or(|max| count <= max) {
            return Ok(());
        }
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        let takes = match max {
            None => format!("at least {min} {}", plural(min)),
            Some(max) if max == min => format!("{min} {}", plural(min)),
            Some(max) if max == min + 1 => format!("{min} or {max} arguments"),
            Some(max) => format!("{min} to {max} arguments"),
        };
        Err(format!("{}() takes {takes}, got {count}", self.name()))
    }
}

/// A literal argument that cannot work, found while parsing.
pub(crate) struct BadArg {
    /// Which argument (0-based), so the parser can point at it.
    pub(crate) index: usize,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

const FORMAT_HINT: &str = "formats use chrono's strftime syntax, e.g. '%Y-%m-%d %H:%M:%S'";

/// Checks the arguments that are compiled before any row is seen (patterns, formats, cast
/// types, split positions) when they are written as literals. The work is redone by
/// [`prepare`] at bind time, where constant arguments built from literals are checked too.
pub(crate) fn check_literals(func: Func, args: &[Node]) -> Result<(), BadArg> {
    let literal = |index: usize| match args.get(index) {
        Some(Node::Literal(value)) => Some(value),
        _ => None,
    };
    let bad =
        |index: usize, message: String| BadArg { index, message: format!("{}(): {message}", func.name()), hint: None };
    match func {
        Func::RegexpReplace | Func::RegexpMatch => {
            if let Some(Value::String(pattern)) = literal(1) {
                compile_regex(pattern).map_err(|message| bad(1, message))?;
            }
        }
        Func::ParseDate | Func::ParseDatetime | Func::FormatDate => {
            if let Some(Value::String(format)) = literal(1) {
                DateFormat::new(format)
                    .map_err(|message| BadArg { hint: Some(FORMAT_HINT.to_owned()), ..bad(1, message) })?;
            }
        }
        Func::Cast => match literal(1) {
            Some(Value::String(name)) => {
                cast_type(name).map_err(|message| BadArg { hint: Some(cast_types_hint()), ..bad(1, message) })?;
            }
            _ => {
                return Err(BadArg {
                    hint: Some(cast_types_hint()),
                    ..bad(1, "the type must be a string literal such as 'int'".to_owned())
                });
            }
        },
        Func::SplitPart => {
            if let Some(Value::Int(0)) = literal(2) {
                return Err(BadArg {
                    hint: Some("fields count from 1; negative positions count from the end".to_owned()),
                    ..bad(2, "field position must not be zero".to_owned())
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// What a call compiled once, from arguments that are constant.
#[derive(Clone, Debug)]
pub(crate) enum Prepared {
    /// Nothing compiled: the argument is computed per row, or the function needs nothing.
    Nothing,
    Regex(Regex),
    Format(DateFormat),
    Cast(CastType),
}

/// Compiles constant pattern, format and type arguments once for all rows. `constants` has
/// one entry per argument: its value when the argument is a constant. The error is a message
/// without the function name.
pub(crate) fn prepare(func: Func, constants: &[Option<&Value>]) -> Result<Prepared, String> {
    let constant = |index: usize| constants.get(index).copied().flatten();
    let constant_string = |index: usize| constant(index).and_then(Value::as_str);
    let prepared = match func {
        Func::RegexpReplace | Func::RegexpMatch => match constant_string(1) {
            Some(pattern) => Prepared::Regex(compile_regex(pattern)?),
            None => Prepared::Nothing,
        },
        Func::ParseDate | Func::ParseDatetime | Func::FormatDate => match constant_string(1) {
            Some(format) => Prepared::Format(DateFormat::new(format)?),
            None => Prepared::Nothing,
        },
        Func::Cast => match constant_string(1) {
            Some(name) => Prepared::Cast(cast_type(name)?),
            None => return Err("the type must be a string literal such as 'int'".to_owned()),
        },
        Func::SplitPart => {
            if let Some(Value::Int(0)) = constant(2) {
                return Err("field position must not be zero".to_owned());
            }
            Prepared::Nothing
        }
        _ => Prepared::Nothing,
    };
    Ok(prepared)
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|err| {
        // The regex crate's message spans several lines with its own caret; its last line
        // ("error: unclosed group") is the part worth a one-line reject reason.
        let text = err.to_string();
        let reason = text.lines().last().map(|line| line.trim_start_matches("error: ")).unwrap_or(&text).to_owned();
        format!("invalid regular expression {}: {reason}", quoted(pattern))
    })
}

fn cast_type(name: &str) -> Result<CastType, String> {
    CastType::parse(name).ok_or_else(|| format!("unknown type '{}'", name.replace('\'', "''")))
}

fn cast_types_hint() -> String {
    let names: Vec<String> = CastType::ALL.iter().map(|t| format!("'{}'", t.name())).collect();
    format!("the types are {}", names.join(", "))
}

/// Evaluates a null-in-null-out function on non-null argument values.
pub(crate) fn apply<'a>(func: Func, prepared: &Prepared, args: &[Cow<'a, Value>]) -> Result<Cow<'a, Value>, EvalError> {
    use Func as F;
    let string = |s: String| Ok(Cow::Owned(Value::String(s)));
    let boolean = |b: bool| Ok(Cow::Owned(Value::Bool(b)));
    let value = |result: Result<Value, EvalError>| result.map(Cow::Owned);
    let text = move |index: usize| text_arg(func, index, &args[index]);
    let int = move |index: usize| int_arg(func, index, &args[index]);
    match (func, args) {
        (F::Lower, [_]) => string(text(0)?.to_lowercase()),
        (F::Upper, [_]) => string(text(0)?.to_uppercase()),
        (F::Trim, [s]) => trimmed(func, s, str::trim),
        (F::Ltrim, [s]) => trimmed(func, s, str::trim_start),
        (F::Rtrim, [s]) => trimmed(func, s, str::trim_end),
        (F::Length, [_]) => Ok(Cow::Owned(Value::Int(strings::length(text(0)?)))),
        (F::Replace, [_, _, _]) => string(strings::replace(text(0)?, text(1)?, text(2)?)),
        (F::RegexpReplace, [_, pattern, _]) => {
            let regex = regex(func, prepared, pattern)?;
            string(regex.replace_all(text(0)?, text(2)?).into_owned())
        }
        (F::RegexpMatch, [_, pattern]) => boolean(regex(func, prepared, pattern)?.is_match(text(0)?)),
        (F::SplitPart, [_, _, _]) => strings::split_part(text(0)?, text(1)?, int(2)?)
            .map(|s| Cow::Owned(Value::String(s.to_owned())))
            .map_err(|message| error(func, message)),
        (F::Substring, [_, _]) => string(strings::substring(text(0)?, int(1)?, None).map_err(|m| error(func, m))?),
        (F::Substring, [_, _, _]) => {
            string(strings::substring(text(0)?, int(1)?, Some(int(2)?)).map_err(|m| error(func, m))?)
        }
        (F::StartsWith, [_, _]) => boolean(text(0)?.starts_with(text(1)?)),
        (F::EndsWith, [_, _]) => boolean(text(0)?.ends_with(text(1)?)),
        (F::Contains, [_, _]) => boolean(text(0)?.contains(text(1)?)),
        (F::ToUpperSnake, [_]) => string(strings::to_upper_snake(text(0)?)),
        (F::Int, [x]) => value(convert::to_int(func.name(), x)),
        (F::Float, [x]) => value(convert::to_float(func.name(), x)),
        (F::Bool, [x]) => value(convert::to_bool(func.name(), x)),
        (F::String, [x]) => Ok(convert::to_string(x)),
        (F::Cast, [x, _]) => match prepared {
            Prepared::Cast(to) => convert::cast(*to, x),
            _ => Err(internal(func, args.len())),
        },
        (F::ParseDate, [_]) => value(dates::parse_iso_date(func.name(), text(0)?)),
        (F::ParseDate, [_, format]) => {
            value(dates::parse_date(func.name(), text(0)?, &*date_format(func, prepared, format)?))
        }
        (F::ParseDatetime, [_]) => value(dates::parse_iso_datetime(func.name(), text(0)?)),
        (F::ParseDatetime, [_, format]) => {
            value(dates::parse_datetime(func.name(), text(0)?, &*date_format(func, prepared, format)?))
        }
        (F::FormatDate, [x, format]) => {
            value(dates::format_date(func.name(), x, &*date_format(func, prepared, format)?).map(Value::String))
        }
        (F::JsonParse, [_]) => value(convert::json_parse(func.name(), text(0)?)),
        (F::Round, [x]) => value(convert::round(func.name(), x, 0)),
        (F::Round, [x, _]) => value(convert::round(func.name(), x, int(1)?)),
        (F::Abs, [x]) => value(convert::abs(func.name(), x)),
        (F::Floor, [x]) => value(convert::floor_ceil(func.name(), x, f64::floor)),
        (F::Ceil, [x]) => value(convert::floor_ceil(func.name(), x, f64::ceil)),
        _ => Err(internal(func, args.len())),
    }
}

/// Arity is checked when parsing, so this is unreachable; an error beats a panic in a worker.
fn internal(func: Func, count: usize) -> EvalError {
    EvalError::new(format!("internal error: {}() evaluated with {count} arguments", func.name()))
}

fn error(func: Func, message: String) -> EvalError {
    EvalError::new(format!("{}(): {message}", func.name()))
}

/// Names argument `index` in a message: single-argument functions need no number.
fn which(func: Func, index: usize) -> String {
    if func.signature().max_args == Some(1) { String::new() } else { format!(" as argument {}", index + 1) }
}

/// The string inside an argument. Strings only: converting other values silently would hide
/// a mapping mistake, and `string(x)` says it explicitly.
pub(crate) fn text_arg(func: Func, index: usize, value: &Value) -> Result<&str, EvalError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(EvalError::new(format!(
            "{}(): expected a string{}, got {} (convert it with string())",
            func.name(),
            which(func, index),
            describe(other)
        ))),
    }
}

fn int_arg(func: Func, index: usize, value: &Value) -> Result<i64, EvalError> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(EvalError::new(format!(
            "{}(): expected an int{}, got {}",
            func.name(),
            which(func, index),
            describe(other)
        ))),
    }
}

/// Trims without allocating when there is nothing to trim, the common case for clean data.
fn trimmed<'a>(func: Func, value: &Cow<'a, Value>, trim: fn(&str) -> &str) -> Result<Cow<'a, Value>, EvalError> {
    let s = text_arg(func, 0, value)?;
    let t = trim(s);
    if t.len() == s.len() { Ok(same(value)) } else { Ok(Cow::Owned(Value::String(t.to_owned()))) }
}

/// The compiled pattern: prepared once when constant, otherwise compiled for this row.
fn regex<'p>(func: Func, prepared: &'p Prepared, pattern: &Value) -> Result<Cow<'p, Regex>, EvalError> {
    if let Prepared::Regex(regex) = prepared {
        return Ok(Cow::Borrowed(regex));
    }
    let pattern = text_arg(func, 1, pattern)?;
    compile_regex(pattern).map(Cow::Owned).map_err(|message| error(func, message))
}

/// The date format: prepared once when constant, otherwise read for this row.
fn date_format<'p>(func: Func, prepared: &'p Prepared, format: &Value) -> Result<Cow<'p, DateFormat>, EvalError> {
    if let Prepared::Format(format) = prepared {
        return Ok(Cow::Borrowed(format));
    }
    let format = text_arg(func, 1, format)?;
    DateFormat::new(format).map(Cow::Owned).map_err(|message| error(func, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::parse;
    use chrono::{DateTime, NaiveDate};

    /// Evaluates `expr` over a row with columns `a`, `b`, `c`.
    fn eval(expr: &str, row: &[Value]) -> Result<Value, String> {
        let columns: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let compiled = parse(expr).map_err(|e| e.to_string())?.bind(&columns).map_err(|e| e.to_string())?;
        let mut full = row.to_vec();
        full.resize(3, Value::Null);
        compiled.eval(&full).map_err(|e| e.message)
    }

    fn ok(expr: &str, row: &[Value]) -> Value {
        eval(expr, row).unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn err(expr: &str, row: &[Value]) -> String {
        match eval(expr, row) {
            Ok(v) => panic!("{expr}: expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn table_is_in_enum_order_and_strict_functions_fit_the_argument_array() {
        for (i, signature) in FUNCTIONS.iter().enumerate() {
            assert_eq!(signature.func as usize, i, "{} is out of place", signature.name);
            assert_eq!(Func::lookup(signature.name), Some(signature.func));
            if signature.null_in_null_out {
                assert!(signature.max_args.is_some_and(|m| m <= MAX_STRICT_ARGS), "{}", signature.name);
            }
        }
    }

    #[test]
    fn every_strict_function_returns_null_for_a_null_argument() {
        for signature in FUNCTIONS.iter().filter(|s| s.null_in_null_out) {
            let mut args = vec!["null".to_owned()];
            // Fill the other arguments with values that are valid, so null is the only reason.
            let rest: &[&str] = match signature.func {
                Func::Cast => &["'int'"],
                Func::ParseDate | Func::ParseDatetime | Func::FormatDate => &["'%Y'"],
                Func::Replace | Func::RegexpReplace => &["'a'", "'b'"],
                Func::SplitPart => &["','", "1"],
                _ => &["'a'", "1"],
            };
            args.extend(rest.iter().take(signature.min_args - 1).map(|s| s.to_string()));
            let expr = format!("{}({})", signature.name, args.join(", "));
            assert_eq!(eval(&expr, &[]), Ok(Value::Null), "{expr}");
        }
        assert_eq!(ok("substring('abc', null)", &[]), Value::Null);
        assert_eq!(ok("replace('abc', 'b', null)", &[]), Value::Null);
        assert_eq!(ok("round(1.5, null)", &[]), Value::Null);
    }

    #[test]
    fn case_functions() {
        assert_eq!(ok("lower(a)", &[s("ÄbC")]), s("äbc"));
        assert_eq!(ok("upper(a)", &[s("straße")]), s("STRASSE"));
        assert_eq!(
            err("lower(a)", &[Value::Int(5)]),
            "lower(): expected a string, got int 5 (convert it with string())"
        );
        assert_eq!(
            err("upper(a)", &[Value::Bool(true)]),
            "upper(): expected a string, got bool true (convert it with string())"
        );
    }

    #[test]
    fn trim_functions() {
        assert_eq!(ok("trim(a)", &[s(" \tx y \n")]), s("x y"));
        assert_eq!(ok("ltrim(a)", &[s("  x  ")]), s("x  "));
        assert_eq!(ok("rtrim(a)", &[s("  x  ")]), s("  x"));
        assert_eq!(ok("trim(a)", &[s("clean")]), s("clean"));
        assert_eq!(
            err("trim(a)", &[Value::Float(1.5)]),
            "trim(): expected a string, got float 1.5 (convert it with string())"
        );
    }

    #[test]
    fn length_counts_characters() {
        assert_eq!(ok("length(a)", &[s("héllo")]), Value::Int(5));
        assert_eq!(ok("length('')", &[]), Value::Int(0));
        assert_eq!(
            err("length(a)", &[Value::Int(12)]),
            "length(): expected a string, got int 12 (convert it with string())"
        );
    }

    #[test]
    fn replace_all_occurrences() {
        assert_eq!(ok("replace(a, '-', '')", &[s("555-12-34")]), s("5551234"));
        assert_eq!(ok("replace(a, '', 'x')", &[s("abc")]), s("abc"));
        assert_eq!(
            err("replace(a, 1, 'x')", &[s("abc")]),
            "replace(): expected a string as argument 2, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn regexp_replace_all_matches_with_groups() {
        assert_eq!(ok(r"regexp_replace(a, '(\d+)-(\d+)', '$2/$1')", &[s("10-20 and 3-4")]), s("20/10 and 4/3"));
        assert_eq!(ok(r"regexp_replace(a, '\s+', ' ')", &[s("a  b\t\tc")]), s("a b c"));
        // A pattern computed from constants is compiled once at bind time as well.
        assert_eq!(ok("regexp_replace(a, '[' || 'ab' || ']', '')", &[s("cabd")]), s("cd"));
        // A pattern from a column is compiled per row, and a bad one fails that row.
        assert_eq!(ok("regexp_replace(a, b, '_')", &[s("a.b"), s("[.]")]), s("a_b"));
        assert_eq!(
            err("regexp_replace(a, b, '_')", &[s("x"), s("(")]),
            "regexp_replace(): invalid regular expression \"(\": unclosed group"
        );
        assert_eq!(
            err("regexp_replace(a, 'x', 'y')", &[Value::Int(1)]),
            "regexp_replace(): expected a string as argument 1, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn regexp_match_searches_anywhere() {
        assert_eq!(ok(r"regexp_match(a, '\d{3}')", &[s("ab123")]), Value::Bool(true));
        assert_eq!(ok(r"regexp_match(a, '^\d{3}$')", &[s("ab123")]), Value::Bool(false));
        assert_eq!(
            err("regexp_match(a, 'x')", &[Value::Int(1)]),
            "regexp_match(): expected a string as argument 1, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn split_part_counts_from_one_and_from_the_end() {
        assert_eq!(ok("split_part(a, ',', 2)", &[s("a,b,c")]), s("b"));
        assert_eq!(ok("split_part(a, ',', 5)", &[s("a,b,c")]), s(""));
        assert_eq!(ok("split_part(a, ',', -1)", &[s("a,b,c")]), s("c"));
        assert_eq!(ok("split_part(a, '::', 2)", &[s("x::y")]), s("y"));
        assert_eq!(ok("split_part(a, ',', b)", &[s("a,b"), Value::Int(1)]), s("a"));
        assert_eq!(
            err("split_part(a, ',', b)", &[s("a,b"), Value::Int(0)]),
            "split_part(): field position must not be zero"
        );
        assert_eq!(err("split_part(a, ',', '1')", &[s("a")]), "split_part(): expected an int as argument 3, got \"1\"");
    }

    #[test]
    fn split_part_zero_from_constants_fails_at_bind() {
        let columns = vec!["a".to_owned()];
        let err = parse("split_part(a, ',', 1 - 1)").expect("parses").bind(&columns).expect_err("bind fails");
        assert_eq!(err.to_string(), "split_part(): field position must not be zero");
    }

    #[test]
    fn substring_uses_postgres_positions() {
        assert_eq!(ok("substring(a, 2)", &[s("héllo")]), s("éllo"));
        assert_eq!(ok("substring(a, 2, 3)", &[s("héllo")]), s("éll"));
        assert_eq!(ok("substring(a, 0, 3)", &[s("hello")]), s("he"));
        assert_eq!(ok("substring(a, -5)", &[s("hello")]), s("hello"));
        assert_eq!(ok("substring(a, 9, 2)", &[s("hello")]), s(""));
        assert_eq!(err("substring(a, 1, -1)", &[s("hello")]), "substring(): negative length -1");
        assert_eq!(
            err("substring(a, 1.5)", &[s("hello")]),
            "substring(): expected an int as argument 2, got float 1.5"
        );
    }

    #[test]
    fn prefix_suffix_and_containment() {
        assert_eq!(ok("starts_with(a, 'CUSTOM_')", &[s("CUSTOM_X")]), Value::Bool(true));
        assert_eq!(ok("starts_with(a, 'CUSTOM_')", &[s("custom_x")]), Value::Bool(false));
        assert_eq!(ok("ends_with(a, '.com')", &[s("x@y.com")]), Value::Bool(true));
        assert_eq!(ok("contains(a, '@')", &[s("x@y")]), Value::Bool(true));
        assert_eq!(ok("contains(a, '@')", &[s("xy")]), Value::Bool(false));
        assert_eq!(
            err("contains(a, 1)", &[s("x1")]),
            "contains(): expected a string as argument 2, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn to_upper_snake_splits_words() {
        assert_eq!(ok("to_upper_snake(a)", &[s("SupportRepId")]), s("SUPPORT_REP_ID"));
        assert_eq!(
            err("to_upper_snake(a)", &[Value::Int(1)]),
            "to_upper_snake(): expected a string, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(ok("int(a)", &[s(" 42 ")]), Value::Int(42));
        assert_eq!(err("int(a)", &[s("abc")]), "int(): \"abc\" is not an integer");
        assert_eq!(ok("float(a)", &[s("1.5")]), Value::Float(1.5));
        assert_eq!(err("float(a)", &[s("x")]), "float(): \"x\" is not a number");
        assert_eq!(ok("bool(a)", &[s("Yes")]), Value::Bool(true));
        assert_eq!(err("bool(a)", &[Value::Int(2)]), "bool(): int 2 is not 0 or 1");
        assert_eq!(ok("string(a)", &[Value::Float(2.5)]), s("2.5"));
        assert_eq!(ok("string(a)", &[s("x")]), s("x"));
    }

    #[test]
    fn cast_to_each_type() {
        assert_eq!(ok("cast(a, 'int')", &[s("7")]), Value::Int(7));
        assert_eq!(ok("cast(a, 'FLOAT')", &[Value::Int(7)]), Value::Float(7.0));
        assert_eq!(ok("cast(a, 'bool')", &[s("f")]), Value::Bool(false));
        assert_eq!(ok("cast(a, 'string')", &[Value::Int(7)]), s("7"));
        assert_eq!(ok("cast(a, 'date')", &[s("2024-02-29")]), Value::Date(date(2024, 2, 29)));
        assert_eq!(
            ok("cast(a, 'datetime')", &[s("2024-02-29 10:00:00")]),
            Value::DateTime(date(2024, 2, 29).and_hms_opt(10, 0, 0).expect("valid time"))
        );
        assert_eq!(ok("cast(a, 'json')", &[s("[1]")]), Value::List(vec![Value::Int(1)]));
        assert_eq!(err("cast(a, 'int')", &[s("1.5")]), "cast(): \"1.5\" is not an integer");
    }

    #[test]
    fn parse_date_with_and_without_format() {
        assert_eq!(ok("parse_date(a, '%d/%m/%Y')", &[s("31/01/2024")]), Value::Date(date(2024, 1, 31)));
        assert_eq!(
            ok("parse_date(a, '%Y-%m-%d %H:%M:%S')", &[s("1962-02-18 00:00:00")]),
            Value::Date(date(1962, 2, 18))
        );
        assert_eq!(ok("parse_date(a)", &[s("2024-01-31")]), Value::Date(date(2024, 1, 31)));
        assert_eq!(
            err("parse_date(a, '%Y-%m-%d')", &[s("2023-02-30")]),
            "parse_date(): \"2023-02-30\" does not match format \"%Y-%m-%d\""
        );
        assert_eq!(
            err("parse_date(a, '%Y-%m-%d')", &[s("2023-02-03 trailing")]),
            "parse_date(): \"2023-02-03 trailing\" does not match format \"%Y-%m-%d\""
        );
        assert_eq!(
            err("parse_date(a, '%Y')", &[Value::Int(2024)]),
            "parse_date(): expected a string as argument 1, got int 2024 (convert it with string())"
        );
        // A format from a column is read per row.
        assert_eq!(ok("parse_date(a, b)", &[s("2024/032"), s("%Y/%j")]), Value::Date(date(2024, 2, 1)));
        assert_eq!(
            err("parse_date(a, b)", &[s("2024"), s("%Q")]),
            "parse_date(): invalid date format \"%Q\": it has an unknown or incomplete % specifier"
        );
    }

    #[test]
    fn parse_datetime_with_and_without_offset() {
        let naive = date(2024, 1, 31).and_hms_opt(13, 5, 9).expect("valid time");
        assert_eq!(ok("parse_datetime(a, '%Y-%m-%d %H:%M:%S')", &[s("2024-01-31 13:05:09")]), Value::DateTime(naive));
        let tz = DateTime::parse_from_rfc3339("2024-01-31T13:05:09+02:00").expect("valid");
        assert_eq!(
            ok("parse_datetime(a, '%Y-%m-%d %H:%M:%S %z')", &[s("2024-01-31 13:05:09 +0200")]),
            Value::DateTimeTz(tz)
        );
        assert_eq!(ok("parse_datetime(a)", &[s("2024-01-31T13:05:09+02:00")]), Value::DateTimeTz(tz));
        assert_eq!(ok("parse_datetime(a)", &[s("2024-01-31 13:05:09")]), Value::DateTime(naive));
        assert_eq!(
            err("parse_datetime(a, '%Y-%m-%d')", &[s("2024-01-31")]),
            "parse_datetime(): \"2024-01-31\" does not match format \"%Y-%m-%d\" (the format gives no complete date and time)"
        );
    }

    #[test]
    fn format_date_of_each_temporal_kind() {
        assert_eq!(ok("format_date(parse_date(a), '%d.%m.%Y')", &[s("2024-01-31")]), s("31.01.2024"));
        assert_eq!(ok("format_date(parse_datetime(a), '%H:%M')", &[s("2024-01-31T13:05:09")]), s("13:05"));
        assert_eq!(
            err("format_date(parse_date(a), '%H:%M')", &[s("2024-01-31")]),
            "format_date(): format \"%H:%M\" asks for fields that date 2024-01-31 does not have"
        );
        assert_eq!(
            err("format_date(a, '%Y')", &[s("2024-01-31")]),
            "format_date(): expected a date, time or datetime, got \"2024-01-31\" (parse it with parse_date() first)"
        );
    }

    #[test]
    fn json_parse_builds_values() {
        assert_eq!(ok("json_parse(a)", &[s(r#"{"k": [1, 2.5]}"#)]).to_string(), r#"{"k":[1,2.5]}"#);
        assert_eq!(
            err("json_parse(a)", &[s("{x")]),
            "json_parse(): \"{x\" is not valid JSON (key must be a string at line 1 column 2)"
        );
        assert_eq!(
            err("json_parse(a)", &[Value::Int(1)]),
            "json_parse(): expected a string, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn numeric_functions() {
        assert_eq!(ok("round(a, 2)", &[Value::Float(2.3456)]), Value::Float(2.35));
        assert_eq!(ok("round(a)", &[Value::Float(-2.5)]), Value::Float(-3.0));
        assert_eq!(ok("round(a)", &[Value::Int(7)]), Value::Int(7));
        assert_eq!(ok("round(float(a), 2)", &[s("0.125")]), Value::Float(0.13));
        assert_eq!(ok("abs(a)", &[Value::Int(-3)]), Value::Int(3));
        assert_eq!(ok("abs(a)", &[Value::Float(-1.5)]), Value::Float(1.5));
        assert_eq!(ok("floor(a)", &[Value::Float(-1.5)]), Value::Float(-2.0));
        assert_eq!(ok("ceil(a)", &[Value::Float(1.2)]), Value::Float(2.0));
        assert_eq!(ok("ceil(a)", &[Value::Int(4)]), Value::Int(4));
        assert_eq!(err("round(a)", &[s("1.5")]), "round(): expected a number, got \"1.5\"");
        assert_eq!(err("abs(a)", &[Value::Int(i64::MIN)]), "abs(): integer overflow for int -9223372036854775808");
        assert_eq!(err("round(a, 1.5)", &[Value::Float(1.0)]), "round(): expected an int as argument 2, got float 1.5");
    }
}
