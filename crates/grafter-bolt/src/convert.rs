//! Conversions between [`BoltValue`] and grafter's own [`Value`].
//!
//! Every `Value` has a Bolt form: dates, times and date-times become Bolt's temporal
//! structures (a `DateTimeTz` keeps its offset; a zone-less `DateTime` is a LocalDateTime),
//! durations split their exact part into seconds and nanoseconds. The way back fails, with
//! the type named, for what `Value` cannot hold: graph structures, points, times with an
//! offset and date-times in a named zone (which need a time zone database to pin an offset).

use chrono::{DateTime as ChronoDateTime, Duration as ChronoDuration, FixedOffset, NaiveDate, NaiveTime, Timelike};
use grafter_model::{Duration as ModelDuration, Value};
use thiserror::Error;

use crate::packstream::value::{Date, DateTime, Duration, LocalDateTime, LocalTime};
use crate::packstream::{BoltMap, BoltValue};

/// A Bolt value with no grafter `Value` equivalent.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("cannot turn a Bolt {type_name} into a grafter value: {why}")]
pub struct ConvertError {
    /// The Bolt type.
    pub type_name: &'static str,
    /// Why.
    pub why: String,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

impl From<Value> for BoltValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => BoltValue::Null,
            Value::Bool(b) => BoltValue::Boolean(b),
            Value::Int(i) => BoltValue::Integer(i),
            Value::Float(f) => BoltValue::Float(f),
            Value::String(s) => BoltValue::String(s),
            Value::Bytes(b) => BoltValue::Bytes(b),
            Value::Date(d) => BoltValue::Date(Date { days: d.signed_duration_since(epoch()).num_days() }),
            Value::Time(t) => BoltValue::LocalTime(LocalTime { nanoseconds: nanos_of_day(t) }),
            Value::DateTime(dt) => {
                let utc = dt.and_utc();
                BoltValue::LocalDateTime(LocalDateTime {
                    seconds: utc.timestamp(),
                    nanoseconds: i64::from(utc.timestamp_subsec_nanos()),
                })
            }
            Value::DateTimeTz(dt) => BoltValue::DateTime(DateTime {
                seconds: dt.timestamp(),
                nanoseconds: i64::from(dt.timestamp_subsec_nanos()),
                tz_offset_seconds: i64::from(dt.offset().local_minus_utc()),
            }),
            Value::Duration(d) => BoltValue::Duration(Duration {
                months: d.months,
                days: d.days,
                // Bolt wants nanoseconds in 0..1e9 with the sign carried by seconds.
                seconds: d.nanos.div_euclid(NANOS_PER_SECOND),
                nanoseconds: d.nanos.rem_euclid(NANOS_PER_SECOND),
            }),
            Value::List(items) => BoltValue::List(items.into_iter().map(BoltValue::from).collect()),
            Value::Map(map) => BoltValue::Dictionary(map.into_iter().map(|(k, v)| (k, BoltValue::from(v))).collect()),
        }
    }
}

impl From<&Value> for BoltValue {
    fn from(value: &Value) -> Self {
        BoltValue::from(value.clone())
    }
}

fn nanos_of_day(t: NaiveTime) -> i64 {
    // `nanosecond()` exceeds 1e9 only inside a leap second; adding keeps it in order.
    i64::from(t.num_seconds_from_midnight()) * NANOS_PER_SECOND + i64::from(t.nanosecond())
}

/// Builds a parameter map from grafter values.
pub fn params_from_values<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> BoltMap {
    pairs.into_iter().map(|(k, v)| (k.into(), BoltValue::from(v))).collect()
}

impl TryFrom<BoltValue> for Value {
    type Error = ConvertError;

