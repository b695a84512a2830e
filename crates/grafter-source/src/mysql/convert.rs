//! MySQL / MariaDB values to grafter [`Value`]s, and grafter values back to statement
//! parameters (cursor keys, range bounds).
//!
//! Rows arrive in the binary protocol (server-side prepared statements), where integers,
//! floats and temporal values come typed and everything else as bytes. How a column's values
//! are read is decided once per column ([`Conversion::of`]) from its protocol metadata: type,
//! flags, character set number (63 means binary), display length; plus whether
//! `information_schema` says the column is JSON (needed for MariaDB, below). The choices:
//!
//! | MySQL type | grafter value |
//! |---|---|
//! | `TINYINT(1)` / `BOOLEAN` | `Bool`; values other than 0 and 1 reject the row (MySQL has no real boolean: `tinyint(1)` is the convention, and a 2 there means the column is not one; read it as `CAST(col AS SIGNED)` in a query to keep integers) |
//! | `TINYINT`…`BIGINT`, `YEAR` | `Int` |
//! | `BIGINT UNSIGNED` above 2^63-1 | [`UnsignedOverflow`]: reject (value in the reason) or the decimal text |
//! | `DECIMAL` | [`DecimalPolicy`]: the exact text the server sends, or a float |
//! | `FLOAT`, `DOUBLE` | `Float` (a `FLOAT` is widened by its shortest decimal form, so 0.1 stays 0.1) |
//! | `CHAR`, `VARCHAR`, `TEXT`, `ENUM` | `String`; bytes that are not UTF-8 reject the row (never a lossy string) |
//! | `SET` | a `List` of its members' names, in the column's order (`'x,z'` → `["x", "z"]`, `''` → `[]`): a set is several values, not one comma-joined string |
//! | `BINARY`, `VARBINARY`, `BLOB` | [`BytesPolicy`]: base64 text or raw bytes |
//! | `DATE` | `Date` |
//! | `DATETIME` | `DateTime` (microseconds kept) |
//! | `TIMESTAMP` | `DateTimeTz` at +00:00 (the session time zone is UTC, see `connect`) |
//! | `TIME` | `Time` within 00:00:00..24:00:00; MySQL `TIME` is really a duration (-838:59:59..838:59:59), so values outside that become `Duration` |
//! | zero dates (`0000-00-00`, `2024-00-10`) | [`ZeroDatePolicy`]: NULL or reject; always reject in a key column (a NULL cannot be a cursor) |
//! | `JSON` | [`JsonPolicy`]: parsed (maps, lists) or the document's text |
//! | `BIT(n)` | `Int` for n ≤ 63, else per [`BytesPolicy`] |
//! | `GEOMETRY` (and `POINT`, `POLYGON`, …) | its WKT text, `POINT(1 2)`, as EWKT `SRID=4326;POINT(1 2)` when the SRID is not 0 (crate `geozero` reads MySQL's SRID-prefixed WKB): the text every spatial tool reads, not the server's internal bytes |
//! | `NULL` | `Null` |
//!
//! JSON differs between the servers: MySQL 8 has a JSON type (protocol type 245), MariaDB's
//! `JSON` is an alias for `LONGTEXT` with a `CHECK (json_valid(col))` and arrives as text. So
//! a text column is read as JSON when introspection found either.
//!
//! Text: the session asks for utf8mb4 results, so the server converts every text column to
//! UTF-8 and only binary strings (character set 63) are bytes. Bytes that still are not UTF-8
//! (a corrupt table, or data written around the server's checks) reject the row.

use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use grafter_model::{
    BytesPolicy, DecimalPolicy, Duration, JsonPolicy, LogicalType, TypePolicy, UnsignedOverflow, Value, ZeroDatePolicy,
};
use mysql_async::Value as My;
use mysql_async::consts::{ColumnFlags, ColumnType};

/// The character set number of binary strings in the protocol.
const BINARY_CHARSET: u16 = 63;

