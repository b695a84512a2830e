//! Type conversions (`int`, `float`, `bool`, `string`, `cast`, `json_parse`) and the numeric
//! functions (`round`, `abs`, `floor`, `ceil`).
//!
//! Conversions never lose information silently: `int('1.5')`, `int(1e20)` and `bool('maybe')`
//! are errors naming the value, because a mapping that truncates quietly corrupts a graph
//! quietly. Functions receive non-null values; null handling happens before they are called.

use std::borrow::Cow;

use chrono::NaiveTime;
use grafter_model::Value;

use super::dates;
use super::error::{EvalError, describe, quoted};

/// A target type of `cast(x, type)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CastType {
    Int,
    Float,
    Bool,
    String,
    Date,
    DateTime,
    Json,
}

impl CastType {
    pub(crate) const ALL: [CastType; 7] = [
        CastType::Int,
        CastType::Float,
        CastType::Bool,
        CastType::String,
        CastType::Date,
        CastType::DateTime,
        CastType::Json,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CastType::Int => "int",
            CastType::Float => "float",
            CastType::Bool => "bool",
            CastType::String => "string",
            CastType::Date => "date",
            CastType::DateTime => "datetime",
            CastType::Json => "json",
        }
    }

    /// The type named `name`, ignoring ASCII case.
    pub(crate) fn parse(name: &str) -> Option<CastType> {
        CastType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// The same value again, without copying it when it is borrowed from the row.
pub(crate) fn same<'a>(value: &Cow<'a, Value>) -> Cow<'a, Value> {
    match value {
        Cow::Borrowed(value) => Cow::Borrowed(value),
        Cow::Owned(value) => Cow::Owned(value.clone()),
    }
}

fn fail(name: &str, message: impl std::fmt::Display) -> EvalError {
    EvalError::new(format!("{name}(): {message}"))
}

fn cannot_convert(name: &str, value: &Value, to: &str) -> EvalError {
    fail(name, format_args!("cannot convert {} to {to}", describe(value)))
}

/// 2^63 as a float, exactly: the first float above every i64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `int(x)`: strings (surrounding whitespace ignored) must spell an integer; floats must be
/// whole and in range; bools are 0 or 1.
pub(crate) fn to_int(name: &str, value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        Value::String(s) => {
            let text = s.trim();
            text.parse::<i64>().map(Value::Int).map_err(|err| {
                use std::num::IntErrorKind::{NegOverflow, PosOverflow};
                if matches!(err.kind(), PosOverflow | NegOverflow) {
                    fail(name, format_args!("{} is out of range for a 64-bit integer", quoted(s)))
                } else {
                    fail(name, format_args!("{} is not an integer", quoted(s)))
                }
            })
        }
        Value::Float(x) => {
            if x.fract() != 0.0 || x.is_nan() {
                Err(fail(name, format_args!("{} is not a whole number", describe(value))))
            } else if *x >= TWO_POW_63 || *x < -TWO_POW_63 {
                Err(fail(name, format_args!("{} is out of range for a 64-bit integer", describe(value))))
            } else {
                // Whole and within range, so the conversion is exact.
                Ok(Value::Int(*x as i64))
            }
        }
        other => Err(cannot_convert(name, other, "int")),
    }
}

/// `float(x)`: strings (surrounding whitespace ignored) must spell a finite number; ints and
/// bools convert (ints beyond 2^53 round to the nearest float, as everywhere).
pub(crate) fn to_float(name: &str, value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::Float(x) => Ok(Value::Float(*x)),
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Bool(b) => Ok(Value::Float(if *b { 1.0 } else { 0.0 })),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Float(x)),
            Ok(_) => Err(fail(name, format_args!("{} is not a finite number", quoted(s)))),
            Err(_) => Err(fail(name, format_args!("{} is not a number", quoted(s)))),
        },
        other => Err(cannot_convert(name, other, "float")),
    }
}

/// `bool(x)`: strings true/false, t/f, yes/no, y/n, 1/0 in any case (surrounding whitespace
/// ignored); ints 1 and 0.
pub(crate) fn to_bool(name: &str, value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Int(0) => Ok(Value::Bool(false)),
        Value::Int(1) => Ok(Value::Bool(true)),
        Value::Int(_) => Err(fail(name, format_args!("{} is not 0 or 1", describe(value)))),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "n" | "0" => Ok(Value::Bool(false)),
            _ => Err(fail(
                name,
                format_args!("{} is not a boolean (expected true/false, t/f, yes/no, y/n or 1/0)", quoted(s)),
            )),
        },
        other => Err(cannot_convert(name, other, "bool")),
    }
}

