//! PostgreSQL values, in their binary wire format, to grafter [`Value`]s.
//!
//! Each column gets a [`Decoder`] once, from its type ([`plan`]); rows are then decoded
//! straight from the bytes the server sent, with no text parsing and no intermediate types.
//! Types grafter does not decode itself (money, bit strings, geometric types, ranges,
//! composites, extension types, anything unknown) are cast to `text` by the server in the
//! scan's `SELECT` ([`Cast`]), so they arrive as PostgreSQL's own text form and never make a
//! scan fail. The mapping, type by type:
//!
//! | PostgreSQL | grafter |
//! |---|---|
//! | smallint, integer, bigint, oid | `Int` |
//! | numeric / decimal | `String` with the exact digits PostgreSQL prints (`12.50`, `NaN`), or `Float` (policy) |
//! | real, double precision | `Float` (NaN, ±Infinity and -0 kept) |
//! | boolean | `Bool` |
//! | text, varchar, char(n) (padded, as stored), name, "char", citext, enums | `String` |
//! | bytea | base64 `String`, or `Bytes` (policy) |
//! | date | `Date`; `±infinity` rejects the row |
//! | time | `Time`; `24:00:00` rejects the row (no time of day is 24:00) |
//! | time with time zone | `String`, ISO 8601 with offset: `10:30:00+02:00` (graphs have no zoned time of day) |
//! | timestamp | `DateTime`; `±infinity` rejects the row |
//! | timestamp with time zone | `DateTimeTz` at offset `+00:00` (PostgreSQL stores UTC); `±infinity` rejects the row |
//! | interval | `Duration { months, days, nanos }` |
//! | uuid | `String`, lowercase with hyphens |
//! | json, jsonb | parsed into `Map`/`List`/…, or the document's text (policy) |
//! | inet, cidr | `String`, as PostgreSQL prints them (`10.0.0.1`, `10.0.0.0/8`) |
//! | arrays of any of these | `List` (NULL elements are `Null`; multi-dimensional arrays nest) |
//! | domains | as their base type |
//! | anything else (money, macaddr, bit, xml, tsvector, point, ranges, composites, …) | `String` in PostgreSQL's text output (money follows the server's `lc_monetary`) |
//! | NULL | `Null` |

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use grafter_model::{BytesPolicy, DecimalPolicy, Duration, JsonPolicy, LogicalType, TypePolicy, Value};
use postgres_types::{Kind, Type};

use super::numeric::numeric_text;

/// Well-known type OIDs (fixed in PostgreSQL's catalog since forever; `pg_type.dat`).
pub(super) mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const POINT: u32 = 600;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// How one column's binary values become [`Value`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decoder {
    /// boolean
    Bool,
    /// smallint
    Int2,
    /// integer
    Int4,
    /// bigint
    Int8,
    /// oid (unsigned 32-bit)
    Oid,
    /// real
    Float4,
    /// double precision
    Float8,
    /// numeric
    Numeric,
    /// Any type whose binary form is its UTF-8 text: text, varchar, bpchar, name, enums,
    /// and everything the server casts to text for us.
    Text,
    /// `"char"`: one byte.
    Char,
    /// bytea
    Bytea,
    /// date
    Date,
    /// time
    Time,
    /// time with time zone
    TimeTz,
    /// timestamp
    Timestamp,
    /// timestamp with time zone
    TimestampTz,
    /// interval
    Interval,
    /// uuid
    Uuid,
    /// json
    Json,
    /// jsonb (a version byte, then the text)
    Jsonb,
    /// inet and cidr
    Inet,
    /// point: its WKT text, `POINT(x y)`
    Point,
    /// An array of the inner decoder's type.
    Array(Box<Decoder>),
}

/// What the scan's `SELECT` does to a column so that its values arrive in a form a
/// [`Decoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cast {
    /// Nothing: decoded from the type's own binary format.
    None,
    /// `::text`: the server's text output, for types grafter does not decode.
    Text,
    /// `::text[]`: arrays of such types, element by element.
    TextArray,
}