/// How one result column's values are read, decided once from its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conversion {
    /// Integers that always fit `i64` (every integer type but `BIGINT UNSIGNED`), `YEAR`.
    Int,
    /// `BIGINT UNSIGNED`: above `i64::MAX` by the unsigned-overflow policy.
    UnsignedBig,
    /// `TINYINT(1)`: 0 and 1 only.
    Bool,
    /// `DECIMAL`: the exact text, or a float by policy.
    Decimal,
    /// `FLOAT` (single precision).
    Float32,
    /// `DOUBLE`.
    Double,
    /// Text in the connection's character set (utf8mb4).
    Text,
    /// `SET`: the members present, comma-separated on the wire (a member's name cannot hold
    /// a comma).
    Set,
    /// JSON documents, by policy.
    Json,
    /// Binary strings, by the bytes policy.
    Bytes,
    /// `BIT(n)` for n ≤ 63.
    Bits,
    /// `GEOMETRY`: MySQL's SRID + WKB.
    Geometry,
    /// `DATE`.
    Date,
    /// `DATETIME`.
    DateTime,
    /// `TIMESTAMP` (UTC in this session).
    Timestamp,
    /// `TIME`: a time of day or a duration.
    Time,
    /// Columns that are always NULL (`SELECT NULL`).
    Null,
}

impl Conversion {
    /// The conversion for a result column. `json` says introspection knows the column as
    /// JSON (MariaDB's JSON is text on the wire).
    pub(super) fn of(column: &mysql_async::Column, json: bool) -> Conversion {
        let flags = column.flags();
        let binary = column.character_set() == BINARY_CHARSET;
        match column.column_type() {
            ColumnType::MYSQL_TYPE_TINY if column.column_length() == 1 => Conversion::Bool,
            ColumnType::MYSQL_TYPE_LONGLONG if flags.contains(ColumnFlags::UNSIGNED_FLAG) => Conversion::UnsignedBig,
            ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_LONGLONG
            | ColumnType::MYSQL_TYPE_YEAR => Conversion::Int,
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => Conversion::Decimal,
            ColumnType::MYSQL_TYPE_FLOAT => Conversion::Float32,
            ColumnType::MYSQL_TYPE_DOUBLE => Conversion::Double,
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => Conversion::Date,
            ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_DATETIME2 => Conversion::DateTime,
            ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => Conversion::Timestamp,
            ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => Conversion::Time,
            ColumnType::MYSQL_TYPE_BIT if column.column_length() <= 63 => Conversion::Bits,
            ColumnType::MYSQL_TYPE_BIT => Conversion::Bytes,
            // MySQL 8 labels JSON with the binary character set; it is UTF-8 text all the same.
            ColumnType::MYSQL_TYPE_JSON => Conversion::Json,
            ColumnType::MYSQL_TYPE_GEOMETRY => Conversion::Geometry,
            ColumnType::MYSQL_TYPE_NULL => Conversion::Null,
            // ENUM and SET arrive as MYSQL_TYPE_STRING with a flag: an ENUM is text, a SET
            // several.
            _ if flags.contains(ColumnFlags::SET_FLAG) && !binary => Conversion::Set,
            _ if json && !binary => Conversion::Json,
            _ if binary => Conversion::Bytes,
            _ => Conversion::Text,
        }
    }
}

/// A value that could not be converted: why, and its stored form as readable as possible
/// (for the rejected row's raw text).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rejected {
    /// What is wrong (the caller adds the column).
    pub reason: String,
    /// The stored value, readable.
    pub stored: Value,
}

impl Rejected {
    fn new(reason: String, stored: Value) -> Rejected {
        Rejected { reason, stored }
    }
}

/// Converts one value of a column read by `conversion`. `in_key` marks key columns, whose
/// values become cursors: there a zero date is always rejected, since a NULL key could not
/// say where a scan stands.
pub(super) fn convert(value: My, conversion: Conversion, policy: &TypePolicy, in_key: bool) -> Result<Value, Rejected> {
    match (conversion, value) {
        (_, My::NULL) => Ok(Value::Null),
        (Conversion::Int, My::Int(i)) => Ok(Value::Int(i)),
        (Conversion::Bool, My::Int(i)) => match i {
            0 => Ok(Value::Bool(false)),
            1 => Ok(Value::Bool(true)),
            other => Err(Rejected::new(
                format!(
                    "{other} is not a boolean: tinyint(1) columns are read as booleans (0 or 1); to keep integers, \
                     read the column in a query as CAST(column AS SIGNED)"
                ),
                Value::Int(other),
            )),
        },
        (Conversion::UnsignedBig, My::UInt(u)) => unsigned(u, policy.unsigned_overflow),
        (Conversion::Text, My::Bytes(bytes)) => text(bytes),
        (Conversion::Set, My::Bytes(bytes)) => utf8(bytes).map(|members| match members.as_str() {
            "" => Value::List(Vec::new()),
            listed => Value::List(listed.split(',').map(|m| Value::String(m.to_owned())).collect()),
        }),
        (Conversion::Decimal, My::Bytes(bytes)) => decimal(bytes, policy.decimal),
        (Conversion::Json, My::Bytes(bytes)) => json(bytes, policy.json),
        (Conversion::Bytes, My::Bytes(bytes)) => Ok(binary(bytes, policy.bytes)),
        (Conversion::Bits, My::Bytes(bytes)) => Ok(Value::Int(bits(&bytes))),
        (Conversion::Geometry, My::Bytes(bytes)) => geometry_wkt(bytes),
        (Conversion::Float32, My::Float(x)) => Ok(Value::Float(widen(x))),
        (Conversion::Double | Conversion::Float32, My::Double(x)) => Ok(Value::Float(x)),
        (Conversion::Date | Conversion::DateTime | Conversion::Timestamp, My::Date(y, m, d, h, i, s, us)) => {
            date(conversion, (y, m, d, h, i, s, us), policy.zero_date, in_key)
        }
        (Conversion::Time, My::Time(negative, days, h, m, s, us)) => Ok(time(negative, days, h, m, s, us)),
        // Anything else: a value whose wire type does not match its column's (not seen from
        // MySQL or MariaDB, but a proxy could send it), kept as its own type.
        (_, other) => plain(other, policy),
    }
}

