//! Dates and times: `parse_date`, `parse_datetime` and `format_date`, with chrono's strftime
//! formats compiled once into a [`DateFormat`].
//!
//! Parsing is strict: the whole string must match the format, and the date must exist
//! (`2023-02-30` is refused, not moved to March). No whitespace is trimmed: the format says
//! exactly what the text looks like.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::format::{Fixed, Item, ParseError, ParseErrorKind, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use grafter_model::Value;

use super::error::{EvalError, describe, quoted};

/// A compiled strftime format.
#[derive(Debug, Clone)]
pub(crate) struct DateFormat {
    /// As written, for messages.
    text: String,
    items: Vec<Item<'static>>,
    /// Whether the format reads a UTC offset, which makes `parse_datetime` return a
    /// date-time with offset.
    has_offset: bool,
}

impl DateFormat {
    /// Compiles `text`; the error is a message without the function name.
    pub(crate) fn new(text: &str) -> Result<DateFormat, String> {
        let items = StrftimeItems::new(text).parse_to_owned().map_err(|_| {
            format!("invalid date format {}: it has an unknown or incomplete % specifier", quoted(text))
        })?;
        if items.is_empty() {
            return Err("the date format is empty".to_owned());
        }
        let has_offset = items.iter().any(is_offset);
        Ok(DateFormat { text: text.to_owned(), items, has_offset })
    }
}

fn is_offset(item: &Item<'_>) -> bool {
    match item {
        Item::Fixed(
            Fixed::TimezoneOffset
            | Fixed::TimezoneOffsetZ
            | Fixed::TimezoneOffsetColon
            | Fixed::TimezoneOffsetColonZ
            | Fixed::TimezoneOffsetDoubleColon
            | Fixed::TimezoneOffsetTripleColon
            | Fixed::RFC2822
            | Fixed::RFC3339,
        ) => true,
        // `%#z` compiles to an item chrono keeps private; recognise it by comparison.
        Item::Fixed(Fixed::Internal(_)) => StrftimeItems::new("%#z").any(|permissive| permissive == *item),
        _ => false,
    }
}

fn fail(name: &str, message: impl std::fmt::Display) -> EvalError {
    EvalError::new(format!("{name}(): {message}"))
}

fn mismatch(name: &str, s: &str, format: &DateFormat, err: Option<ParseError>, what: &str) -> EvalError {
    let mut message = format!("{} does not match format {}", quoted(s), quoted(&format.text));
    if err.is_some_and(|err| err.kind() == ParseErrorKind::NotEnough) {
        // The text matched, but the format lacks fields (no hour for a datetime, say).
        message.push_str(&format!(" (the format gives no complete {what})"));
    }
    fail(name, message)
}

/// chrono lets whitespace precede any number, so `' 2024-01-31'` would match `%Y-%m-%d`.
/// Refusing it at the start keeps padded CSV fields visible (`trim()` fixes them on purpose).
fn unmatched_leading_space(s: &str, format: &DateFormat) -> bool {
    s.starts_with(char::is_whitespace) && !format.text.starts_with(char::is_whitespace)
}

/// `parse_date(s, format)`. Time fields in the format are read and dropped, so a datetime
/// column (`1962-02-18 00:00:00`) can become a date.
pub(crate) fn parse_date(name: &str, s: &str, format: &DateFormat) -> Result<Value, EvalError> {
    if unmatched_leading_space(s, format) {
        return Err(mismatch(name, s, format, None, "date"));
    }
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, format.items.iter())
        .and_then(|()| parsed.to_naive_date())
        .map(Value::Date)
        .map_err(|err| mismatch(name, s, format, Some(err), "date"))
}

/// `parse_datetime(s, format)`: a date-time with offset when the format reads one (`%z`,
/// `%:z`, `%+`, …), otherwise one without.
pub(crate) fn parse_datetime(name: &str, s: &str, format: &DateFormat) -> Result<Value, EvalError> {
    if unmatched_leading_space(s, format) {
        return Err(mismatch(name, s, format, None, "date and time"));
    }
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, format.items.iter())
        .and_then(|()| {
            if format.has_offset {
                parsed.to_datetime().map(Value::DateTimeTz)
            } else {
                parsed.to_naive_datetime_with_offset(0).map(Value::DateTime)
            }
        })
        .map_err(|err| mismatch(name, s, format, Some(err), "date and time"))
}

/// Whether `b` starts with `YYYY-MM-DD` (digits, not yet a valid date). chrono alone would
/// also take `2024-1-5`, which is not ISO 8601.
fn starts_like_iso_date(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

/// `parse_date(s)`: exactly `YYYY-MM-DD`.
pub(crate) fn parse_iso_date(name: &str, s: &str) -> Result<Value, EvalError> {
    if s.len() == 10
        && starts_like_iso_date(s.as_bytes())
        && let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return Ok(Value::Date(date));
    }
    Err(fail(name, format_args!("{} is not a valid ISO 8601 date (YYYY-MM-DD)", quoted(s))))
}