impl Cast {
    /// The SQL suffix that applies the cast.
    pub(super) fn suffix(self) -> &'static str {
        match self {
            Cast::None => "",
            Cast::Text => "::text",
            Cast::TextArray => "::text[]",
        }
    }
}

/// The decoder for values of type `ty`, and the cast the query needs for it. Never fails:
/// an unknown type is read as its text form.
pub(super) fn plan(ty: &Type) -> (Decoder, Cast) {
    match ty.kind() {
        Kind::Domain(base) => plan(base),
        // An enum's binary form is its label.
        Kind::Enum(_) => (Decoder::Text, Cast::None),
        Kind::Array(element) => match plan(element) {
            (decoder, Cast::None) => (Decoder::Array(Box::new(decoder)), Cast::None),
            _ => (Decoder::Array(Box::new(Decoder::Text)), Cast::TextArray),
        },
        Kind::Simple => {
            let decoder = match ty.oid() {
                oid::BOOL => Decoder::Bool,
                oid::INT2 => Decoder::Int2,
                oid::INT4 => Decoder::Int4,
                oid::INT8 => Decoder::Int8,
                oid::OID => Decoder::Oid,
                oid::FLOAT4 => Decoder::Float4,
                oid::FLOAT8 => Decoder::Float8,
                oid::NUMERIC => Decoder::Numeric,
                oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN => Decoder::Text,
                oid::CHAR => Decoder::Char,
                oid::BYTEA => Decoder::Bytea,
                oid::DATE => Decoder::Date,
                oid::TIME => Decoder::Time,
                oid::TIMETZ => Decoder::TimeTz,
                oid::TIMESTAMP => Decoder::Timestamp,
                oid::TIMESTAMPTZ => Decoder::TimestampTz,
                oid::INTERVAL => Decoder::Interval,
                oid::UUID => Decoder::Uuid,
                oid::JSON => Decoder::Json,
                oid::JSONB => Decoder::Jsonb,
                oid::INET | oid::CIDR => Decoder::Inet,
                oid::POINT => Decoder::Point,
                _ => return (Decoder::Text, Cast::Text),
            };
            (decoder, Cast::None)
        }
        // Composites, ranges, pseudo-types (`record`) and whatever a newer server adds.
        _ => (Decoder::Text, Cast::Text),
    }
}

/// The logical type values of `ty` arrive as.
pub(super) fn logical_type(ty: &Type) -> LogicalType {
    match plan(ty).0 {
        Decoder::Bool => LogicalType::Bool,
        Decoder::Int2 | Decoder::Int4 | Decoder::Int8 | Decoder::Oid => LogicalType::Int,
        Decoder::Float4 | Decoder::Float8 => LogicalType::Float,
        Decoder::Numeric => LogicalType::Decimal,
        Decoder::Text | Decoder::Char | Decoder::Uuid | Decoder::TimeTz | Decoder::Inet | Decoder::Point => {
            LogicalType::String
        }
        Decoder::Bytea => LogicalType::Bytes,
        Decoder::Date => LogicalType::Date,
        Decoder::Time => LogicalType::Time,
        Decoder::Timestamp => LogicalType::DateTime,
        Decoder::TimestampTz => LogicalType::DateTimeTz,
        Decoder::Json | Decoder::Jsonb => LogicalType::Json,
        Decoder::Interval => LogicalType::Duration,
        Decoder::Array(_) => LogicalType::List,
    }
}

/// The conversions that have a choice, fixed for one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Policy {
    decimal: DecimalPolicy,
    json: JsonPolicy,
    bytes: BytesPolicy,
    /// Key mode: values must go back to the server unchanged as cursor parameters, so they
    /// are exact (decimals as strings, bytes raw) and values with no grafter counterpart
    /// (`infinity`) become PostgreSQL's text for them instead of an error.
    key: bool,
}

impl Policy {
    /// Row values, by the user's type policy.
    pub(super) fn rows(types: TypePolicy) -> Policy {
        Policy { decimal: types.decimal, json: types.json, bytes: types.bytes, key: false }
    }