/// A value by its wire type alone.
fn plain(value: My, policy: &TypePolicy) -> Result<Value, Rejected> {
    match value {
        My::NULL => Ok(Value::Null),
        My::Int(i) => Ok(Value::Int(i)),
        My::UInt(u) => unsigned(u, policy.unsigned_overflow),
        My::Float(x) => Ok(Value::Float(widen(x))),
        My::Double(x) => Ok(Value::Float(x)),
        My::Bytes(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Value::String(text)),
            Err(not_text) => Ok(binary(not_text.into_bytes(), policy.bytes)),
        },
        My::Date(y, m, d, h, i, s, us) => date(Conversion::DateTime, (y, m, d, h, i, s, us), policy.zero_date, false),
        My::Time(negative, days, h, m, s, us) => Ok(time(negative, days, h, m, s, us)),
    }
}

/// A `BIGINT UNSIGNED` value (the `UInt` wire form), by the unsigned-overflow policy.
fn unsigned(value: u64, policy: UnsignedOverflow) -> Result<Value, Rejected> {
    match i64::try_from(value) {
        Ok(fits) => Ok(Value::Int(fits)),
        Err(_) => match policy {
            UnsignedOverflow::String => Ok(Value::String(value.to_string())),
            UnsignedOverflow::Reject => Err(Rejected::new(
                format!(
                    "{value} does not fit a signed 64-bit integer (set `unsigned_overflow = \"string\"` in \
                     [source.types] to keep it as text)"
                ),
                Value::String(value.to_string()),
            )),
        },
    }
}

fn text(bytes: Vec<u8>) -> Result<Value, Rejected> {
    utf8(bytes).map(Value::String)
}

/// The bytes as a string, or the row's rejection when they are not UTF-8.
fn utf8(bytes: Vec<u8>) -> Result<String, Rejected> {
    // Moves the buffer into the string: no copy on the hot path.
    String::from_utf8(bytes).map_err(|e| {
        Rejected::new(
            format!("invalid UTF-8 ({}): the stored bytes are not text in the column's character set", e.utf8_error()),
            Value::String(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    })
}

fn decimal(bytes: Vec<u8>, policy: DecimalPolicy) -> Result<Value, Rejected> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(Rejected::new(
                "a decimal that is not text".into(),
                binary(e.into_bytes(), BytesPolicy::Base64),
            ));
        }
    };
    match policy {
        DecimalPolicy::String => Ok(Value::String(text)),
        DecimalPolicy::Float => match text.parse::<f64>() {
            Ok(x) => Ok(Value::Float(x)),
            Err(_) => Err(Rejected::new(format!("{text:?} is not a number"), Value::String(text))),
        },
    }
}

fn json(bytes: Vec<u8>, policy: JsonPolicy) -> Result<Value, Rejected> {
    match policy {
        JsonPolicy::String => text(bytes),
        JsonPolicy::Map => match crate::json_column::parse_slice(&bytes) {
            Ok(document) => Ok(document),
            Err(e) => {
                let stored = text(bytes).unwrap_or_else(|rejected| rejected.stored);
                Err(Rejected::new(format!("invalid JSON: {e}"), stored))
            }
        },
    }
}