/// `string(x)`: the canonical text of the value (what `Value`'s `Display` writes: ISO 8601
/// for dates, JSON for lists and maps).
pub(crate) fn to_string<'a>(value: &Cow<'a, Value>) -> Cow<'a, Value> {
    match &**value {
        Value::String(_) => same(value),
        other => Cow::Owned(Value::String(other.to_string())),
    }
}

/// `cast(x, type)`.
pub(crate) fn cast<'a>(to: CastType, value: &Cow<'a, Value>) -> Result<Cow<'a, Value>, EvalError> {
    const NAME: &str = "cast";
    let converted = match (to, &**value) {
        (CastType::String, _) => return Ok(to_string(value)),
        (CastType::Int, v) => to_int(NAME, v)?,
        (CastType::Float, v) => to_float(NAME, v)?,
        (CastType::Bool, v) => to_bool(NAME, v)?,
        (CastType::Date, Value::String(s)) => dates::parse_iso_date(NAME, s)?,
        (CastType::Date, Value::Date(d)) => Value::Date(*d),
        // Casting to date drops the time of day: that is what was asked for.
        (CastType::Date, Value::DateTime(dt)) => Value::Date(dt.date()),
        (CastType::Date, Value::DateTimeTz(dt)) => Value::Date(dt.naive_local().date()),
        (CastType::DateTime, Value::String(s)) => dates::parse_iso_datetime(NAME, s)?,
        (CastType::DateTime, Value::Date(d)) => Value::DateTime(d.and_time(NaiveTime::MIN)),
        (CastType::DateTime, Value::DateTime(_) | Value::DateTimeTz(_)) => return Ok(same(value)),
        (CastType::Json, Value::String(s)) => json_parse(NAME, s)?,
        // These already are JSON values.
        (CastType::Json, Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::List(_) | Value::Map(_)) => {
            return Ok(same(value));
        }
        (to, other) => return Err(cannot_convert(NAME, other, to.name())),
    };
    Ok(Cow::Owned(converted))
}

/// `json_parse(s)`: JSON text to a value (integral numbers become ints, objects maps).
pub(crate) fn json_parse(name: &str, s: &str) -> Result<Value, EvalError> {
    serde_json::from_str::<serde_json::Value>(s)
        .map(Value::from_json)
        .map_err(|err| fail(name, format_args!("{} is not valid JSON ({err})", quoted(s))))
}

fn expected_number(name: &str, value: &Value) -> EvalError {
    fail(name, format_args!("expected a number, got {}", describe(value)))
}

/// `round(x, digits)`: half away from zero. Floats stay floats; ints are unchanged unless
/// `digits` is negative (`round(1250, -2)` is `1300`).
pub(crate) fn round(name: &str, value: &Value, digits: i64) -> Result<Value, EvalError> {
    match value {
        Value::Float(x) => Ok(Value::Float(round_float(*x, digits))),
        Value::Int(i) if digits >= 0 => Ok(Value::Int(*i)),
        Value::Int(i) => round_int(*i, digits)
            .map(Value::Int)
            .ok_or_else(|| fail(name, format_args!("integer overflow rounding {}", describe(value)))),
        other => Err(expected_number(name, other)),
    }
}

fn round_float(x: f64, digits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Beyond ±400 the scale is 0 or infinite either way; clamping keeps powi's i32 happy.
    let digits = digits.clamp(-400, 400) as i32;
    if digits >= 0 {
        let scale = 10f64.powi(digits);
        let scaled = x * scale;
        // 2^52 and above, every float is whole: nothing left to round at that scale, and
        // dividing back would only add error.
        if !scaled.is_finite() || scaled.abs() >= 4_503_599_627_370_496.0 {
            return x;
        }
        scaled.round() / scale
    } else {
        let scale = 10f64.powi(-digits);
        if !scale.is_finite() {
            return 0.0_f64.copysign(x);
        }
        (x / scale).round() * scale
    }
}