    /// Key values (cursors, split boundaries).
    pub(super) fn keys() -> Policy {
        Policy { decimal: DecimalPolicy::String, json: JsonPolicy::String, bytes: BytesPolicy::Raw, key: true }
    }
}

/// Days from 0001-01-01 (CE day 1) to PostgreSQL's epoch, 2000-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 730_120;
/// Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01 00:00:00 UTC.
const EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Decodes one non-NULL binary value. The error says what is wrong (the caller names the
/// column).
pub(super) fn decode(decoder: &Decoder, raw: &[u8], policy: Policy) -> Result<Value, String> {
    Ok(match decoder {
        Decoder::Bool => Value::Bool(fixed::<1>(raw, "boolean")?[0] != 0),
        Decoder::Int2 => Value::Int(i64::from(i16::from_be_bytes(fixed(raw, "smallint")?))),
        Decoder::Int4 => Value::Int(i64::from(i32::from_be_bytes(fixed(raw, "integer")?))),
        Decoder::Int8 => Value::Int(i64::from_be_bytes(fixed(raw, "bigint")?)),
        Decoder::Oid => Value::Int(i64::from(u32::from_be_bytes(fixed(raw, "oid")?))),
        Decoder::Float4 => Value::Float(f64::from(f32::from_be_bytes(fixed(raw, "real")?))),
        Decoder::Float8 => Value::Float(f64::from_be_bytes(fixed(raw, "double precision")?)),
        Decoder::Numeric => {
            let text = numeric_text(raw)?;
            match policy.decimal {
                DecimalPolicy::String => Value::String(text),
                DecimalPolicy::Float => Value::Float(decimal_to_float(&text)?),
            }
        }
        Decoder::Text => Value::String(utf8(raw)?.to_owned()),
        Decoder::Char => Value::String(char_text(fixed::<1>(raw, "\"char\"")?[0])),
        Decoder::Bytea => match policy.bytes {
            BytesPolicy::Raw => Value::Bytes(raw.to_vec()),
            BytesPolicy::Base64 => Value::String(base64::engine::general_purpose::STANDARD.encode(raw)),
        },
        Decoder::Date => date(i32::from_be_bytes(fixed(raw, "date")?), policy)?,
        Decoder::Time => time(i64::from_be_bytes(fixed(raw, "time")?), policy)?,
        Decoder::TimeTz => {
            let raw = fixed::<12>(raw, "time with time zone")?;
            let micros = i64::from_be_bytes([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]]);
            // The server sends the zone as seconds *west* of UTC.
            let west = i32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]);
            Value::String(timetz_text(micros, west.wrapping_neg()))
        }
        Decoder::Timestamp => {
            timestamp(i64::from_be_bytes(fixed(raw, "timestamp")?), policy, |utc| Value::DateTime(utc.naive_utc()))?
        }
        // PostgreSQL stores timestamptz as UTC and keeps no zone: the offset is +00:00.
        Decoder::TimestampTz => timestamp(i64::from_be_bytes(fixed(raw, "timestamptz")?), policy, |utc| {
            Value::DateTimeTz(utc.fixed_offset())
        })?,
        Decoder::Interval => interval(raw, policy)?,
        Decoder::Uuid => Value::String(uuid_text(&fixed::<16>(raw, "uuid")?)),
        Decoder::Json => json(utf8(raw)?, policy)?,
        Decoder::Jsonb => match raw.split_first() {
            Some((1, text)) => json(utf8(text)?, policy)?,
            Some((version, _)) => return Err(format!("jsonb binary version {version} is not known (expected 1)")),
            None => return Err("jsonb value is empty".into()),
        },
        Decoder::Inet => Value::String(inet_text(raw)?),
        Decoder::Point => Value::String(point_wkt(raw)?),
        Decoder::Array(element) => array(element, raw, policy)?,
    })
}

/// A value for the reject file when [`decode`] failed: as exact as key mode can make it, or
/// else the raw bytes in hex (PostgreSQL's `\x` notation).
pub(super) fn lossy(decoder: &Decoder, raw: &[u8]) -> Value {
    decode(decoder, raw, Policy::keys()).unwrap_or_else(|_| Value::String(hex_text(raw)))
}