/// A geometry (MySQL's 4-byte little-endian SRID, then WKB) as WKT, or EWKT with its SRID.
fn geometry_wkt(bytes: Vec<u8>) -> Result<Value, Rejected> {
    use geozero::{CoordDimensions, ToWkt as _, wkb::MySQLWkb, wkt::WktDialect};
    let srid = match bytes.get(..4) {
        Some(prefix) => u32::from_le_bytes(prefix.try_into().expect("4 bytes")),
        None => {
            return Err(Rejected::new("a geometry shorter than its SRID".into(), binary(bytes, BytesPolicy::Base64)));
        }
    };
    let srid = i32::try_from(srid).ok().filter(|&srid| srid != 0);
    match MySQLWkb(&bytes).to_wkt_with_opts(WktDialect::Ewkt, CoordDimensions::xy(), srid) {
        Ok(text) => Ok(Value::String(text)),
        Err(error) => Err(Rejected::new(
            format!("a geometry whose WKB cannot be read ({error})"),
            binary(bytes, BytesPolicy::Base64),
        )),
    }
}

fn binary(bytes: Vec<u8>, policy: BytesPolicy) -> Value {
    match policy {
        BytesPolicy::Raw => Value::Bytes(bytes),
        BytesPolicy::Base64 => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
}

/// `BIT(n)` values arrive big-endian in ⌈n/8⌉ bytes.
fn bits(bytes: &[u8]) -> i64 {
    bytes.iter().fold(0i64, |acc, byte| (acc << 8) | i64::from(*byte))
}

/// A `FLOAT` as the double its shortest decimal form names: 0.1f32 is 0.100000001490116…
/// exactly, but the server and every client show it as 0.1, and so should the graph.
fn widen(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

type DateParts = (u16, u8, u8, u8, u8, u8, u32);

fn date(
    conversion: Conversion,
    (y, m, d, h, i, s, us): DateParts,
    policy: ZeroDatePolicy,
    in_key: bool,
) -> Result<Value, Rejected> {
    let stored = || {
        let text = match conversion {
            Conversion::Date => format!("{y:04}-{m:02}-{d:02}"),
            _ if us > 0 => format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}.{us:06}"),
            _ => format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}"),
        };
        Value::String(text)
    };
    if m == 0 || d == 0 {
        return match (policy, in_key) {
            (ZeroDatePolicy::Null, false) => Ok(Value::Null),
            (ZeroDatePolicy::Null, true) => {
                Err(Rejected::new("a zero date in a key column (it cannot be a cursor position)".into(), stored()))
            }
            (ZeroDatePolicy::Reject, _) => {
                let shown = stored();
                Err(Rejected::new(format!("zero date {shown} (zero_date policy is `reject`)"), shown))
            }
        };
    }
    let day = NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d));
    let moment = day.and_then(|day| day.and_hms_micro_opt(u32::from(h), u32::from(i), u32::from(s), us));
    match (conversion, day, moment) {
        (Conversion::Date, Some(day), _) => Ok(Value::Date(day)),
        (Conversion::Timestamp, _, Some(moment)) => Ok(Value::DateTimeTz(moment.and_utc().fixed_offset())),
        (_, _, Some(moment)) => Ok(Value::DateTime(moment)),
        _ => {
            let shown = stored();
            Err(Rejected::new(format!("{shown} is not a real calendar date"), shown))
        }
    }
}

fn time(negative: bool, days: u32, h: u8, m: u8, s: u8, us: u32) -> Value {
    if !negative
        && days == 0
        && let Some(of_day) = NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(m), u32::from(s), us)
    {
        return Value::Time(of_day);
    }
    let seconds = (i64::from(days) * 24 + i64::from(h)) * 3600 + i64::from(m) * 60 + i64::from(s);
    let nanos = seconds * 1_000_000_000 + i64::from(us) * 1_000;
    Value::Duration(Duration { months: 0, days: 0, nanos: if negative { -nanos } else { nanos } })
}