/// `parse_datetime(s)`: `YYYY-MM-DD[T ]HH:MM:SS[.f]`, optionally followed by an offset (`Z`,
/// `+02:00`) as in RFC 3339, which makes the result a date-time with offset.
pub(crate) fn parse_iso_datetime(name: &str, s: &str) -> Result<Value, EvalError> {
    let b = s.as_bytes();
    let shaped = b.len() >= 19
        && starts_like_iso_date(b)
        && matches!(b[10], b'T' | b't' | b' ')
        && b[11..19].iter().enumerate().all(|(i, c)| if i == 2 || i == 5 { *c == b':' } else { c.is_ascii_digit() });
    if shaped {
        // The first 19 bytes are ASCII, so these are character boundaries. chrono wants the
        // `T`; SQL dumps write a space.
        let normalized: Cow<'_, str> =
            if b[10] == b'T' { Cow::Borrowed(s) } else { format!("{}T{}", &s[..10], &s[11..]).into() };
        if let Ok(datetime) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f") {
            return Ok(Value::DateTime(datetime));
        }
        if let Ok(datetime) = DateTime::parse_from_rfc3339(&normalized) {
            return Ok(Value::DateTimeTz(datetime));
        }
    }
    Err(fail(name, format_args!("{} is not a valid ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[.fff][offset])", quoted(s))))
}