/// `\x` followed by the bytes in hex: bytea's text form.
pub(super) fn hex_text(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + raw.len() * 2);
    out.push_str("\\x");
    for byte in raw {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

/// The first `N` bytes as an array, when `raw` has exactly `N`.
fn fixed<const N: usize>(raw: &[u8], what: &str) -> Result<[u8; N], String> {
    raw.try_into().map_err(|_| format!("binary {what} has {} bytes, expected {N}", raw.len()))
}

fn utf8(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|e| format!("invalid UTF-8: {e}"))
}

/// `"char"` as PostgreSQL prints it: the byte itself, or `\ooo` for bytes above ASCII.
fn char_text(byte: u8) -> String {
    match byte {
        0 => String::new(),
        1..=0x7f => char::from(byte).to_string(),
        _ => format!("\\{byte:03o}"),
    }
}

/// A decimal's exact text as a float (rounded to the nearest double).
fn decimal_to_float(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        digits => digits.parse().map_err(|e| format!("numeric {digits} is not a number: {e}")),
    }
}

/// The text a value with no grafter counterpart has in key mode; an error otherwise.
fn special(text: &str, reason: &str, policy: Policy) -> Result<Value, String> {
    if policy.key { Ok(Value::String(text.to_owned())) } else { Err(format!("{text}: {reason}")) }
}

fn date(days: i32, policy: Policy) -> Result<Value, String> {
    match days {
        i32::MAX => return special("infinity", "an infinite date has no calendar day", policy),
        i32::MIN => return special("-infinity", "an infinite date has no calendar day", policy),
        _ => {}
    }
    days.checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .map(Value::Date)
        .ok_or_else(|| format!("date {days} days from 2000-01-01 is outside the supported range"))
}

fn time(micros: i64, policy: Policy) -> Result<Value, String> {
    if micros == MICROS_PER_DAY {
        return special("24:00:00", "the end of the day has no time-of-day value", policy);
    }
    time_of_day(micros).map(Value::Time).ok_or_else(|| format!("time of {micros} microseconds is not a time of day"))
}

fn time_of_day(micros: i64) -> Option<NaiveTime> {
    if !(0..MICROS_PER_DAY).contains(&micros) {
        return None;
    }
    let seconds = u32::try_from(micros / 1_000_000).ok()?;
    let nanos = u32::try_from(micros % 1_000_000 * 1000).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
}

/// A timestamp (microseconds from 2000-01-01 UTC) made into a value by `make`, or (in key
/// mode) the text of an infinite one.
fn timestamp(micros: i64, policy: Policy, make: impl FnOnce(DateTime<Utc>) -> Value) -> Result<Value, String> {
    match micros {
        i64::MAX => return special("infinity", "an infinite timestamp has no date", policy),
        i64::MIN => return special("-infinity", "an infinite timestamp has no date", policy),
        _ => {}
    }
    micros
        .checked_add(EPOCH_UNIX_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .map(make)
        .ok_or_else(|| format!("timestamp {micros} µs from 2000-01-01 is outside the supported range"))
}

/// `HH:MM:SS[.ffffff]±HH:MM[:SS]`: ISO 8601 with the offset always written out in full.
fn timetz_text(micros: i64, offset_seconds: i32) -> String {
    let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
    let mut out = format!("{hours:02}:{minutes:02}:{seconds:02}");
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let offset = offset_seconds.unsigned_abs();
    out.push_str(&format!("{sign}{:02}:{:02}", offset / 3600, offset / 60 % 60));
    if !offset.is_multiple_of(60) {
        out.push_str(&format!(":{:02}", offset % 60));
    }
    out
}

fn interval(raw: &[u8], policy: Policy) -> Result<Value, String> {
    let raw = fixed::<16>(raw, "interval")?;
    let micros = i64::from_be_bytes([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]]);
    let days = i32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]);
    let months = i32::from_be_bytes([raw[12], raw[13], raw[14], raw[15]]);
    // PostgreSQL 17's infinite intervals set every field to its extreme.
    if micros == i64::MAX && days == i32::MAX && months == i32::MAX {
        return special("infinity", "an infinite interval has no length", policy);
    }
    if micros == i64::MIN && days == i32::MIN && months == i32::MIN {
        return special("-infinity", "an infinite interval has no length", policy);
    }
    let nanos = micros
        .checked_mul(1000)
        .ok_or_else(|| format!("interval of {micros} µs does not fit in nanoseconds (about ±292 years)"))?;
    Ok(Value::Duration(Duration { months: i64::from(months), days: i64::from(days), nanos }))
}