/// The logical type and declared type text of a result column, for reads that are queries
/// (tables take both from `information_schema`).
pub(super) fn describe(column: &mysql_async::Column, json: bool) -> (LogicalType, String) {
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = column.character_set() == BINARY_CHARSET;
    let sign = if unsigned { " unsigned" } else { "" };
    let conversion = Conversion::of(column, json);
    let declared = match column.column_type() {
        ColumnType::MYSQL_TYPE_TINY if conversion == Conversion::Bool => "tinyint(1)".to_owned(),
        ColumnType::MYSQL_TYPE_TINY => format!("tinyint{sign}"),
        ColumnType::MYSQL_TYPE_SHORT => format!("smallint{sign}"),
        ColumnType::MYSQL_TYPE_INT24 => format!("mediumint{sign}"),
        ColumnType::MYSQL_TYPE_LONG => format!("int{sign}"),
        ColumnType::MYSQL_TYPE_LONGLONG => format!("bigint{sign}"),
        ColumnType::MYSQL_TYPE_YEAR => "year".to_owned(),
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
            let scale = u32::from(column.decimals());
            // The display length counts the digits, a point if there is a scale, and a sign
            // unless unsigned.
            let precision = column.column_length().saturating_sub(u32::from(scale > 0) + u32::from(!unsigned));
            format!("decimal({precision},{scale}){sign}")
        }
        ColumnType::MYSQL_TYPE_FLOAT => "float".to_owned(),
        ColumnType::MYSQL_TYPE_DOUBLE => "double".to_owned(),
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => "date".to_owned(),
        ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_DATETIME2 => with_fraction("datetime", column),
        ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => with_fraction("timestamp", column),
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => with_fraction("time", column),
        ColumnType::MYSQL_TYPE_BIT => format!("bit({})", column.column_length()),
        ColumnType::MYSQL_TYPE_JSON => "json".to_owned(),
        ColumnType::MYSQL_TYPE_GEOMETRY => "geometry".to_owned(),
        ColumnType::MYSQL_TYPE_NULL => "null".to_owned(),
        _ if json => "json".to_owned(),
        _ if column.flags().contains(ColumnFlags::ENUM_FLAG) => "enum".to_owned(),
        _ if column.flags().contains(ColumnFlags::SET_FLAG) => "set".to_owned(),
        ColumnType::MYSQL_TYPE_STRING if binary => "binary".to_owned(),
        ColumnType::MYSQL_TYPE_STRING => "char".to_owned(),
        ColumnType::MYSQL_TYPE_VAR_STRING | ColumnType::MYSQL_TYPE_VARCHAR if binary => "varbinary".to_owned(),
        ColumnType::MYSQL_TYPE_VAR_STRING | ColumnType::MYSQL_TYPE_VARCHAR => "varchar".to_owned(),
        _ if binary => "blob".to_owned(),
        _ => "text".to_owned(),
    };
    (logical_of(conversion), declared)
}

fn with_fraction(name: &str, column: &mysql_async::Column) -> String {
    match column.decimals() {
        // 31 (NOT_FIXED_DEC) means "unspecified"; 0 has no fraction.
        0 | 31.. => name.to_owned(),
        digits => format!("{name}({digits})"),
    }
}

fn logical_of(conversion: Conversion) -> LogicalType {
    match conversion {
        Conversion::Int | Conversion::UnsignedBig | Conversion::Bits => LogicalType::Int,
        Conversion::Bool => LogicalType::Bool,
        Conversion::Decimal => LogicalType::Decimal,
        Conversion::Float32 | Conversion::Double => LogicalType::Float,
        Conversion::Text => LogicalType::String,
        Conversion::Json => LogicalType::Json,
        Conversion::Bytes => LogicalType::Bytes,
        Conversion::Geometry => LogicalType::String,
        Conversion::Date => LogicalType::Date,
        Conversion::DateTime => LogicalType::DateTime,
        Conversion::Timestamp => LogicalType::DateTimeTz,
        Conversion::Time => LogicalType::Duration,
        Conversion::Set => LogicalType::List,
        Conversion::Null => LogicalType::Any,
    }
}

/// The logical type of a column from `information_schema.COLUMNS` (`DATA_TYPE`,
/// `COLUMN_TYPE`), `json` when a `CHECK (json_valid(col))` makes a MariaDB text column JSON.
pub(super) fn logical_type(data_type: &str, column_type: &str, json: bool) -> LogicalType {
    let column_type = column_type.to_ascii_lowercase();
    match data_type.to_ascii_lowercase().as_str() {
        // MySQL 8 drops integer display widths from COLUMN_TYPE except for tinyint(1),
        // MariaDB keeps them all: both show `tinyint(1)` for booleans.
        "tinyint" if column_type.starts_with("tinyint(1)") => LogicalType::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => LogicalType::Int,
        "bit" => {
            let width: u32 = column_type.trim_start_matches("bit(").trim_end_matches(')').parse().unwrap_or(1);
            if width <= 63 { LogicalType::Int } else { LogicalType::Bytes }
        }
        "decimal" | "numeric" => LogicalType::Decimal,
        "float" | "double" | "real" => LogicalType::Float,
        "json" => LogicalType::Json,
        "set" => LogicalType::List,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" => {
            if json {
                LogicalType::Json
            } else {
                LogicalType::String
            }
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => LogicalType::Bytes,
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
        | "geometrycollection" | "geomcollection" => LogicalType::String,
        "date" => LogicalType::Date,
        "datetime" => LogicalType::DateTime,
        "timestamp" => LogicalType::DateTimeTz,
        "time" => LogicalType::Duration,
        _ => LogicalType::Any,
    }
}