    fn try_from(value: BoltValue) -> Result<Self, Self::Error> {
        let type_name = value.type_name();
        let fail = |why: &str| ConvertError { type_name, why: why.to_owned() };
        Ok(match value {
            BoltValue::Null => Value::Null,
            BoltValue::Boolean(b) => Value::Bool(b),
            BoltValue::Integer(i) => Value::Int(i),
            BoltValue::Float(f) => Value::Float(f),
            BoltValue::String(s) => Value::String(s),
            BoltValue::Bytes(b) => Value::Bytes(b),
            BoltValue::List(items) => Value::List(items.into_iter().map(Value::try_from).collect::<Result<_, _>>()?),
            BoltValue::Dictionary(map) => Value::Map(
                map.into_iter().map(|(k, v)| Ok((k, Value::try_from(v)?))).collect::<Result<_, ConvertError>>()?,
            ),
            BoltValue::Date(Date { days }) => Value::Date(
                ChronoDuration::try_days(days)
                    .and_then(|d| epoch().checked_add_signed(d))
                    .ok_or_else(|| fail("the day is outside the supported calendar"))?,
            ),
            BoltValue::LocalTime(LocalTime { nanoseconds }) => {
                if !(0..86_400 * NANOS_PER_SECOND).contains(&nanoseconds) {
                    return Err(fail("nanoseconds since midnight out of range"));
                }
                let seconds = u32::try_from(nanoseconds / NANOS_PER_SECOND).map_err(|_| fail("out of range"))?;
                let nanos = u32::try_from(nanoseconds % NANOS_PER_SECOND).map_err(|_| fail("out of range"))?;
                Value::Time(
                    NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
                        .ok_or_else(|| fail("out of range"))?,
                )
            }
            BoltValue::LocalDateTime(LocalDateTime { seconds, nanoseconds }) => {
                let nanos = u32::try_from(nanoseconds).map_err(|_| fail("nanoseconds out of range"))?;
                Value::DateTime(
                    ChronoDateTime::from_timestamp(seconds, nanos)
                        .ok_or_else(|| fail("the instant is outside the supported calendar"))?
                        .naive_utc(),
                )
            }
            BoltValue::DateTime(DateTime { seconds, nanoseconds, tz_offset_seconds }) => {
                let nanos = u32::try_from(nanoseconds).map_err(|_| fail("nanoseconds out of range"))?;
                let offset = i32::try_from(tz_offset_seconds)
                    .ok()
                    .and_then(FixedOffset::east_opt)
                    .ok_or_else(|| fail("offset out of range"))?;
                let utc = ChronoDateTime::from_timestamp(seconds, nanos)
                    .ok_or_else(|| fail("the instant is outside the supported calendar"))?;
                Value::DateTimeTz(utc.with_timezone(&offset))
            }
            BoltValue::Duration(Duration { months, days, seconds, nanoseconds }) => {
                let nanos = seconds
                    .checked_mul(NANOS_PER_SECOND)
                    .and_then(|n| n.checked_add(nanoseconds))
                    .ok_or_else(|| fail("seconds do not fit in 64-bit nanoseconds"))?;
                Value::Duration(ModelDuration { months, days, nanos })
            }
            BoltValue::Time(_) => return Err(fail("grafter has no time-of-day with an offset")),
            BoltValue::DateTimeZoneId(_) | BoltValue::LegacyDateTimeZoneId(_) => {
                return Err(fail("a named zone needs a time zone database to become an offset"));
            }
            BoltValue::Node(_)
            | BoltValue::Relationship(_)
            | BoltValue::UnboundRelationship(_)
            | BoltValue::Path(_)
            | BoltValue::Point2D(_)
            | BoltValue::Point3D(_)
            | BoltValue::Structure(_) => return Err(fail("grafter values hold no graph structures or points")),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{NaiveDateTime, TimeZone};

    use super::*;

    fn round_trip(value: Value) {
        let bolt = BoltValue::from(value.clone());
        assert_eq!(Value::try_from(bolt), Ok(value));
    }

    #[test]
    fn every_grafter_value_round_trips() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        let time = NaiveTime::from_hms_nano_opt(23, 59, 58, 123_456_789).expect("time");
        let offset = FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
        round_trip(Value::Null);
        round_trip(Value::Bool(true));
        round_trip(Value::Int(i64::MIN));
        round_trip(Value::Float(-0.5));
        round_trip(Value::String("ü".into()));
        round_trip(Value::Bytes(vec![0, 255]));
        round_trip(Value::Date(date));
        round_trip(Value::Date(NaiveDate::from_ymd_opt(1, 1, 1).expect("date")));
        round_trip(Value::Time(time));
        round_trip(Value::DateTime(NaiveDateTime::new(date, time)));
        round_trip(Value::DateTime(NaiveDateTime::new(NaiveDate::from_ymd_opt(1900, 1, 1).expect("date"), time)));
        round_trip(Value::DateTimeTz(
            offset.from_local_datetime(&NaiveDateTime::new(date, time)).single().expect("dt"),
        ));
        round_trip(Value::Duration(ModelDuration { months: 14, days: -3, nanos: -1_500_000_000 }));
        round_trip(Value::List(vec![Value::Int(1), Value::String("a".into())]));
        round_trip(Value::Map(BTreeMap::from([("k".to_owned(), Value::Date(date))])));
    }

    #[test]
    fn wire_fields_are_the_spec_ones() {
        let date = NaiveDate::from_ymd_opt(1970, 1, 2).expect("date");
        assert_eq!(BoltValue::from(Value::Date(date)), BoltValue::Date(Date { days: 1 }));
        let offset = FixedOffset::east_opt(3600).expect("offset");
        let dt = offset.with_ymd_and_hms(1970, 1, 1, 1, 0, 1).single().expect("dt");
        // 01:00:01+01:00 is 00:00:01 UTC: UTC seconds 1, as Bolt 5 counts them.
        assert_eq!(
            BoltValue::from(Value::DateTimeTz(dt)),
            BoltValue::DateTime(DateTime { seconds: 1, nanoseconds: 0, tz_offset_seconds: 3600 })
        );
        let d = ModelDuration { months: 0, days: 0, nanos: -1 };
        assert_eq!(
            BoltValue::from(Value::Duration(d)),
            BoltValue::Duration(Duration { months: 0, days: 0, seconds: -1, nanoseconds: 999_999_999 })
        );
    }

    #[test]
    fn what_grafter_cannot_hold_is_named() {
        let point = BoltValue::Point2D(crate::packstream::value::Point2D { srid: 4326, x: 1.0, y: 2.0 });
        let err = Value::try_from(point).expect_err("no points");
        assert_eq!(err.type_name, "Point2D");
        let huge = BoltValue::Duration(Duration { months: 0, days: 0, seconds: i64::MAX, nanoseconds: 0 });
        assert!(Value::try_from(huge).is_err());
        let bad_time = BoltValue::LocalTime(LocalTime { nanoseconds: -1 });
        assert!(Value::try_from(bad_time).is_err());
    }
}