/// Lowercase hyphenated, as PostgreSQL prints uuids.
fn uuid_text(bytes: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

fn json(text: &str, policy: Policy) -> Result<Value, String> {
    match policy.json {
        JsonPolicy::String => Ok(Value::String(text.to_owned())),
        JsonPolicy::Map => crate::json_column::parse(text).map_err(|e| format!("invalid JSON from the server: {e}")),
    }
}

/// A point (two big-endian doubles) as WKT, `POINT(x y)`, each number in its shortest exact
/// form: the text every spatial tool reads, where PostgreSQL's own `(x,y)` is its alone.
fn point_wkt(raw: &[u8]) -> Result<String, String> {
    let raw = fixed::<16>(raw, "point")?;
    let x = f64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
    let y = f64::from_be_bytes(raw[8..].try_into().expect("8 bytes"));
    Ok(format!("POINT({x} {y})"))
}

/// inet and cidr as PostgreSQL's `network_out` prints them: the whole address, then
/// `/bits` when the mask is not a single host (always, for cidr).
fn inet_text(raw: &[u8]) -> Result<String, String> {
    let [family, bits, is_cidr, length, address @ ..] = raw else {
        return Err(format!("binary inet of {} bytes is shorter than its header", raw.len()));
    };
    let (mut out, full) = match (*family, address.len()) {
        // PGSQL_AF_INET and PGSQL_AF_INET6.
        (2, 4) => (format!("{}.{}.{}.{}", address[0], address[1], address[2], address[3]), 32),
        (3, 16) => (ipv6_text(address), 128),
        _ => return Err(format!("binary inet has family {family} with {length} address bytes")),
    };
    if *is_cidr != 0 || *bits != full {
        out.push_str(&format!("/{bits}"));
    }
    Ok(out)
}

/// An IPv6 address the way PostgreSQL's `inet_net_ntop` writes it: lowercase hex words, the
/// first longest run of two or more zero words as `::`, and an embedded IPv4 address in
/// dotted form for `::a.b.c.d` and `::ffff:a.b.c.d`.
fn ipv6_text(address: &[u8]) -> String {
    let words: Vec<u16> = address.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect();
    // Runs of zero words as (first index, length); the first of the longest wins.
    let mut best: Option<(usize, usize)> = None;
    let mut current: Option<(usize, usize)> = None;
    for (i, word) in words.iter().enumerate() {
        if *word == 0 {
            current = Some(current.map_or((i, 1), |(base, len)| (base, len + 1)));
        } else if let Some(run) = current.take()
            && best.is_none_or(|b| run.1 > b.1)
        {
            best = Some(run);
        }
    }
    if let Some(run) = current
        && best.is_none_or(|b| run.1 > b.1)
    {
        best = Some(run);
    }
    let best = best.filter(|(_, len)| *len >= 2);
    let mut out = String::with_capacity(40);
    for (i, word) in words.iter().enumerate() {
        if let Some((base, len)) = best
            && (base..base + len).contains(&i)
        {
            if i == base {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && let Some((0, len)) = best
            && (len == 6 || (len == 7 && words[7] != 1) || (len == 5 && words[5] == 0xffff))
        {
            out.push_str(&format!("{}.{}.{}.{}", address[12], address[13], address[14], address[15]));
            return out;
        }
        out.push_str(&format!("{word:x}"));
    }
    if best.is_some_and(|(base, len)| base + len == words.len()) {
        out.push(':');
    }
    out
}

/// A binary array: dimensions, then every element (length-prefixed, -1 for NULL) in row-major
/// order. Nested lists mirror the dimensions; an empty array is an empty list.
fn array(element: &Decoder, raw: &[u8], policy: Policy) -> Result<Value, String> {
    let mut reader = Reader { raw, at: 0 };
    let dimensions = reader.i32()?;
    let _has_nulls = reader.i32()?;
    let _element_oid = reader.i32()?;
    if dimensions == 0 {
        return Ok(Value::List(Vec::new()));
    }
    let dimensions = usize::try_from(dimensions).map_err(|_| format!("array has {dimensions} dimensions"))?;
    let mut lengths = Vec::with_capacity(dimensions);
    for _ in 0..dimensions {
        let length = reader.i32()?;
        let _lower_bound = reader.i32()?;
        lengths.push(usize::try_from(length).map_err(|_| format!("array dimension of length {length}"))?);
    }
    let mut index = 0;
    let value = nest(&lengths, &mut reader, element, policy, &mut index)?;
    if reader.at != raw.len() {
        return Err(format!("array has {} bytes after its last element", raw.len() - reader.at));
    }
    Ok(value)
}

fn nest(
    lengths: &[usize],
    reader: &mut Reader<'_>,
    element: &Decoder,
    policy: Policy,
    index: &mut usize,
) -> Result<Value, String> {
    let Some((&length, inner)) = lengths.split_first() else {
        *index += 1;
        return match reader.field()? {
            None => Ok(Value::Null),
            Some(bytes) => decode(element, bytes, policy).map_err(|e| format!("element {}: {e}", *index)),
        };
    };
    // The length comes from the data: never reserve more than the bytes could hold.
    let mut items = Vec::with_capacity(length.min(reader.raw.len() / 4 + 1));
    for _ in 0..length {
        items.push(nest(inner, reader, element, policy, index)?);
    }
    Ok(Value::List(items))
}

/// A cursor over a binary value's bytes.
struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.raw.len());
        let end =
            end.ok_or_else(|| format!("binary array ends after {} bytes, in the middle of a value", self.raw.len()))?;
        let bytes = &self.raw[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A length-prefixed field; `None` for NULL.
    fn field(&mut self) -> Result<Option<&'a [u8]>, String> {
        let length = self.i32()?;
        if length < 0 { Ok(None) } else { self.take(length as usize).map(Some) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Policy {
        Policy::rows(TypePolicy::default())
    }

    #[test]
    fn integers_and_floats() {
        assert_eq!(decode(&Decoder::Int2, &(-5i16).to_be_bytes(), rows()), Ok(Value::Int(-5)));
        assert_eq!(decode(&Decoder::Int8, &i64::MIN.to_be_bytes(), rows()), Ok(Value::Int(i64::MIN)));
        assert_eq!(decode(&Decoder::Oid, &u32::MAX.to_be_bytes(), rows()), Ok(Value::Int(4_294_967_295)));
        let Ok(Value::Float(nan)) = decode(&Decoder::Float8, &f64::NAN.to_be_bytes(), rows()) else { panic!() };
        assert!(nan.is_nan());
        let Ok(Value::Float(zero)) = decode(&Decoder::Float4, &(-0.0f32).to_be_bytes(), rows()) else { panic!() };
        assert!(zero == 0.0 && zero.is_sign_negative());
        assert!(decode(&Decoder::Int4, &[0, 1], rows()).unwrap_err().contains("expected 4"));
    }

    #[test]
    fn booleans_and_text() {
        assert_eq!(decode(&Decoder::Bool, &[1], rows()), Ok(Value::Bool(true)));
        assert_eq!(decode(&Decoder::Bool, &[0], rows()), Ok(Value::Bool(false)));
        assert_eq!(decode(&Decoder::Text, "żółw 🐢".as_bytes(), rows()), Ok(Value::from("żółw 🐢")));
        assert!(decode(&Decoder::Text, b"caf\xe9", rows()).unwrap_err().starts_with("invalid UTF-8"));
        assert_eq!(decode(&Decoder::Char, b"x", rows()), Ok(Value::from("x")));
    }

    #[test]
    fn numerics_follow_the_decimal_policy() {
        // 12.50
        let raw = [0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88];
        assert_eq!(decode(&Decoder::Numeric, &raw, rows()), Ok(Value::from("12.50")));
        let float = Policy::rows(TypePolicy { decimal: DecimalPolicy::Float, ..TypePolicy::default() });
        assert_eq!(decode(&Decoder::Numeric, &raw, float), Ok(Value::Float(12.5)));
        let nan = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        assert!(matches!(decode(&Decoder::Numeric, &nan, float), Ok(Value::Float(x)) if x.is_nan()));
    }

    #[test]
    fn bytea_follows_the_bytes_policy() {
        assert_eq!(decode(&Decoder::Bytea, &[0, 255], rows()), Ok(Value::from("AP8=")));
        let raw = Policy::rows(TypePolicy { bytes: BytesPolicy::Raw, ..TypePolicy::default() });
        assert_eq!(decode(&Decoder::Bytea, &[0, 255], raw), Ok(Value::Bytes(vec![0, 255])));
    }

    #[test]
    fn dates_and_infinity() {
        assert_eq!(
            decode(&Decoder::Date, &(-1i32).to_be_bytes(), rows()),
            Ok(Value::Date(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()))
        );
        let err = decode(&Decoder::Date, &i32::MAX.to_be_bytes(), rows()).unwrap_err();
        assert_eq!(err, "infinity: an infinite date has no calendar day");
        assert_eq!(decode(&Decoder::Date, &i32::MIN.to_be_bytes(), Policy::keys()), Ok(Value::from("-infinity")));
    }

    #[test]
    fn timestamps_before_1970_and_with_zone() {
        // 1969-07-20 20:17:40 UTC
        let micros = (-14_182_940i64 - 946_684_800) * 1_000_000;
        let Ok(Value::DateTime(naive)) = decode(&Decoder::Timestamp, &micros.to_be_bytes(), rows()) else { panic!() };
        assert_eq!(naive.to_string(), "1969-07-20 20:17:40");
        let Ok(Value::DateTimeTz(zoned)) = decode(&Decoder::TimestampTz, &micros.to_be_bytes(), rows()) else {
            panic!()
        };
        assert_eq!(Value::DateTimeTz(zoned).to_string(), "1969-07-20T20:17:40+00:00");
        assert!(decode(&Decoder::Timestamp, &i64::MAX.to_be_bytes(), rows()).is_err());
    }

    #[test]
    fn times_and_the_end_of_the_day() {
        let micros: i64 = (13 * 3600 + 5 * 60 + 9) * 1_000_000 + 250_000;
        assert_eq!(decode(&Decoder::Time, &micros.to_be_bytes(), rows()).unwrap().to_string(), "13:05:09.250");
        assert!(decode(&Decoder::Time, &MICROS_PER_DAY.to_be_bytes(), rows()).unwrap_err().starts_with("24:00:00"));
        let mut tz = micros.to_be_bytes().to_vec();
        tz.extend((-2 * 3600i32).to_be_bytes()); // two hours east of UTC
        assert_eq!(decode(&Decoder::TimeTz, &tz, rows()), Ok(Value::from("13:05:09.25+02:00")));
        let mut tz = 0i64.to_be_bytes().to_vec();
        tz.extend((5 * 3600 + 30 * 60 + 15i32).to_be_bytes());
        assert_eq!(decode(&Decoder::TimeTz, &tz, rows()), Ok(Value::from("00:00:00-05:30:15")));
    }

    #[test]
    fn intervals_keep_months_days_and_micros_apart() {
        let mut raw = 3_723_000_001i64.to_be_bytes().to_vec();
        raw.extend(4i32.to_be_bytes());
        raw.extend(14i32.to_be_bytes());
        let expected = Duration { months: 14, days: 4, nanos: 3_723_000_001_000 };
        assert_eq!(decode(&Decoder::Interval, &raw, rows()), Ok(Value::Duration(expected)));
    }

    #[test]
    fn uuids_are_lowercase_and_hyphenated() {
        let raw: Vec<u8> = (0..16).map(|i| i * 17).collect();
        assert_eq!(decode(&Decoder::Uuid, &raw, rows()), Ok(Value::from("00112233-4455-6677-8899-aabbccddeeff")));
    }

    #[test]
    fn json_follows_the_json_policy() {
        let text = br#"{"a":[1,null]}"#;
        let Ok(Value::Map(map)) = decode(&Decoder::Json, text, rows()) else { panic!() };
        assert_eq!(map["a"], Value::List(vec![Value::Int(1), Value::Null]));
        let mut jsonb = vec![1];
        jsonb.extend(text);
        let string = Policy::rows(TypePolicy { json: JsonPolicy::String, ..TypePolicy::default() });
        assert_eq!(decode(&Decoder::Jsonb, &jsonb, string), Ok(Value::from(r#"{"a":[1,null]}"#)));
        assert!(decode(&Decoder::Jsonb, &[2, b'1'], rows()).is_err());
    }

    #[test]
    fn inet_prints_like_postgresql() {
        assert_eq!(inet_text(&[2, 32, 0, 4, 10, 0, 0, 1]), Ok("10.0.0.1".into()));
        assert_eq!(inet_text(&[2, 8, 1, 4, 10, 0, 0, 0]), Ok("10.0.0.0/8".into()));
        let v6 = |words: [u16; 8]| -> Vec<u8> { words.iter().flat_map(|w| w.to_be_bytes()).collect() };
        assert_eq!(ipv6_text(&v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])), "2001:db8::1");
        assert_eq!(ipv6_text(&v6([0; 8])), "::");
        assert_eq!(ipv6_text(&v6([0, 0, 0, 0, 0, 0, 0, 1])), "::1");
        assert_eq!(ipv6_text(&v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304])), "::ffff:1.2.3.4");
        assert_eq!(ipv6_text(&v6([1, 0, 2, 0, 0, 3, 0, 0])), "1:0:2::3:0:0");
        assert!(inet_text(&[2, 32]).is_err());
    }

    #[test]
    fn arrays_nest_and_keep_nulls() {
        // int4[][] {{1,NULL},{3,4}}
        let mut raw = Vec::new();
        for header in [2i32, 1, 23, 2, 1, 2, 1] {
            raw.extend(header.to_be_bytes());
        }
        for element in [Some(1i32), None, Some(3), Some(4)] {
            match element {
                Some(v) => {
                    raw.extend(4i32.to_be_bytes());
                    raw.extend(v.to_be_bytes());
                }
                None => raw.extend((-1i32).to_be_bytes()),
            }
        }
        let list = |items: Vec<Value>| Value::List(items);
        assert_eq!(
            decode(&Decoder::Array(Box::new(Decoder::Int4)), &raw, rows()),
            Ok(list(vec![list(vec![Value::Int(1), Value::Null]), list(vec![Value::Int(3), Value::Int(4)])]))
        );
        let empty: Vec<u8> = [0i32, 0, 23].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(decode(&Decoder::Array(Box::new(Decoder::Int4)), &empty, rows()), Ok(list(vec![])));
        raw.truncate(raw.len() - 2);
        assert!(decode(&Decoder::Array(Box::new(Decoder::Int4)), &raw, rows()).is_err());
    }

    #[test]
    fn unknown_types_are_read_as_text() {
        let money = Type::from_oid(790).unwrap();
        assert_eq!(plan(&money), (Decoder::Text, Cast::Text));
        let money_array = Type::from_oid(791).unwrap();
        assert_eq!(plan(&money_array), (Decoder::Array(Box::new(Decoder::Text)), Cast::TextArray));
        let extension = Type::new("citext".into(), 99_999, Kind::Simple, "public".into());
        assert_eq!(plan(&extension), (Decoder::Text, Cast::Text));
        assert_eq!(logical_type(&extension), LogicalType::String);
        let domain = Type::new("price".into(), 99_998, Kind::Domain(Type::NUMERIC), "public".into());
        assert_eq!(plan(&domain), (Decoder::Numeric, Cast::None));
    }

    #[test]
    fn char_bytes_print_like_postgresql() {
        assert_eq!(char_text(b'a'), "a");
        assert_eq!(char_text(0xe9), "\\351");
    }
}
