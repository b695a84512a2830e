//! grafter [`Value`]s to grafeo's and back.
//!
//! grafeo has a type for everything grafter carries: dates, times, naive date-times (as UTC
//! timestamps, read back as naive), date-times with offset, bytes, lists and maps. So values
//! convert one to one, with one exception: grafeo's file format keeps timestamps to the
//! millisecond, so a date-time with a finer fraction (PostgreSQL's and MySQL's microseconds)
//! is stored as its exact ISO 8601 text rather than silently rounded.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use grafeo_common::types::{Date, PropertyKey, Time, Timestamp, Value as G, ZonedDatetime};
use grafter_model::Value;

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01, grafeo's day 0.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// Whether a sub-second part (in nanoseconds) has digits below the millisecond, which
/// grafeo's stored timestamps cannot keep.
fn finer_than_millis(subsec_nanos: u32) -> bool {
    !subsec_nanos.is_multiple_of(1_000_000)
}

/// Converts a grafter value into grafeo's.
pub(crate) fn to_grafeo(value: &Value) -> G {
    match value {
        Value::Null => G::Null,
        Value::Bool(b) => G::Bool(*b),
        Value::Int(i) => G::Int64(*i),
        Value::Float(x) => G::Float64(*x),
        Value::String(s) => G::String(s.as_str().into()),
        Value::Bytes(b) => G::Bytes(Arc::from(b.as_slice())),
        Value::Date(d) => G::Date(date(*d)),
        Value::Time(t) => G::Time(time(*t)),
        Value::DateTime(dt) if finer_than_millis(dt.and_utc().timestamp_subsec_nanos()) => {
            G::String(value.to_string().into())
        }
        Value::DateTimeTz(dt) if finer_than_millis(dt.timestamp_subsec_nanos()) => G::String(value.to_string().into()),
        Value::DateTime(dt) => G::Timestamp(Timestamp::from_micros(dt.and_utc().timestamp_micros())),
        Value::DateTimeTz(dt) => G::ZonedDatetime(ZonedDatetime::from_timestamp_offset(
            Timestamp::from_micros(dt.timestamp_micros()),
            dt.offset().local_minus_utc(),
        )),
        Value::Duration(d) => G::Duration(grafeo_common::types::Duration::new(d.months, d.days, d.nanos)),
        Value::List(items) => G::List(items.iter().map(to_grafeo).collect()),
        Value::Map(map) => {
            G::Map(Arc::new(map.iter().map(|(k, v)| (PropertyKey::new(k.as_str()), to_grafeo(v))).collect()))
        }
    }
}

fn date(d: NaiveDate) -> Date {
    Date::from_days(d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS)
}

fn time(t: NaiveTime) -> Time {
    let nanos = u64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + u64::from(t.nanosecond() % 1_000_000_000);
    Time::from_nanos(nanos).unwrap_or_default()
}

/// Converts a grafeo value (a property, or a query result cell) into grafter's.
pub(crate) fn from_grafeo(value: &G) -> Value {
    match value {
        G::Null => Value::Null,
        G::Bool(b) => Value::Bool(*b),
        G::Int64(i) => Value::Int(*i),
        G::Float64(x) => Value::Float(*x),
        G::String(s) => Value::String(s.to_string()),
        G::Bytes(b) => Value::Bytes(b.to_vec()),
        G::Date(d) => NaiveDate::from_num_days_from_ce_opt(d.as_days() + UNIX_EPOCH_CE_DAYS)
            .map_or_else(|| Value::String(d.to_string()), Value::Date),
        G::Time(t) => {
            let nanos = t.as_nanos();
            let naive = NaiveTime::from_num_seconds_from_midnight_opt(
                (nanos / 1_000_000_000) as u32,
                (nanos % 1_000_000_000) as u32,
            );
            match (naive, t.offset_seconds()) {
                (Some(naive), None) => Value::Time(naive),
                // grafter has no time-with-offset type: keep the exact text.
                _ => Value::String(t.to_string()),
            }
        }
        G::Timestamp(ts) => DateTime::from_timestamp_micros(ts.as_micros())
            .map_or_else(|| Value::String(format!("{ts:?}")), |dt| Value::DateTime(dt.naive_utc())),
        G::ZonedDatetime(z) => {
            let offset = FixedOffset::east_opt(z.offset_seconds());
            let utc: Option<NaiveDateTime> =
                DateTime::from_timestamp_micros(z.as_timestamp().as_micros()).map(|d| d.naive_utc());
            match (offset, utc) {
                (Some(offset), Some(utc)) => Value::DateTimeTz(DateTime::from_naive_utc_and_offset(utc, offset)),
                _ => Value::String(z.to_string()),
            }
        }
        G::Duration(d) => {
            Value::Duration(grafter_model::Duration { months: d.months(), days: d.days(), nanos: d.nanos() })
        }
        G::List(items) => Value::List(items.iter().map(from_grafeo).collect()),
        G::Map(map) => {
            Value::Map(map.iter().map(|(k, v)| (k.as_str().to_owned(), from_grafeo(v))).collect::<BTreeMap<_, _>>())
        }
        G::Vector(v) => Value::List(v.iter().map(|x| Value::Float(f64::from(*x))).collect()),
        G::Path { nodes, edges } => {
            let mut map = BTreeMap::new();
            map.insert("nodes".to_owned(), Value::List(nodes.iter().map(from_grafeo).collect()));
            map.insert("relationships".to_owned(), Value::List(edges.iter().map(from_grafeo).collect()));
            Value::Map(map)
        }
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        let date = NaiveDate::from_ymd_opt(1962, 2, 18).unwrap();
        let time = NaiveTime::from_hms_micro_opt(23, 59, 1, 500).unwrap();
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Float(-0.25),
            Value::from("grüße"),
            Value::Bytes(vec![0, 1, 255]),
            Value::Date(date),
            Value::Date(NaiveDate::from_ymd_opt(1, 1, 1).unwrap()),
            Value::Time(time),
            Value::DateTime(date.and_time(NaiveTime::from_hms_milli_opt(23, 59, 1, 250).unwrap())),
            Value::DateTimeTz(DateTime::parse_from_rfc3339("2024-06-15T10:30:00.123+05:30").unwrap()),
            Value::Duration(grafter_model::Duration { months: 14, days: -3, nanos: 1_500_000_000 }),
            Value::List(vec![Value::Int(1), Value::from("a")]),
            Value::Map([("k".to_owned(), Value::List(vec![Value::Null]))].into_iter().collect()),
        ];
        for value in values {
            assert_eq!(from_grafeo(&to_grafeo(&value)), value, "{value:?}");
        }
    }

    #[test]
    fn timestamps_finer_than_a_millisecond_are_kept_exactly_as_text() {
        let before_epoch =
            NaiveDate::from_ymd_opt(1969, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 123_456).unwrap();
        assert_eq!(from_grafeo(&to_grafeo(&Value::DateTime(before_epoch))), Value::from("1969-12-31T23:59:59.123456"));
        let zoned = DateTime::parse_from_rfc3339("2024-06-15T10:30:00.123456+05:30").unwrap();
        assert_eq!(from_grafeo(&to_grafeo(&Value::DateTimeTz(zoned))), Value::from("2024-06-15T10:30:00.123456+05:30"));
    }
}