/// A grafter value (from a cursor or a range bound) as a parameter compared with a column of
/// `logical` type and `declared` type text.
///
/// Values whose grafter form lost their MySQL type are given it back: a base64 key of a
/// binary column is decoded, an unsigned key kept as text is bound as an unsigned integer
/// (MySQL would compare a string with a number as doubles, which is inexact above 2^53).
pub(super) fn parameter(value: &Value, logical: LogicalType, declared: &str) -> My {
    match value {
        Value::Null => My::NULL,
        Value::Bool(b) => My::Int(i64::from(*b)),
        Value::Int(i) => My::Int(*i),
        Value::Float(x) => My::Double(*x),
        Value::String(s) if logical == LogicalType::Bytes => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => My::Bytes(bytes),
                Err(_) => My::Bytes(s.as_bytes().to_vec()),
            }
        }
        Value::String(s) if logical == LogicalType::Int && declared.contains("unsigned") => match s.parse::<u64>() {
            Ok(u) => My::UInt(u),
            Err(_) => My::Bytes(s.as_bytes().to_vec()),
        },
        Value::String(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(bytes) => My::Bytes(bytes.clone()),
        Value::Date(day) => {
            use chrono::Datelike as _;
            My::Date(day.year() as u16, day.month() as u8, day.day() as u8, 0, 0, 0, 0)
        }
        Value::DateTime(moment) => datetime_parameter(moment),
        // The session time zone is UTC: compare the instant in UTC.
        Value::DateTimeTz(moment) => datetime_parameter(&moment.naive_utc()),
        Value::Time(of_day) => {
            use chrono::Timelike as _;
            My::Time(
                false,
                0,
                of_day.hour() as u8,
                of_day.minute() as u8,
                of_day.second() as u8,
                of_day.nanosecond() / 1_000,
            )
        }
        Value::Duration(span) => {
            let negative = span.nanos < 0;
            let total = span.nanos.unsigned_abs() / 1_000;
            let (seconds, micros) = (total / 1_000_000, (total % 1_000_000) as u32);
            let hours = seconds / 3600;
            My::Time(
                negative,
                (hours / 24) as u32,
                (hours % 24) as u8,
                ((seconds / 60) % 60) as u8,
                (seconds % 60) as u8,
                micros,
            )
        }
        Value::List(_) | Value::Map(_) => My::Bytes(value.to_json().to_string().into_bytes()),
    }
}

fn datetime_parameter(moment: &NaiveDateTime) -> My {
    use chrono::{Datelike as _, Timelike as _};
    My::Date(
        moment.year() as u16,
        moment.month() as u8,
        moment.day() as u8,
        moment.hour() as u8,
        moment.minute() as u8,
        moment.second() as u8,
        moment.nanosecond() / 1_000,
    )
}