/// `format_date(x, format)` for dates, times and date-times.
pub(crate) fn format_date(name: &str, value: &Value, format: &DateFormat) -> Result<String, EvalError> {
    let items = format.items.iter();
    let mut out = String::new();
    // chrono reports a field the value lacks (`%H` of a date) as a formatting error, which
    // `to_string()` would turn into a panic; writing into a String keeps it an error.
    let written = match value {
        Value::Date(date) => write!(out, "{}", date.format_with_items(items)),
        Value::Time(time) => write!(out, "{}", time.format_with_items(items)),
        Value::DateTime(datetime) => write!(out, "{}", datetime.format_with_items(items)),
        Value::DateTimeTz(datetime) => write!(out, "{}", datetime.format_with_items(items)),
        Value::String(_) => {
            return Err(fail(
                name,
                format_args!(
                    "expected a date, time or datetime, got {} (parse it with parse_date() first)",
                    describe(value)
                ),
            ));
        }
        other => return Err(fail(name, format_args!("expected a date, time or datetime, got {}", describe(other)))),
    };
    written.map(|()| out).map_err(|_| {
        fail(
            name,
            format_args!("format {} asks for fields that {} does not have", quoted(&format.text), describe(value)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn format(text: &str) -> DateFormat {
        DateFormat::new(text).expect("valid format")
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn message<T: std::fmt::Debug>(result: Result<T, EvalError>) -> String {
        result.expect_err("should fail").message
    }

    #[test]
    fn formats_are_validated() {
        assert_eq!(
            DateFormat::new("%Y-%Q").expect_err("invalid"),
            "invalid date format \"%Y-%Q\": it has an unknown or incomplete % specifier"
        );
        assert_eq!(
            DateFormat::new("%").expect_err("invalid"),
            "invalid date format \"%\": it has an unknown or incomplete % specifier"
        );
        assert_eq!(DateFormat::new("").expect_err("invalid"), "the date format is empty");
    }

    #[test]
    fn offsets_are_recognised_in_every_spelling() {
        for text in ["%z", "%:z", "%::z", "%:::z", "%#z", "%+"] {
            assert!(format(text).has_offset, "{text}");
        }
        assert!(!format("%Y-%m-%d %H:%M:%S").has_offset);
        assert!(!format("%3f").has_offset);
    }

    #[test]
    fn parse_date_is_strict() {
        assert_eq!(parse_date("parse_date", "2024-02-29", &format("%Y-%m-%d")), Ok(Value::Date(day(2024, 2, 29))));
        assert_eq!(parse_date("parse_date", "Feb 3, 2024", &format("%b %-d, %Y")), Ok(Value::Date(day(2024, 2, 3))));
        assert_eq!(
            message(parse_date("parse_date", "2023-02-30", &format("%Y-%m-%d"))),
            "parse_date(): \"2023-02-30\" does not match format \"%Y-%m-%d\""
        );
        assert_eq!(
            message(parse_date("parse_date", " 2023-02-03", &format("%Y-%m-%d"))),
            "parse_date(): \" 2023-02-03\" does not match format \"%Y-%m-%d\""
        );
        assert_eq!(
            message(parse_date("parse_date", "2023-02-03 ", &format("%Y-%m-%d"))),
            "parse_date(): \"2023-02-03 \" does not match format \"%Y-%m-%d\""
        );
        assert_eq!(parse_date("parse_date", " 2023-02-03", &format(" %Y-%m-%d")), Ok(Value::Date(day(2023, 2, 3))));
        assert_eq!(
            message(parse_date("parse_date", "2023", &format("%Y"))),
            "parse_date(): \"2023\" does not match format \"%Y\" (the format gives no complete date)"
        );
    }

    #[test]
    fn parse_datetime_returns_offset_only_when_the_format_reads_one() {
        let naive = day(2024, 1, 31).and_hms_milli_opt(13, 5, 9, 250).expect("valid");
        assert_eq!(
            parse_datetime("parse_datetime", "31.01.2024 13:05:09.250", &format("%d.%m.%Y %H:%M:%S%.f")),
            Ok(Value::DateTime(naive))
        );
        let tz = DateTime::parse_from_rfc3339("2024-01-31T13:05:09+05:30").expect("valid");
        assert_eq!(
            parse_datetime("parse_datetime", "2024-01-31 13:05:09 +05:30", &format("%Y-%m-%d %H:%M:%S %:z")),
            Ok(Value::DateTimeTz(tz))
        );
        assert_eq!(
            message(parse_datetime("parse_datetime", "2024-01-31 25:00:00", &format("%Y-%m-%d %H:%M:%S"))),
            "parse_datetime(): \"2024-01-31 25:00:00\" does not match format \"%Y-%m-%d %H:%M:%S\""
        );
    }

    #[test]
    fn iso_dates() {
        assert_eq!(parse_iso_date("parse_date", "2024-02-29"), Ok(Value::Date(day(2024, 2, 29))));
        for bad in ["2024-1-5", "2023-02-29", "2024-02-29T00:00:00", "20240229", ""] {
            assert_eq!(
                message(parse_iso_date("parse_date", bad)),
                format!("parse_date(): \"{bad}\" is not a valid ISO 8601 date (YYYY-MM-DD)")
            );
        }
    }

    #[test]
    fn iso_datetimes() {
        let naive = day(2024, 1, 31).and_hms_opt(13, 5, 9).expect("valid");
        let with_ms = day(2024, 1, 31).and_hms_milli_opt(13, 5, 9, 120).expect("valid");
        assert_eq!(parse_iso_datetime("parse_datetime", "2024-01-31T13:05:09"), Ok(Value::DateTime(naive)));
        assert_eq!(parse_iso_datetime("parse_datetime", "2024-01-31 13:05:09"), Ok(Value::DateTime(naive)));
        assert_eq!(parse_iso_datetime("parse_datetime", "2024-01-31 13:05:09.12"), Ok(Value::DateTime(with_ms)));
        let utc = DateTime::parse_from_rfc3339("2024-01-31T13:05:09Z").expect("valid");
        assert_eq!(parse_iso_datetime("parse_datetime", "2024-01-31T13:05:09Z"), Ok(Value::DateTimeTz(utc)));
        assert_eq!(parse_iso_datetime("parse_datetime", "2024-01-31 13:05:09Z"), Ok(Value::DateTimeTz(utc)));
        for bad in ["2024-01-31", "2024-01-31T13:05", "2024-01-31T13:05:09 garbage", "2024-01-31é13:05:09"] {
            assert_eq!(
                message(parse_iso_datetime("parse_datetime", bad)),
                format!(
                    "parse_datetime(): \"{bad}\" is not a valid ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[.fff][offset])"
                )
            );
        }
    }

    #[test]
    fn format_each_temporal_kind() {
        let when = day(2024, 1, 31).and_hms_opt(13, 5, 9).expect("valid");
        assert_eq!(
            format_date("format_date", &Value::Date(day(2024, 1, 31)), &format("%d/%m/%Y")),
            Ok("31/01/2024".into())
        );
        assert_eq!(
            format_date("format_date", &Value::DateTime(when), &format("%Y%m%dT%H%M")),
            Ok("20240131T1305".into())
        );
        let tz = DateTime::parse_from_rfc3339("2024-01-31T13:05:09-03:00").expect("valid");
        assert_eq!(format_date("format_date", &Value::DateTimeTz(tz), &format("%H:%M %z")), Ok("13:05 -0300".into()));
        let noon = NaiveTime::from_hms_opt(12, 0, 0).expect("valid");
        assert_eq!(format_date("format_date", &Value::Time(noon), &format("%I %p")), Ok("12 PM".into()));
        assert_eq!(
            message(format_date("format_date", &Value::DateTime(when), &format("%z"))),
            "format_date(): format \"%z\" asks for fields that datetime 2024-01-31T13:05:09 does not have"
        );
        assert_eq!(
            message(format_date("format_date", &Value::Int(20240131), &format("%Y"))),
            "format_date(): expected a date, time or datetime, got int 20240131"
        );
    }
}