fn round_int(i: i64, digits: i64) -> Option<i64> {
    let Some(scale) = u32::try_from(digits.unsigned_abs()).ok().and_then(|d| 10i64.checked_pow(d)) else {
        // The scale exceeds every i64: everything rounds to zero.
        return Some(0);
    };
    let (quotient, remainder) = (i / scale, i % scale);
    let away = remainder.unsigned_abs() * 2 >= scale.unsigned_abs();
    let quotient = if away { quotient.checked_add(i.signum())? } else { quotient };
    quotient.checked_mul(scale)
}

/// `abs(x)`.
pub(crate) fn abs(name: &str, value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::Int(i) => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| fail(name, format_args!("integer overflow for {}", describe(value)))),
        Value::Float(x) => Ok(Value::Float(x.abs())),
        other => Err(expected_number(name, other)),
    }
}

/// `floor(x)` and `ceil(x)`: floats stay floats, ints are unchanged.
pub(crate) fn floor_ceil(name: &str, value: &Value, op: fn(f64) -> f64) -> Result<Value, EvalError> {
    match value {
        Value::Float(x) => Ok(Value::Float(op(*x))),
        Value::Int(i) => Ok(Value::Int(*i)),
        other => Err(expected_number(name, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    fn message<T: std::fmt::Debug>(result: Result<T, EvalError>) -> String {
        result.expect_err("should fail").message
    }

    #[test]
    fn int_from_each_kind() {
        assert_eq!(to_int("int", &s(" -42\n")), Ok(Value::Int(-42)));
        assert_eq!(to_int("int", &s("+7")), Ok(Value::Int(7)));
        assert_eq!(to_int("int", &Value::Float(3.0)), Ok(Value::Int(3)));
        assert_eq!(to_int("int", &Value::Float(-9.223372036854776e18)), Ok(Value::Int(i64::MIN)));
        assert_eq!(to_int("int", &Value::Bool(true)), Ok(Value::Int(1)));
        assert_eq!(message(to_int("int", &s("abc"))), "int(): \"abc\" is not an integer");
        assert_eq!(message(to_int("int", &s("1.0"))), "int(): \"1.0\" is not an integer");
        assert_eq!(message(to_int("int", &s(""))), "int(): \"\" is not an integer");
        assert_eq!(
            message(to_int("int", &s("99999999999999999999"))),
            "int(): \"99999999999999999999\" is out of range for a 64-bit integer"
        );
        assert_eq!(message(to_int("int", &Value::Float(1.5))), "int(): float 1.5 is not a whole number");
        assert_eq!(message(to_int("int", &Value::Float(f64::NAN))), "int(): float NaN is not a whole number");
        assert_eq!(
            message(to_int("int", &Value::Float(9.223372036854776e18))),
            "int(): float 9.223372036854776e18 is out of range for a 64-bit integer"
        );
        let day = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid"));
        assert_eq!(message(to_int("int", &day)), "int(): cannot convert date 2024-01-01 to int");
    }

    #[test]
    fn float_from_each_kind() {
        assert_eq!(to_float("float", &s(" 1e3 ")), Ok(Value::Float(1000.0)));
        assert_eq!(to_float("float", &Value::Int(2)), Ok(Value::Float(2.0)));
        assert_eq!(to_float("float", &Value::Bool(false)), Ok(Value::Float(0.0)));
        assert_eq!(message(to_float("float", &s("1,5"))), "float(): \"1,5\" is not a number");
        assert_eq!(message(to_float("float", &s("NaN"))), "float(): \"NaN\" is not a finite number");
        assert_eq!(message(to_float("float", &Value::Bytes(vec![1]))), "float(): cannot convert bytes AQ== to float");
    }

    #[test]
    fn bool_from_each_kind() {
        for yes in ["true", "T", "Yes", "y", "1", " TRUE "] {
            assert_eq!(to_bool("bool", &s(yes)), Ok(Value::Bool(true)), "{yes}");
        }
        for no in ["false", "F", "no", "N", "0"] {
            assert_eq!(to_bool("bool", &s(no)), Ok(Value::Bool(false)), "{no}");
        }
        assert_eq!(to_bool("bool", &Value::Int(0)), Ok(Value::Bool(false)));
        assert_eq!(
            message(to_bool("bool", &s("maybe"))),
            "bool(): \"maybe\" is not a boolean (expected true/false, t/f, yes/no, y/n or 1/0)"
        );
        assert_eq!(message(to_bool("bool", &Value::Int(-1))), "bool(): int -1 is not 0 or 1");
        assert_eq!(message(to_bool("bool", &Value::Float(1.0))), "bool(): cannot convert float 1.0 to bool");
    }

    #[test]
    fn string_is_the_canonical_text_and_borrows_strings() {
        let text = s("x");
        assert!(matches!(to_string(&Cow::Borrowed(&text)), Cow::Borrowed(_)));
        assert_eq!(to_string(&Cow::Owned(Value::Int(-3))).into_owned(), s("-3"));
        assert_eq!(to_string(&Cow::Owned(Value::Bool(true))).into_owned(), s("true"));
        let day = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid"));
        assert_eq!(to_string(&Cow::Owned(day)).into_owned(), s("2024-01-02"));
        let list = Value::List(vec![Value::Int(1), s("a")]);
        assert_eq!(to_string(&Cow::Owned(list)).into_owned(), s(r#"[1,"a"]"#));
    }

    #[test]
    fn cast_between_temporal_kinds() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid");
        let noon = day.and_hms_opt(12, 0, 0).expect("valid");
        let cast_owned = |to, v: Value| cast(to, &Cow::Owned(v)).map(Cow::into_owned);
        assert_eq!(cast_owned(CastType::Date, Value::DateTime(noon)), Ok(Value::Date(day)));
        assert_eq!(
            cast_owned(CastType::DateTime, Value::Date(day)),
            Ok(Value::DateTime(day.and_hms_opt(0, 0, 0).expect("valid")))
        );
        let tz = chrono::DateTime::parse_from_rfc3339("2024-01-02T23:30:00-05:00").expect("valid");
        assert_eq!(cast_owned(CastType::Date, Value::DateTimeTz(tz)), Ok(Value::Date(day)));
        assert_eq!(cast_owned(CastType::Json, Value::Int(3)), Ok(Value::Int(3)));
        assert_eq!(message(cast_owned(CastType::Date, Value::Int(3))), "cast(): cannot convert int 3 to date");
        assert_eq!(
            message(cast_owned(CastType::Json, Value::Date(day))),
            "cast(): cannot convert date 2024-01-02 to json"
        );
        assert_eq!(CastType::parse("DateTime"), Some(CastType::DateTime));
        assert_eq!(CastType::parse("integer"), None);
    }

    #[test]
    fn json_parse_keeps_integers() {
        assert_eq!(
            json_parse("json_parse", "[1, 1.5, null]"),
            Ok(Value::List(vec![Value::Int(1), Value::Float(1.5), Value::Null]))
        );
        assert_eq!(
            message(json_parse("json_parse", "")),
            "json_parse(): \"\" is not valid JSON (EOF while parsing a value at line 1 column 0)"
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(round_float(2.345, 1), 2.3);
        assert_eq!(round_float(2.5, 0), 3.0);
        assert_eq!(round_float(-2.5, 0), -3.0);
        assert_eq!(round_float(1234.5, -2), 1200.0);
        assert_eq!(round_float(1e300, 20), 1e300);
        assert_eq!(round_float(1.5, 1000), 1.5);
        assert_eq!(round_float(-5.0, -1000), -0.0);
        assert_eq!(round("round", &Value::Int(1250), -2), Ok(Value::Int(1300)));
        assert_eq!(round("round", &Value::Int(-1249), -2), Ok(Value::Int(-1200)));
        assert_eq!(round("round", &Value::Int(-1250), -2), Ok(Value::Int(-1300)));
        assert_eq!(round("round", &Value::Int(123), -30), Ok(Value::Int(0)));
        assert_eq!(
            message(round("round", &Value::Int(i64::MAX), -1)),
            "round(): integer overflow rounding int 9223372036854775807"
        );
        assert_eq!(message(round("round", &Value::Bool(true), 0)), "round(): expected a number, got bool true");
    }

    #[test]
    fn abs_floor_ceil() {
        assert_eq!(abs("abs", &Value::Int(-5)), Ok(Value::Int(5)));
        assert_eq!(message(abs("abs", &s("-5"))), "abs(): expected a number, got \"-5\"");
        assert_eq!(floor_ceil("floor", &Value::Float(2.7), f64::floor), Ok(Value::Float(2.0)));
        assert_eq!(floor_ceil("ceil", &Value::Float(-2.7), f64::ceil), Ok(Value::Float(-2.0)));
        assert_eq!(message(floor_ceil("floor", &s("x"), f64::floor)), "floor(): expected a number, got \"x\"");
    }
}