/// The placeholder for a parameter compared with a column: `?`, or for decimals
/// `CAST(? AS DECIMAL(p,s))`, since MySQL compares a decimal with a string parameter as
/// doubles, which would be inexact for long decimal keys. `declared` is the column's type
/// text; only its digits go into the SQL.
pub(super) fn placeholder(logical: LogicalType, declared: &str) -> String {
    if logical == LogicalType::Decimal {
        let digits: Vec<u32> = declared
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .filter_map(|part| part.parse().ok())
            .collect();
        if let [precision, scale, ..] = digits[..] {
            return format!("CAST(? AS DECIMAL({precision},{scale}))");
        }
        return "CAST(? AS DECIMAL(65,30))".to_owned();
    }
    "?".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::consts::ColumnType as T;

    fn column(kind: ColumnType, flags: ColumnFlags, charset: u16, length: u32) -> mysql_async::Column {
        mysql_async::Column::new(kind).with_flags(flags).with_character_set(charset).with_column_length(length)
    }

    fn read(value: My, conversion: Conversion) -> Result<Value, Rejected> {
        convert(value, conversion, &TypePolicy::default(), false)
    }

    #[test]
    fn conversions_follow_type_flags_and_charset() {
        let none = ColumnFlags::empty();
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_TINY, none, 63, 1), false), Conversion::Bool);
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_TINY, none, 63, 4), false), Conversion::Int);
        let unsigned = ColumnFlags::UNSIGNED_FLAG;
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_LONGLONG, unsigned, 63, 20), false), Conversion::UnsignedBig);
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_VAR_STRING, none, 45, 80), false), Conversion::Text);
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_VAR_STRING, none, 63, 10), false), Conversion::Bytes);
        // MariaDB's JSON: text with a binary collation (BINARY_FLAG), utf8mb4.
        let json_flags = ColumnFlags::BLOB_FLAG | ColumnFlags::BINARY_FLAG;
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_BLOB, json_flags, 45, u32::MAX), true), Conversion::Json);
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_BLOB, json_flags, 45, u32::MAX), false), Conversion::Text);
        // MySQL 8's JSON type, labelled binary.
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_JSON, none, 63, u32::MAX), false), Conversion::Json);
        assert_eq!(Conversion::of(&column(T::MYSQL_TYPE_BIT, unsigned, 63, 64), false), Conversion::Bytes);
    }

    #[test]
    fn booleans_reject_other_integers() {
        assert_eq!(read(My::Int(1), Conversion::Bool), Ok(Value::Bool(true)));
        let rejected = read(My::Int(2), Conversion::Bool).unwrap_err();
        assert!(rejected.reason.starts_with("2 is not a boolean"), "{}", rejected.reason);
        assert_eq!(rejected.stored, Value::Int(2));
    }

    #[test]
    fn unsigned_overflow_follows_the_policy() {
        let reject = unsigned(u64::MAX, UnsignedOverflow::Reject).unwrap_err();
        assert!(reject.reason.contains("18446744073709551615"), "{}", reject.reason);
        assert_eq!(unsigned(u64::MAX, UnsignedOverflow::String), Ok(Value::from("18446744073709551615")));
        assert_eq!(unsigned(5, UnsignedOverflow::Reject), Ok(Value::Int(5)));
        assert_eq!(read(My::UInt(7), Conversion::UnsignedBig), Ok(Value::Int(7)));
    }

    #[test]
    fn invalid_utf8_in_a_latin1_column_read_as_binary_is_rejected_not_lossy() {
        // A latin1 column's é (0xE9) arriving unconverted, with the column labelled latin1 (8).
        let latin1 = column(T::MYSQL_TYPE_VAR_STRING, ColumnFlags::empty(), 8, 10);
        let rejected = read(My::Bytes(b"caf\xe9".to_vec()), Conversion::of(&latin1, false)).unwrap_err();
        assert!(rejected.reason.starts_with("invalid UTF-8"), "{}", rejected.reason);
        assert_eq!(rejected.stored, Value::from("caf\u{fffd}"));
    }

    #[test]
    fn time_is_a_time_of_day_or_a_duration() {
        let noon = read(My::Time(false, 0, 12, 0, 1, 5), Conversion::Time).unwrap();
        assert_eq!(noon, Value::Time(NaiveTime::from_hms_micro_opt(12, 0, 1, 5).unwrap()));
        let long = read(My::Time(true, 34, 22, 59, 59, 0), Conversion::Time).unwrap();
        assert_eq!(long.to_string(), "PT-838H-59M-59S");
        let day = read(My::Time(false, 1, 0, 0, 0, 0), Conversion::Time).unwrap();
        assert_eq!(day.to_string(), "PT24H");
    }

    #[test]
    fn zero_dates_follow_the_policy_but_never_make_a_null_key() {
        let zero = My::Date(0, 0, 0, 0, 0, 0, 0);
        assert_eq!(read(zero.clone(), Conversion::Date), Ok(Value::Null));
        let strict = TypePolicy { zero_date: ZeroDatePolicy::Reject, ..TypePolicy::default() };
        let rejected = convert(My::Date(2024, 0, 10, 0, 0, 0, 0), Conversion::Date, &strict, false).unwrap_err();
        assert!(rejected.reason.contains("zero date 2024-00-10"), "{}", rejected.reason);
        let in_key = convert(zero, Conversion::DateTime, &TypePolicy::default(), true).unwrap_err();
        assert_eq!(in_key.stored, Value::from("0000-00-00 00:00:00"));
    }

    #[test]
    fn timestamps_are_utc_datetimes_with_offset() {
        let value = read(My::Date(2024, 2, 29, 13, 5, 9, 123_000), Conversion::Timestamp).unwrap();
        assert_eq!(value.to_string(), "2024-02-29T13:05:09.123+00:00");
    }

    #[test]
    fn floats_keep_their_shortest_form_bits_become_integers() {
        assert_eq!(read(My::Float(0.1), Conversion::Float32), Ok(Value::Float(0.1)));
        assert_eq!(read(My::Bytes(vec![0b1_0101]), Conversion::Bits), Ok(Value::Int(21)));
        assert_eq!(read(My::Bytes(vec![1, 0]), Conversion::Bits), Ok(Value::Int(256)));
    }

    #[test]
    fn decimals_and_json_follow_their_policies() {
        let exact = read(My::Bytes(b"12.50".to_vec()), Conversion::Decimal);
        assert_eq!(exact, Ok(Value::from("12.50")));
        let float = TypePolicy { decimal: DecimalPolicy::Float, ..TypePolicy::default() };
        assert_eq!(convert(My::Bytes(b"12.50".to_vec()), Conversion::Decimal, &float, false), Ok(Value::Float(12.5)));
        let map = read(My::Bytes(br#"{"a":[1]}"#.to_vec()), Conversion::Json).unwrap();
        assert_eq!(map.to_json(), serde_json::json!({"a": [1]}));
        // The same values Value::from_json makes, for every kind of JSON value.
        let document = r#"{"i": -3, "u": 18446744073709551615, "f": 2.5, "e": 1e3, "s": "x\"y", "n": null,
                          "b": [true, false], "o": {"z": 1, "a": {}}, "d": 1, "d": 2}"#;
        let direct = read(My::Bytes(document.as_bytes().to_vec()), Conversion::Json).unwrap();
        assert_eq!(direct, Value::from_json(serde_json::from_str(document).unwrap()));
        let broken = read(My::Bytes(b"{\"a\":".to_vec()), Conversion::Json).unwrap_err();
        assert!(broken.reason.starts_with("invalid JSON"), "{}", broken.reason);
        let text = TypePolicy { json: JsonPolicy::String, ..TypePolicy::default() };
        let kept = convert(My::Bytes(br#"{"a":[1]}"#.to_vec()), Conversion::Json, &text, false);
        assert_eq!(kept, Ok(Value::from(r#"{"a":[1]}"#)));
    }

    #[test]
    fn geometries_arrive_as_wkt_and_unreadable_bytes_are_rejected_with_the_reason() {
        let policy = TypePolicy::default();
        // SRID 0, then POINT(1 2) as little-endian WKB.
        let mut point = vec![0, 0, 0, 0, 1, 1, 0, 0, 0];
        point.extend(1.0f64.to_le_bytes());
        point.extend(2.0f64.to_le_bytes());
        assert_eq!(convert(My::Bytes(point), Conversion::Geometry, &policy, false).unwrap(), Value::from("POINT(1 2)"));
        let broken = convert(My::Bytes(vec![0, 0, 0, 0, 1, 99, 0]), Conversion::Geometry, &policy, false).unwrap_err();
        assert!(broken.reason.starts_with("a geometry whose WKB cannot be read"), "{}", broken.reason);
        let short = convert(My::Bytes(vec![1, 2]), Conversion::Geometry, &policy, false).unwrap_err();
        assert_eq!(short.reason, "a geometry shorter than its SRID");
    }

    #[test]
    fn keys_bind_with_their_mysql_type() {
        assert_eq!(
            parameter(&Value::from("18446744073709551615"), LogicalType::Int, "bigint unsigned"),
            My::UInt(u64::MAX)
        );
        assert_eq!(parameter(&Value::from("AP8="), LogicalType::Bytes, "varbinary(4)"), My::Bytes(vec![0, 255]));
        assert_eq!(placeholder(LogicalType::Decimal, "decimal(30,10)"), "CAST(? AS DECIMAL(30,10))");
        assert_eq!(placeholder(LogicalType::Int, "int(11)"), "?");
    }

    #[test]
    fn declared_types_map_to_logical_types() {
        assert_eq!(logical_type("tinyint", "tinyint(1)", false), LogicalType::Bool);
        assert_eq!(logical_type("tinyint", "tinyint(4)", false), LogicalType::Int);
        assert_eq!(logical_type("longtext", "longtext", true), LogicalType::Json);
        assert_eq!(logical_type("bit", "bit(64)", false), LogicalType::Bytes);
        assert_eq!(logical_type("timestamp", "timestamp(3)", false), LogicalType::DateTimeTz);
    }
}
